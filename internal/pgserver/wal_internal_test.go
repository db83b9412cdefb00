package pgserver

import "testing"

func TestSegmentOf(t *testing.T) {
	for _, c := range []struct{ lsn, size, want string }{
		{"0/3000060", "16777216", "0000000000000003"},
		{"1/0", "16777216", "0000000100000000"},
		{"16/B374D848", "16777216", "00000016000000B3"},
		{"0/3000060", "1048576", "0000000000000030"},
		{"2/FFFFFFFF", "1048576", "0000000200000FFF"},
	} {
		got, err := segmentOf(c.lsn, c.size)
		if err != nil || got != c.want {
			t.Errorf("segmentOf(%q, %q) = %q, %v; want %q", c.lsn, c.size, got, err, c.want)
		}
	}
	for _, c := range []struct{ lsn, size string }{{"3000060", "16777216"}, {"0/3000060", "0"}, {"x/1", "16777216"}, {"0/1", "16MB"}} {
		if got, err := segmentOf(c.lsn, c.size); err == nil {
			t.Errorf("segmentOf(%q, %q) = %q; want an error", c.lsn, c.size, got)
		}
	}
}
