package rest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy says how often and how long Do retries. Zero fields take the
// defaults of DefaultRetryPolicy; use NoRetries to switch retrying off.
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first attempt
	// (0: default 3; negative: never retry).
	MaxRetries int
	// BaseDelay is the first backoff ceiling (default 250ms). Attempt n
	// waits a uniformly random duration in [0, min(MaxDelay, BaseDelay*2^n)]
	// ("full jitter").
	BaseDelay time.Duration
	// MaxDelay caps the backoff ceiling (default 5s).
	MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After Do will wait (default 30s);
	// a server asking for longer gets the error returned instead.
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy is used for zero fields of Config.Retry.
var DefaultRetryPolicy = RetryPolicy{
	MaxRetries:    3,
	BaseDelay:     250 * time.Millisecond,
	MaxDelay:      5 * time.Second,
	MaxRetryAfter: 30 * time.Second,
}

// NoRetries is a MaxRetries value that switches retrying off.
const NoRetries = -1

func (p RetryPolicy) withDefaults() (RetryPolicy, error) {
	if p.BaseDelay < 0 || p.MaxDelay < 0 || p.MaxRetryAfter < 0 {
		return p, fmt.Errorf("%w: negative retry delay", ErrConfig)
	}
	switch {
	case p.MaxRetries == 0:
		p.MaxRetries = DefaultRetryPolicy.MaxRetries
	case p.MaxRetries < 0:
		p.MaxRetries = 0
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = DefaultRetryPolicy.BaseDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = DefaultRetryPolicy.MaxDelay
	}
	if p.MaxDelay < p.BaseDelay {
		p.MaxDelay = p.BaseDelay
	}
	if p.MaxRetryAfter == 0 {
		p.MaxRetryAfter = DefaultRetryPolicy.MaxRetryAfter
	}
	return p, nil
}

// backoff returns the full-jitter wait before retry number attempt+1.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	ceiling := p.MaxDelay
	if attempt < 62 {
		if d := p.BaseDelay << attempt; d > 0 && d < ceiling && d>>attempt == p.BaseDelay {
			ceiling = d
		}
	}
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP-date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}

// transportRetryable decides whether an error from http.Client.Do may be
// retried. Idempotent requests retry any transport failure; others only a
// failure to connect, which proves nothing was sent.
func (c *Client) transportRetryable(err error, req *Request) bool {
	if req.idempotent() {
		return true
	}
	return notSent(err)
}

// notSent reports whether err shows the request never left the machine:
// name resolution or connection setup failed.
func notSent(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// SleepContext waits d or until ctx is done, and then returns ctx.Err().
// It is the default Sleep of clients on this core.
func SleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
