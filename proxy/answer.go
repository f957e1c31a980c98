package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/voiceproxy/voiceproxy/ncco"
)

const defaultUnknownRouteText = "Sorry, the number you have called is not in service."

// prepareNCCO builds and validates, once, the parts of answer NCCOs that
// come from Config, so a bad Config fails New rather than calls.
func (s *Service) prepareNCCO() error {
	cfg := &s.cfg
	if cfg.UnknownRouteText == "" {
		cfg.UnknownRouteText = defaultUnknownRouteText
	}
	if cfg.Record {
		s.answerPrefix = append(s.answerPrefix, ncco.Record{
			EventURL: []string{cfg.RecordingEventURL},
		})
	}
	if cfg.Greeting != "" {
		s.answerPrefix = append(s.answerPrefix, ncco.Talk{Text: cfg.Greeting, Language: cfg.Language})
	}
	s.connectOpts = ncco.Connect{
		Timeout:      int(cfg.ConnectTimeout / time.Second),
		Limit:        int(cfg.CallTimeLimit / time.Second),
		RingbackTone: cfg.RingbackURL,
	}
	// Validate with placeholder numbers: per call only the numbers change,
	// and they are validated on each call.
	sample := s.answerNCCO("447700900000", "447700900001")
	if err := sample.Validate(); err != nil {
		return fmt.Errorf("proxy: Config gives an invalid answer NCCO: %w", err)
	}
	tmpl, err := json.Marshal(s.answerNCCO(fromMarker, toMarker))
	if err != nil {
		return fmt.Errorf("proxy: encode answer NCCO: %w", err)
	}
	if err := s.splitTemplate(tmpl); err != nil {
		return err
	}
	fallback := ncco.NCCO{ncco.Talk{Text: cfg.UnknownRouteText, Language: cfg.Language}}
	if err := fallback.Validate(); err != nil {
		return fmt.Errorf("proxy: Config.UnknownRouteText: %w", err)
	}
	b, err := json.Marshal(fallback)
	if err != nil {
		return fmt.Errorf("proxy: encode fallback NCCO: %w", err)
	}
	s.fallbackJSON = b
	return nil
}

// Markers put in the answer NCCO template where the numbers go. Should a
// Config text contain one, splitTemplate finds it twice and New fails.
const (
	fromMarker = "\u0001FROM\u0001"
	toMarker   = "\u0001TO\u0001"
)

// answerTemplate is the encoded answer NCCO cut around the two numbers:
// parts[0] + to + parts[1] + from + parts[2], or with from first, per
// toFirst. Encoding it by appending avoids reflection on the hot path.
type answerTemplate struct {
	parts   [3][]byte
	toFirst bool
}

// splitTemplate fills s.tmpl from the template encoding.
func (s *Service) splitTemplate(b []byte) error {
	// encoding/json escapes the control characters in the markers.
	fm, tm := []byte(`\u0001FROM\u0001`), []byte(`\u0001TO\u0001`)
	fi, ti := bytes.Index(b, fm), bytes.Index(b, tm)
	if fi < 0 || ti < 0 || bytes.Count(b, fm) != 1 || bytes.Count(b, tm) != 1 {
		return errors.New("proxy: cannot build the answer NCCO template")
	}
	first, firstLen, second, secondLen := fi, len(fm), ti, len(tm)
	s.tmpl.toFirst = ti < fi
	if s.tmpl.toFirst {
		first, firstLen, second, secondLen = ti, len(tm), fi, len(fm)
	}
	s.tmpl.parts = [3][]byte{b[:first], b[first+firstLen : second], b[second+secondLen:]}
	return nil
}

// appendAnswer appends the answer NCCO connecting to number with caller
// ID from: the same bytes as json.Marshal(s.answerNCCO(from, number)).
// Both must be valid (digits-only) numbers, so need no escaping.
func (s *Service) appendAnswer(dst []byte, from, number string) []byte {
	a, b := number, from
	if !s.tmpl.toFirst {
		a, b = from, number
	}
	dst = append(dst, s.tmpl.parts[0]...)
	dst = append(dst, a...)
	dst = append(dst, s.tmpl.parts[1]...)
	dst = append(dst, b...)
	return append(dst, s.tmpl.parts[2]...)
}

// answerNCCO is the NCCO that connects a caller: record and greeting when
// configured, then a connect to number showing from as the caller ID.
func (s *Service) answerNCCO(from, number string) ncco.NCCO {
	n := make(ncco.NCCO, 0, len(s.answerPrefix)+1)
	n = append(n, s.answerPrefix...)
	c := s.connectOpts
	c.From = from
	c.Endpoint = []ncco.Endpoint{ncco.PhoneEndpoint{Number: number}}
	return append(n, c)
}

