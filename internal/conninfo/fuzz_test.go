package conninfo

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
)

// FuzzParse: parsing never panics; Reveal reads back to the same pairs;
// String reads back with every secret shown as REDACTED and nothing else
// changed; and String never shows a secret of four or more bytes.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"host=h port=5432 dbname=db user=u password=pw",
		`dbname='a b' password='it\'s'`,
		`password=x\ y`,
		"host=h port=5432 password='a b\\'c'",
		"postgresql://u:p%40ss@h:5433/db?sslmode=require",
		"postgres://u:p@h:1/d?sslmode=require",
		"postgresql://[::1]:5/x",
		"postgres://[::1]/d",
		"host='unterminated",
		"=x", "host", "host=", "host= port=5", `host=\`, "a=b", "password=\\\\x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		back, err := Parse(c.Reveal())
		if err != nil {
			t.Fatalf("Reveal() of %q = %q does not parse: %v", s, c.Reveal(), err)
		}
		if !back.Equal(c) {
			t.Fatalf("round trip of %q: %q != %q", s, back.Reveal(), c.Reveal())
		}
		shown, err := Parse(c.String())
		if err != nil {
			t.Fatalf("String() of %q = %q does not parse: %v", s, c.String(), err)
		}
		for _, p := range c.kv {
			v, _ := shown.Get(p.key)
			if IsSecret(p.key) && v != Redacted || !IsSecret(p.key) && v != p.value {
				t.Fatalf("String() shows %s as %q", p.key, v)
			}
		}
		// Text that appears anyway (other values, keywords, the marker)
		// cannot tell whether the secret leaked.
		public := c.Public() + " password=" + Redacted + " sslpassword=" + Redacted
		for _, p := range c.kv {
			if !IsSecret(p.key) || len(p.value) < 4 || strings.Contains(public, p.value) || strings.Contains(public, Quote(p.value)) {
				continue
			}
			if strings.Contains(c.String(), p.value) {
				t.Fatalf("String() %q shows the %s", c.String(), p.key)
			}
		}
	})
}

// FuzzValue: any value New accepts is read back exactly, by Parse and by
// pgconn's reimplementation of libpq's parser.
func FuzzValue(f *testing.F) {
	for _, s := range []string{"plain", "with space", `quo'te`, `back\slash`, "", "\t\n", "'", `\`, "=", "ü", "\x1c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := New(map[string]string{"host": "127.0.0.1", "port": "5432", "user": "u", "dbname": "d", "password": v})
		if err != nil {
			if strings.IndexByte(v, 0) < 0 && utf8.ValidString(v) {
				t.Fatalf("New refused %q: %v", v, err)
			}
			return
		}
		back, err := Parse(c.Reveal())
		if err != nil || !back.Equal(c) {
			t.Fatalf("Parse(%q) = %q, %v", c.Reveal(), back.Reveal(), err)
		}
		cfg, err := pgconn.ParseConfig(c.Reveal())
		if err != nil {
			t.Fatalf("pgconn.ParseConfig: %v", err)
		}
		if cfg.Password != v {
			t.Fatalf("pgconn read password %q, want %q", cfg.Password, v)
		}
	})
}

// FuzzRedact: Redact never panics, takes every given secret out, and is
// idempotent (redacted text has nothing left to redact).
func FuzzRedact(f *testing.F) {
	f.Add("could not connect: password=hunter2 host=h", "hunter2")
	f.Add("postgresql://u:pw@h/db and password='a b' sslpassword=x", "a b")
	f.Add("dsn was: host=h password='it\\'s'", "it's")
	f.Fuzz(func(t *testing.T, s, secret string) {
		got := Redact(s, []string{secret, Quote(secret)})
		// Markers stand in for what was taken out; a secret that the
		// pattern replacements could form anew (with "=", "@", ":" or
		// white space next to a marker) is not checked.
		if secret != "" && !strings.ContainsAny(secret, "=@: \t\n\r\f\v\x00") && strings.Contains(strings.ReplaceAll(got, Redacted, "\x00"), secret) {
			t.Fatalf("Redact(%q) = %q still holds %q", s, got, secret)
		}
		if again := Redact(got, nil); again != got {
			t.Fatalf("Redact is not idempotent: %q -> %q", got, again)
		}
	})
}
