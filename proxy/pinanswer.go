package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/phone"
	"github.com/voiceproxy/voiceproxy/internal/voice"
	"github.com/voiceproxy/voiceproxy/ncco"
)

// This file answers calls to a shared number: the answer webhook asks for
// the PIN with an input action; Vonage sends the keys pressed to the
// /input webhook (the input action's eventUrl), which routes the caller by
// (caller, shared number, PIN) and connects them, prompts again, or
// refuses. Wrong PINs are counted per caller and per shared number in the
// store, so every instance sees them, and lock the caller or the number
// out for Config.PINLockout.

// Statuses of the events recording PIN attempts (never the PIN).
const (
	EventPINAccepted  EventStatus = "pin-accepted"
	EventPINRefused   EventStatus = "pin-refused"
	EventPINLockedOut EventStatus = "pin-locked-out"
)

// pinCalls returns the caller's PIN conversations in use on the dialed
// number that carry calls.
func (s *Service) pinCalls(ctx context.Context, from, to string, now time.Time) ([]Conversation, error) {
	cs, err := s.store.PINConversations(ctx, from, to, now)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(cs, func(c Conversation) bool { return c.Mode == ModeSMS }), nil
}

// inputURL is where the input action sends the keys: Config.InputURL, or
// the answer request's own URL with /input for its last element.
func (s *Service) inputURL(r *http.Request, attempt int) string {
	base := s.cfg.InputURL
	if base == "" {
		scheme := r.Header.Get("X-Forwarded-Proto")
		if scheme == "" {
			scheme = "http"
			if r.TLS != nil {
				scheme = "https"
			}
		}
		path := r.URL.Path
		if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
			path = u.Path // as sent, before any StripPrefix of the host's mux
		}
		if i := strings.LastIndexByte(path, '/'); i >= 0 {
			path = path[:i]
		}
		base = scheme + "://" + r.Host + path + "/input"
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "attempt=" + strconv.Itoa(attempt)
}

// pinPromptNCCO asks for the PIN (text), sending the keys to the input
// URL for attempt.
func (s *Service) pinPromptNCCO(r *http.Request, text string, attempt int) []byte {
	timeout := 5
	n := ncco.NCCO{
		ncco.Talk{Text: text, Language: s.cfg.Language, BargeIn: true},
		ncco.Input{
			Type:     []string{"dtmf"},
			DTMF:     &ncco.DTMFSettings{TimeOut: &timeout, MaxDigits: maxPINLength, SubmitOnHash: true},
			EventURL: []string{s.inputURL(r, attempt)},
		},
	}
	if err := n.Validate(); err != nil {
		s.log.Error("proxy: PIN prompt NCCO invalid", "err", err)
		return s.fallbackJSON
	}
	b, err := json.Marshal(n)
	if err != nil {
		return s.fallbackJSON
	}
	return b
}

// spoken is an NCCO that says text.
func (s *Service) spoken(text string) []byte {
	b, err := json.Marshal(ncco.NCCO{ncco.Talk{Text: text, Language: s.cfg.Language}})
	if err != nil {
		return s.fallbackJSON
	}
	return b
}

// answerPIN answers a call to a shared number from a caller with PIN
// conversations on it: the PIN prompt, or, for a caller or number locked
// out, the lock-out message. It reports false when the caller has none.
func (s *Service) answerPIN(ctx context.Context, w http.ResponseWriter, r *http.Request, from, to string, now time.Time) (bool, error) {
	cs, err := s.pinCalls(ctx, from, to, now)
	if err != nil || len(cs) == 0 {
		return false, err
	}
	locked, err := s.pinLocked(ctx, from, to, now)
	if err != nil {
		return true, err
	}
	if locked {
		writeJSON(w, s.spoken(s.cfg.PINLockedText))
		return true, nil
	}
	writeJSON(w, s.pinPromptNCCO(r, s.cfg.PINPrompt, 1))
	return true, nil
}

// Keys in the store for PIN failures and lock-outs.
func pinCallerKey(from string) string { return "caller:" + from }
func pinNumberKey(to string) string   { return "number:" + to }

// pinLocked reports whether the caller or the shared number is locked out.
// It asks the store by claiming the lock key with a claim that has
// expired already (the zero time): refused while a lock-out is live, and
// never itself in the way of another caller's probe, whose clock may be
// a little behind this one's (a probe claiming "until now" could be).
func (s *Service) pinLocked(ctx context.Context, from, to string, now time.Time) (bool, error) {
	for _, k := range [...]string{pinCallerKey(from), pinNumberKey(to)} {
		switch err := s.store.ClaimNonce(ctx, "pin-lock:"+k, now, time.Time{}); {
		case errors.Is(err, ErrConflict):
			return true, nil
		case err != nil:
			return false, err
		}
	}
	return false, nil
}

