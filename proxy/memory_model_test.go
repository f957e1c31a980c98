package proxy_test

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// model is a brute-force rendering of the Store contract: a list of
// conversations and a pool, with every answer computed by scanning. The
// memory store keeps incremental indexes (load-sorted groups, release
// summaries, sticky pointers, a deadline heap); comparing it with the
// model after random operations checks that those indexes never drift.
type model struct {
	pool  []proxy.PoolNumber
	convs []proxy.Conversation
}

func (m *model) inPool(msisdn string) int {
	return slices.IndexFunc(m.pool, func(n proxy.PoolNumber) bool { return n.MSISDN == msisdn })
}

func (m *model) load(msisdn string) int {
	n := 0
	for _, c := range m.convs {
		if c.Status != proxy.StatusActive {
			continue
		}
		for _, p := range c.Participants {
			if p.ProxyNumber == msisdn {
				n++
			}
		}
	}
	return n
}

func (m *model) candidates(q proxy.CandidateQuery) []proxy.Candidate {
	blocked := map[string]bool{}
	sticky := ""
	var stickyAt time.Time
	for _, c := range m.convs {
		for i, p := range c.Participants {
			if p.Number != q.Participant {
				continue
			}
			other := c.Participants[1-i].Number
			if other == q.Counterpart && (sticky == "" || !c.CreatedAt.Before(stickyAt)) {
				sticky, stickyAt = p.ProxyNumber, c.CreatedAt
			}
			if c.InUse(q.Now) {
				blocked[p.ProxyNumber] = true
				continue
			}
			released := c.EndedAt
			if c.Status == proxy.StatusActive {
				released = c.Deadline()
			}
			if released.After(q.ReleasedAfter) && other != q.Counterpart {
				blocked[p.ProxyNumber] = true
			}
		}
	}
	var out []proxy.Candidate
	for _, n := range m.pool {
		if blocked[n.MSISDN] || (q.Voice && !n.Voice) || (q.SMS && !n.SMS) || (q.Country != "" && n.Country != q.Country) {
			continue
		}
		out = append(out, proxy.Candidate{PoolNumber: n, Sticky: n.MSISDN == sticky, Load: m.load(n.MSISDN)})
	}
	slices.SortStableFunc(out, func(a, b proxy.Candidate) int {
		if a.Sticky != b.Sticky {
			if a.Sticky {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Load, b.Load)
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

func (m *model) route(participant, proxyNumber string, now time.Time) string {
	for _, c := range m.convs {
		if !c.InUse(now) {
			continue
		}
		for _, p := range c.Participants {
			if p.Number == participant && p.ProxyNumber == proxyNumber {
				return c.ID
			}
		}
	}
	return ""
}

func (m *model) find(id string) *proxy.Conversation {
	for i := range m.convs {
		if m.convs[i].ID == id {
			return &m.convs[i]
		}
	}
	return nil
}

func TestMemoryStoreMatchesModel(t *testing.T) {
	t.Parallel()
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			runModel(t, rand.New(rand.NewPCG(seed, 1)))
		})
	}
}

func runModel(t *testing.T, r *rand.Rand) {
	ctx := t.Context()
	s := proxy.NewMemoryStore()
	var m model
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	numbers := []string{"447700900001", "447700900002", "447700900003", "447700900004", "12025550001", "12025550002"}
	people := []string{"447700900101", "447700900102", "447700900103", "447700900104", "447700900105", "12025550106"}
	countries := []string{"GB", "US"}
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	next := 0

	for step := range 1500 {
		now = now.Add(time.Duration(r.IntN(120)) * time.Second)
		switch op := r.IntN(20); {
		case op == 0: // add or update a number
			n := proxy.PoolNumber{MSISDN: pick(numbers), Country: pick(countries), Voice: r.IntN(4) > 0, SMS: r.IntN(4) > 0}
			if err := s.AddNumbers(ctx, n); err != nil {
				t.Fatal(err)
			}
			if i := m.inPool(n.MSISDN); i >= 0 {
				m.pool[i] = n
			} else {
				m.pool = append(m.pool, n)
			}
		case op == 1: // remove a number
			msisdn := pick(numbers)
			err := s.RemoveNumber(ctx, msisdn)
			if i := m.inPool(msisdn); i >= 0 {
				if err != nil {
					t.Fatalf("step %d: RemoveNumber(%s): %v", step, msisdn, err)
				}
				m.pool = slices.Delete(m.pool, i, i+1)
			} else if !errors.Is(err, proxy.ErrNotFound) {
				t.Fatalf("step %d: RemoveNumber(%s) of a number not in the pool: %v", step, msisdn, err)
			}
		case op < 9: // create, sometimes on a colliding leg
			a, b := pick(people), pick(people)
			if a == b {
				continue
			}
			next++
			c := proxy.Conversation{
				ID:     fmt.Sprintf("c%04d", next),
				Status: proxy.StatusActive,
				Participants: [2]proxy.Participant{
					{Number: a, ProxyNumber: pick(numbers)}, {Number: b, ProxyNumber: pick(numbers)},
				},
				CreatedAt:      now,
				ExpiresAt:      now.Add(time.Duration(5+r.IntN(60)) * time.Minute),
				LastActivityAt: now,
			}
			if r.IntN(2) == 0 {
				c.IdleTimeout = time.Duration(1+r.IntN(20)) * time.Minute
			}
			wantConflict := m.route(a, c.Participants[0].ProxyNumber, now) != "" || m.route(b, c.Participants[1].ProxyNumber, now) != ""
			err := s.CreateConversation(ctx, c)
			if wantConflict != errors.Is(err, proxy.ErrConflict) || (err != nil && !wantConflict) {
				t.Fatalf("step %d: CreateConversation(%+v) = %v, want conflict %v", step, c.Participants, err, wantConflict)
			}
			if err == nil {
				m.convs = append(m.convs, c)
			}
		case op < 11: // close (or expire by hand) a random conversation
			if len(m.convs) == 0 {
				continue
			}
			mc := &m.convs[r.IntN(len(m.convs))]
			status := []proxy.Status{proxy.StatusClosed, proxy.StatusExpired}[r.IntN(2)]
			got, err := s.EndConversation(ctx, mc.ID, status, now)
			if err != nil {
				t.Fatal(err)
			}
			if mc.Status == proxy.StatusActive {
				if d := mc.Deadline(); !d.After(now) {
					mc.Status, mc.EndedAt = proxy.StatusExpired, d
				} else {
					mc.Status, mc.EndedAt = status, now
				}
			}
			if diff := gocmp.Diff(*mc, got); diff != "" {
				t.Fatalf("step %d: EndConversation (-model +store):\n%s", step, diff)
			}
		case op < 13: // touch
			if len(m.convs) == 0 {
				continue
			}
			mc := &m.convs[r.IntN(len(m.convs))]
			if err := s.Touch(ctx, mc.ID, now); err != nil {
				t.Fatal(err)
			}
			if mc.InUse(now) && now.After(mc.LastActivityAt) {
				mc.LastActivityAt = now
			}
		case op < 14: // sweep
			limit := r.IntN(3)
			ids, err := s.ExpireConversations(ctx, now, limit)
			if err != nil {
				t.Fatal(err)
			}
			var due []string
			for _, c := range m.convs {
				if c.Status == proxy.StatusActive && !c.Deadline().After(now) {
					due = append(due, c.ID)
				}
			}
			if (limit <= 0 && len(ids) != len(due)) || (limit > 0 && len(ids) != min(limit, len(due))) {
				t.Fatalf("step %d: ExpireConversations(limit %d) = %v, due %v", step, limit, ids, due)
			}
			for _, id := range ids {
				mc := m.find(id)
				if mc == nil || !slices.Contains(due, id) {
					t.Fatalf("step %d: ExpireConversations expired %s, not due", step, id)
				}
				mc.Status, mc.EndedAt = proxy.StatusExpired, mc.Deadline()
			}
		default: // query
			q := proxy.CandidateQuery{
				Participant:   pick(people),
				Counterpart:   pick(people),
				Voice:         r.IntN(3) == 0,
				SMS:           r.IntN(3) == 0,
				Now:           now,
				ReleasedAfter: now.Add(-time.Duration(r.IntN(40)) * time.Minute),
				Limit:         r.IntN(5),
			}
			if r.IntN(2) == 0 {
				q.Country = pick(countries)
			}
			got, err := s.Candidates(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(m.candidates(q), got, cmpEmpty); diff != "" {
				t.Fatalf("step %d: Candidates(%+v) (-model +store):\n%s", step, q, diff)
			}
			participant, proxyNumber := pick(people), pick(numbers)
			c, err := s.Route(ctx, participant, proxyNumber, now)
			if err != nil && !errors.Is(err, proxy.ErrNotFound) {
				t.Fatal(err)
			}
			if want := m.route(participant, proxyNumber, now); c.ID != want {
				t.Fatalf("step %d: Route(%s, %s) = %q, want %q", step, participant, proxyNumber, c.ID, want)
			}
		}
	}
	for _, mc := range m.convs {
		got, err := s.Conversation(ctx, mc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(mc, got); diff != "" {
			t.Errorf("Conversation(%s) at the end (-model +store):\n%s", mc.ID, diff)
		}
	}
	nums, err := s.Pool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The model keeps no leg counts (Candidates checks the loads) nor release times.
	if diff := gocmp.Diff(m.pool, nums, cmpEmpty, cmpopts.IgnoreFields(proxy.PoolNumber{}, "Legs", "LastUsed")); diff != "" {
		t.Errorf("Numbers at the end (-model +store):\n%s", diff)
	}
}
