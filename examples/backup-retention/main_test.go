package main

import (
	"strings"
	"testing"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
)

func TestBackupRetention(t *testing.T) {
	exampletest.Run(t, run, []string{"-days", "9"},
		`backup-demo keeps 1 day of automated backups`,
		`refused at step "check input": .*36.*1 to 35`,
		`set backup retention of backup-demo to 9 days: changed`,
		`second run: nothing to change`,
		`backup-demo: backup retention 1 -> 9 days, status available`,
	)
}

// TestBackupRetentionRealClusterPath runs the example the way it runs
// against AWS (AURORA_CLUSTER_ID set, config.LoadDefaultConfig), with the
// AWS environment pointing at an emulator's RDS API. The workflow needs no
// database credentials.
func TestBackupRetentionRealClusterPath(t *testing.T) {
	emu := auroratest.NewT(t, auroratest.WithCluster("prod-like", auroratest.ClusterConfig{}), auroratest.WithTransitionDelay(0))
	exampletest.UseAWSEmulator(t, emu)
	vars := map[string]string{exampleenv.EnvClusterID: "prod-like"}

	// Without -yes it refuses, saying what it would change.
	if err := exampletest.Fails(t, vars, run, []string{"-days", "3"}); !strings.Contains(err.Error(), "-yes") || !strings.Contains(err.Error(), "3 days") {
		t.Fatalf("without -yes: %v; want a refusal naming -yes and the change", err)
	}

	exampletest.RunWith(t, vars, run, []string{"-days", "3", "-yes"},
		`mode: real cluster prod-like in us-east-1, RDS API only`,
		`prod-like: backup retention 1 -> 3 days, status available`,
	)
}
