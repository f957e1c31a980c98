package proxytest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/voice"
	"github.com/voiceproxy/voiceproxy/ncco"
	"github.com/voiceproxy/voiceproxy/sms"
)

// Webhook methods a Simulator can use.
const (
	MethodGET  = "GET"  // parameters in the query string
	MethodPOST = "POST" // voice: JSON body; SMS: form body
	MethodJSON = "JSON" // SMS only: POST with a JSON body
)

// Default simulated call lengths.
const (
	DefaultCallDuration = 42 * time.Second // a connected call, once answered
	ringTime            = 4 * time.Second
)

// Default webhook timeouts. The voice ones are the Application API's
// defaults for a voice application's webhooks (Nexmo/api-specification
// definitions/application.v2.yml, capabilities.voice.webhooks):
// DefaultSocketTimeout is the answer and fallback answer URLs'
// socket_timeout (default 5000 ms, 1000–5000) and
// DefaultEventSocketTimeout the event URL's (default 10000 ms,
// 1000–10000); each one's connection_timeout is 1000 ms by default
// (300–1000), which the simulator, connecting in-process or to BaseURL,
// counts within the socket timeout. DefaultSMSTimeout is about how long
// Vonage waits for an inbound-SMS webhook before it counts a delivery as
// failed.
const (
	DefaultSocketTimeout      = 5 * time.Second
	DefaultEventSocketTimeout = 10 * time.Second
	DefaultSMSTimeout         = 15 * time.Second
)

// DefaultRelayWait is how long SendSMS waits, over a BaseURL, for the
// relay a service sends after answering the inbound-SMS webhook
// (Simulator.RelayWait).
const DefaultRelayWait = 2 * time.Second

// ErrCallDropped is matched by the error PlaceCall returns when neither
// the answer URL (tried twice when it failed in a way worth retrying) nor
// the fallback URL gave an NCCO: Vonage drops such a call.
var ErrCallDropped = errors.New("proxytest: call dropped: no NCCO from the answer or fallback URL")

// ErrWebhook is matched by errors.Is for every *WebhookError.
var ErrWebhook = errors.New("proxytest: webhook refused")

// WebhookError reports a webhook that did not answer 2xx.
type WebhookError struct {
	Path   string // the path requested, e.g. "/answer"
	Status int    // the HTTP status it answered
	Body   string // the start of the answer's body
}

// Error says which webhook answered what.
func (e *WebhookError) Error() string {
	return fmt.Sprintf("proxytest: webhook %s answered %d: %s", e.Path, e.Status, e.Body)
}

// Unwrap makes errors.Is(err, ErrWebhook) true.
func (e *WebhookError) Unwrap() error { return ErrWebhook }

// Simulator plays Vonage's side of phone calls and inbound SMS against a
// service's webhook handler: it requests the answer URL as Vonage does,
// runs the NCCO it gets (as far as a test can tell what happened) and
// sends the event webhooks a real call produces; for SMS it sends the
// inbound-SMS webhook, split into parts as a phone network would deliver
// it. Set either Handler (in process) or BaseURL. The zero value of every
// other field selects its default. Safe for concurrent use once set up.
type Simulator struct {
	// Handler receives the webhooks in process. Takes precedence over
	// BaseURL.
	Handler http.Handler
	// BaseURL is where the webhook paths are mounted, e.g.
	// "http://127.0.0.1:8080/vonage".
	BaseURL string
	// Client sends requests to BaseURL; default http.DefaultClient.
	Client *http.Client

	// AnswerPath, FallbackPath, EventPath and InboundSMSPath are the
	// webhook paths relative to the handler or BaseURL. Defaults
	// "/answer", "/fallback", "/event", "/inbound-sms".
	AnswerPath, FallbackPath, EventPath, InboundSMSPath string
	// NoFallback plays an application with no fallback answer URL: a call
	// whose answer URL fails is dropped.
	NoFallback bool
	// EventRetries2021 plays the event webhook rules of Vonage's 2021
	// webhook reference: a status event that fails is tried once more at
	// the event URL and then given up, never sent to the fallback URL
	// (only events that expect an NCCO go there). Default false: today's
	// reference, where any event webhook that fails goes to the fallback
	// URL.
	EventRetries2021 bool
	// SocketTimeout is how long a voice webhook may take to answer before
	// it counts as failed. Default DefaultSocketTimeout for the answer and
	// fallback URLs, DefaultEventSocketTimeout for event webhooks.
	SocketTimeout time.Duration
	// SMSTimeout is how long an inbound-SMS webhook may take. Default
	// DefaultSMSTimeout.
	SMSTimeout time.Duration
	// SMSAttempts is how many times an inbound-SMS part is delivered
	// before the simulator gives up (Vonage keeps trying for 24 hours).
	// Default 3.
	SMSAttempts int
	// SMSRetryWait is waited before each redelivery of an SMS part.
	// Default 0.
	SMSRetryWait time.Duration
	// CalleeOutcome is what the called participant's phone does when a
	// call is connected: "" (answers), or one of the outbound leg's
	// failure statuses Vonage reports: "busy", "unanswered", "rejected",
	// "failed", "timeout" or "cancelled".
	CalleeOutcome string
	// AnswerMethod is how the answer webhook is requested: MethodGET (the
	// default, Vonage's) or MethodPOST (JSON body). Event webhooks are
	// always POSTed as JSON, Vonage's default.
	AnswerMethod string
	// SMSMethod is how inbound SMS are delivered: MethodPOST (form, the
	// default), MethodGET or MethodJSON.
	SMSMethod string
	// SMSAPI is the account's SMS setting: SMSAPISMS (the default: the
	// SMS API's inbound-SMS webhook, one per part) or SMSAPIMessages (the
	// Messages API's inbound message webhook, to InboundMessagePath,
	// default "/inbound-message": one JSON webhook per message, signed
	// with a JWT, retried only after a 429 or a 5xx).
	SMSAPI string
	// InboundMessagePath is the Messages API's inbound path.
	InboundMessagePath string
	// MessagesRetrySameToken makes a retried Messages API inbound
	// webhook carry the same signed token (the same jti) as the first
	// delivery, instead of a fresh one: no Vonage source says which
	// Vonage does, so a Service must take both. Default false.
	MessagesRetrySameToken bool
	// MessagesUnsignedFirst sends each Messages API inbound webhook's
	// first delivery without an Authorization header, as Vonage may
	// after an internal error, and its retries (after a 429 or a 5xx)
	// signed (Messages API, "Signed webhooks": a 5xx answer to an
	// unsigned callback triggers a retry). Default false.
	MessagesUnsignedFirst bool

	// SignatureSecret signs voice webhooks with an HS256 JWT as Vonage
	// does (see proxy.WebhookSigner) and inbound SMS with a "sig"
	// parameter. Default SignatureSecret, the package's constant: give
	// the Service under test the same (proxy.Config.Webhooks.SignatureSecret).
	SignatureSecret string
	// Unsigned sends webhooks without any signature, as a forger would:
	// for tests that the Service refuses them. Default false.
	Unsigned bool
	// SigMethod is the SMS signature algorithm; default sms.MD5Hash.
	SigMethod sms.SigMethod
	// ApplicationID goes in the JWT's application_id claim; default
	// ApplicationID.
	ApplicationID string
	// APIKey goes in the inbound SMS's api-key; default APIKey.
	APIKey string

	// Vonage, when set, is the simulated REST API the service sends
	// through: SendSMS then reports what it relayed.
	Vonage *Vonage
	// RelayWait bounds how long SendSMS waits, over BaseURL, for what
	// the service sends once it has answered the webhook (the proxy
	// answers Vonage first and relays right after): until an SMS from
	// the number texted reaches Vonage's outbox, or RelayWait passes
	// (SMSOutcome.RelayPending then says so). Default DefaultRelayWait;
	// negative: no wait. With Handler there is nothing to wait for: the
	// answer comes once the handler has returned, relay sent.
	RelayWait time.Duration
	// Now is the clock for timestamps and signatures; default time.Now.
	Now func() time.Time
	// CallDuration is how long a connected call lasts; default
	// DefaultCallDuration.
	CallDuration time.Duration
	// RegionURL is the region_url sent with answer webhooks, where the
	// Voice API takes requests about the call. Default DefaultRegionURL.
	RegionURL string
	// Modify, when set, is called on every webhook request just before it
	// is sent, after signing: tests use it to tamper with requests.
	Modify func(*http.Request)
}

