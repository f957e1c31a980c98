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
// refuses.
//
// Wrong PINs and lock-outs. Each wrong PIN claims one slot of the
// caller's (their own number, the webhook's from) and one of the shared
// number's in the store (Store.Claim, so every instance counts the
// same), each held for PINLockout:
//
//   - A caller whose PINMaxFailures slots are taken is locked out for
//     PINLockout: told so at once, the right PIN refused too.
//   - A shared number is never locked. Once its PINMaxNumberFailures
//     slots are taken it is under attack, and a caller who keys a wrong
//     PIN on it is locked out at their hotPINFailures-th own wrong PIN
//     instead of their PINMaxFailures-th.
//
// Why not lock the number: a lock of the number is one that other
// callers pull. Six participants of other PIN conversations on the
// number, five wrong PINs each, would keep everyone else out, again and
// again. Here every refusal is earned by the refused caller's own wrong
// PINs: a caller who has not keyed one is always prompted and always
// connected with the right PIN, whatever the number has seen. The
// number's count still does what it was for, bounding guesses spread
// over many caller IDs (spoofed ones too): under attack each caller ID
// yields hotPINFailures guesses per PINLockout instead of
// PINMaxFailures, and each only at the PINs of that caller's own
// conversations (pinMatch). A spoofed caller ID can still lock out the
// caller it spoofs; counting by caller cannot tell the two apart, but it
// is that one caller, not the number.

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

// inputURL is where the input action sends the keys for attempt (see
// Config.PIN.InputURL): Config.PIN.InputURL; else Config.CallControl.EventURL with input
// for its last path element; else https, the request's Host (checked to
// be a plain host[:port]) and its path, as sent, with input for its last
// element. "" when the Host is unusable.
func (s *Service) inputURL(r *http.Request, attempt int) string {
	base := s.cfg.PIN.InputURL
	switch {
	case base != "":
	case s.cfg.CallControl.EventURL != "":
		u, err := url.Parse(s.cfg.CallControl.EventURL)
		if err != nil {
			return ""
		}
		u.Path, u.RawPath, u.RawQuery, u.Fragment = lastElement(u.Path, "input"), "", "", ""
		base = u.String()
	default:
		if !plainHost(r.Host) {
			return ""
		}
		path := r.URL.Path
		if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
			path = u.Path // as sent, before any StripPrefix of the host's mux
		}
		base = (&url.URL{Scheme: "https", Host: r.Host, Path: lastElement(path, "input")}).String()
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "attempt=" + strconv.Itoa(attempt)
}

// lastElement is path with its last element replaced by elem.
func lastElement(path, elem string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		path = path[:i]
	}
	return path + "/" + elem
}

