package logical

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora/params"
)

func TestParseConnInfo(t *testing.T) {
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
		c, err := ParseConnInfo(tt.in)
		if tt.want == nil {
			if err == nil {
				t.Errorf("ParseConnInfo(%q) = %v, want an error", tt.in, c)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseConnInfo(%q): %v", tt.in, err)
			continue
		}
		got := map[string]string{}
		for _, k := range c.info.Keywords() {
			got[k], _ = c.Get(k)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseConnInfo(%q) (-want +got):\n%s", tt.in, diff)
		}
		if c.Reveal() != tt.reveal {
			t.Errorf("Reveal = %q, want %q", c.Reveal(), tt.reveal)
		}
	}
	for _, bad := range []string{"host", "host=h junk", "hots=h", "password='unterminated", "postgres://h:1/db?nokey", "postgres://h/db?bogus=1",
		"postgres://[::1/db", "postgres://u:%zz@h", "user=\xff"} {
		if _, err := ParseConnInfo(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseConnInfo(%q): %v, want ErrInvalid", bad, err)
		}
	}
	// Errors never quote a password, even in a malformed string.
	if _, err := ParseConnInfo("host=h 'hunter2'=x"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error leaks a password-like keyword: %v", err)
	}
}

func TestConnInfoRedaction(t *testing.T) {
	c, err := NewConnInfo(map[string]string{"host": "h", "user": "u", "password": "hunter2", "sslpassword": "keypass", "dbname": "d"})
	if err != nil {
		t.Fatal(err)
	}
	want := "host=h dbname=d user=u password=REDACTED sslpassword=REDACTED"
	if c.String() != want {
		t.Errorf("String = %q, want %q", c.String(), want)
	}
	js, _ := json.Marshal(struct{ C ConnInfo }{c})
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "conn", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q %x", c, c, c, c, c, c), fmt.Sprintf("%+v", struct{ C ConnInfo }{c}), string(js), buf.String()} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "keypass") || !strings.Contains(s, "REDACTED") {
			t.Errorf("printed form leaks or lacks the redaction: %s", s)
		}
	}
	if v, ok := c.Get("password"); !ok || v != "hunter2" || !c.HasPassword() {
		t.Error("Get(password) lost the secret")
	}
	if !strings.Contains(c.Reveal(), "password=hunter2") {
		t.Error("Reveal lost the password")
	}
	c2, err := c.With("port", "6543")
	if err != nil || c2.String() != "host=h port=6543 dbname=d user=u password=REDACTED sslpassword=REDACTED" || c.String() != want {
		t.Errorf("With: %v %v (original %v)", c2, err, c)
	}
	if c3 := c.Without("password").Without("sslpassword"); c3.HasPassword() || len(c3.secrets()) != 0 {
		t.Errorf("Without: %v", c3)
	}
	if _, err := c.With("bogus", "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("With(bogus): %v", err)
	}
	if _, err := NewConnInfo(map[string]string{"host": "a\x00b"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NUL: %v", err)
	}
	if !(ConnInfo{}).IsZero() || c.IsZero() {
		t.Error("IsZero")
	}
}

func TestCheckExpression(t *testing.T) {
	good := []string{"a = 1", "region = 'eu'", "(a > 1) AND (b < 2)", `"Weird)" = 'x;y'`, "note = 'it''s'", `x = E'a\'b)'`,
		"body = $$ ; ) $$", "body = $tag$ ) -- $tag$", "price::numeric > 10", "tags @> ARRAY['a']", "a = -1", "a - -1 > 0"}
	for _, s := range good {
		if err := checkExpression("Where", s); err != nil {
			t.Errorf("checkExpression(%q): %v", s, err)
		}
	}
	bad := []string{"", "  ", "a = 1; DROP TABLE t", "a = 1) OR (true", "(a = 1", "a = 1 -- comment", "a /* c */ = 1", "a = 'open",
		`"open = 1`, "a = $$open", `a = 'x\'`, "a = 1\x00"}
	for _, s := range bad {
		if err := checkExpression("Where", s); !errors.Is(err, ErrInvalid) {
			t.Errorf("checkExpression(%q) = %v, want ErrInvalid", s, err)
		}
	}
}

// FuzzCheckExpression checks that an accepted row filter cannot leave
// its parentheses: wrapped as WHERE (expr), a scanner that knows SQL's
// quoting sees balanced parentheses and no semicolon or comment outside
// literals, whichever way standard_conforming_strings is set.
func FuzzCheckExpression(f *testing.F) {
	for _, s := range []string{"a = 1", "x = 'a''b'", "y = E'\\''", "$$)$$", "(a)", "a = 1); --"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkExpression("Where", s) != nil {
			return
		}
		for _, conforming := range []bool{true, false} {
			if !parensStayClosed("("+s+")", conforming) {
				t.Fatalf("accepted %q escapes its parentheses (standard_conforming_strings=%t)", s, conforming)
			}
		}
	})
}

