package proxy_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"slices"
	"strings"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/sms"
)

// When the job is done, the conversation is closed: WithGoodbye texts
// both participants from their proxy numbers, and from then on a call to
// the proxy number is answered with the spoken refusal, nothing
// connected.
func ExampleService_CloseConversation() {
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
	if err := svc.AddNumbers(ctx, proxy.PoolNumber{MSISDN: "447700900001", Country: "GB", Voice: true, SMS: true}); err != nil {
		log.Fatal(err)
	}
	conv, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+44 7400 123456", B: "+44 7400 654321"})
	if err != nil {
		log.Fatal(err)
	}
	conv, err = svc.CloseConversation(ctx, conv.ID, proxy.WithGoodbye("Your ride has ended."))
	if err != nil {
		log.Fatal(err) // a *proxy.NotifyError names a goodbye that failed
	}
	fmt.Println(conv.Status)
	sent := v.Outbox() // both goodbyes go at once, in either order
	slices.SortFunc(sent, func(a, b proxytest.SentSMS) int { return strings.Compare(a.To, b.To) })
	for _, m := range sent {
		fmt.Printf("SMS to %s from %s: %s\n", m.To, m.From, m.Text)
	}

	sim := &proxytest.Simulator{Handler: svc, Vonage: v} // signs with proxytest.SignatureSecret
	call, err := sim.PlaceCall(ctx, "447400123456", conv.Participants[proxy.SideA].ProxyNumber)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("a call now: heard %q, connected to %q\n", call.Talk, call.Connected)
	// Output:
	// closed
	// SMS to 447400123456 from 447700900001: Your ride has ended.
	// SMS to 447400654321 from 447700900001: Your ride has ended.
	// a call now: heard ["Sorry, the number you have called is not in service."], connected to ""
}
