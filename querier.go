package pgaurora

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier is how every package of the SDK reaches PostgreSQL. *pgx.Conn,
// pgx.Tx, *pgxpool.Pool, *pgxpool.Conn and *aurora.Pool satisfy it.
//
// Begin starts a transaction (a savepoint inside pgx.Tx), so that a call
// made inside the caller's transaction stays inside it.
//
// Calls that send a secret (a password in a connection string or a role
// definition) also need one connection held for the duration of the call,
// so that the settings that keep the secret out of the server log apply
// to the statement that carries it. *pgx.Conn, pgx.Tx and *pgxpool.Conn
// are one connection; *pgxpool.Pool and *aurora.Pool lend one through
// their Acquire method. Any other Querier gets an error from those calls,
// before anything is sent.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}
