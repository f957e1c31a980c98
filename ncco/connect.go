package ncco

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Values of Connect.MachineDetection and AdvancedMachineDetection.Behavior.
const (
	MachineContinue = "continue"
	MachineHangup   = "hangup"
)

// Values of AdvancedMachineDetection.Mode.
const (
	MachineModeDefault    = "default"     // asynchronous, with beep detection
	MachineModeDetect     = "detect"      // synchronous, no beep detection
	MachineModeDetectBeep = "detect_beep" // synchronous, with beep detection
)

// EventTypeSynchronous is the only value of Connect.EventType.
const EventTypeSynchronous = "synchronous"

// Connect connects the call to one endpoint: a phone number, an app user,
// a WebSocket, a SIP URI or a Vonage Business Communications extension.
// It is synchronous: the next action starts when the connected call ends.
type Connect struct {
	// Endpoint holds the one endpoint to connect to. Required; Vonage
	// takes exactly one.
	Endpoint []Endpoint `json:"endpoint"`
	// From is the caller ID shown to a phone endpoint: one of your Vonage
	// numbers, digits only. Leave it empty for app endpoints, or when
	// RandomFromNumber is set.
	From string `json:"from,omitempty"`
	// RandomFromNumber makes Vonage pick a caller ID from your numbers,
	// matching the destination's region where it can. Not with From.
	RandomFromNumber bool `json:"randomFromNumber,omitempty"`
	// Timeout is how long to ring, in seconds. 0 = absent (Vonage's
	// default, 60 s).
	Timeout int `json:"timeout,omitempty"`
	// Limit is the longest the connected call may last, in seconds, up to
	// 7200. 0 = absent (7200).
	Limit int `json:"limit,omitempty"`
	// MachineDetection says what to do when a voicemail or other machine
	// answers: "continue" (and report it) or "hangup".
	MachineDetection string `json:"machineDetection,omitempty"`
	// AdvancedMachineDetection configures Vonage's advanced (paid) machine
	// detection; it takes precedence over MachineDetection.
	AdvancedMachineDetection *AdvancedMachineDetection `json:"advanced_machine_detection,omitempty"`
	// EventType "synchronous" lets EventURL answer with an NCCO that
	// replaces the current one when the connect ends without an answer.
	EventType string `json:"eventType,omitempty"`
	// EventURL receives the connected call's events.
	EventURL []string `json:"eventUrl,omitempty"`
	// EventMethod is "GET" or "POST" (the default).
	EventMethod string `json:"eventMethod,omitempty"`
	// RingbackTone is the http(s) URL of audio played, on repeat, to the
	// caller while the endpoint rings.
	RingbackTone string `json:"ringbackTone,omitempty"`
}

// AdvancedMachineDetection configures advanced machine detection on a
// connect.
type AdvancedMachineDetection struct {
	// Behavior when a machine answers: "continue" or "hangup". Required.
	Behavior string `json:"behavior"`
	// Mode is "default" (asynchronous, with beep detection), "detect" or
	// "detect_beep" (both synchronous). Empty: Vonage's default.
	Mode string `json:"mode,omitempty"`
	// BeepTimeout is how long to wait for a voicemail beep, in seconds,
	// 45–120. 0 = absent (Vonage's default).
	BeepTimeout int `json:"beep_timeout,omitempty"`
}

// Kind returns "connect".
func (Connect) Kind() string { return KindConnect }

// Validate checks that there is exactly one valid endpoint, that from is a
// number (7–15 digits) and not combined with randomFromNumber, the ranges
// (timeout not negative, limit 0–7200, beep_timeout 45–120), the enums
// (machineDetection, advanced_machine_detection, eventType, eventMethod)
// and the URLs.
func (cn Connect) Validate() error { return validateAlone(KindConnect, cn.problems()) }

