package aurora

import (
	"errors"

	"github.com/pgaurora/pgaurora/internal/scram"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// PasswordSQL returns the text to put after PASSWORD in CREATE ROLE or
// ALTER ROLE: the quoted SCRAM-SHA-256 verifier of password, with a random
// salt. The statement, and every log or pgAudit line that records it, then
// holds nothing that logs in. PostgreSQL normalizes non-ASCII passwords
// (SASLprep) before hashing them, which this function does not do, so
// those are refused.
func PasswordSQL(password string) (string, error) {
	if password == "" {
		return "", errors.New("aurora: empty password")
	}
	if !scram.IsASCII(password) {
		return "", errors.New("aurora: PasswordSQL takes ASCII passwords only")
	}
	v, err := scram.Verifier(password, nil, scram.DefaultIterations)
	if err != nil {
		return "", err
	}
	return sqlquote.Literal(v)
}
