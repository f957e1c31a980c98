package rest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/jarcoal/httpmock"
)

// AuthBearer asks Config.Token for every attempt; a JSON body goes with
// its content type; Request.Base sends one request elsewhere (a call's
// region); a client with only a Token needs no key or secret.
func TestBearerJSONAndBase(t *testing.T) {
	t.Parallel()
	var minted atomic.Int32
	var seen []string
	mt := httpmock.NewMockTransport()
	first := true
	mt.RegisterResponder(http.MethodGet, "https://api-eu.example.test/v1/calls/c1", func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r.Header.Get("Authorization"))
		if first {
			first = false
			return httpmock.NewStringResponse(503, "busy"), nil
		}
		return httpmock.NewStringResponse(200, `{"ok":true}`), nil
	})
	mt.RegisterResponder(http.MethodPost, testBase+"/v1/calls", func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/json" || string(b) != `{"to":[]}` || r.URL.Query().Get("api_key") != "" {
			return httpmock.NewStringResponse(400, "bad "+string(b)), nil
		}
		return httpmock.NewStringResponse(201, `{"name":"created"}`), nil
	})
	c, _ := newTestClient(t, mt, func(cfg *Config) {
		cfg.APIKey, cfg.APISecret = "", ""
		cfg.Token = func() (string, error) { return "tok" + strconv.Itoa(int(minted.Add(1))), nil }
	})
	region, _ := url.Parse("https://api-eu.example.test/v1/calls")
	var out payload
	if err := c.Do(context.Background(), &Request{Method: http.MethodGet, Path: "/c1", Base: region, Auth: AuthBearer}, &out); err != nil || !out.OK {
		t.Fatalf("GET in the region: %+v, %v", out, err)
	}
	if len(seen) != 2 || seen[0] != "Bearer tok1" || seen[1] != "Bearer tok2" {
		t.Errorf("Authorization per attempt %q, want a fresh token each", seen)
	}
	if err := c.Do(context.Background(), &Request{Method: http.MethodPost, Path: "/v1/calls", JSON: []byte(`{"to":[]}`), Auth: AuthBearer}, &out); err != nil || out.Name != "created" {
		t.Errorf("POST JSON: %+v, %v", out, err)
	}

	failing, _ := newTestClient(t, mt, func(cfg *Config) {
		cfg.Token = func() (string, error) { return "", errors.New("no key") }
	})
	if err := failing.Do(context.Background(), &Request{Method: http.MethodGet, Path: "/v1/calls/c1", Auth: AuthBearer}, nil); err == nil {
		t.Error("a token that cannot be minted: no error")
	}
	plain, _ := newTestClient(t, mt, nil)
	if err := plain.Do(context.Background(), &Request{Method: http.MethodGet, Path: "/x", Auth: AuthBearer}, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("AuthBearer without a Token: %v, want ErrConfig", err)
	}
	if _, err := New(Config{BaseURL: testBase}); !errors.Is(err, ErrConfig) {
		t.Errorf("New without credentials or Token: %v, want ErrConfig", err)
	}
}
