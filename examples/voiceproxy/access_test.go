package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// newAppOn serves the demo in sandbox mode as if its listener were
// listen, with env, on an httptest server; logs gets the logs.
func newAppOn(t *testing.T, listen string, env map[string]string) (*httptest.Server, *syncBuffer) {
	t.Helper()
	var logs syncBuffer
	h, cleanup, err := newApp(t.Context(), appConfig{
		DB: ":memory:", PublicURL: "https://demo.example", Listen: listen,
		Getenv: func(k string) string { return env[k] },
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		cleanup()
	})
	return srv, &logs
}

// request is one request of the access tests.
type request struct {
	method, path, body string
	header             map[string]string
	host               string // "" for the server's address
}

// send sends rq to srv without following redirects and returns the
// answer, its body read.
func send(t *testing.T, srv *httptest.Server, rq request) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), rq.method, srv.URL+rq.path, strings.NewReader(rq.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	if rq.host != "" {
		req.Host = rq.host
	}
	c := *srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// errorCode is the "code" of a JSON error answer.
func errorCode(body string) string {
	var e apiError
	_ = json.Unmarshal([]byte(body), &e)
	return e.Code
}

const jsonType = "application/json"

// A web page the operator opens cannot use the operator surface: what it
// can send another origin without a preflight (a form, text/plain) is
// 415, a foreign Origin or Sec-Fetch-Site: cross-site is 403, a rebound
// host name is 421, and nothing is created or erased. The same requests
// from the operator's own origin, and curl's, go through.
func TestCrossSiteRequestsChangeNothing(t *testing.T) {
	t.Parallel()
	srv := newTestApp(t, ":memory:", nil)
	create := `{"a":"+447700900123","b":"+447700900456"}`
	own := srv.URL // the page's own origin: http://127.0.0.1:port
	port := strings.TrimPrefix(srv.URL, "http://127.0.0.1")
	refused := []struct {
		name     string
		rq       request
		status   int
		wantCode string
	}{
		{"text/plain POST", request{method: "POST", path: "/conversations", body: create, header: map[string]string{"Content-Type": "text/plain"}}, 415, "unsupported_media_type"},
		{"form POST", request{method: "POST", path: "/conversations", body: create, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, "unsupported_media_type"},
		{"multipart form POST", request{method: "POST", path: "/conversations", body: create, header: map[string]string{"Content-Type": "multipart/form-data; boundary=x"}}, 415, "unsupported_media_type"},
		{"body with no type", request{method: "POST", path: "/conversations", body: create}, 415, "unsupported_media_type"},
		{"form POST to click-to-call", request{method: "POST", path: "/conversations/c1/calls", body: `side=a`, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, "unsupported_media_type"},
		{"empty form POST to erase", request{method: "POST", path: "/participants/447700900123/erase", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, "unsupported_media_type"},
		{"sandbox call as text/plain", request{method: "POST", path: "/sandbox/calls", body: `{"from":"+447700900123","to":"+447700900001"}`, header: map[string]string{"Content-Type": "text/plain;charset=UTF-8"}}, 415, "unsupported_media_type"},
		{"foreign Origin", request{method: "POST", path: "/conversations", body: create, header: map[string]string{"Content-Type": jsonType, "Origin": "https://evil.example"}}, 403, "cross_origin"},
		{"foreign Origin on the same host, another port", request{method: "POST", path: "/conversations", body: create, header: map[string]string{"Content-Type": jsonType, "Origin": "http://127.0.0.1:1"}}, 403, "cross_origin"},
		{"Origin null", request{method: "POST", path: "/conversations", body: create, header: map[string]string{"Content-Type": jsonType, "Origin": "null"}}, 403, "cross_origin"},
		{"foreign Origin erasing", request{method: "POST", path: "/participants/447700900123/erase", header: map[string]string{"Origin": "https://evil.example"}}, 403, "cross_origin"},
		{"Sec-Fetch-Site cross-site", request{method: "POST", path: "/conversations", body: create, header: map[string]string{"Content-Type": jsonType, "Sec-Fetch-Site": "cross-site"}}, 403, "cross_site"},
		{"cross-site fetch of the numbers", request{method: "GET", path: "/numbers", header: map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"}}, 403, "cross_site"},
		{"rebound host reading the numbers", request{method: "GET", path: "/numbers", host: "evil.example" + port}, 421, "wrong_host"},
		{"rebound host reading a conversation", request{method: "GET", path: "/conversations?status=all", host: "evil.example"}, 421, "wrong_host"},
		{"rebound host on the ops page", request{method: "GET", path: "/ops/", host: "evil.example" + port}, 421, "wrong_host"},
		{"rebound host on the metrics", request{method: "GET", path: "/metrics", host: "evil.example" + port}, 421, "wrong_host"},
		{"rebound host creating, same origin as far as the browser knows", request{method: "POST", path: "/conversations", body: create, host: "evil.example" + port, header: map[string]string{"Content-Type": jsonType, "Origin": "http://evil.example" + port}}, 421, "wrong_host"},
		{"a host that only ends like localhost", request{method: "GET", path: "/numbers", host: "evillocalhost" + port}, 421, "wrong_host"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := send(t, srv, tt.rq)
			if resp.StatusCode != tt.status || errorCode(body) != tt.wantCode {
				t.Errorf("%s %s = %d %s, want %d %q", tt.rq.method, tt.rq.path, resp.StatusCode, body, tt.status, tt.wantCode)
			}
		})
	}
	// Nothing was created, so nothing was called or texted.
	if _, body := send(t, srv, request{method: "GET", path: "/conversations?status=all"}); !strings.Contains(body, `"conversations": []`) {
		t.Fatalf("a refused request created a conversation: %s", body)
	}
	if _, body := send(t, srv, request{method: "GET", path: "/sandbox/outbox"}); !strings.Contains(body, `"messages": []`) {
		t.Fatalf("a refused request sent an SMS: %s", body)
	}

	allowed := []struct {
		name   string
		rq     request
		status int
	}{
		{"curl, JSON", request{method: "POST", path: "/conversations", body: create, header: map[string]string{"Content-Type": jsonType}}, 201},
		{"JSON with a charset, from the own origin", request{method: "POST", path: "/conversations", body: `{"a":"+447700900124","b":"+447700900457"}`,
			header: map[string]string{"Content-Type": "application/json; charset=utf-8", "Origin": own, "Sec-Fetch-Site": "same-origin"}}, 201},
		{"localhost", request{method: "GET", path: "/numbers", host: "localhost" + port}, 200},
		{"-public-url's host", request{method: "GET", path: "/numbers", host: "demo.test"}, 200},
		{"IPv6 loopback", request{method: "GET", path: "/numbers", host: "[::1]" + port}, 200},
		{"erase without a body or type", request{method: "POST", path: "/participants/447700900999/erase"}, 200},
		{"a link followed from another site to an ops page", request{method: "GET", path: "/ops/",
			header: map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}}, 200},
		// The public part: the health checks answer any host; the
		// webhooks are signed instead (this one is not: 401).
		{"health check on any host", request{method: "GET", path: "/healthz", host: "evil.example"}, 200},
		{"readiness on any host", request{method: "GET", path: "/readyz", host: "evil.example"}, 200},
		{"an unsigned webhook on any host", request{method: "GET", path: "/vonage/answer?from=447700900999&to=447700900001", host: "evil.example"}, 401},
	}
	for _, tt := range allowed {
		t.Run(tt.name, func(t *testing.T) {
			if resp, body := send(t, srv, tt.rq); resp.StatusCode != tt.status {
				t.Errorf("%s %s (Host %q) = %d %s, want %d", tt.rq.method, tt.rq.path, tt.rq.host, resp.StatusCode, body, tt.status)
			}
		})
	}
}

// Beyond loopback, or in live mode, the demo does not start without an
// operator token, nor with a short one.
func TestOperatorTokenRequired(t *testing.T) {
	t.Parallel()
	live := map[string]string{"VONAGE_API_KEY": "livekey1", "VONAGE_API_SECRET": "live-api-secret", "VONAGE_APPLICATION_ID": "11111111-2222-4333-8444-555555555555"}
	tests := []struct {
		name, listen string
		env          map[string]string
		want         error
		wantText     string
	}{
		{"all interfaces", "0.0.0.0:8080", nil, errNoToken, ""},
		{"all IPv6 interfaces", "[::]:8080", nil, errNoToken, ""},
		{"a LAN address", "192.168.1.10:8080", nil, errNoToken, ""},
		{"an unknown listener", "", nil, errNoToken, ""},
		{"live on loopback", "127.0.0.1:8080", live, errNoToken, ""},
		{"a short token", "0.0.0.0:8080", map[string]string{operatorTokenEnv: "secret"}, nil, "at least 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := newApp(t.Context(), appConfig{DB: ":memory:", Listen: tt.listen, PublicURL: "http://" + tt.listen,
				Getenv: func(k string) string { return tt.env[k] }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("newApp = %v, want %v %q", err, tt.want, tt.wantText)
			}
		})
	}
	// The real server, on every interface: it stops before serving.
	err := run(t.Context(), []string{"-addr", "0.0.0.0:0", "-db", ":memory:"}, func(string) string { return "" }, io.Discard)
	if !errors.Is(err, errNoToken) || !strings.Contains(err.Error(), operatorTokenEnv) {
		t.Errorf("run -addr 0.0.0.0:0 without a token = %v, want %v", err, errNoToken)
	}
}

// With a token the operator surface answers 401 without it and 200 with
// it; the ops pages send a browser to a login form whose cookie opens
// the pages (not changes); the health checks need nothing.
func TestOperatorToken(t *testing.T) {
	t.Parallel()
	srv, _ := newAppOn(t, "0.0.0.0:8080", map[string]string{operatorTokenEnv: testToken})
	bearer := map[string]string{"Authorization": "Bearer " + testToken}
	for _, path := range []string{"/numbers", "/conversations", "/metrics", "/sandbox/outbox", "/"} {
		resp, body := send(t, srv, request{method: "GET", path: path})
		if resp.StatusCode != http.StatusUnauthorized || errorCode(body) != "unauthorized" || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("GET %s without the token = %d %s %q", path, resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
		}
		if resp, body := send(t, srv, request{method: "GET", path: path, header: map[string]string{"Authorization": "Bearer " + testToken + "x"}}); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong token = %d %s", path, resp.StatusCode, body)
		}
		if resp, body := send(t, srv, request{method: "GET", path: path, header: bearer}); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with the token = %d %s", path, resp.StatusCode, body)
		}
	}
	create := request{method: "POST", path: "/conversations", body: `{"a":"+447700900123","b":"+447700900456"}`, header: map[string]string{"Content-Type": jsonType}}
	if resp, body := send(t, srv, create); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("create without the token = %d %s", resp.StatusCode, body)
	}
	create.header["Authorization"] = bearer["Authorization"]
	if resp, body := send(t, srv, create); resp.StatusCode != http.StatusCreated {
		t.Errorf("create with the token = %d %s", resp.StatusCode, body)
	}
	for _, path := range []string{"/healthz", "/readyz", "/ops/static/ops.css", "/ops/login"} {
		if resp, body := send(t, srv, request{method: "GET", path: path}); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s without the token = %d %s", path, resp.StatusCode, body)
		}
	}

	// A browser: the ops page sends it to the login form.
	resp, _ := send(t, srv, request{method: "GET", path: "/ops/pool"})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ops/login?next=%2Fops%2Fpool" {
		t.Fatalf("GET /ops/pool without a login = %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	form := func(v url.Values, header map[string]string) request {
		h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		for k, x := range header {
			h[k] = x
		}
		return request{method: "POST", path: "/ops/login", body: v.Encode(), header: h, host: "demo.example"}
	}
	resp, body := send(t, srv, form(url.Values{"token": {"wrong" + testToken}, "next": {"/ops/pool"}}, nil))
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 || !strings.Contains(body, "not the operator token") {
		t.Errorf("login with a wrong token = %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	if resp, _ := send(t, srv, form(url.Values{"token": {testToken}}, map[string]string{"Origin": "https://evil.example"})); resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Errorf("login from another origin = %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	if resp, _ := send(t, srv, form(url.Values{"token": {testToken}, "next": {"//evil.example/"}}, nil)); resp.Header.Get("Location") != "/ops/" {
		t.Errorf("login with next=//evil.example/ goes to %q, want /ops/", resp.Header.Get("Location"))
	}
	resp, _ = send(t, srv, form(url.Values{"token": {testToken}, "next": {"/ops/pool"}}, nil))
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ops/pool" || len(cookies) != 1 {
		t.Fatalf("login = %d, Location %q, cookies %v", resp.StatusCode, resp.Header.Get("Location"), cookies)
	}
	c := cookies[0]
	if c.Name != opsCookie || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || !c.Secure || c.Path != "/" || strings.Contains(c.Value, testToken) {
		t.Errorf("login cookie %+v: want HttpOnly, SameSite=Strict, Secure (-public-url is https), Path=/, not the token", c)
	}
	// Over plain HTTP on the listener's address (an SSH tunnel), the
	// cookie is not Secure, or the browser would drop it.
	direct := form(url.Values{"token": {testToken}}, nil)
	direct.host = ""
	if resp, _ := send(t, srv, direct); len(resp.Cookies()) != 1 || resp.Cookies()[0].Secure {
		t.Errorf("login over http://127.0.0.1: cookies %v, want one without Secure", resp.Cookies())
	}
	withCookie := map[string]string{"Cookie": c.Name + "=" + c.Value}
	for _, path := range []string{"/ops/pool", "/ops/", "/ops/failures", "/numbers"} {
		if resp, body := send(t, srv, request{method: "GET", path: path, header: withCookie}); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with the login cookie = %d %s", path, resp.StatusCode, body)
		}
	}
	if resp, body := send(t, srv, request{method: "GET", path: "/ops/", header: map[string]string{"Cookie": c.Name + "=forged"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /ops/ with a forged cookie = %d %s", resp.StatusCode, body)
	}
	// The cookie opens the pages, never a change.
	change := request{method: "POST", path: "/conversations", body: `{"a":"+447700900124","b":"+447700900457"}`,
		header: map[string]string{"Content-Type": jsonType, "Cookie": c.Name + "=" + c.Value}}
	if resp, body := send(t, srv, change); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("create with the login cookie only = %d %s", resp.StatusCode, body)
	}
	resp, _ = send(t, srv, request{method: "POST", path: "/ops/logout", header: withCookie})
	if cs := resp.Cookies(); resp.StatusCode != http.StatusSeeOther || len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Errorf("logout = %d, cookies %v: want the cookie cleared", resp.StatusCode, cs)
	}
}

