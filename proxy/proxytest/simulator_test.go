package proxytest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
	"github.com/voiceproxy/voiceproxy/sms"
)

// fakeService is a tiny webhook handler: it answers calls to 447700900001
// with a greeting and a recorded connect to 447400123456 shown from
// 447700900001, others with a talk only; it checks signatures when secret
// is set, and remembers what it got.
type fakeService struct {
	secret string

	mu      sync.Mutex
	answers []url.Values
	events  []map[string]string
	sms     []url.Values
}

func (f *fakeService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if f.secret != "" && r.URL.Path != "/inbound-sms" {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return []byte(f.secret), nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("Vonage"), jwt.WithIssuedAt())
		sum := sha256.Sum256(body)
		if err != nil || claims["jti"] == nil || claims["application_id"] != proxytest.ApplicationID ||
			(len(body) > 0 && claims["payload_hash"] != hex.EncodeToString(sum[:])) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/answer":
		q := r.URL.Query()
		if r.Method == http.MethodPost {
			var m map[string]string
			_ = json.Unmarshal(body, &m)
			q = url.Values{}
			for k, v := range m {
				q.Set(k, v)
			}
		}
		f.answers = append(f.answers, q)
		w.Header().Set("Content-Type", "application/json")
		if q.Get("to") == "447700900001" {
			io.WriteString(w, `[{"action":"talk","text":"Connecting you"},{"action":"record"},
				{"action":"connect","from":"447700900001","eventUrl":["https://example.com/event?leg=b"],
				 "endpoint":[{"type":"phone","number":"447400123456"}]}]`)
			return
		}
		io.WriteString(w, `[{"action":"talk","text":"This number is not in service."}]`)
	case "/event":
		var m map[string]string
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if leg := r.URL.Query().Get("leg"); leg != "" {
			m["query.leg"] = leg
		}
		f.events = append(f.events, m)
	case "/inbound-sms":
		p, err := r.URL.Query(), error(nil)
		if r.Method == http.MethodPost && r.Header.Get("Content-Type") == "application/json" {
			var m map[string]string
			err = json.Unmarshal(body, &m)
			p = url.Values{}
			for k, v := range m {
				p.Set(k, v)
			}
		} else if r.Method == http.MethodPost {
			p, err = url.ParseQuery(string(body))
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if f.secret != "" {
			if err := (sms.Verifier{Secret: f.secret, Method: sms.SHA256}).Verify(p); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
		}
		f.sms = append(f.sms, p)
	default:
		http.NotFound(w, r)
	}
}

func TestPlaceCallConnected(t *testing.T) {
	t.Parallel()
	for _, method := range []string{proxytest.MethodGET, proxytest.MethodPOST} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			svc := &fakeService{secret: "s3cret"}
			sim := &proxytest.Simulator{Handler: svc, AnswerMethod: method, SignatureSecret: "s3cret"}
			out, err := sim.PlaceCall(context.Background(), "+447400654321", "447700900001")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"Connecting you"}, out.Talk); diff != "" {
				t.Errorf("talk (-want +got):\n%s", diff)
			}
			if out.Connected != "447400123456" || out.CallerID != "447700900001" || !out.Recorded || out.HTTPStatus != 200 {
				t.Errorf("outcome = %+v", out)
			}
			if got := svc.answers[0]; got.Get("from") != "447400654321" || got.Get("to") != "447700900001" || got.Get("uuid") != out.UUID || got.Get("conversation_uuid") != out.ConversationUUID {
				t.Errorf("answer webhook got %v", got)
			}
			var seq []string
			for _, e := range svc.events {
				seq = append(seq, e["direction"]+":"+e["status"])
				if e["conversation_uuid"] != out.ConversationUUID {
					t.Errorf("event %v has another conversation_uuid", e)
				}
				if _, err := time.Parse(time.RFC3339, e["timestamp"]); err != nil {
					t.Errorf("timestamp %q: %v", e["timestamp"], err)
				}
			}
			// The NCCO records: the recording event (no status) comes last.
			want := []string{"inbound:started", "inbound:ringing", "inbound:answered", "outbound:started", "outbound:ringing",
				"outbound:answered", "outbound:completed", "inbound:completed", ":"}
			if diff := cmp.Diff(want, seq); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if rec := svc.events[8]; rec["recording_url"] != out.RecordingURL || !strings.HasPrefix(rec["recording_url"], proxytest.RecordingHost+"/v1/files/") || rec["size"] == "" {
				t.Errorf("recording event = %v (outcome's URL %q)", rec, out.RecordingURL)
			}
			if got := svc.answers[0].Get("region_url"); got != proxytest.DefaultRegionURL {
				t.Errorf("answer region_url = %q", got)
			}
			b := svc.events[6]
			if b["from"] != "447700900001" || b["to"] != "447400123456" || b["duration"] != "42" || b["price"] != "0.00420000" || b["query.leg"] != "b" {
				t.Errorf("callee completed = %v", b)
			}
		})
	}
}

func TestPlaceCallTalkOnly(t *testing.T) {
	t.Parallel()
	svc := &fakeService{}
	sim := &proxytest.Simulator{Handler: svc}
	out, err := sim.PlaceCall(context.Background(), "447400654321", "447700900099")
	if err != nil {
		t.Fatal(err)
	}
	if out.Connected != "" || out.CallerID != "" || len(svc.events) != 4 || svc.events[3]["status"] != "completed" {
		t.Errorf("outcome %+v, events %v", out, svc.events)
	}
}

func TestPlaceCallRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sim     proxytest.Simulator
		handler http.HandlerFunc
		wantIs  error
	}{
		{name: "wrong secret", sim: proxytest.Simulator{SignatureSecret: "other"}, wantIs: proxytest.ErrWebhook},
		{name: "unsigned", sim: proxytest.Simulator{Unsigned: true}, wantIs: proxytest.ErrWebhook},
		{name: "tampered body", sim: proxytest.Simulator{SignatureSecret: "s3cret", AnswerMethod: proxytest.MethodPOST, Modify: func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(`{"from":"1","to":"447700900001"}`))
			r.ContentLength = -1
		}}, wantIs: proxytest.ErrWebhook},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.sim.Handler = &fakeService{secret: "s3cret"}
			out, err := tt.sim.PlaceCall(context.Background(), "447400654321", "447700900001")
			var we *proxytest.WebhookError
			if !errors.Is(err, tt.wantIs) || !errors.As(err, &we) || we.Status != 401 || out.HTTPStatus != 401 {
				t.Errorf("err = %v, outcome %+v", err, out)
			}
		})
	}
	bad := []struct{ name, answer string }{
		{"not json", `hello`},
		{"invalid ncco", `[{"action":"connect","endpoint":[]}]`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := &proxytest.Simulator{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, tt.answer) })}
			if _, err := sim.PlaceCall(context.Background(), "447400654321", "447700900001"); err == nil || errors.Is(err, proxytest.ErrWebhook) {
				t.Errorf("err = %v, want an NCCO error", err)
			}
		})
	}
}

func TestSendSMS(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("Where are you? ", 15) // 225 characters: two parts
	for _, method := range []string{proxytest.MethodPOST, proxytest.MethodGET, proxytest.MethodJSON} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			svc := &fakeService{secret: "sig-secret"}
			sim := &proxytest.Simulator{Handler: svc, SMSMethod: method, SignatureSecret: "sig-secret", SigMethod: sms.SHA256}
			out, err := sim.SendSMS(context.Background(), "+447400654321", "447700900001", long)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.MessageIDs) != 2 || len(svc.sms) != 2 {
				t.Fatalf("outcome %+v, got %d webhooks", out, len(svc.sms))
			}
			var text string
			for i, p := range svc.sms {
				if p.Get("msisdn") != "447400654321" || p.Get("to") != "447700900001" || p.Get("concat") != "true" ||
					p.Get("concat-total") != "2" || p.Get("concat-part") != string(rune('1'+i)) || p.Get("keyword") != "WHERE" {
					t.Errorf("part %d = %v", i, p)
				}
				text += p.Get("text")
			}
			if text != long || svc.sms[0].Get("concat-ref") != svc.sms[1].Get("concat-ref") {
				t.Errorf("parts do not make up the message")
			}
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		t.Parallel()
		sim := &proxytest.Simulator{Handler: &fakeService{secret: "sig-secret"}, SignatureSecret: "nope", SigMethod: sms.SHA256}
		_, err := sim.SendSMS(context.Background(), "447400654321", "447700900001", "hi")
		var we *proxytest.WebhookError
		if !errors.As(err, &we) || we.Status != 401 {
			t.Errorf("err = %v, want 401", err)
		}
	})
}

func TestSimulatorOverHTTP(t *testing.T) {
	t.Parallel()
	svc := &fakeService{}
	srv := httptest.NewServer(http.StripPrefix("/vonage", svc))
	defer srv.Close()
	v := proxytest.NewVonage()
	sim := &proxytest.Simulator{BaseURL: srv.URL + "/vonage", Client: srv.Client(), Vonage: v, RelayWait: 50 * time.Millisecond}
	if _, err := sim.PlaceCall(context.Background(), "447400654321", "447700900001"); err != nil {
		t.Fatal(err)
	}
	// fakeService relays nothing: after RelayWait the outcome says the
	// relay is pending.
	start := time.Now()
	out, err := sim.SendSMS(context.Background(), "447400654321", "447700900001", "hi")
	if err != nil || len(out.Relayed) != 0 || !out.RelayPending || len(svc.sms) != 1 {
		t.Errorf("sms: %v %+v; want no relay, pending", err, out)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("SendSMS returned after %v, before RelayWait", waited)
	}
	if _, err := (&proxytest.Simulator{}).PlaceCall(context.Background(), "1", "2"); err == nil {
		t.Error("a Simulator with no target placed a call")
	}
}

