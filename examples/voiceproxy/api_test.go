package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
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

// noNulls reports where a JSON answer holds null: an empty list is [],
// and an absent value is left out, never null.
func noNulls(t *testing.T, what, body string) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", what, err, body)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case nil:
			t.Errorf("%s: %s is null", what, path)
		case map[string]any:
			for k, e := range v {
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		}
	}
	walk("$", v)
}

// prices checks that every "price" and "monthly_cost" in a JSON answer
// is a decimal string without trailing zeros, and returns how many
// there were. A sandbox call's "params" are the webhook parameters the
// simulated Vonage sent, as Vonage writes them, and are not looked at.
func prices(t *testing.T, what, body string) int {
	t.Helper()
	var v any
	_ = json.Unmarshal([]byte(body), &v)
	n := 0
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if k == "price" || k == "monthly_cost" {
					n++
					if s, ok := e.(string); !ok || !regexp.MustCompile(`^[0-9]+(\.[0-9]*[1-9])?$`).MatchString(s) {
						t.Errorf("%s: %s.%s = %#v, want a decimal string without trailing zeros", what, path, k, e)
					}
				}
				if k != "params" {
					walk(path+"."+k, e)
				}
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		}
	}
	walk("$", v)
	return n
}

// Every answer of the API, the sandbox's included, has one shape: lists
// are [] when empty (an erasure's "active" and "pseudonymized" too),
// never null; prices are decimal strings.
func TestAnswerShapes(t *testing.T) {
	t.Parallel()
	srv := newTestAppWith(t, appConfig{})
	runWalkthrough(t, srv, 0, "447700900001")
	c := createIn(t, srv, "+447700900321", "+447700900654")
	pa := c.Participants[0]
	answers := map[string]string{}
	for _, rq := range []struct{ method, path, body string }{
		{"GET", "/conversations?status=all", ""},
		{"GET", "/conversations/" + c.ID, ""},
		{"POST", "/sandbox/calls", `{"from":"+` + pa.Number + `","to":"+` + pa.ProxyNumber + `"}`},
		{"POST", "/sandbox/calls", `{"from":"+447700900999","to":"+` + pa.ProxyNumber + `"}`},
		{"POST", "/sandbox/sms", `{"from":"+447700900999","to":"+` + pa.ProxyNumber + `","text":"hi"}`},
		{"GET", "/sandbox/calls", ""},
		{"GET", "/sandbox/outbox", ""},
		{"GET", "/numbers", ""},
		{"GET", "/", ""},
		{"POST", "/participants/+447700900321/erase", ""}, // in use: 409 with "active"
		{"POST", "/participants/+447700900777/erase", ""}, // nobody: 200, both lists empty
		{"POST", "/participants/+447700900123/erase", ""}, // the walkthrough's rider: pseudonymized
	} {
		code, _, body := apiCall(t, srv, rq.method, rq.path, rq.body)
		if code >= 500 {
			t.Errorf("%s %s = %d %s", rq.method, rq.path, code, body)
		}
		what := rq.method + " " + rq.path + " " + rq.body
		noNulls(t, what, body)
		answers[what] = body
	}
	n := 0
	for what, body := range answers {
		n += prices(t, what, body)
	}
	// The walkthrough's call and SMS have prices (Vonage writes
	// "0.03330000"), and GET /numbers monthly costs.
	code, _, body := apiCall(t, srv, "GET", "/conversations?status=all", "")
	if code != http.StatusOK {
		t.Fatal(code, body)
	}
	for _, conv := range mustList(t, body) {
		_, _, one := apiCall(t, srv, "GET", "/conversations/"+conv, "")
		noNulls(t, "GET /conversations/"+conv, one)
		n += prices(t, "GET /conversations/"+conv, one)
	}
	if n == 0 {
		t.Error("no price in any answer: the check checked nothing")
	}
	var erased struct{ Active, Pseudonymized []string }
	_, _, body = apiCall(t, srv, "POST", "/participants/+447700900777/erase", "")
	if err := json.Unmarshal([]byte(body), &erased); err != nil || erased.Active == nil || erased.Pseudonymized == nil {
		t.Errorf("erase of nobody = %s, want both lists, empty", body)
	}
}

// mustList returns the IDs in a GET /conversations answer.
func mustList(t *testing.T, body string) []string {
	t.Helper()
	var page struct{ Conversations []struct{ ID string } }
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range page.Conversations {
		ids = append(ids, c.ID)
	}
	return ids
}

