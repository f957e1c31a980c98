package proxy_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/sms"
)

// A rider and a driver get a conversation: each is given a proxy number
// from the pool and, with Notify, an SMS from it saying whom it reaches.
// The SMS go through the simulated Vonage here; a host passes an
// *sms.Client made with its API key and secret.
func ExampleService_CreateConversation() {
	ctx := context.Background()
	v := proxytest.NewVonage()
	smsClient, err := sms.NewClient(proxytest.APIKey, proxytest.APISecret,
		sms.WithHTTPClient(v.Client()), sms.WithBaseURL(proxytest.InProcessURL))
	if err != nil {
		log.Fatal(err)
	}
	svc, err := proxy.New(proxy.Config{
		Logger:   slog.New(slog.DiscardHandler),
		Webhooks: proxy.WebhookConfig{SignatureSecret: proxytest.SignatureSecret},
		SMS:      proxy.SMSConfig{Sender: smsClient},
	})
	if err != nil {
		log.Fatal(err)
	}
	err = svc.AddNumbers(ctx,
		proxy.PoolNumber{MSISDN: "447700900001", Country: "GB", Voice: true, SMS: true},
		proxy.PoolNumber{MSISDN: "447700900002", Country: "GB", Voice: true, SMS: true})
	if err != nil {
		log.Fatal(err)
	}
	conv, err := svc.CreateConversation(ctx, proxy.CreateRequest{
		A: "+44 7400 123456", B: "+44 7400 654321",
		TTL: 2 * time.Hour, IdleTimeout: 30 * time.Minute,
		Labels: proxy.Labels{A: "your rider", B: "your driver"},
		Notify: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(conv.Status, conv.Mode, conv.ExpiresAt.Sub(conv.CreatedAt))
	for _, p := range conv.Participants {
		fmt.Printf("%s (%s) dials %s\n", p.Number, p.Label, p.ProxyNumber)
	}
	sent := v.Outbox() // both notifications go at once, in either order
	slices.SortFunc(sent, func(a, b proxytest.SentSMS) int { return strings.Compare(a.To, b.To) })
	for _, m := range sent {
		fmt.Printf("SMS to %s from %s: %s\n", m.To, m.From, m.Text)
	}
	// Output:
	// active both 2h0m0s
	// 447400123456 (your rider) dials 447700900001
	// 447400654321 (your driver) dials 447700900001
	// SMS to 447400123456 from 447700900001: Call or text this number to reach your driver.
	// SMS to 447400654321 from 447700900001: Call or text this number to reach your rider.
}
