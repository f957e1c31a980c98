package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/voiceproxy/voiceproxy/internal/rest"
)

// DefaultBaseURL is where the SMS API lives unless WithBaseURL says
// otherwise.
const DefaultBaseURL = "https://rest.nexmo.com"

// sendPath is the send endpoint, JSON response format.
const sendPath = "/sms/json"

// Client sends SMS with Vonage's SMS API. It is safe for concurrent use.
type Client struct {
	rest    *rest.Client
	limiter *limiter
	secret  string // only to keep it out of error bodies
}

// Option configures a Client in NewClient.
type Option func(*options) error

type options struct {
	rest      rest.Config // base URL, credentials, HTTP client, retries; Sleep is the retry backoff wait
	rate      float64
	limitNow  func() time.Time                           // limiter clock; tests replace it
	limitWait func(context.Context, time.Duration) error // limiter sleep; tests replace it
	now       func() time.Time                           // the Messages API JWT's clock
}

// WithHTTPClient sends requests with hc instead of a client with a 10 s
// timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error { return o.rest.SetHTTPClient("sms", hc) }
}

// WithBaseURL sends requests to base (scheme, host and optional path
// prefix) instead of DefaultBaseURL; the simulator and tests use it.
func WithBaseURL(base string) Option {
	return func(o *options) error {
		o.rest.BaseURL = base
		return nil
	}
}

// WithRateLimit paces requests to at most perSecond a second (spaced
// evenly, no bursts) instead of DefaultRateLimit; 0 or less switches the
// limiter off. Retries take their turn too.
func WithRateLimit(perSecond float64) Option {
	return func(o *options) error {
		o.rate = perSecond
		return nil
	}
}

// WithClock sets the clock of the application JWT's iat and exp
// (NewMessagesClient with an application; tests with a simulated clock).
// Default time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) error { o.now = now; return nil }
}

// WithMaxRetries sets how many times a throttled send (status 1 or HTTP
// 429) is retried after the first attempt; 0 disables retries. Default 3.
func WithMaxRetries(n int) Option {
	return func(o *options) error { return o.rest.SetMaxRetries("sms", n) }
}

// WithBackoff sets the retry backoff: attempt n waits a random duration up
// to min(maxDelay, base·2^n), unless the answer carries Retry-After.
// Defaults 250 ms and 5 s.
func WithBackoff(base, maxDelay time.Duration) Option {
	return func(o *options) error { return o.rest.SetBackoff("sms", base, maxDelay) }
}

