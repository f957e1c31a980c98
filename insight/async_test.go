package insight_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/voiceproxy/voiceproxy/insight"
)

func TestAdvancedAsync(t *testing.T) {
	t.Parallel()
	mt := httpmock.NewMockTransport()
	var query string
	mt.RegisterResponder(http.MethodGet, base+"/ni/advanced/async/json", func(r *http.Request) (*http.Response, error) {
		query = r.URL.RawQuery
		return httpmock.NewStringResponse(200, fixture(t, "advanced_async.json")), nil
	})
	res, err := newClient(t, mt).AdvancedAsync(context.Background(), insight.Request{Number: "447700900000", CNAM: true}, "https://example.com/ni-callback")
	if err != nil {
		t.Fatal(err)
	}
	if res.RequestID != "aaaaaaaa-bbbb-cccc-dddd-0123456789ab" || res.Number != "447700900000" || string(res.RequestPrice) != "0.01500000" {
		t.Errorf("response %+v", res)
	}
	for _, want := range []string{"callback=https%3A%2F%2Fexample.com%2Fni-callback", "number=447700900000", "cnam=true", "api_key="} {
		if !strings.Contains(query, want) {
			t.Errorf("query %q lacks %s", query, want)
		}
	}
}

func TestAdvancedAsyncErrors(t *testing.T) {
	t.Parallel()
	c := newClient(t, httpmock.NewMockTransport())
	if _, err := c.AdvancedAsync(context.Background(), insight.Request{Number: "447700900000"}, "ftp://example.com"); !errors.Is(err, insight.ErrInvalidRequest) {
		t.Errorf("bad callback: %v, want ErrInvalidRequest", err)
	}
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodGet, base+"/ni/advanced/async/json", httpmock.NewStringResponder(200, fixture(t, "status_4.json")))
	if _, err := newClient(t, mt).AdvancedAsync(context.Background(), insight.Request{Number: "447700900000"}, "https://e.com/cb"); !errors.Is(err, insight.ErrAuth) {
		t.Errorf("status 4: %v, want ErrAuth", err)
	}
}

func TestParseAdvancedCallback(t *testing.T) {
	t.Parallel()
	post := func(body string) *http.Request {
		return httptest.NewRequest(http.MethodPost, "/ni-callback", strings.NewReader(body))
	}
	res, err := insight.ParseAdvancedCallback(post(fixture(t, "advanced.json")))
	if err != nil || res.RequestID == "" || res.InternationalFormatNumber == "" {
		t.Fatalf("full callback = %+v, %v", res, err)
	}
	res, err = insight.ParseAdvancedCallback(post(fixture(t, "advanced_partial_43.json")))
	if !errors.Is(err, insight.ErrLookupNotReturned) || res == nil {
		t.Errorf("partial callback = %v, %v; want the partial response and ErrLookupNotReturned", res, err)
	}
	if _, err := insight.ParseAdvancedCallback(post(fixture(t, "status_5.json"))); !errors.Is(err, insight.ErrInvalidNumber) {
		t.Errorf("status 5 callback: %v, want ErrInvalidNumber", err)
	}
	for _, bad := range []string{"", "{", `{"status":0}`, strings.Repeat("x", 70<<10)} {
		if _, err := insight.ParseAdvancedCallback(post(bad)); !errors.Is(err, insight.ErrInvalidRequest) {
			t.Errorf("callback %.20q: %v, want ErrInvalidRequest", bad, err)
		}
	}
}
