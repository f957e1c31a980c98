package proxy_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/sms"
)

// A relayed SMS: the driver texts their proxy number and the rider gets
// the text from theirs, with phone numbers removed (SMS.Redact). The
// Simulator plays the driver's phone and Vonage: it posts the signed
// inbound-SMS webhook, and the Service stores the message, answers, and
// relays it through the (simulated) SMS API, whose delivery receipt
// lands on the interaction.
func Example_relaySMS() {
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
		SMS: proxy.SMSConfig{
			Sender: smsClient,
			Redact: proxy.RedactPolicy{Phones: true},
		},
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
	sim := &proxytest.Simulator{Handler: svc, Vonage: v} // signs with proxytest.SignatureSecret
	v.ReceiptsTo(svc, "/delivery-receipt", proxytest.SignatureSecret, sms.MD5Hash)
	driver := conv.Participants[proxy.SideB]
	out, err := sim.SendSMS(ctx, driver.Number, driver.ProxyNumber, "Outside in a blue Prius, or call 07700 900999")
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range out.Relayed {
		fmt.Printf("to %s from %s: %q\n", m.To, m.From, m.Text)
	}
	ins, err := svc.Interactions(ctx, conv.ID)
	if err != nil {
		log.Fatal(err)
	}
	for _, in := range ins {
		fmt.Println(in.Kind, "from", in.From, "to", in.To+":", proxy.Summarize(in).Status)
	}
	// Output:
	// to 447400123456 from 447700900001: "Outside in a blue Prius, or call [removed]"
	// sms from 447400654321 to 447700900001: delivered
}
