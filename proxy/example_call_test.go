package proxy_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log"
	"log/slog"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// Click-to-call through Vonage's Voice API, here the simulated one: Call
// rings A from A's proxy number, speaks the whisper once A answers, then
// rings B from B's proxy number, so each sees only the number that
// stands for the other. Closing the conversation hangs the call up.
//
// Call control needs the application's private key (the PEM file the
// Vonage dashboard gave); the example makes a key pair, as the demo's
// sandbox does, and the simulated Voice API refuses requests not signed
// with it.
func ExampleService_Call() {
	ctx := context.Background()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		log.Fatal(err)
	}
	v := proxytest.NewVonage(proxytest.WithApplication(proxytest.ApplicationID, &key.PublicKey))
	svc, err := proxy.New(proxy.Config{
		Logger:        slog.New(slog.DiscardHandler),
		ApplicationID: proxytest.ApplicationID,
		Webhooks:      proxy.WebhookConfig{SignatureSecret: proxytest.SignatureSecret},
		CallControl: proxy.CallControlConfig{
			ApplicationKey: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
			EventURL:       "https://proxy.example.com/vonage/event", // the call's events, tagged with the conversation
			HTTPClient:     v.Client(),                               // the simulated Voice API; omit it live
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
	// The simulated Voice API sends the call's webhooks to svc, signed.
	v.Attach(&proxytest.Simulator{Handler: svc, Vonage: v})

	conv, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+44 7400 123456", B: "+44 7400 654321"})
	if err != nil {
		log.Fatal(err)
	}
	in, err := svc.Call(ctx, conv.ID, proxy.CallRequest{Side: proxy.SideA, Whisper: "Connecting you to your driver."})
	if err != nil {
		log.Fatal(err) // ErrCallControlOff without a key, a *CallRefusedError, ErrConversationEnded…
	}
	fmt.Println(in.Kind, in.Events[0].Status)
	call, err := v.WaitCall(ctx, in.ExternalID, func(c proxytest.SimCall) bool {
		return len(c.Legs) == 2 && c.Legs[1].Status == "answered"
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("heard %q\n", call.Talk)
	for _, leg := range call.Legs {
		fmt.Println("rang", leg.To, "showing", leg.From+":", leg.Status)
	}

	if _, err := svc.CloseConversation(ctx, conv.ID); err != nil {
		log.Fatal(err) // a *HangupError when a leg could not be hung up (retried)
	}
	call, err = v.WaitCall(ctx, in.ExternalID, func(c proxytest.SimCall) bool { return c.Ended })
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("hung up on close:", call.Ended)
	// Output:
	// call requested
	// heard ["Connecting you to your driver."]
	// rang 447400123456 showing 447700900001: answered
	// rang 447400654321 showing 447700900001: answered
	// hung up on close: true
}
