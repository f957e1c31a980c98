package numbers

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/voiceproxy/voiceproxy/internal/rest"
)

// DefaultBaseURL is the Numbers API host. The client appends
// "/number/search" and friends to it.
const DefaultBaseURL = "https://rest.nexmo.com"

// Client calls Vonage's Numbers API. It is safe for concurrent use.
type Client struct {
	rest      *rest.Client
	basicAuth bool
}

type config struct {
	rest      rest.Config
	basicAuth bool
}

// Option configures a Client.
type Option func(*config) error

// WithHTTPClient sends requests through hc instead of a default client with
// a 10 second timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error { return c.rest.SetHTTPClient("numbers", hc) }
}

// WithBaseURL points the client at another host (a simulator, a proxy),
// given as scheme, host and optional path prefix, e.g. "http://127.0.0.1:8080".
func WithBaseURL(base string) Option {
	return func(c *config) error {
		c.rest.BaseURL = base
		return nil
	}
}

// WithMaxRetries sets how many times a refused or failed request is tried
// again (default 3). Zero switches retrying off. Buy and Cancel are only
// ever retried when the answer proves Vonage did not act on them.
func WithMaxRetries(n int) Option {
	return func(c *config) error { return c.rest.SetMaxRetries("numbers", n) }
}

// WithBackoff sets the first backoff ceiling and its cap (defaults 250ms
// and 5s). Each wait is a random duration up to min(max, base·2^attempt).
func WithBackoff(base, max time.Duration) Option {
	return func(c *config) error { return c.rest.SetBackoff("numbers", base, max) }
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

// WithBasicAuth sends the credentials in an HTTP Basic Authorization
// header, as the official SDKs do, instead of the api_key and api_secret
// query parameters the published API description gives every operation.
func WithBasicAuth() Option {
	return func(c *config) error {
		c.basicAuth = true
		return nil
	}
}

// NewClient returns a Numbers API client for the account's API key and
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
		return nil, fmt.Errorf("numbers: %w", err)
	}
	return &Client{rest: rc, basicAuth: cfg.basicAuth}, nil
}
