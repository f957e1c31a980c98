// Package numbers is a client for Vonage's Numbers API: search for virtual
// numbers to rent, buy and cancel them, route them to an application or
// webhooks, and list the numbers an account owns.
//
// Failures, whether an HTTP error or an HTTP 200 whose body says
// {"error-code":"420", ...}, are returned as *Error; match them with
// errors.Is against ErrAuth, ErrMethodFailed, ErrThrottled and the other
// sentinels. Reads and updates are retried on 429 and 5xx; Buy and Cancel
// only when the answer proves Vonage did not act, so a number is never
// bought twice by a retry.
//
// The credentials go in the query string of every request, as Vonage's
// API description says; WithBasicAuth sends them in an Authorization
// header instead, as the official SDKs do. ForSubaccount buys or cancels
// for a subaccount (target_api_key); ListAll pages through every owned
// number (ListOptions.ApplicationID: those linked to one application);
// Update links a number to an application or webhooks
// (UpdateRequest.ClearMoHTTPURL removes its inbound-SMS webhook).
//
//	c, err := numbers.NewClient(apiKey, apiSecret)
//	if err != nil { ... }
//	res, err := c.Search(ctx, "GB", numbers.SearchOptions{
//		Features: []string{numbers.FeatureVoice, numbers.FeatureSMS},
//	})
//	if err != nil { ... }
//	if len(res.Numbers) > 0 {
//		err = c.Buy(ctx, "GB", res.Numbers[0].MSISDN) // never retried once Vonage may have acted
//	}
//	owned, err := c.ListAll(ctx, numbers.ListOptions{ApplicationID: appID})
package numbers
