package logical

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

const redacted = "REDACTED"

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
	kv []keyValue
}

type keyValue struct{ key, value string }

// libpq's connection keywords (PostgreSQL 15, plus the few later ones that
// newer client libraries send). libpq refuses a string with any other
// keyword, so ParseConnInfo refuses it first.
var connKeywords = map[string]bool{
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

// keyword order of String and Reveal: the usual ones first, then the rest
// alphabetically.
var keywordRank = map[string]int{"host": 1, "hostaddr": 2, "port": 3, "dbname": 4, "user": 5, "password": 6}

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
	var c ConnInfo
	for k, v := range params {
		if err := checkKeyValue(k, v); err != nil {
			return ConnInfo{}, err
		}
		c.kv = append(c.kv, keyValue{k, v})
	}
	c.sort()
	return c, nil
}

func checkKeyValue(k, v string) error {
	if !connKeywords[k] {
		return invalid("connection keyword %q is not a libpq keyword (for example host, port, dbname, user, password, sslmode)", k)
	}
	if strings.IndexByte(v, 0) >= 0 {
		return invalid("connection value of %q contains a NUL byte", k)
	}
	if !utf8.ValidString(v) {
		return invalid("connection value of %q is not valid UTF-8", k)
	}
	return nil
}

func (c *ConnInfo) sort() {
	rank := func(k string) int {
		if r := keywordRank[k]; r != 0 {
			return r
		}
		return 100
	}
	slices.SortStableFunc(c.kv, func(a, b keyValue) int {
		if ra, rb := rank(a.key), rank(b.key); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.key, b.key)
	})
}

// ParseConnInfo parses a connection string in libpq's keyword/value form
// (host=h port=5432 password='a b', with single quotes and backslash
// escapes) or URI form (postgresql://user:password@host:port/dbname?sslmode=require,
// several hosts separated by commas). A keyword given twice keeps its
// last value, as in libpq. Errors never quote the string, which may hold a
// password.
func ParseConnInfo(s string) (ConnInfo, error) {
	if strings.HasPrefix(s, "postgresql://") || strings.HasPrefix(s, "postgres://") {
		return parseConnURI(s)
	}
	m := map[string]string{}
	var order []string
	i, n := 0, len(s)
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
			return ConnInfo{}, invalid("connection string: missing \"=\" after the keyword at byte %d", start)
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
					closed = true
					i++
					break
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return ConnInfo{}, invalid("connection string: unterminated quoted value of the keyword at byte %d", start)
			}
		} else {
			for i < n && !isSpace(s[i]) {
				if s[i] == '\\' && i+1 < n {
					i++
				}
				b.WriteByte(s[i])
				i++
			}
		}
		if !connKeywords[key] {
			// The keyword itself is not secret, but a malformed string
			// may have put a password where a keyword belongs.
			if len(key) > 40 || strings.ContainsAny(key, "'\\@:/") {
				return ConnInfo{}, invalid("connection string: invalid keyword at byte %d", start)
			}
			return ConnInfo{}, invalid("connection string: %q is not a libpq keyword (for example host, port, dbname, user, password, sslmode)", key)
		}
		if _, seen := m[key]; !seen {
			order = append(order, key)
		}
		m[key] = b.String()
	}
	var c ConnInfo
	for _, k := range order {
		if err := checkKeyValue(k, m[k]); err != nil {
			return ConnInfo{}, err
		}
		c.kv = append(c.kv, keyValue{k, m[k]})
	}
	c.sort()
	return c, nil
}

