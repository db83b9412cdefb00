package pgaurora_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgaurora/pgaurora"
)

const testPassword = "s3cr3t 'pa\\ss'"

func mustConnString(t testing.TB, m map[string]string) pgaurora.ConnString {
	t.Helper()
	d, err := pgaurora.NewConnString(m)
	if err != nil {
		t.Fatalf("NewDSN: %v", err)
	}
	return d
}

func TestConnStringRedaction(t *testing.T) {
	d := mustConnString(t, map[string]string{"host": "h", "dbname": "db", "user": "u", "password": testPassword, "sslpassword": "keypw"})
	outputs := map[string]string{
		"String":     d.String(),
		"%v":         fmt.Sprintf("%v", d),
		"%s":         fmt.Sprintf("%s", d),
		"%q":         fmt.Sprintf("%q", d),
		"%+v":        fmt.Sprintf("%+v", d),
		"%#v":        fmt.Sprintf("%#v", d),
		"GoString":   d.GoString(),
		"struct %+v": fmt.Sprintf("%+v", struct{ D pgaurora.ConnString }{d}),
		"ptr %v":     fmt.Sprintf("%v", &d),
		"error":      fmt.Errorf("connecting with %v", d).Error(),
	}
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("x", "dsn", d)
	outputs["slog"] = sb.String()
	j, err := json.Marshal(struct{ D pgaurora.ConnString }{d})
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
	if !strings.Contains(d.Reveal(), `password='s3cr3t \'pa\\ss\''`) {
		t.Errorf("Reveal() = %q lacks the quoted password", d.Reveal())
	}
	if _, ok := d.Get("password"); ok {
		t.Error("Get(password) returned the password")
	}
	if !d.HasPassword() {
		t.Error("HasPassword() = false")
	}
	var back struct{ D pgaurora.ConnString }
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	if back.D.HasPassword() || back.D.String() != "host=h dbname=db user=u" {
		t.Errorf("JSON round trip = %q", back.D)
	}
}

