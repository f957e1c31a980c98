// Package proxy puts two users of a marketplace in touch by phone and SMS
// without either seeing the other's real number, over the Vonage APIs.
//
// A Service allocates each participant of a conversation a proxy number
// from a pool of Vonage numbers, so that a (participant, proxy number)
// pair identifies one active conversation; a pool of N numbers lets each
// participant hold N conversations at once. The Service is an
// http.Handler for Vonage's webhooks: the Voice API's /answer,
// /fallback, /event and /input, the SMS API's /inbound-sms and
// /delivery-receipt, and the Messages API's /inbound-message and
// /message-status. A call from a participant to its proxy number is
// connected to the other participant, shown the other leg's proxy number
// as caller ID, and an SMS is relayed the same way. Calls and SMS are recorded as
// interactions with their status history. Conversations end when closed,
// at their TTL, or after an idle timeout.
//
//	svc, err := proxy.New(proxy.Config{
//		Store: proxy.NewMemoryStore(), // or a shared SQL store
//		SMS:   proxy.SMSConfig{Sender: smsClient}, // *sms.Client
//		Webhooks: proxy.WebhookConfig{ // required: verify signed webhooks
//			SignatureSecret:    secret,
//			SMSSignatureSecret: secret,
//		},
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

// How the files are laid out, by role:
//
//   - The Service and its configuration: service.go (Service, New, Run),
//     config.go (Config and its groups), types.go and errors.go (the
//     values and errors of the API), store.go (the Store contract and
//     its optional interfaces).
//   - The host's API: conversation.go (create, read, close), update.go,
//     message.go, callcontrol.go (calls the Service starts or ends),
//     pool.go, autopilot.go, privacy.go (pseudonyms, erasure),
//     summary.go; allocate.go, pin.go and clients.go serve them.
//   - The webhooks: one file per route, webhook_answer.go,
//     webhook_fallback.go, webhook_event.go, webhook_input.go (PIN
//     calls), webhook_sms.go, webhook_messages.go, webhook_receipt.go;
//     what they share (the routes, reading, authentication, answering)
//     in webhook.go. Calls and SMS share policy.go (admission, the
//     Intercept hook, unknown contacts); SMS also keywords.go, optout.go
//     and redact.go. answerncco.go builds the answer NCCOs.
//   - What is recorded: record.go (interactions), relay.go (sending
//     accepted SMS), eventspool.go (events the store could not take),
//     writebehind.go (answered calls, in batches).
//   - Observability: telemetry.go, storemetrics.go, logging.go
//     (masking), statusrecorder.go. Helpers: text.go, id.go, signer.go.
//   - The in-memory store: memory*.go (the SQL stores are package
//     sqlstore).
