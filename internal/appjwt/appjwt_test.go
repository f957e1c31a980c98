package appjwt

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// A token verifies with the public key, RS256, and carries the claims
// Vonage requires; each token has its own jti; PKCS #1 and #8 keys are
// read, anything else refused.
func TestToken(t *testing.T) {
	t.Parallel()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(k)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for name, p := range map[string][]byte{
		"PKCS #8": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		"PKCS #1": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}),
	} {
		s, err := New("app-1", p, func() time.Time { return now })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		jtis := map[string]bool{}
		for range 2 {
			tok, err := s.Token()
			if err != nil {
				t.Fatal(err)
			}
			claims := jwt.MapClaims{}
			if _, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return &k.PublicKey, nil },
				jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return now })); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			exp, _ := claims.GetExpirationTime()
			if claims["application_id"] != "app-1" || claims["iat"] != float64(now.Unix()) || exp == nil || !exp.Equal(now.Add(Lifetime)) {
				t.Errorf("%s: claims %v", name, claims)
			}
			jtis[claims["jti"].(string)] = true
		}
		if len(jtis) != 2 {
			t.Errorf("%s: jti repeated", name)
		}
	}
	ec := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not DER")})
	for _, bad := range [][]byte{nil, []byte("no pem"), ec} {
		if _, err := New("app-1", bad, nil); !errors.Is(err, ErrPrivateKey) {
			t.Errorf("key %q: %v, want ErrPrivateKey", bad, err)
		}
	}
	if _, err := New(" ", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), nil); err == nil {
		t.Error("an empty application ID was accepted")
	}
}
