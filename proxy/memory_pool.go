package proxy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// memNum is one number of the pool, or one that was removed from it but
// still carries legs.
type memNum struct {
	n      PoolNumber
	pos    int32 // pool order, index in byPos; meaningful while inPool
	load   int32 // legs in active-status conversations
	inPool bool
	// lastUsed is when a leg on it was last released.
	lastUsed time.Time
}

func (m *memNum) slot() memSlot { return memSlot{m.load, m.pos} }

// memSlot is a pool number's place in a memGroup. Slots hold no pointers,
// so moving them costs no write barriers.
type memSlot struct{ load, pos int32 }

func (a memSlot) less(b memSlot) bool {
	return a.load < b.load || (a.load == b.load && a.pos < b.pos)
}

// memGroup lists pool numbers sorted by (load, pos).
type memGroup struct{ items []memSlot }

// search returns the index of the first slot not less than k.
func (g *memGroup) search(k memSlot) int { return memSearch(g.items, k) }

func memSearch(items []memSlot, k memSlot) int {
	lo, hi := 0, len(items)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if items[mid].less(k) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

func (g *memGroup) insert(k memSlot) {
	g.items = slices.Insert(g.items, g.search(k), k)
}

func (g *memGroup) remove(k memSlot) {
	if i := g.search(k); i < len(g.items) && g.items[i] == k {
		g.items = slices.Delete(g.items, i, i+1)
	}
}

// move changes the load of the slot old to load, shifting only the slots
// between its old and new places.
func (g *memGroup) move(old memSlot, load int32) {
	i := g.search(old)
	if i == len(g.items) || g.items[i] != old {
		return
	}
	k := memSlot{load, old.pos}
	if load > old.load {
		// The slots after i that sort before k move one place left.
		j := i + 1 + memSearch(g.items[i+1:], k)
		copy(g.items[i:j-1], g.items[i+1:j])
		g.items[j-1] = k
		return
	}
	// The slots before i that sort after k move one place right.
	j := memSearch(g.items[:i], k)
	copy(g.items[j+1:i+1], g.items[j:i])
	g.items[j] = k
}

// AddNumbers adds or updates pool numbers.
func (s *memoryStore) AddNumbers(ctx context.Context, nums ...PoolNumber) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, n := range nums {
		if n.MSISDN == "" {
			return fmt.Errorf("proxy: add numbers: empty MSISDN")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range nums {
		m := s.nums[n.MSISDN]
		if m == nil {
			m = &memNum{}
			s.nums[n.MSISDN] = m
		}
		n.Legs, n.LastUsed = 0, time.Time{}
		if n.Bought.IsZero() {
			n.Bought, n.MonthlyCost = m.n.Bought, m.n.MonthlyCost
		}
		if m.inPool {
			if m.n.Country != n.Country {
				s.groupFor(m.n.Country).remove(m.slot())
				s.groupFor(n.Country).insert(m.slot())
			}
			m.n = n
			continue
		}
		m.n = n
		m.inPool = true
		m.pos = int32(len(s.byPos))
		s.byPos = append(s.byPos, m)
		s.pool = append(s.pool, m)
		s.all.insert(m.slot())
		s.groupFor(n.Country).insert(m.slot())
	}
	return nil
}

func (s *memoryStore) groupFor(country string) *memGroup {
	g := s.byCountry[country]
	if g == nil {
		g = &memGroup{}
		s.byCountry[country] = g
	}
	return g
}

// RemoveNumber takes a number out of the pool.
func (s *memoryStore) RemoveNumber(ctx context.Context, msisdn string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.nums[msisdn]
	if m == nil || !m.inPool {
		return fmt.Errorf("proxy: number %s: %w", msisdn, ErrNotFound)
	}
	s.all.remove(m.slot())
	g := s.byCountry[m.n.Country]
	g.remove(m.slot())
	s.byPos[m.pos] = nil
	if len(g.items) == 0 {
		delete(s.byCountry, m.n.Country)
	}
	i, _ := slices.BinarySearchFunc(s.pool, m.pos, func(e *memNum, pos int32) int { return cmp.Compare(e.pos, pos) })
	s.pool = slices.Delete(s.pool, i, i+1)
	m.inPool = false
	if m.load == 0 {
		delete(s.nums, msisdn)
	}
	return nil
}

// Pool lists the pool in pool order.
func (s *memoryStore) Pool(ctx context.Context) ([]PoolNumber, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]PoolNumber, len(s.pool))
	for i, m := range s.pool {
		out[i] = m.n
		out[i].Legs, out[i].LastUsed = int(m.load), m.lastUsed
	}
	return out, nil
}

// NumberLegs counts the legs in use on msisdn.
func (s *memoryStore) NumberLegs(ctx context.Context, msisdn string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if m := s.nums[msisdn]; m != nil {
		return int(m.load), nil
	}
	return 0, nil
}

// adjustLoad changes a number's load, keeping the sorted groups sorted.
func (s *memoryStore) adjustLoad(msisdn string, delta int32) {
	m := s.nums[msisdn]
	if m == nil {
		m = &memNum{n: PoolNumber{MSISDN: msisdn}}
		s.nums[msisdn] = m
	}
	if !m.inPool {
		m.load += delta
		if m.load == 0 {
			delete(s.nums, msisdn)
		}
		return
	}
	s.all.move(m.slot(), m.load+delta)
	s.byCountry[m.n.Country].move(m.slot(), m.load+delta)
	m.load += delta
}

