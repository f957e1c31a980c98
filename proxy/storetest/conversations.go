package storetest

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voiceproxy/voiceproxy/proxy"
)

var createTests = []test{
	{"RoundTrip", func(f *fixture) {
		f.addNumbers(gbNumber(gb1), usNumber(us1))
		c := conv("c1", alice, gb1, erin, us1, base, 2*time.Hour)
		c.Mode = proxy.ModeSMS
		c.Participants[0].Label = "your driver"
		c.Participants[1].Label = "your rider"
		c.Metadata = map[string]string{"order": "42", "city": "London"}
		c.IdleTimeout = 15 * time.Minute
		c.LastActivityAt = at(time.Second)
		c.Record = true
		f.create(c)
		f.wantConv(c)
		if routed, err := f.s.Route(f.ctx, alice, gb1, at(time.Minute)); err != nil || !routed.Record {
			f.t.Errorf("Route lost Record: %+v, %v", routed, err)
		}
		f.wantNotFound("Conversation(unknown)", errOf(f.s.Conversation(f.ctx, "unknown")))
	}},
	{"NoSharedMemory", func(f *fixture) {
		c := conv("c1", alice, gb1, bob, gb1, base, time.Hour)
		c.Metadata = map[string]string{"k": "v"}
		f.create(c)
		c.Metadata["k"] = "changed by caller"
		got := f.get("c1")
		routed, err := f.s.Route(f.ctx, alice, gb1, base)
		if err != nil {
			f.t.Fatal(err)
		}
		if got.Metadata == nil || routed.Metadata == nil {
			f.t.Fatalf("metadata lost: Conversation gave %v, Route gave %v", got.Metadata, routed.Metadata)
		}
		got.Metadata["k"] = "changed by reader"
		routed.Metadata["other"] = "added by reader"
		want := conv("c1", alice, gb1, bob, gb1, base, time.Hour)
		want.Metadata = map[string]string{"k": "v"}
		f.wantConv(want)
	}},
	{"DuplicateID", func(f *fixture) {
		c := conv("c1", alice, gb1, bob, gb1, base, time.Hour)
		f.create(c)
		dup := conv("c1", carol, gb2, dave, gb2, at(time.Minute), time.Hour)
		f.wantConflict("CreateConversation with an existing ID", f.s.CreateConversation(f.ctx, dup))
		f.wantConv(c)
		f.wantRoute(carol, gb2, at(time.Minute), "")
		// Also once the first one has ended.
		f.end("c1", proxy.StatusClosed, at(2*time.Minute))
		dup.CreatedAt = at(3 * time.Minute)
		f.wantConflict("CreateConversation with an ended conversation's ID", f.s.CreateConversation(f.ctx, dup))
	}},
	{"LegConflictWritesNothing", func(f *fixture) {
		f.addNumbers(gbNumber(gb1), gbNumber(gb2))
		f.create(conv("c1", alice, gb1, bob, gb1, base, time.Hour))
		now := at(time.Minute)
		for _, c := range []proxy.Conversation{
			conv("c2", carol, gb2, alice, gb1, now, time.Hour), // second leg collides
			conv("c2", bob, gb1, carol, gb2, now, time.Hour),   // first leg collides
		} {
			f.wantConflict("CreateConversation with a leg in use", f.s.CreateConversation(f.ctx, c))
			f.wantNotFound("Conversation(c2) after a conflict", errOf(f.s.Conversation(f.ctx, "c2")))
			f.wantRoute(carol, gb2, now, "")
			// carol's leg was not written: gb2 is free for her and unloaded.
			got, err := f.s.Candidates(f.ctx, query(carol, dave, now, now))
			if err != nil {
				f.t.Fatal(err)
			}
			want := []proxy.Candidate{{PoolNumber: gbNumber(gb2)}, {PoolNumber: gbNumber(gb1), Load: 2}}
			if diff := cmp.Diff(want, got); diff != "" {
				f.t.Errorf("Candidates(carol) after a conflict (-want +got):\n%s", diff)
			}
			if ids := f.listAll(proxy.ListFilter{Participant: carol}); len(ids) != 0 {
				f.t.Errorf("ListConversations(carol) after a conflict = %v, want none", ids)
			}
		}
		// The ID is still free.
		f.create(conv("c2", carol, gb2, dave, gb2, now, time.Hour))
		f.wantRoute(carol, gb2, now, "c2")
		f.wantRoute(alice, gb1, now, "c1")
	}},
	{"BothLegsTheSame", func(f *fixture) {
		c := conv("c1", alice, gb1, alice, gb1, base, time.Hour)
		f.wantConflict("CreateConversation whose two legs are one", f.s.CreateConversation(f.ctx, c))
		f.wantNotFound("Conversation(c1)", errOf(f.s.Conversation(f.ctx, "c1")))
	}},
	{"LegFreeAgainAfterEnd", func(f *fixture) {
		f.create(conv("c1", alice, gb1, bob, gb1, base, time.Hour))
		f.end("c1", proxy.StatusClosed, at(time.Minute))
		f.create(conv("c2", alice, gb1, carol, gb1, at(time.Minute), time.Hour))
		f.wantRoute(alice, gb1, at(2*time.Minute), "c2")
		f.wantRoute(carol, gb1, at(2*time.Minute), "c2")
		f.wantRoute(bob, gb1, at(2*time.Minute), "")
	}},
	{"ConflictJudgedAtCreatedAt", func(f *fixture) {
		f.create(conv("c1", alice, gb1, bob, gb1, base, time.Hour))
		// c1 is in use until +1h (exclusive): a leg of it conflicts just
		// before, and not at its deadline, swept or not.
		early := conv("c2", alice, gb1, carol, gb2, at(time.Hour-time.Second), time.Hour)
		f.wantConflict("CreateConversation just before the deadline", f.s.CreateConversation(f.ctx, early))
		f.create(conv("c2", alice, gb1, carol, gb2, at(time.Hour), time.Hour))
		f.wantRoute(alice, gb1, at(time.Hour), "c2")
	}},
}

