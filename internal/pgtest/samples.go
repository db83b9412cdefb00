package pgtest

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Samples are the times a benchmark measured, one per iteration, so that
// it can report medians and maxima and print every sample, not a mean
// that one slow iteration on a shared machine moves.
type Samples []time.Duration

// Median is the middle sample (the mean of the two middle ones for an
// even count); zero without samples.
func (s Samples) Median() time.Duration {
	if len(s) == 0 {
		return 0
	}
	c := slices.Clone(s)
	slices.Sort(c)
	if n := len(c); n%2 == 0 {
		return (c[n/2-1] + c[n/2]) / 2
	}
	return c[len(c)/2]
}

// Max is the largest sample; zero without samples.
func (s Samples) Max() time.Duration {
	if len(s) == 0 {
		return 0
	}
	return slices.Max(s)
}

// Ms is d in milliseconds, for b.ReportMetric.
func Ms(d time.Duration) float64 { return d.Seconds() * 1000 }

// String lists the samples in milliseconds, in the order measured.
func (s Samples) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprintf("%.1f", Ms(d))
	}
	return "[" + strings.Join(parts, " ") + "] ms"
}

// Ratios returns num[i]/den[i] for each pair of samples, and their median.
func Ratios(num, den Samples) ([]float64, float64) {
	r := make([]float64, min(len(num), len(den)))
	for i := range r {
		r[i] = float64(num[i]) / float64(den[i])
	}
	if len(r) == 0 {
		return r, 0
	}
	c := slices.Clone(r)
	slices.Sort(c)
	if n := len(c); n%2 == 0 {
		return r, (c[n/2-1] + c[n/2]) / 2
	}
	return r, c[len(c)/2]
}
