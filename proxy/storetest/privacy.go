package storetest

import (
	"errors"
	"slices"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// pseudo is the suite's pseudonym function.
func pseudo(n string) string { return proxy.PseudonymPrefix + "x" + n[len(n)-3:] }

var privacyTests = []test{
	{"Pseudonymize", func(f *fixture) {
		f.addNumbers(gbNumber(gb1))
		f.create(conv("old", alice, gb1, bob, gb1, base, time.Hour),
			conv("recent", carol, gb1, dave, gb1, base, 24*time.Hour),
			conv("active", alice, gb2, dave, gb2, base, 48*time.Hour))
		f.end("old", proxy.StatusClosed, at(time.Minute))
		f.end("recent", proxy.StatusClosed, at(10*time.Hour))
		in := call("i1", "old", "CON-1", at(30*time.Second))
		in.Text = "gate code 4521"
		f.addInteraction(in)
		f.addEvent("i1", proxy.InteractionEvent{Leg: "l1", Status: proxy.EventRecorded, At: at(40 * time.Second), Detail: "https://api.nexmo.com/v1/files/x"})
		f.addEvent("i1", proxy.InteractionEvent{Leg: "l1", Status: proxy.EventCompleted, At: at(41 * time.Second), Duration: 9})
		q := proxy.PseudonymQuery{EndedBefore: at(5 * time.Hour), Pseudonym: pseudo}
		ids, err := f.s.Pseudonymize(f.ctx, q)
		if err != nil || !slices.Equal(ids, []string{"old"}) {
			f.t.Fatalf("Pseudonymize = %v, %v; want old only", ids, err)
		}
		got := f.get("old")
		if got.Participants[0].Number != pseudo(alice) || got.Participants[1].Number != pseudo(bob) || got.Participants[0].ProxyNumber != gb1 {
			f.t.Errorf("participants %+v", got.Participants)
		}
		ins, err := f.s.Interactions(f.ctx, "old")
		if err != nil || len(ins) != 1 {
			f.t.Fatal(ins, err)
		}
		i := ins[0]
		if i.From != pseudo(alice) || i.To != gb1 || i.Text != "" || len(i.Events) != 2 || i.Events[0].Detail != "" || i.Events[1].Duration != 9 {
			f.t.Errorf("interaction %+v", i)
		}
		// Not listed under the real number any more; the others untouched.
		list, _, err := f.s.ListConversations(f.ctx, proxy.ListFilter{Participant: alice, Now: at(6 * time.Hour)})
		if err != nil || len(list) != 1 || list[0].ID != "active" {
			f.t.Errorf("alice's conversations after = %v, %v; want active only", list, err)
		}
		if r := f.get("recent"); r.Participants[0].Number != carol {
			f.t.Errorf("a conversation ended after the cutoff was changed: %+v", r.Participants)
		}
		if a := f.get("active"); a.Participants[0].Number != alice {
			f.t.Errorf("an active conversation was changed: %+v", a.Participants)
		}
		// Done already: not again.
		if ids, err := f.s.Pseudonymize(f.ctx, q); err != nil || len(ids) != 0 {
			f.t.Errorf("second Pseudonymize = %v, %v; want nothing", ids, err)
		}
	}},
	{"LabelsMetadataAndExternalIDs", func(f *fixture) {
		// The retention sweep empties the labels and keeps the host's
		// metadata and key (its references, for audits); it replaces the
		// numbers within external IDs and event details, and deletes a
		// relay job still waiting. An erasure empties the metadata and
		// key too, also of a conversation the sweep did before.
		c1 := conv("c1", alice, gb1, bob, gb1, base, time.Hour)
		c1.Participants[0].Label, c1.Participants[1].Label = "Alice Smith", "Bob Jones"
		c1.Metadata, c1.Key = map[string]string{"customer": "Alice Smith"}, "job-1"
		c2 := conv("c2", alice, gb2, carol, gb2, base, time.Hour)
		c2.Participants[0].Label, c2.Metadata, c2.Key = "Alice Smith", map[string]string{"order": "o-2"}, "job-2"
		f.create(c1, c2)
		sms := proxy.Interaction{ID: "i1", ConversationID: "c1", Kind: proxy.KindSMS, ExternalID: "concat:" + alice + ":7:m-1",
			From: alice, To: gb1, Text: "hello", CreatedAt: at(time.Second)}
		f.addInteraction(sms)
		f.addEvent("i1", proxy.InteractionEvent{Status: proxy.EventFailed, At: at(2 * time.Second), Detail: "sms: send to " + bob + ": throttled"})
		job := proxy.Interaction{ID: "i2", ConversationID: "c1", Kind: proxy.KindSMS, ExternalID: "m-2", From: bob, To: gb1, CreatedAt: at(3 * time.Second)}
		if err := f.s.AddRelay(f.ctx, job, proxy.RelayJob{ID: "i2", ConversationID: "c1", From: gb1, To: alice, Text: "on my way", CreatedAt: at(3 * time.Second)}); err != nil {
			f.t.Fatal(err)
		}
		f.end("c1", proxy.StatusClosed, at(time.Minute))
		f.end("c2", proxy.StatusClosed, at(time.Minute))
		if ids, err := f.s.Pseudonymize(f.ctx, proxy.PseudonymQuery{EndedBefore: at(time.Hour), Pseudonym: pseudo, Limit: 1}); err != nil || !slices.Equal(ids, []string{"c1"}) {
			f.t.Fatalf("retention Pseudonymize = %v, %v; want c1", ids, err)
		}
		got := f.get("c1")
		if got.Participants[0].Label != "" || got.Participants[1].Label != "" {
			f.t.Errorf("labels after retention: %+v", got.Participants)
		}
		if got.Metadata["customer"] != "Alice Smith" || got.Key != "job-1" {
			f.t.Errorf("retention changed the host's metadata %v or key %q", got.Metadata, got.Key)
		}
		i, err := f.s.Interaction(f.ctx, "i1")
		if err != nil {
			f.t.Fatal(err)
		}
		if want := "concat:" + pseudo(alice) + ":7:m-1"; i.ExternalID != want {
			f.t.Errorf("external ID %q; want %q", i.ExternalID, want)
		}
		if len(i.Events) != 1 || i.Events[0].Detail != "sms: send to "+pseudo(bob)+": throttled" {
			f.t.Errorf("events %+v", i.Events)
		}
		if _, err := f.s.InteractionByExternalID(f.ctx, proxy.KindSMS, "concat:"+pseudo(alice)+":7:m-1"); err != nil {
			f.t.Errorf("the interaction is not found by its new external ID: %v", err)
		}
		if _, err := f.s.InteractionByExternalID(f.ctx, proxy.KindSMS, sms.ExternalID); !errors.Is(err, proxy.ErrNotFound) {
			f.t.Errorf("found by the external ID with the number: %v", err)
		}
		if jobs, err := f.s.ClaimRelays(f.ctx, proxy.RelayClaim{Owner: "o", Now: at(2 * time.Hour), LeaseUntil: at(3 * time.Hour)}); err != nil || len(jobs) != 0 {
			f.t.Errorf("relay jobs after pseudonymization: %+v, %v; want none", jobs, err)
		}
		// Erasing alice: c2 pseudonymized with its metadata gone; c1,
		// done by the sweep, loses its metadata and key now.
		ids, err := f.s.Pseudonymize(f.ctx, proxy.PseudonymQuery{EndedBefore: at(time.Hour), Participant: alice, Pseudonym: pseudo})
		if err != nil || !slices.Equal(ids, []string{"c2", "c1"}) {
			f.t.Fatalf("erase alice = %v, %v; want c2 then c1", ids, err)
		}
		for _, id := range ids {
			got := f.get(id)
			if len(got.Metadata) != 0 || got.Key != "" || got.Participants[0].Label != "" || got.Participants[1].Label != "" {
				f.t.Errorf("%s after the erasure: %+v", id, got)
			}
		}
		if ids, err := f.s.Pseudonymize(f.ctx, proxy.PseudonymQuery{EndedBefore: at(time.Hour), Participant: alice, Pseudonym: pseudo}); err != nil || len(ids) != 0 {
			f.t.Errorf("erase alice again = %v, %v; want nothing", ids, err)
		}
	}},
	{"ByParticipantAndLimit", func(f *fixture) {
		f.create(conv("c1", alice, gb1, bob, gb1, base, time.Hour),
			conv("c2", carol, gb1, dave, gb1, base, time.Hour),
			conv("c3", dave, gb2, alice, gb2, base, time.Hour))
		for _, id := range []string{"c1", "c2", "c3"} {
			f.end(id, proxy.StatusClosed, at(time.Minute))
		}
		ids, err := f.s.Pseudonymize(f.ctx, proxy.PseudonymQuery{EndedBefore: at(time.Hour), Participant: alice, Pseudonym: pseudo, Limit: 1})
		if err != nil || !slices.Equal(ids, []string{"c1"}) {
			f.t.Fatalf("limit 1 = %v, %v", ids, err)
		}
		ids, err = f.s.Pseudonymize(f.ctx, proxy.PseudonymQuery{EndedBefore: at(time.Hour), Participant: alice, Pseudonym: pseudo})
		if err != nil || !slices.Equal(ids, []string{"c3"}) {
			f.t.Fatalf("alice's rest = %v, %v; want c3", ids, err)
		}
		if c := f.get("c3"); c.Participants[0].Number != pseudo(dave) || c.Participants[1].Number != pseudo(alice) {
			f.t.Errorf("c3 %+v: both participants are pseudonymized", c.Participants)
		}
		if c := f.get("c2"); c.Participants[0].Number != carol {
			f.t.Errorf("c2 of other participants was changed: %+v", c.Participants)
		}
	}}, {"CoolOffAndStickyGoOn", func(f *fixture) {
		// Pseudonymized within the cool-off (an erasure, or a Retention
		// shorter than CoolOff): the releases and the sticky number count
		// under the pseudonyms, and no longer under the real numbers.
		f.addNumbers(gbNumber(gb1), gbNumber(gb2))
		f.create(conv("old", alice, gb2, bob, gb1, base, time.Hour))
		f.end("old", proxy.StatusClosed, at(time.Minute))
		ids, err := f.s.Pseudonymize(f.ctx, proxy.PseudonymQuery{EndedBefore: at(2 * time.Minute), Participant: alice, Pseudonym: pseudo})
		if err != nil || !slices.Equal(ids, []string{"old"}) {
			f.t.Fatalf("Pseudonymize = %v, %v; want old", ids, err)
		}
		now, coolOff := at(10*time.Minute), base // released after base: in the cool-off
		q := func(p, cp string, pseudonyms bool) proxy.CandidateQuery {
			q := query(p, cp, now, coolOff)
			if pseudonyms {
				q.ParticipantPseudonym, q.CounterpartPseudonym = pseudo(p), pseudo(cp)
			}
			return q
		}
		f.wantCandidates(q(alice, bob, true), gb2+"*", gb1)
		f.wantCandidates(q(alice, carol, true), gb1)
		f.wantCandidates(q(bob, dave, true), gb2)
		f.wantCandidates(q(bob, alice, true), gb1+"*", gb2)
		// Without the pseudonyms nothing is known of them.
		f.wantCandidates(q(alice, carol, false), gb1, gb2)
		// After the cool-off the release no longer counts; stickiness does.
		late := q(alice, carol, true)
		late.Now, late.ReleasedAfter = at(3*time.Hour), at(2*time.Hour)
		f.wantCandidates(late, gb1, gb2)
		late.Counterpart, late.CounterpartPseudonym = bob, pseudo(bob)
		f.wantCandidates(late, gb2+"*", gb1)
		// The conversation lists under the pseudonym.
		if got := f.listAll(proxy.ListFilter{Participant: pseudo(alice), Now: now}); !slices.Equal(got, []string{"old"}) {
			f.t.Errorf("listed under alice's pseudonym: %v; want old", got)
		}
	}}, {"ErasureKeepsTheCounterpartsCoolOff", func(f *fixture) {
		// Erasing alice pseudonymizes dave's conversation with her, and
		// nothing of dave's conversation with carol: its release still
		// keeps dave from gb1 for a new stranger.
		f.addNumbers(gbNumber(gb1), gbNumber(gb2), gbNumber(gb3))
		f.create(conv("c1", dave, gb1, carol, gb1, base, time.Hour),
			conv("c2", alice, gb2, dave, gb2, base, time.Hour))
		f.end("c1", proxy.StatusClosed, at(time.Minute))
		f.end("c2", proxy.StatusClosed, at(time.Minute))
		ids, err := f.s.Pseudonymize(f.ctx, proxy.PseudonymQuery{EndedBefore: at(2 * time.Minute), Participant: alice, Pseudonym: pseudo})
		if err != nil || !slices.Equal(ids, []string{"c2"}) {
			f.t.Fatalf("erase alice = %v, %v; want c2", ids, err)
		}
		q := query(dave, bob, at(10*time.Minute), base)
		q.ParticipantPseudonym, q.CounterpartPseudonym = pseudo(dave), pseudo(bob)
		f.wantCandidates(q, gb3)
	}},
}
