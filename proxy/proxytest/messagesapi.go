package proxytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/voiceproxy/voiceproxy/internal/voice"
)

// This file simulates the Messages API for SMS (Messages API reference;
// field names as the official SDKs' models give them): POST /v1/messages
// with an application JWT or Basic auth, answered 202 {"message_uuid"} or
// an RFC 7807 problem document; and the message status webhooks it
// posts, signed with a JWT as Vonage signs them.

// APIMessages is the Messages API, for Fail, FailNext, Slow and Count.
const APIMessages API = "messages" // POST /v1/messages

// messagesTarget is where message status webhooks go.
type messagesTarget struct {
	h      http.Handler
	path   string
	secret string
}

// StatusTo makes the Messages API post status webhooks for each SMS it
// sends, as the application's Messages capability posts them to its
// Status URL: POST path of h, JSON (message_uuid, to, from, timestamp,
// status, channel, client_ref, usage, destination, sms.count_total, and
// error for a failure), signed with an HS256 JWT with the body's
// payload_hash when secret is set. Each SMS gets "submitted", then
// "delivered", or what FailDelivery queued ("failed" and "expired"
// report "undeliverable", "rejected" "rejected"). Statuses the handler
// does not answer 2xx are counted in ReceiptFailures.
func (v *Vonage) StatusTo(h http.Handler, path, secret string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.statusTarget = &messagesTarget{h: h, path: path, secret: secret}
}

// checkMessagesAuth accepts the application JWT (as the Voice API does)
// or the account's key and secret in Basic auth.
func (v *Vonage) checkMessagesAuth(r *http.Request) error {
	if u, p, ok := r.BasicAuth(); ok {
		if u != v.key || p != v.secret {
			return fmt.Errorf("bad API key or secret")
		}
		return nil
	}
	return v.checkJWT(r)
}

// sendMessage answers POST /v1/messages for channel sms.
func (v *Vonage) sendMessage(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		Channel     string `json:"channel"`
		MessageType string `json:"message_type"`
		To          string `json:"to"`
		From        string `json:"from"`
		Text        string `json:"text"`
		ClientRef   string `json:"client_ref"`
	}
	invalid := func(detail string) {
		problem(w, http.StatusUnprocessableEntity, "Invalid params", "The value of one or more parameters is invalid: "+detail)
	}
	if err := json.Unmarshal(body, &req); err != nil {
		problem(w, http.StatusBadRequest, "Bad Request", "body is not JSON")
		return
	}
	switch {
	case req.Channel != "sms" || req.MessageType != "text":
		invalid("the simulator sends channel sms, message_type text only")
		return
	case len(req.To) < 7 || len(req.To) > 15 || digits(req.To) != req.To:
		invalid("to is not an E.164 number without +")
		return
	case req.From == "":
		invalid("from is required")
		return
	case req.Text == "" || !utf8.ValidString(req.Text) || utf8.RuneCountInString(req.Text) > 1000:
		invalid("text must be 1 to 1000 characters")
		return
	case len(req.ClientRef) > 100:
		invalid("client_ref is longer than 100 characters")
		return
	}
	typ := "text"
	if !IsGSM(req.Text) {
		typ = "unicode"
	}
	uuid := newUUID()
	parts := SplitSMS(req.Text, typ)
	v.mu.Lock()
	now := v.now()
	for range parts {
		v.charge(SMSPrice)
	}
	msg := SentSMS{From: req.From, To: req.To, Text: req.Text, Type: typ, ClientRef: req.ClientRef, Parts: parts, MessageIDs: []string{uuid}, At: now}
	v.outbox = keepLast(append(v.outbox, msg), maxKept)
	target := v.statusTarget
	outcome := Receipt{Status: "delivered"}
	if target != nil && len(v.receiptQueue) > 0 {
		outcome, v.receiptQueue = v.receiptQueue[0], v.receiptQueue[1:]
	}
	v.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]string{"message_uuid": uuid})
	if target == nil {
		return
	}
	// As with the SMS API's receipts: sent once the send was answered, in
	// the same goroutine, so tests need not wait.
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	status, problemTitle := "delivered", ""
	switch outcome.Status {
	case "delivered", "accepted", "buffered":
	case "rejected":
		status, problemTitle = "rejected", "1320"
	default:
		status, problemTitle = "undeliverable", "1300"
	}
	v.postStatus(target, msg, uuid, "submitted", "", len(parts), now)
	v.postStatus(target, msg, uuid, status, problemTitle, len(parts), now)
}

// postStatus posts one message status webhook.
func (v *Vonage) postStatus(t *messagesTarget, msg SentSMS, uuid, status, problemTitle string, parts int, at time.Time) {
	body := map[string]any{
		"message_uuid": uuid, "to": msg.To, "from": msg.From, "timestamp": at.UTC().Format(time.RFC3339),
		"status": status, "channel": "sms",
		"usage":       map[string]string{"price": money(float64(parts) * 0.0333), "currency": "EUR"},
		"destination": map[string]string{"network_code": simNetworkCode},
		"sms":         map[string]string{"count_total": fmt.Sprint(parts)},
	}
	if msg.ClientRef != "" {
		body["client_ref"] = msg.ClientRef
	}
	if problemTitle != "" {
		body["error"] = map[string]string{
			"type":     "https://developer.nexmo.com/api-errors/messages-olympus#" + problemTitle,
			"title":    problemTitle,
			"detail":   "Message was not delivered (simulated)",
			"instance": newUUID(),
		}
	}
	b, _ := json.Marshal(body)
	req := httptest.NewRequest(http.MethodPost, t.path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	if t.secret != "" {
		_ = voice.Signer{Secret: t.secret, ApplicationID: v.appIDOr(ApplicationID), Now: v.now}.Sign(req, b)
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	if rec.Code < 200 || rec.Code > 299 {
		v.mu.Lock()
		v.receiptFailures++
		v.mu.Unlock()
	}
}

// appIDOr is the application's ID, or def when none is set up.
func (v *Vonage) appIDOr(def string) string {
	if v.appID != "" {
		return v.appID
	}
	return def
}