// CallEvent is one event webhook the simulator sent.
type CallEvent struct {
	Leg        string            `json:"leg"`    // "caller" or "callee"
	Params     map[string]string `json:"params"` // the fields sent
	HTTPStatus int               `json:"http_status"`
	// Fallback reports that the event URL failed and the event was sent
	// to the fallback URL instead (HTTPStatus is then the fallback's).
	Fallback bool `json:"fallback,omitempty"`
}

// Attempt is one request for an NCCO: to the answer URL or, after it
// failed, the fallback URL.
type Attempt struct {
	Path   string `json:"path"`
	Status int    `json:"status,omitempty"` // 0 when no answer came
	Err    string `json:"err,omitempty"`    // why no answer came (timeout, connection error)
}

// CallOutcome is what happened to a simulated call.
type CallOutcome struct {
	UUID             string `json:"uuid"`              // the caller's leg
	ConversationUUID string `json:"conversation_uuid"` // the call
	// HTTPStatus is the status of the request whose NCCO the call ran, or
	// of the last attempt when the call was dropped.
	HTTPStatus int `json:"http_status"`
	// Attempts lists the requests made for an NCCO, in order.
	Attempts []Attempt `json:"attempts"`
	// Fallback reports that the NCCO came from the fallback URL.
	Fallback bool `json:"fallback,omitempty"`
	// NCCO is the answer, decoded; Raw is it as received.
	NCCO ncco.NCCO       `json:"-"`
	Raw  json.RawMessage `json:"ncco,omitempty"`
	// Talk holds the texts read to the caller, in order.
	Talk []string `json:"talk,omitempty"`
	// Connected is the phone number the call was connected to; "" when it
	// was not connected.
	Connected string `json:"connected,omitempty"`
	// CallerID is the number the callee saw calling (the connect's from).
	CallerID string `json:"caller_id,omitempty"`
	// Recorded reports a record action in the NCCO; RecordingURL is the
	// recording_url of the recording event sent once the call completed.
	Recorded     bool   `json:"recorded"`
	RecordingURL string `json:"recording_url,omitempty"`
	// CalleeUUID is the connected leg's uuid.
	CalleeUUID string `json:"callee_uuid,omitempty"`
	// CalleeStatus is how the connected leg ended: "completed", or the
	// Simulator's CalleeOutcome.
	CalleeStatus string `json:"callee_status,omitempty"`
	// Duration is the call's length in seconds once answered.
	Duration int `json:"duration"`
	// Events lists the event webhooks sent, in order.
	Events []CallEvent `json:"events"`
	// Inputs lists the input actions the call met (PlaceCallWith).
	Inputs []InputOutcome `json:"inputs,omitempty"`
}

// SMSOutcome is what happened to a simulated inbound SMS.
type SMSOutcome struct {
	// MessageIDs are the inbound parts' messageId values.
	MessageIDs []string `json:"message_ids"`
	// HTTPStatus is the webhook's last status for each part.
	HTTPStatus []int `json:"http_status"`
	// Deliveries counts the webhook requests made, redeliveries included.
	Deliveries int `json:"deliveries"`
	// Relayed lists what the service sent through Vonage while the
	// webhooks were handled, and over BaseURL until the first SMS from
	// the number texted (see Simulator.RelayWait); needs
	// Simulator.Vonage. With other SMS sent at the same time, they may
	// show up here too.
	Relayed []SentSMS `json:"relayed"`
	// RelayPending reports, over BaseURL, that no SMS from the number
	// texted reached Vonage within Simulator.RelayWait: the relay may
	// still come (see Vonage.Outbox), or the service sends none (an SMS
	// it refused silently, a failed send it retries later).
	RelayPending bool `json:"relay_pending,omitempty"`
}