// The sandbox's signature secret is random per start, printed in the
// start-up log, and fixed by VOICEPROXY_SANDBOX_SECRET; a webhook signed
// with it is accepted, one signed with another secret is not.
func TestSandboxSecret(t *testing.T) {
	t.Parallel()
	secretRe := regexp.MustCompile(`signature_secret=(\S+)`)
	secretOf := func(logs *syncBuffer) string {
		m := secretRe.FindStringSubmatch(logs.String())
		if m == nil {
			t.Fatalf("the start-up log shows no signature_secret:\n%s", logs)
		}
		return m[1]
	}
	srv1, logs1 := newAppOn(t, "127.0.0.1:8080", nil)
	_, logs2 := newAppOn(t, "127.0.0.1:8080", nil)
	s1, s2 := secretOf(logs1), secretOf(logs2)
	if s1 == s2 || len(s1) != 32 {
		t.Errorf("two starts have the secrets %q and %q: want two random ones of 32 hex digits", s1, s2)
	}
	_, fixed := newAppOn(t, "127.0.0.1:8080", map[string]string{sandboxSecretEnv: "my-sandbox-secret"})
	if got := secretOf(fixed); got != "my-sandbox-secret" {
		t.Errorf("with %s set the secret is %q", sandboxSecretEnv, got)
	}

	h := srv1.Config.Handler
	if resp, body := send(t, srv1, request{method: "POST", path: "/conversations", body: `{"a":"+447700900123","b":"+447700900456"}`,
		header: map[string]string{"Content-Type": jsonType}}); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	for _, tt := range []struct {
		secret string
		ok     bool
	}{{s1, true}, {s2, false}, {"sandbox-signature-secret", false}} {
		sim := &proxytest.Simulator{Handler: h, AnswerPath: "/vonage/answer", EventPath: "/vonage/event", SignatureSecret: tt.secret}
		out, err := sim.PlaceCall(t.Context(), "447700900123", "447700900001")
		if tt.ok && (err != nil || out.Connected != "447700900456") {
			t.Errorf("a call signed with the printed secret: %+v, %v", out, err)
		}
		if !tt.ok && err == nil {
			t.Errorf("a call signed with %q was answered", tt.secret)
		}
	}
}

