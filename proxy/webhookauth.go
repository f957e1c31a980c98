package proxy

import (
	"context"
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

// defaultWebhookTolerance bounds the age (and future skew) of a signed
// webhook's iat claim, and how long its jti is remembered.
const defaultWebhookTolerance = 5 * time.Minute

// voiceClaims are the claims Vonage puts in a signed voice webhook.
type voiceClaims struct {
	jwt.RegisteredClaims
	PayloadHash   string `json:"payload_hash,omitempty"`
	ApplicationID string `json:"application_id,omitempty"`
	APIKey        string `json:"api_key,omitempty"`
}

// verifyVoiceJWT checks the Authorization: Bearer token of a voice webhook:
// HS256 with secret, iat within tolerance of now in either direction,
// payload_hash = hex SHA-256 of body when body is not empty, application_id
// when appID is set, and jti not seen before (claimed in store so the
// check holds across instances). Every failure wraps ErrUnauthorized.
func verifyVoiceJWT(ctx context.Context, r *http.Request, body []byte, secret, appID string, tolerance time.Duration, now time.Time, store Store) error {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || tok == "" {
		return fmt.Errorf("%w: missing bearer token", ErrUnauthorized)
	}
	var c voiceClaims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return []byte(secret), nil },
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
	if appID != "" && c.ApplicationID != appID {
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
	if err := store.ClaimNonce(ctx, "voice-jwt:"+c.ID, now, c.IssuedAt.Time.Add(tolerance+time.Second)); err != nil {
		if errors.Is(err, ErrConflict) {
			return fmt.Errorf("%w: jti replayed", ErrUnauthorized)
		}
		return fmt.Errorf("claim jti: %w", err)
	}
	return nil
}

// WebhookSigner signs requests the way Vonage signs voice webhooks, for
// tests and simulators that drive a Service whose Config.SignatureSecret is
// set: an HS256 JWT in "Authorization: Bearer" with iat, a fresh jti, iss
// "Vonage", application_id, and payload_hash (hex SHA-256 of the body)
// when there is a body.
type WebhookSigner struct {
	Secret        string           // the signature secret
	ApplicationID string           // put in the application_id claim
	Now           func() time.Time // iat; default time.Now
}

// Sign sets the Authorization header of req, whose body is body (nil for
// GET). It does not read or change req.Body.
func (w WebhookSigner) Sign(req *http.Request, body []byte) error {
	if w.Secret == "" {
		return errors.New("proxy: WebhookSigner needs a Secret")
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	t := now()
	c := voiceClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID:       newID(t),
			Issuer:   "Vonage",
			IssuedAt: jwt.NewNumericDate(t),
		},
		ApplicationID: w.ApplicationID,
	}
	if len(body) > 0 {
		sum := sha256.Sum256(body)
		c.PayloadHash = hex.EncodeToString(sum[:])
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(w.Secret))
	if err != nil {
		return fmt.Errorf("proxy: sign webhook: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}