var routeTests = []test{
	{"InUse", func(f *fixture) {
		f.create(conv("c1", alice, gb1, bob, gb2, base, time.Hour))
		now := at(time.Minute)
		f.wantRoute(alice, gb1, now, "c1")
		f.wantRoute(bob, gb2, now, "c1")
		f.wantRoute(alice, gb2, now, "") // not alice's leg
		f.wantRoute(bob, gb1, now, "")
		f.wantRoute(carol, gb1, now, "")
		f.wantRoute(alice, us1, now, "")
		c, err := f.s.Route(f.ctx, alice, gb1, now)
		if err != nil {
			f.t.Fatal(err)
		}
		if diff := cmp.Diff(conv("c1", alice, gb1, bob, gb2, base, time.Hour), c, cmpOpts); diff != "" {
			f.t.Errorf("Route returned (-want +got):\n%s", diff)
		}
	}},
	{"Closed", func(f *fixture) {
		f.create(conv("c1", alice, gb1, bob, gb2, base, time.Hour))
		f.end("c1", proxy.StatusClosed, at(time.Minute))
		f.wantRoute(alice, gb1, at(time.Minute), "")
		f.wantRoute(bob, gb2, at(2*time.Minute), "")
	}},
	{"ExpiredByTTL", func(f *fixture) {
		f.create(conv("c1", alice, gb1, bob, gb2, base, time.Hour))
		f.wantRoute(alice, gb1, at(time.Hour-time.Second), "c1")
		f.wantRoute(alice, gb1, at(time.Hour), "") // deadline is not after now
		f.wantRoute(bob, gb2, at(2*time.Hour), "")
	}},
	{"ExpiredByIdle", func(f *fixture) {
		c := conv("c1", alice, gb1, bob, gb2, base, time.Hour)
		c.IdleTimeout = 10 * time.Minute
		f.create(c)
		f.wantRoute(alice, gb1, at(10*time.Minute-time.Second), "c1")
		f.wantRoute(alice, gb1, at(10*time.Minute), "")
	}},
	{"TouchExtendsIdle", func(f *fixture) {
		c := conv("c1", alice, gb1, bob, gb2, base, time.Hour)
		c.IdleTimeout = 10 * time.Minute
		f.create(c)
		if err := f.s.Touch(f.ctx, "c1", at(5*time.Minute)); err != nil {
			f.t.Fatal(err)
		}
		f.wantRoute(alice, gb1, at(15*time.Minute-time.Second), "c1")
		f.wantRoute(bob, gb2, at(15*time.Minute), "")
		c.LastActivityAt = at(5 * time.Minute)
		f.wantConv(c)
		// An older activity time does not move it back.
		if err := f.s.Touch(f.ctx, "c1", at(2*time.Minute)); err != nil {
			f.t.Fatal(err)
		}
		f.wantConv(c)
		// Touch never extends past ExpiresAt.
		for m := 10; m <= 60; m += 9 {
			if err := f.s.Touch(f.ctx, "c1", at(time.Duration(m)*time.Minute)); err != nil {
				f.t.Fatal(err)
			}
		}
		f.wantRoute(alice, gb1, at(time.Hour-time.Second), "c1")
		f.wantRoute(alice, gb1, at(time.Hour), "")
	}},
	{"TouchNotFound", func(f *fixture) {
		f.wantNotFound("Touch(unknown)", f.s.Touch(f.ctx, "unknown", base))
	}},
	{"TouchDoesNotReviveEnded", func(f *fixture) {
		// Contract reading: a conversation whose deadline has passed has
		// ended, swept or not ("not in use ... never route"), so Touch
		// leaves it alone like a closed one. Reviving it could put two
		// conversations in use on one leg: its legs were free to take.
		c := conv("c1", alice, gb1, bob, gb2, base, time.Hour)
		c.IdleTimeout = 10 * time.Minute
		f.create(c)
		closed := conv("c2", carol, gb1, dave, gb2, base, time.Hour)
		f.create(closed)
		closed = f.end("c2", proxy.StatusClosed, at(time.Minute))
		for _, id := range []string{"c1", "c2"} {
			if err := f.s.Touch(f.ctx, id, at(11*time.Minute)); err != nil {
				f.t.Fatalf("Touch(%s): %v", id, err)
			}
		}
		f.wantConv(c)
		f.wantConv(closed)
		f.wantRoute(alice, gb1, at(12*time.Minute), "")
		f.wantRoute(carol, gb1, at(12*time.Minute), "")
	}},
}

