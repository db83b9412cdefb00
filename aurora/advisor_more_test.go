package aurora_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/params"
)

// tlsConnString is the emulator's connection string for an instance,
// over TLS (not verified: the test only needs the server to accept it
// under rds.force_ssl).
func tlsConnString(t *testing.T, instance string) string {
	t.Helper()
	dsn, err := emu.ConnString(instance, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(dsn, "sslmode=disable", "sslmode=require", 1)
}

func execAll(t *testing.T, c *aurora.Cluster, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := c.SQL().Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestAdviseReplicationCapacity: replication slots and subscriptions up
// to the writer's limits give CheckReplicationCapacity, naming each
// setting with what it is for, and a fix for each; below the limits,
// nothing.
func TestAdviseReplicationCapacity(t *testing.T) {
	ctx := context.Background()
	c, rec := createCleanCluster(t, "advcap")
	var slotsMax, sendersMax, workersMax, slots int
	if err := c.SQL().QueryRow(ctx, `SELECT current_setting('max_replication_slots')::int, current_setting('max_wal_senders')::int,
		current_setting('max_logical_replication_workers')::int, (SELECT count(*) FROM pg_replication_slots WHERE NOT temporary)`).
		Scan(&slotsMax, &sendersMax, &workersMax, &slots); err != nil {
		t.Fatal(err)
	}
	if sendersMax > slotsMax {
		t.Fatalf("max_wal_senders=%d > max_replication_slots=%d: the test cannot fill the senders with slots", sendersMax, slotsMax)
	}
	// One slot and one subscription: room left.
	execAll(t, c, "SELECT pg_create_physical_replication_slot('cap_0')",
		"CREATE SUBSCRIPTION cap_sub_0 CONNECTION 'host=127.0.0.1 port=1 dbname=nowhere' PUBLICATION p WITH (connect = false)")
	t.Cleanup(func() {
		for i := range slotsMax {
			c.SQL().Exec(context.Background(), fmt.Sprintf("SELECT pg_drop_replication_slot('cap_%d')", i))
		}
		for i := range workersMax {
			c.SQL().Exec(context.Background(), fmt.Sprintf("ALTER SUBSCRIPTION cap_sub_%d SET (slot_name = NONE)", i))
			c.SQL().Exec(context.Background(), fmt.Sprintf("DROP SUBSCRIPTION cap_sub_%d", i))
		}
	})
	wantFindings(t, advise(t, c, rec, nil), aurora.CheckSubscriptionDown)

	// As many slots as WAL senders, as many subscriptions as workers.
	for i := 1; i < sendersMax-slots; i++ {
		execAll(t, c, fmt.Sprintf("SELECT pg_create_physical_replication_slot('cap_%d')", i))
	}
	for i := 1; i < workersMax; i++ {
		execAll(t, c, fmt.Sprintf("CREATE SUBSCRIPTION cap_sub_%d CONNECTION 'host=127.0.0.1 port=1 dbname=nowhere' PUBLICATION p WITH (connect = false)", i))
	}
	fs := advise(t, c, rec, nil)
	down := make([]string, workersMax)
	for i := range down {
		down[i] = aurora.CheckSubscriptionDown
	}
	wantFindings(t, fs, append(down, aurora.CheckReplicationCapacity)...)
	f := finding(t, fs, aurora.CheckReplicationCapacity, "instance/advcap-a")
	need := sendersMax + workersMax
	wantEvidence(t, f, fmt.Sprintf("with %d replication slot(s) and %d subscription(s) (%d native, 0 pglogical)", sendersMax, workersMax, workersMax),
		fmt.Sprintf("max_replication_slots=%d for %d", slotsMax, need),
		fmt.Sprintf("max_wal_senders=%d for %d", sendersMax, sendersMax),
		fmt.Sprintf("max_logical_replication_workers=%d for %d", workersMax, workersMax))
	wantChanges := []params.Change{
		{Name: "max_replication_slots", Value: fmt.Sprint(need + need/2)},
		{Name: "max_wal_senders", Value: fmt.Sprint(max(sendersMax+sendersMax/2, sendersMax+2))},
		{Name: "max_logical_replication_workers", Value: fmt.Sprint(max(workersMax+workersMax/2, workersMax+2))},
	}
	if f.Fix.Group != "advcap-params" || !cmp.Equal(f.Fix.Changes, wantChanges) {
		t.Errorf("capacity fix %+v, want changes %v to advcap-params", f.Fix, wantChanges)
	}

	// One slot fewer: the senders have room, the slots still not.
	execAll(t, c, fmt.Sprintf("SELECT pg_drop_replication_slot('cap_%d')", sendersMax-slots-1))
	fs = advise(t, c, rec, nil)
	f = finding(t, fs, aurora.CheckReplicationCapacity, "instance/advcap-a")
	if strings.Contains(f.Evidence, "max_wal_senders") {
		t.Errorf("senders reported with one to spare: %s", f.Evidence)
	}

	// Fewer background workers than the logical replication workers and
	// their launcher need.
	if err := c.Params().Modify(ctx, params.ClusterGroup, "advcap-params", params.Change{Name: "max_worker_processes", Value: fmt.Sprint(workersMax)}); err != nil {
		t.Fatal(err)
	}
	waitDescribed(t, c, "pending-reboot", func(d *aurora.Description) bool { return d.Writer != nil && d.Writer.PendingReboot() })
	if _, err := c.Params().RebootPending(ctx, "advcap", nil); err != nil {
		t.Fatal(err)
	}
	waitDescribed(t, c, "the reboots", allAvailable(2))
	waitSetting(t, c, "max_worker_processes", fmt.Sprint(workersMax))
	fs = advise(t, c, rec, nil)
	f = finding(t, fs, aurora.CheckReplicationCapacity, "instance/advcap-a")
	wantEvidence(t, f, fmt.Sprintf("max_worker_processes=%d for %d", workersMax, workersMax+1))
}

// TestAdviseMoreChecks provokes, one at a time on a clean cluster, the
// checks of TRUNCATE across foreign keys, PLV8 (pg_trgm standing in),
// rds_iam members with passwords, parameter values the catalog refuses
// and connections that call for RDS Proxy, and clears each.
func TestAdviseMoreChecks(t *testing.T) {
	ctx := context.Background()
	c, rec := createCleanCluster(t, "advmore")
	api := rds.NewFromConfig(emu.AWSConfig())

	// TRUNCATE published for a table whose foreign key partner is not.
	execAll(t, c, "CREATE TABLE parent (id int PRIMARY KEY)",
		"CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent)",
		"CREATE TABLE other (id int PRIMARY KEY)",
		"CREATE PUBLICATION no_truncate FOR TABLE parent WITH (publish = 'insert, update, delete')",
		"CREATE PUBLICATION with_truncate FOR TABLE parent, other")
	fs := advise(t, c, rec, nil)
	wantFindings(t, fs, aurora.CheckTruncateAcrossForeignKey)
	wantEvidence(t, finding(t, fs, aurora.CheckTruncateAcrossForeignKey, "publication/with_truncate/public.parent"),
		"publication with_truncate publishes TRUNCATE of public.parent", "foreign key child_parent_id_fkey (public.child references public.parent)",
		"links to public.child, not in the publication")
	execAll(t, c, "ALTER PUBLICATION with_truncate ADD TABLE child")
	wantFindings(t, advise(t, c, rec, nil))

	// A language extension below the engine's version. plv8 is not
	// packaged for this server's PostgreSQL: pg_trgm, which has an older
	// version to install, stands in for it through
	// AdviseOptions.Languages; plperl, at its only version, is not
	// reported.
	execAll(t, c, "CREATE EXTENSION pg_trgm VERSION '1.5'", "CREATE EXTENSION plperl")
	fs = advise(t, c, rec, &aurora.AdviseOptions{Languages: []string{"pg_trgm", "plperl"}})
	wantFindings(t, fs, aurora.CheckLanguageBelowDefault)
	lang := finding(t, fs, aurora.CheckLanguageBelowDefault, "extension/pg_trgm")
	wantEvidence(t, lang, "pg_trgm 1.5 is installed; the engine ships 1.6")
	if !strings.Contains(lang.Fix.Workflow, "Cluster.UpgradePLV8") {
		t.Errorf("language fix %+v", lang.Fix)
	}
	// Not a language extension by default: an ordinary update.
	wantFindings(t, advise(t, c, rec, nil), aurora.CheckExtensionUpdate)
	t.Run("plv8", func(t *testing.T) {
		var available bool
		if err := c.SQL().QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'plv8')").Scan(&available); err != nil {
			t.Fatal(err)
		}
		if !available {
			t.Skip("plv8 is not available on this server (not packaged for Debian's PostgreSQL 15): pg_trgm stood in for it above")
		}
		execAll(t, c, "CREATE EXTENSION plv8")
		defer execAll(t, c, "DROP EXTENSION plv8")
		if fs := advise(t, c, rec, nil); slicesContainsID(fs, aurora.CheckLanguageBelowDefault) {
			t.Errorf("plv8 at its default version is reported: %v", fs)
		}
	})
	execAll(t, c, "ALTER EXTENSION pg_trgm UPDATE", "DROP EXTENSION plperl")

	// IAM authentication with a member that keeps its password.
	if _, err := api.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String("advmore"),
		EnableIAMDatabaseAuthentication: aws.Bool(true), ApplyImmediately: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	execAll(t, c, "CREATE ROLE iam_pw LOGIN PASSWORD 'Old-password-1' IN ROLE rds_iam", "CREATE ROLE iam_token LOGIN IN ROLE rds_iam")
	waitDescribed(t, c, "IAM authentication", func(d *aurora.Description) bool { return d.IAMDatabaseAuthentication && allAvailable(2)(d) })
	fs = advise(t, c, rec, nil)
	wantFindings(t, fs, aurora.CheckIAMMemberPassword)
	wantEvidence(t, finding(t, fs, aurora.CheckIAMMemberPassword, "role/iam_pw"), "iam_pw is a member of rds_iam and still has a password")
	execAll(t, c, "ALTER ROLE iam_pw PASSWORD NULL")
	wantFindings(t, advise(t, c, rec, nil))

	// A value the emulator's group accepts (PostgreSQL's range) but
	// Aurora's does not (1000-30000 ms, the SDK's catalog).
	if _, err := api.ModifyDBClusterParameterGroup(ctx, &rds.ModifyDBClusterParameterGroupInput{DBClusterParameterGroupName: aws.String("advmore-params"),
		Parameters: []types.Parameter{{ParameterName: aws.String("max_standby_streaming_delay"), ParameterValue: aws.String("60000"),
			ApplyMethod: types.ApplyMethodImmediate}}}); err != nil {
		t.Fatal(err)
	}
	fs = advise(t, c, rec, nil)
	wantFindings(t, fs, aurora.CheckParameterNotAccepted)
	pna := finding(t, fs, aurora.CheckParameterNotAccepted, "db-cluster-parameter-group/advmore-params/max_standby_streaming_delay")
	wantEvidence(t, pna, "DB cluster parameter group advmore-params sets max_standby_streaming_delay=60000", "30000")
	if err := c.Params().Reset(ctx, params.ClusterGroup, "advmore-params", "max_standby_streaming_delay"); err != nil {
		t.Fatal(err)
	}
	wantFindings(t, advise(t, c, rec, nil))

	// Many idle sessions: half of max_connections and more, all idle.
	var maxConn int
	if err := c.SQL().QueryRow(ctx, "SELECT current_setting('max_connections')::int").Scan(&maxConn); err != nil {
		t.Fatal(err)
	}
	dsn := tlsConnString(t, "advmore-a")
	var held []*pgx.Conn
	for range maxConn/2 + 1 {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, conn)
	}
	fs = advise(t, c, rec, nil)
	wantFindings(t, fs, aurora.CheckRDSProxy)
	wantEvidence(t, finding(t, fs, aurora.CheckRDSProxy, "instance/advmore-a"), fmt.Sprintf("of max_connections=%d are connected", maxConn), "of them idle")
	for _, conn := range held {
		conn.Close(ctx)
	}
	// Then churn: a thousand short sessions, opened faster than one a
	// second.
	churn(t, dsn, aurora.ProxyChurnSessions)
	fs = advise(t, c, rec, nil)
	wantFindings(t, fs, aurora.CheckRDSProxy)
	wantEvidence(t, finding(t, fs, aurora.CheckRDSProxy, "instance/advmore-a"), "sessions in", "a second), lasting", "abandoned")
	// The counters reset (the statistics count from now): clean again.
	execAll(t, c, "SELECT pg_stat_reset()")
	wantFindings(t, advise(t, c, rec, nil))
}

