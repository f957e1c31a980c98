package sms_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/voiceproxy/voiceproxy/sms"
)

// Sign a webhook's parameters the way Vonage does, then check them as the
// receiving handler would.
func ExampleVerifier_Verify() {
	now := time.Date(2020, 1, 1, 12, 0, 0, 0, time.UTC)
	params := url.Values{
		"msisdn":            {"447700900001"},
		"to":                {"447700900000"},
		"messageId":         {"0A0000000123ABCD1"},
		"text":              {"Hello world"},
		"type":              {"text"},
		"keyword":           {"HELLO"},
		"message-timestamp": {"2020-01-01 12:00:00"},
		"timestamp":         {fmt.Sprint(now.Unix())},
		"nonce":             {"aaaaaaaa-bbbb-cccc-dddd-0123456789ab"},
	}
	sms.SignParams(params, "my-signature-secret", sms.SHA256)

	v := sms.Verifier{Secret: "my-signature-secret", Method: sms.SHA256, Now: func() time.Time { return now }}
	if err := v.Verify(params); err != nil {
		fmt.Println("rejected:", err)
		return
	}
	in, err := sms.ParseInbound(params)
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	fmt.Printf("from %s to %s: %q\n", in.MSISDN, in.To, in.Text)

	params.Set("text", "Hello world, send money")
	fmt.Println("tampered:", errors.Is(v.Verify(params), sms.ErrBadSignature))
	// Output:
	// from 447700900001 to 447700900000: "Hello world"
	// tampered: true
}

// Send a message and tell a partial failure from success. The local test
// server stands in for Vonage and accepts the first of two parts only.
func ExampleClient_Send() {
	vonage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"message-count":"2","messages":[
			{"to":"447700900000","message-id":"0A0000000123ABCD1","status":"0","message-price":"0.03330000"},
			{"to":"447700900000","status":"9","error-text":"Partner quota exceeded"}]}`)
	}))
	defer vonage.Close()

	c, err := sms.NewClient("abcd1234", "api-secret", sms.WithBaseURL(vonage.URL), sms.WithRateLimit(10))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := c.Send(context.Background(), sms.Message{
		From: "AcmeInc",
		To:   "+447700900000",
		Text: "Your driver is here. Look for a blue car, plate ABC 123.",
	})
	var se *sms.SendError
	switch {
	case errors.As(err, &se):
		fmt.Printf("%d of %d parts sent; out of credit: %v\n", len(se.Sent), res.MessageCount, errors.Is(err, sms.ErrInsufficientCredit))
	case err != nil:
		fmt.Println("not sent:", err)
	default:
		fmt.Println("sent as", res.Messages[0].MessageID)
	}
	// Output:
	// 1 of 2 parts sent; out of credit: true
}
