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
		`insert public.pgaurora_example_lrep at [0-9A-F]+/[0-9A-F]+: id=1 note=decoded`,
		`lrep-demo is ready for logical replication`,
	)
}
