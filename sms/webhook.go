package sms

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
)

// DefaultMaxBodyBytes bounds a webhook body when ReadParams is given a
// maxBytes of zero or less. Vonage's SMS webhooks are a few hundred bytes.
const DefaultMaxBodyBytes = 64 << 10

// Webhook request errors, matched with errors.Is. A handler would typically
// answer them with 405, 415, 413 and 400 respectively.
var (
	// ErrMethodNotAllowed: the webhook request is neither GET nor POST.
	ErrMethodNotAllowed = errors.New("sms: webhook method not allowed")
	// ErrUnsupportedMediaType: a POST body is neither form-encoded nor JSON.
	ErrUnsupportedMediaType = errors.New("sms: unsupported webhook content type")
	// ErrBodyTooLarge: the body is longer than the limit given to ReadParams.
	ErrBodyTooLarge = errors.New("sms: webhook body too large")
	// ErrMalformedBody: the body could not be decoded.
	ErrMalformedBody = errors.New("sms: malformed webhook body")
)

// Webhook parameter errors, matched with errors.Is; the *ParamError that
// wraps them names the parameter.
var (
	// ErrMissingParam: a required parameter is absent or empty.
	ErrMissingParam = errors.New("missing parameter")
	// ErrInvalidParam: a parameter does not parse as its type.
	ErrInvalidParam = errors.New("invalid parameter")
)

// ParamError reports a webhook parameter that is missing or malformed. It
// unwraps to ErrMissingParam or ErrInvalidParam.
type ParamError struct {
	Param  string // the parameter's name as Vonage sends it, e.g. "concat-part"
	Value  string // the offending value, shortened; "" when missing
	Reason string // why the value was rejected; "" when missing
	Err    error  // ErrMissingParam or ErrInvalidParam
}

// Error implements error.
func (e *ParamError) Error() string {
	if errors.Is(e.Err, ErrMissingParam) {
		return fmt.Sprintf("sms: missing parameter %q", e.Param)
	}
	return fmt.Sprintf("sms: invalid parameter %q = %q: %s", e.Param, truncate(e.Value), e.Reason)
}

// Unwrap returns ErrMissingParam or ErrInvalidParam.
func (e *ParamError) Unwrap() error { return e.Err }

// ReadParams returns the parameters of a Vonage SMS webhook request: the
// query string of a GET, or the body of a POST sent as
// application/x-www-form-urlencoded or application/json. JSON bodies must be
// one object; its values become strings as Vonage's form encoding would
// write them (strings as is, numbers in their JSON spelling, booleans as
// "true"/"false"), null values are left out, and nested objects or arrays
// are rejected. At most maxBytes of body are read (DefaultMaxBodyBytes when
// maxBytes <= 0); a longer body yields ErrBodyTooLarge.
//
// Errors match ErrMethodNotAllowed, ErrUnsupportedMediaType, ErrBodyTooLarge
// or ErrMalformedBody.
func ReadParams(r *http.Request, maxBytes int64) (url.Values, error) {
	switch r.Method {
	case http.MethodGet:
		return r.URL.Query(), nil
	case http.MethodPost:
	default:
		return nil, fmt.Errorf("%w: %s", ErrMethodNotAllowed, r.Method)
	}
	ct := r.Header.Get("Content-Type")
	mediaType, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedMediaType, truncate(ct))
	}
	if mediaType != "application/x-www-form-urlencoded" && mediaType != "application/json" {
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedMediaType, mediaType)
	}
	body, err := readBody(r.Body, maxBytes)
	if err != nil {
		return nil, err
	}
	if mediaType == "application/json" {
		return jsonParams(body)
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedBody, err)
	}
	return v, nil
}

// readBody reads at most maxBytes of body; one more byte means too large.
func readBody(body io.Reader, maxBytes int64) ([]byte, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBodyBytes
	}
	if body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(body, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading body: %v", ErrMalformedBody, err)
	}
	if int64(len(b)) > maxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, maxBytes)
	}
	return b, nil
}

