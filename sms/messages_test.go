package sms_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jarcoal/httpmock"

	"github.com/voiceproxy/voiceproxy/internal/mocktest"
	"github.com/voiceproxy/voiceproxy/internal/voice"
	"github.com/voiceproxy/voiceproxy/sms"
)

const messagesURL = "https://messages.example.test/v1/messages"

func messagesClient(t *testing.T, auth sms.MessagesAuth, steps ...httpmock.Responder) (*sms.MessagesClient, *[]*http.Request, *[][]byte) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	var reqs []*http.Request
	var bodies [][]byte
	seq := mocktest.Sequence(steps...)
	mt.RegisterResponder(http.MethodPost, messagesURL, func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		reqs, bodies = append(reqs, r), append(bodies, b)
		return seq(r)
	})
	c, err := sms.NewMessagesClient(auth, sms.WithHTTPClient(&http.Client{Transport: mt}), sms.WithBaseURL(messagesURL),
		sms.WithRateLimit(0), sms.WithRetrySleep(mocktest.NoSleep))
	if err != nil {
		t.Fatal(err)
	}
	return c, &reqs, &bodies
}

func jsonFixture(t *testing.T, status int, name string) httpmock.Responder {
	return httpmock.NewBytesResponder(status, mocktest.Fixture(t, "sms", name)).HeaderSet(http.Header{"Content-Type": {"application/json"}})
}

