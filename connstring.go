package pgaurora

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pgaurora/pgaurora/internal/conninfo"
	"github.com/pgaurora/pgaurora/internal/redact"
)

// ConnString is a libpq connection string: keyword/value pairs such as
// host, port, dbname, user, password and sslmode. It is the SDK's one
// connection-string type: pglogical nodes and subscriptions, native
// subscriptions (CREATE SUBSCRIPTION ... CONNECTION) and pglogical's
// extra connection options take one.
//
// A ConnString never shows its password: String, every fmt verb (%v,
// %s, %q, %+v, %#v, %d), slog and JSON leave it out ("password=REDACTED"
// in String; JSON drops the password keywords, so a saved string is
// usable with WithPassword). Reveal returns the real string; the SDK uses
// it only in statements it sends through its secret path.
//
// The zero ConnString is empty. ConnString values are immutable: With
// returns a new one.
type ConnString struct {
	info conninfo.Info
	// raw is set, and info empty, for a string read from a server
	// catalog that could not be parsed; it is kept only to be handed
	// back.
	raw string
}

// ErrConnString is matched by errors.Is for every error about a
// connection string: an unknown keyword, a NUL byte, bad quoting. The
// error never quotes the string, which may hold a password.
var ErrConnString = errors.New("invalid connection string")

func connErr(err error) error { return fmt.Errorf("%w: %w", ErrConnString, err) }

// NewConnString builds a ConnString from keywords and values, for example
//
//	pgaurora.NewConnString(map[string]string{
//		"host": "publisher.cluster-xyz.us-east-1.rds.amazonaws.com",
//		"port": "5432", "dbname": "app", "user": "repl",
//		"password": pw, "sslmode": "verify-full",
//	})
//
// Keywords must be libpq's; values may hold any text but NUL (they are
// quoted as needed). An empty value is kept (libpq reads it as empty). A
// password must pass the SDK's password policy (printable ASCII; see
// ErrPassword).
func NewConnString(params map[string]string) (ConnString, error) {
	c, err := conninfo.New(params)
	if err != nil {
		return ConnString{}, connErr(err)
	}
	return checked(c)
}

// ParseConnString parses a connection string in libpq's keyword/value form
// (host=h port=5432 password='a b', with single quotes and backslash
// escapes) or URI form (postgresql://user:password@host:port/dbname?sslmode=require).
// A keyword given twice keeps its last value, as in libpq.
func ParseConnString(s string) (ConnString, error) {
	c, err := conninfo.Parse(s)
	if err != nil {
		return ConnString{}, connErr(err)
	}
	return checked(c)
}

// checked applies the password policy to a parsed string.
func checked(c conninfo.Info) (ConnString, error) {
	if pw, ok := c.Get("password"); ok && pw != "" {
		if err := checkPassword("the connection string's password", pw); err != nil {
			return ConnString{}, err
		}
	}
	return ConnString{info: c}, nil
}

// ConnStringFromCatalog reads a connection string that a server stored
// (pglogical's node interfaces and subscriptions, pg_subscription): one it
// cannot parse is kept as it is, so that it can be handed back to the
// server, and prints as "(unparsed connection string, redacted)".
func ConnStringFromCatalog(s string) ConnString {
	c, err := conninfo.Parse(s)
	if err != nil {
		return ConnString{raw: s}
	}
	return ConnString{info: c}
}

// With returns a copy with keyword set to value.
func (c ConnString) With(keyword, value string) (ConnString, error) {
	if c.raw != "" {
		return ConnString{}, fmt.Errorf("%w: cannot edit a connection string that could not be parsed", ErrConnString)
	}
	out, err := c.info.With(keyword, value)
	if err != nil {
		return ConnString{}, connErr(err)
	}
	return checked(out)
}

// WithPassword returns a copy with the password set.
func (c ConnString) WithPassword(password string) (ConnString, error) {
	if err := checkPassword("the password", password); err != nil {
		return ConnString{}, err
	}
	return c.With("password", password)
}

// Without returns a copy without keyword.
func (c ConnString) Without(keyword string) ConnString {
	if c.raw != "" {
		return c
	}
	return ConnString{info: c.info.Without(keyword)}
}

// Get returns a keyword's value and whether it is set. Secret keywords
// (password, sslpassword) are never returned: use HasPassword, or Reveal
// for the whole string.
func (c ConnString) Get(keyword string) (string, bool) {
	if conninfo.IsSecret(keyword) {
		return "", false
	}
	return c.info.Get(keyword)
}

// HasPassword reports whether the string carries a password (for an
// unparsed string: whether it may).
func (c ConnString) HasPassword() bool {
	if c.raw != "" {
		return strings.Contains(strings.ToLower(c.raw), "password") || strings.Contains(c.raw, "@")
	}
	return c.info.HasSecret()
}

// Keywords returns the keywords set, in output order.
func (c ConnString) Keywords() []string { return c.info.Keywords() }

// IsZero reports whether the string is empty.
func (c ConnString) IsZero() bool { return c.info.IsZero() && c.raw == "" }

// Equal reports whether both hold the same keywords and values, password
// included.
func (c ConnString) Equal(o ConnString) bool { return c.raw == o.raw && c.info.Equal(o.info) }

// Reveal returns the real connection string, password included, in
// keyword/value form. Pass it only where the password must reach (a
// connection attempt, a statement sent through the SDK's secret path);
// never print or log it.
func (c ConnString) Reveal() string {
	if c.raw != "" {
		return c.raw
	}
	return c.info.Reveal()
}

// String returns the connection string with every secret value replaced
// by REDACTED.
func (c ConnString) String() string {
	if c.raw != "" {
		return "(unparsed connection string, redacted)"
	}
	return c.info.String()
}

// Format implements fmt.Formatter so that no verb prints the password.
func (c ConnString) Format(f fmt.State, verb rune) { redact.Format(f, verb, c.String(), c.GoString()) }

// GoString returns a Go-syntax-like, redacted representation.
func (c ConnString) GoString() string { return redact.GoString("pgaurora.ConnString", c.String()) }

// LogValue makes slog print the redacted string.
func (c ConnString) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON encodes the string without its secrets: the password
// keywords are left out, not redacted, so the result is a usable string
// that authenticates some other way or gets WithPassword. A saved
// description therefore never holds a password.
func (c ConnString) MarshalJSON() ([]byte, error) {
	if c.raw != "" {
		return nil, fmt.Errorf("%w: cannot encode a connection string that could not be parsed", ErrConnString)
	}
	return json.Marshal(c.info.Public())
}

// UnmarshalJSON decodes a JSON string with ParseConnString.
func (c *ConnString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w: %w", ErrConnString, err)
	}
	p, err := ParseConnString(s)
	if err != nil {
		return err
	}
	*c = p
	return nil
}