// pinService answers every call with a spoken prompt and a DTMF input
// whose answer connects on the right digits, prompts again on wrong ones
// (twice in all), and speaks a refusal otherwise.
type pinService struct {
	mu     sync.Mutex
	inputs []map[string]any
	auth   []string
}

func (p *pinService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prompt := func(attempt int) string {
		return `[{"action":"talk","text":"Enter your PIN"},{"action":"input","type":["dtmf"],"dtmf":{"maxDigits":4},` +
			`"eventUrl":["https://proxy.example.com/vonage/input?attempt=` + strconv.Itoa(attempt) + `"]}]`
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/vonage/answer":
		io.WriteString(w, prompt(1))
	case "/vonage/input":
		var in map[string]any
		_ = json.NewDecoder(r.Body).Decode(&in)
		p.mu.Lock()
		p.inputs = append(p.inputs, in)
		p.auth = append(p.auth, r.Header.Get("Authorization"))
		p.mu.Unlock()
		dtmf, _ := in["dtmf"].(map[string]any)
		attempt, _ := strconv.Atoi(r.URL.Query().Get("attempt"))
		switch {
		case dtmf["digits"] == "1234":
			io.WriteString(w, `[{"action":"connect","from":"447700900001","endpoint":[{"type":"phone","number":"447400123456"}]}]`)
		case attempt < 2 && dtmf["timed_out"] == false:
			io.WriteString(w, prompt(attempt+1))
		default:
			io.WriteString(w, `[{"action":"talk","text":"Goodbye"}]`)
		}
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// A call that meets an input action sends the keys pressed to its
// eventUrl (signed, with Vonage's fields) and runs the NCCO that answers:
// right digits connect, wrong ones are prompted again, none time out; in
// process and over HTTP (the eventUrl's path on BaseURL's host).
func TestPlaceCallWithDigits(t *testing.T) {
	t.Parallel()
	svc := &pinService{}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	for name, sim := range map[string]*proxytest.Simulator{
		"in process": {Handler: svc, AnswerPath: "/vonage/answer", EventPath: "/vonage/event", SignatureSecret: "s"},
		"over HTTP":  {BaseURL: srv.URL + "/vonage", Client: srv.Client(), SignatureSecret: "s"},
	} {
		for _, tt := range []struct {
			digits    []string
			connected string
			inputs    []proxytest.InputOutcome
		}{
			{[]string{"1234"}, "447400123456", []proxytest.InputOutcome{{Digits: "1234", Path: "/vonage/input", HTTPStatus: 200, Tries: 1}}},
			{[]string{"9999", "1234"}, "447400123456", []proxytest.InputOutcome{{Digits: "9999", Path: "/vonage/input", HTTPStatus: 200, Tries: 1}, {Digits: "1234", Path: "/vonage/input", HTTPStatus: 200, Tries: 1}}},
			{[]string{"9999", "8888"}, "", []proxytest.InputOutcome{{Digits: "9999", Path: "/vonage/input", HTTPStatus: 200, Tries: 1}, {Digits: "8888", Path: "/vonage/input", HTTPStatus: 200, Tries: 1}}},
			{nil, "", []proxytest.InputOutcome{{TimedOut: true, Path: "/vonage/input", HTTPStatus: 200, Tries: 1}}},
		} {
			out, err := sim.PlaceCallWith(t.Context(), "447400654321", "447700900001", proxytest.CallOptions{Digits: tt.digits})
			if err != nil {
				t.Fatalf("%s, %v: %v", name, tt.digits, err)
			}
			if out.Connected != tt.connected {
				t.Errorf("%s, %v: connected %q, want %q", name, tt.digits, out.Connected, tt.connected)
			}
			if diff := cmp.Diff(tt.inputs, out.Inputs); diff != "" {
				t.Errorf("%s, %v: inputs (-want +got):\n%s", name, tt.digits, diff)
			}
			if tt.connected == "" && (len(out.Talk) == 0 || out.Talk[len(out.Talk)-1] != "Goodbye") {
				t.Errorf("%s, %v: talk %v, want the refusal last", name, tt.digits, out.Talk)
			}
		}
	}
	svc.mu.Lock()
	defer svc.mu.Unlock()
	in := svc.inputs[0]
	for _, k := range []string{"from", "to", "uuid", "conversation_uuid", "timestamp", "dtmf"} {
		if in[k] == nil {
			t.Errorf("input event has no %q: %v", k, in)
		}
	}
	for _, a := range svc.auth {
		if !strings.HasPrefix(a, "Bearer ") {
			t.Errorf("input event not signed: Authorization %q", a)
		}
	}
}