// Send posts the Messages API's SMS request with an application JWT (or
// Basic auth) and reads the message_uuid; a 429 is retried, other errors
// are typed by status and not retried.
func TestMessagesSend(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	app := sms.MessagesAuth{ApplicationID: "app-1", PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})}

	c, reqs, bodies := messagesClient(t, app, httpmock.NewStringResponder(429, `{"title":"Rate limit hit"}`), jsonFixture(t, 202, "messages-send-accepted.json"))
	res, err := c.Send(t.Context(), sms.Message{From: "447700900001", To: "+447700900101", Text: "Outside now", ClientRef: "i-42"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != 1 || res.Messages[0].MessageID != "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab" || res.Messages[0].To != "447700900101" {
		t.Errorf("response %+v", res)
	}
	if len(*reqs) != 2 {
		t.Fatalf("%d requests, want the 429 retried once", len(*reqs))
	}
	var body map[string]string
	if err := json.Unmarshal((*bodies)[1], &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"channel": "sms", "message_type": "text", "to": "447700900101", "from": "447700900001", "text": "Outside now", "client_ref": "i-42"}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("body %s = %q, want %q", k, body[k], v)
		}
	}
	tok, _ := strings.CutPrefix((*reqs)[1].Header.Get("Authorization"), "Bearer ")
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil }, jwt.WithValidMethods([]string{"RS256"})); err != nil || claims["application_id"] != "app-1" {
		t.Errorf("bearer token: %v, claims %v", err, claims)
	}

	basic, reqs, _ := messagesClient(t, sms.MessagesAuth{APIKey: "k", APISecret: "s3cret"}, jsonFixture(t, 202, "messages-send-accepted.json"))
	if _, err := basic.Send(t.Context(), sms.Message{From: "AcmeInc", To: "447700900101", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if u, p, ok := (*reqs)[0].BasicAuth(); !ok || u != "k" || p != "s3cret" {
		t.Errorf("basic auth %q %q %v", u, p, ok)
	}

	for _, tc := range []struct {
		name   string
		resp   httpmock.Responder
		want   error
		detail string
	}{
		{"low balance", jsonFixture(t, 402, "messages-low-balance.json"), sms.ErrInsufficientCredit, "account balance being low"},
		{"invalid params", jsonFixture(t, 422, "messages-invalid-params.json"), sms.ErrInvalidParams, "parameters is invalid"},
		{"unauthorized", httpmock.NewStringResponder(401, `{"title":"Unauthorized","detail":"Invalid Token"}`), sms.ErrInvalidCredentials, "Invalid Token"},
		{"server error", httpmock.NewStringResponder(500, `{"title":"Internal Error"}`), sms.ErrInternal, ""},
	} {
		c, reqs, _ := messagesClient(t, app, tc.resp, jsonFixture(t, 202, "messages-send-accepted.json"))
		_, err := c.Send(t.Context(), sms.Message{From: "447700900001", To: "447700900101", Text: "x"})
		var me *sms.MessagesError
		if !errors.Is(err, tc.want) || !errors.As(err, &me) || !strings.Contains(me.Detail, tc.detail) || len(*reqs) != 1 {
			t.Errorf("%s: %v (%d requests), want %v, not retried", tc.name, err, len(*reqs), tc.want)
		}
		if me != nil && me.Temporary() != (me.HTTPStatus >= 500) {
			t.Errorf("%s: Temporary() = %v", tc.name, me.Temporary())
		}
	}

	for name, m := range map[string]sms.Message{
		"no text":       {From: "447700900001", To: "447700900101"},
		"text too long": {From: "447700900001", To: "447700900101", Text: strings.Repeat("x", sms.MaxMessagesText+1)},
		"bad to":        {From: "447700900001", To: "07700 9", Text: "x"},
		"long ref":      {From: "447700900001", To: "447700900101", Text: "x", ClientRef: strings.Repeat("r", 101)},
	} {
		if _, err := c.Send(t.Context(), m); !errors.Is(err, sms.ErrValidation) {
			t.Errorf("%s: %v, want ErrValidation", name, err)
		}
	}
	for name, auth := range map[string]sms.MessagesAuth{
		"none":         {},
		"both":         {ApplicationID: "a", PrivateKey: app.PrivateKey, APIKey: "k", APISecret: "s"},
		"bad key":      {ApplicationID: "a", PrivateKey: []byte("x")},
		"key, no pass": {APIKey: "k"},
	} {
		if _, err := sms.NewMessagesClient(auth); err == nil {
			t.Errorf("%s: NewMessagesClient succeeded", name)
		}
	}
}

// The inbound and status webhooks parse as Vonage sends them; other
// channels and bodies missing their IDs are refused.
func TestMessagesWebhooks(t *testing.T) {
	t.Parallel()
	in, err := sms.ParseInboundMessage(mocktest.Fixture(t, "sms", "messages-inbound.json"))
	if err != nil {
		t.Fatal(err)
	}
	if in.MessageUUID != "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab" || in.From != "447700900101" || in.To != "447700900001" ||
		in.Text != "Outside in a blue Prius" || in.SMS.NumMessages != 2 || in.SMS.Keyword != "OUTSIDE" ||
		!in.Timestamp.Equal(time.Date(2025, 2, 3, 12, 14, 25, 0, time.UTC)) || in.Usage.Price != "0.0057" {
		t.Errorf("inbound %+v", in)
	}
	if _, err := sms.ParseInboundMessage([]byte(`{"channel":"whatsapp","message_uuid":"u","from":"1","to":"2"}`)); !errors.Is(err, sms.ErrNotSMS) {
		t.Errorf("whatsapp: %v", err)
	}
	for _, b := range []string{`{"channel":"sms","from":"1","to":"2"}`, `not json`, `{"channel":"sms","message_type":"image","message_uuid":"u","from":"1","to":"2"}`} {
		if _, err := sms.ParseInboundMessage([]byte(b)); err == nil {
			t.Errorf("%s parsed", b)
		}
	}
	st, err := sms.ParseStatusUpdate(mocktest.Fixture(t, "sms", "messages-status-rejected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != sms.StatusRejected || st.ClientRef != "i-42" || st.Error == nil || st.Error.Title != "1330" || st.Error.Code != 1330 ||
		st.Destination.NetworkCode != "23410" || st.SMS.CountTotal != 1 {
		t.Errorf("status %+v", st)
	}
	if _, err := sms.ParseStatusUpdate([]byte(`{"status":"delivered"}`)); err == nil {
		t.Error("a status without message_uuid parsed")
	}
}

// A failed message's status webhook carries its error code as a JSON
// number in the title (the Java SDK's MessageStatusTest): it parses, with
// the code in Code and as text in Title, as do the workflow, a numeric
// price and a string title; other channels' and unknown fields are
// ignored, and a title of another JSON type is refused.
func TestMessagesStatusError(t *testing.T) {
	t.Parallel()
	st, err := sms.ParseStatusUpdate(mocktest.Fixture(t, "sms", "messages-status-undeliverable.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := sms.Problem{
		Type: "https://developer.nexmo.com/api-errors/messages-olympus#1260", Title: "1260", Code: 1260,
		Detail: "The handset could not be reached", Instance: "0f4c2e9ab1d24f6c8e3f5a7b9c1d3e5f",
	}
	if st.Error == nil || *st.Error != want {
		t.Errorf("error %+v, want %+v", st.Error, want)
	}
	if st.Status != sms.StatusUndeliverable || st.ClientRef != "i-43" || st.Channel != "sms" || st.SMS.CountTotal != 2 ||
		st.Usage == nil || st.Usage.Price != "0.0333" || st.Usage.Currency != "EUR" || st.Destination.NetworkCode != "23415" {
		t.Errorf("status %+v", st)
	}
	if w := st.Workflow; w == nil || w.ID == "" || w.ItemNumber != 1 || w.ItemsTotal != 2 {
		t.Errorf("workflow %+v, want item 1 of 2", w)
	}

	base := `{"message_uuid":"u","status":"rejected","error":%s,"usage":%s}`
	for _, tt := range []struct {
		name, error, usage string
		title              string
		code               int
		price              string
	}{
		{"numeric title", `{"type":"https://developer.nexmo.com/api-errors/messages-olympus#1000","title":1000}`, `{"price":"0.0333"}`, "1000", 1000, "0.0333"},
		{"string title, code in the type", `{"type":"https://developer.nexmo.com/api-errors/messages-olympus#1150","title":"Invalid params"}`, `null`, "Invalid params", 1150, ""},
		{"numeric string title", `{"title":"1320"}`, `{"price":0.0333,"currency":"EUR"}`, "1320", 1320, "0.0333"},
		{"no title", `{"type":"https://developer.nexmo.com/api-errors/#low-balance","title":null}`, `{}`, "", 0, ""},
		{"fractional title", `{"type":"x#1250","title":12.5}`, `{"price":null}`, "12.5", 1250, ""},
		{"code out of bounds", `{"title":123456789012}`, `{"price":1e2}`, "123456789012", 0, "1e2"},
		{"negative code", `{"title":-1}`, `{}`, "-1", 0, ""},
	} {
		st, err := sms.ParseStatusUpdate(fmt.Appendf(nil, base, tt.error, tt.usage))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if st.Error == nil || st.Error.Title != tt.title || st.Error.Code != tt.code {
			t.Errorf("%s: error %+v, want title %q, code %d", tt.name, st.Error, tt.title, tt.code)
		}
		price := ""
		if st.Usage != nil {
			price = st.Usage.Price
		}
		if price != tt.price {
			t.Errorf("%s: price %q, want %q", tt.name, price, tt.price)
		}
	}
	for _, bad := range []string{
		`{"message_uuid":"u","status":"rejected","error":{"title":true}}`,
		`{"message_uuid":"u","status":"rejected","error":{"title":{"code":1}}}`,
		`{"message_uuid":"u","status":"rejected","usage":{"price":["1"]}}`,
		`{"message_uuid":"u","status":"rejected","workflow":{"item_number":"one"}}`,
	} {
		if st, err := sms.ParseStatusUpdate([]byte(bad)); err == nil {
			t.Errorf("%s parsed: %+v", bad, st)
		}
	}
}

// A Messages API webhook verifies when signed (HS256, payload_hash of
// the body) with the secret; unsigned, tampered, stale or another
// secret's are refused.
func TestVerifyMessagesSignature(t *testing.T) {
	t.Parallel()
	body := mocktest.Fixture(t, "sms", "messages-inbound.json")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	signed := func(b []byte, secret string, at time.Time) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/inbound-message", strings.NewReader(string(b)))
		r.Header.Set("Content-Type", "application/json")
		if err := (voice.Signer{Secret: secret, Now: func() time.Time { return at }}).Sign(r, b); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := sms.VerifyMessagesSignature(signed(body, "s3cret", now), body, "s3cret", 0, now); err != nil {
		t.Errorf("signed: %v", err)
	}
	tampered := strings.Replace(string(body), "blue", "red", 1)
	for name, r := range map[string]struct {
		req  *http.Request
		body []byte
	}{
		"unsigned":       {httptest.NewRequest(http.MethodPost, "/inbound-message", nil), body},
		"tampered":       {signed(body, "s3cret", now), []byte(tampered)},
		"another secret": {signed(body, "other", now), body},
		"stale":          {signed(body, "s3cret", now.Add(-time.Hour)), body},
	} {
		if err := sms.VerifyMessagesSignature(r.req, r.body, "s3cret", 0, now); !errors.Is(err, sms.ErrMessagesUnsigned) {
			t.Errorf("%s: %v, want ErrMessagesUnsigned", name, err)
		}
	}
}
