package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/voiceproxy/voiceproxy/proxy"
)

var _ proxy.Store = (*Store)(nil)

// ErrSchemaTooNew is returned (wrapped in a *SchemaVersionError) when the
// database was migrated by a newer version of this package than the one
// opening it. Upgrade the code; never let old code write to it.
var ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this code knows")

// SchemaVersionError reports a database schema version this code cannot
// use. errors.Is(err, ErrSchemaTooNew) matches it.
type SchemaVersionError struct {
	Database int // version recorded in the database
	Known    int // newest version this code has migrations for
}

// Error implements error.
func (e *SchemaVersionError) Error() string {
	return fmt.Sprintf("sqlstore: database schema version %d is newer than the newest this code knows (%d)", e.Database, e.Known)
}

// Unwrap returns ErrSchemaTooNew.
func (e *SchemaVersionError) Unwrap() error { return ErrSchemaTooNew }

// Store is a proxy.Store on database/sql, backed by SQLite or PostgreSQL.
// It is safe for concurrent use; with PostgreSQL, any number of Stores in
// any number of processes may share one database.
type Store struct {
	d dialect
	w *sql.DB // writes and transactions (SQLite: a single connection)
	r *sql.DB // plain reads; the same pool as w except for SQLite files

	candidatesSQL string
	// Prepared once per connection: parsing a statement is a good part of
	// an SQLite lookup's cost.
	routeStmt, candidatesStmt                                 *sql.Stmt // on r
	releaseStaleStmt, insertConvStmt, insertLegStmt, loadStmt *sql.Stmt // on w
	writerStmts                                               stmtCache // generated SQL on w (SQLite's ClaimRoutes)
}

// Option configures OpenSQLite or OpenPostgres.
type Option func(*options) error

type options struct {
	schema   string
	maxConns int
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// WithSchema keeps the tables in the named PostgreSQL schema, creating it
// if missing, by setting search_path on every pooled connection. Use it to
// share a database with other applications, or to isolate tests. The name
// must be a plain identifier (letters, digits, underscore). SQLite ignores
// it.
func WithSchema(name string) Option {
	return func(o *options) error {
		if !identRE.MatchString(name) {
			return fmt.Errorf("sqlstore: invalid schema name %q", name)
		}
		o.schema = name
		return nil
	}
}

// WithMaxConns sets the size of the connection pool: for PostgreSQL, the
// most open connections (default 10); for an SQLite file, the most read
// connections (default 4; writes always use one connection, as SQLite
// has a single writer). n must be positive.
func WithMaxConns(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("sqlstore: WithMaxConns(%d): need a positive number", n)
		}
		o.maxConns = n
		return nil
	}
}

