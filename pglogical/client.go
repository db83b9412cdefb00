package pglogical

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora/params"
)

// Querier is the subset of *pgx.Conn, pgx.Tx and *pgxpool.Pool the client
// uses.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// beginner is implemented by queriers that can open a transaction
// (*pgx.Conn, *pgxpool.Pool). The client uses it, when present, to keep
// statements that carry a password out of the server log.
type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Client runs pglogical's SQL interface in one database: the database its
// Querier is connected to. pglogical is per database (nodes, replication
// sets and subscriptions live in the database), so a cluster with several
// replicated databases needs one Client per database.
//
// The Querier should be connected as a superuser (rds_superuser on RDS
// and Aurora), as pglogical's functions require.
type Client struct {
	q Querier
}

// New returns a client over q.
func New(q Querier) *Client { return &Client{q: q} }

// Querier returns the querier the client runs on.
func (c *Client) Querier() Querier { return c.q }

// Prerequisites are the server facts Install checks.
type Prerequisites struct {
	// SharedPreloadLibraries is the server's shared_preload_libraries.
	SharedPreloadLibraries string
	// WALLevel is the server's wal_level.
	WALLevel string
	// TrackCommitTimestamp is track_commit_timestamp.
	TrackCommitTimestamp bool
	// ExtensionVersion is the installed pglogical version in this
	// database, empty when the extension is not created.
	ExtensionVersion string
	// AvailableVersion is the version CREATE EXTENSION would install,
	// empty when the server has no pglogical package.
	AvailableVersion string
}

// Check reports what keeps pglogical from working on the server: an error
// matching ErrNotPreloaded or ErrWALLevel (both joined when both apply),
// or nil.
func (p Prerequisites) Check() error {
	var errs []error
	libs, err := params.ParseLibraryList(p.SharedPreloadLibraries)
	if err != nil || !containsLibrary(libs, LibraryName) {
		errs = append(errs, fmt.Errorf("%w (it is %q): add it with Parameters and reboot the instances", ErrNotPreloaded, p.SharedPreloadLibraries))
	}
	if !strings.EqualFold(p.WALLevel, "logical") {
		errs = append(errs, fmt.Errorf("%w (it is %q): set rds.logical_replication=1 with Parameters and reboot the instances", ErrWALLevel, p.WALLevel))
	}
	return errors.Join(errs...)
}

// containsLibrary reports whether the list loads lib, written as a bare
// name, as $libdir/lib, or with a .so suffix.
func containsLibrary(libs params.LibraryList, lib string) bool {
	for _, it := range libs {
		base := it[strings.LastIndexByte(it, '/')+1:]
		base = strings.TrimSuffix(base, ".so")
		if strings.EqualFold(base, lib) {
			return true
		}
	}
	return false
}

// Prerequisites reads the server facts pglogical depends on.
func (c *Client) Prerequisites(ctx context.Context) (Prerequisites, error) {
	var p Prerequisites
	var ext, avail *string
	err := c.q.QueryRow(ctx, `SELECT current_setting('shared_preload_libraries'), current_setting('wal_level'),
		current_setting('track_commit_timestamp')::bool,
		(SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pglogical'),
		(SELECT default_version FROM pg_catalog.pg_available_extensions WHERE name = 'pglogical')`).
		Scan(&p.SharedPreloadLibraries, &p.WALLevel, &p.TrackCommitTimestamp, &ext, &avail)
	if err != nil {
		return p, wrap("reading server settings", err)
	}
	if ext != nil {
		p.ExtensionVersion = *ext
	}
	if avail != nil {
		p.AvailableVersion = *avail
	}
	return p, nil
}

// Install creates the pglogical extension in the client's database, after
// checking that the server can run it: pglogical must be in
// shared_preload_libraries (ErrNotPreloaded) and wal_level must be logical
// (ErrWALLevel). Nothing is changed when a check fails. Installing where the
// extension already exists does nothing. It returns the installed version.
func (c *Client) Install(ctx context.Context) (string, error) {
	p, err := c.Prerequisites(ctx)
	if err != nil {
		return "", err
	}
	if err := p.Check(); err != nil {
		return "", fmt.Errorf("pglogical: install: %w", err)
	}
	if p.ExtensionVersion != "" {
		return p.ExtensionVersion, nil
	}
	if p.AvailableVersion == "" {
		return "", fmt.Errorf("pglogical: install: the server has no pglogical extension package (pg_available_extensions has no pglogical)")
	}
	if _, err := c.q.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pglogical"); err != nil {
		return "", wrap("install: CREATE EXTENSION pglogical", err)
	}
	var v string
	if err := c.q.QueryRow(ctx, "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pglogical'").Scan(&v); err != nil {
		return "", wrap("install: reading the installed version", err)
	}
	return v, nil
}

// Version returns the pglogical library version (pglogical_version()), or
// an error matching ErrNotInstalled.
func (c *Client) Version(ctx context.Context) (string, error) {
	var v string
	if err := c.q.QueryRow(ctx, "SELECT pglogical.pglogical_version()").Scan(&v); err != nil {
		if isUndefined(err) {
			return "", fmt.Errorf("pglogical: version: %w", ErrNotInstalled)
		}
		return "", wrap("version", err)
	}
	return v, nil
}

func isUndefined(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "3F000" || pgErr.Code == "42883" || pgErr.Code == "42P01")
}

// callBool runs a statement that returns one boolean from a pglogical
// function and turns false and NULL into ErrNothingDone.
func (c *Client) callBool(ctx context.Context, op, fn, sql string, args ...any) error {
	var ok *bool
	if err := c.q.QueryRow(ctx, sql, args...).Scan(&ok); err != nil {
		return wrap(op, err)
	}
	return checkResult(op, fn, ok)
}

func checkResult(op, fn string, ok *bool) error {
	if ok == nil {
		return fmt.Errorf("pglogical: %s: %s returned NULL (a NULL argument makes it do nothing): %w", op, fn, ErrNothingDone)
	}
	if !*ok {
		return fmt.Errorf("pglogical: %s: %s returned false: %w", op, fn, ErrNothingDone)
	}
	return nil
}

// callSecret runs a statement whose bind parameters carry a password. When
// the querier can open a transaction, the statement runs in one with
// log_statement and log_min_duration_statement turned off locally, so the
// server log does not record the parameters; if the role may not change
// those settings the statement runs as it is (bind parameters are still
// kept out of pgAudit's statement text). A querier that is itself a
// transaction is used as it is, so that its settings are not changed. dest
// receives the single result row.
func (c *Client) callSecret(ctx context.Context, op string, secrets []string, sql string, args []any, dest ...any) error {
	b, ok := c.q.(beginner)
	if _, inTx := c.q.(pgx.Tx); inTx {
		// SET LOCAL would last for the rest of the caller's transaction.
		ok = false
	}
	if !ok || len(secrets) == 0 {
		return wrap(op, c.q.QueryRow(ctx, sql, args...).Scan(dest...), secrets...)
	}
	tx, err := b.Begin(ctx)
	if err != nil {
		return wrap(op+": opening a transaction", err, secrets...)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	_, err = tx.Exec(ctx, "SET LOCAL log_statement = 'none'; SET LOCAL log_min_duration_statement = -1")
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" { // insufficient_privilege
			tx.Rollback(context.WithoutCancel(ctx))
			return wrap(op, c.q.QueryRow(ctx, sql, args...).Scan(dest...), secrets...)
		}
		return wrap(op+": turning statement logging off", err, secrets...)
	}
	if err := tx.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		return wrap(op, err, secrets...)
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap(op+": commit", err, secrets...)
	}
	return nil
}
