package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/phone"
	"github.com/voiceproxy/voiceproxy/internal/voice"
	"github.com/voiceproxy/voiceproxy/ncco"
)

// handleAnswer serves the answer webhook. It answers 200 with an NCCO — a
// connect to the other participant when the call routes, else a spoken
// message — except for a bad signature (401) and a store that cannot
// answer within Config.Webhooks.StoreTimeout (503): Vonage retries the answer URL
// once on a 503, then requests the fallback URL (Voice API webhook
// reference, "Fallback URL"; troubleshooting guide, "Timeouts").
func (s *Service) handleAnswer(w http.ResponseWriter, r *http.Request) {
	s.answerCall(w, r, false)
}

// answerCall reads top to bottom: parse and authenticate → route and
// decide → answer → record.
func (s *Service) answerCall(w http.ResponseWriter, r *http.Request, fallback bool) {
	ctx, cancel := s.storeContext(r.Context())
	defer cancel()
	var p voice.Params
	var claim voice.Claim
	if !s.readCall(ctx, w, r, fallback, &p, &claim) {
		return
	}
	if fallback && s.fallbackStandIn(ctx, w, r, &p, claim) {
		return
	}

	// Route and decide.
	from, okFrom := phone.FromWebhook(string(p.From))
	to, okTo := phone.FromWebhook(string(p.To))
	now := s.now()
	ends := callEnds{from: from, to: to, valid: okFrom && okTo}
	a, ok := s.routeCall(ctx, w, r, &p, ends, now, claim, fallback)
	if !ok {
		return
	}
	if a.refused != "" {
		s.refuseCall(w, r, a, ends, &p, now)
		return
	}

	// Answer, then record.
	s.connectCall(ctx, w, r, a, ends, &p, now)
}

// readCall reads and authenticates an answer (or, with fallback, a
// fallback) webhook into p, its replay claim left in claim for the
// route to make (see route), and reports whether the call goes on; when
// it does not, the webhook has been answered.
func (s *Service) readCall(ctx context.Context, w http.ResponseWriter, r *http.Request, fallback bool, p *voice.Params, claim *voice.Claim) bool {
	kind := "answer"
	if fallback {
		kind = "fallback"
	}
	// The jti is claimed with the route, in one round trip (see route).
	//
	// What the signature covers depends on the application's
	// answer_method. A POST's JSON body is bound to the token: its
	// payload_hash claim is the SHA-256 of the body (Voice API webhook
	// reference, "Signed webhooks"; Vonage's webhooks guide, "Decoding
	// signed webhooks"), and readVoice checks it. A GET has no body: its
	// payload_hash, when the token has one, is the hash of its query
	// parameters as one JSON object, in their order (Vonage support, "How
	// do I verify that the Voice API Webhook request and its payload has
	// not been tampered during transit?"), which the verifier checks
	// (internal/voice queryJSON; names and values are read unescaped the
	// same way by the hash and by the handler). A GET token without one
	// is accepted with any query, so whoever holds such a token, single
	// use by its jti and good for Config.Webhooks.Tolerance, could
	// present it with another caller and number: hosts should set
	// answer_method POST.
	switch s.readVoice(ctx, w, r, kind, p, claim) {
	case readAnswered:
		return false
	case readMalformed:
		setOutcome(w, outcomeMalformed)
		s.writeFallback(w)
		return false
	case readUnavailable:
		s.storeFailed(w, fallback)
		return false
	}
	return true
}

// callEnds are a call's caller and called number as the webhook gave
// them, and whether both are numbers (else the call routes nowhere).
type callEnds struct {
	from, to string
	valid    bool
}

// routeCall finds the conversation a call belongs to and decides on it
// (admit), claiming the webhook's jti in the same round trip. A call on
// no route is offered a PIN prompt or a new contact (notFound). It
// reports false when it has answered the webhook itself: a replay
// (401), a store failure (storeFailed), a PIN prompt or an unknown call.
func (s *Service) routeCall(ctx context.Context, w http.ResponseWriter, r *http.Request, p *voice.Params, ends callEnds, now time.Time, claim voice.Claim, fallback bool) (admission, bool) {
	var a admission
	var err error
	if ends.valid {
		a, err = s.admit(ctx, KindCall, ends.from, ends.to, "", now, claim)
	} else {
		_, err = s.route(ctx, "", "", now, claim) // claims the jti; ErrNotFound
	}
	switch {
	case err == nil:
		return a, true
	case errors.Is(err, voice.ErrReplayed):
		s.unauthorized(ctx, w, r, err, "voice")
		return admission{}, false
	case errors.Is(err, ErrNotFound):
		return s.notFound(ctx, w, r, p, ends, now, err, fallback)
	default:
		s.log.ErrorContext(ctx, "proxy: route lookup failed", "err", err, "call", string(p.UUID), "fallback", fallback)
		s.storeFailed(w, fallback)
		return admission{}, false
	}
}

