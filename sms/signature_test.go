package sms_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/voiceproxy/voiceproxy/sms"
)

// vectorSecret and vectorParams are the signed-webhook vector used below.
// Its canonical string (sig dropped, keys sorted, "&" and "=" in values
// turned into "_", each pair written as "&key=value") is:
//
//	&api-key=abcd1234&keyword=HELLO&message-timestamp=2020-01-01 12:00:00&messageId=0A0000000123ABCD1&msisdn=447700900001&nonce=aaaaaaaa-bbbb-cccc-dddd-0123456789ab&text=Hello world _ a_b&timestamp=1577880000&to=447700900000&type=text
//
// The expected signatures were computed outside Go, with S set to that
// string and K to vectorSecret:
//
//	printf '%s%s' "$S" "$K" | md5sum                 # md5hash
//	printf '%s' "$S" | openssl dgst -md5 -hmac "$K"    # md5
//	printf '%s' "$S" | openssl dgst -sha1 -hmac "$K"   # sha1
//	printf '%s' "$S" | openssl dgst -sha256 -hmac "$K" # sha256
//	printf '%s' "$S" | openssl dgst -sha512 -hmac "$K" # sha512
const vectorSecret = "Ex4mpleSignatureSecret"

var vectorTime = time.Unix(1577880000, 0) // 2020-01-01 12:00:00 UTC

func vectorParams() url.Values {
	return url.Values{
		"api-key":           {"abcd1234"},
		"msisdn":            {"447700900001"},
		"to":                {"447700900000"},
		"messageId":         {"0A0000000123ABCD1"},
		"text":              {"Hello world & a=b"},
		"type":              {"text"},
		"keyword":           {"HELLO"},
		"message-timestamp": {"2020-01-01 12:00:00"},
		"timestamp":         {"1577880000"},
		"nonce":             {"aaaaaaaa-bbbb-cccc-dddd-0123456789ab"},
	}
}

var vectors = []struct {
	method sms.SigMethod
	want   string
}{
	{sms.MD5Hash, "5d6f87a23b937c19b217e5fa049bb6bd"},
	{sms.MD5, "512ca8c909efede6d5d6b418e35fca14"},
	{sms.SHA1, "bbdbac885040a6a4bb4aef12a13a5e25d0174cd4"},
	{sms.SHA256, "9f97a5f84ed5273278be108840afcf4594fd0e0bdc8a13b97c8d135a1432a8ab"},
	{sms.SHA512, "661dcbfd71386c04bf1db391c56967d7b7907d94f31f9032fc1cacfbf5874174ed00440cec12bcfafdbc79f0cf0c47a1bb9f6752c8fda40e3bc3ff0d05b2f38d"},
}

func TestSignVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range vectors {
		t.Run(string(tc.method), func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, sms.Sign(vectorParams(), vectorSecret, tc.method)); diff != "" {
				t.Errorf("Sign (-want +got):\n%s", diff)
			}
			// An existing sig does not take part in the signature.
			p := vectorParams()
			p.Set("sig", "whatever")
			if got := sms.Sign(p, vectorSecret, tc.method); got != tc.want {
				t.Errorf("Sign with sig present = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestSignUnknownMethod(t *testing.T) {
	t.Parallel()
	if got := sms.Sign(vectorParams(), vectorSecret, "crc32"); got != "" {
		t.Errorf("Sign with unknown method = %q, want empty", got)
	}
}

func TestVerifyVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range vectors {
		for _, sig := range []string{tc.want, strings.ToUpper(tc.want)} {
			t.Run(string(tc.method)+"/"+sig[:4], func(t *testing.T) {
				t.Parallel()
				p := vectorParams()
				p.Set("sig", sig)
				v := sms.Verifier{Secret: vectorSecret, Method: tc.method, Now: func() time.Time { return vectorTime }}
				if err := v.Verify(p); err != nil {
					t.Errorf("Verify: %v", err)
				}
			})
		}
	}
}

func TestVerifyDefaultMethodIsMD5Hash(t *testing.T) {
	t.Parallel()
	p := vectorParams()
	p.Set("sig", vectors[0].want)
	v := sms.Verifier{Secret: vectorSecret, Now: func() time.Time { return vectorTime }}
	if err := v.Verify(p); err != nil {
		t.Errorf("Verify with Method \"\": %v", err)
	}
}

func TestVerifyErrors(t *testing.T) {
	t.Parallel()
	signed := func(edit func(url.Values)) url.Values {
		p := vectorParams()
		sms.SignParams(p, vectorSecret, sms.SHA256)
		edit(p)
		return p
	}
	resigned := func(edit func(url.Values)) url.Values {
		p := vectorParams()
		edit(p)
		sms.SignParams(p, vectorSecret, sms.SHA256)
		return p
	}
	tests := []struct {
		name      string
		params    url.Values
		method    sms.SigMethod
		tolerance time.Duration
		now       time.Time
		want      error
	}{
		{"valid", signed(func(url.Values) {}), sms.SHA256, 0, vectorTime, nil},
		{"missing sig", vectorParams(), sms.SHA256, 0, vectorTime, sms.ErrMissingSignature},
		{"empty sig", signed(func(p url.Values) { p.Set("sig", "") }), sms.SHA256, 0, vectorTime, sms.ErrMissingSignature},
		{"tampered text", signed(func(p url.Values) { p.Set("text", "Hello world & a=c") }), sms.SHA256, 0, vectorTime, sms.ErrBadSignature},
		{"added param", signed(func(p url.Values) { p.Set("concat", "true") }), sms.SHA256, 0, vectorTime, sms.ErrBadSignature},
		{"removed param", signed(func(p url.Values) { p.Del("nonce") }), sms.SHA256, 0, vectorTime, sms.ErrBadSignature},
		{"tampered timestamp", signed(func(p url.Values) { p.Set("timestamp", "1577880001") }), sms.SHA256, 0, vectorTime, sms.ErrBadSignature},
		{"not hex", signed(func(p url.Values) { p.Set("sig", "zz"+p.Get("sig")[2:]) }), sms.SHA256, 0, vectorTime, sms.ErrBadSignature},
		{"truncated", signed(func(p url.Values) { p.Set("sig", p.Get("sig")[:32]) }), sms.SHA256, 0, vectorTime, sms.ErrBadSignature},
		{"other method", signed(func(url.Values) {}), sms.SHA512, 0, vectorTime, sms.ErrBadSignature},
		{"unknown method", signed(func(url.Values) {}), "sha3", 0, vectorTime, sms.ErrUnknownSigMethod},
		// The method is checked first, so Verify(nil) validates a configuration.
		{"unknown method nil params", nil, "SHA256", 0, vectorTime, sms.ErrUnknownSigMethod},
		{"nil params", nil, sms.SHA256, 0, vectorTime, sms.ErrMissingSignature},
		{"edge of tolerance past", signed(func(url.Values) {}), sms.SHA256, 0, vectorTime.Add(5 * time.Minute), nil},
		{"edge of tolerance future", signed(func(url.Values) {}), sms.SHA256, 0, vectorTime.Add(-5 * time.Minute), nil},
		{"stale", signed(func(url.Values) {}), sms.SHA256, 0, vectorTime.Add(5*time.Minute + time.Second), sms.ErrStaleSignature},
		{"future", signed(func(url.Values) {}), sms.SHA256, 0, vectorTime.Add(-6 * time.Minute), sms.ErrStaleSignature},
		{"custom tolerance", signed(func(url.Values) {}), sms.SHA256, time.Minute, vectorTime.Add(2 * time.Minute), sms.ErrStaleSignature},
		{"wide tolerance", signed(func(url.Values) {}), sms.SHA256, time.Hour, vectorTime.Add(59 * time.Minute), nil},
		{"missing timestamp", resigned(func(p url.Values) { p.Del("timestamp") }), sms.SHA256, 0, vectorTime, sms.ErrStaleSignature},
		{"invalid timestamp", resigned(func(p url.Values) { p.Set("timestamp", "2020-01-01") }), sms.SHA256, 0, vectorTime, sms.ErrStaleSignature},
		{"huge timestamp", resigned(func(p url.Values) { p.Set("timestamp", "9223372036854775807") }), sms.SHA256, 0, vectorTime, sms.ErrStaleSignature},
		{"tiny timestamp", resigned(func(p url.Values) { p.Set("timestamp", "-9223372036854775808") }), sms.SHA256, 0, vectorTime, sms.ErrStaleSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := sms.Verifier{Secret: vectorSecret, Method: tc.method, Tolerance: tc.tolerance,
				Now: func() time.Time { return tc.now }}
			err := v.Verify(tc.params)
			if !errors.Is(err, tc.want) { // errors.Is(err, nil) holds only for a nil err
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyWrongSecret(t *testing.T) {
	t.Parallel()
	for _, tc := range vectors {
		p := vectorParams()
		p.Set("sig", tc.want)
		v := sms.Verifier{Secret: vectorSecret + "x", Method: tc.method, Now: func() time.Time { return vectorTime }}
		if err := v.Verify(p); !errors.Is(err, sms.ErrBadSignature) {
			t.Errorf("%s: Verify with wrong secret = %v, want ErrBadSignature", tc.method, err)
		}
	}
}

func TestSignParamsReplacesSig(t *testing.T) {
	t.Parallel()
	p := vectorParams()
	p.Set("sig", "old")
	sms.SignParams(p, vectorSecret, sms.SHA1)
	if diff := cmp.Diff([]string{vectors[2].want}, p["sig"]); diff != "" {
		t.Errorf("sig after SignParams (-want +got):\n%s", diff)
	}
}

// A holder of one genuine signed webhook cannot merge or split
// parameters under its signature: names with "&" or "=" are refused.
func TestVerifyRefusesAmbiguousNames(t *testing.T) {
	t.Parallel()
	const secret = "s3cret"
	now := time.Unix(1_700_000_000, 0)
	genuine := url.Values{
		"msisdn": {"447700900101"}, "to": {"447700900001"}, "messageId": {"M1"}, "text": {"part one"},
		"concat": {"true"}, "concat-ref": {"7"}, "concat-part": {"1"}, "concat-total": {"2"},
		"timestamp": {"1700000000"}, "nonce": {"n1"},
	}
	sms.SignParams(genuine, secret, sms.SHA256)
	v := sms.Verifier{Secret: secret, Method: sms.SHA256, Now: func() time.Time { return now }}
	if err := v.Verify(genuine); err != nil {
		t.Fatalf("genuine: %v", err)
	}
	// The canonical string "&concat-part=1&concat-ref=7&concat-total=2"
	// is the same with these two names merged into one.
	forged := url.Values{}
	for k, vs := range genuine {
		forged[k] = vs
	}
	delete(forged, "concat-part")
	delete(forged, "concat-ref")
	forged["concat-part=1&concat-ref"] = []string{"7"}
	if err := v.Verify(forged); !errors.Is(err, sms.ErrBadSignature) || !strings.Contains(err.Error(), "&") {
		t.Fatalf("merged names: %v, want ErrBadSignature naming the parameter", err)
	}
}
