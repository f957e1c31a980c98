package numbers_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"

	"github.com/voiceproxy/voiceproxy/internal/mocktest"
	"github.com/voiceproxy/voiceproxy/numbers"
)

const (
	key    = "k3y"
	secret = "topSecretValue"
	base   = "https://rest.nexmo.com"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	return string(mocktest.Fixture(t, "numbers", name))
}

// seen is one request as the server saw it.
type seen struct {
	Method string
	Path   string
	Query  url.Values
	Form   url.Values
	Auth   string
}

// seenBy returns the requests rec recorded as these tests compare them.
func seenBy(rec *mocktest.Recorder) []seen {
	var out []seen
	for _, r := range rec.Requests() {
		out = append(out, seen{Method: r.Method, Path: r.Path, Query: r.Query, Form: r.Form, Auth: r.Header.Get("Authorization")})
	}
	return out
}

func newClient(t *testing.T, mt *httpmock.MockTransport, opts ...numbers.Option) *numbers.Client {
	t.Helper()
	opts = append([]numbers.Option{numbers.WithHTTPClient(&http.Client{Transport: mt}), numbers.WithSleep(mocktest.NoSleep)}, opts...)
	c, err := numbers.NewClient(key, secret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// creds are the credential parameters every request carries.
func creds(extra url.Values) url.Values {
	v := url.Values{"api_key": {key}, "api_secret": {secret}}
	for k, vs := range extra {
		v[k] = vs
	}
	return v
}

func ptr[T any](v T) *T { return &v }

func TestRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		method  string
		path    string
		fixture string
		call    func(context.Context, *numbers.Client) (any, error)
		want    seen
		wantOut any
	}{
		{
			name: "search with every option", method: http.MethodGet, path: "/number/search", fixture: "search.json",
			call: func(ctx context.Context, c *numbers.Client) (any, error) {
				return c.Search(ctx, "gb", numbers.SearchOptions{
					Type: numbers.TypeMobileLVN, Pattern: "7700", SearchPattern: numbers.SearchContains,
					Features: []string{"voice", "SMS"}, Size: 50, Index: 2,
				})
			},
			want: seen{Method: "GET", Path: "/number/search", Query: creds(url.Values{
				"country": {"GB"}, "type": {"mobile-lvn"}, "pattern": {"7700"}, "search_pattern": {"1"},
				"features": {"SMS,VOICE"}, "size": {"50"}, "index": {"2"},
			})},
			wantOut: &numbers.SearchResult{Count: 1234, Numbers: []numbers.AvailableNumber{
				{Country: "GB", MSISDN: "447700900000", Type: "mobile-lvn", Cost: "1.25", Features: []string{"VOICE", "SMS"}},
				{Country: "GB", MSISDN: "447700900001", Type: "mobile-lvn", Cost: "1.25", Features: []string{"VOICE", "SMS", "MMS"}},
			}},
		},
		{
			name: "search minimal, starts-with pattern sent as 0", method: http.MethodGet, path: "/number/search", fixture: "search.json",
			call: func(ctx context.Context, c *numbers.Client) (any, error) {
				r, err := c.Search(ctx, "US", numbers.SearchOptions{Pattern: "1415", Features: []string{"MMS", "VOICE"}})
				if err != nil {
					return nil, err
				}
				return r.Count, nil
			},
			want: seen{Method: "GET", Path: "/number/search", Query: creds(url.Values{
				"country": {"US"}, "pattern": {"1415"}, "search_pattern": {"0"}, "features": {"VOICE,MMS"},
			})},
			wantOut: 1234,
		},
		{
			name: "buy", method: http.MethodPost, path: "/number/buy", fixture: "success.json",
			call: func(ctx context.Context, c *numbers.Client) (any, error) {
				return nil, c.Buy(ctx, "GB", "+447700900000")
			},
			// Credentials in the query for every operation, as the API
			// description's security schemes say.
			want: seen{Method: "POST", Path: "/number/buy", Query: creds(nil),
				Form: url.Values{"country": {"GB"}, "msisdn": {"447700900000"}}},
		},
		{
			name: "buy for a subaccount", method: http.MethodPost, path: "/number/buy", fixture: "success.json",
			call: func(ctx context.Context, c *numbers.Client) (any, error) {
				return nil, c.Buy(ctx, "GB", "447700900000", numbers.ForSubaccount("1a2345b7"))
			},
			want: seen{Method: "POST", Path: "/number/buy", Query: creds(nil),
				Form: url.Values{"country": {"GB"}, "msisdn": {"447700900000"}, "target_api_key": {"1a2345b7"}}},
		},
		{
			name: "cancel", method: http.MethodPost, path: "/number/cancel", fixture: "success.json",
			call: func(ctx context.Context, c *numbers.Client) (any, error) {
				return nil, c.Cancel(ctx, "gb", "447700900000")
			},
			want: seen{Method: "POST", Path: "/number/cancel", Query: creds(nil),
				Form: url.Values{"country": {"GB"}, "msisdn": {"447700900000"}}},
		},
		{
			name: "cancel for a subaccount", method: http.MethodPost, path: "/number/cancel", fixture: "success.json",
			call: func(ctx context.Context, c *numbers.Client) (any, error) {
				return nil, c.Cancel(ctx, "GB", "447700900000", numbers.ForSubaccount("1a2345b7"))
			},
			want: seen{Method: "POST", Path: "/number/cancel", Query: creds(nil),
				Form: url.Values{"country": {"GB"}, "msisdn": {"447700900000"}, "target_api_key": {"1a2345b7"}}},
		},
		{
			name: "update with every field", method: http.MethodPost, path: "/number/update", fixture: "success.json",
			call: func(ctx context.Context, c *numbers.Client) (any, error) {
				return nil, c.Update(ctx, numbers.UpdateRequest{
					Country: "GB", MSISDN: "447700900000",
					AppID:                 "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
					MoHTTPURL:             "https://example.com/webhooks/inbound-sms",
					MoSMPPSysType:         "inbound",
					VoiceCallbackType:     "tel",
					VoiceCallbackValue:    "447700900001",
					VoiceStatusCallback:   "https://example.com/webhooks/status",
					MessagesCallbackType:  "app",
					MessagesCallbackValue: "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
				})
			},
			want: seen{Method: "POST", Path: "/number/update", Query: creds(nil), Form: url.Values{
				"country": {"GB"}, "msisdn": {"447700900000"},
				"app_id":                {"aaaaaaaa-bbbb-cccc-dddd-0123456789ab"},
				"moHttpUrl":             {"https://example.com/webhooks/inbound-sms"},
				"moSmppSysType":         {"inbound"},
				"voiceCallbackType":     {"tel"},
				"voiceCallbackValue":    {"447700900001"},
				"voiceStatusCallback":   {"https://example.com/webhooks/status"},
				"messagesCallbackType":  {"app"},
				"messagesCallbackValue": {"aaaaaaaa-bbbb-cccc-dddd-0123456789ab"},
			}},
		},
		{
			name: "update link to application only, empty fields omitted", method: http.MethodPost, path: "/number/update", fixture: "success.json",
			call: func(ctx context.Context, c *numbers.Client) (any, error) {
				return nil, c.Update(ctx, numbers.UpdateRequest{Country: "GB", MSISDN: "447700900000", AppID: "app-1"})
			},
			want: seen{Method: "POST", Path: "/number/update", Query: creds(nil),
				Form: url.Values{"country": {"GB"}, "msisdn": {"447700900000"}, "app_id": {"app-1"}}},
		},
		{
			name: "update clears the inbound-SMS webhook", method: http.MethodPost, path: "/number/update", fixture: "success.json",
			call: func(ctx context.Context, c *numbers.Client) (any, error) {
				return nil, c.Update(ctx, numbers.UpdateRequest{Country: "GB", MSISDN: "447700900000", ClearMoHTTPURL: true})
			},
			want: seen{Method: "POST", Path: "/number/update", Query: creds(nil),
				Form: url.Values{"country": {"GB"}, "msisdn": {"447700900000"}, "moHttpUrl": {""}}},
		},
		{
			name: "list with every option", method: http.MethodGet, path: "/account/numbers", fixture: "list.json",
			call: func(ctx context.Context, c *numbers.Client) (any, error) {
				return c.List(ctx, numbers.ListOptions{
					ApplicationID: "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", HasApplication: ptr(false),
					Country: "gb", Pattern: "0000", SearchPattern: numbers.SearchEndsWith, Size: 10, Index: 3,
				})
			},
			want: seen{Method: "GET", Path: "/account/numbers", Query: creds(url.Values{
				"application_id": {"aaaaaaaa-bbbb-cccc-dddd-0123456789ab"}, "has_application": {"false"},
				"country": {"GB"}, "pattern": {"0000"}, "search_pattern": {"2"}, "size": {"10"}, "index": {"3"},
			})},
			wantOut: &numbers.ListResult{Count: 2, Numbers: []numbers.OwnedNumber{
				{
					Country: "GB", MSISDN: "447700900000", Type: "mobile-lvn", Features: []string{"VOICE", "SMS"},
					AppID:                 "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
					MoHTTPURL:             "https://example.com/webhooks/inbound-sms",
					VoiceCallbackType:     "app",
					VoiceCallbackValue:    "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
					VoiceStatusCallback:   "https://example.com/webhooks/status",
					MessagesCallbackType:  "app",
					MessagesCallbackValue: "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
				},
				{Country: "US", MSISDN: "14155550100", Type: "landline", Features: []string{"VOICE"}},
			}},
		},
		{
			name: "list without filters", method: http.MethodGet, path: "/account/numbers", fixture: "list_empty.json",
			call: func(ctx context.Context, c *numbers.Client) (any, error) {
				return c.List(ctx, numbers.ListOptions{HasApplication: ptr(true)})
			},
			want:    seen{Method: "GET", Path: "/account/numbers", Query: creds(url.Values{"has_application": {"true"}})},
			wantOut: &numbers.ListResult{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mt := httpmock.NewMockTransport()
			rec := &mocktest.Recorder{}
			mt.RegisterResponder(tt.method, base+tt.path, rec.Wrap(httpmock.NewStringResponder(200, fixture(t, tt.fixture))))
			out, err := tt.call(context.Background(), newClient(t, mt))
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if diff := cmp.Diff(tt.wantOut, out); tt.wantOut != nil && diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]seen{tt.want}, seenBy(rec)); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBasicAuth(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	rec := &mocktest.Recorder{}
	mt.RegisterResponder(http.MethodPost, base+"/number/buy", rec.Wrap(httpmock.NewStringResponder(200, fixture(t, "success.json"))))
	if err := newClient(t, mt, numbers.WithBasicAuth()).Buy(context.Background(), "GB", "447700900000"); err != nil {
		t.Fatal(err)
	}
	want := []seen{{Method: "POST", Path: "/number/buy", Query: url.Values{},
		Form: url.Values{"country": {"GB"}, "msisdn": {"447700900000"}},
		Auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"+secret))}}
	if diff := cmp.Diff(want, seenBy(rec)); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	sentinels := []error{numbers.ErrInvalidRequest, numbers.ErrAuth, numbers.ErrMethodFailed, numbers.ErrThrottled, numbers.ErrServer}
	calls := map[string]func(context.Context, *numbers.Client) error{
		"GET /number/search": func(ctx context.Context, c *numbers.Client) error {
			_, err := c.Search(ctx, "GB", numbers.SearchOptions{})
			return err
		},
		"POST /number/buy": func(ctx context.Context, c *numbers.Client) error {
			return c.Buy(ctx, "GB", "447700900000")
		},
		"POST /number/cancel": func(ctx context.Context, c *numbers.Client) error {
			return c.Cancel(ctx, "GB", "447700900000")
		},
		"POST /number/update": func(ctx context.Context, c *numbers.Client) error {
			return c.Update(ctx, numbers.UpdateRequest{Country: "GB", MSISDN: "447700900000", AppID: "x"})
		},
		"GET /account/numbers": func(ctx context.Context, c *numbers.Client) error {
			_, err := c.List(ctx, numbers.ListOptions{})
			return err
		},
	}
	tests := []struct {
		name       string
		httpStatus int
		body       string
		want       numbers.Error
		sentinel   error
	}{
		{"401 documented body", 401, fixture(t, "unauthorized.json"), numbers.Error{HTTPStatus: 401, Code: "401", Label: "authentication failed"}, numbers.ErrAuth},
		{"401 inside HTTP 200", 200, fixture(t, "unauthorized.json"), numbers.Error{HTTPStatus: 200, Code: "401", Label: "authentication failed"}, numbers.ErrAuth},
		{"420 method failed", 420, fixture(t, "method_failed.json"), numbers.Error{HTTPStatus: 420, Code: "420",
			Label: "Numbers from this country can be requested from the Dashboard (https://dashboard.nexmo.com/buy-numbers) as they require a valid local address to be provided before being purchased."}, numbers.ErrMethodFailed},
		{"420 inside HTTP 200", 200, `{"error-code":420,"error-code-label":"method failed"}`, numbers.Error{HTTPStatus: 200, Code: "420", Label: "method failed"}, numbers.ErrMethodFailed},
		{"400 bad request", 400, fixture(t, "bad_request.json"), numbers.Error{HTTPStatus: 400, Code: "400", Label: "missing parameter msisdn"}, numbers.ErrInvalidRequest},
		{"403 without body", 403, ``, numbers.Error{HTTPStatus: 403, Code: "403"}, numbers.ErrAuth},
		{"404 plain text", 404, `not found`, numbers.Error{HTTPStatus: 404, Code: "404", Label: "not found"}, nil},
	}
	for _, tt := range tests {
		for name, call := range calls {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				method, path, _ := strings.Cut(name, " ")
				mt := httpmock.NewMockTransport()
				mt.RegisterResponder(method, base+path, httpmock.NewStringResponder(tt.httpStatus, tt.body))
				err := call(context.Background(), newClient(t, mt))
				var ne *numbers.Error
				if !errors.As(err, &ne) {
					t.Fatalf("err = %v, want *numbers.Error", err)
				}
				if diff := cmp.Diff(tt.want, *ne, cmp.Comparer(func(a, b numbers.Error) bool {
					return a.HTTPStatus == b.HTTPStatus && a.Code == b.Code && a.Label == b.Label
				})); diff != "" {
					t.Errorf("Error (-want +got):\n%s", diff)
				}
				for _, s := range sentinels {
					if got, want := errors.Is(err, s), s == tt.sentinel; got != want {
						t.Errorf("errors.Is(err, %v) = %v, want %v", s, got, want)
					}
				}
				mocktest.WantCalls(t, mt, 1)
				if strings.Contains(err.Error(), secret) {
					t.Errorf("secret in %q", err)
				}
			})
		}
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	ok := httpmock.NewStringResponder(200, `{"error-code":"200","error-code-label":"success"}`)
	throttledBody := httpmock.NewStringResponder(200, `{"error-code":"429","error-code-label":"too many requests"}`)
	throttledHTTP := httpmock.NewStringResponder(429, `{"error-code":"429","error-code-label":"too many requests"}`)
	server := httpmock.NewStringResponder(503, `unavailable`)
	dial := httpmock.NewErrorResponder(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")})
	reset := httpmock.NewErrorResponder(errors.New("read: connection reset by peer"))
	buy := func(ctx context.Context, c *numbers.Client) error { return c.Buy(ctx, "GB", "447700900000") }
	cancel := func(ctx context.Context, c *numbers.Client) error { return c.Cancel(ctx, "GB", "447700900000") }
	update := func(ctx context.Context, c *numbers.Client) error {
		return c.Update(ctx, numbers.UpdateRequest{Country: "GB", MSISDN: "447700900000", AppID: "x"})
	}
	search := func(ctx context.Context, c *numbers.Client) error {
		_, err := c.Search(ctx, "GB", numbers.SearchOptions{})
		return err
	}
	tests := []struct {
		name      string
		method    string
		path      string
		call      func(context.Context, *numbers.Client) error
		responses []httpmock.Responder
		wantErr   error // nil: success
		wantCalls int
	}{
		{"search 503 then success", "GET", "/number/search", search, []httpmock.Responder{server, httpmock.NewStringResponder(200, `{"count":0}`)}, nil, 2},
		{"search 503 exhausted", "GET", "/number/search", search, []httpmock.Responder{server}, numbers.ErrServer, 3},
		{"search reset then success", "GET", "/number/search", search, []httpmock.Responder{reset, httpmock.NewStringResponder(200, `{"count":0}`)}, nil, 2},
		{"update 503 then success", "POST", "/number/update", update, []httpmock.Responder{server, ok}, nil, 2},
		{"buy 429 then success", "POST", "/number/buy", buy, []httpmock.Responder{throttledHTTP, ok}, nil, 2},
		{"buy 429 in body then success", "POST", "/number/buy", buy, []httpmock.Responder{throttledBody, ok}, nil, 2},
		{"buy dial error then success", "POST", "/number/buy", buy, []httpmock.Responder{dial, ok}, nil, 2},
		{"buy 429 exhausted", "POST", "/number/buy", buy, []httpmock.Responder{throttledBody}, numbers.ErrThrottled, 3},
		{"buy 503 not retried", "POST", "/number/buy", buy, []httpmock.Responder{server, ok}, numbers.ErrServer, 1},
		{"buy reset not retried", "POST", "/number/buy", buy, []httpmock.Responder{reset, ok}, nil, 1},
		{"cancel 500 not retried", "POST", "/number/cancel", cancel, []httpmock.Responder{httpmock.NewStringResponder(500, ""), ok}, numbers.ErrServer, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mt := httpmock.NewMockTransport()
			mt.RegisterResponder(tt.method, base+tt.path, mocktest.Sequence(tt.responses...))
			err := tt.call(context.Background(), newClient(t, mt, numbers.WithMaxRetries(2)))
			switch {
			case tt.wantCalls == 1 && tt.wantErr == nil:
				// A transport failure after sending: some error, not a retry.
				if err == nil {
					t.Fatal("want error")
				}
			case tt.wantErr == nil:
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			default:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			}
			mocktest.WantCalls(t, mt, tt.wantCalls)
		})
	}
}

func TestContextCancelledMidBackoff(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"search", "buy"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			mt := httpmock.NewMockTransport()
			mt.RegisterNoResponder(httpmock.NewStringResponder(429, `{"error-code":"429","error-code-label":"throttled"}`))
			sleep := &mocktest.Sleeper{Cancel: cancel}
			c, err := numbers.NewClient(key, secret, numbers.WithHTTPClient(&http.Client{Transport: mt}), numbers.WithSleep(sleep.Sleep))
			if err != nil {
				t.Fatal(err)
			}
			if name == "search" {
				_, err = c.Search(ctx, "GB", numbers.SearchOptions{})
			} else {
				err = c.Buy(ctx, "GB", "447700900000")
			}
			if err != context.Canceled {
				t.Fatalf("err = %#v, want context.Canceled itself", err)
			}
			if sleep.Count() != 1 || mt.GetTotalCallCount() != 1 {
				t.Errorf("slept %d, calls %d; want 1 and 1", sleep.Count(), mt.GetTotalCallCount())
			}
		})
	}
}

