package rest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Version is the library version sent in the User-Agent header as
// "voiceproxy-go/<Version>".
const Version = "0.1.0"

// UserAgent is the User-Agent header value sent on every request.
const UserAgent = "voiceproxy-go/" + Version

// DefaultTimeout is the client timeout used when Config.HTTPClient is nil.
const DefaultTimeout = 10 * time.Second

// maxBodyBytes bounds how much of a response body is read; Vonage answers
// are a few kilobytes, a page of 100 owned numbers a few tens of kilobytes.
const maxBodyBytes = 4 << 20

// AuthMode says where a request carries the account's api_key and api_secret.
type AuthMode int

const (
	// AuthQuery sends api_key and api_secret as URL query parameters
	// (Number Insight, Numbers GET endpoints).
	AuthQuery AuthMode = iota
	// AuthForm sends api_key and api_secret as form fields in a
	// application/x-www-form-urlencoded body (SMS send, Numbers POST
	// endpoints), so the secret never appears in a URL.
	AuthForm
	// AuthBasic sends them as an HTTP Basic Authorization header.
	AuthBasic
	// AuthNone sends no credentials.
	AuthNone
	// AuthBearer sends "Authorization: Bearer <token>", the token from
	// Config.Token, asked afresh for every attempt (the Voice API's
	// application JWT).
	AuthBearer
)

// Config configures a Client. Zero fields take the defaults written in
// their comments.
type Config struct {
	// BaseURL is the API's scheme and host, optionally with a path prefix,
	// e.g. "https://api.nexmo.com". Required.
	BaseURL string
	// APIKey and APISecret are the account credentials. Both required,
	// unless Token is set and the client only sends AuthBearer requests.
	APIKey    string
	APISecret string
	// Token mints the bearer token of AuthBearer requests.
	Token func() (string, error)
	// HTTPClient sends the requests. Nil: a client with DefaultTimeout.
	HTTPClient *http.Client
	// Retry is the retry policy. The zero value means DefaultRetryPolicy.
	Retry RetryPolicy
	// Sleep waits d or until ctx is done, returning ctx.Err() in that case.
	// Nil: a timer-based wait. Tests inject a recorder or a no-op.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now reads the clock, used to interpret Retry-After HTTP-dates and to
	// see whether a wait would outlast the context's deadline.
	// Nil: time.Now.
	Now func() time.Time
}

// Client is the raw-HTTP core shared by the Vonage API clients. It is safe
// for concurrent use.
type Client struct {
	base   *url.URL
	key    string
	secret string
	token  func() (string, error)
	hc     *http.Client
	retry  RetryPolicy
	sleep  func(context.Context, time.Duration) error
	now    func() time.Time
}

// ErrConfig is wrapped by every error New returns for an invalid Config.
var ErrConfig = errors.New("rest: invalid configuration")

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.Token == nil && cfg.APIKey == "" {
		return nil, fmt.Errorf("%w: empty api key", ErrConfig)
	}
	if cfg.Token == nil && cfg.APISecret == "" {
		return nil, fmt.Errorf("%w: empty api secret", ErrConfig)
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
		return nil, fmt.Errorf("%w: base URL %q must be an absolute http(s) URL", ErrConfig, cfg.BaseURL)
	}
	if base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("%w: base URL %q must not carry a query or fragment", ErrConfig, cfg.BaseURL)
	}
	policy, err := cfg.Retry.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:   base,
		key:    cfg.APIKey,
		secret: cfg.APISecret,
		token:  cfg.Token,
		hc:     cfg.HTTPClient,
		retry:  policy,
		sleep:  cfg.Sleep,
		now:    cfg.Now,
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: DefaultTimeout}
	}
	if c.sleep == nil {
		c.sleep = SleepContext
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Request describes one API call. Do builds a fresh *http.Request from it
// for every attempt.
type Request struct {
	// Method is the HTTP method, e.g. http.MethodGet.
	Method string
	// Path is appended to the base URL, e.g. "/ni/basic/json"; "" is the
	// base URL itself.
	Path string
	// Query holds URL query parameters (never the secret unless Auth is
	// AuthQuery, in which case Do adds it).
	Query url.Values
	// Form, when non-nil, is sent as an application/x-www-form-urlencoded
	// body. AuthForm creates it when nil.
	Form url.Values
	// JSON, when non-nil, is sent as an application/json body (not with
	// Form).
	JSON []byte
	// Base, when set, replaces the client's base URL for this request:
	// an absolute http(s) URL, such as the region_url of a call.
	Base *url.URL
	// Auth says where the credentials go.
	Auth AuthMode
	// Idempotent allows retrying after the request may have reached the
	// server (5xx, timeouts, broken connections). GET and HEAD are always
	// idempotent. Leave it false for anything that must not happen twice,
	// such as buying a number or sending an SMS.
	Idempotent bool
	// Check, when set, sees every response before Do interprets it and may
	// turn it into the API's own error. Returning Retryable(err) asks Do to
	// try again: only do so when the response proves the request was not
	// acted on (a throttled status). Returning nil for a 2xx response lets
	// Do decode the body; for any other status Do returns an *HTTPError.
	Check func(*Response) error
}

func (r *Request) idempotent() bool {
	return r.Idempotent || r.Method == http.MethodGet || r.Method == http.MethodHead
}

// Response is a fully read HTTP response, as seen by Request.Check.
type Response struct {
	// StatusCode is the HTTP status code.
	StatusCode int
	// Header holds the response headers.
	Header http.Header
	// Body is the response body (at most 4 MiB).
	Body []byte
	// Method is the request's method.
	Method string
	// URL is the request URL with secrets redacted.
	URL string

	secret string
}

// HTTPError returns the *HTTPError describing r, for Check functions that
// want to wrap it in their own error type. Its Body is truncated and never
// contains the api_secret.
func (r *Response) HTTPError() *HTTPError {
	return &HTTPError{
		StatusCode: r.StatusCode,
		Method:     r.Method,
		URL:        r.URL,
		Body:       r.BodyExcerpt(),
	}
}

// BodyExcerpt returns the start of the body (at most 512 bytes), safe to
// put in an error message: the api_secret is replaced by "REDACTED".
func (r *Response) BodyExcerpt() string {
	b := r.Body
	if r.secret != "" {
		// Scrub before cutting, so no prefix of the secret survives the cut.
		b = bytes.ReplaceAll(b, []byte(r.secret), []byte(Redacted))
	}
	return truncate(b, maxErrorBody)
}

// Do sends req, retrying as the policy and req allow, and decodes a 2xx
// JSON body into out (skipped when out is nil). When ctx is done it returns
// ctx.Err() itself, also while waiting between attempts. Errors never
// contain the api_secret.
func (c *Client) Do(ctx context.Context, req *Request, out any) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		resp, err := c.once(ctx, req)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		var retryable bool
		var retryAfter time.Duration
		var hasRetryAfter bool
		if err != nil {
			retryable = c.transportRetryable(err, req)
			err = c.sanitize(err)
		} else {
			retryable, err = c.interpret(req, resp)
			if err == nil {
				if out == nil || len(bytes.TrimSpace(resp.Body)) == 0 {
					return nil
				}
				if derr := json.Unmarshal(resp.Body, out); derr != nil {
					return &DecodeError{Method: resp.Method, URL: resp.URL, Err: derr}
				}
				return nil
			}
			retryAfter, hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
		}
		if !retryable || attempt >= c.retry.MaxRetries {
			return c.scrub(unmarkRetryable(err))
		}
		wait := c.retry.backoff(attempt)
		if hasRetryAfter {
			if retryAfter > c.retry.MaxRetryAfter {
				// Waiting less than asked would only be refused again.
				return c.scrub(unmarkRetryable(err))
			}
			wait = retryAfter
		}
		if deadline, ok := ctx.Deadline(); ok && c.now().Add(wait).After(deadline) {
			// The context would expire while waiting: report the real
			// failure now rather than a deadline error later.
			return c.scrub(unmarkRetryable(err))
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			return serr
		}
	}
}

