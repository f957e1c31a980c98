package proxy

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// handleEvent records a call's status changes. It answers 204 whatever
// happens (401 only for a bad signature): Vonage needs nothing back, and
// failures are logged.
func (s *Service) handleEvent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := s.readBody(w, r)
	if err != nil {
		s.log.WarnContext(ctx, "proxy: event webhook body unreadable", "err", err)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := s.authVoice(ctx, r, body); err != nil {
		s.unauthorized(ctx, w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
	var p callParams
	if err := readCallParams(r, body, &p); err != nil {
		s.log.WarnContext(ctx, "proxy: event webhook malformed", "err", err)
		return
	}
	s.recordCallEvent(ctx, &p)
}

// recordCallEvent appends one event to the call's interaction, creating
// the interaction from the inbound leg's route when the answer webhook's
// record is missing.
func (s *Service) recordCallEvent(ctx context.Context, p *callParams) {
	ext := string(p.ConversationUUID)
	status := strings.ToLower(strings.TrimSpace(string(p.Status)))
	detail := string(p.Detail)
	if detail == "" {
		detail = string(p.Reason)
	}
	if status == "" && p.RecordingURL != "" {
		status, detail = "recorded", string(p.RecordingURL)
	}
	if ext == "" || status == "" {
		return // not a call status event (or nothing to key it by)
	}
	now := s.now()
	in, err := s.store.InteractionByExternalID(ctx, KindCall, ext)
	if errors.Is(err, ErrNotFound) {
		in, err = s.interactionForEvent(ctx, p, ext, now)
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
	if status == "completed" {
		ev.Duration = atoiOr(string(p.Duration), 0)
	}
	if err := s.store.AddInteractionEvent(ctx, in.ID, ev); err != nil {
		s.log.ErrorContext(ctx, "proxy: record call event failed", "conversation", in.ConversationID, "err", err)
		return
	}
	s.log.InfoContext(ctx, "proxy: call event", "conversation", in.ConversationID, "call", ev.Leg, "status", status)
	if status == "completed" {
		if err := s.store.Touch(ctx, in.ConversationID, now); err != nil && !errors.Is(err, ErrNotFound) {
			s.log.ErrorContext(ctx, "proxy: touch conversation failed", "conversation", in.ConversationID, "err", err)
		}
	}
	if s.cfg.OnInteraction != nil {
		if full, err := s.store.InteractionByExternalID(ctx, KindCall, ext); err == nil {
			s.cfg.OnInteraction(ctx, full)
		}
	}
}

// interactionForEvent creates the call's interaction when an event comes
// before (or without) the answer webhook's record, if (from, to) routes.
func (s *Service) interactionForEvent(ctx context.Context, p *callParams, ext string, now time.Time) (Interaction, error) {
	from, okFrom := webhookNumber(string(p.From))
	to, okTo := webhookNumber(string(p.To))
	if !okFrom || !okTo {
		return Interaction{}, ErrNotFound
	}
	c, err := s.store.Route(ctx, from, to, now)
	if err != nil {
		return Interaction{}, err
	}
	in := Interaction{ID: newID(now), ConversationID: c.ID, Kind: KindCall, ExternalID: ext, From: from, To: to, CreatedAt: now}
	switch err := s.store.AddInteraction(ctx, in); {
	case err == nil:
		return in, nil
	case errors.Is(err, ErrConflict): // the answer webhook won the race
		return s.store.InteractionByExternalID(ctx, KindCall, ext)
	default:
		return Interaction{}, err
	}
}

// Summary is an interaction's outcome so far, derived from its events.
type Summary struct {
	// Status is "blocked" when the call or SMS was refused (an Intercept
	// veto, a conversation of the other mode); else "completed" once any
	// leg completed (both are terminal, so late or out-of-order events do
	// not undo them); otherwise the status of the latest event by time;
	// "" when there are no events.
	Status string
	// Duration is the longest completed leg, in seconds.
	Duration int
	// Price is the sum of the legs' prices as Vonage reported them ("" if
	// none reported one).
	Price string
	// At is the time of the event that gave Status.
	At time.Time
}

// EventBlocked is the status of the event the Service records when it
// refuses a call or SMS that routed to a conversation: an Intercept veto,
// or a conversation whose mode does not carry it.
const EventBlocked = "blocked"

// Summarize derives an interaction's current status, duration and price
// from its events, tolerating duplicates and any arrival order.
func Summarize(in Interaction) Summary {
	evs := append([]InteractionEvent(nil), in.Events...)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].At.Before(evs[j].At) })
	// Terminal statuses outrank the rest, and the first of the highest
	// rank stands; among the others the latest wins.
	rank := func(status string) int {
		switch status {
		case EventBlocked:
			return 2
		case "completed":
			return 1
		}
		return 0
	}
	var sum Summary
	var price float64
	prices := 0
	for _, ev := range evs {
		if ev.Status == "completed" {
			sum.Duration = max(sum.Duration, ev.Duration)
		}
		if r, cur := rank(ev.Status), rank(sum.Status); r > cur || (r == 0 && cur == 0) {
			sum.Status, sum.At = ev.Status, ev.At
		}
		if ev.Price != "" {
			if f, err := strconv.ParseFloat(ev.Price, 64); err == nil && f != 0 {
				price += f
				prices++
				sum.Price = ev.Price
			}
		}
	}
	if prices > 1 {
		sum.Price = strconv.FormatFloat(price, 'f', 8, 64)
	}
	return sum
}
