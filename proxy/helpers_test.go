package proxy

import (
	"context"
	"sync"
	"time"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// nonceStore is a Store that only implements ClaimNonce (the other methods
// are never reached by the tests that use it).
type nonceStore struct {
	Store
	mu   sync.Mutex
	seen map[string]time.Time
}

func (n *nonceStore) ClaimNonce(_ context.Context, key string, expires time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.seen == nil {
		n.seen = map[string]time.Time{}
	}
	if _, ok := n.seen[key]; ok {
		return ErrConflict
	}
	n.seen[key] = expires
	return nil
}
