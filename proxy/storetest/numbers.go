package storetest

import (
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voiceproxy/voiceproxy/proxy"
)

var numberTests = []test{
	{"Empty", func(f *fixture) {
		got, err := f.s.Pool(f.ctx)
		if err != nil || len(got) != 0 {
			f.t.Errorf("Numbers() of an empty store = %v, %v; want empty, nil", got, err)
		}
	}},
	{"PoolOrderAndUpsert", func(f *fixture) {
		f.addNumbers(gbNumber(gb2), usNumber(us1))
		f.addNumbers(gbNumber(gb1))
		// gb2 moves country and loses SMS but keeps its place; us2 is new.
		f.addNumbers(proxy.PoolNumber{MSISDN: gb2, Country: "IE", Voice: true}, usNumber(us2))
		got, err := f.s.Pool(f.ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		want := []proxy.PoolNumber{
			{MSISDN: gb2, Country: "IE", Voice: true},
			usNumber(us1),
			gbNumber(gb1),
			usNumber(us2),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			f.t.Errorf("Numbers() mismatch (-want +got):\n%s", diff)
		}
		// The update is what Candidates sees too.
		q := proxy.CandidateQuery{Participant: alice, Counterpart: bob, Country: "IE", Now: base, ReleasedAfter: base}
		f.wantCandidates(q, gb2)
		q.SMS = true
		f.wantCandidates(q)
		q = proxy.CandidateQuery{Participant: alice, Counterpart: bob, Country: "GB", Now: base, ReleasedAfter: base}
		f.wantCandidates(q, gb1)
	}},
	{"BoughtCostAndLegs", func(f *fixture) {
		// What the autopilot bought is kept, also through an update that
		// does not say it; Legs counts the legs in use on each number.
		bought := gbNumber(gb1)
		bought.Bought, bought.MonthlyCost = base.Add(-time.Hour), 1.25
		f.addNumbers(bought, gbNumber(gb2))
		f.addNumbers(gbNumber(gb1))
		f.create(conv("c1", alice, gb1, bob, gb1, base, time.Hour), conv("c2", carol, gb1, dave, gb2, base, time.Hour))
		got, err := f.s.Pool(f.ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		bought.Legs = 3
		want := []proxy.PoolNumber{bought, {MSISDN: gb2, Country: "GB", Voice: true, SMS: true, Legs: 1}}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			f.t.Errorf("Pool() mismatch (-want +got):\n%s", diff)
		}
		for num, want := range map[string]int{gb1: 3, gb2: 1, gb3: 0} {
			if n, err := f.s.NumberLegs(f.ctx, num); err != nil || n != want {
				f.t.Errorf("NumberLegs(%s) = %d, %v; want %d", num, n, err, want)
			}
		}
		// A number out of the pool still counts its legs.
		if err := f.s.RemoveNumber(f.ctx, gb2); err != nil {
			f.t.Fatal(err)
		}
		if n, err := f.s.NumberLegs(f.ctx, gb2); err != nil || n != 1 {
			f.t.Errorf("NumberLegs of a removed number = %d, %v; want 1", n, err)
		}
		f.addNumbers(gbNumber(gb2))
		// Ending c2 releases a leg on each number: LastUsed says when.
		end := base.Add(10 * time.Minute)
		if _, err := f.s.EndConversation(f.ctx, "c2", proxy.StatusClosed, end); err != nil {
			f.t.Fatal(err)
		}
		got, err = f.s.Pool(f.ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		bought.Legs, bought.LastUsed = 2, end
		want = []proxy.PoolNumber{bought, {MSISDN: gb2, Country: "GB", Voice: true, SMS: true, LastUsed: end}}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			f.t.Errorf("Pool() after a close mismatch (-want +got):\n%s", diff)
		}
	}},
	{"ReturnedSliceIsACopy", func(f *fixture) {
		f.addNumbers(gbNumber(gb1))
		got, err := f.s.Pool(f.ctx)
		if err != nil || len(got) != 1 {
			f.t.Fatalf("Numbers() = %v, %v", got, err)
		}
		got[0].Country = "XX"
		again, _ := f.s.Pool(f.ctx)
		if diff := cmp.Diff([]proxy.PoolNumber{gbNumber(gb1)}, again); diff != "" {
			f.t.Errorf("changing a returned slice changed the store (-want +got):\n%s", diff)
		}
	}},
	{"RemoveNumber", func(f *fixture) {
		f.addNumbers(gbNumber(gb1), gbNumber(gb2), gbNumber(gb3))
		c := conv("c1", alice, gb2, bob, gb2, base, time.Hour)
		f.create(c)
		if err := f.s.RemoveNumber(f.ctx, gb2); err != nil {
			f.t.Fatalf("RemoveNumber(%s): %v", gb2, err)
		}
		got, err := f.s.Pool(f.ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		if diff := cmp.Diff([]proxy.PoolNumber{gbNumber(gb1), gbNumber(gb3)}, got); diff != "" {
			f.t.Errorf("Numbers() after RemoveNumber mismatch (-want +got):\n%s", diff)
		}
		// Offered to nobody, but the conversation using it keeps routing.
		f.wantCandidates(proxy.CandidateQuery{Participant: carol, Counterpart: dave, Now: at(time.Minute), ReleasedAfter: at(time.Minute)}, gb1, gb3)
		f.wantRoute(alice, gb2, at(time.Minute), "c1")
		f.wantRoute(bob, gb2, at(time.Minute), "c1")

		f.wantNotFound("RemoveNumber of a removed number", f.s.RemoveNumber(f.ctx, gb2))
		f.wantNotFound("RemoveNumber of an unknown number", f.s.RemoveNumber(f.ctx, us1))
	}},
}
