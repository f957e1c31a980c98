package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/sqlstore"
)

// newService returns a Service on store with a quiet logger, lenient
// numbers (the test ranges are Ofcom's drama numbers) and no cool-off.
func newService(t testing.TB, store proxy.Store) *proxy.Service {
	t.Helper()
	svc, err := proxy.New(proxy.Config{
		Store:      store,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Allocation: proxy.AllocationConfig{LenientNumbers: true, CoolOff: -1},
		Webhooks:   proxy.WebhookConfig{InsecureUnsigned: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// poolNumbers returns n GB proxy numbers.
func poolNumbers(n int) []proxy.PoolNumber {
	nums := make([]proxy.PoolNumber, n)
	for i := range nums {
		nums[i] = proxy.PoolNumber{MSISDN: fmt.Sprintf("4477009009%02d", i), Country: "GB", Voice: true, SMS: true}
	}
	return nums
}

// person returns the i-th test participant (i < 900).
func person(i int) string { return fmt.Sprintf("447700900%03d", i) }

// answer calls the answer webhook of h and returns the body.
func answer(t testing.TB, h http.Handler, from, to string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/answer?from="+from+"&to="+to+"&uuid=u1", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /answer: status %d", rec.Code)
	}
	return rec.Body.String()
}

// TestServiceRestart: conversations created through a SQLite-backed
// Service route the same after the store is closed and the file reopened
// by a new Service.
func TestServiceRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "voiceproxy.db")
	store, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(t, store)
	if err := svc.AddNumbers(ctx, poolNumbers(3)...); err != nil {
		t.Fatal(err)
	}
	type call struct{ from, to, ncco string }
	var calls []call
	for i := range 6 {
		c, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: "+" + person(0), B: "+" + person(i+1), TTL: time.Hour})
		if err != nil && i < 3 {
			t.Fatal(err)
		}
		if i >= 3 {
			// Person 0 holds a leg on each of the 3 numbers now.
			if !errors.Is(err, proxy.ErrPoolExhausted) {
				t.Fatalf("4th conversation of one participant over 3 numbers: err = %v, want ErrPoolExhausted", err)
			}
			continue
		}
		for side := range 2 {
			p, other := c.Participants[side], c.Participants[1-side]
			body := answer(t, svc, p.Number, p.ProxyNumber)
			if !strings.Contains(body, `"number":"`+other.Number+`"`) {
				t.Fatalf("answer %s -> %s = %s, want a connect to %s", p.Number, p.ProxyNumber, body, other.Number)
			}
			calls = append(calls, call{p.Number, p.ProxyNumber, body})
		}
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	// A store that fails answers 503 on the answer URL, so that Vonage
	// retries and then tries the fallback URL, which answers the spoken
	// fallback (200): never a connect, never an error there.
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/answer?from="+calls[0].from+"&to="+calls[0].to+"&uuid=u1", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("answer with a closed store: status %d, want 503", rec.Code)
	}
	rec = httptest.NewRecorder()
	svc.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/fallback?from="+calls[0].from+"&to="+calls[0].to+"&uuid=u1", nil))
	if got := rec.Body.String(); rec.Code != http.StatusOK || strings.Contains(got, `"connect"`) || !strings.Contains(got, `"talk"`) {
		t.Errorf("fallback with a closed store = %d %s, want the spoken fallback", rec.Code, got)
	}

	store = openSQLite(t, path)
	svc = newService(t, store)
	for _, c := range calls {
		if got := answer(t, svc, c.from, c.to); got != c.ncco {
			t.Errorf("after restart, answer %s -> %s = %s, want %s", c.from, c.to, got, c.ncco)
		}
	}
	// An unknown route still gets the spoken fallback, not a connect.
	if got := answer(t, svc, person(50), poolNumbers(1)[0].MSISDN); strings.Contains(got, `"connect"`) {
		t.Errorf("unknown route answered %s", got)
	}
}

