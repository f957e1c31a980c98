// Package sms sends SMS through Vonage's SMS API and reads the webhooks it
// calls back with: inbound messages and delivery receipts, including the
// "sig" signatures of accounts with signed webhooks enabled. It speaks the
// Messages API for SMS too: MessagesClient sends (with the application's
// JWT, MessagesAuth, or the key and secret), and ParseInboundMessage and
// ParseStatusUpdate read its JSON webhooks, signed with a JWT. An account
// takes inbound SMS through one of the two APIs at a time, set in the
// Vonage dashboard; proxy.Config.SMS.Sender takes either client.
//
// A Client sends one message per call, paced by a client-side rate limiter
// (DefaultRateLimit, 30 requests a second; WithRateLimit) and retried only
// while Vonage reports it was not accepted (throttled). Any part that fails
// comes back as a *SendError next to the Response (its Sent parts were
// accepted, its Failed ones not), so a failed send is never mistaken for
// success. Vonage answers many failures with HTTP 200 and a status in the
// body; each is a typed error matched with errors.Is against ErrThrottled,
// ErrAuth, ErrInsufficientCredit and the other sentinels, and no error
// holds the API secret. SMS to countries that require registrations
// (India's DLT) carry Message.EntityID and ContentID. WithBaseURL and
// WithHTTPClient point a client at a simulator (package proxytest) or a
// test transport.
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