func TestDecimal(t *testing.T) {
	for in, want := range map[string]string{
		"0.03330000": "0.0333", "0.0088": "0.0088", "1.50": "1.5", "2.000": "2", "12": "12", "0.00000000": "0",
		"-0.50": "-0.5", "": "", "1e3": "", "abc": "", "0.1.2": "", " 1": "",
	} {
		if got := decimal(in); got != want {
			t.Errorf("decimal(%q) = %q, want %q", in, got, want)
		}
	}
	if got := decimalOf(0.1 + 0.2); got != "0.3" {
		t.Errorf("decimalOf(0.1+0.2) = %q, want 0.3", got)
	}
}

// A body the API cannot take is answered in the caller's terms: the
// JSON field, what it must hold, and the fields there are; no Go type,
// package or field name.
func TestBadBodyMessages(t *testing.T) {
	t.Parallel()
	srv := newTestAppWith(t, appConfig{})
	goTerms := regexp.MustCompile(`[a-z]Body\b|proxy\.|main\.|json: |CreateRequest|ExpiresAt|TTL|IdleTimeout|AccessPIN|\bKey\b|of type|Go value`)
	tests := []struct{ method, path, body, want string }{
		{"POST", "/conversations", `{"a": 447700900123, "b": "+447700900456"}`, `field "a" must be a string (a phone number), not a number`},
		{"POST", "/conversations", `{"a": "+447700900123", "b": "+447700900456", "notify": "yes"}`, `field "notify" must be true or false, not a string`},
		{"POST", "/conversations", `{"a": "+447700900123", "b": "+447700900456", "labels": {"a": 1}}`, `field "labels" must be an object of strings ({"a": ..., "b": ...}); it holds a number`},
		{"POST", "/conversations", `{"a": "+447700900123", "b": "+447700900456", "labels": ["x"]}`, `field "labels" must be an object of strings (`},
		{"POST", "/conversations", `{"a": "+447700900123", "colour": "red"}`, `unknown field "colour": the fields are "a", "b", "ttl"`},
		{"POST", "/conversations", `["+447700900123"]`, `the body must be a JSON object with the fields "a", "b"`},
		{"POST", "/conversations", ``, `the body is empty`},
		{"POST", "/conversations", `{"a": "+4477`, `it ends too early`},
		{"POST", "/conversations", `{"a" "x"}`, `not valid JSON (at byte`},
		{"POST", "/conversations", `{"a": "+447700900123", "b": "+447700900456"} {}`, `one JSON object; there is more after it`},
		{"POST", "/conversations", `{"a": "+447700900123", "b": "+447700900456", "ttl": "1ns"}`, `ttl 1ns is outside`},
		{"POST", "/conversations", `{"a": "+447700900123", "b": "+447700900456", "pin": "1234"}`, `a PIN is for "access": "pin" conversations`},
		{"POST", "/conversations", `{"a": "+447700900123", "b": "+447700900456", "key": "` + strings.Repeat("k", 300) + `"}`, `key is not text`},
		{"PATCH", "/conversations/nope", `{"expires_at": "tomorrow"}`, `"expires_at" must be an RFC 3339 time such as`},
		{"PATCH", "/conversations/nope", `{"record": 1}`, `field "record" must be true or false, not a number`},
		{"POST", "/conversations/nope/messages", `{"side": 1}`, `field "side" must be a string ("a" or "b"), not a number`},
		{"POST", "/sandbox/calls", `{"from": "+447700900123", "digits": "1234#"}`, `field "digits" must be an array of strings, not a string`},
	}
	for _, tt := range tests {
		code, _, body := apiCall(t, srv, tt.method, tt.path, tt.body)
		var e apiError
		_ = json.Unmarshal([]byte(body), &e)
		if code != http.StatusBadRequest || e.Code != "bad_request" || !strings.Contains(e.Error, tt.want) {
			t.Errorf("%s %s %s = %d %s, want 400 bad_request saying %q", tt.method, tt.path, tt.body, code, body, tt.want)
		}
		if m := goTerms.FindString(e.Error); m != "" {
			t.Errorf("%s %s %s: the error %q speaks Go (%q)", tt.method, tt.path, tt.body, e.Error, m)
		}
	}
	// After a PATCH past its end the message names expires_at too.
	c := createIn(t, srv, "+447700900123", "+447700900456")
	code, _, body := apiCall(t, srv, "PATCH", "/conversations/"+c.ID, `{"expires_at": "2001-01-01T00:00:00Z"}`)
	if code != http.StatusBadRequest || !strings.Contains(body, "expires_at") || goTerms.MatchString(body) {
		t.Errorf("PATCH into the past = %d %s, want 400 naming expires_at", code, body)
	}
}
