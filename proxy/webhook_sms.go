package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/phone"
	"github.com/voiceproxy/voiceproxy/internal/voice"
	"github.com/voiceproxy/voiceproxy/sms"
)

// multipartMaxAge is how long the parts of a multipart SMS wait for the
// rest: parts received longer ago are dropped as stale when another part
// of the same (sender, proxy number, concat-ref) arrives, so an old
// message that lost a part never merges into a new one reusing its ref.
// Vonage delivers the parts of one message within minutes; a day is
// generous.
const multipartMaxAge = 24 * time.Hour

// handleInboundSMS takes an SMS a participant sent to its proxy number.
// It stores the message first and answers 200 once it is stored; it is
// sent on after the answer, from the store (see relay.go), so a send
// slower than Vonage's wait, or a restart, loses nothing. It answers 401
// for a bad signature, and 503 when the store cannot take the message
// within Config.Webhooks.StoreTimeout: Vonage redelivers an inbound SMS until it
// gets a 2xx (SMS API reference, "Inbound SMS"). A malformed webhook is
// answered 200 and dropped: redelivering it would not mend it.
func (s *Service) handleInboundSMS(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.storeContext(r.Context())
	defer cancel()
	in, ok := readSMS(ctx, s, w, r, "inbound SMS", sms.ParseInbound)
	if !ok {
		return
	}
	in.Text, in.MessageID, in.ConcatRef = cleanText(in.Text), cleanText(in.MessageID), cleanText(in.ConcatRef)
	s.answerSMS(ctx, w, r, in, "inbound SMS")
}

// answerSMS accepts the inbound SMS in (acceptSMS) from the webhook r
// (kind names it in logs): 503 when it could not be stored, so Vonage
// redelivers it; else 200, and then its relay or reply, on a context of
// its own now that Vonage has its answer.
func (s *Service) answerSMS(ctx context.Context, w http.ResponseWriter, r *http.Request, in *sms.Inbound, kind string) {
	then, err := s.acceptSMS(ctx, w, in)
	if err != nil {
		s.log.ErrorContext(ctx, "proxy: "+kind+" not stored; Vonage will redeliver it", "message", in.MessageID, "err", err)
		writeUnavailable(w)
		return
	}
	writeEmpty(w, http.StatusOK)
	if then != nil {
		actx, acancel := context.WithTimeout(context.WithoutCancel(r.Context()), relaySendTimeout)
		defer acancel()
		then(actx)
	}
}

// onceKey is the claimOnce key of what kind names, for the webhook
// fields parts: hashed, so that a key's length does not depend on them.
func onceKey(kind string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return kind + ":" + hex.EncodeToString(h.Sum(nil))
}

