package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/sms"
)

// The tests of this file are attacks on the demo's operator surface, as
// a page the operator opens (or a DNS rebinding one) would make them
// from the operator's browser, and on what webhook input reaches.

// Host headers: a rebinding page names its own host; address literals,
// localhost and -public-url's host are the only names let in.
func TestAttackHostRebinding(t *testing.T) {
	t.Parallel()
	srv, _ := newAppOn(t, "127.0.0.1:8080", nil)
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	refused := []string{
		"evil.example", "evil.example" + port, "localhost.", "localhost." + port, "LOCALHOST." + port,
		"foo.localhost" + port, "127.0.0.1.nip.io" + port, "localhost@evil.example", "demo.example.evil.example",
		"demo.example:8443", "127.1" + port, "0x7f000001" + port, "2130706433" + port, "localhost:8080:80",
		"xn--demo-example" + port,
	}
	for _, h := range refused {
		resp, body := send(t, srv, request{method: "GET", path: "/numbers", host: h})
		if resp.StatusCode != http.StatusMisdirectedRequest && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("Host %q: %d %s, want 421", h, resp.StatusCode, body)
		}
	}
	allowed := []string{"127.0.0.1" + port, "LOCALHOST" + port, "localhost", "[::1]" + port, "[::ffff:127.0.0.1]" + port, "demo.example", "DEMO.example"}
	for _, h := range allowed {
		if resp, body := send(t, srv, request{method: "GET", path: "/numbers", host: h}); resp.StatusCode != http.StatusOK {
			t.Errorf("Host %q: %d %s, want 200", h, resp.StatusCode, body)
		}
	}
}

