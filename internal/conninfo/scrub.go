package conninfo

import (
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

var (
	passwordKVRe  = regexp.MustCompile(`(?i)\b(password|sslpassword)\s*=\s*('(?:[^'\\]|\\.)*'?|\S*)`)
	passwordURIRe = regexp.MustCompile(`(?i)(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@`)
)

// Redact returns s with every given secret replaced by REDACTED, and with
// anything that looks like a password in a connection string
// (password=..., sslpassword=..., postgresql://user:...@) redacted too.
// Every non-empty secret is replaced wherever it appears, however short:
// a very short password garbles the text rather than leak.
func Redact(s string, secrets []string) string {
	// Longest first, so that a secret's quoted form is replaced whole.
	secrets = slices.Clone(secrets)
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	s = passwordKVRe.ReplaceAllString(s, "${1}="+Redacted)
	s = passwordURIRe.ReplaceAllString(s, "${1}"+Redacted+"@")
	return s
}

// ScrubPgError returns a copy of a server error with Redact applied to
// every text field that can carry a statement or a connection string
// (Message, Detail, Hint, Where, InternalQuery, Routine). SQLSTATE and the
// other fields are kept.
func ScrubPgError(pg *pgconn.PgError, secrets []string) *pgconn.PgError {
	clean := *pg
	for _, f := range []*string{&clean.Message, &clean.Detail, &clean.Hint, &clean.Where, &clean.InternalQuery, &clean.Routine} {
		*f = Redact(*f, secrets)
	}
	return &clean
}

// ScrubError returns err unchanged when Redact finds nothing to take out of
// its text. Otherwise it returns an error with the redacted text that
// still matches (errors.Is) those of keep that err matched, and unwraps to
// a scrubbed copy of the *pgconn.PgError in err's chain, when there is
// one; nothing else of the original chain is kept, so no error in it can
// print a secret.
func ScrubError(err error, secrets []string, keep ...error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := Redact(msg, secrets)
	if clean == msg {
		return err
	}
	s := &scrubbed{msg: clean}
	for _, target := range keep {
		if errors.Is(err, target) {
			s.is = append(s.is, target)
		}
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		s.cause = ScrubPgError(pg, secrets)
	}
	return s
}

// scrubbed is an error whose text had a secret masked.
type scrubbed struct {
	msg   string
	is    []error
	cause error
}

func (e *scrubbed) Error() string        { return e.msg }
func (e *scrubbed) Unwrap() error        { return e.cause }
func (e *scrubbed) Is(target error) bool { return slices.Contains(e.is, target) }

// SecretsOf returns the secret values of a connection string (as Info's
// Secrets does), or the whole string when it cannot be parsed, for
// scrubbing them out of error text.
func SecretsOf(s string) []string {
	c, err := Parse(s)
	if err != nil {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	return c.Secrets()
}
