package auroratest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/internal/pgtest"
)

// The whole lifecycle through the real SDK client: create a cluster and
// its instances, wait with the SDK's waiters, write, snapshot, restore,
// restore to a point in time, stop and start, delete.

func createCluster(t *testing.T, ctx context.Context, c *rds.Client, id string, mod func(*rds.CreateDBClusterInput)) *types.DBCluster {
	t.Helper()
	in := &rds.CreateDBClusterInput{
		DBClusterIdentifier: aws.String(id), Engine: aws.String("aurora-postgresql"), EngineVersion: aws.String("15.4"),
		MasterUsername: aws.String("master"), MasterUserPassword: aws.String("lifecycle-pass-1"), DatabaseName: aws.String("app"),
	}
	if mod != nil {
		mod(in)
	}
	out, err := c.CreateDBCluster(ctx, in)
	if err != nil {
		t.Fatalf("CreateDBCluster %s: %v", id, err)
	}
	return out.DBCluster
}

func createInstance(t *testing.T, ctx context.Context, c *rds.Client, cluster, id string) {
	t.Helper()
	if _, err := c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(id), DBClusterIdentifier: aws.String(cluster), Engine: aws.String("aurora-postgresql"),
		DBInstanceClass: aws.String("db.r6g.large"), Tags: []types.Tag{{Key: aws.String("role"), Value: aws.String("db")}},
	}); err != nil {
		t.Fatalf("CreateDBInstance %s: %v", id, err)
	}
}

// clusterConn connects to a cluster's writer endpoint as its master user.
func clusterConn(t *testing.T, ctx context.Context, c *rds.Client, id, password string) *pgx.Conn {
	t.Helper()
	cl := describeCluster(t, ctx, c, id)
	cfg, err := pgx.ParseConfig("dbname=app sslmode=disable connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Password = aws.ToString(cl.Endpoint), uint16(aws.ToInt32(cl.Port)), "master", password
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connecting to cluster %s: %v", id, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func rows(t *testing.T, ctx context.Context, conn *pgx.Conn) string {
	t.Helper()
	var got string
	if err := conn.QueryRow(ctx, "SELECT coalesce(string_agg(v::text, ',' ORDER BY v), '') FROM life").Scan(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

func waitDeleted(t *testing.T, ctx context.Context, c *rds.Client, instances []string, cluster string) {
	t.Helper()
	for _, id := range instances {
		w := rds.NewDBInstanceDeletedWaiter(c, func(o *rds.DBInstanceDeletedWaiterOptions) {
			o.MinDelay, o.MaxDelay = 50*time.Millisecond, 250*time.Millisecond
		})
		if err := w.Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)}, time.Minute); err != nil {
			t.Fatalf("waiting for %s to be deleted: %v", id, err)
		}
	}
	if cluster == "" {
		return
	}
	w := rds.NewDBClusterDeletedWaiter(c, func(o *rds.DBClusterDeletedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 250*time.Millisecond
	})
	if err := w.Wait(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(cluster)}, time.Minute); err != nil {
		t.Fatalf("waiting for cluster %s to be deleted: %v", cluster, err)
	}
}

