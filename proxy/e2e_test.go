package proxy_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/sms"
)

// End-to-end tests: a Service driven through its webhook handler by the
// proxytest simulator, as Vonage would drive it.

const (
	e2eRider     = "447400123456"
	e2eDriver    = "447400654321"
	e2eStranger  = "447400111222"
	e2eUSDriver  = "12015550123"
	e2eSecret    = "e2e-signature-secret"
	notInService = "Sorry, the number you have called is not in service."
)

// e2eClock is a settable clock shared by the service and the simulator.
type e2eClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *e2eClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *e2eClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type e2eEnv struct {
	svc    *proxy.Service
	vonage *proxytest.Vonage
	sim    *proxytest.Simulator
	clock  *e2eClock
}

// newE2E builds a Service on the memory store with a GB pool of two
// numbers and a US one, SMS sent through the simulated Vonage, signed
// webhooks (voice and SMS) when secret is set, and a simulator aimed at
// its handler. edit may change the config before New.
func newE2E(t *testing.T, secret string, edit func(*proxy.Config)) *e2eEnv {
	t.Helper()
	return newE2EOn(t, proxytest.SMSAPISMS, secret, edit)
}

// newE2EOn is newE2E with SMS on the transport smsAPI: the SMS API (its
// inbound-SMS webhook and delivery receipts) or the Messages API (its
// inbound message webhook, sends and status webhooks).
func newE2EOn(t *testing.T, smsAPI, secret string, edit func(*proxy.Config)) *e2eEnv {
	t.Helper()
	clock := &e2eClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	v := proxytest.NewVonage(proxytest.WithClock(clock.Now), proxytest.WithApplication(proxytest.ApplicationID, &e2eAppKey(t).PublicKey))
	var smsClient proxy.SMSSender
	var err error
	if smsAPI == proxytest.SMSAPIMessages {
		smsClient, err = sms.NewMessagesClient(sms.MessagesAuth{ApplicationID: proxytest.ApplicationID, PrivateKey: e2eAppKeyPEM(t)},
			sms.WithHTTPClient(v.Client()), sms.WithBaseURL(proxytest.InProcessURL+"/v1/messages"), sms.WithClock(clock.Now))
	} else {
		smsClient, err = sms.NewClient(proxytest.APIKey, proxytest.APISecret,
			sms.WithHTTPClient(v.Client()), sms.WithBaseURL(proxytest.InProcessURL))
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg := proxy.Config{
		Store:         proxy.NewMemoryStore(),
		ApplicationID: proxytest.ApplicationID,
		// call control is on with ApplicationKey (withCallControl)
		Now:         clock.Now,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		SMS:         proxy.SMSConfig{Sender: smsClient},
		Webhooks:    proxy.WebhookConfig{SignatureSecret: secret, SMSSignatureSecret: secret},
		CallControl: proxy.CallControlConfig{HTTPClient: v.Client()},
	}
	if edit != nil {
		edit(&cfg)
	}
	svc, err := proxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = svc.AddNumbers(t.Context(),
		proxy.PoolNumber{MSISDN: "447700900001", Country: "GB", Voice: true, SMS: true},
		proxy.PoolNumber{MSISDN: "447700900002", Country: "GB", Voice: true, SMS: true},
		proxy.PoolNumber{MSISDN: "12015550100", Country: "US", Voice: true, SMS: true})
	if err != nil {
		t.Fatal(err)
	}
	sim := &proxytest.Simulator{Handler: svc, SignatureSecret: secret, Vonage: v, Now: clock.Now, SMSAPI: smsAPI}
	v.Attach(sim)
	if smsAPI == proxytest.SMSAPIMessages {
		v.StatusTo(svc, "/message-status", secret)
	}
	return &e2eEnv{svc: svc, vonage: v, sim: sim, clock: clock}
}

func (e *e2eEnv) create(t *testing.T, req proxy.CreateRequest) proxy.Conversation {
	t.Helper()
	if req.A == "" {
		req.A, req.B = "+44 7400 123456", "+44 7400 654321"
	}
	c, err := e.svc.CreateConversation(t.Context(), req)
	if err != nil {
		t.Fatalf("CreateConversation: %v", err)
	}
	return c
}

// call places a call and fails the test on a transport or NCCO error.
func (e *e2eEnv) call(t *testing.T, from, to string) *proxytest.CallOutcome {
	t.Helper()
	out, err := e.sim.PlaceCall(t.Context(), from, to)
	if err != nil {
		t.Fatalf("PlaceCall(%s → %s): %v", from, to, err)
	}
	return out
}

// refused checks that the call was answered with the spoken refusal and
// not connected.
func refused(t *testing.T, out *proxytest.CallOutcome) {
	t.Helper()
	if out.Connected != "" || out.HTTPStatus != http.StatusOK {
		t.Errorf("call connected to %q (HTTP %d), want it refused", out.Connected, out.HTTPStatus)
	}
	if diff := cmp.Diff([]string{notInService}, out.Talk); diff != "" {
		t.Errorf("spoken (-want +got):\n%s", diff)
	}
}

func TestE2EMaskedCallBothDirections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method   string
		driver         string // B's real number
		proxyA, proxyB string // the proxy numbers expected
	}{
		{"same country GET", proxytest.MethodGET, e2eDriver, "447700900001", "447700900001"},
		{"same country POST", proxytest.MethodPOST, e2eDriver, "447700900001", "447700900001"},
		{"across countries", proxytest.MethodGET, e2eUSDriver, "447700900001", "12015550100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, e2eSecret, nil)
			e.sim.AnswerMethod = tt.method
			c := e.create(t, proxy.CreateRequest{A: "+44 7400 123456", B: "+" + tt.driver})
			a, b := c.Participants[0], c.Participants[1]
			if a.ProxyNumber != tt.proxyA || b.ProxyNumber != tt.proxyB {
				t.Fatalf("proxy numbers %s and %s, want %s and %s", a.ProxyNumber, b.ProxyNumber, tt.proxyA, tt.proxyB)
			}

			out := e.call(t, e2eRider, tt.proxyA)
			if out.Connected != tt.driver || out.CallerID != tt.proxyB {
				t.Errorf("rider's call reached %q showing %q, want %q showing %q", out.Connected, out.CallerID, tt.driver, tt.proxyB)
			}
			if strings.Contains(string(out.Raw), e2eRider) {
				t.Errorf("the NCCO reveals the rider's number: %s", out.Raw)
			}
			back := e.call(t, tt.driver, tt.proxyB)
			if back.Connected != e2eRider || back.CallerID != tt.proxyA {
				t.Errorf("driver's call reached %q showing %q, want %q showing %q", back.Connected, back.CallerID, e2eRider, tt.proxyA)
			}
			if strings.Contains(string(back.Raw), tt.driver) {
				t.Errorf("the NCCO reveals the driver's number: %s", back.Raw)
			}

			ins, err := e.svc.Interactions(t.Context(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(ins) != 2 {
				t.Fatalf("interactions = %+v, want 2 calls", ins)
			}
			for i, want := range []struct{ from, to, ext string }{
				{e2eRider, tt.proxyA, out.ConversationUUID},
				{tt.driver, tt.proxyB, back.ConversationUUID},
			} {
				in := ins[i]
				if in.Kind != proxy.KindCall || in.From != want.from || in.To != want.to || in.ExternalID != want.ext {
					t.Errorf("interaction %d = %+v, want call %s → %s (%s)", i, in, want.from, want.to, want.ext)
				}
				sum := proxy.Summarize(in)
				if sum.Status != "completed" || sum.Duration < 42 || sum.Price == "" {
					t.Errorf("interaction %d summary = %+v, want completed, at least 42 s (the simulated call), with a price", i, sum)
				}
			}
		})
	}
}

