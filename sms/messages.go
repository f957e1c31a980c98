package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/voiceproxy/voiceproxy/internal/appjwt"
	"github.com/voiceproxy/voiceproxy/internal/rest"
	"github.com/voiceproxy/voiceproxy/internal/voice"
)

// This file is the Messages API client for SMS: Vonage's current way to
// send and receive SMS ("the recommended way", its SMS migration guide),
// the SMS API being its legacy one. Fields are the Messages API
// reference's and the official SDKs' models (Java: SmsTextRequest,
// MessageResponse; Python: vonage_messages.models.sms.Sms): POST
// /v1/messages with channel "sms", message_type "text", to, from, text,
// client_ref; 202 {"message_uuid"}; errors as RFC 7807 problem documents
// (type, title, detail, instance).

// DefaultMessagesURL is the Messages API's endpoint.
const DefaultMessagesURL = "https://api.nexmo.com/v1/messages"

// MaxMessagesText is the longest text the Messages API takes for SMS
// (the Python SDK's Sms model: text max_length 1000).
const MaxMessagesText = 1000

// maxClientRef is the longest client_ref the Messages API takes.
const maxClientRef = 100

// MessagesAuth is how Messages API requests authenticate: an application
// JWT (ApplicationID and PrivateKey, the PEM the dashboard gave; the
// Messages API's bearerAuth) or HTTP Basic with the account's API key and
// secret (its basicAuth). Give one of the two.
type MessagesAuth struct {
	ApplicationID string
	PrivateKey    []byte
	APIKey        string
	APISecret     string
}

// MessagesClient sends SMS with the Messages API. Its Send has Client's
// signature, so either carries a Service's SMS (proxy.SMSSender): the
// Response holds one MessageStatus whose MessageID is the message_uuid
// (the Messages API splits long texts itself and reports one message).
// It is safe for concurrent use.
type MessagesClient struct {
	rest    *rest.Client
	limiter *limiter
	auth    rest.AuthMode
	secret  string
}

// NewMessagesClient returns a Messages API client. Of the Options,
// WithBaseURL takes the whole endpoint URL (default DefaultMessagesURL);
// WithHTTPClient, WithRateLimit, WithMaxRetries and WithBackoff work as
// for NewClient.
func NewMessagesClient(auth MessagesAuth, opts ...Option) (*MessagesClient, error) {
	o := options{rest: rest.Config{BaseURL: DefaultMessagesURL}, rate: DefaultRateLimit}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	c := &MessagesClient{secret: auth.APISecret}
	switch jwtAuth, basic := auth.ApplicationID != "" || len(auth.PrivateKey) > 0, auth.APIKey != "" || auth.APISecret != ""; {
	case jwtAuth && basic:
		return nil, errors.New("sms: Messages API auth: give an application or an API key and secret, not both")
	case jwtAuth:
		signer, err := appjwt.New(auth.ApplicationID, auth.PrivateKey, o.now)
		if err != nil {
			return nil, fmt.Errorf("sms: Messages API auth: %w", err)
		}
		o.rest.Token, c.auth = signer.Token, rest.AuthBearer
	case basic:
		if auth.APIKey == "" || auth.APISecret == "" {
			return nil, errors.New("sms: Messages API auth: an API key needs its secret")
		}
		o.rest.APIKey, o.rest.APISecret, c.auth = auth.APIKey, auth.APISecret, rest.AuthBasic
	default:
		return nil, errors.New("sms: Messages API auth: give an application (ID and private key) or an API key and secret")
	}
	c.limiter = newLimiter(o.rate)
	if c.limiter != nil && o.limitNow != nil {
		c.limiter.now = o.limitNow
	}
	if c.limiter != nil && o.limitWait != nil {
		c.limiter.sleep = o.limitWait
	}
	rc, err := rest.New(o.rest)
	if err != nil {
		return nil, fmt.Errorf("sms: %w", err)
	}
	c.rest = rc
	return c, nil
}

