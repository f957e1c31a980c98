package proxytest_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/sms"
)

// Over a real BaseURL the service answers the inbound-SMS webhook before
// it relays; SendSMS waits for the relay through the attached Vonage's
// outbox (Simulator.RelayWait), so the outcome is as complete as in
// process. Each transport is tried, with the SMS API and the Messages
// API settings.
func TestSendSMSRelayedOverHTTP(t *testing.T) {
	t.Parallel()
	for _, api := range []string{proxytest.SMSAPISMS, proxytest.SMSAPIMessages} {
		for _, inProcess := range []bool{false, true} {
			name := api + "/http"
			if inProcess {
				name = api + "/handler"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				v := proxytest.NewVonage()
				smsClient, err := sms.NewClient(proxytest.APIKey, proxytest.APISecret,
					sms.WithHTTPClient(v.Client()), sms.WithBaseURL(proxytest.InProcessURL))
				if err != nil {
					t.Fatal(err)
				}
				svc, err := proxy.New(proxy.Config{
					Store:         proxy.NewMemoryStore(),
					ApplicationID: proxytest.ApplicationID,
					Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
					SMS:           proxy.SMSConfig{Sender: smsClient},
					Webhooks:      proxy.WebhookConfig{SignatureSecret: proxytest.SignatureSecret},
				})
				if err != nil {
					t.Fatal(err)
				}
				if err := svc.AddNumbers(t.Context(), proxy.PoolNumber{MSISDN: "447700900001", Country: "GB", Voice: true, SMS: true}); err != nil {
					t.Fatal(err)
				}
				sim := &proxytest.Simulator{Vonage: v, SMSAPI: api}
				if inProcess {
					sim.Handler = svc
				} else {
					mux := http.NewServeMux()
					mux.Handle("/vonage/", http.StripPrefix("/vonage", svc))
					srv := httptest.NewServer(mux)
					t.Cleanup(srv.Close)
					sim.BaseURL, sim.Client = srv.URL+"/vonage", srv.Client()
				}
				v.Attach(sim)
				c, err := svc.CreateConversation(t.Context(), proxy.CreateRequest{A: "+44 7400 123456", B: "+44 7400 654321"})
				if err != nil {
					t.Fatal(err)
				}
				proxyA := c.Participants[proxy.SideA].ProxyNumber
				out, err := sim.SendSMS(t.Context(), "447400654321", proxyA, "Outside in a blue Prius")
				if err != nil {
					t.Fatal(err)
				}
				if out.RelayPending || len(out.Relayed) != 1 {
					t.Fatalf("outcome %+v; want one relay, not pending", out)
				}
				if r := out.Relayed[0]; r.To != "447400123456" || r.From != proxyA || r.Text != "Outside in a blue Prius" {
					t.Errorf("relayed %+v; want the text to A from %s", r, proxyA)
				}
			})
		}
	}
}

// A relay that does not come within RelayWait leaves the outcome
// pending, and SendSMS returns after about RelayWait, not later; a
// negative RelayWait does not wait.
func TestSendSMSRelayWaitBounded(t *testing.T) {
	t.Parallel()
	silent := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	srv := httptest.NewServer(silent)
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		wait    time.Duration
		pending bool
	}{{100 * time.Millisecond, true}, {-1, false}} {
		sim := &proxytest.Simulator{BaseURL: srv.URL, Client: srv.Client(), Vonage: proxytest.NewVonage(), RelayWait: tt.wait}
		start := time.Now()
		out, err := sim.SendSMS(t.Context(), "447400654321", "447700900001", "hi")
		took := time.Since(start)
		if err != nil || out.RelayPending != tt.pending || len(out.Relayed) != 0 {
			t.Errorf("RelayWait %v: %v %+v; want pending %v", tt.wait, err, out, tt.pending)
		}
		if took < max(tt.wait, 0) || took > max(tt.wait, 0)+time.Second {
			t.Errorf("RelayWait %v: SendSMS took %v", tt.wait, took)
		}
	}
}