// interpret turns a read response into nil (success) or an error, and says
// whether the failure may be retried.
func (c *Client) interpret(req *Request, resp *Response) (bool, error) {
	var err error
	if req.Check != nil {
		err = req.Check(resp)
	}
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if err == nil && ok {
		return false, nil
	}
	if err == nil {
		err = resp.HTTPError()
	}
	retryable := IsRetryable(err)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		// A 429 is a refusal: the request was not acted on.
		retryable = true
	case resp.StatusCode >= 500 && req.idempotent():
		retryable = true
	}
	return retryable, err
}

// once performs one attempt and reads the whole body.
func (c *Client) once(ctx context.Context, req *Request) (*Response, error) {
	hreq, redacted, err := c.build(ctx, req)
	if err != nil {
		return nil, err
	}
	hresp, err := c.hc.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer hresp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(hresp.Body, maxBodyBytes+1))
	if err != nil {
		return nil, &url.Error{Op: "read body", URL: redacted, Err: err}
	}
	if len(body) > maxBodyBytes {
		return nil, fmt.Errorf("rest: %s %s: response body larger than %d bytes", hreq.Method, redacted, maxBodyBytes)
	}
	return &Response{
		StatusCode: hresp.StatusCode,
		Header:     hresp.Header,
		Body:       body,
		Method:     hreq.Method,
		URL:        redacted,
		secret:     c.secret,
	}, nil
}

// build creates the *http.Request for one attempt and the redacted form of
// its URL for error messages.
func (c *Client) build(ctx context.Context, req *Request) (*http.Request, string, error) {
	base := c.base
	if req.Base != nil {
		base = req.Base
	}
	u := *base
	if p := strings.TrimLeft(req.Path, "/"); p != "" {
		u.Path = strings.TrimRight(base.Path, "/") + "/" + p
	}
	u.RawPath = ""
	q := cloneValues(req.Query)
	form := req.Form
	switch req.Auth {
	case AuthQuery:
		if q == nil {
			q = url.Values{}
		}
		q.Set("api_key", c.key)
		q.Set("api_secret", c.secret)
	case AuthForm:
		form = cloneValues(form)
		if form == nil {
			form = url.Values{}
		}
		form.Set("api_key", c.key)
		form.Set("api_secret", c.secret)
	}
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	var body io.Reader
	switch {
	case form != nil:
		body = strings.NewReader(form.Encode())
	case req.JSON != nil:
		body = bytes.NewReader(req.JSON)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	redacted := RedactURL(&u)
	hreq, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, redacted, fmt.Errorf("rest: building %s %s: %w", method, redacted, c.scrub(err))
	}
	hreq.Header.Set("User-Agent", UserAgent)
	hreq.Header.Set("Accept", "application/json")
	switch {
	case form != nil:
		hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case req.JSON != nil:
		hreq.Header.Set("Content-Type", "application/json")
	}
	switch req.Auth {
	case AuthBasic:
		hreq.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.key+":"+c.secret)))
	case AuthBearer:
		if c.token == nil {
			return nil, redacted, fmt.Errorf("%w: AuthBearer without Config.Token", ErrConfig)
		}
		tok, err := c.token()
		if err != nil {
			return nil, redacted, fmt.Errorf("rest: mint token for %s %s: %w", method, redacted, err)
		}
		hreq.Header.Set("Authorization", "Bearer "+tok)
	}
	return hreq, redacted, nil
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
