package proxy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// NewMemoryStore returns a Store that keeps everything in the process's
// memory: the single-process choice for tests, demos and small deployments.
// It is safe for concurrent use. Nothing survives a restart, and ended
// conversations, interactions and message parts are kept for the life of
// the store.
//
// Route is one map lookup; Candidates walks the pool in (load, pool order)
// from a per-country index kept sorted as legs come and go, so its cost
// grows with the number of candidates asked for and the participant's own
// legs, not with the pool or the number of conversations.
//
// Complete multipart messages are consumed; the parts of an incomplete
// one stay until its (From, To, Ref) is used again. Nonce claims are
// forgotten once expired by the now of a later ClaimNonce or
// ExpireConversations, which keeps memory bounded.
func NewMemoryStore() Store {
	return &memoryStore{
		nums:       make(map[string]*memNum),
		all:        &memGroup{},
		byCountry:  make(map[string]*memGroup),
		convs:      make(map[string]*memConv),
		legs:       make(map[memLegNum]*memConv),
		legsStr:    make(map[memLegKey]*memConv),
		parts:      make(map[string]*memParticipant),
		ints:       make(map[string]*memInteraction),
		intsByExt:  make(map[memExtKey]*memInteraction),
		intsByConv: make(map[*memConv][]*memInteraction),
		msgParts:   make(map[memMsgKey][]MessagePart),
		nonces:     make(map[string]time.Time),
	}
}

var _ Store = (*memoryStore)(nil)

type memoryStore struct {
	mu sync.RWMutex

	// Pool. nums holds every number the pool has or legs still use (for
	// their load); pool is the pool in order; all and byCountry list pool
	// numbers sorted by (load, pool order).
	nums      map[string]*memNum
	pool      []*memNum
	byPos     []*memNum // by pos; nil once removed from the pool
	all       *memGroup
	byCountry map[string]*memGroup

	// Conversations.
	convs map[string]*memConv
	byID  memIDIndex
	// legs maps a leg to the latest active-status conversation holding
	// it: keyed by the numbers' values when both are canonical digit
	// strings (no pointers to chase or scan), else by the strings.
	legs    map[memLegNum]*memConv
	legsStr map[memLegKey]*memConv
	parts   map[string]*memParticipant
	expiry  memExpiryHeap

	// Interactions.
	ints       map[string]*memInteraction
	intsByExt  map[memExtKey]*memInteraction
	intsByConv map[*memConv][]*memInteraction

	msgParts map[memMsgKey][]MessagePart

	nonces    map[string]time.Time
	nonceHeap memNonceHeap
}

