package extensions_test

import (
	"errors"
	"testing"

	"github.com/pgaurora/pgaurora/extensions"
)

func TestParseEngineVersion(t *testing.T) {
	cases := []struct {
		in   string
		want extensions.EngineVersion
		str  string
	}{
		{"15.4", extensions.EngineVersion{Major: 15, Minor: 4, Revision: 1}, "15.4"},
		{"15.2-R2", extensions.EngineVersion{Major: 15, Minor: 2, Revision: 2}, "15.2-R2"},
		{" 15.2-r3 ", extensions.EngineVersion{Major: 15, Minor: 2, Revision: 3}, "15.2-R3"},
		{"15.2-R1", extensions.EngineVersion{Major: 15, Minor: 2, Revision: 1}, "15.2"},
		{"13.12", extensions.EngineVersion{Major: 13, Minor: 12, Revision: 1}, "13.12"},
		{"10.21", extensions.EngineVersion{Major: 10, Minor: 21, Revision: 1}, "10.21"},
		{"9.6.22", extensions.EngineVersion{Major: 96, Minor: 22, Revision: 1}, "9.6.22"},
	}
	for _, c := range cases {
		got, err := extensions.ParseEngineVersion(c.in)
		if err != nil || got != c.want || got.String() != c.str {
			t.Errorf("ParseEngineVersion(%q) = %+v (%q), %v; want %+v (%q)", c.in, got, got.String(), err, c.want, c.str)
		}
	}
	for _, in := range []string{"", "15", "15.", ".4", "15.4.1", "15.4-", "15.4-R", "15.4-R0", "15.4-X2", "15.x", "v15.4",
		"9.6", "9.10.1", "8.4.1", "15.4-R2-R3", "1e3.1", "-15.4", "+15.4", "15.4\x00", "15.1234567"} {
		if _, err := extensions.ParseEngineVersion(in); !errors.Is(err, extensions.ErrEngineVersion) {
			t.Errorf("ParseEngineVersion(%q): want ErrEngineVersion, got %v", in, err)
		}
	}
	a, _ := extensions.ParseEngineVersion("15.2")
	b, _ := extensions.ParseEngineVersion("15.2-R2")
	c, _ := extensions.ParseEngineVersion("15.10")
	if a.Compare(b) != -1 || b.Compare(a) != 1 || b.Compare(c) != -1 || c.Compare(c) != 0 {
		t.Error("Compare order wrong")
	}
}

// FuzzParseEngineVersion: whatever parses formats back to a string that
// parses to the same version, and never panics.
func FuzzParseEngineVersion(f *testing.F) {
	for _, s := range []string{"15.4", "15.2-R2", "9.6.22", "13.12", "15.2-r3", "", "15.4-R", "999999.999999-R999999", " 16.1 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := extensions.ParseEngineVersion(s)
		if err != nil {
			if !errors.Is(err, extensions.ErrEngineVersion) {
				t.Fatalf("error does not match ErrEngineVersion: %v", err)
			}
			return
		}
		again, err := extensions.ParseEngineVersion(v.String())
		if err != nil || again != v {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, v, v.String(), again, err)
		}
		if v.Revision < 1 {
			t.Fatalf("%q: revision %d", s, v.Revision)
		}
	})
}