func slicesContainsID(fs []aurora.Finding, id string) bool {
	for _, f := range fs {
		if f.ID == id {
			return true
		}
	}
	return false
}

// churn opens and closes n sessions, four at a time.
func churn(t *testing.T, dsn string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				conn, err := pgx.Connect(context.Background(), dsn)
				if err != nil {
					errs[w] = err
					return
				}
				conn.Close(context.Background())
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// TestAdviseExtendedSupport: a cluster on a major version past the end of
// standard support (13, per the emulator's calendar, whose dates are
// AWS's) gets CheckExtendedSupport; a calendar passed in is the one
// judged.
func TestAdviseExtendedSupport(t *testing.T) {
	ctx := context.Background()
	c, rec := createCleanClusterVersion(t, "advold", "13.18")
	lcs, err := c.EngineLifecycles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l13 := lcs["13"]
	if l13.StandardSupportEnd.Format(time.DateOnly) != "2026-02-28" || l13.ExtendedSupportEnd.Format(time.DateOnly) != "2029-02-28" {
		t.Fatalf("lifecycle of 13: %+v", l13)
	}
	fs := advise(t, c, rec, nil)
	if time.Now().Before(l13.StandardSupportEnd.AddDate(0, 0, 1)) {
		wantFindings(t, fs)
		return
	}
	wantFindings(t, fs, aurora.CheckExtendedSupport)
	wantEvidence(t, finding(t, fs, aurora.CheckExtendedSupport, "cluster/advold"), "engine version 13.18", "standard support of PostgreSQL 13 ended on 2026-02-28",
		"runs on RDS Extended Support, which is charged and ends on 2029-02-28")

	// A calendar in which 13 is in standard support for years: nothing,
	// and no DescribeDBMajorEngineVersions call.
	rec.take()
	fs, err = c.Advise(ctx, &aurora.AdviseOptions{Lifecycles: aurora.EngineLifecycles{"13": {Major: "13", StandardSupportEnd: time.Now().AddDate(3, 0, 0)}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rec.take() {
		if a == "DescribeDBMajorEngineVersions" {
			t.Error("Advise with AdviseOptions.Lifecycles read the lifecycles")
		}
	}
	wantFindings(t, fs)
}

// TestAdviseIOOptimized: with prices under which the I/O the emulator
// measured is most of the cost, CheckIOOptimized reports its share; with
// a cheap I/O price, nothing; without prices the check does not run; and
// prices missing a class of the cluster are refused.
func TestAdviseIOOptimized(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, c := monitorEmulator(t)
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	class := d.Writer.Class
	// I/O on the volume, once the emulator samples (from the first
	// CloudWatch call): writes flushed by a checkpoint.
	pollMetric(t, ctx, c, aurora.VolumeBytesUsed, aurora.MetricScope{}, aurora.StatAverage, func(v float64) bool { return v > 0 })
	execAll(t, c, "CREATE TABLE io_load AS SELECT g, repeat('x', 500) AS pad FROM generate_series(1, 20000) g", "CHECKPOINT")
	pollMetric(t, ctx, c, aurora.VolumeWriteIOPs, aurora.MetricScope{}, aurora.StatSum, func(v float64) bool { return v > 0 })
	prices := func(io float64) *aurora.AdvisePrices {
		return &aurora.AdvisePrices{HourlyPrices: map[string]float64{class: 0.01}, StorageGBMonthPrice: 0.1, IOPricePerMillion: io,
			Window: time.Minute, Period: time.Second}
	}
	ioFinding := func(fs []aurora.Finding) *aurora.Finding {
		for _, f := range fs {
			if f.ID == aurora.CheckIOOptimized {
				return &f
			}
		}
		return nil
	}
	fs, err := c.Advise(ctx, &aurora.AdviseOptions{Prices: prices(1e6)})
	if err != nil {
		t.Fatal(err)
	}
	f := ioFinding(fs)
	if f == nil {
		t.Fatalf("no %s finding in %v", aurora.CheckIOOptimized, fs)
	}
	wantEvidence(t, *f, "of the estimated monthly cost on Aurora Standard (total", "I/O requests in", "of CloudWatch data")
	t.Log(f.Evidence)
	if f.Category != aurora.CategoryCost || f.Resource != "cluster/mon" {
		t.Errorf("finding %+v", f)
	}
	for _, o := range []*aurora.AdviseOptions{{Prices: prices(1e-9)}, nil} {
		fs, err := c.Advise(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if f := ioFinding(fs); f != nil {
			t.Errorf("options %+v: %v", o, f)
		}
	}
	bad := prices(1)
	bad.HourlyPrices = map[string]float64{"db.r5.large": 1}
	var ie *aurora.InputError
	if _, err := c.Advise(ctx, &aurora.AdviseOptions{Prices: bad}); !errors.As(err, &ie) || ie.Field != "AdvisePrices.HourlyPrices" || !strings.Contains(err.Error(), class) {
		t.Errorf("prices without %s: %v; want an *InputError naming AdvisePrices.HourlyPrices", class, err)
	}
}
