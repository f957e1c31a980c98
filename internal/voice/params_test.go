package voice

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadParams(t *testing.T) {
	t.Parallel()
	full := Params{From: "447700900101", To: "447700900001", UUID: "u1", ConversationUUID: "CON-1", Status: "completed", Duration: "42"}
	tests := []struct {
		name    string
		req     func() *http.Request
		want    Params
		wantErr bool
	}{
		{"GET", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/answer?from=447700900101&to=447700900001&uuid=u1&conversation_uuid=CON-1&status=completed&duration=42&ignored=x", nil)
		}, full, false},
		{"GET escaped", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/answer?from=%2B447700900101&detail=a+b", nil)
		}, Params{From: "+447700900101", Detail: "a b"}, false},
		{"GET region_url", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/answer?uuid=u1&region_url=https%3A%2F%2Fapi-us-3.vonage.com", nil)
		}, Params{UUID: "u1", RegionURL: "https://api-us-3.vonage.com"}, false},
		{"GET bad escape", func() *http.Request { return httptest.NewRequest(http.MethodGet, "/answer?from=%zz", nil) }, Params{}, true},
		{"POST JSON, numbers unquoted", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/event", strings.NewReader(`{"from":447700900101,"to":"447700900001","uuid":"u1","conversation_uuid":"CON-1","status":"completed","duration":42,"to_endpoint":{"type":"phone"}}`))
			r.Header.Set("Content-Type", "application/json")
			return r
		}, full, false},
		{"POST form", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/event", strings.NewReader("from=447700900101&status=busy"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, Params{From: "447700900101", Status: "busy"}, false},
		{"fallback", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/fallback", strings.NewReader(`{"from":"447700900101","reason":"Connection closed.","original_request":{"url":"https://example.com/answer","type":"event"}}`))
			r.Header.Set("Content-Type", "application/json")
			return r
		}, Params{From: "447700900101", Reason: "Connection closed.", OriginalRequest: OriginalRequest{URL: "https://example.com/answer", Type: "event"}}, false},
		{"POST empty", func() *http.Request { return httptest.NewRequest(http.MethodPost, "/event", nil) }, Params{}, true},
		{"POST not JSON", func() *http.Request { return httptest.NewRequest(http.MethodPost, "/event", strings.NewReader("{")) }, Params{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.req()
			var body []byte
			if r.Body != nil {
				body, _ = io.ReadAll(r.Body)
			}
			var got Params
			err := ReadParams(r, body, &got)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ReadParams error %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("params (-want +got):\n%s", diff)
				}
			}
		})
	}
	if !(OriginalRequest{Type: " Event "}).IsEvent() || (OriginalRequest{Type: "answer"}).IsEvent() {
		t.Error("IsEvent does not tell event fallbacks from answer fallbacks")
	}
}

// A fallback request standing in for an input event carries its keys:
// the JSON body's dtmf as sent, a query's dtmf.digits as a JSON string.
func TestReadParamsFallbackDTMF(t *testing.T) {
	var p Params
	r := httptest.NewRequest(http.MethodGet, "/fallback?original_request.url=https%3A%2F%2Fh%2Finput&original_request.type=event&dtmf.digits=1234%23", nil)
	if err := ReadParams(r, nil, &p); err != nil || string(p.DTMF) != `"1234#"` || p.OriginalRequest.URL != "https://h/input" {
		t.Errorf("GET: %v, dtmf %s, original %+v", err, p.DTMF, p.OriginalRequest)
	}
	body := []byte(`{"dtmf":{"digits":"42","timed_out":false},"original_request":{"url":"/input","type":"event"}}`)
	r = httptest.NewRequest(http.MethodPost, "/fallback", nil)
	p = Params{}
	if err := ReadParams(r, body, &p); err != nil || string(p.DTMF) != `{"digits":"42","timed_out":false}` {
		t.Errorf("POST: %v, dtmf %s", err, p.DTMF)
	}
}

// A query parameter's name is read unescaped, as the GET payload_hash
// reads it (queryJSON): else "%66rom" would be from to the hash and
// nothing to the handler, and a signed query could carry another from.
func TestParseQueryUnescapesNames(t *testing.T) {
	var p Params
	if err := parseQuery("from=447700900009&%66rom=447123456701&%74o=447700900001", &p); err != nil {
		t.Fatal(err)
	}
	if p.From != "447123456701" || p.To != "447700900001" {
		t.Errorf("from %q, to %q: want the escaped names' values, as queryJSON reads them", p.From, p.To)
	}
	q, err := queryJSON("from=447700900009&%66rom=447123456701&%74o=447700900001")
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"from":"447123456701","to":"447700900001"}`; string(q) != want {
		t.Errorf("queryJSON %s, want %s", q, want)
	}
	if err := parseQuery("fr%6=1", &p); err == nil {
		t.Error("a name with a broken escape was accepted")
	}
}