func TestE2ECallRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*proxy.Config)
		// act sets the scene after the conversation is created and
		// returns the call to place.
		act func(t *testing.T, e *e2eEnv, c proxy.Conversation) (from, to string)
	}{
		{"after close", nil, func(t *testing.T, e *e2eEnv, c proxy.Conversation) (string, string) {
			if _, err := e.svc.CloseConversation(t.Context(), c.ID); err != nil {
				t.Fatal(err)
			}
			return e2eRider, c.Participants[0].ProxyNumber
		}},
		{"after expiry", nil, func(t *testing.T, e *e2eEnv, c proxy.Conversation) (string, string) {
			e.clock.Advance(2 * time.Hour) // the conversation's TTL is 1h
			return e2eDriver, c.Participants[1].ProxyNumber
		}},
		{"after expiry swept", nil, func(t *testing.T, e *e2eEnv, c proxy.Conversation) (string, string) {
			e.clock.Advance(time.Hour)
			if n, err := e.svc.ExpireNow(t.Context()); err != nil || n != 1 {
				t.Fatalf("ExpireNow = %d, %v; want 1", n, err)
			}
			return e2eRider, c.Participants[0].ProxyNumber
		}},
		{"unknown caller", nil, func(t *testing.T, e *e2eEnv, c proxy.Conversation) (string, string) {
			return e2eStranger, c.Participants[0].ProxyNumber
		}},
		{"wrong proxy number", nil, func(t *testing.T, e *e2eEnv, c proxy.Conversation) (string, string) {
			return e2eRider, "447700900999"
		}},
		{"intercept veto", func(cfg *proxy.Config) {
			cfg.Hooks.Intercept = func(ctx context.Context, in proxy.Inbound) error {
				if in.Kind == proxy.KindCall && in.Conversation.Metadata["order"] == "blocked" {
					return errors.New("order is on hold")
				}
				return nil
			}
		}, func(t *testing.T, e *e2eEnv, c proxy.Conversation) (string, string) {
			return e2eRider, c.Participants[0].ProxyNumber
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, e2eSecret, tt.edit)
			c := e.create(t, proxy.CreateRequest{TTL: time.Hour, Metadata: map[string]string{"order": "blocked"}})
			from, to := tt.act(t, e, c)
			refused(t, e.call(t, from, to))
		})
	}
}

