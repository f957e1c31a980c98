package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// query builds a CandidateQuery for any features and country.
func query(participant, counterpart string, now, releasedAfter time.Time) proxy.CandidateQuery {
	return proxy.CandidateQuery{Participant: participant, Counterpart: counterpart, Now: now, ReleasedAfter: releasedAfter}
}

// wantCandidateSet checks the candidates as a set, for cases where the
// order depends on Load, which a store may compute including legs of
// conversations past their deadline but not swept.
func (f *fixture) wantCandidateSet(q proxy.CandidateQuery, want ...string) {
	f.t.Helper()
	got := f.candidates(q)
	slices.Sort(got)
	slices.Sort(want)
	if want == nil {
		want = []string{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		f.t.Errorf("Candidates(participant %s, counterpart %s, now %s, released after %s) as a set (-want +got):\n%s",
			q.Participant, q.Counterpart, q.Now.Sub(base), q.ReleasedAfter.Sub(base), diff)
	}
}

var candidateTests = []test{
	{"EmptyPool", func(f *fixture) {
		f.wantCandidates(query(alice, bob, base, base))
	}},
	{"FeaturesAndCountry", func(f *fixture) {
		f.addNumbers(
			gbNumber(gb1),
			proxy.PoolNumber{MSISDN: gb2, Country: "GB", Voice: true},
			proxy.PoolNumber{MSISDN: gb3, Country: "GB", SMS: true},
			usNumber(us1),
		)
		for _, tc := range []struct {
			name       string
			country    string
			voice, sms bool
			want       []string
		}{
			{"any", "", false, false, []string{gb1, gb2, gb3, us1}},
			{"voice", "", true, false, []string{gb1, gb2, us1}},
			{"sms", "", false, true, []string{gb1, gb3, us1}},
			{"voice and sms", "", true, true, []string{gb1, us1}},
			{"GB", "GB", false, false, []string{gb1, gb2, gb3}},
			{"GB voice", "GB", true, false, []string{gb1, gb2}},
			{"US sms", "US", false, true, []string{us1}},
			{"country not in pool", "FR", false, false, nil},
		} {
			f.t.Run(tc.name, func(t *testing.T) {
				g := *f
				g.t = t
				q := query(alice, bob, base, base)
				q.Country, q.Voice, q.SMS = tc.country, tc.voice, tc.sms
				g.wantCandidates(q, tc.want...)
			})
		}
	}},
	{"Prefix", func(f *fixture) {
		// NANP area codes: 1415 (San Francisco) and 1212 (New York).
		f.addNumbers(usNumber("14155550001"), usNumber("12125550002"), usNumber("14155550003"), gbNumber(gb1))
		q := query(erin, alice, base, base)
		q.Country, q.Prefix = "US", "1415"
		f.wantCandidates(q, "14155550001", "14155550003")
		q.Prefix, q.Limit = "1212", 1
		f.wantCandidates(q, "12125550002")
		q.Prefix = "1999"
		f.wantCandidates(q)
		q.Country, q.Prefix, q.Limit = "", "44", 0
		f.wantCandidates(q, gb1)
	}},
	{"InUseLegsExcluded", func(f *fixture) {
		f.addNumbers(gbNumber(gb1), gbNumber(gb2), gbNumber(gb3))
		f.create(conv("c1", alice, gb1, bob, gb1, base, time.Hour))
		now := at(time.Minute)
		f.wantCandidates(query(alice, carol, now, now), gb2, gb3)
		f.wantCandidates(query(bob, carol, now, now), gb2, gb3)
		// In use blocks even with the same counterpart; not sticky then.
		f.wantCandidates(query(alice, bob, now, now), gb2, gb3)
		// Others may share gb1; it is the most loaded, so last.
		f.wantCandidates(query(carol, dave, now, now), gb2, gb3, gb1)
	}},
	{"CoolOff", func(f *fixture) {
		f.addNumbers(gbNumber(gb1), gbNumber(gb2), gbNumber(gb3))
		f.create(conv("c1", alice, gb1, bob, gb1, base, time.Hour))
		f.end("c1", proxy.StatusClosed, at(10*time.Minute))
		now := at(20 * time.Minute)
		// Released at +10m, after the cool-off start (+5m): blocked for a
		// stranger, on both sides.
		f.wantCandidates(query(alice, carol, now, at(5*time.Minute)), gb2, gb3)
		f.wantCandidates(query(bob, carol, now, at(5*time.Minute)), gb2, gb3)
		// Released exactly at the cool-off start: not after it, free.
		f.wantCandidates(query(alice, carol, now, at(10*time.Minute)), gb1, gb2, gb3)
		// The same counterpart may have it again, and it is sticky.
		f.wantCandidates(query(alice, bob, now, at(5*time.Minute)), gb1+"*", gb2, gb3)
		// A participant that never held it is unaffected.
		f.wantCandidates(query(carol, dave, now, at(5*time.Minute)), gb1, gb2, gb3)

		// alice then releases gb1 from a conversation with carol too: now
		// not every release after the cool-off start was with bob.
		f.create(conv("c2", alice, gb1, carol, gb2, at(11*time.Minute), time.Hour))
		f.end("c2", proxy.StatusClosed, at(12*time.Minute))
		f.wantCandidates(query(alice, bob, now, at(5*time.Minute)), gb2, gb3)
		f.wantCandidates(query(alice, carol, now, at(5*time.Minute)), gb2, gb3)
		// With the cool-off starting at +10m only the release with carol
		// counts: carol may have gb1 back, bob may not.
		f.wantCandidates(query(alice, carol, now, at(10*time.Minute)), gb1+"*", gb2, gb3)
		f.wantCandidates(query(alice, bob, now, at(10*time.Minute)), gb2, gb3)
		f.wantCandidates(query(alice, dave, now, at(12*time.Minute)), gb1, gb2, gb3)
	}},
	{"ExpiredUnsweptLegsDoNotBlock", func(f *fixture) {
		f.addNumbers(gbNumber(gb1), gbNumber(gb2), gbNumber(gb3))
		f.create(conv("c1", alice, gb1, bob, gb2, base, time.Hour))
		idle := conv("c2", carol, gb3, dave, gb3, base, time.Hour)
		idle.IdleTimeout = 10 * time.Minute
		f.create(idle)
		// Neither was swept. At its deadline a conversation is not in use
		// and its legs count as released at the deadline. (Order is not
		// checked: Load may still count unswept legs.)
		now := at(time.Hour)
		f.wantCandidateSet(query(alice, carol, now, now), gb1, gb2, gb3)
		f.wantCandidateSet(query(bob, carol, now, now), gb1, gb2, gb3)
		f.wantCandidateSet(query(carol, alice, at(10*time.Minute), at(10*time.Minute)), gb1, gb2, gb3)
		// One second earlier they are still in use.
		f.wantCandidateSet(query(alice, carol, at(time.Hour-time.Second), now), gb2, gb3)
		f.wantCandidateSet(query(carol, alice, at(10*time.Minute-time.Second), now), gb1, gb2)
		// Released at the deadline, so cool-off applies from there, with
		// the counterpart exemption (and stickiness).
		f.wantCandidateSet(query(alice, carol, now, at(30*time.Minute)), gb2, gb3)
		got := f.candidates(query(alice, bob, now, at(30*time.Minute)))
		if len(got) != 3 || got[0] != gb1+"*" {
			f.t.Errorf("Candidates(alice, bob) after c1's deadline = %v, want %s sticky first of 3", got, gb1)
		}
		// And a new conversation may take the leg.
		f.create(conv("c3", alice, gb1, erin, gb1, now, time.Hour))
		f.wantRoute(alice, gb1, now, "c3")
	}},
	{"Order", func(f *fixture) {
		f.addNumbers(gbNumber(gb1), gbNumber(gb2), gbNumber(gb3), usNumber(us1))
		// Earlier history: alice and bob talked via gb1 (alice) and gb2 (bob).
		f.create(conv("c0", alice, gb1, bob, gb2, at(-2*time.Hour), time.Hour))
		f.end("c0", proxy.StatusClosed, at(-90*time.Minute))
		// Load now: gb1 2, gb2 1, us1 1, gb3 0.
		f.create(
			conv("c1", carol, gb1, dave, gb1, base, time.Hour),
			conv("c2", carol, gb2, erin, us1, base, time.Hour),
		)
		now, ra := at(time.Minute), at(-15*time.Minute)
		num := func(n string) proxy.PoolNumber {
			if n == us1 {
				return usNumber(n)
			}
			return gbNumber(n)
		}
		cand := func(n string, sticky bool, load int) proxy.Candidate {
			return proxy.Candidate{PoolNumber: num(n), Sticky: sticky, Load: load}
		}
		for _, tc := range []struct {
			name    string
			q       proxy.CandidateQuery
			country string
			limit   int
			want    []proxy.Candidate
		}{
			{"no history", query(dave, alice, now, ra), "", 0,
				[]proxy.Candidate{cand(gb3, false, 0), cand(gb2, false, 1), cand(us1, false, 1)}},
			{"sticky first", query(alice, bob, now, ra), "", 0,
				[]proxy.Candidate{cand(gb1, true, 2), cand(gb3, false, 0), cand(gb2, false, 1), cand(us1, false, 1)}},
			{"sticky per participant", query(bob, alice, now, ra), "", 0,
				[]proxy.Candidate{cand(gb2, true, 1), cand(gb3, false, 0), cand(us1, false, 1), cand(gb1, false, 2)}},
			{"sticky per counterpart", query(alice, erin, now, ra), "", 0,
				[]proxy.Candidate{cand(gb3, false, 0), cand(gb2, false, 1), cand(us1, false, 1), cand(gb1, false, 2)}},
			{"limit", query(alice, bob, now, ra), "", 2,
				[]proxy.Candidate{cand(gb1, true, 2), cand(gb3, false, 0)}},
			{"limit 1", query(bob, alice, now, ra), "", 1,
				[]proxy.Candidate{cand(gb2, true, 1)}},
			{"country", query(bob, alice, now, ra), "GB", 0,
				[]proxy.Candidate{cand(gb2, true, 1), cand(gb3, false, 0), cand(gb1, false, 2)}},
			{"sticky outside country", query(bob, alice, now, ra), "US", 0,
				[]proxy.Candidate{cand(us1, false, 1)}},
		} {
			f.t.Run(tc.name, func(t *testing.T) {
				q := tc.q
				q.Country, q.Limit = tc.country, tc.limit
				got, err := f.s.Candidates(f.ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("Candidates mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}},
	{"StickyIsMostRecentByCreatedAt", func(f *fixture) {
		f.addNumbers(gbNumber(gb1), gbNumber(gb2), gbNumber(gb3))
		// Inserted out of order, IDs out of order: CreatedAt decides.
		f.create(conv("a-later", bob, gb3, alice, gb2, at(2*time.Minute), time.Hour))
		f.create(conv("z-earlier", alice, gb1, bob, gb1, base, time.Hour))
		f.end("a-later", proxy.StatusClosed, at(3*time.Minute))
		f.end("z-earlier", proxy.StatusClosed, at(time.Minute))
		now, ra := at(2*time.Hour), at(time.Hour)
		f.wantCandidates(query(alice, bob, now, ra), gb2+"*", gb1, gb3)
		f.wantCandidates(query(bob, alice, now, ra), gb3+"*", gb1, gb2)
		// In cool-off for a stranger, still sticky for the old contact.
		f.wantCandidates(query(bob, alice, at(4*time.Minute), base), gb3+"*", gb1, gb2)
		f.wantCandidates(query(bob, carol, at(4*time.Minute), base), gb2)
		// When the most recent number is not a candidate there is no
		// sticky number, not an older one.
		f.create(conv("c3", alice, gb2, dave, gb2, now, time.Hour))
		f.wantCandidates(query(alice, bob, now, ra), gb1, gb3)
	}},
}
