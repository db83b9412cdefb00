package pgaurora_test

import (
	"errors"
	"testing"

	"github.com/pgaurora/pgaurora"
)

func TestParseEngineVersion(t *testing.T) {
	cases := []struct {
		in   string
		want pgaurora.EngineVersion
		str  string
	}{
		{"15.4", pgaurora.EngineVersion{Major: 15, Minor: 4, Revision: 1}, "15.4"},
		{"15.2-R2", pgaurora.EngineVersion{Major: 15, Minor: 2, Revision: 2}, "15.2-R2"},
		{" 15.2-r3 ", pgaurora.EngineVersion{Major: 15, Minor: 2, Revision: 3}, "15.2-R3"},
		{"15.2-R1", pgaurora.EngineVersion{Major: 15, Minor: 2, Revision: 1}, "15.2"},
		{"13.12", pgaurora.EngineVersion{Major: 13, Minor: 12, Revision: 1}, "13.12"},
		{"10.21", pgaurora.EngineVersion{Major: 10, Minor: 21, Revision: 1}, "10.21"},
		{"9.6.22", pgaurora.EngineVersion{Major: 96, Minor: 22, Revision: 1}, "9.6.22"},
		{"16", pgaurora.EngineVersion{Major: 16, Minor: 0, Revision: 1}, "16.0"},
	}
	for _, c := range cases {
		got, err := pgaurora.ParseEngineVersion(c.in)
		if err != nil || got != c.want || got.String() != c.str {
			t.Errorf("ParseEngineVersion(%q) = %+v (%q), %v; want %+v (%q)", c.in, got, got.String(), err, c.want, c.str)
		}
	}
	for _, in := range []string{"", "9", "16-R2", "15.", ".4", "15.4.1", "15.4-", "15.4-R", "15.4-R0", "15.4-X2", "15.x", "v15.4",
		"9.6", "9.10.1", "8.4.1", "15.4-R2-R3", "1e3.1", "-15.4", "+15.4", "15.4\x00", "15.1234567"} {
		if _, err := pgaurora.ParseEngineVersion(in); !errors.Is(err, pgaurora.ErrEngineVersion) {
			t.Errorf("ParseEngineVersion(%q): want ErrEngineVersion, got %v", in, err)
		}
	}
	a, _ := pgaurora.ParseEngineVersion("15.2")
	b, _ := pgaurora.ParseEngineVersion("15.2-R2")
	c, _ := pgaurora.ParseEngineVersion("15.10")
	if a.Compare(b) != -1 || b.Compare(a) != 1 || b.Compare(c) != -1 || c.Compare(c) != 0 {
		t.Error("Compare order wrong")
	}
	if v := pgaurora.ServerVersion(150004); v != (pgaurora.EngineVersion{Major: 15, Minor: 4, Revision: 1}) || v.Family() != "aurora-postgresql15" {
		t.Errorf("ServerVersion(150004) = %+v, family %s", v, v.Family())
	}
	if v := pgaurora.ServerVersion(90622); v.String() != "9.6.22" {
		t.Errorf("ServerVersion(90622) = %s", v)
	}
	if !(pgaurora.EngineVersion{}).IsZero() || a.IsZero() {
		t.Error("IsZero")
	}
}

// FuzzParseEngineVersion: whatever parses formats back to a string that
// parses to the same version, and never panics.
func FuzzParseEngineVersion(f *testing.F) {
	for _, s := range []string{"15.4", "15.2-R2", "9.6.22", "13.12", "15.2-r3", "", "15.4-R", "999999.999999-R999999", " 16.1 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := pgaurora.ParseEngineVersion(s)
		if err != nil {
			if !errors.Is(err, pgaurora.ErrEngineVersion) {
				t.Fatalf("error does not match ErrEngineVersion: %v", err)
			}
			return
		}
		again, err := pgaurora.ParseEngineVersion(v.String())
		if err != nil || again != v {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, v, v.String(), again, err)
		}
		if v.Revision < 1 {
			t.Fatalf("%q: revision %d", s, v.Revision)
		}
	})
}
