package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
	// Validate with placeholder numbers: per call only the numbers change.
	sample := s.answerNCCO("447700900000", "447700900001")
	if err := sample.Validate(); err != nil {
		return fmt.Errorf("proxy: Config gives an invalid answer NCCO: %w", err)
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
			return
		}
	}
	other := c.Participants[1-sender]
	n := s.answerNCCO(other.ProxyNumber, other.Number)
	if err := n.Validate(); err != nil {
		s.log.ErrorContext(ctx, "proxy: answer NCCO invalid", "conversation", c.ID, "err", err)
		writeJSON(w, s.fallbackJSON)
		return
	}
	b, err := json.Marshal(n)
	if err != nil {
		s.log.ErrorContext(ctx, "proxy: encode answer NCCO", "conversation", c.ID, "err", err)
		writeJSON(w, s.fallbackJSON)
		return
	}
	writeJSON(w, b)
	s.log.InfoContext(ctx, "proxy: call connected", "conversation", c.ID, "call", string(p.UUID))
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
	s.log.InfoContext(ctx, "proxy: call to unknown route", "call", call.UUID, "reason", why)
	s.log.DebugContext(ctx, "proxy: unknown route numbers", "from", mask(call.From), "to", call.To)
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
