package storetest

import (
	"errors"
	"sync"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// pinConv is a PIN conversation between a and b on the shared number.
func pinConv(id, a, b, shared, pin string, created time.Time, ttl time.Duration) proxy.Conversation {
	c := conv(id, a, shared, b, shared, created, ttl)
	c.PIN = pin
	return c
}

// pinIDs lists the IDs PINConversations gives.
func (f *fixture) pinIDs(participant, shared string, now time.Time) []string {
	f.t.Helper()
	cs, err := f.s.PINConversations(f.ctx, participant, shared, now)
	if err != nil {
		f.t.Fatalf("PINConversations(%s, %s): %v", participant, shared, err)
	}
	ids := []string{}
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

func (f *fixture) wantLegs(msisdn string, want int) {
	f.t.Helper()
	if n, err := f.s.NumberLegs(f.ctx, msisdn); err != nil || n != want {
		f.t.Errorf("NumberLegs(%s) = %d, %v; want %d", msisdn, n, err, want)
	}
}

var pinTests = []test{
	{"SharedNumberManyConversations", func(f *fixture) {
		// One participant, three PIN conversations on one number: no leg
		// conflict; each PIN routes to its own; the PIN is stored.
		f.addNumbers(gbNumber(gb1))
		f.create(pinConv("p1", alice, bob, gb1, "1111", base, time.Hour),
			pinConv("p2", alice, carol, gb1, "2222", base, time.Hour),
			pinConv("p3", dave, alice, gb1, "3333", base, time.Hour))
		want := pinConv("p2", alice, carol, gb1, "2222", base, time.Hour)
		f.wantConv(want)
		if got := f.get("p2").Access(); got != proxy.AccessPIN {
			f.t.Errorf("Access() = %q, want pin", got)
		}
		for pin, id := range map[string]string{"1111": "p1", "2222": "p2", "3333": "p3"} {
			c, err := f.s.RoutePIN(f.ctx, gb1, pin, at(time.Minute))
			if err != nil || c.ID != id {
				f.t.Errorf("RoutePIN(%s) = %q, %v; want %s", pin, c.ID, err, id)
			}
		}
		_, err := f.s.RoutePIN(f.ctx, gb1, "9999", at(time.Minute))
		f.wantNotFound("RoutePIN of an unknown PIN", err)
		_, err = f.s.RoutePIN(f.ctx, gb2, "1111", at(time.Minute))
		f.wantNotFound("RoutePIN on another number", err)
		if got := f.pinIDs(alice, gb1, at(time.Minute)); len(got) != 3 || got[0] != "p1" || got[2] != "p3" {
			f.t.Errorf("PINConversations(alice) = %v, want p1 p2 p3", got)
		}
		if got := f.pinIDs(bob, gb1, at(time.Minute)); len(got) != 1 || got[0] != "p1" {
			f.t.Errorf("PINConversations(bob) = %v, want p1", got)
		}
		if got := f.pinIDs(alice, gb2, at(time.Minute)); len(got) != 0 {
			f.t.Errorf("PINConversations on another number = %v, want none", got)
		}
		// A PIN conversation holds no leg: Route does not find it.
		f.wantRoute(alice, gb1, at(time.Minute), "")
		f.wantLegs(gb1, 6)
		// Listed by participant like any other.
		cs, _, err := f.s.ListConversations(f.ctx, proxy.ListFilter{Participant: carol})
		if err != nil || len(cs) != 1 || cs[0].ID != "p2" {
			f.t.Errorf("ListConversations(carol) = %v, %v; want p2", cs, err)
		}
	}},
	{"PINUniqueAmongInUse", func(f *fixture) {
		f.addNumbers(gbNumber(gb1), gbNumber(gb2))
		f.create(pinConv("p1", alice, bob, gb1, "1234", base, time.Hour))
		f.wantConflict("the same PIN on the same number", f.s.CreateConversation(f.ctx, pinConv("p2", carol, dave, gb1, "1234", at(time.Minute), time.Hour)))
		// The same PIN on another number is another conversation.
		f.create(pinConv("p3", carol, dave, gb2, "1234", at(time.Minute), time.Hour))
		// Once p1's deadline passes, its PIN is free (p1 expires).
		f.create(pinConv("p4", carol, dave, gb1, "1234", at(2*time.Hour), time.Hour))
		if got := f.get("p1").Status; got != proxy.StatusExpired {
			f.t.Errorf("the holder whose deadline passed is %s, want expired", got)
		}
		c, err := f.s.RoutePIN(f.ctx, gb1, "1234", at(2*time.Hour+time.Minute))
		if err != nil || c.ID != "p4" {
			f.t.Errorf("RoutePIN after the holder expired = %q, %v; want p4", c.ID, err)
		}
		f.wantLegs(gb1, 2)
	}},
	{"EndFreesPINAndLoad", func(f *fixture) {
		f.addNumbers(gbNumber(gb1))
		f.create(pinConv("p1", alice, bob, gb1, "1234", base, time.Hour))
		f.end("p1", proxy.StatusClosed, at(time.Minute))
		f.wantLegs(gb1, 0)
		_, err := f.s.RoutePIN(f.ctx, gb1, "1234", at(2*time.Minute))
		f.wantNotFound("RoutePIN of a closed conversation", err)
		if got := f.pinIDs(alice, gb1, at(2*time.Minute)); len(got) != 0 {
			f.t.Errorf("PINConversations after the close = %v", got)
		}
		f.create(pinConv("p2", carol, dave, gb1, "1234", at(2*time.Minute), time.Hour))
		// Expiry by the sweep frees it too.
		ids, err := f.s.ExpireConversations(f.ctx, at(3*time.Hour), 10)
		if err != nil || len(ids) != 1 || ids[0] != "p2" {
			f.t.Fatalf("ExpireConversations = %v, %v; want p2", ids, err)
		}
		f.wantLegs(gb1, 0)
		// A PIN conversation stored already ended holds nothing.
		ended := pinConv("p3", alice, bob, gb1, "5555", base, time.Hour)
		ended.Status, ended.EndedAt = proxy.StatusClosed, at(time.Minute)
		f.create(ended)
		f.create(pinConv("p4", carol, dave, gb1, "5555", at(4*time.Hour), time.Hour))
		f.wantLegs(gb1, 2)
	}},
	{"CandidatesSkipTheSharedNumber", func(f *fixture) {
		// A participant in a PIN conversation on a number is not given it
		// as a direct leg; the other participants of the pool are.
		f.addNumbers(gbNumber(gb1), gbNumber(gb2))
		f.create(pinConv("p1", alice, bob, gb1, "1234", base, time.Hour))
		q := proxy.CandidateQuery{Participant: alice, Counterpart: carol, Now: at(time.Minute), ReleasedAfter: at(time.Minute)}
		f.wantCandidates(q, gb2)
		q.Participant = carol
		f.wantCandidates(q, gb2, gb1) // gb1 carries the PIN conversation's load
		f.end("p1", proxy.StatusClosed, at(2*time.Minute))
		q = proxy.CandidateQuery{Participant: alice, Counterpart: carol, Now: at(3 * time.Minute), ReleasedAfter: at(time.Minute)}
		f.wantCandidates(q, gb1, gb2)
	}},
	{"BadPINConversation", func(f *fixture) {
		f.addNumbers(gbNumber(gb1), gbNumber(gb2))
		c := conv("p1", alice, gb1, bob, gb2, base, time.Hour)
		c.PIN = "1234"
		if err := f.s.CreateConversation(f.ctx, c); err == nil || errors.Is(err, proxy.ErrConflict) {
			f.t.Errorf("a PIN conversation on two numbers: %v, want a plain error", err)
		}
	}},
	{"RacingForOnePIN", func(f *fixture) {
		// Eight writers want the same PIN on the same number at once:
		// exactly one gets it.
		f.addNumbers(gbNumber(gb1))
		var wg sync.WaitGroup
		errs := make([]error, 8)
		people := []string{alice, bob, carol, dave, erin, "447700900106", "447700900107", "447700900108", "447700900109"}
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = f.s.CreateConversation(f.ctx, pinConv("r"+string(rune('a'+i)), people[i], people[i+1], gb1, "7777", base, time.Hour))
			}()
		}
		wg.Wait()
		f.wantOneWinner("writers of one PIN", errs)
		f.wantLegs(gb1, 2)
	}},
}
