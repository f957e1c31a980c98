package proxy_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// Lifecycle end to end through the simulator: a retried create finds its
// conversation; an extended conversation still connects after its first
// end; a closed one reopens and connects; a message by API reaches the
// participant from their proxy number and its delivery receipt lands on
// its interaction.
func TestE2ELifecycle(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eSecret, nil)
	e.vonage.ReceiptsTo(e.svc, "/delivery-receipt", e2eSecret, "")
	ctx := t.Context()
	c := e.create(t, proxy.CreateRequest{TTL: time.Hour, Key: "ride-77"})
	retried, err := e.svc.CreateConversation(ctx, proxy.CreateRequest{A: "+44 7400 123456", B: "+44 7400 654321", TTL: time.Hour, Key: "ride-77"})
	if err != nil || retried.ID != c.ID {
		t.Fatalf("retried create: %s, %v; want %s", retried.ID, err, c.ID)
	}
	pa := c.Participants[proxy.SideA].ProxyNumber

	if _, err := e.svc.UpdateConversation(ctx, c.ID, proxy.Update{TTL: 3 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(90 * time.Minute) // past the first hour
	if out := e.call(t, e2eRider, pa); out.Connected != e2eDriver {
		t.Errorf("call after the first TTL: connected %q, want the driver", out.Connected)
	}

	if _, err := e.svc.CloseConversation(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	refused(t, e.call(t, e2eRider, pa))
	e.clock.Advance(time.Hour)
	if _, err := e.svc.UpdateConversation(ctx, c.ID, proxy.Update{Reopen: true, TTL: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if out := e.call(t, e2eRider, pa); out.Connected != e2eDriver {
		t.Errorf("call after reopening: connected %q, want the driver", out.Connected)
	}

	in, err := e.svc.SendMessage(ctx, c.ID, proxy.SideB, "Your rider is at the door.")
	if err != nil {
		t.Fatal(err)
	}
	var sent bool
	for _, m := range e.vonage.Outbox() {
		if m.To == e2eDriver && m.From == c.Participants[proxy.SideB].ProxyNumber && strings.Join(m.Parts, "") == "Your rider is at the door." {
			sent = true
		}
	}
	if !sent {
		t.Errorf("the message is not in the outbox from B's proxy number: %+v", e.vonage.Outbox())
	}
	ins, err := e.svc.Interactions(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got proxy.Interaction
	for _, i := range ins {
		if i.ID == in.ID {
			got = i
		}
	}
	if s := proxy.Summarize(got); got.Kind != proxy.KindMessage || s.Status != proxy.EventDelivered {
		t.Errorf("message interaction %+v: summary %s, want delivered", got, s.Status)
	}

	// The key is held while the conversation is in use, by anyone else.
	if _, err := e.svc.CreateConversation(ctx, proxy.CreateRequest{A: "+44 7400 111222", B: "+44 7400 654321", Key: "ride-77"}); !errors.Is(err, proxy.ErrKeyConflict) {
		t.Errorf("the key for other participants: %v", err)
	}
}

// Allocation policies end to end: with GeoAreaCode a San Francisco caller
// dials, and is called from, a 415 number although the pool lists a New
// Jersey one first; with StickyAvoid a pair meeting again gets another
// number, and the call through it connects.
func TestE2EAllocationPolicies(t *testing.T) {
	t.Parallel()
	const sfUser, sfNumber = "14155550123", "14155550100"
	e := newE2E(t, e2eSecret, func(c *proxy.Config) { c.Allocation.Geo = proxy.GeoAreaCode; c.Allocation.Sticky = proxy.StickyAvoid })
	if err := e.svc.AddNumbers(t.Context(), proxy.PoolNumber{MSISDN: sfNumber, Country: "US", Voice: true, SMS: true}); err != nil {
		t.Fatal(err)
	}
	c := e.create(t, proxy.CreateRequest{A: "+" + sfUser, B: "+" + e2eUSDriver})
	if got := c.Participants[proxy.SideA].ProxyNumber; got != sfNumber {
		t.Errorf("SF participant got %s, want the 415 number %s", got, sfNumber)
	}
	if got := c.Participants[proxy.SideB].ProxyNumber; got != "12015550100" {
		t.Errorf("NJ participant got %s, want the 201 number", got)
	}
	if out := e.call(t, e2eUSDriver, c.Participants[proxy.SideB].ProxyNumber); out.Connected != sfUser || out.CallerID != sfNumber {
		t.Errorf("call to the SF participant: %+v", out)
	}

	first := e.create(t, proxy.CreateRequest{})
	if _, err := e.svc.CloseConversation(t.Context(), first.ID); err != nil {
		t.Fatal(err)
	}
	again := e.create(t, proxy.CreateRequest{})
	pa := again.Participants[proxy.SideA].ProxyNumber
	if pa == first.Participants[proxy.SideA].ProxyNumber {
		t.Errorf("StickyAvoid: the rider got %s again", pa)
	}
	if out := e.call(t, e2eRider, pa); out.Connected != e2eDriver {
		t.Errorf("call through the new number: %+v", out)
	}
}
