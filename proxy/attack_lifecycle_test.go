package proxy

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// After a participant is erased, nothing the Service stored keeps their
// raw number: the PIN lock-out counters (nonce claims keyed by the
// caller's number, kept for PINLockout) included.
func TestAttackErasureLeavesPINCounters(t *testing.T) {
	t.Parallel()
	ms := NewMemoryStore().(*memoryStore)
	s, _ := newTestService(t, gbPool(gbP1), func(c *Config) { c.Store = ms })
	c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB, Access: AccessPIN, PIN: "4321"})
	shared := c.Participants[SideA].ProxyNumber
	r := httptest.NewRequest(http.MethodPost, "/input?attempt=1", strings.NewReader(
		`{"from":"`+gbA+`","to":"`+shared+`","uuid":"u1","conversation_uuid":"CON-1","dtmf":{"digits":"1111"}}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("input: %d %s", w.Code, w.Body)
	}
	if _, err := s.CloseConversation(t.Context(), c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EraseParticipant(t.Context(), "+"+gbA); err != nil {
		t.Fatal(err)
	}
	ms.mu.RLock()
	defer ms.mu.RUnlock()
	for k := range ms.nonces {
		if strings.Contains(k, gbA) {
			t.Errorf("after erasure the store keeps the claim %q, with A's number", k)
		}
	}
}
