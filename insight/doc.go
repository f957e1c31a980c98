// Package insight is a client for Vonage's Number Insight API: it tells
// whether a phone number is valid, how to format it, which carrier serves it
// and, at the Advanced level, whether it is reachable or roaming.
//
// The three synchronous levels map to Basic, Standard and Advanced;
// AdvancedAsync starts the asynchronous Advanced lookup Vonage recommends,
// whose result ParseAdvancedCallback reads from the callback request. A
// non-zero Number Insight status is returned as an *Error; match its kind
// with errors.Is against ErrThrottled, ErrInvalidRequest, ErrInvalidNumber
// (status 5: the number's format was refused), ErrAuth,
// ErrInsufficientCredit and the other sentinels. Throttled lookups (status
// 1, HTTP 429) and server errors are retried with jittered exponential
// backoff before the error is returned.
//
// Vonage has announced the end of Number Insight (this, v1, API) for
// February 2027, in favour of its Identity Insights API, a different API
// with its own endpoints, which this package does not speak. Until then
// this client works as it is; after it, lookups will fail with whatever
// Vonage answers (most likely an HTTP error, reported as an *Error). Code
// that uses it only to screen numbers, as proxy.Config.Allocation.Insight does, can
// drop it: the proxy validates numbers offline with libphonenumber
// whether or not an insight check is configured.
//
//	c, err := insight.NewClient(apiKey, apiSecret)
//	if err != nil { ... }
//	res, err := c.Basic(ctx, insight.Request{Number: "07700 900000", Country: "GB"})
//	switch {
//	case errors.Is(err, insight.ErrInvalidRequest):
//		// tell the user the number is wrong
//	case err != nil:
//		return err
//	}
//	fmt.Println(res.InternationalFormatNumber) // 447700900000
package insight