func TestE2EInterceptAllows(t *testing.T) {
	t.Parallel()
	var seen []proxy.Inbound
	var mu sync.Mutex
	e := newE2E(t, e2eSecret, func(cfg *proxy.Config) {
		cfg.Hooks.Intercept = func(ctx context.Context, in proxy.Inbound) error {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, in)
			return nil
		}
	})
	c := e.create(t, proxy.CreateRequest{})
	if out := e.call(t, e2eDriver, c.Participants[1].ProxyNumber); out.Connected != e2eRider {
		t.Errorf("connected to %q, want the rider", out.Connected)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0].Sender != 1 || seen[0].Conversation.ID != c.ID {
		t.Errorf("Intercept saw %+v, want one call from participant 1", seen)
	}
}

func TestE2ESignedCalls(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		secret   string // the simulator's
		unsigned bool
		method   string
		modify   func(*http.Request)
	}{
		{name: "unsigned", unsigned: true},
		{name: "wrong secret", secret: "not-the-secret"},
		{name: "tampered body", secret: e2eSecret, method: proxytest.MethodPOST, modify: func(r *http.Request) {
			body := `{"from":"` + e2eStranger + `","to":"447700900001","uuid":"u","conversation_uuid":"CON-x"}`
			r.Body = io.NopCloser(strings.NewReader(body))
			r.ContentLength = int64(len(body))
		}},
		{name: "tampered token", secret: e2eSecret, modify: func(r *http.Request) {
			r.Header.Set("Authorization", r.Header.Get("Authorization")+"x")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, e2eSecret, nil)
			c := e.create(t, proxy.CreateRequest{})
			e.sim.SignatureSecret, e.sim.Unsigned, e.sim.AnswerMethod, e.sim.Modify = tt.secret, tt.unsigned, tt.method, tt.modify
			out, err := e.sim.PlaceCall(t.Context(), e2eRider, c.Participants[0].ProxyNumber)
			var we *proxytest.WebhookError
			if !errors.As(err, &we) || we.Status != http.StatusUnauthorized || out.Connected != "" {
				t.Errorf("PlaceCall = %+v, %v; want a 401 and no connection", out, err)
			}
			if ins, _ := e.svc.Interactions(t.Context(), c.ID); len(ins) != 0 {
				t.Errorf("a refused webhook recorded %+v", ins)
			}
		})
	}
}

