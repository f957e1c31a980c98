package insight

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/rest"
)

// DefaultBaseURL is Vonage's Number Insight host. The client appends
// "/ni/basic/json" and friends to it.
const DefaultBaseURL = "https://api.nexmo.com"

// Client calls Vonage's Number Insight API. It is safe for concurrent use.
type Client struct {
	rest *rest.Client
}

type config struct {
	rest rest.Config
}

// Option configures a Client.
type Option func(*config) error

// WithHTTPClient sends requests through hc instead of a default client with
// a 10 second timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error { return c.rest.SetHTTPClient("insight", hc) }
}

// WithBaseURL points the client at another host (a simulator, a proxy),
// given as scheme, host and optional path prefix, e.g. "http://127.0.0.1:8080".
func WithBaseURL(base string) Option {
	return func(c *config) error {
		c.rest.BaseURL = base
		return nil
	}
}

// WithMaxRetries sets how many times a throttled or failed lookup is tried
// again (default 3). Zero switches retrying off.
func WithMaxRetries(n int) Option {
	return func(c *config) error { return c.rest.SetMaxRetries("insight", n) }
}

// WithBackoff sets the first backoff ceiling and its cap (defaults 250ms
// and 5s). Each wait is a random duration up to min(max, base·2^attempt).
func WithBackoff(base, max time.Duration) Option {
	return func(c *config) error { return c.rest.SetBackoff("insight", base, max) }
}

// WithSleep replaces the wait between retries. sleep must return ctx.Err()
// when ctx is done first. Tests pass a function that records and returns
// at once.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *config) error {
		c.rest.Sleep = sleep
		return nil
	}
}

// NewClient returns a Number Insight client for the account's API key and
// secret, both required.
func NewClient(apiKey, apiSecret string, opts ...Option) (*Client, error) {
	cfg := config{rest: rest.Config{BaseURL: DefaultBaseURL, APIKey: apiKey, APISecret: apiSecret}}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	rc, err := rest.New(cfg.rest)
	if err != nil {
		return nil, fmt.Errorf("insight: %w", err)
	}
	return &Client{rest: rc}, nil
}
