package logical

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Querier is the subset of *pgx.Conn, pgx.Tx and *pgxpool.Pool the client
// uses.
//
// Statements that carry a secret (a subscription's connection string, a
// CDC user's password) must run on one connection with statement logging
// turned off around them, so for those calls the Querier must pin a
// connection: a *pgxpool.Pool (a connection is acquired for the call),
// a *pgx.Conn, a pgx.Tx or a *pgxpool.Conn. Other implementations get
// ErrLogSuppression from those calls and nothing is sent.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Client runs logical replication SQL in one database: the one its
// Querier is connected to. Publications, subscriptions and logical slots
// belong to a database, so a cluster replicating several databases needs
// one Client per database. A Client is safe for concurrent use when its
// Querier is (a *pgxpool.Pool is).
//
// Most calls need a superuser (rds_superuser on Aurora): CREATE
// SUBSCRIPTION does on PostgreSQL 15, and so does reading a
// subscription's connection string.
type Client struct {
	q       Querier
	version atomic.Int64
}

// New returns a client over q.
func New(q Querier) *Client { return &Client{q: q} }

// Querier returns the querier the client runs on.
func (c *Client) Querier() Querier { return c.q }

// ServerVersion returns the server's server_version_num (150004 for
// 15.4), read once and remembered.
func (c *Client) ServerVersion(ctx context.Context) (int, error) {
	if v := c.version.Load(); v != 0 {
		return int(v), nil
	}
	var v int
	if err := c.q.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&v); err != nil {
		return 0, classify(err, "reading server_version_num")
	}
	c.version.Store(int64(v))
	return v, nil
}

// require fails with a *VersionError when the server is older than need.
func (c *Client) require(ctx context.Context, need int, feature string) error {
	have, err := c.ServerVersion(ctx)
	if err != nil {
		return err
	}
	if have < need {
		return &VersionError{Feature: feature, Need: need, Have: have}
	}
	return nil
}

// pinned is one connection held for a call.
type pinned struct {
	conn   *pgx.Conn
	pooled *pgxpool.Conn // set when acquired from a pool by this package
}

func (p *pinned) inTx() bool { return p.conn.PgConn().TxStatus() != 'I' }

// release returns a pooled connection to its pool, or destroys it when
// broken is set (its session state could not be restored).
func (p *pinned) release(broken bool) {
	if p.pooled == nil {
		return
	}
	if broken {
		c := p.pooled.Hijack()
		_ = c.Close(context.Background())
		return
	}
	p.pooled.Release()
}

func pin(ctx context.Context, q Querier) (*pinned, error) {
	switch v := q.(type) {
	case *pgx.Conn:
		return &pinned{conn: v}, nil
	case interface {
		Acquire(context.Context) (*pgxpool.Conn, error)
	}:
		c, err := v.Acquire(ctx)
		if err != nil {
			return nil, fmt.Errorf("logical: acquiring a connection: %w", err)
		}
		return &pinned{conn: c.Conn(), pooled: c}, nil
	case interface{ Conn() *pgx.Conn }:
		return &pinned{conn: v.Conn()}, nil
	}
	return nil, fmt.Errorf("%w: the Querier (%T) does not pin one connection; pass a *pgxpool.Pool, *pgx.Conn, pgx.Tx or *pgxpool.Conn", ErrLogSuppression, q)
}

// quietSettings are the settings that make the server record a
// statement's text where others can read it, and the values that keep it
// out: the server log (log_min_error_statement covers the STATEMENT line
// of an error), pgAudit's session log, pg_stat_statements (which keeps
// utility statements' text as sent) and pg_stat_activity while the
// statement runs. Settings the server lacks (an extension not loaded) and
// settings already at their quiet value are left alone. The log settings
// are required: if one cannot be changed, nothing is sent. The others are
// changed where the role may (a superuser may; rds_superuser's rights
// vary by setting) and otherwise left as they are.
var quietSettings = []struct {
	name, value string
	required    bool
}{
	{"log_statement", "none", true},
	{"log_min_duration_statement", "-1", true},
	{"log_min_duration_sample", "-1", true},
	{"log_transaction_sample_rate", "0", true},
	{"log_min_error_statement", "panic", true},
	{"pgaudit.log", "none", true},
	{"pg_stat_statements.track_utility", "off", false},
	{"pg_stat_statements.track", "none", false},
	{"track_activities", "off", false},
}

