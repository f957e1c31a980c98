// Package rest is the raw-HTTP core shared by the Vonage API clients
// (insight, numbers, sms): credentials, base URL, User-Agent, one request
// path with JSON decoding, retries with capped full-jitter backoff and
// Retry-After, typed HTTP errors, and redaction of secrets from every error.
//
// # Building a client
//
// An API package turns its options into a Config and calls New once:
//
//	c, err := rest.New(rest.Config{
//		BaseURL:    "https://rest.nexmo.com",
//		APIKey:     key,
//		APISecret:  secret,
//		HTTPClient: hc,                // nil: 10 s timeout client
//		Retry:      rest.RetryPolicy{}, // zero: DefaultRetryPolicy
//		Sleep:      nil,               // tests: func(context.Context, time.Duration) error { return nil }
//	})
//
// Every request carries User-Agent "voiceproxy-go/<Version>" and
// Accept: application/json.
//
// # One request path
//
// Each call is a *Request handed to (*Client).Do with the value to decode a
// 2xx JSON body into:
//
//	var out sendResponse
//	err := c.Do(ctx, &rest.Request{
//		Method: http.MethodPost,
//		Path:   "/sms/json",
//		Form:   url.Values{"from": {from}, "to": {to}, "text": {text}},
//		Auth:   rest.AuthForm, // api_key/api_secret go in the form body
//		// Idempotent: false (the default for POST): never retried once
//		// the request may have been accepted.
//		Check: func(r *rest.Response) error {
//			// Vonage answers 200 with a failure status in the body.
//			var probe struct {
//				Messages []struct{ Status string `json:"status"` } `json:"messages"`
//			}
//			if json.Unmarshal(r.Body, &probe) != nil {
//				return nil // let Do report the decode error or the HTTP status
//			}
//			for _, m := range probe.Messages {
//				if m.Status == "1" { // throttled: not accepted, safe to resend
//					return rest.Retryable(&SendError{Status: m.Status})
//				}
//			}
//			return nil
//		},
//	}, &out)
//
// Auth selects where the credentials go: AuthQuery (URL query: Number
// Insight, Numbers GET), AuthForm (form body: SMS, Numbers POST), AuthBasic
// (Authorization header) or AuthNone.
//
// Check sees every response (any status) before Do interprets it. It
// returns nil to let Do proceed (2xx: decode into out; otherwise an
// *HTTPError), an API error to return instead, or Retryable(apiErr) when the
// body proves the request was refused and may be sent again. Do strips the
// Retryable mark before returning the error. Response.HTTPError gives the
// *HTTPError for the response, to wrap inside an API error.
//
// # Retries
//
// Do retries, up to RetryPolicy.MaxRetries times:
//   - HTTP 429 and errors marked Retryable by Check, for every request;
//   - HTTP 5xx and transport failures (timeouts, broken connections) only
//     when the request is idempotent (GET, HEAD, or Request.Idempotent);
//   - for other requests only failures that prove nothing was sent: DNS and
//     dial errors.
//
// Between attempts it waits a random duration in
// [0, min(MaxDelay, BaseDelay·2^attempt)], or exactly what a Retry-After
// header asks (delay-seconds or HTTP-date) when present; a Retry-After
// above MaxRetryAfter ends the retries, and so does a wait that would
// outlast ctx's deadline. When retries run out Do returns the last error
// unchanged in type.
//
// # Shared option checks and types
//
// The API packages' WithHTTPClient, WithMaxRetries and WithBackoff options
// are thin wrappers around (*Config).SetHTTPClient, SetMaxRetries and
// SetBackoff, which validate the value and name the calling package in
// their errors:
//
//	func WithMaxRetries(n int) Option {
//		return func(c *config) error { return c.rest.SetMaxRetries("insight", n) }
//	}
//
// Amount is the money value (string, number or null in JSON) that
// insight.Amount and numbers.Amount alias.
//
// # Errors
//
// When ctx is done Do returns ctx.Err() itself (context.Canceled or
// context.DeadlineExceeded), also in the middle of a backoff wait. Non-2xx
// answers become *HTTPError (status, method, redacted URL, truncated body);
// undecodable 2xx bodies become *DecodeError. No error's message contains
// the api_secret: transport errors (*url.Error) get their URL rewritten with
// RedactURL, and any remaining occurrence of the secret is replaced by
// "REDACTED".
package rest
