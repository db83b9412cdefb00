package pglogical

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/conninfo"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// Sentinel errors, matched with errors.Is. Errors returned by this package
// wrap one of them where a caller can act on the kind of failure.
var (
	// ErrInvalid is bad input, rejected before anything was sent to a
	// server. The message names the field and the allowed values.
	ErrInvalid = errors.New("pglogical: invalid input")

	// ErrNotPreloaded means pglogical is not in shared_preload_libraries:
	// add it (see Parameters) and reboot before installing the extension.
	ErrNotPreloaded = errors.New("pglogical: pglogical is not in shared_preload_libraries")

	// ErrWALLevel means wal_level is not logical: set
	// rds.logical_replication=1 (see Parameters) and reboot.
	ErrWALLevel = errors.New("pglogical: wal_level is not logical")

	// ErrNotInstalled means the pglogical extension is not created in the
	// database the client is connected to (see Client.Install).
	ErrNotInstalled = errors.New("pglogical: the pglogical extension is not installed in this database")

	// ErrNotFound means a named node, interface, replication set or
	// subscription does not exist. The error is a *NotFoundError.
	ErrNotFound = errors.New("pglogical: not found")

	// ErrAlreadyExists means a node, replication set or subscription with
	// that name already exists.
	ErrAlreadyExists = errors.New("pglogical: already exists")

	// ErrNoLocalNode means the database has no local pglogical node yet
	// (see Client.CreateNode).
	ErrNoLocalNode = errors.New("pglogical: this database has no local node")

	// ErrNothingDone means a pglogical function reported that it did
	// nothing (it returned false or NULL). pglogical's functions are mostly
	// STRICT: given a NULL argument they return NULL without doing
	// anything, which this package treats as a failure.
	ErrNothingDone = errors.New("pglogical: the pglogical function reported that it did nothing")

	// ErrSubscriptionDisabled means a wait cannot finish because the
	// subscription is disabled.
	ErrSubscriptionDisabled = errors.New("pglogical: the subscription is disabled")

	// ErrMidSync means an upgrade preparation was refused because a
	// subscription or table is still synchronizing; retry after the sync
	// or set UpgradeOptions.Force.
	ErrMidSync = errors.New("pglogical: a synchronization is in progress")

	// ErrProviderUnreachable means the provider could not be queried, so
	// the pair can be neither fully diagnosed nor repaired.
	ErrProviderUnreachable = errors.New("pglogical: the provider is unreachable")

	// ErrNotRepairable means Repair found a cause its procedure (disable,
	// recreate the replication origin, enable) cannot fix, such as a
	// missing provider slot. The Diagnosis says what to do instead.
	ErrNotRepairable = errors.New("pglogical: the cause cannot be repaired by disable/recreate origin/enable")

	// ErrReplicationCheck means a replication check found a row missing or
	// duplicated on a peer.
	ErrReplicationCheck = errors.New("pglogical: replication check failed")
)

// NotFoundError is returned when a named pglogical object does not exist.
// It matches ErrNotFound.
type NotFoundError struct {
	// Kind is "node", "interface", "replication set", "subscription",
	// "table" or "schema".
	Kind string
	// Name is the name that was looked up.
	Name string
}

// Error says what was not found.
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("pglogical: %s %q not found", e.Kind, e.Name)
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// StepError reports a multi-step operation (Repair, PrepareUpgrade,
// Restore, SetupTwoWay) that failed part way: Applied lists the steps that
// took effect, in order, and Failed the step that did not.
type StepError struct {
	// Op is the operation, for example "repair subscription \"s1\"".
	Op string
	// Applied are the steps that took effect before the failure.
	Applied []string
	// Failed is the step that failed.
	Failed string
	// Err is the cause.
	Err error
}

// Error names the failed step and the steps applied before it.
func (e *StepError) Error() string {
	applied := "none"
	if len(e.Applied) > 0 {
		applied = strings.Join(e.Applied, "; ")
	}
	return fmt.Sprintf("pglogical: %s: step %q failed (steps applied: %s): %v", e.Op, e.Failed, applied, e.Err)
}

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// stepRun runs the steps of one operation in order, reporting each one
// done to progress and failing with a *StepError that lists the steps
// applied before.
type stepRun struct {
	op       string // for errors: what the steps do
	name     string // for events: the function, as pgaurora.Event.Operation
	applied  []string
	progress pgaurora.ProgressFunc
}

