package insight_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"

	"github.com/voiceproxy/voiceproxy/insight"
	"github.com/voiceproxy/voiceproxy/internal/mocktest"
)

const (
	key    = "k3y"
	secret = "topSecretValue"
	base   = "https://api.nexmo.com"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	return string(mocktest.Fixture(t, "insight", name))
}

func newClient(t *testing.T, mt *httpmock.MockTransport, opts ...insight.Option) *insight.Client {
	t.Helper()
	opts = append([]insight.Option{insight.WithHTTPClient(&http.Client{Transport: mt}), insight.WithSleep(mocktest.NoSleep)}, opts...)
	c, err := insight.NewClient(key, secret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLookups(t *testing.T) {
	t.Parallel()
	gb := insight.BasicResponse{
		RequestID:                 "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
		StatusMessage:             "Success",
		InternationalFormatNumber: "447700900000",
		NationalFormatNumber:      "07700 900000",
		CountryCode:               "GB",
		CountryCodeISO3:           "GBR",
		CountryName:               "United Kingdom",
		CountryPrefix:             "44",
	}
	acme := func(code string) *insight.Carrier {
		return &insight.Carrier{NetworkCode: code, Name: "Acme Inc", Country: "GB", NetworkType: "mobile"}
	}
	tests := []struct {
		name      string
		path      string
		fixture   string
		call      func(context.Context, *insight.Client) (any, error)
		wantQuery url.Values
		want      any
	}{
		{
			name:    "basic with country",
			path:    "/ni/basic/json",
			fixture: "basic.json",
			call: func(ctx context.Context, c *insight.Client) (any, error) {
				return c.Basic(ctx, insight.Request{Number: "07700 900000", Country: "gb"})
			},
			wantQuery: url.Values{"number": {"07700 900000"}, "country": {"GB"}},
			want:      &gb,
		},
		{
			name:    "standard with cnam",
			path:    "/ni/standard/json",
			fixture: "standard.json",
			call: func(ctx context.Context, c *insight.Client) (any, error) {
				return c.Standard(ctx, insight.Request{Number: "+1 (415) 555-0100", CNAM: true})
			},
			wantQuery: url.Values{"number": {"+1 (415) 555-0100"}, "cnam": {"true"}},
			want: &insight.StandardResponse{
				BasicResponse: insight.BasicResponse{
					StatusMessage: "Success", RequestID: "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
					InternationalFormatNumber: "14155550100", NationalFormatNumber: "(415) 555-0100",
					CountryCode: "US", CountryCodeISO3: "USA", CountryName: "United States of America", CountryPrefix: "1",
				},
				RequestPrice: "0.04000000", RefundPrice: "0.01500000", RemainingBalance: "1.23456789",
				CurrentCarrier:  &insight.Carrier{NetworkCode: "310090", Name: "Acme Mobile", Country: "US", NetworkType: "mobile"},
				OriginalCarrier: &insight.Carrier{NetworkCode: "310260", Name: "Example Wireless", Country: "US", NetworkType: "mobile"},
				Ported:          "ported",
				CallerIdentity:  &insight.CallerIdentity{CallerType: "consumer", CallerName: "John Smith", FirstName: "John", LastName: "Smith"},
				CallerName:      "John Smith", FirstName: "John", LastName: "Smith", CallerType: "consumer",
			},
		},
		{
			name:    "standard with prices as numbers and nulls",
			path:    "/ni/standard/json",
			fixture: "standard_numeric_prices.json",
			call: func(ctx context.Context, c *insight.Client) (any, error) {
				return c.Standard(ctx, insight.Request{Number: "447700900000"})
			},
			wantQuery: url.Values{"number": {"447700900000"}},
			want: &insight.StandardResponse{
				BasicResponse: func() insight.BasicResponse {
					b := gb
					b.RequestID = "bbbbbbbb-cccc-dddd-eeee-0123456789ab"
					return b
				}(),
				RequestPrice: "0.00500000", RemainingBalance: "12.5",
				OriginalCarrier: &insight.Carrier{Country: "GB", NetworkType: "landline"},
			},
		},
		{
			name:    "advanced with ip",
			path:    "/ni/advanced/json",
			fixture: "advanced.json",
			call: func(ctx context.Context, c *insight.Client) (any, error) {
				return c.Advanced(ctx, insight.Request{Number: "447700900000", Country: "GB", CNAM: true, IP: "123.0.0.255"})
			},
			wantQuery: url.Values{"number": {"447700900000"}, "country": {"GB"}, "cnam": {"true"}, "ip": {"123.0.0.255"}},
			want: &insight.AdvancedResponse{
				StandardResponse: insight.StandardResponse{
					BasicResponse: func() insight.BasicResponse {
						b := gb
						b.RequestID = "cccccccc-dddd-eeee-ffff-0123456789ab"
						return b
					}(),
					RequestPrice: "0.03000000", RefundPrice: "0.01500000", RemainingBalance: "1.23456789",
					CurrentCarrier: acme("23420"), OriginalCarrier: acme("23410"),
					Ported:         "not_ported",
					CallerIdentity: &insight.CallerIdentity{CallerType: "unknown", CallerName: "unknown"},
				},
				Roaming:              &insight.Roaming{Status: "roaming", RoamingCountryCode: "US", RoamingNetworkCode: "12345", RoamingNetworkName: "Acme Inc"},
				LookupOutcomeMessage: "Success",
				ValidNumber:          "valid",
				Reachable:            "reachable",
			},
		},
		{
			name:    "advanced with roaming unknown as a string",
			path:    "/ni/advanced/json",
			fixture: "advanced_roaming_unknown.json",
			call: func(ctx context.Context, c *insight.Client) (any, error) {
				return c.Advanced(ctx, insight.Request{Number: "447700900001"})
			},
			wantQuery: url.Values{"number": {"447700900001"}},
			want: &insight.AdvancedResponse{
				StandardResponse: insight.StandardResponse{
					BasicResponse: insight.BasicResponse{
						StatusMessage: "Success", RequestID: "dddddddd-eeee-ffff-0000-0123456789ab",
						InternationalFormatNumber: "447700900001", NationalFormatNumber: "07700 900001",
						CountryCode: "GB", CountryCodeISO3: "GBR", CountryName: "United Kingdom", CountryPrefix: "44",
					},
					RequestPrice: "0.03000000", RemainingBalance: "1.20456789",
					CurrentCarrier: acme("23420"), OriginalCarrier: acme("23420"),
					Ported: "assumed_not_ported",
				},
				Roaming:              &insight.Roaming{Status: "unknown"},
				LookupOutcome:        1,
				LookupOutcomeMessage: "Partial success - some fields populated",
				ValidNumber:          "valid",
				Reachable:            "unknown",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mt := httpmock.NewMockTransport()
			rec := &mocktest.Recorder{}
			mt.RegisterResponder(http.MethodGet, base+tt.path, rec.Wrap(httpmock.NewStringResponder(200, fixture(t, tt.fixture))))
			got, err := tt.call(context.Background(), newClient(t, mt))
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			req := rec.Last(t)
			if req.Method != http.MethodGet || req.Path != tt.path {
				t.Errorf("request = %s %s, want GET %s", req.Method, req.Path, tt.path)
			}
			wantQuery := url.Values{"api_key": {key}, "api_secret": {secret}}
			for k, v := range tt.wantQuery {
				wantQuery[k] = v
			}
			if diff := cmp.Diff(wantQuery, req.Query); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
			if ua := req.Header.Get("User-Agent"); !strings.HasPrefix(ua, "voiceproxy-go/") {
				t.Errorf("User-Agent = %q", ua)
			}
		})
	}
}

func TestStatusErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture  string
		sentinel error
		status   int
	}{
		{"status_3.json", insight.ErrInvalidRequest, 3},
		{"status_4.json", insight.ErrAuth, 4},
		{"status_5.json", insight.ErrInvalidNumber, 5},
		{"status_9.json", insight.ErrInsufficientCredit, 9},
		{"status_19.json", insight.ErrFacilityNotAllowed, 19},
		{"status_999.json", insight.ErrUnparseable, 999},
	}
	sentinels := []error{insight.ErrThrottled, insight.ErrInvalidRequest, insight.ErrInvalidNumber, insight.ErrAuth, insight.ErrInternal,
		insight.ErrInsufficientCredit, insight.ErrFacilityNotAllowed, insight.ErrLookupNotReturned, insight.ErrUnparseable}
	levels := map[string]func(context.Context, *insight.Client) (bool, error){
		"basic": func(ctx context.Context, c *insight.Client) (bool, error) {
			r, err := c.Basic(ctx, insight.Request{Number: "447700900000"})
			return r != nil, err
		},
		"standard": func(ctx context.Context, c *insight.Client) (bool, error) {
			r, err := c.Standard(ctx, insight.Request{Number: "447700900000"})
			return r != nil, err
		},
		"advanced": func(ctx context.Context, c *insight.Client) (bool, error) {
			r, err := c.Advanced(ctx, insight.Request{Number: "447700900000"})
			return r != nil, err
		},
	}
	for _, tt := range tests {
		for lvName, call := range levels {
			t.Run(lvName+"/"+tt.fixture, func(t *testing.T) {
				t.Parallel()
				mt := httpmock.NewMockTransport()
				mt.RegisterResponder(http.MethodGet, base+"/ni/"+lvName+"/json", httpmock.NewStringResponder(200, fixture(t, tt.fixture)))
				gotResp, err := call(context.Background(), newClient(t, mt))
				if gotResp {
					t.Error("response returned with a failure status")
				}
				var ie *insight.Error
				if !errors.As(err, &ie) {
					t.Fatalf("err = %v, want *insight.Error", err)
				}
				if ie.Status != tt.status || ie.HTTPStatus != 200 || ie.RequestID != "ffffffff-0000-1111-2222-0123456789ab" || ie.StatusMessage == "" {
					t.Errorf("Error = %+v", ie)
				}
				for _, s := range sentinels {
					want := s == tt.sentinel || (tt.sentinel == insight.ErrInvalidNumber && s == insight.ErrInvalidRequest)
					if got := errors.Is(err, s); got != want {
						t.Errorf("errors.Is(err, %v) = %v, want %v", s, got, want)
					}
				}
				if n := mt.GetTotalCallCount(); n != 1 {
					t.Errorf("calls = %d, want 1 (not retryable)", n)
				}
			})
		}
	}
}

