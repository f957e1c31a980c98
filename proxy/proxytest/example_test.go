package proxytest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/sms"
)

// The simulated REST API answers the real wire format in process.
func ExampleVonage() {
	v := proxytest.NewVonage()
	resp, err := v.Client().Get(proxytest.InProcessURL + "/number/search?country=US&size=2&api_key=" +
		proxytest.APIKey + "&api_secret=" + proxytest.APISecret)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	// Output:
	// {"count":100,"numbers":[{"country":"US","msisdn":"12015550100","type":"mobile-lvn","cost":"1.25","features":["SMS","VOICE"]},{"country":"US","msisdn":"12015550101","type":"mobile-lvn","cost":"1.25","features":["SMS","VOICE"]}]}
}

// A Simulator places a call against any webhook handler and reports what
// the NCCO did.
func ExampleSimulator_PlaceCall() {
	answer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/answer" {
			io.WriteString(w, `[{"action":"talk","text":"Connecting you."},
				{"action":"connect","from":"447700900001","endpoint":[{"type":"phone","number":"447400123456"}]}]`)
		}
	})
	sim := &proxytest.Simulator{Handler: answer}
	call, err := sim.PlaceCall(context.Background(), "447400654321", "447700900001")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(call.Talk, call.Connected, "sees", call.CallerID)
	for _, e := range call.Events[len(call.Events)-2:] {
		fmt.Println(e.Leg, e.Params["status"], e.Params["duration"]+"s", e.Params["price"])
	}
	// Output:
	// [Connecting you.] 447400123456 sees 447700900001
	// callee completed 42s 0.00420000
	// caller completed 46s 0.00460000
}

// The offline integration test a host writes: its own mux with the
// Service mounted, served over HTTP; the simulated Vonage behind the SMS
// client and playing the Voice API; a Simulator playing the phones,
// signing every webhook as Vonage does. The outcomes are complete over
// HTTP as in process: SendSMS waits for the relay the Service sends
// after answering (Simulator.RelayWait).
func Example_integrationTest() {
	ctx := context.Background()
	v := proxytest.NewVonage()
	smsClient, err := sms.NewClient(proxytest.APIKey, proxytest.APISecret,
		sms.WithHTTPClient(v.Client()), sms.WithBaseURL(proxytest.InProcessURL))
	if err != nil {
		fmt.Println(err)
		return
	}
	svc, err := proxy.New(proxy.Config{
		Store: proxy.NewMemoryStore(),
		// what the Simulator signs with
		Logger:   slog.New(slog.DiscardHandler),
		SMS:      proxy.SMSConfig{Sender: smsClient},
		Webhooks: proxy.WebhookConfig{SignatureSecret: proxytest.SignatureSecret},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := svc.AddNumbers(ctx, proxy.PoolNumber{MSISDN: "447700900001", Country: "GB", Voice: true, SMS: true}); err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/vonage/", http.StripPrefix("/vonage", svc))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	sim := &proxytest.Simulator{BaseURL: srv.URL + "/vonage", Client: srv.Client(), Vonage: v}
	v.Attach(sim)

	conv, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+44 7400 123456", B: "+44 7400 654321"})
	if err != nil {
		fmt.Println(err)
		return
	}
	riderProxy := conv.Participants[proxy.SideA].ProxyNumber
	call, err := sim.PlaceCall(ctx, "447400123456", riderProxy)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("call connected to", call.Connected, "showing", call.CallerID)
	out, err := sim.SendSMS(ctx, "447400654321", conv.Participants[proxy.SideB].ProxyNumber, "Outside in a blue Prius")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range out.Relayed {
		fmt.Printf("SMS relayed to %s from %s: %q\n", m.To, m.From, m.Text)
	}
	// Output:
	// call connected to 447400654321 showing 447700900001
	// SMS relayed to 447400123456 from 447700900001: "Outside in a blue Prius"
}
