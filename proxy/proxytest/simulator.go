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
	"math"
	"net/http"
	"net/url"
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

	// AnswerPath, EventPath and InboundSMSPath are the webhook paths
	// relative to the handler or BaseURL. Defaults "/answer", "/event",
	// "/inbound-sms".
	AnswerPath, EventPath, InboundSMSPath string
	// AnswerMethod is how the answer webhook is requested: MethodGET (the
	// default, Vonage's) or MethodPOST (JSON body). Event webhooks are
	// always POSTed as JSON, Vonage's default.
	AnswerMethod string
	// SMSMethod is how inbound SMS are delivered: MethodPOST (form, the
	// default), MethodGET or MethodJSON.
	SMSMethod string

	// SignatureSecret, when set, signs voice webhooks with an HS256 JWT
	// as Vonage does (see proxy.WebhookSigner) and inbound SMS with a "sig" parameter.
	SignatureSecret string
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
	// Now is the clock for timestamps and signatures; default time.Now.
	Now func() time.Time
	// CallDuration is how long a connected call lasts; default
	// DefaultCallDuration.
	CallDuration time.Duration
	// Modify, when set, is called on every webhook request just before it
	// is sent, after signing: tests use it to tamper with requests.
	Modify func(*http.Request)
}

// CallEvent is one event webhook the simulator sent.
type CallEvent struct {
	Leg        string            `json:"leg"`    // "caller" or "callee"
	Params     map[string]string `json:"params"` // the fields sent
	HTTPStatus int               `json:"http_status"`
}

// CallOutcome is what happened to a simulated call.
type CallOutcome struct {
	UUID             string `json:"uuid"`              // the caller's leg
	ConversationUUID string `json:"conversation_uuid"` // the call
	// HTTPStatus is the answer webhook's status.
	HTTPStatus int `json:"http_status"`
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
	// Recorded reports a record action in the NCCO.
	Recorded bool `json:"recorded"`
	// CalleeUUID is the connected leg's uuid.
	CalleeUUID string `json:"callee_uuid,omitempty"`
	// Duration is the call's length in seconds once answered.
	Duration int `json:"duration"`
	// Events lists the event webhooks sent, in order.
	Events []CallEvent `json:"events"`
}

