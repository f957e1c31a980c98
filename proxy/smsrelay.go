package proxy

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

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
			s.unauthorized(ctx, w, r, err)
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
	from, okFrom := webhookNumber(in.MSISDN)
	to, okTo := webhookNumber(in.To)
	text, externalID := in.Text, in.MessageID
	if in.Concat && in.ConcatTotal > 1 && okFrom && okTo {
		parts, err := s.store.AddMessagePart(ctx, MessagePart{
			From: from, To: to, Ref: in.ConcatRef, Part: in.ConcatPart, Total: in.ConcatTotal,
			MessageID: in.MessageID, Text: in.Text, ReceivedAt: now,
		}, now.Add(-multipartMaxAge))
		if err != nil {
			s.log.ErrorContext(ctx, "proxy: store SMS part failed", "message", in.MessageID, "err", err)
			return
		}
		if len(parts) < in.ConcatTotal {
			s.log.DebugContext(ctx, "proxy: SMS part stored", "message", in.MessageID, "part", in.ConcatPart, "total", in.ConcatTotal)
			return
		}
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
		}
		text = b.String()
		// The store hands out a complete set once, but a full
		// redelivery after that assembles it again: this key, with
		// AddInteraction's ErrConflict, relays it once. concat-ref is
		// only 0–255 per sender, so the first part's ID makes the key
		// unique over time.
		externalID = "concat:" + from + ":" + in.ConcatRef + ":" + parts[0].MessageID
	}
	if !okFrom || !okTo {
		s.unknownSMS(ctx, in, from, to, errors.New("sender or recipient not a phone number"))
		return
	}
	c, err := s.store.Route(ctx, from, to, now)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			s.unknownSMS(ctx, in, from, to, err)
			return
		}
		s.log.ErrorContext(ctx, "proxy: route lookup failed", "message", in.MessageID, "err", err)
		return
	}
	sender := 0
	if c.Participants[1].Number == from && c.Participants[1].ProxyNumber == to {
		sender = 1
	}
	rec := Interaction{
		ID: newID(now), ConversationID: c.ID, Kind: KindSMS, ExternalID: externalID,
		From: from, To: to, CreatedAt: now,
	}
	if s.cfg.StoreSMSBodies {
		rec.Text = text
	}
	if err := s.store.AddInteraction(ctx, rec); err != nil {
		if errors.Is(err, ErrConflict) {
			s.log.InfoContext(ctx, "proxy: duplicate SMS delivery ignored", "conversation", c.ID, "message", in.MessageID)
		} else {
			s.log.ErrorContext(ctx, "proxy: record SMS failed; not relayed", "conversation", c.ID, "err", err)
		}
		return
	}
	s.touch(ctx, c, now)
	ev := s.deliver(ctx, c, sender, text)
	ev.At = s.now()
	if err := s.store.AddInteractionEvent(ctx, rec.ID, ev); err != nil {
		s.log.ErrorContext(ctx, "proxy: record SMS status failed", "conversation", c.ID, "err", err)
	}
	if s.cfg.OnInteraction != nil {
		rec.Events = []InteractionEvent{ev}
		s.cfg.OnInteraction(ctx, rec)
	}
}

// deliver checks the mode and the Intercept hook, then sends text to the
// other participant, and returns the event to record.
func (s *Service) deliver(ctx context.Context, c Conversation, sender int, text string) InteractionEvent {
	if c.Mode == ModeVoice {
		s.log.InfoContext(ctx, "proxy: SMS blocked: conversation is voice only", "conversation", c.ID)
		return InteractionEvent{Status: EventBlocked, Detail: "conversation is voice only"}
	}
	if s.cfg.Intercept != nil {
		if err := s.cfg.Intercept(ctx, Inbound{Kind: KindSMS, Conversation: c, Sender: sender, Text: text}); err != nil {
			s.log.InfoContext(ctx, "proxy: SMS blocked by Intercept", "conversation", c.ID, "reason", err)
			return InteractionEvent{Status: EventBlocked, Detail: err.Error()}
		}
	}
	if s.cfg.SMS == nil {
		s.log.WarnContext(ctx, "proxy: SMS not relayed: no SMS sender configured", "conversation", c.ID)
		return InteractionEvent{Status: "failed", Detail: errNoSMSSender.Error()}
	}
	other := c.Participants[1-sender]
	resp, err := s.cfg.SMS.Send(ctx, sms.Message{From: other.ProxyNumber, To: other.Number, Text: text, ClientRef: c.ID})
	if err != nil {
		s.log.WarnContext(ctx, "proxy: SMS relay failed", "conversation", c.ID, "err", err)
		return InteractionEvent{Status: "failed", Detail: err.Error()}
	}
	ev := InteractionEvent{Status: "relayed"}
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
	s.log.DebugContext(ctx, "proxy: unknown SMS route", "from", mask(from), "to", to, "reason", why)
	if s.cfg.SMSAutoReply == "" || s.cfg.SMS == nil || !isDigits(from) || !isDigits(to) {
		return
	}
	if _, err := s.cfg.SMS.Send(ctx, sms.Message{From: to, To: from, Text: s.cfg.SMSAutoReply}); err != nil {
		s.log.WarnContext(ctx, "proxy: SMS auto-reply failed", "message", in.MessageID, "err", err)
	}
}
