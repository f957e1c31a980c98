package rest

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// The Set methods hold the validation behind the API packages' functional
// options (WithHTTPClient, WithMaxRetries, WithBackoff), so that insight,
// numbers and sms accept and refuse the same values. pkg names the calling
// package in the error message, e.g. "insight: negative retry count -1".

// SetHTTPClient sets c.HTTPClient to hc; a nil hc is an error.
func (c *Config) SetHTTPClient(pkg string, hc *http.Client) error {
	if hc == nil {
		return errors.New(pkg + ": nil *http.Client")
	}
	c.HTTPClient = hc
	return nil
}

// SetMaxRetries sets how many times a failed request is tried again after
// the first attempt: n > 0 that many, 0 never (NoRetries). A negative n is
// an error.
func (c *Config) SetMaxRetries(pkg string, n int) error {
	if n < 0 {
		return fmt.Errorf("%s: negative retry count %d", pkg, n)
	}
	if n == 0 {
		n = NoRetries
	}
	c.Retry.MaxRetries = n
	return nil
}

// SetBackoff sets the first backoff ceiling and its cap. It is an error
// unless 0 < base <= max.
func (c *Config) SetBackoff(pkg string, base, max time.Duration) error {
	if base <= 0 || max < base {
		return fmt.Errorf("%s: invalid backoff %v..%v", pkg, base, max)
	}
	c.Retry.BaseDelay = base
	c.Retry.MaxDelay = max
	return nil
}
