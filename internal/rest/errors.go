package rest

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxErrorBody bounds the body excerpt kept in an *HTTPError.
const maxErrorBody = 512

// Redacted replaces secret values in URLs and messages.
const Redacted = "REDACTED"

// HTTPError is a non-2xx answer that no Request.Check turned into an API
// error. API packages may wrap it or copy its fields into their own type.
type HTTPError struct {
	// StatusCode is the HTTP status code.
	StatusCode int
	// Method is the request's HTTP method.
	Method string
	// URL is the request URL with secret query values redacted.
	URL string
	// Body is the start of the response body (at most 512 bytes).
	Body string
}

// Error implements error.
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("rest: %s %s: HTTP %d", e.Method, e.URL, e.StatusCode)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// DecodeError reports a 2xx response whose JSON body could not be decoded.
type DecodeError struct {
	// Method is the request's HTTP method.
	Method string
	// URL is the request URL with secret query values redacted.
	URL string
	// Err is the encoding/json error.
	Err error
}

// Error implements error.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("rest: %s %s: decoding response: %v", e.Method, e.URL, e.Err)
}

// Unwrap returns the JSON error.
func (e *DecodeError) Unwrap() error { return e.Err }

// retryableError marks an error returned by Request.Check as retryable.
type retryableError struct{ err error }

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// Retryable marks err, returned from a Request.Check, as safe to retry:
// the response proves the request was not acted on (for example Vonage's
// "throttled" status). Do strips the mark before returning err to its
// caller. Retryable(nil) is nil.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &retryableError{err: err}
}

// IsRetryable reports whether err carries the Retryable mark.
func IsRetryable(err error) bool {
	var r *retryableError
	return errors.As(err, &r)
}

func unmarkRetryable(err error) error {
	if r, ok := err.(*retryableError); ok {
		return r.err
	}
	return err
}

// secretParams are query keys whose values never appear in errors.
var secretParams = map[string]bool{
	"api_secret":    true,
	"sig":           true,
	"secret":        true,
	"password":      true,
	"token":         true,
	"access_token":  true,
	"client_secret": true,
}

// RedactURL returns u as a string with the values of secret query
// parameters (api_secret, sig, secret, password, token, …) and any userinfo
// password replaced by "REDACTED". A nil u gives "".
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	cp := *u
	if cp.User != nil {
		if _, has := cp.User.Password(); has {
			cp.User = url.UserPassword(cp.User.Username(), Redacted)
		}
	}
	if cp.RawQuery != "" {
		q, err := url.ParseQuery(cp.RawQuery)
		if err != nil {
			// An unparsable query may hide anything: drop it whole.
			cp.RawQuery = Redacted
		} else {
			changed := false
			for k, vs := range q {
				if secretParams[strings.ToLower(k)] {
					for i := range vs {
						vs[i] = Redacted
					}
					changed = true
				}
			}
			if changed {
				cp.RawQuery = q.Encode()
			}
		}
	}
	return cp.String()
}

// RedactURLString is RedactURL for a URL in string form; an unparsable
// string is replaced whole.
func RedactURLString(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return Redacted
	}
	return RedactURL(u)
}

// sanitize rewrites a transport error so that neither the URL net/http puts
// in *url.Error nor any other part of the message reveals the secret.
func (c *Client) sanitize(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = &url.Error{Op: ue.Op, URL: RedactURLString(ue.URL), Err: ue.Err}
	}
	return c.scrub(err)
}

// scrub hides the secret if it still occurs anywhere in err's message.
func (c *Client) scrub(err error) error {
	if err == nil || c.secret == "" || !strings.Contains(err.Error(), c.secret) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(err.Error(), c.secret, Redacted), err: err}
}

// scrubbedError presents a message with the secret removed while keeping
// the original chain for errors.Is/As.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// truncate returns at most n bytes of b as a string, cut on a rune
// boundary, with "…" appended when cut.
func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]) + "…"
}
