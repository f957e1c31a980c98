package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for the PostgreSQL schema setup

	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// newTestApp serves the demo in sandbox mode on an httptest server.
func newTestApp(t *testing.T, db string, env map[string]string) *httptest.Server {
	t.Helper()
	return newTestAppOn(t, smsAPISMS, db, env)
}

// newTestAppOn is newTestApp with the account's SMS setting smsAPI.
func newTestAppOn(t *testing.T, smsAPI, db string, env map[string]string) *httptest.Server {
	t.Helper()
	h, cleanup, err := newApp(t.Context(), appConfig{
		DB: db, PublicURL: "http://demo.test", Listen: "127.0.0.1:0", SMSAPI: smsAPI,
		Getenv: func(k string) string { return env[k] },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
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

// curlCmd is one curl command of the README walkthrough.
type curlCmd struct {
	line   string
	method string
	path   string
	body   string
	// header holds the -H headers, "Name: value".
	header []string
	// save names the shell variable the output is kept in, as in
	// ID=$(curl ... | grep -m1 '"id"' | cut -d'"' -f4); field is the
	// grepped key ("id").
	save, field string
	codeOnly    bool // -o /dev/null -w '%{http_code}\n'
	// file is where -o writes the body when it is not /dev/null (a
	// download): the step's check gets {"bytes": n, "head": first bytes}.
	file string
}

// shellWords splits a command line on spaces, keeping single-quoted
// strings whole (enough for the README's curl commands).
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inQuote, inWord := false, false
	for _, c := range s {
		switch {
		case c == '\'':
			inQuote, inWord = !inQuote, true
		case c == ' ' && !inQuote:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if inQuote {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// walkthroughBlock returns the shell block of the "## Walkthrough" section
// of the README at path.
func walkthroughBlock(t *testing.T, path, heading string) string {
	t.Helper()
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## " + regexp.QuoteMeta(heading) + "\n.*?```sh\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatalf("%s has no code block under %q", path, heading)
	}
	return string(m[1])
}

// The README sections whose sh blocks are run as walkthroughs.
const (
	mainWalkthrough      = "Walkthrough"
	autopilotWalkthrough = "Pool autopilot"
	pinWalkthrough       = "Shared numbers with a PIN"
	callWalkthrough      = "Call control"
	lifeWalkthrough      = "Conversation lifecycle"
)

// The repository's README shows the demo's first walkthrough, which
// TestREADMEWalkthrough runs from this program's README: neither can
// drift alone. The other walkthroughs are only in this program's README
// (TestREADMEShellBlocksAreRun fails if one comes back to the root).
func TestTopLevelREADMEWalkthroughIsTheTestedOne(t *testing.T) {
	t.Parallel()
	if diff := cmp.Diff(walkthroughBlock(t, "README.md", mainWalkthrough), walkthroughBlock(t, "../../README.md", mainWalkthrough)); diff != "" {
		t.Errorf("the %q walkthroughs of README.md and ../../README.md differ (-examples/voiceproxy +top level):\n%s", mainWalkthrough, diff)
	}
}

// walkthrough reads the curl commands of the README's walkthrough under
// heading.
func walkthrough(t *testing.T, heading string) []curlCmd {
	t.Helper()
	block := walkthroughBlock(t, "README.md", heading)
	var cmds []curlCmd
	saveRe := regexp.MustCompile(`^([A-Z]+)=\$\((curl .*) \| grep -m1 '"([a-z_]+)"' \| cut -d'"' -f4\)$`)
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		c := curlCmd{line: line, method: http.MethodGet}
		if sm := saveRe.FindStringSubmatch(line); sm != nil {
			c.save, line, c.field = sm[1], sm[2], sm[3]
		}
		words, err := shellWords(line)
		if err != nil || len(words) == 0 || words[0] != "curl" {
			t.Fatalf("walkthrough line %q is not a curl command this test understands", c.line)
		}
		for i := 1; i < len(words); i++ {
			switch w := words[i]; w {
			case "-s":
			case "-X":
				i++
				c.method = words[i]
			case "-H":
				i++
				c.header = append(c.header, words[i])
			case "-d":
				i++
				c.body = words[i]
				if c.method == http.MethodGet {
					c.method = http.MethodPost
				}
			case "-o":
				i++
				c.codeOnly = words[i] == "/dev/null"
				if !c.codeOnly {
					c.file = words[i]
				}
			case "-w":
				i++
			default:
				p, ok := strings.CutPrefix(w, "localhost:8080")
				if !ok || c.path != "" {
					t.Fatalf("walkthrough line %q: unexpected %q", c.line, w)
				}
				c.path = p
			}
		}
		cmds = append(cmds, c)
	}
	return cmds
}

// TestREADMEWalkthrough runs the README's curl walkthrough against the
// demo in sandbox mode and checks what each step shows.
func TestREADMEWalkthrough(t *testing.T) {
	t.Parallel()
	for _, db := range []string{":memory:", "sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			db = testDB(t, db)
			runWalkthrough(t, newTestApp(t, db, nil), 0, "447700900001")
		})
	}
}

// After the README walkthrough, /metrics shows the series the README's
// "Metrics" section names, and /healthz and /readyz answer 200.
func TestMetricsAfterWalkthrough(t *testing.T) {
	t.Parallel()
	srv := newTestApp(t, ":memory:", nil)
	runWalkthrough(t, srv, 0, "447700900001")
	get := func(path string) (int, string) {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := get("/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d", status)
	}
	for _, re := range []string{
		`voiceproxy_webhooks_total\{[^}]*outcome="connected"[^}]*route="/answer"[^}]*\} 1`,
		`voiceproxy_webhooks_total\{[^}]*outcome="unknown_route"[^}]*route="/answer"[^}]*\} 1`,
		`voiceproxy_webhooks_total\{[^}]*outcome="accepted"[^}]*route="/inbound-sms"`,
		`voiceproxy_webhook_duration_seconds_bucket\{`,
		`voiceproxy_conversations_total\{event="created"[^}]*\} 1`,
		`voiceproxy_conversations_total\{event="closed"[^}]*\} 1`,
		`voiceproxy_allocations_total\{access="direct"[^}]*result="allocated"`,
		`voiceproxy_sms_total\{event="relayed"`,
		`voiceproxy_sms_total\{event="delivered"`,
		`voiceproxy_store_duration_seconds_count\{op="Route"`,
		`voiceproxy_store_duration_seconds_count\{[^}]*op="CreateConversation"[^}]*result="ok"`,
	} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("/metrics lacks %s", re)
		}
	}
	for _, n := range []string{"447700900123", "447700900456"} {
		if strings.Contains(body, n) {
			t.Errorf("/metrics holds the phone number %s", n)
		}
	}
	// One library makes every series: no otel_scope_* labels repeating
	// its name and version on each line.
	if i := strings.Index(body, "otel_scope_"); i >= 0 {
		t.Errorf("/metrics carries otel_scope_ labels: %q", body[max(0, i-80):min(len(body), i+80)])
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, body := get(path); status != http.StatusOK {
			t.Errorf("%s: %d %s", path, status, body)
		}
	}
}

