package main

import (
	"testing"

	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
)

func TestMonitor(t *testing.T) {
	exampletest.Run(t, run, nil,
		`mode: local Aurora emulator with cluster monitor-demo \(2 instances\)`,
		`alarm monitor-demo-connections-writer: changed \(created\)`,
		`provoking: monitor-demo-instance-2 lags 2 s`,
		`(?m)^DatabaseConnections +monitor-demo-instance-1 +2[5-9] `,
		`(?m)^AuroraReplicaLag +monitor-demo-instance-2 +[0-9.]+ ms`,
		`(?m)^OldestReplicationSlotLag +cluster +[0-9.]+ (KiB|MiB)`,
		`(?m)^monitor-demo-replica-lag +ALARM `,
		`(?m)^monitor-demo-slot-lag +ALARM `,
		`(?m)^monitor-demo-connections-writer +ALARM `,
		`(?m)^monitor-demo-connections-readers +OK `,
		`(?m)^monitor-demo-xid-wraparound +OK `,
	)
}
