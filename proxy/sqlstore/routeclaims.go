package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// ClaimRoutes claims the nonces of many answer webhooks and routes their
// calls in one round trip (proxy.RouteClaimer): each result is what
// Claims and Route would have answered.
//
// It is two statements, the nonce INSERT of Claims and one route
// SELECT for every call: on PostgreSQL they go as one pipelined batch
// (pgx sends both and a single Sync, so one network round trip, in one
// implicit transaction); on SQLite both run on the writer connection,
// whose page cache every write keeps warm, where the reader connections
// would find it invalidated by the last write and read the B-tree pages
// afresh (most of a route lookup's cost under load).
func (s *Store) ClaimRoutes(ctx context.Context, reqs []proxy.RouteClaim) ([]proxy.RouteClaimResult, error) {
	out := make([]proxy.RouteClaimResult, len(reqs))
	if len(reqs) == 0 {
		return out, nil
	}
	claims := make([]proxy.ClaimRequest, len(reqs))
	for i, r := range reqs {
		claims[i] = r.Nonce
	}
	nc, err := s.nonceClaims(claims)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim routes: %w", err)
	}
	rq, rargs, err := s.routesQuery(reqs)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim routes: %w", err)
	}
	fresh := make([]bool, len(reqs))
	if s.d.name == "postgres" {
		err = s.claimRoutesBatch(ctx, nc, rq, rargs, fresh, out)
	} else {
		err = s.claimRoutesInTurn(ctx, nc, rq, rargs, fresh, out)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim routes: %w", err)
	}
	for i, r := range reqs {
		out[i].Fresh = r.Nonce.Key == "" || fresh[i]
	}
	return out, nil
}

// routesQuery builds the SELECT routing every request with a
// Participant: its rows are the request's index and the conversation
// (convCols). It is "" when no request has a Participant.
func (s *Store) routesQuery(reqs []proxy.RouteClaim) (string, []any, error) {
	var b strings.Builder
	args := make([]any, 0, 3*len(reqs))
	b.WriteString(`WITH q(i, p, n, t) AS (VALUES `)
	for i, r := range reqs {
		if r.Participant == "" {
			continue
		}
		t, err := s.d.t(r.Now)
		if err != nil {
			return "", nil, err
		}
		if len(args) > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(%d, $%d, $%d, $%d%s)", i, len(args)+1, len(args)+2, len(args)+3, s.d.timeCast)
		args = append(args, r.Participant, r.ProxyNumber, t)
	}
	if len(args) == 0 {
		return "", nil, nil
	}
	b.WriteString(`) SELECT q.i, ` + convCols + ` FROM q
		JOIN vp_legs l ON l.participant = q.p AND l.proxy_number = q.n AND l.active
		JOIN vp_conversations c ON c.id = l.conversation_id AND c.status = 'active' AND c.deadline > q.t`)
	return b.String(), args, nil
}

// rows is what both database/sql and pgx rows offer.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// readClaimed marks the claims the nonce INSERT returned fresh.
func readClaimed(nc nonceClaim, r rows, fresh []bool) error {
	for r.Next() {
		var key string
		if err := r.Scan(&key); err != nil {
			return err
		}
		nc.claimed(key, fresh)
	}
	return r.Err()
}

// readRoutes sets each request's conversation from the route SELECT.
func readRoutes(r rows, out []proxy.RouteClaimResult) error {
	for r.Next() {
		var i int
		c, err := scanConversation(prefixScanner{r, &i})
		if err != nil {
			return err
		}
		if i < 0 || i >= len(out) {
			return fmt.Errorf("route row for request %d of %d", i, len(out))
		}
		if !out[i].Found { // the leg invariant allows one; keep the first
			out[i].Found, out[i].Conversation = true, c
		}
	}
	return r.Err()
}

// prefixScanner scans a row's first column into first, the rest as asked.
type prefixScanner struct {
	r     rows
	first any
}

func (p prefixScanner) Scan(dest ...any) error {
	return p.r.Scan(append([]any{p.first}, dest...)...)
}

// claimRoutesInTurn runs the two statements one after the other on the
// writer connection (SQLite).
func (s *Store) claimRoutesInTurn(ctx context.Context, nc nonceClaim, rq string, rargs []any, fresh []bool, out []proxy.RouteClaimResult) error {
	run := func(query string, args []any, read func(rows) error) error {
		if query == "" {
			return nil
		}
		r, err := s.writerStmts.query(ctx, s.w, query, args)
		if err != nil {
			return err
		}
		defer r.Close()
		return read(r)
	}
	if err := run(nc.query, nc.args, func(r rows) error { return readClaimed(nc, r, fresh) }); err != nil {
		return err
	}
	return run(rq, rargs, func(r rows) error { return readRoutes(r, out) })
}

// stmtCache keeps prepared statements of generated SQL whose text
// recurs (a batch of a given shape), up to stmtCacheSize of them: parsing
// was a third of a small batch's cost on SQLite. Text beyond that runs
// unprepared.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

const stmtCacheSize = 64

func (c *stmtCache) query(ctx context.Context, db *sql.DB, query string, args []any) (*sql.Rows, error) {
	c.mu.Lock()
	st, ok := c.m[query]
	if !ok && len(c.m) < stmtCacheSize {
		var err error
		if st, err = db.PrepareContext(ctx, query); err != nil {
			c.mu.Unlock()
			return nil, err
		}
		if c.m == nil {
			c.m = make(map[string]*sql.Stmt)
		}
		c.m[query] = st
	}
	c.mu.Unlock()
	if st == nil {
		return db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// close closes the statements kept.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	for _, st := range c.m {
		err = errors.Join(err, st.Close())
	}
	c.m = nil
	return err
}

// claimRoutesBatch sends the two statements as one pgx batch: one
// network round trip (PostgreSQL).
func (s *Store) claimRoutesBatch(ctx context.Context, nc nonceClaim, rq string, rargs []any, fresh []bool, out []proxy.RouteClaimResult) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("driver connection is %T, not pgx", dc)
		}
		var b pgx.Batch
		if nc.query != "" {
			b.Queue(asyncCommitSQL)
			b.Queue(nc.query, nc.args...)
		}
		if rq != "" {
			b.Queue(rq, rargs...)
		}
		br := sc.Conn().SendBatch(ctx, &b)
		read := func(f func(rows) error) error {
			r, err := br.Query()
			if err != nil {
				return err
			}
			defer r.Close()
			return f(r)
		}
		if nc.query != "" {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
			if err := read(func(r rows) error { return readClaimed(nc, r, fresh) }); err != nil {
				br.Close()
				return err
			}
		}
		if rq != "" {
			if err := read(func(r rows) error { return readRoutes(r, out) }); err != nil {
				br.Close()
				return err
			}
		}
		return br.Close()
	})
}

// asyncCommitSQL lets the batch's commit return before its WAL record
// is flushed to disk (SET LOCAL synchronous_commit = off, for this
// transaction only).
const asyncCommitSQL = "SELECT set_config('synchronous_commit', 'off', true)"

var (
	_ proxy.RouteClaimer = (*Store)(nil)
	_ rows               = (*sql.Rows)(nil)
)
