package proxytest_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy/proxytest"
)

// The simulator gives each voice webhook the Application API's default
// socket timeout: 5 s for the answer URL, 10 s for event webhooks; a
// SocketTimeout set applies to both.
func TestWebhookTimeouts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name          string
		socketTimeout time.Duration
		answer, event time.Duration
	}{
		{"defaults", 0, proxytest.DefaultSocketTimeout, proxytest.DefaultEventSocketTimeout},
		{"set", 2 * time.Second, 2 * time.Second, 2 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			left := map[string]time.Duration{}
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				d, ok := r.Context().Deadline()
				mu.Lock()
				if _, seen := left[r.URL.Path]; ok && !seen {
					left[r.URL.Path] = time.Until(d)
				}
				mu.Unlock()
				if r.URL.Path == "/answer" {
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write([]byte(`[{"action":"talk","text":"hello"}]`))
				}
			})
			sim := &proxytest.Simulator{Handler: h, SocketTimeout: tt.socketTimeout}
			if _, err := sim.PlaceCall(t.Context(), "447700900101", "447700900001"); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for path, want := range map[string]time.Duration{"/answer": tt.answer, "/event": tt.event} {
				if got := left[path]; got > want || got < want-time.Second {
					t.Errorf("%s had %v left of its deadline, want about %v", path, got, want)
				}
			}
		})
	}
}
