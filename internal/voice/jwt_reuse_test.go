package voice

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// A verification starts from nothing: the claims, buffers and MACs it
// reuses from an earlier one (through scratchPool) carry none of that
// token's claims over.
func TestVerifyReusesNothingOfTheLastToken(t *testing.T) {
	const secret = "s3cret"
	v := &Verifier{Secrets: []Secret{{Value: secret}, {APIKey: "key-b", Value: "only-b"}}}
	check := func(claims jwt.MapClaims, key string) error {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, "/answer", nil)
		r.Header.Set("Authorization", "Bearer "+tokenWith(t, key, claims))
		_, err := v.Check(r, nil, testNow)
		return err
	}
	for i := range 20 {
		full := jwt.MapClaims{"iat": testNow.Unix(), "jti": fmt.Sprint("j", i), "iss": "Vonage",
			"nbf": testNow.Add(time.Hour).Unix(), "api_key": "key-b"}
		if err := check(full, "only-b"); err == nil || !strings.Contains(err.Error(), "not valid yet") {
			t.Fatalf("a token valid from an hour on: %v, want not valid yet", err)
		}
		// No iat, no nbf, no api_key: the last token's must not stand in.
		if err := check(jwt.MapClaims{"jti": "x", "iss": "Vonage"}, secret); err == nil || !strings.Contains(err.Error(), "no iat") {
			t.Fatalf("a token without iat after one with: %v, want no iat claim", err)
		}
		if err := check(jwt.MapClaims{"iat": testNow.Unix(), "jti": "y", "iss": "Vonage"}, secret); err != nil {
			t.Fatalf("a valid token after one with nbf: %v", err)
		}
		// Signed with key-b's secret but claiming no api_key: only the
		// first secret may be tried, whatever MAC the last token keyed.
		if err := check(jwt.MapClaims{"iat": testNow.Unix(), "jti": "z", "iss": "Vonage"}, "only-b"); err == nil {
			t.Fatal("a token signed with another account's secret passed")
		}
	}
}

// The header cache remembers the alg of headers that decode, a bounded
// number of them, and never lets a cached header's alg stand for
// another header.
func TestHeaderCache(t *testing.T) {
	enc := func(h string) string { return base64.RawURLEncoding.EncodeToString([]byte(h)) }
	hs := enc(`{"alg":"HS256","typ":"JWT"}`)
	if alg, err := headerAlg(hs); err != nil || alg != "HS256" {
		t.Fatalf("headerAlg = %q, %v", alg, err)
	}
	for _, tc := range []struct{ h64, want string }{
		{enc(`{"alg":"none","typ":"JWT"}`), "none"},
		{enc(`{"alg":"HS512","typ":"JWT"}`), "HS512"},
		{hs, "HS256"},
	} {
		for range 2 { // decoded, then cached
			if alg, err := headerAlg(tc.h64); err != nil || alg != tc.want {
				t.Errorf("headerAlg(%s) = %q, %v; want %q", tc.h64, alg, err, tc.want)
			}
		}
	}
	if _, err := headerAlg("!!"); err == nil {
		t.Error("a header that is not base64url was accepted")
	}
	if _, err := headerAlg(enc(`["alg"]`)); err == nil {
		t.Error("a header that is not a JSON object was accepted")
	}
	long := enc(`{"alg":"HS256","kid":"` + strings.Repeat("k", 300) + `"}`)
	if alg, err := headerAlg(long); err != nil || alg != "HS256" {
		t.Fatalf("a long header: %q, %v", alg, err)
	}
	for i := range 1000 {
		if _, err := headerAlg(enc(fmt.Sprintf(`{"alg":"HS256","kid":"%d"}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	headers.RLock()
	n := len(headers.alg)
	_, longCached := headers.alg[long]
	_, badCached := headers.alg["!!"]
	headers.RUnlock()
	if n > maxCachedHeaders || longCached || badCached {
		t.Errorf("cache: %d headers (at most %d), long one cached %v, bad one cached %v", n, maxCachedHeaders, longCached, badCached)
	}
}

// referenceQueryJSON is queryJSON as encoding/json writes it: a map for
// the values, every string through an Encoder without HTML escaping.
func referenceQueryJSON(rawQuery string) ([]byte, error) {
	var keys []string
	vals := map[string]string{}
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			return nil, err
		}
		if v, err = url.QueryUnescape(v); err != nil {
			return nil, err
		}
		if _, seen := vals[k]; !seen {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		_ = enc.Encode(k)
		b.Truncate(b.Len() - 1)
		b.WriteByte(':')
		_ = enc.Encode(vals[k])
		b.Truncate(b.Len() - 1)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// queryJSON writes exactly what encoding/json writes, for plain and
// escaped values, repeated names, and more names than it scans.
func TestQueryJSONAsEncodingJSON(t *testing.T) {
	var many []string
	for i := range 100 {
		many = append(many, fmt.Sprintf("k%d=%d", i%70, i))
	}
	queries := []string{
		"", "&&", "from=447700900101&to=447700900001&uuid=aaaaaaaa-bbbb&conversation_uuid=CON-1",
		"a=1&b=2&a=3", "x=%3C%26%3E+%22q%22%5C", "t=%09%0A%0D%01%7F", "u=%E2%80%A8%E2%80%A9", "bad=%FF%FE",
		"emoji=%F0%9F%93%9E&caf%C3%A9=1", "flag&=v", "=", strings.Join(many, "&"), "a=%zz",
	}
	for _, q := range queries {
		got, err := queryJSON(q)
		want, wantErr := referenceQueryJSON(q)
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Errorf("queryJSON(%q) = %s, %v; encoding/json: %s, %v", q, got, err, want, wantErr)
		}
	}
}

func FuzzQueryJSON(f *testing.F) {
	f.Add("from=447700900101&to=447700900001")
	f.Add("x=%3C%26%3E+%22q%22&x=%E2%80%A8")
	f.Fuzz(func(t *testing.T, q string) {
		got, err := queryJSON(q)
		want, wantErr := referenceQueryJSON(q)
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Errorf("queryJSON(%q) = %s, %v; encoding/json: %s, %v", q, got, err, want, wantErr)
		}
	})
}

// hashEquals needs the whole lower-case hex hash.
func TestHashEquals(t *testing.T) {
	const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	for _, tc := range []struct {
		hash string
		want bool
	}{
		{empty, true}, {empty[:63], false}, {empty + "0", false}, {"", false},
		{strings.ToUpper(empty), false}, {"f" + empty[1:], false},
	} {
		if got := hashEquals(tc.hash, nil); got != tc.want {
			t.Errorf("hashEquals(%q, nil) = %v, want %v", tc.hash, got, tc.want)
		}
	}
}
