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
// When it returns false it has answered: 401 for a bad signature, 413
// for a body over Config.MaxBodyBytes, 503 when the replay check could
// not be made (Vonage retries), 200 for a body it cannot read.
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
	if err := s.authVoice(ctx, r, body, nil); err != nil {
		if !errors.Is(err, voice.ErrUnauthorized) {
			s.log.ErrorContext(ctx, "proxy: "+kind+" webhook: replay check failed", "err", err)
			writeUnavailable(w)
			return nil, false
		}
		s.unauthorized(ctx, w, r, err, "messages")
		return nil, false
	}
	return body, true
}

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