// pager serves owned numbers like Vonage: count, and page index of size.
func pager(total int, numbersFor func(index, size int) []numbers.OwnedNumber) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		q := req.URL.Query()
		size, _ := strconv.Atoi(q.Get("size"))
		index, _ := strconv.Atoi(q.Get("index"))
		return httpmock.NewJsonResponse(200, numbers.ListResult{Count: total, Numbers: numbersFor(index, size)})
	}
}

func owned(i int) numbers.OwnedNumber {
	return numbers.OwnedNumber{Country: "GB", MSISDN: fmt.Sprintf("4477009%05d", i), Type: "mobile-lvn", Features: []string{"VOICE", "SMS"}}
}

func slice(total int) func(index, size int) []numbers.OwnedNumber {
	return func(index, size int) []numbers.OwnedNumber {
		var out []numbers.OwnedNumber
		for i := (index - 1) * size; i < min(index*size, total); i++ {
			out = append(out, owned(i))
		}
		return out
	}
}

func TestListAll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      numbers.ListOptions
		responder httpmock.Responder
		wantN     int
		wantErr   error
		wantCalls int
	}{
		{"three pages stop on count", numbers.ListOptions{Size: 10}, pager(25, slice(25)), 25, nil, 3},
		{"exact multiple stops without extra call", numbers.ListOptions{Size: 10}, pager(20, slice(20)), 20, nil, 2},
		{"default size is 100", numbers.ListOptions{}, pager(150, slice(150)), 150, nil, 2},
		{"no numbers", numbers.ListOptions{}, pager(0, slice(0)), 0, nil, 1},
		{"empty page before count", numbers.ListOptions{Size: 10}, pager(30, slice(15)), 15, nil, 3},
		{"server repeats the same page forever", numbers.ListOptions{Size: 10}, pager(30, func(_, _ int) []numbers.OwnedNumber {
			return slice(10)(1, 10)
		}), 0, numbers.ErrPagination, 2},
		{"server count keeps growing", numbers.ListOptions{Size: 1}, func() httpmock.Responder {
			var mu sync.Mutex
			total := 2
			return func(req *http.Request) (*http.Response, error) {
				mu.Lock()
				total += 2
				n := total
				mu.Unlock()
				index, _ := strconv.Atoi(req.URL.Query().Get("index"))
				return httpmock.NewJsonResponse(200, numbers.ListResult{Count: n, Numbers: []numbers.OwnedNumber{owned(index)}})
			}
		}(), 0, numbers.ErrPagination, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mt := httpmock.NewMockTransport()
			mt.RegisterResponder(http.MethodGet, base+"/account/numbers", tt.responder)
			got, err := newClient(t, mt).ListAll(context.Background(), tt.opts)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if len(got) != tt.wantN {
				t.Errorf("len = %d, want %d", len(got), tt.wantN)
			}
			for i, n := range got {
				if n.MSISDN != owned(i).MSISDN {
					t.Fatalf("number %d = %s, want %s", i, n.MSISDN, owned(i).MSISDN)
				}
			}
			mocktest.WantCalls(t, mt, tt.wantCalls)
		})
	}
}

