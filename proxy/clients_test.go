package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/voiceproxy/voiceproxy/insight"
	"github.com/voiceproxy/voiceproxy/numbers"
	"github.com/voiceproxy/voiceproxy/sms"
)

func TestNotify(t *testing.T) {
	t.Parallel()
	down := errors.New("sms down")
	tests := []struct {
		name       string
		edit       func(*Config)
		req        CreateRequest
		fail       map[string]error
		wantSent   []sms.Message
		wantFailed []string
	}{
		{
			name: "both notified with labels",
			req:  CreateRequest{A: gbA, B: gbB, Notify: true, Labels: Labels{A: "your rider", B: "your driver"}},
			wantSent: []sms.Message{
				{From: gbP1, To: gbA, Text: "Call or text this number to reach your driver."},
				{From: gbP1, To: gbB, Text: "Call or text this number to reach your rider."},
			},
		},
		{
			name: "template and default label",
			edit: func(c *Config) {
				c.Conversations.NotifyTemplate, c.Conversations.DefaultLabel = "Reach {label} here.", "your host"
			},
			req: CreateRequest{A: gbA, B: gbB, Notify: true, Labels: Labels{A: "your guest"}},
			wantSent: []sms.Message{
				{From: gbP1, To: gbA, Text: "Reach your host here."},
				{From: gbP1, To: gbB, Text: "Reach your guest here."},
			},
		},
		{
			name:     "voice-only wording",
			req:      CreateRequest{A: gbA, B: gbB, Notify: true, Mode: ModeVoice},
			wantSent: []sms.Message{{From: gbP1, To: gbA, Text: "Call this number to reach your contact."}, {From: gbP1, To: gbB, Text: "Call this number to reach your contact."}},
		},
		{
			name:       "B fails",
			req:        CreateRequest{A: gbA, B: gbB, Notify: true},
			fail:       map[string]error{gbB: down},
			wantSent:   []sms.Message{{From: gbP1, To: gbA, Text: "Call or text this number to reach your contact."}},
			wantFailed: []string{"B"},
		},
		{
			name:       "both fail",
			req:        CreateRequest{A: gbA, B: gbB, Notify: true},
			fail:       map[string]error{gbA: down, gbB: down},
			wantFailed: []string{"A", "B"},
		},
		{
			name:       "no sender",
			edit:       func(c *Config) { c.SMS.Sender = nil },
			req:        CreateRequest{A: gbA, B: gbB, Notify: true},
			wantFailed: []string{"A", "B"},
		},
		{
			name: "not asked",
			req:  CreateRequest{A: gbA, B: gbB},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sender := &fakeSMS{fail: tt.fail}
			s, _ := newTestService(t, gbPool(gbP1), func(c *Config) {
				c.SMS.Sender = sender
				if tt.edit != nil {
					tt.edit(c)
				}
			})
			c, err := s.CreateConversation(t.Context(), tt.req)
			if c.ID == "" {
				t.Fatalf("no conversation returned (err %v)", err)
			}
			if _, gerr := s.Conversation(t.Context(), c.ID); gerr != nil {
				t.Fatalf("conversation not kept: %v", gerr)
			}
			var got []string
			var ne *NotifyError
			if errors.As(err, &ne) {
				for _, side := range []Side{SideA, SideB} {
					if ne.Failed[side] != nil {
						got = append(got, side.String())
					}
				}
				if tt.fail != nil && !errors.Is(err, down) {
					t.Errorf("NotifyError does not wrap the cause: %v", err)
				}
			} else if err != nil {
				t.Fatalf("error %v, want nil or *NotifyError", err)
			}
			if diff := cmp.Diff(tt.wantFailed, got); diff != "" {
				t.Errorf("failed participants (-want +got):\n%s", diff)
			}
			// Each notification is an interaction, whose ID is its SMS's
			// client-ref (its delivery receipt lands there).
			ins, err := s.Interactions(t.Context(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			refs := map[string]string{} // participant → client-ref
			for _, in := range ins {
				if in.Kind != KindNotification {
					t.Errorf("interaction %+v, want only notifications", in)
				}
				refs[in.To] = in.ID
				if st := Summarize(in).Status; st != EventSent && st != EventFailed {
					t.Errorf("notification to %s: status %q, want sent or failed", in.To, st)
				}
			}
			for i := range tt.wantSent {
				tt.wantSent[i].ClientRef = refs[tt.wantSent[i].To]
			}
			sent := sender.Sent()
			if len(sent) == 2 && sent[0].To != gbA {
				sent[0], sent[1] = sent[1], sent[0] // sent in parallel
			}
			if diff := cmp.Diff(tt.wantSent, sent); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
		})
	}
}

// fakeInsight answers Basic lookups from a table of errors by number.
type fakeInsight struct {
	errs  map[string]error
	delay time.Duration
}

func (f fakeInsight) Basic(ctx context.Context, req insight.Request) (*insight.BasicResponse, error) {
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := f.errs[req.Number]; err != nil {
		return nil, err
	}
	return &insight.BasicResponse{InternationalFormatNumber: req.Number}, nil
}

func TestInsightCheck(t *testing.T) {
	t.Parallel()
	invalid := &insight.Error{HTTPStatus: 200, Status: 3, StatusMessage: "Invalid request"}
	outage := &insight.Error{HTTPStatus: 503}
	tests := []struct {
		name      string
		ins       fakeInsight
		timeout   time.Duration
		wantIs    []error
		wantNotIs error
		field     string
	}{
		{name: "both valid"},
		{name: "B invalid", ins: fakeInsight{errs: map[string]error{gbB: invalid}}, wantIs: []error{ErrInvalidNumber, insight.ErrInvalidRequest}, field: "B"},
		// Status 5 reads "the format of the recipient address is not
		// valid": a bad number, not an outage.
		{name: "A's format refused (status 5)", ins: fakeInsight{errs: map[string]error{gbA: &insight.Error{HTTPStatus: 200, Status: 5, StatusMessage: "Internal Error"}}},
			wantIs: []error{ErrInvalidNumber, insight.ErrInvalidNumber}, wantNotIs: ErrInsightUnavailable, field: "A"},
		{name: "outage is not invalid", ins: fakeInsight{errs: map[string]error{gbA: outage}}, wantIs: []error{ErrInsightUnavailable, insight.ErrInternal}, wantNotIs: ErrInvalidNumber, field: "A"},
		{name: "bounded by the context", ins: fakeInsight{delay: time.Minute}, timeout: 20 * time.Millisecond, wantIs: []error{ErrInsightUnavailable, context.DeadlineExceeded}, wantNotIs: ErrInvalidNumber},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestService(t, gbPool(gbP1), func(c *Config) { c.Allocation.Insight = tt.ins })
			ctx := t.Context()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			_, err := s.CreateConversation(ctx, CreateRequest{A: gbA, B: gbB})
			if len(tt.wantIs) == 0 {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			for _, want := range tt.wantIs {
				if !errors.Is(err, want) {
					t.Errorf("error %v, want errors.Is %v", err, want)
				}
			}
			if tt.wantNotIs != nil && errors.Is(err, tt.wantNotIs) {
				t.Errorf("error %v must not match %v", err, tt.wantNotIs)
			}
			var ne *NumberError
			var ie *InsightError
			switch {
			case errors.As(err, &ne) && ne.Field != tt.field:
				t.Errorf("NumberError.Field %q, want %q", ne.Field, tt.field)
			case errors.As(err, &ie) && tt.field != "" && ie.Side.String() != tt.field:
				t.Errorf("InsightError.Side %q, want %q", ie.Side, tt.field)
			}
			if cs, _, _ := s.Conversations(t.Context(), ListFilter{}); len(cs) != 0 {
				t.Errorf("%d conversations stored, want none", len(cs))
			}
		})
	}
}

// fakeNumbers serves ListAll from a fixed list and records Update calls.
type fakeNumbers struct {
	owned   []numbers.OwnedNumber
	fail    map[string]error
	updates []numbers.UpdateRequest
}

func (f *fakeNumbers) ListAll(context.Context, numbers.ListOptions) ([]numbers.OwnedNumber, error) {
	return f.owned, nil
}

func (f *fakeNumbers) Update(_ context.Context, req numbers.UpdateRequest) error {
	if err := f.fail[req.MSISDN]; err != nil {
		return err
	}
	f.updates = append(f.updates, req)
	return nil
}

func TestSyncNumbers(t *testing.T) {
	t.Parallel()
	both := []string{numbers.FeatureVoice, numbers.FeatureSMS}
	api := &fakeNumbers{
		owned: []numbers.OwnedNumber{
			{Country: "GB", MSISDN: gbP1, Features: both, AppID: "app-1"},
			{Country: "GB", MSISDN: gbP2, Features: []string{numbers.FeatureVoice}},
			{Country: "US", MSISDN: usP1, Features: both, AppID: "other-app"},
			{Country: "GB", MSISDN: gbP3, Features: []string{numbers.FeatureMMS}},
			{Country: "GB", MSISDN: "447700900009", Features: both},
		},
		fail: map[string]error{"447700900009": &numbers.Error{HTTPStatus: 420, Code: "420", Label: "Numbers from this country can be requested from the Dashboard"}},
	}
	s, _ := newTestService(t, nil, func(c *Config) { c.Pool.Numbers, c.ApplicationID = api, "app-1" })
	res, err := s.SyncNumbers(t.Context())
	var nerr *numbers.Error
	if !errors.As(err, &nerr) || !errorsContain(err, "447700900009") {
		t.Errorf("error %v, want the failed link of 447700900009", err)
	}
	want := SyncResult{
		Kept:    []PoolNumber{{MSISDN: gbP1, Country: "GB", Voice: true, SMS: true}},
		Linked:  []PoolNumber{{MSISDN: gbP2, Country: "GB", Voice: true}},
		Skipped: []string{usP1, gbP3},
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]numbers.UpdateRequest{{Country: "GB", MSISDN: gbP2, AppID: "app-1"}}, api.updates); diff != "" {
		t.Errorf("updates (-want +got):\n%s", diff)
	}
	pool, _ := s.Pool(t.Context())
	if diff := cmp.Diff(append(want.Kept, want.Linked...), pool); diff != "" {
		t.Errorf("pool (-want +got):\n%s", diff)
	}

	s2, _ := newTestService(t, nil, nil)
	if _, err := s2.SyncNumbers(t.Context()); err == nil {
		t.Error("SyncNumbers without a Numbers client succeeded")
	}
}