func (cn Connect) problems() []*ValidationError {
	var c checker
	switch len(cn.Endpoint) {
	case 0:
		c.add("endpoint", "required: one endpoint")
	case 1:
	default:
		c.addf("endpoint", "%d endpoints, Vonage connects to exactly one", len(cn.Endpoint))
	}
	for i, e := range cn.Endpoint {
		prefix := "endpoint[" + strconv.Itoa(i) + "]"
		if isNil(e) {
			c.add(prefix, "endpoint is nil")
			continue
		}
		for _, p := range e.problems() {
			p.Field = joinPath(prefix, p.Field)
			c.ps = append(c.ps, p)
		}
	}
	if cn.From != "" {
		c.number("from", cn.From)
		if cn.RandomFromNumber {
			c.add("from", "must be empty when randomFromNumber is true")
		}
	}
	// NCCO reference, connect: timeout is 3–7200 seconds (0 here: absent,
	// Vonage's 60).
	if cn.Timeout != 0 && (cn.Timeout < 3 || cn.Timeout > 7200) {
		c.addf("timeout", "%d is outside 3–7200", cn.Timeout)
	}
	if cn.Limit < 0 || cn.Limit > 7200 {
		c.addf("limit", "%d is outside 0–7200", cn.Limit)
	}
	c.oneOf("machineDetection", cn.MachineDetection, MachineContinue, MachineHangup)
	if amd := cn.AdvancedMachineDetection; amd != nil {
		if amd.Behavior == "" {
			c.add("advanced_machine_detection.behavior", "required: continue or hangup")
		}
		c.oneOf("advanced_machine_detection.behavior", amd.Behavior, MachineContinue, MachineHangup)
		c.oneOf("advanced_machine_detection.mode", amd.Mode, MachineModeDefault, MachineModeDetect, MachineModeDetectBeep)
		c.intRange("advanced_machine_detection.beep_timeout", amd.BeepTimeout, 45, 120)
	}
	c.oneOf("eventType", cn.EventType, EventTypeSynchronous)
	c.urls("eventUrl", cn.EventURL, false)
	c.method("eventMethod", cn.EventMethod)
	c.httpURL("ringbackTone", cn.RingbackTone)
	return c.ps
}

// MarshalJSON writes the connect with "action":"connect"; each endpoint
// writes its own "type". A nil endpoint is an error.
func (cn Connect) MarshalJSON() ([]byte, error) {
	for i, e := range cn.Endpoint {
		if isNil(e) {
			return nil, &ValidationError{Index: -1, Action: KindConnect, Field: "endpoint[" + strconv.Itoa(i) + "]", Reason: "endpoint is nil"}
		}
	}
	type fields Connect
	return json.Marshal(struct {
		Action string `json:"action"`
		fields
	}{KindConnect, fields(cn)})
}

// UnmarshalJSON decodes a connect, each endpoint by its "type". An unknown
// type is an *UnmarshalError wrapping ErrUnknownEndpoint.
func (cn *Connect) UnmarshalJSON(data []byte) error {
	type fields Connect
	var wire struct {
		fields
		Endpoint []json.RawMessage `json:"endpoint"`
		// The Node SDK writes advancedMachineDetection; the reference
		// documents advanced_machine_detection, which is what is written.
		AMDCamel *AdvancedMachineDetection `json:"advancedMachineDetection"`
	}
	if err := json.Unmarshal(data, &wire); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			// The path names the embedded struct; callers know no "fields".
			te.Field = strings.TrimPrefix(te.Field, "fields.")
		}
		return asUnmarshalError(KindConnect, "", err)
	}
	out := Connect(wire.fields)
	if out.AdvancedMachineDetection == nil {
		out.AdvancedMachineDetection = wire.AMDCamel
	}
	out.Endpoint = nil
	if wire.Endpoint != nil {
		out.Endpoint = make([]Endpoint, 0, len(wire.Endpoint))
	}
	for i, raw := range wire.Endpoint {
		e, err := unmarshalEndpoint(raw)
		if err != nil {
			return asUnmarshalError(KindConnect, "endpoint["+strconv.Itoa(i)+"]", err)
		}
		out.Endpoint = append(out.Endpoint, e)
	}
	*cn = out
	return nil
}

// Endpoint is what a Connect connects to: PhoneEndpoint, AppEndpoint,
// WebSocketEndpoint, SIPEndpoint or VBCEndpoint. The set is closed: only
// this package's types implement Endpoint.
type Endpoint interface {
	// Type is the endpoint's "type" in JSON ("phone").
	Type() string
	// Validate reports what Vonage would not accept in this endpoint.
	Validate() error

	problems() []*ValidationError
}