// The same walkthrough with the demo on the Messages API (-sms-api
// messages): the SMS come to /vonage/inbound-message, go out through the
// Messages API, and their statuses come to /vonage/message-status.
func TestREADMEWalkthroughMessagesAPI(t *testing.T) {
	t.Parallel()
	runWalkthrough(t, newTestAppOn(t, smsAPIMessages, ":memory:", nil), 0, "447700900001")
}

// The walkthrough works on a database an earlier, interrupted run left
// behind: the rider still holds 447700900001, gets 447700900002, and
// $PROXY follows.
func TestREADMEWalkthroughOnAUsedDatabase(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "demo.db")
	t.Run("interrupted before the DELETE", func(t *testing.T) {
		runWalkthrough(t, newTestApp(t, db, nil), 6, "447700900001")
	})
	t.Run("run again", func(t *testing.T) {
		runWalkthrough(t, newTestApp(t, db, nil), 0, "447700900002")
	})
}

// localPostgres returns the DSN of the server a developer machine usually
// has, when it answers, or "".
func localPostgres() string {
	const dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable&connect_timeout=2"
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return ""
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if db.PingContext(ctx) != nil {
		return ""
	}
	return dsn
}

// testDB turns ":memory:", "sqlite" or "postgres" into the demo's -db
// value for a fresh database of that kind.
func testDB(t *testing.T, kind string) string {
	t.Helper()
	switch kind {
	case "sqlite":
		return filepath.Join(t.TempDir(), "demo.db")
	case "postgres":
		return postgresDSN(t)
	}
	return kind
}

