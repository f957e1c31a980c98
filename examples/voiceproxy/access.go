package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The operator surface (the JSON API, the sandbox endpoints, /ops/,
// /numbers, /metrics, erasure) is for the people running the service,
// never for another web origin. Vonage's webhooks (/vonage/) are public
// and signed; /healthz and /readyz are public and show a status word.
//
// Every operator request passes, in order:
//
//  1. Host: an address literal, localhost, or -public-url's host. A DNS
//     rebinding attack reaches the demo under the attacker's own name
//     (evil.example resolving to 127.0.0.1), so the Host header names it:
//     421.
//  2. Sec-Fetch-Site: a request another site's page made is refused
//     (403), but for a link followed to a GET page (a top-level
//     navigation, which no page can read or use to change anything).
//  3. Origin, when present: the request's own Host or -public-url's
//     (403). Browsers send it on every POST, PATCH and DELETE.
//  4. The operator token, when one is set (VOICEPROXY_OPERATOR_TOKEN,
//     required beyond loopback or in live mode): "Authorization: Bearer
//     <token>", or for GET pages the cookie /ops/login sets (401, or the
//     login page for /ops/).
//  5. Content-Type: a POST, PUT, PATCH or DELETE with a body must send
//     application/json (415). What a web page can send another origin
//     without asking first (a form, text/plain) is refused.

// operatorTokenEnv names the operator token's environment variable.
const operatorTokenEnv = "VOICEPROXY_OPERATOR_TOKEN"

// minTokenLen is the shortest operator token accepted: it is a password
// anyone who reaches the listener may try.
const minTokenLen = 32

// opsCookie is the cookie /ops/login sets.
const opsCookie = "voiceproxy_ops"

// errNoToken is newApp's refusal to serve the operator surface open
// beyond loopback or in live mode.
var errNoToken = errors.New(operatorTokenEnv + " is not set: the operator surface (JSON API, /ops/, /metrics, /sandbox/) needs a token when the demo listens beyond loopback or runs live; set it to a long random secret, e.g. $(openssl rand -hex 32)")

// access is the operator surface's guard.
type access struct {
	// token is the operator token; "" (loopback sandbox only) lets every
	// same-origin request in.
	token string
	// publicHost is -public-url's host[:port], lower case; "" for none.
	publicHost string
	// publicHTTPS says -public-url is https: the login cookie is Secure
	// when the browser came through it.
	publicHTTPS bool
	// now is the app's clock, by which login cookies expire.
	now func() time.Time
	// cookieKey MACs the login cookies (cookieKey of token).
	cookieKey []byte

	mu sync.Mutex
	// revoked holds the nonces of the login sessions logged out, each
	// until its session expires; at most maxRevoked.
	revoked map[[cookieNonceLen]byte]time.Time
	// notBefore refuses every login cookie issued before it (the revoked
	// set overflowed).
	notBefore time.Time
}

// newAccess builds the guard for token and the public base URL; now is
// the clock login cookies expire by (nil: time.Now).
func newAccess(token, publicURL string, now func() time.Time) (*access, error) {
	if now == nil {
		now = time.Now
	}
	g := &access{token: token, now: now, cookieKey: cookieKey(token), revoked: make(map[[cookieNonceLen]byte]time.Time)}
	if token != "" && len(token) < minTokenLen {
		return nil, fmt.Errorf("%s is %d characters: use at least %d random ones, e.g. $(openssl rand -hex 32)", operatorTokenEnv, len(token), minTokenLen)
	}
	if publicURL != "" {
		u, err := url.Parse(publicURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("-public-url %q is not an http(s) URL with a host", publicURL)
		}
		g.publicHost = strings.ToLower(u.Host)
		g.publicHTTPS = u.Scheme == "https"
	}
	return g, nil
}

// isLoopback reports whether addr (host:port) listens on loopback only.
// "" is not: a wildcard or unknown listener reaches beyond the machine.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hostAllowed reports whether a request naming host (its Host header)
// may reach the operator surface.
func (g *access) hostAllowed(host string) bool {
	host = strings.ToLower(host)
	if g.publicHost != "" && host == g.publicHost {
		return true
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	// An address literal cannot be rebound; localhost is the machine.
	return net.ParseIP(name) != nil || name == "localhost"
}

// originAllowed reports whether r's Origin header, when present, is the
// request's own origin or -public-url's.
func (g *access) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true // curl, scripts; browsers send it on every POST
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.Path != "" {
		return false // "null" too: a sandboxed frame, a file, a redirect
	}
	host := strings.ToLower(u.Host)
	return host == strings.ToLower(r.Host) || (g.publicHost != "" && host == g.publicHost)
}

// safeMethod reports whether m changes nothing.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// fromOtherSite reports whether a browser says another site's page made
// r, other than a top-level navigation to a GET page.
func fromOtherSite(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") != "cross-site" {
		return false
	}
	navigation := r.Header.Get("Sec-Fetch-Mode") == "navigate" && r.Header.Get("Sec-Fetch-Dest") == "document"
	return !(navigation && safeMethod(r.Method))
}

