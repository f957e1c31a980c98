package sqlstore_test

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// tcpGate forwards TCP connections to a target and can cut them: while
// shut, it drops every live connection and closes new ones at once, as a
// database host that went away does.
type tcpGate struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	shut  bool
	conns map[net.Conn]struct{}
}

func newTCPGate(t *testing.T, target string) *tcpGate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &tcpGate{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); g.setShut(true) })
	go g.serve()
	return g
}

func (g *tcpGate) addr() string { return g.ln.Addr().String() }

func (g *tcpGate) serve() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		g.mu.Lock()
		if g.shut {
			g.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", g.target, 2*time.Second)
		if err != nil {
			g.mu.Unlock()
			c.Close()
			continue
		}
		g.conns[c], g.conns[up] = struct{}{}, struct{}{}
		g.mu.Unlock()
		go func() { io.Copy(up, c); up.Close() }()
		go func() { io.Copy(c, up); c.Close() }()
	}
}

// setShut cuts (true) or restores (false) the database's reachability.
func (g *tcpGate) setShut(shut bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.shut = shut
	if shut {
		for c := range g.conns {
			c.Close()
		}
		clear(g.conns)
	}
}

// TestPostgresOutage drives calls through the simulator at a Service on
// PostgreSQL whose database goes away and comes back: during the outage
// the answer URL answers 503 within the store deadline, Vonage's retry and
// fallback happen, and the fallback URL answers the spoken message (200),
// so no call is dropped and none is told a live number is dead by a 401;
// once the database is back, calls connect again.
func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	gate := newTCPGate(t, u.Host)
	u.Host = gate.addr()
	store := openPostgres(t, u.String(), schema)
	const secret = "outage-secret"
	svc, err := proxy.New(proxy.Config{
		Store:         store,
		ApplicationID: proxytest.ApplicationID,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Allocation:    proxy.AllocationConfig{LenientNumbers: true, CoolOff: -1},
		Webhooks:      proxy.WebhookConfig{SignatureSecret: secret, StoreTimeout: 300 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := svc.AddNumbers(ctx, poolNumbers(1)...); err != nil {
		t.Fatal(err)
	}
	c, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+" + person(1), B: "+" + person(2), TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	sim := &proxytest.Simulator{Handler: svc, SignatureSecret: secret}
	from, to := person(1), c.Participants[0].ProxyNumber

	before, err := sim.PlaceCall(ctx, from, to)
	if err != nil || before.Connected != person(2) {
		t.Fatalf("before the outage: %+v, %v; want a connect", before, err)
	}

	gate.setShut(true)
	start := time.Now()
	out, err := sim.PlaceCall(ctx, from, to)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("during the outage the call was lost: %v (attempts %+v)", err, out.Attempts)
	}
	if len(out.Attempts) < 3 || out.Attempts[0].Status != 503 || out.Attempts[1].Status != 503 || !out.Fallback {
		t.Errorf("attempts %+v, want 503, 503, then the fallback URL", out.Attempts)
	}
	if out.Connected != "" || len(out.Talk) == 0 {
		t.Errorf("during the outage: connected %q, talk %v; want the spoken message", out.Connected, out.Talk)
	}
	if took > 5*time.Second {
		t.Errorf("the outage call took %v: the store deadline did not bound it", took)
	}
	// An inbound SMS the store cannot take is answered 503, for Vonage to
	// redeliver; so is an event (Vonage then tries the fallback URL).
	sim.SMSAttempts = 1
	if out, err := sim.SendSMS(ctx, from, to, "are you there?"); err == nil || out.HTTPStatus[0] != http.StatusServiceUnavailable {
		t.Errorf("inbound SMS during the outage: %+v, %v; want 503", out, err)
	}
	ev := httptest.NewRequest(http.MethodGet, "/event?from="+from+"&to="+to+"&uuid=u9&conversation_uuid=CON-9&status=started", nil)
	if err := (proxy.WebhookSigner{Secret: secret, ApplicationID: proxytest.ApplicationID}).Sign(ev, nil); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, ev)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("event during the outage: %d, want 503", rec.Code)
	}
	// Vonage's last delivery of an event, to the fallback URL: taken (204)
	// and kept until the database is back, then on its call.
	late := []byte(`{"uuid":"late-leg","conversation_uuid":"` + before.ConversationUUID + `","status":"completed","duration":"7","from":"` + from + `","to":"` + to +
		`","timestamp":"2026-03-02T09:05:00Z","reason":"HTTP 503","original_request":{"url":"https://voiceproxy.example/event","type":"event"}}`)
	fb := httptest.NewRequest(http.MethodPost, "/fallback", bytes.NewReader(late))
	fb.Header.Set("Content-Type", "application/json")
	if err := (proxy.WebhookSigner{Secret: secret, ApplicationID: proxytest.ApplicationID}).Sign(fb, late); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	svc.ServeHTTP(rec, fb)
	if rec.Code != http.StatusNoContent {
		t.Errorf("event at the fallback URL during the outage: %d, want 204", rec.Code)
	}

	// The Messages API's webhooks: 503 too, which it retries.
	sim.SMSAPI = proxytest.SMSAPIMessages
	if out, err := sim.SendSMS(ctx, from, to, "still there?"); err == nil || out.HTTPStatus[0] != http.StatusServiceUnavailable {
		t.Errorf("inbound message during the outage: %+v, %v; want 503", out, err)
	}
	sim.SMSAPI = ""
	status := []byte(`{"message_uuid":"u1","to":"` + from + `","from":"` + to + `","status":"delivered","client_ref":"i1","timestamp":"2026-03-02T09:00:00Z"}`)
	st := httptest.NewRequest(http.MethodPost, "/message-status", bytes.NewReader(status))
	if err := (proxy.WebhookSigner{Secret: secret, ApplicationID: proxytest.ApplicationID}).Sign(st, status); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	svc.ServeHTTP(rec, st)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("message status during the outage: %d, want 503", rec.Code)
	}
	// A STOP the store cannot record: 503, redelivered later.
	if out, err := sim.SendSMS(ctx, from, to, "STOP"); err == nil || out.HTTPStatus[0] != http.StatusServiceUnavailable {
		t.Errorf("STOP during the outage: %+v, %v; want 503", out, err)
	}
	// Readiness, the retention sweep and an erasure say the store is gone.
	if err := svc.Ready(ctx); err == nil {
		t.Error("Ready during the outage")
	}
	if _, err := svc.PseudonymizeNow(ctx); err == nil {
		t.Error("PseudonymizeNow during the outage succeeded")
	}
	if _, err := svc.EraseParticipant(ctx, "+"+person(5)); err == nil {
		t.Error("EraseParticipant during the outage succeeded")
	}
	// The API: errors, never a half-done change.
	if _, err := svc.CloseConversation(ctx, c.ID); err == nil {
		t.Error("CloseConversation during the outage succeeded")
	}
	if _, err := svc.UpdateConversation(ctx, c.ID, proxy.Update{TTL: 2 * time.Hour}); err == nil {
		t.Error("UpdateConversation during the outage succeeded")
	}
	if _, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+" + person(3), B: "+" + person(4), Key: "job-9"}); err == nil {
		t.Error("CreateConversation during the outage succeeded")
	}

	gate.setShut(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err = sim.PlaceCall(ctx, from, to)
		if err == nil && out.Connected == person(2) && !out.Fallback && len(out.Attempts) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the database came back: %+v, %v; want a connect", out, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The event the fallback URL took during the outage is on its call.
	if _, err := svc.FlushEvents(ctx); err != nil {
		t.Fatalf("FlushEvents after the outage: %v", err)
	}
	ins, err := svc.Interactions(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	onCall := false
	for _, in := range ins {
		for _, e := range in.Events {
			onCall = onCall || (in.ExternalID == before.ConversationUUID && e.Leg == "late-leg" && e.Status == proxy.EventCompleted)
		}
	}
	if !onCall {
		t.Errorf("the event spooled during the outage is not on its call: %+v", ins)
	}
	// Nothing half-done: the conversation is still active, its end unchanged.
	got, err := svc.Conversation(ctx, c.ID)
	if err != nil || got.Status != proxy.StatusActive || got.ExpiresAt.Sub(c.ExpiresAt).Abs() > time.Millisecond { // the database keeps microseconds
		t.Errorf("after the outage: %+v, %v; want it active as it was", got, err)
	}
}
