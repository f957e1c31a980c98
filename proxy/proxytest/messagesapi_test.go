package proxytest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/sms"
)

// A failed SMS's status webhook carries the Messages API error code as a
// JSON number in the error's title, as Vonage sends it, and the type names
// the same code: 1330 (Unknown) for a rejection, 1260 (Destination
// unreachable) for an undeliverable message, or the code the Receipt
// gives. sms.ParseStatusUpdate reads every one of them.
func TestMessagesStatusErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		receipt proxytest.Receipt
		status  string
		code    int
	}{
		{"rejected", proxytest.Receipt{Status: "rejected"}, sms.StatusRejected, proxytest.MessagesCodeUnknown},
		{"failed", proxytest.Receipt{Status: "failed"}, sms.StatusUndeliverable, proxytest.MessagesCodeUnreachable},
		{"expired", proxytest.Receipt{Status: "expired"}, sms.StatusUndeliverable, proxytest.MessagesCodeUnreachable},
		{"rejected, a code given", proxytest.Receipt{Status: "rejected", ErrCode: 1250}, sms.StatusRejected, 1250},
		{"rejected, an SMS API code", proxytest.Receipt{Status: "rejected", ErrCode: 6}, sms.StatusRejected, proxytest.MessagesCodeUnknown},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := proxytest.NewVonage()
			var mu sync.Mutex
			var bodies [][]byte
			v.StatusTo(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				defer mu.Unlock()
				bodies = append(bodies, b)
			}), "/message-status", "")
			v.FailDelivery(tt.receipt)
			c, err := sms.NewMessagesClient(sms.MessagesAuth{APIKey: proxytest.APIKey, APISecret: proxytest.APISecret},
				sms.WithHTTPClient(v.Client()), sms.WithBaseURL(proxytest.InProcessURL+"/v1/messages"), sms.WithRateLimit(0))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Send(t.Context(), sms.Message{From: "447700900001", To: "447700900101", Text: "Outside", ClientRef: "i-7"}); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(bodies) != 2 {
				t.Fatalf("%d statuses, want submitted and the failure", len(bodies))
			}
			if st, err := sms.ParseStatusUpdate(bodies[0]); err != nil || st.Status != sms.StatusSubmitted || st.Error != nil {
				t.Errorf("first status %+v, %v; want submitted without an error", st, err)
			}
			var raw struct {
				Error struct {
					Type  string `json:"type"`
					Title any    `json:"title"`
				} `json:"error"`
			}
			if err := json.Unmarshal(bodies[1], &raw); err != nil {
				t.Fatal(err)
			}
			if n, ok := raw.Error.Title.(float64); !ok || int(n) != tt.code {
				t.Errorf("error title %#v, want the JSON number %d", raw.Error.Title, tt.code)
			}
			st, err := sms.ParseStatusUpdate(bodies[1])
			if err != nil {
				t.Fatalf("ParseStatusUpdate: %v (body %s)", err, bodies[1])
			}
			if st.Status != tt.status || st.ClientRef != "i-7" || st.Error == nil || st.Error.Code != tt.code ||
				st.Error.Type != "https://developer.nexmo.com/api-errors/messages-olympus#"+st.Error.Title {
				t.Errorf("status %+v, error %+v; want %s with code %d", st, st.Error, tt.status, tt.code)
			}
		})
	}
}

// A Messages inbound webhook answered 5xx is retried: signed afresh by
// default, with the same token under MessagesRetrySameToken, and after
// an unsigned first delivery under MessagesUnsignedFirst.
func TestMessagesRetryTokens(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name              string
		same, unsignedOne bool
	}{{"fresh", false, false}, {"same token", true, false}, {"unsigned first", false, true}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var auths []string
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				auths = append(auths, r.Header.Get("Authorization"))
				if len(auths) == 1 {
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			})
			sim := &proxytest.Simulator{Handler: h, SMSAPI: proxytest.SMSAPIMessages, MessagesRetrySameToken: tt.same, MessagesUnsignedFirst: tt.unsignedOne}
			if _, err := sim.SendSMS(t.Context(), "447400123456", "447700900001", "hi"); err != nil {
				t.Fatal(err)
			}
			if len(auths) != 2 || auths[1] == "" {
				t.Fatalf("deliveries' Authorization %q; want two, the second signed", auths)
			}
			if got := auths[0] == ""; got != tt.unsignedOne {
				t.Errorf("first delivery unsigned %v, want %v", got, tt.unsignedOne)
			}
			if got := auths[0] == auths[1]; got != tt.same {
				t.Errorf("same token on the retry %v, want %v", got, tt.same)
			}
		})
	}
}
