package main

import (
	"testing"

	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
)

func TestDiagnostics(t *testing.T) {
	exampletest.Run(t, run, []string{"-period", "1s"},
		`SampleWaitEvents: 1s every 100ms`,
		`Timeout:PgSleep`,
		`Lock:transactionid`,
		`forgotten_consumer \(physical\): retains \d+(\.\d+)? MiB of WAL`,
		`10 samples, \d\.\d\d average active sessions`,
		`1 inactive replication slot holding \d+(\.\d+)? MiB`,
	)
}
