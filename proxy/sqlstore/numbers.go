package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/voiceproxy/voiceproxy/proxy"
)

// AddNumbers adds numbers to the pool or updates those already in it.
// A number that was removed and is added again goes to the end of the
// pool order.
func (s *Store) AddNumbers(ctx context.Context, nums ...proxy.PoolNumber) error {
	for _, n := range nums {
		if n.MSISDN == "" {
			return fmt.Errorf("sqlstore: add numbers: empty MSISDN")
		}
	}
	if len(nums) == 0 {
		return nil
	}
	// A zero bought_at ($5 = $7) keeps what the row has.
	update := `UPDATE vp_numbers SET country = $2, voice = $3, sms = $4, in_pool = TRUE,
		pool_order = CASE WHEN in_pool THEN pool_order ELSE ` + s.d.nextPoolOrder + ` END,
		monthly_cost = CASE WHEN $5` + s.d.timeCast + ` = $7` + s.d.timeCast + ` THEN monthly_cost ELSE $6 END,
		bought_at = CASE WHEN $5` + s.d.timeCast + ` = $7` + s.d.timeCast + ` THEN bought_at ELSE $5 END
		WHERE msisdn = $1`
	// A number new to the table may already carry legs (conversations
	// created with it before it joined the pool): count them once here,
	// after which the counter is maintained.
	insert := `INSERT INTO vp_numbers (msisdn, country, voice, sms, in_pool, pool_order, active_legs, bought_at, monthly_cost)
		VALUES ($1, $2, $3, $4, TRUE, ` + s.d.nextPoolOrder + `,
			(SELECT COUNT(*) FROM vp_legs WHERE proxy_number = $1 AND active), $5, $6)
		ON CONFLICT (msisdn) DO NOTHING`
	zero, _ := s.d.t(time.Time{})
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, n := range nums {
			bought, err := s.d.t(n.Bought)
			if err != nil {
				return fmt.Errorf("number %s: bought: %w", n.MSISDN, err)
			}
			for {
				res, err := tx.ExecContext(ctx, update, n.MSISDN, n.Country, n.Voice, n.SMS, bought, n.MonthlyCost, zero)
				if err != nil {
					return err
				}
				if k, err := res.RowsAffected(); err != nil || k > 0 {
					break
				}
				res, err = tx.ExecContext(ctx, insert, n.MSISDN, n.Country, n.Voice, n.SMS, bought, n.MonthlyCost)
				if err != nil {
					return err
				}
				// Zero rows: another instance inserted it meanwhile; update it.
				if k, err := res.RowsAffected(); err != nil || k > 0 {
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: add numbers: %w", err)
	}
	return nil
}

// RemoveNumber takes a number out of the pool. ErrNotFound if it is not in
// the pool.
func (s *Store) RemoveNumber(ctx context.Context, msisdn string) error {
	res, err := s.w.ExecContext(ctx, "UPDATE vp_numbers SET in_pool = FALSE WHERE msisdn = $1 AND in_pool", msisdn)
	if err != nil {
		return fmt.Errorf("sqlstore: remove number %s: %w", msisdn, err)
	}
	k, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: remove number %s: %w", msisdn, err)
	}
	if k == 0 {
		return fmt.Errorf("sqlstore: remove number %s: %w", msisdn, proxy.ErrNotFound)
	}
	return nil
}

// Pool lists the pool in pool order.
func (s *Store) Pool(ctx context.Context) ([]proxy.PoolNumber, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT n.msisdn, n.country, n.voice, n.sms, n.bought_at, n.monthly_cost, n.active_legs,
		(SELECT MAX(l.released_at) FROM vp_legs l WHERE l.proxy_number = n.msisdn AND NOT l.active)
		FROM vp_numbers n WHERE n.in_pool ORDER BY n.pool_order`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: numbers: %w", err)
	}
	defer rows.Close()
	nums := []proxy.PoolNumber{}
	for rows.Next() {
		var n proxy.PoolNumber
		if err := rows.Scan(&n.MSISDN, &n.Country, &n.Voice, &n.SMS, timeCol{&n.Bought}, &n.MonthlyCost, &n.Legs, timeCol{&n.LastUsed}); err != nil {
			return nil, fmt.Errorf("sqlstore: numbers: %w", err)
		}
		nums = append(nums, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: numbers: %w", err)
	}
	return nums, nil
}

// NumberLegs counts the legs in use on msisdn, in the pool or not.
func (s *Store) NumberLegs(ctx context.Context, msisdn string) (int, error) {
	var n int
	err := s.w.QueryRowContext(ctx, "SELECT active_legs FROM vp_numbers WHERE msisdn = $1", msisdn).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: legs of number %s: %w", msisdn, err)
	}
	return n, nil
}

// candidatesSQL (with the dialect's legSeq for %[1]s) selects and orders
// candidates in one query. A number is left out when the participant
// holds an in-use leg on it, or released a leg on it after $6 in a
// conversation with someone other than $2, or its pseudonym $9 released
// one after $6 facing someone other than $2's pseudonym $10 (the legs of
// pseudonymized conversations, all ended), and likewise for the PIN
// conversations it has on the number (active-status, not swept). A leg
// still active but past its conversation's deadline counts as released
// at the deadline. The pseudonym's legs have a subquery of their own: in
// one with "participant IN ($1, $9)" PostgreSQL's generic plan scans
// every leg of the number. Load is the maintained count of active legs. The limit is
// applied while reading: a bound LIMIT makes SQLite re-plan the statement
// on every call, which costs more than reading a pool's rows.
const candidatesSQL = `
SELECT n.msisdn, n.country, n.voice, n.sms, n.active_legs,
	COALESCE(n.msisdn = (
		SELECT s.proxy_number FROM vp_legs s
		WHERE (s.participant = $1 AND s.counterpart = $2) OR (s.participant = $9 AND s.counterpart = $10)
		ORDER BY s.created_at DESC, %[1]s DESC LIMIT 1
	), FALSE) AS sticky
FROM vp_numbers n
WHERE n.in_pool
	AND ($3 = '' OR n.country = $3)
	AND ($8 = '' OR substr(n.msisdn, 1, length($8)) = $8)
	AND (n.voice OR NOT $4)
	AND (n.sms OR NOT $5)
	AND NOT EXISTS (
		SELECT 1 FROM vp_legs l JOIN vp_conversations c ON c.id = l.conversation_id
		WHERE l.participant = $1 AND l.proxy_number = n.msisdn
			AND (l.active OR l.released_at > $6)
			AND (
				(l.active AND c.deadline > $7)
				OR (l.counterpart <> $2 AND (CASE WHEN l.active THEN c.deadline ELSE l.released_at END) > $6)
			)
	)
	AND NOT EXISTS (
		SELECT 1 FROM vp_legs pl
		WHERE pl.participant = $9 AND pl.proxy_number = n.msisdn
			AND pl.released_at > $6 AND pl.counterpart <> $10
	)
	AND NOT EXISTS (
		SELECT 1 FROM vp_conversations pc
		WHERE pc.pin <> '' AND pc.status = 'active' AND pc.a_proxy = n.msisdn
			AND (pc.a_number = $1 OR pc.b_number = $1)
			AND (pc.deadline > $7
				OR (pc.deadline > $6 AND (CASE WHEN pc.a_number = $1 THEN pc.b_number ELSE pc.a_number END) <> $2))
	)
ORDER BY sticky DESC, n.active_legs, n.pool_order`

// Candidates lists the numbers q.Participant may be given, best first.
func (s *Store) Candidates(ctx context.Context, q proxy.CandidateQuery) ([]proxy.Candidate, error) {
	now, err := s.d.t(q.Now)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: candidates: %w", err)
	}
	after, err := s.d.t(q.ReleasedAfter)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: candidates: %w", err)
	}
	// A pseudonym of "" matches no leg: a participant number is never
	// empty.
	rows, err := s.candidatesStmt.QueryContext(ctx, q.Participant, q.Counterpart, q.Country, q.Voice, q.SMS, after, now, q.Prefix, q.ParticipantPseudonym, q.CounterpartPseudonym)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: candidates for %s: %w", q.Participant, err)
	}
	defer rows.Close()
	cands := []proxy.Candidate{}
	for (q.Limit <= 0 || len(cands) < q.Limit) && rows.Next() {
		var c proxy.Candidate
		if err := rows.Scan(&c.PoolNumber.MSISDN, &c.PoolNumber.Country, &c.PoolNumber.Voice, &c.PoolNumber.SMS, &c.Load, &c.Sticky); err != nil {
			return nil, fmt.Errorf("sqlstore: candidates for %s: %w", q.Participant, err)
		}
		cands = append(cands, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: candidates for %s: %w", q.Participant, err)
	}
	return cands, nil
}
