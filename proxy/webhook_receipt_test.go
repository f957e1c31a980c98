package proxy

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/sms"
)

func receiptParams(clientRef string) url.Values {
	v := url.Values{"msisdn": {gbB}, "to": {gbP1}, "messageId": {"0A0000001"}, "status": {"delivered"},
		"network-code": {"23410"}, "price": {"0.0333"}, "err-code": {"0"}, "message-timestamp": {"2026-03-01 12:00:05"}}
	if clientRef != "" {
		v.Set("client-ref", clientRef)
	}
	return v
}

func receiptGET(v url.Values) *http.Request {
	return httptest.NewRequest(http.MethodGet, "/delivery-receipt?"+v.Encode(), nil)
}

// The delivery-receipt route: recorded on the SMS's interaction when the
// client-ref names one; 200 and nothing recorded when it names none, has
// none, or is unreadable; 401 for a bad signature; 503 when the store
// fails, so that Vonage sends it again.
func TestDeliveryReceiptRoute(t *testing.T) {
	t.Parallel()
	t.Run("recorded", func(t *testing.T) {
		t.Parallel()
		s, _ := newTestService(t, gbPool(gbP1), nil)
		c := mustCreate(t, s, CreateRequest{A: gbA, B: gbB})
		in := Interaction{ID: "sms-1", ConversationID: c.ID, Kind: KindSMS, ExternalID: "M1", CreatedAt: testNow}
		if err := s.store.AddInteraction(t.Context(), in); err != nil {
			t.Fatal(err)
		}
		v := receiptParams("sms-1")
		v.Set("status", "failed")
		v.Set("err-code", "6")
		if w := serve(s, receiptGET(v)); w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
		ins, _ := s.Interactions(t.Context(), c.ID)
		ev := ins[0].Events
		if len(ev) != 1 || ev[0].Status != EventUndelivered || ev[0].Leg != "0A0000001" || ev[0].Detail != "err-code 6" ||
			!ev[0].At.Equal(time.Date(2026, 3, 1, 12, 0, 5, 0, time.UTC)) {
			t.Errorf("events %+v, want the receipt as undelivered with its err-code and time", ev)
		}
	})
	for _, tt := range []struct {
		name string
		req  *http.Request
	}{
		{"client-ref of no interaction", receiptGET(receiptParams("not-ours"))},
		{"no client-ref", receiptGET(receiptParams(""))},
		{"malformed", httptest.NewRequest(http.MethodGet, "/delivery-receipt?msisdn=1", nil)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestService(t, gbPool(gbP1), nil)
			if w := serve(s, tt.req); w.Code != http.StatusOK {
				t.Errorf("status %d, want 200", w.Code)
			}
		})
	}
	t.Run("bad signature", func(t *testing.T) {
		t.Parallel()
		s, _ := newTestService(t, gbPool(gbP1), func(c *Config) { c.Webhooks.SMSSignatureSecret = "sms-secret" })
		v := receiptParams("sms-1")
		v.Set("timestamp", "1772366405")
		sms.SignParams(v, "another-secret", sms.MD5Hash)
		if w := serve(s, receiptGET(v)); w.Code != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", w.Code)
		}
	})
	t.Run("store failure", func(t *testing.T) {
		t.Parallel()
		s, _ := newTestService(t, gbPool(gbP1), func(c *Config) { c.Store = failingStore{Store: c.Store, err: errors.New("db down")} })
		if w := serve(s, receiptGET(receiptParams("sms-1"))); w.Code != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", w.Code)
		}
	})
}
