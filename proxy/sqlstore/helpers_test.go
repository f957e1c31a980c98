package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy/sqlstore"
)

// postgresEnv names the variable holding the test PostgreSQL DSN.
const postgresEnv = "VOICEPROXY_TEST_POSTGRES"

// localPostgres is the server a developer machine usually has; the tests
// use it when VOICEPROXY_TEST_POSTGRES is not set and it answers.
const localPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable&connect_timeout=2"

// TestMain finds the PostgreSQL server the tests use (see postgresDSN) and
// says so when there is none, since go test shows a passing package's
// skips only with -v.
func TestMain(m *testing.M) {
	if os.Getenv(postgresEnv) == "" && os.Getenv("CI") != "true" {
		if db, err := sql.Open("pgx", localPostgres); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			if db.PingContext(ctx) == nil {
				os.Setenv(postgresEnv, localPostgres)
			}
			cancel()
			db.Close()
		}
		if os.Getenv(postgresEnv) == "" {
			fmt.Fprintln(os.Stderr, "sqlstore: PostgreSQL tests SKIPPED: no server at 127.0.0.1:5432; set "+postgresEnv+" to run them")
		}
	}
	os.Exit(m.Run())
}

// postgresDSN returns the test DSN: VOICEPROXY_TEST_POSTGRES, else the
// local server when TestMain found one. Without one the test is skipped
// on a developer machine, and fails under CI=true, where .ci/run always
// sets it.
func postgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		msg := "PostgreSQL tests need " + postgresEnv + ", e.g. " + postgresEnv +
			"='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' (a database the user may create schemas in)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; it is required when CI=true")
		}
		t.Skip(msg)
	}
	return dsn
}

// newSchema creates a fresh schema for one test and drops it at cleanup.
func newSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	dsn = postgresDSN(t)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema = "voiceproxy_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	if _, err := admin.ExecContext(t.Context(), `CREATE SCHEMA "`+schema+`"`); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	return dsn, schema
}

// openPostgres opens a Store on schema, closed at cleanup.
func openPostgres(t testing.TB, dsn, schema string, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenPostgres(context.Background(), dsn, append([]sqlstore.Option{sqlstore.WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newPostgresStore opens a Store on a fresh schema.
func newPostgresStore(t testing.TB) *sqlstore.Store {
	t.Helper()
	dsn, schema := newSchema(t)
	return openPostgres(t, dsn, schema)
}

// openSQLite opens a Store at path, closed at cleanup.
func openSQLite(t testing.TB, path string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatalf("OpenSQLite(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newSQLiteFileStore(t testing.TB) *sqlstore.Store {
	t.Helper()
	return openSQLite(t, filepath.Join(t.TempDir(), "voiceproxy.db"))
}

func newSQLiteMemoryStore(t testing.TB) *sqlstore.Store {
	t.Helper()
	return openSQLite(t, ":memory:")
}

// backends lists every way to open a fresh Store, for tests that run on each.
var backends = []struct {
	name string
	open func(testing.TB) *sqlstore.Store
}{
	{"sqlite-file", newSQLiteFileStore},
	{"sqlite-memory", newSQLiteMemoryStore},
	{"postgres", newPostgresStore},
}

// openKind opens an empty store of the kind, "sqlite" (a file) or
// "postgres" (a fresh schema).
func openKind(t *testing.T, kind string) *sqlstore.Store {
	t.Helper()
	if kind == "sqlite" {
		return openSQLite(t, filepath.Join(t.TempDir(), "v.db"))
	}
	return newPostgresStore(t)
}
