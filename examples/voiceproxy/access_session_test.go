package main

import (
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testClock is a settable clock.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

// newTestAccess is a guard for testToken on clock.
func newTestAccess(t *testing.T, clock *testClock) *access {
	t.Helper()
	g, err := newAccess(testToken, "https://demo.example", clock.now)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// cookieGet is a GET of /numbers carrying the login cookie v.
func cookieGet(v string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://demo.example/numbers", nil)
	r.AddCookie(&http.Cookie{Name: opsCookie, Value: v})
	return r
}

// A login cookie opens the pages until loginLifetime after its issue by
// the guard's clock, and not a millisecond longer; each login is a new
// value.
func TestLoginCookieExpires(t *testing.T) {
	t.Parallel()
	clock := &testClock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	g := newTestAccess(t, clock)
	v, exp, err := g.newCookie()
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.t.Add(loginLifetime); !exp.Equal(want) {
		t.Errorf("expires %v, want %v", exp, want)
	}
	if v2, _, _ := g.newCookie(); v2 == v {
		t.Errorf("two logins got the same cookie %q", v)
	}
	if strings.Contains(v, testToken) {
		t.Errorf("cookie %q carries the token", v)
	}
	clock.t = exp.Add(-time.Millisecond)
	if !g.authorized(cookieGet(v)) {
		t.Errorf("cookie refused a millisecond before it expires")
	}
	clock.t = exp
	if g.authorized(cookieGet(v)) {
		t.Errorf("cookie accepted when it expires")
	}
	// A clock turned back to before its issue (beyond the skew another
	// instance may have) refuses it too.
	clock.t = exp.Add(-loginLifetime - 2*cookieSkew)
	if g.authorized(cookieGet(v)) {
		t.Errorf("cookie accepted %v before it was issued", 2*cookieSkew)
	}
}

// What a holder of one cookie (and not the token) can make of it opens
// nothing: a later issue time, another version, a cut or longer value,
// another token's cookie, the old (v1) fixed cookie.
func TestLoginCookieForged(t *testing.T) {
	t.Parallel()
	clock := &testClock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	g := newTestAccess(t, clock)
	v, _, err := g.newCookie()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(raw) != cookieLen {
		t.Fatalf("cookie %q: %d bytes, %v", v, len(raw), err)
	}
	enc := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	later := append([]byte(nil), raw...)
	binary.BigEndian.PutUint64(later[1:9], uint64(clock.t.Add(11*time.Hour).UnixMilli()))
	version := append([]byte(nil), raw...)
	version[0] = 1
	nonce := append([]byte(nil), raw...)
	nonce[10] ^= 1
	other, err := newAccess(strings.Repeat("o", minTokenLen), "", clock.now)
	if err != nil {
		t.Fatal(err)
	}
	otherV, _, _ := other.newCookie()
	forged := map[string]string{
		"later issue time": enc(later),
		"version 1":        enc(version),
		"another nonce":    enc(nonce),
		"cut":              enc(raw[:cookieLen-1]),
		"longer":           enc(append(append([]byte(nil), raw...), 0)),
		"another token's":  otherV,
		"empty":            "",
		"v1 fixed value":   v1Cookie(testToken),
	}
	for name, f := range forged {
		if g.authorized(cookieGet(f)) {
			t.Errorf("%s cookie %q opens the pages", name, f)
		}
	}
	if !g.authorized(cookieGet(v)) {
		t.Errorf("the real cookie is refused")
	}
}

// v1Cookie is the login cookie of the old scheme: a fixed HMAC of the
// token, good for ever.
func v1Cookie(token string) string {
	g := &access{cookieKey: []byte(token)}
	return base64.RawURLEncoding.EncodeToString(g.cookieMAC([]byte("voiceproxy ops login cookie v1")))
}

// A logout ends its own session and no other; when the revoked set is
// full of live sessions, every session issued so far ends rather than a
// logout being forgotten, and a new login works.
func TestLoginCookieRevoked(t *testing.T) {
	t.Parallel()
	clock := &testClock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	g := newTestAccess(t, clock)
	a, _, _ := g.newCookie()
	b, _, _ := g.newCookie()
	sa, ok := g.session(a)
	if !ok {
		t.Fatal("fresh cookie refused")
	}
	g.revoke(sa)
	if g.authorized(cookieGet(a)) {
		t.Errorf("logged-out cookie accepted")
	}
	if !g.authorized(cookieGet(b)) {
		t.Errorf("another login's cookie refused after a logout")
	}
	// Expired revocations make room.
	clock.t = clock.t.Add(loginLifetime)
	for range maxRevoked - 1 {
		c, _, _ := g.newCookie()
		s, _ := g.session(c)
		g.revoke(s)
	}
	d, _, _ := g.newCookie()
	sd, _ := g.session(d)
	g.revoke(sd)
	if n := len(g.revoked); n != maxRevoked {
		t.Errorf("%d revocations kept, want %d (the expired one dropped)", n, maxRevoked)
	}
	live, _, _ := g.newCookie()
	clock.t = clock.t.Add(time.Second)
	e, _, _ := g.newCookie()
	se, _ := g.session(e)
	g.revoke(se) // overflows
	if len(g.revoked) != 0 || g.authorized(cookieGet(live)) || g.authorized(cookieGet(e)) || g.authorized(cookieGet(d)) {
		t.Errorf("after the revoked set overflowed: %d kept, live cookie accepted %v", len(g.revoked), g.authorized(cookieGet(live)))
	}
	clock.t = clock.t.Add(time.Second)
	f, _, _ := g.newCookie()
	if !g.authorized(cookieGet(f)) {
		t.Errorf("a login after the overflow is refused")
	}
}

// Logout through the handler revokes on the server; a forged cookie sent
// to logout revokes nothing (and is not an error).
func TestLogoutRevokes(t *testing.T) {
	t.Parallel()
	srv, _ := newAppOn(t, "0.0.0.0:8080", map[string]string{operatorTokenEnv: testToken})
	c1, c2 := opsLogin(t, srv), opsLogin(t, srv)
	with := func(c *http.Cookie) map[string]string { return map[string]string{"Cookie": c.Name + "=" + c.Value} }
	if resp, _ := send(t, srv, request{method: "POST", path: "/ops/logout", header: map[string]string{"Cookie": opsCookie + "=forged"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout with a forged cookie: %d", resp.StatusCode)
	}
	if resp, _ := send(t, srv, request{method: "POST", path: "/ops/logout", header: with(c1)}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if resp, _ := send(t, srv, request{method: "GET", path: "/ops/", header: with(c1)}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /ops/ with the logged-out cookie: %d, want the login page (303)", resp.StatusCode)
	}
	if resp, body := send(t, srv, request{method: "GET", path: "/numbers", header: with(c2)}); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /numbers with the other login's cookie: %d %s", resp.StatusCode, body)
	}
}
