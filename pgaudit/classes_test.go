package pgaudit

import (
	"errors"
	"strings"
	"testing"
)

func TestParseClasses(t *testing.T) {
	tests := []struct {
		in   string
		want Classes
		str  string
	}{
		{"", None, "none"},
		{"   ", None, "none"},
		{"none", None, "none"},
		{"NONE", None, "none"},
		{"all", All, "all"},
		{"ALL", All, "all"},
		{"read", Read, "read"},
		{"Read, WRITE", Read | Write, "read,write"},
		{"write,ddl", Write | DDL, "write,ddl"},
		{" ddl ,\tread\n", Read | DDL, "read,ddl"},
		{"all, -misc", Read | Write | Function | Role | DDL, "read,write,function,role,ddl"},
		{"-misc, all", All, "all"},
		{"all,-all", None, "none"},
		{"misc", Misc, "misc"},
		{"misc_set", MiscSet, "misc_set"},
		{"misc,-misc_set", miscOnly, "misc,-misc_set"},
		{"all,-misc_set", All &^ MiscSet, "read,write,function,role,ddl,misc,-misc_set"},
		{"misc_set,-misc", None, "none"},
		{"read,none", Read, "read"},
		{"read,-none", Read, "read"},
		{`"READ","-ddl",ddl`, Read | DDL, "read,ddl"},
		{"function,role", Function | Role, "function,role"},
		{"read,read", Read, "read"},
	}
	for _, tt := range tests {
		got, err := ParseClasses(tt.in)
		if err != nil {
			t.Errorf("ParseClasses(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseClasses(%q) = %#x, want %#x", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.str {
			t.Errorf("ParseClasses(%q).String() = %q, want %q", tt.in, s, tt.str)
		}
		back, err := ParseClasses(got.String())
		if err != nil || back != got {
			t.Errorf("round trip of %q: %#x, %v", got.String(), back, err)
		}
	}
}

func TestParseClassesErrors(t *testing.T) {
	for _, in := range []string{
		"reed", "read,", ",read", "read,,write", "read write", "- read", "-", "--read",
		`"read`, `""`, "misc-set", "ALL;DROP TABLE x", "rëad", "dml",
	} {
		_, err := ParseClasses(in)
		if err == nil {
			t.Errorf("ParseClasses(%q) succeeded", in)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseClasses(%q): error %v is not ErrInvalid", in, err)
		}
	}
	_, err := ParseClasses("read, bogus")
	if err == nil || !strings.Contains(err.Error(), `"bogus"`) || !strings.Contains(err.Error(), "misc_set") {
		t.Errorf("error should name the word and the allowed list: %v", err)
	}
}

func TestClassesLogs(t *testing.T) {
	tests := []struct {
		set  string
		c    Classes
		want bool
	}{
		{"misc", MiscSet, true},
		{"misc_set", MiscSet, true},
		{"misc_set", Misc, false},
		{"misc", Misc, true},
		{"misc,-misc_set", MiscSet, false},
		{"misc,-misc_set", Misc, true},
		{"write,ddl", Read, false},
		{"write,ddl", DDL, true},
		{"all,-read", Read, false},
		{"none", Write, false},
	}
	for _, tt := range tests {
		if got := MustParseClasses(tt.set).Logs(tt.c); got != tt.want {
			t.Errorf("%q.Logs(%s) = %v, want %v", tt.set, tt.c.Names(), got, tt.want)
		}
	}
}

func TestClassesHasNamesText(t *testing.T) {
	s := Read | Misc
	if !s.Has(MiscSet) || !s.Has(Read) || s.Has(Write) {
		t.Errorf("Has is wrong for %s", s)
	}
	if got := strings.Join(s.Names(), ","); got != "READ,MISC" {
		t.Errorf("Names = %s", got)
	}
	var c Classes
	if err := c.UnmarshalText([]byte("ddl, role")); err != nil || c != DDL|Role {
		t.Errorf("UnmarshalText: %v %s", err, c)
	}
	if b, _ := c.MarshalText(); string(b) != "role,ddl" {
		t.Errorf("MarshalText = %s", b)
	}
	if err := c.UnmarshalText([]byte("nope")); err == nil {
		t.Error("UnmarshalText accepted nope")
	}
}

func FuzzParseClasses(f *testing.F) {
	for _, s := range []string{"", "all, -misc", `"READ",write`, "misc,-misc_set", "read,,", `"a""b"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseClasses(s)
		if err != nil {
			return
		}
		if c&^All != 0 {
			t.Fatalf("stray bits %#x", c)
		}
		back, err := ParseClasses(c.String())
		if err != nil || back != c {
			t.Fatalf("%q -> %s -> %#x, %v", s, c, back, err)
		}
	})
}
