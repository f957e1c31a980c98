package proxy

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

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
	pin     string // a shared-number conversation's PIN; it holds no legs
	record  bool
	key     string // the host's idempotency key; "" for none
}

func (c *memConv) deadline() time.Time { return deadline(c.expires, c.lastAct, c.idle) }

func (c *memConv) statusAt(t time.Time) Status { return statusAt(c.status, c.deadline(), t) }

func (c *memConv) inUse(t time.Time) bool { return c.statusAt(t) == StatusActive }

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
		PIN:            c.pin,
		Record:         c.record,
		Key:            c.key,
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
	sticky memSticky
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
	if c.PIN != "" && k0.proxy != k1.proxy {
		return fmt.Errorf("proxy: conversation %s: a PIN conversation's participants share one proxy number", c.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.convs[c.ID]; ok {
		return fmt.Errorf("proxy: conversation %s exists: %w", c.ID, ErrConflict)
	}
	active := c.Status == StatusActive || c.Status == ""
	if o := s.keys[c.Key]; c.Key != "" && active && o != nil && o.status == StatusActive {
		if o.inUse(c.CreatedAt) {
			return fmt.Errorf("proxy: key of conversation %s is held by %s: %w", c.ID, o.id, ErrConflict)
		}
		s.end(o, StatusExpired, o.deadline()) // as the sweep would; its key is free
	}
	if c.PIN != "" {
		if o := s.pins[memPINKey(k0.proxy, c.PIN)]; active && o != nil && o.status == StatusActive {
			if o.inUse(c.CreatedAt) {
				return fmt.Errorf("proxy: PIN of conversation %s is in use on %s: %w", c.ID, k0.proxy, ErrConflict)
			}
			s.end(o, StatusExpired, o.deadline()) // as the sweep would; its PIN is free
		}
	} else {
		for _, k := range [2]memLegKey{k0, k1} {
			if o := s.leg(k.participant, k.proxy); o != nil && o.inUse(c.CreatedAt) {
				return fmt.Errorf("proxy: leg %s via %s is in use: %w", k.participant, k.proxy, ErrConflict)
			}
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
		pin:     c.PIN,
		record:  c.Record,
		key:     c.Key,
	}
	mc.meta = packMeta(c.Metadata)
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
	s.indexParticipants(mc)
	if mc.status != StatusActive {
		s.ended.Push(mc.ended, mc)
		s.anon.Push(mc.ended, mc)
		return nil
	}
	s.activate(mc)
	return nil
}

// indexParticipants adds mc to its participants' indexes (their history
// and sticky numbers, and the releases of its legs when it has ended),
// creating the participants it is the first of.
func (s *memoryStore) indexParticipants(mc *memConv) {
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
		if o := p.sticky.get(cp); o == nil || !mc.created.Before(o.created) {
			p.sticky.set(cp, mc)
		}
	}
	if mc.status != StatusActive && mc.pin == "" {
		for i := range 2 {
			s.parts[mc.p[i].Number].release(mc.p[i].ProxyNumber, mc.ended, mc.p[1-i].Number)
		}
	}
}

// activate indexes the active conversation mc: its participants' active
// lists, its legs (or PIN), its key, the numbers' load and the expiry
// queue.
func (s *memoryStore) activate(mc *memConv) {
	for i := range 2 {
		p := s.parts[mc.p[i].Number]
		if i == 0 || mc.p[0].Number != mc.p[1].Number {
			p.active = append(p.active, mc)
		}
		if mc.pin == "" {
			s.setLeg(mc.p[i].Number, mc.p[i].ProxyNumber, mc)
		} else {
			k := memLegKey{mc.p[i].Number, mc.p[i].ProxyNumber}
			s.pinsByLeg[k] = append(s.pinsByLeg[k], mc)
		}
		s.adjustLoad(mc.p[i].ProxyNumber, 1)
	}
	if mc.pin != "" {
		s.pins[memPINKey(mc.p[0].ProxyNumber, mc.pin)] = mc
	}
	if mc.key != "" {
		s.keys[mc.key] = mc
	}
	s.expiry.Push(mc.deadline(), mc)
}

// reindex makes p's releases and sticky numbers again from its history.
func (p *memParticipant) reindex() {
	p.released, p.sticky = p.released[:0], memSticky{}
	for _, c := range p.history {
		for i := range 2 {
			if c.p[i].Number != p.number {
				continue
			}
			cp := c.p[1-i].Number
			if o := p.sticky.get(cp); o == nil || !c.created.Before(o.created) {
				p.sticky.set(cp, c)
			}
			if c.status != StatusActive && c.pin == "" {
				p.release(c.p[i].ProxyNumber, c.ended, cp)
			}
		}
	}
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

// packMeta is metadata as memConv keeps it: key, value pairs by key; nil
// for none.
func packMeta(m map[string]string) []string {
	if len(m) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(m))
	meta := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		meta = append(meta, k, m[k])
	}
	return meta
}

