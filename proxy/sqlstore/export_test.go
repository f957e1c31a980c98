package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// DB exposes the write pool to tests that check the database directly.
func (s *Store) DB() *sql.DB { return s.w }

// Seed bulk-inserts active conversations (and their legs), many rows per
// statement and batch per transaction, for benchmarks that need a large
// database quickly. It trusts its input: no stale-leg release. Load
// counters are recomputed at the end.
func (s *Store) Seed(ctx context.Context, convs []proxy.Conversation) error {
	batch := 500
	if s.d.name == "sqlite" {
		batch = 100 // see bulkInsert
	}
	for len(convs) > 0 {
		n := min(batch, len(convs))
		if err := s.tx(ctx, func(tx *sql.Tx) error { return s.seedBatch(ctx, tx, convs[:n]) }); err != nil {
			return err
		}
		convs = convs[n:]
	}
	_, err := s.w.ExecContext(ctx, `UPDATE vp_numbers SET active_legs =
		(SELECT COUNT(*) FROM vp_legs l WHERE l.proxy_number = vp_numbers.msisdn AND l.active)`)
	return err
}

func (s *Store) seedBatch(ctx context.Context, tx *sql.Tx, convs []proxy.Conversation) error {
	var convRows, legRows [][]any
	for _, c := range convs {
		meta := []byte("null")
		if len(c.Metadata) > 0 {
			var err error
			if meta, err = json.Marshal(c.Metadata); err != nil {
				return err
			}
		}
		var ts [5]any
		for i, t := range [...]time.Time{c.CreatedAt, c.ExpiresAt, c.LastActivityAt, c.EndedAt, c.Deadline()} {
			var err error
			if ts[i], err = s.d.t(t); err != nil {
				return err
			}
		}
		a, b := c.Participants[0], c.Participants[1]
		convRows = append(convRows, []any{c.ID, string(c.Status), string(c.Mode), a.Number, a.ProxyNumber, a.Label,
			b.Number, b.ProxyNumber, b.Label, string(meta), ts[0], ts[1], int64(c.IdleTimeout), ts[2], ts[3], ts[4]})
		active := c.Status == proxy.StatusActive
		legRows = append(legRows,
			[]any{c.ID, 0, a.Number, a.ProxyNumber, b.Number, ts[0], active, ts[0]},
			[]any{c.ID, 1, b.Number, b.ProxyNumber, a.Number, ts[0], active, ts[0]})
	}
	if err := s.bulkInsert(ctx, tx, "vp_conversations", []string{"id", "status", "mode", "a_number", "a_proxy", "a_label",
		"b_number", "b_proxy", "b_label", "metadata", "created_at", "expires_at", "idle_timeout_ns", "last_activity_at", "ended_at", "deadline"}, convRows); err != nil {
		return err
	}
	return s.bulkInsert(ctx, tx, "vp_legs", []string{"conversation_id", "side", "participant", "proxy_number", "counterpart", "created_at", "active", "released_at"}, legRows)
}

// bulkInsert inserts rows into table, one statement for all rows. SQLite
// gets plain "?" placeholders: the driver matches "$N" names to arguments
// by a scan per parameter, quadratic in their number.
func (s *Store) bulkInsert(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any) error {
	var q strings.Builder
	fmt.Fprintf(&q, "INSERT INTO %s (%s) VALUES ", table, strings.Join(cols, ", "))
	args := make([]any, 0, len(rows)*len(cols))
	for i, r := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for j, v := range r {
			if j > 0 {
				q.WriteString(", ")
			}
			args = append(args, v)
			if s.d.name == "sqlite" {
				q.WriteByte('?')
			} else {
				fmt.Fprintf(&q, "$%d", len(args))
			}
		}
		q.WriteByte(')')
	}
	_, err := tx.ExecContext(ctx, q.String(), args...)
	return err
}

// WriteV1 makes the empty database behind conn a schema version 1
// database, as the first release of this package wrote it: migration 1
// only, then the pool number, conversation c (active, with its two legs)
// and one call interaction in with one event ev, in version 1's columns.
// For PostgreSQL, conn's search_path must be the schema to use.
func WriteV1(ctx context.Context, conn *sql.Conn, dialectName string, c proxy.Conversation, in proxy.Interaction, ev proxy.InteractionEvent) error {
	d := sqliteDialect
	if dialectName == "postgres" {
		d = postgresDialect
	}
	ms, err := migrations(d.name)
	if err != nil {
		return err
	}
	tm := func(t time.Time) any { v, _ := d.t(t); return v }
	a, b := c.Participants[0], c.Participants[1]
	nextOrder := "1"
	if d.name == "postgres" {
		nextOrder = "nextval('vp_numbers_pool_order_seq')"
	}
	stmts := []struct {
		q    string
		args []any
	}{
		{ms[0].sql, nil},
		{"CREATE TABLE vp_schema_version (version integer NOT NULL)", nil},
		{"INSERT INTO vp_schema_version (version) VALUES (1)", nil},
		{"INSERT INTO vp_numbers (msisdn, country, voice, sms, in_pool, pool_order, active_legs) VALUES ($1, 'GB', $2, $2, $2, " + nextOrder + ", 2)",
			[]any{a.ProxyNumber, true}},
		{`INSERT INTO vp_conversations (id, status, mode, a_number, a_proxy, a_label, b_number, b_proxy, b_label, metadata,
			created_at, expires_at, idle_timeout_ns, last_activity_at, ended_at, deadline)
			VALUES ($1, 'active', $2, $3, $4, '', $5, $6, '', '{"order":"v1"}', $7, $8, 0, $7, $9, $8)`,
			[]any{c.ID, string(c.Mode), a.Number, a.ProxyNumber, b.Number, b.ProxyNumber, tm(c.CreatedAt), tm(c.ExpiresAt), tm(time.Time{})}},
		{`INSERT INTO vp_legs (conversation_id, side, participant, proxy_number, counterpart, created_at, active, released_at)
			VALUES ($1, 0, $2, $3, $4, $5, $6, $5), ($1, 1, $4, $7, $2, $5, $6, $5)`,
			[]any{c.ID, a.Number, a.ProxyNumber, b.Number, tm(c.CreatedAt), true, b.ProxyNumber}},
		{`INSERT INTO vp_interactions (id, conversation_id, kind, external_id, from_number, to_number, body, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, '', $7)`,
			[]any{in.ID, c.ID, string(in.Kind), in.ExternalID, in.From, in.To, tm(in.CreatedAt)}},
		{`INSERT INTO vp_interaction_events (interaction_id, leg, status, at, duration, price, detail) VALUES ($1, $2, $3, $4, $5, $6, '')`,
			[]any{in.ID, ev.Leg, string(ev.Status), tm(ev.At), ev.Duration, ev.Price}},
	}
	for _, st := range stmts {
		if _, err := conn.ExecContext(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("%.60s…: %w", st.q, err)
		}
	}
	return nil
}

// Dialect names the store's SQL dialect, "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }
