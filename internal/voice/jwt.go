package voice

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrUnauthorized is matched by every error Verify returns for a webhook
// that is not signed as Vonage signs it.
var ErrUnauthorized = errors.New("voice: webhook not authenticated")

// DefaultTolerance bounds the age (and future skew) of a signed webhook's
// iat claim, and how long its jti is remembered, when Verifier.Tolerance
// is zero.
const DefaultTolerance = 5 * time.Minute

// ReplayGuard claims a key once across every instance that shares it.
type ReplayGuard interface {
	// Claim records key until expires, as of now. fresh is false, and
	// nothing changes, when a claim of key is still live at now.
	Claim(ctx context.Context, key string, now, expires time.Time) (fresh bool, err error)
}

// clockSkew is how far past its exp (or before its nbf) a token is still
// accepted: the two clocks may disagree a little. The iat window is
// Verifier.Tolerance, apart from this.
const clockSkew = 30 * time.Second

// claims are the claims Vonage puts in a signed voice webhook ("Signed
// webhooks" in the Voice API reference): iat, jti, iss "Vonage",
// application_id, api_key and payload_hash; exp and nbf when present.
type claims struct {
	IAT           iatClaim         `json:"iat"`
	Exp           *jwt.NumericDate `json:"exp,omitempty"`
	NBF           *jwt.NumericDate `json:"nbf,omitempty"`
	ID            string           `json:"jti,omitempty"`
	Issuer        string           `json:"iss,omitempty"`
	PayloadHash   string           `json:"payload_hash,omitempty"`
	ApplicationID string           `json:"application_id,omitempty"`
	APIKey        string           `json:"api_key,omitempty"`
}

// iatClaim is the iat claim as decoded: a JSON number of seconds, as
// Vonage sends it, read in place (a json.RawMessage would copy it). A
// string, even of digits, is refused.
type iatClaim struct {
	at  time.Time
	set bool  // a value other than null was there
	err error // why that value is not a number of seconds
}

// UnmarshalJSON reads one iat value; the last one counts.
func (c *iatClaim) UnmarshalJSON(b []byte) error {
	*c = iatClaim{}
	raw := bytes.TrimSpace(b)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	c.set = true
	if raw[0] < '0' || raw[0] > '9' {
		c.err = fmt.Errorf("iat %s is not a number of seconds", truncate(string(raw)))
		return nil
	}
	f, err := strconv.ParseFloat(string(raw), 64) // does not allocate
	if err != nil || f > 1e11 {
		c.err = fmt.Errorf("iat %s is not a number of seconds", truncate(string(raw)))
		return nil
	}
	sec, frac := math.Modf(f)
	c.at = time.Unix(int64(sec), int64(frac*1e9))
	return nil
}

// time is the iat, or why there is none that counts.
func (c *iatClaim) time() (time.Time, error) {
	switch {
	case !c.set:
		return time.Time{}, errors.New("no iat claim")
	case c.err != nil:
		return time.Time{}, c.err
	}
	return c.at, nil
}

func truncate(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// Secret is one signature secret a Verifier accepts.
type Secret struct {
	// APIKey is the account (or subaccount) whose secret this is, as the
	// token's api_key claim names it; "" accepts it for any api_key.
	APIKey string
	Value  string
}

// Verifier checks the Authorization: Bearer token of voice webhooks.
type Verifier struct {
	// Secrets are the signature secrets that may have signed a token.
	// Vonage's api_key claim says whose secret signed it: secrets whose
	// APIKey matches it, or is "", are tried, so a rotation lists the old
	// and the new secret until the old one is retired.
	Secrets       []Secret
	ApplicationID string        // when set, the application_id claim must match
	Tolerance     time.Duration // iat window either way; 0: DefaultTolerance
	Replay        ReplayGuard   // remembers each jti
}

// ErrReplayed is the ErrUnauthorized of a token whose jti was claimed
// already: a replay, or a request Vonage sent twice with one token.
var ErrReplayed = fmt.Errorf("%w: jti replayed", ErrUnauthorized)

// Claim is the replay claim a verified token asks for: its jti's key,
// remembered until Expires (as long as the token could still pass the iat
// check).
type Claim struct {
	Key     string
	Expires time.Time
}

// Verify checks the token of r, whose body (already read) is body, as
// Check does, and claims its jti through Replay so the check holds across
// instances. Every failure of the token wraps ErrUnauthorized (a replay
// is ErrReplayed); a failing Replay returns its error, wrapped, without
// ErrUnauthorized: the webhook is genuine, the store is not answering.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte, now time.Time) error {
	c, err := v.Check(r, body, now)
	if err != nil {
		return err
	}
	fresh, err := v.Replay.Claim(ctx, c.Key, now, c.Expires)
	if err != nil {
		return fmt.Errorf("claim jti: %w", err)
	}
	if !fresh {
		return ErrReplayed
	}
	return nil
}

