package proxy

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/phone"
	"github.com/voiceproxy/voiceproxy/sms"
)

// multipartMaxAge is how long the parts of a multipart SMS wait for the
// rest: parts received longer ago are dropped as stale when another part
// of the same (sender, proxy number, concat-ref) arrives, so an old
// message that lost a part never merges into a new one reusing its ref.
// Vonage delivers the parts of one message within minutes; a day is
// generous.
const multipartMaxAge = 24 * time.Hour

// handleInboundSMS relays an SMS a participant sent to its proxy number.
// It answers 200 whatever happens (401 only for a bad signature), since
// Vonage redelivers anything else; failures are logged and recorded.
func (s *Service) handleInboundSMS(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	params, err := sms.ReadParams(r, s.cfg.MaxBodyBytes)
	if err != nil {
		s.log.WarnContext(ctx, "proxy: inbound SMS webhook unreadable", "err", err)
		w.WriteHeader(http.StatusOK)
		return
	}
	if s.smsVerifier != nil {
		if err := s.smsVerifier.Verify(params); err != nil {
			s.unauthorized(ctx, w, r, err, "sms")
			return
		}
	} else {
		s.warnUnsignedSMSOnce.Do(func() {
			s.log.WarnContext(ctx, "proxy: no SMSSignatureSecret set; SMS webhooks are not verified")
		})
	}
	in, err := sms.ParseInbound(params)
	if err != nil {
		s.log.WarnContext(ctx, "proxy: inbound SMS webhook malformed", "err", err)
		w.WriteHeader(http.StatusOK)
		return
	}
	s.relaySMS(ctx, in)
	w.WriteHeader(http.StatusOK)
}

// relaySMS routes an inbound SMS (assembling multipart messages first)
// and sends it on to the other participant from the other leg's proxy
// number, once, whatever the number of deliveries.
func (s *Service) relaySMS(ctx context.Context, in *sms.Inbound) {
	now := s.now()
	from, okFrom := phone.FromWebhook(in.MSISDN)
	to, okTo := phone.FromWebhook(in.To)
	if !okFrom || !okTo {
		s.unknownSMS(ctx, in, from, to, errors.New("sender or recipient not a phone number"))
		return
	}
	text, externalID, complete, err := s.assemble(ctx, in, from, to, now)
	if err != nil {
		s.log.ErrorContext(ctx, "proxy: store SMS part failed", "message", in.MessageID, "err", err)
		return
	}
	if !complete {
		return
	}

	a, err := s.admit(ctx, KindSMS, from, to, text, now)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			s.unknownSMS(ctx, in, from, to, err)
			return
		}
		s.log.ErrorContext(ctx, "proxy: route lookup failed", "message", in.MessageID, "err", err)
		return
	}
	c := a.conv
	rec := Interaction{
		ID: newID(now), ConversationID: c.ID, Kind: KindSMS, ExternalID: externalID,
		From: from, To: to, CreatedAt: now,
	}
	if s.cfg.StoreSMSBodies {
		rec.Text = text
	}
	// The interaction's ExternalID makes the relay happen once.
	if err := s.store.AddInteraction(ctx, rec); err != nil {
		if errors.Is(err, ErrConflict) {
			s.log.InfoContext(ctx, "proxy: duplicate SMS delivery ignored", "conversation", c.ID, "message", in.MessageID)
		} else {
			s.log.ErrorContext(ctx, "proxy: record SMS failed; not relayed", "conversation", c.ID, "err", err)
		}
		return
	}
	s.touch(ctx, c, now)
	ev := InteractionEvent{Status: EventBlocked, Detail: a.refused}
	if a.refused == "" {
		ev = s.send(ctx, c, a.sender, text)
	}
	ev.At = s.now()
	if err := s.addEvent(ctx, &rec, ev); err != nil {
		s.log.ErrorContext(ctx, "proxy: record SMS status failed", "conversation", c.ID, "err", err)
	}
}

// assemble returns the text of an inbound SMS and the external ID its
// interaction is keyed by. A part of a multipart SMS is stored, and
// complete is false until the last part arrives; then the parts are
// joined.
func (s *Service) assemble(ctx context.Context, in *sms.Inbound, from, to string, now time.Time) (text, externalID string, complete bool, err error) {
	if !in.Concat || in.ConcatTotal <= 1 {
		return in.Text, in.MessageID, true, nil
	}
	parts, err := s.store.AddMessagePart(ctx, MessagePart{
		From: from, To: to, Ref: in.ConcatRef, Part: in.ConcatPart, Total: in.ConcatTotal,
		MessageID: in.MessageID, Text: in.Text, ReceivedAt: now,
	}, now.Add(-multipartMaxAge))
	if err != nil {
		return "", "", false, err
	}
	if len(parts) < in.ConcatTotal {
		s.log.DebugContext(ctx, "proxy: SMS part stored", "message", in.MessageID, "part", in.ConcatPart, "total", in.ConcatTotal)
		return "", "", false, nil
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	// The store hands out a complete set once, but a full redelivery
	// after that assembles it again: this key, with AddInteraction's
	// ErrConflict, relays it once. concat-ref is only 0–255 per sender,
	// so the first part's ID makes the key unique over time.
	return b.String(), "concat:" + from + ":" + in.ConcatRef + ":" + parts[0].MessageID, true, nil
}

// send relays text to the participant on the other side from sender,
// from that side's proxy number, and returns the event to record.
func (s *Service) send(ctx context.Context, c Conversation, sender Side, text string) InteractionEvent {
	if s.cfg.SMS == nil {
		s.log.WarnContext(ctx, "proxy: SMS not relayed: no SMS sender configured", "conversation", c.ID)
		return InteractionEvent{Status: EventFailed, Detail: errNoSMSSender.Error()}
	}
	other := c.Participants[sender.Other()]
	resp, err := s.cfg.SMS.Send(ctx, sms.Message{From: other.ProxyNumber, To: other.Number, Text: text, ClientRef: c.ID})
	if err != nil {
		s.log.WarnContext(ctx, "proxy: SMS relay failed", "conversation", c.ID, "err", err)
		return InteractionEvent{Status: EventFailed, Detail: err.Error()}
	}
	ev := InteractionEvent{Status: EventRelayed}
	if resp != nil {
		ids := make([]string, 0, len(resp.Messages))
		for _, m := range resp.Messages {
			ids = append(ids, m.MessageID)
		}
		ev.Detail = strings.Join(ids, ",")
		if len(resp.Messages) == 1 {
			ev.Price = resp.Messages[0].MessagePrice
		}
	}
	s.log.InfoContext(ctx, "proxy: SMS relayed", "conversation", c.ID)
	return ev
}

// unknownSMS logs an SMS that routes nowhere and sends the auto-reply
// when one is configured.
func (s *Service) unknownSMS(ctx context.Context, in *sms.Inbound, from, to string, why error) {
	s.log.InfoContext(ctx, "proxy: SMS to unknown route", "message", in.MessageID)
	s.log.DebugContext(ctx, "proxy: unknown SMS route", "from", phone.Mask(from), "to", to, "reason", why)
	if s.cfg.SMSAutoReply == "" || s.cfg.SMS == nil || !phone.IsDigits(from) || !phone.IsDigits(to) {
		return
	}
	if _, err := s.cfg.SMS.Send(ctx, sms.Message{From: to, To: from, Text: s.cfg.SMSAutoReply}); err != nil {
		s.log.WarnContext(ctx, "proxy: SMS auto-reply failed", "message", in.MessageID, "err", err)
	}
}
