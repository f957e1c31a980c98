package rest

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/jarcoal/httpmock"
)

// BenchmarkDo measures the client's own overhead per request (building,
// auth, reading and decoding) against an in-memory transport.
func BenchmarkDo(b *testing.B) {
	mt := httpmock.NewMockTransport()
	mt.RegisterNoResponder(httpmock.NewStringResponder(200, `{"ok":true,"name":"447700900000"}`))
	c, err := New(Config{BaseURL: testBase, APIKey: testKey, APISecret: testSecret, HTTPClient: &http.Client{Transport: mt}})
	if err != nil {
		b.Fatal(err)
	}
	req := &Request{Method: http.MethodGet, Path: "/ni/basic/json", Query: url.Values{"number": {"447700900000"}}, Auth: AuthQuery}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var out payload
		if err := c.Do(ctx, req, &out); err != nil {
			b.Fatal(err)
		}
	}
}
