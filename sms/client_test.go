package sms_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jarcoal/httpmock"

	"github.com/voiceproxy/voiceproxy/internal/mocktest"
	"github.com/voiceproxy/voiceproxy/sms"
)

const (
	testKey    = "abcd1234"
	testSecret = "Sup3rS3cretValue"
	testBase   = "https://sms.example.test"
	sendURL    = testBase + "/sms/json"
)

// recorded is one request the mock transport saw.
type recorded struct {
	Method      string
	Path        string
	ContentType string
	Query       string
	Form        url.Values
}

// sent returns the requests rec recorded as the send tests compare them.
func sent(rec *mocktest.Recorder) []recorded {
	var out []recorded
	for _, r := range rec.Requests() {
		out = append(out, recorded{Method: r.Method, Path: r.Path, ContentType: r.Header.Get("Content-Type"),
			Query: r.RawQuery, Form: r.Form})
	}
	return out
}

// fixtureResponder answers HTTP 200 with a testdata/sms fixture.
func fixtureResponder(t *testing.T, name string) httpmock.Responder {
	t.Helper()
	r := httpmock.NewBytesResponder(http.StatusOK, fixture(t, name))
	return r.HeaderSet(http.Header{"Content-Type": {"application/json"}})
}

// newTestClient returns a client whose requests go to a per-test mock
// transport answering with steps in turn; retries do not sleep and the rate
// limiter is off unless opts say otherwise.
func newTestClient(t *testing.T, steps []httpmock.Responder, opts ...sms.Option) (*sms.Client, *mocktest.Recorder, *mocktest.Sleeper) {
	t.Helper()
	srv := &mocktest.Recorder{}
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodPost, sendURL, srv.Wrap(mocktest.Sequence(steps...)))
	ns := &mocktest.Sleeper{}
	base := []sms.Option{
		sms.WithHTTPClient(&http.Client{Transport: mt}),
		sms.WithBaseURL(testBase),
		sms.WithRateLimit(0),
		sms.WithRetrySleep(ns.Sleep),
	}
	c, err := sms.NewClient(testKey, testSecret, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv, ns
}

// frozenClock is the rate limiter's clock in tests that must not depend on
// the time the test takes.
func frozenClock() time.Time { return time.Unix(1_700_000_000, 0) }

// hi is a valid one-part message.
var hi = sms.Message{From: "AcmeInc", To: "447700900000", Text: "hi"}

func boolPtr(b bool) *bool { return &b }