var listTests = []test{
	{"Empty", func(f *fixture) {
		cs, next, err := f.s.ListConversations(f.ctx, proxy.ListFilter{Now: base})
		if err != nil || len(cs) != 0 || next != "" {
			f.t.Errorf("ListConversations on an empty store = %v, %q, %v", cs, next, err)
		}
	}},
	{"Filters", func(f *fixture) {
		f.create(
			conv("c1-active", alice, gb1, bob, gb1, base, 2*time.Hour),
			conv("c2-closed", alice, gb2, carol, gb2, base, 2*time.Hour),
			conv("c3-unswept", dave, gb1, bob, gb2, base, 30*time.Minute),
			conv("c4-swept", carol, gb1, erin, us1, base, 10*time.Minute),
		)
		f.end("c2-closed", proxy.StatusClosed, at(5*time.Minute))
		if _, err := f.s.ExpireConversations(f.ctx, at(20*time.Minute), 0); err != nil {
			f.t.Fatal(err)
		}
		now := at(time.Hour)
		for _, tc := range []struct {
			status      proxy.Status
			participant string
			want        []string
		}{
			{"", "", []string{"c1-active", "c2-closed", "c3-unswept", "c4-swept"}},
			{proxy.StatusActive, "", []string{"c1-active"}},
			{proxy.StatusClosed, "", []string{"c2-closed"}},
			{proxy.StatusExpired, "", []string{"c3-unswept", "c4-swept"}},
			{"", alice, []string{"c1-active", "c2-closed"}},
			{"", bob, []string{"c1-active", "c3-unswept"}},
			{proxy.StatusExpired, bob, []string{"c3-unswept"}},
			{proxy.StatusActive, carol, nil},
			{"", gb1, nil}, // proxy numbers are not participants
			{"", "unknown", nil},
		} {
			got := f.listAll(proxy.ListFilter{Status: tc.status, Participant: tc.participant, Now: now, Limit: 2})
			if tc.want == nil {
				tc.want = []string{}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				f.t.Errorf("ListConversations(status %q, participant %q) (-want +got):\n%s", tc.status, tc.participant, diff)
			}
		}
		// Pages hold whole conversations.
		cs, _, err := f.s.ListConversations(f.ctx, proxy.ListFilter{Status: proxy.StatusClosed, Now: now})
		if err != nil {
			f.t.Fatal(err)
		}
		want := ended(conv("c2-closed", alice, gb2, carol, gb2, base, 2*time.Hour), proxy.StatusClosed, at(5*time.Minute))
		if diff := cmp.Diff([]proxy.Conversation{want}, cs, cmpOpts); diff != "" {
			f.t.Errorf("ListConversations(closed) (-want +got):\n%s", diff)
		}
	}},
	{"Paging", func(f *fixture) {
		var all []string
		for i := range 25 {
			// Insert in a scrambled order; pages come back by ID.
			n := (i * 7) % 25
			f.create(conv(id(n), participant(n), gb1, participant(n+100), gb1, base, time.Hour))
			all = append(all, id(n))
		}
		slices.Sort(all)
		filter := proxy.ListFilter{Now: base, Limit: 10}
		var got []string
		var sizes []int
		for {
			cs, next, err := f.s.ListConversations(f.ctx, filter)
			if err != nil {
				f.t.Fatal(err)
			}
			sizes = append(sizes, len(cs))
			for _, c := range cs {
				got = append(got, c.ID)
			}
			if next == "" || len(sizes) > 10 {
				break
			}
			filter.After = next
		}
		if diff := cmp.Diff(all, got); diff != "" {
			f.t.Errorf("paged IDs (-want +got):\n%s", diff)
		}
		if sizes[0] != 10 || sizes[1] != 10 {
			f.t.Errorf("page sizes %v, want 10, 10, then the rest", sizes)
		}
		// Default page size is 100.
		for i := 25; i < 101; i++ {
			f.create(conv(id(i), participant(i+200), gb1, participant(i+1000), gb1, base, time.Hour))
		}
		cs, next, err := f.s.ListConversations(f.ctx, proxy.ListFilter{Now: base})
		if err != nil {
			f.t.Fatal(err)
		}
		if len(cs) != 100 || next == "" {
			f.t.Errorf("ListConversations with no limit over 101: %d conversations, cursor %q; want 100 and a cursor", len(cs), next)
		}
	}},
	{"PagingWhileAdding", func(f *fixture) {
		var want []string
		for i := 10; i < 40; i += 2 {
			f.create(conv(id(i), participant(i), gb1, participant(i+100), gb1, base, time.Hour))
			want = append(want, id(i))
		}
		filter := proxy.ListFilter{Now: base, Limit: 4}
		seen := map[string]int{}
		for page := 0; ; page++ {
			if page > 50 {
				f.t.Fatal("paging does not end")
			}
			cs, next, err := f.s.ListConversations(f.ctx, filter)
			if err != nil {
				f.t.Fatal(err)
			}
			for _, c := range cs {
				seen[c.ID]++
			}
			if next == "" {
				break
			}
			filter.After = next
			// New conversations land before everything, between existing
			// ones (before or after the cursor), and at the end.
			for i, n := range []int{11 + 2*page, 90 + page, 200 + page} {
				cid := id(n)
				if i == 2 {
					cid = fmt.Sprintf("conv-0000-%02d", page)
				}
				f.create(conv(cid, participant(n+500), gb1, participant(n+600), gb1, base, time.Hour))
			}
		}
		for _, id := range want {
			if seen[id] != 1 {
				f.t.Errorf("%s listed %d times, want once", id, seen[id])
			}
		}
		for id, n := range seen {
			if n > 1 {
				f.t.Errorf("%s listed %d times", id, n)
			}
		}
	}},
}

