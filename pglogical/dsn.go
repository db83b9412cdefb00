package pglogical

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

const redacted = "REDACTED"

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
	kv []kv
	// raw is set, and kv empty, for a DSN read from a server catalog that
	// this package could not parse; it is kept only to be handed back.
	raw string
}

type kv struct{ key, value string }

// libpq's connection keywords (PostgreSQL 15, plus the few later ones that
// newer client libraries send). Unknown keywords make libpq refuse the
// whole string, so they are refused here first.
var dsnKeywords = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true,
	"password": true, "passfile": true, "channel_binding": true, "connect_timeout": true,
	"client_encoding": true, "options": true, "application_name": true,
	"fallback_application_name": true, "keepalives": true, "keepalives_idle": true,
	"keepalives_interval": true, "keepalives_count": true, "tcp_user_timeout": true,
	"replication": true, "sslmode": true, "requiressl": true, "sslcompression": true,
	"sslcert": true, "sslkey": true, "sslpassword": true, "sslrootcert": true,
	"sslcrl": true, "sslcrldir": true, "sslsni": true, "requirepeer": true,
	"ssl_min_protocol_version": true, "ssl_max_protocol_version": true,
	"gssencmode": true, "krbsrvname": true, "gsslib": true, "service": true,
	"target_session_attrs": true, "load_balance_hosts": true, "require_auth": true,
	"sslcertmode": true, "gssdelegation": true, "sslnegotiation": true,
}

// secretKeywords are the keywords whose values are never printed.
var secretKeywords = map[string]bool{"password": true, "sslpassword": true}

// keyword order of String and Secret: the usual ones first, then the rest
// alphabetically.
var keywordRank = map[string]int{"host": 1, "hostaddr": 2, "port": 3, "dbname": 4, "user": 5, "password": 6}

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
	var d DSN
	for k, v := range params {
		if err := checkKV(k, v); err != nil {
			return DSN{}, err
		}
		d.kv = append(d.kv, kv{k, v})
	}
	d.sort()
	return d, nil
}

func checkKV(k, v string) error {
	if !dsnKeywords[k] {
		return invalid("DSN keyword %q is not a libpq connection keyword (for example host, port, dbname, user, password, sslmode)", k)
	}
	if strings.IndexByte(v, 0) >= 0 {
		return invalid("DSN value of %q contains a NUL byte", k)
	}
	if !utf8.ValidString(v) {
		return invalid("DSN value of %q is not valid UTF-8", k)
	}
	return nil
}

func (d *DSN) sort() {
	slices.SortStableFunc(d.kv, func(a, b kv) int {
		ra, rb := keywordRank[a.key], keywordRank[b.key]
		if ra == 0 {
			ra = 100
		}
		if rb == 0 {
			rb = 100
		}
		if ra != rb {
			return ra - rb
		}
		return strings.Compare(a.key, b.key)
	})
}

