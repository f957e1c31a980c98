package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/sqlstore"
)

// benchConversations is how many active conversations the big benchmarks
// seed: VOICEPROXY_BENCH_CONVERSATIONS, default 100000.
func benchConversations(b *testing.B) int {
	n := 100_000
	if v := os.Getenv("VOICEPROXY_BENCH_CONVERSATIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("VOICEPROXY_BENCH_CONVERSATIONS=%q: want a positive number", v)
		}
	}
	return n
}

// benchPerson is the i-th benchmark participant: distinct for every i.
func benchPerson(i int) string { return fmt.Sprintf("4479%08d", i) }

// seed adds a pool of poolSize numbers and n active conversations, each
// between two participants of its own, and returns them.
func seed(b *testing.B, s *sqlstore.Store, n, poolSize int, now time.Time) []proxy.Conversation {
	b.Helper()
	ctx := context.Background()
	pool := poolNumbers(poolSize)
	if err := s.AddNumbers(ctx, pool...); err != nil {
		b.Fatal(err)
	}
	convs := make([]proxy.Conversation, n)
	for i := range convs {
		p := pool[i%poolSize].MSISDN
		convs[i] = proxy.Conversation{
			ID:     fmt.Sprintf("seed-%07d", i),
			Status: proxy.StatusActive,
			Mode:   proxy.ModeBoth,
			Participants: [2]proxy.Participant{
				{Number: benchPerson(2 * i), ProxyNumber: p},
				{Number: benchPerson(2*i + 1), ProxyNumber: p},
			},
			CreatedAt:      now,
			ExpiresAt:      now.Add(24 * time.Hour),
			LastActivityAt: now,
		}
	}
	start := time.Now()
	if err := s.Seed(ctx, convs); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d conversations in %v", n, time.Since(start).Round(time.Millisecond))
	return convs
}

// BenchmarkLarge measures, with many active conversations (100k unless
// VOICEPROXY_BENCH_CONVERSATIONS says otherwise): the answer webhook
// through the Service's handler, a bare Route, and allocation
// (Candidates) for a new conversation.
func BenchmarkLarge(b *testing.B) {
	for _, be := range []struct {
		name string
		open func(testing.TB) *sqlstore.Store
	}{
		{"sqlite", newSQLiteFileStore},
		{"postgres", newPostgresStore},
	} {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			now := time.Now()
			convs := seed(b, s, benchConversations(b), 20, now)
			svc := newService(b, s)
			ctx := context.Background()

			b.Run("Answer", func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				c := convs[0]
				if body := answer(b, svc, c.Participants[0].Number, c.Participants[0].ProxyNumber); !strings.Contains(body, c.Participants[1].Number) {
					b.Fatalf("answer = %s, want a connect to %s", body, c.Participants[1].Number)
				}
				b.ReportAllocs()
				for b.Loop() {
					c := convs[r.IntN(len(convs))]
					rec := httptest.NewRecorder()
					req := httptest.NewRequest(http.MethodGet, "/answer?from="+c.Participants[1].Number+"&to="+c.Participants[1].ProxyNumber, nil)
					svc.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d", rec.Code)
					}
				}
			})
			b.Run("AnswerParallel", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					r := rand.New(rand.NewPCG(rand.Uint64(), 2))
					for pb.Next() {
						c := convs[r.IntN(len(convs))]
						rec := httptest.NewRecorder()
						svc.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/answer?from="+c.Participants[0].Number+"&to="+c.Participants[0].ProxyNumber, nil))
					}
				})
			})
			b.Run("Route", func(b *testing.B) {
				r := rand.New(rand.NewPCG(3, 4))
				for b.Loop() {
					c := convs[r.IntN(len(convs))]
					if _, err := s.Route(ctx, c.Participants[0].Number, c.Participants[0].ProxyNumber, now); err != nil {
						b.Fatal(err)
					}
				}
			})
			// ClaimRoutes: one group of the signed answer webhook's
			// round trip, a nonce claim and a route per call.
			var seq atomic.Int64
			for _, size := range []int{1, 16} {
				b.Run(fmt.Sprintf("ClaimRoutes/%d", size), func(b *testing.B) {
					r := rand.New(rand.NewPCG(7, uint64(size)))
					reqs := make([]proxy.RouteClaim, size)
					b.ReportAllocs()
					for b.Loop() {
						for i := range reqs {
							c := convs[r.IntN(len(convs))]
							reqs[i] = proxy.RouteClaim{
								Nonce:       proxy.ClaimRequest{Key: fmt.Sprintf("bench-%d", seq.Add(1)), Now: now, Expires: now.Add(5 * time.Minute)},
								Participant: c.Participants[0].Number, ProxyNumber: c.Participants[0].ProxyNumber, Now: now,
							}
						}
						res, err := s.ClaimRoutes(ctx, reqs)
						if err != nil || !res[0].Fresh || !res[0].Found {
							b.Fatalf("ClaimRoutes = %+v, %v", res, err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/call")
				})
			}
			b.Run("Candidates", func(b *testing.B) {
				r := rand.New(rand.NewPCG(5, 6))
				for b.Loop() {
					c := convs[r.IntN(len(convs))]
					cs, err := s.Candidates(ctx, proxy.CandidateQuery{
						Participant: c.Participants[0].Number, Counterpart: benchPerson(3 * len(convs)),
						Country: "GB", Voice: true, SMS: true, Now: now, ReleasedAfter: now.Add(-time.Hour), Limit: 16,
					})
					if err != nil || len(cs) != 16 {
						b.Fatalf("Candidates = %d, %v; want 16", len(cs), err)
					}
				}
			})
		})
	}
}

