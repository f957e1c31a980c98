package voice

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jarcoal/httpmock"

	"github.com/voiceproxy/voiceproxy/ncco"
)

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
)

// testKeyPEM is an RSA key for the tests, PKCS #8 as the dashboard
// writes it, made once.
func testKeyPEM(t *testing.T) []byte {
	t.Helper()
	testKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	der, err := x509.MarshalPKCS8PrivateKey(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

var testClock = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newCallsClient(t *testing.T, mt *httpmock.MockTransport) *Client {
	t.Helper()
	c, err := NewClient("app-1", testKeyPEM(t), WithHTTPClient(&http.Client{Transport: mt}),
		WithClock(func() time.Time { return testClock }),
		WithSleep(func(context.Context, time.Duration) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkJWT verifies r's bearer token with the public key and returns its
// jti: RS256, application_id, iat, exp after iat.
func checkJWT(t *testing.T, r *http.Request) string {
	t.Helper()
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		t.Fatalf("no bearer token: %q", r.Header.Get("Authorization"))
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(tk *jwt.Token) (any, error) { return &testKey.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return testClock }))
	if err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	if claims["application_id"] != "app-1" || iat == nil || !iat.Equal(testClock) || exp == nil || !exp.After(iat.Time) {
		t.Errorf("claims %v: want application_id app-1, iat now, exp after", claims)
	}
	jti, _ := claims["jti"].(string)
	if jti == "" {
		t.Errorf("no jti in %v", claims)
	}
	return jti
}

// CreateCall posts the call as the API description shapes it, signed with
// a fresh application JWT, and is not retried after a 5xx.
func TestCreateCall(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	var jtis []string
	calls := 0
	mt.RegisterResponder(http.MethodPost, DefaultAPIURL, func(r *http.Request) (*http.Response, error) {
		calls++
		jtis = append(jtis, checkJWT(t, r))
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("body %s: %v", b, err)
		}
		to, _ := body["to"].([]any)
		if len(to) != 1 || to[0].(map[string]any)["number"] != "447700900123" || body["from"].(map[string]any)["number"] != "447700900001" {
			t.Errorf("body %s: want to and from as phone endpoints", b)
		}
		if calls == 2 {
			return httpmock.NewStringResponse(500, `{"title":"Internal Error"}`), nil
		}
		return httpmock.NewStringResponse(201, `{"uuid":"u1","status":"started","direction":"outbound","conversation_uuid":"CON-1"}`), nil
	})
	c := newCallsClient(t, mt)
	req := CreateCallRequest{To: []Endpoint{Phone("447700900123")}, From: &Endpoint{Type: "phone", Number: "447700900001"},
		NCCO: ncco.NCCO{ncco.Talk{Text: "Connecting you"}}, LengthTimer: 600}
	got, err := c.CreateCall(t.Context(), req)
	if err != nil || got.UUID != "u1" || got.ConversationUUID != "CON-1" {
		t.Fatalf("CreateCall = %+v, %v", got, err)
	}
	_, err = c.CreateCall(t.Context(), req)
	if !errors.Is(err, ErrAPIServer) || calls != 2 {
		t.Errorf("CreateCall after a 500: %v after %d requests; want ErrAPIServer, not retried", err, calls)
	}
	if len(jtis) == 2 && jtis[0] == jtis[1] {
		t.Error("two requests carried the same jti")
	}
	for _, bad := range []CreateCallRequest{
		{From: req.From, NCCO: req.NCCO},
		{To: req.To, From: req.From},
		{To: req.To, NCCO: req.NCCO},
		{To: req.To, From: req.From, RandomFromNumber: true, NCCO: req.NCCO},
		{To: req.To, From: req.From, NCCO: req.NCCO, RingingTimer: 121},
		{To: req.To, From: req.From, NCCO: ncco.NCCO{ncco.Talk{}}},
	} {
		if _, err := c.CreateCall(t.Context(), bad); !errors.Is(err, ErrAPIRequest) {
			t.Errorf("CreateCall(%+v) = %v, want ErrAPIRequest before sending", bad, err)
		}
	}
	if calls != 2 {
		t.Errorf("%d requests; refused calls must not be sent", calls)
	}
}

// Requests about one call go to its region; each error family has its
// sentinel; a 429 and a 5xx on an idempotent action are retried.
func TestControlRegionsAndErrors(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	const region = "https://api-us-3.vonage.com"
	status := map[string][]int{}
	var mu sync.Mutex
	mt.RegisterRegexpResponder(http.MethodPut, mustRegexp(`^https://api-us-3\.vonage\.com/v1/calls/.+$`), func(r *http.Request) (*http.Response, error) {
		checkJWT(t, r)
		uuid := r.URL.Path[len("/v1/calls/"):]
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		codes := status[uuid]
		code := 204
		if len(codes) > 0 {
			code, status[uuid] = codes[0], codes[1:]
		}
		if code == 204 && !strings.Contains(string(b), `"action"`) {
			code = 400
		}
		return httpmock.NewStringResponse(code, `{"title":"T","detail":"D"}`), nil
	})
	mt.RegisterResponder(http.MethodGet, region+"/v1/calls/u-get", httpmock.NewStringResponder(200, `{"uuid":"u-get","status":"answered","direction":"inbound"}`))
	c := newCallsClient(t, mt)
	status["ok"] = nil
	status["throttled"] = []int{429, 204}
	status["flaky"] = []int{503, 204}
	for _, uuid := range []string{"ok", "throttled", "flaky"} {
		if err := c.Control(t.Context(), uuid, region, ActionHangup); err != nil {
			t.Errorf("hang up %s: %v", uuid, err)
		}
	}
	for code, want := range map[int]error{401: ErrAPIAuth, 403: ErrAPIForbidden, 404: ErrCallNotFound, 409: ErrAPIConflict, 400: ErrAPIRequest} {
		status["e"] = []int{code}
		err := c.Control(t.Context(), "e", region, ActionMute)
		var ae *APIError
		if !errors.Is(err, want) || !errors.As(err, &ae) || ae.HTTPStatus != code || ae.Title != "T" {
			t.Errorf("HTTP %d: %v, want %v with its title", code, err, want)
		}
	}
	status["t"] = []int{503}
	if err := c.Transfer(t.Context(), "t", region, ncco.NCCO{ncco.Talk{Text: "Goodbye"}}); !errors.Is(err, ErrAPIServer) {
		t.Errorf("transfer after a 503: %v, want ErrAPIServer (not retried)", err)
	}
	info, err := c.Call(t.Context(), "u-get", region)
	if err != nil || info.Status != "answered" {
		t.Errorf("Call in its region = %+v, %v", info, err)
	}
	if err := c.Control(t.Context(), "x", region, "explode"); !errors.Is(err, ErrAPIRequest) {
		t.Errorf("unknown action: %v", err)
	}
	if err := c.Control(t.Context(), "x", "not a url", ActionHangup); !errors.Is(err, ErrAPIRequest) {
		t.Errorf("bad region: %v", err)
	}
}

// A key that is not an RSA private key in PEM is refused by NewClient.
func TestNewClientKeys(t *testing.T) {
	t.Parallel()
	if _, err := NewClient("app", []byte("not a key")); !errors.Is(err, ErrPrivateKey) {
		t.Errorf("garbage key: %v", err)
	}
	testKeyPEM(t)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testKey)})
	if _, err := NewClient("app", pkcs1); err != nil {
		t.Errorf("PKCS #1 key: %v", err)
	}
	if _, err := NewClient("", pkcs1); err == nil {
		t.Error("empty application ID accepted")
	}
}

