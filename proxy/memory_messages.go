package proxy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

type memMsgKey struct{ from, to, ref string }

// AddMessagePart drops stale parts of p's message, stores p unless its
// part number is there, and returns the parts, consuming a complete set.
func (s *memoryStore) AddMessagePart(ctx context.Context, p MessagePart, since time.Time) ([]MessagePart, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if since.After(s.partsSince) {
		s.partsSince = since
	}
	k := memMsgKey{p.From, p.To, p.Ref}
	parts := slices.DeleteFunc(s.msgParts[k], func(e MessagePart) bool { return e.ReceivedAt.Before(since) })
	i, found := slices.BinarySearchFunc(parts, p.Part, func(e MessagePart, n int) int { return cmp.Compare(e.Part, n) })
	if !found {
		parts = slices.Insert(parts, i, p)
		s.partsQueue.Push(p.ReceivedAt, k)
	}
	if len(parts) >= p.Total {
		delete(s.msgParts, k)
		return parts, nil // no longer the store's: the caller may keep it
	}
	s.msgParts[k] = parts
	return slices.Clone(parts), nil
}

// Claim claims key until expires unless a claim of it is live at now.
func (s *memoryStore) Claim(ctx context.Context, key string, now, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneNonces(now)
	if old, ok := s.nonces[key]; ok && old.After(now) {
		return fmt.Errorf("proxy: nonce %q: %w", key, ErrConflict)
	}
	s.nonces[key] = expires
	s.nonceQueue.Push(expires, key)
	return nil
}

// ReleaseClaim forgets the claim of key. Its entry in the expiry queue
// stays, and is skipped when due (pruneNonces compares expiries).
func (s *memoryStore) ReleaseClaim(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.nonces, key)
	return nil
}

// pruneNonces forgets claims whose expiry is not after now.
func (s *memoryStore) pruneNonces(now time.Time) {
	for {
		expires, key, ok := s.nonceQueue.PopDue(now)
		if !ok {
			return
		}
		if exp, ok := s.nonces[key]; ok && exp.Equal(expires) {
			delete(s.nonces, key)
		}
	}
}

// pruneParts drops stored parts received before partsSince: their
// message can no longer complete.
func (s *memoryStore) pruneParts() {
	for {
		_, k, ok := s.partsQueue.PopDue(s.partsSince.Add(-time.Nanosecond))
		if !ok {
			return
		}
		parts := slices.DeleteFunc(s.msgParts[k], func(e MessagePart) bool { return e.ReceivedAt.Before(s.partsSince) })
		if len(parts) == 0 {
			delete(s.msgParts, k)
		} else {
			s.msgParts[k] = parts
		}
	}
}

// DeleteMessageParts deletes the parts received before before (and sent
// by from, when it is not empty).
func (s *memoryStore) DeleteMessageParts(ctx context.Context, from string, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, parts := range s.msgParts {
		if from != "" && k.from != from {
			continue
		}
		kept := slices.DeleteFunc(parts, func(e MessagePart) bool { return e.ReceivedAt.Before(before) })
		n += len(parts) - len(kept)
		if len(kept) == 0 {
			delete(s.msgParts, k)
		} else {
			s.msgParts[k] = kept
		}
	}
	return n, nil
}