// Check checks everything of r's token but replay, and returns the claim
// its jti asks for, for a caller that claims it together with other work
// (the answer webhook claims it with the call's route, in one round
// trip): HS256 with one of the Secrets; iss "Vonage"; iat a number within
// Tolerance of now in either direction; exp and nbf, when present,
// honoured to within 30 seconds of clock skew; payload_hash, the hex
// SHA-256 of the body, required when there is a body, and on a GET,
// when present, checked against the query as JSON (as Vonage hashes it;
// see queryJSON), the raw query string or an empty body;
// application_id when ApplicationID is set; and a jti. Every failure
// wraps ErrUnauthorized.
func (v *Verifier) Check(r *http.Request, body []byte, now time.Time) (Claim, error) {
	tolerance := v.Tolerance
	if tolerance == 0 {
		tolerance = DefaultTolerance
	}
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || tok == "" {
		return Claim{}, fmt.Errorf("%w: missing bearer token", ErrUnauthorized)
	}
	c, err := v.parse(tok, now)
	if err != nil {
		return Claim{}, fmt.Errorf("%w: %v", ErrUnauthorized, err)
	}
	if c.Issuer != "Vonage" {
		return Claim{}, fmt.Errorf("%w: iss %q is not Vonage", ErrUnauthorized, truncate(c.Issuer))
	}
	iat := c.IAT.at
	if age := now.Sub(iat); age > tolerance || age < -tolerance {
		return Claim{}, fmt.Errorf("%w: iat %s outside the %s window", ErrUnauthorized, iat.UTC().Format(time.RFC3339), tolerance)
	}
	if v.ApplicationID != "" && c.ApplicationID != v.ApplicationID {
		return Claim{}, fmt.Errorf("%w: application_id %q does not match", ErrUnauthorized, truncate(c.ApplicationID))
	}
	if err := checkPayloadHash(c.PayloadHash, r, body); err != nil {
		return Claim{}, fmt.Errorf("%w: %v", ErrUnauthorized, err)
	}
	if c.ID == "" {
		return Claim{}, fmt.Errorf("%w: no jti claim", ErrUnauthorized)
	}
	return Claim{Key: "voice-jwt:" + c.ID, Expires: iat.Add(tolerance + time.Second)}, nil
}

