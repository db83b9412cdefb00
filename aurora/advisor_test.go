package aurora_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/params"
	"github.com/pgaurora/pgaurora/pglogical"
	"github.com/pgaurora/pgaurora/sslcert"
)

// cleanUnavoidable lists the findings a well-configured cluster still
// gets on the emulator. None: every check Advise runs can be satisfied
// there. (The clean cluster runs 15.4, in standard support until
// 2028-02-29 per the emulator's calendar; after that date it gets
// CheckExtendedSupport, as a real one would.)
var cleanUnavoidable []string

// advise runs Advise and checks that it sent only the Describe calls it
// documents.
func advise(t *testing.T, c *aurora.Cluster, rec *apiRecorder, opts *aurora.AdviseOptions) []aurora.Finding {
	t.Helper()
	rec.take()
	fs, err := c.Advise(context.Background(), opts)
	if err != nil {
		t.Fatalf("Advise: %v", err)
	}
	acts := rec.take()
	if len(acts) == 0 {
		t.Fatal("Advise sent no RDS call: the recorder is not in the path")
	}
	for _, a := range acts {
		if !slices.Contains([]string{"DescribeDBClusters", "DescribeDBInstances", "DescribeCertificates",
			"DescribeDBClusterParameters", "DescribeDBParameters", "DescribeDBMajorEngineVersions"}, a) {
			t.Errorf("Advise sent %s; it may only describe", a)
		}
	}
	return fs
}

// findingIDs returns the IDs of fs, sorted, one per finding.
func findingIDs(fs []aurora.Finding) []string {
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.ID)
	}
	slices.Sort(ids)
	return ids
}

// wantFindings checks that fs has exactly the findings want (by ID, with
// repeats), printing them all when not.
func wantFindings(t *testing.T, fs []aurora.Finding, want ...string) {
	t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	if diff := cmp.Diff(want, findingIDs(fs)); diff != "" {
		var b strings.Builder
		for _, f := range fs {
			b.WriteString("  " + f.String() + "\n")
		}
		t.Fatalf("findings (-want +got):\n%s\nall findings:\n%s", diff, b.String())
	}
}

// finding returns the finding with an ID about a resource.
func finding(t *testing.T, fs []aurora.Finding, id, resource string) aurora.Finding {
	t.Helper()
	for _, f := range fs {
		if f.ID == id && f.Resource == resource {
			if f.Why == "" || f.Severity == "" || f.Category == "" || f.Evidence == "" {
				t.Errorf("finding %s is incomplete: %+v", id, f)
			}
			if f.Fix.Action == "" && f.Fix.Workflow == "" && len(f.Fix.Changes) == 0 {
				t.Errorf("finding %s has no fix: %+v", id, f)
			}
			return f
		}
	}
	t.Fatalf("no finding %s on %s in %v", id, resource, fs)
	return aurora.Finding{}
}

func wantEvidence(t *testing.T, f aurora.Finding, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(f.Evidence, p) {
			t.Errorf("%s evidence %q lacks %q", f.ID, f.Evidence, p)
		}
	}
}

