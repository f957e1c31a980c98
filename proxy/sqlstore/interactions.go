package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// AddInteraction appends an interaction (its Events are ignored).
// ErrConflict if its ID, or its Kind and ExternalID, exist; ErrNotFound if
// its conversation does not exist.
func (s *Store) AddInteraction(ctx context.Context, in proxy.Interaction) error {
	if in.ID == "" {
		return fmt.Errorf("sqlstore: add interaction: empty ID")
	}
	return s.insertInteraction(ctx, s.w, in)
}

// insertInteraction inserts in, with AddInteraction's errors.
func (s *Store) insertInteraction(ctx context.Context, q execer, in proxy.Interaction) error {
	created, err := s.d.t(in.CreatedAt)
	if err != nil {
		return fmt.Errorf("sqlstore: add interaction %q: %w", in.ID, err)
	}
	_, err = q.ExecContext(ctx, `INSERT INTO vp_interactions (id, conversation_id, kind, external_id, from_number, to_number, body, created_at, region)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		in.ID, in.ConversationID, string(in.Kind), in.ExternalID, in.From, in.To, in.Text, created, in.Region)
	switch {
	case isUnique(err):
		return fmt.Errorf("sqlstore: add interaction %q (%s %q): %w", in.ID, in.Kind, in.ExternalID, proxy.ErrConflict)
	case isForeignKey(err):
		return fmt.Errorf("sqlstore: add interaction %q: conversation %q: %w", in.ID, in.ConversationID, proxy.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlstore: add interaction %q: %w", in.ID, err)
	}
	return nil
}

const interactionCols = "i.id, i.conversation_id, i.kind, i.external_id, i.from_number, i.to_number, i.body, i.created_at, i.region"

func scanInteraction(r rowScanner) (proxy.Interaction, error) {
	var in proxy.Interaction
	var kind string
	err := r.Scan(&in.ID, &in.ConversationID, &kind, &in.ExternalID, &in.From, &in.To, &in.Text, timeCol{&in.CreatedAt}, &in.Region)
	in.Kind = proxy.InteractionKind(kind)
	in.Events = []proxy.InteractionEvent{}
	return in, err
}

// eventsSQL lists events of the interactions selected by the WHERE clause
// appended to it, ordered by time then insertion.
const eventsSQL = `SELECT e.interaction_id, e.leg, e.status, e.at, e.duration, e.price, e.detail,
	e.direction, e.rate, e.network, e.disconnected_by, e.start_time, e.end_time
	FROM vp_interaction_events e JOIN vp_interactions i ON i.id = e.interaction_id WHERE `

// addEvents reads events (eventsSQL + where) into the interactions by ID.
func (s *Store) addEvents(ctx context.Context, q *sql.DB, where string, byID map[string]*proxy.Interaction, args ...any) error {
	rows, err := q.QueryContext(ctx, eventsSQL+where+" ORDER BY e.at, e.seq", args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var ev proxy.InteractionEvent
		if err := rows.Scan(&id, &ev.Leg, &ev.Status, timeCol{&ev.At}, &ev.Duration, &ev.Price, &ev.Detail,
			&ev.Direction, &ev.Rate, &ev.Network, &ev.DisconnectedBy, timeCol{&ev.StartTime}, timeCol{&ev.EndTime}); err != nil {
			return err
		}
		if in := byID[id]; in != nil {
			in.Events = append(in.Events, ev)
		}
	}
	return rows.Err()
}

// InteractionByExternalID returns the interaction with this kind and
// external ID, with its events.
func (s *Store) InteractionByExternalID(ctx context.Context, kind proxy.InteractionKind, externalID string) (proxy.Interaction, error) {
	if externalID == "" {
		return proxy.Interaction{}, fmt.Errorf("sqlstore: interaction %s with empty external ID: %w", kind, proxy.ErrNotFound)
	}
	in, err := scanInteraction(s.r.QueryRowContext(ctx, "SELECT "+interactionCols+" FROM vp_interactions i WHERE i.kind = $1 AND i.external_id = $2", string(kind), externalID))
	if errors.Is(err, sql.ErrNoRows) {
		return proxy.Interaction{}, fmt.Errorf("sqlstore: interaction %s %q: %w", kind, externalID, proxy.ErrNotFound)
	}
	if err == nil {
		err = s.addEvents(ctx, s.r, "e.interaction_id = $1", map[string]*proxy.Interaction{in.ID: &in}, in.ID)
	}
	if err != nil {
		return proxy.Interaction{}, fmt.Errorf("sqlstore: interaction %s %q: %w", kind, externalID, err)
	}
	return in, nil
}

// Interaction returns the interaction with this ID, with its events.
func (s *Store) Interaction(ctx context.Context, id string) (proxy.Interaction, error) {
	in, err := scanInteraction(s.r.QueryRowContext(ctx, "SELECT "+interactionCols+" FROM vp_interactions i WHERE i.id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return proxy.Interaction{}, fmt.Errorf("sqlstore: interaction %q: %w", id, proxy.ErrNotFound)
	}
	if err == nil {
		err = s.addEvents(ctx, s.r, "e.interaction_id = $1", map[string]*proxy.Interaction{in.ID: &in}, in.ID)
	}
	if err != nil {
		return proxy.Interaction{}, fmt.Errorf("sqlstore: interaction %q: %w", id, err)
	}
	return in, nil
}

// AddInteractionEvent appends ev to the interaction's history, ignoring a
// repeat of an event with the same (Leg, Status).
func (s *Store) AddInteractionEvent(ctx context.Context, interactionID string, ev proxy.InteractionEvent) error {
	err := s.insertEvent(ctx, s.w, interactionID, ev)
	if isForeignKey(err) {
		return fmt.Errorf("sqlstore: add event to interaction %q: %w", interactionID, proxy.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: add event to interaction %q: %w", interactionID, err)
	}
	return nil
}

// execer is what both *sql.DB and *sql.Tx offer.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// insertEvent inserts ev unless an event of the same (leg, status) is
// there.
func (s *Store) insertEvent(ctx context.Context, q execer, interactionID string, ev proxy.InteractionEvent) error {
	var ts [3]any
	for i, t := range [3]time.Time{ev.At, ev.StartTime, ev.EndTime} {
		v, err := s.d.t(t)
		if err != nil {
			return err
		}
		ts[i] = v
	}
	_, err := q.ExecContext(ctx, `INSERT INTO vp_interaction_events
		(interaction_id, leg, status, at, duration, price, detail, direction, rate, network, disconnected_by, start_time, end_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (interaction_id, leg, status) DO NOTHING`,
		interactionID, ev.Leg, ev.Status, ts[0], ev.Duration, ev.Price, ev.Detail,
		ev.Direction, ev.Rate, ev.Network, ev.DisconnectedBy, ts[1], ts[2])
	return err
}

// Interactions returns a conversation's interactions with their events.
func (s *Store) Interactions(ctx context.Context, conversationID string) ([]proxy.Interaction, error) {
	ins, err := s.interactions(ctx, conversationID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: interactions of %q: %w", conversationID, err)
	}
	return ins, nil
}

func (s *Store) interactions(ctx context.Context, conversationID string) ([]proxy.Interaction, error) {
	var one int
	err := s.r.QueryRowContext(ctx, "SELECT 1 FROM vp_conversations WHERE id = $1", conversationID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, proxy.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+interactionCols+" FROM vp_interactions i WHERE i.conversation_id = $1 ORDER BY i.created_at, i.id", conversationID)
	if err != nil {
		return nil, err
	}
	ins := []proxy.Interaction{}
	for rows.Next() {
		in, err := scanInteraction(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		ins = append(ins, in)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return ins, nil
	}
	byID := make(map[string]*proxy.Interaction, len(ins))
	for i := range ins {
		byID[ins[i].ID] = &ins[i]
	}
	if err := s.addEvents(ctx, s.r, "i.conversation_id = $1", byID, conversationID); err != nil {
		return nil, err
	}
	return ins, nil
}

// OpenCalls lists the call interactions q selects that have an open leg
// (an event of proxy.LiveLegStatuses and none of proxy.EndedLegStatuses
// on the same leg), by ID, with their events. The calls are found through
// vp_interactions_calls (schema version 9), by CreatedAt within q's
// window; each one's events through the (interaction, leg, status) key.
func (s *Store) OpenCalls(ctx context.Context, q proxy.OpenCallQuery) ([]proxy.Interaction, error) {
	ins, err := s.openCalls(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open calls: %w", err)
	}
	return ins, nil
}

func (s *Store) openCalls(ctx context.Context, q proxy.OpenCallQuery) ([]proxy.Interaction, error) {
	var ts [3]any
	for i, t := range [3]time.Time{q.CreatedAfter, q.CreatedBefore, q.QuietBefore} {
		v, err := s.d.t(t)
		if err != nil {
			return nil, err
		}
		ts[i] = v
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	args := []any{string(proxy.KindCall), ts[0], ts[1], ts[2], q.After, limit}
	in := func(sts []proxy.EventStatus) string {
		ph := make([]string, len(sts))
		for i, st := range sts {
			args = append(args, string(st))
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		return strings.Join(ph, ", ")
	}
	live, ended := in(proxy.LiveLegStatuses()), in(proxy.EndedLegStatuses())
	rows, err := s.r.QueryContext(ctx, "SELECT "+interactionCols+` FROM vp_interactions i
		WHERE i.kind = $1 AND i.created_at > $2 AND i.created_at < $3 AND i.id > $5
		AND EXISTS (SELECT 1 FROM vp_interaction_events e WHERE e.interaction_id = i.id AND e.leg <> '' AND e.status IN (`+live+`)
			AND NOT EXISTS (SELECT 1 FROM vp_interaction_events f
				WHERE f.interaction_id = i.id AND f.leg = e.leg AND f.status IN (`+ended+`)))
		AND NOT EXISTS (SELECT 1 FROM vp_interaction_events g WHERE g.interaction_id = i.id AND g.at >= $4)
		ORDER BY i.id LIMIT $6`, args...)
	if err != nil {
		return nil, err
	}
	ins := []proxy.Interaction{}
	for rows.Next() {
		in, err := scanInteraction(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		ins = append(ins, in)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ins) == 0 {
		return ins, err
	}
	byID := make(map[string]*proxy.Interaction, len(ins))
	ids := make([]any, len(ins))
	ph := make([]string, len(ins))
	for i := range ins {
		byID[ins[i].ID] = &ins[i]
		ids[i] = ins[i].ID
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	if err := s.addEvents(ctx, s.r, "e.interaction_id IN ("+strings.Join(ph, ", ")+")", byID, ids...); err != nil {
		return nil, err
	}
	return ins, nil
}

// AddMessagePart drops the parts of p's message received before since,
// stores p unless its part number is there, and returns the parts ordered
// by Part, deleting them when they complete the message. It all happens in
// one transaction, and writers of the same message are serialised
// (PostgreSQL: an advisory lock on the message; SQLite: one writer at a
// time), so a complete set is handed out once.
func (s *Store) AddMessagePart(ctx context.Context, p proxy.MessagePart, since time.Time) ([]proxy.MessagePart, error) {
	received, err := s.d.t(p.ReceivedAt)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: add message part: %w", err)
	}
	stale, err := s.d.t(since)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: add message part: %w", err)
	}
	var parts []proxy.MessagePart
	err = s.tx(ctx, func(tx *sql.Tx) error {
		parts = []proxy.MessagePart{}
		if s.d.lockMessage != "" {
			if _, err := tx.ExecContext(ctx, s.d.lockMessage, "voiceproxy.sms:"+p.From+"|"+p.To+"|"+p.Ref); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM vp_message_parts
			WHERE from_number = $1 AND to_number = $2 AND ref = $3 AND received_at < $4`, p.From, p.To, p.Ref, stale); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO vp_message_parts (from_number, to_number, ref, part, total, message_id, body, received_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (from_number, to_number, ref, part) DO NOTHING`,
			p.From, p.To, p.Ref, p.Part, p.Total, p.MessageID, p.Text, received); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT from_number, to_number, ref, part, total, message_id, body, received_at
			FROM vp_message_parts WHERE from_number = $1 AND to_number = $2 AND ref = $3 ORDER BY part`, p.From, p.To, p.Ref)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m proxy.MessagePart
			if err := rows.Scan(&m.From, &m.To, &m.Ref, &m.Part, &m.Total, &m.MessageID, &m.Text, timeCol{&m.ReceivedAt}); err != nil {
				return err
			}
			parts = append(parts, m)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := rows.Close(); err != nil || len(parts) < p.Total {
			return err
		}
		// Complete: consume the set so it is handed out once.
		_, err = tx.ExecContext(ctx, `DELETE FROM vp_message_parts
			WHERE from_number = $1 AND to_number = $2 AND ref = $3`, p.From, p.To, p.Ref)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: add message part %s/%s/%s#%d: %w", p.From, p.To, p.Ref, p.Part, err)
	}
	return parts, nil
}

