package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/voiceproxy/voiceproxy/ncco"
)

// answerGET builds a GET answer webhook request.
func answerGET(path, from, to, uuid string) *http.Request {
	q := url.Values{"from": {from}, "to": {to}, "uuid": {uuid}, "conversation_uuid": {"CON-" + uuid}}
	return httptest.NewRequest(http.MethodGet, path+"?"+q.Encode(), nil)
}

// answerPOST builds a POST (JSON) answer webhook request.
func answerPOST(path, from, to, uuid string) *http.Request {
	b, _ := json.Marshal(map[string]string{"from": from, "to": to, "uuid": uuid, "conversation_uuid": "CON-" + uuid})
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(b)))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// serve runs one request and returns the response.
func serve(s http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

// decodeJSON decodes a body for cmp.Diff.
func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("body %q is not JSON: %v", b, err)
	}
	return v
}

func connectNCCO(from, to string) string {
	return `[{"action":"connect","from":"` + from + `","endpoint":[{"type":"phone","number":"` + to + `"}]}]`
}

const fallbackNCCO = `[{"action":"talk","text":"Sorry, the number you have called is not in service."}]`

func TestAnswer(t *testing.T) {
	t.Parallel()
	vetoed := errors.New("blocked by host")
	tests := []struct {
		name string
		pool []PoolNumber
		edit func(*Config)
		// conv creates the conversation(s); req builds the webhook from it.
		create []CreateRequest
		closed bool // close the first conversation before the call
		req    func(cs []Conversation) *http.Request
		want   string
	}{
		{
			name:   "A calls B, GET",
			pool:   gbPool(gbP1),
			create: []CreateRequest{{A: gbA, B: gbB}},
			req:    func(cs []Conversation) *http.Request { return answerGET("/answer", gbA, gbP1, "u1") },
			want:   connectNCCO(gbP1, gbB),
		},
		{
			name:   "B calls A, POST, different proxy numbers",
			pool:   []PoolNumber{{MSISDN: gbP1, Voice: true, SMS: true}, {MSISDN: usP1, Voice: true, SMS: true}},
			create: []CreateRequest{{A: gbA, B: usA}},
			req:    func(cs []Conversation) *http.Request { return answerPOST("/answer", usA, usP1, "u1") },
			want:   connectNCCO(gbP1, gbA),
		},
		{
			name:   "fallback URL answers the same",
			pool:   gbPool(gbP1),
			create: []CreateRequest{{A: gbA, B: gbB}},
			req:    func(cs []Conversation) *http.Request { return answerGET("/fallback", "+"+gbB, gbP1, "u1") },
			want:   connectNCCO(gbP1, gbA),
		},
		{
			name: "greeting, record and connect options",
			pool: gbPool(gbP1),
			edit: func(c *Config) {
				c.Calls.Greeting, c.Calls.Language = "Connecting you.", "en-GB"
				c.Calls.RecordByDefault, c.Calls.RecordingEventURL = true, "https://example.com/recordings"
				c.Calls.ConnectTimeout, c.Calls.TimeLimit = 30*time.Second, time.Hour
				c.Calls.RingbackURL = "https://example.com/ring.mp3"
			},
			create: []CreateRequest{{A: gbA, B: gbB}},
			req:    func(cs []Conversation) *http.Request { return answerGET("/answer", gbA, gbP1, "u1") },
			want: `[{"action":"record","eventUrl":["https://example.com/recordings"]},
				{"action":"talk","text":"Connecting you.","language":"en-GB"},
				{"action":"connect","from":"` + gbP1 + `","endpoint":[{"type":"phone","number":"` + gbB + `"}],
				 "timeout":30,"limit":3600,"ringbackTone":"https://example.com/ring.mp3"}]`,
		},
		{
			name: "unknown route",
			pool: gbPool(gbP1),
			req:  func(cs []Conversation) *http.Request { return answerGET("/answer", gbA, gbP1, "u1") },
			want: fallbackNCCO,
		},
		{
			name:   "stranger calls a proxy number",
			pool:   gbPool(gbP1),
			create: []CreateRequest{{A: gbA, B: gbB}},
			req:    func(cs []Conversation) *http.Request { return answerGET("/answer", gbC, gbP1, "u1") },
			want:   fallbackNCCO,
		},
		{
			name: "custom unknown-route text",
			pool: gbPool(gbP1),
			edit: func(c *Config) {
				c.Calls.UnknownRouteText, c.Calls.Language = "Dieser Anschluss ist nicht vergeben.", "de-DE"
			},
			req:  func(cs []Conversation) *http.Request { return answerGET("/answer", gbA, gbP1, "u1") },
			want: `[{"action":"talk","text":"Dieser Anschluss ist nicht vergeben.","language":"de-DE"}]`,
		},
		{
			name: "OnUnknownCall supplies the NCCO",
			pool: gbPool(gbP1),
			edit: func(c *Config) {
				c.Hooks.OnUnknownCall = func(_ context.Context, call UnknownCall) (ncco.NCCO, error) {
					return ncco.NCCO{ncco.Talk{Text: "Hello " + call.From}}, nil
				}
			},
			req:  func(cs []Conversation) *http.Request { return answerGET("/answer", gbA, gbP1, "u1") },
			want: `[{"action":"talk","text":"Hello ` + gbA + `"}]`,
		},
		{
			name: "OnUnknownCall gives an invalid NCCO",
			pool: gbPool(gbP1),
			edit: func(c *Config) {
				c.Hooks.OnUnknownCall = func(context.Context, UnknownCall) (ncco.NCCO, error) {
					return ncco.NCCO{ncco.Connect{}}, nil
				}
			},
			req:  func(cs []Conversation) *http.Request { return answerGET("/answer", gbA, gbP1, "u1") },
			want: fallbackNCCO,
		},
		{
			name: "OnUnknownCall fails",
			pool: gbPool(gbP1),
			edit: func(c *Config) {
				c.Hooks.OnUnknownCall = func(context.Context, UnknownCall) (ncco.NCCO, error) { return nil, errors.New("down") }
			},
			req:  func(cs []Conversation) *http.Request { return answerGET("/answer", gbA, gbP1, "u1") },
			want: fallbackNCCO,
		},
		{
			name:   "closed conversation",
			pool:   gbPool(gbP1),
			create: []CreateRequest{{A: gbA, B: gbB}},
			closed: true,
			req:    func(cs []Conversation) *http.Request { return answerGET("/answer", gbA, gbP1, "u1") },
			want:   fallbackNCCO,
		},
		{
			name:   "SMS-only conversation",
			pool:   gbPool(gbP1),
			create: []CreateRequest{{A: gbA, B: gbB, Mode: ModeSMS}},
			req:    func(cs []Conversation) *http.Request { return answerGET("/answer", gbA, gbP1, "u1") },
			want:   fallbackNCCO,
		},
		{
			name:   "vetoed by Intercept",
			pool:   gbPool(gbP1),
			edit:   func(c *Config) { c.Hooks.Intercept = func(context.Context, Inbound) error { return vetoed } },
			create: []CreateRequest{{A: gbA, B: gbB}},
			req:    func(cs []Conversation) *http.Request { return answerGET("/answer", gbA, gbP1, "u1") },
			want:   fallbackNCCO,
		},
		{
			name: "missing parameters",
			pool: gbPool(gbP1),
			req:  func(cs []Conversation) *http.Request { return httptest.NewRequest(http.MethodGet, "/answer", nil) },
			want: fallbackNCCO,
		},
		{
			name: "anonymous caller",
			pool: gbPool(gbP1),
			req:  func(cs []Conversation) *http.Request { return answerGET("/answer", "Unknown", gbP1, "u1") },
			want: fallbackNCCO,
		},
		{
			name: "malformed JSON",
			pool: gbPool(gbP1),
			req: func(cs []Conversation) *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/answer", strings.NewReader(`{"from":`))
				r.Header.Set("Content-Type", "application/json")
				return r
			},
			want: fallbackNCCO,
		},
		{
			name: "bad escape in query",
			pool: gbPool(gbP1),
			req: func(cs []Conversation) *http.Request {
				return httptest.NewRequest(http.MethodGet, "/answer?from=%zz&to=1", nil)
			},
			want: fallbackNCCO,
		},
		{
			name: "store error on the fallback URL",
			pool: gbPool(gbP1),
			edit: func(c *Config) { c.Store = failingStore{Store: c.Store, err: errors.New("database down")} },
			req:  func(cs []Conversation) *http.Request { return answerGET("/fallback", gbA, gbP1, "u1") },
			want: fallbackNCCO,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestService(t, tt.pool, tt.edit)
			var cs []Conversation
			for _, req := range tt.create {
				cs = append(cs, mustCreate(t, s, req))
			}
			if tt.closed {
				if _, err := s.CloseConversation(t.Context(), cs[0].ID); err != nil {
					t.Fatal(err)
				}
			}
			w := serve(s, tt.req(cs))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", w.Code)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if diff := cmp.Diff(decodeJSON(t, []byte(tt.want)), decodeJSON(t, w.Body.Bytes())); diff != "" {
				t.Errorf("NCCO (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnswerRecordsCallOnce(t *testing.T) {
	t.Parallel()
	var seen []Interaction
	s, clk := newTestService(t, gbPool(gbP1), func(c *Config) {
		c.Hooks.OnInteraction = func(_ context.Context, in Interaction) { seen = append(seen, in) }
	})
	c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB, IdleTimeout: time.Minute})
	clk.Add(50 * time.Second)
	for range 2 { // Vonage may deliver the answer webhook twice
		if w := serve(s, answerGET("/answer", gbA, gbP1, "u1")); w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
	}
	ins, err := s.Interactions(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []Interaction{{ConversationID: c.ID, Kind: KindCall, ExternalID: "CON-u1", From: gbA, To: gbP1, CreatedAt: clk.Now()}}
	if diff := cmp.Diff(want, ins, cmpIgnoreIDs, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("interactions (-want +got):\n%s", diff)
	}
	if len(seen) != 1 {
		t.Errorf("OnInteraction called %d times, want 1", len(seen))
	}
	// The call counted as activity: the idle deadline moved.
	clk.Add(50 * time.Second)
	if got, _ := s.Conversation(t.Context(), c.ID); got.Status != StatusActive {
		t.Errorf("status after activity %q, want active", got.Status)
	}
}

func TestWebhookMethodsAndPaths(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, nil, nil)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodPut, "/answer", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/event", http.StatusMethodNotAllowed},
		{http.MethodGet, "/nope", http.StatusNotFound},
	} {
		if w := serve(s, httptest.NewRequest(tc.method, tc.path, nil)); w.Code != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, w.Code, tc.want)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]Config{
		"bad recording URL": {Calls: CallConfig{RecordByDefault: true, RecordingEventURL: "ftp://x"}},
		"bad ringback":      {Calls: CallConfig{RingbackURL: "ftp://x"}},
		"negative ttl":      {Conversations: ConversationConfig{DefaultTTL: -1}},
		"bad geo policy":    {Allocation: AllocationConfig{GeoFallback: 7}},
	} {
		cfg.Webhooks.SignatureSecret = "s" // so that the setting under test is what fails
		if _, err := New(cfg); err == nil || errors.Is(err, ErrUnsignedWebhooks) {
			t.Errorf("%s: New = %v, want the setting refused", name, err)
		}
	}
}

