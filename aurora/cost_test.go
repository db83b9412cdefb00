package aurora_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/pgaurora/pgaurora/aurora"
)

func TestEstimateMonthlyCost(t *testing.T) {
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }
	tests := []struct {
		name string
		in   aurora.CostInput
		want aurora.CostEstimate
	}{
		{"zero", aurora.CostInput{}, aurora.CostEstimate{}},
		// 2 x db.r6g.large at 0.26/h, 100 GB at 0.10: 2*0.26*730 + 100*0.10.
		{"two instances and storage", aurora.CostInput{Instances: 2, HourlyPrice: 0.26, StorageGB: 100, StorageGBMonthPrice: 0.10},
			aurora.CostEstimate{Compute: 379.6, Storage: 10, Total: 389.6}},
		{"aurora standard I/O", aurora.CostInput{Instances: 1, HourlyPrice: 0.5, StorageGB: 10, StorageGBMonthPrice: 0.1, IOPerMonth: 250e6, IOPricePerMillion: 0.2},
			aurora.CostEstimate{Compute: 365, Storage: 1, IO: 50, Total: 416}},
		{"I/O-Optimized: no I/O price", aurora.CostInput{Instances: 3, HourlyPrice: 1, IOPerMonth: 1e9},
			aurora.CostEstimate{Compute: 2190, Total: 2190}},
		{"storage only", aurora.CostInput{StorageGB: 1234.5, StorageGBMonthPrice: 0.225},
			aurora.CostEstimate{Storage: 277.7625, Total: 277.7625}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := aurora.EstimateMonthlyCost(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got.Compute, tc.want.Compute) || !near(got.Storage, tc.want.Storage) || !near(got.IO, tc.want.IO) || !near(got.Total, tc.want.Total) {
				t.Errorf("EstimateMonthlyCost(%+v) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestEstimateMonthlyCostRefusals(t *testing.T) {
	tests := []struct {
		name  string
		in    aurora.CostInput
		field string
	}{
		{"negative instances", aurora.CostInput{Instances: -1}, "CostInput.Instances"},
		{"negative hourly price", aurora.CostInput{Instances: 1, HourlyPrice: -0.1}, "CostInput.HourlyPrice"},
		{"negative storage", aurora.CostInput{StorageGB: -5}, "CostInput.StorageGB"},
		{"negative storage price", aurora.CostInput{StorageGBMonthPrice: -0.1}, "CostInput.StorageGBMonthPrice"},
		{"negative I/O", aurora.CostInput{IOPerMonth: -1}, "CostInput.IOPerMonth"},
		{"negative I/O price", aurora.CostInput{IOPricePerMillion: -1}, "CostInput.IOPricePerMillion"},
		{"NaN price", aurora.CostInput{HourlyPrice: math.NaN()}, "CostInput.HourlyPrice"},
		{"infinite storage", aurora.CostInput{StorageGB: math.Inf(1)}, "CostInput.StorageGB"},
		{"overflow", aurora.CostInput{StorageGB: math.MaxFloat64, StorageGBMonthPrice: 10}, "CostInput"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := aurora.EstimateMonthlyCost(tc.in)
			var ie *aurora.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v, want *aurora.InputError", err)
			}
			if ie.Field != tc.field || !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), "want") {
				t.Errorf("error %q names field %q, want %q and what is allowed", err, ie.Field, tc.field)
			}
		})
	}
}

func TestCostEstimateString(t *testing.T) {
	e, err := aurora.EstimateMonthlyCost(aurora.CostInput{Instances: 2, HourlyPrice: 0.26, StorageGB: 100, StorageGBMonthPrice: 0.10})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.String(), "total 389.60 = compute 379.60 + storage 10.00 + I/O 0.00"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
