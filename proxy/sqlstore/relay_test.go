package sqlstore_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/sms"
)

// relayService is a Service on store sending SMS through v, on clock now.
func relayService(t *testing.T, store proxy.Store, v *proxytest.Vonage, now func() time.Time) *proxy.Service {
	t.Helper()
	smsClient, err := sms.NewClient(proxytest.APIKey, proxytest.APISecret,
		sms.WithHTTPClient(v.Client()), sms.WithBaseURL(proxytest.InProcessURL))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := proxy.New(proxy.Config{
		Store: store,
		Now:   now,
		// the simulator's
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		SMS:        proxy.SMSConfig{Sender: smsClient},
		Allocation: proxy.AllocationConfig{LenientNumbers: true, CoolOff: -1},
		Webhooks:   proxy.WebhookConfig{SignatureSecret: proxytest.SignatureSecret, StoreTimeout: 5 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// An SMS accepted by one process whose relay had not gone through when
// it stopped is relayed by the next process on the same database.
func TestRelaySurvivesRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "voiceproxy.db")
	clock := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	v := proxytest.NewVonage(proxytest.WithClock(now))

	store := openSQLite(t, path)
	svc := relayService(t, store, v, now)
	if err := svc.AddNumbers(ctx, poolNumbers(1)...); err != nil {
		t.Fatal(err)
	}
	c, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+" + person(1), B: "+" + person(2), TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	v.FailNext(proxytest.APISMS, http.StatusServiceUnavailable) // the first process's try fails
	sim := &proxytest.Simulator{Handler: svc, Now: now}
	if out, err := sim.SendSMS(ctx, person(1), c.Participants[0].ProxyNumber, "are you there?"); err != nil || out.HTTPStatus[0] != 200 {
		t.Fatalf("SendSMS = %+v, %v", out, err)
	}
	if n := len(v.Outbox()); n != 0 {
		t.Fatalf("%d sent before the restart", n)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	clock = clock.Add(time.Minute)
	svc2 := relayService(t, openSQLite(t, path), v, now)
	if n, err := svc2.RelayNow(ctx); err != nil || n != 1 {
		t.Fatalf("RelayNow after the restart = %d, %v; want the one job", n, err)
	}
	sent := v.Outbox()
	if len(sent) != 1 || sent[0].To != person(2) || sent[0].Text != "are you there?" {
		t.Fatalf("sent %+v, want the SMS relayed to %s", sent, person(2))
	}
	ins, err := svc2.Interactions(ctx, c.ID)
	if err != nil || len(ins) != 1 || proxy.Summarize(ins[0]).Status != proxy.EventRelayed {
		t.Errorf("interactions %+v, %v; want the SMS relayed", ins, err)
	}
}

// Two instances on one PostgreSQL database, both sweeping relays at once
// while the same inbound SMS is delivered to each: it is sent once.
func TestRelayOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	ctx := t.Context()
	now := time.Now
	v := proxytest.NewVonage()
	a := relayService(t, openPostgres(t, dsn, schema), v, now)
	b := relayService(t, openPostgres(t, dsn, schema), v, now)
	if err := a.AddNumbers(ctx, poolNumbers(1)...); err != nil {
		t.Fatal(err)
	}
	c, err := a.CreateConversation(ctx, proxy.CreateRequest{A: "+" + person(1), B: "+" + person(2), TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	const messages = 20
	for range messages {
		v.FailNext(proxytest.APISMS, http.StatusServiceUnavailable) // leave every first try to the sweeps
	}
	var wg sync.WaitGroup
	for i := range messages {
		params := map[string]string{"msisdn": person(1), "to": c.Participants[0].ProxyNumber, "messageId": "MSG" + string(rune('A'+i)),
			"text": "hello", "type": "text", "message-timestamp": "2026-03-02 09:00:00"}
		for _, svc := range []*proxy.Service{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				post(t, svc, params)
			}()
		}
	}
	wg.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for len(v.Outbox()) < messages && time.Now().Before(deadline) {
		var sweeps sync.WaitGroup
		for _, svc := range []*proxy.Service{a, b} {
			sweeps.Add(1)
			go func() {
				defer sweeps.Done()
				if _, err := svc.RelayNow(ctx); err != nil {
					t.Errorf("RelayNow: %v", err)
				}
			}()
		}
		sweeps.Wait()
		time.Sleep(200 * time.Millisecond)
	}
	sent := v.Outbox()
	if len(sent) != messages {
		t.Fatalf("%d SMS sent for %d inbound messages delivered to two instances, want %d", len(sent), messages, messages)
	}
}

// post delivers an inbound-SMS webhook to h as a form.
func post(t *testing.T, h http.Handler, params map[string]string) {
	t.Helper()
	form := url.Values{}
	for k, val := range params {
		form.Set(k, val)
	}
	// Signed as Vonage signs, with the secret relayService and
	// privacyService configure, now unless params say when.
	if form.Get("timestamp") == "" {
		form.Set("timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	}
	sms.SignParams(form, proxytest.SignatureSecret, sms.MD5Hash)
	req, _ := http.NewRequest(http.MethodPost, "/inbound-sms", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("inbound SMS: status %d", rec.Code)
	}
}