// claimOnce claims key in the Store, for every instance sharing it, for
// as long as Vonage may deliver the same SMS webhook again: it
// redelivers for 24 hours (SMS API reference, "Inbound SMS"), and a
// signed copy is fresh for Config.Webhooks.Tolerance after that. It
// reports false when key was claimed before.
func (s *Service) claimOnce(ctx context.Context, key string) (bool, error) {
	now := s.now()
	switch err := s.store.Claim(ctx, key, now, now.Add(24*time.Hour+s.cfg.Webhooks.Tolerance)); {
	case errors.Is(err, ErrConflict):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// acceptSMS routes an inbound SMS (assembling multipart messages first)
// and stores what it must: a relay job for the other participant, or the
// refusal. The error is the store's: nothing was stored, and Vonage must
// redeliver. then, when not nil, is what to do once Vonage has its
// answer (send the relay, or the auto-reply). The webhook's outcome is
// named on w.
func (s *Service) acceptSMS(ctx context.Context, w http.ResponseWriter, in *sms.Inbound) (then func(context.Context), err error) {
	now := s.now()
	from, okFrom := phone.FromWebhook(in.MSISDN)
	to, okTo := phone.FromWebhook(in.To)
	if !okFrom || !okTo {
		setOutcome(w, outcomeUnknownRoute)
		return s.unknownSMS(ctx, in, from, to, in.Text, errors.New("sender or recipient not a phone number")), nil
	}
	text, externalID, complete, err := s.assemble(ctx, in, from, to, now)
	if err != nil || !complete {
		return nil, err
	}
	m := inboundText{in: in, from: from, to: to, text: text, externalID: externalID, now: now}

	a, then, answered, err := s.routeSMS(ctx, w, m)
	if answered || err != nil {
		return then, err
	}
	c := a.conv
	relayed, redacted := s.cfg.SMS.Redact.redact(text)
	rec := Interaction{
		ID: newID(now), ConversationID: c.ID, Kind: KindSMS, ExternalID: externalID,
		From: from, To: to, CreatedAt: now,
	}
	if s.cfg.SMS.StoreBodies {
		rec.Text = relayed // what was relayed: never the removed details
	}
	other := c.Participants[a.sender.Other()]
	refusal, reply, taken, err := s.smsVerdict(ctx, w, m, a, other)
	switch {
	case taken || err != nil:
		return nil, err
	case refusal != nil:
		return s.refuseSMS(ctx, m, c, rec, *refusal, reply)
	}
	return s.queueRelay(ctx, m, c, rec, other, relayed, redacted)
}

// inboundText is an inbound SMS as acceptSMS takes it in: the webhook's
// message, its sender and the proxy number texted (E.164 digits), its
// whole text (a multipart message assembled), the external ID its
// interaction is keyed by, and when it came.
type inboundText struct {
	in                         *sms.Inbound
	from, to, text, externalID string
	now                        time.Time
}

// routeSMS finds the conversation the SMS m belongs to and decides on it
// (admit); an SMS on no route goes to smsNotFound. answered reports the
// SMS dealt with there (then is what to do after the answer); the error
// is the store's.
func (s *Service) routeSMS(ctx context.Context, w http.ResponseWriter, m inboundText) (a admission, then func(context.Context), answered bool, err error) {
	a, err = s.admit(ctx, KindSMS, m.from, m.to, m.text, m.now, voice.Claim{})
	if errors.Is(err, ErrNotFound) {
		return s.smsNotFound(ctx, w, m, err)
	}
	return a, nil, false, err
}

// smsNotFound handles an SMS on no route (why is the route's
// ErrNotFound). On a shared number the sender's one PIN conversation
// there carries it; with several, nothing tells which, and the sender is
// told so (Config.PIN.SMSReply). With none, Config.Hooks.OnUnknownContact
// may start a conversation for it (startContact); else it is an unknown
// SMS (unknownSMS). A keyword no conversation carries is still honoured
// (keywordOutside). The results are routeSMS's.
func (s *Service) smsNotFound(ctx context.Context, w http.ResponseWriter, m inboundText, why error) (admission, func(context.Context), bool, error) {
	pins, err := s.store.PINConversations(ctx, m.from, m.to, m.now)
	if err != nil {
		return admission{}, nil, false, err
	}
	pins = slices.DeleteFunc(pins, func(c Conversation) bool { return c.Mode == ModeVoice })
	if kw := keyword(m.text); kw != "" && len(pins) != 1 {
		// No conversation carries it: a keyword is still the
		// sender's word to this number, and is honoured here.
		then, err := s.keywordOutside(ctx, w, m.in, kw, m.from, m.to, m.externalID, m.now)
		return admission{}, then, true, err
	}
	switch len(pins) {
	case 0:
		started, ok := s.startContact(ctx, Contact{Kind: KindSMS, From: m.from, To: m.to, Text: m.text}, true)
		if !ok {
			setOutcome(w, outcomeUnknownRoute)
			return admission{}, s.unknownSMS(ctx, m.in, m.from, m.to, m.text, why), true, nil
		}
		return s.decide(ctx, KindSMS, started, m.from, m.to, m.text), nil, false, nil
	case 1:
		return s.decide(ctx, KindSMS, pins[0], m.from, m.to, m.text), nil, false, nil
	default:
		s.log.InfoContext(ctx, "proxy: SMS to a shared number with several PIN conversations", "message", m.in.MessageID, "conversations", len(pins))
		setOutcome(w, outcomeUnknownRoute)
		return admission{}, s.reply(m.in, m.from, m.to, s.cfg.PIN.SMSReply), true, nil
	}
}

// smsVerdict decides what becomes of the SMS m that the conversation of
// a carries to other: refused (by the decision, the recipient's STOP, or
// for want of an SMS sender), taken as a keyword (STOP and START take
// effect here, once per message: taken reports one seen before, with
// nothing more to do), or relayed (refusal nil). reply is what the
// sender is answered. The error is the store's.
func (s *Service) smsVerdict(ctx context.Context, w http.ResponseWriter, m inboundText, a admission, other Participant) (refusal *InteractionEvent, reply string, taken bool, err error) {
	c, now := a.conv, m.now
	switch kw := keyword(m.text); {
	case a.refused != "":
		setOutcome(w, outcomeVetoed)
		refusal = &InteractionEvent{Status: EventBlocked, Detail: a.refused, At: now}
	case kw == "STOP":
		setOutcome(w, outcomeKeyword)
		if seen, err := s.keywordSeen(ctx, m.in, m.externalID); seen || err != nil {
			return nil, "", true, err
		}
		if err := s.recordOptOut(ctx, m.from, m.to, now); err != nil {
			return nil, "", false, err
		}
		s.log.InfoContext(ctx, "proxy: STOP received; the sender gets nothing more from this number", "conversation", c.ID)
		refusal, reply = &InteractionEvent{Status: EventOptedOut, Detail: "STOP: not relayed; nothing more is sent to the sender from this number", At: now}, s.cfg.SMS.StopReply
	case kw == "START":
		setOutcome(w, outcomeKeyword)
		if seen, err := s.keywordSeen(ctx, m.in, m.externalID); seen || err != nil {
			return nil, "", true, err
		}
		if err := s.liftOptOut(ctx, m.from, m.to); err != nil {
			return nil, "", false, err
		}
		s.log.InfoContext(ctx, "proxy: START received; the sender's STOP is lifted", "conversation", c.ID)
		refusal, reply = &InteractionEvent{Status: EventOptedIn, Detail: "START: not relayed; the sender's STOP on this number is lifted", At: now}, s.cfg.SMS.StartReply
	case kw == "HELP":
		setOutcome(w, outcomeKeyword)
		refusal, reply = &InteractionEvent{Status: EventHelp, Detail: "HELP: answered, not relayed", At: now}, s.cfg.SMS.HelpReply
	case s.cfg.SMS.Sender == nil:
		s.log.WarnContext(ctx, "proxy: SMS not relayed: no SMS sender configured", "conversation", c.ID)
		refusal = &InteractionEvent{Status: EventFailed, Detail: ErrNoSMSSender.Error(), At: now}
	default:
		switch out, err := s.optedOut(ctx, other.Number, other.ProxyNumber, now); {
		case err != nil:
			return nil, "", false, err
		case out:
			setOutcome(w, outcomeVetoed)
			refusal = &InteractionEvent{Status: EventBlocked, Detail: "the recipient sent STOP to their number", At: now}
		}
	}
	return refusal, reply, false, nil
}

// refuseSMS stores the SMS m, not relayed, as the interaction rec of c
// with the event refusal (once per message: a redelivery stores
// nothing), and returns the sending of reply for after the answer.
func (s *Service) refuseSMS(ctx context.Context, m inboundText, c Conversation, rec Interaction, refusal InteractionEvent, reply string) (func(context.Context), error) {
	created, err := s.addInteraction(ctx, rec)
	if err != nil || !created {
		return nil, err
	}
	s.touch(ctx, c, m.now)
	if err := s.addEvent(ctx, &rec, refusal); err != nil {
		return nil, err
	}
	return s.reply(m.in, m.from, m.to, reply), nil
}

// queueRelay stores the SMS m as the interaction rec of c together with
// the job relaying its text (relayed, from which redacted was removed)
// to other, once per message, and returns the relay's first try for
// after the answer.
func (s *Service) queueRelay(ctx context.Context, m inboundText, c Conversation, rec Interaction, other Participant, relayed, redacted string) (func(context.Context), error) {
	now := m.now
	job := RelayJob{
		ID: rec.ID, ConversationID: c.ID, From: other.ProxyNumber, To: other.Number, Text: relayed,
		NextAttempt: now, CreatedAt: now,
	}
	// The interaction's ExternalID makes the relay happen once, however
	// often Vonage delivers the message.
	switch err := s.store.AddRelay(ctx, rec, job); {
	case errors.Is(err, ErrConflict):
		s.log.InfoContext(ctx, "proxy: duplicate SMS delivery ignored", "conversation", c.ID, "message", m.in.MessageID)
		return nil, nil
	case err != nil:
		return nil, err
	}
	s.interactionChanged(ctx, rec)
	s.touch(ctx, c, now)
	if redacted != "" {
		if err := s.addEvent(ctx, &rec, InteractionEvent{Status: EventRedacted, Detail: "removed " + redacted, At: now}); err != nil {
			s.log.ErrorContext(ctx, "proxy: record redaction failed", "conversation", c.ID, "err", err)
		}
	}
	return func(ctx context.Context) { s.relayNow(ctx, job.ID) }, nil
}

// keywordOutside takes the keyword kw ("STOP", "START" or "HELP") that
// from sent to the proxy number to outside any conversation: carriers
// require STOP and HELP to be honoured and answered whoever sends them
// (keywords.go), and STOP holds per sender and number as Vonage's own
// opt-out handling keeps it ("Opt-Out Assist", technical details: the
// STOP applies only to the number the end user texts STOP to). STOP and
// START take effect and are recorded as a store claim (optOutKey), for
// every instance and store alike; the reply goes from the number texted.
// The error is the store's: nothing took effect, and Vonage redelivers.
func (s *Service) keywordOutside(ctx context.Context, w http.ResponseWriter, in *sms.Inbound, kw, from, to, externalID string, now time.Time) (func(context.Context), error) {
	setOutcome(w, outcomeKeyword)
	reply := s.cfg.SMS.HelpReply
	if kw != "HELP" {
		// Once per message, as keywordSeen does inside a conversation:
		// the effect, then its mark, so that a redelivery after the
		// sender's next keyword changes nothing, and one whose first
		// delivery failed takes effect.
		mark := onceKey("keyword", externalID)
		switch seen, err := s.probeOptOut(ctx, mark, now); {
		case err != nil:
			return nil, err
		case seen:
			s.log.InfoContext(ctx, "proxy: keyword SMS delivered again; its effect stands as it was", "message", in.MessageID)
			return nil, nil
		}
		if kw == "STOP" {
			if err := s.recordOptOut(ctx, from, to, now); err != nil {
				return nil, err
			}
			s.log.InfoContext(ctx, "proxy: STOP received outside any conversation; the sender gets nothing more from this number", "message", in.MessageID)
			reply = s.cfg.SMS.StopReply
		} else {
			if err := s.liftOptOut(ctx, from, to); err != nil {
				return nil, err
			}
			s.log.InfoContext(ctx, "proxy: START received outside any conversation; the sender's STOP is lifted", "message", in.MessageID)
			reply = s.cfg.SMS.StartReply
		}
		if _, err := s.claimOnce(ctx, mark); err != nil {
			// The effect stands; only a redelivery could repeat it.
			s.log.WarnContext(ctx, "proxy: keyword taken, but not marked as taken", "message", in.MessageID, "err", err)
		}
	}
	return s.reply(in, from, to, reply), nil
}

// keywordSeen reports whether the STOP or START in, keyed externalID,
// was taken before. Its interaction is stored after its effect, so a
// redelivery finds it and changes nothing: Vonage redelivers a message
// whose 200 it did not get, and that may come after the sender's next
// keyword. (A message whose first delivery failed, and so took no
// effect, does take effect when it comes again.)
func (s *Service) keywordSeen(ctx context.Context, in *sms.Inbound, externalID string) (bool, error) {
	switch _, err := s.store.InteractionByExternalID(ctx, KindSMS, externalID); {
	case err == nil:
		s.log.InfoContext(ctx, "proxy: keyword SMS delivered again; its effect stands as it was", "message", in.MessageID)
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	default:
		return false, err
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

// unknownSMS logs an SMS that routes nowhere and returns the sending of
// the auto-reply, when one is configured, for after the answer.
func (s *Service) unknownSMS(ctx context.Context, in *sms.Inbound, from, to, text string, why error) func(context.Context) {
	s.log.InfoContext(ctx, "proxy: SMS to unknown route", "message", in.MessageID)
	s.log.DebugContext(ctx, "proxy: unknown SMS route", "from", phone.Mask(from), "to", to, "reason", why)
	reply := s.cfg.SMS.AutoReply
	if s.cfg.Hooks.OnUnknownSMS != nil && phone.IsDigits(from) && phone.IsDigits(to) {
		r, err := s.cfg.Hooks.OnUnknownSMS(ctx, Contact{Kind: KindSMS, From: from, To: to, Text: text})
		if err != nil {
			s.log.WarnContext(ctx, "proxy: OnUnknownSMS failed; SMSAutoReply sent instead", "message", in.MessageID, "err", err)
		} else {
			reply = r
		}
	}
	return s.reply(in, from, to, reply)
}

// reply returns the sending of text to the sender of in, from the number
// texted, for after the answer, once per message (claimOnce); nil when
// there is nothing to send.
func (s *Service) reply(in *sms.Inbound, from, to, text string) func(context.Context) {
	if text == "" || s.cfg.SMS.Sender == nil || !phone.IsDigits(from) || !phone.IsDigits(to) {
		return nil
	}
	return func(ctx context.Context) {
		// Once per message, however often it is delivered (readSMS); a
		// claim the store cannot make does not hold the reply back.
		if in.MessageID != "" {
			switch first, err := s.claimOnce(ctx, onceKey("sms-reply", in.MessageID)); {
			case err != nil:
				s.log.WarnContext(ctx, "proxy: SMS auto-reply claim failed; replying", "message", in.MessageID, "err", err)
			case !first:
				s.log.InfoContext(ctx, "proxy: SMS delivered again; not replied to again", "message", in.MessageID)
				return
			}
		}
		if _, err := s.cfg.SMS.Sender.Send(ctx, sms.Message{From: to, To: from, Text: text}); err != nil {
			s.log.WarnContext(ctx, "proxy: SMS auto-reply failed", "message", in.MessageID, "err", err)
		}
	}
}