// participant returns a distinct participant number for n.
func participant(n int) string { return fmt.Sprintf("4477009%05d", n) }

var endTests = []test{
	{"Close", func(f *fixture) {
		f.addNumbers(gbNumber(gb1), gbNumber(gb2))
		c := conv("c1", alice, gb1, bob, gb1, base, time.Hour)
		f.create(c)
		want := ended(c, proxy.StatusClosed, at(10*time.Minute))
		got := f.end("c1", proxy.StatusClosed, at(10*time.Minute))
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			f.t.Errorf("EndConversation returned (-want +got):\n%s", diff)
		}
		f.wantConv(want)
		// Legs are released at the end time: cool-off counts from there.
		now := at(20 * time.Minute)
		f.wantCandidates(query(alice, carol, now, at(10*time.Minute-time.Second)), gb2)
		f.wantCandidates(query(alice, carol, now, at(10*time.Minute)), gb1, gb2)
	}},
	{"Expire", func(f *fixture) {
		c := conv("c1", alice, gb1, bob, gb1, base, time.Hour)
		f.create(c)
		got := f.end("c1", proxy.StatusExpired, at(10*time.Minute))
		if diff := cmp.Diff(ended(c, proxy.StatusExpired, at(10*time.Minute)), got, cmpOpts); diff != "" {
			f.t.Errorf("EndConversation returned (-want +got):\n%s", diff)
		}
		f.wantRoute(alice, gb1, at(10*time.Minute), "")
	}},
	{"Idempotent", func(f *fixture) {
		c := conv("c1", alice, gb1, bob, gb1, base, time.Hour)
		f.create(c)
		want := f.end("c1", proxy.StatusClosed, at(10*time.Minute))
		for _, st := range []proxy.Status{proxy.StatusClosed, proxy.StatusExpired} {
			got := f.end("c1", st, at(20*time.Minute))
			if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
				f.t.Errorf("ending again as %s returned (-want +got):\n%s", st, diff)
			}
		}
		f.wantConv(want)
		// And the swept conversation stays as the sweep left it.
		f.create(conv("c2", carol, gb1, dave, gb1, base, time.Hour))
		if _, err := f.s.ExpireConversations(f.ctx, at(2*time.Hour), 0); err != nil {
			f.t.Fatal(err)
		}
		swept := f.get("c2")
		got := f.end("c2", proxy.StatusClosed, at(3*time.Hour))
		if diff := cmp.Diff(swept, got, cmpOpts); diff != "" {
			f.t.Errorf("closing a swept conversation returned (-want +got):\n%s", diff)
		}
	}},
	{"PastDeadlineEndsAtDeadline", func(f *fixture) {
		// Contract reading: a conversation past its deadline has already
		// ended (StatusAt says expired), so ending it records what the
		// sweep would: StatusExpired at its Deadline(), whatever status
		// and time were asked for.
		c := conv("c1", alice, gb1, bob, gb1, base, time.Hour)
		c.IdleTimeout = 10 * time.Minute
		f.create(c)
		want := ended(c, proxy.StatusExpired, at(10*time.Minute))
		got := f.end("c1", proxy.StatusClosed, at(30*time.Minute))
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			f.t.Errorf("EndConversation past the deadline returned (-want +got):\n%s", diff)
		}
		f.wantConv(want)
	}},
	{"NotFound", func(f *fixture) {
		_, err := f.s.EndConversation(f.ctx, "unknown", proxy.StatusClosed, base)
		f.wantNotFound("EndConversation(unknown)", err)
	}},
}