func mustRegexp(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// The JWT goes only to Vonage's hosts (and the configured API URL's):
// a region_url or recording_url elsewhere is refused before any request.
func TestUntrustedURLs(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport() // no responder: any request fails the test below
	c := newCallsClient(t, mt)
	for _, region := range []string{"https://evil.example", "http://api-us-3.vonage.com", "https://vonage.com.evil.example", "https://evilvonage.com"} {
		if err := c.Control(t.Context(), "u", region, ActionHangup); !errors.Is(err, ErrUntrustedURL) {
			t.Errorf("region %s: %v, want ErrUntrustedURL", region, err)
		}
		if _, err := c.Recording(t.Context(), region+"/v1/files/x"); !errors.Is(err, ErrUntrustedURL) {
			t.Errorf("recording on %s: %v, want ErrUntrustedURL", region, err)
		}
	}
	if _, err := c.Recording(t.Context(), "not a url"); !errors.Is(err, ErrAPIRequest) {
		t.Errorf("recording URL that is no URL: %v, want ErrAPIRequest", err)
	}
	if n := mt.GetTotalCallCount(); n != 0 {
		t.Errorf("%d requests sent to untrusted URLs", n)
	}
	// The configured API URL's own host is trusted, http included.
	local, err := NewClient("app-1", testKeyPEM(t), WithAPIURL("http://127.0.0.1:9/v1/calls"), WithHTTPClient(&http.Client{Transport: mt}))
	if err != nil {
		t.Fatal(err)
	}
	mt.RegisterResponder(http.MethodGet, "http://127.0.0.1:9/v1/files/r1", httpmock.NewStringResponder(200, "audio"))
	rc, err := local.Recording(t.Context(), "http://127.0.0.1:9/v1/files/r1")
	if err != nil {
		t.Fatalf("recording on the API URL's host: %v", err)
	}
	rc.Close()
}

// Recording streams the body of a GET signed with the application JWT;
// an error status is an *APIError of its family.
func TestRecording(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	audio := strings.Repeat("ID3-audio-", 1<<19) // 5 MiB: more than the REST core would buffer
	mt.RegisterResponder(http.MethodGet, "https://api.nexmo.com/v1/files/ok", func(r *http.Request) (*http.Response, error) {
		checkJWT(t, r)
		return httpmock.NewStringResponse(200, audio), nil
	})
	mt.RegisterResponder(http.MethodGet, "https://api-eu.nexmo.com/v1/files/gone",
		httpmock.NewStringResponder(404, `{"type":"https://developer.nexmo.com/api-errors#not-found","title":"Not Found","detail":"File not found"}`))
	mt.RegisterResponder(http.MethodGet, "https://api.nexmo.com/v1/files/auth", httpmock.NewStringResponder(401, `{"title":"Unauthorized"}`))
	c := newCallsClient(t, mt)
	rc, err := c.Recording(t.Context(), "https://api.nexmo.com/v1/files/ok")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || len(b) != len(audio) {
		t.Errorf("read %d bytes, %v; want %d", len(b), err, len(audio))
	}
	var ae *APIError
	if _, err := c.Recording(t.Context(), "https://api-eu.nexmo.com/v1/files/gone"); !errors.Is(err, ErrCallNotFound) || !errors.As(err, &ae) || ae.Detail != "File not found" {
		t.Errorf("404: %v, want ErrCallNotFound with its detail", err)
	}
	if _, err := c.Recording(t.Context(), "https://api.nexmo.com/v1/files/auth"); !errors.Is(err, ErrAPIAuth) {
		t.Errorf("401: %v, want ErrAPIAuth", err)
	}
}

// Only Vonage's API hosts by exact name over https get the JWT: a host
// under vonage.com that is not one of them, a lookalike, plain http, a
// port, user info, a path that is not /v1/files/{id} (a recording) or not
// empty (a region) are refused before any request.
func TestExactTrustedHosts(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		t.Errorf("request sent to %s (with a JWT: %t)", r.URL, r.Header.Get("Authorization") != "")
		return httpmock.NewStringResponse(204, ""), nil
	})
	c := newCallsClient(t, mt)
	for _, rec := range []string{
		"https://evil.vonage.com/v1/files/r1",
		"https://api.nexmo.com.evil.test/v1/files/r1",
		"http://api.nexmo.com/v1/files/r1",
		"https://api.nexmo.com:8443/v1/files/r1",
		"https://me@api.nexmo.com/v1/files/r1",
		"https://api-us.vonage.com/v1/neru/i/someones-app/files/r1",
		"https://api.nexmo.com/v1/files/../neru/i/app",
		"https://api.nexmo.com/v1/files/r1?redirect=https://evil.test",
	} {
		if _, err := c.Recording(t.Context(), rec); !errors.Is(err, ErrUntrustedURL) {
			t.Errorf("recording %s: %v, want ErrUntrustedURL", rec, err)
		}
	}
	for _, region := range []string{
		"https://evil.vonage.com",
		"https://api-us-3.vonage.com.evil.test",
		"http://api-us-3.vonage.com",
		"https://api-us.vonage.com/v1/neru/i/someones-app",
		"https://api-us-3.vonage.com?x=1",
	} {
		if err := c.Control(t.Context(), "u", region, ActionHangup); !errors.Is(err, ErrUntrustedURL) {
			t.Errorf("region %s: %v, want ErrUntrustedURL", region, err)
		}
	}
	// Every region of the Application API's VoiceRegion list is trusted.
	for _, region := range []string{"https://api-us-3.vonage.com", "https://api-us-4.vonage.com", "https://api-eu-3.vonage.com/",
		"https://API-EU-4.vonage.com", "https://api-ap-3.vonage.com", "https://api-ap-4.vonage.com"} {
		if _, err := c.regionBase(region); err != nil {
			t.Errorf("region %s: %v", region, err)
		}
	}
}

// A download answered with a redirect, to another host or to plain http
// on the same one, fails with ErrRedirected: the redirect is not
// followed, so neither the JWT nor the request goes there. A REST
// request in a region does not follow one either.
func TestRecordingRedirects(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	redirect := func(to string) httpmock.Responder {
		return func(*http.Request) (*http.Response, error) {
			r := httpmock.NewStringResponse(http.StatusFound, "")
			r.Header.Set("Location", to)
			return r, nil
		}
	}
	mt.RegisterResponder(http.MethodGet, "https://api.nexmo.com/v1/files/away", redirect("https://files.evil.test/steal"))
	mt.RegisterResponder(http.MethodGet, "https://api.nexmo.com/v1/files/down", redirect("http://api.nexmo.com/v1/files/down"))
	mt.RegisterResponder(http.MethodPut, "https://api-us-3.vonage.com/v1/calls/u1", func(*http.Request) (*http.Response, error) {
		r := httpmock.NewStringResponse(http.StatusTemporaryRedirect, "")
		r.Header.Set("Location", "https://calls.evil.test/v1/calls/u1")
		return r, nil
	})
	stolen := func(r *http.Request) (*http.Response, error) {
		t.Errorf("redirect followed to %s (with a JWT: %t)", r.URL, r.Header.Get("Authorization") != "")
		return httpmock.NewStringResponse(200, "not the recording"), nil
	}
	mt.RegisterResponder(http.MethodGet, "https://files.evil.test/steal", stolen)
	mt.RegisterResponder(http.MethodGet, "http://api.nexmo.com/v1/files/down", stolen)
	mt.RegisterResponder(http.MethodPut, "https://calls.evil.test/v1/calls/u1", stolen)
	c := newCallsClient(t, mt)
	for _, id := range []string{"away", "down"} {
		rc, err := c.Recording(t.Context(), "https://api.nexmo.com/v1/files/"+id)
		var ae *APIError
		if !errors.Is(err, ErrRedirected) || !errors.As(err, &ae) || ae.HTTPStatus != http.StatusFound {
			t.Errorf("recording %s redirected: %v, want ErrRedirected (HTTP 302)", id, err)
		}
		if rc != nil {
			rc.Close()
		}
	}
	if err := c.Control(t.Context(), "u1", "https://api-us-3.vonage.com", ActionHangup); !errors.Is(err, ErrRedirected) {
		t.Errorf("hang-up redirected: %v, want ErrRedirected", err)
	}
}

