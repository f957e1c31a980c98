// Package proxy puts two users of a marketplace in touch by phone and SMS
// without either seeing the other's real number, over the Vonage APIs.
//
// A Service allocates each participant of a conversation a proxy number
// from a pool of Vonage numbers, so that a (participant, proxy number)
// pair identifies one active conversation; a pool of N numbers lets each
// participant hold N conversations at once. The Service is an
// http.Handler for Vonage's answer, fallback, event, input, inbound-SMS
// and delivery-receipt webhooks: a call from a participant to its proxy number is connected to
// the other participant, shown the other leg's proxy number as caller ID,
// and an SMS is relayed the same way. Calls and SMS are recorded as
// interactions with their status history. Conversations end when closed,
// at their TTL, or after an idle timeout.
//
//	svc, err := proxy.New(proxy.Config{
//		Store:           proxy.NewMemoryStore(), // or a shared SQL store
//		SMS:             smsClient,              // *sms.Client
//		SignatureSecret: secret,                 // required: verify signed webhooks
//	})
//	if err != nil {
//		return err
//	}
//	err = svc.AddNumbers(ctx, proxy.PoolNumber{MSISDN: "447700900001", Voice: true, SMS: true})
//	mux.Handle("/vonage/", http.StripPrefix("/vonage", svc))
//	go svc.Run(ctx) // expire conversations, retry SMS relays
//	conv, err := svc.CreateConversation(ctx, proxy.CreateRequest{
//		A: rider, B: driver, TTL: 2 * time.Hour, Notify: true,
//	})
//
// Where numbers are scarce, a conversation may instead share one pool
// number with others and be reached with a PIN (CreateRequest.Access
// AccessPIN): callers key it in at an input prompt, served by the /input
// webhook. Config.Pool.Autopilot buys numbers when a participant has none left
// in their country and gives back idle ones.
//
// The Store interface keeps all state; several Service instances sharing
// one database enforce the allocation invariant, PIN uniqueness, purchase
// leases and PIN lock-outs through it.
package proxy
