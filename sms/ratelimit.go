package sms

import (
	"context"
	"sync"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/rest"
)

// DefaultRateLimit is the number of send requests per second a Client
// allows itself unless WithRateLimit says otherwise: the SMS API's default
// account throughput.
const DefaultRateLimit = 30

// limiter is a token bucket holding at most one token, refilled at rate per
// second: requests are spaced by 1/rate, so no window of any length sees
// more than its share plus one. It keeps the time the next token is due
// rather than a token count.
type limiter struct {
	interval time.Duration
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error

	mu   sync.Mutex
	next time.Time // when the next token is due
}

// newLimiter returns a limiter for perSecond requests a second, or nil
// (no limit) when perSecond <= 0.
func newLimiter(perSecond float64) *limiter {
	if !(perSecond > 0) {
		return nil
	}
	interval := time.Duration(float64(time.Second) / perSecond)
	return &limiter{interval: interval, now: time.Now, sleep: rest.SleepContext}
}

// wait takes a token, sleeping until it is due. When ctx ends first it
// returns ctx.Err() and gives the token back if no later caller has taken
// one after it.
func (l *limiter) wait(ctx context.Context) error {
	if l == nil {
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	now := l.now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.interval)
	l.mu.Unlock()

	d := at.Sub(now)
	if d <= 0 {
		return nil
	}
	if err := l.sleep(ctx, d); err != nil {
		l.mu.Lock()
		if l.next.Equal(at.Add(l.interval)) {
			l.next = at
		}
		l.mu.Unlock()
		return err
	}
	return nil
}
