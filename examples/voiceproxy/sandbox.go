package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net/http"

	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// Sandbox endpoints: play a phone network against the demo's own
// webhooks, through the simulated Vonage.

func (a *app) sandboxRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /sandbox/calls", bounded(a.apiTimeout, a.sandboxCall))
	mux.HandleFunc("POST /sandbox/sms", bounded(a.apiTimeout, a.sandboxSMS))
	mux.HandleFunc("GET /sandbox/outbox", a.sandboxOutbox)
	mux.HandleFunc("GET /sandbox/calls", a.sandboxCalls)
}

// sandboxKey makes the sandbox application's key pair: the demo signs
// its Voice API JWTs with it, as it would with the dashboard's key.
func sandboxKey() (*rsa.PrivateKey, []byte, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// randomSecret makes a sandbox signature secret: 32 hex digits.
func randomSecret() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// sandboxCalls lists the calls the simulated Voice API holds or held:
// click-to-calls and held sandbox calls, with each leg's number and the
// caller ID it was shown.
func (a *app) sandboxCalls(w http.ResponseWriter, r *http.Request) {
	a.vonage.Settle()
	calls := a.vonage.Calls()
	for i := range calls {
		calls[i].Events = nil // on the conversation's interactions
	}
	if calls == nil {
		calls = []proxytest.SimCall{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": calls})
}

type sandboxCallBody struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Digits are the keys pressed at each input action (a PIN prompt),
	// e.g. ["123456#"].
	Digits []string `json:"digits"`
	// Hold keeps a connected call in progress until the conversation is
	// closed (which hangs it up).
	Hold bool `json:"hold"`
}

type sandboxSMSBody struct {
	From string `json:"from"`
	To   string `json:"to"`
	Text string `json:"text"`
}

// simError is how a refused webhook shows in a sandbox answer.
func simError(err error) string {
	if err == nil {
		return ""
	}
	var we *proxytest.WebhookError
	if errors.As(err, &we) {
		return we.Error()
	}
	return err.Error()
}

func (a *app) sandboxCall(w http.ResponseWriter, r *http.Request) {
	var body sandboxCallBody
	if !decode(w, r, &body) {
		return
	}
	if body.From == "" || body.To == "" {
		writeError(w, http.StatusBadRequest, "bad_request", `"from" and "to" are required`)
		return
	}
	out, err := a.sim.PlaceCallWith(r.Context(), body.From, body.To, proxytest.CallOptions{Digits: body.Digits, Hold: body.Hold})
	if out == nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		*proxytest.CallOutcome
		Error string `json:"error,omitempty"`
	}{out, simError(err)})
}

func (a *app) sandboxSMS(w http.ResponseWriter, r *http.Request) {
	var body sandboxSMSBody
	if !decode(w, r, &body) {
		return
	}
	if body.From == "" || body.To == "" || body.Text == "" {
		writeError(w, http.StatusBadRequest, "bad_request", `"from", "to" and "text" are required`)
		return
	}
	out, err := a.sim.SendSMS(r.Context(), body.From, body.To, body.Text)
	if out == nil {
		a.fail(w, r, err)
		return
	}
	if out.Relayed == nil {
		out.Relayed = []proxytest.SentSMS{}
	}
	writeJSON(w, http.StatusOK, struct {
		*proxytest.SMSOutcome
		Error string `json:"error,omitempty"`
	}{out, simError(err)})
}

func (a *app) sandboxOutbox(w http.ResponseWriter, r *http.Request) {
	msgs := a.vonage.Outbox()
	if msgs == nil {
		msgs = []proxytest.SentSMS{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
}
