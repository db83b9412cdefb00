package main

import (
	"testing"

	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
)

func TestFailover(t *testing.T) {
	exampletest.Run(t, run, nil,
		`failover-demo: writer failover-demo-instance-1, readers failover-demo-instance-2 \(tier 1\)`,
		`fail over: changed`,
		`failover-demo-instance-1 -> failover-demo-instance-2 in `,
		`second run: nothing to change`,
		`\d+ writes acknowledged \(rows: \[\d+ on failover-demo-instance-1 \d+ on failover-demo-instance-2\]\), 0 missing`,
	)
}
