package voice

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerifyVoiceJWT(t *testing.T) {
	t.Parallel()
	const secret, appID = "s3cret-signature", "app-1"
	body := []byte(`{"from":"447123456789","to":"447700900001"}`)
	signer := Signer{Secret: secret, ApplicationID: appID, Now: func() time.Time { return testNow }}
	sign := func(t *testing.T, r *http.Request, b []byte) {
		t.Helper()
		if err := signer.Sign(r, b); err != nil {
			t.Fatal(err)
		}
	}
	token := func(t *testing.T, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		t.Helper()
		s, err := jwt.NewWithClaims(m, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T, r *http.Request) []byte // returns the body the handler sees
		ok      bool
	}{
		{"valid GET", func(t *testing.T, r *http.Request) []byte { sign(t, r, nil); return nil }, true},
		{"valid POST", func(t *testing.T, r *http.Request) []byte { sign(t, r, body); return body }, true},
		{"missing header", func(t *testing.T, r *http.Request) []byte { return nil }, false},
		{"not bearer", func(t *testing.T, r *http.Request) []byte { r.Header.Set("Authorization", "Basic abc"); return nil }, false},
		{"wrong secret", func(t *testing.T, r *http.Request) []byte {
			if err := (Signer{Secret: "other", ApplicationID: appID, Now: signer.Now}).Sign(r, nil); err != nil {
				t.Fatal(err)
			}
			return nil
		}, false},
		{"alg none", func(t *testing.T, r *http.Request) []byte {
			tok := token(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType,
				jwt.MapClaims{"iat": testNow.Unix(), "jti": "n1", "application_id": appID})
			r.Header.Set("Authorization", "Bearer "+tok)
			return nil
		}, false},
		{"HS512", func(t *testing.T, r *http.Request) []byte {
			tok := token(t, jwt.SigningMethodHS512, []byte(secret),
				jwt.MapClaims{"iat": testNow.Unix(), "jti": "h1", "application_id": appID})
			r.Header.Set("Authorization", "Bearer "+tok)
			return nil
		}, false},
		{"stale iat", func(t *testing.T, r *http.Request) []byte {
			if err := (Signer{Secret: secret, ApplicationID: appID, Now: func() time.Time { return testNow.Add(-6 * time.Minute) }}).Sign(r, nil); err != nil {
				t.Fatal(err)
			}
			return nil
		}, false},
		{"future iat", func(t *testing.T, r *http.Request) []byte {
			if err := (Signer{Secret: secret, ApplicationID: appID, Now: func() time.Time { return testNow.Add(6 * time.Minute) }}).Sign(r, nil); err != nil {
				t.Fatal(err)
			}
			return nil
		}, false},
		{"no iat", func(t *testing.T, r *http.Request) []byte {
			r.Header.Set("Authorization", "Bearer "+token(t, jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"jti": "i1", "application_id": appID}))
			return nil
		}, false},
		{"no jti", func(t *testing.T, r *http.Request) []byte {
			r.Header.Set("Authorization", "Bearer "+token(t, jwt.SigningMethodHS256, []byte(secret), jwt.MapClaims{"iat": testNow.Unix(), "application_id": appID}))
			return nil
		}, false},
		{"tampered body", func(t *testing.T, r *http.Request) []byte {
			sign(t, r, body)
			return []byte(strings.Replace(string(body), "447123456789", "447123456780", 1))
		}, false},
		{"body without payload_hash", func(t *testing.T, r *http.Request) []byte { sign(t, r, nil); return body }, false},
		{"wrong application", func(t *testing.T, r *http.Request) []byte {
			if err := (Signer{Secret: secret, ApplicationID: "app-2", Now: signer.Now}).Sign(r, nil); err != nil {
				t.Fatal(err)
			}
			return nil
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := &Verifier{Secrets: []Secret{{Value: secret}}, ApplicationID: appID, Replay: &memoryGuard{}}
			r := httptest.NewRequest(http.MethodPost, "/answer", nil)
			b := tt.prepare(t, r)
			err := v.Verify(t.Context(), r, b, testNow)
			if tt.ok && err != nil {
				t.Fatalf("verify: %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("verify: %v, want ErrUnauthorized", err)
			}
		})
	}
}

