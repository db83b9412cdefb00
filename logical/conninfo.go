package logical

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/pgaurora/pgaurora/internal/conninfo"
)

const redacted = conninfo.Redacted

// ConnInfo is a libpq connection string, as CREATE SUBSCRIPTION ...
// CONNECTION takes it: keyword/value pairs such as host, port, dbname,
// user, password and sslmode.
//
// A ConnInfo never shows its password: String, every fmt verb (%v, %s,
// %q, %+v, %#v), slog and JSON print "password=REDACTED" (sslpassword
// too). Reveal returns the real string; this package uses it only in the
// statements that need it, which it sends with statement logging off.
//
// The zero ConnInfo is empty. ConnInfo values are immutable: With returns
// a new one.
type ConnInfo struct {
	info conninfo.Info
}

// connErr turns a connection-string error into one matching ErrInvalid.
func connErr(err error) error { return fmt.Errorf("%w: %w", ErrInvalid, err) }

// NewConnInfo builds a ConnInfo from keywords and values, for example
//
//	logical.NewConnInfo(map[string]string{
//		"host": "publisher.cluster-xyz.us-east-1.rds.amazonaws.com",
//		"port": "5432", "dbname": "app", "user": "repl",
//		"password": pw, "sslmode": "verify-full",
//	})
//
// Keywords must be libpq's; values may hold any text but NUL.
func NewConnInfo(params map[string]string) (ConnInfo, error) {
	c, err := conninfo.New(params)
	if err != nil {
		return ConnInfo{}, connErr(err)
	}
	return ConnInfo{c}, nil
}

// ParseConnInfo parses a connection string in libpq's keyword/value form
// (host=h port=5432 password='a b', with single quotes and backslash
// escapes) or URI form (postgresql://user:password@host:port/dbname?sslmode=require,
// several hosts separated by commas). A keyword given twice keeps its
// last value, as in libpq. Errors never quote the string, which may hold a
// password.
func ParseConnInfo(s string) (ConnInfo, error) {
	c, err := conninfo.Parse(s)
	if err != nil {
		return ConnInfo{}, connErr(err)
	}
	return ConnInfo{c}, nil
}

// Get returns the value of a keyword and whether it is set. It returns
// secrets too: do not print the result for "password".
func (c ConnInfo) Get(key string) (string, bool) { return c.info.Get(key) }

// With returns a copy with the keyword set to value (replacing an earlier
// value).
func (c ConnInfo) With(key, value string) (ConnInfo, error) {
	out, err := c.info.With(key, value)
	if err != nil {
		return ConnInfo{}, connErr(err)
	}
	return ConnInfo{out}, nil
}

// Without returns a copy without the keyword.
func (c ConnInfo) Without(key string) ConnInfo { return ConnInfo{c.info.Without(key)} }

// IsZero reports whether the connection string is empty.
func (c ConnInfo) IsZero() bool { return c.info.IsZero() }

// HasPassword reports whether a password is set.
func (c ConnInfo) HasPassword() bool {
	_, ok := c.info.Get("password")
	return ok
}

// secrets returns the values that must never be printed, for scrub.
func (c ConnInfo) secrets() []string { return c.info.Secrets() }

// Reveal returns the full connection string in keyword/value form, with
// its password. Never log or print it.
func (c ConnInfo) Reveal() string { return c.info.Reveal() }

// String returns the connection string with secrets replaced by REDACTED.
func (c ConnInfo) String() string { return c.info.String() }

// Format prints the redacted form for every verb, so that %#v and %+v
// cannot reach the password either.
func (c ConnInfo) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", c.String())
		return
	}
	fmt.Fprint(f, c.String())
}

// LogValue makes slog print the redacted form.
func (c ConnInfo) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON encodes the redacted form as a JSON string.
func (c ConnInfo) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }
