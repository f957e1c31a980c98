package proxy

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/voice"
)

// This file records the audit trail: interactions and their events, for
// calls and SMS alike, and the activity that extends idle deadlines.

// callInteraction is the interaction of a call that routed to c.
func (s *Service) callInteraction(c Conversation, from, to string, p *voice.Params, now time.Time) Interaction {
	return Interaction{
		ID: newID(now), ConversationID: c.ID, Kind: KindCall, ExternalID: string(p.ConversationUUID),
		From: from, To: to, Region: cleanText(string(p.RegionURL)), CreatedAt: now,
	}
}

// addInteraction stores a new interaction. created is false, with a nil
// error, when one with the same Kind and ExternalID is stored already:
// Vonage delivers webhooks at least once, and a call's event webhook may
// come before its answer webhook is recorded.
func (s *Service) addInteraction(ctx context.Context, in Interaction) (created bool, err error) {
	switch err := s.store.AddInteraction(ctx, in); {
	case err == nil:
		s.interactionChanged(ctx, in)
		return true, nil
	case errors.Is(err, ErrConflict):
		return false, nil
	default:
		return false, err
	}
}

// interactionFor returns the stored interaction with in's Kind and
// ExternalID, storing in when there is none.
func (s *Service) interactionFor(ctx context.Context, in Interaction) (Interaction, error) {
	switch err := s.store.AddInteraction(ctx, in); {
	case err == nil:
		return in, nil
	case errors.Is(err, ErrConflict):
		return s.store.InteractionByExternalID(ctx, in.Kind, in.ExternalID)
	default:
		return Interaction{}, err
	}
}

// recordRefused records a call or SMS that routed to a conversation but
// was refused (admission.refused) as an interaction with an EventBlocked
// event, so the audit trail shows the attempt; a call's own event
// webhooks, which would otherwise create an ordinary call interaction
// from the route, add to it instead. An interaction without an
// ExternalID is not recorded: nothing would tie its redeliveries to it.
func (s *Service) recordRefused(ctx context.Context, in Interaction, leg, reason string, now time.Time) {
	if in.ExternalID == "" {
		return
	}
	stored, err := s.interactionFor(ctx, in)
	if err == nil {
		ev := InteractionEvent{Leg: leg, Status: EventBlocked, At: now, Detail: reason}
		if in.Kind == KindCall {
			ev.Direction = "inbound" // the answer webhook is the caller's leg's
		}
		err = s.addEvent(ctx, &stored, ev)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "proxy: record refused "+string(in.Kind)+" failed", "conversation", in.ConversationID, "err", err)
	}
}

// addEvent appends ev to the stored interaction in, and to in.Events
// unless an event of the same (Leg, Status) is there (the store ignores
// those too), and tells Config.OnInteraction.
func (s *Service) addEvent(ctx context.Context, in *Interaction, ev InteractionEvent) error {
	if err := s.store.AddInteractionEvent(ctx, in.ID, ev); err != nil {
		return err
	}
	if !slices.ContainsFunc(in.Events, func(e InteractionEvent) bool { return e.Leg == ev.Leg && e.Status == ev.Status }) {
		in.Events = append(in.Events, ev)
	}
	s.interactionChanged(ctx, *in)
	return nil
}

// touch extends an idle deadline. Conversations without one are not
// touched, which saves the answer path a store round trip.
func (s *Service) touch(ctx context.Context, c Conversation, now time.Time) {
	if c.IdleTimeout <= 0 {
		return
	}
	if err := s.store.Touch(ctx, c.ID, now); err != nil {
		s.log.ErrorContext(ctx, "proxy: touch conversation failed", "conversation", c.ID, "err", err)
	}
}

// interactionChanged feeds Config.OnInteraction.
func (s *Service) interactionChanged(ctx context.Context, in Interaction) {
	if s.cfg.Hooks.OnInteraction != nil {
		s.cfg.Hooks.OnInteraction(ctx, in)
	}
}
