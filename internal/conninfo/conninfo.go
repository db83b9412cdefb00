package conninfo

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Redacted replaces a secret in every printed form.
const Redacted = "REDACTED"

// Info is a parsed libpq connection string. The zero Info is empty. Info
// values are immutable: With and Without return a new one.
type Info struct {
	kv []pair // canonical order, each keyword once
}

type pair struct{ key, value string }

// libpq's connection keywords (PostgreSQL 15, plus the few later ones that
// newer client libraries send). libpq refuses a string with any other
// keyword, so Parse and New refuse it first.
var keywords = map[string]bool{
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

// IsSecret reports whether the value of keyword k is never printed
// (password, sslpassword).
func IsSecret(k string) bool { return k == "password" || k == "sslpassword" }

// keywordRank orders the usual keywords first; the rest follow
// alphabetically.
var keywordRank = map[string]int{"host": 1, "hostaddr": 2, "port": 3, "dbname": 4, "user": 5, "password": 6}

func rank(k string) int {
	if r := keywordRank[k]; r != 0 {
		return r
	}
	return 100
}

// New builds an Info from keywords and values. An empty value is kept
// (libpq reads it as empty).
func New(params map[string]string) (Info, error) {
	var c Info
	for k, v := range params {
		if err := check(k, v); err != nil {
			return Info{}, err
		}
		c.kv = append(c.kv, pair{k, v})
	}
	c.sort()
	return c, nil
}

// check validates a keyword given by the caller (so it may be quoted in
// the error) and its value.
func check(k, v string) error {
	if !keywords[k] {
		return fmt.Errorf("connection keyword %q is not a libpq keyword (for example host, port, dbname, user, password, sslmode)", k)
	}
	return checkValue(k, v)
}

func checkValue(k, v string) error {
	if strings.IndexByte(v, 0) >= 0 {
		return fmt.Errorf("connection value of %q contains a NUL byte", k)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("connection value of %q is not valid UTF-8", k)
	}
	return nil
}

func (c *Info) sort() {
	slices.SortStableFunc(c.kv, func(a, b pair) int {
		if ra, rb := rank(a.key), rank(b.key); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.key, b.key)
	})
}

// set returns a copy of c with key set to value, in canonical order. It
// does not validate.
func (c Info) set(key, value string) Info {
	out := Info{kv: make([]pair, 0, len(c.kv)+1)}
	for _, p := range c.kv {
		if p.key != key {
			out.kv = append(out.kv, p)
		}
	}
	out.kv = append(out.kv, pair{key, value})
	out.sort()
	return out
}

// describeKey names a keyword in a parse error. Text that is not a libpq
// keyword may be a fragment of a password written without quotes, so it
// is described by its position only.
func describeKey(k string, at int) string {
	if keywords[k] {
		return strconv.Quote(k)
	}
	return fmt.Sprintf("at byte %d", at)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// Parse parses a connection string in libpq's keyword/value form
// (host=h port=5432 password='a b', with single quotes and backslash
// escapes) or URI form (postgresql://user:password@host:port/dbname?sslmode=require,
// several hosts separated by commas). A keyword given twice keeps its last
// value, as in libpq. Errors never quote the string.
func Parse(s string) (Info, error) {
	if strings.HasPrefix(s, "postgresql://") || strings.HasPrefix(s, "postgres://") {
		return parseURI(s)
	}
	var c Info
	i, n := 0, len(s)
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
			return Info{}, fmt.Errorf("connection string: missing \"=\" after the keyword %s", describeKey(key, start))
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
				ch := s[i]
				if ch == '\\' && i+1 < n {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if ch == '\'' {
					i++
					closed = true
					break
				}
				b.WriteByte(ch)
				i++
			}
			if !closed {
				return Info{}, fmt.Errorf("connection string: unterminated quoted value of the keyword %s", describeKey(key, start))
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
		if !keywords[key] {
			return Info{}, fmt.Errorf("connection string: the keyword %s is not a libpq connection keyword", describeKey(key, start))
		}
		if err := checkValue(key, b.String()); err != nil {
			return Info{}, err
		}
		c = c.set(key, b.String())
	}
	return c, nil
}

func parseURI(s string) (Info, error) {
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
			return "", fmt.Errorf("connection URI: invalid percent-encoding in the %s", what)
		}
		return u, nil
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		userinfo := rest[:at]
		rest = rest[at+1:]
		user, pw, hasPw := strings.Cut(userinfo, ":")
		u, err := unesc("user", user)
		if err != nil {
			return Info{}, err
		}
		if u != "" {
			m["user"] = u
		}
		if hasPw {
			p, err := unesc("password", pw)
			if err != nil {
				return Info{}, err
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
					return Info{}, fmt.Errorf("connection URI: unterminated [ in an IPv6 host")
				}
				host = hp[1:end]
				if tail := hp[end+1:]; tail != "" {
					if !strings.HasPrefix(tail, ":") {
						return Info{}, fmt.Errorf("connection URI: unexpected text after an IPv6 host")
					}
					port = tail[1:]
				}
			} else if c := strings.LastIndexByte(hp, ':'); c >= 0 {
				host, port = hp[:c], hp[c+1:]
			}
			h, err := unesc("host", host)
			if err != nil {
				return Info{}, err
			}
			hosts = append(hosts, h)
			ports = append(ports, port)
			anyPort = anyPort || port != ""
		}
		// As libpq: the host list is kept unless it is empty.
		if h := strings.Join(hosts, ","); h != "" {
			m["host"] = h
		}
		if anyPort {
			m["port"] = strings.Join(ports, ",")
		}
	}
	if hasPath && path != "" {
		d, err := unesc("database name", path)
		if err != nil {
			return Info{}, err
		}
		m["dbname"] = d
	}
	if query != "" {
		for _, kv := range strings.Split(query, "&") {
			if kv == "" {
				continue
			}
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return Info{}, fmt.Errorf("connection URI: query parameter without \"=\"")
			}
			key, err := url.QueryUnescape(k)
			if err != nil {
				return Info{}, fmt.Errorf("connection URI: invalid percent-encoding in a query parameter name")
			}
			val, err := url.QueryUnescape(v)
			if err != nil {
				return Info{}, fmt.Errorf("connection URI: invalid percent-encoding in the value of the query parameter %s", describeKey(key, strings.Index(s, kv)))
			}
			if key == "ssl" && val == "true" { // JDBC spelling libpq accepts
				key, val = "sslmode", "require"
			}
			if !keywords[key] {
				// Not named: it may be a password fragment.
				return Info{}, fmt.Errorf("connection URI: a query parameter is not a libpq connection keyword")
			}
			m[key] = val
		}
	}
	return New(m)
}