// jsonParams flattens one JSON object into string parameters.
func jsonParams(body []byte) (url.Values, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedBody, err)
	}
	if obj == nil {
		return nil, fmt.Errorf("%w: JSON body is not an object", ErrMalformedBody)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrMalformedBody)
	}
	v := make(url.Values, len(obj))
	for k, val := range obj {
		switch x := val.(type) {
		case string:
			v.Set(k, x)
		case json.Number:
			v.Set(k, x.String())
		case bool:
			v.Set(k, strconv.FormatBool(x))
		case nil:
			// Absent, as in the form encoding.
		default:
			return nil, fmt.Errorf("%w: field %q holds a nested %T", ErrMalformedBody, truncate(k), val)
		}
	}
	return v, nil
}

// Inbound is an SMS received on one of the account's virtual numbers, as
// Vonage's inbound-SMS webhook reports it.
type Inbound struct {
	MSISDN           string // sender, digits as Vonage sends them (or an alphanumeric sender ID)
	To               string // the virtual number it was sent to, digits
	MessageID        string // "messageId"
	Text             string // body; empty for binary messages
	Type             string // "text", "unicode" or "binary"
	Keyword          string // first word of the text, upper-cased by Vonage
	MessageTimestamp string // "message-timestamp", "2006-01-02 15:04:05" UTC
	Timestamp        int64  // "timestamp", Unix seconds; 0 when absent (unsigned webhooks)
	Nonce            string // random string of signed webhooks
	Concat           bool   // this is one part of a concatenated message
	ConcatRef        string // reference shared by all parts when Concat
	ConcatTotal      int    // number of parts when Concat
	ConcatPart       int    // this part's number, from 1, when Concat
	APIKey           string // "api-key" of the receiving account, when sent
	Data             string // hex payload of a binary message
	UDH              string // hex user data header of a binary message
}

