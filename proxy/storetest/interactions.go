package storetest

import (
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voiceproxy/voiceproxy/proxy"
)

func call(id, convID, external string, created time.Time) proxy.Interaction {
	return proxy.Interaction{
		ID: id, ConversationID: convID, Kind: proxy.KindCall, ExternalID: external,
		From: alice, To: gb1, CreatedAt: created,
	}
}

func (f *fixture) addInteraction(in proxy.Interaction) {
	f.t.Helper()
	if err := f.s.AddInteraction(f.ctx, in); err != nil {
		f.t.Fatalf("AddInteraction(%s): %v", in.ID, err)
	}
}

func (f *fixture) addEvent(interactionID string, ev proxy.InteractionEvent) {
	f.t.Helper()
	if err := f.s.AddInteractionEvent(f.ctx, interactionID, ev); err != nil {
		f.t.Fatalf("AddInteractionEvent(%s, %s): %v", interactionID, ev.Status, err)
	}
}

var interactionTests = []test{
	{"AddAndFind", func(f *fixture) {
		f.create(conv("c1", alice, gb1, bob, gb1, base, time.Hour))
		in := call("i1", "c1", "uuid-1", at(time.Minute))
		in.Events = []proxy.InteractionEvent{{Status: "ignored", At: base}}
		f.addInteraction(in)
		sms := proxy.Interaction{
			ID: "i2", ConversationID: "c1", Kind: proxy.KindSMS, ExternalID: "uuid-1",
			From: bob, To: gb1, Text: "on my way", CreatedAt: at(2 * time.Minute),
		}
		f.addInteraction(sms) // same external ID, other kind: no conflict

		got, err := f.s.InteractionByExternalID(f.ctx, proxy.KindCall, "uuid-1")
		if err != nil {
			f.t.Fatal(err)
		}
		in.Events = nil
		if diff := cmp.Diff(in, got, cmpOpts); diff != "" {
			f.t.Errorf("InteractionByExternalID(call) (-want +got):\n%s", diff)
		}
		got, err = f.s.InteractionByExternalID(f.ctx, proxy.KindSMS, "uuid-1")
		if err != nil {
			f.t.Fatal(err)
		}
		if diff := cmp.Diff(sms, got, cmpOpts); diff != "" {
			f.t.Errorf("InteractionByExternalID(sms) (-want +got):\n%s", diff)
		}
		f.wantNotFound("InteractionByExternalID(unknown)", errOf(f.s.InteractionByExternalID(f.ctx, proxy.KindCall, "uuid-2")))
		f.wantNotFound("InteractionByExternalID(wrong kind)", errOf(f.s.InteractionByExternalID(f.ctx, proxy.KindSMS, "missing")))
	}},
	{"Conflicts", func(f *fixture) {
		f.create(conv("c1", alice, gb1, bob, gb1, base, time.Hour))
		first := call("i1", "c1", "uuid-1", at(time.Minute))
		f.addInteraction(first)
		dup := call("i2", "c1", "uuid-1", at(2*time.Minute))
		dup.From = bob
		f.wantConflict("AddInteraction with a duplicate external ID", f.s.AddInteraction(f.ctx, dup))
		sameID := call("i1", "c1", "uuid-3", at(2*time.Minute))
		f.wantConflict("AddInteraction with a duplicate ID", f.s.AddInteraction(f.ctx, sameID))
		got, err := f.s.Interactions(f.ctx, "c1")
		if err != nil {
			f.t.Fatal(err)
		}
		if diff := cmp.Diff([]proxy.Interaction{first}, got, cmpOpts); diff != "" {
			f.t.Errorf("Interactions after conflicts (-want +got):\n%s", diff)
		}
		// The conversation having ended changes nothing.
		f.end("c1", proxy.StatusClosed, at(3*time.Minute))
		f.wantConflict("AddInteraction with a duplicate external ID after the end", f.s.AddInteraction(f.ctx, dup))
	}},
	{"UnknownConversation", func(f *fixture) {
		// Contract reading: ErrNotFound names "no such conversation", and
		// Interactions of an unknown conversation is ErrNotFound; an
		// interaction must belong to a stored conversation.
		f.wantNotFound("AddInteraction to an unknown conversation",
			f.s.AddInteraction(f.ctx, call("i1", "unknown", "uuid-1", base)))
		f.wantNotFound("Interactions(unknown)", errOf(f.s.Interactions(f.ctx, "unknown")))
	}},
	{"EventsDedupedAndOrdered", func(f *fixture) {
		f.create(conv("c1", alice, gb1, bob, gb1, base, time.Hour))
		f.addInteraction(call("i1", "c1", "uuid-1", base))
		evs := []proxy.InteractionEvent{
			{Leg: "leg-a", Status: "started", At: at(1 * time.Second)},
			{Leg: "leg-a", Status: "ringing", At: at(2 * time.Second)},
			{Leg: "leg-a", Status: "started", At: at(9 * time.Second), Detail: "redelivered"}, // duplicate
			{Leg: "leg-b", Status: "started", At: at(2 * time.Second)},                        // same time, later insert
			{Leg: "leg-a", Status: "answered", At: at(5 * time.Second)},
			{Leg: "leg-a", Status: "completed", At: at(4 * time.Second), Duration: 42, Price: "0.00360000"}, // earlier At
			{Leg: "leg-a", Status: "completed", At: at(10 * time.Second), Duration: 1},                      // duplicate
			{Leg: "", Status: "failed", At: at(0), Detail: "no leg"},
		}
		for _, ev := range evs {
			f.addEvent("i1", ev)
		}
		want := call("i1", "c1", "uuid-1", base)
		want.Events = []proxy.InteractionEvent{evs[7], evs[0], evs[1], evs[3], evs[5], evs[4]}
		got, err := f.s.InteractionByExternalID(f.ctx, proxy.KindCall, "uuid-1")
		if err != nil {
			f.t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			f.t.Errorf("InteractionByExternalID events (-want +got):\n%s", diff)
		}
		list, err := f.s.Interactions(f.ctx, "c1")
		if err != nil {
			f.t.Fatal(err)
		}
		if diff := cmp.Diff([]proxy.Interaction{want}, list, cmpOpts); diff != "" {
			f.t.Errorf("Interactions events (-want +got):\n%s", diff)
		}
		err = f.s.AddInteractionEvent(f.ctx, "unknown", proxy.InteractionEvent{Status: "started", At: base})
		f.wantNotFound("AddInteractionEvent(unknown)", err)
	}},
	{"ListOrder", func(f *fixture) {
		f.create(conv("c1", alice, gb1, bob, gb1, base, time.Hour))
		f.create(conv("c2", carol, gb1, dave, gb1, base, time.Hour))
		empty, err := f.s.Interactions(f.ctx, "c1")
		if err != nil || len(empty) != 0 {
			f.t.Fatalf("Interactions of a conversation without any = %v, %v", empty, err)
		}
		ins := []proxy.Interaction{
			call("i-b", "c1", "u1", at(2*time.Minute)),
			call("i-c", "c1", "u2", at(time.Minute)),
			call("i-a", "c1", "u3", at(2*time.Minute)), // same time as i-b, smaller ID
			call("i-z", "c2", "u4", base),              // other conversation
			{ID: "i-d", ConversationID: "c1", Kind: proxy.KindSMS, ExternalID: "m1", From: bob, To: gb1, CreatedAt: at(3 * time.Minute)},
		}
		for _, in := range ins {
			f.addInteraction(in)
		}
		got, err := f.s.Interactions(f.ctx, "c1")
		if err != nil {
			f.t.Fatal(err)
		}
		want := []proxy.Interaction{ins[1], ins[2], ins[0], ins[4]}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			f.t.Errorf("Interactions(c1) (-want +got):\n%s", diff)
		}
		// Results are the caller's to keep.
		got[0].Events = append(got[0].Events, proxy.InteractionEvent{Status: "mine"})
		again, _ := f.s.Interactions(f.ctx, "c1")
		if diff := cmp.Diff(want, again, cmpOpts); diff != "" {
			f.t.Errorf("changing a result changed the store (-want +got):\n%s", diff)
		}
	}},
}

