package pglogical

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