// answerBufs recycles answer encoding buffers.
var answerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeJSON answers 200 with a JSON body.
func writeJSON(w http.ResponseWriter, b []byte) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// handleAnswer serves the answer and fallback webhooks. It always answers
// 200 with an NCCO (401 only for a bad signature): a connect to the other
// participant when the call routes, else a spoken message.
func (s *Service) handleAnswer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := s.readBody(w, r)
	if err != nil {
		s.log.WarnContext(ctx, "proxy: answer webhook body unreadable", "err", err)
		writeJSON(w, s.fallbackJSON)
		return
	}
	if err := s.authVoice(ctx, r, body); err != nil {
		s.unauthorized(ctx, w, r, err)
		return
	}
	var p callParams
	if err := readCallParams(r, body, &p); err != nil {
		s.log.WarnContext(ctx, "proxy: answer webhook malformed", "err", err)
		writeJSON(w, s.fallbackJSON)
		return
	}
	from, okFrom := webhookNumber(string(p.From))
	to, okTo := webhookNumber(string(p.To))
	now := s.now()
	var c Conversation
	if okFrom && okTo {
		c, err = s.store.Route(ctx, from, to, now)
	} else {
		err = fmt.Errorf("%w: caller or dialed number missing or not digits", ErrNotFound)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			s.unknownCall(ctx, w, Call{From: from, To: to, UUID: string(p.UUID), ConversationUUID: string(p.ConversationUUID)}, err)
			return
		}
		s.log.ErrorContext(ctx, "proxy: route lookup failed", "err", err, "call", string(p.UUID))
		writeJSON(w, s.fallbackJSON)
		return
	}
	if c.Mode == ModeSMS {
		s.log.InfoContext(ctx, "proxy: call refused: conversation is SMS only", "conversation", c.ID)
		writeJSON(w, s.fallbackJSON)
		s.recordBlockedCall(ctx, c, from, to, &p, "conversation is SMS only", now)
		return
	}
	sender := 0
	if c.Participants[1].Number == from && c.Participants[1].ProxyNumber == to {
		sender = 1
	}
	if s.cfg.Intercept != nil {
		if err := s.cfg.Intercept(ctx, Inbound{Kind: KindCall, Conversation: c, Sender: sender}); err != nil {
			s.log.InfoContext(ctx, "proxy: call blocked by Intercept", "conversation", c.ID, "reason", err)
			writeJSON(w, s.fallbackJSON)
			s.recordBlockedCall(ctx, c, from, to, &p, "Intercept: "+err.Error(), now)
			return
		}
	}
	other := c.Participants[1-sender]
	// The rest of the NCCO was validated by New; check what varies.
	if err := errors.Join(ncco.PhoneEndpoint{Number: other.Number}.Validate(), ncco.PhoneEndpoint{Number: other.ProxyNumber}.Validate()); err != nil {
		s.log.ErrorContext(ctx, "proxy: answer NCCO invalid", "conversation", c.ID, "err", err)
		writeJSON(w, s.fallbackJSON)
		return
	}
	bp := answerBufs.Get().(*[]byte)
	*bp = s.appendAnswer((*bp)[:0], other.ProxyNumber, other.Number)
	writeJSON(w, *bp)
	answerBufs.Put(bp)
	// Let Vonage have the NCCO while the call is recorded.
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if s.log.Enabled(ctx, slog.LevelInfo) { // spare the hot path the boxing
		s.log.InfoContext(ctx, "proxy: call connected", "conversation", c.ID, "call", string(p.UUID))
	}
	s.recordCall(ctx, c, from, to, string(p.ConversationUUID), now)
}

// recordCall stores the interaction for a connected call (a redelivered
// answer webhook, or an event webhook that came first, finds it there)
// and extends an idle deadline.
func (s *Service) recordCall(ctx context.Context, c Conversation, from, to, externalID string, now time.Time) {
	if externalID != "" {
		in := Interaction{
			ID:             newID(now),
			ConversationID: c.ID,
			Kind:           KindCall,
			ExternalID:     externalID,
			From:           from,
			To:             to,
			CreatedAt:      now,
		}
		switch err := s.store.AddInteraction(ctx, in); {
		case err == nil:
			s.interactionChanged(ctx, in)
		case errors.Is(err, ErrConflict):
		default:
			s.log.ErrorContext(ctx, "proxy: record call failed", "conversation", c.ID, "err", err)
		}
	}
	s.touch(ctx, c, now)
}

// recordBlockedCall records a call that routed to a conversation but was
// refused (SMS-only conversation, Intercept veto) as an interaction with a
// "blocked" event, so the audit trail shows the attempt, and the call's
// own event webhooks, which would otherwise create an ordinary call
// interaction from the route, add to it instead.
func (s *Service) recordBlockedCall(ctx context.Context, c Conversation, from, to string, p *callParams, reason string, now time.Time) {
	ext := string(p.ConversationUUID)
	if ext == "" {
		return
	}
	in := Interaction{ID: newID(now), ConversationID: c.ID, Kind: KindCall, ExternalID: ext, From: from, To: to, CreatedAt: now}
	err := s.store.AddInteraction(ctx, in)
	if errors.Is(err, ErrConflict) { // a redelivered answer webhook
		in, err = s.store.InteractionByExternalID(ctx, KindCall, ext)
	}
	if err == nil {
		err = s.store.AddInteractionEvent(ctx, in.ID, InteractionEvent{Leg: string(p.UUID), Status: EventBlocked, At: now, Detail: reason})
	}
	if err != nil {
		s.log.ErrorContext(ctx, "proxy: record blocked call failed", "conversation", c.ID, "err", err)
		return
	}
	s.interactionChanged(ctx, in)
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
	if s.cfg.OnInteraction != nil {
		s.cfg.OnInteraction(ctx, in)
	}
}

// unknownCall answers a call that routes nowhere: the OnUnknownCall
// hook's NCCO when it gives a valid one, else the spoken fallback.
func (s *Service) unknownCall(ctx context.Context, w http.ResponseWriter, call Call, why error) {
	// Store errors may quote numbers: the reason goes to Debug only.
	s.log.InfoContext(ctx, "proxy: call to unknown route", "call", call.UUID)
	s.log.DebugContext(ctx, "proxy: unknown route", "from", mask(call.From), "to", call.To, "reason", why)
	if s.cfg.OnUnknownCall == nil {
		writeJSON(w, s.fallbackJSON)
		return
	}
	n, err := s.cfg.OnUnknownCall(ctx, call)
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
