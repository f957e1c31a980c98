package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

const convCols = `c.id, c.status, c.mode, c.a_number, c.a_proxy, c.a_label, c.b_number, c.b_proxy, c.b_label,
	c.metadata, c.created_at, c.expires_at, c.idle_timeout_ns, c.last_activity_at, c.ended_at, c.pin, c.record, c.idem_key`

type rowScanner interface{ Scan(dest ...any) error }

func scanConversation(r rowScanner) (proxy.Conversation, error) {
	var (
		c      proxy.Conversation
		status string
		mode   string
		meta   string
		idle   int64
	)
	a, b := &c.Participants[0], &c.Participants[1]
	err := r.Scan(&c.ID, &status, &mode, &a.Number, &a.ProxyNumber, &a.Label, &b.Number, &b.ProxyNumber, &b.Label,
		&meta, timeCol{&c.CreatedAt}, timeCol{&c.ExpiresAt}, &idle, timeCol{&c.LastActivityAt}, timeCol{&c.EndedAt}, &c.PIN, &c.Record, &c.Key)
	if err != nil {
		return c, err
	}
	c.Status, c.Mode, c.IdleTimeout = proxy.Status(status), proxy.Mode(mode), time.Duration(idle)
	if err := json.Unmarshal([]byte(meta), &c.Metadata); err != nil {
		return c, fmt.Errorf("metadata of %s: %w", c.ID, err)
	}
	return c, nil
}

// loadDeltas collects changes to numbers' active leg counters within a
// transaction, applied at its end in MSISDN order so that concurrent
// transactions lock number rows in the same order.
type loadDeltas map[string]int

const loadSQL = "UPDATE vp_numbers SET active_legs = active_legs + $2 WHERE msisdn = $1"