var messagePartTests = []test{
	{"Assemble", func(f *fixture) {
		part := func(n int, text string) proxy.MessagePart {
			return proxy.MessagePart{From: alice, To: gb1, Ref: "ref-1", Part: n, Total: 3,
				MessageID: "m" + text, Text: text, ReceivedAt: at(time.Duration(n) * time.Second)}
		}
		add := func(p proxy.MessagePart, want ...proxy.MessagePart) {
			f.t.Helper()
			got, err := f.s.AddMessagePart(f.ctx, p)
			if err != nil {
				f.t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
				f.t.Errorf("AddMessagePart(part %d) (-want +got):\n%s", p.Part, diff)
			}
		}
		p1, p2, p3 := part(1, "one "), part(2, "two "), part(3, "three")
		add(p2, p2)
		add(p3, p2, p3)
		dup := part(2, "changed")
		add(dup, p2, p3) // already there: nothing changes
		// Same ref from another sender or to another number is another message.
		other := p1
		other.From = bob
		add(other, other)
		other = p1
		other.To = gb2
		add(other, other)
		other = p1
		other.Ref = "ref-2"
		add(other, other)
		add(p1, p1, p2, p3)
	}},
}

var nonceTests = []test{
	{"Claim", func(f *fixture) {
		exp := at(5 * time.Minute)
		if err := f.s.ClaimNonce(f.ctx, "k1", exp); err != nil {
			f.t.Fatalf("ClaimNonce(k1): %v", err)
		}
		f.wantConflict("ClaimNonce(k1) again", f.s.ClaimNonce(f.ctx, "k1", exp))
		f.wantConflict("ClaimNonce(k1) with an earlier expiry", f.s.ClaimNonce(f.ctx, "k1", at(time.Minute)))
		f.wantConflict("ClaimNonce(k1) after that", f.s.ClaimNonce(f.ctx, "k1", exp)) // left unchanged
		if err := f.s.ClaimNonce(f.ctx, "k2", exp); err != nil {
			f.t.Errorf("ClaimNonce(k2): %v", err)
		}
	}},
	{"Expiry", func(f *fixture) {
		// Contract reading: ClaimNonce has no "now", so whether the earlier
		// claim "has expired" is judged against the new claim's expiry: a
		// claim expiring later than the earlier one finds it expired.
		// (Callers derive the expiry from the signed timestamp, so a
		// replay carries the same expiry and conflicts.)
		if err := f.s.ClaimNonce(f.ctx, "k1", at(5*time.Minute)); err != nil {
			f.t.Fatal(err)
		}
		if err := f.s.ClaimNonce(f.ctx, "k1", at(15*time.Minute)); err != nil {
			f.t.Errorf("ClaimNonce(k1) after the first claim expired: %v", err)
		}
		f.wantConflict("ClaimNonce(k1) within the new claim", f.s.ClaimNonce(f.ctx, "k1", at(15*time.Minute)))
	}},
}