// parensStayClosed scans SQL text as the server would and reports whether
// the first parenthesis closes only at the very end, with no semicolon or
// comment outside literals.
func parensStayClosed(s string, conforming bool) bool {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			esc := !conforming || (i > 0 && (s[i-1] == 'E' || s[i-1] == 'e'))
			j := i + 1
			for ; j < len(s); j++ {
				if esc && s[j] == '\\' {
					j++
					continue
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						j++
						continue
					}
					break
				}
			}
			if j >= len(s) {
				return false
			}
			i = j
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			for j >= 0 && i+1+j+1 < len(s) && s[i+1+j+1] == '"' {
				k := strings.IndexByte(s[i+1+j+2:], '"')
				if k < 0 {
					return false
				}
				j = j + 2 + k
			}
			if j < 0 {
				return false
			}
			i = i + 1 + j
		case c == '$' && (i == 0 || !isIdentByte(s[i-1])):
			j := i + 1
			for j < len(s) && isIdentByte(s[j]) && s[j] != '$' {
				j++
			}
			if j < len(s) && s[j] == '$' && (j == i+1 || !(s[i+1] >= '0' && s[i+1] <= '9')) {
				tag := s[i : j+1]
				end := strings.Index(s[j+1:], tag)
				if end < 0 {
					return false
				}
				i = j + end + len(tag)
			}
		case c == ';', c == '-' && i+1 < len(s) && s[i+1] == '-', c == '/' && i+1 < len(s) && s[i+1] == '*':
			return false
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 && i != len(s)-1 {
				return false
			}
		}
	}
	return depth == 0
}

func TestParseTableName(t *testing.T) {
	tests := []struct {
		in   string
		want TableName
	}{
		{"orders", TableName{Name: "orders"}},
		{"Sales.Orders", TableName{"sales", "orders"}},
		{`"Sales"."Order ""X"""`, TableName{"Sales", `Order "X"`}},
		{`public."a.b"`, TableName{"public", "a.b"}},
	}
	for _, tt := range tests {
		got, err := ParseTableName(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseTableName(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if back, err := ParseTableName(got.String()); err != nil || back != got {
			t.Errorf("String() of %+v = %q does not parse back: %+v %v", got, got.String(), back, err)
		}
	}
	for _, bad := range []string{"", ".", "a.", ".b", "a.b.c", `"open`, `"a"b`, "a b", strings.Repeat("x", 64)} {
		if _, err := ParseTableName(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseTableName(%q): %v, want ErrInvalid", bad, err)
		}
	}
}

func FuzzParseTableName(f *testing.F) {
	for _, s := range []string{"a", "a.b", `"A"."b""c"`, `"x.y"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseTableName(s)
		if err != nil {
			return
		}
		back, err := ParseTableName(n.String())
		if err != nil || back != n {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, n, n.String(), back, err)
		}
		if _, err := n.Ident(); err != nil {
			t.Fatalf("Ident of parsed %+v: %v", n, err)
		}
	})
}

func TestParameters(t *testing.T) {
	got, err := Parameters(params.SizingInput{Publications: 2, Subscriptions: 0, CDCTasks: 3, VCPU: 4, MemoryBytes: 16 << 30,
		Current: map[string]string{"max_replication_slots": "20", "max_wal_senders": "4"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []params.Change{{Name: "rds.logical_replication", Value: "1"}, {Name: "max_wal_senders", Value: "5"}, {Name: "max_logical_replication_workers", Value: "5"}}
	if diff := cmp.Diff(want, got[:3]); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := params.ValidateAll(params.ClusterGroup, got); err != nil {
		t.Errorf("changes do not validate: %v", err)
	}
	if _, err := Parameters(params.SizingInput{Publications: -1}); err == nil {
		t.Error("negative count accepted")
	}
}

func TestScrub(t *testing.T) {
	cause := &pgconn.PgError{Code: "42710", Message: "role x: hunter2 exists", Detail: "hunter2"}
	err := scrub(classify(cause, "doing"), "hunter2")
	if strings.Contains(err.Error(), "hunter2") || !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("scrubbed = %v", err)
	}
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != "42710" || strings.Contains(pg.Message+pg.Detail, "hunter2") {
		t.Errorf("scrubbed cause = %+v", pg)
	}
	plain := errors.New("nothing secret")
	if scrub(plain, "hunter2") != plain || scrub(nil, "x") != nil {
		t.Error("scrub changed an error without secrets")
	}
}

func TestVersionError(t *testing.T) {
	e := &VersionError{Feature: "row filters", Need: 150000, Have: 140011}
	if !errors.Is(e, ErrUnsupported) || e.Error() != "logical: row filters need PostgreSQL 15.0 or later; the server runs 14.11" {
		t.Errorf("%v", e)
	}
}
