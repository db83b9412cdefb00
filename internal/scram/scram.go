// Package scram computes the SCRAM-SHA-256 password verifiers PostgreSQL
// stores, so that CREATE ROLE and ALTER ROLE ... PASSWORD can carry the
// verifier instead of the password: the statement, and every log or audit
// line that records it, then holds nothing that logs in.
package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
)

// DefaultIterations is PostgreSQL's scram_iterations default.
const DefaultIterations = 4096

// ErrPassword is matched by errors.Is when CheckPassword refuses a
// password (pgaurora.ErrPassword is this error).
var ErrPassword = errors.New("password refused")

// CheckPassword applies the SDK's one password policy: a password is
// non-empty printable ASCII (space to tilde). PostgreSQL normalizes other
// passwords (SASLprep) before hashing them, which Verifier does not
// reproduce, so every package refuses them alike rather than store a
// password that would not log in. The error matches ErrPassword, names
// field and never holds the password.
func CheckPassword(field, password string) error {
	if password == "" {
		return fmt.Errorf("%w: %s is empty", ErrPassword, field)
	}
	for i := 0; i < len(password); i++ {
		if c := password[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("%w: %s holds a character outside printable ASCII (at byte %d); PostgreSQL normalizes such passwords (SASLprep) in a way the SDK does not reproduce",
				ErrPassword, field, i)
		}
	}
	return nil
}

// Verifier computes the SCRAM-SHA-256 verifier PostgreSQL stores in
// pg_authid.rolpassword (RFC 5802, RFC 7677):
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>. A nil salt
// is replaced by 16 random bytes.
func Verifier(password string, salt []byte, iterations int) (string, error) {
	if salt == nil {
		salt = make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return "", fmt.Errorf("scram: generating a salt: %w", err)
		}
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("scram: hashing the password: %w", err)
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	serverKey := mac(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return "SCRAM-SHA-256$" + strconv.Itoa(iterations) + ":" + b64(salt) + "$" + b64(stored[:]) + ":" + b64(serverKey), nil
}
