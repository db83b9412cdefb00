package sqlquote_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestIdentFormat(t *testing.T) {
	for _, tc := range []struct {
		parts []string
		want  string
	}{
		{[]string{"t"}, `"t"`},
		{[]string{"public", "T"}, `"public"."T"`},
		{[]string{`we"ird`, "a.b"}, `"we""ird"."a.b"`},
		{[]string{strings.Repeat("x", 63)}, `"` + strings.Repeat("x", 63) + `"`},
	} {
		got, err := sqlquote.Ident(tc.parts...)
		if err != nil || got != tc.want {
			t.Errorf("Ident(%q) = %q, %v; want %q", tc.parts, got, err, tc.want)
		}
	}
}

func TestRejects(t *testing.T) {
	for name, fn := range map[string]func() error{
		"empty ident":        func() error { _, err := sqlquote.Ident(""); return err },
		"no parts":           func() error { _, err := sqlquote.Ident(); return err },
		"NUL in ident":       func() error { _, err := sqlquote.Ident("a\x00b"); return err },
		"bad UTF-8 in ident": func() error { _, err := sqlquote.Ident("a\xffb"); return err },
		"64-byte ident":      func() error { _, err := sqlquote.Ident(strings.Repeat("é", 32)); return err },
		"NUL in literal":     func() error { _, err := sqlquote.Literal("a\x00"); return err },
		"bad UTF-8 literal":  func() error { _, err := sqlquote.Literal("\xc3\x28"); return err },
	} {
		if err := fn(); !errors.Is(err, sqlquote.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func TestLiteralFormat(t *testing.T) {
	for in, want := range map[string]string{
		"":        `''`,
		"it's":    `'it''s'`,
		`a\b`:     ` E'a\\b'`,
		`'\'`:     ` E'''\\'''`,
		"line\n2": "'line\n2'",
	} {
		if got, err := sqlquote.Literal(in); err != nil || got != want {
			t.Errorf("Literal(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

var hostile = []string{
	"plain", "MixedCase", `quote"inside`, `single'quote`, `back\slash`, "semi;colon -- comment",
	"space name", "ünïcødé ☃", `"; DROP TABLE x; --`, `'); DROP TABLE x; --`, "new\nline", "tab\t",
	strings.Repeat("z", 63), "$$dollar$$", "E'x'", `\'`,
}

// roundTrip checks through a real server that a quoted identifier creates an
// object whose catalog name equals the input, and that a quoted literal
// selects back equal to the input, under both settings of
// standard_conforming_strings.
func roundTrip(t *testing.T, conn *pgx.Conn, s string) {
	t.Helper()
	ctx := context.Background()
	if lit, err := sqlquote.Literal(s); err == nil {
		for _, scs := range []string{"on", "off"} {
			if _, err := conn.Exec(ctx, "SET standard_conforming_strings = "+scs); err != nil {
				t.Fatal(err)
			}
			var got string
			if err := conn.QueryRow(ctx, "SELECT "+lit, pgx.QueryExecModeExec).Scan(&got); err != nil {
				t.Fatalf("SELECT %s (standard_conforming_strings=%s): %v", lit, scs, err)
			}
			if got != s {
				t.Fatalf("literal round trip (standard_conforming_strings=%s): got %q, want %q", scs, got, s)
			}
		}
	} else if !strings.ContainsRune(s, 0) && utf8.ValidString(s) {
		t.Fatalf("Literal(%q) refused valid input: %v", s, err)
	}

	id, err := sqlquote.Ident(s)
	if err != nil {
		if s != "" && len(s) <= sqlquote.MaxIdentifierLength && !strings.ContainsRune(s, 0) && utf8.ValidString(s) {
			t.Fatalf("Ident(%q) refused valid input: %v", s, err)
		}
		return
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "CREATE TABLE "+id+" ()"); err != nil {
		t.Fatalf("CREATE TABLE %s: %v", id, err)
	}
	var got string
	if err := tx.QueryRow(ctx, "SELECT relname FROM pg_class WHERE oid = $1::regclass", id).Scan(&got); err != nil {
		t.Fatalf("looking up %s: %v", id, err)
	}
	if got != s {
		t.Fatalf("identifier round trip: catalog has %q, want %q", got, s)
	}
}

func TestRoundTripHostile(t *testing.T) {
	db := pgtest.NewDB(t)
	conn := db.Connect(t)
	for _, s := range hostile {
		roundTrip(t, conn, s)
	}
}

func FuzzRoundTrip(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Add("a\x00b")
	f.Add("\xff")
	db := pgtest.NewDB(f)
	conn := db.Connect(f)
	f.Fuzz(func(t *testing.T, s string) {
		roundTrip(t, conn, s)
	})
}