// Get returns the value of a keyword, secrets included, and whether it is
// set.
func (c Info) Get(key string) (string, bool) {
	for _, p := range c.kv {
		if p.key == key {
			return p.value, true
		}
	}
	return "", false
}

// With returns a copy with the keyword set to value (replacing an earlier
// value), after checking both.
func (c Info) With(key, value string) (Info, error) {
	if err := check(key, value); err != nil {
		return Info{}, err
	}
	return c.set(key, value), nil
}

// Without returns a copy without the keyword.
func (c Info) Without(key string) Info {
	out := Info{kv: make([]pair, 0, len(c.kv))}
	for _, p := range c.kv {
		if p.key != key {
			out.kv = append(out.kv, p)
		}
	}
	return out
}

// Keywords returns the keywords set, in output order.
func (c Info) Keywords() []string {
	out := make([]string, len(c.kv))
	for i, p := range c.kv {
		out[i] = p.key
	}
	return out
}

// IsZero reports whether no keyword is set.
func (c Info) IsZero() bool { return len(c.kv) == 0 }

// Equal reports whether both hold the same keywords and values, secrets
// included.
func (c Info) Equal(o Info) bool { return slices.Equal(c.kv, o.kv) }

// HasSecret reports whether a secret keyword (password, sslpassword) is set.
func (c Info) HasSecret() bool {
	return slices.ContainsFunc(c.kv, func(p pair) bool { return IsSecret(p.key) })
}

// Secrets returns the non-empty secret values, each as is and as quoted in
// Reveal, for scrubbing them out of error text.
func (c Info) Secrets() []string {
	var out []string
	for _, p := range c.kv {
		if IsSecret(p.key) && p.value != "" {
			out = append(out, p.value)
			if q := Quote(p.value); q != p.value {
				out = append(out, q)
			}
		}
	}
	return out
}

// Reveal returns the connection string in keyword/value form with its
// secrets. Never log or print it.
func (c Info) Reveal() string { return c.render(show) }

// String returns the connection string with each secret value replaced by
// REDACTED.
func (c Info) String() string { return c.render(redact) }

// Public returns the connection string without the secret keywords: a
// usable string that authenticates some other way.
func (c Info) Public() string { return c.render(omit) }

type secretMode int

const (
	show secretMode = iota
	redact
	omit
)

func (c Info) render(mode secretMode) string {
	var b strings.Builder
	for _, p := range c.kv {
		secret := IsSecret(p.key)
		if secret && mode == omit {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		if secret && mode == redact {
			b.WriteString(Redacted)
			continue
		}
		b.WriteString(Quote(p.value))
	}
	return b.String()
}

// Quote writes a value as libpq reads it: bare when it is a non-empty run
// of printable ASCII without spaces, quotes or backslashes; otherwise
// single-quoted, with backslash and single quote escaped by a backslash.
// (Quoting everything outside printable ASCII also keeps libpq's
// locale-dependent isspace from splitting a value.)
func Quote(v string) string {
	plain := v != ""
	for i := 0; i < len(v) && plain; i++ {
		if ch := v[i]; ch <= ' ' || ch >= 0x7f || ch == '\'' || ch == '\\' {
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
