package logical

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/conninfo"
	"github.com/pgaurora/pgaurora/internal/secretsql"
)

// Sentinel errors, matched with errors.Is. Errors returned by this package
// wrap one of them where a caller can act on the kind of failure.
var (
	// ErrInvalid is bad input, rejected before anything was sent to a
	// server. The message names the field and the allowed values.
	ErrInvalid = errors.New("logical: invalid input")

	// ErrUnsupported means the server's PostgreSQL version lacks a
	// feature the call asked for (row filters, column lists and TABLES IN
	// SCHEMA need 15). The error is a *VersionError.
	ErrUnsupported = errors.New("logical: not supported by this server version")

	// ErrNotFound means a named publication, subscription, slot, role or
	// table does not exist (SQLSTATE 42704 or 42P01).
	ErrNotFound = errors.New("logical: not found")

	// ErrAlreadyExists means an object with that name already exists
	// (SQLSTATE 42710).
	ErrAlreadyExists = errors.New("logical: already exists")

	// ErrSlotActive means a replication slot is in use by a walsender or
	// a backend and cannot be dropped (SQLSTATE 55006).
	ErrSlotActive = errors.New("logical: replication slot is active")

	// ErrSubscriptionDisabled means a wait cannot finish because the
	// subscription is disabled.
	ErrSubscriptionDisabled = errors.New("logical: the subscription is disabled")
)

// VersionError reports a feature the server's PostgreSQL version lacks.
// It matches ErrUnsupported.
type VersionError struct {
	// Feature names what was asked for, for example "row filters".
	Feature string
	// Need is the first server_version_num that has it (150000 for 15).
	Need int
	// Have is the server's server_version_num.
	Have int
}

// Error names the feature and both versions.
func (e *VersionError) Error() string {
	return fmt.Sprintf("logical: %s need PostgreSQL %s or later; the server runs %s", e.Feature, pgaurora.ServerVersion(e.Need), pgaurora.ServerVersion(e.Have))
}

// Is makes errors.Is(err, ErrUnsupported) true.
func (e *VersionError) Is(target error) bool { return target == ErrUnsupported }

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// classify wraps err with the sentinel matching its SQLSTATE, keeping the
// cause in the chain, and says what was being done.
func classify(err error, doing string) error {
	if err == nil {
		return nil
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "42704", "42P01", "3F000":
			return fmt.Errorf("logical: %s: %w: %w", doing, ErrNotFound, err)
		case "42710", "42P07":
			return fmt.Errorf("logical: %s: %w: %w", doing, ErrAlreadyExists, err)
		case "55006":
			return fmt.Errorf("logical: %s: %w: %w", doing, ErrSlotActive, err)
		}
	}
	if errors.Is(err, secretsql.ErrInTransaction) {
		return fmt.Errorf("logical: %s: %w: %w", doing, ErrInvalid, err)
	}
	return fmt.Errorf("logical: %s: %w", doing, err)
}

// scrub returns err with every occurrence of the secrets (and anything
// that looks like a password in a connection string) removed from its
// message. When the text holds one, the error is replaced by a copy
// without it that still matches the package's sentinels its original
// matched and unwraps to the masked *pgconn.PgError (SQLSTATE and fields
// kept), so no error in the chain can print it.
func scrub(err error, secrets ...string) error {
	return conninfo.ScrubError(err, secrets, sentinels...)
}

var sentinels = []error{ErrInvalid, ErrUnsupported, ErrNotFound, ErrAlreadyExists, ErrSlotActive, ErrSubscriptionDisabled}
