package proxy

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/voiceproxy/voiceproxy/internal/voice"
	"github.com/voiceproxy/voiceproxy/sms"
)

// This file takes SMS on an account whose SMS setting is the Messages
// API: the inbound message webhook (/inbound-message) and the message
// status webhook (/message-status), as the application's Messages
// capability posts them (JSON, signed with a JWT: HS256 with the
// account's signature secret, payload_hash of the body). They relay and
// record exactly as /inbound-sms and /delivery-receipt do, and both
// pairs can be live at once during a migration. Vonage retries these
// webhooks after a 429 or a 5xx, from 5 seconds backing off to 15
// minutes, for 24 hours (Vonage support, "How long does Vonage retry
// inbound messages for the SMS, Messages and Dispatch APIs?"); any other
// answer is final.

// readMessages reads and authenticates a Messages API webhook's body.
// When it returns false it has answered: 401 for a bad signature, 503
// for a callback with no signature at all, 413 for a body over
// Config.Webhooks.MaxBodyBytes, 200 for a body it cannot read.
//
// The token's jti is not claimed. Vonage retries a Messages webhook
// after a 429 or a 5xx, and no Vonage source says that a retry is signed
// afresh: claimed before the store write, a retry of a webhook the store
// could not take would be refused as a replay, and the message lost. So
// a retry, and so a replay of a copy within Config.Webhooks.Tolerance, is
// made harmless by what the webhook does happening once per message:
// an inbound message relays or is refused once per message_uuid (its
// interaction's ExternalID), a STOP or START takes effect once
// (keywordSeen, keywordOutside), a reply goes once (reply); a status is
// one event per (message_uuid, status) (Store.AddInteractionEvent). A
// replay of a webhook already taken is then answered 200 and changes
// nothing.
//
// Vonage's Messages API guide ("Signed webhooks") says that in the rare
// case of an internal error the callback service may send a callback
// unsigned, and that answering it 5xx triggers a retry, signed once the
// error is resolved. So a callback without an Authorization header is
// answered 503 with Retry-After and nothing of it is taken; one whose
// signature is wrong stays a final 401.
func (s *Service) readMessages(ctx context.Context, w http.ResponseWriter, r *http.Request, kind string) ([]byte, bool) {
	body, err := s.readBody(w, r)
	if s.tooLarge(ctx, w, r, err) {
		return nil, false
	}
	if err != nil {
		s.log.WarnContext(ctx, "proxy: "+kind+" webhook body unreadable", "err", err)
		writeEmpty(w, http.StatusOK)
		return nil, false
	}
	if s.voiceVerifier != nil && len(r.Header.Values("Authorization")) == 0 {
		s.log.WarnContext(ctx, "proxy: "+kind+" webhook unsigned; answered 503 so that Vonage sends it again, signed")
		setOutcome(w, outcomeOther)
		w.Header().Set("Retry-After", unsignedRetryAfter)
		writeUnavailable(w)
		return nil, false
	}
	var unclaimed voice.Claim // checked, not claimed: see above
	if err := s.authVoice(ctx, r, body, &unclaimed); err != nil {
		s.unauthorized(ctx, w, r, err, "messages")
		return nil, false
	}
	return body, true
}

// unsignedRetryAfter is the Retry-After of a 503 to an unsigned Messages
// callback, in seconds: Vonage's first retry comes after 5 seconds
// (Vonage support, "How long does Vonage retry inbound messages").
const unsignedRetryAfter = "5"

// handleInboundMessage takes an SMS from the Messages API's inbound
// message webhook: one webhook per message (Vonage joins a long SMS's
// parts first), deduplicated by message_uuid, stored, answered 200, then
// relayed, as handleInboundSMS does.
func (s *Service) handleInboundMessage(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.storeContext(r.Context())
	defer cancel()
	body, ok := s.readMessages(ctx, w, r, "inbound message")
	if !ok {
		return
	}
	m, err := sms.ParseInboundMessage(body)
	if err != nil {
		s.log.WarnContext(ctx, "proxy: inbound message webhook not an SMS or malformed", "err", err)
		setOutcome(w, outcomeMalformed)
		writeEmpty(w, http.StatusOK)
		return
	}
	in := &sms.Inbound{
		MSISDN: cleanText(m.From), To: cleanText(m.To), MessageID: cleanText(m.MessageUUID),
		Text: cleanText(m.Text), Type: "text", Keyword: strings.ToUpper(m.SMS.Keyword),
	}
	s.answerSMS(ctx, w, r, in, "inbound message")
}

// handleMessageStatus records a Messages API status webhook on the
// interaction its client_ref names, with the message_uuid as the event's
// Leg, as handleDeliveryReceipt does for the SMS API's receipts.
func (s *Service) handleMessageStatus(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.storeContext(r.Context())
	defer cancel()
	body, ok := s.readMessages(ctx, w, r, "message status")
	if !ok {
		return
	}
	u, err := sms.ParseStatusUpdate(body)
	if err != nil {
		s.log.WarnContext(ctx, "proxy: message status webhook malformed", "err", err)
		writeEmpty(w, http.StatusOK)
		return
	}
	ref := cleanText(u.ClientRef)
	if ref == "" {
		s.log.DebugContext(ctx, "proxy: message status without client_ref ignored", "message", u.MessageUUID)
		writeEmpty(w, http.StatusOK)
		return
	}
	ev := InteractionEvent{Leg: cleanText(u.MessageUUID), Status: messageStatus(u.Status), At: s.now(), Network: cleanText(u.Destination.NetworkCode)}
	if !u.Timestamp.IsZero() {
		ev.At = u.Timestamp.UTC()
	}
	if u.Error != nil {
		ev.Detail = cleanText(strings.TrimSpace(u.Error.Title + " " + u.Error.Detail))
	}
	if u.Usage != nil && u.Status == sms.StatusSubmitted {
		ev.Price = cleanText(u.Usage.Price)
	}
	s.tel.count(ctx, s.tel.sms, "event", smsEvent(ev.Status))
	switch err := s.store.AddInteractionEvent(ctx, ref, ev); {
	case errors.Is(err, ErrNotFound):
		s.log.DebugContext(ctx, "proxy: message status for an SMS outside any interaction", "message", u.MessageUUID)
	case err != nil:
		s.log.ErrorContext(ctx, "proxy: record message status failed", "message", u.MessageUUID, "err", err)
		writeUnavailable(w)
		return
	default:
		s.log.InfoContext(ctx, "proxy: SMS status", "interaction", ref, "status", ev.Status)
	}
	writeEmpty(w, http.StatusOK)
}

// EventSubmitted: the Messages API's status webhook says the SMS was
// handed to the network (status "submitted"); a delivery report follows.
const EventSubmitted EventStatus = "submitted"

// messageStatuses are the statuses of the Messages API's status
// webhook for SMS (Vonage, "Messages API Status Callbacks": submitted,
// delivered, rejected, undeliverable; "read" is for other channels) and
// the EventStatus each is recorded as: undeliverable as
// EventUndelivered, like a receipt's "failed".
var messageStatuses = map[string]EventStatus{
	sms.StatusSubmitted:     EventSubmitted,
	sms.StatusDelivered:     EventDelivered,
	sms.StatusRejected:      EventRejected,
	sms.StatusUndeliverable: EventUndelivered,
}

// messageStatus maps a status webhook's status to an EventStatus
// (messageStatuses); another status is kept as webhookStatus makes it.
func messageStatus(status string) EventStatus {
	if st, ok := messageStatuses[status]; ok {
		return st
	}
	return webhookStatus(status)
}