// postgresDSN returns a DSN for a fresh schema, dropped after the test, on
// the server VOICEPROXY_TEST_POSTGRES names, else the local one when it
// answers (the -db postgres:// path of the demo). Without either the test
// is skipped, or fails under CI=true, as the proxy/sqlstore tests are.
func postgresDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv("VOICEPROXY_TEST_POSTGRES")
	if base == "" && os.Getenv("CI") != "true" {
		base = localPostgres()
	}
	if base == "" {
		msg := "set VOICEPROXY_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the demo on PostgreSQL"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	schema := fmt.Sprintf("demo_test_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := db.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// runWalkthrough runs the README's commands on srv, the first stop of
// them (all when stop is 0), and checks each. wantProxy is the proxy
// number the rider should be given.
func runWalkthrough(t *testing.T, srv *httptest.Server, stop int, wantProxy string) {
	cmds := walkthrough(t, mainWalkthrough)
	const rider, driver = "447700900123", "447700900456"
	proxyNum := wantProxy
	vars := map[string]string{} // the shell variables the commands set
	type check func(t *testing.T, status int, body map[string]any)
	want := []struct {
		method, path string
		check        check
	}{
		{"POST", "/conversations", func(t *testing.T, status int, body map[string]any) {
			wantParts := []any{
				map[string]any{"number": rider, "proxy_number": proxyNum, "label": "your rider"},
				map[string]any{"number": driver, "proxy_number": proxyNum, "label": "your driver"},
			}
			if status != http.StatusCreated || body["status"] != "active" || body["expires_at"] == nil || body["created_at"] == nil {
				t.Errorf("create: %d %v", status, body)
			}
			if diff := cmp.Diff(wantParts, body["participants"]); diff != "" {
				t.Errorf("participants (-want +got):\n%s", diff)
			}
			if vars["ID"] != body["id"] {
				t.Errorf("the shell would capture ID %q, the conversation is %v", vars["ID"], body["id"])
			}
		}},
		{"GET", "/conversations/$ID", func(t *testing.T, status int, body map[string]any) {
			if status != http.StatusOK || vars["PROXY"] != proxyNum {
				t.Errorf("get: %d; the shell would capture PROXY %q, want the rider's %s", status, vars["PROXY"], proxyNum)
			}
		}},
		{"GET", "/conversations/$ID", func(t *testing.T, status int, body map[string]any) {
			// The interactions so far are the two notifications, delivered.
			var got []string
			for _, in := range body["interactions"].([]any) {
				in := in.(map[string]any)
				got = append(got, fmt.Sprint(in["kind"], " ", in["status"]))
			}
			if status != http.StatusOK || body["status"] != "active" {
				t.Errorf("get: %d %v", status, body)
			}
			if diff := cmp.Diff([]string{"notification delivered", "notification delivered"}, got); diff != "" {
				t.Errorf("interactions (-want +got):\n%s", diff)
			}
		}},
		{"POST", "/sandbox/calls", func(t *testing.T, status int, body map[string]any) {
			if status != http.StatusOK || body["connected"] != driver || body["caller_id"] != proxyNum || body["error"] != nil {
				t.Errorf("call: %d %v", status, body)
			}
			if n := len(body["events"].([]any)); n != 8 {
				t.Errorf("call sent %d events, want 8", n)
			}
		}},
		{"POST", "/sandbox/sms", func(t *testing.T, status int, body map[string]any) {
			relayed, _ := body["relayed"].([]any)
			if status != http.StatusOK || len(relayed) != 1 {
				t.Fatalf("sms: %d %v", status, body)
			}
			m := relayed[0].(map[string]any)
			if m["from"] != proxyNum || m["to"] != rider || m["text"] != "Outside in a blue Prius" {
				t.Errorf("relayed %v, want the text from %s to %s", m, proxyNum, rider)
			}
		}},
		{"GET", "/conversations/$ID", func(t *testing.T, status int, body map[string]any) {
			var got []string
			for _, in := range body["interactions"].([]any) {
				in := in.(map[string]any)
				got = append(got, fmt.Sprint(in["kind"], " ", in["from"], "→", in["to"], " ", in["status"]))
				if in["kind"] == "call" && (in["duration"] == nil || in["price"] == nil) {
					t.Errorf("call without duration or price: %v", in)
				}
			}
			notified := func(p string) string { return "notification " + proxyNum + "→" + p + " delivered" }
			wantIns := []string{notified(driver), notified(rider), "call " + rider + "→" + proxyNum + " completed", "sms " + driver + "→" + proxyNum + " delivered"}
			// The two notifications are sent at once, in either order.
			if len(got) >= 2 && got[0] > got[1] {
				got[0], got[1] = got[1], got[0]
			}
			if wantIns[0] > wantIns[1] {
				wantIns[0], wantIns[1] = wantIns[1], wantIns[0]
			}
			if diff := cmp.Diff(wantIns, got); diff != "" {
				t.Errorf("interactions (-want +got):\n%s", diff)
			}
		}},
		{"DELETE", "/conversations/$ID", func(t *testing.T, status int, body map[string]any) {
			if status != http.StatusNoContent {
				t.Errorf("delete: %d", status)
			}
		}},
		{"POST", "/sandbox/calls", func(t *testing.T, status int, body map[string]any) {
			talk, _ := body["talk"].([]any)
			if status != http.StatusOK || body["connected"] != nil || len(talk) != 1 || talk[0] != "Sorry, the number you have called is not in service." {
				t.Errorf("call after close: %d %v", status, body)
			}
		}},
		{"GET", "/sandbox/outbox", func(t *testing.T, status int, body map[string]any) {
			var got []string
			for _, m := range body["messages"].([]any) {
				m := m.(map[string]any)
				got = append(got, fmt.Sprint(m["from"], "→", m["to"]))
			}
			// Two notifications (sent in parallel, so in either order),
			// then the relayed SMS.
			if len(got) == 3 {
				slices.Sort(got[:2])
			}
			wantOut := []string{proxyNum + "→" + rider, proxyNum + "→" + driver, proxyNum + "→" + rider}
			if diff := cmp.Diff(wantOut, got); diff != "" {
				t.Errorf("outbox (-want +got):\n%s", diff)
			}
		}},
	}
	checks := make([]step, len(want))
	for i, w := range want {
		checks[i] = step{w.method, w.path, w.check}
	}
	runSteps(t, srv, cmds, checks, vars, stop)
}

// step is what one walkthrough command must be and show.
type step struct {
	method, path string
	check        func(t *testing.T, status int, body map[string]any)
}

// runSteps runs cmds against srv, as the shell would (vars are the
// variables they set), checking each with its step; it stops before step
// stop when stop > 0.
func runSteps(t *testing.T, srv *httptest.Server, cmds []curlCmd, want []step, vars map[string]string, stop int) {
	t.Helper()
	if len(cmds) != len(want) {
		t.Fatalf("the README walkthrough has %d commands, this test knows %d: update both together", len(cmds), len(want))
	}
	expand := func(s string) string {
		for k, v := range vars {
			s = strings.ReplaceAll(s, "$"+k, v)
		}
		return s
	}
	for i, c := range cmds {
		if stop > 0 && i == stop {
			return
		}
		if c.method != want[i].method || c.path != want[i].path {
			t.Fatalf("README step %d is %s %s, this test expects %s %s", i+1, c.method, c.path, want[i].method, want[i].path)
		}
		req, err := http.NewRequestWithContext(t.Context(), c.method, srv.URL+expand(c.path), strings.NewReader(expand(c.body)))
		if err != nil {
			t.Fatal(err)
		}
		if c.body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // what curl -d sends without -H
		}
		for _, h := range c.header {
			k, v, ok := strings.Cut(h, ":")
			if !ok {
				t.Fatalf("walkthrough line %q: header %q has no colon", c.line, h)
			}
			req.Header.Set(k, strings.TrimSpace(v))
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var body map[string]any
		if c.file != "" {
			body = map[string]any{"bytes": len(raw), "head": string(raw[:min(3, len(raw))]), "type": resp.Header.Get("Content-Type")}
		} else if !c.codeOnly && resp.StatusCode != http.StatusNoContent {
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("step %d (%s): not JSON: %q", i+1, c.line, raw)
			}
		}
		if c.save != "" {
			// What grep -m1 '"field"' | cut -d'"' -f4 picks from the output.
			got := ""
			for _, l := range strings.Split(string(raw), "\n") {
				if strings.Contains(l, `"`+c.field+`"`) {
					got = strings.Split(l, `"`)[3]
					break
				}
			}
			if got == "" {
				t.Fatalf("step %d: the shell would capture %s from nothing: %s", i+1, c.save, raw)
			}
			vars[c.save] = got
		}
		t.Run(fmt.Sprintf("step %d", i+1), func(t *testing.T) { want[i].check(t, resp.StatusCode, body) })
	}
}

// Bad input gets the same 4xx and a clear error on every store.
func TestAPIErrors(t *testing.T) {
	t.Parallel()
	for _, db := range []string{":memory:", "sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			db = testDB(t, db)
			testAPIErrors(t, newTestApp(t, db, nil))
		})
	}
}