// NewClient returns a Client for the account with apiKey and apiSecret,
// which are sent in the form body of each request (never in a URL).
func NewClient(apiKey, apiSecret string, opts ...Option) (*Client, error) {
	o := options{
		rest: rest.Config{BaseURL: DefaultBaseURL, APIKey: apiKey, APISecret: apiSecret},
		rate: DefaultRateLimit,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	lim := newLimiter(o.rate)
	if lim != nil {
		if o.limitNow != nil {
			lim.now = o.limitNow
		}
		if o.limitWait != nil {
			lim.sleep = o.limitWait
		}
	}
	backoff := o.rest.Sleep
	if backoff == nil {
		backoff = rest.SleepContext
	}
	// A retry waits out its backoff, then its turn at the limiter.
	o.rest.Sleep = func(ctx context.Context, d time.Duration) error {
		if err := backoff(ctx, d); err != nil {
			return err
		}
		return lim.wait(ctx)
	}
	rc, err := rest.New(o.rest)
	if err != nil {
		return nil, fmt.Errorf("sms: %w", err)
	}
	return &Client{rest: rc, limiter: lim, secret: apiSecret}, nil
}

// Message is one SMS to send.
type Message struct {
	// From is the sender: an alphanumeric sender ID of at most 11
	// characters (spaces ignored) or a number of at most 15 digits.
	From string
	// To is the recipient in E.164, digits with or without a leading "+".
	To string
	// Text is the body; long texts are split into parts by Vonage.
	Text string
	// ClientRef is an optional reference of at most 40 characters, echoed
	// in the response and the delivery receipt. 40 is the limit the
	// published API description gives (newer SDKs accept up to 100; no
	// Vonage reference we could find raises it, so a longer one is
	// refused here rather than by Vonage).
	ClientRef string
	// EntityID and ContentID are the registrations some countries'
	// regulators require on every SMS (India's DLT: the principal
	// entity ID and the content template ID); sent as entity-id and
	// content-id.
	EntityID  string
	ContentID string
	// Callback optionally overrides the account's delivery-receipt URL.
	Callback string
	// TTL is how long delivery is attempted; 0 leaves Vonage's default
	// (72 h). Sent in milliseconds; Vonage accepts 20 s to 7 days.
	TTL time.Duration
	// StatusReportReq asks for (true) or declines (false) a delivery
	// receipt; nil leaves Vonage's default (true).
	StatusReportReq *bool
	// Type is "text" or "unicode"; "" picks "unicode" when Text has a
	// character outside the GSM 03.38 alphabet and its extension table,
	// "text" otherwise.
	Type string
}

// Response is the SMS API's answer to a send: one status per part.
type Response struct {
	MessageCount int             // "message-count": the number of parts
	Messages     []MessageStatus // one per part, in Vonage's order
}

// MessageStatus is the outcome of one part of a sent message.
type MessageStatus struct {
	To               string `json:"to"`
	MessageID        string `json:"message-id"`
	Status           string `json:"status"` // "0" means accepted
	ErrorText        string `json:"error-text"`
	RemainingBalance string `json:"remaining-balance"`
	MessagePrice     string `json:"message-price"`
	Network          string `json:"network"`
	ClientRef        string `json:"client-ref"`
}

// Send sends msg and returns the status of every part. When any part's
// status is not "0" it returns the Response together with a *SendError
// listing the parts that were sent and those that failed. A send is
// retried only while every part is throttled (status 1) or the answer is
// HTTP 429, which prove nothing was accepted; never after a 5xx or a
// broken connection, when the message may have gone out.
//
// Maps to POST /sms/json of the SMS API
// (https://developer.vonage.com/en/api/sms#send-an-sms).
func (c *Client) Send(ctx context.Context, msg Message) (*Response, error) {
	form, err := msg.form()
	if err != nil {
		return nil, err
	}
	if err := c.limiter.wait(ctx); err != nil {
		return nil, err
	}
	var last *Response
	err = c.rest.Do(ctx, &rest.Request{
		Method: http.MethodPost,
		Path:   sendPath,
		Form:   form,
		Auth:   rest.AuthForm,
		Check: func(r *rest.Response) error {
			res, err := checkSend(r)
			last = res
			if he, ok := err.(*HTTPError); ok {
				he.Body = strings.ReplaceAll(he.Body, c.secret, rest.Redacted)
			}
			return err
		},
	}, nil)
	if err != nil {
		var se *SendError
		if errors.As(err, &se) {
			return last, err
		}
		return nil, err
	}
	return last, nil
}

// checkSend turns one HTTP answer into a Response and, for failures, an
// error; throttled answers are marked retryable.
func checkSend(r *rest.Response) (*Response, error) {
	if r.StatusCode < 200 || r.StatusCode > 299 {
		return nil, &HTTPError{StatusCode: r.StatusCode, Body: r.HTTPError().Body, Method: r.Method, URL: r.URL}
	}
	var raw struct {
		MessageCount json.Number     `json:"message-count"`
		Messages     []MessageStatus `json:"messages"`
	}
	if err := json.Unmarshal(r.Body, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnexpectedResponse, err)
	}
	if len(raw.Messages) == 0 {
		return nil, fmt.Errorf("%w: no message status in the answer", ErrUnexpectedResponse)
	}
	res := &Response{Messages: raw.Messages, MessageCount: len(raw.Messages)}
	if raw.MessageCount != "" {
		n, err := strconv.Atoi(raw.MessageCount.String())
		if err != nil {
			return nil, fmt.Errorf("%w: message-count %q", ErrUnexpectedResponse, raw.MessageCount)
		}
		res.MessageCount = n
	}
	se := &SendError{}
	throttledOnly := true
	for _, m := range res.Messages {
		if m.Status == "0" {
			se.Sent = append(se.Sent, m)
			throttledOnly = false
			continue
		}
		if m.Status != "1" {
			throttledOnly = false
		}
		if len(se.Failed) == 0 {
			se.Status, se.ErrorText = m.Status, m.ErrorText
		}
		se.Failed = append(se.Failed, m)
	}
	if len(se.Failed) == 0 {
		return res, nil
	}
	if throttledOnly {
		return res, rest.Retryable(se)
	}
	return res, se
}

