// Package proxytest is an in-process simulated Vonage for tests and demos:
// a fake of the REST APIs this module calls (Numbers, Number Insight, SMS)
// and a Simulator that plays Vonage's side of phone calls and inbound SMS
// against a service's webhook handler, end to end, with no account and no
// network.
//
// Point the real API clients at a Vonage, in process or over httptest, and
// drive the service's handler with a Simulator:
//
//	v := proxytest.NewVonage(proxytest.WithOwnedNumbers(
//		proxytest.OwnedNumber{Country: "GB", MSISDN: "447700900001", AppID: proxytest.ApplicationID}))
//	smsClient, _ := sms.NewClient(proxytest.APIKey, proxytest.APISecret,
//		sms.WithHTTPClient(v.Client()), sms.WithBaseURL(proxytest.InProcessURL))
//	// ... build the service with smsClient, create a conversation ...
//	sim := &proxytest.Simulator{Handler: svc, Vonage: v}
//	call, err := sim.PlaceCall(ctx, rider, proxyNumber) // call.Connected == driver
//	text, err := sim.SendSMS(ctx, rider, proxyNumber, "I'm outside")
//	// text.Relayed[0].From is the driver's proxy number
//
// Every answer of the fake is deterministic and documented on Vonage; the
// Simulator's documentation lists the webhooks it sends.
package proxytest
