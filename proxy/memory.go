package proxy

import (
	"context"
	"sync"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/timeheap"
)

// The in-memory Store, in files by concern: this one holds the store, its
// options and its sweep; memory_pool.go the pool and allocation
// candidates; memory_conversations.go conversations and their legs;
// memory_interactions.go the audit trail; memory_relays.go messages
// waiting to be sent; memory_messages.go multipart SMS parts and nonce
// claims; memory_index.go the ID-ordered index.

// DefaultMemoryRetention is how long the memory store keeps an ended
// conversation, with its interactions, unless MemoryRetention says
// otherwise.
const DefaultMemoryRetention = 7 * 24 * time.Hour

// MemoryOption configures NewMemoryStore.
type MemoryOption func(*memoryStore)

// MemoryRetention sets how long an ended conversation and its
// interactions are kept after it ended (default DefaultMemoryRetention);
// d < 0 keeps them for the life of the store. Keep it longer than
// Config.Allocation.CoolOff: what a participant released is forgotten with the
// conversations it was released from, and so is which number it had with
// a counterpart (stickiness).
func MemoryRetention(d time.Duration) MemoryOption {
	return func(s *memoryStore) {
		if d != 0 {
			s.retention = d
		}
	}
}

// NewMemoryStore returns a Store that keeps everything in the process's
// memory: the single-process choice for tests, demos and small deployments.
// It is safe for concurrent use. Nothing survives a restart.
//
// Route is one map lookup; Candidates walks the pool in (load, pool order)
// from a per-country index kept sorted as legs come and go, so its cost
// grows with the number of candidates asked for and the participant's own
// legs, not with the pool or the number of conversations.
//
// Memory is bounded by what is live: ExpireConversations (the Service's
// sweep) also drops conversations that ended more than the retention
// period ago, with their interactions (Conversation, ListConversations
// and Interactions then no longer find them), forgets nonce claims that
// expired, and drops the parts of multipart messages that were never
// completed once they are older than the oldest part AddMessagePart still
// accepts. Complete multipart messages are consumed as they complete.
func NewMemoryStore(opts ...MemoryOption) Store {
	s := &memoryStore{
		retention:  DefaultMemoryRetention,
		nums:       make(map[string]*memNum),
		all:        &memGroup{},
		byCountry:  make(map[string]*memGroup),
		convs:      make(map[string]*memConv),
		legs:       make(map[memLegNum]*memConv),
		legsStr:    make(map[memLegKey]*memConv),
		pins:       make(map[string]*memConv),
		keys:       make(map[string]*memConv),
		pinsByLeg:  make(map[memLegKey][]*memConv),
		parts:      make(map[string]*memParticipant),
		ints:       make(map[string]*memInteraction),
		intsByExt:  make(map[memExtKey]*memInteraction),
		intsByConv: make(map[*memConv][]*memInteraction),
		msgParts:   make(map[memMsgKey][]MessagePart),
		nonces:     make(map[string]time.Time),
		relays:     make(map[string]*memRelay),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

var _ Store = (*memoryStore)(nil)

type memoryStore struct {
	mu        sync.RWMutex
	retention time.Duration // < 0: forever

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
	// pins maps a shared number and PIN (memPINKey) to the active-status
	// PIN conversation holding it; pinsByLeg lists a participant's
	// active-status PIN conversations per shared number.
	pins      map[string]*memConv
	pinsByLeg map[memLegKey][]*memConv
	// keys maps an idempotency key to the active-status conversation
	// holding it.
	keys  map[string]*memConv
	parts map[string]*memParticipant
	// expiry queues active conversations by a lower bound of their
	// deadline (Touch only moves deadlines later; the sweep re-queues on
	// a stale bound); ended queues ended ones by EndedAt for retention.
	expiry timeheap.Heap[*memConv]
	ended  timeheap.Heap[*memConv]
	// anon queues ended conversations by EndedAt too, until Pseudonymize
	// takes them (or they are dropped): the sweep's Pseudonymize visits
	// only those due, never every conversation.
	anon timeheap.Heap[*memConv]

	// Interactions.
	ints       map[string]*memInteraction
	intsByExt  map[memExtKey]*memInteraction
	intsByConv map[*memConv][]*memInteraction

	// Multipart SMS parts; partsSince is the latest since AddMessagePart
	// was given: parts received before it are stale.
	msgParts   map[memMsgKey][]MessagePart
	partsQueue timeheap.Heap[memMsgKey]
	partsSince time.Time

	nonces     map[string]time.Time
	nonceQueue timeheap.Heap[string]

	// Relay jobs by ID (the interaction's).
	relays map[string]*memRelay
}

// ExpireConversations ends conversations whose deadline has passed, and
// drops what the store no longer needs to keep.
func (s *memoryStore) ExpireConversations(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneNonces(now)
	s.pruneParts()
	ids := []string{}
	for limit <= 0 || len(ids) < limit {
		_, c, ok := s.expiry.PopDue(now)
		if !ok {
			break
		}
		if c.status != StatusActive {
			continue
		}
		d := c.deadline()
		if d.After(now) {
			s.expiry.Push(d, c) // Touch moved it; look again later
			continue
		}
		s.end(c, StatusExpired, d)
		ids = append(ids, c.id)
	}
	if s.retention >= 0 {
		cutoff := now.Add(-s.retention)
		for {
			_, c, ok := s.ended.PopDue(cutoff)
			if !ok {
				break
			}
			// A conversation reopened since it was queued is not dropped,
			// nor one whose later end queued it again.
			if s.convs[c.id] == c && c.status != StatusActive && !c.ended.After(cutoff) {
				s.drop(c, cutoff)
			}
		}
		// Dropped conversations leave anon from its front: both queues
		// are by EndedAt.
		for {
			at, c, ok := s.anon.Peek()
			if !ok || s.convs[c.id] == c {
				break
			}
			s.anon.PopDue(at)
		}
	}
	return ids, nil
}
