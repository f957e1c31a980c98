package proxy

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// benchParticipant is the i-th distinct participant number, valid for
// libphonenumber (UK mobiles 447[1-5]xxxxxxxx).
func benchParticipant(i int) string {
	return fmt.Sprintf("447%d%08d", 1+i/100_000_000, i%100_000_000)
}

// benchService returns a Service with n active conversations inserted
// straight into a memory store (participants 2k and 2k+1, over a pool of
// 100 numbers), plus the query strings that call them. webhooks is how
// it checks webhooks.
func benchService(b *testing.B, n int, webhooks WebhookConfig) (*Service, []string) {
	b.Helper()
	s, err := New(Config{Store: NewMemoryStore(), Now: func() time.Time { return testNow }, Logger: quietLogger(), Webhooks: webhooks})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	const poolSize = 100
	var pool []PoolNumber
	for i := range poolSize {
		pool = append(pool, PoolNumber{MSISDN: fmt.Sprintf("4477009%05d", i), Country: "GB", Voice: true, SMS: true})
	}
	if err := s.store.AddNumbers(ctx, pool...); err != nil {
		b.Fatal(err)
	}
	queries := make([]string, 0, 1024)
	for i := range n {
		a, bb, p := benchParticipant(2*i), benchParticipant(2*i+1), pool[i%poolSize].MSISDN
		c := Conversation{
			ID: newID(testNow), Status: StatusActive, Mode: ModeBoth,
			Participants: [2]Participant{{Number: a, ProxyNumber: p}, {Number: bb, ProxyNumber: p}},
			CreatedAt:    testNow, ExpiresAt: testNow.Add(24 * time.Hour), LastActivityAt: testNow,
		}
		if err := s.store.CreateConversation(ctx, c); err != nil {
			b.Fatal(err)
		}
		if i%(max(n/1024, 1)) == 0 && len(queries) < cap(queries) {
			queries = append(queries, "from="+a+"&to="+p+"&region_url=https%3A%2F%2Fapi-eu-3.vonage.com&uuid=aaaaaaaa-bbbb-cccc-dddd-0123456789ab&conversation_uuid=CON-")
		}
	}
	// Collect the setup's garbage now rather than inside the timed loop.
	runtime.GC()
	return s, queries
}

// BenchmarkServeAnswer measures the answer webhook (GET, query string) end
// to end through ServeHTTP with an httptest recorder, including the
// interaction insert, for growing numbers of active conversations. Each
// iteration uses a new conversation_uuid, so every call is a real insert.
func BenchmarkServeAnswer(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("conversations=%d", n), func(b *testing.B) {
			s, queries := benchService(b, n, WebhookConfig{InsecureUnsigned: true})
			r := httptest.NewRequest(http.MethodGet, "/answer", nil)
			buf := make([]byte, 0, 256)
			w := newBenchWriter()
			i := 0
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				buf = strconv.AppendInt(append(buf[:0], queries[i%len(queries)]...), int64(i), 10)
				r.URL.RawQuery = string(buf)
				w.reset()
				s.ServeHTTP(w, r)
				if w.code != http.StatusOK || len(w.body) < 60 {
					b.Fatalf("answer: %d %s", w.code, w.body)
				}
				i++
			}
		})
	}
}

// BenchmarkCreateConversation allocates from a pool of 1,000 numbers for
// 100,000 distinct participants (50,000 pairs cycled; conversations stay
// active, so participants come back with more legs), no SMS or Insight.
func BenchmarkCreateConversation(b *testing.B) {
	s, err := New(Config{Store: NewMemoryStore(), Now: func() time.Time { return testNow }, Logger: quietLogger(), Webhooks: WebhookConfig{InsecureUnsigned: true}})
	if err != nil {
		b.Fatal(err)
	}
	var pool []PoolNumber
	for i := range 1000 {
		pool = append(pool, PoolNumber{MSISDN: fmt.Sprintf("4477009%05d", i), Country: "GB", Voice: true, SMS: true})
	}
	if err := s.AddNumbers(b.Context(), pool...); err != nil {
		b.Fatal(err)
	}
	const participants = 100_000
	ps := make([]string, participants)
	for i := range ps {
		ps[i] = "+" + benchParticipant(i)
	}
	i := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		k := (2 * i) % participants
		// Pair k with a partner that shifts each round so pairs are new.
		partner := (k + 1 + 2*(i/(participants/2))) % participants
		if partner == k {
			partner = (partner + 1) % participants
		}
		if _, err := s.CreateConversation(b.Context(), CreateRequest{A: ps[k], B: ps[partner]}); err != nil {
			b.Fatalf("create %d: %v", i, err)
		}
		i++
	}
}

// BenchmarkBareAnswer is the baseline for BenchmarkServeAnswer: a bare
// net/http handler that writes a constant connect NCCO, driven the same
// way. Their ratio is what the Service costs over answering at all.
func BenchmarkBareAnswer(b *testing.B) {
	nccoJSON := []byte(`[{"action":"connect","from":"447700900001","endpoint":[{"type":"phone","number":"447123456789"}]}]`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.URL.Query().Get("from")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(nccoJSON)
	})
	r := httptest.NewRequest(http.MethodGet, "/answer?from=447100000000&to=447700900000&uuid=aaaaaaaa-bbbb-cccc-dddd-0123456789ab&conversation_uuid=CON-1", nil)
	w := newBenchWriter()
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, r)
		if w.code != http.StatusOK {
			b.Fatal(w.code)
		}
	}
}

// benchWriter is a reusable http.ResponseWriter, so that the benchmarks
// measure the handler rather than httptest.NewRecorder's allocations.
type benchWriter struct {
	h    http.Header
	code int
	body []byte
}

func newBenchWriter() *benchWriter {
	return &benchWriter{h: http.Header{}, body: make([]byte, 0, 1024)}
}

func (w *benchWriter) reset() {
	clear(w.h)
	w.code, w.body = 0, w.body[:0]
}

func (w *benchWriter) Header() http.Header { return w.h }

func (w *benchWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *benchWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.body = append(w.body, b...)
	return len(b), nil
}

// BenchmarkServeAnswerSigned is BenchmarkServeAnswer with signature
// verification on, each request carrying its own JWT (signed before the
// timer runs), as Vonage sends them, verified as Config.Webhooks sets it
// up (the jti claimed in the store with the call's route).
func BenchmarkServeAnswerSigned(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("conversations=%d", n), func(b *testing.B) {
			s, queries := benchService(b, n, WebhookConfig{SignatureSecret: "bench-secret"})
			signer := WebhookSigner{Secret: "bench-secret", Now: func() time.Time { return testNow }}
			const batch = 4096
			reqs := make([]*http.Request, batch)
			refill := func(round int) {
				for i := range reqs {
					r := httptest.NewRequest(http.MethodGet, "/answer?"+queries[i%len(queries)]+strconv.Itoa(round*batch+i), nil)
					if err := signer.Sign(r, nil); err != nil {
						b.Fatal(err)
					}
					reqs[i] = r
				}
			}
			refill(0)
			w := newBenchWriter()
			i := 0
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if i%batch == 0 && i > 0 {
					b.StopTimer()
					refill(i / batch)
					b.StartTimer()
				}
				w.reset()
				s.ServeHTTP(w, reqs[i%batch])
				if w.code != http.StatusOK || len(w.body) < 60 {
					b.Fatalf("answer: %d %s", w.code, w.body)
				}
				i++
			}
		})
	}
}