func TestVerifyVoiceJWTReplay(t *testing.T) {
	t.Parallel()
	v := &Verifier{Secrets: []Secret{{Value: "k"}}, Tolerance: time.Minute, Replay: &memoryGuard{}}
	r := httptest.NewRequest(http.MethodGet, "/answer", nil)
	if err := (Signer{Secret: "k", Now: func() time.Time { return testNow }}).Sign(r, nil); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(t.Context(), r, nil, testNow); err != nil {
		t.Fatalf("first delivery: %v", err)
	}
	err := v.Verify(t.Context(), r, nil, testNow.Add(time.Second))
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "replayed") {
		t.Fatalf("replay: %v, want ErrUnauthorized (replayed)", err)
	}
}

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// memoryGuard is a ReplayGuard in a map.
type memoryGuard struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (g *memoryGuard) Claim(_ context.Context, key string, now, expires time.Time) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen == nil {
		g.seen = map[string]time.Time{}
	}
	if exp, ok := g.seen[key]; ok && exp.After(now) {
		return false, nil
	}
	g.seen[key] = expires
	return true, nil
}

// failingGuard is a ReplayGuard whose store is down.
type failingGuard struct{}

func (failingGuard) Claim(context.Context, string, time.Time, time.Time) (bool, error) {
	return false, errors.New("store unreachable")
}

func TestVerifyReplayGuardFailure(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/answer", nil)
	if err := (Signer{Secret: "k", Now: func() time.Time { return testNow }}).Sign(r, nil); err != nil {
		t.Fatal(err)
	}
	err := (&Verifier{Secrets: []Secret{{Value: "k"}}, Replay: failingGuard{}}).Verify(t.Context(), r, nil, testNow)
	if err == nil || errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "store unreachable") {
		t.Fatalf("verify with a failing guard: %v, want the guard's error without ErrUnauthorized", err)
	}
}

func TestNewJTI(t *testing.T) {
	t.Parallel()
	a, b := newJTI(), newJTI()
	if len(a) != 36 || a == b || a[14] != '4' || strings.Count(a, "-") != 4 {
		t.Fatalf("newJTI = %q, %q: want distinct version-4 UUIDs", a, b)
	}
}

// tokenWith signs claims with secret, HS256, for the cases the Signer
// cannot make.
func tokenWith(t *testing.T, secret string, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyClaims(t *testing.T) {
	t.Parallel()
	const secret = "s3cret"
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"iat": testNow.Unix(), "jti": newJTI(), "iss": "Vonage"}
	}
	with := func(k string, v any) jwt.MapClaims {
		c := base()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	tests := []struct {
		name   string
		claims jwt.MapClaims
		ok     bool
	}{
		{"valid", base(), true},
		{"no iss", with("iss", nil), false},
		{"other iss", with("iss", "Nexmo-ish"), false},
		{"iat as a string of digits", with("iat", strconv.FormatInt(testNow.Unix(), 10)), false},
		{"iat fractional", with("iat", float64(testNow.Unix())+0.5), true},
		{"exp in the future", with("exp", testNow.Add(time.Minute).Unix()), true},
		{"exp just past, within clock skew", with("exp", testNow.Add(-10*time.Second).Unix()), true},
		{"exp a minute past", with("exp", testNow.Add(-time.Minute).Unix()), false},
		{"nbf in the future", with("nbf", testNow.Add(time.Minute).Unix()), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/answer", nil)
			r.Header.Set("Authorization", "Bearer "+tokenWith(t, secret, tt.claims))
			err := (&Verifier{Secrets: []Secret{{Value: secret}}, Replay: &memoryGuard{}}).Verify(t.Context(), r, nil, testNow)
			if tt.ok && err != nil {
				t.Fatalf("verify: %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("verify: %v, want ErrUnauthorized", err)
			}
		})
	}
}

// Rotation: while old and new secrets are both listed, tokens signed with
// either pass; the api_key claim picks the account's secrets.
func TestVerifySecretRotation(t *testing.T) {
	t.Parallel()
	v := &Verifier{Secrets: []Secret{
		{APIKey: "key-a", Value: "old-a"}, {APIKey: "key-a", Value: "new-a"},
		{APIKey: "key-b", Value: "only-b"},
	}, Replay: &memoryGuard{}}
	tests := []struct {
		name, apiKey, secret string
		ok                   bool
	}{
		{"old secret", "key-a", "old-a", true},
		{"new secret", "key-a", "new-a", true},
		{"other account's secret", "key-a", "only-b", false},
		{"second account", "key-b", "only-b", true},
		{"unknown api_key", "key-c", "old-a", false},
		{"no api_key", "", "old-a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/answer", nil)
			if err := (Signer{Secret: tt.secret, APIKey: tt.apiKey, Now: func() time.Time { return testNow }}).Sign(r, nil); err != nil {
				t.Fatal(err)
			}
			err := v.Verify(t.Context(), r, nil, testNow)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrUnauthorized)) {
				t.Fatalf("verify: %v, want ok %v", err, tt.ok)
			}
		})
	}
	// A secret without an APIKey is tried for any token.
	unkeyed := &Verifier{Secrets: []Secret{{Value: "shared"}}, Replay: &memoryGuard{}}
	r := httptest.NewRequest(http.MethodGet, "/answer", nil)
	if err := (Signer{Secret: "shared", APIKey: "key-z", Now: func() time.Time { return testNow }}).Sign(r, nil); err != nil {
		t.Fatal(err)
	}
	if err := unkeyed.Verify(t.Context(), r, nil, testNow); err != nil {
		t.Fatalf("unkeyed secret: %v", err)
	}
}

