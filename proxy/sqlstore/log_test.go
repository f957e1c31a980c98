package sqlstore_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// With the database gone, the store's errors quote participant numbers
// ("route 447… -> 447…"); the Service logs them at Error, masked, on
// SQLite and PostgreSQL alike.
func TestStoreFailureLogsNoNumbers(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var store proxy.Store
			var breakIt func()
			switch kind {
			case "sqlite":
				s := openSQLite(t, filepath.Join(t.TempDir(), "v.db"))
				store, breakIt = s, func() { s.Close() }
			case "postgres":
				dsn, schema := newSchema(t)
				u, err := url.Parse(dsn)
				if err != nil {
					t.Fatal(err)
				}
				gate := newTCPGate(t, u.Host)
				u.Host = gate.addr()
				store, breakIt = openPostgres(t, u.String(), schema), func() { gate.setShut(true) }
			}
			var logs syncBuffer
			svc, err := proxy.New(proxy.Config{
				Store: store,
				// hand-made webhooks
				Logger:     slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
				Allocation: proxy.AllocationConfig{LenientNumbers: true},
				Webhooks:   proxy.WebhookConfig{StoreTimeout: 300 * time.Millisecond, InsecureUnsigned: true},
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.AddNumbers(t.Context(), poolNumbers(1)...); err != nil {
				t.Fatal(err)
			}
			a, b := person(1), person(2)
			c, err := svc.CreateConversation(t.Context(), proxy.CreateRequest{A: "+" + a, B: "+" + b})
			if err != nil {
				t.Fatal(err)
			}
			breakIt()
			pool := c.Participants[0].ProxyNumber
			for _, r := range []*http.Request{
				httptest.NewRequest(http.MethodGet, "/answer?from="+a+"&to="+pool+"&uuid=u1&conversation_uuid=CON-1", nil),
				httptest.NewRequest(http.MethodGet, "/fallback?from="+a+"&to="+pool+"&uuid=u1&conversation_uuid=CON-1", nil),
				httptest.NewRequest(http.MethodGet, "/event?from="+a+"&to="+pool+"&uuid=u1&conversation_uuid=CON-2&status=started", nil),
				httptest.NewRequest(http.MethodGet, "/inbound-sms?msisdn="+b+"&to="+pool+"&messageId=M1&text=hi&type=text&message-timestamp=2026-03-02+09:00:00", nil),
			} {
				svc.ServeHTTP(httptest.NewRecorder(), r)
			}
			out := logs.String()
			if !strings.Contains(out, "level=ERROR") {
				t.Fatalf("no store failure was logged:\n%s", out)
			}
			for _, n := range []string{a, b} {
				if strings.Contains(out, n) {
					t.Errorf("logs contain participant number %s:\n%s", n, out)
				}
			}
		})
	}
}

// A NUL byte or invalid UTF-8 in a webhook field changes a character of
// the audit trail, on SQLite and PostgreSQL alike, instead of losing the
// event (PostgreSQL refuses NUL in text).
func TestWebhookFieldsWithNULRecorded(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			svc := newService(t, openKind(t, kind))
			if err := svc.AddNumbers(t.Context(), poolNumbers(1)...); err != nil {
				t.Fatal(err)
			}
			c, err := svc.CreateConversation(t.Context(), proxy.CreateRequest{A: "+" + person(1), B: "+" + person(2)})
			if err != nil {
				t.Fatal(err)
			}
			pool := c.Participants[0].ProxyNumber
			for _, r := range []*http.Request{
				httptest.NewRequest(http.MethodGet, "/answer?from="+person(1)+"&to="+pool+"&uuid=u%001&conversation_uuid=CON%00-1", nil),
				httptest.NewRequest(http.MethodGet, "/event?from="+person(1)+"&to="+pool+"&uuid=u%001&conversation_uuid=CON%00-1&status=failed&detail=bad%00%ff", nil),
			} {
				rec := httptest.NewRecorder()
				svc.ServeHTTP(rec, r)
				if rec.Code >= 300 {
					t.Fatalf("%s: status %d", r.URL.Path, rec.Code)
				}
			}
			ins, err := svc.Interactions(t.Context(), c.ID)
			if err != nil || len(ins) != 1 || len(ins[0].Events) != 1 {
				t.Fatalf("interactions %+v, %v; want the call with its event", ins, err)
			}
			if got := ins[0].Events[0].Detail; got != "bad\uFFFD\uFFFD" {
				t.Errorf("detail %q, want the NUL and the bad byte replaced", got)
			}
		})
	}
}
