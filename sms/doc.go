// Package sms sends SMS through Vonage's SMS API and reads the webhooks it
// calls back with: inbound messages and delivery receipts, including the
// "sig" signatures of accounts with signed webhooks enabled.
//
// A Client sends one message per call, paced by a client-side rate limiter
// and retried only while Vonage reports it was not accepted (throttled).
// Any part that fails comes back as a *SendError next to the Response, so a
// failed send is never mistaken for success:
//
//	c, err := sms.NewClient(apiKey, apiSecret)
//	if err != nil { ... }
//	res, err := c.Send(ctx, sms.Message{From: "AcmeInc", To: "447700900000", Text: "Your driver is here"})
//	if errors.Is(err, sms.ErrInsufficientCredit) { ... }
//
// A webhook handler reads, verifies and parses a request:
//
//	params, err := sms.ReadParams(r, 0)
//	if err != nil { ... } // 4xx
//	v := sms.Verifier{Secret: signatureSecret, Method: sms.SHA256}
//	if err := v.Verify(params); err != nil { ... } // 401/403
//	in, err := sms.ParseInbound(params)
package sms
