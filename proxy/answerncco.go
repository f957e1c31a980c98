package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/voiceproxy/voiceproxy/ncco"
)

// This file builds the NCCOs the answer webhook returns. The connect NCCO
// is encoded once, at New, into a template cut around the two numbers, so
// that answering a call appends bytes instead of encoding JSON.

const defaultUnknownRouteText = "Sorry, the number you have called is not in service."

// prepareNCCO builds and validates, once, the parts of answer NCCOs that
// come from Config, so a bad Config fails New rather than calls. There
// are two answer templates: for conversations that record their calls
// and for those that do not.
func (s *Service) prepareNCCO() error {
	cfg := &s.cfg
	if cfg.Calls.Greeting != "" {
		s.answerPrefix[0] = append(s.answerPrefix[0], ncco.Talk{Text: cfg.Calls.Greeting, Language: cfg.Calls.Language})
	}
	// The record action comes first, so the whole call is recorded
	// (Vonage support, "How do I record a certain part of the call"),
	// then the notice. Without RecordingEventURL the recording event
	// goes to the application's event URL (NCCO reference, record:
	// eventUrl), which the event webhook records.
	rec := ncco.Record{}
	if cfg.Calls.RecordingEventURL != "" {
		rec.EventURL = []string{cfg.Calls.RecordingEventURL}
	}
	s.answerPrefix[1] = append(s.answerPrefix[1], rec)
	if cfg.Calls.RecordingNotice != "" {
		s.answerPrefix[1] = append(s.answerPrefix[1], ncco.Talk{Text: cfg.Calls.RecordingNotice, Language: cfg.Calls.Language})
	}
	s.answerPrefix[1] = append(s.answerPrefix[1], s.answerPrefix[0]...)
	s.connectOpts = ncco.Connect{
		Timeout:      int(cfg.Calls.ConnectTimeout / time.Second),
		Limit:        int(cfg.Calls.TimeLimit / time.Second),
		RingbackTone: cfg.Calls.RingbackURL,
	}
	for i, record := range [...]bool{false, true} {
		// Validate with placeholder numbers: per call only the numbers
		// change, and they are validated on each call.
		sample := s.answerNCCO(record, "447700900000", "447700900001")
		if err := sample.Validate(); err != nil {
			return fmt.Errorf("proxy: Config gives an invalid answer NCCO: %w", err)
		}
		tmpl, err := json.Marshal(s.answerNCCO(record, fromMarker, toMarker))
		if err != nil {
			return fmt.Errorf("proxy: encode answer NCCO: %w", err)
		}
		if s.tmpl[i], err = splitTemplate(tmpl); err != nil {
			return err
		}
	}
	fallback := ncco.NCCO{ncco.Talk{Text: cfg.Calls.UnknownRouteText, Language: cfg.Calls.Language}}
	if err := fallback.Validate(); err != nil {
		return fmt.Errorf("proxy: Config.Calls.UnknownRouteText: %w", err)
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

// splitTemplate cuts the template encoding b around its markers.
func splitTemplate(b []byte) (answerTemplate, error) {
	// encoding/json escapes the control characters in the markers.
	fm, tm := []byte(`\u0001FROM\u0001`), []byte(`\u0001TO\u0001`)
	fi, ti := bytes.Index(b, fm), bytes.Index(b, tm)
	if fi < 0 || ti < 0 || bytes.Count(b, fm) != 1 || bytes.Count(b, tm) != 1 {
		return answerTemplate{}, errors.New("proxy: cannot build the answer NCCO template")
	}
	var t answerTemplate
	first, firstLen, second, secondLen := fi, len(fm), ti, len(tm)
	t.toFirst = ti < fi
	if t.toFirst {
		first, firstLen, second, secondLen = ti, len(tm), fi, len(fm)
	}
	t.parts = [3][]byte{b[:first], b[first+firstLen : second], b[second+secondLen:]}
	return t, nil
}

// appendAnswer appends the answer NCCO connecting to number with caller
// ID from: the same bytes as json.Marshal(s.answerNCCO(record, from,
// number)). Both must be valid (digits-only) numbers, so need no
// escaping.
func (s *Service) appendAnswer(dst []byte, record bool, from, number string) []byte {
	t := &s.tmpl[0]
	if record {
		t = &s.tmpl[1]
	}
	a, b := number, from
	if !t.toFirst {
		a, b = from, number
	}
	dst = append(dst, t.parts[0]...)
	dst = append(dst, a...)
	dst = append(dst, t.parts[1]...)
	dst = append(dst, b...)
	return append(dst, t.parts[2]...)
}

// answerNCCO is the NCCO that connects a caller: when record, the record
// action and Config.Calls.RecordingNotice; the greeting when configured; then a
// connect to number showing from as the caller ID.
func (s *Service) answerNCCO(record bool, from, number string) ncco.NCCO {
	prefix := s.answerPrefix[0]
	if record {
		prefix = s.answerPrefix[1]
	}
	return s.connectNCCO(prefix, from, number)
}

// connectNCCO is prefix, then a connect to number with caller ID from and
// the Config's timeout, limit and ringback.
func (s *Service) connectNCCO(prefix []ncco.Action, from, number string) ncco.NCCO {
	n := make(ncco.NCCO, 0, len(prefix)+1)
	n = append(n, prefix...)
	c := s.connectOpts
	c.From = from
	c.Endpoint = []ncco.Endpoint{ncco.PhoneEndpoint{Number: number}}
	return append(n, c)
}

// writeConnect answers 200 with the NCCO connecting the caller to other,
// shown other's proxy number, recording the call when record.
func (s *Service) writeConnect(w http.ResponseWriter, record bool, other Participant) {
	bp := answerBufs.Get().(*[]byte)
	*bp = s.appendAnswer((*bp)[:0], record, other.ProxyNumber, other.Number)
	writeJSON(w, *bp)
	answerBufs.Put(bp)
}

// answerBufs recycles answer encoding buffers.
var answerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}
