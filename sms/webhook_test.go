package sms_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voiceproxy/voiceproxy/internal/mocktest"
	"github.com/voiceproxy/voiceproxy/sms"
)

// fixture returns a file from testdata/sms, surrounding space trimmed.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	return bytes.TrimSpace(mocktest.Fixture(t, "sms", name))
}

// webhookRequest builds the request Vonage would make with a fixture:
// *.json as a JSON POST, *.form as a form POST, *.query as a GET.
func webhookRequest(t testing.TB, name string) *http.Request {
	t.Helper()
	b := fixture(t, name)
	switch filepath.Ext(name) {
	case ".json":
		r := httptest.NewRequest(http.MethodPost, "/webhooks/sms", bytes.NewReader(b))
		r.Header.Set("Content-Type", "application/json")
		return r
	case ".form":
		r := httptest.NewRequest(http.MethodPost, "/webhooks/sms", bytes.NewReader(b))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	case ".query":
		return httptest.NewRequest(http.MethodGet, "/webhooks/sms?"+string(b), nil)
	}
	t.Fatalf("fixture %s: unknown kind", name)
	return nil
}

// parseFixture reads a fixture as the request Vonage would make and parses
// its parameters with parse (sms.ParseInbound, sms.ParseDeliveryReceipt).
func parseFixture[T any](t *testing.T, name string, parse func(url.Values) (T, error)) T {
	t.Helper()
	v, err := sms.ReadParams(webhookRequest(t, name), 0)
	if err != nil {
		t.Fatalf("ReadParams(%s): %v", name, err)
	}
	got, err := parse(v)
	if err != nil {
		t.Fatalf("parsing %s: %v", name, err)
	}
	return got
}

// checkParamError fails t unless err, returned with got, is want and a
// *sms.ParamError naming param.
func checkParamError(t *testing.T, got any, err, want error, param string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got %+v, %v; want error %v", got, err, want)
	}
	var pe *sms.ParamError
	if !errors.As(err, &pe) || pe.Param != param {
		t.Errorf("error %v does not name parameter %q", err, param)
	}
}

func TestParseInboundFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture string
		want    *sms.Inbound
	}{
		{"inbound-text.json", &sms.Inbound{
			MSISDN: "447700900001", To: "447700900000", MessageID: "0A0000000123ABCD1",
			Text: "Hello world", Type: "text", Keyword: "HELLO",
			MessageTimestamp: "2020-01-01 12:00:00", APIKey: "abcd1234",
		}},
		{"inbound-concat.form", &sms.Inbound{
			MSISDN: "447700900001", To: "447700900000", MessageID: "0A0000000123ABCD2",
			Text: "part two of three", Type: "text", Keyword: "PART",
			MessageTimestamp: "2020-01-01 12:00:05", APIKey: "abcd1234",
			Concat: true, ConcatRef: "1", ConcatTotal: 3, ConcatPart: 2,
		}},
		{"inbound-unicode.query", &sms.Inbound{
			MSISDN: "447700900001", To: "447700900000", MessageID: "0A0000000123ABCD3",
			Text: "你好 😀", Type: "unicode", Keyword: "你好",
			MessageTimestamp: "2020-01-01 12:00:10",
		}},
		{"inbound-signed.json", &sms.Inbound{
			MSISDN: "447700900001", To: "447700900000", MessageID: "0A0000000123ABCD1",
			Text: "Hello world & a=b", Type: "text", Keyword: "HELLO",
			MessageTimestamp: "2020-01-01 12:00:00", APIKey: "abcd1234",
			Timestamp: 1577880000, Nonce: "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			t.Parallel()
			got := parseFixture(t, tc.fixture, sms.ParseInbound)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseInbound (-want +got):\n%s", diff)
			}
		})
	}
}