// With Config.Webhooks.InboundSMSURL, SyncNumbers points the SMS numbers'
// inbound-SMS webhook at it (the SMS API setting), linking and keeping
// as before; numbers already pointed there, and voice-only ones, are not
// touched.
func TestSyncNumbersInboundSMSURL(t *testing.T) {
	t.Parallel()
	const url = "https://proxy.example.com/vonage/inbound-sms"
	both := []string{numbers.FeatureVoice, numbers.FeatureSMS}
	api := &fakeNumbers{owned: []numbers.OwnedNumber{
		{Country: "GB", MSISDN: gbP1, Features: both, AppID: "app-1"},
		{Country: "GB", MSISDN: gbP2, Features: both, AppID: "app-1", MoHTTPURL: url},
		{Country: "GB", MSISDN: gbP3, Features: both},
		{Country: "US", MSISDN: usP1, Features: []string{numbers.FeatureVoice}},
	}}
	s, _ := newTestService(t, nil, func(c *Config) { c.Pool.Numbers, c.ApplicationID, c.Webhooks.InboundSMSURL = api, "app-1", url })
	res, err := s.SyncNumbers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{gbP1, gbP3}, res.Routed); diff != "" {
		t.Errorf("routed (-want +got):\n%s", diff)
	}
	want := []numbers.UpdateRequest{
		{Country: "GB", MSISDN: gbP1, AppID: "app-1", MoHTTPURL: url},
		{Country: "GB", MSISDN: gbP3, AppID: "app-1", MoHTTPURL: url},
		{Country: "US", MSISDN: usP1, AppID: "app-1"},
	}
	if diff := cmp.Diff(want, api.updates); diff != "" {
		t.Errorf("updates (-want +got):\n%s", diff)
	}
}

