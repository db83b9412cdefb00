package extensions

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/misuse"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// Client manages extensions over one pgaurora.Querier. Its methods are
// safe for concurrent use when the Querier is (a *pgxpool.Pool is; a *pgx.Conn or
// pgx.Tx is not).
//
// Make one with New: the zero Client is not usable.
type Client struct {
	q pgaurora.Querier
}

// New returns a Client that runs its SQL on q.
// A nil q gives a client whose every call fails with an error.
func New(q pgaurora.Querier) *Client { return &Client{q: misuse.Querier(q, "extensions")} }

// ErrInvalid is matched (with errors.Is) by every error about bad input:
// empty or unquotable names, unknown option values. Such errors are
// returned before any SQL runs.
var ErrInvalid = errors.New("extensions: invalid input")

// ErrNotInstalled is matched by errors about an extension that is not
// installed in the database when it must be.
var ErrNotInstalled = errors.New("extensions: extension not installed")

// ErrNotAvailable is matched by errors about an extension the server does
// not have (no control file, so not in pg_available_extensions).
var ErrNotAvailable = errors.New("extensions: extension not available on this server")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// ident quotes an identifier a caller gave, naming the field on error.
func ident(field string, parts ...string) (string, error) {
	s, err := sqlquote.Ident(parts...)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrInvalid, field, err)
	}
	return s, nil
}

// literal quotes a string literal a caller gave, naming the field on error.
func literal(field, s string) (string, error) {
	l, err := sqlquote.Literal(s)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrInvalid, field, err)
	}
	return strings.TrimSpace(l), nil
}
