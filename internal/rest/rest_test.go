package rest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"

	"github.com/voiceproxy/voiceproxy/internal/mocktest"
)

const (
	testKey    = "abcd1234"
	testSecret = "s3cr3tValue"
	testBase   = "https://api.example.test"
)

func newTestClient(t *testing.T, mt *httpmock.MockTransport, mutate func(*Config)) (*Client, *mocktest.Sleeper) {
	t.Helper()
	rec := &mocktest.Sleeper{}
	cfg := Config{
		BaseURL:    testBase,
		APIKey:     testKey,
		APISecret:  testSecret,
		HTTPClient: &http.Client{Transport: mt},
		Retry:      RetryPolicy{MaxRetries: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second},
		Sleep:      rec.Sleep,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, rec
}

type payload struct {
	OK   bool   `json:"ok"`
	Name string `json:"name"`
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"empty key", Config{BaseURL: testBase, APISecret: "x"}},
		{"empty secret", Config{BaseURL: testBase, APIKey: "x"}},
		{"relative base", Config{BaseURL: "/ni", APIKey: "x", APISecret: "y"}},
		{"ftp base", Config{BaseURL: "ftp://host", APIKey: "x", APISecret: "y"}},
		{"base with query", Config{BaseURL: "https://h/?a=b", APIKey: "x", APISecret: "y"}},
		{"negative delay", Config{BaseURL: testBase, APIKey: "x", APISecret: "y", Retry: RetryPolicy{BaseDelay: -1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := New(tt.cfg)
			if !errors.Is(err, ErrConfig) || c != nil {
				t.Fatalf("New = %v, %v; want nil, ErrConfig", c, err)
			}
		})
	}
}

func TestRequestShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		req       Request
		wantQuery url.Values
		wantForm  url.Values
		wantBasic bool
	}{
		{
			name:      "query auth",
			req:       Request{Method: http.MethodGet, Path: "/ni/basic/json", Query: url.Values{"number": {"447700900000"}}, Auth: AuthQuery},
			wantQuery: url.Values{"number": {"447700900000"}, "api_key": {testKey}, "api_secret": {testSecret}},
		},
		{
			name:      "form auth keeps secret out of URL",
			req:       Request{Method: http.MethodPost, Path: "number/buy", Form: url.Values{"country": {"GB"}}, Auth: AuthForm},
			wantQuery: url.Values{},
			wantForm:  url.Values{"country": {"GB"}, "api_key": {testKey}, "api_secret": {testSecret}},
		},
		{
			name:      "basic auth",
			req:       Request{Method: http.MethodGet, Path: "/x", Auth: AuthBasic},
			wantQuery: url.Values{},
			wantBasic: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mt := httpmock.NewMockTransport()
			var gotQuery, gotForm url.Values
			var gotUA, gotCT, gotPath string
			var basicOK bool
			mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
				gotPath = r.URL.Path
				gotQuery = r.URL.Query()
				gotUA = r.Header.Get("User-Agent")
				gotCT = r.Header.Get("Content-Type")
				if r.Body != nil {
					b, _ := io.ReadAll(r.Body)
					gotForm, _ = url.ParseQuery(string(b))
					if len(gotForm) == 0 {
						gotForm = nil
					}
				}
				u, p, ok := r.BasicAuth()
				basicOK = ok && u == testKey && p == testSecret
				return httpmock.NewStringResponse(200, `{"ok":true}`), nil
			})
			c, _ := newTestClient(t, mt, nil)
			original := cloneValues(tt.req.Form)
			var out payload
			if err := c.Do(context.Background(), &tt.req, &out); err != nil {
				t.Fatalf("Do: %v", err)
			}
			if !out.OK {
				t.Error("body not decoded")
			}
			if diff := cmp.Diff(tt.wantQuery, gotQuery); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantForm, gotForm); diff != "" {
				t.Errorf("form (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(original, tt.req.Form); diff != "" {
				t.Errorf("caller's form mutated (-want +got):\n%s", diff)
			}
			if tt.wantForm != nil && gotCT != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type = %q", gotCT)
			}
			if basicOK != tt.wantBasic {
				t.Errorf("basic auth = %v, want %v", basicOK, tt.wantBasic)
			}
			if gotUA != "voiceproxy-go/"+Version {
				t.Errorf("User-Agent = %q", gotUA)
			}
			if !strings.HasPrefix(gotPath, "/") || strings.Contains(gotPath, "//") {
				t.Errorf("path = %q", gotPath)
			}
		})
	}
}

func TestRetryThenSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		first  httpmock.Responder
	}{
		{"GET after 503", http.MethodGet, httpmock.NewStringResponder(503, "busy")},
		{"GET after 500", http.MethodGet, httpmock.NewStringResponder(500, "oops")},
		{"GET after connection reset", http.MethodGet, httpmock.NewErrorResponder(errors.New("connection reset by peer"))},
		{"POST after 429", http.MethodPost, httpmock.NewStringResponder(429, "slow down")},
		{"POST after dial error", http.MethodPost, httpmock.NewErrorResponder(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")})},
		{"POST after DNS error", http.MethodPost, httpmock.NewErrorResponder(&net.DNSError{Err: "no such host", Name: "api.example.test"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mt := httpmock.NewMockTransport()
			mt.RegisterResponder(tt.method, testBase+"/r", mocktest.Sequence(tt.first, tt.first, httpmock.NewStringResponder(200, `{"ok":true,"name":"x"}`)))
			c, rec := newTestClient(t, mt, nil)
			var out payload
			err := c.Do(context.Background(), &Request{Method: tt.method, Path: "/r", Auth: AuthForm}, &out)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if diff := cmp.Diff(payload{OK: true, Name: "x"}, out); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
			mocktest.WantCalls(t, mt, 3)
			waits := rec.Waits()
			if len(waits) != 2 {
				t.Fatalf("waits = %v, want 2", waits)
			}
			for i, w := range waits {
				if ceiling := 100 * time.Millisecond << i; w < 0 || w > ceiling {
					t.Errorf("wait %d = %v, outside [0, %v]", i, w, ceiling)
				}
			}
		})
	}
}

func TestRetryExhausted(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, testBase+"/r", httpmock.NewStringResponder(502, "bad gateway"))
	c, rec := newTestClient(t, mt, nil)
	err := c.Do(context.Background(), &Request{Method: http.MethodGet, Path: "/r", Auth: AuthQuery}, nil)
	var he *HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("err = %v, want *HTTPError", err)
	}
	want := &HTTPError{StatusCode: 502, Method: "GET", URL: testBase + "/r?api_key=" + testKey + "&api_secret=REDACTED", Body: "bad gateway"}
	if diff := cmp.Diff(want, he); diff != "" {
		t.Errorf("HTTPError (-want +got):\n%s", diff)
	}
	if n := mt.GetTotalCallCount(); n != 4 {
		t.Errorf("calls = %d, want 4 (1 + 3 retries)", n)
	}
	if n := len(rec.Waits()); n != 3 {
		t.Errorf("waits = %d, want 3", n)
	}
}

func TestNoRetries(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, testBase+"/r", httpmock.NewStringResponder(503, ""))
	c, _ := newTestClient(t, mt, func(cfg *Config) { cfg.Retry.MaxRetries = NoRetries })
	if err := c.Do(context.Background(), &Request{Method: http.MethodGet, Path: "/r"}, nil); err == nil {
		t.Fatal("want error")
	}
	mocktest.WantCalls(t, mt, 1)
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name      string
		header    string
		wantWaits []time.Duration
		wantCalls int
	}{
		{"seconds", "7", []time.Duration{7 * time.Second}, 2},
		{"http date", now.Add(12 * time.Second).Format(http.TimeFormat), []time.Duration{12 * time.Second}, 2},
		{"date in past", now.Add(-time.Minute).Format(http.TimeFormat), []time.Duration{0}, 2},
		{"too long gives up", "3600", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mt := httpmock.NewMockTransport()
			throttled := httpmock.NewStringResponder(429, "").HeaderSet(http.Header{"Retry-After": {tt.header}})
			mt.RegisterResponder(http.MethodPost, testBase+"/r", mocktest.Sequence(throttled, httpmock.NewStringResponder(200, `{}`)))
			c, rec := newTestClient(t, mt, func(cfg *Config) { cfg.Now = func() time.Time { return now } })
			err := c.Do(context.Background(), &Request{Method: http.MethodPost, Path: "/r", Auth: AuthForm}, nil)
			if tt.wantCalls == 2 && err != nil {
				t.Fatalf("Do: %v", err)
			}
			if tt.wantCalls == 1 {
				var he *HTTPError
				if !errors.As(err, &he) || he.StatusCode != 429 {
					t.Fatalf("err = %v, want HTTP 429", err)
				}
			}
			if diff := cmp.Diff(tt.wantWaits, rec.Waits()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			mocktest.WantCalls(t, mt, tt.wantCalls)
		})
	}
}

func TestNonIdempotentNotRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		resp httpmock.Responder
	}{
		{"500", httpmock.NewStringResponder(500, "")},
		{"503", httpmock.NewStringResponder(503, "")},
		{"timeout after sending", httpmock.NewErrorResponder(timeoutErr{})},
		{"connection reset", httpmock.NewErrorResponder(errors.New("read: connection reset by peer"))},
		{"read error on write", httpmock.NewErrorResponder(&net.OpError{Op: "write", Net: "tcp", Err: errors.New("broken pipe")})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mt := httpmock.NewMockTransport()
			mt.RegisterResponder(http.MethodPost, testBase+"/buy", tt.resp)
			c, rec := newTestClient(t, mt, nil)
			err := c.Do(context.Background(), &Request{Method: http.MethodPost, Path: "/buy", Auth: AuthForm}, nil)
			if err == nil {
				t.Fatal("want error")
			}
			mocktest.WantCalls(t, mt, 1)
			if len(rec.Waits()) != 0 {
				t.Errorf("slept %v", rec.Waits())
			}
		})
	}
	t.Run("idempotent POST is retried on 5xx", func(t *testing.T) {
		t.Parallel()
		mt := httpmock.NewMockTransport()
		mt.RegisterResponder(http.MethodPost, testBase+"/update", mocktest.Sequence(httpmock.NewStringResponder(500, ""), httpmock.NewStringResponder(200, "")))
		c, _ := newTestClient(t, mt, nil)
		if err := c.Do(context.Background(), &Request{Method: http.MethodPost, Path: "/update", Idempotent: true}, nil); err != nil {
			t.Fatalf("Do: %v", err)
		}
		mocktest.WantCalls(t, mt, 2)
	})
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

type apiErr struct{ status string }

func (e *apiErr) Error() string { return "api status " + e.status }

