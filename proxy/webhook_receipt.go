package proxy

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/voiceproxy/voiceproxy/sms"
)

// handleDeliveryReceipt records a delivery receipt for an SMS the Service
// sent (a relay or a notification) on that SMS's interaction, which the
// receipt's client-ref names, with the message ID as the event's Leg. It
// answers 200 once recorded, and for receipts of messages it did not send
// or cannot read; 401 for a bad signature; 503 when the store fails, so
// that Vonage sends the receipt again.
func (s *Service) handleDeliveryReceipt(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.storeContext(r.Context())
	defer cancel()
	dr, ok := readSMS(ctx, s, w, r, "delivery receipt", sms.ParseDeliveryReceipt)
	if !ok {
		return
	}
	dr.MessageID, dr.ClientRef, dr.NetworkCode = cleanText(dr.MessageID), cleanText(dr.ClientRef), cleanText(dr.NetworkCode)
	if dr.ClientRef == "" {
		s.log.DebugContext(ctx, "proxy: delivery receipt without client-ref ignored", "message", dr.MessageID)
		writeEmpty(w, http.StatusOK)
		return
	}
	// The receipt's price is the send's, already on the send's event.
	ev := InteractionEvent{Leg: dr.MessageID, Status: receiptStatus(dr.Status), At: s.now(), Network: dr.NetworkCode}
	if t, err := time.Parse("2006-01-02 15:04:05", dr.MessageTimestamp); err == nil {
		ev.At = t.UTC()
	}
	if dr.ErrCode != 0 {
		ev.Detail = "err-code " + strconv.Itoa(dr.ErrCode)
	}
	s.tel.count(ctx, s.tel.sms, "event", smsEvent(ev.Status))
	switch err := s.store.AddInteractionEvent(ctx, dr.ClientRef, ev); {
	case errors.Is(err, ErrNotFound):
		s.log.DebugContext(ctx, "proxy: delivery receipt for an SMS outside any interaction", "message", dr.MessageID)
	case err != nil:
		s.log.ErrorContext(ctx, "proxy: record delivery receipt failed", "message", dr.MessageID, "err", err)
		writeUnavailable(w)
		return
	default:
		s.log.InfoContext(ctx, "proxy: SMS delivery receipt", "interaction", dr.ClientRef, "status", ev.Status)
	}
	writeEmpty(w, http.StatusOK)
}

// receiptStatuses are the statuses Vonage documents for a delivery
// receipt (SMS API reference, "Delivery receipt", status: delivered,
// expired, failed, rejected, accepted, buffered, unknown; see
// DeliveryReceipt in Vonage's sms.yml) and the EventStatus each is
// recorded as. "failed" becomes EventUndelivered, so it is not taken for
// the send itself failing.
var receiptStatuses = map[string]EventStatus{
	sms.DeliveryDelivered: EventDelivered,
	sms.DeliveryExpired:   EventExpired,
	sms.DeliveryFailed:    EventUndelivered,
	sms.DeliveryRejected:  EventRejected,
	sms.DeliveryAccepted:  EventStatus(sms.DeliveryAccepted),
	sms.DeliveryBuffered:  EventStatus(sms.DeliveryBuffered),
	sms.DeliveryUnknown:   EventStatus(sms.DeliveryUnknown),
}

// receiptStatus maps a receipt's status to an EventStatus
// (receiptStatuses); a status Vonage does not document is kept as
// webhookStatus makes it.
func receiptStatus(status string) EventStatus {
	if st, ok := receiptStatuses[status]; ok {
		return st
	}
	return webhookStatus(status)
}
