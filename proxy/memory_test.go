package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/storetest"
)

var cmpEmpty = cmpopts.EquateEmpty()

func TestMemoryStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(*testing.T) proxy.Store { return proxy.NewMemoryStore() })
}

var memBase = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func memConv(id, a, pa, b, pb string, ttl time.Duration) proxy.Conversation {
	return proxy.Conversation{
		ID: id, Status: proxy.StatusActive,
		Participants: [2]proxy.Participant{{Number: a, ProxyNumber: pa}, {Number: b, ProxyNumber: pb}},
		CreatedAt:    memBase, ExpiresAt: memBase.Add(ttl), LastActivityAt: memBase,
	}
}

func TestMemoryStoreBadInput(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := proxy.NewMemoryStore()
	if err := s.AddNumbers(ctx, proxy.PoolNumber{MSISDN: "447700900001"}, proxy.PoolNumber{}); err == nil {
		t.Error("AddNumbers with an empty MSISDN: no error")
	}
	if got, _ := s.Pool(ctx); len(got) != 0 {
		t.Errorf("a rejected AddNumbers added %v", got)
	}
	if err := s.CreateConversation(ctx, memConv("c1", "447700900101", "447700900001", "447700900102", "447700900001", time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, st := range []proxy.Status{proxy.StatusActive, "", "deleted"} {
		_, err := s.EndConversation(ctx, "c1", st, memBase)
		if err == nil || errors.Is(err, proxy.ErrNotFound) || errors.Is(err, proxy.ErrConflict) {
			t.Errorf("EndConversation with status %q: error %v, want a plain error", st, err)
		}
	}
	if c, _ := s.Conversation(ctx, "c1"); c.Status != proxy.StatusActive {
		t.Errorf("a rejected EndConversation changed the status to %q", c.Status)
	}
}

func TestMemoryStoreCanceledContext(t *testing.T) {
	t.Parallel()
	s := proxy.NewMemoryStore()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	checks := map[string]error{
		"AddNumbers":  s.AddNumbers(ctx, proxy.PoolNumber{MSISDN: "1"}),
		"Touch":       s.Touch(ctx, "c1", memBase),
		"Claim":       s.Claim(ctx, "k", memBase, memBase),
		"Route":       errOnly(s.Route(ctx, "1", "2", memBase)),
		"Candidates":  errOnly(s.Candidates(ctx, proxy.CandidateQuery{})),
		"Expire":      errOnly(s.ExpireConversations(ctx, memBase, 0)),
		"Interaction": errOnly(s.Interactions(ctx, "c1")),
	}
	for name, err := range checks {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: %v, want context.Canceled", name, err)
		}
	}
}

func errOnly[T any](_ T, err error) error { return err }

// Touch must not extend a conversation whose leg was taken by a newer one,
// even when the touch carries a time at which it was still in use (a late
// webhook): two conversations would then be in use on one leg.
func TestMemoryStoreLateTouchDoesNotRevive(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := proxy.NewMemoryStore()
	old := memConv("c1", "447700900101", "447700900001", "447700900102", "447700900001", time.Hour)
	old.IdleTimeout = 5 * time.Minute
	if err := s.CreateConversation(ctx, old); err != nil {
		t.Fatal(err)
	}
	taker := memConv("c2", "447700900101", "447700900001", "447700900103", "447700900001", time.Hour)
	taker.CreatedAt = memBase.Add(6 * time.Minute)
	if err := s.CreateConversation(ctx, taker); err != nil {
		t.Fatal(err)
	}
	if err := s.Touch(ctx, "c1", memBase.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	c, err := s.Route(ctx, "447700900101", "447700900001", memBase.Add(7*time.Minute))
	if err != nil || c.ID != "c2" {
		t.Errorf("Route after a late touch of c1 = %q, %v; want c2", c.ID, err)
	}
	if c, _ := s.Conversation(ctx, "c1"); !c.LastActivityAt.Equal(memBase) {
		t.Errorf("c1 LastActivityAt moved to %s", c.LastActivityAt)
	}
}

// Legs whose numbers are not canonical digit strings are indexed apart
// from digit ones; "0123" and "123" are different legs.
func TestMemoryStoreNonDigitLegs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := proxy.NewMemoryStore()
	odd := memConv("c1", "sip:alice@example.com", "447700900001", "07700900102", "447700900001", time.Hour)
	if err := s.CreateConversation(ctx, odd); err != nil {
		t.Fatal(err)
	}
	plain := memConv("c2", "7700900102", "447700900001", "447700900103", "447700900001", time.Hour)
	if err := s.CreateConversation(ctx, plain); err != nil {
		t.Fatalf("a digit leg collided with a leading-zero one: %v", err)
	}
	clash := memConv("c3", "07700900102", "447700900001", "447700900104", "447700900002", time.Hour)
	if err := s.CreateConversation(ctx, clash); !errors.Is(err, proxy.ErrConflict) {
		t.Fatalf("CreateConversation on a leg in use: %v, want ErrConflict", err)
	}
	at := memBase.Add(time.Minute)
	for leg, want := range map[[2]string]string{
		{"sip:alice@example.com", "447700900001"}: "c1",
		{"07700900102", "447700900001"}:           "c1",
		{"7700900102", "447700900001"}:            "c2",
		{"447700900104", "447700900002"}:          "",
	} {
		c, err := s.Route(ctx, leg[0], leg[1], at)
		if c.ID != want || (want == "" && !errors.Is(err, proxy.ErrNotFound)) {
			t.Errorf("Route(%s, %s) = %q, %v; want %q", leg[0], leg[1], c.ID, err, want)
		}
	}
	if _, err := s.EndConversation(ctx, "c1", proxy.StatusClosed, at); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Route(ctx, "07700900102", "447700900001", at); !errors.Is(err, proxy.ErrNotFound) {
		t.Errorf("Route after the end: %v, want ErrNotFound", err)
	}
	clash.CreatedAt = at
	if err := s.CreateConversation(ctx, clash); err != nil {
		t.Errorf("CreateConversation on a released leg: %v", err)
	}
}

// Sizes past the small-size paths: a participant blocked on more than a
// handful of numbers, and more conversations than one ID-index block
// holds, inserted in scrambled ID order.
func TestMemoryStoreLargeIndexes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := proxy.NewMemoryStore()
	const poolSize = 40
	var pool []proxy.PoolNumber
	for i := range poolSize {
		pool = append(pool, proxy.PoolNumber{MSISDN: fmt.Sprintf("4477009%05d", i), Country: "GB", Voice: true, SMS: true})
	}
	if err := s.AddNumbers(ctx, pool...); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	heavy := "447700900999"
	var want []string
	for i := range n {
		id := fmt.Sprintf("c%05d", (i*7919)%n) // a permutation of 0..n-1
		want = append(want, fmt.Sprintf("c%05d", i))
		a, pa := fmt.Sprintf("4479%08d", i), pool[i%poolSize].MSISDN
		if i < poolSize-2 {
			a = heavy // holds every number but the last two
		}
		c := memConv(id, a, pa, fmt.Sprintf("1415%07d", i), pa, time.Hour)
		if err := s.CreateConversation(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	cands, err := s.Candidates(ctx, proxy.CandidateQuery{Participant: heavy, Counterpart: "447700900998", Now: memBase, ReleasedAfter: memBase})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cands {
		got = append(got, c.PoolNumber.MSISDN)
	}
	if diff := cmp.Diff([]string{pool[poolSize-2].MSISDN, pool[poolSize-1].MSISDN}, got); diff != "" {
		t.Errorf("Candidates(heavy) (-want +got):\n%s", diff)
	}
	var ids []string
	f := proxy.ListFilter{Now: memBase, Limit: 700}
	for {
		cs, next, err := s.ListConversations(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			ids = append(ids, c.ID)
		}
		if next == "" {
			break
		}
		f.After = next
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("ListConversations over %d conversations (-want +got):\n%s", n, diff)
	}
}
