package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// slowStore blocks Route until its context is done, as a database that
// stopped answering does.
type slowStore struct{ Store }

func (slowStore) Route(ctx context.Context, _, _ string, _ time.Time) (Conversation, error) {
	<-ctx.Done()
	return Conversation{}, ctx.Err()
}

// claimFailStore fails only the replay claim of signed webhooks.
type claimFailStore struct{ Store }

func (claimFailStore) Claim(context.Context, string, time.Time, time.Time) error {
	return errors.New("database down")
}

// signed returns r signed as Vonage signs voice webhooks.
func signed(t *testing.T, r *http.Request, body []byte) *http.Request {
	t.Helper()
	if err := (WebhookSigner{Secret: "sig-secret", Now: func() time.Time { return testNow }}).Sign(r, body); err != nil {
		t.Fatal(err)
	}
	return r
}

// The answer URL answers a store failure with 503, so that Vonage retries
// it and then requests the fallback URL; the fallback URL answers 200 with
// the spoken NCCO, never an error, since Vonage drops the call after it.
func TestAnswerStoreFailure(t *testing.T) {
	t.Parallel()
	down := func(c *Config) { c.Store = failingStore{Store: c.Store, err: errors.New("database down")} }
	tests := []struct {
		name       string
		edit       func(*Config)
		path       string
		sign       bool
		wantStatus int
		wantNCCO   string // "" when the body is not an NCCO
	}{
		{"answer, store error", down, "/answer", false, http.StatusServiceUnavailable, ""},
		{"fallback, store error", down, "/fallback", false, http.StatusOK, fallbackNCCO},
		{"answer, store too slow", func(c *Config) {
			c.Store = slowStore{c.Store}
			c.Webhooks.StoreTimeout = 20 * time.Millisecond
		}, "/answer", false, http.StatusServiceUnavailable, ""},
		{"fallback, store too slow", func(c *Config) {
			c.Store = slowStore{c.Store}
			c.Webhooks.StoreTimeout = 20 * time.Millisecond
		}, "/fallback", false, http.StatusOK, fallbackNCCO},
		{"answer, signed, replay claim fails", func(c *Config) {
			c.Store = claimFailStore{c.Store}
			c.Webhooks.SignatureSecret = "sig-secret"
		}, "/answer", true, http.StatusServiceUnavailable, ""},
		{"fallback, signed, replay claim fails", func(c *Config) {
			c.Store = claimFailStore{c.Store}
			c.Webhooks.SignatureSecret = "sig-secret"
		}, "/fallback", true, http.StatusOK, fallbackNCCO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestService(t, gbPool(gbP1), tt.edit)
			mustCreate(t, s, CreateRequest{A: gbA, B: gbB})
			r := answerGET(tt.path, gbA, gbP1, "u1")
			if tt.sign {
				r = signed(t, r, nil)
			}
			start := time.Now()
			w := serve(s, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (body %s)", w.Code, tt.wantStatus, w.Body)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("answered after %v: the store deadline did not hold", took)
			}
			if tt.wantNCCO != "" {
				if diff := cmp.Diff(decodeJSON(t, []byte(tt.wantNCCO)), decodeJSON(t, w.Body.Bytes())); diff != "" {
					t.Errorf("NCCO (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// With the store healthy, the fallback URL connects a call as the answer
// URL would (a second instance or region behind it keeps calls flowing).
func TestFallbackConnects(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, gbPool(gbP1), nil)
	mustCreate(t, s, CreateRequest{A: gbA, B: gbB})
	body, _ := json.Marshal(map[string]any{
		"from": gbA, "to": gbP1, "uuid": "u1", "conversation_uuid": "CON-1",
		"reason": "Read timed out", "original_request": map[string]string{"url": "https://a.example/answer", "type": "answer"},
	})
	r := httptest.NewRequest(http.MethodPost, "/fallback", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	w := serve(s, r)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"connect"`) || !strings.Contains(w.Body.String(), gbB) {
		t.Fatalf("fallback: %d %s, want a connect to B", w.Code, w.Body)
	}
}

// A fallback request standing in for an event webhook is recorded as
// that event and answered 204, never with a new connect mid-call.
func TestFallbackForEvent(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, gbPool(gbP1), nil)
	c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB})
	body, _ := json.Marshal(map[string]any{
		"from": gbA, "to": gbP1, "uuid": "leg-in", "conversation_uuid": "CON-9", "status": "answered",
		"timestamp":        testNow.Format(time.RFC3339),
		"reason":           "Connection closed",
		"original_request": map[string]string{"url": "https://a.example/event", "type": "event"},
	})
	r := httptest.NewRequest(http.MethodPost, "/fallback", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	w := serve(s, r)
	if w.Code != http.StatusNoContent || strings.Contains(w.Body.String(), "connect") {
		t.Fatalf("event fallback: %d %q, want 204 and no NCCO", w.Code, w.Body)
	}
	ins, err := s.Interactions(t.Context(), c.ID)
	if err != nil || len(ins) != 1 || len(ins[0].Events) != 1 || ins[0].Events[0].Status != EventAnswered {
		t.Fatalf("interactions after the event fallback = %+v, %v; want the answered event recorded", ins, err)
	}
}

// An event the store cannot record gets 503, so that Vonage tries the
// fallback URL; a replay claim that fails is a store failure too, not a
// 401 (Vonage does not retry a 401).
func TestEventStoreFailure(t *testing.T) {
	t.Parallel()
	ev := map[string]any{"from": gbA, "to": gbP1, "uuid": "x", "conversation_uuid": "CON-x", "status": "started"}
	t.Run("store error", func(t *testing.T) {
		t.Parallel()
		s, _ := newTestService(t, gbPool(gbP1), func(c *Config) { c.Store = failingStore{Store: c.Store, err: errors.New("db down")} })
		if w := serve(s, eventPOST(ev)); w.Code != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", w.Code)
		}
	})
	t.Run("replay claim fails", func(t *testing.T) {
		t.Parallel()
		s, _ := newTestService(t, gbPool(gbP1), func(c *Config) {
			c.Store = claimFailStore{c.Store}
			c.Webhooks.SignatureSecret = "sig-secret"
		})
		body, _ := json.Marshal(ev)
		r := signed(t, eventPOSTBody(body), body)
		if w := serve(s, r); w.Code != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", w.Code)
		}
	})
}

// A 401 says, in JSON, why and how to sign.
func TestUnauthorizedSaysHow(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, gbPool(gbP1), func(c *Config) { c.Webhooks.SignatureSecret = "sig-secret" })
	w := serve(s, answerGET("/answer", gbA, gbP1, "u1"))
	var body struct{ Error, Detail, Hint string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != http.StatusUnauthorized {
		t.Fatalf("unsigned answer: %d %s (%v), want a JSON 401", w.Code, w.Body, err)
	}
	if body.Error != "unauthorized" || !strings.Contains(body.Detail, "bearer") || !strings.Contains(body.Hint, "WebhookSigner") {
		t.Errorf("401 body %+v does not say why and how", body)
	}
}