// Endpoint types, as written in the JSON "type" field.
const (
	TypePhone     = "phone"
	TypeApp       = "app"
	TypeWebSocket = "websocket"
	TypeSIP       = "sip"
	TypeVBC       = "vbc"
)

var endpointDecoders = map[string]func([]byte) (Endpoint, error){
	TypePhone:     decodeEndpoint[PhoneEndpoint],
	TypeApp:       decodeEndpoint[AppEndpoint],
	TypeWebSocket: decodeEndpoint[WebSocketEndpoint],
	TypeSIP:       decodeEndpoint[SIPEndpoint],
	TypeVBC:       decodeEndpoint[VBCEndpoint],
}

func decodeEndpoint[T Endpoint](data []byte) (Endpoint, error) {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return v, nil
}

func unmarshalEndpoint(raw []byte) (Endpoint, error) {
	typ, err := discriminator(raw, "type")
	if err != nil {
		return nil, err
	}
	decode, ok := endpointDecoders[typ]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownEndpoint, typ)
	}
	return decode(raw)
}

// endpointError validates an endpoint on its own.
func endpointError(typ string, ps []*ValidationError) error {
	if len(ps) == 0 {
		return nil
	}
	errs := make([]error, len(ps))
	for i, p := range ps {
		p.Index = -1
		p.Action = KindConnect
		p.Field = joinPath("endpoint("+typ+")", p.Field)
		errs[i] = p
	}
	return errors.Join(errs...)
}

// PhoneEndpoint is a phone number on the telephone network.
type PhoneEndpoint struct {
	// Number is the international number, digits only, no "+"
	// ("447700900123"); see NormalizeNumber. Required.
	Number string `json:"number"`
	// DTMFAnswer is sent as key presses when the call is answered: digits,
	// "*", "#", and "p" for a 500 ms pause.
	DTMFAnswer string `json:"dtmfAnswer,omitempty"`
	// OnAnswer runs an NCCO on the called party before joining the calls.
	OnAnswer *OnAnswer `json:"onAnswer,omitempty"`
	// Shaken is a STIR/SHAKEN Identity header for calls you sign yourself
	// (a Vonage feature available on request).
	Shaken string `json:"shaken,omitempty"`
}

// OnAnswer is the NCCO to run on a phone endpoint when it answers.
type OnAnswer struct {
	// URL serves the NCCO. Required.
	URL string `json:"url"`
	// RingbackTone is the http(s) URL of audio played to the caller
	// meanwhile. Decoding also accepts the older key "ringback".
	RingbackTone string `json:"ringbackTone,omitempty"`
}

// UnmarshalJSON decodes an onAnswer object, accepting "ringback" (which
// Vonage still supports) for "ringbackTone".
func (o *OnAnswer) UnmarshalJSON(data []byte) error {
	var wire struct {
		URL          string `json:"url"`
		RingbackTone string `json:"ringbackTone"`
		Ringback     string `json:"ringback"`
	}
	if err := json.Unmarshal(data, &wire); err != nil {
		return err
	}
	o.URL = wire.URL
	o.RingbackTone = wire.RingbackTone
	if o.RingbackTone == "" {
		o.RingbackTone = wire.Ringback
	}
	return nil
}

// Type returns "phone".
func (PhoneEndpoint) Type() string { return TypePhone }

// Validate checks the number (digits only, 7–15, wrapping
// ErrInvalidNumber), dtmfAnswer and onAnswer's URLs.
func (p PhoneEndpoint) Validate() error { return endpointError(TypePhone, p.problems()) }

func (p PhoneEndpoint) problems() []*ValidationError {
	var c checker
	c.number("number", p.Number)
	for _, r := range p.DTMFAnswer {
		if !(r >= '0' && r <= '9' || r == '*' || r == '#' || r == 'p') {
			c.addf("dtmfAnswer", "%q: only 0–9, *, # and p are allowed", short(p.DTMFAnswer))
			break
		}
	}
	if o := p.OnAnswer; o != nil {
		if o.URL == "" {
			c.add("onAnswer.url", "required: must not be empty")
		}
		c.httpURL("onAnswer.url", o.URL)
		c.httpURL("onAnswer.ringbackTone", o.RingbackTone)
	}
	return c.ps
}

