package voice

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// BenchmarkCheck measures the verification of one signed answer webhook
// (replay claim aside), as Vonage sends it: a GET whose payload_hash
// covers its query as JSON, and a POST whose payload_hash covers its
// body. Each request has its own token, signed before the timer runs.
func BenchmarkCheck(b *testing.B) {
	const secret = "bench-secret"
	v := &Verifier{Secrets: []Secret{{Value: secret}}, Tolerance: time.Hour}
	signer := Signer{Secret: secret, ApplicationID: "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", Now: func() time.Time { return testNow }}
	body := []byte(`{"from":"447100000001","to":"447700900001","uuid":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab","conversation_uuid":"CON-1","region_url":"https://api-eu-3.vonage.com"}`)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		b.Run(method, func(b *testing.B) {
			const batch = 1024
			reqs := make([]*http.Request, batch)
			for i := range reqs {
				var r *http.Request
				if method == http.MethodGet {
					r = httptest.NewRequest(method, "/answer?from=447100000001&to=447700900001&region_url=https%3A%2F%2Fapi-eu-3.vonage.com&uuid=aaaaaaaa-bbbb-cccc-dddd-0123456789ab&conversation_uuid=CON-"+strconv.Itoa(i), nil)
					if err := signer.Sign(r, nil); err != nil {
						b.Fatal(err)
					}
				} else {
					r = httptest.NewRequest(method, "/answer", nil)
					if err := signer.Sign(r, body); err != nil {
						b.Fatal(err)
					}
				}
				reqs[i] = r
			}
			var bd []byte
			if method == http.MethodPost {
				bd = body
			}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Check(reqs[i%batch], bd, testNow); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
