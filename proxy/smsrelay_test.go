package proxy

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/voiceproxy/voiceproxy/sms"
)

// fakeSMS records sent messages; sends to numbers in fail fail.
type fakeSMS struct {
	mu   sync.Mutex
	sent []sms.Message
	fail map[string]error
}

func (f *fakeSMS) Send(_ context.Context, m sms.Message) (*sms.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail[m.To]; err != nil {
		return nil, err
	}
	f.sent = append(f.sent, m)
	id := "out-" + strconv.Itoa(len(f.sent))
	return &sms.Response{MessageCount: 1, Messages: []sms.MessageStatus{{To: m.To, MessageID: id, Status: "0", MessagePrice: "0.0333"}}}, nil
}

func (f *fakeSMS) Sent() []sms.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sms.Message(nil), f.sent...)
}

// inboundParams is an inbound-SMS webhook's parameters.
func inboundParams(from, to, id, text string) url.Values {
	return url.Values{
		"msisdn": {from}, "to": {to}, "messageId": {id}, "text": {text}, "type": {"text"},
		"keyword": {strings.ToUpper(strings.Fields(text + " x")[0])}, "message-timestamp": {"2026-03-01 12:00:00"},
	}
}

func smsGET(v url.Values) *http.Request {
	return httptest.NewRequest(http.MethodGet, "/inbound-sms?"+v.Encode(), nil)
}

func smsPOSTForm(v url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/inbound-sms", strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func part(v url.Values, ref string, n, total int) url.Values {
	v.Set("concat", "true")
	v.Set("concat-ref", ref)
	v.Set("concat-part", strconv.Itoa(n))
	v.Set("concat-total", strconv.Itoa(total))
	return v
}