// The README's recipe for signing a webhook by hand, run by bash with
// openssl and curl against the real server and the secret its log
// printed: the voice JWT gets the NCCO, the SMS sig gets its relay.
func TestREADMESigningRecipe(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "openssl", "curl", "md5sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the recipe needs %s", tool)
		}
	}
	block := walkthroughBlock(t, "README.md", "Signing a webhook by hand")
	script, n := "", 0
	for _, line := range strings.Split(block, "\n") {
		if strings.HasPrefix(line, "SECRET=") {
			n++
			continue // the test gives it
		}
		script += line + "\n"
	}
	if n != 1 {
		t.Fatalf("the recipe sets SECRET %d times, want once:\n%s", n, block)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", ":memory:"}, func(string) string { return "" }, &logs)
	}()
	defer func() { cancel(); <-done }()
	var addr, secret string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := regexp.MustCompile(`msg=listening addr=http://(\S+)`).FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
		}
	}
	if m := regexp.MustCompile(`signature_secret=(\S+)`).FindStringSubmatch(logs.String()); m != nil {
		secret = m[1]
	}
	if addr == "" || secret == "" {
		t.Fatalf("the server did not start or print its secret:\n%s", logs.String())
	}
	resp, err := http.Post("http://"+addr+"/conversations", jsonType, strings.NewReader(`{"a": "+447700900123", "b": "+447700900456"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	cmd := exec.CommandContext(t.Context(), "bash", "-e", "-c", strings.ReplaceAll(script, "localhost:8080", addr))
	cmd.Env = append(os.Environ(), "SECRET="+secret, "PROXY=447700900001")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the recipe failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"action":"connect"`) || !strings.Contains(string(out), `"number":"447700900456"`) || !strings.HasSuffix(strings.TrimSpace(string(out)), "200") {
		t.Errorf("the recipe printed %s; want the NCCO connecting the driver, then 200", out)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/sandbox/outbox")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), `"text": "Hello"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hand-signed SMS was not relayed: %s\n%s", b, logs.String())
		}
	}
}
