package proxy

import (
	"fmt"
	"testing"
	"time"
)

// The memory store forgets nonce claims that expired by the now of a
// later ClaimNonce or ExpireConversations, so memory stays bounded by the
// claims still live.
func TestMemoryStoreForgetsExpiredNonces(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := NewMemoryStore().(*memoryStore)
	live := func() int {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return len(s.nonces)
	}
	// A claim a second, each living 5 minutes: at most 300 are live.
	now := testNow
	for i := range 1000 {
		now = testNow.Add(time.Duration(i) * time.Second)
		if err := s.ClaimNonce(ctx, fmt.Sprint("k", i), now, now.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if n := live(); n != 300 {
		t.Errorf("%d claims kept, want the 300 live ones", n)
	}
	if _, err := s.ExpireConversations(ctx, now.Add(5*time.Minute), 0); err != nil {
		t.Fatal(err)
	}
	if n := live(); n != 0 {
		t.Errorf("%d claims kept after all expired, want 0", n)
	}
	if n := len(s.nonceHeap); n != 0 {
		t.Errorf("%d heap entries kept after all expired, want 0", n)
	}
}
