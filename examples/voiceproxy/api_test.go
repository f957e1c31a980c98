package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestAppWith serves the demo in sandbox mode with cfg (its DB,
// Getenv and Logger default to an in-memory store, no environment and
// no logs).
func newTestAppWith(t *testing.T, cfg appConfig) *httptest.Server {
	t.Helper()
	if cfg.DB == "" {
		cfg.DB = ":memory:"
	}
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg.PublicURL, cfg.Listen = "http://demo.test", "127.0.0.1:0"
	h, cleanup, err := newApp(t.Context(), cfg)
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		cleanup()
	})
	return srv
}

// apiCall sends one JSON request to srv and returns the status, the
// headers and the raw body.
func apiCall(t *testing.T, srv *httptest.Server, method, path, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// createIn creates a conversation between a and b on srv and returns it.
func createIn(t *testing.T, srv *httptest.Server, a, b string) conversationJSON {
	t.Helper()
	code, _, body := apiCall(t, srv, "POST", "/conversations", `{"a":"`+a+`","b":"`+b+`"}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	var c conversationJSON
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// A message to a participant who sent STOP is a known condition: 409
// opted_out, not a 500.
func TestMessageToOptedOutParticipant(t *testing.T) {
	t.Parallel()
	srv := newTestAppWith(t, appConfig{})
	c := createIn(t, srv, "+447700900123", "+447700900456")
	b := c.Participants[1]
	if code, _, body := apiCall(t, srv, "POST", "/sandbox/sms", `{"from":"+`+b.Number+`","to":"+`+b.ProxyNumber+`","text":"STOP"}`); code != http.StatusOK {
		t.Fatalf("STOP: %d %s", code, body)
	}
	code, _, body := apiCall(t, srv, "POST", "/conversations/"+c.ID+"/messages", `{"side":"b","text":"your driver is here"}`)
	if code != http.StatusConflict || errorCode(body) != "opted_out" || !strings.Contains(body, "STOP") {
		t.Errorf("message after STOP = %d %s, want 409 opted_out", code, body)
	}
	// The other side still gets messages.
	if code, _, body := apiCall(t, srv, "POST", "/conversations/"+c.ID+"/messages", `{"side":"a","text":"your rider is here"}`); code != http.StatusCreated {
		t.Errorf("message to a = %d %s, want 201", code, body)
	}
}

// gate is a TCP proxy in front of PostgreSQL that can cut the database
// off, as proxy/sqlstore's outage tests do: refused (connections cut, new
// ones closed at once) or partitioned (new connections accepted and never
// answered, as a lost network route behaves).
type gate struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  gateMode
	conns map[net.Conn]struct{}
}

type gateMode int

const (
	gateOpen gateMode = iota
	gateRefused
	gatePartitioned
)

func newGate(t *testing.T, target string) *gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); g.set(gateRefused) })
	go g.serve()
	return g
}

func (g *gate) serve() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		g.mu.Lock()
		switch g.mode {
		case gateRefused:
			c.Close()
		case gatePartitioned:
			g.conns[c] = struct{}{} // held, silent, until the mode changes
		default:
			up, err := net.DialTimeout("tcp", g.target, 2*time.Second)
			if err != nil {
				c.Close()
				break
			}
			g.conns[c], g.conns[up] = struct{}{}, struct{}{}
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
		g.mu.Unlock()
	}
}

// set changes the mode; every connection made before is cut.
func (g *gate) set(m gateMode) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mode = m
	for c := range g.conns {
		c.Close()
	}
	clear(g.conns)
}

// With its PostgreSQL database cut off, the demo's API answers 503
// store_unavailable with Retry-After, never 500, and within its
// deadline even when the network drops packets instead of refusing;
// once the database is back, it answers again.
func TestStoreOutage(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	g := newGate(t, u.Host)
	u.Host = g.ln.Addr().String()
	srv := newTestAppWith(t, appConfig{DB: u.String()})
	c := createIn(t, srv, "+447700900123", "+447700900456")

	requests := []struct{ method, path, body string }{
		{"GET", "/conversations/" + c.ID, ""},
		{"GET", "/conversations", ""},
		{"POST", "/conversations", `{"a":"+447700900321","b":"+447700900654"}`},
		{"PATCH", "/conversations/" + c.ID, `{"ttl":"1h"}`},
		{"POST", "/conversations/" + c.ID + "/messages", `{"side":"a","text":"hello"}`},
		{"DELETE", "/conversations/" + c.ID, ""},
		{"GET", "/numbers", ""},
		{"POST", "/participants/+447700900123/erase", ""},
	}
	limit := DefaultAPITimeout + probeTimeout + time.Second
	for _, mode := range []struct {
		name string
		m    gateMode
	}{{"refused", gateRefused}, {"partitioned", gatePartitioned}} {
		g.set(mode.m)
		for i, rq := range requests {
			if mode.m == gatePartitioned && i > 2 {
				break // each waits out the deadline: a read, a list and a create show it
			}
			start := time.Now()
			code, h, body := apiCall(t, srv, rq.method, rq.path, rq.body)
			took := time.Since(start)
			if code != http.StatusServiceUnavailable || errorCode(body) != "store_unavailable" || h.Get("Retry-After") == "" {
				t.Errorf("%s: %s %s = %d (Retry-After %q) %s, want 503 store_unavailable with Retry-After",
					mode.name, rq.method, rq.path, code, h.Get("Retry-After"), body)
			}
			if took > limit {
				t.Errorf("%s: %s %s took %v, over the deadline (%v) and the probe", mode.name, rq.method, rq.path, took, DefaultAPITimeout)
			}
		}
	}
	g.set(gateOpen)
	var code int
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if code, _, body = apiCall(t, srv, "GET", "/conversations/"+c.ID, ""); code == http.StatusOK {
			break
		}
	}
	if code != http.StatusOK {
		t.Errorf("after the outage: %d %s, want 200", code, body)
	}
}
