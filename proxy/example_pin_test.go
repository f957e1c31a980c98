package proxy_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// Where numbers are scarce, conversations share one pool number and
// callers key in the conversation's PIN (Access AccessPIN). The call is
// answered with an input action; the keys go to the /input webhook,
// which connects the call like a direct one. Wrong PINs are asked again,
// then refused, and counted towards a lock-out in the store.
func ExampleCreateRequest_pin() {
	ctx := context.Background()
	svc, err := proxy.New(proxy.Config{
		Logger:   slog.New(slog.DiscardHandler),
		Webhooks: proxy.WebhookConfig{SignatureSecret: proxytest.SignatureSecret},
		PIN: proxy.PINConfig{
			InputURL: "https://proxy.example.com/vonage/input", // where Vonage sends the keys
			Attempts: 2,
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.AddNumbers(ctx, proxy.PoolNumber{MSISDN: "447700900001", Country: "GB", Voice: true, SMS: true}); err != nil {
		log.Fatal(err)
	}
	conv, err := svc.CreateConversation(ctx, proxy.CreateRequest{
		A: "+44 7400 123456", B: "+44 7400 654321",
		Access: proxy.AccessPIN, PIN: "2468", // omit PIN to have one generated
	})
	if err != nil {
		log.Fatal(err)
	}
	shared := conv.Participants[proxy.SideA].ProxyNumber
	fmt.Println(conv.Access(), "on", shared, "for both:", shared == conv.Participants[proxy.SideB].ProxyNumber)

	sim := &proxytest.Simulator{Handler: svc} // signs with proxytest.SignatureSecret
	for _, digits := range [][]string{{"2468#"}, {"1111#", "2222#"}} {
		call, err := sim.PlaceCallWith(ctx, "447400123456", shared, proxytest.CallOptions{Digits: digits})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("keyed %v: heard %q, connected to %q\n", digits, call.Talk, call.Connected)
	}
	// Output:
	// pin on 447700900001 for both: true
	// keyed [2468#]: heard ["Please enter your PIN, then press hash."], connected to "447400654321"
	// keyed [1111# 2222#]: heard ["Please enter your PIN, then press hash." "That PIN is not right. Please enter it again, then press hash." "That PIN is not right. Goodbye."], connected to ""
}