// Send sends msg as one Messages API SMS. It is retried only after HTTP
// 429, which proves nothing was accepted; a 5xx or a broken connection
// may have sent it and is returned (the caller decides). Errors: a
// *ValidationError before anything is sent; a *MessagesError for an
// error status (ErrInvalidCredentials for 401, ErrInsufficientCredit for
// 402, ErrInvalidParams for 422, ErrThrottled for 429).
func (c *MessagesClient) Send(ctx context.Context, msg Message) (*Response, error) {
	body, to, err := msg.messagesBody()
	if err != nil {
		return nil, err
	}
	if err := c.limiter.wait(ctx); err != nil {
		return nil, err
	}
	var out struct {
		MessageUUID string `json:"message_uuid"`
	}
	err = c.rest.Do(ctx, &rest.Request{Method: http.MethodPost, JSON: body, Auth: c.auth, Check: c.check}, &out)
	if err != nil {
		return nil, err
	}
	if out.MessageUUID == "" {
		return nil, fmt.Errorf("%w: no message_uuid in the answer", ErrUnexpectedResponse)
	}
	return &Response{MessageCount: 1, Messages: []MessageStatus{{To: to, MessageID: out.MessageUUID, Status: "0", ClientRef: msg.ClientRef}}}, nil
}

// messagesBody is msg as the Messages API's SMS request.
func (m Message) messagesBody() ([]byte, string, error) {
	to, ok := digits(strings.TrimPrefix(strings.TrimSpace(m.To), "+"))
	if !ok || len(to) < 7 || len(to) > 15 {
		return nil, "", &ValidationError{Field: "To", Reason: "not an E.164 number"}
	}
	from, err := normalizeFrom(m.From)
	if err != nil {
		return nil, "", err
	}
	switch n := utf8.RuneCountInString(m.Text); {
	case n == 0:
		return nil, "", &ValidationError{Field: "Text", Reason: "empty"}
	case n > MaxMessagesText || !utf8.ValidString(m.Text):
		return nil, "", &ValidationError{Field: "Text", Reason: fmt.Sprintf("not UTF-8 text of at most %d characters", MaxMessagesText)}
	}
	if len(m.ClientRef) > maxClientRef {
		return nil, "", &ValidationError{Field: "ClientRef", Reason: fmt.Sprintf("longer than %d characters", maxClientRef)}
	}
	b, err := json.Marshal(map[string]string{
		"channel": "sms", "message_type": "text", "to": to, "from": from, "text": m.Text, "client_ref": m.ClientRef,
	})
	return b, to, err
}

// check turns an error status into a *MessagesError, a 429 retryable.
func (c *MessagesClient) check(r *rest.Response) error {
	if r.StatusCode >= 200 && r.StatusCode < 300 {
		return nil
	}
	e := &MessagesError{HTTPStatus: r.StatusCode, Body: strings.ReplaceAll(r.HTTPError().Body, c.secret, rest.Redacted)}
	var p Problem
	if json.Unmarshal(r.Body, &p) == nil {
		e.Problem = p
	}
	if r.StatusCode == http.StatusTooManyRequests {
		return rest.Retryable(e)
	}
	return e
}

// Problem is an RFC 7807 problem document, the Messages API's error
// shape: in an error answer, and as a status webhook's error.
//
// The two write the title differently. An error answer's title is text
// ("Invalid params"); a status webhook's is the Messages API error code
// as a JSON number ("title": 1330, the Java SDK's MessageStatusTest), the
// type naming the same code after "#" (".../messages-olympus#1330").
// Decoding takes either: Title holds the title as text (a number in
// decimal), and Code the error code, from a numeric title or else from
// the type's fragment (0 when neither holds one). The codes are listed in
// Vonage's Messages API errors (https://developer.vonage.com/api-errors/messages-olympus;
// the x-errors of Nexmo/api-specification definitions/messages-olympus.yml).
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Detail   string `json:"detail"`
	Instance string `json:"instance"`
	// Code is the Messages API error code, e.g. 1330 (Unknown) or 1250
	// (Unroutable). Not encoded: Title carries it.
	Code int `json:"-"`
}

// maxProblemCode bounds an error code read from a webhook: Vonage's are
// four digits.
const maxProblemCode = 99999

