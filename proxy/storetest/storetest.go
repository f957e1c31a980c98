package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// Run runs the conformance suite against the stores newStore returns. It
// calls newStore once per subtest and expects an empty store each time;
// cleanup belongs in t.Cleanup inside newStore. Subtests do not call
// t.Parallel, so stores sharing one database may be reset per subtest.
func Run(t *testing.T, newStore func(t *testing.T) proxy.Store) {
	t.Helper()
	groups := []struct {
		name  string
		tests []test
	}{
		{"Numbers", numberTests},
		{"Candidates", candidateTests},
		{"Create", createTests},
		{"Route", routeTests},
		{"List", listTests},
		{"End", endTests},
		{"Expire", expireTests},
		{"Interactions", interactionTests},
		{"OpenCalls", openCallTests},
		{"MessageParts", messagePartTests},
		{"Nonces", nonceTests},
		{"Relays", relayTests},
		{"PIN", pinTests},
		{"Keys", keyTests},
		{"Update", updateTests},
		{"Reopen", reopenTests},
		{"Privacy", privacyTests},
		{"Concurrent", concurrentTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(&fixture{t: t, s: newStore(t), ctx: t.Context()})
				})
			}
		})
	}
}

type test struct {
	name string
	run  func(f *fixture)
}

// base is the suite's fixed clock origin; every time is base plus whole
// seconds, so stores that keep microseconds round-trip them exactly.
var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at is base plus d.
func at(d time.Duration) time.Time { return base.Add(d) }

// Pool numbers and participants (digits only, as the Service stores them).
const (
	gb1 = "447700900001"
	gb2 = "447700900002"
	gb3 = "447700900003"
	us1 = "12025550001"
	us2 = "12025550002"

	alice = "447700900101"
	bob   = "447700900102"
	carol = "447700900103"
	dave  = "447700900104"
	erin  = "12025550105"
)

func gbNumber(msisdn string) proxy.PoolNumber {
	return proxy.PoolNumber{MSISDN: msisdn, Country: "GB", Voice: true, SMS: true}
}

func usNumber(msisdn string) proxy.PoolNumber {
	return proxy.PoolNumber{MSISDN: msisdn, Country: "US", Voice: true, SMS: true}
}

// conv builds an active conversation between a (via pa) and b (via pb),
// created at created and ending ttl later.
func conv(id, a, pa, b, pb string, created time.Time, ttl time.Duration) proxy.Conversation {
	return proxy.Conversation{
		ID:     id,
		Status: proxy.StatusActive,
		Mode:   proxy.ModeBoth,
		Participants: [2]proxy.Participant{
			{Number: a, ProxyNumber: pa},
			{Number: b, ProxyNumber: pb},
		},
		CreatedAt:      created,
		ExpiresAt:      created.Add(ttl),
		LastActivityAt: created,
	}
}

// ended returns c as EndConversation leaves it.
func ended(c proxy.Conversation, status proxy.Status, when time.Time) proxy.Conversation {
	c.Status = status
	c.EndedAt = when
	return c
}

// cmpOpts compare store values: times equal up to the microsecond rounding
// a database may apply, nil and empty maps and slices alike.
var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool {
		d := a.Sub(b)
		return d > -time.Microsecond && d < time.Microsecond
	}),
	cmpopts.EquateEmpty(),
}

type fixture struct {
	t   *testing.T
	s   proxy.Store
	ctx context.Context
}

func (f *fixture) addNumbers(nums ...proxy.PoolNumber) {
	f.t.Helper()
	if err := f.s.AddNumbers(f.ctx, nums...); err != nil {
		f.t.Fatalf("AddNumbers: %v", err)
	}
}

func (f *fixture) create(cs ...proxy.Conversation) {
	f.t.Helper()
	for _, c := range cs {
		if err := f.s.CreateConversation(f.ctx, c); err != nil {
			f.t.Fatalf("CreateConversation(%s): %v", c.ID, err)
		}
	}
}

func (f *fixture) end(id string, status proxy.Status, when time.Time) proxy.Conversation {
	f.t.Helper()
	c, err := f.s.EndConversation(f.ctx, id, status, when)
	if err != nil {
		f.t.Fatalf("EndConversation(%s): %v", id, err)
	}
	return c
}