// end ends an active conversation and releases its legs.
func (s *memoryStore) end(c *memConv, status Status, at time.Time) {
	c.status = status
	c.ended = at
	if c.key != "" && s.keys[c.key] == c {
		delete(s.keys, c.key)
	}
	if c.pin != "" {
		if k := memPINKey(c.p[0].ProxyNumber, c.pin); s.pins[k] == c {
			delete(s.pins, k)
		}
	}
	for i := range 2 {
		if c.pin != "" {
			k := memLegKey{c.p[i].Number, c.p[i].ProxyNumber}
			if l := slices.DeleteFunc(s.pinsByLeg[k], func(o *memConv) bool { return o == c }); len(l) > 0 {
				s.pinsByLeg[k] = l
			} else {
				delete(s.pinsByLeg, k)
			}
		}
		s.dropLeg(c.p[i].Number, c.p[i].ProxyNumber, c)
		s.adjustLoad(c.p[i].ProxyNumber, -1)
		if m := s.nums[c.p[i].ProxyNumber]; m != nil && at.After(m.lastUsed) {
			m.lastUsed = at
		}
		p := s.parts[c.p[i].Number]
		if j := slices.Index(p.active, c); j >= 0 {
			last := len(p.active) - 1
			p.active[j] = p.active[last]
			p.active[last] = nil
			p.active = p.active[:last]
		}
		if c.pin == "" { // a PIN conversation held no leg to release
			p.release(c.p[i].ProxyNumber, at, c.p[1-i].Number)
		}
	}
	s.ended.Push(at, c)
	s.anon.Push(at, c)
}

// drop forgets an ended conversation, its interactions, and what its
// participants' indexes hold of it; releases not after cutoff go too, and a
// participant left with nothing is forgotten.
func (s *memoryStore) drop(c *memConv, cutoff time.Time) {
	delete(s.convs, c.id)
	s.byID.remove(c)
	for _, mi := range s.intsByConv[c] {
		delete(s.ints, mi.in.ID)
		delete(s.relays, mi.in.ID)
		if k := (memExtKey{mi.in.Kind, mi.in.ExternalID}); s.intsByExt[k] == mi {
			delete(s.intsByExt, k)
		}
	}
	delete(s.intsByConv, c)
	s.unindexParticipants(c, cutoff, false)
}

// unindexParticipants removes the ended conversation c from its
// participants' indexes; their releases not after cutoff go too, and a
// participant left with nothing is forgotten.
//
// With rebuild, the participants' releases and sticky numbers are made
// again from what their history still holds instead: c's are gone, and
// every other conversation's stay, whenever they ended (Pseudonymize:
// the other participant of an erased person's conversation keeps the
// cool-off of their other conversations).
func (s *memoryStore) unindexParticipants(c *memConv, cutoff time.Time, rebuild bool) {
	for i := range 2 {
		num := c.p[i].Number
		p := s.parts[num]
		if p == nil {
			continue // one participant on both legs, forgotten already
		}
		if j, ok := slices.BinarySearchFunc(p.history, c.id, func(e *memConv, id string) int { return cmp.Compare(e.id, id) }); ok {
			p.history = slices.Delete(p.history, j, j+1)
		}
		if rebuild {
			p.reindex()
		} else {
			if cp := c.p[1-i].Number; p.sticky.get(cp) == c {
				p.sticky.del(cp)
			}
			p.released = slices.DeleteFunc(p.released, func(r memRelease) bool { return !r.t1.After(cutoff) })
		}
		if len(p.active) == 0 && len(p.history) == 0 && len(p.released) == 0 {
			delete(s.parts, num)
		}
	}
}

