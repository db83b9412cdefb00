package aurora_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
)

// emu is the emulator every test of the package shares, started by
// TestMain with the clusters below. Each test that changes a cluster works
// on a cluster of its own, so that the tests do not depend on their order.
var emu *auroratest.Emulator

// The emulator's clusters and who uses them.
const (
	// clusterID ("shop", 2 instances) serves the handle, pool, credential
	// and failover tests.
	clusterID = "shop"
	// auditClusterID gets EnablePgAudit and the audit-log reading.
	auditClusterID = "audit"
	// opsClusterID gets SetBackupRetention, Reboot, Failover and the
	// failover benchmark.
	opsClusterID = "ops"
	// certsClusterID gets RotateCA.
	certsClusterID = "certs"
	// logicalClusterID gets ConfigureLogicalReplication (2 instances, so
	// a reader reboots before the writer).
	logicalClusterID = "lrep"
	// pglogicalClusterID gets EnablePgLogical, and the PL/Rust workflow
	// that stops before changing anything.
	pglogicalClusterID = "pglog"
	// diagClusterID reports engine version 15.1 (too old for PL/Rust) and
	// hosts the PLV8 upgrade and the diagnostics.
	diagClusterID = "diag"
	// secretClusterID keeps its master password in Secrets Manager
	// (ManageMasterUserPassword) and gets the credential-rotation tests.
	secretClusterID = "secret"
	// iamClusterID gets IAM database authentication turned on and the
	// IAM credential tests.
	iamClusterID = "iam"
	// iamFlowClusterID starts without IAM database authentication and
	// gets EnableIAMAuth.
	iamFlowClusterID = "iamflow"
	// secretPathClusterID gets pgAudit logging everything, logical
	// replication and pglogical, and every call that sends a secret.
	secretPathClusterID = "secretpath"
	// adviseClusterID is configured against the guidance on purpose
	// (default master user, no encryption, no deletion protection, one
	// instance) and gets every provocation of the advisor tests.
	adviseClusterID = "advise"
	// upgradeClusterID has custom cluster and instance parameter groups
	// and gets the major-upgrade plan's provocations: pgAudit, pglogical,
	// a language extension with functions and a trigger, a logical slot
	// and columns of types pg_upgrade refuses.
	upgradeClusterID = "upgrade"
	// insightsClusterID gets Performance Insights turned on and the
	// database-load tests.
	insightsClusterID = "insights"
)

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	var err error
	emu, err = auroratest.Start(ctx,
		auroratest.WithCluster(clusterID, auroratest.ClusterConfig{Instances: 2}),
		auroratest.WithCluster(auditClusterID, auroratest.ClusterConfig{Instances: 2}),
		auroratest.WithCluster(opsClusterID, auroratest.ClusterConfig{Instances: 2}),
		auroratest.WithCluster(certsClusterID, auroratest.ClusterConfig{Instances: 2}),
		auroratest.WithCluster(logicalClusterID, auroratest.ClusterConfig{Instances: 2}),
		auroratest.WithCluster(pglogicalClusterID, auroratest.ClusterConfig{Instances: 1}),
		auroratest.WithCluster(diagClusterID, auroratest.ClusterConfig{Instances: 1, EngineVersion: "15.1"}),
		auroratest.WithCluster(secretClusterID, auroratest.ClusterConfig{Instances: 1, ManageMasterUserPassword: true}),
		auroratest.WithCluster(secretPathClusterID, auroratest.ClusterConfig{Instances: 1}),
		auroratest.WithCluster(iamClusterID, auroratest.ClusterConfig{Instances: 1}),
		auroratest.WithCluster(iamFlowClusterID, auroratest.ClusterConfig{Instances: 1}),
		auroratest.WithCluster(adviseClusterID, auroratest.ClusterConfig{Instances: 1, ClusterParameterGroup: "advise-params"}),
		auroratest.WithCluster(insightsClusterID, auroratest.ClusterConfig{Instances: 1}),
		auroratest.WithCluster(upgradeClusterID, auroratest.ClusterConfig{Instances: 2, EngineVersion: "15.4",
			ClusterParameterGroup: "app-aurora-postgresql15", InstanceParameterGroup: "app-instances"}),
		auroratest.WithTransitionDelay(50*time.Millisecond))
	cancel()
	if err != nil {
		println("starting the emulator:", err.Error())
		os.Exit(1)
	}
	code := m.Run()
	stopExampleEmulator()
	emu.Close()
	os.Exit(code)
}