// memNum is one number of the pool, or one that was removed from it but
// still carries legs.
type memNum struct {
	n      PoolNumber
	pos    int32 // pool order, index in byPos; meaningful while inPool
	load   int32 // legs in active-status conversations
	inPool bool
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

// memConv is a stored conversation. Metadata is kept as sorted key/value
// pairs: far smaller than a map per conversation.
type memConv struct {
	id      string
	status  Status
	mode    Mode
	p       [2]Participant
	meta    []string
	created time.Time
	expires time.Time
	lastAct time.Time
	ended   time.Time
	idle    time.Duration
}

func (c *memConv) deadline() time.Time {
	d := c.expires
	if c.idle > 0 {
		if idle := c.lastAct.Add(c.idle); idle.Before(d) {
			d = idle
		}
	}
	return d
}

func (c *memConv) inUse(t time.Time) bool {
	return c.status == StatusActive && c.deadline().After(t)
}

func (c *memConv) value() Conversation {
	out := Conversation{
		ID:             c.id,
		Status:         c.status,
		Mode:           c.mode,
		Participants:   c.p,
		CreatedAt:      c.created,
		ExpiresAt:      c.expires,
		IdleTimeout:    c.idle,
		LastActivityAt: c.lastAct,
		EndedAt:        c.ended,
	}
	if len(c.meta) > 0 {
		out.Metadata = make(map[string]string, len(c.meta)/2)
		for i := 0; i < len(c.meta); i += 2 {
			out.Metadata[c.meta[i]] = c.meta[i+1]
		}
	}
	return out
}

type memLegKey struct{ participant, proxy string }

type memLegNum struct{ participant, proxy uint64 }

// memDigits returns the value of s when s is 1 to 19 decimal digits
// without a leading zero: then the value identifies the string.
func memDigits(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 19 || s[0] == '0' {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		v = v*10 + uint64(d)
	}
	return v, true
}

func memLegNumOf(participant, proxy string) (memLegNum, bool) {
	a, ok := memDigits(participant)
	if !ok {
		return memLegNum{}, false
	}
	b, ok := memDigits(proxy)
	return memLegNum{a, b}, ok
}

func (s *memoryStore) leg(participant, proxy string) *memConv {
	if k, ok := memLegNumOf(participant, proxy); ok {
		return s.legs[k]
	}
	return s.legsStr[memLegKey{participant, proxy}]
}

func (s *memoryStore) setLeg(participant, proxy string, c *memConv) {
	if k, ok := memLegNumOf(participant, proxy); ok {
		s.legs[k] = c
	} else {
		s.legsStr[memLegKey{participant, proxy}] = c
	}
}

// dropLeg removes the leg if c holds it.
func (s *memoryStore) dropLeg(participant, proxy string, c *memConv) {
	if k, ok := memLegNumOf(participant, proxy); ok {
		if s.legs[k] == c {
			delete(s.legs, k)
		}
	} else if k := (memLegKey{participant, proxy}); s.legsStr[k] == c {
		delete(s.legsStr, k)
	}
}

// memParticipant indexes one participant's legs.
type memParticipant struct {
	number string
	// active: conversations with status active holding a leg of this
	// participant (including ones past their deadline, not swept yet).
	active []*memConv
	// history: every conversation with a leg of this participant, by ID.
	history []*memConv
	// released summarises the releases of ended conversations per proxy
	// number, enough to answer the cool-off rule for any counterpart.
	released []memRelease
	// sticky: counterpart → the most recent conversation (by CreatedAt)
	// with it.
	sticky map[string]*memConv
}

// memRelease: the latest release of a proxy number (at t1, with
// counterpart cp1) and the latest release with any other counterpart (t2).
type memRelease struct {
	proxy  string
	t1, t2 time.Time
	cp1    string
}

func (r *memRelease) add(t time.Time, cp string) {
	switch {
	case r.t1.IsZero():
		r.t1, r.cp1 = t, cp
	case cp == r.cp1:
		if t.After(r.t1) {
			r.t1 = t
		}
	case t.After(r.t1):
		r.t2, r.t1, r.cp1 = r.t1, t, cp
	case t.After(r.t2):
		r.t2 = t
	}
}

// latestExcept is the latest release with a counterpart other than cp.
func (r *memRelease) latestExcept(cp string) time.Time {
	if r.cp1 != cp {
		return r.t1
	}
	return r.t2
}

type memInteraction struct {
	in     Interaction // Events unused; see events
	events []InteractionEvent
}

func (m *memInteraction) value() Interaction {
	out := m.in
	out.Events = slices.Clone(m.events)
	slices.SortStableFunc(out.Events, func(a, b InteractionEvent) int { return a.At.Compare(b.At) })
	if out.Events == nil {
		out.Events = []InteractionEvent{}
	}
	return out
}

type memExtKey struct {
	kind InteractionKind
	ext  string
}

type memMsgKey struct{ from, to, ref string }

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
	}
	return out, nil
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
	fits := func(m *memNum) bool {
		return m.inPool && (!q.Voice || m.n.Voice) && (!q.SMS || m.n.SMS) &&
			(q.Country == "" || m.n.Country == q.Country)
	}

	var blocked memBlocked
	var buf [8]string
	blocked.list = buf[:0]
	var sticky *memNum
	if p := s.parts[q.Participant]; p != nil {
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
		for i := range p.released {
			r := &p.released[i]
			if r.latestExcept(q.Counterpart).After(q.ReleasedAfter) {
				blocked.add(r.proxy)
			}
		}
		if c := p.sticky[q.Counterpart]; c != nil {
			pn := memLegOf(c, q.Participant)
			if m := s.nums[pn]; m != nil && fits(m) && !blocked.has(pn) {
				sticky = m
			}
		}
	}

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
		if m == sticky || !fits(m) || blocked.has(m.n.MSISDN) {
			continue
		}
		out = append(out, Candidate{PoolNumber: m.n, Load: int(sl.load)})
	}
	return out, nil
}

