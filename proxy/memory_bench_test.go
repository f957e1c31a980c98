package proxy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// benchPool returns n pool numbers, half in GB and half in US.
func benchPool(n int) []proxy.PoolNumber {
	out := make([]proxy.PoolNumber, n)
	for i := range out {
		if i%2 == 0 {
			out[i] = proxy.PoolNumber{MSISDN: fmt.Sprintf("4477009%05d", i), Country: "GB", Voice: true, SMS: true}
		} else {
			out[i] = proxy.PoolNumber{MSISDN: fmt.Sprintf("1202555%04d", i), Country: "US", Voice: true, SMS: true}
		}
	}
	return out
}

// benchParticipant is participant i: even ones British, odd ones American.
func benchParticipant(i int) string {
	if i%2 == 0 {
		return fmt.Sprintf("4479%08d", i)
	}
	return fmt.Sprintf("1415%07d", i)
}

// benchID is a 32-character ID shaped like the Service's.
func benchID(i int) string {
	return fmt.Sprintf("%016x%016x", 0x18000000000000+i, uint64(i)*0x9e3779b97f4a7c15)
}

type benchLeg struct{ participant, proxyNumber string }

// buildRouteStore fills a store with n conversations in use, over a pool
// of 1,000 numbers, and returns it with a sample of legs and the heap it
// takes per conversation. Participant strings are built afresh for each
// conversation, as the Service hands them over.
func buildRouteStore(b *testing.B, n int) (proxy.Store, []benchLeg, float64) {
	ctx := context.Background()
	pool := benchPool(1000)
	people := min(100_000, 2*n)
	held := make([]uint16, people) // legs held per participant, picks its next proxy number
	sample := make([]benchLeg, 0, 4096)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := proxy.NewMemoryStore()
	if err := s.AddNumbers(ctx, pool...); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		a := i % people
		bb := (i + 1 + i/people) % people
		pa, pb := pool[held[a]].MSISDN, pool[held[bb]].MSISDN
		held[a]++
		held[bb]++
		c := proxy.Conversation{
			ID:     benchID(i),
			Status: proxy.StatusActive,
			Mode:   proxy.ModeBoth,
			Participants: [2]proxy.Participant{
				{Number: benchParticipant(a), ProxyNumber: pa},
				{Number: benchParticipant(bb), ProxyNumber: pb},
			},
			CreatedAt:      now,
			ExpiresAt:      now.Add(2 * time.Hour),
			IdleTimeout:    30 * time.Minute,
			LastActivityAt: now,
		}
		if err := s.CreateConversation(ctx, c); err != nil {
			b.Fatalf("conversation %d: %v", i, err)
		}
		if len(sample) < cap(sample) && i%max(1, n/cap(sample)) == 0 {
			sample = append(sample, benchLeg{c.Participants[0].Number, pa})
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perConv := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	runtime.KeepAlive(held)
	// A webhook's numbers come from a request just parsed, so they are in
	// cache: copy the sample together rather than leave it spread over
	// the heap.
	for i, l := range sample {
		sample[i] = benchLeg{strings.Clone(l.participant), strings.Clone(l.proxyNumber)}
	}
	return s, sample, perConv
}

// BenchmarkMemoryStoreRoute measures the answer webhook's lookup at 1k,
// 100k and 1M conversations in use, and reports the heap each
// conversation takes (B/conv; the target is at most 1024 at 1M).
func BenchmarkMemoryStoreRoute(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("convs=%d", n), func(b *testing.B) {
			s, legs, perConv := buildRouteStore(b, n)
			ctx := context.Background()
			at := time.Date(2026, 1, 2, 3, 5, 5, 0, time.UTC)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				l := legs[i%len(legs)]
				i++
				if _, err := s.Route(ctx, l.participant, l.proxyNumber, at); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(perConv, "B/conv")
		})
	}
}

// BenchmarkMemoryStoreRouteParallel is Route from every CPU at once on
// 100k conversations: readers share the lock.
func BenchmarkMemoryStoreRouteParallel(b *testing.B) {
	s, legs, _ := buildRouteStore(b, 100_000)
	at := time.Date(2026, 1, 2, 3, 5, 5, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		i := rand.IntN(len(legs))
		for pb.Next() {
			l := legs[i%len(legs)]
			i++
			if _, err := s.Route(ctx, l.participant, l.proxyNumber, at); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkMemoryStoreCreate is the Service's create path against the
// store: Candidates for both participants (their own country, limit 16)
// and CreateConversation, over a pool of 1,000 numbers in 2 countries and
// 100k participants. The clock moves 10ms per conversation and
// conversations live 5 minutes, so about 30k are in use at a time; the
// sweep the Service runs is included (every 1,000 conversations).
func BenchmarkMemoryStoreCreate(b *testing.B) {
	ctx := context.Background()
	s := proxy.NewMemoryStore()
	if err := s.AddNumbers(ctx, benchPool(1000)...); err != nil {
		b.Fatal(err)
	}
	const people = 100_000
	names := make([]string, people)
	for i := range names {
		names[i] = benchParticipant(i)
	}
	country := func(i int) string {
		if i%2 == 0 {
			return "GB"
		}
		return "US"
	}
	r := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		now = now.Add(10 * time.Millisecond)
		a := r.IntN(people)
		bb := (a + 1 + r.IntN(people-1)) % people
		q := proxy.CandidateQuery{
			Participant: names[a], Counterpart: names[bb], Country: country(a),
			Voice: true, SMS: true, Now: now, ReleasedAfter: now.Add(-10 * time.Minute), Limit: 16,
		}
		ca, err := s.Candidates(ctx, q)
		if err != nil || len(ca) == 0 {
			b.Fatalf("Candidates(A) = %d, %v", len(ca), err)
		}
		q.Participant, q.Counterpart, q.Country = names[bb], names[a], country(bb)
		cb, err := s.Candidates(ctx, q)
		if err != nil || len(cb) == 0 {
			b.Fatalf("Candidates(B) = %d, %v", len(cb), err)
		}
		err = s.CreateConversation(ctx, proxy.Conversation{
			ID:     benchID(n),
			Status: proxy.StatusActive,
			Mode:   proxy.ModeBoth,
			Participants: [2]proxy.Participant{
				{Number: names[a], ProxyNumber: ca[0].PoolNumber.MSISDN},
				{Number: names[bb], ProxyNumber: cb[0].PoolNumber.MSISDN},
			},
			CreatedAt:      now,
			ExpiresAt:      now.Add(5 * time.Minute),
			LastActivityAt: now,
		})
		if err != nil {
			b.Fatal(err)
		}
		if n%1000 == 0 {
			if _, err := s.ExpireConversations(ctx, now, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkMemoryStorePseudonymizeSweep is the sweep's Pseudonymize call
// when nothing is due, on 100k conversations: it runs every
// SweepInterval under the store's write lock, so it must not walk them.
func BenchmarkMemoryStorePseudonymizeSweep(b *testing.B) {
	s, _, _ := buildRouteStore(b, 100_000)
	ctx := context.Background()
	q := proxy.PseudonymQuery{
		EndedBefore: time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC),
		Pseudonym:   func(n string) string { return proxy.PseudonymPrefix + n },
		Limit:       500,
	}
	b.ReportAllocs()
	for b.Loop() {
		if ids, err := s.Pseudonymize(ctx, q); err != nil || len(ids) != 0 {
			b.Fatal(ids, err)
		}
	}
}
