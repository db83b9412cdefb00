package pglogical

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/pgaurora/pgaurora/internal/conninfo"
)

// DSN is a libpq connection string in keyword=value form, as pglogical
// takes it for nodes, interfaces and subscriptions.
//
// A DSN never shows its password: String, every fmt verb (%v, %s, %q,
// %+v, %#v), slog and JSON print it without the secret ("password=REDACTED"
// in String, no password at all in JSON). Secret returns the real string;
// this package uses it only as a bind parameter of pglogical's functions.
//
// The zero DSN is empty. DSN values are immutable: the With methods return
// a new DSN.
type DSN struct {
	info conninfo.Info
	// raw is set, and info empty, for a DSN read from a server catalog
	// that this package could not parse; it is kept only to be handed
	// back.
	raw string
}

// dsnErr turns a connection-string error into one matching ErrInvalid.
func dsnErr(err error) error { return fmt.Errorf("%w: %w", ErrInvalid, err) }

// NewDSN builds a DSN from keywords and values, for example
//
//	pglogical.NewDSN(map[string]string{
//		"host": "provider.cluster-xyz.us-east-1.rds.amazonaws.com",
//		"port": "5432", "dbname": "labdb", "user": "postgres",
//		"password": pw, "sslmode": "require",
//	})
//
// Keywords must be libpq's; values may hold any text but NUL (they are
// quoted as needed). An empty value is kept (libpq reads it as empty).
func NewDSN(params map[string]string) (DSN, error) {
	c, err := conninfo.New(params)
	if err != nil {
		return DSN{}, dsnErr(err)
	}
	return DSN{info: c}, nil
}

// ParseDSN parses a connection string in libpq's keyword=value form (single
// quotes around values, backslash escapes) or URI form
// (postgresql://user:password@host:port/dbname?sslmode=require). Keywords
// must be libpq's; a keyword given twice keeps its last value, as in libpq.
// Errors never quote the string, which may hold a password.
func ParseDSN(s string) (DSN, error) {
	c, err := conninfo.Parse(s)
	if err != nil {
		return DSN{}, dsnErr(err)
	}
	return DSN{info: c}, nil
}

// parseCatalogDSN parses a DSN read from a pglogical catalog. A string this
// package cannot parse is kept as it is, so that it can still be handed
// back to pglogical, and prints as "(unparsed DSN, redacted)".
func parseCatalogDSN(s string) DSN {
	d, err := ParseDSN(s)
	if err != nil {
		return DSN{raw: s}
	}
	return d
}

// With returns a copy of d with keyword set to value.
func (d DSN) With(keyword, value string) (DSN, error) {
	c, err := d.info.With(keyword, value)
	if err != nil {
		return DSN{}, dsnErr(err)
	}
	if d.raw != "" {
		return DSN{}, invalid("DSN: cannot edit a connection string this package could not parse")
	}
	return DSN{info: c}, nil
}

// WithPassword returns a copy of d with the password set.
func (d DSN) WithPassword(password string) (DSN, error) { return d.With("password", password) }

// Without returns a copy of d without keyword.
func (d DSN) Without(keyword string) DSN {
	if d.raw != "" {
		return d
	}
	return DSN{info: d.info.Without(keyword)}
}

// Get returns a keyword's value and whether it is set. Secret keywords
// (password, sslpassword) are never returned: use HasPassword, or Secret
// for the whole string.
func (d DSN) Get(keyword string) (string, bool) {
	if conninfo.IsSecret(keyword) {
		return "", false
	}
	return d.info.Get(keyword)
}

// HasPassword reports whether the DSN carries a password.
func (d DSN) HasPassword() bool {
	if d.raw != "" {
		return strings.Contains(strings.ToLower(d.raw), "password") || strings.Contains(d.raw, "@")
	}
	return d.info.HasSecret()
}

// Keywords returns the keywords set, in output order.
func (d DSN) Keywords() []string { return d.info.Keywords() }

// IsZero reports whether the DSN is empty.
func (d DSN) IsZero() bool { return d.info.IsZero() && d.raw == "" }

// Equal reports whether two DSNs hold the same keywords and values,
// password included.
func (d DSN) Equal(o DSN) bool { return d.raw == o.raw && d.info.Equal(o.info) }

// Secret returns the real connection string, password included. Pass it
// only where the password must reach (a bind parameter of a pglogical
// function, a connection attempt); never print or log it.
func (d DSN) Secret() string {
	if d.raw != "" {
		return d.raw
	}
	return d.info.Reveal()
}

// String returns the connection string with every secret value replaced by
// REDACTED.
func (d DSN) String() string {
	if d.raw != "" {
		return "(unparsed DSN, redacted)"
	}
	return d.info.String()
}

// secretValues returns the secret values the DSN holds, for scrubbing them
// out of error messages.
func (d DSN) secretValues() []string { return d.info.Secrets() }

// Format implements fmt.Formatter so that no verb prints the password.
func (d DSN) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'q':
		fmt.Fprint(f, strconv.Quote(d.String()))
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, d.GoString())
	default:
		fmt.Fprint(f, d.String())
	}
}

// GoString returns a Go-syntax-like, redacted representation.
func (d DSN) GoString() string { return "pglogical.DSN(" + strconv.Quote(d.String()) + ")" }

// LogValue makes slog print the redacted string.
func (d DSN) LogValue() slog.Value { return slog.StringValue(d.String()) }

// MarshalJSON encodes the DSN as a JSON string without its secrets (the
// password keywords are left out, not redacted, so the result is a usable
// DSN that authenticates some other way or gets WithPassword). A saved
// description therefore never holds a password.
func (d DSN) MarshalJSON() ([]byte, error) {
	if d.raw != "" {
		return nil, fmt.Errorf("pglogical: cannot encode a connection string this package could not parse")
	}
	return json.Marshal(d.info.Public())
}

// UnmarshalJSON decodes a JSON string with ParseDSN.
func (d *DSN) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("pglogical: decoding a DSN: %w", err)
	}
	p, err := ParseDSN(s)
	if err != nil {
		return err
	}
	*d = p
	return nil
}
