package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var answeredCalls atomic.Int64

// answered reports whether a call from participant to proxyNumber is
// connected.
func answered(t *testing.T, s *Service, participant, proxyNumber string) bool {
	t.Helper()
	q := url.Values{"from": {participant}, "to": {proxyNumber}, "uuid": {"u"},
		"conversation_uuid": {fmt.Sprintf("CON-%d", answeredCalls.Add(1))}}
	w := serve(s, httptest.NewRequest(http.MethodGet, "/answer?"+q.Encode(), nil))
	return w.Code == http.StatusOK && strings.Contains(w.Body.String(), `"connect"`)
}

func TestUpdateConversation(t *testing.T) {
	t.Parallel()
	s, clk := newTestService(t, gbPool(gbP1, gbP2), nil)
	ctx := t.Context()
	c := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB, TTL: time.Hour, Metadata: map[string]string{"job": "1"}})
	pa := c.Participants[SideA].ProxyNumber
	got, err := s.UpdateConversation(ctx, c.ID, Update{TTL: 3 * time.Hour, IdleTimeout: 20 * time.Minute,
		Labels: &Labels{A: "your host", B: "your guest"}, Metadata: map[string]string{"booking": "9"}})
	if err != nil {
		t.Fatal(err)
	}
	if !got.ExpiresAt.Equal(testNow.Add(3*time.Hour)) || got.IdleTimeout != 20*time.Minute || got.Participants[SideB].Label != "your guest" || got.Metadata["booking"] != "9" || got.Metadata["job"] != "" {
		t.Errorf("updated: %+v", got)
	}
	clk.Add(19 * time.Minute)
	if !answered(t, s, gbA, pa) {
		t.Error("not answered inside the new idle timeout")
	}
	// Extended past its old end.
	for range 4 {
		clk.Add(19 * time.Minute)
		if !answered(t, s, gbA, pa) {
			t.Fatalf("not answered at %v, before the extended end", clk.Now())
		}
	}
	// Removing the idle timeout; changing the mode to voice refuses SMS.
	if got, err = s.UpdateConversation(ctx, c.ID, Update{IdleTimeout: -1, Mode: ModeVoice}); err != nil || got.IdleTimeout != 0 || got.Mode != ModeVoice {
		t.Errorf("no idle timeout, voice: %+v, %v", got, err)
	}
	for name, u := range map[string]Update{
		"end in the past":   {ExpiresAt: clk.Now().Add(-time.Minute)},
		"both end and TTL":  {ExpiresAt: clk.Now().Add(time.Hour), TTL: time.Hour},
		"unknown mode":      {Mode: "fax"},
		"label not text":    {Labels: &Labels{A: "\xff"}},
		"end past MaxTTL":   {ExpiresAt: testNow.Add(MaxTTL + time.Hour)},
		"TTL under MinTTL":  {TTL: time.Millisecond},
		"metadata not text": {Metadata: map[string]string{"k": "a\x00"}},
	} {
		if _, err := s.UpdateConversation(ctx, c.ID, u); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: %v, want ErrInvalidRequest", name, err)
		}
	}
	if _, err := s.UpdateConversation(ctx, "nope", Update{TTL: time.Hour}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	// A mode the numbers cannot carry.
	s2, _ := newTestService(t, []PoolNumber{{MSISDN: gbP1, Country: "GB", SMS: true}}, nil)
	smsOnly := mustCreate(t, s2, CreateRequest{A: "+" + gbA, B: "+" + gbB, Mode: ModeSMS})
	if _, err := s2.UpdateConversation(ctx, smsOnly.ID, Update{Mode: ModeBoth}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("mode both on SMS-only numbers: %v", err)
	}
}

// A closed conversation reopens within Config.Conversations.ReopenGrace when its legs
// are free, and routes again; a taken leg or a late reopen is refused.
func TestReopenConversation(t *testing.T) {
	t.Parallel()
	s, clk := newTestService(t, gbPool(gbP1), func(c *Config) { c.Allocation.CoolOff = -1 })
	ctx := t.Context()
	c := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbB})
	pa := c.Participants[SideA].ProxyNumber
	if _, err := s.CloseConversation(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateConversation(ctx, c.ID, Update{TTL: time.Hour}); !errors.Is(err, ErrConversationEnded) {
		t.Errorf("update of a closed conversation: %v, want ErrConversationEnded", err)
	}
	clk.Add(time.Hour)
	got, err := s.UpdateConversation(ctx, c.ID, Update{Reopen: true, TTL: 2 * time.Hour, Labels: &Labels{A: "x", B: "y"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusActive || !got.ExpiresAt.Equal(clk.Now().Add(2*time.Hour)) || got.Participants[SideA].Label != "x" {
		t.Errorf("reopened: %+v", got)
	}
	if !answered(t, s, gbA, pa) {
		t.Error("the reopened conversation does not route")
	}
	// Closed again; its A leg taken by a new conversation with C.
	if _, err := s.CloseConversation(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	other := mustCreate(t, s, CreateRequest{A: "+" + gbA, B: "+" + gbC})
	var lt *LegTakenError
	if _, err := s.UpdateConversation(ctx, c.ID, Update{Reopen: true}); !errors.As(err, &lt) || lt.Side != SideA || lt.HeldBy != other.ID {
		t.Errorf("reopen with A's leg taken: %v, want a *LegTakenError for A held by %s", err, other.ID)
	}
	if _, err := s.CloseConversation(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	clk.Add(defaultReopenGrace + time.Minute)
	if _, err := s.UpdateConversation(ctx, c.ID, Update{Reopen: true}); !errors.Is(err, ErrConversationEnded) {
		t.Errorf("reopen after the grace: %v, want ErrConversationEnded", err)
	}
	s3, _ := newTestService(t, gbPool(gbP1), func(c *Config) { c.Conversations.ReopenGrace = -1 })
	c3 := mustCreate(t, s3, CreateRequest{A: "+" + gbA, B: "+" + gbB})
	s3.CloseConversation(ctx, c3.ID)
	if _, err := s3.UpdateConversation(ctx, c3.ID, Update{Reopen: true}); !errors.Is(err, ErrConversationEnded) {
		t.Errorf("reopen with ReopenGrace < 0: %v", err)
	}
}
