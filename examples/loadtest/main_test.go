package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// The harness runs end to end on a tiny load and prints a row per store
// and size, with no failed request.
func TestRunPrintsRatios(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(t.Context(), []string{"-stores", "memory,sqlite", "-conversations", "50", "-duration", "150ms", "-rounds", "1", "-conns", "2"}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "ratio to bare") {
		t.Fatalf("output:\n%s\nwant a header and two rows", out.String())
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 9 || f[7] != "0" || f[6] == "0.00" {
			t.Errorf("row %q: want 9 columns, a ratio and no errors", l)
			continue
		}
		_, err := strconv.ParseFloat(f[8], 64)
		if (f[0] == "memory") != (err == nil) || f[0] != "memory" && f[8] != "-" {
			t.Errorf("row %q: RSS per conversation %q, want a number for memory only", l, f[8])
		}
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	for _, bad := range [][]string{
		{"-stores", "redis"}, {"-conversations", "ten"}, {"-conns", "0"},
		{"-stores", "postgres", "-pg", ""},
	} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q): no error", bad)
		}
	}
}

// demoLike is a Service under /vonage and a POST /conversations that
// creates through it, answering as the demo does (201, participants
// with their proxy numbers).
func demoLike(t *testing.T, secret string) string {
	t.Helper()
	store := proxy.NewMemoryStore()
	svc, err := proxy.New(proxy.Config{
		Store:      store,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Webhooks:   proxy.WebhookConfig{SignatureSecret: secret},
		Allocation: proxy.AllocationConfig{LenientNumbers: true, CoolOff: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.AddNumbers(t.Context(), proxy.PoolNumber{MSISDN: "447700900001", Country: "GB", Voice: true, SMS: true}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/vonage/", http.StripPrefix("/vonage", svc))
	mux.HandleFunc("POST /conversations", func(w http.ResponseWriter, r *http.Request) {
		var req createBody
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		c, err := svc.CreateConversation(r.Context(), proxy.CreateRequest{A: req.A, B: req.B})
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		ps := []map[string]string{}
		for _, p := range c.Participants {
			ps = append(ps, map[string]string{"number": "+" + p.Number, "proxy_number": p.ProxyNumber})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": c.ID, "participants": ps})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Against a server in another place (here: another listener), the
// harness creates through the API, then answers GET and POST, signed,
// in turns with a bare handler, and prints a row per method and the
// creates' line, with no failed request.
func TestRunExternal(t *testing.T) {
	t.Parallel()
	base := demoLike(t, "ext-secret")
	bare, stop, err := serve(bareHandler())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var out bytes.Buffer
	err = run(t.Context(), []string{"-target", base + "/vonage", "-bare-url", bare, "-secret", "ext-secret",
		"-creates", "40", "-duration", "150ms", "-rounds", "2", "-conns", "2"}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 || !strings.Contains(lines[1], "ratio to bare") {
		t.Fatalf("output:\n%s\nwant a title, a header, GET and POST rows and the creates", out.String())
	}
	for _, l := range lines[2:4] {
		f := strings.Fields(l)
		if len(f) != 7 || f[6] != "0" || f[5] == "0.00" {
			t.Errorf("row %q: want 7 columns, a ratio and no errors", l)
		}
	}
	if !strings.HasPrefix(lines[4], "creates: 40 through "+base+"/conversations") || !strings.HasSuffix(lines[4], "errors 0") {
		t.Errorf("creates line %q", lines[4])
	}
}

// A server that refuses the signature fails the run, saying why.
func TestRunExternalWrongSecret(t *testing.T) {
	t.Parallel()
	base := demoLike(t, "the-real-secret")
	bare, stop, err := serve(bareHandler())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	err = run(t.Context(), []string{"-target", base + "/vonage", "-bare-url", bare, "-secret", "a-wrong-one",
		"-creates", "4", "-duration", "100ms", "-rounds", "1", "-conns", "1", "-methods", "GET"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("run: %v, want the 401 named", err)
	}
}

func TestExternalFlags(t *testing.T) {
	t.Parallel()
	ok := []string{"-target", "http://127.0.0.1:8080/vonage/", "-bare-url", "http://127.0.0.1:8090", "-secret", "s"}
	c, err := parseFlags(ok)
	if err != nil || c.api != "http://127.0.0.1:8080" || c.target != "http://127.0.0.1:8080/vonage" || !slices.Equal(c.methods, []string{"GET", "POST"}) {
		t.Fatalf("parseFlags(%q) = %+v, %v", ok, c, err)
	}
	for _, bad := range [][]string{
		{"-target", "http://127.0.0.1:8080/vonage", "-secret", "s"},                                      // no bare handler
		{"-target", "http://127.0.0.1:8080/vonage", "-bare-url", "http://127.0.0.1:8090", "-secret", ""}, // no secret
		{"-target", "http://example.com/vonage", "-bare-url", "http://127.0.0.1:8090", "-secret", "s"},   // not loopback
		{"-target", "https://127.0.0.1/vonage", "-bare-url", "http://127.0.0.1:8090", "-secret", "s"},    // not http
		{"-target", "http://127.0.0.1:8080/vonage", "-bare-url", "http://10.0.0.1:8090", "-secret", "s"}, // bare not loopback
		append(slices.Clone(ok), "-methods", "PUT"), append(slices.Clone(ok), "-creates", "0"),
		{"-bare", "127.0.0.1:0", "-bare-for", "0s"}, {"stray"},
	} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q): no error", bad)
		}
	}
}

// -bare serves the bare handler until its time is up, GET and POST.
func TestServeBare(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	done := make(chan error, 1)
	go func() { done <- run(t.Context(), []string{"-bare", addr, "-bare-for", "2s"}, io.Discard) }()
	var resp *http.Response
	for range 50 {
		if resp, err = http.Post("http://"+addr+"/answer", "application/json", strings.NewReader(`{"from":"1"}`)); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"connect"`) {
		t.Fatalf("bare POST: %d %s", resp.StatusCode, b)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("-bare: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("-bare did not stop after -bare-for")
	}
}
