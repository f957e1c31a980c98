package proxy

import (
	"context"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/phone"
)

// admission is what admit decided for an inbound call or SMS that routed
// to a conversation.
type admission struct {
	conv   Conversation
	sender Side // the side calling or texting; the other is reached
	// refused says why the conversation does not carry it ("" when it
	// does): it becomes the Detail of the EventBlocked event recorded.
	refused string
}

// Reasons recorded for refused calls and SMS.
const (
	refusedSMSOnly   = "conversation is SMS only"
	refusedVoiceOnly = "conversation is voice only"
	refusedIntercept = "Intercept: " // followed by the hook's error
)

// admit is the policy calls and SMS share: it routes (from, to) — a
// participant and the pool number it dialed or texted — to the
// conversation in use at now, finds the sender's side, and decides
// whether the conversation carries it: its Mode first, then
// Config.Intercept. The error is the store's: ErrNotFound (wrapped) when
// nothing routes.
func (s *Service) admit(ctx context.Context, kind InteractionKind, from, to, text string, now time.Time) (admission, error) {
	c, err := s.store.Route(ctx, from, to, now)
	if err != nil {
		return admission{}, err
	}
	a := admission{conv: c, sender: c.sideOf(from, to)}
	switch {
	case kind == KindCall && c.Mode == ModeSMS:
		a.refused = refusedSMSOnly
	case kind == KindSMS && c.Mode == ModeVoice:
		a.refused = refusedVoiceOnly
	case s.cfg.Intercept != nil:
		if err := s.cfg.Intercept(ctx, Inbound{Kind: kind, Conversation: c, Sender: a.sender, Text: text}); err != nil {
			a.refused = refusedIntercept + err.Error()
		}
	}
	if a.refused != "" {
		s.log.InfoContext(ctx, "proxy: "+string(kind)+" refused", "conversation", c.ID, "reason", phone.Redact(a.refused))
	}
	return a, nil
}
