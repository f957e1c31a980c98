// Package proxytest is an in-process simulated Vonage for tests and demos:
// a fake of the REST APIs this module calls (Numbers, Number Insight, SMS,
// and the Voice API's calls and recordings)
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
//	// ... build the service with smsClient and
//	// SignatureSecret: proxytest.SignatureSecret, create a conversation ...
//	sim := &proxytest.Simulator{Handler: svc, Vonage: v} // signs every webhook
//	call, err := sim.PlaceCall(ctx, rider, proxyNumber) // call.Connected == driver
//	text, err := sim.SendSMS(ctx, rider, proxyNumber, "I'm outside")
//	// text.Relayed[0].From is the driver's proxy number
//
// Every answer of the fake is deterministic and documented on Vonage; the
// Simulator's documentation lists the webhooks it sends. The fake checks
// credentials (APIKey, APISecret), sells numbers per country with limited
// stock and prices against a balance, answers 420 for buying a number
// already owned and Number Insight status 3 for an invalid number, and
// records every SMS it sends (Vonage.Outbox). Serve it with
// httptest.NewServer(v) to reach it over HTTP.
//
// The Simulator signs every webhook as Vonage does, with SignatureSecret
// (default the package's SignatureSecret: give the Service the same);
// Unsigned sends them unsigned, as a forger would. Over a BaseURL (a mux
// served by httptest.NewServer) SendSMS waits up to RelayWait for the
// relay the Service sends after answering; SMSOutcome.RelayPending says
// none came in time. Example_integrationTest is the test a host writes.
//
// With WithApplication(appID, &key.PublicKey) and Vonage.Attach(sim), the
// fake also plays the Voice API: POST /v1/calls (an inline NCCO of talk,
// record and connect), PUT /v1/calls/{uuid} (hang up, mute, earmuff,
// transfer) and GET /v1/files/{id} (recordings). CallOptions.Hold keeps a
// placed call in progress until it is hung up; Vonage.Calls,
// Vonage.WaitCall and Vonage.EndCall show and end the calls it holds.
//
// The Simulator plays the platform's timing and failure rules, as
// Vonage's Voice API webhook reference and troubleshooting guide and its
// SMS API reference describe them:
//   - The answer URL must answer within SocketTimeout (default 5 s). A
//     timeout, a broken connection or HTTP 429, 503 or 504 is retried
//     once; any other failure is not. Then the fallback URL is requested
//     (FallbackPath; NoFallback for an application without one) with the
//     same parameters plus reason and original_request {url, type
//     "answer"}, again once more after a retryable failure; when it gives
//     no NCCO either, the call is dropped (ErrCallDropped). Every request
//     is listed in CallOutcome.Attempts.
//   - An event webhook that fails is sent to the fallback URL, with
//     original_request type "event".
//   - Each leg sends its own events: the caller's (direction inbound)
//     completes even when the callee (outbound) never answers; set
//     CalleeOutcome to make the callee busy, unanswered, rejected,
//     failed, timed out or cancelled. completed carries duration, rate,
//     price, network, start_time, end_time and disconnected_by.
//   - An inbound-SMS part not answered 2xx within SMSTimeout (default
//     15 s) is redelivered, up to SMSAttempts times (Vonage keeps trying
//     for 24 hours).
//   - The Voice API (WithApplication) takes only requests carrying an
//     RS256 JWT signed with the application's private key, with its
//     application_id, iat, exp and jti; others get 401 (an RFC 7807
//     problem document, the Voice API's error shape). A call created with
//     POST /v1/calls sends its legs' events to its event_url through the
//     Simulator given to Vonage.Attach; a hang-up (PUT, action hangup) ends
//     every leg of the call with completed, disconnected_by "platform",
//     after answering 204; a leg that has ended answers 404. Answer
//     webhooks carry region_url (Simulator.RegionURL), and the Voice API
//     records the host each request went to (Request.Host).
//   - A recorded call (a record action) sends the recording event after
//     its completed events; the recording downloads from
//     RecordingHost/v1/files/{id} with the application JWT.
//   - With Simulator.SMSAPI SMSAPIMessages an SMS comes as the Messages
//     API sends it: one JSON webhook per message to InboundMessagePath,
//     signed with a JWT, retried only after a 429 or a 5xx (Vonage:
//     backing off from 5 s to 15 minutes, for 24 hours). The simulated
//     Messages API (POST /v1/messages, application JWT or Basic auth)
//     answers 202 with a message_uuid and posts signed status webhooks
//     (Vonage.StatusTo): submitted, then delivered, or what FailDelivery
//     queued.
//   - The fake SMS API can be slowed (Vonage.Slow), made to fail
//     (Vonage.Fail, FailNext, Throttle), and posts signed delivery
//     receipts for every part it sends (Vonage.ReceiptsTo), delivered
//     unless Vonage.FailDelivery queued another outcome.
package proxytest
