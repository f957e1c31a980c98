package proxy_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// A listing publishes a pool number; a customer calls it with no
// conversation yet. Hooks.OnUnknownContact makes one on the spot, with
// the caller as A on the number dialled, and the call is connected to
// the host, who is shown the host's proxy number (a leg of their own,
// here on the same pool number), never the customer's number.
func ExampleHooks_onUnknownContact() {
	ctx := context.Background()
	listings := map[string]string{"447700900001": "447400654321"} // published number → host
	svc, err := proxy.New(proxy.Config{
		Logger:   slog.New(slog.DiscardHandler),
		Webhooks: proxy.WebhookConfig{SignatureSecret: proxytest.SignatureSecret},
		Hooks: proxy.Hooks{
			OnUnknownContact: func(ctx context.Context, c proxy.Contact) (*proxy.CreateRequest, error) {
				host, ok := listings[c.To]
				if !ok {
					return nil, nil // not a listing: handled as unknown
				}
				return &proxy.CreateRequest{A: c.From, B: host,
					Labels: proxy.Labels{A: "a customer", B: "the host"}}, nil
			},
		},
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
	sim := &proxytest.Simulator{Handler: svc} // signs with proxytest.SignatureSecret
	call, err := sim.PlaceCall(ctx, "447400123456", "447700900001")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("connected to", call.Connected, "showing", call.CallerID)
	convs, _, err := svc.Conversations(ctx, proxy.ListFilter{})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range convs {
		fmt.Printf("%s: %s on %s, %s on %s\n", c.Status,
			c.Participants[proxy.SideA].Label, c.Participants[proxy.SideA].ProxyNumber,
			c.Participants[proxy.SideB].Label, c.Participants[proxy.SideB].ProxyNumber)
	}
	// Output:
	// connected to 447400654321 showing 447700900001
	// active: a customer on 447700900001, the host on 447700900001
}
