package proxytest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// call sends one request to the simulator in process and decodes the JSON
// answer.
func call(t *testing.T, v *proxytest.Vonage, method, path string, params url.Values) (int, map[string]any) {
	t.Helper()
	var req *http.Request
	if method == http.MethodGet {
		req = httptest.NewRequest(method, path+"?"+params.Encode(), nil)
	} else {
		req = httptest.NewRequest(method, path, strings.NewReader(params.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	rec := httptest.NewRecorder()
	v.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v: %q", method, path, err, rec.Body.String())
	}
	return rec.Code, body
}

func creds(kv ...string) url.Values {
	v := url.Values{"api_key": {proxytest.APIKey}, "api_secret": {proxytest.APISecret}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestWrongCredentials(t *testing.T) {
	t.Parallel()
	v := proxytest.NewVonage()
	bad := url.Values{"api_key": {proxytest.APIKey}, "api_secret": {"nope"}, "country": {"GB"}, "number": {"447700900001"},
		"from": {"447700900001"}, "to": {"447700900002"}, "text": {"hi"}}
	tests := []struct {
		method, path string
		wantCode     int
		want         map[string]any
	}{
		{"GET", "/number/search", 401, map[string]any{"error-code": "401", "error-code-label": "authentication failed"}},
		{"POST", "/number/buy", 401, map[string]any{"error-code": "401", "error-code-label": "authentication failed"}},
		{"GET", "/account/numbers", 401, map[string]any{"error-code": "401", "error-code-label": "authentication failed"}},
		{"GET", "/ni/basic/json", 200, map[string]any{"status": 4.0, "status_message": "Invalid credentials", "error_text": "Invalid credentials"}},
		{"POST", "/sms/json", 200, map[string]any{"message-count": "1", "messages": []any{map[string]any{"status": "4", "error-text": "Bad Credentials"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, body := call(t, v, tt.method, tt.path, bad)
			if code != tt.wantCode {
				t.Errorf("status %d, want %d", code, tt.wantCode)
			}
			if diff := cmp.Diff(tt.want, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
	if len(v.Outbox()) != 0 || len(v.Owned()) != 0 {
		t.Error("a request with wrong credentials changed the account")
	}
}

func TestNumbersLifecycle(t *testing.T) {
	t.Parallel()
	v := proxytest.NewVonage()
	code, body := call(t, v, "GET", "/number/search", creds("country", "GB", "features", "SMS,VOICE", "size", "3"))
	if code != 200 {
		t.Fatalf("search: %d %v", code, body)
	}
	if body["count"] != 90.0 { // 100 for sale, 10 of them landlines without SMS
		t.Errorf("count = %v, want 90", body["count"])
	}
	nums := body["numbers"].([]any)
	if len(nums) != 3 || nums[0].(map[string]any)["msisdn"] != "447700900000" {
		t.Fatalf("first page = %v", nums)
	}

	if code, body := call(t, v, "POST", "/number/buy", creds("country", "GB", "msisdn", "447700900001")); code != 200 || body["error-code"] != "200" {
		t.Fatalf("buy: %d %v", code, body)
	}
	if code, body := call(t, v, "POST", "/number/buy", creds("country", "GB", "msisdn", "447700900001")); code != 420 || body["error-code"] != "420" {
		t.Errorf("buying an owned number: %d %v, want 420", code, body)
	}
	if code, _ := call(t, v, "POST", "/number/buy", creds("country", "GB", "msisdn", "447700900555")); code != 420 {
		t.Errorf("buying a number not for sale: %d, want 420", code)
	}
	if _, body := call(t, v, "GET", "/number/search", creds("country", "GB", "pattern", "447700900001")); body["count"] != 0.0 {
		t.Errorf("an owned number is still for sale: %v", body)
	}

	if code, _ := call(t, v, "POST", "/number/update", creds("country", "GB", "msisdn", "447700900001", "app_id", proxytest.ApplicationID)); code != 200 {
		t.Fatalf("update: %d", code)
	}
	_, body = call(t, v, "GET", "/account/numbers", creds("application_id", proxytest.ApplicationID))
	want := map[string]any{"count": 1.0, "numbers": []any{map[string]any{
		"country": "GB", "msisdn": "447700900001", "type": "mobile-lvn", "features": []any{"SMS", "VOICE"},
		"app_id": proxytest.ApplicationID, "voiceCallbackType": "app", "voiceCallbackValue": proxytest.ApplicationID,
		"messagesCallbackType": "app", "messagesCallbackValue": proxytest.ApplicationID,
	}}}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
	if _, body := call(t, v, "GET", "/account/numbers", creds("has_application", "false")); body["count"] != 0.0 {
		t.Errorf("has_application=false lists the linked number: %v", body)
	}

	if code, _ := call(t, v, "POST", "/number/cancel", creds("country", "US", "msisdn", "447700900001")); code != 420 {
		t.Errorf("cancel with the wrong country: %d, want 420", code)
	}
	if code, _ := call(t, v, "POST", "/number/cancel", creds("country", "GB", "msisdn", "447700900001")); code != 200 {
		t.Errorf("cancel: %d", code)
	}
	if code, _ := call(t, v, "POST", "/number/update", creds("country", "GB", "msisdn", "447700900001")); code != 420 {
		t.Errorf("update of a cancelled number: %d, want 420", code)
	}
	if len(v.Owned()) != 0 {
		t.Errorf("owned after cancel = %v", v.Owned())
	}
}

func TestListPaging(t *testing.T) {
	t.Parallel()
	var seed []proxytest.OwnedNumber
	for _, a := range proxytest.Available("US")[:25] {
		seed = append(seed, proxytest.OwnedNumber{Country: "US", MSISDN: a.MSISDN})
	}
	v := proxytest.NewVonage(proxytest.WithOwnedNumbers(seed...))
	var got []string
	for index := 1; ; index++ {
		_, body := call(t, v, "GET", "/account/numbers", creds("size", "10", "index", strconv.Itoa(index)))
		if body["count"] != 25.0 {
			t.Fatalf("count = %v", body["count"])
		}
		nums, _ := body["numbers"].([]any)
		if len(nums) == 0 {
			break
		}
		for _, n := range nums {
			got = append(got, n.(map[string]any)["msisdn"].(string))
		}
	}
	if len(got) != 25 || got[0] != "12015550100" || got[24] != "12015550124" {
		t.Errorf("paged through %v", got)
	}
}

func TestInsight(t *testing.T) {
	t.Parallel()
	v := proxytest.NewVonage()
	tests := []struct {
		name, path, number, country string
		wantStatus                  float64
		wantCountry                 string
	}{
		{"basic valid GB", "/ni/basic/json", "447400123456", "", 0, "GB"},
		{"drama range is valid", "/ni/basic/json", "+44 7700 900123", "", 0, "GB"},
		{"national with country", "/ni/standard/json", "(201) 555-0123", "US", 0, "US"},
		{"too short", "/ni/basic/json", "123", "", 3, ""},
		{"letters", "/ni/advanced/json", "4474001234ab", "", 3, ""},
		{"country mismatch", "/ni/basic/json", "447400123456", "US", 3, ""},
		{"missing", "/ni/basic/json", "", "", 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, v, "GET", tt.path, creds("number", tt.number, "country", tt.country))
			if code != 200 || body["status"] != tt.wantStatus {
				t.Fatalf("got %d %v, want status %v", code, body, tt.wantStatus)
			}
			if tt.wantCountry != "" && body["country_code"] != tt.wantCountry {
				t.Errorf("country_code = %v, want %v", body["country_code"], tt.wantCountry)
			}
		})
	}
	_, body := call(t, v, "POST", "/ni/advanced/json", creds("number", "12015550123"))
	for k, want := range map[string]any{"valid_number": "valid", "reachable": "reachable", "request_price": proxytest.InsightAdvPrice, "national_format_number": "(201) 555-0123"} {
		if body[k] != want {
			t.Errorf("advanced %s = %v, want %v", k, body[k], want)
		}
	}
}

func TestSMSAPISend(t *testing.T) {
	t.Parallel()
	v := proxytest.NewVonage()
	long := strings.Repeat("x", 200)
	code, body := call(t, v, "POST", "/sms/json", creds("from", "447700900001", "to", "+447400123456", "text", long, "client-ref", "c1"))
	if code != 200 || body["message-count"] != "2" {
		t.Fatalf("send: %d %v", code, body)
	}
	msgs := body["messages"].([]any)
	for _, m := range msgs {
		m := m.(map[string]any)
		if m["status"] != "0" || m["to"] != "447400123456" || m["client-ref"] != "c1" || m["message-price"] != proxytest.SMSPrice {
			t.Errorf("part = %v", m)
		}
	}
	out := v.Outbox()
	if len(out) != 1 {
		t.Fatalf("outbox = %v", out)
	}
	got := out[0]
	if diff := cmp.Diff([]string{long[:153], long[153:]}, got.Parts); diff != "" {
		t.Errorf("parts (-want +got):\n%s", diff)
	}
	if got.From != "447700900001" || got.To != "447400123456" || got.Text != long || len(got.MessageIDs) != 2 || got.MessageIDs[0] == got.MessageIDs[1] {
		t.Errorf("outbox entry = %+v", got)
	}

	bad := []struct {
		name   string
		params url.Values
		status string
	}{
		{"no from", creds("to", "447400123456", "text", "x"), "2"},
		{"no to", creds("from", "x", "text", "x"), "2"},
		{"bad to", creds("from", "x", "to", "12ab", "text", "x"), "3"},
		{"no text", creds("from", "x", "to", "447400123456"), "2"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, body := call(t, v, "POST", "/sms/json", tt.params)
			if got := body["messages"].([]any)[0].(map[string]any)["status"]; got != tt.status {
				t.Errorf("status = %v, want %v", got, tt.status)
			}
		})
	}
	if len(v.Outbox()) != 1 {
		t.Error("a refused SMS reached the outbox")
	}
}

func TestSplitSMS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, typ string
		wantLens        []int // runes per part
	}{
		{"short text", "hello", "text", []int{5}},
		{"exactly 160", strings.Repeat("a", 160), "text", []int{160}},
		{"161", strings.Repeat("a", 161), "text", []int{153, 8}},
		{"extension chars count twice", strings.Repeat("€", 81), "text", []int{76, 5}},
		{"unicode 70", strings.Repeat("é", 70), "unicode", []int{70}},
		{"unicode 71", strings.Repeat("ü", 71), "unicode", []int{67, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []int
			for _, p := range proxytest.SplitSMS(tt.text, tt.typ) {
				got = append(got, len([]rune(p)))
			}
			if diff := cmp.Diff(tt.wantLens, got); diff != "" {
				t.Errorf("part lengths (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFailuresAndThrottle(t *testing.T) {
	t.Parallel()
	v := proxytest.NewVonage()
	v.FailNext(proxytest.APINumberSearch, 500)
	if code, body := call(t, v, "GET", "/number/search", creds("country", "GB")); code != 500 || body["error-code"] != "500" {
		t.Errorf("injected failure: %d %v", code, body)
	}
	if code, _ := call(t, v, "GET", "/number/search", creds("country", "GB")); code != 200 {
		t.Errorf("after the failure: %d, want 200", code)
	}
	v.Fail(proxytest.APISMS, proxytest.Failure{Status: "9"})
	_, body := call(t, v, "POST", "/sms/json", creds("from", "x", "to", "447400123456", "text", "x"))
	if got := body["messages"].([]any)[0].(map[string]any)["error-text"]; got != "Partner Quota Violation" {
		t.Errorf("SMS failure text = %v", got)
	}

	v.Throttle(3)
	if code, _ := call(t, v, "GET", "/account/numbers", creds()); code != 429 {
		t.Errorf("throttled numbers: %d, want 429", code)
	}
	if _, body := call(t, v, "GET", "/ni/basic/json", creds("number", "447400123456")); body["status"] != 1.0 {
		t.Errorf("throttled insight: %v", body)
	}
	if _, body := call(t, v, "POST", "/sms/json", creds("from", "x", "to", "447400123456", "text", "x")); body["messages"].([]any)[0].(map[string]any)["status"] != "1" {
		t.Errorf("throttled sms: %v", body)
	}
	if code, _ := call(t, v, "GET", "/account/numbers", creds()); code != 200 {
		t.Errorf("after throttling: %d", code)
	}
	if got := v.Count(proxytest.APIAccountNumbers); got != 2 {
		t.Errorf("Count(account-numbers) = %d, want 2", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	v := proxytest.NewVonage(proxytest.WithBalance(100)) // ten numbers cost 12.50
	c := v.Client()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msisdn := proxytest.Available("GB")[i%10].MSISDN
			resp, err := c.PostForm(proxytest.InProcessURL+"/number/buy", creds("country", "GB", "msisdn", msisdn))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		}()
	}
	wg.Wait()
	if got := len(v.Owned()); got != 10 {
		t.Errorf("owned %d numbers after 20 racing buys of 10, want 10", got)
	}
}

func TestServerOverHTTP(t *testing.T) {
	t.Parallel()
	v := proxytest.NewVonage(proxytest.WithCredentials("k", "s"))
	srv := httptest.NewServer(v)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/account/numbers", nil)
	req.SetBasicAuth("k", "s")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("basic auth: %d", resp.StatusCode)
	}
}

// A long-running sandbox keeps a bounded request log and outbox.
func TestVonageLogsAreBounded(t *testing.T) {
	t.Parallel()
	v := proxytest.NewVonage()
	c := v.Client()
	for i := range 13000 {
		req, _ := http.NewRequest(http.MethodGet, proxytest.InProcessURL+"/account/numbers?api_key="+proxytest.APIKey+"&api_secret="+proxytest.APISecret, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.Body.Close()
	}
	if n := len(v.Requests()); n > 12500 || n < 10000 {
		t.Errorf("request log holds %d entries after 13000 requests, want about 10000", n)
	}
}
