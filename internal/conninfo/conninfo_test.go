package conninfo

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"
)

func mustNew(t testing.TB, m map[string]string) Info {
	t.Helper()
	c, err := New(m)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func pairs(c Info) map[string]string {
	out := map[string]string{}
	for _, p := range c.kv {
		out[p.key] = p.value
	}
	return out
}

func TestQuoting(t *testing.T) {
	for _, tc := range []struct {
		params map[string]string
		want   string
	}{
		{map[string]string{"host": "h", "port": "5432", "dbname": "db", "user": "u"}, "host=h port=5432 dbname=db user=u"},
		{map[string]string{"dbname": "my db", "user": "o'brien"}, `dbname='my db' user='o\'brien'`},
		{map[string]string{"dbname": `back\slash`}, `dbname='back\\slash'`},
		{map[string]string{"application_name": ""}, `application_name=''`},
		{map[string]string{"sslmode": "require", "host": "h", "connect_timeout": "5"}, "host=h connect_timeout=5 sslmode=require"},
		{map[string]string{"options": "-c search_path=a,b"}, `options='-c search_path=a,b'`},
		{map[string]string{"dbname": "tab\there"}, "dbname='tab\there'"},
		{map[string]string{"dbname": "ünïcode"}, "dbname='ünïcode'"},
		{map[string]string{"dbname": "ctl\x01"}, "dbname='ctl\x01'"},
	} {
		c := mustNew(t, tc.params)
		if got := c.Reveal(); got != tc.want {
			t.Errorf("Reveal(%v) = %q, want %q", tc.params, got, tc.want)
		}
		back, err := Parse(c.Reveal())
		if err != nil {
			t.Errorf("Parse(%q): %v", c.Reveal(), err)
			continue
		}
		if !back.Equal(c) {
			t.Errorf("round trip of %q gave %q", c.Reveal(), back.Reveal())
		}
	}
}

// TestAgreesWithLibpqParser checks that pgconn, which reimplements
// libpq's keyword/value parser, reads back exactly the values quoted.
func TestAgreesWithLibpqParser(t *testing.T) {
	for _, v := range []string{"plain", "with space", `quo'te`, `back\slash`, `\'mixed '' \\`, "tab\tand\nnewline", "ünï", "=eq=", "", "\x01\x7f"} {
		c := mustNew(t, map[string]string{"host": "127.0.0.1", "port": "5432", "dbname": v + "x", "user": "u" + v, "password": v})
		cfg, err := pgconn.ParseConfig(c.Reveal())
		if err != nil {
			t.Errorf("pgconn.ParseConfig(value %q): %v", v, err)
			continue
		}
		if cfg.Database != v+"x" || cfg.User != "u"+v || cfg.Password != v {
			t.Errorf("value %q: pgconn read db=%q user=%q password=%q", v, cfg.Database, cfg.User, cfg.Password)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   map[string]string // nil: only Reveal is checked
		reveal string
	}{
		{"host=h port=5432 dbname=app user=u password=secret", map[string]string{"host": "h", "port": "5432", "dbname": "app", "user": "u", "password": "secret"},
			"host=h port=5432 dbname=app user=u password=secret"},
		{"host=h port=5432", nil, "host=h port=5432"},
		{"  host = h   dbname =  'a b'  ", nil, "host=h dbname='a b'"},
		{`dbname=a\ b`, nil, `dbname='a b'`},
		{`dbname=trail\`, nil, `dbname=trail`}, // a trailing backslash is dropped, as libpq does
		{`host='x'port=1`, nil, `host=x port=1`},
		{"dbname=d host=h", nil, "host=h dbname=d"}, // canonical order
		{`password='it\'s a \\ secret' host=h`, map[string]string{"password": `it's a \ secret`, "host": "h"}, `host=h password='it\'s a \\ secret'`},
		{"user=a user=b", map[string]string{"user": "b"}, "user=b"},
		{"host=a host=b", nil, "host=b"},
		{"dbname=''", map[string]string{"dbname": ""}, "dbname=''"},
		{"password=''", nil, "password=''"},
		{"postgresql://u:p%40ss@db.example.com:5433/app?sslmode=verify-full&application_name=x",
			map[string]string{"user": "u", "password": "p@ss", "host": "db.example.com", "port": "5433", "dbname": "app", "sslmode": "verify-full", "application_name": "x"},
			"host=db.example.com port=5433 dbname=app user=u password=p@ss application_name=x sslmode=verify-full"},
		{"postgresql://u:p%40ss@h:5433/db?sslmode=require", nil, "host=h port=5433 dbname=db user=u password=p@ss sslmode=require"},
		{"postgres://h1:1,[::1]:2/db", map[string]string{"host": "h1,::1", "port": "1,2", "dbname": "db"}, "host=h1,::1 port=1,2 dbname=db"},
		{"postgres://h1:1,h2:2/d", nil, "host=h1,h2 port=1,2 dbname=d"},
		{"postgresql://[::1]:5432/d", nil, "host=::1 port=5432 dbname=d"},
		{"postgres://:5433/d", map[string]string{"port": "5433", "dbname": "d"}, "port=5433 dbname=d"},
		{"postgres://", map[string]string{}, ""},
		{"postgresql://", nil, ""},
		{"", map[string]string{}, ""},
		{"postgres://u@h?ssl=true", map[string]string{"user": "u", "host": "h", "sslmode": "require"}, "host=h user=u sslmode=require"},
	} {
		c, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if tc.want != nil {
			if diff := cmp.Diff(tc.want, pairs(c)); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tc.in, diff)
			}
		}
		if got := c.Reveal(); got != tc.reveal {
			t.Errorf("Parse(%q).Reveal() = %q, want %q", tc.in, got, tc.reveal)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, bad := range []string{
		"host", "host=h junk", "hots=h", "password='unterminated", `password='trailing\`,
		"  sslmode = require   password='it''s'", // '' is not an escape in libpq: the value ends
		"postgres://h:1/db?nokey", "postgres://h/db?bogus=1", "postgres://h/db?sslmode=%zz",
		"postgres://[::1/db", "postgres://[::1]x/db", "postgres://u:%zz@h", "user=\xff", "host=a\x00b",
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

// TestErrorsDoNotQuoteInput: a malformed string may have put a password
// anywhere; no error repeats it.
func TestErrorsDoNotQuoteInput(t *testing.T) {
	for _, in := range []string{
		"host=h hunter2",             // a password fragment without "="
		"host=h password='hunter2",   // unterminated quote
		"host=h hunter2=x",           // unknown keyword
		"host=h 'hunter2'=x",         // quoted junk where a keyword belongs
		"postgresql://u:hunter2@h/%", // bad escape
		"postgresql://u:hunter2@h/d?hunter2=1",
		"postgresql://u@h/d?hunter2=%zz",
		"postgresql://u@h/d?hunter2",
	} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", in)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Parse(%q) error quotes the input: %v", in, err)
		}
	}
}

func TestNewRejects(t *testing.T) {
	for name, m := range map[string]map[string]string{
		"unknown keyword": {"hots": "x"},
		"NUL":             {"host": "a\x00b"},
		"bad UTF-8":       {"dbname": "\xff"},
	} {
		if _, err := New(m); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := (Info{}).With("bogus", "x"); err == nil {
		t.Error("With(bogus) accepted")
	}
}

func TestEdit(t *testing.T) {
	c := mustNew(t, map[string]string{"dbname": "d"})
	c2, err := c.With("host", "h")
	if err != nil {
		t.Fatal(err)
	}
	c3, err := c2.With("password", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if c.HasSecret() || c2.HasSecret() || !c3.HasSecret() {
		t.Error("With modified the receiver or did not set the password")
	}
	if diff := cmp.Diff([]string{"host", "dbname", "password"}, c3.Keywords()); diff != "" {
		t.Errorf("Keywords (-want +got):\n%s", diff)
	}
	if got := c3.Without("password").Reveal(); got != "host=h dbname=d" {
		t.Errorf("Without(password) = %q", got)
	}
	if v, ok := c3.Get("password"); !ok || v != "pw" {
		t.Errorf("Get(password) = %q, %v", v, ok)
	}
	if c4, _ := c3.With("host", "h2"); c4.Reveal() != "host=h2 dbname=d password=pw" || c3.Reveal() != "host=h dbname=d password=pw" {
		t.Errorf("With(host) = %q (original %q)", c4.Reveal(), c3.Reveal())
	}
	if !(Info{}).IsZero() || c.IsZero() {
		t.Error("IsZero")
	}
	back, _ := Parse("password=pw dbname=d host=h")
	if !back.Equal(c3) || back.Equal(c2) {
		t.Error("Equal")
	}
}

func TestRenderings(t *testing.T) {
	c := mustNew(t, map[string]string{"host": "h", "user": "u", "password": "hunter2", "sslpassword": "key pass", "dbname": "d"})
	for name, tc := range map[string]struct{ got, want string }{
		"Reveal": {c.Reveal(), "host=h dbname=d user=u password=hunter2 sslpassword='key pass'"},
		"String": {c.String(), "host=h dbname=d user=u password=REDACTED sslpassword=REDACTED"},
		"Public": {c.Public(), "host=h dbname=d user=u"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", name, tc.got, tc.want)
		}
	}
	if diff := cmp.Diff([]string{"hunter2", "key pass", "'key pass'"}, c.Secrets()); diff != "" {
		t.Errorf("Secrets (-want +got):\n%s", diff)
	}
	if s := c.Without("password").Without("sslpassword"); s.HasSecret() || len(s.Secrets()) != 0 {
		t.Errorf("Without: %v", s)
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct {
		in      string
		secrets []string
		want    string
	}{
		{"postgresql://u:pw@h/db and password='a b' sslpassword=x", nil, "postgresql://u:REDACTED@h/db and password=REDACTED sslpassword=REDACTED"},
		{"PASSWORD = secret host=h", nil, "PASSWORD=REDACTED host=h"},
		{"role x: hunter2 exists", []string{"hunter2"}, "role x: REDACTED exists"},
		{"a 'it\\'s' it's", []string{"it's", "'it\\'s'"}, "a REDACTED REDACTED"},
		{"pw is short", []string{"pw", ""}, "REDACTED is short"},
		{"password=REDACTED", nil, "password=REDACTED"},
	} {
		if got := Redact(tc.in, tc.secrets); got != tc.want {
			t.Errorf("Redact(%q, %q) = %q, want %q", tc.in, tc.secrets, got, tc.want)
		}
	}
}

var errSentinel = errors.New("sentinel")

func TestScrubError(t *testing.T) {
	cause := &pgconn.PgError{Code: "42710", Message: "role x: hunter2 exists", Detail: "hunter2", Routine: "dsn password=x", TableName: "t"}
	err := ScrubError(fmt.Errorf("doing: %w: %w", errSentinel, cause), []string{"hunter2"}, errSentinel, errors.ErrUnsupported)
	if strings.Contains(err.Error(), "hunter2") || !errors.Is(err, errSentinel) || errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("scrubbed = %v", err)
	}
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != "42710" || pg.TableName != "t" || strings.Contains(pg.Message+pg.Detail, "hunter2") || pg.Routine != "dsn password=REDACTED" {
		t.Errorf("scrubbed cause = %+v", pg)
	}
	if cause.Detail != "hunter2" {
		t.Error("ScrubError modified the original")
	}
	plain := errors.New("nothing secret")
	if ScrubError(plain, []string{"hunter2"}) != plain || ScrubError(nil, []string{"x"}) != nil {
		t.Error("ScrubError changed an error without secrets")
	}
	p := ScrubError(errors.New("dial postgres://u:pw@h failed"), nil)
	if p.Error() != "dial postgres://u:REDACTED@h failed" || errors.Unwrap(p) != nil {
		t.Errorf("pattern-only scrub = %v", p)
	}
}
