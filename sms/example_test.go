package sms_test

import (
	"errors"
	"fmt"
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