// waitDescribed polls Describe until ready holds.
func waitDescribed(t *testing.T, c *aurora.Cluster, what string, ready func(*aurora.Description) bool) *aurora.Description {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, err := c.Describe(context.Background())
		if err == nil && ready(d) {
			return d
		}
		if time.Now().After(deadline) {
			if d != nil {
				for _, in := range d.Readers {
					t.Logf("%s: %s, cluster group %s, instance group %s", in.ID, in.Status, in.ClusterParameterGroupStatus, in.ParameterApplyStatus)
				}
				if w := d.Writer; w != nil {
					t.Logf("%s: %s, cluster group %s, instance group %s", w.ID, w.Status, w.ClusterParameterGroupStatus, w.ParameterApplyStatus)
				}
			}
			t.Fatalf("waiting for %s: last %+v, %v", what, d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func allAvailable(n int) func(*aurora.Description) bool {
	return func(d *aurora.Description) bool {
		if d.Status != pgaurora.StatusAvailable || d.Writer == nil || len(d.Readers)+1 != n {
			return false
		}
		for _, in := range append([]pgaurora.Instance{*d.Writer}, d.Readers...) {
			if !in.InSync() {
				return false
			}
		}
		return true
	}
}

// cleanUser and cleanPassword are the master user of createCleanCluster's
// clusters.
const cleanUser, cleanPassword = "dbadmin", "clean-cluster-Pass-1"

// createCleanCluster creates, through the RDS API, a cluster configured
// as AWS's guidance asks: encrypted, deletion-protected, a custom master
// user, rds.force_ssl on, two private instances of the same class with
// automatic minor upgrades off.
func createCleanCluster(t *testing.T, id string) (*aurora.Cluster, *apiRecorder) {
	t.Helper()
	return createCleanClusterVersion(t, id, "15.4")
}

// createCleanClusterVersion is createCleanCluster on an engine version.
func createCleanClusterVersion(t *testing.T, id, version string) (*aurora.Cluster, *apiRecorder) {
	t.Helper()
	ctx := context.Background()
	api := rds.NewFromConfig(emu.AWSConfig())
	group := id + "-params"
	if _, err := api.CreateDBClusterParameterGroup(ctx, &rds.CreateDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String(group), DBParameterGroupFamily: aws.String("aurora-postgresql" + strings.Split(version, ".")[0]),
		Description: aws.String("advisor clean cluster")}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.ModifyDBClusterParameterGroup(ctx, &rds.ModifyDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String(group),
		Parameters: []types.Parameter{{ParameterName: aws.String("rds.force_ssl"), ParameterValue: aws.String("1"),
			ApplyMethod: types.ApplyMethodImmediate}}}); err != nil {
		t.Fatal(err)
	}
	const user, password = cleanUser, cleanPassword
	if _, err := api.CreateDBCluster(ctx, &rds.CreateDBClusterInput{
		DBClusterIdentifier: aws.String(id), Engine: aws.String("aurora-postgresql"), EngineVersion: aws.String(version),
		MasterUsername: aws.String(user), MasterUserPassword: aws.String(password),
		StorageEncrypted: aws.Bool(true), DeletionProtection: aws.Bool(true),
		DBClusterParameterGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if err := rds.NewDBClusterAvailableWaiter(api).Wait(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)}, 2*time.Minute,
		func(o *rds.DBClusterAvailableWaiterOptions) {
			o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
		}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := api.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
			DBInstanceIdentifier: aws.String(id + "-" + string(rune('a'+i))), DBClusterIdentifier: aws.String(id),
			DBInstanceClass: aws.String("db.r6g.large"), Engine: aws.String("aurora-postgresql"),
			AutoMinorVersionUpgrade: aws.Bool(false), PubliclyAccessible: aws.Bool(false),
			PromotionTier: aws.Int32(int32(i))}); err != nil {
			t.Fatal(err)
		}
	}
	rec := &apiRecorder{}
	cfg := rec.wrap(emu.AWSConfig())
	c, err := aurora.New(id, aurora.WithAWSConfig(cfg), aurora.WithCredentials(aurora.StaticPassword(user, password)),
		aurora.WithCABundle(emu.CABundlePEM()), aurora.WithWait(fastWait))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	waitDescribed(t, c, "the clean cluster", allAvailable(2))
	return c, rec
}

// TestDescribeConfiguration checks that Describe reads the configuration
// the advisor judges, on a cluster created with it.
func TestDescribeConfiguration(t *testing.T) {
	c, _ := createCleanCluster(t, "advdescribe")
	d, err := c.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !d.StorageEncrypted || d.KMSKeyID == "" || !d.DeletionProtection || d.MasterUsername != "dbadmin" ||
		d.PreferredMaintenanceWindow == "" || d.PreferredBackupWindow == "" || d.StorageType != "aurora" ||
		d.IAMDatabaseAuthentication || d.EngineLifecycleSupport == "" {
		t.Errorf("cluster configuration not read: %+v", d)
	}
	for _, in := range append([]pgaurora.Instance{*d.Writer}, d.Readers...) {
		if in.Class != "db.r6g.large" || in.AutoMinorVersionUpgrade || in.PubliclyAccessible || in.PreferredMaintenanceWindow == "" {
			t.Errorf("instance configuration not read: %+v", in)
		}
	}
	d2, err := openCluster(t, adviseClusterID, nil).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d2.StorageEncrypted || d2.DeletionProtection || d2.MasterUsername != "postgres" || !d2.Writer.AutoMinorVersionUpgrade {
		t.Errorf("the advise cluster's configuration not read: %+v, writer %+v", d2, d2.Writer)
	}
}