// MarshalJSON writes the endpoint with "type":"phone".
func (p PhoneEndpoint) MarshalJSON() ([]byte, error) {
	type fields PhoneEndpoint
	return json.Marshal(struct {
		Type string `json:"type"`
		fields
	}{TypePhone, fields(p)})
}

// AppEndpoint is a user of a Vonage Client SDK app.
type AppEndpoint struct {
	// User is the user's name in the application. Required.
	User string `json:"user"`
}

// Type returns "app".
func (AppEndpoint) Type() string { return TypeApp }

// Validate checks that the user is set.
func (a AppEndpoint) Validate() error { return endpointError(TypeApp, a.problems()) }

func (a AppEndpoint) problems() []*ValidationError {
	var c checker
	if a.User == "" {
		c.add("user", "required: must not be empty")
	}
	return c.ps
}

// MarshalJSON writes the endpoint with "type":"app".
func (a AppEndpoint) MarshalJSON() ([]byte, error) {
	type fields AppEndpoint
	return json.Marshal(struct {
		Type string `json:"type"`
		fields
	}{TypeApp, fields(a)})
}

// Values of WebSocketEndpoint.ContentType: 16-bit linear PCM at 8, 16 or
// 24 kHz (24 kHz is the newest; the 2021 schema predates it).
const (
	ContentType8kHz  = "audio/l16;rate=8000"
	ContentType16kHz = "audio/l16;rate=16000"
	ContentType24kHz = "audio/l16;rate=24000"
)

// WebSocketEndpoint streams the call's audio to and from a WebSocket
// server.
type WebSocketEndpoint struct {
	// URI of the server, ws:// or wss://. Required.
	URI string `json:"uri"`
	// ContentType is the audio format, e.g. "audio/l16;rate=16000". The
	// reference writes the key "content-type", as this package does; the
	// Node SDK's "contentType" is read too.
	ContentType string `json:"content-type,omitempty"`
	// Headers are sent to the server as JSON in the first message; values
	// may be any JSON.
	Headers map[string]any `json:"headers,omitempty"`
	// Authorization sets the Authorization header of the WebSocket
	// handshake: Vonage's own JWT (type "vonage") or a value of yours
	// ("custom").
	Authorization *WebSocketAuthorization `json:"authorization,omitempty"`
}

// WebSocketAuthorization is a websocket endpoint's authorization.
type WebSocketAuthorization struct {
	// Type is AuthorizationVonage (the JWT Vonage signs webhooks with, as
	// "Bearer <JWT>") or AuthorizationCustom (Value, sent as is).
	Type string `json:"type"`
	// Value is the header's value, for AuthorizationCustom only.
	Value string `json:"value,omitempty"`
}

// Values of WebSocketAuthorization.Type.
const (
	AuthorizationVonage = "vonage"
	AuthorizationCustom = "custom"
)

// UnmarshalJSON reads the endpoint, taking "contentType" (the Node SDK's
// spelling) when "content-type" is absent.
func (w *WebSocketEndpoint) UnmarshalJSON(data []byte) error {
	type fields WebSocketEndpoint
	var wire struct {
		fields
		ContentTypeCamel string `json:"contentType"`
	}
	if err := json.Unmarshal(data, &wire); err != nil {
		return err
	}
	*w = WebSocketEndpoint(wire.fields)
	if w.ContentType == "" {
		w.ContentType = wire.ContentTypeCamel
	}
	return nil
}

// Type returns "websocket".
func (WebSocketEndpoint) Type() string { return TypeWebSocket }

// Validate checks the URI (ws:// or wss://), content-type and
// authorization.
func (w WebSocketEndpoint) Validate() error { return endpointError(TypeWebSocket, w.problems()) }