func testAPIErrors(t *testing.T, srv *httptest.Server) {
	do := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	// Fill the pool for one participant: the 4 GB numbers, 5 more the
	// autopilot buys (its MaxPurchasesPerHour), then the 4 US ones (the
	// fallback to any country).
	for i := range 13 {
		if code, body := do("POST", "/conversations", fmt.Sprintf(`{"a":"+447700900123","b":"+4477009002%02d"}`, i)); code != http.StatusCreated {
			t.Fatalf("conversation %d: %d %v", i, code, body)
		}
	}
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantCode                 string
	}{
		{"invalid number", "POST", "/conversations", `{"a":"+44 123","b":"+447700900456"}`, 400, "invalid_number"},
		{"same number", "POST", "/conversations", `{"a":"+447700900456","b":"00447700900456"}`, 400, "same_number"},
		{"missing b", "POST", "/conversations", `{"a":"+447700900456"}`, 400, "bad_request"},
		{"unknown field", "POST", "/conversations", `{"a":"+447700900456","b":"+447700900457","colour":"red"}`, 400, "bad_request"},
		{"bad ttl", "POST", "/conversations", `{"a":"+447700900456","b":"+447700900457","ttl":"soon"}`, 400, "bad_request"},
		{"bad mode", "POST", "/conversations", `{"a":"+447700900456","b":"+447700900457","mode":"fax"}`, 400, "bad_request"},
		{"not json", "POST", "/conversations", `a=1`, 400, "bad_request"},
		{"body over 64 KiB", "POST", "/conversations", `{"a":"+447700900456","b":"+447700900457","metadata":{"k":"` + strings.Repeat("x", 64<<10) + `"}}`, 413, "too_large"},
		{"sandbox SMS over 64 KiB", "POST", "/sandbox/sms", `{"from":"+447700900456","to":"+447700900001","text":"` + strings.Repeat("x", 64<<10) + `"}`, 413, "too_large"},
		{"pool exhausted, autopilot at its limit", "POST", "/conversations", `{"a":"+447700900123","b":"+447700900999"}`, 409, "pool_budget"},
		{"unknown conversation", "GET", "/conversations/nope", "", 404, "not_found"},
		{"close unknown", "DELETE", "/conversations/nope", "", 404, "not_found"},
		{"bad status filter", "GET", "/conversations?status=open", "", 400, "bad_request"},
		{"bad limit", "GET", "/conversations?limit=0", "", 400, "bad_request"},
		{"sandbox call without to", "POST", "/sandbox/calls", `{"from":"+447700900123"}`, 400, "bad_request"},
		{"NUL in the path", "GET", "/conversations/%00", "", 404, "not_found"},
		{"invalid UTF-8 in the path", "GET", "/conversations/%ff%fe", "", 404, "not_found"},
		{"close with NUL", "DELETE", "/conversations/a%00b", "", 404, "not_found"},
		{"NUL in the cursor", "GET", "/conversations?after=%00", "", 400, "bad_request"},
		{"invalid UTF-8 in the cursor", "GET", "/conversations?after=%ff", "", 400, "bad_request"},
		{"NUL in a label", "POST", "/conversations", `{"a":"+447700900456","b":"+447700900457","labels":{"a":"x\u0000y"}}`, 400, "bad_request"},
		{"NUL in metadata", "POST", "/conversations", `{"a":"+447700900456","b":"+447700900457","metadata":{"k":"\u0000"}}`, 400, "bad_request"},
		{"ttl of 1ns", "POST", "/conversations", `{"a":"+447700900456","b":"+447700900457","ttl":"1ns"}`, 400, "bad_request"},
		{"ttl past year 2261", "POST", "/conversations", `{"a":"+447700900456","b":"+447700900457","ttl":"2400000h"}`, 400, "bad_request"},
		{"a pool number as participant", "POST", "/conversations", `{"a":"+447700900001","b":"+447700900457"}`, 400, "invalid_number"},
		{"plus then dash", "POST", "/conversations", `{"a":"+-447700900456","b":"+447700900457"}`, 400, "invalid_number"},
		{"click-to-call with a bad side", "POST", "/conversations/nope/calls", `{"side":"c"}`, 400, "bad_request"},
		{"click-to-call an unknown conversation", "POST", "/conversations/nope/calls", `{"side":"a"}`, 404, "not_found"},
		{"recording of an unknown interaction", "GET", "/interactions/nope/recording", "", 404, "not_found"},
		{"update an unknown conversation", "PATCH", "/conversations/nope", `{"ttl":"1h"}`, 404, "not_found"},
		{"update with a bad ttl", "PATCH", "/conversations/nope", `{"ttl":"later"}`, 400, "bad_request"},
		{"update with a bad idle timeout", "PATCH", "/conversations/nope", `{"idle_timeout":"-1h"}`, 400, "bad_request"},
		{"update with an unknown field", "PATCH", "/conversations/nope", `{"colour":"red"}`, 400, "bad_request"},
		{"message to an unknown conversation", "POST", "/conversations/nope/messages", `{"side":"a","text":"hi"}`, 404, "not_found"},
		{"message with a bad side", "POST", "/conversations/nope/messages", `{"side":"c","text":"hi"}`, 400, "bad_request"},
		{"erase a malformed number", "POST", "/participants/nope/erase", "", 400, "invalid_number"},
		{"key too long", "POST", "/conversations", `{"a":"+447700900456","b":"+447700900457","key":"` + strings.Repeat("k", 300) + `"}`, 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(tt.method, tt.path, tt.body)
			if code != tt.wantStatus || body["code"] != tt.wantCode || body["error"] == "" {
				t.Errorf("%s %s = %d %v, want %d %q", tt.method, tt.path, code, body, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

func TestListPaging(t *testing.T) {
	t.Parallel()
	srv := newTestApp(t, ":memory:", nil)
	created := map[string]bool{}
	for i := range 5 {
		resp, err := srv.Client().Post(srv.URL+"/conversations", "application/json",
			strings.NewReader(fmt.Sprintf(`{"a":"+1201555%04d","b":"+1201555%04d"}`, 200+i, 300+i)))
		if err != nil {
			t.Fatal(err)
		}
		var c struct{ ID string }
		_ = json.NewDecoder(resp.Body).Decode(&c)
		resp.Body.Close()
		created[c.ID] = true
	}
	seen := map[string]bool{}
	after := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		resp, err := srv.Client().Get(srv.URL + "/conversations?limit=2&after=" + after)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Conversations []struct{ ID string }
			Next          string
		}
		_ = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if len(page.Conversations) > 2 {
			t.Fatalf("page of %d with limit=2", len(page.Conversations))
		}
		for _, c := range page.Conversations {
			seen[c.ID] = true
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if diff := cmp.Diff(created, seen); diff != "" {
		t.Errorf("paged conversations (-created +listed):\n%s", diff)
	}
}

func TestLiveModeNeedsAllCredentials(t *testing.T) {
	t.Parallel()
	_, _, err := newApp(t.Context(), appConfig{DB: ":memory:", Getenv: func(k string) string {
		return map[string]string{"VONAGE_API_KEY": "k"}[k]
	}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "VONAGE_APPLICATION_ID") {
		t.Errorf("err = %v, want a message naming the missing variables", err)
	}
}

// TestRunServesAndShutsDown starts the real server on a free port and
// stops it as SIGINT or SIGTERM would (main turns both into ctx
// cancellation).
func TestRunServesAndShutsDown(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", ":memory:"}, func(string) string { return "" }, &logs)
	}()
	addr := ""
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := regexp.MustCompile(`msg=listening addr=(http://\S+)`).FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		cancel()
		t.Fatalf("server did not start; logs:\n%s", logs.String())
	}
	resp, err := http.Get(addr + "/numbers")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /numbers = %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("no shutdown in the logs:\n%s", logs.String())
	}
}

func TestRunUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-nope"}, {"-sms-api", "fax"}} {
		err := run(t.Context(), args, func(string) string { return "" }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the server's log writes and the
// test's reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLiveMode runs the demo with credentials, against a simulated Vonage
// served over HTTP as the real one would be: the unlinked number is
// linked to the application, webhooks must be signed, and the sandbox
// endpoints are gone.
func TestLiveMode(t *testing.T) {
	t.Parallel()
	const appID, secret = "11111111-2222-4333-8444-555555555555", "live-signature-secret"
	v := proxytest.NewVonage(proxytest.WithCredentials("livekey1", "live-api-secret"), proxytest.WithOwnedNumbers(
		proxytest.OwnedNumber{Country: "GB", MSISDN: "447700900010"},
		proxytest.OwnedNumber{Country: "GB", MSISDN: "447700900011", AppID: appID},
		proxytest.OwnedNumber{Country: "GB", MSISDN: "447700900012", AppID: "another-app"},
	))
	vonage := httptest.NewServer(v)
	defer vonage.Close()
	var logs syncBuffer
	env := map[string]string{"VONAGE_API_KEY": "livekey1", "VONAGE_API_SECRET": "live-api-secret",
		"VONAGE_APPLICATION_ID": appID, "VONAGE_SIGNATURE_SECRET": secret, operatorTokenEnv: testToken}
	h, cleanup, err := newApp(t.Context(), appConfig{DB: ":memory:", PublicURL: "https://proxy.example.com",
		Getenv: func(k string) string { return env[k] }, Logger: slog.New(slog.NewTextHandler(&logs, nil)), VonageURL: vonage.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	for _, want := range []string{"mode=live", `answer_url="GET https://proxy.example.com/vonage/answer"`,
		`inbound_sms_url="POST https://proxy.example.com/vonage/inbound-sms"`, "GB:447700900010 GB:447700900011"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("start-up log lacks %q:\n%s", want, logs.String())
		}
	}
	for _, n := range v.Owned() {
		if n.MSISDN == "447700900010" && n.AppID != appID {
			t.Errorf("the unlinked number was not linked: %+v", n)
		}
		if n.MSISDN == "447700900012" && n.AppID != "another-app" {
			t.Errorf("a number of another application was taken: %+v", n)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, operatorRequest("POST", "/sandbox/calls", `{"from":"1","to":"2"}`))
	if rec.Code != http.StatusNotFound {
		t.Errorf("POST /sandbox/calls in live mode = %d, want 404", rec.Code)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, operatorRequest("POST", "/conversations", `{"a":"+447400123456","b":"+447400654321"}`))
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	sim := &proxytest.Simulator{Handler: h, AnswerPath: "/vonage/answer", EventPath: "/vonage/event", ApplicationID: appID}
	if _, err := sim.PlaceCall(t.Context(), "447400123456", "447700900010"); err == nil {
		t.Error("an unsigned call was answered in live mode")
	}
	sim.SignatureSecret = secret
	out, err := sim.PlaceCall(t.Context(), "447400123456", "447700900010")
	if err != nil || out.Connected != "447400654321" {
		t.Errorf("signed call: %+v, %v", out, err)
	}
}

// testToken is the operator token of the tests that need one.
const testToken = "test-operator-token-0123456789abcdef"

// operatorRequest is an operator's API request to the live demo at
// https://proxy.example.com: its Host, the bearer token, a JSON body.
func operatorRequest(method, path, body string) *http.Request {
	r := httptest.NewRequest(method, "https://proxy.example.com"+path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+testToken)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

// TestREADMEAutopilotWalkthrough runs the README's pool autopilot
// walkthrough: a participant's fifth concurrent conversation gets a
// number bought for it, and GET /numbers shows it.
func TestREADMEAutopilotWalkthrough(t *testing.T) {
	t.Parallel()
	for _, db := range []string{":memory:", "sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			runAutopilotWalkthrough(t, newTestApp(t, testDB(t, db), nil))
		})
	}
}

func runAutopilotWalkthrough(t *testing.T, srv *httptest.Server) {
	const bought = "447700900000" // the first GB number the sandbox sells
	created := func(want string) func(t *testing.T, status int, body map[string]any) {
		return func(t *testing.T, status int, body map[string]any) {
			ps, _ := body["participants"].([]any)
			if status != http.StatusCreated || len(ps) != 2 {
				t.Fatalf("create: %d %v", status, body)
			}
			if got := ps[0].(map[string]any)["proxy_number"]; got != want {
				t.Errorf("the participant's proxy number is %v, want %s", got, want)
			}
		}
	}
	var steps []step
	for i := range 5 {
		want := fmt.Sprintf("44770090000%d", i+1)
		if i == 4 {
			want = bought
		}
		steps = append(steps, step{"POST", "/conversations", created(want)})
	}
	steps = append(steps, step{"GET", "/numbers", func(t *testing.T, status int, body map[string]any) {
		nums, _ := body["numbers"].([]any)
		var got map[string]any
		for _, n := range nums {
			if n := n.(map[string]any); n["msisdn"] == bought {
				got = n
			}
		}
		if status != http.StatusOK || got == nil || got["bought_at"] == nil || got["monthly_cost"] != "1.25" {
			t.Fatalf("numbers: %d, the bought one %v; want it with bought_at and monthly_cost \"1.25\"", status, got)
		}
		var gb map[string]any
		for _, c := range body["countries"].([]any) {
			if c := c.(map[string]any); c["country"] == "GB" {
				gb = c
			}
		}
		want := map[string]any{"country": "GB", "numbers": 5.0, "active_legs": 10.0, "busiest_number_legs": 2.0,
			"idle_numbers": 0.0, "bought": 1.0, "monthly_cost": "1.25", "purchases": 1.0, "releases": 0.0}
		if diff := cmp.Diff(want, gb); diff != "" {
			t.Errorf("GB status (-want +got):\n%s", diff)
		}
	}})
	runSteps(t, srv, walkthrough(t, autopilotWalkthrough), steps, map[string]string{}, 0)
}

// TestREADMEPINWalkthrough runs the README's PIN walkthrough: a PIN
// conversation connects after the right digits and refuses the wrong
// ones.
func TestREADMEPINWalkthrough(t *testing.T) {
	t.Parallel()
	for _, db := range []string{":memory:", "sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			runPINWalkthrough(t, newTestApp(t, testDB(t, db), nil))
		})
	}
}

func runPINWalkthrough(t *testing.T, srv *httptest.Server) {
	const a, b = "447700900321", "447700900654"
	vars := map[string]string{}
	talk := func(body map[string]any) []any { l, _ := body["talk"].([]any); return l }
	steps := []step{
		{"POST", "/conversations", func(t *testing.T, status int, body map[string]any) {
			ps, _ := body["participants"].([]any)
			if status != http.StatusCreated || body["access"] != "pin" || body["pin"] != "2468" || len(ps) != 2 {
				t.Fatalf("create: %d %v", status, body)
			}
			if ps[0].(map[string]any)["proxy_number"] != ps[1].(map[string]any)["proxy_number"] {
				t.Errorf("participants %v: want one shared number", ps)
			}
		}},
		{"GET", "/conversations/$ID", func(t *testing.T, status int, body map[string]any) {
			if status != http.StatusOK || vars["SHARED"] == "" {
				t.Errorf("get: %d, SHARED %q", status, vars["SHARED"])
			}
		}},
		{"POST", "/sandbox/calls", func(t *testing.T, status int, body map[string]any) {
			if status != http.StatusOK || body["connected"] != b || body["caller_id"] != vars["SHARED"] ||
				len(talk(body)) != 1 || talk(body)[0] != "Please enter your PIN, then press hash." {
				t.Errorf("call with the PIN: %d %v", status, body)
			}
		}},
		{"POST", "/sandbox/calls", func(t *testing.T, status int, body map[string]any) {
			l := talk(body)
			if status != http.StatusOK || body["connected"] != nil || len(l) != 4 || l[3] != "That PIN is not right. Goodbye." {
				t.Errorf("call with wrong PINs: %d %v", status, body)
			}
		}},
		{"DELETE", "/conversations/$ID", func(t *testing.T, status int, body map[string]any) {
			if status != http.StatusNoContent {
				t.Errorf("delete: %d", status)
			}
		}},
	}
	runSteps(t, srv, walkthrough(t, pinWalkthrough), steps, vars, 0)
}

// TestREADMECallControlWalkthrough runs the README's call control
// walkthrough: a click-to-call rings A, then B, each shown the other's
// proxy number; closing the conversation hangs it up; the recording
// downloads.
func TestREADMECallControlWalkthrough(t *testing.T) {
	t.Parallel()
	for _, db := range []string{":memory:", "sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			runCallControlWalkthrough(t, newTestApp(t, testDB(t, db), nil))
		})
	}
}