func TestCheckHook(t *testing.T) {
	t.Parallel()
	check := func(r *Response) error {
		if strings.Contains(string(r.Body), `"status":"1"`) {
			return Retryable(&apiErr{status: "1"})
		}
		if strings.Contains(string(r.Body), `"status":"2"`) {
			return &apiErr{status: "2"}
		}
		return nil
	}
	t.Run("throttled body retried even when not idempotent", func(t *testing.T) {
		t.Parallel()
		mt := httpmock.NewMockTransport()
		mt.RegisterResponder(http.MethodPost, testBase+"/send", mocktest.Sequence(
			httpmock.NewStringResponder(200, `{"status":"1"}`),
			httpmock.NewStringResponder(200, `{"status":"0","name":"sent"}`)))
		c, _ := newTestClient(t, mt, nil)
		var out payload
		if err := c.Do(context.Background(), &Request{Method: http.MethodPost, Path: "/send", Check: check}, &out); err != nil {
			t.Fatalf("Do: %v", err)
		}
		if out.Name != "sent" || mt.GetTotalCallCount() != 2 {
			t.Errorf("out = %+v, calls = %d", out, mt.GetTotalCallCount())
		}
	})
	t.Run("throttled exhausted returns unmarked API error", func(t *testing.T) {
		t.Parallel()
		mt := httpmock.NewMockTransport()
		mt.RegisterResponder(http.MethodPost, testBase+"/send", httpmock.NewStringResponder(200, `{"status":"1"}`))
		c, _ := newTestClient(t, mt, nil)
		err := c.Do(context.Background(), &Request{Method: http.MethodPost, Path: "/send", Check: check}, nil)
		ae, ok := err.(*apiErr)
		if !ok || ae.status != "1" {
			t.Fatalf("err = %#v, want *apiErr status 1 at top level", err)
		}
		if IsRetryable(err) {
			t.Error("Retryable mark leaked to caller")
		}
		mocktest.WantCalls(t, mt, 4)
	})
	t.Run("permanent API error not retried", func(t *testing.T) {
		t.Parallel()
		mt := httpmock.NewMockTransport()
		mt.RegisterResponder(http.MethodGet, testBase+"/q", httpmock.NewStringResponder(200, `{"status":"2"}`))
		c, _ := newTestClient(t, mt, nil)
		var ae *apiErr
		err := c.Do(context.Background(), &Request{Method: http.MethodGet, Path: "/q", Check: check}, nil)
		if !errors.As(err, &ae) || ae.status != "2" {
			t.Fatalf("err = %v", err)
		}
		mocktest.WantCalls(t, mt, 1)
	})
	t.Run("check sees non-2xx and status rule still retries", func(t *testing.T) {
		t.Parallel()
		mt := httpmock.NewMockTransport()
		mt.RegisterResponder(http.MethodGet, testBase+"/q", httpmock.NewStringResponder(503, `{"status":"2"}`))
		c, _ := newTestClient(t, mt, nil)
		var ae *apiErr
		err := c.Do(context.Background(), &Request{Method: http.MethodGet, Path: "/q", Check: check}, nil)
		if !errors.As(err, &ae) {
			t.Fatalf("err = %v, want *apiErr", err)
		}
		mocktest.WantCalls(t, mt, 4)
	})
}

func TestDecodeError(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, testBase+"/r", httpmock.NewStringResponder(200, `{"ok":"notabool"`))
	c, _ := newTestClient(t, mt, nil)
	var out payload
	err := c.Do(context.Background(), &Request{Method: http.MethodGet, Path: "/r", Auth: AuthQuery}, &out)
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want *DecodeError", err)
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Errorf("secret in %q", err)
	}
	mocktest.WantCalls(t, mt, 1)
}

func TestContextCancelledMidBackoff(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, testBase+"/r", func(*http.Request) (*http.Response, error) {
		// Cancel while the client is about to wait an hour.
		go func() { time.Sleep(20 * time.Millisecond); cancel() }()
		return httpmock.NewStringResponse(503, ""), nil
	})
	// The real timer-based sleep: the wait must end with the context.
	c, err := New(Config{
		BaseURL: testBase, APIKey: testKey, APISecret: testSecret,
		HTTPClient: &http.Client{Transport: mt},
		Retry:      RetryPolicy{MaxRetries: 5, BaseDelay: time.Hour, MaxDelay: time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Do(ctx, &Request{Method: http.MethodGet, Path: "/r"}, nil) }()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("err = %#v, want context.Canceled itself", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Do did not return after cancel")
	}
	mocktest.WantCalls(t, mt, 1)
}

func TestWaitBeyondDeadlineReturnsLastError(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(httpmock.NewStringResponder(429, "").HeaderSet(http.Header{"Retry-After": {"20"}}))
	c, rec := newTestClient(t, mt, func(cfg *Config) {
		// Pretend 50 s of the minute have already passed.
		cfg.Now = func() time.Time { return time.Now().Add(50 * time.Second) }
	})
	err := c.Do(ctx, &Request{Method: http.MethodPost, Path: "/r"}, nil)
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 429 {
		t.Fatalf("err = %v, want the HTTP 429", err)
	}
	if len(rec.Waits()) != 0 || mt.GetTotalCallCount() != 1 {
		t.Errorf("slept %v, calls %d; want no sleep, 1 call", rec.Waits(), mt.GetTotalCallCount())
	}
}

func TestContextErrNotTransportError(t *testing.T) {
	t.Parallel()
	t.Run("already cancelled", func(t *testing.T) {
		t.Parallel()
		mt := httpmock.NewMockTransport()
		mt.RegisterNoResponder(httpmock.NewStringResponder(200, ""))
		c, _ := newTestClient(t, mt, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := c.Do(ctx, &Request{Path: "/r"}, nil); err != context.Canceled {
			t.Fatalf("err = %v", err)
		}
		mocktest.WantCalls(t, mt, 0)
	})
	t.Run("deadline during request", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		mt := httpmock.NewMockTransport()
		mt.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
			<-r.Context().Done()
			return nil, fmt.Errorf("transport gave up on %s: %w", r.URL, r.Context().Err())
		})
		c, _ := newTestClient(t, mt, nil)
		err := c.Do(ctx, &Request{Path: "/r", Auth: AuthQuery}, nil)
		if err != context.DeadlineExceeded {
			t.Fatalf("err = %#v, want context.DeadlineExceeded itself", err)
		}
	})
}

func TestSecretNeverInErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		auth AuthMode
		resp httpmock.Responder
	}{
		{"transport error with query secret", AuthQuery, httpmock.NewErrorResponder(errors.New("connection refused"))},
		{"transport error quoting secret", AuthForm, httpmock.NewErrorResponder(errors.New("proxy said: bad secret " + testSecret))},
		{"http error echoing secret", AuthQuery, httpmock.NewStringResponder(401, `{"error":"bad api_secret `+testSecret+`"}`)},
		{"timeout", AuthQuery, httpmock.NewErrorResponder(timeoutErr{})},
		{"decode error", AuthQuery, httpmock.NewStringResponder(200, `not json `+testSecret)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mt := httpmock.NewMockTransport()
			mt.RegisterNoResponder(tt.resp)
			c, _ := newTestClient(t, mt, func(cfg *Config) { cfg.Retry.MaxRetries = NoRetries })
			var out payload
			err := c.Do(context.Background(), &Request{Method: http.MethodGet, Path: "/ni/basic/json", Auth: tt.auth}, &out)
			if err == nil {
				t.Fatal("want error")
			}
			if msg := err.Error(); strings.Contains(msg, testSecret) {
				t.Errorf("secret in error: %q", msg)
			}
			var ue *url.Error
			if errors.As(err, &ue) && strings.Contains(ue.URL, testSecret) {
				t.Errorf("secret in url.Error URL: %q", ue.URL)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"https://h/p?api_key=k&api_secret=s", "https://h/p?api_key=k&api_secret=REDACTED"},
		{"https://h/p?sig=abc&to=447700900000", "https://h/p?sig=REDACTED&to=447700900000"},
		{"https://h/p?API_SECRET=s", "https://h/p?API_SECRET=REDACTED"},
		{"https://u:pw@h/p", "https://u:REDACTED@h/p"},
		{"https://h/p?number=1", "https://h/p?number=1"},
		{"https://h/p?a=%zz&api_secret=s", "https://h/p?REDACTED"},
		{"https://h/p", "https://h/p"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := RedactURLString(tt.in); got != tt.want {
				t.Errorf("RedactURLString(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if RedactURL(nil) != "" {
		t.Error("RedactURL(nil) not empty")
	}
}

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	p, err := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	for attempt := range 70 {
		ceiling := time.Second
		if attempt < 4 {
			ceiling = 100 * time.Millisecond << attempt
		}
		for range 20 {
			if d := p.backoff(attempt); d < 0 || d > ceiling {
				t.Fatalf("backoff(%d) = %v, outside [0, %v]", attempt, d, ceiling)
			}
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 3 ", 3 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"99999999999", 24 * time.Hour, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 300) // 600 bytes
	got := truncate([]byte(long), maxErrorBody)
	if !strings.HasSuffix(got, "…") || len(got) > maxErrorBody+len("…") {
		t.Errorf("truncate length %d", len(got))
	}
	if strings.ContainsRune(strings.TrimSuffix(got, "…"), '\uFFFD') {
		t.Error("cut inside a rune")
	}
}