func buildOptions(opts []Option, defConns int) (options, error) {
	o := options{maxConns: defConns}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// OpenSQLite opens (creating if needed) the SQLite database at path with
// the pure-Go driver, and migrates its schema. The path ":memory:" opens a
// private in-memory database that lives until Close.
//
// File databases use WAL, a busy timeout, foreign keys, a 16 MiB page
// cache per connection and memory-mapped reads (together they halve the
// answer webhook's time with 100k conversations). Writes go
// through one connection with IMMEDIATE transactions (SQLite has a single
// writer, so queuing in the process beats failing with SQLITE_BUSY);
// reads use a separate pool (WithMaxConns). Several processes may open the
// same file; each write then waits up to the busy timeout for the others.
func OpenSQLite(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o, err := buildOptions(opts, 4)
	if err != nil {
		return nil, err
	}
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlstore: invalid SQLite path %q", path)
	}
	s := &Store{d: sqliteDialect, candidatesSQL: fmt.Sprintf(candidatesSQL, sqliteDialect.legSeq)}
	if path == ":memory:" {
		db, err := openSQLiteMemory()
		if err != nil {
			return nil, err
		}
		s.w, s.r = db, db
	} else if s.w, s.r, err = openSQLiteFile(path, o.maxConns); err != nil {
		return nil, err
	}
	if err := s.migrateSQLite(ctx); err != nil {
		s.Close()
		if errors.Is(err, ErrSchemaTooNew) || strings.HasPrefix(err.Error(), "sqlstore:") {
			return nil, err
		}
		return nil, fmt.Errorf("sqlstore: open sqlite %s: %w", path, err)
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openSQLiteMemory opens an in-memory database. Every connection to
// ":memory:" is its own database, so it keeps exactly one, forever.
func openSQLiteMemory() (*sql.DB, error) {
	q := url.Values{"_pragma": {"foreign_keys(1)"}, "_txlock": {"immediate"}}
	db, err := sql.Open("sqlite", ":memory:?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// openSQLiteFile opens the database file at path: one writing
// connection (w), in WAL mode, and up to maxConns reading ones (r).
func openSQLiteFile(path string, maxConns int) (w, r *sql.DB, err error) {
	// SQLite reports a missing directory as "out of memory (14)".
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, nil, fmt.Errorf("sqlstore: open sqlite %s: directory %s does not exist (create it first)", path, dir)
	}
	wq := url.Values{
		"_pragma": {"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)", "cache_size(-16384)"},
		"_txlock": {"immediate"},
	}
	w, err = sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	rq := url.Values{"_pragma": {"busy_timeout(10000)", "foreign_keys(1)", "query_only(1)", "mmap_size(268435456)", "cache_size(-16384)"}}
	r, err = sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("sqlstore: open sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(maxConns)
	r.SetMaxIdleConns(maxConns)
	return w, r, nil
}

// migrateSQLite pings the writing connection and migrates the schema.
// The first connection to a new file switches it to WAL, which needs
// the file to itself and fails at once with SQLITE_BUSY (the busy
// timeout does not cover it) while another process or Store opens the
// same new file. Waiting and trying again settles it.
func (s *Store) migrateSQLite(ctx context.Context) error {
	var err error
	for attempt := 0; ; attempt++ {
		err = s.w.PingContext(ctx)
		if err == nil {
			err = s.migrate(ctx, "")
		}
		if err == nil || !isBusy(err) || attempt == 20 {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 10 * time.Millisecond):
			continue
		}
		break
	}
	return err
}

// OpenPostgres connects to PostgreSQL through pgx (database/sql driver
// "pgx"), with a connection pool (WithMaxConns, default 10), and migrates
// the schema. dsn is a libpq URL or key=value string, e.g.
// "postgres://user@host:5432/db?sslmode=disable"; its search_path
// parameter, or WithSchema, chooses the schema.
//
// Any number of Stores, in any number of processes, may share the
// database: migration runs under an advisory lock, and the leg invariant
// is a unique index. Connections use plan_cache_mode=force_generic_plan
// unless the DSN sets plan_cache_mode.
func OpenPostgres(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o, err := buildOptions(opts, 10)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: postgres dsn: %w", err)
	}
	if o.schema != "" {
		cfg.RuntimeParams["search_path"] = `"` + o.schema + `"` // quoted: keep its case
	}
	if _, ok := cfg.RuntimeParams["plan_cache_mode"]; !ok {
		// Every statement here is an index lookup whose plan does not
		// depend on the values; planning the candidate query afresh on
		// each call (PostgreSQL's choice otherwise) doubles its cost.
		cfg.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(o.maxConns)
	db.SetMaxIdleConns(o.maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{d: postgresDialect, w: db, r: db, candidatesSQL: fmt.Sprintf(candidatesSQL, postgresDialect.legSeq)}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connect to postgres: %w", err)
	}
	if err := s.migrate(ctx, o.schema); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// prepare prepares the hot read statements.
func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		dst   **sql.Stmt
		db    *sql.DB
		query string
	}{
		{&s.routeStmt, s.r, routeSQL},
		{&s.candidatesStmt, s.r, s.candidatesSQL},
		{&s.releaseStaleStmt, s.w, releaseStaleSQL},
		{&s.insertConvStmt, s.w, insertConvSQL},
		{&s.insertLegStmt, s.w, insertLegSQL},
		{&s.loadStmt, s.w, loadSQL},
	} {
		st, err := p.db.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("sqlstore: prepare %q: %w", strings.Fields(p.query)[:3], err)
		}
		*p.dst = st
	}
	return nil
}

// Close closes the connection pools. Calls in flight may fail.
func (s *Store) Close() error {
	var err error
	for _, st := range []*sql.Stmt{s.routeStmt, s.candidatesStmt, s.releaseStaleStmt, s.insertConvStmt, s.insertLegStmt, s.loadStmt} {
		if st != nil {
			err = errors.Join(err, st.Close())
		}
	}
	err = errors.Join(err, s.writerStmts.close(), s.w.Close())
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the dialect's embedded migrations in version order.
func migrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("sqlstore: bad migration file name %s", e.Name())
		}
		b, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrationLockKey is the PostgreSQL advisory lock taken while migrating.
const migrationLockKey = 0x766f69636570 // "voicep"

// migrate brings the schema up to date in one transaction, serialised
// against other Stores opening the same database at the same time
// (PostgreSQL: an advisory transaction lock; SQLite: BEGIN IMMEDIATE).
func (s *Store) migrate(ctx context.Context, schema string) error {
	ms, err := migrations(s.d.name)
	if err != nil {
		return fmt.Errorf("sqlstore: read migrations: %w", err)
	}
	known := ms[len(ms)-1].version
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if s.d.name == "postgres" {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLockKey)); err != nil {
				return err
			}
			if schema != "" {
				// schema passed identRE, so quoting it is enough.
				if _, err := tx.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS "`+schema+`"`); err != nil {
					return err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS vp_schema_version (version integer NOT NULL)"); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM vp_schema_version").Scan(&current); err != nil {
			return err
		}
		if current > known {
			return &SchemaVersionError{Database: current, Known: known}
		}
		applied := current
		for _, m := range ms {
			if m.version <= current {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			applied = m.version
		}
		if applied == current {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM vp_schema_version"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO vp_schema_version (version) VALUES ($1)", applied)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrSchemaTooNew) {
			return err
		}
		return fmt.Errorf("sqlstore: migrate %s schema: %w", s.d.name, err)
	}
	return nil
}

// tx runs fn in a write transaction and commits it, running it again (up
// to a few times) after a deadlock or busy error. fn must not use s.w or
// s.r itself, only tx.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	const attempts = 4
	var err error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(i*i) * 5 * time.Millisecond):
			}
		}
		err = s.tryTx(ctx, fn)
		if err == nil || !isRetryable(err) {
			return err
		}
	}
	return err
}

func (s *Store) tryTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