// notFound handles a call on no route (why is the route's ErrNotFound):
// a caller with PIN conversations on the shared number is asked for a
// PIN (answerPIN); else Config.Hooks.OnUnknownContact may start a
// conversation for it (startContact), which is then decided on; else it is an unknown
// call (unknownCall). It reports false when it has answered the webhook.
func (s *Service) notFound(ctx context.Context, w http.ResponseWriter, r *http.Request, p *voice.Params, ends callEnds, now time.Time, why error, fallback bool) (admission, bool) {
	if ends.valid {
		// A shared number the caller has PIN conversations on?
		switch asked, perr := s.answerPIN(ctx, w, r, ends.from, ends.to, now); {
		case asked && perr == nil:
			setOutcome(w, outcomePINPrompt)
			return admission{}, false
		case perr != nil:
			s.log.ErrorContext(ctx, "proxy: PIN conversations lookup failed", "err", perr, "call", string(p.UUID))
			s.storeFailed(w, fallback)
			return admission{}, false
		}
	}
	started, ok := s.startContact(ctx, Contact{Kind: KindCall, From: ends.from, To: ends.to}, ends.valid)
	if !ok {
		s.unknownCall(ctx, w, UnknownCall{From: ends.from, To: ends.to, UUID: string(p.UUID), ConversationUUID: string(p.ConversationUUID)}, why)
		return admission{}, false
	}
	return s.decide(ctx, KindCall, started, ends.from, ends.to, ""), true
}

// refuseCall answers a call a hook or the policy refused (a.refused
// says why) with the spoken NCCO, and records the refusal.
func (s *Service) refuseCall(w http.ResponseWriter, r *http.Request, a admission, ends callEnds, p *voice.Params, now time.Time) {
	setOutcome(w, outcomeVetoed)
	writeJSON(w, s.fallbackJSON)
	rctx, rcancel := s.afterContext(r.Context())
	defer rcancel()
	s.recordRefused(rctx, s.callInteraction(a.conv, ends.from, ends.to, p, now), string(p.UUID), a.refused, now)
}

// connectCall answers a routed call with the NCCO connecting the caller
// (a.sender) to the other participant, flushes it to Vonage, then
// records the call's interaction and the conversation's last activity.
func (s *Service) connectCall(ctx context.Context, w http.ResponseWriter, r *http.Request, a admission, ends callEnds, p *voice.Params, now time.Time) {
	c := a.conv
	other := c.Participants[a.sender.Other()]
	// The rest of the NCCO was validated by New; check what varies.
	if err := errors.Join(ncco.PhoneEndpoint{Number: other.Number}.Validate(), ncco.PhoneEndpoint{Number: other.ProxyNumber}.Validate()); err != nil {
		s.log.ErrorContext(ctx, "proxy: answer NCCO invalid", "conversation", c.ID, "err", err)
		writeJSON(w, s.fallbackJSON)
		return
	}
	setOutcome(w, outcomeConnected)
	s.writeConnect(w, c.Record, other)
	// Let Vonage have the NCCO while the call is recorded.
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if s.log.Enabled(ctx, slog.LevelInfo) { // spare the hot path the boxing
		s.log.InfoContext(ctx, "proxy: call connected", "conversation", c.ID, "call", string(p.UUID))
	}
	rctx, rcancel := s.afterContext(r.Context())
	defer rcancel()
	if p.ConversationUUID != "" {
		// A redelivered answer webhook, or an event webhook that came
		// first, finds the interaction there already. Should this write
		// be lost, the call's event webhooks create it from the route.
		s.calls.add(rctx, s.callInteraction(c, ends.from, ends.to, p, now))
	}
	s.touch(rctx, c, now)
}

// storeFailed answers a call the store could not route in time: 503 on
// the answer URL, so that Vonage retries and then tries the fallback URL;
// on the fallback URL, the call's last chance, the spoken NCCO (200).
func (s *Service) storeFailed(w http.ResponseWriter, fallback bool) {
	setOutcome(w, outcomeStoreError)
	if fallback {
		s.writeFallback(w)
		return
	}
	writeUnavailable(w)
}

// writeFallback answers 200 with the spoken NCCO for calls not connected.
func (s *Service) writeFallback(w http.ResponseWriter) { writeJSON(w, s.fallbackJSON) }

// unknownCall answers a call that routes nowhere: the OnUnknownCall
// hook's NCCO when it gives a valid one, else the spoken fallback.
func (s *Service) unknownCall(ctx context.Context, w http.ResponseWriter, call UnknownCall, why error) {
	// Store errors may quote numbers: the reason goes to Debug only.
	setOutcome(w, outcomeUnknownRoute)
	s.log.InfoContext(ctx, "proxy: call to unknown route", "call", call.UUID)
	s.log.DebugContext(ctx, "proxy: unknown route", "from", phone.Mask(call.From), "to", call.To, "reason", why)
	if s.cfg.Hooks.OnUnknownCall == nil {
		writeJSON(w, s.fallbackJSON)
		return
	}
	n, err := s.cfg.Hooks.OnUnknownCall(ctx, call)
	if err == nil {
		err = n.Validate()
	}
	var b []byte
	if err == nil {
		b, err = json.Marshal(n)
	}
	if err != nil {
		s.log.WarnContext(ctx, "proxy: OnUnknownCall gave no usable NCCO", "call", call.UUID, "err", err)
		b = s.fallbackJSON
	}
	writeJSON(w, b)
}
