// Package misuse turns the SDK's misuse by callers (a nil Querier, a zero
// client) into errors instead of panics.
package misuse

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora"
)

// ErrNoDatabase is wrapped by the error every call of a client without a
// database returns.
var ErrNoDatabase = errors.New("no database: the client was made without a Querier (use New with a *pgx.Conn, pgx.Tx, *pgxpool.Pool or *aurora.Pool)")

// Querier returns q, or, when q is nil, a Querier whose every call fails
// with an error naming pkg and matching ErrNoDatabase.
func Querier(q pgaurora.Querier, pkg string) pgaurora.Querier {
	if q == nil {
		return none{fmt.Errorf("%s: %w", pkg, ErrNoDatabase)}
	}
	return q
}

type none struct{ err error }

func (n none) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, n.err
}
func (n none) Query(context.Context, string, ...any) (pgx.Rows, error) { return nil, n.err }
func (n none) QueryRow(context.Context, string, ...any) pgx.Row        { return row(n) }
func (n none) Begin(context.Context) (pgx.Tx, error)                   { return nil, n.err }

type row struct{ err error }

func (r row) Scan(...any) error { return r.err }
