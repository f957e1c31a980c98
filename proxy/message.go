package proxy

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrOptedOut: the participant sent STOP to their proxy number; nothing
// more is sent to them from it.
var ErrOptedOut = errors.New("proxy: the participant opted out (STOP)")

// KindMessage is an SMS the host sent a participant through the masked
// channel (Service.SendMessage): From is the pool number it came from, To
// the participant.
const KindMessage InteractionKind = "message"

// MaxMessageLength bounds SendMessage's text: Vonage's SMS API takes up
// to 3,200 characters (split into parts).
const MaxMessageLength = 3200

// SendMessage sends text to the participant on side, from their own proxy
// number: the platform speaking through the masked channel ("your driver
// is arriving"). It is stored before it is sent, with the same
// durability as a relayed SMS (retried per Config.SMS.RelayAttempts, sent
// once across instances), and returned as a KindMessage interaction; the
// send and its delivery receipts are recorded on it as for a relay
// (EventRelayed, then EventDelivered or a failure).
//
// Errors: ErrInvalidRequest (a side other than A or B, empty text, text
// over MaxMessageLength or not UTF-8); ErrNotFound; ErrConversationEnded;
// ErrNoSMSSender without Config.SMS. Config.Hooks.Intercept is not asked: it
// judges what participants send, not the host. A failed first try is no
// error: it is on the interaction, and retried.
func (s *Service) SendMessage(ctx context.Context, conversationID string, side Side, text string) (Interaction, error) {
	if s.cfg.SMS.Sender == nil {
		return Interaction{}, ErrNoSMSSender
	}
	if side != SideA && side != SideB {
		return Interaction{}, fmt.Errorf("%w: unknown side %v", ErrInvalidRequest, side)
	}
	if text == "" || !isText(text) || utf8.RuneCountInString(text) > MaxMessageLength {
		return Interaction{}, fmt.Errorf("%w: text must be 1 to %d characters of UTF-8 text", ErrInvalidRequest, MaxMessageLength)
	}
	c, err := s.Conversation(ctx, conversationID)
	if err != nil {
		return Interaction{}, err
	}
	now := s.now()
	if !c.InUse(now) {
		return Interaction{}, fmt.Errorf("proxy: message in conversation %s: %w", c.ID, ErrConversationEnded)
	}
	if c.Mode == ModeVoice {
		return Interaction{}, fmt.Errorf("%w: conversation %s is voice only", ErrInvalidRequest, c.ID)
	}
	return s.sendMessage(ctx, c, side, text)
}

// sendMessage stores and sends a message to c's participant on side,
// unless they sent STOP to their proxy number (an *OptedOutError).
func (s *Service) sendMessage(ctx context.Context, c Conversation, side Side, text string) (Interaction, error) {
	now := s.now()
	p := c.Participants[side]
	switch out, err := s.optedOut(ctx, p.Number, p.ProxyNumber, now); {
	case err != nil:
		return Interaction{}, err
	case out:
		return Interaction{}, optedOutError(c, side)
	}
	id := newID(now)
	in := Interaction{ID: id, ConversationID: c.ID, Kind: KindMessage, ExternalID: id, From: p.ProxyNumber, To: p.Number, CreatedAt: now}
	if s.cfg.SMS.StoreBodies {
		in.Text = text
	}
	job := RelayJob{ID: id, ConversationID: c.ID, From: p.ProxyNumber, To: p.Number, Text: text, NextAttempt: now, CreatedAt: now}
	if err := s.store.AddRelay(ctx, in, job); err != nil {
		return Interaction{}, fmt.Errorf("proxy: store message in conversation %s: %w", c.ID, err)
	}
	s.interactionChanged(ctx, in)
	s.log.InfoContext(ctx, "proxy: message accepted", "conversation", c.ID, "interaction", id, "side", side)
	s.relayNow(ctx, id)
	stored, err := s.store.Interaction(ctx, id)
	if err != nil {
		return in, nil // sent or queued; only the read back failed
	}
	return stored, nil
}
