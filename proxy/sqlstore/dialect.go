package sqlstore

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds what differs between SQLite and PostgreSQL. The SQL text
// itself is shared: both accept $N placeholders, partial indexes,
// ON CONFLICT and RETURNING.
type dialect struct {
	name string // "sqlite" or "postgres"
	// nextPoolOrder is an SQL expression giving the pool order of a number
	// joining the end of the pool.
	nextPoolOrder string
	// noLimit is the LIMIT argument meaning "all rows".
	noLimit any
	// lockMessage, when not empty, is SQL run inside AddMessagePart's
	// transaction with the part's key as $1, serialising writers of the
	// same multipart message across connections.
	lockMessage string
	// legSeq is the vp_legs column giving insertion order (as "s").
	legSeq string
	// timeCast follows a time placeholder where its type cannot be
	// inferred (a VALUES list).
	timeCast string
}

var (
	sqliteDialect = dialect{
		name:          "sqlite",
		nextPoolOrder: "(SELECT COALESCE(MAX(pool_order), 0) + 1 FROM vp_numbers)",
		noLimit:       -1,
		legSeq:        "s.rowid",
	}
	postgresDialect = dialect{
		name:          "postgres",
		nextPoolOrder: "nextval('vp_numbers_pool_order_seq')",
		noLimit:       nil,
		lockMessage:   "SELECT pg_advisory_xact_lock(hashtext($1))",
		legSeq:        "s.seq",
		timeCast:      "::timestamptz",
	}
)

// zeroNanos stands for the zero time.Time in SQLite's integer columns. It
// sorts before every real time, so comparisons need no NULL cases.
const zeroNanos = math.MinInt64

// t encodes a time for a query argument: PostgreSQL takes time.Time
// (timestamptz, microseconds); SQLite takes Unix nanoseconds.
func (d dialect) t(t time.Time) (any, error) {
	if d.name == "postgres" {
		return t.UTC(), nil
	}
	if t.IsZero() {
		return int64(zeroNanos), nil
	}
	if t.Year() < 1678 || t.Year() > 2261 {
		return nil, fmt.Errorf("time %s out of the supported range (years 1678-2261)", t.Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

// timeCol scans a time column from either dialect into a UTC time.Time.
type timeCol struct{ t *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		if v == zeroNanos {
			*c.t = time.Time{}
		} else {
			*c.t = time.Unix(0, v).UTC()
		}
	case time.Time:
		if v.IsZero() {
			*c.t = time.Time{}
		} else {
			*c.t = v.UTC()
		}
	case nil:
		*c.t = time.Time{}
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", src)
	}
	return nil
}

// isBusy reports SQLite's SQLITE_BUSY (or SQLITE_LOCKED): another
// connection holds the lock.
func isBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// isUnique reports a unique or primary key violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isForeignKey reports a foreign key violation: the row referred to does
// not exist.
func isForeignKey(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// isRetryable reports an error after which the whole transaction may
// simply run again: a PostgreSQL deadlock or serialization failure, or
// SQLite still busy after its busy timeout (another process writing).
func isRetryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40P01" || pe.Code == "40001"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()&0xff == sqlite3.SQLITE_BUSY
	}
	return false
}
