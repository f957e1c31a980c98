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

// AddRelay stores an interaction and its relay job in one transaction.
func (s *Store) AddRelay(ctx context.Context, in proxy.Interaction, job proxy.RelayJob) error {
	if job.ID != in.ID {
		return fmt.Errorf("sqlstore: relay job %q for interaction %q: the IDs must match", job.ID, in.ID)
	}
	next, err := s.d.t(job.NextAttempt)
	if err != nil {
		return fmt.Errorf("sqlstore: add relay %q: %w", job.ID, err)
	}
	created, err := s.d.t(job.CreatedAt)
	if err != nil {
		return fmt.Errorf("sqlstore: add relay %q: %w", job.ID, err)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.insertInteraction(ctx, tx, in); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO vp_relays (id, conversation_id, from_number, to_number, body, attempts, next_attempt, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			job.ID, job.ConversationID, job.From, job.To, job.Text, job.Attempts, next, created)
		if err != nil {
			return fmt.Errorf("sqlstore: add relay %q: %w", job.ID, err)
		}
		return nil
	})
}

// ClaimRelays leases due jobs to an owner. The conditions are repeated on
// the UPDATE itself: on PostgreSQL, a writer that waited for a row locked
// by another claimer re-checks them on the row's new version, so no job
// is leased twice.
func (s *Store) ClaimRelays(ctx context.Context, q proxy.RelayClaim) ([]proxy.RelayJob, error) {
	now, err := s.d.t(q.Now)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim relays: %w", err)
	}
	until, err := s.d.t(q.LeaseUntil)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim relays: %w", err)
	}
	limit := any(q.Limit)
	if q.Limit <= 0 {
		limit = s.d.noLimit
	}
	const due = `next_attempt <= $3 AND (lease_owner = '' OR lease_until <= $3)`
	pick := `SELECT id FROM vp_relays WHERE ` + due + ` AND ($5 = '' OR id = $5) ORDER BY created_at, id LIMIT $4`
	if s.d.name == "postgres" {
		pick += " FOR UPDATE SKIP LOCKED"
	}
	var jobs []proxy.RelayJob
	err = s.tx(ctx, func(tx *sql.Tx) error {
		jobs = jobs[:0]
		rows, err := tx.QueryContext(ctx, `UPDATE vp_relays SET lease_owner = $1, lease_until = $2
			WHERE id IN (`+pick+`) AND `+due+`
			RETURNING id, conversation_id, from_number, to_number, body, attempts, next_attempt, created_at`,
			q.Owner, until, now, limit, q.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var j proxy.RelayJob
			if err := rows.Scan(&j.ID, &j.ConversationID, &j.From, &j.To, &j.Text, &j.Attempts, timeCol{&j.NextAttempt}, timeCol{&j.CreatedAt}); err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim relays: %w", err)
	}
	// RETURNING gives no order.
	slices.SortFunc(jobs, func(a, b proxy.RelayJob) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if jobs == nil {
		jobs = []proxy.RelayJob{}
	}
	return jobs, nil
}

// FinishRelay deletes a leased job and records its outcome in one
// transaction.
func (s *Store) FinishRelay(ctx context.Context, id, owner string, ev proxy.InteractionEvent) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var got string
		err := tx.QueryRowContext(ctx, `DELETE FROM vp_relays WHERE id = $1 AND lease_owner = $2 RETURNING id`, id, owner).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("relay job %q leased to %q: %w", id, owner, proxy.ErrNotFound)
		}
		if err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, id, ev)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: finish relay %q: %w", id, err)
	}
	return nil
}

// RetryRelay gives a leased job back for a later attempt.
func (s *Store) RetryRelay(ctx context.Context, id, owner string, next time.Time) error {
	n, err := s.d.t(next)
	if err != nil {
		return fmt.Errorf("sqlstore: retry relay %q: %w", id, err)
	}
	zero, _ := s.d.t(time.Time{})
	res, err := s.w.ExecContext(ctx, `UPDATE vp_relays SET attempts = attempts + 1, next_attempt = $3, lease_owner = '', lease_until = $4
		WHERE id = $1 AND lease_owner = $2`, id, owner, n, zero)
	if err == nil {
		var rows int64
		if rows, err = res.RowsAffected(); err == nil && rows == 0 {
			err = fmt.Errorf("relay job %q leased to %q: %w", id, owner, proxy.ErrNotFound)
		}
	}
	if err != nil {
		return fmt.Errorf("sqlstore: retry relay %q: %w", id, err)
	}
	return nil
}