// BenchmarkCreate measures conversation creation through the Service:
// creates/s with one or two instances (separate Stores on one database),
// over a wide pool where allocation rarely conflicts (participants drawn
// from a million, create only) and a tight one where it often does (12
// participants, 3 numbers, every create followed by a close).
func BenchmarkCreate(b *testing.B) {
	type backend struct {
		name string
		open func(b *testing.B, n int) []*sqlstore.Store
	}
	backends := []backend{
		{"sqlite", func(b *testing.B, n int) []*sqlstore.Store { return []*sqlstore.Store{newSQLiteFileStore(b)} }},
		{"postgres", func(b *testing.B, n int) []*sqlstore.Store {
			dsn, schema := newSchema(b)
			var ss []*sqlstore.Store
			for range n {
				ss = append(ss, openPostgres(b, dsn, schema))
			}
			return ss
		}},
	}
	for _, be := range backends {
		for _, tight := range []bool{false, true} {
			for _, instances := range []int{1, 2} {
				if be.name == "sqlite" && instances == 2 {
					continue // one process per SQLite file
				}
				name := fmt.Sprintf("%s/wide/instances=%d", be.name, instances)
				if tight {
					name = fmt.Sprintf("%s/tight/instances=%d", be.name, instances)
				}
				b.Run(name, func(b *testing.B) {
					benchCreate(b, be.open(b, instances), tight)
				})
			}
		}
	}
}

func benchCreate(b *testing.B, stores []*sqlstore.Store, tight bool) {
	ctx := context.Background()
	var conflicts, failed, worker atomic.Int64
	svcs := make([]*proxy.Service, len(stores))
	for i, s := range stores {
		svcs[i] = newService(b, conflictCounter{s, &conflicts})
	}
	poolSize, people := 50, 1_000_000
	if tight {
		poolSize, people = 3, 12
	}
	if err := svcs[0].AddNumbers(ctx, poolNumbers(poolSize)...); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(4)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		w := worker.Add(1)
		svc := svcs[int(w)%len(svcs)]
		r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
		for pb.Next() {
			a := r.IntN(people)
			bb := (a + 1 + r.IntN(people-1)) % people
			c, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: benchPerson(a), B: benchPerson(bb), TTL: time.Hour})
			switch {
			case err == nil:
			case errors.Is(err, proxy.ErrPoolExhausted), errors.Is(err, proxy.ErrTooManyConflicts):
				failed.Add(1)
				continue
			default:
				b.Error(err)
				return
			}
			if tight {
				if _, err := svc.CloseConversation(ctx, c.ID); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "creates/s")
	b.ReportMetric(float64(conflicts.Load())/float64(b.N), "conflicts/op")
	b.ReportMetric(float64(failed.Load())/float64(b.N), "failed/op")
}