func TestPartialLookup(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, base+"/ni/advanced/json", httpmock.NewStringResponder(200, fixture(t, "advanced_partial_43.json")))
	res, err := newClient(t, mt).Advanced(context.Background(), insight.Request{Number: "447700900002"})
	if !errors.Is(err, insight.ErrLookupNotReturned) {
		t.Fatalf("err = %v, want ErrLookupNotReturned", err)
	}
	if res == nil {
		t.Fatal("partial response not returned")
	}
	if res.Status != 43 || res.InternationalFormatNumber != "447700900002" || res.LookupOutcome != 2 || res.CurrentCarrier == nil {
		t.Errorf("partial response = %+v", res)
	}
	mocktest.WantCalls(t, mt, 1)
}

func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		responses []httpmock.Responder
		wantErr   error // nil: success
		wantCalls int
	}{
		{"throttled then success", []httpmock.Responder{
			httpmock.NewStringResponder(200, `{"status":1,"status_message":"Busy"}`),
			httpmock.NewStringResponder(200, `{"status":0,"international_format_number":"447700900000"}`)}, nil, 2},
		{"throttled with string status", []httpmock.Responder{
			httpmock.NewStringResponder(200, `{"status":"1"}`),
			httpmock.NewStringResponder(200, `{"status":0,"international_format_number":"447700900000"}`)}, nil, 2},
		{"HTTP 429 then success", []httpmock.Responder{
			httpmock.NewStringResponder(429, ``),
			httpmock.NewStringResponder(200, `{"status":0,"international_format_number":"447700900000"}`)}, nil, 2},
		{"HTTP 503 then success", []httpmock.Responder{
			httpmock.NewStringResponder(503, `upstream down`),
			httpmock.NewStringResponder(200, `{"status":0,"international_format_number":"447700900000"}`)}, nil, 2},
		{"throttled exhausted", []httpmock.Responder{httpmock.NewStringResponder(200, `{"status":1,"status_message":"Busy"}`)}, insight.ErrThrottled, 3},
		{"HTTP 429 exhausted", []httpmock.Responder{httpmock.NewStringResponder(429, `slow down`)}, insight.ErrThrottled, 3},
		{"HTTP 500 exhausted", []httpmock.Responder{httpmock.NewStringResponder(500, `boom`)}, insight.ErrInternal, 3},
		{"HTTP 401 not retried", []httpmock.Responder{httpmock.NewStringResponder(401, `{"type":"unauthorized"}`)}, insight.ErrAuth, 1},
		{"HTTP 401 with status body", []httpmock.Responder{httpmock.NewStringResponder(401, `{"status":4,"status_message":"Invalid credentials"}`)}, insight.ErrAuth, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mt := httpmock.NewMockTransport()
			mt.RegisterResponder(http.MethodGet, base+"/ni/basic/json", mocktest.Sequence(tt.responses...))
			res, err := newClient(t, mt, insight.WithMaxRetries(2)).Basic(context.Background(), insight.Request{Number: "447700900000"})
			if tt.wantErr == nil {
				if err != nil || res.InternationalFormatNumber != "447700900000" {
					t.Fatalf("got %+v, %v", res, err)
				}
			} else {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				var ie *insight.Error
				if !errors.As(err, &ie) {
					t.Errorf("err %T is not *insight.Error", err)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("secret in %q", err)
				}
			}
			mocktest.WantCalls(t, mt, tt.wantCalls)
		})
	}
}