func runCallControlWalkthrough(t *testing.T, srv *httptest.Server) {
	const a, b = "447700900111", "447700900222"
	vars := map[string]string{}
	var proxies [2]string // A's and B's proxy numbers
	statuses := func(in map[string]any) []string {
		var out []string
		evs, _ := in["events"].([]any)
		for _, e := range evs {
			out = append(out, e.(map[string]any)["status"].(string))
		}
		return out
	}
	steps := []step{
		{"POST", "/conversations", func(t *testing.T, status int, body map[string]any) {
			ps, _ := body["participants"].([]any)
			if status != http.StatusCreated || body["record"] != true || len(ps) != 2 {
				t.Fatalf("create: %d %v", status, body)
			}
			for i := range proxies {
				proxies[i] = ps[i].(map[string]any)["proxy_number"].(string)
			}
		}},
		{"POST", "/conversations/$ID/calls", func(t *testing.T, status int, body map[string]any) {
			want := []string{"requested", "started", "ringing", "answered", "started", "ringing", "answered"}
			if got := statuses(body); status != http.StatusCreated || body["from"] != a || body["to"] != proxies[0] || !slices.Equal(got, want) {
				t.Errorf("click-to-call: %d %v (events %v, want %v)", status, body, got, want)
			}
		}},
		{"GET", "/sandbox/calls", func(t *testing.T, status int, body map[string]any) {
			calls, _ := body["calls"].([]any)
			if status != http.StatusOK || len(calls) != 1 {
				t.Fatalf("calls: %d %v", status, body)
			}
			legs, _ := calls[0].(map[string]any)["legs"].([]any)
			if len(legs) != 2 {
				t.Fatalf("legs %v", legs)
			}
			first, second := legs[0].(map[string]any), legs[1].(map[string]any)
			if first["to"] != a || first["from"] != proxies[0] || second["to"] != b || second["from"] != proxies[1] ||
				first["status"] != "answered" || second["status"] != "answered" {
				t.Errorf("legs %v: want A rung from A's proxy number %s, then B from B's %s", legs, proxies[0], proxies[1])
			}
		}},
		{"DELETE", "/conversations/$ID", func(t *testing.T, status int, body map[string]any) {
			if status != http.StatusNoContent {
				t.Errorf("delete: %d %v", status, body)
			}
		}},
		{"GET", "/conversations/$ID", func(t *testing.T, status int, body map[string]any) {
			if status != http.StatusOK || !strings.HasPrefix(vars["REC"], "/interactions/") {
				t.Errorf("get: %d, REC %q", status, vars["REC"])
			}
		}},
		{"GET", "/conversations/$ID", func(t *testing.T, status int, body map[string]any) {
			ins, _ := body["interactions"].([]any)
			if status != http.StatusOK || body["status"] != "closed" || len(ins) != 1 {
				t.Fatalf("conversation: %d %v", status, body)
			}
			got := statuses(ins[0].(map[string]any))
			for _, st := range []string{"hungup", "completed", "recorded"} {
				if !slices.Contains(got, st) {
					t.Errorf("events %v: no %s", got, st)
				}
			}
			if n := strings.Count(strings.Join(got, " "), "completed"); n != 2 {
				t.Errorf("events %v: %d completed, want both legs'", got, n)
			}
		}},
		{"GET", "$REC", func(t *testing.T, status int, body map[string]any) {
			if status != http.StatusOK || body["head"] != "ID3" || body["type"] != "audio/mpeg" || body["bytes"].(int) < 10 {
				t.Errorf("recording: %d %v", status, body)
			}
		}},
	}
	runSteps(t, srv, walkthrough(t, callWalkthrough), steps, vars, 0)
}

