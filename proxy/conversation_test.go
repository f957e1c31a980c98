package proxy

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// legs returns the proxy numbers given to A and B.
func legs(c Conversation) [2]string {
	return [2]string{c.Participants[0].ProxyNumber, c.Participants[1].ProxyNumber}
}

func TestAllocation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		pool  []PoolNumber
		edit  func(*Config)
		setup func(t *testing.T, s *Service, clk *clock)
		req   CreateRequest
		want  [2]string
	}{
		{
			name: "geo match per participant",
			pool: []PoolNumber{{MSISDN: gbP1, Voice: true, SMS: true}, {MSISDN: usP1, Voice: true, SMS: true}},
			req:  CreateRequest{A: "+44 7123 456701", B: "+1 415 555 0100"},
			want: [2]string{gbP1, usP1},
		},
		{
			name: "fallback to any country",
			pool: gbPool(gbP1),
			req:  CreateRequest{A: gbA, B: frA},
			want: [2]string{gbP1, gbP1},
		},
		{
			name: "least loaded first",
			pool: gbPool(gbP1, gbP2),
			setup: func(t *testing.T, s *Service, _ *clock) {
				mustCreate(t, s, CreateRequest{A: gbC, B: gbD}) // loads gbP1 twice
			},
			req:  CreateRequest{A: gbA, B: gbB},
			want: [2]string{gbP2, gbP2},
		},
		{
			name: "participant never sees a number twice",
			pool: gbPool(gbP1, gbP2),
			setup: func(t *testing.T, s *Service, _ *clock) {
				mustCreate(t, s, CreateRequest{A: gbA, B: gbC}) // A on gbP1
				mustCreate(t, s, CreateRequest{A: gbD, B: usA}) // gbP2 loaded too
			},
			req:  CreateRequest{A: gbA, B: gbB},
			want: [2]string{gbP2, gbP1},
		},
		{
			name: "cool-off keeps a released number from a new stranger",
			pool: gbPool(gbP1, gbP2),
			setup: func(t *testing.T, s *Service, clk *clock) {
				c := mustCreate(t, s, CreateRequest{A: gbA, B: gbC})
				clk.Add(time.Minute)
				if _, err := s.CloseConversation(t.Context(), c.ID); err != nil {
					t.Fatal(err)
				}
			},
			req:  CreateRequest{A: gbA, B: gbB},
			want: [2]string{gbP2, gbP1},
		},
		{
			name: "cool-off over",
			pool: gbPool(gbP1, gbP2),
			setup: func(t *testing.T, s *Service, clk *clock) {
				c := mustCreate(t, s, CreateRequest{A: gbA, B: gbC})
				if _, err := s.CloseConversation(t.Context(), c.ID); err != nil {
					t.Fatal(err)
				}
				clk.Add(time.Hour + time.Second)
			},
			req:  CreateRequest{A: gbA, B: gbB},
			want: [2]string{gbP1, gbP1},
		},
		{
			name: "sticky beats load for the same pair",
			pool: gbPool(gbP1, gbP2),
			setup: func(t *testing.T, s *Service, _ *clock) {
				mustCreate(t, s, CreateRequest{A: gbC, B: gbD}) // gbP1 loaded
				mustCreate(t, s, CreateRequest{A: usA, B: frA}) // gbP2 loaded
				c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB})
				if legs(c) != [2]string{gbP1, gbP1} {
					t.Fatalf("setup: got %v", legs(c))
				}
				if _, err := s.CloseConversation(t.Context(), c.ID); err != nil {
					t.Fatal(err)
				}
				mustCreate(t, s, CreateRequest{A: frA, B: "447123456705"}) // gbP1 busier than gbP2 now
			},
			req:  CreateRequest{A: gbA, B: gbB},
			want: [2]string{gbP1, gbP1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, clk := newTestService(t, tt.pool, tt.edit)
			if tt.setup != nil {
				tt.setup(t, s, clk)
			}
			c := mustCreate(t, s, tt.req)
			if diff := cmp.Diff(tt.want, legs(c)); diff != "" {
				t.Errorf("proxy numbers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateConversationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		pool    []PoolNumber
		edit    func(*Config)
		req     CreateRequest
		is      error
		field   string // for *NumberError / *PoolExhaustedError
		country string
		anyErr  bool
	}{
		{name: "invalid A", pool: gbPool(gbP1), req: CreateRequest{A: "+44 12", B: gbB}, is: ErrInvalidNumber, field: "A"},
		{name: "invalid B", pool: gbPool(gbP1), req: CreateRequest{A: gbA, B: "hello"}, is: ErrInvalidNumber, field: "B"},
		{name: "unassigned range", pool: gbPool(gbP1), req: CreateRequest{A: gbA, B: "447700900123"}, is: ErrInvalidNumber, field: "B"},
		{name: "same number", pool: gbPool(gbP1), req: CreateRequest{A: "+44 7123 456701", B: "0044" + gbA[2:]}, is: ErrSameNumber},
		{name: "empty pool", req: CreateRequest{A: gbA, B: gbB}, is: ErrPoolExhausted, field: "A"},
		{name: "geo strict", pool: gbPool(gbP1), edit: func(c *Config) { c.Allocation.GeoFallback = GeoStrict }, req: CreateRequest{A: gbA, B: frA}, is: ErrPoolExhausted, field: "B", country: "FR"},
		{name: "voice only pool, sms mode", pool: []PoolNumber{{MSISDN: gbP1, Voice: true}}, req: CreateRequest{A: gbA, B: gbB, Mode: ModeSMS}, is: ErrPoolExhausted, field: "A"},
		{name: "bad mode", pool: gbPool(gbP1), req: CreateRequest{A: gbA, B: gbB, Mode: "fax"}, anyErr: true},
		{name: "negative ttl", pool: gbPool(gbP1), req: CreateRequest{A: gbA, B: gbB, TTL: -time.Second}, anyErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestService(t, tt.pool, tt.edit)
			_, err := s.CreateConversation(t.Context(), tt.req)
			if err == nil {
				t.Fatal("CreateConversation succeeded, want error")
			}
			if !tt.anyErr && !errors.Is(err, tt.is) {
				t.Fatalf("error %v, want errors.Is %v", err, tt.is)
			}
			var ne *NumberError
			if errors.As(err, &ne) && ne.Field != tt.field {
				t.Errorf("NumberError.Field = %q, want %q", ne.Field, tt.field)
			}
			var pe *PoolExhaustedError
			if errors.As(err, &pe) && (pe.Side.String() != tt.field || pe.Country != tt.country) {
				t.Errorf("PoolExhaustedError = %+v, want field %q country %q", pe, tt.field, tt.country)
			}
			cs, _, err := s.Conversations(t.Context(), ListFilter{})
			if err != nil || len(cs) != 0 {
				t.Errorf("stored conversations = %d (%v), want none", len(cs), err)
			}
		})
	}
}

