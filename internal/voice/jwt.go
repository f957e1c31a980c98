package voice

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
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

// claims are the claims Vonage puts in a signed voice webhook.
type claims struct {
	jwt.RegisteredClaims
	PayloadHash   string `json:"payload_hash,omitempty"`
	ApplicationID string `json:"application_id,omitempty"`
	APIKey        string `json:"api_key,omitempty"`
}

// Verifier checks the Authorization: Bearer token of voice webhooks.
type Verifier struct {
	Secret        string        // the account's signature secret
	ApplicationID string        // when set, the application_id claim must match
	Tolerance     time.Duration // iat window either way; 0: DefaultTolerance
	Replay        ReplayGuard   // remembers each jti
}

// Verify checks the token of r, whose body (already read) is body: HS256
// with Secret, iat within Tolerance of now in either direction,
// payload_hash = hex SHA-256 of body when body is not empty,
// application_id when ApplicationID is set, and a jti not seen before
// (claimed through Replay so the check holds across instances). Every
// failure of the token wraps ErrUnauthorized; a failing Replay returns its
// error, wrapped, without ErrUnauthorized.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte, now time.Time) error {
	tolerance := v.Tolerance
	if tolerance == 0 {
		tolerance = DefaultTolerance
	}
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || tok == "" {
		return fmt.Errorf("%w: missing bearer token", ErrUnauthorized)
	}
	var c claims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return []byte(v.Secret), nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithLeeway(tolerance))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnauthorized, err)
	}
	if c.IssuedAt == nil {
		return fmt.Errorf("%w: no iat claim", ErrUnauthorized)
	}
	if age := now.Sub(c.IssuedAt.Time); age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: iat %s outside the %s window", ErrUnauthorized, c.IssuedAt.Time.UTC().Format(time.RFC3339), tolerance)
	}
	if v.ApplicationID != "" && c.ApplicationID != v.ApplicationID {
		return fmt.Errorf("%w: application_id %q does not match", ErrUnauthorized, c.ApplicationID)
	}
	if len(body) > 0 {
		sum := sha256.Sum256(body)
		want := hex.EncodeToString(sum[:])
		if subtle.ConstantTimeCompare([]byte(strings.ToLower(c.PayloadHash)), []byte(want)) != 1 {
			return fmt.Errorf("%w: payload_hash does not match the body", ErrUnauthorized)
		}
	}
	if c.ID == "" {
		return fmt.Errorf("%w: no jti claim", ErrUnauthorized)
	}
	// Remember the jti as long as its token could still pass the iat check.
	fresh, err := v.Replay.Claim(ctx, "voice-jwt:"+c.ID, now, c.IssuedAt.Time.Add(tolerance+time.Second))
	if err != nil {
		return fmt.Errorf("claim jti: %w", err)
	}
	if !fresh {
		return fmt.Errorf("%w: jti replayed", ErrUnauthorized)
	}
	return nil
}

// Signer signs requests the way Vonage signs voice webhooks: an HS256 JWT
// in "Authorization: Bearer" with iat, a fresh random jti, iss "Vonage",
// application_id, and payload_hash (hex SHA-256 of the body) when there is
// a body.
type Signer struct {
	Secret        string           // the signature secret
	ApplicationID string           // put in the application_id claim
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
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID:       newJTI(),
			Issuer:   "Vonage",
			IssuedAt: jwt.NewNumericDate(now()),
		},
		ApplicationID: s.ApplicationID,
	}
	if len(body) > 0 {
		sum := sha256.Sum256(body)
		c.PayloadHash = hex.EncodeToString(sum[:])
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