func TestListAllPassesFilters(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	rec := &mocktest.Recorder{}
	mt.RegisterResponder(http.MethodGet, base+"/account/numbers", rec.Wrap(pager(3, slice(3))))
	_, err := newClient(t, mt).ListAll(context.Background(), numbers.ListOptions{ApplicationID: "app-1", Country: "GB", Size: 2})
	if err != nil {
		t.Fatal(err)
	}
	var got []url.Values
	for _, s := range seenBy(rec) {
		got = append(got, s.Query)
	}
	want := []url.Values{
		creds(url.Values{"application_id": {"app-1"}, "country": {"GB"}, "size": {"2"}, "index": {"1"}}),
		creds(url.Values{"application_id": {"app-1"}, "country": {"GB"}, "size": {"2"}, "index": {"2"}}),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
}

func TestListAllError(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, base+"/account/numbers", mocktest.Sequence(
		pager(30, slice(30)),
		httpmock.NewStringResponder(401, fixture(t, "unauthorized.json"))))
	got, err := newClient(t, mt).ListAll(context.Background(), numbers.ListOptions{Size: 10})
	if !errors.Is(err, numbers.ErrAuth) || got != nil {
		t.Fatalf("got %d numbers, err %v; want nil, ErrAuth", len(got), err)
	}
}

func TestInputValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(context.Context, *numbers.Client) error
	}{
		{"search bad country", func(ctx context.Context, c *numbers.Client) error {
			_, err := c.Search(ctx, "GBR", numbers.SearchOptions{})
			return err
		}},
		{"search bad feature", func(ctx context.Context, c *numbers.Client) error {
			_, err := c.Search(ctx, "GB", numbers.SearchOptions{Features: []string{"FAX"}})
			return err
		}},
		{"search size over 100", func(ctx context.Context, c *numbers.Client) error {
			_, err := c.Search(ctx, "GB", numbers.SearchOptions{Size: 101})
			return err
		}},
		{"search pattern mode 3", func(ctx context.Context, c *numbers.Client) error {
			_, err := c.Search(ctx, "GB", numbers.SearchOptions{Pattern: "1", SearchPattern: 3})
			return err
		}},
		{"list search pattern without pattern", func(ctx context.Context, c *numbers.Client) error {
			_, err := c.List(ctx, numbers.ListOptions{SearchPattern: numbers.SearchContains})
			return err
		}},
		{"list negative index", func(ctx context.Context, c *numbers.Client) error {
			_, err := c.List(ctx, numbers.ListOptions{Index: -1})
			return err
		}},
		{"buy msisdn with spaces", func(ctx context.Context, c *numbers.Client) error {
			return c.Buy(ctx, "GB", "44 7700 900000")
		}},
		{"cancel empty country", func(ctx context.Context, c *numbers.Client) error {
			return c.Cancel(ctx, "", "447700900000")
		}},
		{"update voice type without value", func(ctx context.Context, c *numbers.Client) error {
			return c.Update(ctx, numbers.UpdateRequest{Country: "GB", MSISDN: "447700900000", VoiceCallbackType: "tel"})
		}},
		{"update bad voice type", func(ctx context.Context, c *numbers.Client) error {
			return c.Update(ctx, numbers.UpdateRequest{Country: "GB", MSISDN: "447700900000", VoiceCallbackType: "fax", VoiceCallbackValue: "1"})
		}},
		{"update messages value without type", func(ctx context.Context, c *numbers.Client) error {
			return c.Update(ctx, numbers.UpdateRequest{Country: "GB", MSISDN: "447700900000", MessagesCallbackValue: "app"})
		}},
		{"update sets and clears the inbound-SMS webhook", func(ctx context.Context, c *numbers.Client) error {
			return c.Update(ctx, numbers.UpdateRequest{Country: "GB", MSISDN: "447700900000", MoHTTPURL: "https://e.com", ClearMoHTTPURL: true})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mt := httpmock.NewMockTransport()
			err := tt.call(context.Background(), newClient(t, mt))
			if !errors.Is(err, numbers.ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
			mocktest.WantCalls(t, mt, 0)
		})
	}
}

