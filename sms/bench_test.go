package sms_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/sms"
)

func BenchmarkVerify(b *testing.B) {
	for _, m := range []sms.SigMethod{sms.MD5Hash, sms.SHA256, sms.SHA512} {
		b.Run(string(m), func(b *testing.B) {
			p := vectorParams()
			sms.SignParams(p, vectorSecret, m)
			v := sms.Verifier{Secret: vectorSecret, Method: m, Now: func() time.Time { return vectorTime }}
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Verify(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInboundWebhook is the whole per-request cost of an inbound SMS:
// read the JSON body, verify the signature, parse the fields.
func BenchmarkInboundWebhook(b *testing.B) {
	body := fixture(b, "inbound-signed.json")
	v := sms.Verifier{Secret: vectorSecret, Method: sms.SHA256, Now: func() time.Time { return vectorTime }}
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/sms", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		p, err := sms.ReadParams(r, 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := v.Verify(p); err != nil {
			b.Fatal(err)
		}
		if _, err := sms.ParseInbound(p); err != nil {
			b.Fatal(err)
		}
	}
}
