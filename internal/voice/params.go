package voice

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Value decodes a JSON string, number or boolean as its text; Vonage is
// not consistent about quoting numbers in webhooks.
type Value string

// UnmarshalJSON accepts any JSON scalar.
func (v *Value) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = Value(s)
		return nil
	}
	switch t := string(b); {
	case t == "null":
		*v = ""
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		// An object where a scalar was expected (e.g. an endpoint): keep
		// nothing rather than fail the whole event.
		*v = ""
	default:
		*v = Value(t)
	}
	return nil
}

// Int parses v as a decimal integer, or returns def when it is not one.
func (v Value) Int(def int) int {
	if n, err := strconv.Atoi(strings.TrimSpace(string(v))); err == nil {
		return n
	}
	return def
}

// Params are the fields of the answer, fallback and event webhooks that
// the proxy reads (Vonage Voice API reference, "Webhooks": answer_url and
// event_url).
type Params struct {
	From             Value `json:"from"`
	To               Value `json:"to"`
	UUID             Value `json:"uuid"`
	ConversationUUID Value `json:"conversation_uuid"`
	Status           Value `json:"status"`
	Direction        Value `json:"direction"`
	Timestamp        Value `json:"timestamp"`
	Duration         Value `json:"duration"`
	Price            Value `json:"price"`
	Detail           Value `json:"detail"`
	Reason           Value `json:"reason"`
	RecordingURL     Value `json:"recording_url"`
	// RegionURL is where the Voice API takes requests about this call
	// (answer webhook, "region_url": e.g. "https://api-us-3.vonage.com").
	RegionURL Value `json:"region_url"`
	// Fields of a completed leg (Voice API reference, event webhook
	// "completed").
	Rate           Value `json:"rate"`
	Network        Value `json:"network"`
	StartTime      Value `json:"start_time"`
	EndTime        Value `json:"end_time"`
	DisconnectedBy Value `json:"disconnected_by"`
	// OriginalRequest is set on a request to the fallback URL: which
	// webhook failed. Reason then says why.
	OriginalRequest OriginalRequest `json:"original_request"`
	// DTMF is an input event's keys, as sent: {digits, timed_out}, or
	// the older input action's digits as a string. A fallback request
	// standing in for an input event carries it too (the fallback
	// request has "all the same data as the original request": Vonage,
	// "Build High Availability Voice API Applications"). In a query,
	// dtmf.digits, dtmf[digits] or dtmf are read into a JSON string.
	DTMF json.RawMessage `json:"dtmf"`
}

// OriginalRequest describes the webhook a fallback request stands in for
// (Voice API reference, "Fallback URL"): its URL and its type, "answer"
// or "event".
type OriginalRequest struct {
	URL  Value `json:"url"`
	Type Value `json:"type"`
}

// IsEvent reports whether a fallback request stands in for an event
// webhook (an event whose NCCO Vonage was waiting for, or a status event
// that could not be delivered) rather than the answer webhook of a new
// call.
func (o OriginalRequest) IsEvent() bool {
	return strings.EqualFold(strings.TrimSpace(string(o.Type)), "event")
}

// ReadParams reads a voice webhook's parameters into p: the query string
// for GET, the JSON body for POST (a form body is accepted too). body is
// the request body, already read.
func ReadParams(r *http.Request, body []byte, p *Params) error {
	if r.Method == http.MethodGet {
		return parseQuery(r.URL.RawQuery, p)
	}
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return parseQuery(string(body), p)
	}
	if len(body) == 0 {
		return errors.New("empty body")
	}
	var q Params // decoded here so that p need not escape on the GET path
	if err := json.Unmarshal(body, &q); err != nil {
		return fmt.Errorf("decode body: %w", err)
	}
	*p = q
	return nil
}

// parseQuery fills p from a query string without building a url.Values
// map: the answer webhook is the hot path.
func parseQuery(q string, p *Params) error {
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		// A name is unescaped as its value is: the GET payload_hash is
		// checked against the query decoded so (queryJSON), and a
		// handler that read "%66rom" as other than from would take a
		// from the hash never covered.
		if strings.ContainsAny(k, "%+") {
			u, err := url.QueryUnescape(k)
			if err != nil {
				return fmt.Errorf("query parameter name %q: %w", truncate(k), err)
			}
			k = u
		}
		var dst *Value
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
		case "region_url":
			dst = &p.RegionURL
		case "rate":
			dst = &p.Rate
		case "network":
			dst = &p.Network
		case "start_time":
			dst = &p.StartTime
		case "end_time":
			dst = &p.EndTime
		case "disconnected_by":
			dst = &p.DisconnectedBy
		case "original_request.url", "original_request[url]":
			dst = &p.OriginalRequest.URL
		case "original_request.type", "original_request[type]":
			dst = &p.OriginalRequest.Type
		case "dtmf", "dtmf.digits", "dtmf[digits]":
			u, err := url.QueryUnescape(v)
			if err != nil {
				return fmt.Errorf("query parameter %s: %w", k, err)
			}
			p.DTMF, _ = json.Marshal(u)
			continue
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
		*dst = Value(v)
	}
	return nil
}
