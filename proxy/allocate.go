package proxy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/phone/numplan"
)

// This file is allocation: choosing each participant's proxy number, by
// the rules CandidateQuery states. CreateConversation calls pick for both
// sides, then inserts; the store's leg check settles races between
// instances, and a collision sends CreateConversation round again.

// maxAllocAttempts bounds CreateConversation's retries after the store
// reports a colliding leg (another writer took the number first).
const maxAllocAttempts = 10

// candidateLimit is how many candidates are fetched per participant: the
// first is taken on a first attempt; retries pick among the equally good.
const candidateLimit = 16

// pick chooses a proxy number for participant p (on side) facing
// counterpart q: with GeoAreaCode, among numbers of p's NANP area code
// first; then among numbers of p's country (buying one with the
// autopilot), then, with GeoAnyCountry, any country's (see choose). anon
// holds the pseudonyms of p and q.
func (s *Service) pick(ctx context.Context, side Side, p, q string, anon [2]string, region string, mode Mode, now time.Time, attempt int) (string, error) {
	query := CandidateQuery{
		Participant:          p,
		Counterpart:          q,
		ParticipantPseudonym: anon[0],
		CounterpartPseudonym: anon[1],
		Country:              region,
		Voice:                mode != ModeSMS,
		SMS:                  mode != ModeVoice,
		Now:                  now,
		ReleasedAfter:        now.Add(-s.cfg.Allocation.CoolOff),
		Limit:                candidateLimit,
	}
	if s.cfg.Allocation.Geo == GeoAreaCode && region != "" {
		if area, ok := numplan.NANPAreaCode(p); ok {
			aq := query
			aq.Prefix = area
			cands, err := s.store.Candidates(ctx, aq)
			if err != nil {
				return "", fmt.Errorf("proxy: candidates for participant %s: %w", side, err)
			}
			if len(cands) > 0 {
				return s.choose(cands, attempt), nil
			}
		}
	}
	cands, err := s.store.Candidates(ctx, query)
	if err != nil {
		return "", fmt.Errorf("proxy: candidates for participant %s: %w", side, err)
	}
	// With the autopilot, a participant out of numbers in their country
	// gets one bought there before any from another country.
	var grown error
	if s.autopilot != nil {
		// more reports whether the participant now has more than min
		// candidates: whether the need is met after all.
		more := func(min int) func(context.Context) (bool, error) {
			return func(ctx context.Context) (bool, error) {
				cs, err := s.store.Candidates(ctx, query)
				return len(cs) > min, err
			}
		}
		switch {
		case len(cands) == 0:
			if grown = s.grow(ctx, region, mode, reasonExhausted, more(0)); grown == nil {
				if cands, err = s.store.Candidates(ctx, query); err != nil {
					return "", fmt.Errorf("proxy: candidates for participant %s: %w", side, err)
				}
			}
		case len(cands) <= s.autopilot.Headroom && region != "":
			s.buyAhead(ctx, region, mode, more(s.autopilot.Headroom))
		}
	}
	if len(cands) == 0 && region != "" && s.cfg.Allocation.GeoFallback == GeoAnyCountry {
		query.Country = ""
		if cands, err = s.store.Candidates(ctx, query); err != nil {
			return "", fmt.Errorf("proxy: candidates for participant %s: %w", side, err)
		}
	}
	if len(cands) == 0 {
		return "", s.exhausted(ctx, side, query, grown)
	}
	return s.choose(cands, attempt), nil
}

// choose takes a number from cands, best first. First attempts take the
// best; retries after a collision choose at random among the candidates
// as good as the best, so instances racing for the same number spread
// out. With StickyAvoid the sticky number goes last.
func (s *Service) choose(cands []Candidate, attempt int) string {
	if s.cfg.Allocation.Sticky == StickyAvoid && len(cands) > 1 && cands[0].Sticky {
		cands = append(slices.Clone(cands[1:]), cands[0])
	}
	if attempt == 0 {
		return cands[0].PoolNumber.MSISDN
	}
	n := 1
	for n < len(cands) && cands[n].Sticky == cands[0].Sticky && cands[n].Load == cands[0].Load {
		n++
	}
	if n == 1 && len(cands) > 1 {
		// The best is contended; let later attempts reach the next tier.
		n = min(len(cands), 1+attempt)
	}
	return cands[rand.IntN(n)].PoolNumber.MSISDN
}

// exhausted is the *PoolExhaustedError for side when query found no
// candidate: the pool counted, and the numbers that fit query (its
// Country when set, its features), so that the error can tell an empty
// pool from one lacking numbers of the country and from one whose
// numbers are all taken for the participant.
func (s *Service) exhausted(ctx context.Context, side Side, query CandidateQuery, grown error) *PoolExhaustedError {
	pe := &PoolExhaustedError{Side: side, Country: query.Country, Voice: query.Voice, SMS: query.SMS,
		Pool: -1, Fitting: -1, Autopilot: grown, counted: true}
	pool, err := s.store.Pool(ctx)
	if err != nil {
		return pe // the error says less, and is still the one to return
	}
	pe.Pool, pe.Fitting = len(pool), 0
	for _, n := range pool {
		if (query.Country == "" || n.Country == query.Country) && (!query.Voice || n.Voice) && (!query.SMS || n.SMS) {
			pe.Fitting++
		}
	}
	return pe
}

// describeExhausted completes a *PoolExhaustedError CreateConversation
// returns: the participant's label, and the pool's size when the error
// (a PIN conversation's) did not count it.
func (s *Service) describeExhausted(ctx context.Context, pe *PoolExhaustedError, labels Labels, mode Mode) {
	pe.Label = labels.A
	if pe.Side == SideB {
		pe.Label = labels.B
	}
	if pe.counted {
		return
	}
	pe.counted, pe.Pool, pe.Fitting = true, -1, -1
	pe.Voice, pe.SMS = mode != ModeSMS, mode != ModeVoice
	if pool, err := s.store.Pool(ctx); err == nil {
		pe.Pool = len(pool)
	}
}