// parse verifies tok's HS256 signature with the secrets its api_key claim
// allows, and its time claims, and returns its claims. It decodes the
// token itself, into typed structs, rather than through golang-jwt's
// generic claim maps: on the answer webhook's hot path that generic
// decoding was most of the verification's cost (see
// BenchmarkServeAnswerSigned); the checks are the same. The header,
// the same few bytes on almost every token, is decoded once (see
// headerAlg), and the buffers and MACs come from a pool.
func (v *Verifier) parse(tok string, now time.Time) (claims, error) {
	h64, rest, ok := strings.Cut(tok, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Contains(s64, ".") {
		return claims{}, errors.New("token is malformed: want three dot-separated parts")
	}
	alg, err := headerAlg(h64)
	if err != nil {
		return claims{}, fmt.Errorf("token header: %w", err)
	}
	if alg != "HS256" {
		return claims{}, fmt.Errorf("signing method %q is not HS256", truncate(alg))
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	// signed is the token's first two parts, as bytes: what the MAC
	// covers, and the payload's base64 within it.
	sc.signed = append(sc.signed[:0], tok[:len(h64)+1+len(p64)]...)
	payload := bytes.TrimRight(sc.signed[len(h64)+1:], "=")
	if sc.payload, err = appendDecoded(sc.payload[:0], payload); err != nil {
		return claims{}, errors.New("token claims: not base64url")
	}
	sc.claims = claims{} // Unmarshal would merge into the last token's
	if err := json.Unmarshal(sc.payload, &sc.claims); err != nil {
		return claims{}, fmt.Errorf("token claims: not a JSON object: %v", err)
	}
	c := sc.claims
	if _, err := c.IAT.time(); err != nil {
		return claims{}, err
	}
	sc.sigText = append(sc.sigText[:0], s64...)
	if sc.sig, err = appendDecoded(sc.sig[:0], sc.sigText); err != nil {
		return claims{}, errors.New("token signature is not base64url")
	}
	tried, valid := 0, false
	for _, sec := range v.Secrets {
		if sec.APIKey != "" && sec.APIKey != c.APIKey {
			continue
		}
		tried++
		mac := sc.mac(sec.Value)
		mac.Write(sc.signed)
		sc.sum = mac.Sum(sc.sum[:0])
		if hmac.Equal(sc.sum, sc.sig) {
			valid = true
			break
		}
	}
	switch {
	case tried == 0:
		return claims{}, fmt.Errorf("no signature secret for api_key %q", truncate(c.APIKey))
	case !valid:
		return claims{}, errors.New("signature is invalid")
	}
	if c.Exp != nil && !now.Before(c.Exp.Add(clockSkew)) {
		return claims{}, errors.New("token has expired")
	}
	if c.NBF != nil && now.Before(c.NBF.Add(-clockSkew)) {
		return claims{}, errors.New("token is not valid yet")
	}
	return c, nil
}

// appendDecoded appends the base64url (unpadded) decoding of src to dst.
func appendDecoded(dst, src []byte) ([]byte, error) {
	return base64.RawURLEncoding.AppendDecode(dst, src)
}

// scratch is one verification's buffers and keyed MACs, reused through
// scratchPool so that a verification allocates little besides the
// claims' strings.
type scratch struct {
	signed, payload, sigText, sig, sum []byte
	claims                             claims
	macs                               map[string]hash.Hash // by secret
}

// maxMACs bounds a scratch's keyed MACs: a Verifier has a few secrets;
// past that many the MACs are dropped and made again.
const maxMACs = 8

var scratchPool = sync.Pool{New: func() any { return &scratch{macs: map[string]hash.Hash{}} }}

// mac is the HMAC-SHA256 keyed with secret, reset.
func (sc *scratch) mac(secret string) hash.Hash {
	if m, ok := sc.macs[secret]; ok {
		m.Reset()
		return m
	}
	if len(sc.macs) >= maxMACs {
		clear(sc.macs)
	}
	m := hmac.New(sha256.New, []byte(secret))
	sc.macs[secret] = m
	return m
}

// Bounds of the header cache (see headerAlg).
const (
	maxCachedHeaders  = 64
	maxCachedHeader64 = 256 // bytes of base64: Vonage's is 36
)

var headers struct {
	sync.RWMutex
	alg map[string]string // the alg of a header, by its base64
}

// headerAlg decodes a token's header, h64, and returns its alg. Vonage
// sends the same header on every token ({"alg":"HS256","typ":"JWT"}), so
// headers that decode are remembered by their base64 text: a few, and
// short ones only; when full, the cache starts over. A header that does
// not decode is never remembered.
func headerAlg(h64 string) (string, error) {
	headers.RLock()
	alg, ok := headers.alg[h64]
	headers.RUnlock()
	if ok {
		return alg, nil
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(h64, &hdr); err != nil {
		return "", err
	}
	if len(h64) <= maxCachedHeader64 {
		headers.Lock()
		if headers.alg == nil || len(headers.alg) >= maxCachedHeaders {
			headers.alg = make(map[string]string, maxCachedHeaders)
		}
		// Cloned, so the cache holds no part of the request.
		headers.alg[strings.Clone(h64)] = strings.Clone(hdr.Alg)
		headers.Unlock()
	}
	return hdr.Alg, nil
}

// decodeSegment decodes one base64url JWT segment as JSON into v.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return errors.New("not base64url")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("not a JSON object: %v", err)
	}
	return nil
}

// checkPayloadHash compares payload_hash with the SHA-256 of the body. A
// request with a body must carry it. A GET has no body: when it carries
// one anyway, it must be the hash of the raw query string or of nothing.
func checkPayloadHash(got string, r *http.Request, body []byte) error {
	got = strings.ToLower(got)
	if len(body) > 0 {
		if !hashEquals(got, body) {
			return errors.New("payload_hash does not match the body")
		}
		return nil
	}
	if got == "" {
		return nil
	}
	if r.Method == http.MethodGet {
		// Vonage's queries are a few hundred bytes: on the stack.
		var buf [1024]byte
		if q, err := appendQueryJSON(buf[:0], r.URL.RawQuery); err == nil && hashEquals(got, q) {
			return nil
		}
		if hashEquals(got, []byte(r.URL.RawQuery)) {
			return nil
		}
	}
	if hashEquals(got, nil) {
		return nil
	}
	return errors.New("payload_hash does not match the request")
}

// queryJSON is what Vonage hashes into a GET webhook's payload_hash:
// the query's parameters as one JSON object, in their order, with no
// whitespace (Vonage API Support, "How do I verify that the Voice API
// Webhook request and it's payload has not been tampered during
// transit?"). A parameter given twice keeps its first place and its last
// value, as a JavaScript object built from them does. Characters are
// escaped as JSON.stringify escapes them: <, > and & are not.
func queryJSON(rawQuery string) ([]byte, error) {
	return appendQueryJSON(nil, rawQuery)
}

// queryParam is one parameter of a query, unescaped.
type queryParam struct{ key, value string }

// maxScannedParams is how many parameters appendQueryJSON looks through
// for an earlier one of the same name; past that it indexes them.
const maxScannedParams = 32

// appendQueryJSON appends queryJSON(rawQuery) to dst.
func appendQueryJSON(dst []byte, rawQuery string) ([]byte, error) {
	var small [16]queryParam
	params := small[:0]
	var index map[string]int // by key, once there are many
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, err := url.QueryUnescape(k) // no copy unless escaped
		if err != nil {
			return nil, err
		}
		if v, err = url.QueryUnescape(v); err != nil {
			return nil, err
		}
		at := -1
		if index != nil {
			if i, ok := index[k]; ok {
				at = i
			}
		} else {
			for i := range params {
				if params[i].key == k {
					at = i
					break
				}
			}
		}
		if at >= 0 {
			params[at].value = v
			continue
		}
		params = append(params, queryParam{k, v})
		if index != nil {
			index[k] = len(params) - 1
		} else if len(params) > maxScannedParams {
			index = make(map[string]int, 2*len(params))
			for i, p := range params {
				index[p.key] = i
			}
		}
	}
	dst = append(dst, '{')
	for i, p := range params {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, p.key)
		dst = append(dst, ':')
		dst = appendJSONString(dst, p.value)
	}
	return append(dst, '}'), nil
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it with SetEscapeHTML(false). The strings of a webhook are
// printable ASCII, written as they are; any other goes through
// encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\'
	}
	if plain {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // strings always encode
	return append(dst, bytes.TrimSuffix(b.Bytes(), []byte("\n"))...)
}

