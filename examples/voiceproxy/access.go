package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
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
}

// newAccess builds the guard for token and the public base URL.
func newAccess(token, publicURL string) (*access, error) {
	g := &access{token: token}
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

// cookieValue is the login cookie's value: derived from the token, so it
// holds across restarts and instances and dies with the token, and the
// cookie never carries the token itself.
func (g *access) cookieValue() string {
	m := hmac.New(sha256.New, []byte(g.token))
	m.Write([]byte("voiceproxy ops login cookie v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// authorized reports whether r carries the operator token: the bearer
// header, or on a safe method the login cookie. Changes need the header,
// which no other page can make a browser send.
func (g *access) authorized(r *http.Request) bool {
	if g.token == "" {
		return true
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return equalSecret(tok, g.token)
	}
	if c, err := r.Cookie(opsCookie); err == nil && safeMethod(r.Method) {
		return equalSecret(c.Value, g.cookieValue())
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
// (and the recordings they link), and a logout that clears it.
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
		http.SetCookie(w, &http.Cookie{Name: opsCookie, Value: g.cookieValue(), Path: "/", MaxAge: 12 * 3600,
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: g.overHTTPS(r)})
		http.Redirect(w, r, next, http.StatusSeeOther)
	}))
	mux.Handle("POST /ops/logout", guard(func(w http.ResponseWriter, r *http.Request) {
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