// The signed JSON fixture carries its timestamp as a JSON number and its
// sig in upper case; flattening must reproduce exactly what was signed.
func TestSignedJSONWebhookVerifies(t *testing.T) {
	t.Parallel()
	v, err := sms.ReadParams(webhookRequest(t, "inbound-signed.json"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(vectorParams().Encode(), withoutSig(v).Encode()); diff != "" {
		t.Errorf("flattened params (-want +got):\n%s", diff)
	}
	ver := sms.Verifier{Secret: vectorSecret, Method: sms.SHA256, Now: func() time.Time { return vectorTime.Add(time.Minute) }}
	if err := ver.Verify(v); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func withoutSig(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		if k != "sig" {
			c[k] = vs
		}
	}
	return c
}

func TestParseDeliveryReceiptFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture string
		want    *sms.DeliveryReceipt
	}{
		{"dlr-delivered.json", &sms.DeliveryReceipt{
			MSISDN: "447700900000", To: "AcmeInc", NetworkCode: "12345", MessageID: "0A0000001234567B",
			Price: "0.03330000", Status: sms.DeliveryDelivered, SCTS: "2001011400", ErrCode: 0,
			APIKey: "abcd1234", ClientRef: "my-personal-reference", MessageTimestamp: "2020-01-01 12:00:00",
			Timestamp: 1582650446, Nonce: "ec11dd3e-1e7f-4db5-9467-82b02cd223b9",
		}},
		{"dlr-failed.query", &sms.DeliveryReceipt{
			MSISDN: "447700900000", To: "447700900099", NetworkCode: "23410", MessageID: "0A0000001234567C",
			Price: "0.03330000", Status: sms.DeliveryFailed, SCTS: "2001011401", ErrCode: 6,
			APIKey: "abcd1234", MessageTimestamp: "2020-01-01 12:01:00",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			t.Parallel()
			got := parseFixture(t, tc.fixture, sms.ParseDeliveryReceipt)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseDeliveryReceipt (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadParamsJSONFlattening(t *testing.T) {
	t.Parallel()
	body := `{"s":"x y","i":42,"f":0.0333,"e":1e3,"neg":-7,"t":true,"fa":false,"n":null,"esc":"a\u0026b"}`
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	got, err := sms.ReadParams(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{
		"s": {"x y"}, "i": {"42"}, "f": {"0.0333"}, "e": {"1e3"}, "neg": {"-7"},
		"t": {"true"}, "fa": {"false"}, "esc": {"a&b"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadParams (-want +got):\n%s", diff)
	}
}

func TestReadParamsPostIgnoresQuery(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/?to=999", strings.NewReader("to=447700900000"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	got, err := sms.ReadParams(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(url.Values{"to": {"447700900000"}}, got); diff != "" {
		t.Errorf("ReadParams (-want +got):\n%s", diff)
	}
}

func TestReadParamsErrors(t *testing.T) {
	t.Parallel()
	big := "text=" + strings.Repeat("a", 100)
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		max         int64
		want        error
	}{
		{"put", http.MethodPut, "application/json", "{}", 0, sms.ErrMethodNotAllowed},
		{"no content type", http.MethodPost, "", "a=b", 0, sms.ErrUnsupportedMediaType},
		{"bad content type", http.MethodPost, "text/plain", "a=b", 0, sms.ErrUnsupportedMediaType},
		{"unparseable content type", http.MethodPost, "application/json; ;", "{}", 0, sms.ErrUnsupportedMediaType},
		{"multipart", http.MethodPost, "multipart/form-data; boundary=x", "--x--", 0, sms.ErrUnsupportedMediaType},
		{"form too large", http.MethodPost, "application/x-www-form-urlencoded", big, 50, sms.ErrBodyTooLarge},
		{"json too large", http.MethodPost, "application/json", `{"text":"` + strings.Repeat("a", 100) + `"}`, 50, sms.ErrBodyTooLarge},
		{"form bad escape", http.MethodPost, "application/x-www-form-urlencoded", "a=%zz", 0, sms.ErrMalformedBody},
		{"json empty", http.MethodPost, "application/json", "", 0, sms.ErrMalformedBody},
		{"json syntax", http.MethodPost, "application/json", `{"a":`, 0, sms.ErrMalformedBody},
		{"json array", http.MethodPost, "application/json", `["a"]`, 0, sms.ErrMalformedBody},
		{"json null", http.MethodPost, "application/json", `null`, 0, sms.ErrMalformedBody},
		{"json string", http.MethodPost, "application/json", `"a"`, 0, sms.ErrMalformedBody},
		{"json nested object", http.MethodPost, "application/json", `{"a":{"b":"c"}}`, 0, sms.ErrMalformedBody},
		{"json nested array", http.MethodPost, "application/json", `{"a":[1]}`, 0, sms.ErrMalformedBody},
		{"json trailing data", http.MethodPost, "application/json", `{"a":"b"} {"c":"d"}`, 0, sms.ErrMalformedBody},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tc.method, "/", strings.NewReader(tc.body))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			got, err := sms.ReadParams(r, tc.max)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ReadParams = %v, %v; want error %v", got, err, tc.want)
			}
		})
	}
}

func TestReadParamsLimitIsInclusive(t *testing.T) {
	t.Parallel()
	body := "text=" + strings.Repeat("a", 45) // exactly 50 bytes
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	got, err := sms.ReadParams(r, 50)
	if err != nil {
		t.Fatalf("ReadParams at the limit: %v", err)
	}
	if len(got.Get("text")) != 45 {
		t.Errorf("text length = %d, want 45", len(got.Get("text")))
	}
}

func inboundParams() url.Values {
	return url.Values{
		"msisdn": {"447700900001"}, "to": {"447700900000"}, "messageId": {"0A0000000123ABCD1"},
		"text": {"hi"}, "type": {"text"}, "keyword": {"HI"}, "message-timestamp": {"2020-01-01 12:00:00"},
	}
}

func TestParseInboundErrors(t *testing.T) {
	t.Parallel()
	edit := func(f func(url.Values)) url.Values {
		v := inboundParams()
		f(v)
		return v
	}
	concat := func(f func(url.Values)) url.Values {
		return edit(func(v url.Values) {
			v.Set("concat", "true")
			v.Set("concat-ref", "7")
			v.Set("concat-total", "2")
			v.Set("concat-part", "1")
			f(v)
		})
	}
	tests := []struct {
		name   string
		params url.Values
		param  string
		want   error
	}{
		{"no msisdn", edit(func(v url.Values) { v.Del("msisdn") }), "msisdn", sms.ErrMissingParam},
		{"no to", edit(func(v url.Values) { v.Set("to", "") }), "to", sms.ErrMissingParam},
		{"no messageId", edit(func(v url.Values) { v.Del("messageId") }), "messageId", sms.ErrMissingParam},
		{"no type", edit(func(v url.Values) { v.Del("type") }), "type", sms.ErrMissingParam},
		{"no message-timestamp", edit(func(v url.Values) { v.Del("message-timestamp") }), "message-timestamp", sms.ErrMissingParam},
		{"no text", edit(func(v url.Values) { v.Del("text") }), "text", sms.ErrMissingParam},
		{"bad timestamp", edit(func(v url.Values) { v.Set("timestamp", "12:00") }), "timestamp", sms.ErrInvalidParam},
		{"bad concat", edit(func(v url.Values) { v.Set("concat", "yes") }), "concat", sms.ErrInvalidParam},
		{"concat no ref", concat(func(v url.Values) { v.Del("concat-ref") }), "concat-ref", sms.ErrMissingParam},
		{"concat no total", concat(func(v url.Values) { v.Del("concat-total") }), "concat-total", sms.ErrMissingParam},
		{"concat no part", concat(func(v url.Values) { v.Del("concat-part") }), "concat-part", sms.ErrMissingParam},
		{"concat bad total", concat(func(v url.Values) { v.Set("concat-total", "two") }), "concat-total", sms.ErrInvalidParam},
		{"concat total past 255", concat(func(v url.Values) { v.Set("concat-total", "99999999999") }), "concat-total", sms.ErrInvalidParam},
		{"concat zero part", concat(func(v url.Values) { v.Set("concat-part", "0") }), "concat-part", sms.ErrInvalidParam},
		{"concat part beyond total", concat(func(v url.Values) { v.Set("concat-part", "3") }), "concat-part", sms.ErrInvalidParam},
		{"concat huge part", concat(func(v url.Values) { v.Set("concat-part", "99999999999999999999") }), "concat-part", sms.ErrInvalidParam},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := sms.ParseInbound(tc.params)
			checkParamError(t, got, err, tc.want, tc.param)
		})
	}
}