// TestLiveModeCallControl: live mode reads the application's private
// key from VONAGE_PRIVATE_KEY; without it call control answers 501 and
// the start-up log says so; with it, a click-to-call goes through the
// Voice API (served over HTTP), and closing the conversation hangs it up.
func TestLiveModeCallControl(t *testing.T) {
	t.Parallel()
	const appID = "11111111-2222-4333-8444-555555555555"
	key, keyPEM, err := sandboxKey()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "private.key")
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	v := proxytest.NewVonage(proxytest.WithCredentials("livekey1", "live-api-secret"), proxytest.WithApplication(appID, &key.PublicKey),
		proxytest.WithOwnedNumbers(proxytest.OwnedNumber{Country: "GB", MSISDN: "447700900011", AppID: appID}))
	vonage := httptest.NewServer(v)
	defer vonage.Close()
	start := func(privateKey string) (http.Handler, *syncBuffer, error) {
		var logs syncBuffer
		env := map[string]string{"VONAGE_API_KEY": "livekey1", "VONAGE_API_SECRET": "live-api-secret",
			"VONAGE_APPLICATION_ID": appID, "VONAGE_PRIVATE_KEY": privateKey, "VONAGE_SIGNATURE_SECRET": "live-signature-secret", operatorTokenEnv: testToken}
		h, cleanup, err := newApp(t.Context(), appConfig{DB: ":memory:", PublicURL: "https://proxy.example.com",
			Getenv: func(k string) string { return env[k] }, Logger: slog.New(slog.NewTextHandler(&logs, nil)), VonageURL: vonage.URL})
		if err == nil {
			t.Cleanup(cleanup)
		}
		return h, &logs, err
	}
	do := func(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, operatorRequest(method, path, body))
		return rec
	}
	create := func(h http.Handler) string {
		rec := do(h, "POST", "/conversations", `{"a":"+447400123456","b":"+447400654321"}`)
		var c struct{ ID string }
		if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &c) != nil {
			t.Fatalf("create: %d %s", rec.Code, rec.Body)
		}
		return c.ID
	}

	if _, _, err := start(filepath.Join(t.TempDir(), "missing.key")); err == nil || !strings.Contains(err.Error(), "VONAGE_PRIVATE_KEY") {
		t.Errorf("a missing key file: %v", err)
	}
	off, logs, err := start("")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "VONAGE_PRIVATE_KEY is not set") {
		t.Errorf("start-up log does not say call control is off:\n%s", logs)
	}
	id := create(off)
	if rec := do(off, "POST", "/conversations/"+id+"/calls", `{"side":"a"}`); rec.Code != http.StatusNotImplemented || !strings.Contains(rec.Body.String(), "call_control_off") {
		t.Errorf("click-to-call without a key: %d %s", rec.Code, rec.Body)
	}
	do(off, "DELETE", "/conversations/"+id, "")

	on, _, err := start(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	v.Attach(&proxytest.Simulator{Handler: on, EventPath: "/vonage/event", ApplicationID: appID})
	id = create(on)
	rec := do(on, "POST", "/conversations/"+id+"/calls", `{"side":"b"}`)
	var in struct {
		From, To string
		Events   []struct{ Leg string }
	}
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &in) != nil || in.From != "447400654321" || len(in.Events) == 0 {
		t.Fatalf("click-to-call: %d %s", rec.Code, rec.Body)
	}
	if _, err := v.WaitCall(t.Context(), in.Events[0].Leg, func(c proxytest.SimCall) bool { return len(c.Legs) == 2 && c.Legs[1].Status == "answered" }); err != nil {
		t.Fatal(err)
	}
	if rec := do(on, "DELETE", "/conversations/"+id, ""); rec.Code != http.StatusNoContent {
		t.Errorf("close: %d %s", rec.Code, rec.Body)
	}
	if _, err := v.WaitCall(t.Context(), in.Events[0].Leg, func(c proxytest.SimCall) bool { return c.Ended }); err != nil {
		t.Errorf("the call was not hung up: %v", err)
	}
	if rec := do(on, "POST", "/conversations/"+id+"/calls", `{"side":"a"}`); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "conversation_ended") {
		t.Errorf("click-to-call a closed conversation: %d %s", rec.Code, rec.Body)
	}
}