func TestE2EReplayedWebhookRefused(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eSecret, nil)
	c := e.create(t, proxy.CreateRequest{})
	var saved *http.Request
	e.sim.Modify = func(r *http.Request) {
		if saved == nil && r.URL.Path == "/answer" {
			saved = r.Clone(context.Background())
		}
	}
	e.call(t, e2eRider, c.Participants[0].ProxyNumber)
	rec := &statusWriter{header: http.Header{}}
	e.svc.ServeHTTP(rec, saved)
	if rec.status != http.StatusUnauthorized {
		t.Errorf("a replayed answer webhook got %d, want 401", rec.status)
	}
}

// statusWriter is the least http.ResponseWriter that keeps the status.
type statusWriter struct {
	header http.Header
	status int
}

func (w *statusWriter) Header() http.Header { return w.header }
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(b), nil
}
func (w *statusWriter) WriteHeader(code int) { w.status = code }

// text sends an SMS and fails the test on a transport error or refusal.
func (e *e2eEnv) text(t *testing.T, from, to, body string) *proxytest.SMSOutcome {
	t.Helper()
	out, err := e.sim.SendSMS(t.Context(), from, to, body)
	if err != nil {
		t.Fatalf("SendSMS(%s → %s): %v", from, to, err)
	}
	return out
}

func TestE2EPrivateSMS(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("The gate code is 4521, third floor. ", 6) // 216 characters: two parts
	tests := []struct {
		name, method, text string
		fromB              bool // the driver texts, instead of the rider
	}{
		{"rider to driver, form POST", proxytest.MethodPOST, "I'm at the corner", false},
		{"driver to rider, GET", proxytest.MethodGET, "Two minutes away", true},
		{"driver to rider, JSON", proxytest.MethodJSON, "Blue Prius", true},
		{"multipart", proxytest.MethodPOST, long, false},
		{"unicode", proxytest.MethodPOST, "Merci, à tout de suite 🚗", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, e2eSecret, nil)
			e.sim.SMSMethod = tt.method
			c := e.create(t, proxy.CreateRequest{A: "+" + e2eRider, B: "+" + e2eUSDriver})
			a, b := c.Participants[0], c.Participants[1]
			from, to, wantTo, wantFrom := e2eRider, a.ProxyNumber, e2eUSDriver, b.ProxyNumber
			if tt.fromB {
				from, to, wantTo, wantFrom = e2eUSDriver, b.ProxyNumber, e2eRider, a.ProxyNumber
			}
			out := e.text(t, from, to, tt.text)
			if len(out.Relayed) != 1 {
				t.Fatalf("relayed %+v, want one SMS", out.Relayed)
			}
			got := out.Relayed[0]
			if got.From != wantFrom || got.To != wantTo || got.Text != tt.text {
				t.Errorf("relayed %q from %s to %s, want %q from %s to %s", got.Text, got.From, got.To, tt.text, wantFrom, wantTo)
			}
			if strings.Contains(got.Text, from) {
				t.Errorf("the relayed SMS reveals the sender's number: %q", got.Text)
			}
			ins, err := e.svc.Interactions(t.Context(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(ins) != 1 || ins[0].Kind != proxy.KindSMS || ins[0].From != from || ins[0].To != to || proxy.Summarize(ins[0]).Status != "relayed" {
				t.Errorf("interactions = %+v, want one relayed SMS from %s to %s", ins, from, to)
			}
		})
	}
}

func TestE2ENotify(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eSecret, nil)
	c := e.create(t, proxy.CreateRequest{Notify: true, Labels: proxy.Labels{A: "your rider", B: "your driver"}})
	got := map[string]string{}
	for _, m := range e.vonage.Outbox() {
		if m.From != c.Participants[0].ProxyNumber {
			t.Errorf("notification sent from %s, want the proxy number", m.From)
		}
		got[m.To] = m.Text
	}
	if len(got) != 2 || !strings.Contains(got[e2eRider], "your driver") || !strings.Contains(got[e2eDriver], "your rider") {
		t.Errorf("notifications = %v, want each participant told how to reach the other", got)
	}
}

