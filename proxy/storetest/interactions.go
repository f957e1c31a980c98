package storetest

import (
	"fmt"
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
	{"ByIDWithRegion", func(f *fixture) {
		f.create(conv("c1", alice, gb1, bob, gb1, base, time.Hour))
		in := call("i1", "c1", "uuid-1", at(time.Minute))
		in.Region = "https://api-us-3.vonage.com"
		f.addInteraction(in)
		ev := proxy.InteractionEvent{Leg: "leg-1", Status: proxy.EventAnswered, At: at(2 * time.Minute), Direction: "inbound"}
		f.addEvent("i1", ev)
		got, err := f.s.Interaction(f.ctx, "i1")
		if err != nil {
			f.t.Fatal(err)
		}
		in.Events = []proxy.InteractionEvent{ev}
		if diff := cmp.Diff(in, got, cmpOpts); diff != "" {
			f.t.Errorf("Interaction(i1) (-want +got):\n%s", diff)
		}
		byExt, err := f.s.InteractionByExternalID(f.ctx, proxy.KindCall, "uuid-1")
		if err != nil || byExt.Region != in.Region {
			f.t.Errorf("InteractionByExternalID region = %q, %v; want %q", byExt.Region, err, in.Region)
		}
		// Stored by the batch interface too, where the store has it.
		if b, ok := f.s.(proxy.BatchInteractionAdder); ok {
			in2 := call("i2", "c1", "uuid-2", at(3*time.Minute))
			in2.Region = "https://api-eu-3.vonage.com"
			if _, err := b.AddInteractions(f.ctx, []proxy.Interaction{in2}); err != nil {
				f.t.Fatal(err)
			}
			if got, err := f.s.Interaction(f.ctx, "i2"); err != nil || got.Region != in2.Region {
				f.t.Errorf("Interaction(i2) after AddInteractions: region %q, %v; want %q", got.Region, err, in2.Region)
			}
		}
		f.wantNotFound("Interaction(unknown)", errOf(f.s.Interaction(f.ctx, "i9")))
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

// sinceBase is the since the message part tests pass unless they test
// staleness: before every time they use.
var sinceBase = at(-time.Hour)

// msgPart is part n of 3 of alice's message ref to gb1, received at d.
func msgPart(ref string, n int, text string, d time.Duration) proxy.MessagePart {
	return proxy.MessagePart{From: alice, To: gb1, Ref: ref, Part: n, Total: 3,
		MessageID: "m-" + text, Text: text, ReceivedAt: at(d)}
}

// addPart stores p with since and checks the parts returned.
func (f *fixture) addPart(p proxy.MessagePart, since time.Time, want ...proxy.MessagePart) {
	f.t.Helper()
	got, err := f.s.AddMessagePart(f.ctx, p, since)
	if err != nil {
		f.t.Fatalf("AddMessagePart(%s part %d): %v", p.Ref, p.Part, err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		f.t.Errorf("AddMessagePart(%s part %d) (-want +got):\n%s", p.Ref, p.Part, diff)
	}
}

var messagePartTests = []test{
	{"Assemble", func(f *fixture) {
		p1, p2, p3 := msgPart("ref-1", 1, "one ", time.Second), msgPart("ref-1", 2, "two ", 2*time.Second), msgPart("ref-1", 3, "three", 3*time.Second)
		f.addPart(p2, sinceBase, p2)
		f.addPart(p3, sinceBase, p2, p3)
		dup := msgPart("ref-1", 2, "changed", 4*time.Second)
		f.addPart(dup, sinceBase, p2, p3) // a redelivery: nothing changes
		// Same ref from another sender or to another number is another message.
		other := p1
		other.From = bob
		f.addPart(other, sinceBase, other)
		other = p1
		other.To = gb2
		f.addPart(other, sinceBase, other)
		other = p1
		other.Ref = "ref-2"
		f.addPart(other, sinceBase, other)
		f.addPart(p1, sinceBase, p1, p2, p3)
	}},
	{"CompleteSetConsumed", func(f *fixture) {
		p1, p2, p3 := msgPart("r", 1, "a", time.Second), msgPart("r", 2, "b", 2*time.Second), msgPart("r", 3, "c", 3*time.Second)
		f.addPart(p1, sinceBase, p1)
		f.addPart(p2, sinceBase, p1, p2)
		f.addPart(p3, sinceBase, p1, p2, p3)
		// Handed out once: a redelivered part now starts a new set of one.
		f.addPart(p2, sinceBase, p2)
		f.addPart(p2, sinceBase, p2)
		// Parts of other messages are not consumed with it.
		q1 := p1
		q1.Ref = "other"
		f.addPart(q1, sinceBase, q1)
		f.addPart(p1, sinceBase, p1, p2)
		f.addPart(p3, sinceBase, p1, p2, p3)
		q2 := p2
		q2.Ref = "other"
		f.addPart(q2, sinceBase, q1, q2)
	}},
	{"ReusedRef", func(f *fixture) {
		// A sender's concat-ref comes round again: once the first message
		// is complete, the same ref assembles the next one, with its own
		// parts.
		old := []proxy.MessagePart{msgPart("7", 1, "old one ", time.Second), msgPart("7", 2, "old two ", 2*time.Second), msgPart("7", 3, "old three", 3*time.Second)}
		f.addPart(old[0], sinceBase, old[0])
		f.addPart(old[2], sinceBase, old[0], old[2])
		f.addPart(old[1], sinceBase, old...)
		neu := []proxy.MessagePart{msgPart("7", 1, "new one ", time.Minute), msgPart("7", 2, "new two ", time.Minute), msgPart("7", 3, "new three", time.Minute)}
		f.addPart(neu[0], sinceBase, neu[0])
		f.addPart(neu[1], sinceBase, neu[0], neu[1])
		f.addPart(neu[2], sinceBase, neu...)
	}},
	{"StaleDropped", func(f *fixture) {
		// An old message lost its part 3; a day later the sender reuses
		// its ref. The old parts are stale and never merge into the new
		// message.
		o1, o2 := msgPart("9", 1, "old one ", 0), msgPart("9", 2, "old two ", time.Minute)
		f.addPart(o1, sinceBase, o1)
		f.addPart(o2, sinceBase, o1, o2)
		day := 25 * time.Hour
		since := at(day - 24*time.Hour) // after o1 and o2 were received
		n2 := msgPart("9", 2, "new two ", day)
		f.addPart(n2, since, n2) // o2 is stale, so this is no redelivery
		n3 := msgPart("9", 3, "new three", day+time.Second)
		f.addPart(n3, since, n2, n3)
		n1 := msgPart("9", 1, "new one ", day+2*time.Second)
		f.addPart(n1, since, n1, n2, n3)
	}},
	{"Delete", func(f *fixture) {
		// Incomplete messages nothing will complete: the sweep deletes
		// the parts received before its cutoff, an erasure every part of
		// one sender.
		old, recent := msgPart("d", 1, "my address is 1 Private Road, ", 0), msgPart("e", 1, "recent", time.Hour)
		bobs := msgPart("d", 1, "bob's", 0)
		bobs.From = bob
		f.addPart(old, sinceBase, old)
		f.addPart(recent, sinceBase, recent)
		f.addPart(bobs, sinceBase, bobs)
		if n, err := f.s.DeleteMessageParts(f.ctx, "", at(time.Minute)); err != nil || n != 2 {
			f.t.Fatalf("DeleteMessageParts before +1m = %d, %v; want 2 (alice's and bob's old parts)", n, err)
		}
		if n, err := f.s.DeleteMessageParts(f.ctx, "", at(time.Minute)); err != nil || n != 0 {
			f.t.Errorf("DeleteMessageParts again = %d, %v; want 0", n, err)
		}
		// What was deleted is gone: the same part number starts afresh.
		again := msgPart("d", 2, "two", 2*time.Hour)
		f.addPart(again, sinceBase, again)
		f.addPart(recent, sinceBase, recent) // kept: a redelivery
		// Received at the cutoff is not before it.
		if n, err := f.s.DeleteMessageParts(f.ctx, "", at(time.Hour)); err != nil || n != 0 {
			f.t.Errorf("DeleteMessageParts at the part's own time = %d, %v; want 0", n, err)
		}
		bobs.ReceivedAt = at(2 * time.Hour)
		f.addPart(bobs, sinceBase, bobs)
		// An erasure: alice's parts, whatever their age, and not bob's.
		if n, err := f.s.DeleteMessageParts(f.ctx, alice, at(48*time.Hour)); err != nil || n != 2 {
			f.t.Fatalf("DeleteMessageParts(alice) = %d, %v; want 2", n, err)
		}
		f.addPart(recent, sinceBase, recent) // stored afresh
		bobs2 := bobs
		bobs2.Part = 2
		f.addPart(bobs2, sinceBase, bobs, bobs2)
		if n, err := f.s.DeleteMessageParts(f.ctx, "", at(72*time.Hour)); err != nil || n != 3 {
			f.t.Errorf("DeleteMessageParts of all = %d, %v; want 3", n, err)
		}
	}},
	{"StaleBoundary", func(f *fixture) {
		// Received at since is not before since: not stale.
		p1, p2 := msgPart("b", 1, "a", time.Minute), msgPart("b", 2, "b", 2*time.Minute)
		f.addPart(p1, sinceBase, p1)
		f.addPart(p2, at(time.Minute), p1, p2)
		p3 := msgPart("b", 3, "c", 3*time.Minute)
		f.addPart(p3, at(time.Minute+time.Second), p2, p3) // now p1 is stale
		// A stale part's number is free again: a part with it is stored.
		p2again := msgPart("b", 2, "b again", 4*time.Minute)
		f.addPart(p2again, at(2*time.Minute+time.Second), p2again, p3)
	}},
}

// claim claims key at now until expires and wants no error.
func (f *fixture) claim(key string, now, expires time.Time) {
	f.t.Helper()
	if err := f.s.Claim(f.ctx, key, now, expires); err != nil {
		f.t.Errorf("Claim(%s) at %s until %s: %v", key, now.Sub(base), expires.Sub(base), err)
	}
}

// replay claims key at now until expires and wants ErrConflict.
func (f *fixture) replay(key string, now, expires time.Time) {
	f.t.Helper()
	err := f.s.Claim(f.ctx, key, now, expires)
	f.wantConflict(fmt.Sprintf("Claim(%s) at %s until %s", key, now.Sub(base), expires.Sub(base)), err)
}

var nonceTests = []test{
	{"Claim", func(f *fixture) {
		exp := at(5 * time.Minute)
		f.claim("k1", base, exp)
		f.replay("k1", base, exp)
		f.replay("k1", at(time.Minute), at(time.Hour))               // a later expiry does not help
		f.replay("k1", exp.Add(-time.Second), exp.Add(-time.Second)) // nor an earlier one
		f.claim("k2", at(time.Minute), exp)                          // other keys are free
	}},
	{"ReplayAfterExpiry", func(f *fixture) {
		f.claim("k1", base, at(5*time.Minute))
		f.replay("k1", at(4*time.Minute), at(9*time.Minute))
		// The conflicting claim left the first one unchanged: it ends at
		// 5m, not 9m. Expiring at now counts as expired.
		f.claim("k1", at(5*time.Minute), at(10*time.Minute))
		f.replay("k1", at(6*time.Minute), at(10*time.Minute))
		f.claim("k1", at(time.Hour), at(time.Hour+5*time.Minute))
	}},
	{"Release", func(f *fixture) {
		f.claim("k1", base, at(100*time.Hour))
		f.claim("k2", base, at(100*time.Hour))
		if err := f.s.ReleaseClaim(f.ctx, "k1"); err != nil {
			f.t.Fatal(err)
		}
		if err := f.s.ReleaseClaim(f.ctx, "never claimed"); err != nil {
			f.t.Errorf("ReleaseClaim of a key never claimed: %v", err)
		}
		f.claim("k1", at(time.Minute), at(2*time.Minute)) // free again at once
		f.replay("k1", at(time.Minute), at(time.Hour))
		f.replay("k2", at(time.Minute), at(time.Hour)) // the others stay
		// The claim made after the release lives its own life: it expires
		// at 2m, whatever the released one's expiry.
		f.claim("k1", at(3*time.Minute), at(4*time.Minute))
	}},
	{"Pruning", func(f *fixture) {
		// Whatever a store prunes as time goes by, live claims stay and
		// expired ones are free.
		for i := range 10 {
			f.claim(fmt.Sprintf("k%d", i), at(time.Duration(i)*time.Minute), at(time.Duration(i+5)*time.Minute))
		}
		now := at(12 * time.Minute) // k0..k7 expired, k8 and k9 live
		f.claim("other", now, now.Add(5*time.Minute))
		if _, err := f.s.ExpireConversations(f.ctx, now, 0); err != nil {
			f.t.Fatal(err)
		}
		for i := range 10 {
			key := fmt.Sprintf("k%d", i)
			if i < 8 {
				f.claim(key, now, now.Add(5*time.Minute))
			} else {
				f.replay(key, now, now.Add(5*time.Minute))
			}
		}
		f.replay("other", now, now.Add(5*time.Minute))
	}},
}
