package params

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pgaurora/pgaurora"
)

func TestRebootBatches(t *testing.T) {
	members := []pgaurora.Instance{
		{ID: "w", Writer: true, PromotionTier: 0},
		{ID: "r-b", PromotionTier: 1},
		{ID: "r-a", PromotionTier: 1},
		{ID: "r-low", PromotionTier: 15},
		{ID: "r-first", PromotionTier: 0},
	}
	ids := func(bs [][]pgaurora.Instance) [][]string {
		var out [][]string
		for _, b := range bs {
			var ids []string
			for _, m := range b {
				ids = append(ids, m.ID)
			}
			out = append(out, ids)
		}
		return out
	}
	tests := []struct {
		name     string
		members  []pgaurora.Instance
		parallel int
		want     [][]string
	}{
		{"one at a time, readers by tier then name, writer last", members, 1,
			[][]string{{"r-low"}, {"r-a"}, {"r-b"}, {"r-first"}, {"w"}}},
		{"zero means one", members, 0,
			[][]string{{"r-low"}, {"r-a"}, {"r-b"}, {"r-first"}, {"w"}}},
		{"two readers at a time, writer alone", members, 2,
			[][]string{{"r-low", "r-a"}, {"r-b", "r-first"}, {"w"}}},
		{"more parallel than readers", members, 10,
			[][]string{{"r-low", "r-a", "r-b", "r-first"}, {"w"}}},
		{"writer only", []pgaurora.Instance{{ID: "w", Writer: true}}, 1, [][]string{{"w"}}},
		{"nothing", nil, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ids(rebootBatches(tt.members, tt.parallel))); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRebootOptionsDefaults(t *testing.T) {
	var nilOpts *RebootOptions
	o := nilOpts.withDefaults()
	if o.Parallel != 1 || o.Wait != (pgaurora.Wait{MinDelay: 2 * time.Second, MaxDelay: 30 * time.Second, MaxWait: 30 * time.Minute}) {
		t.Fatalf("defaults %+v", o)
	}
	o = (&RebootOptions{Wait: pgaurora.Wait{MinDelay: time.Minute}}).withDefaults()
	if o.Wait.MinDelay != time.Minute || o.Wait.MaxDelay != 30*time.Second {
		t.Fatalf("a set field was not kept, or a zero one not filled: %+v", o)
	}
}

func TestRebootError(t *testing.T) {
	cause := errors.New("deadline")
	e := &RebootError{Cluster: "c1", Done: []string{"r1"}, Failed: "r2", Unconfirmed: []string{"r3"}, NotRebooted: []string{"w"}, Err: cause}
	if !errors.Is(e, cause) {
		t.Fatal("cause not wrapped")
	}
	for _, want := range []string{`cluster "c1"`, `instance "r2"`, "in-sync [r1]", "rebooting [r3]", "not rebooted [w]"} {
		if !strings.Contains(e.Error(), want) {
			t.Errorf("%q lacks %q", e.Error(), want)
		}
	}
}
