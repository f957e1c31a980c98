package proxy

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/voiceproxy/voiceproxy/internal/voice"
)

// handleFallback serves the fallback answer URL, Vonage's last try before
// it drops the call: it routes like the answer webhook but never fails
// for want of a store (the spoken NCCO, 200, instead of a 503). A fallback
// standing in for an input event (the PIN a caller keyed in) is answered
// as the input webhook answers it, with an NCCO; one standing in for
// another event webhook (original_request type "event") is recorded as
// that event and answered 204: it is never a new call to connect.
func (s *Service) handleFallback(w http.ResponseWriter, r *http.Request) {
	s.answerCall(w, r, true)
}

// fallbackStandIn answers a fallback request that stands in for an
// event webhook rather than a new call (original_request type "event"):
// an input event with an NCCO (fallbackInput), any other event recorded
// and answered 204 (fallbackEvent). It reports whether it answered; a
// fallback for the answer URL is left to route as a call.
func (s *Service) fallbackStandIn(ctx context.Context, w http.ResponseWriter, r *http.Request, p *voice.Params, claim voice.Claim) bool {
	s.log.WarnContext(ctx, "proxy: fallback URL requested", "reason", string(p.Reason),
		"original_type", string(p.OriginalRequest.Type), "call", string(p.UUID))
	if !p.OriginalRequest.IsEvent() {
		return false
	}
	if isInputEvent(p) {
		s.fallbackInput(ctx, w, r, p, claim)
		return true
	}
	s.fallbackEvent(ctx, w, r, p, claim)
	return true
}

// fallbackEvent records an event webhook that reached the fallback URL,
// Vonage's last delivery of it, and answers 204. An event the store
// cannot take now (nor its replay claim) is spooled and written when the
// store answers again (see eventspool.go): a 503 here would gain nothing.
func (s *Service) fallbackEvent(ctx context.Context, w http.ResponseWriter, r *http.Request, p *voice.Params, claim voice.Claim) {
	now := s.now()
	_, err := s.route(ctx, "", "", now, claim)
	switch {
	case errors.Is(err, voice.ErrReplayed):
		s.unauthorized(ctx, w, r, err, "voice")
		return
	case err != nil && !errors.Is(err, ErrNotFound):
		s.log.ErrorContext(ctx, "proxy: event from the fallback URL: replay check failed", "call", string(p.UUID), "err", err)
		s.spoolEvent(ctx, p, now)
	default:
		if err := s.recordCallEvent(ctx, p, clickToCallTag(string(p.OriginalRequest.URL)), now); err != nil {
			s.log.ErrorContext(ctx, "proxy: event from the fallback URL not recorded yet", "call", string(p.UUID), "err", err)
			s.spoolEvent(ctx, p, now)
		} else {
			defer s.flushEventsAfter()
		}
	}
	setOutcome(w, outcomeAccepted)
	w.WriteHeader(http.StatusNoContent)
}

// isInputEvent reports whether a fallback request standing in for an
// event webhook stands in for an input event, whose NCCO the call waits
// for: its original_request.url is an input URL (path ending /input), or
// it carries the keys pressed (dtmf).
//
// Vonage's references disagree on which events reach the fallback URL.
// The 2021 webhook reference sends only the events that expect an NCCO
// back (an input's) there, after two tries at their event URL (Vonage
// support, "What happens if the NCCO download request fails?": the
// eventUrl is retried once on a 429, 503 or 504, then the fallback
// answerUrl requests the NCCO); today's says the fallback URL is used
// "when either the Answer or Event webhook fails or returns an HTTP error
// status" (Voice API webhooks reference). Either way an input event may
// come here, and so may a status event: both are told apart here.
func isInputEvent(p *voice.Params) bool {
	if len(p.DTMF) > 0 && string(p.DTMF) != "null" {
		return true
	}
	u, err := url.Parse(string(p.OriginalRequest.URL))
	return err == nil && strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/input")
}

// fallbackInput answers an input event that reached the fallback URL as
// the input webhook would (answerInput), with an NCCO, so that the
// caller is connected, asked again or told, never left in silence. Its
// replay claim is made here (the fallback's claim is deferred, see
// readVoice); a store that cannot make it does not hold the call back.
func (s *Service) fallbackInput(ctx context.Context, w http.ResponseWriter, r *http.Request, p *voice.Params, claim voice.Claim) {
	switch _, err := s.route(ctx, "", "", s.now(), claim); {
	case errors.Is(err, voice.ErrReplayed):
		s.unauthorized(ctx, w, r, err, "voice")
		return
	case err != nil && !errors.Is(err, ErrNotFound):
		s.log.ErrorContext(ctx, "proxy: input from the fallback URL: replay check failed; answered", "call", string(p.UUID), "err", err)
	}
	attempt := 0
	if u, err := url.Parse(string(p.OriginalRequest.URL)); err == nil {
		attempt, _ = strconv.Atoi(u.Query().Get("attempt"))
	}
	in := inputEvent{From: string(p.From), To: string(p.To), UUID: string(p.UUID), ConversationUUID: string(p.ConversationUUID), DTMF: p.DTMF}
	s.answerInput(ctx, w, r, in, attempt, true)
}
