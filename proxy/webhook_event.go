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

// handleEvent records a call's status changes and answers 204 once they
// are recorded; Vonage needs nothing back. A bad signature gets 401; a
// store that cannot record the event within Config.Webhooks.StoreTimeout gets
// 503, so that Vonage sends the event to the fallback URL (which records
// it there, if its store can). Events that cannot be recorded anywhere
// (malformed, or for a call outside any conversation) get 204 too.
func (s *Service) handleEvent(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.storeContext(r.Context())
	defer cancel()
	var p voice.Params
	var claim voice.Claim // claimed below, so that a failed claim keeps the event
	switch s.readVoice(ctx, w, r, "event", &p, &claim) {
	case readAnswered:
		return
	case readMalformed:
		w.WriteHeader(http.StatusNoContent)
		return
	case readUnavailable:
		writeUnavailable(w)
		return
	}
	now := s.now()
	_, err := s.route(ctx, "", "", now, claim)
	switch {
	case errors.Is(err, voice.ErrReplayed):
		s.unauthorized(ctx, w, r, err, "voice")
		return
	case err == nil || errors.Is(err, ErrNotFound):
		err = s.recordCallEvent(ctx, &p, r.URL.Query().Get(clickToCallParam), now)
	}
	if err != nil {
		// Kept here and answered 503 all the same: under today's webhook
		// reference Vonage then sends the event to the fallback URL, under
		// the 2021 one it tries the event URL once more and, for a status
		// event, stops there. Either way the spool has it; a copy that
		// arrives again is the same (leg, status), which stores keep once.
		s.log.ErrorContext(ctx, "proxy: record call event failed", "call", string(p.UUID), "err", err)
		s.spoolEvent(ctx, &p, now)
		writeUnavailable(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
	s.flushEventsAfter()
}

// recordCallEvent appends one event to the call's interaction, creating
// the interaction when the answer webhook's (or Service.Call's) record is
// missing: from the inbound leg's route, or from c2c, the click-to-call
// tag of the event URL. It routes as of now, when the event arrived. The
// error is the store's; an event that belongs to no conversation, or is
// no call status, is not an error.
func (s *Service) recordCallEvent(ctx context.Context, p *voice.Params, c2c string, now time.Time) error {
	ext := string(p.ConversationUUID)
	status := webhookStatus(string(p.Status))
	detail := string(p.Detail)
	if detail == "" && !p.OriginalRequest.IsEvent() {
		// A fallback's reason says why the event URL failed, not what
		// happened to the call.
		detail = string(p.Reason)
	}
	switch {
	case status == "" && p.RecordingURL != "":
		status, detail = EventRecorded, string(p.RecordingURL)
	case status == "" && p.Reason != "" && !p.OriginalRequest.IsEvent():
		// Vonage's error event: a reason and no status (Voice API
		// webhook reference, "Errors").
		status = EventError
	}
	if ext == "" || status == "" {
		return nil // not a call status event (or nothing to key it by)
	}
	in, err := s.store.InteractionByExternalID(ctx, KindCall, ext)
	if errors.Is(err, ErrNotFound) && c2c != "" {
		in, err = s.interactionForClickToCall(ctx, p, c2c, now)
	} else if errors.Is(err, ErrNotFound) {
		in, err = s.interactionForEvent(ctx, p, now)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			s.log.DebugContext(ctx, "proxy: event for a call outside any conversation ignored", "call", string(p.UUID), "status", status)
			return nil
		}
		return err
	}
	at := now
	if t := parseTime(string(p.Timestamp)); !t.IsZero() {
		at = t
	}
	ev := InteractionEvent{
		Leg: string(p.UUID), Status: status, At: at, Price: string(p.Price), Detail: detail,
		Direction: strings.ToLower(string(p.Direction)), Rate: string(p.Rate), Network: string(p.Network),
		DisconnectedBy: string(p.DisconnectedBy),
		StartTime:      parseTime(string(p.StartTime)), EndTime: parseTime(string(p.EndTime)),
	}
	if status == EventCompleted {
		ev.Duration = p.Duration.Int(0)
	}
	if err := s.addEvent(ctx, &in, ev); err != nil {
		if errors.Is(err, ErrNotFound) { // ended and dropped meanwhile
			return nil
		}
		return err
	}
	s.log.InfoContext(ctx, "proxy: call event", "conversation", in.ConversationID, "call", ev.Leg, "status", status)
	if s.voice != nil && legLive(status) && ev.Leg != "" {
		s.hangUpIfEnded(ctx, in, ev.Leg, now)
	}
	if status == EventCompleted {
		if err := s.store.Touch(ctx, in.ConversationID, now); err != nil && !errors.Is(err, ErrNotFound) {
			s.log.ErrorContext(ctx, "proxy: touch conversation failed", "conversation", in.ConversationID, "err", err)
		}
	}
	return nil
}

// interactionForEvent creates the call's interaction when an event comes
// before (or without) the answer webhook's record, if (from, to) routes.
// Only the caller's leg routes: an outbound leg's event (a connect's
// callee, a click-to-call's party) is from a proxy number to a
// participant, and does not say who called. Such an event before its
// interaction is stored (a click-to-call's first events may beat
// Service.Call's write) is not recorded.
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

// parseTime reads a time from an event webhook (RFC 3339, as Vonage
// writes them); the zero time when there is none.
func parseTime(s string) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	return time.Time{}
}