func TestE2ESMSNotRelayed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*proxy.Config)
		act  func(t *testing.T, e *e2eEnv, c proxy.Conversation) (from, to string)
	}{
		{"unknown sender", nil, func(t *testing.T, e *e2eEnv, c proxy.Conversation) (string, string) {
			return e2eStranger, c.Participants[0].ProxyNumber
		}},
		{"after close", nil, func(t *testing.T, e *e2eEnv, c proxy.Conversation) (string, string) {
			if _, err := e.svc.CloseConversation(t.Context(), c.ID); err != nil {
				t.Fatal(err)
			}
			return e2eDriver, c.Participants[1].ProxyNumber
		}},
		{"after expiry", nil, func(t *testing.T, e *e2eEnv, c proxy.Conversation) (string, string) {
			e.clock.Advance(61 * time.Minute)
			return e2eRider, c.Participants[0].ProxyNumber
		}},
		{"voice-only conversation", nil, func(t *testing.T, e *e2eEnv, c proxy.Conversation) (string, string) {
			if _, err := e.svc.CloseConversation(t.Context(), c.ID); err != nil {
				t.Fatal(err)
			}
			v := e.create(t, proxy.CreateRequest{Mode: proxy.ModeVoice})
			return e2eRider, v.Participants[0].ProxyNumber
		}},
		{"intercept veto", func(cfg *proxy.Config) {
			cfg.Hooks.Intercept = func(ctx context.Context, in proxy.Inbound) error {
				if in.Kind == proxy.KindSMS && strings.Contains(in.Text, "cash") {
					return errors.New("off-platform payment")
				}
				return nil
			}
		}, func(t *testing.T, e *e2eEnv, c proxy.Conversation) (string, string) {
			return e2eRider, c.Participants[0].ProxyNumber
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, e2eSecret, tt.edit)
			c := e.create(t, proxy.CreateRequest{TTL: time.Hour})
			from, to := tt.act(t, e, c)
			out := e.text(t, from, to, "pay me cash instead")
			if len(out.Relayed) != 0 || out.HTTPStatus[0] != http.StatusOK {
				t.Errorf("relayed %+v (HTTP %v), want nothing relayed and a 200", out.Relayed, out.HTTPStatus)
			}
			if n := len(e.vonage.Outbox()); n != 0 {
				t.Errorf("the outbox has %d SMS", n)
			}
		})
	}
}

func TestE2ESignedSMS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		secret    string // the simulator's
		unsigned  bool
		method    sms.SigMethod
		svcMethod sms.SigMethod
		modify    func(*http.Request)
		wantOK    bool
	}{
		{name: "signed md5hash", secret: e2eSecret, wantOK: true},
		{name: "signed sha256", secret: e2eSecret, method: sms.SHA256, svcMethod: sms.SHA256, wantOK: true},
		{name: "unsigned", unsigned: true},
		{name: "wrong secret", secret: "not-the-secret"},
		{name: "wrong method", secret: e2eSecret, method: sms.SHA512, svcMethod: sms.SHA256},
		{name: "tampered text", secret: e2eSecret, modify: func(r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			body := strings.Replace(string(b), "See+you", "Pay+me", 1)
			r.Body = io.NopCloser(strings.NewReader(body))
			r.ContentLength = int64(len(body))
		}},
		{name: "tampered sender", secret: e2eSecret, modify: func(r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			body := strings.Replace(string(b), "msisdn="+e2eRider, "msisdn="+e2eDriver, 1)
			r.Body = io.NopCloser(strings.NewReader(body))
			r.ContentLength = int64(len(body))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, e2eSecret, func(cfg *proxy.Config) { cfg.Webhooks.SMSSignatureMethod = tt.svcMethod })
			c := e.create(t, proxy.CreateRequest{})
			e.sim.SignatureSecret, e.sim.Unsigned, e.sim.SigMethod, e.sim.Modify = tt.secret, tt.unsigned, tt.method, tt.modify
			out, err := e.sim.SendSMS(t.Context(), e2eRider, c.Participants[0].ProxyNumber, "See you soon")
			if tt.wantOK {
				if err != nil || len(out.Relayed) != 1 || out.Relayed[0].Text != "See you soon" {
					t.Errorf("SendSMS = %+v, %v; want it relayed", out, err)
				}
				return
			}
			var we *proxytest.WebhookError
			if !errors.As(err, &we) || we.Status != http.StatusUnauthorized {
				t.Errorf("SendSMS error = %v, want a 401", err)
			}
			if len(e.vonage.Outbox()) != 0 {
				t.Errorf("a refused webhook was relayed: %+v", e.vonage.Outbox())
			}
		})
	}
}

