package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
	"github.com/voiceproxy/voiceproxy/proxy/sqlstore"
)

// openTogether opens n Stores at once with open, as instances starting
// together do, and fails the test if any open fails.
func openTogether(t *testing.T, n int, open func() (*sqlstore.Store, error)) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := open()
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
		}
	}
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "db")
		openTogether(t, 4, func() (*sqlstore.Store, error) { return sqlstore.OpenSQLite(context.Background(), path) })
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := postgresDSN(t)
		// A schema nobody created yet, with capitals: WithSchema creates
		// it, once, and keeps its case.
		_, schema := newSchema(t)
		schema = strings.ToUpper(schema[:1]) + schema[1:]
		t.Cleanup(func() {
			db, err := sql.Open("pgx", dsn)
			if err == nil {
				db.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`)
				db.Close()
			}
		})
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		openTogether(t, 4, func() (*sqlstore.Store, error) {
			return sqlstore.OpenPostgres(context.Background(), dsn, sqlstore.WithSchema(schema))
		})
		var tables int
		if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1", schema).Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables == 0 {
			t.Errorf("no tables in schema %q", schema)
		}
	})
}

// TestSchemaTooNew: a database migrated by newer code is refused with a
// typed error, and left untouched.
// reopenBackends gives, per SQL backend, a way to run raw SQL on a fresh
// database and to open a Store on it.
func reopenBackends() []reopenBackend {
	return []reopenBackend{
		{"sqlite", func(t *testing.T) (func(string) error, func() (*sqlstore.Store, error)) {
			path := filepath.Join(t.TempDir(), "db")
			open := func() (*sqlstore.Store, error) { return sqlstore.OpenSQLite(context.Background(), path) }
			return func(q string) error {
				db, err := sql.Open("sqlite", path)
				if err != nil {
					return err
				}
				defer db.Close()
				_, err = db.Exec(q)
				return err
			}, open
		}},
		{"postgres", func(t *testing.T) (func(string) error, func() (*sqlstore.Store, error)) {
			dsn, schema := newSchema(t)
			open := func() (*sqlstore.Store, error) {
				return sqlstore.OpenPostgres(context.Background(), dsn, sqlstore.WithSchema(schema))
			}
			return func(q string) error {
				db, err := sql.Open("pgx", dsn)
				if err != nil {
					return err
				}
				defer db.Close()
				_, err = db.Exec(`SET search_path TO "` + schema + `"; ` + q)
				return err
			}, open
		}},
	}
}

type reopenBackend struct {
	name   string
	reopen func(t *testing.T) (exec func(string) error, open func() (*sqlstore.Store, error))
}

func TestSchemaTooNew(t *testing.T) {
	t.Parallel()
	for _, be := range reopenBackends() {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			exec, open := be.reopen(t)
			s, err := open()
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			if err := exec("UPDATE vp_schema_version SET version = 999"); err != nil {
				t.Fatal(err)
			}
			s, err = open()
			if err == nil {
				s.Close()
				t.Fatal("opened a database with schema version 999")
			}
			if !errors.Is(err, sqlstore.ErrSchemaTooNew) {
				t.Errorf("err = %v, want ErrSchemaTooNew", err)
			}
			var ve *sqlstore.SchemaVersionError
			if !errors.As(err, &ve) || ve.Database != 999 || ve.Known < 1 || ve.Known >= 999 {
				t.Errorf("err = %#v, want *SchemaVersionError{Database: 999, Known: current}", err)
			}
		})
	}
}

// TestReopen: conversations written before Close route after reopening
// the same SQLite file.
func TestReopen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "db")
	s := openSQLite(t, path)
	ctx := t.Context()
	c := conv("c1", "447700900001", "447700900100", "447700900002", "447700900101", t0, time.Hour)
	if err := s.CreateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openSQLite(t, path)
	got, err := s.Route(ctx, "447700900002", "447700900101", t0.Add(time.Minute))
	if err != nil || got.ID != "c1" {
		t.Errorf("Route after reopen = %q, %v; want c1", got.ID, err)
	}
	if _, err := s.Route(ctx, "447700900002", "447700900100", t0.Add(time.Minute)); !errors.Is(err, proxy.ErrNotFound) {
		t.Errorf("Route of a leg that is not B's: err = %v, want ErrNotFound", err)
	}
}

// TestMigrateFromV4: a database written at schema version 4 (before
// call control) opens at the current version with its data intact, the
// new columns at their defaults.
func TestMigrateFromV4(t *testing.T) {
	t.Parallel()
	for _, be := range reopenBackends() {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			exec, open := be.reopen(t)
			s, err := open()
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			c := conv("c1", "447700900001", "447700900100", "447700900002", "447700900101", t0, time.Hour)
			in := proxy.Interaction{ID: "i1", ConversationID: "c1", Kind: proxy.KindCall, ExternalID: "CON-1",
				From: "447700900001", To: "447700900100", CreatedAt: t0}
			if err := errors.Join(s.CreateConversation(ctx, c), s.AddInteraction(ctx, in)); err != nil {
				t.Fatal(err)
			}
			s.Close()
			// Back to version 4: the columns and indexes versions 5 to 9
			// add are gone.
			for _, q := range []string{"DROP INDEX vp_interactions_calls", "DROP INDEX vp_message_parts_received", "DROP INDEX vp_conversations_to_pseudonymize", "DROP INDEX vp_conversations_idem_key", "ALTER TABLE vp_conversations DROP COLUMN idem_key",
				"ALTER TABLE vp_conversations DROP COLUMN record",
				"ALTER TABLE vp_interactions DROP COLUMN region", "UPDATE vp_schema_version SET version = 4"} {
				if err := exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			s, err = open()
			if err != nil {
				t.Fatalf("open a version 4 database: %v", err)
			}
			defer s.Close()
			got, err := s.Route(ctx, "447700900002", "447700900101", t0.Add(time.Minute))
			if err != nil || got.ID != "c1" || got.Record {
				t.Errorf("Route after migration = %+v, %v; want c1, not recorded", got, err)
			}
			gotIn, err := s.Interaction(ctx, "i1")
			if err != nil || gotIn.ExternalID != "CON-1" || gotIn.Region != "" {
				t.Errorf("Interaction after migration = %+v, %v", gotIn, err)
			}
			in.ID, in.ExternalID, in.Region = "i2", "CON-2", "https://api-us-3.vonage.com"
			if err := s.AddInteraction(ctx, in); err != nil {
				t.Fatal(err)
			}
			if gotIn, err := s.Interaction(ctx, "i2"); err != nil || gotIn.Region != in.Region {
				t.Errorf("region after migration = %q, %v", gotIn.Region, err)
			}
		})
	}
}

// TestMigrateFromV1: a database the first release wrote (schema version
// 1) opens at the current version: its conversation routes, its
// interaction reads back with its event, and what later versions added
// works on it (an idempotency key, a reopen, a region).
func TestMigrateFromV1(t *testing.T) {
	t.Parallel()
	c := conv("c1", "447700900001", "447700900100", "447700900002", "447700900100", t0, 24*time.Hour)
	in := proxy.Interaction{ID: "i1", ConversationID: "c1", Kind: proxy.KindCall, ExternalID: "CON-1",
		From: "447700900001", To: "447700900100", CreatedAt: t0}
	ev := proxy.InteractionEvent{Leg: "leg-1", Status: proxy.EventCompleted, At: t0.Add(time.Minute), Duration: 42, Price: "0.0042"}
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			var db *sql.DB
			var open func() (*sqlstore.Store, error)
			var err error
			setup := "" // run on the connection first
			if kind == "sqlite" {
				path := filepath.Join(t.TempDir(), "v1.db")
				db, err = sql.Open("sqlite", path)
				open = func() (*sqlstore.Store, error) { return sqlstore.OpenSQLite(ctx, path) }
			} else {
				dsn, schema := newSchema(t)
				db, err = sql.Open("pgx", dsn)
				open = func() (*sqlstore.Store, error) { return sqlstore.OpenPostgres(ctx, dsn, sqlstore.WithSchema(schema)) }
				setup = `SET search_path TO "` + schema + `"`
			}
			if err != nil {
				t.Fatal(err)
			}
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if setup != "" {
				if _, err := conn.ExecContext(ctx, setup); err != nil {
					t.Fatal(err)
				}
			}
			err = sqlstore.WriteV1(ctx, conn, kind, c, in, ev)
			conn.Close()
			db.Close()
			if err != nil {
				t.Fatalf("write a version 1 database: %v", err)
			}
			s, err := open()
			if err != nil {
				t.Fatalf("open a version 1 database: %v", err)
			}
			defer s.Close()
			got, err := s.Route(ctx, "447700900002", "447700900100", t0.Add(time.Hour))
			if err != nil || got.ID != "c1" || got.Metadata["order"] != "v1" || got.Key != "" || got.Record || got.PIN != "" {
				t.Fatalf("Route after migration = %+v, %v", got, err)
			}
			gotIn, err := s.Interaction(ctx, "i1")
			if err != nil || len(gotIn.Events) != 1 || gotIn.Events[0].Duration != 42 || gotIn.Region != "" {
				t.Errorf("interaction after migration = %+v, %v", gotIn, err)
			}
			if n, err := s.NumberLegs(ctx, "447700900100"); err != nil || n != 2 {
				t.Errorf("NumberLegs = %d, %v; want 2", n, err)
			}
			// Later versions' features on the old rows.
			if _, err := s.EndConversation(ctx, "c1", proxy.StatusClosed, t0.Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if r, err := s.ReopenConversation(ctx, "c1", t0.Add(3*time.Hour), t0.Add(30*time.Hour)); err != nil || r.Status != proxy.StatusActive {
				t.Errorf("reopen a v1 conversation: %+v, %v", r, err)
			}
			k := conv("c2", "447700900003", "447700900100", "447700900004", "447700900100", t0.Add(4*time.Hour), time.Hour)
			k.Key = "job-1"
			if err := s.CreateConversation(ctx, k); err != nil {
				t.Fatal(err)
			}
			if byKey, err := s.ConversationByKey(ctx, "job-1", t0.Add(4*time.Hour+time.Minute)); err != nil || byKey.ID != "c2" {
				t.Errorf("ConversationByKey = %+v, %v", byKey, err)
			}
		})
	}
}

// TestMigrateFromV7: version 8 empties the labels of conversations an
// earlier version pseudonymized (pseudonymization now empties them) and
// leaves other conversations' labels alone; the sweep's index on parts
// exists.
func TestMigrateFromV7(t *testing.T) {
	t.Parallel()
	for _, be := range reopenBackends() {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			exec, open := be.reopen(t)
			s, err := open()
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			old := conv("old", "447700900001", "447700900100", "447700900002", "447700900101", t0, time.Hour)
			kept := conv("kept", "447700900003", "447700900100", "447700900004", "447700900101", t0, time.Hour)
			if err := errors.Join(s.CreateConversation(ctx, old), s.CreateConversation(ctx, kept)); err != nil {
				t.Fatal(err)
			}
			s.Close()
			// As version 7 pseudonymized it: numbers replaced, labels kept.
			for _, q := range []string{"DROP INDEX vp_interactions_calls", "DROP INDEX vp_message_parts_received",
				"UPDATE vp_conversations SET status = 'closed', a_number = 'anon-1', b_number = 'anon-2', b_label = 'Alice Smith' WHERE id = 'old'",
				"UPDATE vp_schema_version SET version = 7"} {
				if err := exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			s, err = open()
			if err != nil {
				t.Fatalf("open a version 7 database: %v", err)
			}
			defer s.Close()
			if got, err := s.Conversation(ctx, "old"); err != nil || got.Participants[0].Label != "" || got.Participants[1].Label != "" {
				t.Errorf("pseudonymized conversation after migration = %+v, %v; want no labels", got.Participants, err)
			}
			if got, err := s.Conversation(ctx, "kept"); err != nil || got.Participants[0].Label != "rider" {
				t.Errorf("other conversation after migration = %+v, %v; want its label", got.Participants, err)
			}
			if err := exec("DROP INDEX vp_message_parts_received"); err != nil {
				t.Errorf("the parts index is missing after migration: %v", err)
			}
			if err := exec("DROP INDEX vp_interactions_calls"); err != nil {
				t.Errorf("the open calls' index (version 9) is missing after migration: %v", err)
			}
		})
	}
}