// quiet turns off statement logging on the pinned connection: for the
// session when it is idle, for the transaction when one is open. The
// returned function restores the previous values (in a transaction that
// was aborted, the rollback restores them instead).
func quiet(ctx context.Context, p *pinned) (restore func(context.Context) error, err error) {
	local := p.inTx()
	names := make([]string, len(quietSettings))
	for i, s := range quietSettings {
		names[i] = s.name
	}
	prev := make([]*string, len(names))
	rows, err := p.conn.Query(ctx, "SELECT current_setting(n, true) FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i) ORDER BY i", names)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the logging settings: %w", ErrLogSuppression, err)
	}
	i := 0
	for rows.Next() {
		if err := rows.Scan(&prev[i]); err != nil {
			rows.Close()
			return nil, fmt.Errorf("%w: reading the logging settings: %w", ErrLogSuppression, err)
		}
		i++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: reading the logging settings: %w", ErrLogSuppression, err)
	}
	changed := make([]bool, len(quietSettings))
	restore = func(ctx context.Context) error {
		var errs []error
		for i, s := range quietSettings {
			if !changed[i] {
				continue
			}
			if _, err := p.conn.Exec(ctx, "SELECT set_config($1, $2, $3)", s.name, *prev[i], local); err != nil {
				errs = append(errs, fmt.Errorf("restoring %s: %w", s.name, err))
			}
		}
		return errors.Join(errs...)
	}
	set := func(name, value string) error {
		_, err := p.conn.Exec(ctx, "SELECT set_config($1, $2, $3)", name, value, local)
		return err
	}
	for i, s := range quietSettings {
		if prev[i] == nil || *prev[i] == s.value {
			continue
		}
		if !s.required {
			// Best effort; in a transaction a failure must not abort it.
			if local {
				if _, err := p.conn.Exec(ctx, "SAVEPOINT pgaurora_quiet"); err != nil {
					return nil, fmt.Errorf("%w: %w", ErrLogSuppression, err)
				}
				if err := set(s.name, s.value); err != nil {
					if _, err := p.conn.Exec(ctx, "ROLLBACK TO SAVEPOINT pgaurora_quiet"); err != nil {
						return nil, fmt.Errorf("%w: %w", ErrLogSuppression, err)
					}
				} else {
					changed[i] = true
				}
				if _, err := p.conn.Exec(ctx, "RELEASE SAVEPOINT pgaurora_quiet"); err != nil {
					return nil, fmt.Errorf("%w: %w", ErrLogSuppression, err)
				}
			} else if set(s.name, s.value) == nil {
				changed[i] = true
			}
			continue
		}
		if err := set(s.name, s.value); err != nil {
			if !local {
				_ = restore(ctx)
			}
			return nil, fmt.Errorf("%w: setting %s: %w", ErrLogSuppression, s.name, err)
		}
		changed[i] = true
	}
	return restore, nil
}

// execSecret runs statements whose text holds secrets on one connection
// with statement logging off, then restores the logging settings. With
// allowTx false it refuses (before anything is sent) to run inside an
// open transaction, for statements PostgreSQL refuses there. Errors never
// hold the secrets. It returns how many statements ran.
func (c *Client) execSecret(ctx context.Context, allowTx bool, secrets []string, stmts ...string) (int, error) {
	p, err := pin(ctx, c.q)
	if err != nil {
		return 0, err
	}
	broken := false
	defer func() { p.release(broken) }()
	if !allowTx && p.inTx() {
		return 0, invalid("this statement cannot run inside a transaction block: pass a *pgxpool.Pool or a *pgx.Conn outside a transaction")
	}
	restore, err := quiet(ctx, p)
	if err != nil {
		return 0, err
	}
	done := 0
	var runErr error
	for _, s := range stmts {
		if _, err := p.conn.Exec(ctx, s); err != nil {
			runErr = scrub(err, secrets...)
			break
		}
		done++
	}
	if p.inTx() && runErr != nil {
		// The transaction is aborted; its rollback restores the settings.
		return done, runErr
	}
	if err := restore(context.WithoutCancel(ctx)); err != nil {
		broken = true
		err = fmt.Errorf("logical: statement logging could not be restored on the connection (a pooled connection was closed): %w", err)
		return done, errors.Join(runErr, err)
	}
	return done, runErr
}