func TestParseConnStringErrorsDoNotQuoteInput(t *testing.T) {
	for _, in := range []string{
		"host=h hunter2",             // a password fragment without "="
		"host=h password='hunter2",   // unterminated quote
		"host=h hunter2=x",           // unknown keyword
		"postgresql://u:hunter2@h/%", // bad escape
		"postgresql://u:hunter2@h/d?hunter2=1",
	} {
		_, err := pgaurora.ParseConnString(in)
		if err == nil {
			t.Errorf("pgaurora.ParseConnString(%q) succeeded", in)
			continue
		}
		if !errors.Is(err, pgaurora.ErrConnString) {
			t.Errorf("pgaurora.ParseConnString(%q) error %v is not pgaurora.ErrConnString", in, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("pgaurora.ParseConnString(%q) error quotes the input: %v", in, err)
		}
	}
}

func TestNewConnStringRejects(t *testing.T) {
	for name, m := range map[string]map[string]string{
		"unknown keyword": {"hots": "x"},
		"NUL":             {"host": "a\x00b"},
		"bad UTF-8":       {"dbname": "\xff"},
	} {
		if _, err := pgaurora.NewConnString(m); !errors.Is(err, pgaurora.ErrConnString) {
			t.Errorf("%s: err = %v, want pgaurora.ErrConnString", name, err)
		}
	}
}

func TestConnStringEdit(t *testing.T) {
	d := mustConnString(t, map[string]string{"host": "h", "dbname": "d"})
	d2, err := d.WithPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	if d.HasPassword() || !d2.HasPassword() {
		t.Error("WithPassword modified the receiver or did not set the password")
	}
	if got := d2.Without("password").Reveal(); got != "host=h dbname=d" {
		t.Errorf("Without(password) = %q", got)
	}
	if diff := cmp.Diff([]string{"host", "dbname", "password"}, d2.Keywords()); diff != "" {
		t.Errorf("Keywords (-want +got):\n%s", diff)
	}
	if v, ok := d2.Get("dbname"); !ok || v != "d" {
		t.Errorf("Get(dbname) = %q, %v", v, ok)
	}
	raw := pgaurora.ConnStringFromCatalog("host='unterminated password=x")
	if raw.String() != "(unparsed connection string, redacted)" || raw.Reveal() != "host='unterminated password=x" {
		t.Errorf("unparsed DSN: String %q Secret %q", raw.String(), raw.Reveal())
	}
	if _, err := raw.With("host", "x"); !errors.Is(err, pgaurora.ErrConnString) {
		t.Errorf("editing an unparsed DSN: %v", err)
	}
}

func TestParseConnString(t *testing.T) {
	tests := []struct {
		in     string
		want   map[string]string
		reveal string
	}{
		{"host=h port=5432 dbname=app user=u password=secret", map[string]string{"host": "h", "port": "5432", "dbname": "app", "user": "u", "password": "secret"},
			"host=h port=5432 dbname=app user=u password=secret"},
		{"  sslmode = require   password='it''s'", nil, ""}, // '' is not an escape in libpq: the value ends
		{`password='it\'s a \\ secret' host=h`, map[string]string{"password": `it's a \ secret`, "host": "h"}, `host=h password='it\'s a \\ secret'`},
		{"user=a user=b", map[string]string{"user": "b"}, "user=b"},
		{"dbname=''", map[string]string{"dbname": ""}, "dbname=''"},
		{"postgresql://u:p%40ss@db.example.com:5433/app?sslmode=verify-full&application_name=x",
			map[string]string{"user": "u", "password": "p@ss", "host": "db.example.com", "port": "5433", "dbname": "app", "sslmode": "verify-full", "application_name": "x"},
			"host=db.example.com port=5433 dbname=app user=u password=p@ss application_name=x sslmode=verify-full"},
		{"postgres://h1:1,[::1]:2/db", map[string]string{"host": "h1,::1", "port": "1,2", "dbname": "db"}, "host=h1,::1 port=1,2 dbname=db"},
		{"postgres://", map[string]string{}, ""},
		{"postgres://u@h?ssl=true", map[string]string{"user": "u", "host": "h", "sslmode": "require"}, "host=h user=u sslmode=require"},
	}
	for _, tt := range tests {
		c, err := pgaurora.ParseConnString(tt.in)
		if tt.want == nil {
			if err == nil {
				t.Errorf("pgaurora.ParseConnString(%q) = %v, want an error", tt.in, c)
			}
			continue
		}
		if err != nil {
			t.Errorf("pgaurora.ParseConnString(%q): %v", tt.in, err)
			continue
		}
		got := map[string]string{}
		for _, k := range c.Keywords() {
			got[k], _ = c.Get(k)
			if k == "password" { // Get never returns a password
				got[k] = tt.want[k]
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("pgaurora.ParseConnString(%q) (-want +got):\n%s", tt.in, diff)
		}
		if c.Reveal() != tt.reveal {
			t.Errorf("Reveal = %q, want %q", c.Reveal(), tt.reveal)
		}
	}
	for _, bad := range []string{"host", "host=h junk", "hots=h", "password='unterminated", "postgres://h:1/db?nokey", "postgres://h/db?bogus=1",
		"postgres://[::1/db", "postgres://u:%zz@h", "user=\xff"} {
		if _, err := pgaurora.ParseConnString(bad); !errors.Is(err, pgaurora.ErrConnString) {
			t.Errorf("pgaurora.ParseConnString(%q): %v, want pgaurora.ErrConnString", bad, err)
		}
	}
	// Errors never quote a password, even in a malformed string.
	if _, err := pgaurora.ParseConnString("host=h 'hunter2'=x"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error leaks a password-like keyword: %v", err)
	}
}

func TestConnStringForms(t *testing.T) {
	c, err := pgaurora.NewConnString(map[string]string{"host": "h", "user": "u", "password": "hunter2", "sslpassword": "keypass", "dbname": "d"})
	if err != nil {
		t.Fatal(err)
	}
	want := "host=h dbname=d user=u password=REDACTED sslpassword=REDACTED"
	if c.String() != want {
		t.Errorf("String = %q, want %q", c.String(), want)
	}
	js, _ := json.Marshal(struct{ C pgaurora.ConnString }{c})
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "conn", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q %x", c, c, c, c, c, c), fmt.Sprintf("%+v", struct{ C pgaurora.ConnString }{c}), buf.String()} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "keypass") || !strings.Contains(s, "REDACTED") {
			t.Errorf("printed form leaks or lacks the redaction: %s", s)
		}
	}
	if _, ok := c.Get("password"); ok || !c.HasPassword() {
		t.Error("Get(password) returned the secret, or HasPassword lost it")
	}
	if !strings.Contains(c.Reveal(), "password=hunter2") {
		t.Error("Reveal lost the password")
	}
	c2, err := c.With("port", "6543")
	if err != nil || c2.String() != "host=h port=6543 dbname=d user=u password=REDACTED sslpassword=REDACTED" || c.String() != want {
		t.Errorf("With: %v %v (original %v)", c2, err, c)
	}
	if strings.Contains(string(js), "hunter2") || strings.Contains(string(js), "password") {
		t.Errorf("JSON holds a password keyword: %s", js)
	}
	if c3 := c.Without("password").Without("sslpassword"); c3.HasPassword() || strings.Contains(c3.Reveal(), "password") {
		t.Errorf("Without: %v", c3)
	}
	if _, err := c.With("bogus", "x"); !errors.Is(err, pgaurora.ErrConnString) {
		t.Errorf("With(bogus): %v", err)
	}
	if _, err := pgaurora.NewConnString(map[string]string{"host": "a\x00b"}); !errors.Is(err, pgaurora.ErrConnString) {
		t.Errorf("NUL: %v", err)
	}
	if !(pgaurora.ConnString{}).IsZero() || c.IsZero() {
		t.Error("IsZero")
	}
}

func TestConnStringPasswordPolicy(t *testing.T) {
	for _, pw := range []string{"pässword", "tab\there"} {
		if _, err := pgaurora.NewConnString(map[string]string{"host": "h", "password": pw}); !errors.Is(err, pgaurora.ErrPassword) {
			t.Errorf("NewConnString with password %q: %v, want ErrPassword", pw, err)
		}
		if _, err := pgaurora.ParseConnString("host=h password='" + pw + "'"); !errors.Is(err, pgaurora.ErrPassword) {
			t.Errorf("ParseConnString with password %q: %v, want ErrPassword", pw, err)
		}
		c, _ := pgaurora.NewConnString(map[string]string{"host": "h"})
		if _, err := c.WithPassword(pw); !errors.Is(err, pgaurora.ErrPassword) {
			t.Errorf("WithPassword(%q): %v, want ErrPassword", pw, err)
		}
	}
}
