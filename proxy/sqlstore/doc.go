// Package sqlstore is a proxy.Store on database/sql: SQLite (pure Go,
// modernc.org/sqlite, no cgo) for one process, PostgreSQL (pgx) for any
// number of service instances sharing one database. The schema is created
// and migrated on open from embedded SQL files, and the leg invariant is
// enforced by the database itself, with a unique index over active legs.
//
// Use it as the Store of a proxy.Service:
//
//	store, err := sqlstore.OpenPostgres(ctx, "postgres://voiceproxy@db:5432/app?sslmode=require",
//		sqlstore.WithSchema("voiceproxy"))
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//	svc, err := proxy.New(proxy.Config{Store: store})
//
// or, in a single process, sqlstore.OpenSQLite(ctx, "/var/lib/voiceproxy/voiceproxy.db").
package sqlstore
