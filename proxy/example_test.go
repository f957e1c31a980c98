package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// A host creates a conversation between a rider and a driver; when the
// rider calls the proxy number it was given, Vonage's answer webhook gets
// an NCCO connecting the call to the driver, with the driver seeing a
// proxy number rather than the rider's number. Webhooks must be signed
// with the account's signature secret, as Vonage signs them.
func Example() {
	ctx := context.Background()
	const secret = "the account's signature secret"
	svc, err := proxy.New(proxy.Config{
		Logger:   slog.New(slog.DiscardHandler),
		Webhooks: proxy.WebhookConfig{SignatureSecret: secret},
		Calls:    proxy.CallConfig{Greeting: "Connecting you to your driver."},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.AddNumbers(ctx, proxy.PoolNumber{MSISDN: "+44 7700 900001", Voice: true, SMS: true}); err != nil {
		log.Fatal(err)
	}
	conv, err := svc.CreateConversation(ctx, proxy.CreateRequest{
		A:   "+44 7123 456701", // rider
		B:   "+44 7123 456702", // driver
		TTL: 2 * time.Hour,
	})
	if err != nil {
		log.Fatal(err)
	}
	rider := conv.Participants[0]
	fmt.Println("rider dials", rider.ProxyNumber)

	// Mounted by the host with http.StripPrefix("/vonage", svc).
	mux := http.NewServeMux()
	mux.Handle("/vonage/", http.StripPrefix("/vonage", svc))
	req := httptest.NewRequest(http.MethodGet,
		"/vonage/answer?from=447123456701&to=447700900001&uuid=u-1&conversation_uuid=CON-1", nil)
	if err := (proxy.WebhookSigner{Secret: secret}).Sign(req, nil); err != nil { // as Vonage does
		log.Fatal(err)
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	fmt.Println(w.Body.String())
	// Output:
	// rider dials 447700900001
	// 200 application/json
	// [{"action":"talk","text":"Connecting you to your driver."},{"action":"connect","endpoint":[{"type":"phone","number":"447123456702"}],"from":"447700900001"}]
}

// Tests and simulators sign voice webhooks the way Vonage does, for a
// Service that verifies them.
func ExampleWebhookSigner() {
	svc, err := proxy.New(proxy.Config{
		Logger:   slog.New(slog.DiscardHandler),
		Webhooks: proxy.WebhookConfig{SignatureSecret: "signature-secret"},
	})
	if err != nil {
		log.Fatal(err)
	}
	signer := proxy.WebhookSigner{Secret: "signature-secret"}
	for _, sign := range []bool{true, false} {
		req := httptest.NewRequest(http.MethodGet, "/answer?from=447123456701&to=447700900001", nil)
		if sign {
			if err := signer.Sign(req, nil); err != nil {
				log.Fatal(err)
			}
		}
		w := httptest.NewRecorder()
		svc.ServeHTTP(w, req)
		fmt.Println("signed:", sign, "status:", w.Code)
	}
	// Output:
	// signed: true status: 200
	// signed: false status: 401
}

// New refuses a Config that would accept webhooks nobody signed: a forged
// answer webhook would read a participant's real number out of the NCCO.
func ExampleConfig_unsigned() {
	_, err := proxy.New(proxy.Config{Logger: slog.New(slog.DiscardHandler)})
	fmt.Println(errors.Is(err, proxy.ErrUnsignedWebhooks))
	// Output:
	// true
}
