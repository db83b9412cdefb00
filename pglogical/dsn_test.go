package pglogical

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"
)

const testPassword = "s3cr3t 'pa\\ss'"

func mustDSN(t testing.TB, m map[string]string) DSN {
	t.Helper()
	d, err := NewDSN(m)
	if err != nil {
		t.Fatalf("NewDSN: %v", err)
	}
	return d
}

func TestDSNQuoting(t *testing.T) {
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
	} {
		d := mustDSN(t, tc.params)
		if got := d.Secret(); got != tc.want {
			t.Errorf("Secret(%v) = %q, want %q", tc.params, got, tc.want)
		}
		back, err := ParseDSN(d.Secret())
		if err != nil {
			t.Errorf("ParseDSN(%q): %v", d.Secret(), err)
			continue
		}
		if !back.Equal(d) {
			t.Errorf("round trip of %q gave %q", d.Secret(), back.Secret())
		}
	}
}

func TestDSNRedaction(t *testing.T) {
	d := mustDSN(t, map[string]string{"host": "h", "dbname": "db", "user": "u", "password": testPassword, "sslpassword": "keypw"})
	outputs := map[string]string{
		"String":     d.String(),
		"%v":         fmt.Sprintf("%v", d),
		"%s":         fmt.Sprintf("%s", d),
		"%q":         fmt.Sprintf("%q", d),
		"%+v":        fmt.Sprintf("%+v", d),
		"%#v":        fmt.Sprintf("%#v", d),
		"GoString":   d.GoString(),
		"struct %+v": fmt.Sprintf("%+v", struct{ D DSN }{d}),
		"ptr %v":     fmt.Sprintf("%v", &d),
		"error":      fmt.Errorf("connecting with %v", d).Error(),
	}
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("x", "dsn", d)
	outputs["slog"] = sb.String()
	j, err := json.Marshal(struct{ D DSN }{d})
	if err != nil {
		t.Fatal(err)
	}
	outputs["json"] = string(j)
	for name, out := range outputs {
		for _, secret := range []string{"s3cr3t", "pa", "keypw"} {
			if secret == "pa" {
				continue // too short to be meaningful; kept for documentation
			}
			if strings.Contains(out, secret) {
				t.Errorf("%s leaks %q: %s", name, secret, out)
			}
		}
	}
	if !strings.Contains(d.String(), "password=REDACTED") {
		t.Errorf("String() = %q, want password=REDACTED", d.String())
	}
	if strings.Contains(outputs["json"], "password") {
		t.Errorf("JSON carries a password keyword: %s", outputs["json"])
	}
	if !strings.Contains(d.Secret(), `password='s3cr3t \'pa\\ss\''`) {
		t.Errorf("Secret() = %q lacks the quoted password", d.Secret())
	}
	if _, ok := d.Get("password"); ok {
		t.Error("Get(password) returned the password")
	}
	if !d.HasPassword() {
		t.Error("HasPassword() = false")
	}
	var back struct{ D DSN }
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	if back.D.HasPassword() || back.D.String() != "host=h dbname=db user=u" {
		t.Errorf("JSON round trip = %q", back.D)
	}
}

// TestDSNAgreesWithLibpqParser checks that pgconn, which reimplements
// libpq's keyword/value parser, reads back exactly the values quoted.
func TestDSNAgreesWithLibpqParser(t *testing.T) {
	for _, v := range []string{"plain", "with space", `quo'te`, `back\slash`, `\'mixed '' \\`, "tab\tand\nnewline", "ünï", "=eq=", ""} {
		d := mustDSN(t, map[string]string{"host": "127.0.0.1", "port": "5432", "dbname": v + "x", "user": "u" + v, "password": v})
		cfg, err := pgconn.ParseConfig(d.Secret())
		if err != nil {
			t.Errorf("pgconn.ParseConfig(value %q): %v", v, err)
			continue
		}
		if cfg.Database != v+"x" || cfg.User != "u"+v || cfg.Password != v {
			t.Errorf("value %q: pgconn read db=%q user=%q password=%q", v, cfg.Database, cfg.User, cfg.Password)
		}
	}
}

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // Secret() of the result
	}{
		{"host=h port=5432", "host=h port=5432"},
		{"  host = h   dbname =  'a b'  ", "host=h dbname='a b'"},
		{`dbname=a\ b`, `dbname='a b'`},
		{`dbname=trail\`, `dbname=trail`},
		{`host='x'port=1`, `host=x port=1`},
		{"host=a host=b", "host=b"},
		{"password=''", "password=''"},
		{"postgresql://u:p%40ss@h:5433/db?sslmode=require", "host=h port=5433 dbname=db user=u password=p@ss sslmode=require"},
		{"postgres://h1:1,h2:2/d", "host=h1,h2 port=1,2 dbname=d"},
		{"postgresql://[::1]:5432/d", "host=::1 port=5432 dbname=d"},
		{"postgresql://", ""},
		{"", ""},
	} {
		d, err := ParseDSN(tc.in)
		if err != nil {
			t.Errorf("ParseDSN(%q): %v", tc.in, err)
			continue
		}
		if got := d.Secret(); got != tc.want {
			t.Errorf("ParseDSN(%q).Secret() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseDSNErrorsDoNotQuoteInput(t *testing.T) {
	for _, in := range []string{
		"host=h hunter2",             // a password fragment without "="
		"host=h password='hunter2",   // unterminated quote
		"host=h hunter2=x",           // unknown keyword
		"postgresql://u:hunter2@h/%", // bad escape
		"postgresql://u:hunter2@h/d?hunter2=1",
	} {
		_, err := ParseDSN(in)
		if err == nil {
			t.Errorf("ParseDSN(%q) succeeded", in)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseDSN(%q) error %v is not ErrInvalid", in, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseDSN(%q) error quotes the input: %v", in, err)
		}
	}
}

func TestNewDSNRejects(t *testing.T) {
	for name, m := range map[string]map[string]string{
		"unknown keyword": {"hots": "x"},
		"NUL":             {"host": "a\x00b"},
		"bad UTF-8":       {"dbname": "\xff"},
	} {
		if _, err := NewDSN(m); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func TestDSNEdit(t *testing.T) {
	d := mustDSN(t, map[string]string{"host": "h", "dbname": "d"})
	d2, err := d.WithPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	if d.HasPassword() || !d2.HasPassword() {
		t.Error("WithPassword modified the receiver or did not set the password")
	}
	if got := d2.Without("password").Secret(); got != "host=h dbname=d" {
		t.Errorf("Without(password) = %q", got)
	}
	if diff := cmp.Diff([]string{"host", "dbname", "password"}, d2.Keywords()); diff != "" {
		t.Errorf("Keywords (-want +got):\n%s", diff)
	}
	if v, ok := d2.Get("dbname"); !ok || v != "d" {
		t.Errorf("Get(dbname) = %q, %v", v, ok)
	}
	raw := parseCatalogDSN("host='unterminated password=x")
	if raw.String() != "(unparsed DSN, redacted)" || raw.Secret() != "host='unterminated password=x" {
		t.Errorf("unparsed DSN: String %q Secret %q", raw.String(), raw.Secret())
	}
	if _, err := raw.With("host", "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("editing an unparsed DSN: %v", err)
	}
}
