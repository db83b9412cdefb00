// Package secretsql is the SDK's one way to run a statement that carries
// a secret: a role's password, or a connection string with one. Every
// package that sends a secret goes through Run or Pin, which
//
//   - hold one connection for the call (lent by a pool, or the caller's
//     connection or transaction), and fail closed with
//     pgaurora.ErrLogSuppression, before sending anything, when the
//     Querier cannot lend one;
//   - turn off, around the statements, everything that records a
//     statement's text or parameters where others can read it: the server
//     log (log_statement, the duration and sampling settings,
//     log_min_error_statement, and log_min_messages, so that an error
//     repeating the secret is not logged either), pgAudit's session log,
//     pg_stat_statements
//     and pg_stat_activity; the log settings and pgaudit.log are required
//     (nothing is sent when one cannot be changed), the others are
//     changed where the role may;
//   - restore the settings afterwards (a pooled connection whose settings
//     cannot be restored is closed, never returned to its pool);
//   - remove the secrets from every error they return.
//
// Passwords themselves go through CheckPassword, one policy for every
// package, and role passwords are sent as SCRAM-SHA-256 verifiers
// (PasswordLiteral), so the statement holds nothing that logs in.
package secretsql

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/conninfo"
	"github.com/pgaurora/pgaurora/internal/scram"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// Conn is one connection held for a call that sends secrets.
type Conn struct {
	conn   *pgx.Conn
	pooled *pgxpool.Conn // set when lent by a pool for this call
	broken bool
}

// acquirer is a pool that lends a connection: *pgxpool.Pool, *aurora.Pool.
type acquirer interface {
	Acquire(ctx context.Context) (*pgxpool.Conn, error)
}

// Pin holds one connection of q: q itself when it is one connection
// (*pgx.Conn, pgx.Tx, *pgxpool.Conn), one lent by q when it is a pool.
// Any other Querier gets an error matching pgaurora.ErrLogSuppression.
// Release the Conn when done.
func Pin(ctx context.Context, q pgaurora.Querier) (*Conn, error) {
	switch v := q.(type) {
	case *pgx.Conn:
		return &Conn{conn: v}, nil
	case acquirer:
		c, err := v.Acquire(ctx)
		if err != nil {
			return nil, fmt.Errorf("acquiring a connection: %w", err)
		}
		return &Conn{conn: c.Conn(), pooled: c}, nil
	case interface{ Conn() *pgx.Conn }:
		return &Conn{conn: v.Conn()}, nil
	}
	return nil, fmt.Errorf("%w: the Querier (%T) cannot lend one connection; pass a *pgxpool.Pool, *aurora.Pool, *pgx.Conn, pgx.Tx or *pgxpool.Conn",
		pgaurora.ErrLogSuppression, q)
}

// InTx reports whether the connection is inside a transaction.
func (c *Conn) InTx() bool { return c.conn.PgConn().TxStatus() != 'I' }

// Release returns a lent connection to its pool, or closes it when its
// logging settings could not be restored.
func (c *Conn) Release() {
	if c.pooled == nil {
		return
	}
	if c.broken {
		_ = c.pooled.Hijack().Close(context.Background())
		return
	}
	c.pooled.Release()
}

// quietSettings are the settings that make the server record a
// statement's text or parameters where others can read it, and the
// values that keep it out.
var quietSettings = []struct {
	name, value string
	required    bool
	// forErrors marks a setting required only for statements whose
	// errors repeat the secret (Statement.ErrorsRepeatSecret).
	forErrors bool
}{
	{"log_statement", "none", true, false},
	{"log_min_duration_statement", "-1", true, false},
	{"log_min_duration_sample", "-1", true, false},
	{"log_transaction_sample_rate", "0", true, false},
	{"log_min_error_statement", "panic", true, false},
	// The error itself: pglogical repeats a failing DSN in its DETAIL
	// ("dsn was: ..."), which the server logs at ERROR.
	{"log_min_messages", "panic", false, true},
	{"log_parameter_max_length_on_error", "0", false, false},
	{"pgaudit.log", "none", true, false},
	{"pg_stat_statements.track_utility", "off", false, false},
	{"pg_stat_statements.track", "none", false, false},
	{"track_activities", "off", false, false},
}

var quietNames = func() []string {
	n := make([]string, len(quietSettings))
	for i, s := range quietSettings {
		n[i] = s.name
	}
	return n
}()

