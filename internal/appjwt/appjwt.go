// Package appjwt mints the application JWT that authenticates requests
// to Vonage's application APIs (the Voice API, the Messages API): RS256,
// signed with the application's private key, with the claims Vonage's
// "Authentication: JWTs" guide lists: application_id, iat, exp and jti
// (acl is optional and not used).
package appjwt

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Lifetime is how long a minted token is valid: one request's worth,
// with room for a slow network.
const Lifetime = 5 * time.Minute

// ErrPrivateKey: the private key is not one a token can be signed with.
var ErrPrivateKey = errors.New("application private key unusable")

// ParsePrivateKey reads an application's private key as the dashboard
// and the CLI write it: a PEM "PRIVATE KEY" (PKCS #8) or "RSA PRIVATE
// KEY" (PKCS #1) block.
func ParsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrPrivateKey)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPrivateKey, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: a %T, not an RSA key", ErrPrivateKey, k)
	}
	return rk, nil
}

// Signer mints tokens for one application.
type Signer struct {
	ApplicationID string
	Key           *rsa.PrivateKey
	// Now is the clock of iat and exp; nil means time.Now.
	Now func() time.Time
}

// New returns the Signer of application applicationID with the PEM key.
func New(applicationID string, privateKeyPEM []byte, now func() time.Time) (*Signer, error) {
	if strings.TrimSpace(applicationID) == "" {
		return nil, errors.New("empty application ID")
	}
	key, err := ParsePrivateKey(privateKeyPEM)
	if err != nil {
		return nil, err
	}
	return &Signer{ApplicationID: applicationID, Key: key, Now: now}, nil
}

// Token mints a token for one request, with a fresh jti.
func (s *Signer) Token() (string, error) {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	return jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"application_id": s.ApplicationID,
		"iat":            now.Unix(),
		"exp":            now.Add(Lifetime).Unix(),
		"jti":            hex.EncodeToString(id[:]),
	}).SignedString(s.Key)
}
