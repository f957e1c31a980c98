package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/sqlstore"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

func conv(id, a, ap, b, bp string, created time.Time, ttl time.Duration) proxy.Conversation {
	return proxy.Conversation{
		ID:     id,
		Status: proxy.StatusActive,
		Mode:   proxy.ModeBoth,
		Participants: [2]proxy.Participant{
			{Number: a, ProxyNumber: ap, Label: "rider"},
			{Number: b, ProxyNumber: bp},
		},
		CreatedAt:      created,
		ExpiresAt:      created.Add(ttl),
		LastActivityAt: created,
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			s := be.open(t)
			ctx := t.Context()
			c := conv("c1", "447700900001", "447700900100", "447700900002", "447700900100", t0, time.Hour)
			c.Metadata = map[string]string{"order": "42"}
			c.IdleTimeout = 10 * time.Minute
			c.Mode = proxy.ModeVoice
			if err := s.CreateConversation(ctx, c); err != nil {
				t.Fatal(err)
			}
			got, err := s.Conversation(ctx, "c1")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c, got); diff != "" {
				t.Errorf("Conversation (-want +got):\n%s", diff)
			}
			if got.CreatedAt.Location() != time.UTC {
				t.Errorf("CreatedAt location = %v, want UTC", got.CreatedAt.Location())
			}
			r, err := s.Route(ctx, "447700900002", "447700900100", t0.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c, r); diff != "" {
				t.Errorf("Route (-want +got):\n%s", diff)
			}
			// The idle timeout ends routing at t0+10m unless touched.
			if _, err := s.Route(ctx, "447700900002", "447700900100", t0.Add(10*time.Minute)); !errors.Is(err, proxy.ErrNotFound) {
				t.Errorf("Route after idle deadline: err = %v, want ErrNotFound", err)
			}
			if err := s.Touch(ctx, "c1", t0.Add(5*time.Minute)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Route(ctx, "447700900002", "447700900100", t0.Add(14*time.Minute)); err != nil {
				t.Errorf("Route after Touch: %v", err)
			}
			// Touching after the deadline does not revive it.
			if err := s.Touch(ctx, "c1", t0.Add(16*time.Minute)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Route(ctx, "447700900002", "447700900100", t0.Add(16*time.Minute)); !errors.Is(err, proxy.ErrNotFound) {
				t.Errorf("Route after late Touch: err = %v, want ErrNotFound", err)
			}
		})
	}
}

// TestLegRace has many goroutines (and, for PostgreSQL, two Stores with
// separate pools) create conversations on the same leg at once: exactly
// one wins, every other gets ErrConflict.
func TestLegRace(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			stores := []*sqlstore.Store{be.open(t)}
			if be.name == "postgres" {
				dsn, schema := newSchema(t)
				stores = []*sqlstore.Store{openPostgres(t, dsn, schema), openPostgres(t, dsn, schema)}
			}
			const n = 12
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Every conversation shares leg (447700900001, 447700900100);
					// the other legs differ.
					c := conv(fmt.Sprintf("c%02d", i), "447700900001", "447700900100", fmt.Sprintf("4477009002%02d", i), "447700900100", t0, time.Hour)
					errs[i] = stores[i%len(stores)].CreateConversation(context.Background(), c)
				}()
			}
			wg.Wait()
			won := 0
			for i, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, proxy.ErrConflict):
					t.Errorf("create c%02d: %v, want nil or ErrConflict", i, err)
				}
			}
			if won != 1 {
				t.Errorf("%d creates won the leg, want 1", won)
			}
			list, _, err := stores[0].ListConversations(t.Context(), proxy.ListFilter{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 {
				t.Errorf("%d conversations stored, want 1 (a conflict must write nothing)", len(list))
			}
		})
	}
}