// ParseDSN parses a connection string in libpq's keyword=value form (single
// quotes around values, backslash escapes) or URI form
// (postgresql://user:password@host:port/dbname?sslmode=require). Keywords
// must be libpq's; a keyword given twice keeps its last value, as in libpq.
// Errors never quote the string, which may hold a password.
func ParseDSN(s string) (DSN, error) {
	if strings.HasPrefix(s, "postgresql://") || strings.HasPrefix(s, "postgres://") {
		return parseURI(s)
	}
	var d DSN
	i := 0
	n := len(s)
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' }
	for {
		for i < n && isSpace(s[i]) {
			i++
		}
		if i >= n {
			break
		}
		start := i
		for i < n && s[i] != '=' && !isSpace(s[i]) {
			i++
		}
		key := s[start:i]
		for i < n && isSpace(s[i]) {
			i++
		}
		if i >= n || s[i] != '=' {
			return DSN{}, invalid("DSN: missing \"=\" after the keyword %s", describeKey(key, start))
		}
		i++
		for i < n && isSpace(s[i]) {
			i++
		}
		var b strings.Builder
		if i < n && s[i] == '\'' {
			i++
			closed := false
			for i < n {
				c := s[i]
				if c == '\\' && i+1 < n {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if c == '\'' {
					i++
					closed = true
					break
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return DSN{}, invalid("DSN: unterminated quoted value of the keyword %s", describeKey(key, start))
			}
		} else {
			for i < n && !isSpace(s[i]) {
				if s[i] == '\\' {
					// A backslash escapes the next byte; a trailing one
					// is dropped, as libpq does.
					i++
					if i >= n {
						break
					}
				}
				b.WriteByte(s[i])
				i++
			}
		}
		if !dsnKeywords[key] {
			return DSN{}, invalid("DSN: the keyword %s is not a libpq connection keyword", describeKey(key, start))
		}
		if err := checkKV(key, b.String()); err != nil {
			return DSN{}, err
		}
		d = d.set(key, b.String())
	}
	return d, nil
}

// describeKey names a keyword in a parse error. Text that is not a libpq
// keyword may be a fragment of a password written without quotes, so it is
// described by its position only.
func describeKey(k string, at int) string {
	if dsnKeywords[k] {
		return strconv.Quote(k)
	}
	return fmt.Sprintf("at byte %d", at)
}

func parseURI(s string) (DSN, error) {
	rest := s[strings.Index(s, "://")+3:]
	var query string
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		rest, query = rest[:q], rest[q+1:]
	}
	var path string
	hasPath := false
	if p := strings.IndexByte(rest, '/'); p >= 0 {
		rest, path, hasPath = rest[:p], rest[p+1:], true
	}
	var d DSN
	unesc := func(field, v string) (string, error) {
		u, err := url.PathUnescape(v)
		if err != nil {
			return "", invalid("DSN URI: bad percent-encoding in the %s", field)
		}
		return u, nil
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		userinfo := rest[:at]
		rest = rest[at+1:]
		user, pw, hasPW := strings.Cut(userinfo, ":")
		u, err := unesc("user", user)
		if err != nil {
			return DSN{}, err
		}
		if u != "" {
			d = d.set("user", u)
		}
		if hasPW {
			p, err := unesc("password", pw)
			if err != nil {
				return DSN{}, err
			}
			d = d.set("password", p)
		}
	}
	if rest != "" {
		var hosts, ports []string
		for _, hp := range strings.Split(rest, ",") {
			h, p := hp, ""
			if strings.HasPrefix(hp, "[") {
				end := strings.IndexByte(hp, ']')
				if end < 0 {
					return DSN{}, invalid("DSN URI: unterminated [ in an IPv6 host")
				}
				h = hp[1:end]
				if r := hp[end+1:]; strings.HasPrefix(r, ":") {
					p = r[1:]
				}
			} else if c := strings.LastIndexByte(hp, ':'); c >= 0 {
				h, p = hp[:c], hp[c+1:]
			}
			h, err := unesc("host", h)
			if err != nil {
				return DSN{}, err
			}
			hosts = append(hosts, h)
			ports = append(ports, p)
		}
		d = d.set("host", strings.Join(hosts, ","))
		if slices.ContainsFunc(ports, func(p string) bool { return p != "" }) {
			d = d.set("port", strings.Join(ports, ","))
		}
	}
	if hasPath && path != "" {
		db, err := unesc("database name", path)
		if err != nil {
			return DSN{}, err
		}
		d = d.set("dbname", db)
	}
	if query != "" {
		for _, pair := range strings.Split(query, "&") {
			if pair == "" {
				continue
			}
			k, v, _ := strings.Cut(pair, "=")
			k, err := url.QueryUnescape(k)
			if err != nil {
				return DSN{}, invalid("DSN URI: bad percent-encoding in a parameter name")
			}
			v, err = url.QueryUnescape(v)
			if err != nil {
				return DSN{}, invalid("DSN URI: bad percent-encoding in the value of %q", k)
			}
			if k == "ssl" && v == "true" { // JDBC spelling libpq accepts
				k, v = "sslmode", "require"
			}
			d = d.set(k, v)
		}
	}
	for _, p := range d.kv {
		if !dsnKeywords[p.key] {
			return DSN{}, invalid("DSN URI: a query parameter is not a libpq connection keyword")
		}
		if err := checkKV(p.key, p.value); err != nil {
			return DSN{}, err
		}
	}
	d.sort()
	return d, nil
}

// set returns a copy of d with key set to value (replacing an earlier
// value in place, or appending).
func (d DSN) set(key, value string) DSN {
	out := DSN{kv: slices.Clone(d.kv)}
	for i := range out.kv {
		if out.kv[i].key == key {
			out.kv[i].value = value
			return out
		}
	}
	out.kv = append(out.kv, kv{key, value})
	return out
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
	if err := checkKV(keyword, value); err != nil {
		return DSN{}, err
	}
	if d.raw != "" {
		return DSN{}, invalid("DSN: cannot edit a connection string this package could not parse")
	}
	return d.set(keyword, value), nil
}

// WithPassword returns a copy of d with the password set.
func (d DSN) WithPassword(password string) (DSN, error) { return d.With("password", password) }

// Without returns a copy of d without keyword.
func (d DSN) Without(keyword string) DSN {
	if d.raw != "" {
		return d
	}
	out := DSN{}
	for _, p := range d.kv {
		if p.key != keyword {
			out.kv = append(out.kv, p)
		}
	}
	return out
}

// Get returns a keyword's value and whether it is set. Secret keywords
// (password, sslpassword) are never returned: use HasPassword, or Secret
// for the whole string.
func (d DSN) Get(keyword string) (string, bool) {
	if secretKeywords[keyword] {
		return "", false
	}
	for _, p := range d.kv {
		if p.key == keyword {
			return p.value, true
		}
	}
	return "", false
}

// HasPassword reports whether the DSN carries a password.
func (d DSN) HasPassword() bool {
	if d.raw != "" {
		return strings.Contains(strings.ToLower(d.raw), "password") || strings.Contains(d.raw, "@")
	}
	for _, p := range d.kv {
		if secretKeywords[p.key] {
			return true
		}
	}
	return false
}

// Keywords returns the keywords set, in output order.
func (d DSN) Keywords() []string {
	out := make([]string, len(d.kv))
	for i, p := range d.kv {
		out[i] = p.key
	}
	return out
}

// IsZero reports whether the DSN is empty.
func (d DSN) IsZero() bool { return len(d.kv) == 0 && d.raw == "" }

// Equal reports whether two DSNs hold the same keywords and values,
// password included.
func (d DSN) Equal(o DSN) bool {
	return d.raw == o.raw && slices.Equal(d.kv, o.kv)
}

// Secret returns the real connection string, password included. Pass it
// only where the password must reach (a bind parameter of a pglogical
// function, a connection attempt); never print or log it.
func (d DSN) Secret() string {
	if d.raw != "" {
		return d.raw
	}
	return d.render(false, true)
}

// String returns the connection string with every secret value replaced by
// REDACTED.
func (d DSN) String() string {
	if d.raw != "" {
		return "(unparsed DSN, redacted)"
	}
	return d.render(true, true)
}

// secretValues returns the secret values the DSN holds, for scrubbing them
// out of error messages.
func (d DSN) secretValues() []string {
	var out []string
	for _, p := range d.kv {
		if secretKeywords[p.key] && p.value != "" {
			out = append(out, p.value, quoteValue(p.value))
		}
	}
	return out
}

func (d DSN) render(redact, keepSecrets bool) string {
	var b strings.Builder
	for _, p := range d.kv {
		if secretKeywords[p.key] && !keepSecrets {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		if secretKeywords[p.key] && redact {
			b.WriteString(redacted)
			continue
		}
		b.WriteString(quoteValue(p.value))
	}
	return b.String()
}

// quoteValue quotes a libpq keyword/value value when it needs it: when it
// is empty or holds white space, a single quote or a backslash (or any
// other character outside printable ASCII, for readability). Inside
// quotes, backslash and single quote are escaped with a backslash.
func quoteValue(v string) string {
	plain := v != ""
	for i := 0; i < len(v) && plain; i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || c == '\'' || c == '\\' {
			plain = false
		}
	}
	if plain {
		return v
	}
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(v); i++ {
		if v[i] == '\'' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('\'')
	return b.String()
}

// Format implements fmt.Formatter so that no verb prints the password.
func (d DSN) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprint(f, strconv.Quote(d.String()))
	default:
		if verb == 'v' && f.Flag('#') {
			fmt.Fprint(f, d.GoString())
			return
		}
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
	return json.Marshal(d.render(false, false))
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
