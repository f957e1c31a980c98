package proxy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// The directory scenario: a stranger calls or texts a listing's published
// pool number; OnUnknownContact starts a conversation with the listing's
// host, and the call connects (the SMS is relayed) at once, masked both
// ways. OnUnknownSMS answers what no hook takes.
func TestE2EUnknownContactStartsConversation(t *testing.T) {
	t.Parallel()
	const listing, host = "447700900002", e2eDriver
	e := newE2E(t, e2eSecret, func(c *proxy.Config) {
		c.Hooks.OnUnknownContact = func(_ context.Context, ct proxy.Contact) (*proxy.CreateRequest, error) {
			switch {
			case ct.To != listing:
				return nil, nil
			case ct.From == "447400999999":
				return nil, errors.New("blocked caller")
			}
			return &proxy.CreateRequest{A: "+" + ct.From, B: "+" + host, Labels: proxy.Labels{A: "a guest", B: "your host"}}, nil
		}
		c.Hooks.OnUnknownSMS = func(_ context.Context, ct proxy.Contact) (string, error) {
			return "This number is not in use. You wrote: " + ct.Text, nil
		}
	})
	out := e.call(t, e2eRider, listing)
	if out.Connected != host {
		t.Fatalf("stranger's call: connected %q, want the host %s (talk %q)", out.Connected, host, out.Talk)
	}
	cs, _, err := e.svc.Conversations(t.Context(), proxy.ListFilter{Participant: e2eRider})
	if err != nil || len(cs) != 1 {
		t.Fatalf("conversations of the caller: %v, %v", cs, err)
	}
	c := cs[0]
	if c.Participants[proxy.SideA].ProxyNumber != listing || out.CallerID != c.Participants[proxy.SideB].ProxyNumber {
		t.Errorf("conversation %+v, caller ID %s: want A on the listing, the host shown B's proxy number", c.Participants, out.CallerID)
	}
	// The host calls back through their own proxy number: the same
	// conversation, the stranger's number never shown.
	back := e.call(t, host, c.Participants[proxy.SideB].ProxyNumber)
	if back.Connected != e2eRider || back.CallerID != listing {
		t.Errorf("host's call back: %+v", back)
	}
	// A second call of the stranger routes to the conversation, no new one.
	e.call(t, e2eRider, listing)
	if cs, _, _ := e.svc.Conversations(t.Context(), proxy.ListFilter{Participant: e2eRider}); len(cs) != 1 {
		t.Errorf("%d conversations after a second call, want 1", len(cs))
	}

	// An SMS from another stranger starts one and is relayed to the host.
	sms, err := e.sim.SendSMS(t.Context(), e2eStranger, listing, "Is the flat free in May?")
	if err != nil {
		t.Fatal(err)
	}
	if len(sms.Relayed) != 1 || sms.Relayed[0].To != host || strings.Join(sms.Relayed[0].Parts, "") != "Is the flat free in May?" {
		t.Errorf("stranger's SMS: relayed %+v", sms.Relayed)
	}
	// Refused by the hook: the call hears the refusal; the SMS gets the
	// OnUnknownSMS reply.
	refused(t, e.call(t, "447400999999", listing))
	reply, err := e.sim.SendSMS(t.Context(), "447400999999", listing, "hello?")
	if err != nil {
		t.Fatal(err)
	}
	if len(reply.Relayed) != 1 || reply.Relayed[0].To != "447400999999" || !strings.Contains(strings.Join(reply.Relayed[0].Parts, ""), "You wrote: hello?") {
		t.Errorf("unknown SMS reply: %+v", reply.Relayed)
	}
}
