package pgaurora

import (
	"errors"

	"github.com/pgaurora/pgaurora/internal/scram"
)

// ErrLogSuppression is matched by errors.Is when a call that sends a
// secret (a password in a role definition or a connection string) did
// not send it, because it could not keep the statement out of the
// server's logs: the Querier cannot lend one connection, or the role may
// not turn statement logging, pgAudit and statement statistics off for
// it. Nothing was sent or changed.
var ErrLogSuppression = errors.New("cannot keep the statement that carries a secret out of the server's logs")

// ErrPassword is matched by errors.Is when a password is refused before
// anything is sent: it is empty, or holds a character outside printable
// ASCII. PostgreSQL normalizes other passwords (SASLprep) before hashing
// them, which the SDK does not reproduce, so every package refuses them
// alike rather than store a password that would not log in.
var ErrPassword = scram.ErrPassword

// checkPassword is the SDK's one password policy (scram.CheckPassword).
func checkPassword(field, password string) error { return scram.CheckPassword(field, password) }
