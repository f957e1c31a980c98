package proxy

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ioStore is the memory store seen as a store that does I/O (it is not
// *memoryStore), with a batch method that can lose its writes, as a
// process that stops before flushing does.
type ioStore struct {
	Store
	lose    bool
	batches atomic.Int32
}

func (s *ioStore) AddInteractions(ctx context.Context, ins []Interaction) ([]Interaction, error) {
	s.batches.Add(1)
	if s.lose {
		return nil, nil
	}
	var stored []Interaction
	for _, in := range ins {
		if err := s.Store.AddInteraction(ctx, in); err == nil {
			stored = append(stored, in)
		}
	}
	return stored, nil
}

// Answered calls on a store that does I/O are recorded after the answer,
// in batches, and OnInteraction hears of each once.
func TestWriteBehindRecordsAnsweredCalls(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]int{}
	store := &ioStore{Store: NewMemoryStore()}
	s, _ := newTestService(t, gbPool(gbP1), func(c *Config) {
		c.Store = store
		c.Hooks.OnInteraction = func(_ context.Context, in Interaction) {
			mu.Lock()
			seen[in.ExternalID]++
			mu.Unlock()
		}
	})
	c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB})
	const calls = 50
	for i := range calls {
		if w := serve(s, answerGET("/answer", gbA, gbP1, "u"+strconv.Itoa(i))); w.Code != 200 {
			t.Fatalf("answer %d: %d", i, w.Code)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ins, err := s.Interactions(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ins) == calls {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d calls recorded", len(ins), calls)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := store.batches.Load(); n < 1 || n >= calls {
		t.Errorf("%d batches for %d calls, want them batched", n, calls)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != calls {
		t.Errorf("OnInteraction heard of %d calls, want %d", len(seen), calls)
	}
	for ext, n := range seen {
		if n != 1 {
			t.Errorf("OnInteraction heard of %s %d times", ext, n)
		}
	}
}

// A record lost between the answer and its write (the process stopped)
// is made again by the call's event webhooks, in the right conversation.
func TestWriteBehindLostRecordRecoveredByEvents(t *testing.T) {
	t.Parallel()
	store := &ioStore{Store: NewMemoryStore(), lose: true}
	s, _ := newTestService(t, gbPool(gbP1), func(c *Config) { c.Store = store })
	c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB})
	serve(s, answerGET("/answer", gbA, gbP1, "leg-in"))
	time.Sleep(50 * time.Millisecond) // the batch is "written" and lost
	if ins, _ := s.Interactions(t.Context(), c.ID); len(ins) != 0 {
		t.Fatalf("interactions %+v before the events, want none (the write was lost)", ins)
	}
	serve(s, eventPOST(map[string]any{"from": gbA, "to": gbP1, "uuid": "leg-in", "conversation_uuid": "CON-leg-in", "status": "answered", "direction": "inbound"}))
	ins, err := s.Interactions(t.Context(), c.ID)
	if err != nil || len(ins) != 1 || ins[0].ExternalID != "CON-leg-in" || len(ins[0].Events) != 1 {
		t.Fatalf("interactions %+v, %v; want the call with its event", ins, err)
	}
}

// batchClaims claims nonces in batches over a memory store, counting the
// batches, failing when told to.
type batchClaims struct {
	Store
	mu      sync.Mutex
	batches int
	fail    error
	delay   time.Duration
}

func (b *batchClaims) Claims(ctx context.Context, cs []ClaimRequest) ([]bool, error) {
	b.mu.Lock()
	b.batches++
	fail := b.fail
	b.mu.Unlock()
	time.Sleep(b.delay) // a round trip, during which more claims queue
	if fail != nil {
		return nil, fail
	}
	fresh := make([]bool, len(cs))
	for i, c := range cs {
		fresh[i] = b.Store.Claim(ctx, c.Key, c.Now, c.Expires) == nil
	}
	return fresh, nil
}