func (w WebSocketEndpoint) problems() []*ValidationError {
	var c checker
	if !hasScheme(w.URI, "ws", "wss") {
		c.addf("uri", "%q is not a ws:// or wss:// URI", short(w.URI))
	}
	c.oneOf("content-type", w.ContentType, ContentType8kHz, ContentType16kHz, ContentType24kHz)
	if a := w.Authorization; a != nil {
		switch a.Type {
		case AuthorizationVonage:
			if a.Value != "" {
				c.add("authorization.value", "only with type custom")
			}
		case AuthorizationCustom:
			if a.Value == "" {
				c.add("authorization.value", "required with type custom")
			}
		default:
			c.addf("authorization.type", "%q, want vonage or custom", short(a.Type))
		}
	}
	return c.ps
}

// MarshalJSON writes the endpoint with "type":"websocket".
func (w WebSocketEndpoint) MarshalJSON() ([]byte, error) {
	type fields WebSocketEndpoint
	return json.Marshal(struct {
		Type string `json:"type"`
		fields
	}{TypeWebSocket, fields(w)})
}

// SIPEndpoint is a SIP URI, or a user at one of the account's SIP trunk
// domains.
type SIPEndpoint struct {
	// URI is the SIP URI, sip: or sips:. Required unless Domain is set.
	URI string `json:"uri,omitempty"`
	// Domain is the name of a SIP domain configured on the account (the
	// trunk form), and User the user to call there. Either URI or Domain,
	// not both.
	Domain string `json:"domain,omitempty"`
	User   string `json:"user,omitempty"`
	// Headers are sent as X- headers on the SIP INVITE.
	Headers map[string]string `json:"headers,omitempty"`
	// StandardHeaders are standard SIP headers to set on the INVITE.
	StandardHeaders *SIPStandardHeaders `json:"standardHeaders,omitempty"`
}

// SIPStandardHeaders are the standard SIP headers a SIP endpoint may set.
type SIPStandardHeaders struct {
	// UserToUser is the User-to-User header (RFC 7433).
	UserToUser string `json:"User-to-User,omitempty"`
}

// Type returns "sip".
func (SIPEndpoint) Type() string { return TypeSIP }

// Validate checks the URI (sip: or sips:) or domain, and the header
// names.
func (s SIPEndpoint) Validate() error { return endpointError(TypeSIP, s.problems()) }

func (s SIPEndpoint) problems() []*ValidationError {
	var c checker
	switch {
	case s.Domain != "" && s.URI != "":
		c.add("uri", "either uri or domain, not both")
	case s.Domain != "":
	case !isSIPURI(s.URI):
		c.addf("uri", "%q is not a sip: or sips: URI", short(s.URI))
	}
	if s.User != "" && s.Domain == "" {
		c.add("user", "only with domain")
	}
	for k := range s.Headers {
		if k == "" {
			c.add("headers", "empty header name")
			break
		}
	}
	return c.ps
}

// isSIPURI reports whether s is "sip:" or "sips:" (any case) followed by
// something.
func isSIPURI(s string) bool {
	for _, p := range []string{"sip:", "sips:"} {
		if len(s) > len(p) && strings.EqualFold(s[:len(p)], p) {
			return true
		}
	}
	return false
}

// MarshalJSON writes the endpoint with "type":"sip".
func (s SIPEndpoint) MarshalJSON() ([]byte, error) {
	type fields SIPEndpoint
	return json.Marshal(struct {
		Type string `json:"type"`
		fields
	}{TypeSIP, fields(s)})
}

// VBCEndpoint is an extension of Vonage Business Communications.
type VBCEndpoint struct {
	// Extension is the VBC extension. Required.
	Extension string `json:"extension"`
}

// Type returns "vbc".
func (VBCEndpoint) Type() string { return TypeVBC }

// Validate checks that the extension is set.
func (v VBCEndpoint) Validate() error { return endpointError(TypeVBC, v.problems()) }

func (v VBCEndpoint) problems() []*ValidationError {
	var c checker
	if v.Extension == "" {
		c.add("extension", "required: must not be empty")
	}
	return c.ps
}

// MarshalJSON writes the endpoint with "type":"vbc".
func (v VBCEndpoint) MarshalJSON() ([]byte, error) {
	type fields VBCEndpoint
	return json.Marshal(struct {
		Type string `json:"type"`
		fields
	}{TypeVBC, fields(v)})
}