// collectRelayed fills out.Relayed with what Vonage's outbox gained
// past its first before entries. Over BaseURL the service relays after
// its answer, so it first waits, up to RelayWait, for an SMS from the
// number texted (the relay to the other participant, or an auto-reply
// to the sender: both come from there).
func (s *Simulator) collectRelayed(ctx context.Context, out *SMSOutcome, before int, to string) {
	if s.Vonage == nil {
		return
	}
	to = digits(to)
	from := func(sent []SentSMS) bool {
		return slices.ContainsFunc(sent, func(m SentSMS) bool { return digits(m.From) == to })
	}
	sent := s.Vonage.Outbox()
	if s.Handler == nil && s.RelayWait >= 0 && !from(sent[min(before, len(sent)):]) {
		wait := s.RelayWait
		if wait == 0 {
			wait = DefaultRelayWait
		}
		deadline := time.NewTimer(wait)
		defer deadline.Stop()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
	wait:
		for {
			select {
			case <-ctx.Done():
				out.RelayPending = true
				break wait
			case <-deadline.C:
				out.RelayPending = true
				break wait
			case <-tick.C:
			}
			if sent = s.Vonage.Outbox(); from(sent[min(before, len(sent)):]) {
				break wait
			}
		}
	}
	if len(sent) > before {
		out.Relayed = sent[before:]
	}
}

func (s *Simulator) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// send makes one webhook request and returns its status and body. A
// request not answered within timeout fails with an error saying so
// (ctx's own end is returned as ctx.Err()).
func (s *Simulator) send(ctx context.Context, method, path string, query url.Values, body []byte, contentType string, signJWT bool, timeout time.Duration) (int, []byte, error) {
	return s.sendAuth(ctx, method, path, query, body, contentType, signJWT, "", timeout)
}

// noAuth, as sendAuth's auth, sends a request without an Authorization
// header.
const noAuth = "-"