func (f *fixture) get(id string) proxy.Conversation {
	f.t.Helper()
	c, err := f.s.Conversation(f.ctx, id)
	if err != nil {
		f.t.Fatalf("Conversation(%s): %v", id, err)
	}
	return c
}

// wantConv checks the stored conversation id against want.
func (f *fixture) wantConv(want proxy.Conversation) {
	f.t.Helper()
	if diff := cmp.Diff(want, f.get(want.ID), cmpOpts); diff != "" {
		f.t.Errorf("Conversation(%s) mismatch (-want +got):\n%s", want.ID, diff)
	}
}

func (f *fixture) wantNotFound(what string, err error) {
	f.t.Helper()
	if !errors.Is(err, proxy.ErrNotFound) {
		f.t.Errorf("%s: error %v, want ErrNotFound", what, err)
	}
}

func (f *fixture) wantConflict(what string, err error) {
	f.t.Helper()
	if !errors.Is(err, proxy.ErrConflict) {
		f.t.Errorf("%s: error %v, want ErrConflict", what, err)
	}
}

// routeID returns the ID Route gives for the leg at now, or "" for
// ErrNotFound; any other error fails the test.
func (f *fixture) routeID(participant, proxyNumber string, now time.Time) string {
	f.t.Helper()
	c, err := f.s.Route(f.ctx, participant, proxyNumber, now)
	if errors.Is(err, proxy.ErrNotFound) {
		return ""
	}
	if err != nil {
		f.t.Fatalf("Route(%s, %s): %v", participant, proxyNumber, err)
	}
	return c.ID
}

func (f *fixture) wantRoute(participant, proxyNumber string, now time.Time, wantID string) {
	f.t.Helper()
	if got := f.routeID(participant, proxyNumber, now); got != wantID {
		f.t.Errorf("Route(%s, %s) at %s = %q, want %q", participant, proxyNumber, now.Sub(base), got, wantID)
	}
}

// candidates returns the MSISDNs Candidates gives, best first, with a
// "*" suffix on the sticky one.
func (f *fixture) candidates(q proxy.CandidateQuery) []string {
	f.t.Helper()
	cs, err := f.s.Candidates(f.ctx, q)
	if err != nil {
		f.t.Fatalf("Candidates(%+v): %v", q, err)
	}
	out := []string{}
	for _, c := range cs {
		if c.Sticky {
			out = append(out, c.PoolNumber.MSISDN+"*")
		} else {
			out = append(out, c.PoolNumber.MSISDN)
		}
	}
	return out
}

func (f *fixture) wantCandidates(q proxy.CandidateQuery, want ...string) {
	f.t.Helper()
	if want == nil {
		want = []string{}
	}
	if diff := cmp.Diff(want, f.candidates(q)); diff != "" {
		f.t.Errorf("Candidates(participant %s, counterpart %s, now %s, released after %s) mismatch (-want +got):\n%s",
			q.Participant, q.Counterpart, q.Now.Sub(base), q.ReleasedAfter.Sub(base), diff)
	}
}

// wantOneWinner checks the errors of racing writes (what names them):
// exactly one succeeded, and the others failed with ErrConflict.
func (f *fixture) wantOneWinner(what string, errs []error) {
	f.t.Helper()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, proxy.ErrConflict):
			f.t.Errorf("%s, writer %d: %v; want nil or ErrConflict", what, i, err)
		}
	}
	if won != 1 {
		f.t.Errorf("%s: %d succeeded, want 1 (%v)", what, won, errs)
	}
}

// listAll walks ListConversations page by page and returns the IDs.
func (f *fixture) listAll(filter proxy.ListFilter) []string {
	f.t.Helper()
	ids := []string{}
	for page := 0; ; page++ {
		if page > 1000 {
			f.t.Fatalf("ListConversations(%+v): more than 1000 pages", filter)
		}
		cs, next, err := f.s.ListConversations(f.ctx, filter)
		if err != nil {
			f.t.Fatalf("ListConversations(%+v): %v", filter, err)
		}
		for _, c := range cs {
			ids = append(ids, c.ID)
		}
		if next == "" {
			return ids
		}
		filter.After = next
	}
}

func id(n int) string { return fmt.Sprintf("conv-%04d", n) }
