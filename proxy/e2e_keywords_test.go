package proxy_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// STOP is not relayed: the sender is told, gets nothing more from their
// proxy number (relays, messages), on any instance; HELP is answered and
// not relayed. On both SMS transports.
func TestE2EStopAndHelp(t *testing.T) {
	t.Parallel()
	for _, api := range []string{"sms", "messages"} {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			keys := &nonceKeys{}
			e := newE2EOn(t, api, e2eSecret, func(c *proxy.Config) {
				keys.Store, c.Store = c.Store, keys
				c.Privacy.PseudonymKey = []byte("host secret")
			})
			c := e.create(t, proxy.CreateRequest{})
			a, b := c.Participants[proxy.SideA], c.Participants[proxy.SideB]
			help := e.text(t, e2eRider, a.ProxyNumber, "help")
			if len(help.Relayed) != 1 || help.Relayed[0].To != e2eRider || !strings.Contains(strings.Join(help.Relayed[0].Parts, ""), "Reply STOP") {
				t.Errorf("HELP: sent %+v, want the help reply to the rider only", help.Relayed)
			}
			stop := e.text(t, e2eRider, a.ProxyNumber, "STOP")
			if len(stop.Relayed) != 1 || stop.Relayed[0].To != e2eRider || stop.Relayed[0].From != a.ProxyNumber {
				t.Errorf("STOP: sent %+v, want the confirmation to the rider from their number", stop.Relayed)
			}
			if out := e.text(t, e2eDriver, b.ProxyNumber, "are you there?"); len(out.Relayed) != 0 {
				t.Errorf("the driver's SMS to a rider who sent STOP was relayed: %+v", out.Relayed)
			}
			if _, err := e.svc.SendMessage(t.Context(), c.ID, proxy.SideA, "hello"); !errors.Is(err, proxy.ErrOptedOut) {
				t.Errorf("SendMessage to a participant who sent STOP: %v, want ErrOptedOut", err)
			}
			// The rider can still text the driver.
			if out := e.text(t, e2eRider, a.ProxyNumber, "I'm outside"); len(out.Relayed) != 1 || out.Relayed[0].To != e2eDriver {
				t.Errorf("the rider's own SMS after STOP: %+v, want it relayed", out.Relayed)
			}
			ins, _ := e.svc.Interactions(t.Context(), c.ID)
			var st []string
			for _, in := range ins {
				st = append(st, string(proxy.Summarize(in).Status))
			}
			if got := strings.Join(st, " "); !strings.Contains(got, "help") || !strings.Contains(got, "opted-out") || !strings.Contains(got, "blocked") {
				t.Errorf("audit trail %q: want help, opted-out and blocked", got)
			}
			// Nor does the platform text the rider from that number: not a
			// goodbye, not the notification of their next conversation
			// with the driver, which gets the same (sticky) number.
			toRider := func() (n int) {
				for _, m := range e.vonage.Outbox() {
					if m.To == e2eRider {
						n++
					}
				}
				return n
			}
			before := toRider()
			_, err := e.svc.CloseConversation(t.Context(), c.ID, proxy.WithGoodbye("Thanks for riding."))
			var ne *proxy.NotifyError
			if !errors.As(err, &ne) || !errors.Is(ne.Failed[proxy.SideA], proxy.ErrOptedOut) || ne.Failed[proxy.SideB] != nil {
				t.Errorf("close with a goodbye: %v; want ErrOptedOut for the rider only", err)
			}
			next, err := e.svc.CreateConversation(t.Context(), proxy.CreateRequest{A: "+44 7400 123456", B: "+44 7400 654321", Notify: true})
			if !errors.As(err, &ne) || !errors.Is(ne.Failed[proxy.SideA], proxy.ErrOptedOut) || ne.Failed[proxy.SideB] != nil {
				t.Errorf("create with notifications: %v; want ErrOptedOut for the rider only", err)
			}
			if next.Participants[proxy.SideA].ProxyNumber != a.ProxyNumber {
				t.Fatalf("the rider got %s, not their sticky %s", next.Participants[proxy.SideA].ProxyNumber, a.ProxyNumber)
			}
			if n := toRider(); n != before {
				t.Errorf("%d SMS sent to the rider after STOP by the goodbye and the notification", n-before)
			}
			// The opt-out is kept under the rider's pseudonym, not their
			// number: it outlives every retention.
			for _, k := range keys.all() {
				if strings.Contains(k, e2eRider) {
					t.Errorf("a store claim holds the rider's number: %q", k)
				}
			}
			// START lifts it: answered, not relayed, and the driver's SMS
			// reach the rider again.
			start := e.text(t, e2eRider, a.ProxyNumber, "Start")
			if len(start.Relayed) != 1 || start.Relayed[0].To != e2eRider || !strings.Contains(strings.Join(start.Relayed[0].Parts, ""), "subscribed again") {
				t.Errorf("START: sent %+v, want the confirmation to the rider only", start.Relayed)
			}
			if out := e.text(t, e2eDriver, b.ProxyNumber, "back on?"); len(out.Relayed) != 1 || out.Relayed[0].To != e2eRider {
				t.Errorf("the driver's SMS after START: %+v, want it relayed to the rider", out.Relayed)
			}
			if _, err := e.svc.SendMessage(t.Context(), next.ID, proxy.SideA, "hello again"); err != nil {
				t.Errorf("SendMessage after START: %v", err)
			}
		})
	}
}

// With Config.SMS.Redact, contact details are removed before relaying and
// the removal is on the audit trail, without the details.
func TestE2ERedaction(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eSecret, func(c *proxy.Config) {
		c.SMS.Redact = proxy.RedactPolicy{Phones: true, Emails: true, URLs: true}
		c.SMS.StoreBodies = true
	})
	c := e.create(t, proxy.CreateRequest{})
	out := e.text(t, e2eRider, c.Participants[0].ProxyNumber, "pay me direct: +44 7700 900999, jo@example.com, https://pay.example.com")
	if len(out.Relayed) != 1 {
		t.Fatalf("relayed %+v", out.Relayed)
	}
	if got := strings.Join(out.Relayed[0].Parts, ""); got != "pay me direct: [removed], [removed], [removed]" {
		t.Errorf("relayed %q", got)
	}
	ins, _ := e.svc.Interactions(t.Context(), c.ID)
	var detail string
	for _, ev := range ins[0].Events {
		if ev.Status == proxy.EventRedacted {
			detail = ev.Detail
		}
	}
	if detail != "removed 1 URL, 1 e-mail address, 1 phone number" || strings.Contains(ins[0].Text, "900999") {
		t.Errorf("redaction event %q, stored text %q", detail, ins[0].Text)
	}
	// Obfuscated details too, with the rest of the text as sent.
	out = e.text(t, e2eRider, c.Participants[0].ProxyNumber, "ring ０７７００ ９００ ９９９ or jo (at) example [dot] com ✓")
	if len(out.Relayed) != 1 || strings.Join(out.Relayed[0].Parts, "") != "ring [removed] or [removed] ✓" {
		t.Errorf("obfuscated details relayed as %+v", out.Relayed)
	}
}

// nonceKeys is a store that remembers the keys claimed.
type nonceKeys struct {
	proxy.Store
	mu   sync.Mutex
	keys []string
}

func (n *nonceKeys) Claim(ctx context.Context, key string, now, expires time.Time) error {
	n.mu.Lock()
	n.keys = append(n.keys, key)
	n.mu.Unlock()
	return n.Store.Claim(ctx, key, now, expires)
}

func (n *nonceKeys) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.keys...)
}