func TestPoolOfNServesNConversationsPerParticipant(t *testing.T) {
	t.Parallel()
	const n = 5
	var pool []PoolNumber
	for i := range n {
		pool = append(pool, PoolNumber{MSISDN: "4477009000" + string(rune('1'+i)) + "0", Voice: true, SMS: true})
	}
	s, _ := newTestService(t, pool, nil)
	seen := map[string]bool{}
	for i := range n {
		c := mustCreate(t, s, CreateRequest{A: gbA, B: "44712345680" + string(rune('0'+i))})
		p := c.Participants[0].ProxyNumber
		if seen[p] {
			t.Fatalf("conversation %d gave A proxy number %s twice", i, p)
		}
		seen[p] = true
	}
	_, err := s.CreateConversation(t.Context(), CreateRequest{A: gbA, B: gbB})
	var pe *PoolExhaustedError
	if !errors.As(err, &pe) || pe.Side != SideA || !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("conversation %d: error %v, want *PoolExhaustedError for A", n+1, err)
	}
	all, _, _ := s.Conversations(t.Context(), ListFilter{})
	if len(all) != n {
		t.Errorf("stored %d conversations, want %d", len(all), n)
	}
}

func TestCreateConversationConflictRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		conflicts int
		wantCalls int32
		wantErr   error
	}{
		{"succeeds after two collisions", 2, 3, nil},
		{"gives up", -1, maxAllocAttempts, ErrTooManyConflicts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cs := &conflictStore{Store: NewMemoryStore(), n: tt.conflicts}
			s, _ := newTestService(t, gbPool(gbP1, gbP2, gbP3), func(c *Config) { c.Store = cs })
			c, err := s.CreateConversation(t.Context(), CreateRequest{A: gbA, B: gbB})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if got := cs.calls.Load(); got != tt.wantCalls {
				t.Errorf("store CreateConversation calls = %d, want %d", got, tt.wantCalls)
			}
			if tt.wantErr == nil {
				if _, err := s.Conversation(t.Context(), c.ID); err != nil {
					t.Errorf("created conversation not stored: %v", err)
				}
			}
		})
	}
}