// A recording is read up to the client's limit: a Content-Length above
// it is refused before the body is read, and a body that turns out
// longer fails its Read with ErrRecordingTooLarge; one of exactly the
// limit reads whole.
func TestRecordingTooLarge(t *testing.T) {
	t.Parallel()
	const limit = 1000
	mt := httpmock.NewMockTransport()
	body := func(n int, declared bool) httpmock.Responder {
		return func(*http.Request) (*http.Response, error) {
			r := httpmock.NewStringResponse(200, strings.Repeat("a", n))
			r.ContentLength = -1
			if declared {
				r.ContentLength = int64(n)
			}
			return r, nil
		}
	}
	mt.RegisterResponder(http.MethodGet, "https://api.nexmo.com/v1/files/declared", body(limit+1, true))
	mt.RegisterResponder(http.MethodGet, "https://api.nexmo.com/v1/files/streamed", body(3*limit, false))
	mt.RegisterResponder(http.MethodGet, "https://api.nexmo.com/v1/files/exact", body(limit, false))
	c, err := NewClient("app-1", testKeyPEM(t), WithHTTPClient(&http.Client{Transport: mt}), WithMaxRecordingBytes(limit))
	if err != nil {
		t.Fatal(err)
	}
	if rc, err := c.Recording(t.Context(), "https://api.nexmo.com/v1/files/declared"); !errors.Is(err, ErrRecordingTooLarge) {
		t.Errorf("Content-Length above the limit: %v, want ErrRecordingTooLarge", err)
		if rc != nil {
			rc.Close()
		}
	}
	rc, err := c.Recording(t.Context(), "https://api.nexmo.com/v1/files/streamed")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if !errors.Is(err, ErrRecordingTooLarge) || len(b) != limit {
		t.Errorf("streamed body above the limit: read %d bytes, %v; want %d, ErrRecordingTooLarge", len(b), err, limit)
	}
	rc, err = c.Recording(t.Context(), "https://api.nexmo.com/v1/files/exact")
	if err != nil {
		t.Fatal(err)
	}
	b, err = io.ReadAll(rc)
	rc.Close()
	if err != nil || len(b) != limit {
		t.Errorf("body of exactly the limit: read %d bytes, %v", len(b), err)
	}
	if _, err := NewClient("app-1", testKeyPEM(t), WithMaxRecordingBytes(0)); err == nil {
		t.Error("a limit of 0 accepted")
	}
}

// length_timer goes to 24 hours, as the SDKs check it; past that Vonage
// refuses the call, and so does validate.
func TestLengthTimerRange(t *testing.T) {
	t.Parallel()
	from := Endpoint{Type: "phone", Number: "447700900001"}
	base := CreateCallRequest{To: []Endpoint{{Type: "phone", Number: "447700900002"}}, From: &from,
		NCCO: ncco.NCCO{ncco.Talk{Text: "hi"}}}
	for timer, ok := range map[int]bool{0: true, 7200: true, 7201: true, 86400: true, 86401: false, -1: false} {
		r := base
		r.LengthTimer = timer
		if err := r.validate(); (err == nil) != ok {
			t.Errorf("length_timer %d: %v, want ok %v", timer, err, ok)
		}
	}
}