// Pseudonymize replaces the numbers of conversations ended before
// q.EndedBefore.
func (s *memoryStore) Pseudonymize(ctx context.Context, q PseudonymQuery) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, c := range s.pseudonymCandidates(q) {
		if q.Limit > 0 && len(ids) >= q.Limit {
			break
		}
		if !s.pseudonymDue(c, q) {
			continue
		}
		s.pseudonymizeConv(c, q)
		ids = append(ids, c.id)
	}
	if q.Participant != "" {
		ids = s.eraseHostData(q, ids)
	}
	return ids, nil
}

// pseudonymDue reports whether Pseudonymize is to replace the numbers of
// c: still stored, ended before q.EndedBefore, and not pseudonymized
// yet.
func (s *memoryStore) pseudonymDue(c *memConv, q PseudonymQuery) bool {
	return s.convs[c.id] == c && c.status != StatusActive && c.ended.Before(q.EndedBefore) && !strings.HasPrefix(c.p[0].Number, PseudonymPrefix)
}

// pseudonymCandidates lists the conversations Pseudonymize may replace
// the numbers of, in the order they ended: q.Participant's, or else
// those in the pseudonymization queue that are due. These leave the
// queue; those beyond q.Limit go back. An entry not due is stale
// (reopened, done, dropped): a conversation that ends again is queued
// again.
func (s *memoryStore) pseudonymCandidates(q PseudonymQuery) []*memConv {
	var cands []*memConv
	byEnd := func(a, b *memConv) int { return cmp.Or(a.ended.Compare(b.ended), cmp.Compare(a.id, b.id)) }
	if q.Participant != "" {
		if p := s.parts[q.Participant]; p != nil {
			cands = slices.DeleteFunc(slices.Clone(p.history), func(c *memConv) bool { return !s.pseudonymDue(c, q) })
			slices.SortFunc(cands, byEnd)
		}
		return cands
	}
	for {
		_, c, ok := s.anon.PopDue(q.EndedBefore.Add(-time.Nanosecond))
		if !ok {
			break
		}
		if s.pseudonymDue(c, q) {
			cands = append(cands, c)
		}
	}
	slices.SortFunc(cands, byEnd)
	cands = slices.Compact(cands) // queued twice: ended, reopened, ended
	if q.Limit > 0 && len(cands) > q.Limit {
		for _, c := range cands[q.Limit:] {
			s.anon.Push(c.ended, c)
		}
		cands = cands[:q.Limit]
	}
	return cands
}

// pseudonymizeConv replaces the numbers of the conversation c by their
// pseudonyms, in c, its participants' indexes and its interactions, and
// drops its labels (and, for an erased participant, what the host gave
// it).
func (s *memoryStore) pseudonymizeConv(c *memConv, q PseudonymQuery) {
	s.unindexParticipants(c, q.EndedBefore, true)
	orig := [2]string{c.p[0].Number, c.p[1].Number}
	pseudo := func(n string) string {
		if n == orig[0] || n == orig[1] {
			return q.Pseudonym(n)
		}
		return n
	}
	c.p[0].Number, c.p[1].Number = pseudo(orig[0]), pseudo(orig[1])
	c.p[0].Label, c.p[1].Label = "", ""
	if q.Participant != "" {
		c.meta, c.key = nil, ""
	}
	// Indexed again under the pseudonyms: their cool-off and sticky
	// numbers go on (CandidateQuery.ParticipantPseudonym).
	s.indexParticipants(c)
	s.pseudonymizeInteractions(c, pseudo, pseudoWithin(orig, [2]string{c.p[0].Number, c.p[1].Number}))
}