func deleteAll(t *testing.T, ctx context.Context, c *rds.Client, cluster string, instances ...string) {
	t.Helper()
	for _, id := range instances {
		if _, err := c.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id)}); err != nil {
			t.Fatalf("DeleteDBInstance %s: %v", id, err)
		}
	}
	waitDeleted(t, ctx, c, instances, "")
	if _, err := c.DeleteDBCluster(ctx, &rds.DeleteDBClusterInput{DBClusterIdentifier: aws.String(cluster), SkipFinalSnapshot: aws.Bool(true)}); err != nil {
		t.Fatalf("DeleteDBCluster %s: %v", cluster, err)
	}
	waitDeleted(t, ctx, c, nil, cluster)
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	emulator(t)
	start := time.Now()
	defer func() { t.Logf("the lifecycle took %v", time.Since(start)) }()
	c := client(t)
	cl := createCluster(t, ctx, c, "life", func(in *rds.CreateDBClusterInput) {
		in.DeletionProtection = aws.Bool(true)
		in.StorageEncrypted = aws.Bool(true)
		in.EnableIAMDatabaseAuthentication = aws.Bool(true)
		in.EnableCloudwatchLogsExports = []string{"postgresql"}
		in.CopyTagsToSnapshot = aws.Bool(true)
		in.Tags = []types.Tag{{Key: aws.String("team"), Value: aws.String("data")}}
		in.PreferredBackupWindow = aws.String("03:00-03:30")
	})
	if aws.ToString(cl.Status) != "creating" || len(cl.DBClusterMembers) != 0 {
		t.Errorf("a new cluster: status %s with %d members, want creating with none", aws.ToString(cl.Status), len(cl.DBClusterMembers))
	}
	waitCluster(t, ctx, c, "life")
	createInstance(t, ctx, c, "life", "life-1")
	createInstance(t, ctx, c, "life", "life-2")
	waitInstance(t, ctx, c, "life-1")
	waitInstance(t, ctx, c, "life-2")

	got := describeCluster(t, ctx, c, "life")
	if !aws.ToBool(got.StorageEncrypted) || aws.ToString(got.KmsKeyId) == "" || !aws.ToBool(got.IAMDatabaseAuthenticationEnabled) ||
		!aws.ToBool(got.DeletionProtection) || fmt.Sprint(got.EnabledCloudwatchLogsExports) != "[postgresql]" ||
		aws.ToString(got.PreferredBackupWindow) != "03:00-03:30" || len(got.TagList) != 1 || aws.ToString(got.DBSubnetGroup) != "default" ||
		aws.ToString(got.EngineLifecycleSupport) == "" {
		t.Errorf("the cluster does not report what it was created with: %+v", got)
	}
	writer := ""
	for _, m := range got.DBClusterMembers {
		if aws.ToBool(m.IsClusterWriter) {
			writer = aws.ToString(m.DBInstanceIdentifier)
		}
	}
	if len(got.DBClusterMembers) != 2 || writer != "life-1" {
		t.Fatalf("members %+v, want life-1 the writer of two", got.DBClusterMembers)
	}
	inst, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("life-2")})
	if err != nil {
		t.Fatal(err)
	}
	if x := inst.DBInstances[0]; aws.ToString(x.DBInstanceClass) != "db.r6g.large" || x.DBSubnetGroup == nil || len(x.TagList) != 1 || !aws.ToBool(x.AutoMinorVersionUpgrade) {
		t.Errorf("instance shape: %+v", x)
	}

	conn := clusterConn(t, ctx, c, "life", "lifecycle-pass-1")
	if _, err := conn.Exec(ctx, "CREATE TABLE life(v int); INSERT INTO life VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	reader := connect(t, "life-2", "app")
	pgtest.WaitFor(t, "the reader to replay the first row", 30*time.Second, func() (bool, string) {
		var n int
		err := reader.QueryRow(ctx, "SELECT count(*) FROM life").Scan(&n)
		return err == nil && n == 1, fmt.Sprint(n, err)
	})

	// A manual snapshot copies the cluster's tags (CopyTagsToSnapshot).
	snap, err := c.CreateDBClusterSnapshot(ctx, &rds.CreateDBClusterSnapshotInput{DBClusterIdentifier: aws.String("life"), DBClusterSnapshotIdentifier: aws.String("life-snap")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(snap.DBClusterSnapshot.Status) != "creating" {
		t.Errorf("a new snapshot is %s, want creating", aws.ToString(snap.DBClusterSnapshot.Status))
	}
	sw := rds.NewDBClusterSnapshotAvailableWaiter(c, func(o *rds.DBClusterSnapshotAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 250*time.Millisecond
	})
	if err := sw.Wait(ctx, &rds.DescribeDBClusterSnapshotsInput{DBClusterSnapshotIdentifier: aws.String("life-snap")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO life VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	// Point-in-time restores reach back to the cluster's first backup.
	pgtest.WaitFor(t, "the first automated backup", time.Minute, func() (bool, string) {
		return describeCluster(t, ctx, c, "life").EarliestRestorableTime != nil, "no EarliestRestorableTime yet"
	})
	// The SDK sends times to the millisecond: keep clear of both commits.
	time.Sleep(100 * time.Millisecond)
	between := time.Now()
	time.Sleep(100 * time.Millisecond)
	if _, err := conn.Exec(ctx, "INSERT INTO life VALUES (3)"); err != nil {
		t.Fatal(err)
	}
	snaps, err := c.DescribeDBClusterSnapshots(ctx, &rds.DescribeDBClusterSnapshotsInput{DBClusterIdentifier: aws.String("life")})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, s := range snaps.DBClusterSnapshots {
		kinds[aws.ToString(s.SnapshotType)]++
		if aws.ToString(s.DBClusterSnapshotIdentifier) == "life-snap" && len(s.TagList) != 1 {
			t.Errorf("the manual snapshot has tags %v, want the cluster's", s.TagList)
		}
	}
	if kinds["manual"] != 1 || kinds["automated"] < 1 {
		t.Errorf("snapshots by type %v, want one manual and automated ones", kinds)
	}

	// A copy keeps the data and, with CopyTags, the tags.
	cp, err := c.CopyDBClusterSnapshot(ctx, &rds.CopyDBClusterSnapshotInput{SourceDBClusterSnapshotIdentifier: aws.String("life-snap"),
		TargetDBClusterSnapshotIdentifier: aws.String("life-snap-copy"), CopyTags: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(cp.DBClusterSnapshot.TagList) != 1 || aws.ToString(cp.DBClusterSnapshot.SnapshotType) != "manual" {
		t.Errorf("the copy: %+v", cp.DBClusterSnapshot)
	}
	if err := sw.Wait(ctx, &rds.DescribeDBClusterSnapshotsInput{DBClusterSnapshotIdentifier: aws.String("life-snap-copy")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteDBClusterSnapshot(ctx, &rds.DeleteDBClusterSnapshotInput{DBClusterSnapshotIdentifier: aws.String("life-snap-copy")}); err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps.DBClusterSnapshots {
		if aws.ToString(s.SnapshotType) == "automated" {
			_, err := c.DeleteDBClusterSnapshot(ctx, &rds.DeleteDBClusterSnapshotInput{DBClusterSnapshotIdentifier: s.DBClusterSnapshotIdentifier})
			var state *types.InvalidDBClusterSnapshotStateFault
			if !errors.As(err, &state) {
				t.Errorf("deleting an automated snapshot: %v, want InvalidDBClusterSnapshotStateFault", err)
			}
			break
		}
	}
	// An instance class change with ApplyImmediately.
	if _, err := c.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String("life-2"), DBInstanceClass: aws.String("db.r6g.xlarge"),
		ApplyImmediately: aws.Bool(true), PromotionTier: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	waitInstance(t, ctx, c, "life-2")
	if in, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("life-2")}); err != nil {
		t.Fatal(err)
	} else if x := in.DBInstances[0]; aws.ToString(x.DBInstanceClass) != "db.r6g.xlarge" || aws.ToInt32(x.PromotionTier) != 3 {
		t.Errorf("after ModifyDBInstance: class %s, tier %d", aws.ToString(x.DBInstanceClass), aws.ToInt32(x.PromotionTier))
	}

	// Restore the snapshot: the new cluster's writer has exactly its data.
	if _, err := c.RestoreDBClusterFromSnapshot(ctx, &rds.RestoreDBClusterFromSnapshotInput{
		DBClusterIdentifier: aws.String("life-restored"), SnapshotIdentifier: aws.String("life-snap"), Engine: aws.String("aurora-postgresql"),
	}); err != nil {
		t.Fatal(err)
	}
	// And a point in time between the inserts of 2 and 3.
	if _, err := c.RestoreDBClusterToPointInTime(ctx, &rds.RestoreDBClusterToPointInTimeInput{
		DBClusterIdentifier: aws.String("life-pitr"), SourceDBClusterIdentifier: aws.String("life"), RestoreToTime: aws.Time(between),
	}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"life-restored", "life-pitr"} {
		waitCluster(t, ctx, c, id)
		createInstance(t, ctx, c, id, id+"-1")
		waitInstance(t, ctx, c, id+"-1")
	}
	if got := rows(t, ctx, clusterConn(t, ctx, c, "life-restored", "lifecycle-pass-1")); got != "1" {
		t.Errorf("the cluster restored from the snapshot has rows %q, want 1", got)
	}
	if got := rows(t, ctx, clusterConn(t, ctx, c, "life-pitr", "lifecycle-pass-1")); got != "1,2" {
		t.Errorf("the cluster restored to a point in time has rows %q, want 1,2", got)
	}
	window := describeCluster(t, ctx, c, "life")
	if e, l := aws.ToTime(window.EarliestRestorableTime), aws.ToTime(window.LatestRestorableTime); e.IsZero() || l.Before(e) {
		t.Errorf("restorable window %v to %v", e, l)
	}

	// Refusals, with the exact fault codes.
	_, err = c.DeleteDBCluster(ctx, &rds.DeleteDBClusterInput{DBClusterIdentifier: aws.String("life"), SkipFinalSnapshot: aws.Bool(true)})
	if code := apiCode(err); code != "InvalidParameterCombination" {
		t.Errorf("deleting a protected cluster: %v, want InvalidParameterCombination", err)
	}
	if _, err := c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String("life"), DeletionProtection: aws.Bool(false),
		MasterUserPassword: aws.String("lifecycle-pass-2"), ApplyImmediately: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	waitCluster(t, ctx, c, "life")
	clusterConn(t, ctx, c, "life", "lifecycle-pass-2") // the new password works
	_, err = c.DeleteDBCluster(ctx, &rds.DeleteDBClusterInput{DBClusterIdentifier: aws.String("life"), SkipFinalSnapshot: aws.Bool(true)})
	var stateErr *types.InvalidDBClusterStateFault
	if !errors.As(err, &stateErr) {
		t.Errorf("deleting a cluster with instances: %v, want InvalidDBClusterStateFault", err)
	}
	_, err = c.RestoreDBClusterFromSnapshot(ctx, &rds.RestoreDBClusterFromSnapshotInput{
		DBClusterIdentifier: aws.String("life-none"), SnapshotIdentifier: aws.String("no-such-snapshot"), Engine: aws.String("aurora-postgresql"),
	})
	var notFound *types.DBClusterSnapshotNotFoundFault
	if !errors.As(err, &notFound) {
		t.Errorf("restoring an unknown snapshot: %v, want DBClusterSnapshotNotFoundFault", err)
	}

	// Stop and start: the servers really stop, and the data is back.
	if _, err := c.StopDBCluster(ctx, &rds.StopDBClusterInput{DBClusterIdentifier: aws.String("life")}); err != nil {
		t.Fatal(err)
	}
	pgtest.WaitFor(t, "the cluster to stop", time.Minute, func() (bool, string) {
		s := aws.ToString(describeCluster(t, ctx, c, "life").Status)
		return s == "stopped", s
	})
	if cs, err := emulator(t).ConnString("life-1", "app"); err != nil {
		t.Fatal(err)
	} else if cn, err := pgx.Connect(ctx, cs); err == nil {
		cn.Close(ctx)
		t.Error("a stopped cluster's writer accepts connections")
	}
	if _, err := c.StartDBCluster(ctx, &rds.StartDBClusterInput{DBClusterIdentifier: aws.String("life")}); err != nil {
		t.Fatal(err)
	}
	waitCluster(t, ctx, c, "life")
	waitInstance(t, ctx, c, "life-2")
	if got := rows(t, ctx, clusterConn(t, ctx, c, "life", "lifecycle-pass-2")); got != "1,2,3" {
		t.Errorf("after stop and start, rows %q", got)
	}

	// Deleting the writer fails over to the reader first; then the reader.
	deleteAll(t, ctx, c, "life", "life-1", "life-2")
	deleteAll(t, ctx, c, "life-restored", "life-restored-1")
	deleteAll(t, ctx, c, "life-pitr", "life-pitr-1")
	if _, err := c.DeleteDBClusterSnapshot(ctx, &rds.DeleteDBClusterSnapshotInput{DBClusterSnapshotIdentifier: aws.String("life-snap")}); err != nil {
		t.Fatal(err)
	}
}

// TestManagedMasterPassword creates a cluster whose master password RDS
// manages: the secret is reported, holds the password the new writer
// accepts.
func TestManagedMasterPassword(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c := client(t)
	cl := createCluster(t, ctx, c, "managed", func(in *rds.CreateDBClusterInput) {
		in.MasterUserPassword, in.ManageMasterUserPassword = nil, aws.Bool(true)
	})
	if cl.MasterUserSecret == nil || aws.ToString(cl.MasterUserSecret.SecretArn) == "" {
		t.Fatalf("no MasterUserSecret: %+v", cl)
	}
	_, err := c.CreateDBCluster(ctx, &rds.CreateDBClusterInput{DBClusterIdentifier: aws.String("managed-both"), Engine: aws.String("aurora-postgresql"),
		MasterUsername: aws.String("master"), MasterUserPassword: aws.String("some-password"), ManageMasterUserPassword: aws.Bool(true)})
	if apiCode(err) != "InvalidParameterCombination" {
		t.Errorf("both a password and a managed one: %v, want InvalidParameterCombination", err)
	}
	waitCluster(t, ctx, c, "managed")
	createInstance(t, ctx, c, "managed", "managed-1")
	waitInstance(t, ctx, c, "managed-1")
	sm := secretsmanager.NewFromConfig(emulator(t).AWSConfig())
	v, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: cl.MasterUserSecret.SecretArn})
	if err != nil {
		t.Fatal(err)
	}
	var secret struct{ Username, Password string }
	if err := json.Unmarshal([]byte(aws.ToString(v.SecretString)), &secret); err != nil || secret.Username != "master" {
		t.Fatalf("the secret's value: %v (%v)", secret.Username, err)
	}
	clusterConn(t, ctx, c, "managed", secret.Password)
	deleteAll(t, ctx, c, "managed", "managed-1")
}
