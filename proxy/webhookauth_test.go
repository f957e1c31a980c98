package proxy_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/sms"
)

// New fails closed: a Config that would accept unsigned voice, Messages or
// SMS API webhooks is refused unless it says Webhooks.InsecureUnsigned.
func TestNewRefusesUnsignedWebhooks(t *testing.T) {
	t.Parallel()
	quiet := slog.New(slog.DiscardHandler)
	tests := []struct {
		name    string
		cfg     proxy.Config
		wantErr bool
		want    string // in the error
	}{
		{name: "zero Config", cfg: proxy.Config{}, wantErr: true, want: "Webhooks.SignatureSecret (voice and Messages API webhooks) and Webhooks.SMSSignatureSecret"},
		{name: "SMS secret only", cfg: proxy.Config{Webhooks: proxy.WebhookConfig{SMSSignatureSecret: "s"}}, wantErr: true, want: "set Webhooks.SignatureSecret (voice"},
		{name: "rotation list without an SMS secret", cfg: proxy.Config{Webhooks: proxy.WebhookConfig{SignatureSecrets: []proxy.SignatureSecret{{Secret: "s"}}}}, wantErr: true, want: "set Webhooks.SMSSignatureSecret"},
		{name: "one secret covers both", cfg: proxy.Config{Webhooks: proxy.WebhookConfig{SignatureSecret: "s"}}},
		{name: "rotation list and an SMS secret", cfg: proxy.Config{Webhooks: proxy.WebhookConfig{SignatureSecrets: []proxy.SignatureSecret{{Secret: "s"}}, SMSSignatureSecret: "t"}}},
		{name: "explicit opt-out", cfg: proxy.Config{Webhooks: proxy.WebhookConfig{InsecureUnsigned: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Logger = quiet
			_, err := proxy.New(tt.cfg)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, proxy.ErrUnsignedWebhooks) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "Webhooks.InsecureUnsigned") {
				t.Errorf("New = %v; want ErrUnsignedWebhooks naming %q and the opt-out", err, tt.want)
			}
		})
	}
}

// The opt-out is loud: New logs a warning saying what it exposes.
func TestInsecureUnsignedWarns(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	_, err := proxy.New(proxy.Config{Logger: slog.New(slog.NewTextHandler(&buf, nil)), Webhooks: proxy.WebhookConfig{InsecureUnsigned: true}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), "real numbers") {
		t.Errorf("no warning at New:\n%s", buf.String())
	}
	buf.Reset()
	if _, err := proxy.New(proxy.Config{Logger: slog.New(slog.NewTextHandler(&buf, nil)), Webhooks: proxy.WebhookConfig{InsecureUnsigned: true, SignatureSecret: "s"}}); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Errorf("a warning although every webhook is verified:\n%s", buf.String())
	}
}

// The attacks a participant could make on a Service configured with only
// a signature secret (the documented minimum): reading the other side's
// real number from a forged answer webhook, keying a PIN on a forged
// input webhook, and making the Service text a number with a forged SMS.
// Each is refused with a 401 that shows no number.
func TestForgedWebhooksRefusedByDefault(t *testing.T) {
	t.Parallel()
	sender := &recordingSender{}
	svc, err := proxy.New(proxy.Config{
		Logger:   slog.New(slog.DiscardHandler),
		Webhooks: proxy.WebhookConfig{SignatureSecret: proxytest.SignatureSecret},
		SMS:      proxy.SMSConfig{Sender: sender, AutoReply: "Not in use."},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.AddNumbers(t.Context(), proxy.PoolNumber{MSISDN: "447700900001", Country: "GB", Voice: true, SMS: true}); err != nil {
		t.Fatal(err)
	}
	c, err := svc.CreateConversation(t.Context(), proxy.CreateRequest{A: "+44 7400 123456", B: "+44 7400 654321"})
	if err != nil {
		t.Fatal(err)
	}
	proxyA := c.Participants[0].ProxyNumber
	forged := []*http.Request{
		httptest.NewRequest(http.MethodGet, "/answer?from=447400123456&to="+proxyA+"&uuid=u1&conversation_uuid=CON-1", nil),
		httptest.NewRequest(http.MethodPost, "/answer", strings.NewReader(`{"from":"447400123456","to":"`+proxyA+`","uuid":"u2","conversation_uuid":"CON-2"}`)),
		httptest.NewRequest(http.MethodPost, "/fallback", strings.NewReader(`{"from":"447400123456","to":"`+proxyA+`","uuid":"u3","conversation_uuid":"CON-3"}`)),
		httptest.NewRequest(http.MethodPost, "/input", strings.NewReader(`{"from":"447400123456","to":"`+proxyA+`","uuid":"u4","dtmf":{"digits":"123456"}}`)),
		httptest.NewRequest(http.MethodGet, "/inbound-sms?msisdn=447911000111&to="+proxyA+"&messageId=m1&text=hi&type=text", nil),
		httptest.NewRequest(http.MethodPost, "/inbound-message", strings.NewReader(`{"channel":"sms","message_uuid":"m2","from":"447911000111","to":"`+proxyA+`","text":"hi","message_type":"text"}`)),
		httptest.NewRequest(http.MethodPost, "/event", strings.NewReader(`{"uuid":"u1","conversation_uuid":"CON-1","status":"completed","from":"447400123456","to":"`+proxyA+`"}`)),
	}
	badlySigned := httptest.NewRequest(http.MethodPost, "/inbound-message", strings.NewReader(`{"channel":"sms","message_uuid":"m3","from":"447911000111","to":"`+proxyA+`","text":"hi","message_type":"text"}`))
	badlySigned.Header.Set("Authorization", "Bearer forged")
	forged = append(forged, badlySigned)
	for _, r := range forged {
		w := httptest.NewRecorder()
		svc.ServeHTTP(w, r)
		want := http.StatusUnauthorized
		if r.URL.Path == "/inbound-message" && r.Header.Get("Authorization") == "" {
			// An unsigned Messages callback may be Vonage's after an
			// internal error: 503, so that it comes again signed.
			want = http.StatusServiceUnavailable
		}
		if w.Code != want {
			t.Errorf("%s %s: %d, want %d", r.Method, r.URL.Path, w.Code, want)
		}
		if strings.Contains(w.Body.String(), "447400654321") {
			t.Errorf("%s %s: the answer holds B's real number: %s", r.Method, r.URL.Path, w.Body)
		}
	}
	if n := sender.count(); n != 0 {
		t.Errorf("forged SMS made the Service send %d SMS", n)
	}
	if ins, _ := svc.Interactions(t.Context(), c.ID); len(ins) != 0 {
		t.Errorf("forged webhooks recorded %+v", ins)
	}
}

// recordingSender is an SMSSender that counts what it is asked to send.
type recordingSender struct {
	mu  sync.Mutex
	msg []sms.Message
}

func (r *recordingSender) Send(_ context.Context, m sms.Message) (*sms.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msg = append(r.msg, m)
	return &sms.Response{}, nil
}

func (r *recordingSender) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msg)
}
