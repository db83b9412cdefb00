//go:build !unix

package pgaudit

import "time"

// cpuTime is not measured here; the benchmarks fall back to wall time.
func cpuTime() time.Duration { return 0 }
