package aurora

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestAdviseChecksDocumented: adviseChecks has one complete entry for
// each Check constant declared in advisor.go, and as many as the README
// says Advise runs.
func TestAdviseChecksDocumented(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "advisor.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if !strings.HasPrefix(n.Name, "Check") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					declared = append(declared, v)
				}
			}
		}
	}
	slices.Sort(declared)
	if got := slices.Sorted(maps.Keys(adviseChecks)); !slices.Equal(got, declared) {
		t.Errorf("adviseChecks has %q;\nadvisor.go declares %q", got, declared)
	}
	for id, c := range adviseChecks {
		if c.severity == "" || c.category == "" || c.why == "" {
			t.Errorf("adviseChecks[%q] = %+v: incomplete", id, c)
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("`Cluster.Advise` runs ([0-9]+) checks").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md does not say how many checks `Cluster.Advise` runs")
	}
	if n, _ := strconv.Atoi(string(m[1])); n != len(adviseChecks) {
		t.Errorf("README.md says Advise runs %d checks; adviseChecks has %d", n, len(adviseChecks))
	}
}

// TestExtendedSupportDisabled: past the end of standard support, a
// cluster with Extended Support disabled is due for AWS's upgrade
// (critical); one on Extended Support pays for it (warning); before the
// end, nothing. (TestAdviseExtendedSupport runs the check on the
// emulator.)
func TestExtendedSupportDisabled(t *testing.T) {
	end := time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)
	lcs := EngineLifecycles{"13": {Major: "13", StandardSupportEnd: end, ExtendedSupportEnd: end.AddDate(3, 0, 0)}}
	for _, tt := range []struct {
		lifecycle string
		now       time.Time
		want      Severity // "" for no finding
	}{
		{"open-source-rds-extended-support-disabled", end.AddDate(0, 0, 1), SeverityCritical},
		{"open-source-rds-extended-support", end.AddDate(0, 0, 1), SeverityWarning},
		{"open-source-rds-extended-support", end.Add(23 * time.Hour), ""}, // the last day of standard support
	} {
		a := &advice{d: &Description{ID: "c", EngineVersion: "13.18", EngineLifecycleSupport: tt.lifecycle}, opts: &AdviseOptions{}}
		if err := a.extendedSupport(lcs, tt.now); err != nil {
			t.Fatal(err)
		}
		switch {
		case tt.want == "" && len(a.found) != 0:
			t.Errorf("%s at %s: %v, want none", tt.lifecycle, tt.now, a.found)
		case tt.want != "" && (len(a.found) != 1 || a.found[0].Severity != tt.want):
			t.Errorf("%s at %s: %v, want one %s finding", tt.lifecycle, tt.now, a.found, tt.want)
		}
	}
}

// TestCheckPrices: unusable prices are refused with an *InputError naming
// the field.
func TestCheckPrices(t *testing.T) {
	d := &Description{Writer: &pgaurora.Instance{ID: "w", Class: "db.r6g.large"}, Readers: []pgaurora.Instance{{ID: "r", Class: "db.r6g.xlarge"}}}
	good := func() *AdvisePrices {
		return &AdvisePrices{HourlyPrices: map[string]float64{"db.r6g.large": 0.26, "db.r6g.xlarge": 0.52}, StorageGBMonthPrice: 0.1, IOPricePerMillion: 0.2}
	}
	if err := checkPrices(good(), d); err != nil {
		t.Fatalf("good prices: %v", err)
	}
	for field, mutate := range map[string]func(*AdvisePrices){
		"AdvisePrices.HourlyPrices":               func(p *AdvisePrices) { delete(p.HourlyPrices, "db.r6g.xlarge") },
		"AdvisePrices.HourlyPrices[db.r6g.large]": func(p *AdvisePrices) { p.HourlyPrices["db.r6g.large"] = math.NaN() },
		"AdvisePrices.StorageGBMonthPrice":        func(p *AdvisePrices) { p.StorageGBMonthPrice = -1 },
		"AdvisePrices.IOPricePerMillion":          func(p *AdvisePrices) { p.IOPricePerMillion = math.Inf(1) },
		"AdvisePrices.Window":                     func(p *AdvisePrices) { p.Window = -time.Hour },
		"AdvisePrices.Period":                     func(p *AdvisePrices) { p.Period = 7 * time.Second },
	} {
		p := good()
		mutate(p)
		var ie *InputError
		if err := checkPrices(p, d); !errors.As(err, &ie) || ie.Field != field {
			t.Errorf("%s: %v, want an *InputError for it", field, err)
		}
	}
}
