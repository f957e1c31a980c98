package proxy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// A STOP to a pool number outside any conversation is honoured as one
// inside: confirmed from the number texted, kept as a store claim under
// the sender's pseudonym, and so honoured by another instance on the
// same store when a later conversation would notify the sender from that
// number. HELP and START are answered outside conversations too. On
// both SMS transports; the carriers' rule (proxytest) sees no message
// beyond the confirmation.
func TestE2EStopOutsideConversation(t *testing.T) {
	t.Parallel()
	const n1, n2 = "447700900001", "447700900002"
	for _, api := range []string{"sms", "messages"} {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			keys := &nonceKeys{}
			var cfg proxy.Config
			e := newE2EOn(t, api, e2eSecret, func(c *proxy.Config) {
				keys.Store, c.Store = c.Store, keys
				c.Privacy.PseudonymKey = []byte("host secret")
				cfg = *c
			})
			other, err := proxy.New(cfg) // a second instance on the same store
			if err != nil {
				t.Fatal(err)
			}
			one := func(what, from, number, text, want string) {
				t.Helper()
				out := e.text(t, from, number, text)
				if len(out.Relayed) != 1 || out.Relayed[0].To != e2eRider || out.Relayed[0].From != number ||
					!strings.Contains(strings.Join(out.Relayed[0].Parts, ""), want) {
					t.Errorf("%s outside a conversation: sent %+v, want %q to the sender from %s", what, out.Relayed, want, number)
				}
			}
			one("HELP", e2eRider, n1, "help", "Reply STOP")
			one("STOP", e2eRider, n1, "STOP", "unsubscribed")
			var claimed bool
			for _, k := range keys.all() {
				claimed = claimed || strings.HasPrefix(k, "optout:")
				if strings.Contains(k, e2eRider) {
					t.Errorf("a store claim holds the sender's number: %q", k)
				}
			}
			if !claimed {
				t.Errorf("no opt-out claim in the store; claims %q", keys.all())
			}
			// START lifts a STOP outside a conversation as well.
			one("STOP", e2eRider, n2, "quit", "unsubscribed")
			one("START", e2eRider, n2, "start", "subscribed again")

			_, err = other.CreateConversation(t.Context(), proxy.CreateRequest{A: "+44 7400 123456", B: "+44 7400 654321", ProxyA: n1, Notify: true})
			var ne *proxy.NotifyError
			var oe *proxy.OptedOutError
			if !errors.As(err, &ne) || !errors.Is(ne.Failed[proxy.SideA], proxy.ErrOptedOut) || ne.Failed[proxy.SideB] != nil {
				t.Fatalf("create with notifications on another instance: %v; want ErrOptedOut for A only", err)
			}
			if !errors.As(ne.Failed[proxy.SideA], &oe) || oe.Side != proxy.SideA || oe.ProxyNumber != n1 || strings.Contains(oe.Error(), e2eRider) {
				t.Errorf("the opt-out error %#v (%v): want side A and %s, without the participant's number", oe, ne.Failed[proxy.SideA], n1)
			}
			if v := e.vonage.OptOutViolations(); len(v) != 0 {
				t.Errorf("sent after STOP, beyond its confirmation: %+v", v)
			}
			if !e.vonage.OptedOut(e2eRider, n1) || e.vonage.OptedOut(e2eRider, n2) {
				t.Errorf("the carriers hold opt-outs %v on %s and %v on %s; want only %s", e.vonage.OptedOut(e2eRider, n1), n1, e.vonage.OptedOut(e2eRider, n2), n2, n1)
			}
		})
	}
}