// Concurrent claims are grouped; each caller hears its own claim's fate,
// so replays are refused as without grouping, and a store failure reaches
// every caller of the group.
func TestClaimGroup(t *testing.T) {
	t.Parallel()
	store := &batchClaims{Store: NewMemoryStore(), delay: 2 * time.Millisecond}
	g := replayGuard{store: store, group: newGroup("Claims", time.Second, store.Claims)}
	const callers = 64
	var wg sync.WaitGroup
	var freshCount atomic.Int32
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every key is claimed twice: one of the two is a replay.
			fresh, err := g.Claim(t.Context(), "k"+strconv.Itoa(i/2), testNow, testNow.Add(time.Minute))
			if err != nil {
				t.Errorf("Claim: %v", err)
			}
			if fresh {
				freshCount.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := freshCount.Load(); n != callers/2 {
		t.Errorf("%d fresh claims of %d keys claimed twice, want %d", n, callers/2, callers/2)
	}
	if store.batches >= callers {
		t.Errorf("%d batches for %d claims: not grouped", store.batches, callers)
	}
	store.fail = errors.New("database down")
	if _, err := g.Claim(t.Context(), "z", testNow, testNow.Add(time.Minute)); err == nil || !strings.Contains(err.Error(), "database down") {
		t.Errorf("Claim with the store down: %v, want its error", err)
	}
}

// routeClaims is a RouteClaimer over a memory store that counts its round
// trips and refuses the separate Route and Claim the answer webhook
// must not make beside it.
type routeClaims struct {
	Store
	mu           sync.Mutex
	trips, other int
	fail         error
}

func (r *routeClaims) ClaimRoutes(ctx context.Context, reqs []RouteClaim) ([]RouteClaimResult, error) {
	r.mu.Lock()
	r.trips++
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	out := make([]RouteClaimResult, len(reqs))
	for i, q := range reqs {
		out[i].Fresh = q.Nonce.Key == "" || r.Store.Claim(ctx, q.Nonce.Key, q.Nonce.Now, q.Nonce.Expires) == nil
		if q.Participant != "" {
			c, err := r.Store.Route(ctx, q.Participant, q.ProxyNumber, q.Now)
			out[i].Found, out[i].Conversation = err == nil, c
		}
	}
	return out, nil
}

func (r *routeClaims) Route(ctx context.Context, from, to string, now time.Time) (Conversation, error) {
	r.mu.Lock()
	r.other++
	r.mu.Unlock()
	return r.Store.Route(ctx, from, to, now)
}

func (r *routeClaims) Claim(ctx context.Context, key string, now, expires time.Time) error {
	r.mu.Lock()
	r.other++
	r.mu.Unlock()
	return r.Store.Claim(ctx, key, now, expires)
}

// With a RouteClaimer store, a signed answer webhook makes one store
// round trip before it answers (claim and route together); a replay of it
// is refused; a call to no route still has its jti claimed; and a store
// that fails answers 503, nothing connected.
func TestAnswerOneRoundTrip(t *testing.T) {
	t.Parallel()
	store := &routeClaims{Store: NewMemoryStore()}
	const secret = "voice-secret"
	s, _ := newTestService(t, gbPool(gbP1), func(c *Config) { c.Store, c.Webhooks.SignatureSecret = store, secret })
	mustCreate(t, s, CreateRequest{A: gbA, B: gbB})
	signer := WebhookSigner{Secret: secret, Now: func() time.Time { return testNow }}
	signed := func(from string) *http.Request {
		r := answerGET("/answer", from, gbP1, "u1")
		if err := signer.Sign(r, nil); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := signed(gbA)
	store.mu.Lock()
	before, otherBefore := store.trips, store.other
	store.mu.Unlock()
	w := serve(s, r)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), gbB) {
		t.Fatalf("answer %d %s, want a connect to B", w.Code, w.Body)
	}
	store.mu.Lock()
	trips, other := store.trips-before, store.other-otherBefore
	store.mu.Unlock()
	if trips != 1 || other != 0 {
		t.Errorf("answer made %d ClaimRoutes and %d other route/nonce calls, want 1 and 0", trips, other)
	}
	replay := r.Clone(t.Context())
	if w := serve(s, replay); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "replayed") {
		t.Errorf("replayed answer %d %s, want 401 replayed", w.Code, w.Body)
	}
	unknown := signed("447700900999")
	if w := serve(s, unknown); w.Code != http.StatusOK || strings.Contains(w.Body.String(), "connect") {
		t.Errorf("call to no route %d %s, want the spoken NCCO", w.Code, w.Body)
	}
	if w := serve(s, unknown.Clone(t.Context())); w.Code != http.StatusUnauthorized {
		t.Errorf("replay of a call to no route %d, want 401", w.Code)
	}
	store.mu.Lock()
	store.fail = errors.New("database down")
	store.mu.Unlock()
	if w := serve(s, signed(gbA)); w.Code != http.StatusServiceUnavailable {
		t.Errorf("answer with the store down %d %s, want 503", w.Code, w.Body)
	}
}
