package logical

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora/params"
)

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
