package proxytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
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
// report "undeliverable", "rejected" "rejected"). A failure's error is a
// problem document whose title is the Messages API error code as a JSON
// number, as Vonage sends it: the queued Receipt's ErrCode when it is one
// (1000 or more), else MessagesCodeUnknown for a rejection and
// MessagesCodeUnreachable for an undeliverable message. A status
// answered 429 or 5xx is posted again with the same token, up to three
// times in all; statuses the handler never answers 2xx are counted in
// ReceiptFailures.
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
	v.checkOptOut(msg)
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
	status := "delivered"
	switch outcome.Status {
	case "delivered", "accepted", "buffered":
	case "rejected":
		status = "rejected"
	default:
		status = "undeliverable"
	}
	v.postStatus(target, msg, uuid, "submitted", 0, len(parts), now)
	v.postStatus(target, msg, uuid, status, messagesErrorCode(status, outcome.ErrCode), len(parts), now)
}

// Messages API error codes the simulator reports (Vonage's Messages API
// errors, https://developer.vonage.com/api-errors/messages-olympus, and
// the x-errors of Nexmo/api-specification
// definitions/messages-olympus.yml). Not 1320, which is "Message already
// sent".
const (
	// MessagesCodeUnknown is 1330, "Unknown": the carrier reported an error
	// Vonage cannot name; the list ties it to status rejected. The code
	// of a simulated rejection.
	MessagesCodeUnknown = 1330
	// MessagesCodeUnreachable is 1260, "Destination unreachable": the
	// message could not be delivered to the number. The code of a
	// simulated undeliverable message ("failed" or "expired").
	MessagesCodeUnreachable = 1260
)

// messagesErrorCode is the error code of a status: none for delivered
// and submitted; a Receipt's ErrCode when it is a Messages API code (1000
// or more: the SMS API's delivery-receipt codes are smaller and mean
// other things); else MessagesCodeUnknown for rejected, MessagesCodeUnreachable
// for undeliverable.
func messagesErrorCode(status string, errCode int) int {
	switch {
	case status != "rejected" && status != "undeliverable":
		return 0
	case errCode >= 1000:
		return errCode
	case status == "rejected":
		return MessagesCodeUnknown
	}
	return MessagesCodeUnreachable
}

// statusAttempts is how many times a status webhook is posted while it
// is answered 429 or 5xx.
const statusAttempts = 3

// postStatus posts one message status webhook, with an error when code
// is not 0.
func (v *Vonage) postStatus(t *messagesTarget, msg SentSMS, uuid, status string, code, parts int, at time.Time) {
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
	if code != 0 {
		// The title is the code as a JSON number (the Java SDK's
		// MessageStatusTest decodes exactly that), the type names it too.
		body["error"] = map[string]any{
			"type":     "https://developer.nexmo.com/api-errors/messages-olympus#" + strconv.Itoa(code),
			"title":    code,
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
	// Retried after a 429 or a 5xx (Vonage support, "How long does
	// Vonage retry inbound messages": from 5 s backing off, for 24 hours;
	// here at once, statusAttempts times in all), with the same token:
	// whether Vonage signs a retry afresh no source says, and a Service
	// must take the same token again.
	var rec *httptest.ResponseRecorder
	for range statusAttempts {
		retry := req.Clone(req.Context())
		retry.Body = io.NopCloser(bytes.NewReader(b))
		rec = httptest.NewRecorder()
		t.h.ServeHTTP(rec, retry)
		if rec.Code != http.StatusTooManyRequests && rec.Code < 500 {
			break
		}
	}
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
