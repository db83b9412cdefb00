package aurora

import (
	"testing"

	"github.com/pgaurora/pgaurora"
)

func TestClassSmaller(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"db.t4g.medium", "db.r6g.large", true},
		{"db.r6g.large", "db.r6g.xlarge", true},
		{"db.r6g.2xlarge", "db.r6g.xlarge", false},
		{"db.r6g.xlarge", "db.r6g.2xlarge", true},
		{"db.r6g.4xlarge", "db.r6g.12xlarge", true},
		{"db.r6g.large", "db.r6g.large", false},
		{"db.r5.large", "db.r6g.large", false}, // same size, other family: not certainly smaller
		{"db.t4g.large", "db.r6g.large", true},
		{"db.r6g.large", "db.t4g.large", false},
		{"db.serverless", "db.r6g.large", false},
		{"db.r6g.large", "db.serverless", false},
		{"db.r6g.metal", "db.r6g.large", false},
		{"db.r6g.2xlargex", "db.r6g.4xlarge", false},
		{"", "db.r6g.large", false},
	}
	for _, tt := range tests {
		if got := classSmaller(tt.a, tt.b); got != tt.want {
			t.Errorf("classSmaller(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestIsBurstable(t *testing.T) {
	for class, want := range map[string]bool{"db.t3.medium": true, "db.t4g.large": true, "db.r6g.large": false,
		"db.serverless": false, "t3.medium": false, "db.x2g.large": false} {
		if got := isBurstable(class); got != want {
			t.Errorf("isBurstable(%q) = %v, want %v", class, got, want)
		}
	}
}

func TestFailoverTarget(t *testing.T) {
	in := func(id, class string, tier int) pgaurora.Instance {
		return pgaurora.Instance{ID: id, Class: class, PromotionTier: tier}
	}
	tests := []struct {
		name    string
		readers []pgaurora.Instance
		want    string // "" for none
	}{
		{"none", nil, ""},
		{"lowest tier wins", []pgaurora.Instance{in("a", "db.r6g.4xlarge", 2), in("b", "db.t4g.medium", 0)}, "b"},
		{"largest on a tie", []pgaurora.Instance{in("a", "db.r6g.large", 1), in("b", "db.r6g.2xlarge", 1)}, "b"},
		{"same class on a tie", []pgaurora.Instance{in("a", "db.r6g.large", 1), in("b", "db.r6g.large", 1)}, "a"},
		{"incomparable on a tie", []pgaurora.Instance{in("a", "db.r5.large", 1), in("b", "db.r6g.large", 1)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := failoverTarget(tt.readers)
			if (tt.want == "") == ok || (ok && got.ID != tt.want) {
				t.Fatalf("failoverTarget = %v, %v; want %q", got.ID, ok, tt.want)
			}
		})
	}
}
