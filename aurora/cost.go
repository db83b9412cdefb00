package aurora

import (
	"fmt"
	"math"
	"strconv"
)

// HoursPerMonth is the number of hours AWS prices a month at: 730
// (8,760 hours a year over 12 months).
const HoursPerMonth = 730

// CostInput is what EstimateMonthlyCost needs. Prices are the caller's,
// in any one currency, for the cluster's region, instance class and
// storage configuration (Aurora Standard or I/O-Optimized); the SDK
// holds no price list.
type CostInput struct {
	// Instances is the number of DB instances (writer and readers), all
	// of the class HourlyPrice is for.
	Instances int
	// HourlyPrice is the on-demand price of one instance for one hour.
	HourlyPrice float64
	// StorageGB is the cluster volume's billed size, in GB-months.
	StorageGB float64
	// StorageGBMonthPrice is the price of one GB of cluster storage for a
	// month.
	StorageGBMonthPrice float64
	// IOPerMonth is the number of I/O requests in a month, billed on
	// Aurora Standard; leave it (or IOPricePerMillion) zero for
	// I/O-Optimized clusters, which pay no I/O.
	IOPerMonth float64
	// IOPricePerMillion is the price of one million I/O requests.
	IOPricePerMillion float64
}

// CostEstimate is a monthly cost, in the currency of the prices given.
type CostEstimate struct {
	// Compute is Instances x HourlyPrice x HoursPerMonth.
	Compute float64
	// Storage is StorageGB x StorageGBMonthPrice.
	Storage float64
	// IO is IOPerMonth / 1,000,000 x IOPricePerMillion.
	IO float64
	// Total is the sum of the three.
	Total float64
}

// String formats the estimate with two decimals, for example
// "total 1023.20 = compute 1003.75 + storage 19.45 + I/O 0.00".
func (e CostEstimate) String() string {
	return fmt.Sprintf("total %.2f = compute %.2f + storage %.2f + I/O %.2f", e.Total, e.Compute, e.Storage, e.IO)
}

// EstimateMonthlyCost estimates the monthly cost of an Aurora cluster with
// the formula AWS documents: instances x hourly price x 730 hours +
// storage GB x monthly GB price, plus I/O requests x their price for
// Aurora Standard. Backups beyond the free allowance, data transfer and
// other features are not counted. Every number must be finite and not
// negative; a bad one is refused with an *InputError naming the field.
func EstimateMonthlyCost(in CostInput) (CostEstimate, error) {
	if in.Instances < 0 {
		return CostEstimate{}, &InputError{Field: "CostInput.Instances", Value: strconv.Itoa(in.Instances), Allowed: "0 or more"}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"HourlyPrice", in.HourlyPrice}, {"StorageGB", in.StorageGB}, {"StorageGBMonthPrice", in.StorageGBMonthPrice},
		{"IOPerMonth", in.IOPerMonth}, {"IOPricePerMillion", in.IOPricePerMillion},
	} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return CostEstimate{}, &InputError{Field: "CostInput." + f.name, Value: strconv.FormatFloat(f.v, 'g', -1, 64), Allowed: "a finite number of 0 or more"}
		}
	}
	e := CostEstimate{
		Compute: float64(in.Instances) * in.HourlyPrice * HoursPerMonth,
		Storage: in.StorageGB * in.StorageGBMonthPrice,
		IO:      in.IOPerMonth / 1e6 * in.IOPricePerMillion,
	}
	e.Total = e.Compute + e.Storage + e.IO
	if math.IsInf(e.Total, 0) {
		return CostEstimate{}, &InputError{Field: "CostInput", Value: "out of range", Allowed: "values whose product fits a float64"}
	}
	return e, nil
}