var expireTests = []test{
	{"DeadlinesAndLimit", func(f *fixture) {
		ttl := conv("c-ttl", alice, gb1, bob, gb1, base, 10*time.Minute)
		idle := conv("c-idle", carol, gb1, dave, gb1, base, time.Hour)
		idle.IdleTimeout = 5 * time.Minute
		touched := conv("c-touched", alice, gb2, carol, gb2, base, time.Hour)
		touched.IdleTimeout = 5 * time.Minute
		later := conv("c-later", bob, gb2, dave, gb2, base, 2*time.Hour)
		closed := conv("c-closed", erin, us1, alice, us1, base, time.Minute)
		f.create(ttl, idle, touched, later, closed)
		if err := f.s.Touch(f.ctx, "c-touched", at(4*time.Minute)); err != nil {
			f.t.Fatal(err)
		}
		closedWant := f.end("c-closed", proxy.StatusClosed, at(30*time.Second))
		now := at(time.Hour)

		// Not yet: nothing is due at +4m59s.
		ids, err := f.s.ExpireConversations(f.ctx, at(5*time.Minute-time.Second), 0)
		if err != nil || len(ids) != 0 {
			f.t.Fatalf("ExpireConversations before any deadline = %v, %v", ids, err)
		}
		due := []string{"c-idle", "c-touched", "c-ttl"}
		first, err := f.s.ExpireConversations(f.ctx, now, 2)
		if err != nil {
			f.t.Fatal(err)
		}
		if len(first) != 2 {
			f.t.Fatalf("ExpireConversations(limit 2) = %v, want 2 of %v", first, due)
		}
		rest, err := f.s.ExpireConversations(f.ctx, now, 0)
		if err != nil {
			f.t.Fatal(err)
		}
		got := slices.Concat(first, rest)
		slices.Sort(got)
		if diff := cmp.Diff(due, got); diff != "" {
			f.t.Errorf("expired IDs (-want +got):\n%s", diff)
		}
		again, err := f.s.ExpireConversations(f.ctx, now, 0)
		if err != nil || len(again) != 0 {
			f.t.Errorf("ExpireConversations a second time = %v, %v; want none", again, err)
		}
		// EndedAt is the deadline, not the sweep time.
		touched.LastActivityAt = at(4 * time.Minute)
		f.wantConv(ended(ttl, proxy.StatusExpired, at(10*time.Minute)))
		f.wantConv(ended(idle, proxy.StatusExpired, at(5*time.Minute)))
		f.wantConv(ended(touched, proxy.StatusExpired, at(9*time.Minute)))
		f.wantConv(later)
		f.wantConv(closedWant)
		// Deadline equal to now is due.
		ids, err = f.s.ExpireConversations(f.ctx, at(2*time.Hour), -1)
		if err != nil || !slices.Equal(ids, []string{"c-later"}) {
			f.t.Errorf("ExpireConversations at c-later's deadline = %v, %v", ids, err)
		}
	}},
	{"TouchMovesDeadline", func(f *fixture) {
		c := conv("c1", alice, gb1, bob, gb1, base, time.Hour)
		c.IdleTimeout = 10 * time.Minute
		f.create(c)
		for m := 5; m <= 25; m += 5 {
			if err := f.s.Touch(f.ctx, "c1", at(time.Duration(m)*time.Minute)); err != nil {
				f.t.Fatal(err)
			}
			ids, err := f.s.ExpireConversations(f.ctx, at(time.Duration(m)*time.Minute+time.Second), 0)
			if err != nil || len(ids) != 0 {
				f.t.Fatalf("ExpireConversations after a touch at +%dm = %v, %v; want none", m, ids, err)
			}
		}
		ids, err := f.s.ExpireConversations(f.ctx, at(40*time.Minute), 0)
		if err != nil || !slices.Equal(ids, []string{"c1"}) {
			f.t.Fatalf("ExpireConversations = %v, %v; want [c1]", ids, err)
		}
		c.LastActivityAt = at(25 * time.Minute)
		f.wantConv(ended(c, proxy.StatusExpired, at(35*time.Minute)))
	}},
}

// errOf keeps the error of a two-value call.
func errOf[T any](_ T, err error) error { return err }
