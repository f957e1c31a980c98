package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/voice"
)

// This file holds what the webhook handlers share: the routes, reading
// and authenticating a request, and writing the answer. Each handler
// (answer.go, event.go, inboundsms.go) reads top to bottom: parse →
// authenticate → route → decide (admit.go) → answer → record (record.go).

// routes registers the webhook handlers.
func (s *Service) routes() {
	for _, m := range [...]string{http.MethodGet, http.MethodPost} {
		s.mux.HandleFunc(m+" /answer", s.handleAnswer)
		s.mux.HandleFunc(m+" /fallback", s.handleAnswer)
		s.mux.HandleFunc(m+" /event", s.handleEvent)
		s.mux.HandleFunc(m+" /inbound-sms", s.handleInboundSMS)
	}
}

// jsonContentType is shared by every response to avoid an allocation per
// request; net/http does not modify header slices it is handed.
var jsonContentType = []string{"application/json"}

// writeJSON answers 200 with a JSON body.
func writeJSON(w http.ResponseWriter, b []byte) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// readBody reads a webhook body up to Config.MaxBodyBytes.
func (s *Service) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
}

// readVoice reads, authenticates and parses a voice webhook (kind names it
// in logs) into p. When it returns false it has answered: 401 for a bad
// signature, else what answerBad writes.
func (s *Service) readVoice(w http.ResponseWriter, r *http.Request, kind string, p *voice.Params, answerBad func(http.ResponseWriter)) bool {
	ctx := r.Context()
	body, err := s.readBody(w, r)
	if err != nil {
		s.log.WarnContext(ctx, "proxy: "+kind+" webhook body unreadable", "err", err)
		answerBad(w)
		return false
	}
	if err := s.authVoice(ctx, r, body); err != nil {
		s.unauthorized(ctx, w, r, err)
		return false
	}
	if err := voice.ReadParams(r, body, p); err != nil {
		s.log.WarnContext(ctx, "proxy: "+kind+" webhook malformed", "err", err)
		answerBad(w)
		return false
	}
	return true
}

// authVoice checks a voice webhook's signature when a secret is set; when
// not, it logs a warning once and accepts.
func (s *Service) authVoice(ctx context.Context, r *http.Request, body []byte) error {
	if s.voiceVerifier == nil {
		s.warnUnsignedOnce.Do(func() {
			s.log.WarnContext(ctx, "proxy: no SignatureSecret set; voice webhooks are not verified")
		})
		return nil
	}
	return s.voiceVerifier.Verify(ctx, r, body, s.now())
}

// unauthorized answers 401 and logs why (at Warn: it may be an attack).
func (s *Service) unauthorized(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
	s.log.WarnContext(ctx, "proxy: webhook rejected", "path", r.URL.Path, "err", err)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

// replayGuard claims signed webhooks' jti in the Store, so a replay is
// refused by every instance sharing it.
type replayGuard struct{ store Store }

var _ voice.ReplayGuard = replayGuard{}

// Claim claims key with Store.ClaimNonce; its ErrConflict means a replay.
func (g replayGuard) Claim(ctx context.Context, key string, now, expires time.Time) (bool, error) {
	switch err := g.store.ClaimNonce(ctx, key, now, expires); {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrConflict):
		return false, nil
	default:
		return false, err
	}
}
