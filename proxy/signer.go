package proxy

import (
	"net/http"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/voice"
)

// WebhookSigner signs requests the way Vonage signs voice webhooks, for
// tests and simulators that drive a Service whose Config.Webhooks.SignatureSecret is
// set: an HS256 JWT in "Authorization: Bearer" with iat, a fresh jti, iss
// "Vonage", application_id, api_key when set, and payload_hash (hex SHA-256 of the body)
// when there is a body.
type WebhookSigner struct {
	Secret        string           // the signature secret
	ApplicationID string           // put in the application_id claim
	APIKey        string           // put in the api_key claim when set
	Now           func() time.Time // iat; default time.Now
}

// Sign sets the Authorization header of req, whose body is body (nil for
// GET). It does not read or change req.Body.
func (w WebhookSigner) Sign(req *http.Request, body []byte) error {
	return voice.Signer(w).Sign(req, body)
}