// sameSite checks Host, Sec-Fetch-Site and Origin, answering the refusal
// itself; it reports whether r may go on.
func (g *access) sameSite(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case !g.hostAllowed(r.Host):
		writeError(w, http.StatusMisdirectedRequest, "wrong_host", "this server does not answer to that host name; use its address, localhost or -public-url's host")
	case fromOtherSite(r):
		writeError(w, http.StatusForbidden, "cross_site", "another site's page may not use the operator surface")
	case !g.originAllowed(r):
		writeError(w, http.StatusForbidden, "cross_origin", "the request's Origin is not this server")
	default:
		return true
	}
	return false
}

// equalSecret compares a and b in time independent of their contents
// and lengths.
func equalSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// The login cookie is a session of loginLifetime, checked on the server:
//
//	base64url(version | issued, Unix ms, 8 bytes big-endian | nonce, 16 random bytes | HMAC-SHA256)
//
// The MAC's key is derived from the operator token, so a cookie is good
// on every instance sharing the token, across restarts, and dies with the
// token; it never carries the token itself. The server, not the browser,
// ends it: loginLifetime after its issue by the app's clock, or at
// logout, which revokes its nonce.
//
// Revocation is in memory, per process (access.revoked): with several
// instances behind one address, a logout ends the cookie on the instance
// that served it, and the others accept a copy until it expires (at most
// loginLifetime). Rotating the token ends every cookie everywhere. A
// shared store would make logout global at a store write per page view;
// the demo keeps its operator sessions out of the store instead.
const (
	// loginLifetime is how long a login cookie opens the ops pages.
	loginLifetime = 12 * time.Hour
	// cookieVersion is the first byte of a login cookie's value.
	cookieVersion = 2
	// cookieNonceLen is the length of a login's random nonce.
	cookieNonceLen = 16
	// cookieLen is the decoded length of a login cookie's value.
	cookieLen = 1 + 8 + cookieNonceLen + sha256.Size
	// cookieSkew is how far in the future a cookie's issue time may be
	// (another instance's clock).
	cookieSkew = time.Minute
	// maxRevoked bounds the nonces logouts revoke. When it is reached
	// with none expired, every cookie issued so far is refused
	// (access.notBefore): the set never grows, and never forgets a
	// logout by making room.
	maxRevoked = 4096
)

// cookieKey derives the login cookie's MAC key from the operator token.
func cookieKey(token string) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("voiceproxy ops login cookie key v2"))
	return m.Sum(nil)
}

// loginSession is what a login cookie says.
type loginSession struct {
	issued time.Time
	nonce  [cookieNonceLen]byte
}

// expires is when s stops opening the ops pages.
func (s loginSession) expires() time.Time { return s.issued.Add(loginLifetime) }

// cookieMAC is the MAC of a cookie's version, issue time and nonce.
func (g *access) cookieMAC(body []byte) []byte {
	m := hmac.New(sha256.New, g.cookieKey)
	m.Write(body)
	return m.Sum(nil)
}

// newCookie starts a login session: the cookie's value and when it
// expires.
func (g *access) newCookie() (string, time.Time, error) {
	b := make([]byte, 0, cookieLen)
	b = append(b, cookieVersion)
	issued := g.now()
	b = binary.BigEndian.AppendUint64(b, uint64(issued.UnixMilli()))
	var nonce [cookieNonceLen]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("login cookie nonce: %w", err)
	}
	b = append(b, nonce[:]...)
	b = append(b, g.cookieMAC(b)...)
	return base64.RawURLEncoding.EncodeToString(b), issued.Add(loginLifetime), nil
}

// parseCookie checks a login cookie's value: its MAC, and that it was
// issued by now. It does not check expiry or revocation (session does).
func (g *access) parseCookie(v string) (loginSession, bool) {
	if base64.RawURLEncoding.DecodedLen(len(v)) != cookieLen {
		return loginSession{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) != cookieLen || b[0] != cookieVersion {
		return loginSession{}, false
	}
	body, mac := b[:cookieLen-sha256.Size], b[cookieLen-sha256.Size:]
	if !hmac.Equal(mac, g.cookieMAC(body)) {
		return loginSession{}, false
	}
	var s loginSession
	s.issued = time.UnixMilli(int64(binary.BigEndian.Uint64(body[1:9])))
	copy(s.nonce[:], body[9:])
	return s, true
}

// session reports the live login session v's cookie holds: MACed with
// the token's key, issued neither in the future nor before the last
// overflow of the revoked set, not expired by the app's clock, not
// logged out.
func (g *access) session(v string) (loginSession, bool) {
	s, ok := g.parseCookie(v)
	if !ok {
		return loginSession{}, false
	}
	now := g.now()
	if s.issued.After(now.Add(cookieSkew)) || !now.Before(s.expires()) {
		return loginSession{}, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if s.issued.Before(g.notBefore) {
		return loginSession{}, false
	}
	if _, out := g.revoked[s.nonce]; out {
		return loginSession{}, false
	}
	return s, true
}

// revoke ends the session s (a logout) until it expires anyway.
func (g *access) revoke(s loginSession) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.revoked) >= maxRevoked {
		for n, exp := range g.revoked {
			if !now.Before(exp) {
				delete(g.revoked, n)
			}
		}
	}
	if len(g.revoked) >= maxRevoked {
		// Full of live revocations: end every session issued so far
		// instead of forgetting one.
		g.notBefore = now.Add(time.Millisecond)
		clear(g.revoked)
		return
	}
	g.revoked[s.nonce] = s.expires()
}