func (d loadDeltas) apply(ctx context.Context, s *Store, tx *sql.Tx) error {
	keys := make([]string, 0, len(d))
	for k, v := range d {
		if v != 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	st := tx.StmtContext(ctx, s.loadStmt)
	for _, k := range keys {
		if _, err := st.ExecContext(ctx, k, d[k]); err != nil {
			return fmt.Errorf("update load of %s: %w", k, err)
		}
	}
	return nil
}

// releaseLegs deactivates a conversation's active legs, released at at.
func (s *Store) releaseLegs(ctx context.Context, tx *sql.Tx, id string, at any, d loadDeltas) error {
	rows, err := tx.QueryContext(ctx, "UPDATE vp_legs SET active = FALSE, released_at = $2 WHERE conversation_id = $1 AND active RETURNING proxy_number", id, at)
	if err != nil {
		return fmt.Errorf("release legs of %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var num string
		if err := rows.Scan(&num); err != nil {
			return fmt.Errorf("release legs of %s: %w", id, err)
		}
		d[num]--
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("release legs of %s: %w", id, err)
	}
	// A PIN conversation holds no legs: its participants count on the
	// shared number until it ends.
	var shared string
	switch err := tx.QueryRowContext(ctx, "SELECT a_proxy FROM vp_conversations WHERE id = $1 AND pin <> ''", id).Scan(&shared); {
	case err == nil:
		d[shared] -= 2
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("release PIN conversation %s: %w", id, err)
	}
	return nil
}

// expireTx marks conversation id expired at its deadline and releases its
// legs, if it is still active and its deadline is not after now. It
// returns whether it did.
func (s *Store) expireTx(ctx context.Context, tx *sql.Tx, id string, now any, d loadDeltas) (bool, error) {
	var deadline any
	var t time.Time
	err := tx.QueryRowContext(ctx, `UPDATE vp_conversations SET status = 'expired', ended_at = deadline
		WHERE id = $1 AND status = 'active' AND deadline <= $2 RETURNING deadline`, id, now).Scan(timeCol{&t})
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("expire %s: %w", id, err)
	}
	if deadline, err = s.d.t(t); err != nil {
		return false, err
	}
	return true, s.releaseLegs(ctx, tx, id, deadline, d)
}

// releaseStaleSQL deactivates the active legs ($1, $2) and ($3, $4) whose
// conversations are no longer in use at $5 (deadline passed, not swept
// yet), released at their conversation's deadline. The conversations
// stay as they are until ExpireConversations ends them, so the sweep
// still reports them.
const releaseStaleSQL = `UPDATE vp_legs SET active = FALSE,
		released_at = (SELECT c.deadline FROM vp_conversations c WHERE c.id = vp_legs.conversation_id)
	WHERE active AND ((participant = $1 AND proxy_number = $2) OR (participant = $3 AND proxy_number = $4))
		AND EXISTS (SELECT 1 FROM vp_conversations c WHERE c.id = vp_legs.conversation_id AND c.deadline <= $5)
	RETURNING proxy_number`

const insertConvSQL = `INSERT INTO vp_conversations (id, status, mode, a_number, a_proxy, a_label,
	b_number, b_proxy, b_label, metadata, created_at, expires_at, idle_timeout_ns, last_activity_at, ended_at, deadline, pin, record, idem_key)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`

const insertLegSQL = `INSERT INTO vp_legs (conversation_id, side, participant, proxy_number, counterpart, created_at, active, released_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

// releaseStaleLegs runs releaseStaleSQL for the legs of a new conversation.
func (s *Store) releaseStaleLegs(ctx context.Context, tx *sql.Tx, legs []legRow, created any, d loadDeltas) error {
	rows, err := tx.StmtContext(ctx, s.releaseStaleStmt).QueryContext(ctx,
		legs[0].participant, legs[0].proxy, legs[1].participant, legs[1].proxy, created)
	if err != nil {
		return fmt.Errorf("release stale legs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var num string
		if err := rows.Scan(&num); err != nil {
			return fmt.Errorf("release stale legs: %w", err)
		}
		d[num]--
	}
	return rows.Err()
}

type legRow struct {
	side                            int
	participant, proxy, counterpart string
}

// CreateConversation inserts c and its two legs in one transaction. Legs
// held by conversations whose deadline has passed by c.CreatedAt are
// released first (those conversations become expired); a leg held by a
// conversation still in use makes the unique index refuse the insert, and
// CreateConversation returns proxy.ErrConflict.
func (s *Store) CreateConversation(ctx context.Context, c proxy.Conversation) error {
	if err := s.createConversation(ctx, c); err != nil {
		return fmt.Errorf("sqlstore: create conversation %q: %w", c.ID, err)
	}
	return nil
}

func (s *Store) createConversation(ctx context.Context, c proxy.Conversation) error {
	if c.Status == "" {
		c.Status = proxy.StatusActive
	}
	if err := checkConversation(c); err != nil {
		return err
	}
	a, b := c.Participants[0], c.Participants[1]
	meta := []byte("null") // no metadata reads back as nil, as with the memory store
	if len(c.Metadata) > 0 {
		var err error
		if meta, err = json.Marshal(c.Metadata); err != nil {
			return err
		}
	}
	var times [5]any
	var err error
	for i, t := range []time.Time{c.CreatedAt, c.ExpiresAt, c.LastActivityAt, c.EndedAt, c.Deadline()} {
		if times[i], err = s.d.t(t); err != nil {
			return err
		}
	}
	created, deadline := times[0], times[4]
	active := c.Status == proxy.StatusActive
	released := created // legs of a conversation stored already ended
	if !active {
		released = times[3]
	}
	legs := keyOrderLegs(a, b)
	return s.tx(ctx, func(tx *sql.Tx) error {
		d := loadDeltas{}
		if active {
			if err := s.freeForConversation(ctx, tx, c, legs, created, d); err != nil {
				return err
			}
		}
		_, err := tx.StmtContext(ctx, s.insertConvStmt).ExecContext(ctx,
			c.ID, string(c.Status), string(c.Mode), a.Number, a.ProxyNumber, a.Label, b.Number, b.ProxyNumber, b.Label,
			string(meta), times[0], times[1], int64(c.IdleTimeout), times[2], times[3], deadline, c.PIN, c.Record, c.Key)
		if isUnique(err) {
			return insertConflict(c)
		}
		if err != nil {
			return err
		}
		if c.PIN != "" {
			if active {
				d[a.ProxyNumber] += 2
			}
			return d.apply(ctx, s, tx)
		}
		if err := s.insertLegs(ctx, tx, c.ID, legs, created, active, released, d); err != nil {
			return err
		}
		return d.apply(ctx, s, tx)
	})
}

// checkConversation reports what makes c, with its status set, no
// conversation to store: no ID, an unknown status, an empty number, or
// a PIN conversation whose participants have different proxy numbers.
func checkConversation(c proxy.Conversation) error {
	if c.ID == "" {
		return errors.New("empty ID")
	}
	switch c.Status {
	case proxy.StatusActive, proxy.StatusClosed, proxy.StatusExpired:
	default:
		return fmt.Errorf("invalid status %q", c.Status)
	}
	a, b := c.Participants[0], c.Participants[1]
	if a.Number == "" || b.Number == "" || a.ProxyNumber == "" || b.ProxyNumber == "" {
		return errors.New("a participant number or proxy number is empty")
	}
	if c.PIN != "" && a.ProxyNumber != b.ProxyNumber {
		return errors.New("a PIN conversation's participants share one proxy number")
	}
	return nil
}

// keyOrderLegs returns the legs of a conversation between a and b in
// key order: two transactions wanting the same pair of legs then wait on
// each other instead of deadlocking.
func keyOrderLegs(a, b proxy.Participant) []legRow {
	legs := []legRow{
		{0, a.Number, a.ProxyNumber, b.Number},
		{1, b.Number, b.ProxyNumber, a.Number},
	}
	sort.Slice(legs, func(i, j int) bool {
		if legs[i].participant != legs[j].participant {
			return legs[i].participant < legs[j].participant
		}
		return legs[i].proxy < legs[j].proxy
	})
	return legs
}

// freeForConversation frees, for the active conversation c created at
// created, its key and its PIN or its legs (legs) from holders past
// their deadline.
func (s *Store) freeForConversation(ctx context.Context, tx *sql.Tx, c proxy.Conversation, legs []legRow, created any, d loadDeltas) error {
	if c.Key != "" {
		if err := s.freeKey(ctx, tx, c.Key, created, d); err != nil {
			return err
		}
	}
	if c.PIN != "" {
		return s.freePIN(ctx, tx, c.Participants[0].ProxyNumber, c.PIN, created, d)
	}
	return s.releaseStaleLegs(ctx, tx, legs, created, d)
}

// insertConflict is the error for a conversation c whose insert broke a
// unique constraint: what may be held, by the kind of conversation.
func insertConflict(c proxy.Conversation) error {
	switch {
	case c.PIN != "":
		return fmt.Errorf("ID exists, the key is held, or the PIN is in use on %s: %w", c.Participants[0].ProxyNumber, proxy.ErrConflict)
	case c.Key != "":
		return fmt.Errorf("ID exists, or the key is held by a conversation in use: %w", proxy.ErrConflict)
	}
	return fmt.Errorf("ID exists: %w", proxy.ErrConflict)
}

// insertLegs inserts the legs of the conversation id, counting the
// active ones' load in d.
func (s *Store) insertLegs(ctx context.Context, tx *sql.Tx, id string, legs []legRow, created any, active bool, released any, d loadDeltas) error {
	insertLeg := tx.StmtContext(ctx, s.insertLegStmt)
	for _, l := range legs {
		_, err := insertLeg.ExecContext(ctx,
			id, l.side, l.participant, l.proxy, l.counterpart, created, active, released)
		if isUnique(err) {
			return fmt.Errorf("leg (%s, %s) is held by a conversation in use: %w", l.participant, l.proxy, proxy.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("insert leg: %w", err)
		}
		if active {
			d[l.proxy]++
		}
	}
	return nil
}

// freePIN expires the PIN conversation holding (proxyNumber, pin) if its
// deadline passed by now (as the sweep would), so that its PIN can be
// taken; one still in use makes the insert that follows conflict.
func (s *Store) freePIN(ctx context.Context, tx *sql.Tx, proxyNumber, pin string, now any, d loadDeltas) error {
	var id string
	err := tx.QueryRowContext(ctx, `SELECT id FROM vp_conversations
		WHERE a_proxy = $1 AND pin = $2 AND status = 'active' AND deadline <= $3`, proxyNumber, pin, now).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("free PIN: %w", err)
	}
	_, err = s.expireTx(ctx, tx, id, now, d)
	return err
}

// freeKey expires the conversation holding key if its deadline passed by
// now (as the sweep would), so that its key can be taken; one still in
// use makes the insert that follows conflict.
func (s *Store) freeKey(ctx context.Context, tx *sql.Tx, key string, now any, d loadDeltas) error {
	var id string
	err := tx.QueryRowContext(ctx, `SELECT id FROM vp_conversations
		WHERE idem_key = $1 AND status = 'active' AND deadline <= $2`, key, now).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("free key: %w", err)
	}
	_, err = s.expireTx(ctx, tx, id, now, d)
	return err
}

// ConversationByKey returns the conversation in use at now whose key is
// key.
func (s *Store) ConversationByKey(ctx context.Context, key string, now time.Time) (proxy.Conversation, error) {
	n, err := s.d.t(now)
	if err != nil {
		return proxy.Conversation{}, fmt.Errorf("sqlstore: conversation with key %q: %w", key, err)
	}
	c, err := scanConversation(s.r.QueryRowContext(ctx, "SELECT "+convCols+` FROM vp_conversations c
		WHERE c.idem_key = $1 AND c.idem_key <> '' AND c.status = 'active' AND c.deadline > $2`, key, n))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("sqlstore: conversation with key %q: %w", key, proxy.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("sqlstore: conversation with key %q: %w", key, err)
	}
	return c, nil
}

// RoutePIN returns the PIN conversation in use at now on proxyNumber
// with pin.
func (s *Store) RoutePIN(ctx context.Context, proxyNumber, pin string, now time.Time) (proxy.Conversation, error) {
	n, err := s.d.t(now)
	if err != nil {
		return proxy.Conversation{}, fmt.Errorf("sqlstore: route PIN on %s: %w", proxyNumber, err)
	}
	c, err := scanConversation(s.r.QueryRowContext(ctx, "SELECT "+convCols+` FROM vp_conversations c
		WHERE c.a_proxy = $1 AND c.pin = $2 AND c.pin <> '' AND c.status = 'active' AND c.deadline > $3`, proxyNumber, pin, n))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("sqlstore: route PIN on %s: %w", proxyNumber, proxy.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("sqlstore: route PIN on %s: %w", proxyNumber, err)
	}
	return c, nil
}

// PINConversations lists the PIN conversations in use at now that
// participant reaches through proxyNumber, by ID.
func (s *Store) PINConversations(ctx context.Context, participant, proxyNumber string, now time.Time) ([]proxy.Conversation, error) {
	n, err := s.d.t(now)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: PIN conversations: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+convCols+` FROM vp_conversations c
		WHERE c.pin <> '' AND c.status = 'active' AND c.deadline > $3
			AND ((c.a_number = $1 AND c.a_proxy = $2) OR (c.b_number = $1 AND c.b_proxy = $2))
		ORDER BY c.id`, participant, proxyNumber, n)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: PIN conversations: %w", err)
	}
	defer rows.Close()
	out := []proxy.Conversation{}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: PIN conversations: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: PIN conversations: %w", err)
	}
	return out, nil
}

// Conversation returns the conversation with this ID.
func (s *Store) Conversation(ctx context.Context, id string) (proxy.Conversation, error) {
	c, err := scanConversation(s.r.QueryRowContext(ctx, "SELECT "+convCols+" FROM vp_conversations c WHERE c.id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("sqlstore: conversation %q: %w", id, proxy.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("sqlstore: conversation %q: %w", id, err)
	}
	return c, nil
}

// routeSQL finds the conversation in use through the unique active-leg
// index: one index probe and one primary key lookup.
const routeSQL = "SELECT " + convCols + ` FROM vp_legs l JOIN vp_conversations c ON c.id = l.conversation_id
	WHERE l.participant = $1 AND l.proxy_number = $2 AND l.active AND c.status = 'active' AND c.deadline > $3`

// Route returns the conversation in use at now with the leg (participant,
// proxyNumber).
func (s *Store) Route(ctx context.Context, participant, proxyNumber string, now time.Time) (proxy.Conversation, error) {
	n, err := s.d.t(now)
	if err != nil {
		return proxy.Conversation{}, fmt.Errorf("sqlstore: route %s -> %s: %w", participant, proxyNumber, err)
	}
	c, err := scanConversation(s.routeStmt.QueryRowContext(ctx, participant, proxyNumber, n))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("sqlstore: route %s -> %s: %w", participant, proxyNumber, proxy.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("sqlstore: route %s -> %s: %w", participant, proxyNumber, err)
	}
	return c, nil
}

// ListConversations returns one page of conversations matching f in ID
// order, and the cursor of the next page.
func (s *Store) ListConversations(ctx context.Context, f proxy.ListFilter) ([]proxy.Conversation, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	now, err := s.d.t(f.Now)
	if err != nil {
		return nil, "", fmt.Errorf("sqlstore: list conversations: %w", err)
	}
	var q strings.Builder
	q.WriteString("SELECT " + convCols + " FROM vp_conversations c WHERE c.id > $1")
	args := []any{f.After}
	switch f.Status {
	case "":
	case proxy.StatusActive:
		args = append(args, now)
		q.WriteString(" AND c.status = 'active' AND c.deadline > $2")
	case proxy.StatusClosed:
		q.WriteString(" AND c.status = 'closed'")
	case proxy.StatusExpired:
		args = append(args, now)
		q.WriteString(" AND (c.status = 'expired' OR (c.status = 'active' AND c.deadline <= $2))")
	default:
		return nil, "", fmt.Errorf("sqlstore: list conversations: invalid status %q", f.Status)
	}
	if f.Participant != "" {
		args = append(args, f.Participant)
		fmt.Fprintf(&q, " AND (c.id IN (SELECT conversation_id FROM vp_legs WHERE participant = $%[1]d) OR (c.pin <> '' AND (c.a_number = $%[1]d OR c.b_number = $%[1]d)))", len(args))
	}
	args = append(args, limit+1)
	fmt.Fprintf(&q, " ORDER BY c.id LIMIT $%d", len(args))
	rows, err := s.r.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlstore: list conversations: %w", err)
	}
	defer rows.Close()
	convs := []proxy.Conversation{}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, "", fmt.Errorf("sqlstore: list conversations: %w", err)
		}
		convs = append(convs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlstore: list conversations: %w", err)
	}
	next := ""
	if len(convs) > limit {
		convs = convs[:limit]
		next = convs[limit-1].ID
	}
	return convs, next, nil
}

// EndConversation ends an active conversation with status at time at and
// releases its legs; an ended one is returned unchanged. An active
// conversation whose deadline is not after at is recorded as expired at
// its deadline, as the sweep would have.
func (s *Store) EndConversation(ctx context.Context, id string, status proxy.Status, at time.Time) (proxy.Conversation, error) {
	var c proxy.Conversation
	if status != proxy.StatusClosed && status != proxy.StatusExpired {
		return c, fmt.Errorf("sqlstore: end conversation %q: invalid status %q", id, status)
	}
	t, err := s.d.t(at)
	if err != nil {
		return c, fmt.Errorf("sqlstore: end conversation %q: %w", id, err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// A conversation whose deadline passed before at ended then:
		// record it as the sweep would (expired at its deadline).
		var ended time.Time
		err := tx.QueryRowContext(ctx, `UPDATE vp_conversations SET
				status = CASE WHEN deadline <= $3 THEN 'expired' ELSE $2 END,
				ended_at = CASE WHEN deadline <= $3 THEN deadline ELSE $3 END
			WHERE id = $1 AND status = 'active' RETURNING ended_at`, id, string(status), t).Scan(timeCol{&ended})
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			endedAt, err := s.d.t(ended)
			if err != nil {
				return err
			}
			d := loadDeltas{}
			if err := s.releaseLegs(ctx, tx, id, endedAt, d); err != nil {
				return err
			}
			if err := d.apply(ctx, s, tx); err != nil {
				return err
			}
		}
		c, err = scanConversation(tx.QueryRowContext(ctx, "SELECT "+convCols+" FROM vp_conversations c WHERE c.id = $1", id))
		if errors.Is(err, sql.ErrNoRows) {
			return proxy.ErrNotFound
		}
		return err
	})
	if err != nil {
		return proxy.Conversation{}, fmt.Errorf("sqlstore: end conversation %q: %w", id, err)
	}
	return c, nil
}

// Touch records activity at at, extending an idle deadline. Nothing
// changes for a conversation that has ended, or that is not in use at at
// (it stopped routing at its deadline; activity cannot revive it).
func (s *Store) Touch(ctx context.Context, id string, at time.Time) error {
	var (
		c      proxy.Conversation
		status string
		idle   int64
	)
	err := s.r.QueryRowContext(ctx, "SELECT status, expires_at, idle_timeout_ns, last_activity_at FROM vp_conversations WHERE id = $1", id).
		Scan(&status, timeCol{&c.ExpiresAt}, &idle, timeCol{&c.LastActivityAt})
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlstore: touch %q: %w", id, proxy.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: touch %q: %w", id, err)
	}
	if status != string(proxy.StatusActive) || !at.After(c.LastActivityAt) {
		return nil
	}
	c.IdleTimeout, c.LastActivityAt = time.Duration(idle), at
	atv, err := s.d.t(at)
	if err != nil {
		return fmt.Errorf("sqlstore: touch %q: %w", id, err)
	}
	deadline, err := s.d.t(c.Deadline())
	if err != nil {
		return fmt.Errorf("sqlstore: touch %q: %w", id, err)
	}
	// The conditions make concurrent Touches keep the latest activity, and
	// leave alone a conversation that stopped being in use by at or lost a
	// leg to a newer conversation.
	exp, err := s.d.t(c.ExpiresAt)
	if err != nil {
		return fmt.Errorf("sqlstore: touch %q: %w", id, err)
	}
	// The deadline was computed from the expiry and idle timeout read
	// above: an UpdateConversation that changed them since wins.
	if _, err := s.w.ExecContext(ctx, `UPDATE vp_conversations SET last_activity_at = $2, deadline = $3
		WHERE id = $1 AND status = 'active' AND last_activity_at < $2 AND deadline > $2
			AND expires_at = $4 AND idle_timeout_ns = $5
			AND NOT EXISTS (SELECT 1 FROM vp_legs WHERE conversation_id = $1 AND NOT active)`, id, atv, deadline, exp, idle); err != nil {
		return fmt.Errorf("sqlstore: touch %q: %w", id, err)
	}
	return nil
}

// lockConversation reads conversation id in tx, locking its row until
// tx ends on PostgreSQL (SQLite has one writer: tx holds the database).
func (s *Store) lockConversation(ctx context.Context, tx *sql.Tx, id string) (proxy.Conversation, error) {
	q := "SELECT " + convCols + " FROM vp_conversations c WHERE c.id = $1"
	if s.d.name == "postgres" {
		q += " FOR UPDATE"
	}
	c, err := scanConversation(tx.QueryRowContext(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, proxy.ErrNotFound
	}
	return c, err
}

// UpdateConversation applies u to a conversation in use at now.
func (s *Store) UpdateConversation(ctx context.Context, id string, u proxy.ConversationUpdate, now time.Time) (proxy.Conversation, error) {
	var c proxy.Conversation
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if c, err = s.lockConversation(ctx, tx, id); err != nil {
			return err
		}
		if !c.InUse(now) {
			return fmt.Errorf("not in use: %w", proxy.ErrConflict)
		}
		if u.ExpiresAt != nil {
			c.ExpiresAt = *u.ExpiresAt
		}
		if u.IdleTimeout != nil {
			c.IdleTimeout = *u.IdleTimeout
		}
		if u.Mode != nil {
			c.Mode = *u.Mode
		}
		if u.Labels != nil {
			c.Participants[0].Label, c.Participants[1].Label = u.Labels[0], u.Labels[1]
		}
		if u.Metadata != nil {
			c.Metadata = u.Metadata
			if len(c.Metadata) == 0 {
				c.Metadata = nil
			}
		}
		if u.Record != nil {
			c.Record = *u.Record
		}
		meta := []byte("null")
		if len(c.Metadata) > 0 {
			if meta, err = json.Marshal(c.Metadata); err != nil {
				return err
			}
		}
		exp, err := s.d.t(c.ExpiresAt)
		if err != nil {
			return err
		}
		deadline, err := s.d.t(c.Deadline())
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE vp_conversations SET expires_at = $2, idle_timeout_ns = $3, deadline = $4,
			mode = $5, a_label = $6, b_label = $7, metadata = $8, record = $9 WHERE id = $1`,
			id, exp, int64(c.IdleTimeout), deadline, string(c.Mode), c.Participants[0].Label, c.Participants[1].Label, string(meta), c.Record)
		return err
	})
	if err != nil {
		return proxy.Conversation{}, fmt.Errorf("sqlstore: update conversation %q: %w", id, err)
	}
	return c, nil
}