func TestE2EConcurrentTraffic(t *testing.T) {
	t.Parallel()
	e := newE2E(t, e2eSecret, nil)
	c1 := e.create(t, proxy.CreateRequest{A: "+" + e2eRider, B: "+" + e2eDriver})
	c2 := e.create(t, proxy.CreateRequest{A: "+" + e2eStranger, B: "+" + e2eUSDriver})
	type leg struct{ from, to, reaches string }
	legs := []leg{
		{e2eRider, c1.Participants[0].ProxyNumber, e2eDriver},
		{e2eDriver, c1.Participants[1].ProxyNumber, e2eRider},
		{e2eStranger, c2.Participants[0].ProxyNumber, e2eUSDriver},
		{e2eUSDriver, c2.Participants[1].ProxyNumber, e2eStranger},
	}
	const rounds = 5
	var wg sync.WaitGroup
	for i := range rounds * len(legs) {
		l := legs[i%len(legs)]
		wg.Add(2)
		go func() {
			defer wg.Done()
			out, err := e.sim.PlaceCall(t.Context(), l.from, l.to)
			if err != nil || out.Connected != l.reaches {
				t.Errorf("call %s → %s: %+v, %v; want it to reach %s", l.from, l.to, out, err, l.reaches)
			}
		}()
		go func() {
			defer wg.Done()
			out, err := e.sim.SendSMS(t.Context(), l.from, l.to, "hello")
			if err != nil || len(out.HTTPStatus) != 1 {
				t.Errorf("sms %s → %s: %v", l.from, l.to, err)
			}
		}()
	}
	wg.Wait()
	delivered := map[string]int{}
	for _, m := range e.vonage.Outbox() {
		delivered[m.To]++
	}
	want := map[string]int{e2eRider: rounds, e2eDriver: rounds, e2eStranger: rounds, e2eUSDriver: rounds}
	if diff := cmp.Diff(want, delivered); diff != "" {
		t.Errorf("SMS delivered per participant (-want +got):\n%s", diff)
	}
	for _, c := range []proxy.Conversation{c1, c2} {
		ins, err := e.svc.Interactions(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ins) != 4*rounds {
			t.Errorf("conversation %s has %d interactions, want %d", c.ID, len(ins), 4*rounds)
		}
	}
}

// BenchmarkE2EMaskedCall measures one simulated call end to end through
// the Service's handler: the signed answer webhook and its eight signed
// event webhooks, on the memory store.
func BenchmarkE2EMaskedCall(b *testing.B) {
	clock := &e2eClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	svc, err := proxy.New(proxy.Config{
		Store:    proxy.NewMemoryStore(),
		Now:      clock.Now,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Webhooks: proxy.WebhookConfig{SignatureSecret: e2eSecret},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := svc.AddNumbers(ctx, proxy.PoolNumber{MSISDN: "447700900001", Country: "GB", Voice: true, SMS: true}); err != nil {
		b.Fatal(err)
	}
	c, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: e2eRider, B: e2eDriver})
	if err != nil {
		b.Fatal(err)
	}
	sim := &proxytest.Simulator{Handler: svc, SignatureSecret: e2eSecret, Now: clock.Now}
	b.ReportAllocs()
	for b.Loop() {
		out, err := sim.PlaceCall(ctx, e2eRider, c.Participants[0].ProxyNumber)
		if err != nil || out.Connected != e2eDriver {
			b.Fatalf("%+v %v", out, err)
		}
	}
}