// The appended answer NCCO must be exactly what encoding the typed NCCO
// gives, for every shape of Config.
func TestAppendAnswerMatchesTypedNCCO(t *testing.T) {
	t.Parallel()
	for name, edit := range map[string]func(*Config){
		"plain":    nil,
		"greeting": func(c *Config) { c.Calls.Greeting, c.Calls.Language = `Say "hi" <now> & then`, "en-GB" },
		"all options": func(c *Config) {
			c.Calls.Greeting, c.Calls.RecordByDefault, c.Calls.RecordingEventURL = "Hello", true, "https://example.com/rec?a=1&b=2"
			c.Calls.RecordingNotice = "This call is recorded."
			c.Calls.ConnectTimeout, c.Calls.TimeLimit, c.Calls.RingbackURL = 20*time.Second, 90*time.Second, "https://example.com/r.mp3"
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestService(t, nil, edit)
			for _, record := range []bool{false, true} {
				want, err := json.Marshal(s.answerNCCO(record, gbP1, usA))
				if err != nil {
					t.Fatal(err)
				}
				got := s.appendAnswer(nil, record, gbP1, usA)
				if diff := cmp.Diff(string(want), string(got)); diff != "" {
					t.Errorf("encoding (-want +got):\n%s", diff)
				}
				n, err := ncco.Unmarshal(got)
				if err != nil {
					t.Fatal(err)
				}
				if err := n.Validate(); err != nil {
					t.Errorf("appended NCCO invalid: %v", err)
				}
				if _, isRec := n[0].(ncco.Record); isRec != record {
					t.Errorf("record %v: NCCO starts with %T", record, n[0])
				}
			}
		})
	}
	if _, err := New(Config{Calls: CallConfig{Greeting: "x" + fromMarker}}); err == nil {
		t.Error("New accepted a greeting containing the template marker")
	}
}
