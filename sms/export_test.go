package sms

import (
	"context"
	"time"
)

// WithRetrySleep replaces the retry backoff wait, so tests neither sleep
// nor depend on jitter.
func WithRetrySleep(f func(ctx context.Context, d time.Duration) error) Option {
	return func(o *options) error {
		o.rest.Sleep = f
		return nil
	}
}

// WithLimiterClock replaces the rate limiter's clock and wait.
func WithLimiterClock(now func() time.Time, wait func(ctx context.Context, d time.Duration) error) Option {
	return func(o *options) error {
		o.limitNow, o.limitWait = now, wait
		return nil
	}
}