func TestConversationLifecycle(t *testing.T) {
	t.Parallel()
	s, clk := newTestService(t, gbPool(gbP1), nil)
	ctx := t.Context()
	c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB, TTL: time.Hour, Metadata: map[string]string{"order": "42"}})
	if c.Status != StatusActive || !c.ExpiresAt.Equal(testNow.Add(time.Hour)) || c.Metadata["order"] != "42" || c.Mode != ModeBoth {
		t.Fatalf("created %+v", c)
	}
	clk.Add(time.Hour)
	got, err := s.Conversation(ctx, c.ID)
	if err != nil || got.Status != StatusExpired {
		t.Fatalf("after TTL: status %q, %v; want expired", got.Status, err)
	}
	// Closing an unswept expired conversation records the expiry.
	got, err = s.CloseConversation(ctx, c.ID)
	if err != nil || got.Status != StatusExpired || !got.EndedAt.Equal(c.ExpiresAt) {
		t.Fatalf("close after deadline: %+v, %v", got, err)
	}
	c2 := mustCreate(t, s, CreateRequest{A: gbA, B: gbB})
	got, err = s.CloseConversation(ctx, c2.ID)
	if err != nil || got.Status != StatusClosed || !got.EndedAt.Equal(clk.Now()) {
		t.Fatalf("close: %+v, %v", got, err)
	}
	if _, err := s.CloseConversation(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("close unknown: %v, want ErrNotFound", err)
	}
	if _, err := s.Conversation(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get unknown: %v, want ErrNotFound", err)
	}
	if _, err := s.Interactions(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("interactions of unknown: %v, want ErrNotFound", err)
	}
}

func TestExpireNow(t *testing.T) {
	t.Parallel()
	s, clk := newTestService(t, gbPool(gbP1, gbP2), nil)
	ctx := t.Context()
	short := mustCreate(t, s, CreateRequest{A: gbA, B: gbB, TTL: time.Minute})
	idle := mustCreate(t, s, CreateRequest{A: gbC, B: gbD, IdleTimeout: 30 * time.Second})
	long := mustCreate(t, s, CreateRequest{A: usA, B: frA})
	clk.Add(45 * time.Second)
	if n, err := s.ExpireNow(ctx); err != nil || n != 1 {
		t.Fatalf("first sweep: %d, %v; want 1 (the idle one)", n, err)
	}
	clk.Add(time.Minute)
	if n, err := s.ExpireNow(ctx); err != nil || n != 1 {
		t.Fatalf("second sweep: %d, %v; want 1", n, err)
	}
	for id, want := range map[string]Status{short.ID: StatusExpired, idle.ID: StatusExpired, long.ID: StatusActive} {
		c, err := s.store.Conversation(ctx, id) // stored status, not presented
		if err != nil || c.Status != want {
			t.Errorf("conversation %s: %q, %v; want %q", id, c.Status, err, want)
		}
	}
}