// ParseInbound reads an inbound-SMS webhook's parameters (from ReadParams).
// msisdn, to, messageId, type and message-timestamp must be present, and
// text too unless type is "binary"; timestamp must be an integer when
// present; when concat is true, concat-ref, concat-total and concat-part
// must be present with 1 <= concat-part <= concat-total. Errors are
// *ParamError. Parsing does not check the signature: see Verifier.
func ParseInbound(v url.Values) (*Inbound, error) {
	p := params{v: v}
	in := &Inbound{
		MSISDN:           p.required("msisdn"),
		To:               p.required("to"),
		MessageID:        p.required("messageId"),
		Type:             p.required("type"),
		MessageTimestamp: p.required("message-timestamp"),
		Text:             v.Get("text"),
		Keyword:          v.Get("keyword"),
		Nonce:            v.Get("nonce"),
		APIKey:           v.Get("api-key"),
		Data:             v.Get("data"),
		UDH:              v.Get("udh"),
	}
	if p.err == nil && in.Type != "binary" && !v.Has("text") {
		p.err = &ParamError{Param: "text", Err: ErrMissingParam}
	}
	in.Timestamp = p.optionalInt64("timestamp")
	in.Concat = p.optionalBool("concat")
	if in.Concat {
		in.ConcatRef = p.required("concat-ref")
		in.ConcatTotal = p.requiredInt("concat-total", 1)
		in.ConcatPart = p.requiredInt("concat-part", 1)
		// A concatenated SMS has at most 255 parts: its UDH counts them
		// in one octet (3GPP TS 23.040, 9.2.3.24.1).
		if p.err == nil && in.ConcatTotal > maxConcatParts {
			p.err = &ParamError{Param: "concat-total", Value: v.Get("concat-total"),
				Reason: "more than " + strconv.Itoa(maxConcatParts) + " parts", Err: ErrInvalidParam}
		}
		if p.err == nil && in.ConcatPart > in.ConcatTotal {
			p.err = &ParamError{Param: "concat-part", Value: v.Get("concat-part"),
				Reason: "greater than concat-total " + strconv.Itoa(in.ConcatTotal), Err: ErrInvalidParam}
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	return in, nil
}

// maxConcatParts is the most parts a concatenated SMS can have.
const maxConcatParts = 255

// Delivery receipt statuses Vonage documents for DeliveryReceipt.Status.
const (
	DeliveryDelivered = "delivered"
	DeliveryExpired   = "expired"
	DeliveryFailed    = "failed"
	DeliveryRejected  = "rejected"
	DeliveryAccepted  = "accepted"
	DeliveryBuffered  = "buffered"
	DeliveryUnknown   = "unknown"
)

// DeliveryReceipt is a delivery receipt (DLR) for a sent message, as
// Vonage's delivery-receipt webhook reports it.
type DeliveryReceipt struct {
	MSISDN           string // the recipient of the sent message
	To               string // the sender ID ("from") the message was sent with
	NetworkCode      string // "network-code", the recipient's MCCMNC
	MessageID        string // "messageId", as returned by Send
	Price            string // decimal price as Vonage writes it
	Status           string // one of the Delivery* constants
	SCTS             string // carrier time, YYMMDDHHMM
	ErrCode          int    // "err-code"; 0 means no error
	APIKey           string // "api-key" of the sending account
	MessageTimestamp string // "message-timestamp", "2006-01-02 15:04:05" UTC
	ClientRef        string // "client-ref" given to Send, if any
	Timestamp        int64  // "timestamp", Unix seconds; 0 when absent (unsigned webhooks)
	Nonce            string // random string of signed webhooks
}

// ParseDeliveryReceipt reads a delivery-receipt webhook's parameters (from
// ReadParams). msisdn, to, messageId and status must be present; err-code
// and timestamp must be integers when present. Errors are *ParamError.
// Parsing does not check the signature: see Verifier.
func ParseDeliveryReceipt(v url.Values) (*DeliveryReceipt, error) {
	p := params{v: v}
	dr := &DeliveryReceipt{
		MSISDN:           p.required("msisdn"),
		To:               p.required("to"),
		MessageID:        p.required("messageId"),
		Status:           p.required("status"),
		NetworkCode:      v.Get("network-code"),
		Price:            v.Get("price"),
		SCTS:             v.Get("scts"),
		APIKey:           v.Get("api-key"),
		MessageTimestamp: v.Get("message-timestamp"),
		ClientRef:        v.Get("client-ref"),
		Nonce:            v.Get("nonce"),
	}
	dr.ErrCode = int(p.optionalInt64("err-code"))
	dr.Timestamp = p.optionalInt64("timestamp")
	if p.err != nil {
		return nil, p.err
	}
	return dr, nil
}

// params reads webhook parameters, keeping the first error.
type params struct {
	v   url.Values
	err error
}

func (p *params) required(key string) string {
	s := p.v.Get(key)
	if s == "" && p.err == nil {
		p.err = &ParamError{Param: key, Err: ErrMissingParam}
	}
	return s
}

func (p *params) invalid(key, val, reason string) {
	if p.err == nil {
		p.err = &ParamError{Param: key, Value: val, Reason: reason, Err: ErrInvalidParam}
	}
}

func (p *params) optionalInt64(key string) int64 {
	s := p.v.Get(key)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.invalid(key, s, "not an integer")
		return 0
	}
	return n
}

func (p *params) requiredInt(key string, min int) int {
	s := p.required(key)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		p.invalid(key, s, "not an integer")
		return 0
	}
	if n < min {
		p.invalid(key, s, "less than "+strconv.Itoa(min))
		return 0
	}
	return n
}

func (p *params) optionalBool(key string) bool {
	s := p.v.Get(key)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		p.invalid(key, s, "not a boolean")
		return false
	}
	return b
}