// TestStaleLeg: a conversation past its deadline but not swept neither
// routes nor blocks its legs; the sweep still reports it.
func TestStaleLeg(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			s := be.open(t)
			ctx := t.Context()
			if err := s.AddNumbers(ctx, proxy.PoolNumber{MSISDN: "447700900100", Country: "GB", Voice: true, SMS: true}); err != nil {
				t.Fatal(err)
			}
			old := conv("old", "447700900001", "447700900100", "447700900002", "447700900100", t0, time.Hour)
			if err := s.CreateConversation(ctx, old); err != nil {
				t.Fatal(err)
			}
			later := t0.Add(2 * time.Hour)
			if _, err := s.Route(ctx, "447700900001", "447700900100", later); !errors.Is(err, proxy.ErrNotFound) {
				t.Errorf("Route of stale leg: err = %v, want ErrNotFound", err)
			}
			// Same A leg, a new counterpart.
			if err := s.CreateConversation(ctx, conv("new", "447700900001", "447700900100", "447700900003", "447700900100", later, time.Hour)); err != nil {
				t.Fatalf("create over a stale leg: %v", err)
			}
			r, err := s.Route(ctx, "447700900001", "447700900100", later)
			if err != nil || r.ID != "new" {
				t.Errorf("Route = %q, %v; want new", r.ID, err)
			}
			// Load counts the new conversation's two legs and the old
			// conversation's B leg, still active until swept.
			cands, err := s.Candidates(ctx, proxy.CandidateQuery{Participant: "447700900009", Now: later, ReleasedAfter: later.Add(-time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if len(cands) != 1 || cands[0].Load != 3 {
				t.Errorf("Candidates = %+v, want one with Load 3", cands)
			}
			ids, err := s.ExpireConversations(ctx, later, 0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"old"}, ids); diff != "" {
				t.Errorf("ExpireConversations (-want +got):\n%s", diff)
			}
			got, err := s.Conversation(ctx, "old")
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != proxy.StatusExpired || !got.EndedAt.Equal(old.Deadline()) {
				t.Errorf("old: status %s ended %v, want expired at %v", got.Status, got.EndedAt, old.Deadline())
			}
			cands, err = s.Candidates(ctx, proxy.CandidateQuery{Participant: "447700900009", Now: later, ReleasedAfter: later.Add(-time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if len(cands) != 1 || cands[0].Load != 2 {
				t.Errorf("Candidates after sweep = %+v, want one with Load 2", cands)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	s := newSQLiteMemoryStore(t)
	ctx := t.Context()
	if err := s.CreateConversation(ctx, conv("c1", "447700900001", "447700900100", "447700900002", "447700900100", t0, time.Hour)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		want error // nil: any non-nil error
	}{
		{"duplicate ID", func() error {
			return s.CreateConversation(ctx, conv("c1", "447700900005", "447700900100", "447700900006", "447700900100", t0, time.Hour))
		}, proxy.ErrConflict},
		{"both legs equal", func() error {
			return s.CreateConversation(ctx, conv("c2", "447700900005", "447700900100", "447700900005", "447700900100", t0, time.Hour))
		}, proxy.ErrConflict},
		{"empty ID", func() error {
			return s.CreateConversation(ctx, conv("", "447700900005", "447700900100", "447700900006", "447700900100", t0, time.Hour))
		}, nil},
		{"empty participant", func() error {
			return s.CreateConversation(ctx, conv("c3", "", "447700900100", "447700900006", "447700900100", t0, time.Hour))
		}, nil},
		{"bad status", func() error {
			c := conv("c4", "447700900005", "447700900100", "447700900006", "447700900100", t0, time.Hour)
			c.Status = "paused"
			return s.CreateConversation(ctx, c)
		}, nil},
		{"time out of range", func() error {
			return s.CreateConversation(ctx, conv("c5", "447700900005", "447700900100", "447700900006", "447700900100", time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC), time.Hour))
		}, nil},
		{"unknown conversation", func() error { _, err := s.Conversation(ctx, "nope"); return err }, proxy.ErrNotFound},
		{"end unknown", func() error { _, err := s.EndConversation(ctx, "nope", proxy.StatusClosed, t0); return err }, proxy.ErrNotFound},
		{"end with active status", func() error { _, err := s.EndConversation(ctx, "c1", proxy.StatusActive, t0); return err }, nil},
		{"touch unknown", func() error { return s.Touch(ctx, "nope", t0) }, proxy.ErrNotFound},
		{"remove unknown number", func() error { return s.RemoveNumber(ctx, "447700900999") }, proxy.ErrNotFound},
		{"add empty number", func() error { return s.AddNumbers(ctx, proxy.PoolNumber{}) }, nil},
		{"list bad status", func() error { _, _, err := s.ListConversations(ctx, proxy.ListFilter{Status: "paused"}); return err }, nil},
		{"interaction of unknown conversation", func() error {
			return s.AddInteraction(ctx, proxy.Interaction{ID: "i1", ConversationID: "nope", Kind: proxy.KindCall, ExternalID: "x", CreatedAt: t0})
		}, proxy.ErrNotFound},
		{"event of unknown interaction", func() error {
			return s.AddInteractionEvent(ctx, "nope", proxy.InteractionEvent{Status: "started", At: t0})
		}, proxy.ErrNotFound},
		{"interactions of unknown conversation", func() error { _, err := s.Interactions(ctx, "nope"); return err }, proxy.ErrNotFound},
		{"interaction by empty external ID", func() error { _, err := s.InteractionByExternalID(ctx, proxy.KindSMS, ""); return err }, proxy.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestClosedStore(t *testing.T) {
	t.Parallel()
	s, err := sqlstore.OpenSQLite(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Route(t.Context(), "447700900001", "447700900100", t0); err == nil || errors.Is(err, proxy.ErrNotFound) {
		t.Errorf("Route on a closed store: err = %v, want a store error", err)
	}
	if err := s.CreateConversation(t.Context(), conv("c1", "447700900001", "447700900100", "447700900002", "447700900100", t0, time.Hour)); err == nil {
		t.Error("CreateConversation on a closed store succeeded")
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		open func() (*sqlstore.Store, error)
	}{
		{"bad schema name", func() (*sqlstore.Store, error) {
			return sqlstore.OpenPostgres(t.Context(), "postgres://127.0.0.1:1/x", sqlstore.WithSchema("a;drop"))
		}},
		{"zero conns", func() (*sqlstore.Store, error) {
			return sqlstore.OpenSQLite(t.Context(), ":memory:", sqlstore.WithMaxConns(0))
		}},
		{"bad dsn", func() (*sqlstore.Store, error) { return sqlstore.OpenPostgres(t.Context(), "postgres://%zz") }},
		{"unreachable server", func() (*sqlstore.Store, error) {
			return sqlstore.OpenPostgres(t.Context(), "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
		}},
		{"empty sqlite path", func() (*sqlstore.Store, error) { return sqlstore.OpenSQLite(t.Context(), "") }},
		{"sqlite directory missing", func() (*sqlstore.Store, error) {
			return sqlstore.OpenSQLite(t.Context(), t.TempDir()+"/no/such/dir/db")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.open()
			if err == nil {
				s.Close()
				t.Fatal("open succeeded, want an error")
			}
		})
	}
}

// TestMessagePartsRace stores the two parts of each of many multipart
// SMS at once, through two Stores where the backend allows: exactly one
// part must see both (the one landing last), or the message would be
// relayed never or twice.
func TestMessagePartsRace(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			stores := []*sqlstore.Store{be.open(t)}
			if be.name == "postgres" {
				dsn, schema := newSchema(t)
				stores = []*sqlstore.Store{openPostgres(t, dsn, schema), openPostgres(t, dsn, schema)}
			}
			for i := range 20 {
				var wg sync.WaitGroup
				var seen [2]int
				for part := 1; part <= 2; part++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						got, err := stores[part%len(stores)].AddMessagePart(context.Background(), proxy.MessagePart{
							From: "447700900001", To: "447700900100", Ref: fmt.Sprint(i), Part: part, Total: 2,
							MessageID: fmt.Sprintf("m%d-%d", i, part), Text: "part", ReceivedAt: t0,
						}, t0.Add(-time.Hour))
						if err != nil {
							t.Error(err)
						}
						seen[part-1] = len(got)
					}()
				}
				wg.Wait()
				if (seen[0] == 2) == (seen[1] == 2) {
					t.Fatalf("message %d: the parts saw %v parts; exactly one must see both", i, seen)
				}
			}
		})
	}
}

// TestInteractionDedupeRace: two instances recording the same Vonage
// message at once store it once; the other gets ErrConflict.
func TestInteractionDedupeRace(t *testing.T) {
	t.Parallel()
	dsn, schema := newSchema(t)
	stores := []*sqlstore.Store{openPostgres(t, dsn, schema), openPostgres(t, dsn, schema)}
	ctx := t.Context()
	if err := stores[0].CreateConversation(ctx, conv("c1", "447700900001", "447700900100", "447700900002", "447700900100", t0, time.Hour)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = stores[i].AddInteraction(context.Background(), proxy.Interaction{
				ID: fmt.Sprintf("i%d", i), ConversationID: "c1", Kind: proxy.KindSMS, ExternalID: "msg-1",
				From: "447700900001", To: "447700900100", CreatedAt: t0,
			})
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs[0], errs[1]), proxy.ErrConflict) {
		t.Errorf("errs = %v; want one nil and one ErrConflict", errs)
	}
	ins, err := stores[1].Interactions(ctx, "c1")
	if err != nil || len(ins) != 1 {
		t.Errorf("Interactions = %d, %v; want 1", len(ins), err)
	}
}

// A path in a missing directory says so, instead of SQLite's "out of
// memory (14)".
func TestOpenSQLiteMissingDirectory(t *testing.T) {
	t.Parallel()
	_, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "no", "such", "dir", "v.db"))
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("OpenSQLite in a missing directory: %v, want it to say the directory does not exist", err)
	}
}

// TestKeyAndReopenRace: two Stores with separate pools (PostgreSQL; one
// SQLite file opened twice) create with one key and reopen conversations
// wanting the same leg at once: one of each wins.
func TestKeyAndReopenRace(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			var stores []*sqlstore.Store
			switch be.name {
			case "postgres":
				dsn, schema := newSchema(t)
				stores = []*sqlstore.Store{openPostgres(t, dsn, schema), openPostgres(t, dsn, schema)}
			case "sqlite-file":
				path := filepath.Join(t.TempDir(), "db")
				stores = []*sqlstore.Store{openSQLite(t, path), openSQLite(t, path)}
			default:
				stores = []*sqlstore.Store{be.open(t)}
			}
			ctx := context.Background()
			// Two ended conversations on one leg, to be reopened at once.
			for _, id := range []string{"r1", "r2"} {
				c := conv(id, "447700900001", "447700900100", "447700900002", "447700900100", t0, time.Hour)
				if err := stores[0].CreateConversation(ctx, c); err != nil {
					t.Fatal(err)
				}
				if _, err := stores[0].EndConversation(ctx, id, proxy.StatusClosed, t0.Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			const n = 8
			var wg sync.WaitGroup
			keyErrs := make([]error, n)
			reopenErrs := make([]error, 2)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := conv(fmt.Sprintf("k%d", i), fmt.Sprintf("4477009003%02d", i), "447700900101", fmt.Sprintf("4477009004%02d", i), "447700900101", t0.Add(2*time.Minute), time.Hour)
					c.Key = "job-1"
					keyErrs[i] = stores[i%len(stores)].CreateConversation(ctx, c)
				}()
			}
			for i, id := range []string{"r1", "r2"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, reopenErrs[i] = stores[i%len(stores)].ReopenConversation(ctx, id, t0.Add(2*time.Minute), t0.Add(3*time.Hour))
				}()
			}
			wg.Wait()
			for what, errs := range map[string][]error{"create with the key": keyErrs, "reopen": reopenErrs} {
				won := 0
				for i, err := range errs {
					switch {
					case err == nil:
						won++
					case !errors.Is(err, proxy.ErrConflict):
						t.Errorf("%s %d: %v, want nil or ErrConflict", what, i, err)
					}
				}
				if won != 1 {
					t.Errorf("%s: %d won, want 1 (%v)", what, won, errs)
				}
			}
		})
	}
}