// pseudonymizeInteractions replaces the numbers of c's interactions by
// pseudo (their parties) and within (numbers inside their external IDs
// and event details), drops their text and recordings' details, and
// forgets their relays.
func (s *memoryStore) pseudonymizeInteractions(c *memConv, pseudo, within func(string) string) {
	for _, mi := range s.intsByConv[c] {
		mi.in.From, mi.in.To, mi.in.Text = pseudo(mi.in.From), pseudo(mi.in.To), ""
		if ext := within(mi.in.ExternalID); ext != mi.in.ExternalID {
			if k := (memExtKey{mi.in.Kind, mi.in.ExternalID}); s.intsByExt[k] == mi {
				delete(s.intsByExt, k)
			}
			mi.in.ExternalID = ext
			s.intsByExt[memExtKey{mi.in.Kind, ext}] = mi
		}
		for j := range mi.events {
			if mi.events[j].Status == EventRecorded {
				mi.events[j].Detail = ""
			} else {
				mi.events[j].Detail = within(mi.events[j].Detail)
			}
		}
		delete(s.relays, mi.in.ID)
	}
}

// eraseHostData drops what the host gave (metadata, key, labels) to
// q.Participant's conversations ended before q.EndedBefore that were
// pseudonymized before (by the retention sweep), and appends their IDs
// to ids.
func (s *memoryStore) eraseHostData(q PseudonymQuery, ids []string) []string {
	p := s.parts[q.Pseudonym(q.Participant)]
	if p == nil {
		return ids
	}
	for _, c := range p.history {
		if c.status != StatusActive && c.ended.Before(q.EndedBefore) &&
			(len(c.meta) > 0 || c.key != "" || c.p[0].Label != "" || c.p[1].Label != "") {
			c.meta, c.key = nil, ""
			c.p[0].Label, c.p[1].Label = "", ""
			ids = append(ids, c.id)
		}
	}
	return ids
}

