// Package sqlquote is the one place where identifiers and literals are quoted
// for PostgreSQL. Every identifier that the SDK puts into SQL text goes
// through Ident; Literal exists only for the few places where PostgreSQL
// cannot take a bind parameter (for example ALTER ROLE ... SET or the
// argument of a utility statement). Values that can be bind parameters must
// be bind parameters.
//
// Both functions refuse, with an error, input that PostgreSQL could not store
// faithfully: NUL bytes and invalid UTF-8 (the SDK always talks UTF8 to the
// server). Ident also refuses empty names and names longer than 63 bytes,
// which PostgreSQL would silently truncate.
package sqlquote

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxIdentifierLength is PostgreSQL's NAMEDATALEN-1: the longest identifier,
// in bytes, that the server keeps without truncating it.
const MaxIdentifierLength = 63

// ErrInvalid is matched by errors.Is for every error this package returns.
var ErrInvalid = errors.New("sqlquote: invalid input")

func check(what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s contains a NUL byte", ErrInvalid, what)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, what)
	}
	return nil
}

// Ident quotes a possibly schema-qualified identifier: Ident("s", "t") is
// "s"."t". Each part is double-quoted with embedded double quotes doubled, so
// the server sees exactly the given name, case and all.
func Ident(parts ...string) (string, error) {
	if len(parts) == 0 {
		return "", fmt.Errorf("%w: identifier has no parts", ErrInvalid)
	}
	var b strings.Builder
	for i, p := range parts {
		if p == "" {
			return "", fmt.Errorf("%w: identifier part %d is empty", ErrInvalid, i+1)
		}
		if len(p) > MaxIdentifierLength {
			return "", fmt.Errorf("%w: identifier %q is %d bytes long; PostgreSQL keeps at most %d", ErrInvalid, p, len(p), MaxIdentifierLength)
		}
		if err := check("identifier", p); err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(p, `"`, `""`))
		b.WriteByte('"')
	}
	return b.String(), nil
}

// MustIdent is Ident for names fixed in the SDK's own source (catalog names,
// role names such as rds_pgaudit). It panics on invalid input, so it must
// never be given a caller's string.
func MustIdent(parts ...string) string {
	s, err := Ident(parts...)
	if err != nil {
		panic(err)
	}
	return s
}

// Literal quotes s as a string literal. Single quotes are doubled; when s
// holds a backslash the literal uses the E'...' form with backslashes doubled,
// so the result means the same whatever standard_conforming_strings is
// (the rule libpq's PQescapeLiteral follows).
func Literal(s string) (string, error) {
	if err := check("literal", s); err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(s) + 3)
	if strings.IndexByte(s, '\\') >= 0 {
		b.WriteString(" E'")
	} else {
		b.WriteByte('\'')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\'':
			b.WriteString("''")
		case '\\':
			b.WriteString(`\\`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String(), nil
}
