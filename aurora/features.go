package aurora

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/extensions"
	"github.com/pgaurora/pgaurora/logical"
	"github.com/pgaurora/pgaurora/pgaudit"
	"github.com/pgaurora/pgaurora/pglogical"
)

// writerQuerier runs every call on the writer pool, opening it on first
// use with the call's context, so feature clients can be handed out
// without a context or a connection.
type writerQuerier struct{ c *Cluster }

func (w writerQuerier) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	p, err := w.c.Writer(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	return p.Exec(ctx, sql, args...)
}

func (w writerQuerier) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	p, err := w.c.Writer(ctx)
	if err != nil {
		return nil, err
	}
	return p.Query(ctx, sql, args...)
}

func (w writerQuerier) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	p, err := w.c.Writer(ctx)
	if err != nil {
		return &row{err: err}
	}
	return p.QueryRow(ctx, sql, args...)
}

func (w writerQuerier) Begin(ctx context.Context) (pgx.Tx, error) {
	p, err := w.c.Writer(ctx)
	if err != nil {
		return nil, err
	}
	return p.Begin(ctx)
}

// Acquire lends one connection of the writer pool (see Pool.Acquire).
func (w writerQuerier) Acquire(ctx context.Context) (*pgxpool.Conn, error) {
	p, err := w.c.Writer(ctx)
	if err != nil {
		return nil, err
	}
	return p.Acquire(ctx)
}

// SQL returns a Querier on the writer that opens the writer pool on first
// use. The feature clients below run over it.
func (c *Cluster) SQL() pgaurora.Querier { return writerQuerier{c} }

// Audit returns the pgAudit client, running on the writer.
func (c *Cluster) Audit() *pgaudit.Client { return pgaudit.New(c.SQL()) }

// PgLogical returns the pglogical client, running on the writer in the
// Cluster's database.
func (c *Cluster) PgLogical() *pglogical.Client { return pglogical.New(c.SQL()) }

// Logical returns the client of PostgreSQL's native logical replication
// (publications, subscriptions, slots, CDC users), running on the writer
// in the Cluster's database.
func (c *Cluster) Logical() *logical.Client { return logical.New(c.SQL()) }

// Extensions returns the extensions client, running on the writer.
func (c *Cluster) Extensions() *extensions.Client { return extensions.New(c.SQL()) }