// Claim claims key until expires. ErrConflict if a claim of key
// expires after now; an expired claim is replaced. ExpireConversations
// deletes claims that expired by its now.
func (s *Store) Claim(ctx context.Context, key string, now, expires time.Time) error {
	n, err := s.d.t(now)
	if err != nil {
		return fmt.Errorf("sqlstore: claim nonce: %w", err)
	}
	exp, err := s.d.t(expires)
	if err != nil {
		return fmt.Errorf("sqlstore: claim nonce: %w", err)
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO vp_nonces (key, expires_at) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
		WHERE vp_nonces.expires_at <= $3`, key, exp, n)
	if err != nil {
		return fmt.Errorf("sqlstore: claim nonce: %w", err)
	}
	k, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: claim nonce: %w", err)
	}
	if k == 0 {
		return fmt.Errorf("sqlstore: nonce %q already claimed: %w", key, proxy.ErrConflict)
	}
	return nil
}

// ReleaseClaim deletes the claim of key, if any.
func (s *Store) ReleaseClaim(ctx context.Context, key string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM vp_nonces WHERE key = $1`, key); err != nil {
		return fmt.Errorf("sqlstore: release nonce: %w", err)
	}
	return nil
}

// AddInteractions stores many interactions in one statement, skipping
// those whose ID, or kind and external ID, exist, and returns the ones it
// stored (proxy.BatchInteractionAdder). One whose conversation does not
// exist fails the whole batch (the Service then stores them one by one).
func (s *Store) AddInteractions(ctx context.Context, ins []proxy.Interaction) ([]proxy.Interaction, error) {
	if len(ins) == 0 {
		return nil, nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO vp_interactions (id, conversation_id, kind, external_id, from_number, to_number, body, created_at, region) VALUES `)
	args := make([]any, 0, 9*len(ins))
	for i, in := range ins {
		if in.ID == "" {
			return nil, fmt.Errorf("sqlstore: add interactions: empty ID")
		}
		created, err := s.d.t(in.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: add interaction %q: %w", in.ID, err)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		n := len(args)
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9)
		args = append(args, in.ID, in.ConversationID, string(in.Kind), in.ExternalID, in.From, in.To, in.Text, created, in.Region)
	}
	b.WriteString(" ON CONFLICT DO NOTHING RETURNING id")
	rows, err := s.w.QueryContext(ctx, b.String(), args...)
	if err != nil {
		if isForeignKey(err) {
			return nil, fmt.Errorf("sqlstore: add interactions: a conversation does not exist: %w", proxy.ErrNotFound)
		}
		return nil, fmt.Errorf("sqlstore: add interactions: %w", err)
	}
	defer rows.Close()
	stored := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlstore: add interactions: %w", err)
		}
		stored[id] = true
	}
	if err := rows.Err(); err != nil {
		if isForeignKey(err) {
			return nil, fmt.Errorf("sqlstore: add interactions: a conversation does not exist: %w", proxy.ErrNotFound)
		}
		return nil, fmt.Errorf("sqlstore: add interactions: %w", err)
	}
	out := make([]proxy.Interaction, 0, len(stored))
	for _, in := range ins {
		if stored[in.ID] {
			in.Events = []proxy.InteractionEvent{}
			out = append(out, in)
		}
	}
	return out, nil
}

var _ proxy.BatchInteractionAdder = (*Store)(nil)

// Claims claims many keys in one statement (proxy.BatchClaimer):
// fresh[i] reports whether claims[i] was recorded, as Claim would
// have. A key repeated in the batch is fresh for its first claim only.
func (s *Store) Claims(ctx context.Context, claims []proxy.ClaimRequest) ([]bool, error) {
	fresh := make([]bool, len(claims))
	if len(claims) == 0 {
		return fresh, nil
	}
	nc, err := s.nonceClaims(claims)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim nonces: %w", err)
	}
	rows, err := s.w.QueryContext(ctx, nc.query, nc.args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim nonces: %w", err)
	}
	defer rows.Close()
	if err := readClaimed(nc, rows, fresh); err != nil {
		return nil, fmt.Errorf("sqlstore: claim nonces: %w", err)
	}
	return fresh, nil
}

// nonceClaim is the one INSERT that claims a batch of nonces, returning
// the keys it claimed.
type nonceClaim struct {
	query string
	args  []any
	first map[string]int // key -> index of its first claim in the batch
}

// claimed marks the claim of key, returned by the INSERT, fresh.
func (nc nonceClaim) claimed(key string, fresh []bool) {
	if i, ok := nc.first[key]; ok {
		fresh[i] = true
	}
}

// nonceClaims builds the INSERT claiming claims; those with an empty Key
// are left out. It is "" when none is left.
func (s *Store) nonceClaims(claims []proxy.ClaimRequest) (nonceClaim, error) {
	nc := nonceClaim{first: make(map[string]int, len(claims))}
	var b strings.Builder
	b.WriteString(`INSERT INTO vp_nonces (key, expires_at) VALUES `)
	args := make([]any, 0, 2*len(claims)+1)
	// All claims of a batch are judged at the earliest now among them:
	// a claim that is live for any of them counts as live, so grouping
	// never lets a replay through sooner than Claim would.
	var now time.Time
	for _, c := range claims {
		if c.Key != "" && (now.IsZero() || c.Now.Before(now)) {
			now = c.Now
		}
	}
	if now.IsZero() {
		return nc, nil
	}
	n, err := s.d.t(now)
	if err != nil {
		return nc, err
	}
	args = append(args, n)
	for i, c := range claims {
		if _, dup := nc.first[c.Key]; dup || c.Key == "" {
			continue
		}
		nc.first[c.Key] = i
		exp, err := s.d.t(c.Expires)
		if err != nil {
			return nc, err
		}
		if len(args) > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "($%d, $%d)", len(args)+1, len(args)+2)
		args = append(args, c.Key, exp)
	}
	b.WriteString(` ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
		WHERE vp_nonces.expires_at <= $1 RETURNING key`)
	nc.query, nc.args = b.String(), args
	return nc, nil
}

var _ proxy.BatchClaimer = (*Store)(nil)

// Pseudonymize replaces the numbers of conversations that ended before
// q.EndedBefore, one transaction per conversation.
func (s *Store) Pseudonymize(ctx context.Context, q proxy.PseudonymQuery) ([]string, error) {
	before, err := s.d.t(q.EndedBefore)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: pseudonymize: %w", err)
	}
	todo, err := s.pseudonymTodo(ctx, before, q)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: pseudonymize: %w", err)
	}
	erase := q.Participant != ""
	ids := make([]string, 0, len(todo))
	for _, c := range todo {
		if err := s.pseudonymizeConv(ctx, c, q.Pseudonym(c.a), q.Pseudonym(c.b), erase); err != nil {
			return ids, fmt.Errorf("sqlstore: pseudonymize %s: %w", c.id, err)
		}
		ids = append(ids, c.id)
	}
	if !erase {
		return ids, nil
	}
	done, err := s.eraseHostData(ctx, before, q.Pseudonym(q.Participant))
	if err != nil {
		return ids, fmt.Errorf("sqlstore: erase pseudonymized conversations: %w", err)
	}
	return append(ids, done...), nil
}

// pseudonymConv is a conversation Pseudonymize is to replace the numbers
// a and b of.
type pseudonymConv struct{ id, a, b string }

// pseudonymTodo lists the conversations Pseudonymize is to replace the
// numbers of, in the order they ended: not active, not pseudonymized,
// ended before before, q.Participant's when it is set, q.Limit at most.
func (s *Store) pseudonymTodo(ctx context.Context, before any, q proxy.PseudonymQuery) ([]pseudonymConv, error) {
	lim := s.d.noLimit
	if q.Limit > 0 {
		lim = q.Limit
	}
	// The predicate is the partial index vp_conversations_to_pseudonymize's,
	// written out: a planner matches an index predicate only to the same
	// literals.
	rows, err := s.r.QueryContext(ctx, `SELECT id, a_number, b_number FROM vp_conversations
		WHERE status <> 'active' AND substr(a_number, 1, 5) <> 'anon-' AND ended_at < $1
			AND ($2 = '' OR a_number = $2 OR b_number = $2)
		ORDER BY ended_at, id LIMIT $3`, before, q.Participant, lim)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var todo []pseudonymConv
	for rows.Next() {
		var c pseudonymConv
		if err := rows.Scan(&c.id, &c.a, &c.b); err != nil {
			return nil, err
		}
		todo = append(todo, c)
	}
	return todo, rows.Err()
}

// pseudonymizeConv replaces, in one transaction, the numbers of c by
// their pseudonyms pa and pb in the conversation, its legs, its
// interactions (their text goes) and their events' details (a
// recording's goes), and drops its relays; with erase, what the host
// gave it (metadata, idempotency key) goes too.
func (s *Store) pseudonymizeConv(ctx context.Context, c pseudonymConv, pa, pb string, erase bool) error {
	// $2, $3 the numbers; $4, $5 their pseudonyms; $6 whether this
	// is an erasure.
	swap := func(col string) string {
		return col + " = CASE " + col + " WHEN $2 THEN $4 WHEN $3 THEN $5 ELSE " + col + " END"
	}
	// within replaces the numbers inside col, the longer first (one
	// may hold the other).
	long, short := "$2, $4", "$3, $5"
	if len(c.b) > len(c.a) {
		long, short = short, long
	}
	within := func(col string) string {
		return "replace(replace(" + col + ", " + long + "), " + short + ")"
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, st := range []string{
			`UPDATE vp_conversations SET a_number = $4, b_number = $5, a_label = '', b_label = '',
				metadata = CASE WHEN $6 THEN 'null' ELSE metadata END, idem_key = CASE WHEN $6 THEN '' ELSE idem_key END
				WHERE id = $1 AND a_number = $2 AND b_number = $3`,
			`UPDATE vp_legs SET ` + swap("participant") + `, ` + swap("counterpart") + ` WHERE conversation_id = $1 AND ($6 OR NOT $6)`,
			`UPDATE vp_interactions SET ` + swap("from_number") + `, ` + swap("to_number") + `, body = '',
				external_id = ` + within("external_id") + ` WHERE conversation_id = $1 AND ($6 OR NOT $6)`,
			`UPDATE vp_interaction_events SET detail = CASE WHEN status = 'recorded' THEN '' ELSE ` + within("detail") + ` END
				WHERE interaction_id IN (SELECT id FROM vp_interactions WHERE conversation_id = $1) AND ($6 OR NOT $6)`,
			// Every statement takes the same six arguments, and
			// PostgreSQL wants each used: $2–$6 are compared here to
			// no effect (a pseudonym is never the number).
			`DELETE FROM vp_relays WHERE conversation_id = $1 AND $2 <> $4 AND $3 <> $5 AND ($6 OR NOT $6)`,
		} {
			if _, err := tx.ExecContext(ctx, st, c.id, c.a, c.b, pa, pb, erase); err != nil {
				return err
			}
		}
		return nil
	})
}

// eraseHostData drops what the host gave (labels, metadata, idempotency
// key) to the conversations of the participant with the pseudonym
// pseudonym that ended before before and were pseudonymized before (by
// the retention sweep), and returns their IDs in order.
func (s *Store) eraseHostData(ctx context.Context, before any, pseudonym string) ([]string, error) {
	rows, err := s.w.QueryContext(ctx, `UPDATE vp_conversations SET a_label = '', b_label = '', metadata = 'null', idem_key = ''
		WHERE status <> 'active' AND ended_at < $1 AND (a_number = $2 OR b_number = $2)
			AND (a_label <> '' OR b_label <> '' OR metadata <> 'null' OR idem_key <> '')
		RETURNING id`, before, pseudonym)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var done []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		done = append(done, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(done)
	return done, nil
}

// DeleteMessageParts deletes the parts received before before (and sent
// by from, when it is not empty).
func (s *Store) DeleteMessageParts(ctx context.Context, from string, before time.Time) (int, error) {
	b, err := s.d.t(before)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete message parts: %w", err)
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM vp_message_parts WHERE received_at < $1 AND ($2 = '' OR from_number = $2)`, b, from)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete message parts: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete message parts: %w", err)
	}
	return int(n), nil
}