func TestInboundSMS(t *testing.T) {
	t.Parallel()
	diffPool := []PoolNumber{{MSISDN: gbP1, Voice: true, SMS: true}, {MSISDN: usP1, Voice: true, SMS: true}}
	blocked := errors.New("contains a phone number")
	tests := []struct {
		name     string
		pool     []PoolNumber
		edit     func(*Config)
		create   *CreateRequest
		reqs     []*http.Request
		wantSent []sms.Message
		// wantEvents are the statuses of the single interaction; nil: no interaction.
		wantEvents []string
		wantText   string
	}{
		{
			name:       "A texts B",
			create:     &CreateRequest{A: gbA, B: usA},
			pool:       diffPool,
			reqs:       []*http.Request{smsGET(inboundParams(gbA, gbP1, "m1", "On my way"))},
			wantSent:   []sms.Message{{From: usP1, To: usA, Text: "On my way"}},
			wantEvents: []string{"relayed"},
		},
		{
			name:       "B texts A, form POST, body stored",
			create:     &CreateRequest{A: gbA, B: usA},
			pool:       diffPool,
			edit:       func(c *Config) { c.SMS.StoreBodies = true },
			reqs:       []*http.Request{smsPOSTForm(inboundParams(usA, usP1, "m1", "Where are you?"))},
			wantSent:   []sms.Message{{From: gbP1, To: gbA, Text: "Where are you?"}},
			wantEvents: []string{"relayed"},
			wantText:   "Where are you?",
		},
		{
			name:   "duplicate delivery relayed once",
			create: &CreateRequest{A: gbA, B: gbB},
			reqs: []*http.Request{
				smsGET(inboundParams(gbA, gbP1, "m1", "hi")), smsGET(inboundParams(gbA, gbP1, "m1", "hi")),
			},
			wantSent:   []sms.Message{{From: gbP1, To: gbB, Text: "hi"}},
			wantEvents: []string{"relayed"},
		},
		{
			name:   "multipart relayed once, whole, in order",
			create: &CreateRequest{A: gbA, B: gbB},
			reqs: []*http.Request{
				smsGET(part(inboundParams(gbA, gbP1, "p2", "world, "), "7", 2, 3)),
				smsGET(part(inboundParams(gbA, gbP1, "p1", "Hello "), "7", 1, 3)),
				smsGET(part(inboundParams(gbA, gbP1, "p3", "again"), "7", 3, 3)),
				smsGET(part(inboundParams(gbA, gbP1, "p3", "again"), "7", 3, 3)), // redelivered
			},
			wantSent:   []sms.Message{{From: gbP1, To: gbB, Text: "Hello world, again"}},
			wantEvents: []string{"relayed"},
		},
		{
			name:     "unknown route, no auto-reply",
			reqs:     []*http.Request{smsGET(inboundParams(gbC, gbP1, "m1", "hello?"))},
			wantSent: nil,
		},
		{
			name:     "unknown route, auto-reply from the dialed number",
			edit:     func(c *Config) { c.SMS.AutoReply = "This number is no longer in use." },
			reqs:     []*http.Request{smsGET(inboundParams(gbC, gbP1, "m1", "hello?"))},
			wantSent: []sms.Message{{From: gbP1, To: gbC, Text: "This number is no longer in use."}},
		},
		{
			name:     "alphanumeric sender gets no reply",
			edit:     func(c *Config) { c.SMS.AutoReply = "This number is no longer in use." },
			reqs:     []*http.Request{smsGET(inboundParams("ACME", gbP1, "m1", "promo"))},
			wantSent: nil,
		},
		{
			name:       "vetoed by Intercept",
			create:     &CreateRequest{A: gbA, B: gbB},
			edit:       func(c *Config) { c.Hooks.Intercept = func(context.Context, Inbound) error { return blocked } },
			reqs:       []*http.Request{smsGET(inboundParams(gbA, gbP1, "m1", "call me on 07123"))},
			wantEvents: []string{"blocked"},
		},
		{
			name:       "voice-only conversation",
			create:     &CreateRequest{A: gbA, B: gbB, Mode: ModeVoice},
			reqs:       []*http.Request{smsGET(inboundParams(gbA, gbP1, "m1", "hi"))},
			wantEvents: []string{"blocked"},
		},
		{
			name:       "send fails",
			create:     &CreateRequest{A: gbA, B: gbB},
			edit:       func(c *Config) { c.SMS.Sender.(*fakeSMS).fail = map[string]error{gbB: errors.New("throttled")} },
			reqs:       []*http.Request{smsGET(inboundParams(gbA, gbP1, "m1", "hi"))},
			wantEvents: []string{"failed"},
		},
		{
			name:       "no SMS sender",
			create:     &CreateRequest{A: gbA, B: gbB},
			edit:       func(c *Config) { c.SMS.Sender = nil },
			reqs:       []*http.Request{smsGET(inboundParams(gbA, gbP1, "m1", "hi"))},
			wantEvents: []string{"failed"},
		},
		{
			name:   "malformed webhook",
			create: &CreateRequest{A: gbA, B: gbB},
			reqs:   []*http.Request{smsGET(url.Values{"msisdn": {gbA}})},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sender := &fakeSMS{}
			pool := tt.pool
			if pool == nil {
				pool = gbPool(gbP1)
			}
			s, _ := newTestService(t, pool, func(c *Config) {
				c.SMS.Sender = sender
				if tt.edit != nil {
					tt.edit(c)
				}
			})
			var conv Conversation
			if tt.create != nil {
				conv = mustCreate(t, s, *tt.create)
			}
			for i, r := range tt.reqs {
				if w := serve(s, r); w.Code != http.StatusOK {
					t.Fatalf("request %d: status %d, want 200", i, w.Code)
				}
			}
			var ins []Interaction
			if tt.create != nil {
				var err error
				if ins, err = s.Interactions(t.Context(), conv.ID); err != nil {
					t.Fatal(err)
				}
			}
			// A relayed SMS's client-ref is its interaction's ID, which
			// its delivery receipt carries back.
			for i := range tt.wantSent {
				if len(ins) == 1 {
					tt.wantSent[i].ClientRef = ins[0].ID
				}
			}
			if diff := cmp.Diff(tt.wantSent, sender.Sent(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
			if tt.create == nil {
				return
			}
			if tt.wantEvents == nil {
				if len(ins) != 0 {
					t.Errorf("interactions = %+v, want none", ins)
				}
				return
			}
			if len(ins) != 1 {
				t.Fatalf("interactions = %+v, want one", ins)
			}
			var got []string
			for _, ev := range ins[0].Events {
				got = append(got, string(ev.Status))
			}
			if diff := cmp.Diff(tt.wantEvents, got); diff != "" {
				t.Errorf("event statuses (-want +got):\n%s", diff)
			}
			if ins[0].Kind != KindSMS || ins[0].Text != tt.wantText {
				t.Errorf("interaction kind %q text %q, want sms %q", ins[0].Kind, ins[0].Text, tt.wantText)
			}
		})
	}
}

func TestInboundSMSSignature(t *testing.T) {
	t.Parallel()
	const secret = "sms-secret"
	signed := func(v url.Values, secret string, ts int64) url.Values {
		v.Set("timestamp", strconv.FormatInt(ts, 10))
		v.Set("nonce", "n-"+strconv.FormatInt(ts, 10))
		sms.SignParams(v, secret, sms.SHA256)
		return v
	}
	tests := []struct {
		name     string
		params   url.Values
		wantCode int
		relayed  bool
	}{
		{"valid", signed(inboundParams(gbA, gbP1, "m1", "hi"), secret, testNow.Unix()), http.StatusOK, true},
		{"missing sig", inboundParams(gbA, gbP1, "m1", "hi"), http.StatusUnauthorized, false},
		{"wrong secret", signed(inboundParams(gbA, gbP1, "m1", "hi"), "other", testNow.Unix()), http.StatusUnauthorized, false},
		{"stale", signed(inboundParams(gbA, gbP1, "m1", "hi"), secret, testNow.Unix()-3600), http.StatusUnauthorized, false},
		{"tampered", func() url.Values {
			v := signed(inboundParams(gbA, gbP1, "m1", "hi"), secret, testNow.Unix())
			v.Set("text", "send money")
			return v
		}(), http.StatusUnauthorized, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sender := &fakeSMS{}
			s, _ := newTestService(t, gbPool(gbP1), func(c *Config) {
				c.SMS.Sender, c.Webhooks.SMSSignatureSecret, c.Webhooks.SMSSignatureMethod = sender, secret, sms.SHA256
			})
			mustCreate(t, s, CreateRequest{A: gbA, B: gbB})
			if w := serve(s, smsPOSTForm(tt.params)); w.Code != tt.wantCode {
				t.Fatalf("status %d, want %d", w.Code, tt.wantCode)
			}
			if got := len(sender.Sent()) == 1; got != tt.relayed {
				t.Errorf("relayed = %v, want %v", got, tt.relayed)
			}
		})
	}
}