// pinFailed counts a wrong PIN for key, up to max within PINLockout, in
// slots claimed in the store; the max-th locks key out. It reports
// whether key is now locked out.
func (s *Service) pinFailed(ctx context.Context, key string, max int, now time.Time) (bool, error) {
	until := now.Add(s.cfg.PINLockout)
	for i := 1; i <= max; i++ {
		switch err := s.store.ClaimNonce(ctx, "pin-fail:"+key+":"+strconv.Itoa(i), now, until); {
		case err == nil:
			if i < max {
				return false, nil
			}
		case !errors.Is(err, ErrConflict):
			return false, err
		default:
			continue
		}
		break
	}
	if err := s.store.ClaimNonce(ctx, "pin-lock:"+key, now, until); err != nil && !errors.Is(err, ErrConflict) {
		return false, err
	}
	return true, nil
}

// inputEvent is what Vonage sends an input action's eventUrl (the fields
// as the Vonage .NET SDK's MultiInput and DtmfResult models name them):
// dtmf is {digits, timed_out}, or, from the older input action, the
// digits themselves.
type inputEvent struct {
	From             string          `json:"from"`
	To               string          `json:"to"`
	UUID             string          `json:"uuid"`
	ConversationUUID string          `json:"conversation_uuid"`
	DTMF             json.RawMessage `json:"dtmf"`
}

// digits reads the keys pressed, without a final #.
func (e inputEvent) digits() string {
	var d struct {
		Digits string `json:"digits"`
	}
	var s string
	if json.Unmarshal(e.DTMF, &d) == nil {
		s = d.Digits
	} else if json.Unmarshal(e.DTMF, &s) != nil {
		return ""
	}
	return strings.TrimRight(s, "#")
}

// handleInput serves the input webhook: the PIN a caller keyed in.
func (s *Service) handleInput(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.storeContext(r.Context())
	defer cancel()
	body, err := s.readBody(w, r)
	if s.tooLarge(ctx, w, r, err) {
		return
	}
	if err != nil {
		s.writeFallback(w)
		return
	}
	if err := s.authVoice(ctx, r, body, nil); err != nil {
		if !errors.Is(err, voice.ErrUnauthorized) {
			s.log.ErrorContext(ctx, "proxy: input webhook: replay check failed", "err", err)
			s.writeFallback(w)
			return
		}
		s.unauthorized(ctx, w, r, err, "voice")
		return
	}
	var in inputEvent
	if err := json.Unmarshal(body, &in); err != nil {
		s.log.WarnContext(ctx, "proxy: input webhook malformed", "err", err)
		s.writeFallback(w)
		return
	}
	from, okFrom := phone.FromWebhook(cleanText(in.From))
	to, okTo := phone.FromWebhook(cleanText(in.To))
	attempt, _ := strconv.Atoi(r.URL.Query().Get("attempt"))
	attempt = max(attempt, 1)
	if !okFrom || !okTo {
		s.writeFallback(w)
		return
	}
	now := s.now()
	locked, err := s.pinLocked(ctx, from, to, now)
	if err != nil {
		s.log.ErrorContext(ctx, "proxy: input webhook: lock-out check", "err", err)
		s.writeFallback(w)
		return
	}
	call := pinCall{from: from, to: to, uuid: cleanText(in.UUID), conv: cleanText(in.ConversationUUID), attempt: attempt}
	rctx, rcancel := s.afterContext(r.Context())
	defer rcancel()
	if locked {
		writeJSON(w, s.spoken(s.cfg.PINLockedText))
		s.recordPIN(rctx, call, EventPINLockedOut, "locked out after too many wrong PINs", now)
		return
	}
	digits := in.digits()
	c, side, ok, err := s.pinMatch(ctx, to, digits, from, now)
	switch {
	case err != nil:
		// Not the caller's fault: refused, not counted as a wrong PIN.
		s.log.ErrorContext(ctx, "proxy: input webhook: route PIN", "err", err)
		s.writeFallback(w)
		return
	case ok:
		s.connectPIN(ctx, rctx, w, c, side, call, now)
		return
	}
	if digits == "" {
		// Nothing keyed in (the input timed out): asked again, not
		// counted as a wrong PIN.
		if attempt < s.cfg.PINAttempts {
			writeJSON(w, s.pinPromptNCCO(r, s.cfg.PINPrompt, attempt+1))
			return
		}
		writeJSON(w, s.fallbackJSON)
		s.recordPIN(rctx, call, EventPINRefused, fmt.Sprintf("no PIN entered in %d attempts; call refused", attempt), now)
		return
	}
	// A wrong PIN: count it for the caller and the number.
	lockedCaller, err1 := s.pinFailed(ctx, pinCallerKey(from), s.cfg.PINMaxFailures, now)
	lockedNumber, err2 := s.pinFailed(ctx, pinNumberKey(to), s.cfg.PINMaxNumberFailures, now)
	if err := errors.Join(err1, err2); err != nil {
		s.log.ErrorContext(ctx, "proxy: input webhook: count a wrong PIN", "err", err)
	}
	switch {
	case lockedCaller || lockedNumber:
		writeJSON(w, s.spoken(s.cfg.PINLockedText))
		s.recordPIN(rctx, call, EventPINLockedOut, fmt.Sprintf("wrong PIN (attempt %d); locked out", attempt), now)
	case attempt < s.cfg.PINAttempts:
		writeJSON(w, s.pinPromptNCCO(r, s.cfg.PINRetryPrompt, attempt+1))
		s.recordPIN(rctx, call, EventPINRefused, fmt.Sprintf("wrong PIN (attempt %d of %d)", attempt, s.cfg.PINAttempts), now)
	default:
		writeJSON(w, s.fallbackJSON)
		s.recordPIN(rctx, call, EventPINRefused, fmt.Sprintf("wrong PIN (attempt %d of %d); call refused", attempt, s.cfg.PINAttempts), now)
	}
}

