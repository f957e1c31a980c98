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
	"github.com/google/go-cmp/cmp/cmpopts"
)

// eventPOST builds an event webhook request from JSON fields.
func eventPOST(fields map[string]any) *http.Request {
	b, _ := json.Marshal(fields)
	r := httptest.NewRequest(http.MethodPost, "/event", strings.NewReader(string(b)))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func ts(sec int) string {
	return testNow.Add(time.Duration(sec) * time.Second).Format(time.RFC3339Nano)
}

func at(sec int) time.Time { return testNow.Add(time.Duration(sec) * time.Second) }

func TestEvents(t *testing.T) {
	t.Parallel()
	inbound := func(status string, sec int, extra ...any) map[string]any {
		m := map[string]any{"from": gbA, "to": gbP1, "uuid": "leg-in", "conversation_uuid": "CON-1",
			"status": status, "direction": "inbound", "timestamp": ts(sec)}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i].(string)] = extra[i+1]
		}
		return m
	}
	outbound := func(status string, sec int, extra ...any) map[string]any {
		m := inbound(status, sec, extra...)
		m["from"], m["to"], m["uuid"], m["direction"] = gbP1, gbB, "leg-out", "outbound"
		return m
	}
	tests := []struct {
		name        string
		answerFirst bool
		edit        func(*Config)
		mode        Mode
		events      []map[string]any
		want        []InteractionEvent
		summary     Summary
	}{
		{
			name:        "full call",
			answerFirst: true,
			events: []map[string]any{
				inbound("started", 0), inbound("ringing", 0), inbound("answered", 1),
				outbound("started", 2), outbound("ringing", 3), outbound("answered", 5),
				outbound("completed", 65, "duration", "60", "price", "0.01200000"),
				inbound("completed", 66, "duration", "65", "price", "0.00360000"),
			},
			want: []InteractionEvent{
				{Leg: "leg-in", Status: "started", At: at(0)}, {Leg: "leg-in", Status: "ringing", At: at(0)},
				{Leg: "leg-in", Status: "answered", At: at(1)}, {Leg: "leg-out", Status: "started", At: at(2)},
				{Leg: "leg-out", Status: "ringing", At: at(3)}, {Leg: "leg-out", Status: "answered", At: at(5)},
				{Leg: "leg-out", Status: "completed", At: at(65), Duration: 60, Price: "0.01200000"},
				{Leg: "leg-in", Status: "completed", At: at(66), Duration: 65, Price: "0.00360000"},
			},
			// The bridged time is the callee leg's; both legs are billed.
			summary: Summary{Status: "completed", Duration: 60, Price: "0.01560000", At: at(65)},
		},
		{
			name: "event before answer creates the interaction; duplicates ignored",
			events: []map[string]any{
				inbound("started", 0), inbound("started", 0), inbound("ringing", 1), inbound("ringing", 1),
			},
			want:    []InteractionEvent{{Leg: "leg-in", Status: "started", At: at(0)}, {Leg: "leg-in", Status: "ringing", At: at(1)}},
			summary: Summary{Status: "ringing", At: at(1)},
		},
		{
			name:        "callee busy: the callee's outcome, though the caller's leg completed",
			answerFirst: true,
			events: []map[string]any{
				inbound("completed", 30, "duration", 29), inbound("answered", 1), outbound("busy", 40, "detail", "remote_busy"),
			},
			want: []InteractionEvent{
				{Leg: "leg-in", Status: "answered", At: at(1)},
				{Leg: "leg-in", Status: "completed", At: at(30), Duration: 29},
				{Leg: "leg-out", Status: "busy", At: at(40), Detail: "remote_busy"},
			},
			summary: Summary{Status: "busy", At: at(40), Detail: "remote_busy"},
		},
		{
			name:        "unanswered",
			answerFirst: true,
			events:      []map[string]any{outbound("timeout", 60), inbound("ringing", 1)},
			want:        []InteractionEvent{{Leg: "leg-in", Status: "ringing", At: at(1)}, {Leg: "leg-out", Status: "timeout", At: at(60)}},
			summary:     Summary{Status: "timeout", At: at(60)},
		},
		{
			name:        "vetoed call: blocked at answer, stays blocked",
			answerFirst: true,
			edit: func(c *Config) {
				c.Hooks.Intercept = func(context.Context, Inbound) error { return errors.New("order on hold") }
			},
			events: []map[string]any{
				inbound("started", 0), inbound("answered", 1), inbound("completed", 6, "duration", "5", "price", "0.00050000"),
			},
			want: []InteractionEvent{
				{Leg: "leg-in", Status: EventBlocked, At: at(0), Detail: "Intercept: order on hold"},
				{Leg: "leg-in", Status: "started", At: at(0)}, {Leg: "leg-in", Status: "answered", At: at(1)},
				{Leg: "leg-in", Status: "completed", At: at(6), Duration: 5, Price: "0.00050000"},
			},
			summary: Summary{Status: EventBlocked, Duration: 5, Price: "0.00050000", At: at(0), Detail: "Intercept: order on hold"},
		},
		{
			name:        "call to an SMS-only conversation: blocked",
			answerFirst: true,
			mode:        ModeSMS,
			events:      []map[string]any{inbound("completed", 4, "duration", "3")},
			want: []InteractionEvent{
				{Leg: "leg-in", Status: EventBlocked, At: at(0), Detail: "conversation is SMS only"},
				{Leg: "leg-in", Status: "completed", At: at(4), Duration: 3},
			},
			summary: Summary{Status: EventBlocked, Duration: 3, At: at(0), Detail: "conversation is SMS only"},
		},
		{
			name:        "recording and non-status events",
			answerFirst: true,
			events: []map[string]any{
				{"conversation_uuid": "CON-1", "recording_url": "https://api.nexmo.com/v1/files/r1", "timestamp": ts(70)},
				{"conversation_uuid": "CON-1", "type": "transfer"},
			},
			want:    []InteractionEvent{{Status: "recorded", At: at(70), Detail: "https://api.nexmo.com/v1/files/r1"}},
			summary: Summary{Status: "recorded", At: at(70), Detail: "https://api.nexmo.com/v1/files/r1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestService(t, gbPool(gbP1), tt.edit)
			c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB, Mode: tt.mode})
			if tt.answerFirst {
				r := answerGET("/answer", gbA, gbP1, "leg-in")
				r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "CON-leg-in", "CON-1", 1)
				serve(s, r)
			}
			for _, ev := range tt.events {
				if w := serve(s, eventPOST(ev)); w.Code != http.StatusNoContent {
					t.Fatalf("event status %d, want 204", w.Code)
				}
			}
			ins, err := s.Interactions(t.Context(), c.ID)
			if err != nil || len(ins) != 1 {
				t.Fatalf("interactions: %d, %v; want 1", len(ins), err)
			}
			// Events keep the direction of their leg.
			for i := range tt.want {
				switch tt.want[i].Leg {
				case "leg-in":
					tt.want[i].Direction = "inbound"
				case "leg-out":
					tt.want[i].Direction = "outbound"
				}
			}
			if diff := cmp.Diff(tt.want, ins[0].Events, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.summary, Summarize(ins[0])); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
}