// SMSOutcome is what happened to a simulated inbound SMS.
type SMSOutcome struct {
	// MessageIDs are the inbound parts' messageId values.
	MessageIDs []string `json:"message_ids"`
	// HTTPStatus is the webhook's status for each part.
	HTTPStatus []int `json:"http_status"`
	// Relayed lists what the service sent through Vonage while the
	// webhooks were handled (needs Simulator.Vonage). With other SMS sent
	// at the same time, they may show up here too.
	Relayed []SentSMS `json:"relayed"`
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

// send makes one webhook request and returns its status and body.
func (s *Simulator) send(ctx context.Context, method, path string, query url.Values, body []byte, contentType string, signJWT bool) (int, []byte, error) {
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
	if signJWT && s.SignatureSecret != "" {
		signer := voice.Signer{Secret: s.SignatureSecret, ApplicationID: orDefault(s.ApplicationID, ApplicationID), Now: s.now}
		if err := signer.Sign(req, body); err != nil {
			return 0, nil, err
		}
	}
	if s.Modify != nil {
		s.Modify(req)
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
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

// PlaceCall simulates a call from the phone number from to the number to
// (a proxy number): it requests the answer webhook, decodes and validates
// the NCCO, and sends the events of the call that NCCO makes: started,
// ringing and answered for the caller's leg; for a connect to a phone
// number, started, ringing and answered for the callee's leg too, then
// completed for both with duration, rate and price; for an NCCO without a
// connect, completed once the talk is read. Simulated calls are billed
// at 0.006 EUR a minute, per second: price = rate × duration / 60.
//
// The error is a *WebhookError when the answer or an event webhook did not
// answer 2xx, or wraps ncco.ErrInvalid (or a decoding error) when the NCCO
// is not one Vonage would run. The outcome is returned in every case
// where a request was answered, so tests can look at what was answered.
func (s *Simulator) PlaceCall(ctx context.Context, from, to string) (*CallOutcome, error) {
	from, to = strings.TrimPrefix(from, "+"), strings.TrimPrefix(to, "+")
	out := &CallOutcome{UUID: newUUID(), ConversationUUID: "CON-" + newUUID()}
	answerPath := orDefault(s.AnswerPath, "/answer")
	params := map[string]string{"from": from, "to": to, "uuid": out.UUID, "conversation_uuid": out.ConversationUUID}
	var (
		status int
		body   []byte
		err    error
	)
	if s.AnswerMethod == MethodPOST {
		b, _ := json.Marshal(params)
		status, body, err = s.send(ctx, http.MethodPost, answerPath, nil, b, "application/json", true)
	} else {
		q := url.Values{}
		for k, v := range params {
			q.Set(k, v)
		}
		status, body, err = s.send(ctx, http.MethodGet, answerPath, q, nil, "", true)
	}
	if err != nil {
		return nil, err
	}
	out.HTTPStatus = status
	if status < 200 || status > 299 {
		return out, webhookErr(answerPath, status, body)
	}
	out.Raw = json.RawMessage(bytes.TrimSpace(body))
	n, err := ncco.Unmarshal(body)
	if err != nil {
		return out, fmt.Errorf("proxytest: answer is not an NCCO: %w", err)
	}
	out.NCCO = n
	if err := n.Validate(); err != nil {
		return out, fmt.Errorf("proxytest: answer NCCO would be rejected: %w", err)
	}
	var connectQuery string
	talkSeconds := 0
	for _, a := range n {
		switch a := a.(type) {
		case ncco.Talk:
			out.Talk = append(out.Talk, a.Text)
			talkSeconds += 1 + len(a.Text)/15 // about 15 characters a second
		case *ncco.Talk:
			out.Talk = append(out.Talk, a.Text)
			talkSeconds += 1 + len(a.Text)/15
		case ncco.Record, *ncco.Record:
			out.Recorded = true
		case ncco.Connect:
			s.connect(out, a, &connectQuery)
		case *ncco.Connect:
			s.connect(out, *a, &connectQuery)
		}
		if out.Connected != "" {
			break // a connect runs until the call ends
		}
	}
	return out, s.callEvents(ctx, out, from, to, talkSeconds, connectQuery)
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
		return p
	}
	if out.Connected != "" {
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
		b, _ := json.Marshal(ev.Params)
		status, body, err := s.send(ctx, http.MethodPost, eventPath, q, b, "application/json", true)
		if err != nil {
			out.Events = events[:i]
			return err
		}
		ev.HTTPStatus = status
		if status < 200 || status > 299 {
			out.Events = events[:i+1]
			return webhookErr(eventPath, status, body)
		}
	}
	out.Events = events
	return nil
}

// SendSMS simulates an SMS with text from the phone number from to the
// number to (a proxy number): it sends the inbound-SMS webhook, one
// request per part when the text is longer than one SMS (with concat,
// concat-ref, concat-total and concat-part), signed with "sig" when
// SignatureSecret is set. The error is a *WebhookError when a part was not
// answered 2xx.
func (s *Simulator) SendSMS(ctx context.Context, from, to, text string) (*SMSOutcome, error) {
	from, to = strings.TrimPrefix(from, "+"), strings.TrimPrefix(to, "+")
	typ := "text"
	if !IsGSM(text) {
		typ = "unicode"
	}
	parts := SplitSMS(text, typ)
	keyword := strings.ToUpper(strings.SplitN(strings.TrimSpace(text)+" ", " ", 2)[0])
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
		if s.SignatureSecret != "" {
			p.Set("timestamp", strconv.FormatInt(t.Unix(), 10))
			p.Set("nonce", newUUID())
			m := s.SigMethod
			if m == "" {
				m = sms.MD5Hash
			}
			sms.SignParams(p, s.SignatureSecret, m)
		}
		out.MessageIDs = append(out.MessageIDs, p.Get("messageId"))
		var (
			status int
			body   []byte
			err    error
		)
		switch s.SMSMethod {
		case MethodGET:
			status, body, err = s.send(ctx, http.MethodGet, path, p, nil, "", false)
		case MethodJSON:
			m := map[string]string{}
			for k := range p {
				m[k] = p.Get(k)
			}
			b, _ := json.Marshal(m)
			status, body, err = s.send(ctx, http.MethodPost, path, nil, b, "application/json", false)
		default:
			status, body, err = s.send(ctx, http.MethodPost, path, nil, []byte(p.Encode()), "application/x-www-form-urlencoded", false)
		}
		if err != nil {
			return out, err
		}
		out.HTTPStatus = append(out.HTTPStatus, status)
		if status < 200 || status > 299 {
			return out, webhookErr(path, status, body)
		}
	}
	if s.Vonage != nil {
		if sent := s.Vonage.Outbox(); len(sent) > before {
			out.Relayed = sent[before:]
		}
	}
	return out, nil
}
