package proxy

import (
	"bytes"
	"context"
	"github.com/google/go-cmp/cmp"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Participants with valid numbers (libphonenumber checks them).
const (
	gbA = "447123456701"
	gbB = "447123456702"
	gbC = "447123456703"
	gbD = "447123456704"
	usA = "14155550100"
	frA = "33612345678"
)

// Pool numbers.
const (
	gbP1 = "447700900001"
	gbP2 = "447700900002"
	gbP3 = "447700900003"
	usP1 = "12015550001"
)

// clock is a settable Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: testNow} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newTestService returns a Service on a fresh memory store with the given
// pool, a settable clock and a silent logger; edit adjusts the Config.
func newTestService(t *testing.T, pool []PoolNumber, edit func(*Config)) (*Service, *clock) {
	t.Helper()
	clk := newClock()
	// Unit tests send hand-made webhooks; tests of signing set a secret
	// (and Webhooks.InsecureUnsigned back to false).
	cfg := Config{Store: NewMemoryStore(), Now: clk.Now, Logger: quietLogger(), Webhooks: WebhookConfig{InsecureUnsigned: true}}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if len(pool) > 0 {
		if err := s.AddNumbers(t.Context(), pool...); err != nil {
			t.Fatalf("AddNumbers: %v", err)
		}
	}
	return s, clk
}

func gbPool(msisdns ...string) []PoolNumber {
	var ns []PoolNumber
	for _, m := range msisdns {
		ns = append(ns, PoolNumber{MSISDN: m, Country: "GB", Voice: true, SMS: true})
	}
	return ns
}

func mustCreate(t *testing.T, s *Service, req CreateRequest) Conversation {
	t.Helper()
	c, err := s.CreateConversation(t.Context(), req)
	if err != nil {
		t.Fatalf("CreateConversation(%s, %s): %v", req.A, req.B, err)
	}
	return c
}

// nonceStore is a Store that only implements Claim (the other methods
// are never reached by the tests that use it).
type nonceStore struct {
	Store
	mu   sync.Mutex
	seen map[string]time.Time
}

func (n *nonceStore) Claim(_ context.Context, key string, now, expires time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.seen == nil {
		n.seen = map[string]time.Time{}
	}
	if exp, ok := n.seen[key]; ok && exp.After(now) {
		return ErrConflict
	}
	n.seen[key] = expires
	return nil
}

// conflictStore makes the first n CreateConversation calls fail with
// ErrConflict (n < 0: all of them) and counts calls.
type conflictStore struct {
	Store
	n     int
	calls atomic.Int32
}

func (c *conflictStore) CreateConversation(ctx context.Context, conv Conversation) error {
	k := int(c.calls.Add(1))
	if c.n < 0 || k <= c.n {
		return ErrConflict
	}
	return c.Store.CreateConversation(ctx, conv)
}

// failingStore fails every method with err except those the test needs to
// set up state (AddNumbers, Claim).
type failingStore struct {
	Store
	err error
}

func (f failingStore) Route(context.Context, string, string, time.Time) (Conversation, error) {
	return Conversation{}, f.err
}
func (f failingStore) AddInteraction(context.Context, Interaction) error { return f.err }
func (f failingStore) InteractionByExternalID(context.Context, InteractionKind, string) (Interaction, error) {
	return Interaction{}, f.err
}
func (f failingStore) AddInteractionEvent(context.Context, string, InteractionEvent) error {
	return f.err
}
func (f failingStore) AddMessagePart(context.Context, MessagePart, time.Time) ([]MessagePart, error) {
	return nil, f.err
}
func (f failingStore) Touch(context.Context, string, time.Time) error { return f.err }

// cmpIgnoreIDs ignores generated interaction IDs.
var cmpIgnoreIDs = cmp.FilterPath(func(p cmp.Path) bool {
	return p.Last().String() == ".ID"
}, cmp.Ignore())

func answerPOSTBody(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/answer", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func eventPOSTBody(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/event", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}
