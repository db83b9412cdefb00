package auroratest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
)

// TestMajorVersionUpgrade upgrades a 2-instance cluster from 15.4 to
// 16.6 through ModifyDBCluster: first every refusal Aurora makes (no
// AllowMajorVersionUpgrade, a target not offered, a group of the old
// family, custom groups not replaced), then a pre-upgrade check failing
// on a logical slot, then the upgrade, after which the cluster and its
// instances report 16.6 and the new family's groups, the servers run with
// the new groups' values, and the data is all there.
func TestMajorVersionUpgrade(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	e := auroratest.NewT(t, auroratest.WithCluster("major", auroratest.ClusterConfig{Instances: 2, EngineVersion: "15.4",
		ClusterParameterGroup: "major-15", InstanceParameterGroup: "major-inst-15"}), auroratest.WithTransitionDelay(50*time.Millisecond))
	c := rds.NewFromConfig(e.AWSConfig())
	sql := func(instance, query string) string {
		t.Helper()
		cs, err := e.ConnString(instance, "postgres")
		if err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, cs)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var out string
		if err := conn.QueryRow(ctx, query).Scan(&out); err != nil {
			t.Fatalf("%s on %s: %v", query, instance, err)
		}
		return out
	}
	// Logical replication on, so that a logical slot can be made.
	if _, err := c.ModifyDBClusterParameterGroup(ctx, &rds.ModifyDBClusterParameterGroupInput{DBClusterParameterGroupName: aws.String("major-15"),
		Parameters: []types.Parameter{{ParameterName: aws.String("rds.logical_replication"), ParameterValue: aws.String("1"), ApplyMethod: types.ApplyMethodPendingReboot}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String("major-instance-1")}); err != nil {
		t.Fatal(err)
	}
	if err := rds.NewDBInstanceAvailableWaiter(c, fastInstanceWaiter).Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("major-instance-1")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	cs, _ := e.ConnString("major-instance-1", "postgres")
	conn, err := pgx.Connect(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{"CREATE TABLE kept (id int PRIMARY KEY)", "INSERT INTO kept SELECT generate_series(1, 100)"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []struct{ name, family string }{{"major-16", "aurora-postgresql16"}, {"major-15-b", "aurora-postgresql15"}} {
		if _, err := c.CreateDBClusterParameterGroup(ctx, &rds.CreateDBClusterParameterGroupInput{DBClusterParameterGroupName: aws.String(g.name),
			DBParameterGroupFamily: aws.String(g.family), Description: aws.String("upgrade test")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateDBParameterGroup(ctx, &rds.CreateDBParameterGroupInput{DBParameterGroupName: aws.String("major-inst-16"),
		DBParameterGroupFamily: aws.String("aurora-postgresql16"), Description: aws.String("upgrade test")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModifyDBParameterGroup(ctx, &rds.ModifyDBParameterGroupInput{DBParameterGroupName: aws.String("major-inst-16"),
		Parameters: []types.Parameter{{ParameterName: aws.String("work_mem"), ParameterValue: aws.String("20480"), ApplyMethod: types.ApplyMethodImmediate}}}); err != nil {
		t.Fatal(err)
	}
	upgrade := func(version, clusterGroup, instanceGroup string, allow bool) error {
		in := &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String("major"), EngineVersion: aws.String(version),
			AllowMajorVersionUpgrade: aws.Bool(allow), ApplyImmediately: aws.Bool(true)}
		if clusterGroup != "" {
			in.DBClusterParameterGroupName = aws.String(clusterGroup)
		}
		if instanceGroup != "" {
			in.DBInstanceParameterGroupName = aws.String(instanceGroup)
		}
		_, err := c.ModifyDBCluster(ctx, in)
		return err
	}
	for _, bad := range []struct {
		version, cg, ig string
		allow           bool
		want            string
	}{
		{"16.6", "major-16", "major-inst-16", false, "AllowMajorVersionUpgrade flag must be present"},
		{"16.1", "major-16", "major-inst-16", true, "Cannot upgrade aurora-postgresql from 15.4 to 16.1"},
		{"16.6", "major-15-b", "major-inst-16", true, "is of family aurora-postgresql15"},
		{"16.6", "", "major-inst-16", true, "major-15 is custom"},
		{"16.6", "major-16", "", true, "major-inst-15 is custom"},
		{"16.6", "major-16", "major-inst-15", true, "with DBParameterGroupFamily aurora-postgresql15 can't be used"},
	} {
		err := upgrade(bad.version, bad.cg, bad.ig, bad.allow)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterCombination" || !strings.Contains(ae.ErrorMessage(), bad.want) {
			t.Errorf("upgrade %+v: %v, want InvalidParameterCombination %q", bad, err, bad.want)
		}
	}
	describe := func() types.DBCluster {
		t.Helper()
		out, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("major")})
		if err != nil {
			t.Fatal(err)
		}
		return out.DBClusters[0]
	}
	if v := aws.ToString(describe().EngineVersion); v != "15.4" {
		t.Fatalf("a refused upgrade changed the version to %s", v)
	}
	waitAvailable := func() {
		t.Helper()
		if err := rds.NewDBClusterAvailableWaiter(c, fastClusterWaiter).Wait(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("major")}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}

	// A logical slot fails the pre-upgrade check, after the cluster went
	// into "upgrading", as on Aurora.
	if _, err := conn.Exec(ctx, "SELECT pg_create_logical_replication_slot('blocker', 'test_decoding')"); err != nil {
		t.Fatal(err)
	}
	if err := upgrade("16.6", "major-16", "major-inst-16", true); err != nil {
		t.Fatal(err)
	}
	if s := aws.ToString(describe().Status); s != "upgrading" {
		t.Errorf("status after ModifyDBCluster: %s, want upgrading", s)
	}
	waitAvailable()
	if v := aws.ToString(describe().EngineVersion); v != "15.4" {
		t.Fatalf("the failed upgrade left version %s", v)
	}
	events, err := c.DescribeEvents(ctx, &rds.DescribeEventsInput{SourceIdentifier: aws.String("major"), SourceType: types.SourceTypeDbCluster})
	if err != nil {
		t.Fatal(err)
	}
	failed := false
	for _, ev := range events.Events {
		failed = failed || strings.Contains(aws.ToString(ev.Message), "PreUpgrade checks failed") && strings.Contains(aws.ToString(ev.Message), "logical replication slots")
	}
	if !failed {
		t.Errorf("no event says why the upgrade failed: %+v", events.Events)
	}

	// Without the slot the upgrade goes through.
	if _, err := conn.Exec(ctx, "SELECT pg_drop_replication_slot('blocker')"); err != nil {
		t.Fatal(err)
	}
	if err := upgrade("16.6", "major-16", "major-inst-16", true); err != nil {
		t.Fatal(err)
	}
	waitAvailable()
	d := describe()
	if aws.ToString(d.EngineVersion) != "16.6" || aws.ToString(d.DBClusterParameterGroup) != "major-16" {
		t.Fatalf("after the upgrade: version %s, group %s", aws.ToString(d.EngineVersion), aws.ToString(d.DBClusterParameterGroup))
	}
	ins, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{Filters: []types.Filter{{Name: aws.String("db-cluster-id"), Values: []string{"major"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range ins.DBInstances {
		id := aws.ToString(in.DBInstanceIdentifier)
		pg := in.DBParameterGroups[0]
		if aws.ToString(in.EngineVersion) != "16.6" || aws.ToString(in.DBInstanceStatus) != "available" ||
			aws.ToString(pg.DBParameterGroupName) != "major-inst-16" || aws.ToString(pg.ParameterApplyStatus) != "in-sync" {
			t.Errorf("%s after the upgrade: version %s, status %s, group %s %s", id, aws.ToString(in.EngineVersion), aws.ToString(in.DBInstanceStatus),
				aws.ToString(pg.DBParameterGroupName), aws.ToString(pg.ParameterApplyStatus))
		}
		if got := sql(id, "SHOW work_mem"); got != "20MB" {
			t.Errorf("%s: work_mem %s, want the new group's 20MB", id, got)
		}
		if got := sql(id, "SELECT count(*)::text FROM kept"); got != "100" {
			t.Errorf("%s: %s rows after the upgrade, want 100", id, got)
		}
	}
	// Another upgrade to the same version changes nothing.
	if err := upgrade("16.6", "", "", true); err != nil {
		t.Fatal(err)
	}
	if s := aws.ToString(describe().Status); s != "available" {
		t.Errorf("a repeated ModifyDBCluster started %s", s)
	}
}