// On a GET, a payload_hash is checked when present: the hash of the query
// as a JSON object (Vonage support's rule), of the raw query string, or of
// an empty body.
func TestVerifyGETPayloadHash(t *testing.T) {
	t.Parallel()
	const secret = "s3cret"
	const query = "from=447700900101&to=447700900001&uuid=u1"
	hash := func(b string) string {
		sum := sha256.Sum256([]byte(b))
		return hex.EncodeToString(sum[:])
	}
	tests := []struct {
		name, hash string
		ok         bool
	}{
		{"none", "", true},
		{"of the query as JSON", hash(`{"from":"447700900101","to":"447700900001","uuid":"u1"}`), true},
		{"of the query as JSON, other order", hash(`{"to":"447700900001","from":"447700900101","uuid":"u1"}`), false},
		{"of the query", hash(query), true},
		{"of the query, upper case", strings.ToUpper(hash(query)), true},
		{"of an empty body", hash(""), true},
		{"of another query", hash(strings.Replace(query, "101", "102", 1)), false},
		{"garbage", "zz", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := jwt.MapClaims{"iat": testNow.Unix(), "jti": newJTI(), "iss": "Vonage"}
			if tt.hash != "" {
				c["payload_hash"] = tt.hash
			}
			r := httptest.NewRequest(http.MethodGet, "/answer?"+query, nil)
			r.Header.Set("Authorization", "Bearer "+tokenWith(t, secret, c))
			err := (&Verifier{Secrets: []Secret{{Value: secret}}, Replay: &memoryGuard{}}).Verify(t.Context(), r, nil, testNow)
			if (err == nil) != tt.ok {
				t.Fatalf("verify: %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// queryJSON writes what Vonage hashes for a GET: the parameters in order,
// decoded, as compact JSON, with a repeated key in its first place holding
// its last value and nothing HTML-escaped.
func TestQueryJSON(t *testing.T) {
	t.Parallel()
	tests := []struct{ query, want string }{
		{"", `{}`},
		{"from=447700900101&to=447700900001", `{"from":"447700900101","to":"447700900001"}`},
		{"a=1&b=2&a=3", `{"a":"3","b":"2"}`},
		{"region_url=https%3A%2F%2Fapi-eu-3.vonage.com&x=%3C%26%3E+%22q%22", `{"region_url":"https://api-eu-3.vonage.com","x":"<&> \"q\""}`},
		{"flag&=v", `{"flag":"","":"v"}`},
	}
	for _, tt := range tests {
		got, err := queryJSON(tt.query)
		if err != nil || string(got) != tt.want {
			t.Errorf("queryJSON(%q) = %s, %v; want %s", tt.query, got, err, tt.want)
		}
	}
	if _, err := queryJSON("a=%zz"); err == nil {
		t.Error("a bad escape was accepted")
	}
}

// A GET signed as Vonage signs it covers its query: a changed from is
// refused.
func TestSignedGETCoversQuery(t *testing.T) {
	t.Parallel()
	const secret = "s3cret"
	r := httptest.NewRequest(http.MethodGet, "/answer?from=447700900101&to=447700900001&uuid=u1", nil)
	if err := (Signer{Secret: secret, Now: func() time.Time { return testNow }}).Sign(r, nil); err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Secrets: []Secret{{Value: secret}}, Replay: &memoryGuard{}}
	forged := r.Clone(t.Context())
	forged.URL.RawQuery = strings.Replace(r.URL.RawQuery, "101", "102", 1)
	if err := v.Verify(t.Context(), forged, nil, testNow); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("a GET with a changed from: %v, want ErrUnauthorized", err)
	}
	if err := v.Verify(t.Context(), r, nil, testNow); err != nil {
		t.Errorf("the GET as signed: %v", err)
	}
}