// TestAdviseClean: a freshly created, well-configured cluster has no
// finding, even with PlannedMigration, and Advise only describes.
func TestAdviseClean(t *testing.T) {
	c, rec := createCleanCluster(t, "advclean")
	fs := advise(t, c, rec, &aurora.AdviseOptions{PlannedMigration: true})
	wantFindings(t, fs, cleanUnavoidable...)
}

// TestAdviseProvoked provokes each check on the advise cluster, step by
// step, and checks at each step the exact set of findings and their
// evidence.
func TestAdviseProvoked(t *testing.T) {
	ctx := context.Background()
	rec := &apiRecorder{}
	c := openCluster(t, adviseClusterID, rec)
	writer := adviseClusterID + "-instance-1"
	base := []string{aurora.CheckNoReader, aurora.CheckStorageNotEncrypted, aurora.CheckDeletionProtectionOff,
		aurora.CheckDefaultMasterUsername, aurora.CheckForceSSLOff}
	cluster := "cluster/" + adviseClusterID

	// The cluster as created: its configuration departs from the guidance.
	fs := advise(t, c, rec, nil)
	wantFindings(t, fs, base...)
	wantEvidence(t, finding(t, fs, aurora.CheckNoReader, cluster), writer, "no reader")
	wantEvidence(t, finding(t, fs, aurora.CheckStorageNotEncrypted, cluster), "StorageEncrypted=false")
	wantEvidence(t, finding(t, fs, aurora.CheckDeletionProtectionOff, cluster), "DeletionProtection=false")
	wantEvidence(t, finding(t, fs, aurora.CheckDefaultMasterUsername, cluster), "MasterUsername=postgres")
	ssl := finding(t, fs, aurora.CheckForceSSLOff, cluster)
	wantEvidence(t, ssl, "rds.force_ssl=0")
	if want := (aurora.Fix{Kind: params.ClusterGroup, Group: "advise-params", Changes: []params.Change{{Name: "rds.force_ssl", Value: "1"}}}); !cmp.Equal(ssl.Fix, want) {
		t.Errorf("force_ssl fix %+v, want %+v", ssl.Fix, want)
	}
	if fs[0].Severity != aurora.SeverityCritical {
		t.Errorf("findings not most urgent first: %v", fs)
	}

	fs = advise(t, c, rec, &aurora.AdviseOptions{PlannedMigration: true})
	wantFindings(t, fs, append(base, aurora.CheckAutoMinorUpgrade)...)
	wantEvidence(t, finding(t, fs, aurora.CheckAutoMinorUpgrade, "instance/"+writer), "AutoMinorVersionUpgrade=true")

	// IAM authentication on, with nobody in rds_iam; then a member.
	api := rds.NewFromConfig(emu.AWSConfig())
	if _, err := api.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String(adviseClusterID),
		EnableIAMDatabaseAuthentication: aws.Bool(true), ApplyImmediately: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	waitDescribed(t, c, "IAM authentication", func(d *aurora.Description) bool {
		return d.IAMDatabaseAuthentication && d.Status == pgaurora.StatusAvailable
	})
	fs = advise(t, c, rec, nil)
	wantFindings(t, fs, append(base, aurora.CheckIAMAuthNoMembers)...)
	wantEvidence(t, finding(t, fs, aurora.CheckIAMAuthNoMembers, cluster), "IAMDatabaseAuthenticationEnabled=true", "rds_iam")
	for _, q := range []string{"CREATE ROLE adv_iam_group NOLOGIN IN ROLE rds_iam", "CREATE ROLE adv_iam LOGIN IN ROLE adv_iam_group"} {
		if _, err := c.SQL().Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	wantFindings(t, advise(t, c, rec, nil), base...)

	// SQL-side provocations: a forgotten slot holding WAL, an old
	// extension, a client without TLS; and parameter changes waiting for
	// a reboot (pgAudit's preload among them).
	dsn, err := emu.ConnString(writer, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"SELECT pg_create_physical_replication_slot('adv_forgotten', true)",
		"CREATE TABLE adv_wal AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 20000) g",
		"CREATE EXTENSION pg_trgm VERSION '1.5'",
		"CREATE TABLE adv_nokey (v int)",
		"CREATE TABLE adv_keyed (id int PRIMARY KEY)",
		"CREATE PUBLICATION adv_pub FOR TABLE adv_nokey, adv_keyed",
		"CREATE PUBLICATION adv_inserts FOR TABLE adv_nokey WITH (publish = 'insert')",
		"CREATE PUBLICATION adv_deletes FOR TABLE adv_nokey WITH (publish = 'delete')",
		"CREATE SUBSCRIPTION adv_sub CONNECTION 'host=127.0.0.1 port=1 dbname=nowhere' PUBLICATION adv_pub WITH (connect = false)",
	} {
		if _, err := plain.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		c.SQL().Exec(context.Background(), "SELECT pg_drop_replication_slot('adv_forgotten')")
	})
	if err := c.Params().Modify(ctx, params.ClusterGroup, "advise-params",
		params.Change{Name: "shared_preload_libraries", Value: "pgaudit"},
		params.Change{Name: "track_activity_query_size", Value: "2048"}); err != nil {
		t.Fatal(err)
	}
	waitDescribed(t, c, "pending-reboot", func(d *aurora.Description) bool { return d.Writer != nil && d.Writer.PendingReboot() })
	fs = advise(t, c, rec, nil)
	wantFindings(t, fs, append(base, aurora.CheckInactiveSlot, aurora.CheckExtensionUpdate, aurora.CheckClientsWithoutTLS, aurora.CheckPendingReboot,
		aurora.CheckPublicationNoReplicaIdentity, aurora.CheckSubscriptionDown)...)
	slot := finding(t, fs, aurora.CheckInactiveSlot, "slot/adv_forgotten")
	if slot.Slot == nil || slot.Slot.RetainedBytes < 1<<20 {
		t.Fatalf("slot evidence %+v: want at least 1 MiB retained", slot.Slot)
	}
	wantEvidence(t, slot, "physical slot adv_forgotten", slot.Slot.RetainedWAL(), slot.Slot.RestartLSN.String())
	wantEvidence(t, finding(t, fs, aurora.CheckExtensionUpdate, "extension/pg_trgm"), "pg_trgm 1.5 is installed; the engine ships 1.6", "1.5--1.6")
	wantEvidence(t, finding(t, fs, aurora.CheckClientsWithoutTLS, "instance/"+writer), "1 client session(s)", "as postgres to postgres from 127.0.0.1")
	wantEvidence(t, finding(t, fs, aurora.CheckPendingReboot, "instance/"+writer), "pending-reboot", "DB cluster parameter group advise-params")
	wantEvidence(t, finding(t, fs, aurora.CheckPublicationNoReplicaIdentity, "table/public.adv_nokey"), "publication adv_deletes, adv_pub publishes", "adv_nokey")
	wantEvidence(t, finding(t, fs, aurora.CheckSubscriptionDown, "subscription/adv_sub"), "adv_sub (publications adv_pub) is disabled")
	for _, q := range []string{
		"ALTER SUBSCRIPTION adv_sub SET (slot_name = NONE)", "DROP SUBSCRIPTION adv_sub",
		"ALTER TABLE adv_nokey REPLICA IDENTITY FULL",
	} {
		if _, err := plain.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	plain.Close(ctx)
	if _, err := c.SQL().Exec(ctx, "SELECT pg_drop_replication_slot('adv_forgotten')"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SQL().Exec(ctx, "ALTER EXTENSION pg_trgm UPDATE"); err != nil {
		t.Fatal(err)
	}

	// After the reboot pgAudit is loaded but not installed, and logs
	// nothing.
	if _, err := c.Reboot(ctx, writer, nil); err != nil {
		t.Fatal(err)
	}
	fs = advise(t, c, rec, nil)
	wantFindings(t, fs, append(base, aurora.CheckPgAuditNotInstalled, aurora.CheckPgAuditLogNone)...)
	wantEvidence(t, finding(t, fs, aurora.CheckPgAuditNotInstalled, "database/postgres"), "shared_preload_libraries=pgaudit", "not installed in database postgres")
	wantEvidence(t, finding(t, fs, aurora.CheckPgAuditLogNone, cluster), "pgaudit.log=none")

	// Installed and logging: no pgAudit finding.
	if _, err := c.Audit().Install(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Params().Modify(ctx, params.ClusterGroup, "advise-params", params.Change{Name: "pgaudit.log", Value: "ddl"}); err != nil {
		t.Fatal(err)
	}
	waitSetting(t, c, "pgaudit.log", "ddl")
	wantFindings(t, advise(t, c, rec, nil), base...)

	// Audit exclusions, roles that may change their own auditing, and
	// heavy settings.
	for _, q := range []string{
		"CREATE ROLE adv_excluded LOGIN",
		"ALTER ROLE adv_excluded SET pgaudit.log = 'none'",
		"ALTER ROLE adv_excluded IN DATABASE postgres SET pgaudit.log = 'none'",
		"CREATE DATABASE adv_unaudited",
		"ALTER DATABASE adv_unaudited SET pgaudit.log = 'none'",
		"ALTER ROLE adv_iam SET pgaudit.log = 'ddl'", // audited: not an exclusion
		"CREATE ROLE adv_admin LOGIN IN ROLE rds_superuser",
		"CREATE ROLE adv_setter LOGIN",
		"GRANT SET ON PARAMETER pgaudit.log TO adv_setter",
	} {
		if _, err := c.SQL().Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := c.Params().Modify(ctx, params.ClusterGroup, "advise-params", params.Change{Name: "pgaudit.log_parameter", Value: "1"}); err != nil {
		t.Fatal(err)
	}
	waitSetting(t, c, "pgaudit.log_parameter", "on")
	fs = advise(t, c, rec, nil)
	wantFindings(t, fs, append(base, aurora.CheckPgAuditExcluded, aurora.CheckPgAuditExcluded, aurora.CheckPgAuditExcluded,
		aurora.CheckPgAuditBypass, aurora.CheckPgAuditBypass, aurora.CheckPgAuditHeavy)...)
	wantEvidence(t, finding(t, fs, aurora.CheckPgAuditExcluded, "role/adv_excluded"), "pgaudit.log=none", "adv_excluded")
	wantEvidence(t, finding(t, fs, aurora.CheckPgAuditExcluded, "role/adv_excluded@database/postgres"), "pgaudit.log=none")
	wantEvidence(t, finding(t, fs, aurora.CheckPgAuditExcluded, "database/adv_unaudited"), "pgaudit.log=none", "adv_unaudited")
	wantEvidence(t, finding(t, fs, aurora.CheckPgAuditBypass, "role/adv_admin"), "member of rds_superuser")
	wantEvidence(t, finding(t, fs, aurora.CheckPgAuditBypass, "role/adv_setter"), "holds SET on pgaudit.log")
	heavy := finding(t, fs, aurora.CheckPgAuditHeavy, cluster)
	// The value as the parameter group set it (pg_file_settings), not as SHOW spells it.
	wantEvidence(t, heavy, "pgaudit.log_parameter=1")
	if want := []params.Change{{Name: "pgaudit.log_parameter", Value: "0"}}; !cmp.Equal(heavy.Fix.Changes, want) {
		t.Errorf("heavy fix %+v, want changes %v", heavy.Fix, want)
	}
	for _, q := range []string{
		"DROP ROLE adv_excluded", "DROP DATABASE adv_unaudited", "DROP ROLE adv_admin",
		"REVOKE SET ON PARAMETER pgaudit.log FROM adv_setter", "DROP ROLE adv_setter",
	} {
		if _, err := c.SQL().Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := c.Params().Modify(ctx, params.ClusterGroup, "advise-params", params.Change{Name: "pgaudit.log", Value: "all"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Params().Reset(ctx, params.ClusterGroup, "advise-params", "pgaudit.log_parameter"); err != nil {
		t.Fatal(err)
	}
	waitSetting(t, c, "pgaudit.log", "all")
	waitSetting(t, c, "pgaudit.log_parameter", "off")
	fs = advise(t, c, rec, nil)
	wantFindings(t, fs, append(base, aurora.CheckPgAuditHeavy)...)
	heavy = finding(t, fs, aurora.CheckPgAuditHeavy, cluster)
	wantEvidence(t, heavy, "pgaudit.log=all")
	if len(heavy.Fix.Changes) != 0 || !strings.Contains(heavy.Fix.Action, "narrow pgaudit.log") {
		t.Errorf("heavy fix %+v", heavy.Fix)
	}
	if err := c.Params().Modify(ctx, params.ClusterGroup, "advise-params", params.Change{Name: "pgaudit.log", Value: "ddl"}); err != nil {
		t.Fatal(err)
	}
	waitSetting(t, c, "pgaudit.log", "ddl")
	wantFindings(t, advise(t, c, rec, nil), base...)

	// Preload removed: installed, not preloaded.
	if err := c.Params().Reset(ctx, params.ClusterGroup, "advise-params", "shared_preload_libraries"); err != nil {
		t.Fatal(err)
	}
	waitDescribed(t, c, "pending-reboot", func(d *aurora.Description) bool { return d.Writer != nil && d.Writer.PendingReboot() })
	if _, err := c.Reboot(ctx, writer, nil); err != nil {
		t.Fatal(err)
	}
	fs = advise(t, c, rec, nil)
	wantFindings(t, fs, append(base, aurora.CheckPgAuditNotPreloaded)...)
	np := finding(t, fs, aurora.CheckPgAuditNotPreloaded, "database/postgres")
	wantEvidence(t, np, "pgaudit extension", "is installed in database postgres")
	if len(np.Fix.Changes) != 1 || np.Fix.Changes[0].Name != "shared_preload_libraries" || !strings.Contains(np.Fix.Changes[0].Value, "pgaudit") {
		t.Errorf("not-preloaded fix %+v", np.Fix)
	}
	if _, err := c.SQL().Exec(ctx, "DROP EXTENSION pgaudit"); err != nil {
		t.Fatal(err)
	}

	// A burstable, public reader on a CA that expires in 30 days, with a
	// DB parameter group that overrides one cluster setting (and repeats
	// another in other words): smaller than the writer, and the failover
	// target.
	reader := adviseClusterID + "-small"
	if err := c.Params().Modify(ctx, params.ClusterGroup, "advise-params",
		params.Change{Name: "log_min_duration_statement", Value: "1000"}, params.Change{Name: "pgaudit.log_level", Value: "notice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.CreateDBParameterGroup(ctx, &rds.CreateDBParameterGroupInput{DBParameterGroupName: aws.String("advise-small-params"),
		DBParameterGroupFamily: aws.String("aurora-postgresql15"), Description: aws.String("overrides the cluster")}); err != nil {
		t.Fatal(err)
	}
	if err := c.Params().Modify(ctx, params.InstanceGroup, "advise-small-params",
		params.Change{Name: "log_min_duration_statement", Value: "5000"}, params.Change{Name: "pgaudit.log_level", Value: "NOTICE"}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(reader), DBClusterIdentifier: aws.String(adviseClusterID),
		DBInstanceClass: aws.String("db.t4g.medium"), Engine: aws.String("aurora-postgresql"),
		PubliclyAccessible: aws.Bool(true), AutoMinorVersionUpgrade: aws.Bool(false),
		CACertificateIdentifier: aws.String("rds-ca-2019"), DBParameterGroupName: aws.String("advise-small-params")}); err != nil {
		t.Fatal(err)
	}
	waitDescribed(t, c, "the reader", allAvailable(2))
	fs = advise(t, c, rec, nil)
	wantFindings(t, fs, aurora.CheckStorageNotEncrypted, aurora.CheckDeletionProtectionOff, aurora.CheckDefaultMasterUsername,
		aurora.CheckForceSSLOff, aurora.CheckBurstableClass, aurora.CheckPubliclyAccessible, aurora.CheckFailoverTargetSmaller,
		aurora.CheckCAExpiring, aurora.CheckInstanceGroupOverride)
	wantEvidence(t, finding(t, fs, aurora.CheckBurstableClass, "instance/"+reader), "db.t4g.medium", "reader")
	wantEvidence(t, finding(t, fs, aurora.CheckPubliclyAccessible, "instance/"+reader), "PubliclyAccessible=true")
	wantEvidence(t, finding(t, fs, aurora.CheckFailoverTargetSmaller, "instance/"+reader), "db.t4g.medium", writer, "db.r6g.large")
	ov := finding(t, fs, aurora.CheckInstanceGroupOverride, "db-parameter-group/advise-small-params")
	wantEvidence(t, ov, "of "+reader+" overrides DB cluster parameter group advise-params: log_min_duration_statement=5000 (cluster group: 1000)")
	if strings.Contains(ov.Evidence, "log_level") || ov.Fix.Workflow != `Cluster.Params().Reset(ctx, params.InstanceGroup, "advise-small-params", "log_min_duration_statement")` {
		t.Errorf("override finding %+v", ov)
	}
	ca := finding(t, fs, aurora.CheckCAExpiring, "instance/"+reader)
	wantEvidence(t, ca, "CA rds-ca-2019", "expires on", "in 29 days")
	if ca.Severity != aurora.SeverityWarning || ca.Fix.Workflow != `Cluster.RotateCA(ctx, "rds-ca-rsa2048-g1", trust, nil)` {
		t.Errorf("CA finding %+v", ca)
	}

	// A catalog passed in is the one judged, and read from no API: in it
	// rds-ca-2019 is valid for years.
	long := sslcert.NewCatalog(sslcert.CA{ID: "rds-ca-2019", ValidTill: time.Now().AddDate(5, 0, 0)})
	rec.take()
	fs, err = c.Advise(ctx, &aurora.AdviseOptions{Catalog: long})
	if err != nil {
		t.Fatal(err)
	}
	if acts := rec.take(); slices.Contains(acts, "DescribeCertificates") {
		t.Errorf("Advise with AdviseOptions.Catalog sent DescribeCertificates: %v", acts)
	}
	wantFindings(t, fs, aurora.CheckStorageNotEncrypted, aurora.CheckDeletionProtectionOff, aurora.CheckDefaultMasterUsername,
		aurora.CheckForceSSLOff, aurora.CheckBurstableClass, aurora.CheckPubliclyAccessible, aurora.CheckFailoverTargetSmaller,
		aurora.CheckInstanceGroupOverride)

	// The reader back on the writer's CA, and its group's override reset
	// as the finding's Fix says: both findings clear.
	if _, err := api.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(reader),
		CACertificateIdentifier: aws.String("rds-ca-rsa2048-g1"), ApplyImmediately: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Params().Reset(ctx, params.InstanceGroup, "advise-small-params", "log_min_duration_statement"); err != nil {
		t.Fatal(err)
	}
	waitDescribed(t, c, "the reader on rds-ca-rsa2048-g1", func(d *aurora.Description) bool {
		if !allAvailable(2)(d) {
			return false
		}
		for _, in := range d.Readers {
			if in.ID == reader {
				return in.CACertificate == "rds-ca-rsa2048-g1"
			}
		}
		return false
	})
	wantFindings(t, advise(t, c, rec, nil), aurora.CheckStorageNotEncrypted, aurora.CheckDeletionProtectionOff, aurora.CheckDefaultMasterUsername,
		aurora.CheckForceSSLOff, aurora.CheckBurstableClass, aurora.CheckPubliclyAccessible, aurora.CheckFailoverTargetSmaller)
}

// waitSetting polls the writer until a setting has a value.
func waitSetting(t *testing.T, c *aurora.Cluster, name, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var v string
		err := c.SQL().QueryRow(context.Background(), "SELECT pg_catalog.current_setting($1)", name).Scan(&v)
		if err == nil && v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q (%v), want %q", name, v, err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAdvisePgLogicalSubscription: a replicating pglogical subscription
// has no finding; disabled, it has CheckPgLogicalSubscriptionDown.
func TestAdvisePgLogicalSubscription(t *testing.T) {
	e := auroratest.NewT(t,
		auroratest.WithCluster("advpgl-prov", auroratest.ClusterConfig{Instances: 1}),
		auroratest.WithCluster("advpgl-sub", auroratest.ClusterConfig{Instances: 1}),
		auroratest.WithTransitionDelay(50*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// One recorder for both clusters, its base set before either uses it.
	rec := &apiRecorder{base: e.AWSConfig().HTTPClient}
	if rec.base == nil {
		rec.base = http.DefaultClient
	}
	open := func(id string) *aurora.Cluster {
		cfg := e.AWSConfig()
		cfg.HTTPClient = rec
		c, err := aurora.New(id, aurora.WithAWSConfig(cfg),
			aurora.WithCredentials(aurora.StaticPassword("postgres", e.MasterPassword(id))),
			aurora.WithCABundle(e.CABundlePEM()), aurora.WithWait(fastWait))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	prov, sub := open("advpgl-prov"), open("advpgl-sub")
	schemas := []string{"public"}
	for _, run := range []struct {
		c    *aurora.Cluster
		opts *aurora.PgLogicalOptions
	}{
		{prov, &aurora.PgLogicalOptions{NodeName: "provider",
			NodeRole: &pglogical.NodeRoleSpec{Name: "pgl_node", Password: "Prov-node-pw-1", Provider: true, Schemas: schemas}}},
		{sub, &aurora.PgLogicalOptions{NodeName: "subscriber",
			NodeRole: &pglogical.NodeRoleSpec{Name: "pgl_node", Password: "Sub-node-pw-2", Subscriber: true, Schemas: schemas}}},
	} {
		if _, err := run.c.EnablePgLogical(ctx, run.opts); err != nil {
			t.Fatal(err)
		}
		if _, err := run.c.SQL().Exec(ctx, "CREATE TABLE public.orders (id int PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
	}
	// The emulator's rds_replication is a plain role: give the attribute
	// membership stands for on Aurora (as TestPgLogicalNodeRoles does).
	if _, err := prov.SQL().Exec(ctx, "ALTER ROLE pgl_node REPLICATION"); err != nil {
		t.Fatal(err)
	}
	node, err := prov.PgLogical().LocalNode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := prov.PgLogical().AddAllTables(ctx, pglogical.DefaultSet, schemas, false); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.PgLogical().CreateSubscription(ctx, pglogical.SubscriptionSpec{
		Name: "orders_sub", Provider: node.Interfaces[0].DSN, ReplicationSets: []string{pglogical.DefaultSet}, SynchronizeData: true,
	}); err != nil {
		t.Fatal(err)
	}
	if err := sub.PgLogical().WaitForSync(ctx, "orders_sub", nil); err != nil {
		t.Fatal(err)
	}
	hasDown := func(fs []aurora.Finding) bool {
		return slices.ContainsFunc(fs, func(f aurora.Finding) bool { return f.ID == aurora.CheckPgLogicalSubscriptionDown })
	}
	if fs := advise(t, sub, rec, nil); hasDown(fs) {
		t.Fatalf("a replicating subscription is reported: %v", fs)
	}

	if err := sub.PgLogical().DisableSubscription(ctx, "orders_sub", true); err != nil {
		t.Fatal(err)
	}
	fs := advise(t, sub, rec, nil)
	f := finding(t, fs, aurora.CheckPgLogicalSubscriptionDown, "pglogical-subscription/orders_sub")
	wantEvidence(t, f, "pglogical subscription orders_sub from node provider", "status disabled", "cause subscription-disabled")
	if !strings.Contains(f.Fix.Workflow, `pglogical.Repair(ctx, provider, Cluster.PgLogical(), "orders_sub", nil)`) {
		t.Errorf("fix %+v", f.Fix)
	}
	// The provider, which has no subscription, has no such finding.
	if hasDown(advise(t, prov, rec, nil)) {
		t.Error("the provider has a pglogical subscription finding")
	}

	// A table with a unique constraint besides its primary key, added to
	// the replication set: CheckPgLogicalExtraUnique on the provider,
	// for it and not for orders; removed from the set, nothing.
	hasExtra := func(fs []aurora.Finding) bool {
		return slices.ContainsFunc(fs, func(f aurora.Finding) bool { return f.ID == aurora.CheckPgLogicalExtraUnique })
	}
	if hasExtra(advise(t, prov, rec, nil)) {
		t.Fatal("orders, with only its primary key, is reported")
	}
	if _, err := prov.SQL().Exec(ctx, "CREATE TABLE public.customers (id int PRIMARY KEY, email text UNIQUE)"); err != nil {
		t.Fatal(err)
	}
	customers := pglogical.Table{Schema: "public", Name: "customers"}
	if err := prov.PgLogical().AddTable(ctx, pglogical.DefaultSet, customers, nil); err != nil {
		t.Fatal(err)
	}
	fs = advise(t, prov, rec, nil)
	extra := finding(t, fs, aurora.CheckPgLogicalExtraUnique, "table/public.customers")
	wantEvidence(t, extra, "public.customers, in pglogical replication set default, has unique index(es) customers_email_key besides its primary key")
	if n := len(slices.DeleteFunc(slices.Clone(fs), func(f aurora.Finding) bool { return f.ID != aurora.CheckPgLogicalExtraUnique })); n != 1 {
		t.Errorf("%d extra-unique findings, want 1 (customers): %v", n, fs)
	}
	if err := prov.PgLogical().RemoveTable(ctx, pglogical.DefaultSet, customers); err != nil {
		t.Fatal(err)
	}
	if hasExtra(advise(t, prov, rec, nil)) {
		t.Error("customers is reported after it left the replication set")
	}
}
