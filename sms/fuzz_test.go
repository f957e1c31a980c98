package sms_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/sms"
)

// FuzzParseInbound feeds arbitrary bodies and query strings through
// ReadParams, ParseInbound, ParseDeliveryReceipt and Verify: none may panic,
// and a successful parse must hold what ParseInbound promises.
func FuzzParseInbound(f *testing.F) {
	for _, name := range []string{"inbound-text.json", "inbound-signed.json", "dlr-delivered.json"} {
		f.Add(uint8(0), fixture(f, name))
	}
	f.Add(uint8(1), fixture(f, "inbound-concat.form"))
	f.Add(uint8(2), fixture(f, "inbound-unicode.query"))
	f.Add(uint8(1), []byte("concat=true&concat-part=2&concat-total=1"))
	f.Add(uint8(0), []byte(`{"a":1e999,"b":[],"c":null}`))
	ver := sms.Verifier{Secret: vectorSecret, Method: sms.SHA256, Now: func() time.Time { return vectorTime }}
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		var r *http.Request
		switch kind % 3 {
		case 0:
			r = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
		case 1:
			r = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		default:
			r = httptest.NewRequest(http.MethodGet, "/", nil)
			r.URL.RawQuery = string(body)
		}
		v, err := sms.ReadParams(r, 4096)
		if err != nil {
			return
		}
		_ = ver.Verify(v)
		_, _ = sms.ParseDeliveryReceipt(v)
		in, err := sms.ParseInbound(v)
		if err != nil {
			return
		}
		if in.MSISDN == "" || in.To == "" || in.MessageID == "" || in.Type == "" {
			t.Errorf("ParseInbound accepted empty required fields: %+v", in)
		}
		if in.Concat && (in.ConcatPart < 1 || in.ConcatPart > in.ConcatTotal) {
			t.Errorf("ParseInbound accepted part %d of %d", in.ConcatPart, in.ConcatTotal)
		}
	})
}