// memBlocked is a small set of proxy numbers.
type memBlocked struct {
	list []string
	set  map[string]struct{}
}

func (b *memBlocked) add(s string) {
	if b.set != nil {
		b.set[s] = struct{}{}
		return
	}
	b.list = append(b.list, s)
	if len(b.list) > 16 {
		b.set = make(map[string]struct{}, 2*len(b.list))
		for _, x := range b.list {
			b.set[x] = struct{}{}
		}
	}
}

func (b *memBlocked) has(s string) bool {
	if b.set != nil {
		_, ok := b.set[s]
		return ok
	}
	return slices.Contains(b.list, s)
}

// Candidates lists the numbers a participant may be given, best first.
func (s *memoryStore) Candidates(ctx context.Context, q CandidateQuery) ([]Candidate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	g := s.all
	if q.Country != "" {
		g = s.byCountry[q.Country]
	}
	if g == nil || len(g.items) == 0 {
		return []Candidate{}, nil
	}
	var blocked memBlocked
	var buf [8]string
	blocked.list = buf[:0]
	s.blockActive(q, &blocked)
	sticky := s.blockReleased(q, &blocked)
	return s.listCandidates(g, q, sticky, &blocked), nil
}

// candidateFits reports whether the pool number m may be offered for q:
// in the pool, with the capabilities, country and prefix q asks for.
func candidateFits(m *memNum, q CandidateQuery) bool {
	return m.inPool && (!q.Voice || m.n.Voice) && (!q.SMS || m.n.SMS) &&
		(q.Country == "" || m.n.Country == q.Country) && strings.HasPrefix(m.n.MSISDN, q.Prefix)
}

// blockActive adds to blocked the proxy numbers q.Participant has in its
// active conversations: those in use, and those whose cool-off runs past
// q.ReleasedAfter with someone other than q.Counterpart.
func (s *memoryStore) blockActive(q CandidateQuery, blocked *memBlocked) {
	p := s.parts[q.Participant]
	if p == nil {
		return
	}
	for _, c := range p.active {
		for i := range 2 {
			if c.p[i].Number != q.Participant {
				continue
			}
			if c.inUse(q.Now) {
				blocked.add(c.p[i].ProxyNumber)
			} else if c.deadline().After(q.ReleasedAfter) && c.p[1-i].Number != q.Counterpart {
				blocked.add(c.p[i].ProxyNumber)
			}
		}
	}
}

// blockReleased adds to blocked the proxy numbers the participant
// released after q.ReleasedAfter from conversations with others than
// the counterpart, and returns the sticky number: the one it had in its
// most recent conversation with the counterpart, when that still fits
// and is not blocked; nil when there is none. The participant's own
// releases and conversations count, then those of its pseudonymized
// conversations, indexed under its pseudonym.
func (s *memoryStore) blockReleased(q CandidateQuery, blocked *memBlocked) *memNum {
	var last *memConv // the most recent conversation with the counterpart
	var lastLeg string
	for _, who := range [2][2]string{{q.Participant, q.Counterpart}, {q.ParticipantPseudonym, q.CounterpartPseudonym}} {
		p := s.parts[who[0]]
		if p == nil || who[0] == "" {
			continue
		}
		for i := range p.released {
			r := &p.released[i]
			if r.latestExcept(who[1]).After(q.ReleasedAfter) {
				blocked.add(r.proxy)
			}
		}
		if c := p.sticky.get(who[1]); c != nil && (last == nil || c.created.After(last.created)) {
			last, lastLeg = c, memLegOf(c, who[0])
		}
	}
	if last != nil {
		if m := s.nums[lastLeg]; m != nil && candidateFits(m, q) && !blocked.has(lastLeg) {
			return m
		}
	}
	return nil
}

// listCandidates lists, best first, up to q.Limit of the numbers of g
// that fit q and are not blocked, sticky (when not nil) first.
func (s *memoryStore) listCandidates(g *memGroup, q CandidateQuery, sticky *memNum, blocked *memBlocked) []Candidate {
	n := len(g.items)
	if q.Limit > 0 && q.Limit < n {
		n = q.Limit
	}
	out := make([]Candidate, 0, n)
	if sticky != nil {
		out = append(out, Candidate{PoolNumber: sticky.n, Sticky: true, Load: int(sticky.load)})
	}
	for _, sl := range g.items {
		m := s.byPos[sl.pos]
		if q.Limit > 0 && len(out) >= q.Limit {
			break
		}
		if m == sticky || !candidateFits(m, q) || blocked.has(m.n.MSISDN) {
			continue
		}
		out = append(out, Candidate{PoolNumber: m.n, Load: int(sl.load)})
	}
	return out
}

// memLegOf returns the proxy number participant has in c (the later leg
// when it holds both).
func memLegOf(c *memConv, participant string) string {
	if c.p[1].Number == participant {
		return c.p[1].ProxyNumber
	}
	return c.p[0].ProxyNumber
}