// sendAuth is send with auth as the Authorization header: "" for a
// fresh signature when signJWT, noAuth for none.
func (s *Simulator) sendAuth(ctx context.Context, method, path string, query url.Values, body []byte, contentType string, signJWT bool, auth string, timeout time.Duration) (int, []byte, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, base := s.Client, strings.TrimSuffix(s.BaseURL, "/")
	if s.Handler != nil {
		client, base = HandlerClient(s.Handler), InProcessURL
	}
	if client == nil {
		client = http.DefaultClient
	}
	if base == "" {
		return 0, nil, errors.New("proxytest: Simulator needs a Handler or a BaseURL")
	}
	u := base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "Vonage-Simulator/1.0 (voiceproxy proxytest)")
	switch {
	case auth == noAuth:
	case auth != "":
		req.Header.Set("Authorization", auth)
	case signJWT && !s.Unsigned:
		if err := s.signer().Sign(req, body); err != nil {
			return 0, nil, err
		}
	}
	if s.Modify != nil {
		s.Modify(req)
	}
	resp, err := client.Do(req)
	if err != nil {
		if parent.Err() != nil {
			return 0, nil, parent.Err()
		}
		if ctx.Err() != nil {
			return 0, nil, fmt.Errorf("read timed out after %v", timeout)
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, b, nil
}

func webhookErr(path string, status int, body []byte) error {
	b := string(body)
	if len(b) > 200 {
		b = b[:200]
	}
	return &WebhookError{Path: path, Status: status, Body: strings.TrimSpace(b)}
}

// retryable reports whether Vonage retries a voice webhook that answered
// status (0: no answer, a timeout or a broken connection): the Voice API
// webhook reference retries the answer URL once on a connect or socket
// timeout, a closed or reset connection, and HTTP 429, 503 and 504, and
// on nothing else.
func retryable(status int) bool {
	return status == 0 || status == http.StatusTooManyRequests ||
		status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// requestNCCO gets the NCCO of a new call as Vonage does: it requests the
// answer URL, and once more when that failed in a retryable way; when the
// answer URL gave no NCCO, it requests the fallback URL (unless
// NoFallback) with the same parameters plus reason and original_request,
// twice at most (the second time only after a retryable failure). Every
// request is recorded in out.Attempts.
func (s *Simulator) requestNCCO(ctx context.Context, out *CallOutcome, params map[string]string) ([]byte, error) {
	answerPath := orDefault(s.AnswerPath, "/answer")
	var last error
	try := func(path string, p map[string]any) ([]byte, bool, error) {
		status, body, err := s.voiceRequest(ctx, path, p, s.AnswerMethod)
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		a := Attempt{Path: path, Status: status}
		if err != nil {
			a.Err = err.Error()
			last = err
		} else if status < 200 || status > 299 {
			last = webhookErr(path, status, body)
		}
		out.Attempts = append(out.Attempts, a)
		out.HTTPStatus = status
		return body, err == nil && status >= 200 && status <= 299, nil
	}
	p := make(map[string]any, len(params)+2)
	for k, v := range params {
		p[k] = v
	}
	for i := range 2 {
		body, ok, err := try(answerPath, p)
		if err != nil || ok {
			return body, err
		}
		if i == 0 && !retryable(out.HTTPStatus) {
			break
		}
	}
	if s.NoFallback {
		return nil, fmt.Errorf("%w: %w", ErrCallDropped, last)
	}
	reason := "HTTP " + strconv.Itoa(out.HTTPStatus)
	if a := out.Attempts[len(out.Attempts)-1]; a.Err != "" {
		reason = a.Err
	}
	p["reason"] = reason
	p["original_request"] = map[string]string{"url": answerPath, "type": "answer"}
	fallbackPath := orDefault(s.FallbackPath, "/fallback")
	for i := range 2 {
		body, ok, err := try(fallbackPath, p)
		if err != nil {
			return nil, err
		}
		if ok {
			out.Fallback = true
			return body, nil
		}
		if i == 0 && !retryable(out.HTTPStatus) {
			break
		}
	}
	return nil, fmt.Errorf("%w: %w", ErrCallDropped, last)
}

// voiceRequest sends one voice webhook with params: GET with a query
// string, or with method MethodPOST a JSON body. Nested values (a
// fallback's original_request) go in the query as "key.field".
func (s *Simulator) voiceRequest(ctx context.Context, path string, params map[string]any, method string) (int, []byte, error) {
	if method == MethodPOST {
		b, _ := json.Marshal(params)
		return s.send(ctx, http.MethodPost, path, nil, b, "application/json", true, s.socketTimeout())
	}
	q := url.Values{}
	for k, v := range params {
		switch v := v.(type) {
		case string:
			q.Set(k, v)
		case map[string]string:
			for f, fv := range v {
				q.Set(k+"."+f, fv)
			}
		}
	}
	return s.send(ctx, http.MethodGet, path, q, nil, "", true, s.socketTimeout())
}

func (s *Simulator) socketTimeout() time.Duration {
	if s.SocketTimeout > 0 {
		return s.SocketTimeout
	}
	return DefaultSocketTimeout
}

func (s *Simulator) eventTimeout() time.Duration {
	if s.SocketTimeout > 0 {
		return s.SocketTimeout
	}
	return DefaultEventSocketTimeout
}

// PlaceCall simulates a call from the phone number from to the number to
// (a proxy number): it requests an NCCO as Vonage does (see requestNCCO:
// the answer URL, retried once, then the fallback URL), decodes and
// validates it, and sends the events of the call that NCCO makes: started,
// ringing and answered for the caller's leg; for a connect to a phone
// number, started, ringing and answered for the callee's leg too, then
// completed for both with duration, rate and price; for an NCCO without a
// connect, completed once the talk is read. Simulated calls are billed
// at 0.006 EUR a minute, per second: price = rate × duration / 60.
//
// The error wraps ErrCallDropped and a *WebhookError when no URL gave an
// NCCO, is a *WebhookError when an event webhook (and the fallback URL
// standing in for it) did not answer 2xx, or wraps ncco.ErrInvalid (or a decoding error) when the NCCO
// is not one Vonage would run. The outcome is returned in every case
// where a request was answered, so tests can look at what was answered.
func (s *Simulator) PlaceCall(ctx context.Context, from, to string) (*CallOutcome, error) {
	return s.PlaceCallWith(ctx, from, to, CallOptions{})
}

// CallOptions are what the caller does during a simulated call.
type CallOptions struct {
	// Digits are the keys pressed at each input action the call meets, in
	// order ("1234#"); "" lets that input time out, as does an input
	// met once Digits has run out.
	Digits []string
	// Hold keeps a connected call in progress once both legs have
	// answered, instead of completing it after CallDuration: it ends
	// when the Voice API is asked to hang it up (PUT /v1/calls/{uuid})
	// or Vonage.EndCall plays a participant hanging up. It needs
	// Simulator.Vonage, which then holds it (Vonage.Calls). A call that
	// does not connect, or whose callee does not answer (CalleeOutcome),
	// is not held.
	Hold bool
}

// maxNCCOs bounds how many NCCOs one simulated call runs (an input's
// answer replaces the NCCO; a service could loop).
const maxNCCOs = 10

// PlaceCallWith is PlaceCall with the caller pressing keys (opts.Digits).
// An input action with "dtmf" in its type collects the next entry of
// Digits and sends the input event Vonage sends (Voice API; the fields
// as the .NET SDK's MultiInput and DtmfResult models name them: uuid,
// conversation_uuid, from, to, timestamp, and dtmf {digits, timed_out})
// to the input's eventUrl, POSTed as JSON, to its path and query on the
// Handler (or on BaseURL's host). The NCCO that answers replaces the rest
// of the call's NCCO, as on Vonage. Each input is in CallOutcome.Inputs.
func (s *Simulator) PlaceCallWith(ctx context.Context, from, to string, opts CallOptions) (*CallOutcome, error) {
	from, to = strings.TrimPrefix(from, "+"), strings.TrimPrefix(to, "+")
	out := &CallOutcome{UUID: newUUID(), ConversationUUID: "CON-" + newUUID()}
	region := orDefault(s.RegionURL, DefaultRegionURL)
	params := map[string]string{"from": from, "to": to, "uuid": out.UUID, "conversation_uuid": out.ConversationUUID, "region_url": region}
	body, err := s.requestNCCO(ctx, out, params)
	if err != nil {
		return out, err
	}
	var connectQuery string
	var recordTo *url.URL // the record action's eventUrl
	talkSeconds := 0
	digits := opts.Digits
	for range maxNCCOs {
		out.Raw = json.RawMessage(bytes.TrimSpace(body))
		n, err := ncco.Unmarshal(body)
		if err != nil {
			return out, fmt.Errorf("proxytest: answer is not an NCCO: %w", err)
		}
		out.NCCO = n
		if err := n.Validate(); err != nil {
			return out, fmt.Errorf("proxytest: answer NCCO would be rejected: %w", err)
		}
		var input *ncco.Input
	actions:
		for _, a := range n {
			switch a := a.(type) {
			case ncco.Talk:
				out.Talk = append(out.Talk, a.Text)
				talkSeconds += 1 + len(a.Text)/15 // about 15 characters a second
			case *ncco.Talk:
				out.Talk = append(out.Talk, a.Text)
				talkSeconds += 1 + len(a.Text)/15
			case ncco.Record:
				out.Recorded = true
				if len(a.EventURL) > 0 {
					recordTo, _ = url.Parse(a.EventURL[0])
				}
			case *ncco.Record:
				out.Recorded = true
				if len(a.EventURL) > 0 {
					recordTo, _ = url.Parse(a.EventURL[0])
				}
			case ncco.Connect:
				s.connect(out, a, &connectQuery)
			case *ncco.Connect:
				s.connect(out, *a, &connectQuery)
			case ncco.Input:
				input = &a
			case *ncco.Input:
				input = a
			}
			if out.Connected != "" || (input != nil && slices.Contains(input.Type, "dtmf")) {
				break actions // a connect runs until the call ends; an input waits for keys
			}
			input = nil
		}
		if input == nil {
			if opts.Hold && out.Connected != "" && (s.CalleeOutcome == "" || s.CalleeOutcome == "completed") {
				return out, s.holdCall(ctx, out, from, to, region, connectQuery)
			}
			if err := s.callEvents(ctx, out, from, to, talkSeconds, connectQuery); err != nil || !out.Recorded {
				return out, err
			}
			return out, s.recordingEvent(ctx, out, recordTo)
		}
		pressed := ""
		if len(digits) > 0 {
			pressed, digits = digits[0], digits[1:]
		}
		talkSeconds += 1 + len(pressed)
		if body, err = s.sendInput(ctx, out, *input, from, to, pressed); err != nil {
			return out, err
		}
	}
	return out, fmt.Errorf("proxytest: the call ran %d NCCOs without ending", maxNCCOs)
}

// holdCall sends the events of a call whose legs both answer (started,
// ringing and answered, the caller's then the callee's) and hands it to
// s.Vonage, which holds it until it is hung up.
func (s *Simulator) holdCall(ctx context.Context, out *CallOutcome, from, to, region, calleeQuery string) error {
	if s.Vonage == nil {
		return errors.New("proxytest: CallOptions.Hold needs Simulator.Vonage")
	}
	out.CalleeUUID, out.CalleeStatus = newUUID(), "answered"
	now := s.now()
	leg := func(who, uuid, from, to, dir, status string) CallEvent {
		return CallEvent{Leg: who, Params: map[string]string{
			"from": from, "to": to, "uuid": uuid, "conversation_uuid": out.ConversationUUID,
			"status": status, "direction": dir, "timestamp": stamp(now),
		}}
	}
	var events []CallEvent
	for _, st := range []string{"started", "ringing", "answered"} {
		events = append(events, leg("caller", out.UUID, from, to, "inbound", st))
	}
	for _, st := range []string{"started", "ringing", "answered"} {
		events = append(events, leg("callee", out.CalleeUUID, out.CallerID, out.Connected, "outbound", st))
	}
	for i := range events {
		q := url.Values(nil)
		if events[i].Leg == "callee" && calleeQuery != "" {
			q, _ = url.ParseQuery(calleeQuery)
		}
		if err := s.deliverEvent(ctx, s, orDefault(s.EventPath, "/event"), q, &events[i]); err != nil {
			out.Events = events[:i+1]
			return err
		}
	}
	out.Events = events
	return s.Vonage.hold(s, out, from, to, region, calleeQuery)
}

// recordingEvent sends the recording event of a completed recorded call
// (Voice API webhook reference, "Record": start_time, end_time,
// recording_url, size, recording_uuid, conversation_uuid, timestamp) to
// the record action's eventUrl, else the event URL. With s.Vonage set,
// the recording can be downloaded from it (GET /v1/files/{id}).
func (s *Simulator) recordingEvent(ctx context.Context, out *CallOutcome, to *url.URL) error {
	id := newUUID()
	audio := fakeAudio(out.Duration)
	if s.Vonage != nil {
		s.Vonage.mu.Lock()
		s.Vonage.files[id] = audio
		s.Vonage.mu.Unlock()
	}
	now := s.now()
	ev := CallEvent{Leg: "recording", Params: map[string]string{
		"start_time": stamp(now.Add(-time.Duration(out.Duration) * time.Second)), "end_time": stamp(now),
		"recording_url": RecordingHost + "/v1/files/" + id, "size": strconv.Itoa(len(audio)),
		"recording_uuid": newUUID(), "conversation_uuid": out.ConversationUUID, "timestamp": stamp(now),
	}}
	out.RecordingURL = ev.Params["recording_url"]
	target, path := s, orDefault(s.EventPath, "/event")
	var q url.Values
	if to != nil {
		var err error
		if target, err = s.at(to); err != nil {
			return err
		}
		path, q = to.Path, to.Query()
	}
	err := s.deliverEvent(ctx, target, path, q, &ev)
	out.Events = append(out.Events, ev)
	return err
}

// InputOutcome is one input action a simulated call met.
type InputOutcome struct {
	Digits     string `json:"digits"`
	TimedOut   bool   `json:"timed_out"`
	Path       string `json:"path"`        // of the eventUrl the input went to
	HTTPStatus int    `json:"http_status"` // of the last try
	// Tries counts the requests the input took: its eventUrl's, then
	// the fallback URL's.
	Tries int `json:"tries"`
	// Fallback reports that the eventUrl gave no NCCO and the fallback
	// URL was asked for it.
	Fallback bool `json:"fallback,omitempty"`
}

// sendInput sends the input event of in to its eventUrl and returns the
// NCCO that answers it.
func (s *Simulator) sendInput(ctx context.Context, out *CallOutcome, in ncco.Input, from, to, pressed string) ([]byte, error) {
	if len(in.EventURL) == 0 {
		return nil, errors.New("proxytest: an input action without eventUrl would send its input to the application's event URL, which answers no NCCO")
	}
	u, err := url.Parse(in.EventURL[0])
	if err != nil {
		return nil, fmt.Errorf("proxytest: input eventUrl: %w", err)
	}
	payload := map[string]any{
		"from": from, "to": to, "uuid": out.UUID, "conversation_uuid": out.ConversationUUID,
		"timestamp": s.now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"dtmf":      map[string]any{"digits": pressed, "timed_out": pressed == ""},
	}
	b, _ := json.Marshal(payload)
	// The input's NCCO is fetched as the answer URL's is: tried again
	// once after a transport failure, a 429, 503 or 504, then asked of
	// the fallback URL (twice at most), with the same data plus reason
	// and original_request {url, type "event"} (Vonage support, "What
	// happens if the NCCO download request fails?"; Voice API webhooks
	// reference, "Fallback URL").
	res := InputOutcome{Digits: pressed, TimedOut: pressed == "", Path: u.Path}
	var status int
	var body []byte
	for i := range 2 {
		status, body, err = s.sendTo(ctx, u, b)
		res.Tries++
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if (err == nil && status >= 200 && status <= 299) || (i == 0 && err == nil && !retryable(status)) {
			break
		}
	}
	path := u.Path
	if (err != nil || status < 200 || status > 299) && !s.NoFallback {
		reason := "HTTP " + strconv.Itoa(status)
		if err != nil {
			reason = err.Error()
		}
		fb := map[string]any{"reason": reason, "original_request": map[string]string{"url": in.EventURL[0], "type": "event"}}
		for k, v := range payload {
			fb[k] = v
		}
		fbBody, _ := json.Marshal(fb)
		path = orDefault(s.FallbackPath, "/fallback")
		res.Fallback = true
		for i := range 2 {
			status, body, err = s.send(ctx, http.MethodPost, path, nil, fbBody, "application/json", true, s.socketTimeout())
			res.Tries++
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if (err == nil && status >= 200 && status <= 299) || (i == 0 && err == nil && !retryable(status)) {
				break
			}
		}
	}
	res.HTTPStatus = status
	out.Inputs = append(out.Inputs, res)
	out.HTTPStatus = status
	if err != nil {
		return nil, fmt.Errorf("proxytest: input webhook %s: %w", path, err)
	}
	if status < 200 || status > 299 {
		return nil, webhookErr(path, status, body)
	}
	return body, nil
}

// sendTo POSTs a signed JSON body to the path and query of an absolute
// URL from an NCCO, on the Handler or on BaseURL's host.
func (s *Simulator) sendTo(ctx context.Context, u *url.URL, body []byte) (int, []byte, error) {
	sim, err := s.at(u)
	if err != nil {
		return 0, nil, err
	}
	return sim.send(ctx, http.MethodPost, u.Path, u.Query(), body, "application/json", true, s.socketTimeout())
}

// connect notes a connect's phone endpoint and the query string of its
// event URL (the service's way to tag the callee leg's events).
func (s *Simulator) connect(out *CallOutcome, c ncco.Connect, eventQuery *string) {
	for _, e := range c.Endpoint {
		var p ncco.PhoneEndpoint
		switch e := e.(type) {
		case ncco.PhoneEndpoint:
			p = e
		case *ncco.PhoneEndpoint:
			p = *e
		default:
			continue
		}
		out.Connected, out.CallerID = p.Number, c.From
		if len(c.EventURL) > 0 {
			if u, err := url.Parse(c.EventURL[0]); err == nil {
				*eventQuery = u.RawQuery
			}
		}
		return
	}
}

// callEvents sends the event webhooks for the call in out.
func (s *Simulator) callEvents(ctx context.Context, out *CallOutcome, from, to string, talkSeconds int, calleeQuery string) error {
	t := s.now().UTC()
	at := func(d time.Duration) string { return t.Add(d).Format("2006-01-02T15:04:05.000Z") }
	caller := func(status string, d time.Duration) map[string]string {
		return map[string]string{
			"from": from, "to": to, "uuid": out.UUID, "conversation_uuid": out.ConversationUUID,
			"status": status, "direction": "inbound", "timestamp": at(d),
		}
	}
	var events []CallEvent
	add := func(leg string, p map[string]string) { events = append(events, CallEvent{Leg: leg, Params: p}) }
	add("caller", caller("started", 0))
	add("caller", caller("ringing", 0))
	add("caller", caller("answered", time.Second))
	end := func(p map[string]string, start, stop time.Duration) map[string]string {
		secs := int(math.Round((stop - start).Seconds()))
		p["start_time"], p["end_time"] = at(start), at(stop)
		p["duration"] = strconv.Itoa(secs)
		p["rate"] = defaultCallRate
		rate, _ := strconv.ParseFloat(defaultCallRate, 64)
		p["price"] = money(rate * float64(secs) / 60)
		p["network"] = simNetworkCode
		p["disconnected_by"] = "user"
		return p
	}
	if out.Connected != "" && s.CalleeOutcome != "" && s.CalleeOutcome != "completed" {
		// The callee never picks up: its leg ends with that status, the
		// caller's leg (answered by the service) ends completed after the
		// ringing, and nothing is billed for the callee.
		out.CalleeUUID = newUUID()
		out.CalleeStatus = s.CalleeOutcome
		callee := map[string]string{
			"from": out.CallerID, "to": out.Connected, "uuid": out.CalleeUUID, "conversation_uuid": out.ConversationUUID,
			"direction": "outbound", "timestamp": at(time.Second),
		}
		started, rang := maps.Clone(callee), maps.Clone(callee)
		started["status"], rang["status"] = "started", "ringing"
		add("callee", started)
		if s.CalleeOutcome != "failed" && s.CalleeOutcome != "rejected" {
			add("callee", rang)
		}
		final := maps.Clone(callee)
		final["status"], final["timestamp"] = s.CalleeOutcome, at(time.Second+ringTime)
		add("callee", final)
		add("caller", end(caller("completed", time.Second+ringTime), time.Second, time.Second+ringTime))
	} else if out.Connected != "" {
		out.CalleeUUID = newUUID()
		dur := s.CallDuration
		if dur <= 0 {
			dur = DefaultCallDuration
		}
		out.Duration = int(math.Round(dur.Seconds()))
		callee := func(status string, d time.Duration) map[string]string {
			return map[string]string{
				"from": out.CallerID, "to": out.Connected, "uuid": out.CalleeUUID, "conversation_uuid": out.ConversationUUID,
				"status": status, "direction": "outbound", "timestamp": at(d),
			}
		}
		answered := time.Second + ringTime
		add("callee", callee("started", time.Second))
		add("callee", callee("ringing", time.Second))
		add("callee", callee("answered", answered))
		out.CalleeStatus = "completed"
		add("callee", end(callee("completed", answered+dur), answered, answered+dur))
		add("caller", end(caller("completed", answered+dur), time.Second, answered+dur))
	} else {
		d := time.Duration(max(talkSeconds, 1)) * time.Second
		out.Duration = int(d.Seconds())
		add("caller", end(caller("completed", time.Second+d), time.Second, time.Second+d))
	}
	eventPath := orDefault(s.EventPath, "/event")
	for i := range events {
		ev := &events[i]
		q := url.Values(nil)
		if ev.Leg == "callee" && calleeQuery != "" {
			q, _ = url.ParseQuery(calleeQuery)
		}
		if err := s.deliverEvent(ctx, s, eventPath, q, ev); err != nil {
			out.Events = events[:i+1]
			if ctx.Err() != nil {
				out.Events = events[:i]
			}
			return err
		}
	}
	out.Events = events
	return nil
}

// deliverEvent sends one event webhook, ev.Params POSTed as JSON, with
// target (s, or s aimed at another URL's host: see at) to path and query;
// when that fails, to the fallback URL, marked original_request type
// "event". It sets ev.HTTPStatus and ev.Fallback. The error is ctx's, a
// transport error, or a *WebhookError when no URL answered 2xx.
func (s *Simulator) deliverEvent(ctx context.Context, target *Simulator, path string, q url.Values, ev *CallEvent) error {
	b, _ := json.Marshal(ev.Params)
	status, body, err := target.send(ctx, http.MethodPost, path, q, b, "application/json", true, s.eventTimeout())
	if ctx.Err() != nil {
		return ctx.Err()
	}
	ev.HTTPStatus = status
	if err == nil && status >= 200 && status <= 299 {
		return nil
	}
	if s.EventRetries2021 {
		status, body, err = target.send(ctx, http.MethodPost, path, q, b, "application/json", true, s.eventTimeout())
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ev.HTTPStatus = status
		if err == nil && status >= 200 && status <= 299 {
			return nil
		}
	}
	if !s.NoFallback && !s.EventRetries2021 {
		fbPath := orDefault(s.FallbackPath, "/fallback")
		reason := "HTTP " + strconv.Itoa(status)
		if err != nil {
			reason = err.Error()
		}
		fb := map[string]any{"reason": reason, "original_request": map[string]string{"url": path, "type": "event"}}
		for k, v := range ev.Params {
			fb[k] = v
		}
		b, _ = json.Marshal(fb)
		path = fbPath
		status, body, err = s.send(ctx, http.MethodPost, path, q, b, "application/json", true, s.socketTimeout())
		ev.Fallback = true
		ev.HTTPStatus = status
	}
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return webhookErr(path, status, body)
	}
	return nil
}

// at returns the Simulator to send a request for the absolute URL u
// with (u's path and query): s itself in process, or s aimed at u's
// host when it sends to BaseURL (whose own path, the handler's mount
// point, is part of u's path already).
func (s *Simulator) at(u *url.URL) (*Simulator, error) {
	if s.Handler != nil || s.BaseURL == "" {
		return s, nil
	}
	b, err := url.Parse(s.BaseURL)
	if err != nil {
		return nil, err
	}
	sim := *s // the same settings, aimed at the host
	sim.BaseURL = b.Scheme + "://" + b.Host
	return &sim, nil
}

// The account's SMS settings (Simulator.SMSAPI).
const (
	SMSAPISMS      = "sms"      // the SMS API
	SMSAPIMessages = "messages" // the Messages API
)

// sendInboundMessage delivers an SMS as the Messages API does: one JSON
// webhook for the whole message (channel sms, message_type text,
// message_uuid, to, from, timestamp, text, sms {num_messages, keyword,
// total_count}, usage; the Java SDK's InboundMessage fields), signed
// with a JWT (HS256, payload_hash), redelivered after a 429, a 5xx or no
// answer only, up to SMSAttempts times (Vonage: for 24 hours, backing
// off from 5 s to 15 minutes).
func (s *Simulator) sendInboundMessage(ctx context.Context, from, to, text, keyword string, parts int) (*SMSOutcome, error) {
	before := 0
	if s.Vonage != nil {
		before = len(s.Vonage.Outbox())
	}
	uuid := newUUID()
	body, _ := json.Marshal(map[string]any{
		"channel": "sms", "message_type": "text", "message_uuid": uuid, "to": to, "from": from,
		"timestamp": s.now().UTC().Format(time.RFC3339), "text": text,
		"sms":   map[string]string{"num_messages": strconv.Itoa(parts), "keyword": keyword, "total_count": strconv.Itoa(parts)},
		"usage": map[string]string{"price": "0.0057", "currency": "EUR"},
	})
	out := &SMSOutcome{MessageIDs: []string{uuid}}
	path := orDefault(s.InboundMessagePath, "/inbound-message")
	// Only a 429 or a 5xx is tried again (Vonage support, "How long does
	// Vonage retry inbound messages"). Whether a retry is signed afresh
	// no source says: by default it is, with MessagesRetrySameToken it
	// carries the first delivery's token. With MessagesUnsignedFirst the
	// first delivery carries none, as after Vonage's internal error
	// (Messages API, "Signed webhooks").
	var token string
	n := 0
	status, resp, err := s.redeliver(ctx, out, func(timeout time.Duration) (int, []byte, error) {
		n++
		auth := ""
		switch {
		case s.Unsigned:
		case s.MessagesUnsignedFirst && n == 1:
			auth = noAuth
		case s.MessagesRetrySameToken:
			if token == "" {
				req, _ := http.NewRequest(http.MethodPost, InProcessURL+path, nil)
				if err := s.signer().Sign(req, body); err != nil {
					return 0, nil, err
				}
				token = req.Header.Get("Authorization")
			}
			auth = token
		}
		return s.sendAuth(ctx, http.MethodPost, path, nil, body, "application/json", true, auth, timeout)
	}, func(status int) bool { return status == http.StatusTooManyRequests || status >= 500 })
	if err != nil {
		return out, err
	}
	out.HTTPStatus = append(out.HTTPStatus, status)
	if status < 200 || status > 299 {
		s.collectRelayedNow(out, before)
		return out, webhookErr(path, status, resp)
	}
	s.collectRelayed(ctx, out, before, to)
	return out, nil
}

// deliverSMS delivers one inbound-SMS part as Vonage does: until it is
// answered 2xx within SMSTimeout, up to SMSAttempts times, waiting
// SMSRetryWait before each redelivery (Vonage redelivers for up to 24
// hours). Each delivery is counted in out.Deliveries. It returns the last
// delivery's status and body; the error is ctx's, or the last delivery's
// transport error.
func (s *Simulator) deliverSMS(ctx context.Context, out *SMSOutcome, path string, p url.Values) (int, []byte, error) {
	return s.redeliver(ctx, out, func(timeout time.Duration) (int, []byte, error) {
		switch s.SMSMethod {
		case MethodGET:
			return s.send(ctx, http.MethodGet, path, p, nil, "", false, timeout)
		case MethodJSON:
			m := map[string]string{}
			for k := range p {
				m[k] = p.Get(k)
			}
			b, _ := json.Marshal(m)
			return s.send(ctx, http.MethodPost, path, nil, b, "application/json", false, timeout)
		default:
			return s.send(ctx, http.MethodPost, path, nil, []byte(p.Encode()), "application/x-www-form-urlencoded", false, timeout)
		}
	}, func(status int) bool { return status < 200 || status > 299 })
}

// redeliver delivers a webhook with deliver (given SMSTimeout) up to
// SMSAttempts times (default 3), waiting SMSRetryWait before each
// redelivery, while the delivery fails in transport or again says its
// answer's status is worth another try. Each delivery is counted in
// out.Deliveries. It returns the last delivery's status, body and error;
// when ctx ends it stops, with ctx's error.
func (s *Simulator) redeliver(ctx context.Context, out *SMSOutcome, deliver func(timeout time.Duration) (int, []byte, error), again func(status int) bool) (int, []byte, error) {
	attempts := s.SMSAttempts
	if attempts <= 0 {
		attempts = 3
	}
	timeout := s.SMSTimeout
	if timeout <= 0 {
		timeout = DefaultSMSTimeout
	}
	var (
		status int
		body   []byte
		err    error
	)
	for i := range attempts {
		if i > 0 && s.SMSRetryWait > 0 {
			select {
			case <-ctx.Done():
				return 0, nil, ctx.Err()
			case <-time.After(s.SMSRetryWait):
			}
		}
		out.Deliveries++
		status, body, err = deliver(timeout)
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		if err == nil && !again(status) {
			break
		}
	}
	return status, body, err
}

// SendSMS simulates an SMS with text from the phone number from to the
// number to (a proxy number): it sends the inbound-SMS webhook, one
// request per part when the text is longer than one SMS (with concat,
// concat-ref, concat-total and concat-part), signed with "sig" when
// SignatureSecret is set, and each part redelivered until it is answered
// 2xx (see deliverSMS). The error is a *WebhookError when a part was never
// answered 2xx.
func (s *Simulator) SendSMS(ctx context.Context, from, to, text string) (*SMSOutcome, error) {
	from, to = strings.TrimPrefix(from, "+"), strings.TrimPrefix(to, "+")
	typ := "text"
	if !IsGSM(text) {
		typ = "unicode"
	}
	parts := SplitSMS(text, typ)
	keyword := strings.ToUpper(strings.SplitN(strings.TrimSpace(text)+" ", " ", 2)[0])
	if s.Vonage != nil {
		s.Vonage.noteKeyword(from, to, text) // the carriers' rule (optout.go)
	}
	if s.SMSAPI == SMSAPIMessages {
		return s.sendInboundMessage(ctx, from, to, text, keyword, len(parts))
	}
	var ref [1]byte
	_, _ = rand.Read(ref[:])
	before := 0
	if s.Vonage != nil {
		before = len(s.Vonage.Outbox())
	}
	out := &SMSOutcome{}
	path := orDefault(s.InboundSMSPath, "/inbound-sms")
	for i, part := range parts {
		t := s.now().UTC()
		var id [8]byte
		_, _ = rand.Read(id[:])
		p := url.Values{
			"msisdn": {from}, "to": {to}, "messageId": {strings.ToUpper(hex.EncodeToString(id[:]))},
			"text": {part}, "type": {typ}, "keyword": {keyword}, "api-key": {orDefault(s.APIKey, APIKey)},
			"message-timestamp": {t.Format("2006-01-02 15:04:05")},
		}
		if len(parts) > 1 {
			p.Set("concat", "true")
			p.Set("concat-ref", strconv.Itoa(int(ref[0])))
			p.Set("concat-total", strconv.Itoa(len(parts)))
			p.Set("concat-part", strconv.Itoa(i+1))
		}
		if !s.Unsigned {
			p.Set("timestamp", strconv.FormatInt(t.Unix(), 10))
			p.Set("nonce", newUUID())
			m := s.SigMethod
			if m == "" {
				m = sms.MD5Hash
			}
			sms.SignParams(p, s.secret(), m)
		}
		out.MessageIDs = append(out.MessageIDs, p.Get("messageId"))
		status, body, err := s.deliverSMS(ctx, out, path, p)
		if err != nil {
			return out, err
		}
		out.HTTPStatus = append(out.HTTPStatus, status)
		if status < 200 || status > 299 {
			return out, webhookErr(path, status, body)
		}
	}
	s.collectRelayed(ctx, out, before, to)
	return out, nil
}

// collectRelayedNow fills out.Relayed with what Vonage's outbox gained
// past its first before entries, without waiting: for an SMS the service
// did not accept.
func (s *Simulator) collectRelayedNow(out *SMSOutcome, before int) {
	if s.Vonage == nil {
		return
	}
	if sent := s.Vonage.Outbox(); len(sent) > before {
		out.Relayed = sent[before:]
	}
}

// signer signs voice and Messages webhooks as Vonage does.
func (s *Simulator) signer() voice.Signer {
	return voice.Signer{Secret: s.secret(), ApplicationID: orDefault(s.ApplicationID, ApplicationID), Now: s.now}
}

// secret is the secret webhooks are signed with.
func (s *Simulator) secret() string { return orDefault(s.SignatureSecret, SignatureSecret) }
