package pglogical

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/misuse"
	"github.com/pgaurora/pgaurora/internal/secretsql"
	"github.com/pgaurora/pgaurora/params"
)

// Client runs pglogical's SQL interface in one database: the database its
// Querier is connected to. pglogical is per database (nodes, replication
// sets and subscriptions live in the database), so a cluster with several
// replicated databases needs one Client per database.
//
// The Querier should be connected as a superuser (rds_superuser on RDS
// and Aurora), as pglogical's functions require.
//
// Make one with New: the zero Client is not usable.
type Client struct {
	q pgaurora.Querier
}

// New returns a client over q.
// A nil q gives a client whose every call fails with an error.
func New(q pgaurora.Querier) *Client { return &Client{q: misuse.Querier(q, "pglogical")} }

// Querier returns the querier the client runs on.
func (c *Client) Querier() pgaurora.Querier { return c.q }

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

// callSecret runs a statement whose bind parameters carry a password
// through the SDK's one secret path (internal/secretsql): on one
// connection, with the server log, pgAudit (whose log_parameter would
// record the bind parameters) and statement statistics kept from
// recording it, failing with pgaurora.ErrLogSuppression before anything
// is sent when that cannot be done. Without secrets it runs as it is.
// dest receives the single result row.
func (c *Client) callSecret(ctx context.Context, op string, secrets []string, sql string, args []any, dest ...any) error {
	if len(secrets) == 0 {
		return wrap(op, c.q.QueryRow(ctx, sql, args...).Scan(dest...))
	}
	return wrap(op, secretsql.Run(ctx, c.q, secretsql.Statement{SQL: sql, Args: args, Secrets: secrets, Dest: dest, ErrorsRepeatSecret: true}), secrets...)
}
