package main

import (
	"testing"

	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
)

func TestLogicalReplication(t *testing.T) {
	exampletest.Run(t, run, nil,
		`set rds.logical_replication=1.*: changed`,
		`reboot members pending reboot: changed`,
		`second run: nothing to change`,
		`wal_level\s+logical`,
		`table public.pgaurora_example_lrep: INSERT: id\[integer\]:1 note\[text\]:'decoded'`,
		`lrep-demo is ready for logical replication`,
	)
}
