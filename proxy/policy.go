package proxy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/phone"
	"github.com/voiceproxy/voiceproxy/internal/phone/numplan"
	"github.com/voiceproxy/voiceproxy/internal/voice"
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
// nothing routes. A claim with a Key is the webhook's replay claim, made
// with the route (see route); voice.ErrReplayed when it was claimed.
func (s *Service) admit(ctx context.Context, kind InteractionKind, from, to, text string, now time.Time, claim voice.Claim) (admission, error) {
	c, err := s.route(ctx, from, to, now, claim)
	if err != nil {
		return admission{}, err
	}
	return s.decide(ctx, kind, c, from, to, text), nil
}

// decide is admit's policy for the conversation c that (from, to) routed
// to.
func (s *Service) decide(ctx context.Context, kind InteractionKind, c Conversation, from, to, text string) admission {
	a := admission{conv: c, sender: c.sideOf(from, to)}
	switch {
	case kind == KindCall && c.Mode == ModeSMS:
		a.refused = refusedSMSOnly
	case kind == KindSMS && c.Mode == ModeVoice:
		a.refused = refusedVoiceOnly
	case s.cfg.Hooks.Intercept != nil:
		if err := s.cfg.Hooks.Intercept(ctx, Inbound{Kind: kind, Conversation: c, Sender: a.sender, Text: text}); err != nil {
			a.refused = refusedIntercept + err.Error()
		}
	}
	if a.refused != "" {
		s.log.InfoContext(ctx, "proxy: "+string(kind)+" refused", "conversation", c.ID, "reason", phone.Redact(a.refused))
	}
	return a
}

// route finds the conversation in use at now with the leg (from, to),
// claiming claim (when it has a Key) on the way: with a RouteClaimer
// store, both in one grouped round trip; else claim first, then
// Store.Route. A replay is voice.ErrReplayed, nothing routed; a route of
// an empty from only claims, and answers ErrNotFound.
func (s *Service) route(ctx context.Context, from, to string, now time.Time, claim voice.Claim) (Conversation, error) {
	notFound := func() error {
		return fmt.Errorf("%w: caller or dialed number missing or not digits", ErrNotFound)
	}
	if s.routeClaims != nil && (claim.Key != "" || from != "") {
		res, err := s.routeClaims.do(ctx, RouteClaim{
			Nonce:       ClaimRequest{Key: claim.Key, Now: now, Expires: claim.Expires},
			Participant: from, ProxyNumber: to, Now: now,
		})
		switch {
		case err != nil:
			return Conversation{}, fmt.Errorf("proxy: claim and route: %w", err)
		case !res.Fresh:
			return Conversation{}, voice.ErrReplayed
		case from == "":
			return Conversation{}, notFound()
		case !res.Found:
			return Conversation{}, fmt.Errorf("proxy: no active conversation has the leg %s -> %s: %w", phone.Mask(from), to, ErrNotFound)
		}
		return res.Conversation, nil
	}
	if claim.Key != "" {
		fresh, err := s.voiceVerifier.Replay.Claim(ctx, claim.Key, now, claim.Expires)
		if err != nil {
			return Conversation{}, fmt.Errorf("proxy: claim jti: %w", err)
		}
		if !fresh {
			return Conversation{}, voice.ErrReplayed
		}
	}
	if from == "" {
		return Conversation{}, notFound()
	}
	return s.store.Route(ctx, from, to, now)
}

// startContact asks Config.Hooks.OnUnknownContact about a contact that routes
// nowhere and creates the conversation it asks for, with the caller's
// leg on the number reached. ok reports a conversation to carry the
// contact; failures are logged, and the contact is then unknown.
func (s *Service) startContact(ctx context.Context, ct Contact, numbers bool) (Conversation, bool) {
	if s.cfg.Hooks.OnUnknownContact == nil || !numbers {
		return Conversation{}, false
	}
	req, err := s.cfg.Hooks.OnUnknownContact(ctx, ct)
	if err != nil || req == nil {
		if err != nil {
			s.log.WarnContext(ctx, "proxy: OnUnknownContact failed", "kind", ct.Kind, "err", err)
		}
		return Conversation{}, false
	}
	r := *req
	if a, _, err := numplan.Parse(r.A, true); err != nil || a != ct.From {
		s.log.WarnContext(ctx, "proxy: OnUnknownContact's request is not for the caller (its A must be Contact.From)", "kind", ct.Kind)
		return Conversation{}, false
	}
	r.ProxyA, r.Access = ct.To, AccessDirect
	c, err := s.CreateConversation(ctx, r)
	var ne *NotifyError
	if err != nil && !errors.As(err, &ne) {
		s.log.WarnContext(ctx, "proxy: conversation for an unknown contact not created", "kind", ct.Kind, "err", err)
		return Conversation{}, false
	}
	s.log.InfoContext(ctx, "proxy: conversation started by an unknown contact", "conversation", c.ID, "kind", ct.Kind)
	return c, true
}
