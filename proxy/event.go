package proxy

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/phone"
	"github.com/voiceproxy/voiceproxy/internal/voice"
)

// handleEvent records a call's status changes. It answers 204 whatever
// happens (401 only for a bad signature): Vonage needs nothing back, and
// failures are logged.
func (s *Service) handleEvent(w http.ResponseWriter, r *http.Request) {
	var p voice.Params
	if !s.readVoice(w, r, "event", &p, writeNoContent) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
	s.recordCallEvent(r.Context(), &p)
}

func writeNoContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// recordCallEvent appends one event to the call's interaction, creating
// the interaction from the inbound leg's route when the answer webhook's
// record is missing.
func (s *Service) recordCallEvent(ctx context.Context, p *voice.Params) {
	ext := string(p.ConversationUUID)
	status := EventStatus(strings.ToLower(strings.TrimSpace(string(p.Status))))
	detail := string(p.Detail)
	if detail == "" {
		detail = string(p.Reason)
	}
	if status == "" && p.RecordingURL != "" {
		status, detail = EventRecorded, string(p.RecordingURL)
	}
	if ext == "" || status == "" {
		return // not a call status event (or nothing to key it by)
	}
	now := s.now()
	in, err := s.store.InteractionByExternalID(ctx, KindCall, ext)
	if errors.Is(err, ErrNotFound) {
		in, err = s.interactionForEvent(ctx, p, now)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			s.log.DebugContext(ctx, "proxy: event for a call outside any conversation ignored", "call", string(p.UUID), "status", status)
			return
		}
		s.log.ErrorContext(ctx, "proxy: record call event failed", "call", string(p.UUID), "err", err)
		return
	}
	at := now
	if t, err := time.Parse(time.RFC3339Nano, string(p.Timestamp)); err == nil {
		at = t
	}
	ev := InteractionEvent{Leg: string(p.UUID), Status: status, At: at, Price: string(p.Price), Detail: detail}
	if status == EventCompleted {
		ev.Duration = p.Duration.Int(0)
	}
	if err := s.addEvent(ctx, &in, ev); err != nil {
		s.log.ErrorContext(ctx, "proxy: record call event failed", "conversation", in.ConversationID, "err", err)
		return
	}
	s.log.InfoContext(ctx, "proxy: call event", "conversation", in.ConversationID, "call", ev.Leg, "status", status)
	if status == EventCompleted {
		if err := s.store.Touch(ctx, in.ConversationID, now); err != nil && !errors.Is(err, ErrNotFound) {
			s.log.ErrorContext(ctx, "proxy: touch conversation failed", "conversation", in.ConversationID, "err", err)
		}
	}
}

// interactionForEvent creates the call's interaction when an event comes
// before (or without) the answer webhook's record, if (from, to) routes.
func (s *Service) interactionForEvent(ctx context.Context, p *voice.Params, now time.Time) (Interaction, error) {
	from, okFrom := phone.FromWebhook(string(p.From))
	to, okTo := phone.FromWebhook(string(p.To))
	if !okFrom || !okTo {
		return Interaction{}, ErrNotFound
	}
	c, err := s.store.Route(ctx, from, to, now)
	if err != nil {
		return Interaction{}, err
	}
	return s.interactionFor(ctx, s.callInteraction(c, from, to, p, now))
}
