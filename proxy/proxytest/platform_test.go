package proxytest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// scripted answers each path with the next of its scripted statuses (the
// last one repeats); a status of -1 means "hang until the client gives
// up". 2xx voice answers carry a connect NCCO; /event and /inbound-sms
// answer with no body. It records the requests it got.
type scripted struct {
	mu      sync.Mutex
	script  map[string][]int
	got     []string
	queries []string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	list := s.script[r.URL.Path]
	status := http.StatusOK
	if len(list) > 0 {
		status = list[0]
		if len(list) > 1 {
			s.script[r.URL.Path] = list[1:]
		}
	}
	s.got = append(s.got, r.URL.Path)
	s.queries = append(s.queries, r.URL.RawQuery+string(body))
	s.mu.Unlock()
	if status == -1 {
		<-r.Context().Done()
		return
	}
	if status >= 200 && status < 300 && (r.URL.Path == "/answer" || r.URL.Path == "/fallback") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, `[{"action":"connect","from":"447700900001","endpoint":[{"type":"phone","number":"447400123456"}]}]`)
		return
	}
	w.WriteHeader(status)
}

func (s *scripted) paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// The answer URL is retried once on a timeout or 429/503/504, never on
// other statuses; then the fallback URL is tried, twice at most; then the
// call is dropped.
func TestPlaceCallRetriesAndFallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		answer    []int
		fallback  []int
		noFallbk  bool
		wantPaths []string
		wantDrop  bool
		wantFB    bool
	}{
		{"first answer", []int{200}, nil, false, []string{"/answer"}, false, false},
		{"503 then answered", []int{503, 200}, nil, false, []string{"/answer", "/answer"}, false, false},
		{"429 twice, fallback", []int{429, 429}, []int{200}, false, []string{"/answer", "/answer", "/fallback"}, false, true},
		{"504 then 500, fallback", []int{504, 500}, []int{200}, false, []string{"/answer", "/answer", "/fallback"}, false, true},
		{"500 not retried", []int{500}, []int{200}, false, []string{"/answer", "/fallback"}, false, true},
		{"401 not retried", []int{401}, []int{401}, false, []string{"/answer", "/fallback"}, true, false},
		{"timeout then answered", []int{-1, 200}, nil, false, []string{"/answer", "/answer"}, false, false},
		{"fallback 503 then answered", []int{503, 503}, []int{503, 200}, false, []string{"/answer", "/answer", "/fallback", "/fallback"}, false, true},
		{"fallback fails twice: dropped", []int{503}, []int{503}, false, []string{"/answer", "/answer", "/fallback", "/fallback"}, true, false},
		{"no fallback URL: dropped", []int{503}, nil, true, []string{"/answer", "/answer"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &scripted{script: map[string][]int{"/answer": tt.answer, "/fallback": tt.fallback}}
			sim := &proxytest.Simulator{Handler: h, NoFallback: tt.noFallbk, SocketTimeout: 50 * time.Millisecond}
			out, err := sim.PlaceCall(t.Context(), "447400654321", "447700900001")
			if tt.wantDrop != errors.Is(err, proxytest.ErrCallDropped) {
				t.Fatalf("PlaceCall error %v, want dropped %v", err, tt.wantDrop)
			}
			if !tt.wantDrop && (err != nil || out.Connected != "447400123456") {
				t.Fatalf("PlaceCall = %+v, %v; want connected", out, err)
			}
			var paths []string
			for _, a := range out.Attempts {
				paths = append(paths, a.Path)
			}
			if diff := cmp.Diff(tt.wantPaths, paths); diff != "" {
				t.Errorf("attempts (-want +got):\n%s", diff)
			}
			if out.Fallback != tt.wantFB {
				t.Errorf("Fallback = %v, want %v", out.Fallback, tt.wantFB)
			}
		})
	}
}

// The fallback request carries the original parameters plus reason and
// original_request.
func TestFallbackRequestCarriesReason(t *testing.T) {
	t.Parallel()
	h := &scripted{script: map[string][]int{"/answer": {500}}}
	sim := &proxytest.Simulator{Handler: h, AnswerMethod: proxytest.MethodPOST}
	if _, err := sim.PlaceCall(t.Context(), "447400654321", "447700900001"); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	fb := h.queries[1]
	for _, want := range []string{`"reason":"HTTP 500"`, `"original_request":{"type":"answer","url":"/answer"}`, `"from":"447400654321"`} {
		if !contains(fb, want) {
			t.Errorf("fallback request %s lacks %s", fb, want)
		}
	}
}

// An event webhook that fails is sent to the fallback URL, as an event.
func TestEventFallsBack(t *testing.T) {
	t.Parallel()
	h := &scripted{script: map[string][]int{"/event": {503}, "/fallback": {204}}}
	sim := &proxytest.Simulator{Handler: h}
	out, err := sim.PlaceCall(t.Context(), "447400654321", "447700900001")
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range out.Events {
		if !ev.Fallback || ev.HTTPStatus != 204 {
			t.Fatalf("event %+v: want it sent to the fallback URL", ev)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !contains(h.queries[len(h.queries)-1], `"type":"event"`) {
		t.Errorf("fallback for an event lacks original_request.type event: %s", h.queries[len(h.queries)-1])
	}
}

// A callee who never picks up: its leg ends with that status, the
// caller's leg completes.
func TestCalleeOutcomes(t *testing.T) {
	t.Parallel()
	for _, outcome := range []string{"busy", "unanswered", "rejected", "failed", "timeout", "cancelled"} {
		t.Run(outcome, func(t *testing.T) {
			t.Parallel()
			sim := &proxytest.Simulator{Handler: &scripted{script: map[string][]int{}}, CalleeOutcome: outcome}
			out, err := sim.PlaceCall(t.Context(), "447400654321", "447700900001")
			if err != nil {
				t.Fatal(err)
			}
			last := map[string]string{}
			for _, ev := range out.Events {
				last[ev.Leg] = ev.Params["status"]
			}
			if last["callee"] != outcome || last["caller"] != "completed" || out.CalleeStatus != outcome || out.Duration != 0 {
				t.Errorf("final statuses %v, callee %q, duration %d; want callee %s, caller completed, 0 s", last, out.CalleeStatus, out.Duration, outcome)
			}
		})
	}
}

// Inbound SMS are redelivered until answered 2xx.
func TestSMSRedelivered(t *testing.T) {
	t.Parallel()
	h := &scripted{script: map[string][]int{"/inbound-sms": {500, -1, 200}}}
	sim := &proxytest.Simulator{Handler: h, SMSTimeout: 50 * time.Millisecond, SMSAttempts: 5}
	out, err := sim.SendSMS(t.Context(), "447400654321", "447700900001", "hello")
	if err != nil || out.Deliveries != 3 || out.HTTPStatus[0] != 200 {
		t.Fatalf("SendSMS = %+v, %v; want 3 deliveries, the last answered 200", out, err)
	}
	h2 := &scripted{script: map[string][]int{"/inbound-sms": {503}}}
	out, err = (&proxytest.Simulator{Handler: h2, SMSAttempts: 2}).SendSMS(context.Background(), "447400654321", "447700900001", "hi")
	var we *proxytest.WebhookError
	if !errors.As(err, &we) || out.Deliveries != 2 {
		t.Fatalf("SendSMS to a failing webhook = %+v, %v; want a WebhookError after 2 deliveries", out, err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