// A sender's concat-ref is only 0–255, so it comes round again: a new
// multipart message with a ref already used must be relayed with its own
// text, never mistaken for a redelivery of the old message, and an old
// message that lost a part must not merge into the new one.
func TestInboundSMSReusedConcatRef(t *testing.T) {
	t.Parallel()
	type step struct {
		advance time.Duration // clock moves this much before the request
		req     *http.Request
	}
	msg := func(ref string, ids [2]string, texts [2]string) []step {
		return []step{
			{req: smsGET(part(inboundParams(gbA, gbP1, ids[0], texts[0]), ref, 1, 2))},
			{req: smsGET(part(inboundParams(gbA, gbP1, ids[1], texts[1]), ref, 2, 2))},
		}
	}
	tests := []struct {
		name  string
		steps []step
		want  []string // texts relayed to B, in order
	}{
		{
			name: "same ref twice in sequence",
			steps: slices.Concat(
				msg("42", [2]string{"a1", "a2"}, [2]string{"First ", "message"}),
				msg("42", [2]string{"b1", "b2"}, [2]string{"Second ", "message"}),
			),
			want: []string{"First message", "Second message"},
		},
		{
			name: "full redelivery after completion relayed once",
			steps: slices.Concat(
				msg("42", [2]string{"a1", "a2"}, [2]string{"First ", "message"}),
				msg("42", [2]string{"a1", "a2"}, [2]string{"First ", "message"}),
				msg("42", [2]string{"b1", "b2"}, [2]string{"Second ", "message"}),
			),
			want: []string{"First message", "Second message"},
		},
		{
			name: "incomplete old message, same ref more than a day later",
			steps: []step{
				{req: smsGET(part(inboundParams(gbA, gbP1, "a1", "Lost "), "42", 1, 2))}, // part 2 never arrives
				{advance: 25 * time.Hour, req: smsGET(part(inboundParams(gbA, gbP1, "b2", "message"), "42", 2, 2))},
				{advance: time.Second, req: smsGET(part(inboundParams(gbA, gbP1, "b1", "New "), "42", 1, 2))},
			},
			want: []string{"New message"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sender := &fakeSMS{}
			s, clk := newTestService(t, gbPool(gbP1), func(c *Config) {
				c.SMS.Sender = sender
				c.Conversations.DefaultTTL = 48 * time.Hour
			})
			mustCreate(t, s, CreateRequest{A: gbA, B: gbB})
			for i, st := range tt.steps {
				clk.Add(st.advance)
				if w := serve(s, st.req); w.Code != http.StatusOK {
					t.Fatalf("request %d: status %d, want 200", i, w.Code)
				}
			}
			var got []string
			for _, m := range sender.Sent() {
				if m.To != gbB {
					t.Errorf("sent to %s, want %s", m.To, gbB)
				}
				got = append(got, m.Text)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("texts relayed (-want +got):\n%s", diff)
			}
		})
	}
}
