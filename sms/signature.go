package sms

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SigMethod names one of the signature algorithms Vonage offers for signed
// SMS requests and webhooks; the account's choice is made in the Vonage
// dashboard.
type SigMethod string

// The signature methods Vonage documents. MD5Hash is Vonage's default.
const (
	// MD5Hash is the MD5 digest of the canonical string with the secret
	// appended (not an HMAC).
	MD5Hash SigMethod = "md5hash"
	// MD5 is HMAC-MD5 of the canonical string keyed by the secret.
	MD5 SigMethod = "md5"
	// SHA1 is HMAC-SHA1 of the canonical string keyed by the secret.
	SHA1 SigMethod = "sha1"
	// SHA256 is HMAC-SHA256 of the canonical string keyed by the secret.
	SHA256 SigMethod = "sha256"
	// SHA512 is HMAC-SHA512 of the canonical string keyed by the secret.
	SHA512 SigMethod = "sha512"
)

// DefaultTolerance is how far a signed request's timestamp may be from the
// verifier's clock, in either direction, when Verifier.Tolerance is zero.
const DefaultTolerance = 5 * time.Minute

// Signature errors, matched with errors.Is.
var (
	// ErrMissingSignature: the parameters carry no (or an empty) "sig".
	ErrMissingSignature = errors.New("sms: missing signature")
	// ErrBadSignature: "sig" does not match the parameters and secret.
	ErrBadSignature = errors.New("sms: signature does not match")
	// ErrStaleSignature: the signature is valid but the signed "timestamp"
	// is missing, unparseable or outside the tolerance window.
	ErrStaleSignature = errors.New("sms: signature timestamp outside tolerance")
	// ErrUnknownSigMethod: the Verifier names a method Vonage does not offer.
	ErrUnknownSigMethod = errors.New("sms: unknown signature method")
)

// newHash returns the hash a method computes over the canonical string, or
// nil for an unknown method. For MD5Hash the secret is appended to the input
// by the caller.
func newHash(secret string, m SigMethod) hash.Hash {
	switch m {
	case MD5Hash:
		return md5.New()
	case MD5:
		return hmac.New(md5.New, []byte(secret))
	case SHA1:
		return hmac.New(sha1.New, []byte(secret))
	case SHA256:
		return hmac.New(sha256.New, []byte(secret))
	case SHA512:
		return hmac.New(sha512.New, []byte(secret))
	}
	return nil
}

// canonical builds the string Vonage signs: every parameter except "sig",
// sorted by key, written as "&key=value" with each "&" and "=" inside a value
// replaced by "_". A key with several values contributes its first.
func canonical(params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "sig" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteByte('&')
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(valueReplacer.Replace(params.Get(k)))
	}
	return b.String()
}

// valueReplacer applies Vonage's rule for values in the canonical string.
var valueReplacer = strings.NewReplacer("&", "_", "=", "_")

// digest computes the raw signature bytes, nil for an unknown method.
func digest(params url.Values, secret string, m SigMethod) []byte {
	h := newHash(secret, m)
	if h == nil {
		return nil
	}
	h.Write([]byte(canonical(params)))
	if m == MD5Hash {
		h.Write([]byte(secret))
	}
	return h.Sum(nil)
}

// Sign returns the lower-case hex signature of params (any "sig" among them
// is ignored) under secret and method m, computed as Vonage's "Signing
// Messages" guide describes. It returns "" for an unknown method.
//
// A signed webhook or request must also carry a "timestamp" parameter (Unix
// seconds) for Verifier.Verify to accept it.
func Sign(params url.Values, secret string, m SigMethod) string {
	d := digest(params, secret, m)
	if d == nil {
		return ""
	}
	return hex.EncodeToString(d)
}

// SignParams sets params' "sig" to Sign(params, secret, m), replacing any
// previous one. It is how tests and simulators produce signed webhooks.
func SignParams(params url.Values, secret string, m SigMethod) {
	params.Del("sig")
	params.Set("sig", Sign(params, secret, m))
}

// Verifier checks the "sig" parameter of signed SMS webhooks (inbound
// messages and delivery receipts). The zero value of each optional field
// selects its default.
type Verifier struct {
	// Secret is the account's signature secret (not the API secret).
	Secret string
	// Method is the algorithm chosen in the dashboard; "" means MD5Hash,
	// Vonage's default.
	Method SigMethod
	// Tolerance is the largest accepted difference between the signed
	// "timestamp" and Now, either way; 0 means DefaultTolerance.
	Tolerance time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Verify reports whether params carry a valid, fresh signature. It returns
// nil, or an error matching ErrMissingSignature, ErrBadSignature,
// ErrStaleSignature or ErrUnknownSigMethod. The signature is compared (in
// constant time, hex in either case) before the timestamp is looked at, so
// forged requests report ErrBadSignature whatever their timestamp. Replay
// within the tolerance window is the caller's concern (the "nonce" parameter
// is signed and unique per webhook).
func (v Verifier) Verify(params url.Values) error {
	m := v.Method
	if m == "" {
		m = MD5Hash
	}
	if newHash(v.Secret, m) == nil {
		return fmt.Errorf("%w %q", ErrUnknownSigMethod, string(m))
	}
	got := params.Get("sig")
	if got == "" {
		return ErrMissingSignature
	}
	// Vonage's canonical string escapes "&" and "=" in values only: a
	// name holding one could pass as several parameters (or several as
	// one) under the same signature, so such names are refused.
	for k := range params {
		if strings.ContainsAny(k, "&=") {
			return fmt.Errorf("%w: parameter name %q contains & or =", ErrBadSignature, truncateName(k))
		}
	}
	gotRaw, err := hex.DecodeString(got)
	if err != nil {
		return fmt.Errorf("%w: not hexadecimal", ErrBadSignature)
	}
	want := digest(params, v.Secret, m)
	if subtle.ConstantTimeCompare(gotRaw, want) != 1 {
		return ErrBadSignature
	}

	ts := params.Get("timestamp")
	if ts == "" {
		return fmt.Errorf("%w: no timestamp in signed parameters", ErrStaleSignature)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: invalid timestamp %q", ErrStaleSignature, truncate(ts))
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	tol := v.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	// Compare in seconds so absurd timestamps cannot overflow a Duration;
	// a wrapped difference is always huge, so it still reads as stale.
	nowSecs := now().Unix()
	diff := nowSecs - secs
	if diff < 0 {
		diff = -diff
	}
	if diff < 0 || diff > int64(tol/time.Second) {
		return fmt.Errorf("%w: timestamp %d, clock %d, tolerance %s",
			ErrStaleSignature, secs, nowSecs, tol)
	}
	return nil
}

// truncate shortens a value quoted in an error message.
func truncate(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}

func truncateName(k string) string {
	if len(k) > 40 {
		return k[:40] + "…"
	}
	return k
}