// Cross-origin writes: what a page can send without a preflight, and the
// Origin and Sec-Fetch-Site variants, create nothing.
func TestAttackCrossOriginWrites(t *testing.T) {
	t.Parallel()
	srv, _ := newAppOn(t, "127.0.0.1:8080", nil)
	host := strings.TrimPrefix(srv.URL, "http://")
	port := host[strings.LastIndexByte(host, ':'):]
	create := `{"a":"+447700900123","b":"+447700900456"}`
	tests := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"text/plain", map[string]string{"Content-Type": "text/plain"}, 415},
		{"text/plain with charset", map[string]string{"Content-Type": "text/plain;charset=UTF-8"}, 415},
		{"form", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"multipart", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, 415},
		{"no Content-Type", map[string]string{"Content-Type": ""}, 415},
		{"application/json-patch+json", map[string]string{"Content-Type": "application/json-patch+json"}, 415},
		{"text/json", map[string]string{"Content-Type": "text/json"}, 415},
		{"two types", map[string]string{"Content-Type": "text/plain, application/json"}, 415},
		{"Origin null", map[string]string{"Content-Type": jsonType, "Origin": "null"}, 403},
		{"Origin of another port", map[string]string{"Content-Type": jsonType, "Origin": "http://127.0.0.1:1"}, 403},
		{"Origin of another host", map[string]string{"Content-Type": jsonType, "Origin": "http://evil.example" + port}, 403},
		{"Origin with a path", map[string]string{"Content-Type": jsonType, "Origin": "http://" + host + "/x"}, 403},
		{"Origin with userinfo", map[string]string{"Content-Type": jsonType, "Origin": "http://" + host + "@evil.example"}, 403},
		{"Origin localhost for 127.0.0.1", map[string]string{"Content-Type": jsonType, "Origin": "http://localhost" + port}, 403},
		{"cross-site, no Origin", map[string]string{"Content-Type": jsonType, "Sec-Fetch-Site": "cross-site"}, 403},
		{"cross-site navigation POST", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, 403},
		{"same-site from another port", map[string]string{"Content-Type": "text/plain", "Sec-Fetch-Site": "same-site", "Origin": "http://localhost:3000"}, 403},
		{"method override to DELETE", map[string]string{"Content-Type": "text/plain", "X-HTTP-Method-Override": "GET"}, 415},
	}
	for _, tc := range tests {
		resp, body := send(t, srv, request{method: "POST", path: "/conversations", body: create, header: tc.header})
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.want)
		}
	}
	// application/json with a charset is JSON.
	resp, body := send(t, srv, request{method: "POST", path: "/conversations", body: create, header: map[string]string{"Content-Type": "application/json; charset=utf-8", "Origin": "http://" + host}})
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("application/json; charset=utf-8 from its own origin: %d %s, want 201", resp.StatusCode, body)
	}
	// A CORS preflight is never granted.
	resp, _ = send(t, srv, request{method: "OPTIONS", path: "/conversations", header: map[string]string{
		"Origin": "http://evil.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.StatusCode < 400 {
		t.Errorf("preflight: %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	// A framed ops page (clickjacking) is a cross-site navigation that
	// is not a document.
	resp, _ = send(t, srv, request{method: "GET", path: "/ops/", header: map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("ops page framed by another site: %d, want 403", resp.StatusCode)
	}
	// Only the one conversation made with JSON exists.
	resp, body = send(t, srv, request{method: "GET", path: "/conversations"})
	if n := strings.Count(body, `"id":`); resp.StatusCode != http.StatusOK || n != 1 {
		t.Errorf("conversations after the attacks: %d, %d of them: %s", resp.StatusCode, n, body)
	}
}

// The login form: no open redirect through next, however it is spelled
// (browsers drop tabs and newlines from a URL and read \ as /).
func TestAttackLoginRedirect(t *testing.T) {
	t.Parallel()
	env := map[string]string{operatorTokenEnv: testToken}
	h, cleanup, err := newApp(t.Context(), appConfig{DB: ":memory:", PublicURL: "https://demo.example", Listen: "0.0.0.0:8080",
		Getenv: func(k string) string { return env[k] }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	base, _ := url.Parse("https://demo.example/ops/login")
	nexts := []string{
		"//evil.example", "/ops/..//evil.example", "/ops/../\t/evil.example", "/ops/\t/\t/evil.example",
		"/\\evil.example", "/ops/..\\evil.example", "https://evil.example/ops/", "/ops/%2f%2fevil.example",
		"/ops/../%2fevil.example", "/ops/..%2f..%2f/evil.example", " //evil.example", "/ops/@evil.example",
		"/ops/\u3002evil.example", "/ops/../..//evil.example/ops/", "\t//evil.example/ops/", "/ops/\n/evil.example",
	}
	for _, next := range nexts {
		// The login page echoes next into its form, escaped.
		r := httptest.NewRequest(http.MethodGet, "https://demo.example/ops/login?"+url.Values{"next": {next}}.Encode(), nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if strings.Contains(w.Body.String(), "evil.example") && !strings.Contains(w.Body.String(), `value="/ops/`) {
			t.Errorf("login page for next=%q echoes it: %s", next, w.Body)
		}
		r = httptest.NewRequest(http.MethodPost, "https://demo.example/ops/login", strings.NewReader(url.Values{"token": {testToken}, "next": {next}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)
		loc := w.Header().Get("Location")
		// As a browser reads it: tabs and newlines dropped, \ a /.
		browser := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(strings.TrimSpace(loc))
		u, err := base.Parse(browser)
		if w.Code != http.StatusSeeOther || err != nil || u.Host != "demo.example" {
			t.Errorf("login with next=%q: %d, Location %q (a browser goes to %v)", next, w.Code, loc, u)
		}
	}
}

// opsLogin logs in to srv through the public URL's host and returns the
// cookie.
func opsLogin(t *testing.T, srv *httptest.Server) *http.Cookie {
	t.Helper()
	resp, _ := send(t, srv, request{method: "POST", path: "/ops/login", host: "demo.example",
		body:   url.Values{"token": {testToken}}.Encode(),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if len(resp.Cookies()) != 1 {
		t.Fatalf("login: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	return resp.Cookies()[0]
}

// The login cookie: never a change, not from the query, not with a
// lower-case scheme, not the token itself.
func TestAttackOperatorCredentials(t *testing.T) {
	t.Parallel()
	srv, _ := newAppOn(t, "0.0.0.0:8080", map[string]string{operatorTokenEnv: testToken})
	c := opsLogin(t, srv)
	cookie := c.Name + "=" + c.Value
	tests := []struct {
		name string
		rq   request
	}{
		{"token in the query", request{method: "GET", path: "/numbers?token=" + testToken}},
		{"token in the query, bearer name", request{method: "GET", path: "/numbers?access_token=" + testToken}},
		{"token as a cookie", request{method: "GET", path: "/numbers", header: map[string]string{"Cookie": opsCookie + "=" + testToken}}},
		{"lower-case bearer", request{method: "GET", path: "/numbers", header: map[string]string{"Authorization": "bearer " + testToken}}},
		{"token after two spaces", request{method: "GET", path: "/numbers", header: map[string]string{"Authorization": "Bearer  " + testToken}}},
		{"token prefix", request{method: "GET", path: "/numbers", header: map[string]string{"Authorization": "Bearer " + testToken[:31]}}},
		{"Basic", request{method: "GET", path: "/numbers", header: map[string]string{"Authorization": "Basic " + testToken}}},
		{"cookie on a DELETE", request{method: "DELETE", path: "/conversations/x", header: map[string]string{"Cookie": cookie}}},
		{"cookie on an erasure", request{method: "POST", path: "/participants/447700900123/erase", header: map[string]string{"Cookie": cookie}}},
		{"cookie and a wrong bearer", request{method: "POST", path: "/conversations", body: `{}`, header: map[string]string{"Cookie": cookie, "Authorization": "Bearer x", "Content-Type": jsonType}}},
		{"cookie with HEAD on metrics", request{method: "HEAD", path: "/metrics", header: map[string]string{"Authorization": "Bearer x"}}},
	}
	for _, tc := range tests {
		if resp, body := send(t, srv, tc.rq); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401", tc.name, resp.StatusCode, body)
		}
	}
}

// A login cookie is good for what the login promised, and no longer: it
// was set for 12 hours, and logging out ends it. A copy taken from the
// browser (a shared machine, a backup, another local server on the same
// host, to which browsers send a host's cookies whatever the port) must
// not open the ops pages for ever.
func TestAttackLoginCookieOutlivesLogin(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	env := map[string]string{operatorTokenEnv: testToken}
	h, cleanup, err := newApp(t.Context(), appConfig{DB: ":memory:", PublicURL: "https://demo.example", Listen: "0.0.0.0:8080",
		Getenv: func(k string) string { return env[k] }, Logger: slog.New(slog.DiscardHandler), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); cleanup() })
	c := opsLogin(t, srv)
	withCookie := map[string]string{"Cookie": c.Name + "=" + c.Value}
	send(t, srv, request{method: "POST", path: "/ops/logout", header: withCookie, host: "demo.example"})
	if resp, _ := send(t, srv, request{method: "GET", path: "/numbers", header: withCookie}); resp.StatusCode == http.StatusOK {
		t.Errorf("the cookie of a session logged out still opens /numbers (every real number)")
	}
	mu.Lock()
	now = now.Add(13 * time.Hour)
	mu.Unlock()
	if resp, _ := send(t, srv, request{method: "GET", path: "/numbers", header: withCookie}); resp.StatusCode == http.StatusOK {
		t.Errorf("the cookie of a 12-hour login still opens /numbers 13 hours later")
	}
}

// Webhook input in /metrics: signed (as Vonage would sign them) receipts
// and events with statuses no label should be: the scrape stays 200 and
// small.
func TestAttackMetricsLabels(t *testing.T) {
	t.Parallel()
	const secret = "attack-sandbox-secret"
	srv, _ := newAppOn(t, "127.0.0.1:8080", map[string]string{sandboxSecretEnv: secret})
	statuses := []string{"delivered\xff", strings.Repeat("x", 5000), "a\nb", `a"b\`, "unknown", "failed"}
	for i, st := range statuses {
		for j := range 3 {
			v := url.Values{"msisdn": {"447700900123"}, "to": {"447700900001"}, "messageId": {"m" + strconv.Itoa(i*10+j)},
				"status": {st + strconv.Itoa(j)}, "err-code": {"0"}, "message-timestamp": {"2026-03-01 12:00:00"},
				"timestamp": {strconv.FormatInt(time.Now().Unix(), 10)}, "nonce": {"n" + strconv.Itoa(i*10+j)}}
			sms.SignParams(v, secret, sms.MD5Hash)
			resp, body := send(t, srv, request{method: "POST", path: "/vonage/delivery-receipt", body: v.Encode(),
				header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
			if resp.StatusCode >= 300 {
				t.Errorf("signed receipt with status %q: %d %s", st, resp.StatusCode, body)
			}
			ev := `{"uuid":"u` + strconv.Itoa(i*10+j) + `","conversation_uuid":"CON-x","status":` + strconv.Quote(st+strconv.Itoa(j)) + `,"from":"447700900123","to":"447700900001","direction":"inbound"}`
			req := httptest.NewRequest(http.MethodPost, srv.URL+"/vonage/event", strings.NewReader(ev))
			req.RequestURI = ""
			req.Header.Set("Content-Type", "application/json")
			if err := (proxy.WebhookSigner{Secret: secret}).Sign(req, []byte(ev)); err != nil {
				t.Fatal(err)
			}
			r, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
		}
	}
	resp, body := send(t, srv, request{method: "GET", path: "/metrics"})
	if resp.StatusCode != http.StatusOK || len(body) > 200<<10 || strings.Contains(body, strings.Repeat("x", 100)) || strings.Contains(body, "\xff") {
		t.Errorf("/metrics after odd statuses: %d, %d bytes", resp.StatusCode, len(body))
	}
}

// The ops page's webhook failures keep what a forged request sends, and
// anyone may send one: what is kept of it is bounded.
func TestAttackFailureLogBounded(t *testing.T) {
	t.Parallel()
	srv, _ := newAppOn(t, "127.0.0.1:8080", nil)
	long := "/vonage/" + strings.Repeat("a", 64<<10)
	for range maxFailures {
		if resp, _ := send(t, srv, request{method: "GET", path: long}); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET a long unknown webhook path: %d", resp.StatusCode)
		}
	}
	resp, body := send(t, srv, request{method: "GET", path: "/ops/failures"})
	if resp.StatusCode != http.StatusOK || len(body) > 256<<10 {
		t.Errorf("/ops/failures after %d forged requests with 64 KiB paths: %d, %d bytes; want each path cut short", maxFailures, resp.StatusCode, len(body))
	}
}