// TestREADMELifecycleWalkthrough runs the README's lifecycle walkthrough:
// a retried create, an extension, a message, a close and a reopen.
func TestREADMELifecycleWalkthrough(t *testing.T) {
	t.Parallel()
	for _, db := range []string{":memory:", "sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			runLifecycleWalkthrough(t, newTestApp(t, testDB(t, db), nil))
		})
	}
}

func runLifecycleWalkthrough(t *testing.T, srv *httptest.Server) {
	const b = "447700900444"
	var created, bProxy string
	steps := []step{
		{"POST", "/conversations", func(t *testing.T, status int, body map[string]any) {
			if status != http.StatusCreated {
				t.Fatalf("create: %d %v", status, body)
			}
			created, _ = body["expires_at"].(string)
			ps := body["participants"].([]any)
			bProxy = ps[1].(map[string]any)["proxy_number"].(string)
		}},
		{"POST", "/conversations", func(t *testing.T, status int, body map[string]any) {
			if status != http.StatusOK {
				t.Errorf("retried create: %d, want 200 (the same conversation)", status)
			}
		}},
		{"PATCH", "/conversations/$ID", func(t *testing.T, status int, body map[string]any) {
			exp, _ := body["expires_at"].(string)
			ps, _ := body["participants"].([]any)
			if status != http.StatusOK || exp <= created || len(ps) != 2 || ps[1].(map[string]any)["label"] != "your host" {
				t.Errorf("extend: %d %v (first end %s)", status, body, created)
			}
		}},
		{"POST", "/conversations/$ID/messages", func(t *testing.T, status int, body map[string]any) {
			if status != http.StatusCreated || body["kind"] != "message" || body["to"] != b || body["from"] != bProxy ||
				(body["status"] != "relayed" && body["status"] != "delivered") {
				t.Errorf("message: %d %v", status, body)
			}
		}},
		{"DELETE", "/conversations/$ID", func(t *testing.T, status int, body map[string]any) {
			if status != http.StatusNoContent {
				t.Errorf("close: %d", status)
			}
		}},
		{"PATCH", "/conversations/$ID", func(t *testing.T, status int, body map[string]any) {
			ps, _ := body["participants"].([]any)
			if status != http.StatusOK || body["status"] != "active" || len(ps) != 2 || ps[1].(map[string]any)["proxy_number"] != bProxy {
				t.Errorf("reopen: %d %v", status, body)
			}
		}},
		{"GET", "/sandbox/outbox", func(t *testing.T, status int, body map[string]any) {
			msgs, _ := body["messages"].([]any)
			if status != http.StatusOK || len(msgs) == 0 {
				t.Fatalf("outbox: %d %v", status, body)
			}
			last := msgs[len(msgs)-1].(map[string]any)
			if last["to"] != b || last["from"] != bProxy {
				t.Errorf("last SMS %v: want the message to %s from %s", last, b, bProxy)
			}
		}},
	}
	runSteps(t, srv, walkthrough(t, lifeWalkthrough), steps, map[string]string{}, 0)
}