// Events that no retry could help are answered 204, as recorded ones are.
func TestEventsUnrecordable204(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*Config)
		req  *http.Request
	}{
		{"unknown call", nil, eventPOST(map[string]any{"from": gbC, "to": gbP1, "uuid": "x", "conversation_uuid": "CON-x", "status": "started"})},
		{"GET", nil, httptest.NewRequest(http.MethodGet, "/event?status=started&conversation_uuid=CON-y&from=1&to=2", nil)},
		{"malformed", nil, eventPOST(nil)},
		{"garbage", nil, httptest.NewRequest(http.MethodPost, "/event", strings.NewReader("{"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestService(t, gbPool(gbP1), tt.edit)
			if w := serve(s, tt.req); w.Code != http.StatusNoContent {
				t.Errorf("status %d, want 204", w.Code)
			}
		})
	}
}

func TestExpiredConversationDoesNotRoute(t *testing.T) {
	t.Parallel()
	s, clk := newTestService(t, gbPool(gbP1), nil)
	mustCreate(t, s, CreateRequest{A: gbA, B: gbB, IdleTimeout: time.Minute})
	clk.Add(time.Minute) // not swept yet
	w := serve(s, answerGET("/answer", gbA, gbP1, "u1"))
	if diff := cmp.Diff(decodeJSON(t, []byte(fallbackNCCO)), decodeJSON(t, w.Body.Bytes())); diff != "" {
		t.Errorf("NCCO (-want +got):\n%s", diff)
	}
}
