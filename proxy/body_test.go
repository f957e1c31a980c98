package proxy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// A webhook body over Config.Webhooks.MaxBodyBytes is answered 413 by every
// webhook, signed or not (the signature cannot be checked without the
// whole body), and counted as too_large; a body of exactly the limit is
// read.
func TestWebhookBodyTooLarge(t *testing.T) {
	t.Parallel()
	const limit = 256
	// body is a request body of n bytes in the webhook's encoding.
	body := func(form bool, n int) string {
		if form {
			return "pad=" + strings.Repeat("x", n-len("pad="))
		}
		return `{"pad":"` + strings.Repeat("x", n-len(`{"pad":""}`)) + `"}`
	}
	routes := []struct {
		path string
		form bool
	}{
		{"/answer", false}, {"/fallback", false}, {"/event", false}, {"/input", false},
		{"/inbound-sms", true}, {"/delivery-receipt", true},
		{"/inbound-message", false}, {"/message-status", false},
	}
	for _, signed := range []bool{false, true} {
		reader := sdkmetric.NewManualReader()
		s, _ := newTestService(t, gbPool(gbP1), func(c *Config) {
			c.Webhooks.MaxBodyBytes = limit
			c.Telemetry.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			if signed {
				c.Webhooks.SignatureSecret, c.Webhooks.SMSSignatureSecret = "voice-secret", "sms-secret"
			}
		})
		for _, rt := range routes {
			req := func(n int) *http.Request {
				r := httptest.NewRequest(http.MethodPost, rt.path, strings.NewReader(body(rt.form, n)))
				if rt.form {
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				} else {
					r.Header.Set("Content-Type", "application/json")
				}
				return r
			}
			if w := serve(s, req(limit+1)); w.Code != http.StatusRequestEntityTooLarge {
				t.Errorf("signed=%v %s: %d bytes answered %d, want 413", signed, rt.path, limit+1, w.Code)
			}
			if w := serve(s, req(limit)); w.Code == http.StatusRequestEntityTooLarge {
				t.Errorf("signed=%v %s: %d bytes (the limit) answered 413", signed, rt.path, limit)
			}
		}
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		got := sums(rm)
		for _, rt := range routes {
			if k := "voiceproxy.webhooks{outcome=too_large,route=" + rt.path + "}"; got[k] != 1 {
				t.Errorf("signed=%v: %s = %d, want 1", signed, k, got[k])
			}
		}
	}
}