func TestRunStopsWithContext(t *testing.T) {
	t.Parallel()
	s, clk := newTestService(t, gbPool(gbP1), func(c *Config) { c.Conversations.SweepInterval = time.Millisecond })
	c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB, TTL: time.Minute})
	clk.Add(2 * time.Minute)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := s.store.Conversation(t.Context(), c.ID)
		if got.Status == StatusExpired {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not expire the conversation")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
}

func TestConversationsPaging(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, gbPool(gbP1, gbP2, gbP3), nil)
	var want []string
	others := []string{gbB, gbC, gbD}
	for _, b := range others {
		want = append(want, mustCreate(t, s, CreateRequest{A: gbA, B: b}).ID)
	}
	mustCreate(t, s, CreateRequest{A: usA, B: frA})
	var got []string
	cursor := ""
	for {
		page, next, err := s.Conversations(t.Context(), ListFilter{Participant: "+44 7123 456701", After: cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			got = append(got, c.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IDs in creation order (-want +got):\n%s", diff)
	}
}

// Concurrent creations for one participant race for the same best
// number; the store rejects the losers and the Service retries them onto
// other numbers, so each conversation still gets a distinct number.
func TestConcurrentCreateKeepsInvariant(t *testing.T) {
	t.Parallel()
	const n = 8
	var pool []PoolNumber
	for i := range n {
		pool = append(pool, PoolNumber{MSISDN: "4477009000" + string(rune('1'+i)) + "5", Voice: true, SMS: true})
	}
	s, _ := newTestService(t, pool, nil)
	var wg sync.WaitGroup
	got := make([]Conversation, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = s.CreateConversation(t.Context(), CreateRequest{A: gbA, B: "44712345690" + string(rune('0'+i))})
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("create %d: %v", i, errs[i])
		}
		p := got[i].Participants[0].ProxyNumber
		if seen[p] {
			t.Fatalf("participant A given %s twice", p)
		}
		seen[p] = true
	}
}

// Bad requests are refused before anything is stored, with errors the
// caller can match.
func TestCreateConversationRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  CreateRequest
		is   error
	}{
		{"pool number as A", CreateRequest{A: gbP1, B: gbB}, ErrPoolNumberParticipant},
		{"pool number as B", CreateRequest{A: gbA, B: "+" + gbP1}, ErrPoolNumberParticipant},
		{"TTL of 1ns", CreateRequest{A: gbA, B: gbB, TTL: time.Nanosecond}, ErrInvalidRequest},
		{"TTL past every store", CreateRequest{A: gbA, B: gbB, TTL: 250 * 365 * 24 * time.Hour}, ErrInvalidRequest},
		{"negative idle timeout", CreateRequest{A: gbA, B: gbB, IdleTimeout: -time.Second}, ErrInvalidRequest},
		{"unknown mode", CreateRequest{A: gbA, B: gbB, Mode: "fax"}, ErrInvalidRequest},
		{"NUL in a label", CreateRequest{A: gbA, B: gbB, Labels: Labels{B: "a\x00b"}}, ErrInvalidRequest},
		{"invalid UTF-8 in metadata", CreateRequest{A: gbA, B: gbB, Metadata: map[string]string{"k": "\xff"}}, ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestService(t, gbPool(gbP1), nil)
			_, err := s.CreateConversation(t.Context(), tt.req)
			if !errors.Is(err, tt.is) {
				t.Fatalf("error %v, want %v", err, tt.is)
			}
			if cs, _, _ := s.Conversations(t.Context(), ListFilter{}); len(cs) != 0 {
				t.Errorf("a refused request stored %+v", cs)
			}
		})
	}
}
