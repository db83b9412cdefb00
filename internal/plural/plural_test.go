package plural

import "testing"

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{{0, "0 tables"}, {1, "1 table"}, {2, "2 tables"}, {-1, "-1 tables"}} {
		if got := Count(c.n, "table"); got != c.want {
			t.Errorf("Count(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