// plainHost reports whether h is a host name or IP address with an
// optional port and nothing else: no user info, path, spaces or
// control characters, at most 260 bytes.
func plainHost(h string) bool {
	if h == "" || len(h) > 260 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// pinPromptNCCO asks for the PIN (text), sending the keys to the input
// URL for attempt.
func (s *Service) pinPromptNCCO(r *http.Request, text string, attempt int) []byte {
	input := s.inputURL(r, attempt)
	if input == "" {
		s.log.Error("proxy: PIN prompt: no input URL: set Config.PIN.InputURL (the request's Host is not a plain host)", "host", strconv.Quote(r.Host[:min(len(r.Host), 64)]))
		return s.fallbackJSON
	}
	timeout := 5
	n := ncco.NCCO{
		ncco.Talk{Text: text, Language: s.cfg.Calls.Language, BargeIn: true},
		ncco.Input{
			Type:     []string{"dtmf"},
			DTMF:     &ncco.DTMFSettings{TimeOut: &timeout, MaxDigits: maxPINLength, SubmitOnHash: true},
			EventURL: []string{input},
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
	b, err := json.Marshal(ncco.NCCO{ncco.Talk{Text: text, Language: s.cfg.Calls.Language}})
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
	locked, err := s.pinLocked(ctx, from, now)
	if err != nil {
		return true, err
	}
	if locked {
		writeJSON(w, s.spoken(s.cfg.PIN.LockedText))
		return true, nil
	}
	writeJSON(w, s.pinPromptNCCO(r, s.cfg.PIN.Prompt, 1))
	return true, nil
}

// Keys in the store for PIN failures and lock-outs.
// pinCallerKey keys a caller's wrong PINs and lock-out by their
// pseudonym, never their number, so that no claim holds a raw number
// (erasure and retention leave these to expire); the pseudonym key is the
// same on every instance (Privacy.PseudonymKey, or derived from the
// signature secret).
func (s *Service) pinCallerKey(from string) string { return "caller:" + s.Pseudonym(from) }
func pinNumberKey(to string) string                { return "number:" + to }

// hotPINFailures is how many wrong PINs of their own lock a caller out on
// a shared number under attack (see the top of this file): one may be a
// slip of the finger, a second is not forgiven there.
const hotPINFailures = 2

// pinLocked reports whether the caller is locked out (only callers are:
// see the top of this file). It asks the store by claiming the lock key
// with a claim that has expired already (the zero time): refused while a
// lock-out is live, and never itself in the way of another caller's
// probe, whose clock may be a little behind this one's (a probe claiming
// "until now" could be).
func (s *Service) pinLocked(ctx context.Context, from string, now time.Time) (bool, error) {
	switch err := s.store.Claim(ctx, "pin-lock:"+s.pinCallerKey(from), now, time.Time{}); {
	case errors.Is(err, ErrConflict):
		return true, nil
	case err != nil:
		return false, err
	}
	return false, nil
}

// pinCount counts a wrong PIN for key: it claims the first free one of
// key's max slots in the store, each until now + PINLockout, and returns
// its number, 1 to max, or max+1 when all were taken. A slot freed by
// expiry is taken again first, so the number can be below the live count
// while older slots expire; all max taken is exact.
func (s *Service) pinCount(ctx context.Context, key string, max int, now time.Time) (int, error) {
	until := now.Add(s.cfg.PIN.Lockout)
	for i := 1; i <= max; i++ {
		switch err := s.store.Claim(ctx, "pin-fail:"+key+":"+strconv.Itoa(i), now, until); {
		case err == nil:
			return i, nil
		case !errors.Is(err, ErrConflict):
			return 0, err
		}
	}
	return max + 1, nil
}

// pinFailed counts a wrong PIN from the caller on the shared number and
// reports whether it locks the caller out: their PINMaxFailures-th, or,
// with the number under attack (its PINMaxNumberFailures-th wrong PIN or
// later), their hotPINFailures-th. A store error counts as no lock-out
// (the call is refused all the same after PINAttempts).
func (s *Service) pinFailed(ctx context.Context, from, to string, now time.Time) (bool, error) {
	onNumber, errNumber := s.pinCount(ctx, pinNumberKey(to), s.cfg.PIN.MaxNumberFailures, now)
	limit := s.cfg.PIN.MaxFailures
	if errNumber == nil && onNumber >= s.cfg.PIN.MaxNumberFailures {
		limit = min(limit, hotPINFailures)
	}
	own, err := s.pinCount(ctx, s.pinCallerKey(from), s.cfg.PIN.MaxFailures, now)
	if err != nil || own < limit {
		return false, errors.Join(errNumber, err)
	}
	if err := s.store.Claim(ctx, "pin-lock:"+s.pinCallerKey(from), now, now.Add(s.cfg.PIN.Lockout)); err != nil && !errors.Is(err, ErrConflict) {
		return false, errors.Join(errNumber, err)
	}
	return true, errNumber
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

// handleInput serves the input webhook: the PIN a caller keyed in. A
// store that cannot answer is a 503: Vonage retries a webhook whose NCCO
// it waits for once after a 429, 503 or 504, then asks the fallback URL
// (Vonage support, "What happens if the NCCO download request fails?":
// "If your answerUrl or eventUrl fails to return a 200 OK ... the
// fallback answerUrl ... will then be used to request the NCCO"), which
// answers it as this does (fallbackInput).
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
			s.storeFailed(w, false)
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
	attempt, _ := strconv.Atoi(r.URL.Query().Get("attempt"))
	s.answerInput(ctx, w, r, in, attempt, false)
}

// answerInput answers the input event in, keyed at attempt, from the
// input webhook or (fallback) from the fallback URL standing in for it:
// an NCCO that connects, asks again or refuses. A store failure is a 503
// on the input webhook, the spoken NCCO on the fallback URL, the call's
// last chance.
func (s *Service) answerInput(ctx context.Context, w http.ResponseWriter, r *http.Request, in inputEvent, attempt int, fallback bool) {
	from, okFrom := phone.FromWebhook(cleanText(in.From))
	to, okTo := phone.FromWebhook(cleanText(in.To))
	attempt = max(attempt, 1)
	if !okFrom || !okTo {
		s.writeFallback(w)
		return
	}
	now := s.now()
	locked, err := s.pinLocked(ctx, from, now)
	if err != nil {
		s.log.ErrorContext(ctx, "proxy: input webhook: lock-out check", "err", err, "fallback", fallback)
		s.storeFailed(w, fallback)
		return
	}
	call := pinCall{from: from, to: to, uuid: cleanText(in.UUID), conv: cleanText(in.ConversationUUID), attempt: attempt}
	rctx, rcancel := s.afterContext(r.Context())
	defer rcancel()
	if locked {
		writeJSON(w, s.spoken(s.cfg.PIN.LockedText))
		s.recordPIN(rctx, call, EventPINLockedOut, "locked out after too many wrong PINs", now)
		return
	}
	digits := in.digits()
	c, side, ok, err := s.pinMatch(ctx, to, digits, from, now)
	switch {
	case err != nil:
		// Not the caller's fault: not counted as a wrong PIN.
		s.log.ErrorContext(ctx, "proxy: input webhook: route PIN", "err", err, "fallback", fallback)
		s.storeFailed(w, fallback)
		return
	case ok:
		s.connectPIN(ctx, rctx, w, c, side, call, now)
		return
	}
	if digits == "" {
		// Nothing keyed in (the input timed out): asked again, not
		// counted as a wrong PIN.
		if attempt < s.cfg.PIN.Attempts {
			writeJSON(w, s.pinPromptNCCO(r, s.cfg.PIN.Prompt, attempt+1))
			return
		}
		writeJSON(w, s.spoken(s.cfg.PIN.RefusedText))
		s.recordPIN(rctx, call, EventPINRefused, fmt.Sprintf("no PIN entered in %d attempts; call refused", attempt), now)
		return
	}
	// A wrong PIN: count it for the caller and the number.
	lockedOut, err := s.pinFailed(ctx, from, to, now)
	if err != nil {
		s.log.ErrorContext(ctx, "proxy: input webhook: count a wrong PIN", "err", err)
	}
	switch {
	case lockedOut:
		writeJSON(w, s.spoken(s.cfg.PIN.LockedText))
		s.recordPIN(rctx, call, EventPINLockedOut, fmt.Sprintf("wrong PIN (attempt %d); locked out", attempt), now)
	case attempt < s.cfg.PIN.Attempts:
		writeJSON(w, s.pinPromptNCCO(r, s.cfg.PIN.RetryPrompt, attempt+1))
		s.recordPIN(rctx, call, EventPINRefused, fmt.Sprintf("wrong PIN (attempt %d of %d)", attempt, s.cfg.PIN.Attempts), now)
	default:
		writeJSON(w, s.spoken(s.cfg.PIN.RefusedText))
		s.recordPIN(rctx, call, EventPINRefused, fmt.Sprintf("wrong PIN (attempt %d of %d); call refused", attempt, s.cfg.PIN.Attempts), now)
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
// participant, shown the shared number, unless Config.Hooks.Intercept refuses,
// and records the call with its PIN event.
func (s *Service) connectPIN(ctx, rctx context.Context, w http.ResponseWriter, c Conversation, side Side, call pinCall, now time.Time) {
	in := Interaction{ID: newID(now), ConversationID: c.ID, Kind: KindCall, ExternalID: call.conv, From: call.from, To: call.to, CreatedAt: now}
	if s.cfg.Hooks.Intercept != nil {
		if err := s.cfg.Hooks.Intercept(ctx, Inbound{Kind: KindCall, Conversation: c, Sender: side}); err != nil {
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
