package storetest

import (
	"errors"
	"sync"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

func ptr[T any](v T) *T { return &v }

// wantTaken checks err is a *LegTakenError about what, held by holder.
func (f *fixture) wantTaken(what string, err error, side proxy.Side, kind, holder string) {
	f.t.Helper()
	var lt *proxy.LegTakenError
	if !errors.As(err, &lt) || !errors.Is(err, proxy.ErrConflict) || !errors.Is(err, proxy.ErrLegTaken) {
		f.t.Fatalf("%s: %v, want a *LegTakenError", what, err)
	}
	if lt.Side != side || lt.What != kind || lt.HeldBy != holder {
		f.t.Errorf("%s: %+v, want side %v, %s held by %q", what, lt, side, kind, holder)
	}
}

var updateTests = []test{
	{"Fields", func(f *fixture) {
		f.addNumbers(gbNumber(gb1))
		c := conv("c1", alice, gb1, bob, gb1, base, time.Hour)
		c.Metadata = map[string]string{"order": "1"}
		f.create(c)
		got, err := f.s.UpdateConversation(f.ctx, "c1", proxy.ConversationUpdate{
			ExpiresAt: ptr(at(3 * time.Hour)), IdleTimeout: ptr(30 * time.Minute), Mode: ptr(proxy.ModeSMS),
			Labels: &[2]string{"your host", "your guest"}, Metadata: map[string]string{"booking": "7"}, Record: ptr(true),
		}, at(time.Minute))
		if err != nil {
			f.t.Fatal(err)
		}
		want := c
		want.ExpiresAt, want.IdleTimeout, want.Mode, want.Record = at(3*time.Hour), 30*time.Minute, proxy.ModeSMS, true
		want.Participants[0].Label, want.Participants[1].Label = "your host", "your guest"
		want.Metadata = map[string]string{"booking": "7"}
		f.wantConv(want)
		if got.ExpiresAt != want.ExpiresAt || got.Mode != proxy.ModeSMS {
			f.t.Errorf("UpdateConversation returned %+v", got)
		}
		// The idle timeout now ends it 30 minutes after its last activity.
		f.wantRoute(alice, gb1, at(29*time.Minute), "c1")
		f.wantRoute(alice, gb1, at(31*time.Minute), "")
		// Cleared metadata reads back as none.
		if _, err := f.s.UpdateConversation(f.ctx, "c1", proxy.ConversationUpdate{Metadata: map[string]string{}}, at(2*time.Minute)); err != nil {
			f.t.Fatal(err)
		}
		if m := f.get("c1").Metadata; len(m) != 0 {
			f.t.Errorf("metadata after clearing: %v", m)
		}
	}},
	{"ExtendAndShorten", func(f *fixture) {
		f.create(conv("c1", alice, gb1, bob, gb1, base, time.Hour))
		if _, err := f.s.UpdateConversation(f.ctx, "c1", proxy.ConversationUpdate{ExpiresAt: ptr(at(2 * time.Hour))}, at(time.Minute)); err != nil {
			f.t.Fatal(err)
		}
		f.wantRoute(alice, gb1, at(90*time.Minute), "c1")
		if ids, err := f.s.ExpireConversations(f.ctx, at(90*time.Minute), 0); err != nil || len(ids) != 0 {
			f.t.Errorf("ExpireConversations before the new end = %v, %v", ids, err)
		}
		if _, err := f.s.UpdateConversation(f.ctx, "c1", proxy.ConversationUpdate{ExpiresAt: ptr(at(100 * time.Minute))}, at(95*time.Minute)); err != nil {
			f.t.Fatal(err)
		}
		if ids, err := f.s.ExpireConversations(f.ctx, at(101*time.Minute), 0); err != nil || len(ids) != 1 {
			f.t.Errorf("ExpireConversations after the shortened end = %v, %v; want c1", ids, err)
		}
		if got := f.get("c1"); got.Status != proxy.StatusExpired || !got.EndedAt.Equal(at(100*time.Minute)) {
			f.t.Errorf("after the shortened end: %s at %v", got.Status, got.EndedAt)
		}
	}},
	{"ConcurrentUpdatesKeepBoth", func(f *fixture) {
		// Updates of different fields at once: neither is lost.
		f.create(conv("c1", alice, gb1, bob, gb1, base, time.Hour))
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i, u := range []proxy.ConversationUpdate{
			{Mode: ptr(proxy.ModeVoice)},
			{Labels: &[2]string{"l-a", "l-b"}},
			{ExpiresAt: ptr(at(5 * time.Hour))},
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.s.UpdateConversation(f.ctx, "c1", u, at(time.Minute))
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			f.t.Fatal(err)
		}
		got := f.get("c1")
		if got.Mode != proxy.ModeVoice || got.Participants[1].Label != "l-b" || !got.ExpiresAt.Equal(at(5*time.Hour)) {
			f.t.Errorf("after concurrent updates: %+v", got)
		}
	}},
	{"NotInUse", func(f *fixture) {
		f.create(conv("c1", alice, gb1, bob, gb1, base, time.Hour))
		f.end("c1", proxy.StatusClosed, at(time.Minute))
		_, err := f.s.UpdateConversation(f.ctx, "c1", proxy.ConversationUpdate{Mode: ptr(proxy.ModeSMS)}, at(2*time.Minute))
		f.wantConflict("UpdateConversation of a closed conversation", err)
		if got := f.get("c1").Mode; got != proxy.ModeBoth {
			f.t.Errorf("mode of the closed conversation changed to %s", got)
		}
		_, err = f.s.UpdateConversation(f.ctx, "nope", proxy.ConversationUpdate{}, at(2*time.Minute))
		f.wantNotFound("UpdateConversation(unknown)", err)
	}},
}

var reopenTests = []test{
	{"Reopen", func(f *fixture) {
		f.addNumbers(gbNumber(gb1))
		c := conv("c1", alice, gb1, bob, gb1, base, time.Hour)
		f.create(c)
		f.end("c1", proxy.StatusClosed, at(time.Minute))
		f.wantLegs(gb1, 0)
		got, err := f.s.ReopenConversation(f.ctx, "c1", at(2*time.Minute), at(26*time.Hour))
		if err != nil {
			f.t.Fatal(err)
		}
		want := c
		want.LastActivityAt, want.ExpiresAt = at(2*time.Minute), at(26*time.Hour)
		f.wantConv(want)
		if got.Status != proxy.StatusActive || !got.EndedAt.IsZero() {
			f.t.Errorf("ReopenConversation returned %+v", got)
		}
		f.wantRoute(alice, gb1, at(3*time.Minute), "c1")
		f.wantRoute(bob, gb1, at(3*time.Minute), "c1")
		f.wantLegs(gb1, 2)
		// Reopening one in use changes nothing.
		if again, err := f.s.ReopenConversation(f.ctx, "c1", at(4*time.Minute), at(48*time.Hour)); err != nil || !again.ExpiresAt.Equal(at(26*time.Hour)) {
			f.t.Errorf("reopen in use: %v, %v", again.ExpiresAt, err)
		}
		// It ends again like any other.
		f.end("c1", proxy.StatusClosed, at(5*time.Minute))
		f.wantLegs(gb1, 0)
		f.wantRoute(alice, gb1, at(6*time.Minute), "")
		_, err = f.s.ReopenConversation(f.ctx, "nope", at(time.Hour), at(2*time.Hour))
		f.wantNotFound("ReopenConversation(unknown)", err)
	}},
	{"LegTaken", func(f *fixture) {
		f.create(conv("c1", alice, gb1, bob, gb2, base, time.Hour))
		f.end("c1", proxy.StatusClosed, at(time.Minute))
		f.create(conv("c2", carol, gb1, bob, gb2, at(2*time.Minute), time.Hour)) // takes B's leg (bob, gb2)
		_, err := f.s.ReopenConversation(f.ctx, "c1", at(3*time.Minute), at(2*time.Hour))
		f.wantTaken("reopen with B's leg taken", err, proxy.SideB, "leg", "c2")
		if got := f.get("c1"); got.Status != proxy.StatusClosed {
			f.t.Errorf("the refused reopen changed the status to %s", got.Status)
		}
		f.wantRoute(alice, gb1, at(3*time.Minute), "")
		// Once c2's deadline passes, its legs block nothing.
		if _, err := f.s.ReopenConversation(f.ctx, "c1", at(63*time.Minute), at(3*time.Hour)); err != nil {
			f.t.Fatal(err)
		}
		if got := f.get("c2"); got.InUse(at(64 * time.Minute)) {
			f.t.Errorf("the holder past its deadline is in use: %+v", got)
		}
		f.wantRoute(bob, gb2, at(64*time.Minute), "c1")
	}},
	{"PINAndKeyTaken", func(f *fixture) {
		f.addNumbers(gbNumber(gb1))
		f.create(pinConv("p1", alice, bob, gb1, "1234", base, time.Hour))
		f.end("p1", proxy.StatusClosed, at(time.Minute))
		f.create(pinConv("p2", carol, dave, gb1, "1234", at(2*time.Minute), time.Hour))
		_, err := f.s.ReopenConversation(f.ctx, "p1", at(3*time.Minute), at(2*time.Hour))
		f.wantTaken("reopen with the PIN taken", err, proxy.SideA, "pin", "p2")
		f.end("p2", proxy.StatusClosed, at(4*time.Minute))
		if _, err := f.s.ReopenConversation(f.ctx, "p1", at(5*time.Minute), at(2*time.Hour)); err != nil {
			f.t.Fatal(err)
		}
		if c, err := f.s.RoutePIN(f.ctx, gb1, "1234", at(6*time.Minute)); err != nil || c.ID != "p1" {
			f.t.Errorf("RoutePIN after reopen = %q, %v", c.ID, err)
		}
		f.wantLegs(gb1, 2)

		f.create(keyed(conv("k1", alice, gb2, bob, gb2, base, time.Hour), "job-1"))
		f.end("k1", proxy.StatusClosed, at(time.Minute))
		f.create(keyed(conv("k2", carol, gb2, dave, gb2, at(2*time.Minute), time.Hour), "job-1"))
		_, err = f.s.ReopenConversation(f.ctx, "k1", at(3*time.Minute), at(2*time.Hour))
		f.wantTaken("reopen with the key taken", err, proxy.SideA, "key", "k2")
	}},
	{"ConcurrentReopens", func(f *fixture) {
		// Two ended conversations with the same legs, reopened at once:
		// one wins, the other finds its legs taken.
		f.create(conv("c1", alice, gb1, bob, gb1, base, time.Hour))
		f.end("c1", proxy.StatusClosed, at(time.Minute))
		f.create(conv("c2", alice, gb1, bob, gb1, at(2*time.Minute), time.Hour))
		f.end("c2", proxy.StatusClosed, at(3*time.Minute))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range []string{"c1", "c2"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.s.ReopenConversation(f.ctx, id, at(4*time.Minute), at(2*time.Hour))
			}()
		}
		wg.Wait()
		f.wantOneWinner("reopens of two conversations on one leg", errs)
	}},
}