// form validates msg and encodes it as the send request's form fields.
func (m Message) form() (url.Values, error) {
	v := url.Values{}
	from, err := normalizeFrom(m.From)
	if err != nil {
		return nil, err
	}
	v.Set("from", from)
	to, ok := digits(m.To)
	if !ok || len(to) < 7 || len(to) > 15 {
		return nil, &ValidationError{Field: "To", Reason: fmt.Sprintf("%q is not an E.164 number of 7 to 15 digits", truncate(m.To))}
	}
	v.Set("to", to)
	if m.Text == "" {
		return nil, &ValidationError{Field: "Text", Reason: "empty"}
	}
	if !utf8.ValidString(m.Text) {
		return nil, &ValidationError{Field: "Text", Reason: "not valid UTF-8"}
	}
	v.Set("text", m.Text)
	switch m.Type {
	case "":
		v.Set("type", messageType(m.Text))
	case "text", "unicode":
		v.Set("type", m.Type)
	default:
		return nil, &ValidationError{Field: "Type", Reason: fmt.Sprintf("%q is not \"text\" or \"unicode\"", truncate(m.Type))}
	}
	if m.ClientRef != "" {
		if utf8.RuneCountInString(m.ClientRef) > 40 {
			return nil, &ValidationError{Field: "ClientRef", Reason: "longer than 40 characters"}
		}
		v.Set("client-ref", m.ClientRef)
	}
	for _, f := range [...]struct{ name, key, v string }{{"EntityID", "entity-id", m.EntityID}, {"ContentID", "content-id", m.ContentID}} {
		if f.v == "" {
			continue
		}
		if len(f.v) > 64 || strings.ContainsAny(f.v, " \t\r\n") {
			return nil, &ValidationError{Field: f.name, Reason: "not a registration ID (at most 64 characters, no spaces)"}
		}
		v.Set(f.key, f.v)
	}
	if m.Callback != "" {
		u, err := url.Parse(m.Callback)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &ValidationError{Field: "Callback", Reason: "not an absolute http(s) URL"}
		}
		v.Set("callback", m.Callback)
	}
	if m.TTL != 0 {
		if m.TTL < 20*time.Second || m.TTL > 7*24*time.Hour {
			return nil, &ValidationError{Field: "TTL", Reason: fmt.Sprintf("%s is outside 20s to 168h", m.TTL)}
		}
		v.Set("ttl", strconv.FormatInt(m.TTL.Milliseconds(), 10))
	}
	if m.StatusReportReq != nil {
		v.Set("status-report-req", strconv.FormatBool(*m.StatusReportReq))
	}
	return v, nil
}

// normalizeFrom checks a sender: a number (leading "+" dropped) of at most
// 15 digits, or an alphanumeric ID of at most 11 characters besides spaces.
func normalizeFrom(from string) (string, error) {
	if from == "" {
		return "", &ValidationError{Field: "From", Reason: "empty"}
	}
	if d, ok := digits(from); ok {
		if len(d) > 15 {
			return "", &ValidationError{Field: "From", Reason: "a number longer than 15 digits"}
		}
		return d, nil
	}
	if utf8.RuneCountInString(strings.ReplaceAll(from, " ", "")) > 11 {
		return "", &ValidationError{Field: "From", Reason: fmt.Sprintf("%q: alphanumeric sender IDs have at most 11 characters", truncate(from))}
	}
	return from, nil
}

// digits returns s without a leading "+" and reports whether the rest is
// one or more ASCII digits.
func digits(s string) (string, bool) {
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	return s, true
}
