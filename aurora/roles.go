package aurora

import (
	"fmt"

	"github.com/pgaurora/pgaurora/internal/secretsql"
)

// PasswordSQL returns the text to put after PASSWORD in CREATE ROLE or
// ALTER ROLE: the quoted SCRAM-SHA-256 verifier of password, with a random
// salt. The statement, and every log or pgAudit line that records it, then
// holds nothing that logs in. The password must be printable ASCII, the
// SDK's one password policy: others are refused with an error matching
// pgaurora.ErrPassword, since PostgreSQL normalizes them (SASLprep) before
// hashing, which this function does not reproduce.
func PasswordSQL(password string) (string, error) {
	lit, err := secretsql.PasswordLiteral("password", password)
	if err != nil {
		return "", fmt.Errorf("aurora: PasswordSQL: %w", err)
	}
	return lit, nil
}
