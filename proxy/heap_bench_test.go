package proxy

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/voice"
)

// BenchmarkSteadyStateHeap drives an hour of simulated traffic through the
// answer webhook on the memory store: signed answers (fresh jti each),
// 10-minute conversations created as fast as old ones end, the sweep
// every simulated minute, a 30-minute retention. It reports the live heap
// once the first conversations have ended and passed retention (45
// simulated minutes) and at the end (60): with nonces,
// interactions and ended conversations all bounded, the two stay close.
// Run: go test -run '^$' -bench SteadyStateHeap -benchtime 1x ./proxy/
func BenchmarkSteadyStateHeap(b *testing.B) {
	for b.Loop() {
		clock := testNow
		now := func() time.Time { return clock }
		s, err := New(Config{
			Store:      NewMemoryStore(MemoryRetention(30 * time.Minute)),
			Now:        now,
			Logger:     quietLogger(),
			Allocation: AllocationConfig{CoolOff: -1, LenientNumbers: true},
			Webhooks:   WebhookConfig{SignatureSecret: "steady"},
		})
		if err != nil {
			b.Fatal(err)
		}
		s.voiceVerifier = &voice.Verifier{Secrets: []voice.Secret{{Value: "steady"}}, Replay: replayGuard{store: s.store}}
		pool := make([]PoolNumber, 50)
		for i := range pool {
			pool[i] = PoolNumber{MSISDN: fmt.Sprintf("4477009%05d", i), Country: "GB", Voice: true, SMS: true}
		}
		if err := s.AddNumbers(b.Context(), pool...); err != nil {
			b.Fatal(err)
		}
		signer := WebhookSigner{Secret: "steady", Now: now}
		const (
			perMinute     = 2000 // answers a simulated minute
			convsPerMin   = 200  // new conversations a simulated minute
			minutes       = 60
			conversations = 10 * time.Minute
		)
		var heapAt45, heapAtEnd uint64
		w := newBenchWriter()
		seq := 0
		var live []Conversation
		for m := range minutes {
			for range convsPerMin {
				c := Conversation{
					ID: newID(clock), Status: StatusActive, Mode: ModeBoth,
					Participants: [2]Participant{{Number: benchParticipant(2 * seq), ProxyNumber: pool[seq%len(pool)].MSISDN},
						{Number: benchParticipant(2*seq + 1), ProxyNumber: pool[seq%len(pool)].MSISDN}},
					CreatedAt: clock, ExpiresAt: clock.Add(conversations), LastActivityAt: clock,
				}
				seq++
				if err := s.store.CreateConversation(b.Context(), c); err != nil {
					b.Fatal(err)
				}
				live = append(live, c)
			}
			if len(live) > 10*convsPerMin {
				live = live[len(live)-10*convsPerMin:]
			}
			for i := range perMinute {
				c := live[(i*7919)%len(live)]
				r := httptest.NewRequest(http.MethodGet, "/answer?from="+c.Participants[0].Number+"&to="+c.Participants[0].ProxyNumber+
					"&uuid=u&conversation_uuid=CON-"+fmt.Sprint(m*perMinute+i), nil)
				if err := signer.Sign(r, nil); err != nil {
					b.Fatal(err)
				}
				w.reset()
				s.ServeHTTP(w, r)
				if w.code != http.StatusOK {
					b.Fatalf("answer: %d %s", w.code, w.body)
				}
			}
			clock = clock.Add(time.Minute)
			if _, err := s.ExpireNow(b.Context()); err != nil {
				b.Fatal(err)
			}
			if m == 44 || m == minutes-1 {
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if m == 44 {
					heapAt45 = ms.HeapAlloc
				} else {
					heapAtEnd = ms.HeapAlloc
				}
			}
		}
		b.ReportMetric(float64(heapAt45)/(1<<20), "MiB@45min")
		b.ReportMetric(float64(heapAtEnd)/(1<<20), "MiB@60min")
	}
}