func (r *stepRun) do(name string, fn func() error) error {
	start := time.Now()
	if err := fn(); err != nil {
		return r.fail(name, err)
	}
	r.applied = append(r.applied, name)
	r.progress.Report(pgaurora.Event{Operation: r.name, Step: name, Completed: true, Changed: true, Elapsed: time.Since(start)})
	return nil
}

func (r *stepRun) fail(name string, err error) error {
	return &StepError{Op: r.op, Applied: slices.Clone(r.applied), Failed: name, Err: err}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

var (
	notFoundRe = regexp.MustCompile(`^(subscriber|subscription|node|replication set) (.+) not found$`)
	ifaceRe    = regexp.MustCompile(`^interface "(.+)" for node node "(.+)" not found$`)
)

// classify maps a server error to this package's sentinels and scrubs
// secrets (the DSN pglogical puts in DETAIL, passwords given) from every
// text field of a *pgconn.PgError, so that neither Error() nor a caller
// using errors.As can see them. The original error is not kept.
func classify(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		// Errors without secrets are kept as they are, so errors.Is keeps
		// working for context errors and the like.
		return conninfo.ScrubError(err, secrets)
	}
	clean := *conninfo.ScrubPgError(pgErr, secrets)
	if strings.HasPrefix(clean.Detail, "dsn was:") {
		clean.Detail = "dsn was: (redacted)"
	}
	var sentinel error
	switch {
	case clean.Code == "3F000" && strings.Contains(clean.Message, `"pglogical"`),
		(clean.Code == "42883" || clean.Code == "42P01") && strings.Contains(clean.Message, "pglogical."):
		sentinel = ErrNotInstalled
	case strings.HasSuffix(clean.Message, " already exists") && clean.Code == "XX000",
		clean.Code == "23505" && strings.HasPrefix(clean.ConstraintName, "replication_set_"),
		clean.Code == "23505" && strings.HasPrefix(clean.ConstraintName, "subscription_"),
		clean.Code == "23505" && strings.HasPrefix(clean.ConstraintName, "node_"):
		sentinel = ErrAlreadyExists
	}
	if m := notFoundRe.FindStringSubmatch(clean.Message); m != nil {
		kind := m[1]
		if kind == "subscriber" {
			kind = "subscription"
		}
		return fmt.Errorf("%w (server said: %w)", &NotFoundError{Kind: kind, Name: m[2]}, &clean)
	}
	if m := ifaceRe.FindStringSubmatch(clean.Message); m != nil {
		return fmt.Errorf("%w (server said: %w)", &NotFoundError{Kind: "interface", Name: m[1]}, &clean)
	}
	if sentinel != nil {
		return fmt.Errorf("%w: %w", sentinel, &clean)
	}
	return &clean
}

func wrap(op string, err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("pglogical: %s: %w", op, classify(err, secrets...))
}

// concurrentWrite is how long a catalog write that races pglogical's own
// workers is retried: pglogical's manager and apply workers update the
// same catalog rows (a node's, a subscription's) that drop_node and
// drop_subscription delete, and PostgreSQL then aborts the statement with
// "tuple concurrently updated". The statement's transaction rolled back, so
// running it again is safe.
var concurrentWrite = pgaurora.Wait{MinDelay: 20 * time.Millisecond, MaxDelay: 500 * time.Millisecond, MaxWait: 10 * time.Second}

// isConcurrentUpdate reports whether err is PostgreSQL's internal error for
// a catalog row another transaction changed under this one.
func isConcurrentUpdate(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "XX000" &&
		(pgErr.Message == "tuple concurrently updated" || pgErr.Message == "tuple concurrently deleted")
}

// retryConcurrentUpdate runs write, again while it fails only because a
// pglogical worker changed the same catalog row at the same moment.
func retryConcurrentUpdate(ctx context.Context, write func(ctx context.Context) error) error {
	var last error
	err := wait.Until(ctx, concurrentWrite, concurrentWrite, func(ctx context.Context) (bool, error) {
		err := write(ctx)
		var pgErr *pgconn.PgError
		if last != nil && errors.As(err, &pgErr) && pgErr.Code == "25P02" {
			// The caller's own transaction: it cannot run the statement
			// again, so the race is what to report.
			return true, last
		}
		last = err
		if last != nil && isConcurrentUpdate(last) {
			return false, nil
		}
		return true, last
	})
	if last != nil && isConcurrentUpdate(last) {
		return last
	}
	return err
}