// pinCall is a call keying in a PIN.
type pinCall struct {
	from, to, uuid, conv string
	attempt              int
}

// pinMatch finds the conversation the caller reaches with pin on the
// shared number: one in use with that PIN of which the caller is a
// participant.
// The error is the store's.
func (s *Service) pinMatch(ctx context.Context, to, pin, from string, now time.Time) (Conversation, Side, bool, error) {
	if pin == "" {
		return Conversation{}, 0, false, nil
	}
	c, err := s.store.RoutePIN(ctx, to, pin, now)
	switch {
	case errors.Is(err, ErrNotFound):
		return Conversation{}, 0, false, nil
	case err != nil:
		return Conversation{}, 0, false, err
	case c.Mode == ModeSMS:
		return Conversation{}, 0, false, nil
	}
	for _, side := range [...]Side{SideA, SideB} {
		if c.Participants[side].Number == from {
			return c, side, true, nil
		}
	}
	return Conversation{}, 0, false, nil
}

// connectPIN connects a caller who keyed in the right PIN to the other
// participant, shown the shared number, unless Config.Intercept refuses,
// and records the call with its PIN event.
func (s *Service) connectPIN(ctx, rctx context.Context, w http.ResponseWriter, c Conversation, side Side, call pinCall, now time.Time) {
	in := Interaction{ID: newID(now), ConversationID: c.ID, Kind: KindCall, ExternalID: call.conv, From: call.from, To: call.to, CreatedAt: now}
	if s.cfg.Intercept != nil {
		if err := s.cfg.Intercept(ctx, Inbound{Kind: KindCall, Conversation: c, Sender: side}); err != nil {
			writeJSON(w, s.fallbackJSON)
			s.recordRefused(rctx, in, call.uuid, refusedIntercept+err.Error(), now)
			return
		}
	}
	setOutcome(w, outcomeConnected)
	s.writeConnect(w, c.Record, c.Participants[side.Other()])
	s.log.InfoContext(ctx, "proxy: PIN call connected", "conversation", c.ID, "call", call.uuid)
	stored, err := s.interactionFor(rctx, in)
	if err == nil {
		err = s.addEvent(rctx, &stored, InteractionEvent{Leg: call.uuid, Direction: "inbound", Status: EventPINAccepted, At: now,
			Detail: fmt.Sprintf("PIN accepted (attempt %d)", call.attempt)})
	}
	if err != nil {
		s.log.ErrorContext(rctx, "proxy: record PIN call failed", "conversation", c.ID, "err", err)
	}
	s.touch(rctx, c, now)
}

// recordPIN records a refused or locked-out PIN attempt in each of the
// caller's PIN conversations on the number (looked up only here: the
// accepted path does not need them) (the PIN is never recorded):
// one interaction per call and conversation, one event per attempt.
func (s *Service) recordPIN(ctx context.Context, call pinCall, status EventStatus, detail string, now time.Time) {
	if call.conv == "" {
		return
	}
	cs, err := s.pinCalls(ctx, call.from, call.to, now)
	if err != nil {
		s.log.ErrorContext(ctx, "proxy: record PIN attempt: PIN conversations", "err", err)
		return
	}
	for _, c := range cs {
		in := Interaction{ID: newID(now), ConversationID: c.ID, Kind: KindCall, ExternalID: call.conv + "/pin/" + c.ID,
			From: call.from, To: call.to, CreatedAt: now}
		stored, err := s.interactionFor(ctx, in)
		if err == nil {
			err = s.addEvent(ctx, &stored, InteractionEvent{Leg: "pin-" + strconv.Itoa(call.attempt), Direction: "inbound",
				Status: status, At: now, Detail: detail})
		}
		if err != nil {
			s.log.ErrorContext(ctx, "proxy: record PIN attempt failed", "conversation", c.ID, "err", err)
		}
	}
}
