package proxy

import (
	"context"
	"errors"
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
		c.OnInteraction = func(_ context.Context, in Interaction) {
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

func (b *batchClaims) ClaimNonces(ctx context.Context, cs []NonceClaim) ([]bool, error) {
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
		fresh[i] = b.Store.ClaimNonce(ctx, c.Key, c.Now, c.Expires) == nil
	}
	return fresh, nil
}

// Concurrent claims are grouped; each caller hears its own claim's fate,
// so replays are refused as without grouping, and a store failure reaches
// every caller of the group.
func TestClaimGroup(t *testing.T) {
	t.Parallel()
	store := &batchClaims{Store: NewMemoryStore(), delay: 2 * time.Millisecond}
	g := replayGuard{store: store, group: newGroup("ClaimNonces", time.Second, store.ClaimNonces)}
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