func parseConnURI(s string) (ConnInfo, error) {
	rest := s[strings.Index(s, "://")+3:]
	query := ""
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		rest, query = rest[:q], rest[q+1:]
	}
	path, hasPath := "", false
	if p := strings.IndexByte(rest, '/'); p >= 0 {
		rest, path, hasPath = rest[:p], rest[p+1:], true
	}
	m := map[string]string{}
	unesc := func(what, v string) (string, error) {
		u, err := url.PathUnescape(v)
		if err != nil {
			return "", invalid("connection URI: invalid percent-encoding in the %s", what)
		}
		return u, nil
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		userinfo := rest[:at]
		rest = rest[at+1:]
		user, pw, hasPw := strings.Cut(userinfo, ":")
		u, err := unesc("user", user)
		if err != nil {
			return ConnInfo{}, err
		}
		if u != "" {
			m["user"] = u
		}
		if hasPw {
			p, err := unesc("password", pw)
			if err != nil {
				return ConnInfo{}, err
			}
			m["password"] = p
		}
	}
	if rest != "" {
		var hosts, ports []string
		anyPort := false
		for _, hp := range strings.Split(rest, ",") {
			host, port := hp, ""
			if strings.HasPrefix(hp, "[") {
				end := strings.IndexByte(hp, ']')
				if end < 0 {
					return ConnInfo{}, invalid("connection URI: unterminated [ in an IPv6 host")
				}
				host = hp[1:end]
				if tail := hp[end+1:]; tail != "" {
					if !strings.HasPrefix(tail, ":") {
						return ConnInfo{}, invalid("connection URI: unexpected text after an IPv6 host")
					}
					port = tail[1:]
				}
			} else if c := strings.LastIndexByte(hp, ':'); c >= 0 {
				host, port = hp[:c], hp[c+1:]
			}
			h, err := unesc("host", host)
			if err != nil {
				return ConnInfo{}, err
			}
			hosts = append(hosts, h)
			ports = append(ports, port)
			anyPort = anyPort || port != ""
		}
		if strings.Join(hosts, "") != "" {
			m["host"] = strings.Join(hosts, ",")
		}
		if anyPort {
			m["port"] = strings.Join(ports, ",")
		}
	}
	if hasPath && path != "" {
		d, err := unesc("database name", path)
		if err != nil {
			return ConnInfo{}, err
		}
		m["dbname"] = d
	}
	if query != "" {
		for _, pair := range strings.Split(query, "&") {
			if pair == "" {
				continue
			}
			k, v, ok := strings.Cut(pair, "=")
			if !ok {
				return ConnInfo{}, invalid("connection URI: query parameter without \"=\"")
			}
			key, err := url.QueryUnescape(k)
			if err != nil {
				return ConnInfo{}, invalid("connection URI: invalid percent-encoding in a query parameter name")
			}
			val, err := url.QueryUnescape(v)
			if err != nil {
				return ConnInfo{}, invalid("connection URI: invalid percent-encoding in the value of %q", key)
			}
			if key == "ssl" && val == "true" { // JDBC spelling libpq accepts
				key, val = "sslmode", "require"
			}
			if !connKeywords[key] {
				return ConnInfo{}, invalid("connection URI: %q is not a libpq keyword", key)
			}
			m[key] = val
		}
	}
	return NewConnInfo(m)
}

// Get returns the value of a keyword and whether it is set. It returns
// secrets too: do not print the result for "password".
func (c ConnInfo) Get(key string) (string, bool) {
	for _, p := range c.kv {
		if p.key == key {
			return p.value, true
		}
	}
	return "", false
}

// With returns a copy with the keyword set to value (replacing an earlier
// value).
func (c ConnInfo) With(key, value string) (ConnInfo, error) {
	if err := checkKeyValue(key, value); err != nil {
		return ConnInfo{}, err
	}
	out := ConnInfo{kv: make([]keyValue, 0, len(c.kv)+1)}
	for _, p := range c.kv {
		if p.key != key {
			out.kv = append(out.kv, p)
		}
	}
	out.kv = append(out.kv, keyValue{key, value})
	out.sort()
	return out, nil
}

// Without returns a copy without the keyword.
func (c ConnInfo) Without(key string) ConnInfo {
	out := ConnInfo{kv: make([]keyValue, 0, len(c.kv))}
	for _, p := range c.kv {
		if p.key != key {
			out.kv = append(out.kv, p)
		}
	}
	return out
}

// IsZero reports whether the connection string is empty.
func (c ConnInfo) IsZero() bool { return len(c.kv) == 0 }

// HasPassword reports whether a password is set.
func (c ConnInfo) HasPassword() bool {
	_, ok := c.Get("password")
	return ok
}

// secrets returns the values that must never be printed.
func (c ConnInfo) secrets() []string {
	var out []string
	for _, p := range c.kv {
		if secretKeywords[p.key] && p.value != "" {
			out = append(out, p.value)
		}
	}
	return out
}

// Reveal returns the full connection string in keyword/value form, with
// its password. Never log or print it.
func (c ConnInfo) Reveal() string { return c.format(false) }

// String returns the connection string with secrets replaced by REDACTED.
func (c ConnInfo) String() string { return c.format(true) }

func (c ConnInfo) format(redact bool) string {
	var b strings.Builder
	for i, p := range c.kv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		if redact && secretKeywords[p.key] {
			b.WriteString(redacted)
			continue
		}
		b.WriteString(quoteConnValue(p.value))
	}
	return b.String()
}

// quoteConnValue writes a value as libpq reads it: bare when it is a
// non-empty run of characters without spaces, quotes or backslashes,
// single-quoted with \' and \\ otherwise.
func quoteConnValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n\r\f\v'\\") {
		return v
	}
	var b strings.Builder
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

// Format prints the redacted form for every verb, so that %#v and %+v
// cannot reach the password either.
func (c ConnInfo) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", c.String())
	default:
		fmt.Fprint(f, c.String())
	}
}

// LogValue makes slog print the redacted form.
func (c ConnInfo) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON encodes the redacted form as a JSON string.
func (c ConnInfo) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }
