package main

import (
	"errors"
	"testing"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
)

func TestCostEstimate(t *testing.T) {
	exampletest.Run(t, run, nil,
		`mode: pure calculation`,
		`compute +379\.60 +\(2 instances × 0\.26 an hour × 730 hours\)`,
		`storage +10\.00`,
		`total +389\.60`,
	)
	// 3 × 0.5 × 730 + 10 × 0.1 + 250 × 0.2
	exampletest.Run(t, run, []string{"-instances", "3", "-hourly", "0.5", "-storage-gb", "10", "-io-per-month", "250e6"},
		`I/O +50\.00`,
		`total +1146\.00`,
	)
}

func TestCostEstimateRefusesBadInput(t *testing.T) {
	err := exampletest.Fails(t, nil, run, []string{"-hourly", "-1"})
	var ie *aurora.InputError
	if !errors.As(err, &ie) || ie.Field != "CostInput.HourlyPrice" {
		t.Errorf("a negative price: %v; want an *aurora.InputError on CostInput.HourlyPrice", err)
	}
}
