package proxy

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/voice"
)

// lookupStore records the calls each spooled event is looked up by, a
// little slowly, so that flushes overlap.
type lookupStore struct {
	Store
	mu   sync.Mutex
	seen map[string]int
}

func (l *lookupStore) InteractionByExternalID(ctx context.Context, k InteractionKind, ext string) (Interaction, error) {
	time.Sleep(200 * time.Microsecond)
	l.mu.Lock()
	l.seen[ext]++
	l.mu.Unlock()
	return l.Store.InteractionByExternalID(ctx, k, ext)
}

// Flushes that run at once (Run's, and the one a stored event sets off)
// write every spooled event: none is popped unwritten.
func TestConcurrentFlushesWriteEveryEvent(t *testing.T) {
	t.Parallel()
	store := &lookupStore{seen: map[string]int{}}
	s, _ := newTestService(t, nil, func(c *Config) {
		store.Store = c.Store
		c.Store = store
	})
	const events = 200
	for i := range events {
		s.spoolEvent(t.Context(), &voice.Params{UUID: "leg", ConversationUUID: voice.Value(fmt.Sprintf("CON-%d", i)), Status: "started"}, testNow)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 4 {
		wg.Go(func() {
			n, err := s.FlushEvents(t.Context())
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != events || s.events.len() != 0 {
		t.Errorf("flushed %d of %d, %d left", total, events, s.events.len())
	}
	for i := range events {
		if store.seen[fmt.Sprintf("CON-%d", i)] == 0 {
			t.Errorf("event CON-%d was dropped unwritten", i)
		}
	}
}