// Quiet runs fn with statement logging off on the connection (for the
// transaction when one is open, for the session otherwise), then restores
// the settings. Errors, fn's included, are returned with every secret
// removed from their text; those about the settings match
// pgaurora.ErrLogSuppression, and fn is not called then.
func (c *Conn) Quiet(ctx context.Context, secrets []string, fn func(ctx context.Context) error) error {
	return c.quietRun(ctx, secrets, false, fn)
}

func (c *Conn) quietRun(ctx context.Context, secrets []string, errorsRepeat bool, fn func(ctx context.Context) error) error {
	restore, err := c.quiet(ctx, errorsRepeat)
	if err != nil {
		return err
	}
	runErr := Scrub(fn(ctx), secrets)
	if c.InTx() && runErr != nil {
		// The transaction may be aborted; its rollback restores the
		// settings (SET LOCAL, or a session setting set inside it).
		return runErr
	}
	if err := restore(context.WithoutCancel(ctx)); err != nil {
		c.broken = true
		return errors.Join(runErr, fmt.Errorf("statement logging could not be restored on the connection (a pooled connection was closed): %w", err))
	}
	return runErr
}

func (c *Conn) quiet(ctx context.Context, errorsRepeat bool) (restore func(context.Context) error, err error) {
	local := c.InTx()
	prev := make([]*string, len(quietSettings))
	rows, err := c.conn.Query(ctx, "SELECT pg_catalog.current_setting(n, true) FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i) ORDER BY i", quietNames)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the logging settings: %w", pgaurora.ErrLogSuppression, err)
	}
	for i := 0; rows.Next(); i++ {
		if err := rows.Scan(&prev[i]); err != nil {
			rows.Close()
			return nil, fmt.Errorf("%w: reading the logging settings: %w", pgaurora.ErrLogSuppression, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: reading the logging settings: %w", pgaurora.ErrLogSuppression, err)
	}
	changed := make([]bool, len(quietSettings))
	set := func(ctx context.Context, name, value string) error {
		_, err := c.conn.Exec(ctx, "SELECT pg_catalog.set_config($1, $2, $3)", name, value, local)
		return err
	}
	restore = func(ctx context.Context) error {
		var errs []error
		for i, s := range quietSettings {
			if changed[i] {
				if err := set(ctx, s.name, *prev[i]); err != nil {
					errs = append(errs, fmt.Errorf("restoring %s: %w", s.name, err))
				}
			}
		}
		return errors.Join(errs...)
	}
	for i, s := range quietSettings {
		if prev[i] == nil || *prev[i] == s.value {
			continue // the server lacks it (an extension not loaded), or it is quiet already
		}
		if s.required || s.forErrors && errorsRepeat {
			if err := set(ctx, s.name, s.value); err != nil {
				if !local {
					_ = restore(context.WithoutCancel(ctx))
				}
				return nil, fmt.Errorf("%w: setting %s: %w", pgaurora.ErrLogSuppression, s.name, err)
			}
			changed[i] = true
			continue
		}
		// Best effort; inside a transaction a refusal must not abort it.
		ok, err := c.tryLocal(ctx, local, func() error { return set(ctx, s.name, s.value) })
		if err != nil {
			return nil, fmt.Errorf("%w: %w", pgaurora.ErrLogSuppression, err)
		}
		changed[i] = ok
	}
	return restore, nil
}

// tryLocal runs fn, inside a savepoint when in a transaction, and reports
// whether it succeeded; err is a failure of the savepoint itself.
func (c *Conn) tryLocal(ctx context.Context, inTx bool, fn func() error) (ok bool, err error) {
	if !inTx {
		return fn() == nil, nil
	}
	if _, err := c.conn.Exec(ctx, "SAVEPOINT pgaurora_quiet"); err != nil {
		return false, err
	}
	if fn() != nil {
		if _, err := c.conn.Exec(ctx, "ROLLBACK TO SAVEPOINT pgaurora_quiet"); err != nil {
			return false, err
		}
	} else {
		ok = true
	}
	_, err = c.conn.Exec(ctx, "RELEASE SAVEPOINT pgaurora_quiet")
	return ok, err
}

// Statement is one statement that carries secrets, for Run.
type Statement struct {
	// SQL and Args are the statement and its bind parameters.
	SQL  string
	Args []any
	// Secrets are removed from every error's text (connection-string
	// passwords are removed without being named).
	Secrets []string
	// OutsideTx refuses, before anything is sent, to run inside an open
	// transaction (for statements PostgreSQL refuses there, such as
	// CREATE SUBSCRIPTION that creates its slot).
	OutsideTx bool
	// Dest, when set, receives the statement's single result row.
	Dest []any
	// ErrorsRepeatSecret says the server's error for the statement may
	// quote the secret (pglogical's "dsn was: ..."), so the server's own
	// logging of errors must be off too (log_min_messages): the call
	// fails closed where the role may not turn it off. Otherwise that is
	// done where the role may.
	ErrorsRepeatSecret bool
}

// ErrInTransaction is matched by the error Run returns for a Statement
// with OutsideTx on a connection inside a transaction.
var ErrInTransaction = errors.New("this statement cannot run inside a transaction block: pass a pool, or a connection outside a transaction")

// Run runs one statement that carries secrets on a connection of q, with
// statement logging off around it (see the package docs).
func Run(ctx context.Context, q pgaurora.Querier, st Statement) error {
	c, err := Pin(ctx, q)
	if err != nil {
		return err
	}
	defer c.Release()
	if st.OutsideTx && c.InTx() {
		return ErrInTransaction
	}
	return c.quietRun(ctx, st.Secrets, st.ErrorsRepeatSecret, func(ctx context.Context) error {
		if st.Dest != nil {
			return c.conn.QueryRow(ctx, st.SQL, st.Args...).Scan(st.Dest...)
		}
		_, err := c.conn.Exec(ctx, st.SQL, st.Args...)
		return err
	})
}

// Scrub returns err with the secrets (and anything that looks like a
// password in a connection string) removed from its text; it keeps
// matching pgaurora.ErrLogSuppression, ErrInTransaction and the context
// errors where it did, and unwraps to a scrubbed copy of the server's
// *pgconn.PgError (SQLSTATE kept), so that callers can still classify it.
func Scrub(err error, secrets []string) error {
	return conninfo.ScrubError(err, secrets, pgaurora.ErrLogSuppression, ErrInTransaction, context.Canceled, context.DeadlineExceeded)
}

// CheckPassword applies the SDK's one password policy
// (scram.CheckPassword): printable ASCII, refused otherwise with an error
// matching pgaurora.ErrPassword.
func CheckPassword(field, password string) error { return scram.CheckPassword(field, password) }

// PasswordLiteral checks password with CheckPassword and returns the text
// to put after PASSWORD in CREATE ROLE or ALTER ROLE: the quoted
// SCRAM-SHA-256 verifier of the password with a random salt, so that the
// statement, and anything that records it, holds nothing that logs in.
func PasswordLiteral(field, password string) (string, error) {
	if err := CheckPassword(field, password); err != nil {
		return "", err
	}
	v, err := scram.Verifier(password, nil, scram.DefaultIterations)
	if err != nil {
		return "", err
	}
	return sqlquote.Literal(v)
}

// ConnSecrets returns the secret values of a connection string, as Scrub
// wants them.
func ConnSecrets(c pgaurora.ConnString) []string { return conninfo.SecretsOf(c.Reveal()) }

// Tx runs fn in one transaction on the held connection: when the
// connection is already in a transaction (the caller's), in that one, so
// that fn's work commits or rolls back with the caller's; otherwise in a
// new one, committed when fn returns nil and rolled back when it fails.
// fn's error is returned as it is; those of BEGIN and COMMIT are wrapped
// ("beginning a transaction: ...", "committing: ..."), so that callers
// need not track which one failed.
func (c *Conn) Tx(ctx context.Context, fn func(conn *pgx.Conn) error) error {
	if c.InTx() {
		return fn(c.conn)
	}
	tx, err := c.conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("beginning a transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(c.conn); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// SetLoginPassword gives a role LOGIN and a password, quietly (see
// Quiet): CREATE ROLE when create, ALTER ROLE otherwise. role is the
// quoted name (sqlquote.Ident); literal is PasswordLiteral(password),
// which callers compute before any side effect so that a refused password
// changes nothing. It returns the statement with the password REDACTED,
// as reports show it.
func (c *Conn) SetLoginPassword(ctx context.Context, role, literal, password string, create bool) (string, error) {
	verb := "ALTER"
	if create {
		verb = "CREATE"
	}
	stmt := verb + " ROLE " + role + " WITH LOGIN PASSWORD "
	err := c.Quiet(ctx, []string{password}, func(ctx context.Context) error {
		_, err := c.conn.Exec(ctx, stmt+literal)
		return err
	})
	return stmt + "'" + conninfo.Redacted + "'", err
}

// ExecAll runs statements in order on the held connection, and returns
// those that ran; at the first failure it stops and returns the failed
// statement with the error.
func (c *Conn) ExecAll(ctx context.Context, stmts []string) (ran []string, failed string, err error) {
	for _, s := range stmts {
		if _, err := c.conn.Exec(ctx, s); err != nil {
			return ran, s, err
		}
		ran = append(ran, s)
	}
	return ran, "", nil
}