func errorsContain(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }

func TestPoolNumbers(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, nil, nil)
	ctx := t.Context()
	if err := s.AddNumbers(ctx, PoolNumber{MSISDN: "+44 7700 900001", Voice: true}, PoolNumber{MSISDN: "0012015550001", Country: "us", SMS: true}); err != nil {
		t.Fatal(err)
	}
	want := []PoolNumber{{MSISDN: gbP1, Country: "GB", Voice: true}, {MSISDN: usP1, Country: "US", SMS: true}}
	got, err := s.Pool(ctx)
	if diff := cmp.Diff(want, got); err != nil || diff != "" {
		t.Errorf("pool (-want +got):\n%s %v", diff, err)
	}
	var ne *NumberError
	if err := s.AddNumbers(ctx, PoolNumber{MSISDN: gbP2}, PoolNumber{MSISDN: "nope"}); !errors.As(err, &ne) || ne.Field != "PoolNumber[1]" {
		t.Errorf("bad number: %v, want *NumberError for PoolNumber[1]", err)
	}
	if got, _ := s.Pool(ctx); len(got) != 2 {
		t.Errorf("pool has %d numbers after a rejected add, want 2", len(got))
	}
	if err := s.RemoveNumber(ctx, "+"+gbP1); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveNumber(ctx, gbP1); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove twice: %v, want ErrNotFound", err)
	}
}

func TestSignedVoiceWebhooks(t *testing.T) {
	t.Parallel()
	const secret = "voice-secret"
	tests := []struct {
		name     string
		sign     func(r *http.Request, body []byte) error
		wantCode int
	}{
		{"valid", WebhookSigner{Secret: secret, Now: func() time.Time { return testNow }}.Sign, http.StatusOK},
		{"wrong secret", WebhookSigner{Secret: "x", Now: func() time.Time { return testNow }}.Sign, http.StatusUnauthorized},
		{"unsigned", func(*http.Request, []byte) error { return nil }, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestService(t, gbPool(gbP1), func(c *Config) { c.Webhooks.SignatureSecret = secret })
			conv := mustCreate(t, s, CreateRequest{A: gbA, B: gbB})
			body := []byte(fmt.Sprintf(`{"conversation_uuid":"CON-u1","from":%q,"to":%q,"uuid":"u1"}`, gbA, gbP1))
			r := answerPOSTBody(body)
			if err := tt.sign(r, body); err != nil {
				t.Fatal(err)
			}
			w := serve(s, r)
			if w.Code != tt.wantCode {
				t.Fatalf("answer status %d, want %d", w.Code, tt.wantCode)
			}
			evBody := []byte(`{"conversation_uuid":"CON-u1","from":"` + gbA + `","status":"answered","to":"` + gbP1 + `","uuid":"u1"}`)
			ev := eventPOSTBody(evBody)
			if err := tt.sign(ev, evBody); err != nil {
				t.Fatal(err)
			}
			wantEvent := http.StatusNoContent
			if tt.wantCode != http.StatusOK {
				wantEvent = tt.wantCode
			}
			if w := serve(s, ev); w.Code != wantEvent {
				t.Fatalf("event status %d, want %d", w.Code, wantEvent)
			}
			ins, _ := s.Interactions(t.Context(), conv.ID)
			if routed := len(ins) > 0; routed != (tt.wantCode == http.StatusOK) {
				t.Errorf("interactions %d; a rejected webhook must record nothing", len(ins))
			}
		})
	}
}
