package pglogical

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
)

// FuzzParseDSN: parsing never panics, a parsed DSN survives Secret() and
// parsing again unchanged, and String() never shows a password of four or
// more bytes.
func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{
		"host=h port=5432 dbname=db user=u password=pw",
		`dbname='a b' password='it\'s'`,
		`password=x\ y`,
		"postgresql://u:p%40ss@h:5433/db?sslmode=require",
		"postgres://[::1]/d",
		"host='unterminated",
		"=x", "host", "host=", "host= port=5", `host=\`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDSN(s)
		if err != nil {
			return
		}
		back, err := ParseDSN(d.Secret())
		if err != nil {
			t.Fatalf("ParseDSN(Secret()) of %q: %v (secret %q)", s, err, d.Secret())
		}
		if !back.Equal(d) {
			t.Fatalf("round trip of %q: %q != %q", s, back.Secret(), d.Secret())
		}
		// Text that appears anyway (other values, keywords, the marker)
		// cannot tell whether the secret leaked.
		public := d.Without("password").Without("sslpassword").String() + " password=" + redacted + " sslpassword=" + redacted
		for _, p := range d.kv {
			if !secretKeywords[p.key] || len(p.value) < 4 || strings.Contains(public, p.value) || strings.Contains(public, quoteValue(p.value)) {
				continue
			}
			if strings.Contains(d.String(), p.value) {
				t.Fatalf("String() %q shows the %s", d.String(), p.key)
			}
		}
	})
}

// FuzzDSNValue: any value NewDSN accepts is read back exactly, by ParseDSN
// and by pgconn's reimplementation of libpq's parser.
func FuzzDSNValue(f *testing.F) {
	for _, s := range []string{"plain", "with space", `quo'te`, `back\slash`, "", "\t\n", "'", `\`, "=", "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, err := NewDSN(map[string]string{"host": "127.0.0.1", "port": "5432", "user": "u", "dbname": "d", "password": v})
		if err != nil {
			if strings.IndexByte(v, 0) < 0 && utf8.ValidString(v) {
				t.Fatalf("NewDSN refused %q: %v", v, err)
			}
			return
		}
		back, err := ParseDSN(d.Secret())
		if err != nil || !back.Equal(d) {
			t.Fatalf("ParseDSN(%q) = %q, %v", d.Secret(), back.Secret(), err)
		}
		cfg, err := pgconn.ParseConfig(d.Secret())
		if err != nil {
			t.Fatalf("pgconn.ParseConfig: %v", err)
		}
		if cfg.Password != v {
			t.Fatalf("pgconn read password %q, want %q", cfg.Password, v)
		}
	})
}

// FuzzParseApplyFailures: the log parser never panics, returns at most one
// failure per line, and never returns a message with an unredacted
// password=... assignment.
func FuzzParseApplyFailures(f *testing.F) {
	f.Add(sampleLog)
	f.Add("2026-01-01 00:00:00 UTC::@:[1]:LOG:  background worker \"pglogical apply 1:2\" (PID 3) exited with exit code 1\n")
	f.Add("x:[3]:ERROR:  could not connect password=hunter2\n:@:[1]:LOG:  background worker \"pglogical apply 1:2\" (PID 3) exited with exit code 1")
	f.Add("\x00\xff\n\n[")
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := ParseApplyFailures(strings.NewReader(s))
		if err != nil {
			t.Fatalf("ParseApplyFailures: %v", err)
		}
		if len(fs) > strings.Count(s, "\n")+1 {
			t.Fatalf("%d failures from %d lines", len(fs), strings.Count(s, "\n")+1)
		}
		for _, fl := range fs {
			if m := passwordKVRe.FindAllStringSubmatch(fl.Message, -1); m != nil {
				for _, x := range m {
					if x[2] != redacted {
						t.Fatalf("message %q has an unredacted password", fl.Message)
					}
				}
			}
		}
	})
}