// UnmarshalJSON reads a problem document whose title is a string or a
// number (see Problem).
func (p *Problem) UnmarshalJSON(b []byte) error {
	var raw struct {
		Type     string          `json:"type"`
		Title    json.RawMessage `json:"title"`
		Detail   string          `json:"detail"`
		Instance string          `json:"instance"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*p = Problem{Type: raw.Type, Detail: raw.Detail, Instance: raw.Instance}
	switch t := bytes.TrimSpace(raw.Title); {
	case len(t) == 0 || string(t) == "null":
	case t[0] == '"':
		if err := json.Unmarshal(t, &p.Title); err != nil {
			return fmt.Errorf("problem title: %w", err)
		}
		p.Code = problemCode(p.Title)
	case t[0] == '-' || t[0] >= '0' && t[0] <= '9':
		var n json.Number
		if err := json.Unmarshal(t, &n); err != nil {
			return fmt.Errorf("problem title: %w", err)
		}
		p.Title, p.Code = n.String(), problemCode(n.String())
	default:
		return fmt.Errorf("problem title is neither a string nor a number: %.20s", t)
	}
	if p.Code == 0 {
		if _, frag, ok := strings.Cut(p.Type, "#"); ok {
			p.Code = problemCode(frag)
		}
	}
	return nil
}

// problemCode is s as an error code: 1 to maxProblemCode, digits only;
// else 0.
func problemCode(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxProblemCode || s[0] == '+' {
		return 0
	}
	return n
}

// MessagesError is a Messages API answer with an error status.
type MessagesError struct {
	HTTPStatus int
	Problem
	Body string // the start of the answer, when it is no problem document
}

func (e *MessagesError) Error() string {
	msg := fmt.Sprintf("sms: Messages API: HTTP %d", e.HTTPStatus)
	if e.Title != "" {
		msg += ": " + e.Title
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Title == "" && e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Unwrap returns the sentinel of the status: ErrInvalidCredentials (401,
// 403), ErrInsufficientCredit (402), ErrInvalidParams (400, 422),
// ErrThrottled (429), ErrInternal (5xx).
func (e *MessagesError) Unwrap() error {
	switch s := e.HTTPStatus; {
	case s == 401 || s == 403:
		return ErrInvalidCredentials
	case s == 402:
		return ErrInsufficientCredit
	case s == 400 || s == 422:
		return ErrInvalidParams
	case s == 429:
		return ErrThrottled
	case s >= 500:
		return ErrInternal
	}
	return nil
}

// Temporary reports whether sending again later may succeed: throttling
// (nothing was sent) or a server error (something may have been).
func (e *MessagesError) Temporary() bool { return e.HTTPStatus == 429 || e.HTTPStatus >= 500 }

// InboundMessage is the Messages API's inbound message webhook for
// channel sms (fields as the Java SDK's InboundMessage and
// SmsInboundMetadata name them). Vonage joins a long SMS's parts first:
// SMS.NumMessages says how many it was.
type InboundMessage struct {
	Channel     string    `json:"channel"`
	MessageType string    `json:"message_type"`
	MessageUUID string    `json:"message_uuid"`
	To          string    `json:"to"`
	From        string    `json:"from"`
	Text        string    `json:"text"`
	ClientRef   string    `json:"client_ref"`
	Timestamp   time.Time `json:"timestamp"`
	SMS         struct {
		NumMessages flexInt `json:"num_messages"`
		TotalCount  flexInt `json:"total_count"`
		Keyword     string  `json:"keyword"`
	} `json:"sms"`
	Usage *Usage `json:"usage"`
}

// Usage is what a message cost. Vonage writes the price as a string
// ("0.0333", the Messages API reference); a JSON number is read too (the
// Java SDK's MessageStatus.Usage takes either), into the same text.
type Usage struct {
	Price    string `json:"price"`
	Currency string `json:"currency"`
}

// UnmarshalJSON reads a usage whose price is a string or a number.
func (u *Usage) UnmarshalJSON(b []byte) error {
	var raw struct {
		Price    json.RawMessage `json:"price"`
		Currency string          `json:"currency"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*u = Usage{Currency: raw.Currency}
	switch p := bytes.TrimSpace(raw.Price); {
	case len(p) == 0 || string(p) == "null":
	case p[0] == '"':
		return json.Unmarshal(p, &u.Price)
	default:
		var n json.Number
		if err := json.Unmarshal(p, &n); err != nil {
			return fmt.Errorf("usage price: %w", err)
		}
		u.Price = n.String()
	}
	return nil
}

// Workflow places a status in a Messages API failover workflow: the
// message is item ItemNumber of ItemsTotal (the Java SDK's
// MessageStatus.Workflow; it reads the total as items_total or
// total_items). Absent for a message sent on its own.
type Workflow struct {
	ID         string `json:"id"`
	ItemNumber int    `json:"item_number"`
	ItemsTotal int    `json:"items_total"`
}

// UnmarshalJSON reads a workflow, its numbers as numbers or strings.
func (w *Workflow) UnmarshalJSON(b []byte) error {
	var raw struct {
		ID         string  `json:"id"`
		ItemNumber flexInt `json:"item_number"`
		ItemsTotal flexInt `json:"items_total"`
		TotalItems flexInt `json:"total_items"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*w = Workflow{ID: raw.ID, ItemNumber: int(raw.ItemNumber), ItemsTotal: int(max(raw.ItemsTotal, raw.TotalItems))}
	return nil
}

// flexInt reads a JSON number or a string holding one.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*f = flexInt(n)
	return nil
}

// ErrNotSMS: a Messages API webhook for another channel or message type
// than an SMS text.
var ErrNotSMS = errors.New("sms: not an SMS text message")

// ParseInboundMessage reads an inbound message webhook's JSON body. It
// requires channel sms, message_type text (or none), message_uuid, from
// and to.
func ParseInboundMessage(body []byte) (*InboundMessage, error) {
	var m InboundMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("sms: inbound message: %w", err)
	}
	if m.Channel != "sms" || (m.MessageType != "" && m.MessageType != "text") {
		return nil, fmt.Errorf("%w: channel %q, message_type %q", ErrNotSMS, m.Channel, m.MessageType)
	}
	if m.MessageUUID == "" || m.From == "" || m.To == "" {
		return nil, errors.New("sms: inbound message: message_uuid, from and to are required")
	}
	return &m, nil
}

// Status webhook statuses (the Java SDK's MessageStatus.Status; "read"
// is for other channels).
const (
	StatusSubmitted     = "submitted"
	StatusDelivered     = "delivered"
	StatusRejected      = "rejected"
	StatusUndeliverable = "undeliverable"
)

// StatusUpdate is the Messages API's message status webhook (fields as
// the Java SDK's MessageStatus names them; the fields of other channels,
// such as whatsapp, and unknown ones are ignored). A rejected or
// undeliverable message carries Error, its Code the Messages API error
// code.
type StatusUpdate struct {
	MessageUUID string    `json:"message_uuid"`
	To          string    `json:"to"`
	From        string    `json:"from"`
	Status      string    `json:"status"`
	Channel     string    `json:"channel"`
	ClientRef   string    `json:"client_ref"`
	Timestamp   time.Time `json:"timestamp"`
	Error       *Problem  `json:"error"`
	Usage       *Usage    `json:"usage"`
	Workflow    *Workflow `json:"workflow"`
	Destination struct {
		NetworkCode string `json:"network_code"`
	} `json:"destination"`
	SMS struct {
		CountTotal flexInt `json:"count_total"`
	} `json:"sms"`
}

// ParseStatusUpdate reads a message status webhook's JSON body; it
// requires message_uuid and status.
func ParseStatusUpdate(body []byte) (*StatusUpdate, error) {
	var u StatusUpdate
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, fmt.Errorf("sms: message status: %w", err)
	}
	if u.MessageUUID == "" || u.Status == "" {
		return nil, errors.New("sms: message status: message_uuid and status are required")
	}
	return &u, nil
}

// ErrMessagesUnsigned is matched by VerifyMessagesSignature's errors.
var ErrMessagesUnsigned = voice.ErrUnauthorized

// VerifyMessagesSignature checks a Messages API webhook's signature, as
// Vonage signs them ("Signed webhooks"): "Authorization: Bearer <JWT>",
// HS256 with the account's signature secret, iss "Vonage", iat within
// tolerance of now (0: 5 minutes), and payload_hash the hex SHA-256 of
// body. It does not remember jti: replay protection needs a store shared
// by every instance (a proxy.Service has one). Errors match
// ErrMessagesUnsigned.
func VerifyMessagesSignature(r *http.Request, body []byte, secret string, tolerance time.Duration, now time.Time) error {
	if secret == "" {
		return fmt.Errorf("%w: no signature secret to check with", ErrMessagesUnsigned)
	}
	v := voice.Verifier{Secrets: []voice.Secret{{Value: secret}}, Tolerance: tolerance}
	_, err := v.Check(r, body, now)
	return err
}