func TestSendRequestParameters(t *testing.T) {
	t.Parallel()
	creds := url.Values{"api_key": {testKey}, "api_secret": {testSecret}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vs := range creds {
			v[k] = vs
		}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name string
		msg  sms.Message
		want url.Values
	}{
		{"plain text", sms.Message{From: "AcmeInc", To: "447700900000", Text: "Your driver is here"},
			with("from", "AcmeInc", "to", "447700900000", "text", "Your driver is here", "type", "text")},
		{"gsm extension stays text", sms.Message{From: "AcmeInc", To: "447700900000", Text: "Price: 5€ [promo] {x} ~ | ^ \\"},
			with("from", "AcmeInc", "to", "447700900000", "text", "Price: 5€ [promo] {x} ~ | ^ \\", "type", "text")},
		{"gsm accents stay text", sms.Message{From: "AcmeInc", To: "447700900000", Text: "Ça, à, é, ü, Ñ, ß, Ø, Δ"},
			with("from", "AcmeInc", "to", "447700900000", "text", "Ça, à, é, ü, Ñ, ß, Ø, Δ", "type", "text")},
		{"one non-gsm accent is unicode", sms.Message{From: "AcmeInc", To: "447700900000", Text: "Ça coûte"},
			with("from", "AcmeInc", "to", "447700900000", "text", "Ça coûte", "type", "unicode")},
		{"emoji is unicode", sms.Message{From: "AcmeInc", To: "447700900000", Text: "On my way 🚗"},
			with("from", "AcmeInc", "to", "447700900000", "text", "On my way 🚗", "type", "unicode")},
		{"cjk is unicode", sms.Message{From: "AcmeInc", To: "447700900000", Text: "司机到了"},
			with("from", "AcmeInc", "to", "447700900000", "text", "司机到了", "type", "unicode")},
		{"explicit type kept", sms.Message{From: "AcmeInc", To: "447700900000", Text: "plain", Type: "unicode"},
			with("from", "AcmeInc", "to", "447700900000", "text", "plain", "type", "unicode")},
		{"plus signs dropped from numbers", sms.Message{From: "+447700900999", To: "+447700900000", Text: "hi"},
			with("from", "447700900999", "to", "447700900000", "text", "hi", "type", "text")},
		{"every option", sms.Message{From: "AcmeInc", To: "447700900000", Text: "hi", ClientRef: "ride-42",
			Callback: "https://example.com/dlr", TTL: 15 * time.Minute, StatusReportReq: boolPtr(false)},
			with("from", "AcmeInc", "to", "447700900000", "text", "hi", "type", "text", "client-ref", "ride-42",
				"callback", "https://example.com/dlr", "ttl", "900000", "status-report-req", "false")},
		{"India DLT registrations", sms.Message{From: "ACMEIN", To: "919876543210", Text: "hi", EntityID: "1101456324675322134", ContentID: "1107457532145798767"},
			with("from", "ACMEIN", "to", "919876543210", "text", "hi", "type", "text", "entity-id", "1101456324675322134", "content-id", "1107457532145798767")},
		{"status report requested", sms.Message{From: "AcmeInc", To: "447700900000", Text: "hi", StatusReportReq: boolPtr(true)},
			with("from", "AcmeInc", "to", "447700900000", "text", "hi", "type", "text", "status-report-req", "true")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, srv, _ := newTestClient(t, []httpmock.Responder{fixtureResponder(t, "send-success.json")})
			if _, err := c.Send(t.Context(), tc.msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			want := []recorded{{Method: http.MethodPost, Path: "/sms/json",
				ContentType: "application/x-www-form-urlencoded", Form: tc.want}}
			if diff := cmp.Diff(want, sent(srv)); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture string
		want    *sms.Response
	}{
		{"send-success.json", &sms.Response{MessageCount: 1, Messages: []sms.MessageStatus{{
			To: "447700900000", MessageID: "0A0000000123ABCD1", Status: "0", RemainingBalance: "3.14159265",
			MessagePrice: "0.03330000", Network: "12345", ClientRef: "my-personal-reference",
		}}}},
		{"send-multipart.json", &sms.Response{MessageCount: 2, Messages: []sms.MessageStatus{
			{To: "447700900000", MessageID: "0A0000000123ABCD1", Status: "0", RemainingBalance: "3.10829265",
				MessagePrice: "0.03330000", Network: "12345"},
			{To: "447700900000", MessageID: "0A0000000123ABCD2", Status: "0", RemainingBalance: "3.07499265",
				MessagePrice: "0.03330000", Network: "12345"},
		}}},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			t.Parallel()
			c, _, _ := newTestClient(t, []httpmock.Responder{fixtureResponder(t, tc.fixture)})
			got, err := c.Send(t.Context(), sms.Message{From: "AcmeInc", To: "447700900000", Text: strings.Repeat("long ", 40)})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Response (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendFailureStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture    string
		sentinel   error
		status     string
		errorText  string
		sent       int
		failed     int
		errMessage string
	}{
		{"send-missing-params.json", sms.ErrMissingParams, "2", "Missing to param", 0, 1,
			"sms: send failed: status 2 (Missing to param); 0 of 1 parts accepted"},
		{"send-invalid-credentials.json", sms.ErrInvalidCredentials, "4", "Bad Credentials", 0, 1,
			"sms: send failed: status 4 (Bad Credentials); 0 of 1 parts accepted"},
		{"send-partial-quota.json", sms.ErrInsufficientCredit, "9", "Partner quota exceeded", 1, 2,
			"sms: send failed: status 9 (Partner quota exceeded); 1 of 3 parts accepted"},
		{"send-invalid-sender.json", sms.ErrInvalidSender, "15", "Illegal Sender Address - rejected", 0, 1,
			"sms: send failed: status 15 (Illegal Sender Address - rejected); 0 of 1 parts accepted"},
		{"send-non-whitelisted.json", sms.ErrNonWhitelisted, "29", "Non White-listed Destination - rejected", 0, 1,
			"sms: send failed: status 29 (Non White-listed Destination - rejected); 0 of 1 parts accepted"},
		// A part accepted next to a throttled one: resending would
		// duplicate the accepted part, so it is not retried.
		{"send-partial-throttled.json", sms.ErrThrottled, "1", "Throughput Rate Exceeded - please wait [ 1000 ] and retry", 1, 1,
			"sms: send failed: status 1 (Throughput Rate Exceeded - please wait [ 1000 ] and retry); 1 of 2 parts accepted"},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			t.Parallel()
			c, srv, _ := newTestClient(t, []httpmock.Responder{fixtureResponder(t, tc.fixture)})
			res, err := c.Send(t.Context(), hi)
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("Send error = %v, want %v", err, tc.sentinel)
			}
			var se *sms.SendError
			if !errors.As(err, &se) {
				t.Fatalf("Send error %T is not a *SendError", err)
			}
			if se.Status != tc.status || se.ErrorText != tc.errorText || len(se.Sent) != tc.sent || len(se.Failed) != tc.failed {
				t.Errorf("SendError = %+v, want status %s %q with %d sent, %d failed", se, tc.status, tc.errorText, tc.sent, tc.failed)
			}
			if diff := cmp.Diff(tc.errMessage, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if res == nil || len(res.Messages) != tc.sent+tc.failed {
				t.Errorf("Response = %+v, want all %d parts", res, tc.sent+tc.failed)
			}
			if n := srv.Len(); n != 1 {
				t.Errorf("%d requests, want 1 (no retry)", n)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error reveals the secret: %v", err)
			}
		})
	}
}

func TestSendPartialFailureKeepsSentParts(t *testing.T) {
	t.Parallel()
	c, _, _ := newTestClient(t, []httpmock.Responder{fixtureResponder(t, "send-partial-quota.json")})
	res, err := c.Send(t.Context(), hi)
	var se *sms.SendError
	if !errors.As(err, &se) {
		t.Fatalf("Send error = %v, want *SendError", err)
	}
	wantSent := []sms.MessageStatus{{To: "447700900000", MessageID: "0A0000000123ABCD1", Status: "0",
		RemainingBalance: "0.00670000", MessagePrice: "0.03330000", Network: "12345"}}
	if diff := cmp.Diff(wantSent, se.Sent); diff != "" {
		t.Errorf("Sent (-want +got):\n%s", diff)
	}
	failed := sms.MessageStatus{To: "447700900000", Status: "9", ErrorText: "Partner quota exceeded"}
	if diff := cmp.Diff([]sms.MessageStatus{failed, failed}, se.Failed); diff != "" {
		t.Errorf("Failed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&sms.Response{MessageCount: 3, Messages: append(wantSent, failed, failed)}, res); diff != "" {
		t.Errorf("Response (-want +got):\n%s", diff)
	}
	if se.Temporary() {
		t.Error("Temporary() = true for a partly sent message")
	}
}

func TestSendRetriesThrottled(t *testing.T) {
	t.Parallel()
	throttled := fixtureResponder(t, "send-throttled.json")
	c, srv, ns := newTestClient(t, []httpmock.Responder{throttled, throttled, fixtureResponder(t, "send-success.json")})
	res, err := c.Send(t.Context(), hi)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if res.Messages[0].MessageID != "0A0000000123ABCD1" {
		t.Errorf("Response = %+v, want the successful attempt's", res)
	}
	reqs := sent(srv)
	if len(reqs) != 3 || ns.Count() != 2 {
		t.Fatalf("%d requests and %d waits, want 3 and 2", len(reqs), ns.Count())
	}
	for _, r := range reqs[1:] {
		if diff := cmp.Diff(reqs[0], r); diff != "" {
			t.Errorf("retry differs from first request (-first +retry):\n%s", diff)
		}
	}
}

func TestSendRetriesHTTP429(t *testing.T) {
	t.Parallel()
	tooMany := httpmock.NewStringResponder(http.StatusTooManyRequests, "").
		HeaderSet(http.Header{"Retry-After": {"2"}})
	c, srv, ns := newTestClient(t, []httpmock.Responder{tooMany, fixtureResponder(t, "send-success.json")})
	if _, err := c.Send(t.Context(), hi); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if srv.Len() != 2 {
		t.Errorf("%d requests, want 2", srv.Len())
	}
	if diff := cmp.Diff([]time.Duration{2 * time.Second}, ns.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestSendRetriesExhausted(t *testing.T) {
	t.Parallel()
	c, srv, _ := newTestClient(t, []httpmock.Responder{fixtureResponder(t, "send-throttled.json")}, sms.WithMaxRetries(2))
	res, err := c.Send(t.Context(), hi)
	if !errors.Is(err, sms.ErrThrottled) {
		t.Fatalf("Send error = %v, want ErrThrottled", err)
	}
	var se *sms.SendError
	if !errors.As(err, &se) || !se.Temporary() {
		t.Errorf("error %v: want a temporary *SendError", err)
	}
	if res == nil || res.Messages[0].Status != "1" {
		t.Errorf("Response = %+v, want the throttled answer", res)
	}
	if n := srv.Len(); n != 3 {
		t.Errorf("%d requests, want 3 (1 + 2 retries)", n)
	}
}

func TestSendNoRetries(t *testing.T) {
	t.Parallel()
	c, srv, _ := newTestClient(t, []httpmock.Responder{fixtureResponder(t, "send-throttled.json")}, sms.WithMaxRetries(0))
	if _, err := c.Send(t.Context(), hi); !errors.Is(err, sms.ErrThrottled) {
		t.Fatalf("Send error = %v, want ErrThrottled", err)
	}
	if n := srv.Len(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestSendServerErrorNotRetried(t *testing.T) {
	t.Parallel()
	for _, code := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			t.Parallel()
			c, srv, _ := newTestClient(t, []httpmock.Responder{
				httpmock.NewStringResponder(code, "upstream trouble"), fixtureResponder(t, "send-success.json")})
			res, err := c.Send(t.Context(), hi)
			var he *sms.HTTPError
			if !errors.As(err, &he) || he.StatusCode != code || he.Body != "upstream trouble" {
				t.Fatalf("Send = %v, %v; want *HTTPError %d", res, err, code)
			}
			if n := srv.Len(); n != 1 {
				t.Errorf("%d requests, want 1: the message may have been accepted", n)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error reveals the secret: %v", err)
			}
		})
	}
}

func TestSendTransportErrorNotRetried(t *testing.T) {
	t.Parallel()
	c, srv, _ := newTestClient(t, []httpmock.Responder{httpmock.NewErrorResponder(io.ErrUnexpectedEOF)})
	if _, err := c.Send(t.Context(), hi); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Send error = %v, want io.ErrUnexpectedEOF", err)
	}
	if n := srv.Len(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestSendUnexpectedResponse(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"not json":          "<html>oops</html>",
		"no messages":       `{"message-count":"0","messages":[]}`,
		"bad count":         `{"message-count":"one","messages":[{"status":"0"}]}`,
		"messages not list": `{"message-count":"1","messages":{"status":"0"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, _, _ := newTestClient(t, []httpmock.Responder{httpmock.NewStringResponder(http.StatusOK, body)})
			res, err := c.Send(t.Context(), hi)
			if !errors.Is(err, sms.ErrUnexpectedResponse) || res != nil {
				t.Errorf("Send = %v, %v; want nil, ErrUnexpectedResponse", res, err)
			}
		})
	}
}

func TestSendContextCancelledDuringBackoff(t *testing.T) {
	t.Parallel()
	srv := &mocktest.Recorder{}
	mt := httpmock.NewMockTransport()
	mt.RegisterResponder(http.MethodPost, sendURL, srv.Wrap(fixtureResponder(t, "send-throttled.json")))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sleep := &mocktest.Sleeper{Cancel: cancel} // the caller gives up while Send is backing off
	c, err := sms.NewClient(testKey, testSecret,
		sms.WithHTTPClient(&http.Client{Transport: mt}), sms.WithBaseURL(testBase), sms.WithRateLimit(0),
		sms.WithBackoff(time.Hour, time.Hour),
		sms.WithRetrySleep(sleep.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Send(ctx, hi)
	if err != context.Canceled {
		t.Fatalf("Send = %v, %v; want context.Canceled itself", res, err)
	}
	for _, waited := range sleep.Waits() {
		if waited > time.Hour {
			t.Errorf("backoff %s above its cap", waited)
		}
	}
	if n := srv.Len(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestSendRateLimiterPaces(t *testing.T) {
	t.Parallel()
	// A frozen clock: every send after the first must wait its turn, one
	// interval (1/20 s) more than the one before it.
	lw := &mocktest.Sleeper{}
	c, srv, _ := newTestClient(t, []httpmock.Responder{fixtureResponder(t, "send-success.json")},
		sms.WithRateLimit(20), sms.WithLimiterClock(frozenClock, lw.Sleep))
	for range 4 {
		if _, err := c.Send(t.Context(), hi); err != nil {
			t.Fatal(err)
		}
	}
	want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond}
	if diff := cmp.Diff(want, lw.Waits()); diff != "" {
		t.Errorf("limiter waits (-want +got):\n%s", diff)
	}
	if n := srv.Len(); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestSendRetryTakesALimiterTurn(t *testing.T) {
	t.Parallel()
	lw := &mocktest.Sleeper{}
	c, srv, _ := newTestClient(t, []httpmock.Responder{fixtureResponder(t, "send-throttled.json"), fixtureResponder(t, "send-success.json")},
		sms.WithRateLimit(10), sms.WithLimiterClock(frozenClock, lw.Sleep))
	if _, err := c.Send(t.Context(), hi); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Duration{100 * time.Millisecond}, lw.Waits()); diff != "" {
		t.Errorf("limiter waits (-want +got):\n%s", diff)
	}
	if n := srv.Len(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestSendRateLimitWaitRespectsContext(t *testing.T) {
	t.Parallel()
	// Real clock, one request per 1000 s: the second send cannot get a
	// token before its context is cancelled.
	c, srv, _ := newTestClient(t, []httpmock.Responder{fixtureResponder(t, "send-success.json")}, sms.WithRateLimit(0.001))
	if _, err := c.Send(t.Context(), hi); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		time.Sleep(10 * time.Millisecond)
		cancel()
	}()
	if _, err := c.Send(ctx, hi); err != context.Canceled {
		t.Fatalf("Send = %v, want context.Canceled", err)
	}
	if n := srv.Len(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestSendValidation(t *testing.T) {
	t.Parallel()
	ok := sms.Message{From: "AcmeInc", To: "447700900000", Text: "hi"}
	edit := func(f func(*sms.Message)) sms.Message {
		m := ok
		f(&m)
		return m
	}
	tests := []struct {
		name  string
		msg   sms.Message
		field string
	}{
		{"no from", edit(func(m *sms.Message) { m.From = "" }), "From"},
		{"long sender id", edit(func(m *sms.Message) { m.From = "AcmeIncorporated" }), "From"},
		{"long sender number", edit(func(m *sms.Message) { m.From = "1234567890123456" }), "From"},
		{"no to", edit(func(m *sms.Message) { m.To = "" }), "To"},
		{"to with letters", edit(func(m *sms.Message) { m.To = "44770090000O" }), "To"},
		{"to too short", edit(func(m *sms.Message) { m.To = "123456" }), "To"},
		{"to too long", edit(func(m *sms.Message) { m.To = "1234567890123456" }), "To"},
		{"no text", edit(func(m *sms.Message) { m.Text = "" }), "Text"},
		{"bad utf-8", edit(func(m *sms.Message) { m.Text = "\xff" }), "Text"},
		{"binary type", edit(func(m *sms.Message) { m.Type = "binary" }), "Type"},
		{"long client ref", edit(func(m *sms.Message) { m.ClientRef = strings.Repeat("r", 41) }), "ClientRef"},
		{"entity id with a space", edit(func(m *sms.Message) { m.EntityID = "1101 4563" }), "EntityID"},
		{"content id too long", edit(func(m *sms.Message) { m.ContentID = strings.Repeat("7", 65) }), "ContentID"},
		{"relative callback", edit(func(m *sms.Message) { m.Callback = "/dlr" }), "Callback"},
		{"ftp callback", edit(func(m *sms.Message) { m.Callback = "ftp://example.com/dlr" }), "Callback"},
		{"short ttl", edit(func(m *sms.Message) { m.TTL = 19 * time.Second }), "TTL"},
		{"long ttl", edit(func(m *sms.Message) { m.TTL = 8 * 24 * time.Hour }), "TTL"},
		{"negative ttl", edit(func(m *sms.Message) { m.TTL = -time.Minute }), "TTL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, srv, _ := newTestClient(t, []httpmock.Responder{fixtureResponder(t, "send-success.json")})
			_, err := c.Send(t.Context(), tc.msg)
			var ve *sms.ValidationError
			if !errors.Is(err, sms.ErrValidation) || !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("Send error = %v, want a *ValidationError on %s", err, tc.field)
			}
			if n := srv.Len(); n != 0 {
				t.Errorf("%d requests for an invalid message", n)
			}
		})
	}
}

func TestSendAcceptsSpacedSenderID(t *testing.T) {
	t.Parallel()
	c, srv, _ := newTestClient(t, []httpmock.Responder{fixtureResponder(t, "send-success.json")})
	// Vonage ignores spaces in alphanumeric sender IDs: 11 letters besides them.
	if _, err := c.Send(t.Context(), sms.Message{From: "Acme Rides UK", To: "447700900000", Text: "hi"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := srv.Requests()[0].Form.Get("from"); got != "Acme Rides UK" {
		t.Errorf("from = %q", got)
	}
}

func TestNewClientErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		key    string
		secret string
		opts   []sms.Option
	}{
		{"empty key", "", testSecret, nil},
		{"empty secret", testKey, "", nil},
		{"nil http client", testKey, testSecret, []sms.Option{sms.WithHTTPClient(nil)}},
		{"relative base url", testKey, testSecret, []sms.Option{sms.WithBaseURL("rest.nexmo.com")}},
		{"negative retries", testKey, testSecret, []sms.Option{sms.WithMaxRetries(-1)}},
		{"zero backoff", testKey, testSecret, []sms.Option{sms.WithBackoff(0, time.Second)}},
		{"inverted backoff", testKey, testSecret, []sms.Option{sms.WithBackoff(time.Second, time.Millisecond)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := sms.NewClient(tc.key, tc.secret, tc.opts...)
			if err == nil {
				t.Fatalf("NewClient = %v, want an error", c)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error reveals the secret: %v", err)
			}
		})
	}
}

func TestSendErrorUnwrap(t *testing.T) {
	t.Parallel()
	err := error(&sms.SendError{Status: "9", Failed: []sms.MessageStatus{{Status: "9"}, {Status: "6"}, {Status: "99"}}})
	for _, target := range []error{sms.ErrInsufficientCredit, sms.ErrInvalidMessage} {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(%v, %v) = false", err, target)
		}
	}
	if errors.Is(err, sms.ErrThrottled) {
		t.Errorf("errors.Is(%v, ErrThrottled) = true", err)
	}
	he := error(&sms.HTTPError{StatusCode: http.StatusTooManyRequests})
	if !errors.Is(he, sms.ErrThrottled) {
		t.Errorf("HTTP 429 does not match ErrThrottled")
	}
	if errors.Is(&sms.HTTPError{StatusCode: 500}, sms.ErrThrottled) {
		t.Errorf("HTTP 500 matches ErrThrottled")
	}
}

func TestSendErrorBodyRedactsSecret(t *testing.T) {
	t.Parallel()
	echo := httpmock.NewStringResponder(http.StatusBadRequest, "bad request: api_secret="+testSecret)
	c, _, _ := newTestClient(t, []httpmock.Responder{echo})
	_, err := c.Send(t.Context(), hi)
	var he *sms.HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("Send error = %v, want *HTTPError", err)
	}
	if strings.Contains(he.Body, testSecret) || strings.Contains(err.Error(), testSecret) {
		t.Errorf("error reveals the secret: %v (body %q)", err, he.Body)
	}
	if diff := cmp.Diff("bad request: api_secret=REDACTED", he.Body); diff != "" {
		t.Errorf("Body (-want +got):\n%s", diff)
	}
}

func TestSendErrorMatchesEveryDocumentedStatus(t *testing.T) {
	t.Parallel()
	sentinels := map[string]error{
		"1": sms.ErrThrottled, "2": sms.ErrMissingParams, "3": sms.ErrInvalidParams,
		"4": sms.ErrInvalidCredentials, "5": sms.ErrInternal, "6": sms.ErrInvalidMessage,
		"7": sms.ErrNumberBarred, "8": sms.ErrAccountBarred, "9": sms.ErrInsufficientCredit,
		"10": sms.ErrTooManyBinds, "11": sms.ErrAccountNotEnabled, "12": sms.ErrMessageTooLong,
		"14": sms.ErrInvalidSignature, "15": sms.ErrInvalidSender, "22": sms.ErrInvalidNetworkCode,
		"23": sms.ErrInvalidCallback, "29": sms.ErrNonWhitelisted, "32": sms.ErrSignatureAndSecret,
		"33": sms.ErrNumberDeactivated,
		// No longer used by Vonage, still named.
		"13": sms.ErrCommsFailure, "16": sms.ErrInvalidTTL, "17": sms.ErrNumberUnreachable,
		"18": sms.ErrTooManyDestinations, "19": sms.ErrFacilityNotAllowed, "20": sms.ErrInvalidMessageClass,
	}
	for status, want := range sentinels {
		err := error(&sms.SendError{Status: status, Failed: []sms.MessageStatus{{Status: status}}})
		for other, target := range sentinels {
			if got := errors.Is(err, target); got != (other == status) {
				t.Errorf("status %s: errors.Is(err, %v) = %v", status, target, got)
			}
		}
		if !strings.Contains(want.Error(), "(status "+status+")") && !strings.Contains(want.Error(), "(status "+status+", no longer used)") {
			t.Errorf("sentinel for %s reads %q", status, want)
		}
	}
	// A SendError built by hand with no parts still matches its Status.
	if !errors.Is(&sms.SendError{Status: "4"}, sms.ErrInvalidCredentials) {
		t.Error("SendError{Status: 4} does not match ErrInvalidCredentials")
	}
	if (&sms.SendError{Status: "4"}).Temporary() {
		t.Error("SendError with no parts is Temporary")
	}
}

func TestValidationErrorMessage(t *testing.T) {
	t.Parallel()
	err := &sms.ValidationError{Field: "To", Reason: "empty"}
	if diff := cmp.Diff("sms: invalid message: To: empty", err.Error()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
