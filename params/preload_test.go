package params

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLibraryList(t *testing.T) {
	tests := []struct {
		in      string
		want    LibraryList
		wantErr string
	}{
		{"", nil, ""},
		{"   ", nil, ""},
		{"pgaudit", LibraryList{"pgaudit"}, ""},
		{"pgaudit,pglogical", LibraryList{"pgaudit", "pglogical"}, ""},
		{" pgaudit ,  pglogical ", LibraryList{"pgaudit", "pglogical"}, ""},
		{"pgaudit,,pglogical,", LibraryList{"pgaudit", "pglogical"}, ""},
		{",pgaudit", LibraryList{"pgaudit"}, ""},
		{"\tpgaudit,\npglogical", LibraryList{"pgaudit", "pglogical"}, ""},
		{`"pg_stat_statements", pgaudit`, LibraryList{"pg_stat_statements", "pgaudit"}, ""},
		{`"a,b",c`, LibraryList{"a,b", "c"}, ""},
		{`"say ""hi"""`, LibraryList{`say "hi"`}, ""},
		{`"$libdir/x y"`, LibraryList{"$libdir/x y"}, ""},
		{`" padded "`, LibraryList{" padded "}, ""},
		{`""`, nil, ""},
		{"my lib", LibraryList{"my lib"}, ""},
		{`"pgaudit`, nil, "unterminated double quote"},
		{`"pgaudit" x`, nil, "after a quoted entry"},
		{`pg"audit`, nil, "double quote inside an unquoted entry"},
		{"pg\x01audit", nil, "control character"},
	}
	for _, tt := range tests {
		got, err := ParseLibraryList(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseLibraryList(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseLibraryList(%q) error = %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseLibraryList(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestLibraryListString(t *testing.T) {
	tests := []struct {
		in   LibraryList
		want string
	}{
		{nil, ""},
		{LibraryList{"pgaudit"}, "pgaudit"},
		{LibraryList{"pg_stat_statements", "pgaudit", "pglogical"}, "pg_stat_statements,pgaudit,pglogical"},
		{LibraryList{"a,b", "c"}, `"a,b",c`},
		{LibraryList{`say "hi"`}, `"say ""hi"""`},
		{LibraryList{" padded"}, `" padded"`},
		{LibraryList{"my lib"}, "my lib"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%q.String() = %q, want %q", []string(tt.in), got, tt.want)
		}
	}
}

func TestLibraryListEdit(t *testing.T) {
	tests := []struct {
		name        string
		current     string
		add, remove []string
		want        string
	}{
		{"add to empty", "", []string{"pgaudit"}, nil, "pgaudit"},
		{"append keeps order", "pg_stat_statements", []string{"pgaudit", "pglogical"}, nil, "pg_stat_statements,pgaudit,pglogical"},
		{"no duplicate", "pg_stat_statements,pgaudit", []string{"pgaudit"}, nil, "pg_stat_statements,pgaudit"},
		{"case-insensitive add", "PGAudit", []string{"pgaudit"}, nil, "PGAudit"},
		{"duplicate within add", "", []string{"pgaudit", "PGAUDIT"}, nil, "pgaudit"},
		{"blank add skipped", "a", []string{" ", ""}, nil, "a"},
		{"add trims", "a", []string{" pgaudit "}, nil, "a,pgaudit"},
		{"remove keeps order", "a,pgaudit,b,c", nil, []string{"pgaudit"}, "a,b,c"},
		{"case-insensitive remove", "a,PgAudit,b", nil, []string{"PGAUDIT"}, "a,b"},
		{"remove absent", "a,b", nil, []string{"zzz"}, "a,b"},
		{"remove then add moves to end", "pgaudit,a", []string{"pgaudit"}, []string{"pgaudit"}, "a,pgaudit"},
		{"existing duplicates kept", "a,a", []string{"b"}, nil, "a,a,b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseLibraryList(tt.current)
			if err != nil {
				t.Fatal(err)
			}
			before := strings.Clone(l.String())
			got := l.Remove(tt.remove...).Add(tt.add...).String()
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if l.String() != before {
				t.Fatalf("receiver modified: %q -> %q", before, l.String())
			}
		})
	}
}

func TestLibraryListContainsEqual(t *testing.T) {
	l := LibraryList{"pg_stat_statements", "PGAUDIT"}
	if !l.Contains("pgaudit") || !l.Contains(" pg_stat_statements ") || l.Contains("pglogical") {
		t.Fatal("Contains wrong")
	}
	if !l.Equal(LibraryList{"PG_STAT_STATEMENTS", "pgaudit"}) || l.Equal(LibraryList{"pgaudit", "pg_stat_statements"}) || l.Equal(nil) {
		t.Fatal("Equal wrong")
	}
}

func TestPreloadChange(t *testing.T) {
	tests := []struct {
		name        string
		current     string
		add, remove []string
		want        Change
		changed     bool
		wantErr     string
	}{
		{"add pgaudit", "pg_stat_statements", []string{"pgaudit"}, nil,
			Change{Name: SharedPreloadLibraries, Value: "pg_stat_statements,pgaudit"}, true, ""},
		{"already there", "pg_stat_statements, PGAUDIT", []string{"pgaudit"}, nil,
			Change{Name: SharedPreloadLibraries, Value: "pg_stat_statements,PGAUDIT"}, false, ""},
		{"remove", "pgaudit,pglogical", nil, []string{"pglogical"},
			Change{Name: SharedPreloadLibraries, Value: "pgaudit"}, true, ""},
		{"remove all refused", "pgaudit", nil, []string{"pgaudit"}, Change{}, false, "would be empty"},
		{"comma in name refused", "", []string{"a,b"}, nil, Change{}, false, "is not a library name"},
		{"bad current", `"x`, []string{"a"}, nil, Change{}, false, "unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := PreloadChange(tt.current, tt.add, tt.remove)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || changed != tt.changed {
				t.Fatalf("got %v, %v; want %v, %v", got, changed, tt.want, tt.changed)
			}
			if changed {
				if err := Validate(ClusterGroup, got); err != nil {
					t.Fatalf("result is not valid for the API: %v", err)
				}
			}
		})
	}
	var ve *ValidationError
	if _, _, err := PreloadChange("a", nil, []string{"a"}); !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %T", err)
	}
}

// FuzzParseLibraryList checks that the parser never panics, that what it
// accepts has no empty or control-character entries, and that formatting
// and re-parsing gives the same list (so String is valid input for the
// API and for PostgreSQL's own list parser).
func FuzzParseLibraryList(f *testing.F) {
	for _, s := range []string{
		"", "pgaudit", "pg_stat_statements,pgaudit,pglogical", " a , b ,, c ,",
		`"a,b",c`, `"say ""hi"""`, `"x`, `"a" b`, `a"b`, "\t\n", `" padded "`, `""`, "a,\"\"", "é,ü",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLibraryList(s)
		if err != nil {
			return
		}
		for _, it := range l {
			if strings.TrimSpace(it) == "" {
				t.Fatalf("ParseLibraryList(%q) returned an empty entry: %q", s, []string(l))
			}
			if strings.ContainsFunc(it, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				t.Fatalf("ParseLibraryList(%q) returned a control character: %q", s, it)
			}
		}
		out := l.String()
		again, err := ParseLibraryList(out)
		if err != nil {
			t.Fatalf("re-parsing %q (from %q): %v", out, s, err)
		}
		if diff := cmp.Diff([]string(l), []string(again)); diff != "" {
			t.Fatalf("round trip of %q via %q changed the list (-first +second):\n%s", s, out, diff)
		}
		if again.String() != out {
			t.Fatalf("String not stable: %q then %q", out, again.String())
		}
	})
}