// pseudoWithin returns a function that replaces the numbers nums, longest
// first, by their pseudonyms pseudos wherever they appear within a string.
func pseudoWithin(nums, pseudos [2]string) func(string) string {
	if len(nums[1]) > len(nums[0]) {
		nums[0], nums[1] = nums[1], nums[0]
		pseudos[0], pseudos[1] = pseudos[1], pseudos[0]
	}
	return func(v string) string {
		for i, n := range nums {
			if n != "" && n != pseudos[i] {
				v = strings.ReplaceAll(v, n, pseudos[i])
			}
		}
		return v
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

// memPINKey indexes a PIN conversation by its shared number and PIN.
func memPINKey(proxy, pin string) string { return proxy + "#" + pin }

// ConversationByKey returns the conversation in use at now with this key.
func (s *memoryStore) ConversationByKey(ctx context.Context, key string, now time.Time) (Conversation, error) {
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.keys[key]
	if key == "" || c == nil || !c.inUse(now) {
		return Conversation{}, fmt.Errorf("proxy: conversation with key %q: %w", key, ErrNotFound)
	}
	return c.value(), nil
}

// RoutePIN returns the PIN conversation in use at now on proxyNumber
// with pin.
func (s *memoryStore) RoutePIN(ctx context.Context, proxyNumber, pin string, now time.Time) (Conversation, error) {
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.pins[memPINKey(proxyNumber, pin)]
	if c == nil || !c.inUse(now) {
		return Conversation{}, ErrNotFound
	}
	return c.value(), nil
}

// PINConversations lists the PIN conversations in use at now that
// participant reaches through the shared number proxyNumber, by ID.
func (s *memoryStore) PINConversations(ctx context.Context, participant, proxyNumber string, now time.Time) ([]Conversation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []Conversation{}
	for _, c := range s.pinsByLeg[memLegKey{participant, proxyNumber}] {
		if c.inUse(now) {
			out = append(out, c.value())
		}
	}
	slices.SortFunc(out, func(a, b Conversation) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
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

// UpdateConversation changes a conversation in use.
func (s *memoryStore) UpdateConversation(ctx context.Context, id string, u ConversationUpdate, now time.Time) (Conversation, error) {
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convs[id]
	if c == nil {
		return Conversation{}, fmt.Errorf("proxy: conversation %s: %w", id, ErrNotFound)
	}
	if !c.inUse(now) {
		return Conversation{}, fmt.Errorf("proxy: update conversation %s: not in use: %w", id, ErrConflict)
	}
	if u.ExpiresAt != nil {
		c.expires = *u.ExpiresAt
	}
	if u.IdleTimeout != nil {
		c.idle = *u.IdleTimeout
	}
	if u.Mode != nil {
		c.mode = *u.Mode
	}
	if u.Labels != nil {
		c.p[0].Label, c.p[1].Label = u.Labels[0], u.Labels[1]
	}
	if u.Metadata != nil {
		c.meta = packMeta(u.Metadata)
	}
	if u.Record != nil {
		c.record = *u.Record
	}
	s.expiry.Push(c.deadline(), c) // an earlier deadline must be seen; a later one is re-queued when popped
	return c.value(), nil
}

// ReopenConversation makes an ended conversation active again.
func (s *memoryStore) ReopenConversation(ctx context.Context, id string, now, expiresAt time.Time) (Conversation, error) {
	if err := ctx.Err(); err != nil {
		return Conversation{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convs[id]
	if c == nil {
		return Conversation{}, fmt.Errorf("proxy: conversation %s: %w", id, ErrNotFound)
	}
	if c.inUse(now) {
		return c.value(), nil
	}
	if c.status == StatusActive { // past its deadline, not swept yet
		s.end(c, StatusExpired, c.deadline())
	}
	// What it held must be free: a holder past its deadline is expired,
	// as the sweep would, and frees it.
	free := func(o *memConv) bool {
		if o == nil || o == c || o.status != StatusActive {
			return true
		}
		if o.inUse(now) {
			return false
		}
		s.end(o, StatusExpired, o.deadline())
		return true
	}
	taken := func(side Side, what, holder string) error {
		return &LegTakenError{ConversationID: id, Side: side, Participant: c.p[side].Number, ProxyNumber: c.p[side].ProxyNumber, What: what, HeldBy: holder}
	}
	if c.key != "" {
		if o := s.keys[c.key]; !free(o) {
			return Conversation{}, taken(SideA, "key", o.id)
		}
	}
	if c.pin != "" {
		if o := s.pins[memPINKey(c.p[0].ProxyNumber, c.pin)]; !free(o) {
			return Conversation{}, taken(SideA, "pin", o.id)
		}
	}
	for i := range 2 {
		// A direct leg and a PIN conversation of one participant never
		// share a number: calls to it would not know which was meant.
		if o := s.leg(c.p[i].Number, c.p[i].ProxyNumber); !free(o) {
			return Conversation{}, taken(Side(i), "leg", o.id)
		}
		if c.pin == "" {
			for _, o := range s.pinsByLeg[memLegKey{c.p[i].Number, c.p[i].ProxyNumber}] {
				if o != c && o.inUse(now) {
					return Conversation{}, taken(Side(i), "leg", o.id)
				}
			}
		}
	}
	c.status, c.ended, c.lastAct, c.expires = StatusActive, time.Time{}, now, expiresAt
	s.activate(c)
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

// memSticky maps a participant's counterparts to their latest
// conversation together. Most participants have one or a few
// counterparts, so it is a short list, a map only past memStickyList
// entries: a map per participant was half the store's memory.
type memSticky struct {
	list []memStickyEntry
	m    map[string]*memConv
}

type memStickyEntry struct {
	counterpart string
	c           *memConv
}

const memStickyList = 8

func (s *memSticky) get(cp string) *memConv {
	if s.m != nil {
		return s.m[cp]
	}
	for _, e := range s.list {
		if e.counterpart == cp {
			return e.c
		}
	}
	return nil
}

func (s *memSticky) set(cp string, c *memConv) {
	if s.m != nil {
		s.m[cp] = c
		return
	}
	for i := range s.list {
		if s.list[i].counterpart == cp {
			s.list[i].c = c
			return
		}
	}
	if len(s.list) < memStickyList {
		s.list = append(s.list, memStickyEntry{cp, c})
		return
	}
	s.m = make(map[string]*memConv, 2*memStickyList)
	for _, e := range s.list {
		s.m[e.counterpart] = e.c
	}
	s.m[cp] = c
	s.list = nil
}

func (s *memSticky) del(cp string) {
	if s.m != nil {
		delete(s.m, cp)
		return
	}
	for i := range s.list {
		if s.list[i].counterpart == cp {
			last := len(s.list) - 1
			s.list[i] = s.list[last]
			s.list[last] = memStickyEntry{}
			s.list = s.list[:last]
			return
		}
	}
}
