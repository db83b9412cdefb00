package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
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
		`Performance Insights on for monitor-demo-instance-1`,
		`top wait events of monitor-demo-instance-1 over the last 30s \(Performance Insights db.load.avg\)`,
		`WAIT EVENT +LOAD +SHARE\nLock:(tuple|transactionid) `,
		`(?m)^monitor-demo-replica-lag +ALARM `,
		`(?m)^monitor-demo-slot-lag +ALARM `,
		`(?m)^monitor-demo-connections-writer +ALARM `,
		`(?m)^monitor-demo-connections-readers +OK `,
		`(?m)^monitor-demo-xid-wraparound +OK `,
	)
}

// TestMonitorRealClusterPath runs the example the way it runs against AWS
// (AURORA_CLUSTER_ID, a Secrets Manager secret, config.LoadDefaultConfig),
// with the AWS environment pointing at an emulator: -ensure-alarms wants
// -yes, Performance Insights is off so the wait events are sampled, and
// the alarms are read as the account has them.
func TestMonitorRealClusterPath(t *testing.T) {
	emu := auroratest.NewT(t, auroratest.WithCluster("prod-like", auroratest.ClusterConfig{ManageMasterUserPassword: true}), auroratest.WithTransitionDelay(0))
	exampletest.UseAWSEmulator(t, emu)
	bundle := filepath.Join(t.TempDir(), "global-bundle.pem")
	if err := os.WriteFile(bundle, emu.CABundlePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		exampleenv.EnvClusterID: "prod-like",
		exampleenv.EnvSecretARN: emu.MasterUserSecretARN("prod-like"),
		exampleenv.EnvCABundle:  bundle,
	}
	if err := exampletest.Fails(t, vars, run, []string{"-ensure-alarms"}); !strings.Contains(err.Error(), "-yes") {
		t.Errorf("-ensure-alarms without -yes: %v; want a refusal naming -yes", err)
	}
	exampletest.RunWith(t, vars, run, []string{"-last", "10m"},
		`mode: real cluster prod-like in us-east-1`,
		`metrics of prod-like over the last 10m0s, one point per 1m0s`,
		`top wait events of prod-like-instance-1: Performance Insights is off, sampling pg_stat_activity for 5 s`,
		`(?m)^prod-like-connections-writer +missing \(run with -ensure-alarms\)`,
	)
	exampletest.RunWith(t, vars, run, []string{"-last", "10m", "-ensure-alarms", "-yes"},
		`alarm prod-like-storage: changed \(created\)`,
		`(?m)^prod-like-storage +(OK|INSUFFICIENT_DATA) +Maximum VolumeBytesUsed of cluster > 109951162777600 for 5 of 5 × 1m0s`,
	)
}