// TestScaleOut runs two Service instances, each with its own Store pool on
// one PostgreSQL schema, creating and closing conversations among 200
// participants over a 5-number pool from several goroutines each. The
// database must keep the leg invariant, both instances must route every
// leg identically, and the counts must add up.
func TestScaleOut(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	ctx := t.Context()
	stores := []*sqlstore.Store{openPostgres(t, dsn, schema), openPostgres(t, dsn, schema)}
	var conflicts atomic.Int64
	svcs := []*proxy.Service{
		newService(t, conflictCounter{stores[0], &conflicts}),
		newService(t, conflictCounter{stores[1], &conflicts}),
	}
	if err := svcs[0].AddNumbers(ctx, poolNumbers(5)...); err != nil {
		t.Fatal(err)
	}

	const (
		people   = 200
		workers  = 4 // per instance
		duration = 2 * time.Second
	)
	var (
		created, closed, exhausted, contended atomic.Int64
		wg                                    sync.WaitGroup
	)
	deadline := time.Now().Add(duration)
	for inst, svc := range svcs {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(inst), uint64(w)))
				var mine []string
				for time.Now().Before(deadline) {
					if len(mine) > 0 && r.IntN(3) == 0 {
						k := r.IntN(len(mine))
						if _, err := svc.CloseConversation(ctx, mine[k]); err != nil {
							t.Errorf("close %s: %v", mine[k], err)
							return
						}
						closed.Add(1)
						mine = append(mine[:k], mine[k+1:]...)
						continue
					}
					a := r.IntN(people)
					b := (a + 1 + r.IntN(people-1)) % people
					c, err := svc.CreateConversation(ctx, proxy.CreateRequest{A: person(a), B: person(b), TTL: time.Hour})
					switch {
					case err == nil:
						created.Add(1)
						mine = append(mine, c.ID)
					case errors.Is(err, proxy.ErrPoolExhausted):
						exhausted.Add(1)
					case errors.Is(err, proxy.ErrTooManyConflicts):
						contended.Add(1)
					default:
						t.Errorf("create: %v", err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("created %d, closed %d, exhausted %d, store conflicts %d, gave up after conflicts %d",
		created.Load(), closed.Load(), exhausted.Load(), conflicts.Load(), contended.Load())
	if created.Load() == 0 {
		t.Fatal("no conversation was created")
	}

	// The leg invariant, asked of the database itself.
	var dup int
	err := stores[0].DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM (
		SELECT l.participant, l.proxy_number FROM vp_legs l JOIN vp_conversations c ON c.id = l.conversation_id
		WHERE c.status = 'active' AND c.deadline > $1
		GROUP BY l.participant, l.proxy_number HAVING COUNT(*) > 1) d`, time.Now()).Scan(&dup)
	if err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Errorf("%d legs are held by more than one conversation in use", dup)
	}

	active := listAll(t, svcs[0], proxy.StatusActive)
	closedList := listAll(t, svcs[1], proxy.StatusClosed)
	if got := int64(len(active) + len(closedList)); got != created.Load() || int64(len(closedList)) != closed.Load() {
		t.Errorf("created %d = active %d + closed %d? (closes counted: %d)", created.Load(), len(active), len(closedList), closed.Load())
	}
	for _, c := range active {
		for side := range 2 {
			p, other := c.Participants[side], c.Participants[1-side]
			b0 := answer(t, svcs[0], p.Number, p.ProxyNumber)
			b1 := answer(t, svcs[1], p.Number, p.ProxyNumber)
			if b0 != b1 {
				t.Errorf("%s: instances answer differently:\n%s\n%s", c.ID, b0, b1)
			}
			if !strings.Contains(b0, `"number":"`+other.Number+`"`) || !strings.Contains(b0, `"from":"`+other.ProxyNumber+`"`) {
				t.Errorf("%s: answer %s -> %s = %s, want a connect to %s from %s", c.ID, p.Number, p.ProxyNumber, b0, other.Number, other.ProxyNumber)
			}
		}
	}
}

// conflictCounter counts the ErrConflict answers of CreateConversation:
// how often the database refused a leg another writer took first.
type conflictCounter struct {
	proxy.Store
	n *atomic.Int64
}

func (c conflictCounter) CreateConversation(ctx context.Context, conv proxy.Conversation) error {
	err := c.Store.CreateConversation(ctx, conv)
	if errors.Is(err, proxy.ErrConflict) {
		c.n.Add(1)
	}
	return err
}

// listAll pages through every conversation with status.
func listAll(t *testing.T, svc *proxy.Service, status proxy.Status) []proxy.Conversation {
	t.Helper()
	var all []proxy.Conversation
	after := ""
	for {
		page, next, err := svc.Conversations(context.Background(), proxy.ListFilter{Status: status, After: after, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		after = next
	}
}
