package proxy_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// A Config groups the settings by concern; each group's zero value is
// its documented default, and New checks every group, naming the field
// it refuses. A setting that is not the default goes in its group.
func ExampleConfig() {
	ctx := context.Background()
	cfg := proxy.Config{
		Store:  proxy.NewMemoryStore(), // or a shared SQL store (package sqlstore)
		Logger: slog.New(slog.DiscardHandler),
		Webhooks: proxy.WebhookConfig{
			SignatureSecret: proxytest.SignatureSecret, // required
			StoreTimeout:    500 * time.Millisecond,    // then /answer is 503, and Vonage tries the fallback URL
		},
		Allocation: proxy.AllocationConfig{
			CoolOff: 2 * time.Hour, // a released number goes to a stranger only after this
			Sticky:  proxy.StickyPrefer,
		},
		Conversations: proxy.ConversationConfig{
			DefaultTTL:   4 * time.Hour,
			DefaultLabel: "your contact", // in notifications, for a side without a label
		},
		Calls: proxy.CallConfig{
			Greeting:         "Connecting you now.",
			UnknownRouteText: "This number is no longer in use.",
		},
		SMS: proxy.SMSConfig{
			Redact:    proxy.RedactPolicy{Phones: true, Emails: true, URLs: true},
			StopReply: "You will get no more messages from this number.",
		},
		PIN:     proxy.PINConfig{Length: 4, WhenExhausted: true},
		Privacy: proxy.PrivacyConfig{Retention: 14 * 24 * time.Hour},
		Hooks: proxy.Hooks{
			Intercept: func(ctx context.Context, in proxy.Inbound) error {
				return nil // a veto: outside delivery hours, a blocked user…
			},
		},
	}
	svc, err := proxy.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.AddNumbers(ctx, proxy.PoolNumber{MSISDN: "447700900001", Country: "GB", Voice: true, SMS: true}); err != nil {
		log.Fatal(err)
	}
	conv, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+44 7400 123456", B: "+44 7400 654321"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("lasts", conv.ExpiresAt.Sub(conv.CreatedAt))
	sim := &proxytest.Simulator{Handler: svc} // signs with proxytest.SignatureSecret
	call, err := sim.PlaceCall(ctx, "447400123456", conv.Participants[proxy.SideA].ProxyNumber)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("heard %q, connected to %s\n", call.Talk, call.Connected)

	cfg.PIN.Length = 3 // PINs are 4 to 8 digits
	_, err = proxy.New(cfg)
	fmt.Println(err)
	// Output:
	// lasts 4h0m0s
	// heard ["Connecting you now."], connected to 447400654321
	// proxy: PIN.Length 3 is not 4 to 8
}