// authorized reports whether r carries the operator token: the bearer
// header, or on a safe method a live login cookie. Changes need the
// header, which no other page can make a browser send.
func (g *access) authorized(r *http.Request) bool {
	if g.token == "" {
		return true
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return equalSecret(tok, g.token)
	}
	if c, err := r.Cookie(opsCookie); err == nil && safeMethod(r.Method) {
		_, ok := g.session(c.Value)
		return ok
	}
	return false
}

// jsonBody reports whether r may carry its body: a change (POST, PUT,
// PATCH, DELETE) with a body must say it is JSON, and one without a body
// may name no other type.
func jsonBody(r *http.Request) bool {
	if safeMethod(r.Method) {
		return true
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return r.ContentLength == 0
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// operator guards the operator surface h.
func (g *access) operator(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.sameSite(w, r) {
			return
		}
		if !g.authorized(r) {
			if safeMethod(r.Method) && strings.HasPrefix(r.URL.Path, "/ops/") {
				http.Redirect(w, r, "/ops/login?"+url.Values{"next": {r.URL.RequestURI()}}.Encode(), http.StatusSeeOther)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="voiceproxy operator"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "send Authorization: Bearer and the operator token ("+operatorTokenEnv+")")
			return
		}
		if !jsonBody(r) {
			writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as Content-Type: application/json")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// overHTTPS reports whether the browser reached r over HTTPS: directly,
// or through -public-url when that is https (a proxy in front). An
// operator on http://localhost (an SSH tunnel) gets a cookie without
// Secure, which the browser would drop there.
func (g *access) overHTTPS(r *http.Request) bool {
	return r.TLS != nil || (g.publicHTTPS && strings.EqualFold(r.Host, g.publicHost))
}

// loginNext is where a login goes on to: an ops page, else /ops/.
func loginNext(next string) string {
	if !strings.HasPrefix(next, "/ops/") || strings.ContainsAny(next, "\\\r\n") {
		return "/ops/"
	}
	return next
}

// loginRoutes serves the ops pages' login: a form taking the operator
// token, which sets an HttpOnly, SameSite=Strict cookie for the GET pages
// (and the recordings they link), and a logout that revokes it on the
// server and clears it in the browser.
func (a *app) loginRoutes(mux *http.ServeMux) {
	g := a.access
	guard := func(f http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if g.sameSite(w, r) {
				f(w, r)
			}
		})
	}
	mux.Handle("GET /ops/login", guard(func(w http.ResponseWriter, r *http.Request) {
		a.renderLogin(w, r, http.StatusOK, loginNext(r.URL.Query().Get("next")), "")
	}))
	mux.Handle("POST /ops/login", guard(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		next := loginNext(r.PostForm.Get("next"))
		if g.token == "" {
			http.Redirect(w, r, next, http.StatusSeeOther) // nothing to log in to
			return
		}
		if !equalSecret(r.PostForm.Get("token"), g.token) {
			a.log.WarnContext(r.Context(), "ops login refused: wrong token")
			a.renderLogin(w, r, http.StatusUnauthorized, next, "That is not the operator token.")
			return
		}
		value, _, err := g.newCookie()
		if err != nil {
			a.log.ErrorContext(r.Context(), "ops login failed", "err", err)
			http.Error(w, "cannot start a session", http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: opsCookie, Value: value, Path: "/", MaxAge: int(loginLifetime / time.Second),
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: g.overHTTPS(r)})
		http.Redirect(w, r, next, http.StatusSeeOther)
	}))
	mux.Handle("POST /ops/logout", guard(func(w http.ResponseWriter, r *http.Request) {
		// A live session is revoked on the server, so a copy of the
		// cookie dies with the browser's.
		if c, err := r.Cookie(opsCookie); err == nil {
			if s, ok := g.session(c.Value); ok {
				g.revoke(s)
			}
		}
		http.SetCookie(w, &http.Cookie{Name: opsCookie, Value: "", Path: "/", MaxAge: -1,
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: g.overHTTPS(r)})
		http.Redirect(w, r, "/ops/login", http.StatusSeeOther)
	}))
}

func (a *app) renderLogin(w http.ResponseWriter, r *http.Request, status int, next, problem string) {
	a.render(w, r, status, "login", struct {
		Title, Nav, Next, Error string
		Token                   bool
	}{"Log in", "login", next, problem, a.access.token != ""})
}
