package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// jsonContentType is shared by every response to avoid an allocation per
// request; net/http does not modify header slices it is handed.
var jsonContentType = []string{"application/json"}

// readBody reads a webhook body up to Config.MaxBodyBytes.
func (s *Service) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
}

// authVoice checks a voice webhook's signature when a secret is set; when
// not, it logs a warning once and accepts.
func (s *Service) authVoice(ctx context.Context, r *http.Request, body []byte) error {
	if s.cfg.SignatureSecret == "" {
		s.warnUnsignedOnce.Do(func() {
			s.log.WarnContext(ctx, "proxy: no SignatureSecret set; voice webhooks are not verified")
		})
		return nil
	}
	return verifyVoiceJWT(ctx, r, body, s.cfg.SignatureSecret, s.cfg.ApplicationID, s.cfg.WebhookTolerance, s.now(), s.store)
}

// unauthorized answers 401 and logs why (at Warn: it may be an attack).
func (s *Service) unauthorized(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
	s.log.WarnContext(ctx, "proxy: webhook rejected", "path", r.URL.Path, "err", err)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

// flexString decodes a JSON string, number or boolean as its text; Vonage
// is not consistent about quoting numbers in webhooks.
type flexString string

// UnmarshalJSON accepts any JSON scalar.
func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	switch t := string(b); {
	case t == "null":
		*f = ""
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		// An object where a scalar was expected (e.g. an endpoint): keep
		// nothing rather than fail the whole event.
		*f = ""
	default:
		*f = flexString(t)
	}
	return nil
}

// callParams are the fields of the answer and event webhooks the Service
// reads.
type callParams struct {
	From             flexString `json:"from"`
	To               flexString `json:"to"`
	UUID             flexString `json:"uuid"`
	ConversationUUID flexString `json:"conversation_uuid"`
	Status           flexString `json:"status"`
	Direction        flexString `json:"direction"`
	Timestamp        flexString `json:"timestamp"`
	Duration         flexString `json:"duration"`
	Price            flexString `json:"price"`
	Detail           flexString `json:"detail"`
	Reason           flexString `json:"reason"`
	RecordingURL     flexString `json:"recording_url"`
}

// readCallParams reads a voice webhook's parameters: the query string for
// GET, the JSON body for POST (a form body is accepted too).
func readCallParams(r *http.Request, body []byte, p *callParams) error {
	if r.Method == http.MethodGet {
		return parseQuery(r.URL.RawQuery, p)
	}
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return parseQuery(string(body), p)
	}
	if len(body) == 0 {
		return errors.New("empty body")
	}
	var q callParams // decoded here so that p need not escape on the GET path
	if err := json.Unmarshal(body, &q); err != nil {
		return fmt.Errorf("decode body: %w", err)
	}
	*p = q
	return nil
}

// parseQuery fills p from a query string without building a url.Values
// map: the answer webhook is the hot path.
func parseQuery(q string, p *callParams) error {
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		var dst *flexString
		switch k {
		case "from":
			dst = &p.From
		case "to":
			dst = &p.To
		case "uuid":
			dst = &p.UUID
		case "conversation_uuid":
			dst = &p.ConversationUUID
		case "status":
			dst = &p.Status
		case "direction":
			dst = &p.Direction
		case "timestamp":
			dst = &p.Timestamp
		case "duration":
			dst = &p.Duration
		case "price":
			dst = &p.Price
		case "detail":
			dst = &p.Detail
		case "reason":
			dst = &p.Reason
		case "recording_url":
			dst = &p.RecordingURL
		default:
			continue
		}
		if strings.ContainsAny(v, "%+") {
			u, err := url.QueryUnescape(v)
			if err != nil {
				return fmt.Errorf("query parameter %s: %w", k, err)
			}
			v = u
		}
		*dst = flexString(v)
	}
	return nil
}

// atoiOr parses a decimal integer, returning def when s is not one.
func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		return n
	}
	return def
}