// ReopenConversation makes an ended conversation active again, if what
// it held is free.
func (s *Store) ReopenConversation(ctx context.Context, id string, now, expiresAt time.Time) (proxy.Conversation, error) {
	var c proxy.Conversation
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if c, err = s.lockConversation(ctx, tx, id); err != nil {
			return err
		}
		if c.InUse(now) {
			return nil
		}
		return s.reopenTx(ctx, tx, id, &c, now, expiresAt)
	})
	if err != nil {
		return proxy.Conversation{}, fmt.Errorf("sqlstore: reopen conversation %q: %w", id, err)
	}
	return c, nil
}

// reopenTx makes the ended (or expired, not swept yet) conversation c,
// locked in tx, active again until expiresAt: its key and PIN, then its
// legs, are claimed again, and c is updated to match.
func (s *Store) reopenTx(ctx context.Context, tx *sql.Tx, id string, c *proxy.Conversation, now, expiresAt time.Time) error {
	nowv, err := s.d.t(now)
	if err != nil {
		return err
	}
	d := loadDeltas{}
	if c.Status == proxy.StatusActive { // past its deadline, not swept yet
		if _, err := s.expireTx(ctx, tx, id, nowv, d); err != nil {
			return err
		}
	}
	if err := s.reclaimKeyAndPIN(ctx, tx, id, *c, nowv, d); err != nil {
		return err
	}
	if err := s.reclaimLegs(ctx, tx, id, *c, nowv, d); err != nil {
		return err
	}
	c.Status, c.EndedAt, c.LastActivityAt, c.ExpiresAt = proxy.StatusActive, time.Time{}, now, expiresAt
	var ts [3]any
	for i, t := range [...]time.Time{time.Time{}, expiresAt, c.Deadline()} {
		if ts[i], err = s.d.t(t); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE vp_conversations SET status = 'active', ended_at = $2, last_activity_at = $3,
		expires_at = $4, deadline = $5 WHERE id = $1`, id, ts[0], nowv, ts[1], ts[2])
	if isUnique(err) {
		return reopenTaken(id, *c, proxy.SideA, "key", "")
	}
	if err != nil {
		return err
	}
	return d.apply(ctx, s, tx)
}

// reopenTaken is the error for reopening conversation id (c) when what
// ("key", "pin", "leg") of its side is held by the conversation holder
// ("" when unknown).
func reopenTaken(id string, c proxy.Conversation, side proxy.Side, what, holder string) error {
	p := c.Participants[side]
	return &proxy.LegTakenError{ConversationID: id, Side: side, Participant: p.Number, ProxyNumber: p.ProxyNumber, What: what, HeldBy: holder}
}

// holderOf runs the query q, which selects the ID of the conversation
// that holds something, and returns it, "" when none does.
func holderOf(ctx context.Context, tx *sql.Tx, q string, args ...any) (string, error) {
	var h string
	err := tx.QueryRowContext(ctx, q, args...).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return h, err
}

// reclaimKeyAndPIN frees c's idempotency key and PIN from expired
// holders and fails with a LegTakenError when an active conversation
// other than id still holds either.
func (s *Store) reclaimKeyAndPIN(ctx context.Context, tx *sql.Tx, id string, c proxy.Conversation, nowv any, d loadDeltas) error {
	a := c.Participants[0]
	if c.Key != "" {
		if err := s.freeKey(ctx, tx, c.Key, nowv, d); err != nil {
			return err
		}
		h, err := holderOf(ctx, tx, "SELECT id FROM vp_conversations WHERE idem_key = $1 AND status = 'active' AND id <> $2", c.Key, id)
		if err != nil {
			return err
		}
		if h != "" {
			return reopenTaken(id, c, proxy.SideA, "key", h)
		}
	}
	if c.PIN != "" {
		if err := s.freePIN(ctx, tx, a.ProxyNumber, c.PIN, nowv, d); err != nil {
			return err
		}
		h, err := holderOf(ctx, tx, "SELECT id FROM vp_conversations WHERE a_proxy = $1 AND pin = $2 AND status = 'active' AND id <> $3", a.ProxyNumber, c.PIN, id)
		if err != nil {
			return err
		}
		if h != "" {
			return reopenTaken(id, c, proxy.SideA, "pin", h)
		}
	}
	return nil
}

// reclaimLegs releases stale holders of c's legs, fails with a
// LegTakenError when another conversation still holds one (a direct leg
// and a PIN conversation of one participant never share a number), and
// makes c's legs active again, counting their load in d.
func (s *Store) reclaimLegs(ctx context.Context, tx *sql.Tx, id string, c proxy.Conversation, nowv any, d loadDeltas) error {
	a, b := c.Participants[0], c.Participants[1]
	legs := []legRow{{0, a.Number, a.ProxyNumber, b.Number}, {1, b.Number, b.ProxyNumber, a.Number}}
	if err := s.releaseStaleLegs(ctx, tx, legs, nowv, d); err != nil {
		return err
	}
	for _, l := range legs {
		h, err := holderOf(ctx, tx, `SELECT conversation_id FROM vp_legs WHERE active AND participant = $1 AND proxy_number = $2 AND conversation_id <> $3`,
			l.participant, l.proxy, id)
		if err == nil && h == "" && c.PIN == "" {
			h, err = holderOf(ctx, tx, `SELECT id FROM vp_conversations WHERE pin <> '' AND status = 'active' AND deadline > $3
				AND a_proxy = $2 AND (a_number = $1 OR b_number = $1)`, l.participant, l.proxy, nowv)
		}
		if err != nil {
			return err
		}
		if h != "" {
			return reopenTaken(id, c, proxy.Side(l.side), "leg", h)
		}
	}
	if c.PIN != "" {
		d[a.ProxyNumber] += 2
		return nil
	}
	if _, err := tx.ExecContext(ctx, "UPDATE vp_legs SET active = TRUE WHERE conversation_id = $1", id); err != nil {
		if isUnique(err) {
			return reopenTaken(id, c, proxy.SideA, "leg", "")
		}
		return err
	}
	d[a.ProxyNumber]++
	d[b.ProxyNumber]++
	return nil
}

// ExpireConversations ends up to limit active conversations whose
// deadline is not after now, and returns their IDs. It also forgets
// nonces that expired by now.
func (s *Store) ExpireConversations(ctx context.Context, now time.Time, limit int) ([]string, error) {
	n, err := s.d.t(now)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: expire conversations: %w", err)
	}
	lim := s.d.noLimit
	if limit > 0 {
		lim = limit
	}
	var ids []string
	err = s.tx(ctx, func(tx *sql.Tx) error {
		ids = ids[:0]
		rows, err := tx.QueryContext(ctx, `SELECT id FROM vp_conversations
			WHERE status = 'active' AND deadline <= $1 ORDER BY deadline, id LIMIT $2`, n, lim)
		if err != nil {
			return err
		}
		var due []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			due = append(due, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		d := loadDeltas{}
		for _, id := range due {
			ok, err := s.expireTx(ctx, tx, id, n, d)
			if err != nil {
				return err
			}
			if ok {
				ids = append(ids, id)
			}
		}
		if err := d.apply(ctx, s, tx); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM vp_nonces WHERE expires_at <= $1", n)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: expire conversations: %w", err)
	}
	if ids == nil {
		ids = []string{}
	}
	return ids, nil
}