func TestContextCancelledMidBackoff(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, base+"/ni/basic/json", httpmock.NewStringResponder(200, `{"status":1}`))
	sleep := &mocktest.Sleeper{Cancel: cancel} // the caller gives up while the client waits
	c, err := insight.NewClient(key, secret, insight.WithHTTPClient(&http.Client{Transport: mt}), insight.WithSleep(sleep.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Basic(ctx, insight.Request{Number: "447700900000"})
	if err != context.Canceled || res != nil {
		t.Fatalf("got %v, %#v; want nil, context.Canceled itself", res, err)
	}
	if sleep.Count() != 1 || mt.GetTotalCallCount() != 1 {
		t.Errorf("slept %d times, %d calls; want 1 and 1", sleep.Count(), mt.GetTotalCallCount())
	}
}

func TestInputValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(context.Context, *insight.Client) error
	}{
		{"empty number", func(ctx context.Context, c *insight.Client) error {
			_, err := c.Basic(ctx, insight.Request{Number: "  "})
			return err
		}},
		{"letters in number", func(ctx context.Context, c *insight.Client) error {
			_, err := c.Basic(ctx, insight.Request{Number: "44770090000x"})
			return err
		}},
		{"no digits", func(ctx context.Context, c *insight.Client) error {
			_, err := c.Standard(ctx, insight.Request{Number: "+()-"})
			return err
		}},
		{"bad country", func(ctx context.Context, c *insight.Client) error {
			_, err := c.Basic(ctx, insight.Request{Number: "07700900000", Country: "GBR"})
			return err
		}},
		{"cnam on basic", func(ctx context.Context, c *insight.Client) error {
			_, err := c.Basic(ctx, insight.Request{Number: "14155550100", CNAM: true})
			return err
		}},
		{"bad ip", func(ctx context.Context, c *insight.Client) error {
			_, err := c.Advanced(ctx, insight.Request{Number: "14155550100", IP: "1.2.3"})
			return err
		}},
		{"ip on standard", func(ctx context.Context, c *insight.Client) error {
			_, err := c.Standard(ctx, insight.Request{Number: "14155550100", IP: "1.2.3.4"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mt := httpmock.NewMockTransport()
			err := tt.call(context.Background(), newClient(t, mt))
			if !errors.Is(err, insight.ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
			mocktest.WantCalls(t, mt, 0)
		})
	}
}

func TestTransportErrorHidesSecret(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(httpmock.NewErrorResponder(errors.New("connection refused")))
	_, err := newClient(t, mt, insight.WithMaxRetries(1)).Basic(context.Background(), insight.Request{Number: "447700900000"})
	if err == nil {
		t.Fatal("want error")
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("err %T does not wrap *url.Error", err)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(ue.URL, secret) {
		t.Errorf("secret leaked: %q / %q", err, ue.URL)
	}
	if !strings.Contains(ue.URL, "api_secret=REDACTED") {
		t.Errorf("URL not redacted: %q", ue.URL)
	}
	if n := mt.GetTotalCallCount(); n != 2 {
		t.Errorf("calls = %d, want 2 (GET retried)", n)
	}
}

func TestNewClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		key, secret string
		opts        []insight.Option
	}{
		{"empty key", "", "s", nil},
		{"empty secret", "k", "", nil},
		{"nil http client", "k", "s", []insight.Option{insight.WithHTTPClient(nil)}},
		{"bad base URL", "k", "s", []insight.Option{insight.WithBaseURL("not a url")}},
		{"negative retries", "k", "s", []insight.Option{insight.WithMaxRetries(-1)}},
		{"bad backoff", "k", "s", []insight.Option{insight.WithBackoff(time.Second, time.Millisecond)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := insight.NewClient(tt.key, tt.secret, tt.opts...)
			if err == nil || c != nil {
				t.Fatalf("NewClient = %v, %v; want error", c, err)
			}
		})
	}
}

func TestBaseURLWithPrefix(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, "http://sim.test:8080/vonage/ni/basic/json", httpmock.NewStringResponder(200, fixture(t, "basic.json")))
	c := newClient(t, mt, insight.WithBaseURL("http://sim.test:8080/vonage/"))
	if _, err := c.Basic(context.Background(), insight.Request{Number: "447700900000"}); err != nil {
		t.Fatal(err)
	}
}

func TestAmount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      insight.Amount
		want    float64
		wantErr bool
	}{
		{"", 0, false},
		{"0.04000000", 0.04, false},
		{"12.5", 12.5, false},
		{"n/a", 0, true},
	}
	for _, tt := range tests {
		got, err := tt.in.Float64()
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("Amount(%q).Float64() = %v, %v", tt.in, got, err)
		}
	}
}
