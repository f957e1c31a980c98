package proxy

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/phone/numplan"
)

// AddNumbers adds proxy numbers to the pool (or updates the country and
// features of ones already there). Each MSISDN is normalised to digits;
// an empty Country is taken from the number. A number that is not a
// possible phone number fails the whole call with a *NumberError naming
// its index, and nothing is added.
func (s *Service) AddNumbers(ctx context.Context, nums ...PoolNumber) error {
	out := make([]PoolNumber, 0, len(nums))
	for i, n := range nums {
		d, region, err := numplan.Parse(n.MSISDN, true)
		if err != nil {
			return &NumberError{Field: fmt.Sprintf("PoolNumber[%d]", i), Input: n.MSISDN, Err: err}
		}
		n.MSISDN = d
		n.Country = strings.ToUpper(strings.TrimSpace(n.Country))
		if n.Country == "" {
			n.Country = region
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil
	}
	defer s.forgetPool()
	if err := s.store.AddNumbers(ctx, out...); err != nil {
		return fmt.Errorf("proxy: add numbers: %w", err)
	}
	return nil
}

// RemoveNumber takes a number out of the pool; conversations using it
// keep routing until they end. ErrNotFound if it is not in the pool.
func (s *Service) RemoveNumber(ctx context.Context, msisdn string) error {
	d, _, err := numplan.Parse(msisdn, true)
	if err != nil {
		return &NumberError{Field: "MSISDN", Input: msisdn, Err: err}
	}
	defer s.forgetPool()
	if err := s.store.RemoveNumber(ctx, d); err != nil {
		return fmt.Errorf("proxy: remove number: %w", err)
	}
	return nil
}

// Pool lists the pool in pool order.
func (s *Service) Pool(ctx context.Context) ([]PoolNumber, error) {
	ns, err := s.store.Pool(ctx)
	if err != nil {
		return nil, fmt.Errorf("proxy: list numbers: %w", err)
	}
	return ns, nil
}

// poolCacheTTL is how long the Service trusts its copy of the pool's
// numbers when checking that a participant is not one of them: a number
// another instance added is recognised within that time.
const poolCacheTTL = 5 * time.Second

// poolCache is the Service's copy of the pool's MSISDNs.
type poolCache struct {
	mu      sync.Mutex
	numbers map[string]struct{}
	loaded  time.Time
}

// isPoolNumber reports whether msisdn is in the pool, from a copy of the
// pool at most poolCacheTTL old.
func (s *Service) isPoolNumber(ctx context.Context, msisdn string) (bool, error) {
	c := &s.poolCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := s.now(); c.numbers == nil || now.Sub(c.loaded) > poolCacheTTL || now.Before(c.loaded) {
		ns, err := s.store.Pool(ctx)
		if err != nil {
			return false, err
		}
		c.numbers = make(map[string]struct{}, len(ns))
		for _, n := range ns {
			c.numbers[n.MSISDN] = struct{}{}
		}
		c.loaded = now
	}
	_, ok := c.numbers[msisdn]
	return ok, nil
}

// forgetPool makes the next isPoolNumber read the pool again.
func (s *Service) forgetPool() {
	s.poolCache.mu.Lock()
	s.poolCache.numbers = nil
	s.poolCache.mu.Unlock()
}
