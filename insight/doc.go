// Package insight is a client for Vonage's Number Insight API: it tells
// whether a phone number is valid, how to format it, which carrier serves it
// and, at the Advanced level, whether it is reachable or roaming.
//
// The three synchronous levels map to Basic, Standard and Advanced. A
// non-zero Number Insight status is returned as an *Error; match its kind
// with errors.Is against ErrThrottled, ErrInvalidRequest, ErrAuth,
// ErrInsufficientCredit and the other sentinels. Throttled lookups (status
// 1, HTTP 429) and server errors are retried with jittered exponential
// backoff before the error is returned.
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
