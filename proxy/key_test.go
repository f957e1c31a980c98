package proxy

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

// A create with the key of a conversation in use returns it (same
// participants) or a *KeyConflictError (others); once it ends, the key
// is free.
func TestCreateWithKey(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, gbPool(gbP1, gbP2), nil)
	ctx := t.Context()
	first := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB, Key: "order-42"})
	if first.Key != "order-42" {
		t.Errorf("Key = %q", first.Key)
	}
	again, err := s.CreateConversation(ctx, CreateRequest{A: "+" + gbA, B: "+" + gbB, Key: "order-42", Mode: ModeSMS})
	if err != nil || again.ID != first.ID || again.Mode != ModeBoth {
		t.Errorf("retried create = %s (%s), %v; want the first conversation, as it was", again.ID, again.Mode, err)
	}
	var ke *KeyConflictError
	if _, err := s.CreateConversation(ctx, CreateRequest{A: "+" + gbA, B: "+" + gbC, Key: "order-42"}); !errors.As(err, &ke) || !errors.Is(err, ErrKeyConflict) || ke.ConversationID != first.ID {
		t.Errorf("the key with other participants: %v, want a *KeyConflictError naming %s", err, first.ID)
	}
	if _, err := s.CreateConversation(ctx, CreateRequest{A: "+" + gbB, B: "+" + gbA, Key: "order-42"}); !errors.Is(err, ErrKeyConflict) {
		t.Errorf("the key with A and B swapped: %v, want ErrKeyConflict", err)
	}
	if _, err := s.CloseConversation(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	next := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB, Key: "order-42"})
	if next.ID == first.ID {
		t.Error("a closed conversation's key was not freed")
	}
	for _, key := range []string{strings.Repeat("k", MaxKeyLength+1), "\xff", "a\x00b"} {
		if _, err := s.CreateConversation(ctx, CreateRequest{A: "+" + gbC, B: "+" + gbD, Key: key}); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("key %q: %v, want ErrInvalidRequest", key, err)
		}
	}
}

// Two instances on one store creating with one key at once all get the
// same conversation, and only one is stored.
func TestCreateWithKeyConcurrently(t *testing.T) {
	t.Parallel()
	store := NewMemoryStore()
	var svcs [2]*Service
	for i := range svcs {
		svcs[i], _ = newTestService(t, nil, func(c *Config) { c.Store = store })
	}
	if err := svcs[0].AddNumbers(t.Context(), gbPool(gbP1, gbP2, gbP3)...); err != nil {
		t.Fatal(err)
	}
	const n = 16
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := svcs[i%2].CreateConversation(t.Context(), CreateRequest{A: "+" + gbA, B: "+" + gbB, Key: "job-7"})
			ids[i], errs[i] = c.ID, err
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Errorf("create %d: %s, %v; want %s", i, ids[i], errs[i], ids[0])
		}
	}
	cs, _, err := svcs[0].Conversations(t.Context(), ListFilter{Status: StatusActive})
	if err != nil || len(cs) != 1 {
		t.Errorf("%d conversations in use, %v; want 1", len(cs), err)
	}
}

// CreateRequest.ProxyA fixes A's proxy number: it must be a pool number
// with the mode's features on which A holds no leg in use.
func TestCreateWithProxyA(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, append(gbPool(gbP1, gbP2), PoolNumber{MSISDN: gbP3, Country: "GB", Voice: true}), nil)
	ctx := t.Context()
	c := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB, ProxyA: gbP2})
	if c.Participants[SideA].ProxyNumber != gbP2 {
		t.Errorf("A's proxy number %s, want %s", c.Participants[SideA].ProxyNumber, gbP2)
	}
	var lt *LegTakenError
	if _, err := s.CreateConversation(ctx, CreateRequest{A: "+" + gbA, B: "+" + gbC, ProxyA: gbP2}); !errors.As(err, &lt) || lt.HeldBy != c.ID {
		t.Errorf("A's leg taken: %v, want a *LegTakenError held by %s", err, c.ID)
	}
	for name, req := range map[string]CreateRequest{
		"not a pool number": {A: "+" + gbC, B: "+" + gbD, ProxyA: "447700900999"},
		"lacks SMS":         {A: "+" + gbC, B: "+" + gbD, ProxyA: gbP3},
		"PIN access":        {A: "+" + gbC, B: "+" + gbD, ProxyA: gbP1, Access: AccessPIN},
	} {
		if _, err := s.CreateConversation(ctx, req); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: %v, want ErrInvalidRequest", name, err)
		}
	}
	if voice, err := s.CreateConversation(ctx, CreateRequest{A: "+" + gbC, B: "+" + gbD, ProxyA: gbP3, Mode: ModeVoice}); err != nil || voice.Participants[SideA].ProxyNumber != gbP3 {
		t.Errorf("voice conversation on a voice-only number: %+v, %v", voice.Participants, err)
	}
}