func TestParseInboundBinaryNeedsNoText(t *testing.T) {
	t.Parallel()
	v := inboundParams()
	v.Del("text")
	v.Del("keyword")
	v.Set("type", "binary")
	v.Set("data", "0011")
	v.Set("udh", "050003CC0201")
	got, err := sms.ParseInbound(v)
	if err != nil {
		t.Fatal(err)
	}
	want := &sms.Inbound{MSISDN: "447700900001", To: "447700900000", MessageID: "0A0000000123ABCD1",
		Type: "binary", MessageTimestamp: "2020-01-01 12:00:00", Data: "0011", UDH: "050003CC0201"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseInbound (-want +got):\n%s", diff)
	}
}

func TestParseInboundConcatFalseIgnoresParts(t *testing.T) {
	t.Parallel()
	v := inboundParams()
	v.Set("concat", "false")
	v.Set("concat-part", "junk")
	got, err := sms.ParseInbound(v)
	if err != nil {
		t.Fatal(err)
	}
	if got.Concat || got.ConcatPart != 0 {
		t.Errorf("got Concat %v part %d, want false 0", got.Concat, got.ConcatPart)
	}
}

func TestParseDeliveryReceiptErrors(t *testing.T) {
	t.Parallel()
	base := func(f func(url.Values)) url.Values {
		v := url.Values{"msisdn": {"447700900000"}, "to": {"AcmeInc"}, "messageId": {"0A0000001234567B"}, "status": {"delivered"}}
		f(v)
		return v
	}
	tests := []struct {
		name   string
		params url.Values
		param  string
		want   error
	}{
		{"no msisdn", base(func(v url.Values) { v.Del("msisdn") }), "msisdn", sms.ErrMissingParam},
		{"no to", base(func(v url.Values) { v.Del("to") }), "to", sms.ErrMissingParam},
		{"no messageId", base(func(v url.Values) { v.Del("messageId") }), "messageId", sms.ErrMissingParam},
		{"no status", base(func(v url.Values) { v.Del("status") }), "status", sms.ErrMissingParam},
		{"bad err-code", base(func(v url.Values) { v.Set("err-code", "x1") }), "err-code", sms.ErrInvalidParam},
		{"bad timestamp", base(func(v url.Values) { v.Set("timestamp", "soon") }), "timestamp", sms.ErrInvalidParam},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := sms.ParseDeliveryReceipt(tc.params)
			checkParamError(t, got, err, tc.want, tc.param)
		})
	}
}

func TestParamErrorMessages(t *testing.T) {
	t.Parallel()
	missing := &sms.ParamError{Param: "to", Err: sms.ErrMissingParam}
	if diff := cmp.Diff(`sms: missing parameter "to"`, missing.Error()); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	invalid := &sms.ParamError{Param: "concat-part", Value: "x", Reason: "not an integer", Err: sms.ErrInvalidParam}
	if diff := cmp.Diff(`sms: invalid parameter "concat-part" = "x": not an integer`, invalid.Error()); diff != "" {
		t.Errorf("invalid (-want +got):\n%s", diff)
	}
}