// hashEquals reports, in constant time, whether hexHash is the lower-case
// hex SHA-256 of b.
func hashEquals(hexHash string, b []byte) bool {
	sum := sha256.Sum256(b)
	var want [64]byte
	hex.Encode(want[:], sum[:])
	if len(hexHash) != len(want) {
		return false
	}
	// subtle.ConstantTimeCompare would need hexHash as a []byte: a copy.
	var diff byte
	for i := range want {
		diff |= hexHash[i] ^ want[i]
	}
	return subtle.ConstantTimeByteEq(diff, 0) == 1
}

// Signer signs requests the way Vonage signs voice webhooks: an HS256 JWT
// in "Authorization: Bearer" with iat, a fresh random jti, iss "Vonage",
// application_id, and payload_hash: the hex SHA-256 of the body, or, for
// a GET with a query, of the query as JSON (see queryJSON).
type Signer struct {
	Secret        string           // the signature secret
	ApplicationID string           // put in the application_id claim
	APIKey        string           // put in the api_key claim when set
	Now           func() time.Time // iat; default time.Now
}

// Sign sets the Authorization header of req, whose body is body (nil for
// GET). It does not read or change req.Body.
func (s Signer) Sign(req *http.Request, body []byte) error {
	if s.Secret == "" {
		return errors.New("voice: Signer needs a Secret")
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	c := jwt.MapClaims{
		"jti":            newJTI(),
		"iss":            "Vonage",
		"iat":            now().Unix(),
		"application_id": s.ApplicationID,
	}
	if s.APIKey != "" {
		c["api_key"] = s.APIKey
	}
	if len(body) == 0 && req.Method == http.MethodGet && req.URL.RawQuery != "" {
		q, err := queryJSON(req.URL.RawQuery)
		if err != nil {
			return fmt.Errorf("voice: sign webhook: %w", err)
		}
		body = q
	}
	if len(body) > 0 {
		sum := sha256.Sum256(body)
		c["payload_hash"] = hex.EncodeToString(sum[:])
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(s.Secret))
	if err != nil {
		return fmt.Errorf("voice: sign webhook: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// newJTI returns a random UUID (version 4), the form of Vonage's jti.
func newJTI() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