func TestSecretNotInTransportErrors(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(httpmock.NewErrorResponder(errors.New("tls: handshake failure")))
	_, err := newClient(t, mt, numbers.WithMaxRetries(0)).List(context.Background(), numbers.ListOptions{})
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want a *url.Error inside", err)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(ue.URL, secret) {
		t.Errorf("secret leaked: %q", err)
	}
}

func TestNewClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		key, secret string
		opts        []numbers.Option
	}{
		{"empty key", "", "s", nil},
		{"empty secret", "k", "", nil},
		{"nil http client", "k", "s", []numbers.Option{numbers.WithHTTPClient(nil)}},
		{"bad base URL", "k", "s", []numbers.Option{numbers.WithBaseURL("rest.nexmo.com")}},
		{"negative retries", "k", "s", []numbers.Option{numbers.WithMaxRetries(-2)}},
		{"bad backoff", "k", "s", []numbers.Option{numbers.WithBackoff(0, time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := numbers.NewClient(tt.key, tt.secret, tt.opts...)
			if err == nil || c != nil {
				t.Fatalf("NewClient = %v, %v; want error", c, err)
			}
		})
	}
}

func TestOwnedNumberHasFeature(t *testing.T) {
	t.Parallel()
	n := owned(1)
	if !n.HasFeature(numbers.FeatureVoice) || n.HasFeature(numbers.FeatureMMS) {
		t.Errorf("HasFeature wrong for %v", n.Features)
	}
}

// A POST carries the secret in its query string now: errors still never
// show it.
func TestSecretNotInPOSTErrors(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(httpmock.NewErrorResponder(errors.New("connection reset by peer")))
	err := newClient(t, mt, numbers.WithMaxRetries(0)).Buy(context.Background(), "GB", "447700900000")
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("Buy error %q: want an error without the secret", err)
	}
	mt2 := httpmock.NewMockTransport()
	mt2.RegisterNoResponder(httpmock.NewStringResponder(500, `{"error-code":"500","error-code-label":"boom"}`))
	err = newClient(t, mt2, numbers.WithMaxRetries(0)).Update(context.Background(), numbers.UpdateRequest{Country: "GB", MSISDN: "447700900000", AppID: "a"})
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("Update error %q: want an error without the secret", err)
	}
}
