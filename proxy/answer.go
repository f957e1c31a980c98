package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/voiceproxy/voiceproxy/internal/phone"
	"github.com/voiceproxy/voiceproxy/internal/voice"
	"github.com/voiceproxy/voiceproxy/ncco"
)

// handleAnswer serves the answer and fallback webhooks. It always answers
// 200 with an NCCO (401 only for a bad signature): a connect to the other
// participant when the call routes, else a spoken message.
func (s *Service) handleAnswer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var p voice.Params
	if !s.readVoice(w, r, "answer", &p, s.writeFallback) {
		return
	}

	// Route and decide.
	var err error
	from, okFrom := phone.FromWebhook(string(p.From))
	to, okTo := phone.FromWebhook(string(p.To))
	now := s.now()
	var a admission
	if okFrom && okTo {
		a, err = s.admit(ctx, KindCall, from, to, "", now)
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
	c := a.conv
	if a.refused != "" {
		writeJSON(w, s.fallbackJSON)
		s.recordRefused(ctx, s.callInteraction(c, from, to, &p, now), string(p.UUID), a.refused, now)
		return
	}
	other := c.Participants[a.sender.Other()]
	// The rest of the NCCO was validated by New; check what varies.
	if err := errors.Join(ncco.PhoneEndpoint{Number: other.Number}.Validate(), ncco.PhoneEndpoint{Number: other.ProxyNumber}.Validate()); err != nil {
		s.log.ErrorContext(ctx, "proxy: answer NCCO invalid", "conversation", c.ID, "err", err)
		writeJSON(w, s.fallbackJSON)
		return
	}

	// Answer, then record.
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
	if p.ConversationUUID != "" {
		// A redelivered answer webhook, or an event webhook that came
		// first, finds the interaction there already.
		in := s.callInteraction(c, from, to, &p, now)
		if _, err := s.addInteraction(ctx, in); err != nil {
			s.log.ErrorContext(ctx, "proxy: record call failed", "conversation", c.ID, "err", err)
		}
	}
	s.touch(ctx, c, now)
}

// writeFallback answers 200 with the spoken NCCO for calls not connected.
func (s *Service) writeFallback(w http.ResponseWriter) { writeJSON(w, s.fallbackJSON) }

// unknownCall answers a call that routes nowhere: the OnUnknownCall
// hook's NCCO when it gives a valid one, else the spoken fallback.
func (s *Service) unknownCall(ctx context.Context, w http.ResponseWriter, call Call, why error) {
	// Store errors may quote numbers: the reason goes to Debug only.
	s.log.InfoContext(ctx, "proxy: call to unknown route", "call", call.UUID)
	s.log.DebugContext(ctx, "proxy: unknown route", "from", phone.Mask(call.From), "to", call.To, "reason", why)
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