// memLegOf returns the proxy number participant has in c (the later leg
// when it holds both).
func memLegOf(c *memConv, participant string) string {
	if c.p[1].Number == participant {
		return c.p[1].ProxyNumber
	}
	return c.p[0].ProxyNumber
}

// CreateConversation inserts a conversation and its legs atomically.
func (s *memoryStore) CreateConversation(ctx context.Context, c Conversation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k0 := memLegKey{c.Participants[0].Number, c.Participants[0].ProxyNumber}
	k1 := memLegKey{c.Participants[1].Number, c.Participants[1].ProxyNumber}
	if k0 == k1 {
		return fmt.Errorf("proxy: conversation %s: both legs are %s via %s: %w", c.ID, k0.participant, k0.proxy, ErrConflict)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.convs[c.ID]; ok {
		return fmt.Errorf("proxy: conversation %s exists: %w", c.ID, ErrConflict)
	}
	for _, k := range [2]memLegKey{k0, k1} {
		if o := s.leg(k.participant, k.proxy); o != nil && o.inUse(c.CreatedAt) {
			return fmt.Errorf("proxy: leg %s via %s is in use: %w", k.participant, k.proxy, ErrConflict)
		}
	}

	mc := &memConv{
		id:      c.ID,
		status:  c.Status,
		mode:    c.Mode,
		created: c.CreatedAt,
		expires: c.ExpiresAt,
		lastAct: c.LastActivityAt,
		ended:   c.EndedAt,
		idle:    c.IdleTimeout,
	}
	if len(c.Metadata) > 0 {
		keys := make([]string, 0, len(c.Metadata))
		for k := range c.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		mc.meta = make([]string, 0, 2*len(keys))
		for _, k := range keys {
			mc.meta = append(mc.meta, k, c.Metadata[k])
		}
	}
	for i := range 2 {
		p := c.Participants[i]
		// Share string memory with the pool and participant indexes.
		if m := s.nums[p.ProxyNumber]; m != nil {
			p.ProxyNumber = m.n.MSISDN
		}
		mc.p[i] = p
	}
	s.convs[c.ID] = mc
	s.byID.insert(mc)

	for i := range 2 {
		num := mc.p[i].Number
		p := s.parts[num]
		if p == nil {
			p = &memParticipant{number: num}
			s.parts[num] = p
		}
		mc.p[i].Number = p.number // share string memory with the index
		if i == 1 && mc.p[0].Number == num {
			continue // one participant on both legs: index the conversation once
		}
		j, _ := slices.BinarySearchFunc(p.history, mc.id, func(e *memConv, id string) int { return cmp.Compare(e.id, id) })
		p.history = slices.Insert(p.history, j, mc)
	}
	for i := range 2 {
		p := s.parts[mc.p[i].Number]
		cp := mc.p[1-i].Number
		if p.sticky == nil {
			p.sticky = make(map[string]*memConv, 1)
		}
		if o := p.sticky[cp]; o == nil || !mc.created.Before(o.created) {
			p.sticky[cp] = mc
		}
	}

	if mc.status != StatusActive {
		for i := range 2 {
			s.parts[mc.p[i].Number].release(mc.p[i].ProxyNumber, mc.ended, mc.p[1-i].Number)
		}
		return nil
	}
	for i := range 2 {
		p := s.parts[mc.p[i].Number]
		if i == 0 || mc.p[0].Number != mc.p[1].Number {
			p.active = append(p.active, mc)
		}
		s.setLeg(mc.p[i].Number, mc.p[i].ProxyNumber, mc)
		s.adjustLoad(mc.p[i].ProxyNumber, 1)
	}
	s.expiry.push(memExpiry{mc.deadline(), mc})
	return nil
}

func (p *memParticipant) release(proxy string, at time.Time, counterpart string) {
	for i := range p.released {
		if p.released[i].proxy == proxy {
			p.released[i].add(at, counterpart)
			return
		}
	}
	p.released = append(p.released, memRelease{proxy: proxy})
	p.released[len(p.released)-1].add(at, counterpart)
}

// end ends an active conversation and releases its legs.
func (s *memoryStore) end(c *memConv, status Status, at time.Time) {
	c.status = status
	c.ended = at
	for i := range 2 {
		s.dropLeg(c.p[i].Number, c.p[i].ProxyNumber, c)
		s.adjustLoad(c.p[i].ProxyNumber, -1)
		p := s.parts[c.p[i].Number]
		if j := slices.Index(p.active, c); j >= 0 {
			last := len(p.active) - 1
			p.active[j] = p.active[last]
			p.active[last] = nil
			p.active = p.active[:last]
		}
		p.release(c.p[i].ProxyNumber, at, c.p[1-i].Number)
	}
}

// Conversation returns a conversation by ID.
func (s *memoryStore) Conversation(ctx context.Context, id string) (Conversation, error) {
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.convs[id]
	if c == nil {
		return Conversation{}, fmt.Errorf("proxy: conversation %s: %w", id, ErrNotFound)
	}
	return c.value(), nil
}

// Route returns the conversation in use at now with this leg.
func (s *memoryStore) Route(ctx context.Context, participant, proxyNumber string, now time.Time) (Conversation, error) {
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.leg(participant, proxyNumber)
	if c == nil || !c.inUse(now) {
		return Conversation{}, ErrNotFound
	}
	return c.value(), nil
}

// ListConversations returns one page of conversations by ID.
func (s *memoryStore) ListConversations(ctx context.Context, f ListFilter) ([]Conversation, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	match := func(c *memConv) bool {
		return f.Status == "" || c.statusAt(f.Now) == f.Status
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []Conversation{}
	next := ""
	visit := func(c *memConv) bool {
		if !match(c) {
			return true
		}
		if len(out) == limit {
			next = out[len(out)-1].ID
			return false
		}
		out = append(out, c.value())
		return true
	}
	if f.Participant != "" {
		p := s.parts[f.Participant]
		if p == nil {
			return out, "", nil
		}
		i, found := slices.BinarySearchFunc(p.history, f.After, func(e *memConv, id string) int { return cmp.Compare(e.id, id) })
		if found {
			i++
		}
		for _, c := range p.history[i:] {
			if !visit(c) {
				break
			}
		}
		return out, next, nil
	}
	s.byID.ascend(f.After, visit)
	return out, next, nil
}

func (c *memConv) statusAt(t time.Time) Status {
	if c.status == StatusActive && !c.deadline().After(t) {
		return StatusExpired
	}
	return c.status
}

// EndConversation closes or expires a conversation.
func (s *memoryStore) EndConversation(ctx context.Context, id string, status Status, at time.Time) (Conversation, error) {
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	if status != StatusClosed && status != StatusExpired {
		return Conversation{}, fmt.Errorf("proxy: end conversation %s: invalid status %q", id, status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convs[id]
	if c == nil {
		return Conversation{}, fmt.Errorf("proxy: conversation %s: %w", id, ErrNotFound)
	}
	if c.status != StatusActive {
		return c.value(), nil
	}
	if d := c.deadline(); !d.After(at) {
		// It ended at its deadline already; record that, as the sweep would.
		status, at = StatusExpired, d
	}
	s.end(c, status, at)
	return c.value(), nil
}

// Touch records activity, extending an idle deadline.
func (s *memoryStore) Touch(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convs[id]
	if c == nil {
		return fmt.Errorf("proxy: conversation %s: %w", id, ErrNotFound)
	}
	// Only a conversation still in use at "at" is extended, and only while
	// it still owns both legs: a conversation past its deadline has ended
	// (its legs may already be someone else's) and must not come back.
	if !c.inUse(at) || !at.After(c.lastAct) {
		return nil
	}
	for i := range 2 {
		if s.leg(c.p[i].Number, c.p[i].ProxyNumber) != c {
			return nil
		}
	}
	c.lastAct = at
	return nil
}

// ExpireConversations ends conversations whose deadline has passed.
func (s *memoryStore) ExpireConversations(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneNonces(now)
	ids := []string{}
	for len(s.expiry) > 0 && !s.expiry[0].deadline.After(now) && (limit <= 0 || len(ids) < limit) {
		e := s.expiry.pop()
		c := e.c
		if c.status != StatusActive {
			continue
		}
		d := c.deadline()
		if d.After(now) {
			s.expiry.push(memExpiry{d, c}) // Touch moved it; look again later
			continue
		}
		s.end(c, StatusExpired, d)
		ids = append(ids, c.id)
	}
	return ids, nil
}

// AddInteraction appends an interaction to a conversation.
func (s *memoryStore) AddInteraction(ctx context.Context, in Interaction) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convs[in.ConversationID]
	if c == nil {
		return fmt.Errorf("proxy: interaction %s: conversation %s: %w", in.ID, in.ConversationID, ErrNotFound)
	}
	if _, ok := s.ints[in.ID]; ok {
		return fmt.Errorf("proxy: interaction %s exists: %w", in.ID, ErrConflict)
	}
	k := memExtKey{in.Kind, in.ExternalID}
	if _, ok := s.intsByExt[k]; ok && in.ExternalID != "" {
		return fmt.Errorf("proxy: %s interaction %s exists: %w", in.Kind, in.ExternalID, ErrConflict)
	}
	in.Events = nil
	mi := &memInteraction{in: in}
	s.ints[in.ID] = mi
	if in.ExternalID != "" {
		s.intsByExt[k] = mi
	}
	s.intsByConv[c] = append(s.intsByConv[c], mi)
	return nil
}

// InteractionByExternalID finds an interaction by Vonage's ID.
func (s *memoryStore) InteractionByExternalID(ctx context.Context, kind InteractionKind, externalID string) (Interaction, error) {
	if err := ctx.Err(); err != nil {
		return Interaction{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	mi := s.intsByExt[memExtKey{kind, externalID}]
	if mi == nil {
		return Interaction{}, fmt.Errorf("proxy: %s interaction %s: %w", kind, externalID, ErrNotFound)
	}
	return mi.value(), nil
}

// AddInteractionEvent appends a status change, once per (Leg, Status).
func (s *memoryStore) AddInteractionEvent(ctx context.Context, interactionID string, ev InteractionEvent) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mi := s.ints[interactionID]
	if mi == nil {
		return fmt.Errorf("proxy: interaction %s: %w", interactionID, ErrNotFound)
	}
	for _, e := range mi.events {
		if e.Leg == ev.Leg && e.Status == ev.Status {
			return nil
		}
	}
	mi.events = append(mi.events, ev)
	return nil
}

// Interactions lists a conversation's interactions with their events.
func (s *memoryStore) Interactions(ctx context.Context, conversationID string) ([]Interaction, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.convs[conversationID]
	if c == nil {
		return nil, fmt.Errorf("proxy: conversation %s: %w", conversationID, ErrNotFound)
	}
	list := s.intsByConv[c]
	out := make([]Interaction, len(list))
	for i, mi := range list {
		out[i] = mi.value()
	}
	slices.SortStableFunc(out, func(a, b Interaction) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// AddMessagePart drops stale parts of p's message, stores p unless its
// part number is there, and returns the parts, consuming a complete set.
func (s *memoryStore) AddMessagePart(ctx context.Context, p MessagePart, since time.Time) ([]MessagePart, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := memMsgKey{p.From, p.To, p.Ref}
	parts := slices.DeleteFunc(s.msgParts[k], func(e MessagePart) bool { return e.ReceivedAt.Before(since) })
	i, found := slices.BinarySearchFunc(parts, p.Part, func(e MessagePart, n int) int { return cmp.Compare(e.Part, n) })
	if !found {
		parts = slices.Insert(parts, i, p)
	}
	if len(parts) >= p.Total {
		delete(s.msgParts, k)
		return parts, nil // no longer the store's: the caller may keep it
	}
	s.msgParts[k] = parts
	return slices.Clone(parts), nil
}

// ClaimNonce claims key until expires unless a claim of it is live at now.
func (s *memoryStore) ClaimNonce(ctx context.Context, key string, now, expires time.Time) error {
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
	s.nonceHeap.push(memNonce{expires, key})
	return nil
}

// pruneNonces forgets claims whose expiry is not after now.
func (s *memoryStore) pruneNonces(now time.Time) {
	for len(s.nonceHeap) > 0 && !s.nonceHeap[0].expires.After(now) {
		e := s.nonceHeap.pop()
		if exp, ok := s.nonces[e.key]; ok && exp.Equal(e.expires) {
			delete(s.nonces, e.key)
		}
	}
}
