package auroratest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

// The CloudWatch tests share an emulator of their own, sampling every
// second, and run one after the other: they read figures of the same
// servers.
var (
	cwOnce sync.Once
	cwEmu  *auroratest.Emulator
	cwErr  error
)

const (
	cwCluster    = "cw" // a writer and a reader
	cwWriter     = cwCluster + "-instance-1"
	cwReader     = cwCluster + "-instance-2"
	cwSlots      = "cwslots" // one instance, for logical slots
	cwSlotWriter = cwSlots + "-instance-1"
	cwListPage   = 7
)

func cwEmulator(t *testing.T) *auroratest.Emulator {
	t.Helper()
	cwOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cwEmu, cwErr = auroratest.Start(ctx,
			auroratest.WithMetricsPeriod(time.Second),
			auroratest.WithListMetricsPageSize(cwListPage),
			auroratest.WithCluster(cwCluster, auroratest.ClusterConfig{Instances: 2, DatabaseName: "app"}),
			auroratest.WithCluster(cwSlots, auroratest.ClusterConfig{Instances: 1, DatabaseName: "app", ClusterParameterGroup: "cw-logical"}),
		)
	})
	if cwErr != nil {
		t.Fatalf("starting the CloudWatch tests' emulator: %v", cwErr)
	}
	return cwEmu
}

func cwClient(t *testing.T) *cloudwatch.Client {
	return cloudwatch.NewFromConfig(cwEmulator(t).AWSConfig())
}

func cwConnect(t *testing.T, instanceID string) *pgx.Conn {
	t.Helper()
	return connectTo(t, cwEmulator(t), instanceID, "app")
}

// every runs f again and again, waiting interval before each run (none
// for 0), until the func it returns is called; that waits for the run
// under way to end.
func every(interval time.Duration, f func()) (stop func()) {
	stopc, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			if interval > 0 {
				select {
				case <-stopc:
					return
				case <-time.After(interval):
				}
			} else {
				select {
				case <-stopc:
					return
				default:
				}
			}
			f()
		}
	}()
	return func() { close(stopc); <-done }
}

func rdsDim(name, value string) cwtypes.Dimension {
	return cwtypes.Dimension{Name: aws.String(name), Value: aws.String(value)}
}

// latest returns the newest datapoint of a metric over the last minute,
// with one-second periods; ok is false while it has none.
func latest(t *testing.T, ctx context.Context, c *cloudwatch.Client, metric, stat string, d ...cwtypes.Dimension) (float64, bool) {
	t.Helper()
	vs := newest(t, ctx, c, metric, stat, d...)
	if len(vs) == 0 {
		return 0, false
	}
	return vs[0], true
}

// newest returns the datapoints of a metric over the last minute, with
// one-second periods, newest first.
func newest(t *testing.T, ctx context.Context, c *cloudwatch.Client, metric, stat string, d ...cwtypes.Dimension) []float64 {
	t.Helper()
	now := time.Now()
	out, err := c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(now.Add(-time.Minute)), EndTime: aws.Time(now.Add(time.Second)),
		MetricDataQueries: []cwtypes.MetricDataQuery{{
			Id: aws.String("m"),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String("AWS/RDS"), MetricName: aws.String(metric), Dimensions: d},
				Period: aws.Int32(1), Stat: aws.String(stat),
			},
		}},
	})
	if err != nil {
		t.Fatalf("GetMetricData %s: %v", metric, err)
	}
	if len(out.MetricDataResults) != 1 {
		t.Fatalf("GetMetricData %s: %d results", metric, len(out.MetricDataResults))
	}
	r := out.MetricDataResults[0]
	if len(r.Values) != len(r.Timestamps) {
		t.Fatalf("GetMetricData %s: %d values, %d timestamps", metric, len(r.Values), len(r.Timestamps))
	}
	for i := 1; i < len(r.Timestamps); i++ {
		if !r.Timestamps[i].Before(r.Timestamps[i-1]) {
			t.Fatalf("GetMetricData %s: timestamps not newest first: %v", metric, r.Timestamps)
		}
	}
	return r.Values
}

// waitMetric polls a metric until cond holds for its newest datapoint.
func waitMetric(t *testing.T, ctx context.Context, c *cloudwatch.Client, what, metric, stat string, cond func(float64) bool, d ...cwtypes.Dimension) float64 {
	t.Helper()
	var got float64
	pgtest.WaitFor(t, what, 90*time.Second, func() (bool, string) {
		v, ok := latest(t, ctx, c, metric, stat, d...)
		got = v
		if !ok {
			return false, "no datapoint"
		}
		return cond(v), fmt.Sprintf("%s = %v", metric, v)
	})
	return got
}

func TestCloudWatchServerMetrics(t *testing.T) {
	ctx := testCtx(t)
	c := cwClient(t)
	w := rdsDim("DBInstanceIdentifier", cwWriter)
	cluster := rdsDim("DBClusterIdentifier", cwCluster)
	engine := rdsDim("EngineName", "aurora-postgresql")
	mem := waitMetric(t, ctx, c, "FreeableMemory of the writer", "FreeableMemory", "Minimum", func(v float64) bool { return v > 0 }, w)
	xids := waitMetric(t, ctx, c, "MaximumUsedTransactionIDs", "MaximumUsedTransactionIDs", "Maximum", func(v float64) bool { return v > 0 }, w)
	vol := waitMetric(t, ctx, c, "VolumeBytesUsed", "VolumeBytesUsed", "Maximum", func(v float64) bool { return v > 1<<20 }, cluster)
	waitMetric(t, ctx, c, "VolumeBytesUsed by cluster and engine", "VolumeBytesUsed", "Maximum", func(v float64) bool { return v > 1<<20 }, cluster, engine)
	t.Logf("writer: freeable %.0f MiB, xid age %.0f, volume %.0f MiB", mem/(1<<20), xids, vol/(1<<20))

	// TransactionLogsDiskUsage is the writer's, and -1 without logical
	// replication (TestCloudWatchReplicationSlots has it with); a reader
	// publishes none, though it is sampled (its DatabaseConnections).
	waitMetric(t, ctx, c, "TransactionLogsDiskUsage of a writer without logical replication", "TransactionLogsDiskUsage", "Maximum", func(v float64) bool { return v == -1 }, w)
	reader := rdsDim("DBInstanceIdentifier", cwReader)
	if len(newest(t, ctx, c, "DatabaseConnections", "Maximum", reader)) == 0 {
		t.Fatal("no DatabaseConnections of the reader while the writer's TransactionLogsDiskUsage is there")
	}
	if vs := newest(t, ctx, c, "TransactionLogsDiskUsage", "Maximum", reader); len(vs) > 0 {
		t.Errorf("the reader publishes TransactionLogsDiskUsage: %v", vs)
	}
	if vs := newest(t, ctx, c, "CommitLatency", "Maximum", w); len(vs) > 0 {
		t.Errorf("CommitLatency is published: %v", vs)
	}

	// Commits show as CommitThroughput on the writer, by role too.
	conn := cwConnect(t, cwWriter)
	if _, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS commits (v int)"); err != nil {
		t.Fatal(err)
	}
	stop := every(10*time.Millisecond, func() { _, _ = conn.Exec(ctx, "INSERT INTO commits VALUES (1)") })
	waitMetric(t, ctx, c, "CommitThroughput of the writers", "CommitThroughput", "Maximum", func(v float64) bool { return v > 5 },
		rdsDim("DBClusterIdentifier", cwCluster), rdsDim("Role", "WRITER"))
	stop()

	// An idle writer commits nothing: the sampler's own transaction, which
	// each sample makes, is not counted. Three periods in a row at 0 (an
	// autovacuum worker's transactions may count now and then).
	pgtest.WaitFor(t, "three quiet periods of CommitThroughput", 90*time.Second, func() (bool, string) {
		vs := newest(t, ctx, c, "CommitThroughput", "Maximum", w)
		return len(vs) >= 3 && vs[0] == 0 && vs[1] == 0 && vs[2] == 0, fmt.Sprintf("newest first: %v", vs[:min(len(vs), 5)])
	})

	// A table larger than a quarter of shared_buffers is created and
	// scanned through a small ring of buffers, so each scan reads most of
	// it into them: VolumeReadIOPs, and a BufferCacheHitRatio below 100.
	if _, err := conn.Exec(ctx, "CREATE TABLE big AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 250000) g"); err != nil {
		t.Fatal(err)
	}
	var big bool
	if err := conn.QueryRow(ctx, "SELECT pg_table_size('big') > pg_size_bytes(current_setting('shared_buffers')) / 4").Scan(&big); err != nil || !big {
		t.Fatalf("the table is not larger than a quarter of shared_buffers (%v)", err)
	}
	stop = every(50*time.Millisecond, func() { _, _ = conn.Exec(ctx, "SELECT count(*) FROM big") })
	reads := waitMetric(t, ctx, c, "VolumeReadIOPs of scans", "VolumeReadIOPs", "Maximum", func(v float64) bool { return v > 0 }, cluster)
	hit := waitMetric(t, ctx, c, "BufferCacheHitRatio of scans", "BufferCacheHitRatio", "Minimum", func(v float64) bool { return v < 100 }, w)
	stop()
	t.Logf("scans: %.0f blocks read in a period, hit ratio %.1f%%", reads, hit)

	// Writes and checkpoints show in VolumeWriteIOPs.
	stop = every(100*time.Millisecond, func() {
		_, _ = conn.Exec(ctx, "UPDATE big SET g = g WHERE g <= 2000")
		_, _ = conn.Exec(ctx, "CHECKPOINT")
	})
	waitMetric(t, ctx, c, "VolumeWriteIOPs of writes and checkpoints", "VolumeWriteIOPs", "Maximum", func(v float64) bool { return v > 0 }, cluster, engine)
	stop()
	if _, err := conn.Exec(ctx, "DROP TABLE big"); err != nil {
		t.Fatal(err)
	}

	// A deadlock shows in Deadlocks (per second over the period).
	other := cwConnect(t, cwWriter)
	if _, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS locks (id int PRIMARY KEY); INSERT INTO locks VALUES (1), (2) ON CONFLICT DO NOTHING"); err != nil {
		t.Fatal(err)
	}
	tx1, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx2, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		tx pgx.Tx
		id int
	}{{tx1, 1}, {tx2, 2}} {
		if _, err := step.tx.Exec(ctx, "UPDATE locks SET id = id WHERE id = $1", step.id); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, 2)
	go func() { _, err := tx1.Exec(ctx, "UPDATE locks SET id = id WHERE id = 2"); errs <- err }()
	go func() { _, err := tx2.Exec(ctx, "UPDATE locks SET id = id WHERE id = 1"); errs <- err }()
	deadlocked := 0
	for range 2 {
		if err := <-errs; err != nil && strings.Contains(err.Error(), "40P01") {
			deadlocked++
		}
	}
	_ = tx1.Rollback(ctx)
	_ = tx2.Rollback(ctx)
	if deadlocked != 1 {
		t.Fatalf("%d of the two transactions failed with a deadlock", deadlocked)
	}
	waitMetric(t, ctx, c, "Deadlocks after one", "Deadlocks", "Maximum", func(v float64) bool { return v > 0 }, w)

	// A busy backend shows in CPUUtilization.
	stop = every(0, func() { _, _ = conn.Exec(ctx, "SELECT count(*) FROM generate_series(1, 3000000)") })
	waitMetric(t, ctx, c, "CPUUtilization of a busy writer", "CPUUtilization", "Maximum", func(v float64) bool { return v >= 5 }, w)
	stop()
}

// A reader made to lag shows in AuroraReplicaLag, and in the writer's
// AuroraReplicaLagMaximum.
func TestCloudWatchReplicaLag(t *testing.T) {
	ctx := testCtx(t)
	emu := cwEmulator(t)
	c := cwClient(t)
	conn := cwConnect(t, cwWriter)
	if _, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS lagging (v int)"); err != nil {
		t.Fatal(err)
	}
	reader := rdsDim("DBInstanceIdentifier", cwReader)
	waitMetric(t, ctx, c, "AuroraReplicaLag of the reader before the lag", "AuroraReplicaLag", "Maximum", func(v float64) bool { return v < 1000 }, reader)

	const lag = 5 * time.Second
	if err := emu.SetReplicaLag(cwReader, lag); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.SetReplicaLag(cwReader, 0) })
	// The writer commits on: the reader holds each commit back.
	defer every(100*time.Millisecond, func() { _, _ = conn.Exec(ctx, "INSERT INTO lagging VALUES (1)") })()
	got := waitMetric(t, ctx, c, "AuroraReplicaLag of the lagging reader", "AuroraReplicaLag", "Maximum", func(v float64) bool { return v >= 1000 }, reader)
	if got > 10*float64(lag.Milliseconds()) {
		t.Errorf("AuroraReplicaLag = %v ms for a lag of %v", got, lag)
	}
	waitMetric(t, ctx, c, "AuroraReplicaLagMaximum of the writer", "AuroraReplicaLagMaximum", "Maximum", func(v float64) bool { return v >= 1000 },
		rdsDim("DBInstanceIdentifier", cwWriter))
	// One reader: the smallest lag is its lag too. Both are published
	// by engine as well.
	waitMetric(t, ctx, c, "AuroraReplicaLagMinimum of the writer", "AuroraReplicaLagMinimum", "Minimum", func(v float64) bool { return v >= 1000 },
		rdsDim("DBInstanceIdentifier", cwWriter))
	waitMetric(t, ctx, c, "AuroraReplicaLagMinimum by engine", "AuroraReplicaLagMinimum", "Maximum", func(v float64) bool { return v >= 1000 },
		rdsDim("EngineName", "aurora-postgresql"))
}

// An inactive logical slot retains WAL: ReplicationSlotDiskUsage and
// OldestReplicationSlotLag grow with the WAL written after it.
func TestCloudWatchReplicationSlots(t *testing.T) {
	ctx := testCtx(t)
	emu := cwEmulator(t)
	r := rds.NewFromConfig(emu.AWSConfig())
	_, err := r.ModifyDBClusterParameterGroup(ctx, &rds.ModifyDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String("cw-logical"),
		Parameters: []rdstypes.Parameter{{ParameterName: aws.String("rds.logical_replication"), ParameterValue: aws.String("1"),
			ApplyMethod: rdstypes.ApplyMethodPendingReboot}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(cwSlotWriter)}); err != nil {
		t.Fatal(err)
	}
	if err := rds.NewDBInstanceAvailableWaiter(r, fastInstanceWaiter).Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(cwSlotWriter)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	conn := cwConnect(t, cwSlotWriter)
	if _, err := conn.Exec(ctx, "SELECT pg_create_logical_replication_slot('idle_slot', 'test_decoding')"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), "SELECT pg_drop_replication_slot('idle_slot')") })
	if _, err := conn.Exec(ctx, "CREATE TABLE filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 20000) g"); err != nil {
		t.Fatal(err)
	}
	var retained float64
	if err := conn.QueryRow(ctx, "SELECT (pg_current_wal_lsn() - restart_lsn)::float8 FROM pg_replication_slots WHERE slot_name = 'idle_slot'").Scan(&retained); err != nil {
		t.Fatal(err)
	}
	if retained < 1<<20 {
		t.Fatalf("the slot retains only %v bytes", retained)
	}
	w := rdsDim("DBInstanceIdentifier", cwSlotWriter)
	waitMetric(t, ctx, cwClient(t), "OldestReplicationSlotLag", "OldestReplicationSlotLag", "Maximum", func(v float64) bool { return v >= retained }, w)
	waitMetric(t, ctx, cwClient(t), "ReplicationSlotDiskUsage", "ReplicationSlotDiskUsage", "Maximum", func(v float64) bool { return v >= retained }, w)
	// With logical replication on, TransactionLogsDiskUsage is the WAL's
	// size, which holds what the slot retains.
	waitMetric(t, ctx, cwClient(t), "TransactionLogsDiskUsage with logical replication", "TransactionLogsDiskUsage", "Maximum", func(v float64) bool { return v >= retained }, w)
}

// openConns opens n sessions on an instance; closing them is the
// returned func's job.
func openConns(t *testing.T, ctx context.Context, instanceID string, n int) func() {
	t.Helper()
	cs, err := cwEmulator(t).ConnString(instanceID, "app")
	if err != nil {
		t.Fatal(err)
	}
	var conns []*pgx.Conn
	closeAll := func() {
		for _, c := range conns {
			c.Close(context.Background())
		}
		conns = nil
	}
	t.Cleanup(closeAll)
	for range n {
		c, err := pgx.Connect(ctx, cs)
		if err != nil {
			t.Fatalf("opening session %d: %v", len(conns)+1, err)
		}
		conns = append(conns, c)
	}
	return closeAll
}

func TestCloudWatchDatabaseConnections(t *testing.T) {
	ctx := testCtx(t)
	c := cwClient(t)
	w := rdsDim("DBInstanceIdentifier", cwWriter)
	closeAll := openConns(t, ctx, cwWriter, 50)
	waitMetric(t, ctx, c, "DatabaseConnections with 50 sessions open", "DatabaseConnections", "Maximum", func(v float64) bool { return v >= 50 }, w)
	closeAll()
	waitMetric(t, ctx, c, "DatabaseConnections once they closed", "DatabaseConnections", "Maximum", func(v float64) bool { return v < 50 }, w)
}

// A connections alarm goes to ALARM while its condition holds, and back
// to OK once it stops; PutMetricAlarm replaces it by name.
func TestCloudWatchAlarm(t *testing.T) {
	ctx := testCtx(t)
	c := cwClient(t)
	name := "cw-connections"
	put := func(threshold float64) {
		t.Helper()
		_, err := c.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(name), AlarmDescription: aws.String("too many sessions on the writer"),
			Namespace: aws.String("AWS/RDS"), MetricName: aws.String("DatabaseConnections"),
			Dimensions: []cwtypes.Dimension{rdsDim("DBInstanceIdentifier", cwWriter)},
			Statistic:  cwtypes.StatisticMaximum, Period: aws.Int32(10), EvaluationPeriods: aws.Int32(1), DatapointsToAlarm: aws.Int32(1),
			Threshold: aws.Float64(threshold), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
			TreatMissingData: aws.String("missing"), AlarmActions: []string{"arn:aws:sns:us-east-1:123456789012:ops"},
			Tags: []cwtypes.Tag{{Key: aws.String("team"), Value: aws.String("db")}},
		})
		if err != nil {
			t.Fatalf("PutMetricAlarm: %v", err)
		}
	}
	put(20)
	t.Cleanup(func() {
		_, _ = c.DeleteAlarms(context.Background(), &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{name}})
	})
	if err := cloudwatch.NewAlarmExistsWaiter(c, func(o *cloudwatch.AlarmExistsWaiterOptions) { o.MinDelay = 100 * time.Millisecond }).
		Wait(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}}, time.Minute); err != nil {
		t.Fatalf("AlarmExistsWaiter: %v", err)
	}
	describe := func() cwtypes.MetricAlarm {
		t.Helper()
		out, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("cw-")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.MetricAlarms) != 1 {
			t.Fatalf("DescribeAlarms: %d alarms", len(out.MetricAlarms))
		}
		return out.MetricAlarms[0]
	}
	waitState := func(want cwtypes.StateValue) cwtypes.MetricAlarm {
		t.Helper()
		var a cwtypes.MetricAlarm
		pgtest.WaitFor(t, "the alarm in "+string(want), 90*time.Second, func() (bool, string) {
			a = describe()
			return a.StateValue == want, string(a.StateValue) + ": " + aws.ToString(a.StateReason)
		})
		return a
	}
	ok := waitState(cwtypes.StateValueOk)
	if a := ok; aws.ToString(a.AlarmDescription) != "too many sessions on the writer" || aws.ToFloat64(a.Threshold) != 20 ||
		!slices.Equal(a.AlarmActions, []string{"arn:aws:sns:us-east-1:123456789012:ops"}) || aws.ToString(a.AlarmArn) != "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"+name {
		t.Errorf("DescribeAlarms: %+v", a)
	}

	closeAll := openConns(t, ctx, cwWriter, 25)
	alarmed := waitState(cwtypes.StateValueAlarm)
	if r := aws.ToString(alarmed.StateReason); !strings.HasPrefix(r, "Threshold Crossed: 1 out of the last 1 datapoint [") || !strings.Contains(r, "greater than or equal to the threshold (20)") {
		t.Errorf("StateReason in ALARM: %q", r)
	}
	if !alarmed.StateTransitionedTimestamp.After(*ok.StateTransitionedTimestamp) {
		t.Errorf("StateTransitionedTimestamp %v, was %v in OK", alarmed.StateTransitionedTimestamp, ok.StateTransitionedTimestamp)
	}
	if out, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{StateValue: cwtypes.StateValueOk, AlarmNames: []string{name}}); err != nil || len(out.MetricAlarms) != 0 {
		t.Errorf("DescribeAlarms StateValue OK: %v, %v", out, err)
	}
	// A put with the same name replaces the configuration, not the state.
	put(21)
	if a := describe(); a.StateValue != cwtypes.StateValueAlarm || aws.ToFloat64(a.Threshold) != 21 {
		t.Errorf("after the update: %s, threshold %v", a.StateValue, aws.ToFloat64(a.Threshold))
	}
	closeAll()
	back := waitState(cwtypes.StateValueOk)
	if r := aws.ToString(back.StateReason); !strings.Contains(r, "ALARM -> OK") {
		t.Errorf("StateReason back in OK: %q", r)
	}

	if _, err := c.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{name}}); err != nil {
		t.Fatal(err)
	}
	var nf *cwtypes.ResourceNotFound
	if _, err := c.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{name}}); !errors.As(err, &nf) {
		t.Errorf("DeleteAlarms of a deleted alarm: %v, want ResourceNotFound", err)
	}
	var bad *cwtypes.InvalidParameterValueException
	_, err := c.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("bad"), Namespace: aws.String("AWS/RDS"),
		MetricName: aws.String("CPUUtilization"), Statistic: cwtypes.StatisticAverage, Period: aws.Int32(7), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold})
	if !errors.As(err, &bad) || bad.ErrorCode() != "InvalidParameterValue" || !strings.Contains(bad.ErrorMessage(), "Period 7") {
		t.Errorf("PutMetricAlarm with Period 7: %v", err)
	}
}

// The SDK's paginators page through GetMetricData and ListMetrics.
func TestCloudWatchPaging(t *testing.T) {
	ctx := testCtx(t)
	c := cwClient(t)
	w := rdsDim("DBInstanceIdentifier", cwWriter)
	queries := []cwtypes.MetricDataQuery{}
	for i, m := range []string{"DatabaseConnections", "MaximumUsedTransactionIDs"} {
		queries = append(queries, cwtypes.MetricDataQuery{Id: aws.String(fmt.Sprintf("q%d", i)), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/RDS"), MetricName: aws.String(m), Dimensions: []cwtypes.Dimension{w}},
			Period: aws.Int32(1), Stat: aws.String("Average")}})
	}
	start := time.Now().Add(-10 * time.Minute)
	// Enough datapoints for several pages.
	pgtest.WaitFor(t, "ten datapoints", 90*time.Second, func() (bool, string) {
		out, err := c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: &start, EndTime: aws.Time(time.Now()), MetricDataQueries: queries[:1]})
		if err != nil {
			t.Fatal(err)
		}
		n := len(out.MetricDataResults[0].Values)
		return n >= 10, fmt.Sprintf("%d datapoints", n)
	})
	p := cloudwatch.NewGetMetricDataPaginator(c, &cloudwatch.GetMetricDataInput{
		StartTime: &start, EndTime: aws.Time(time.Now()), MetricDataQueries: queries, MaxDatapoints: aws.Int32(3), ScanBy: cwtypes.ScanByTimestampAscending,
	})
	pages := 0
	stamps := map[string][]time.Time{}
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		n := 0
		for _, r := range out.MetricDataResults {
			n += len(r.Values)
			stamps[aws.ToString(r.Id)] = append(stamps[aws.ToString(r.Id)], r.Timestamps...)
			if r.StatusCode == cwtypes.StatusCodePartialData && out.NextToken == nil {
				t.Errorf("PartialData without a NextToken")
			}
		}
		if n > 3 {
			t.Errorf("a page of %d datapoints with MaxDatapoints 3", n)
		}
	}
	if pages < 7 {
		t.Errorf("%d pages for 20 datapoints or more, 3 a page", pages)
	}
	for _, id := range []string{"q0", "q1"} {
		ts := stamps[id]
		if len(ts) < 10 {
			t.Errorf("%s: %d datapoints over the pages", id, len(ts))
		}
		for i := 1; i < len(ts); i++ {
			if !ts[i].After(ts[i-1]) {
				t.Fatalf("%s: timestamps over the pages not strictly ascending at %d: %v", id, i, ts)
			}
		}
	}

	lp := cloudwatch.NewListMetricsPaginator(c, &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/RDS"),
		Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("DBInstanceIdentifier")}}})
	seen := map[string]bool{}
	pages = 0
	for lp.HasMorePages() {
		out, err := lp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.Metrics) > cwListPage {
			t.Errorf("a ListMetrics page of %d", len(out.Metrics))
		}
		for _, m := range out.Metrics {
			if len(m.Dimensions) != 1 || aws.ToString(m.Dimensions[0].Name) != "DBInstanceIdentifier" {
				t.Errorf("ListMetrics with a DBInstanceIdentifier filter: %+v", m.Dimensions)
				continue
			}
			k := aws.ToString(m.MetricName) + "/" + aws.ToString(m.Dimensions[0].Value)
			if seen[k] {
				t.Errorf("ListMetrics lists %s twice", k)
			}
			seen[k] = true
		}
	}
	for _, want := range []string{"CPUUtilization/" + cwWriter, "DatabaseConnections/" + cwReader, "AuroraReplicaLag/" + cwReader, "FreeableMemory/" + cwWriter} {
		if !seen[want] {
			t.Errorf("ListMetrics does not list %s (it lists %d metrics)", want, len(seen))
		}
	}
	if pages < 3 {
		t.Errorf("ListMetrics: %d pages of %d for %d metrics", pages, cwListPage, len(seen))
	}
}

// CloudWatch actions go through the faults of every action, and refuse
// what they do not emulate.
func TestCloudWatchFaultsAndRefusals(t *testing.T) {
	ctx := testCtx(t)
	emu := cwEmulator(t)
	c := cwClient(t)
	in := &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/RDS"), MetricName: aws.String("CPUUtilization")}
	a := emu.Action("ListMetrics")
	defer a.Reset()
	before := emu.CallCount("ListMetrics")
	a.ThrottleNext(2)
	if _, err := c.ListMetrics(ctx, in); err != nil {
		t.Fatalf("ListMetrics after two throttled attempts: %v", err)
	}
	if got := emu.CallCount("ListMetrics") - before; got != 3 {
		t.Errorf("ListMetrics calls: %d, want 3 (two throttled, retried)", got)
	}
	a.FailNext(1, auroratest.Fault{Code: "InvalidParameterValue", Message: "injected"})
	var bad *cwtypes.InvalidParameterValueException
	if _, err := c.ListMetrics(ctx, in); !errors.As(err, &bad) || bad.ErrorCode() != "InvalidParameterValue" || bad.ErrorMessage() != "injected" {
		t.Errorf("ListMetrics with an injected fault: %v", err)
	}

	now := time.Now()
	q := cwtypes.MetricDataQuery{Id: aws.String("m"), AccountId: aws.String("123456789012"), MetricStat: &cwtypes.MetricStat{
		Metric: &cwtypes.Metric{Namespace: aws.String("AWS/RDS"), MetricName: aws.String("CPUUtilization")}, Period: aws.Int32(60), Stat: aws.String("Average")}}
	_, err := c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-time.Hour)), EndTime: &now, MetricDataQueries: []cwtypes.MetricDataQuery{q}})
	if !errors.As(err, &bad) || !strings.Contains(bad.ErrorMessage(), "AccountId") {
		t.Errorf("GetMetricData with AccountId: %v, want a refusal naming the member", err)
	}
	q.AccountId, q.MetricStat, q.Expression = nil, nil, aws.String("SUM(METRICS())")
	_, err = c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-time.Hour)), EndTime: &now, MetricDataQueries: []cwtypes.MetricDataQuery{q}})
	if !errors.As(err, &bad) || !strings.Contains(bad.ErrorMessage(), "Expression") {
		t.Errorf("GetMetricData with an Expression: %v, want a refusal", err)
	}
	if _, err := c.ListMetrics(ctx, &cloudwatch.ListMetricsInput{IncludeLinkedAccounts: aws.Bool(true)}); !errors.As(err, &bad) || !strings.Contains(bad.ErrorMessage(), "IncludeLinkedAccounts") {
		t.Errorf("ListMetrics with IncludeLinkedAccounts: %v", err)
	}
	var nt *cwtypes.InvalidNextToken
	if _, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{NextToken: aws.String("nope")}); !errors.As(err, &nt) {
		t.Errorf("DescribeAlarms with a bad NextToken: %v", err)
	}
}

// The sampler starts with the first CloudWatch call, not before: an
// emulator nobody asks for metrics runs no sampler sessions.
func TestCloudWatchSamplesFromFirstCall(t *testing.T) {
	ctx := testCtx(t)
	emu := auroratest.NewT(t, auroratest.WithMetricsPeriod(100*time.Millisecond), auroratest.WithCluster("idle", auroratest.ClusterConfig{}))
	r := rds.NewFromConfig(emu.AWSConfig())
	if _, err := r.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{}); err != nil {
		t.Fatal(err)
	}
	conn := connectTo(t, emu, "idle-instance-1", "postgres")
	samplers := func() int {
		t.Helper()
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'auroratest metrics sampler'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := samplers(); n != 0 {
		t.Fatalf("%d sampler sessions before any CloudWatch call", n)
	}
	if _, err := cloudwatch.NewFromConfig(emu.AWSConfig()).ListMetrics(ctx, &cloudwatch.ListMetricsInput{}); err != nil {
		t.Fatal(err)
	}
	pgtest.WaitFor(t, "the sampler's session", 30*time.Second, func() (bool, string) {
		n := samplers()
		return n == 1, fmt.Sprintf("%d sessions", n)
	})
}

// boto3 and the AWS CLI (botocore speaks CloudWatch's AWS JSON 1.0
// protocol) read metrics and manage alarms unchanged.
func TestCloudWatchBoto3AndCLI(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 is not installed: this smoke test drives boto3")
	}
	ctx := testCtx(t)
	e := cwEmulator(t)
	waitMetric(t, ctx, cwClient(t), "a CPUUtilization datapoint", "CPUUtilization", "Maximum", func(float64) bool { return true },
		rdsDim("DBInstanceIdentifier", cwWriter))
	script := `
import sys, datetime, boto3, botocore
cw = boto3.client("cloudwatch", endpoint_url=sys.argv[1])
writer = [{"Name": "DBInstanceIdentifier", "Value": sys.argv[2]}]
names = set()
for page in cw.get_paginator("list_metrics").paginate(Namespace="AWS/RDS", Dimensions=writer):
    names.update(m["MetricName"] for m in page["Metrics"])
assert {"CPUUtilization", "DatabaseConnections", "FreeableMemory"} <= names, names
now = datetime.datetime.now(datetime.timezone.utc)
out = cw.get_metric_data(StartTime=now - datetime.timedelta(minutes=5), EndTime=now, MetricDataQueries=[{"Id": "c",
    "MetricStat": {"Metric": {"Namespace": "AWS/RDS", "MetricName": "DatabaseConnections", "Dimensions": writer}, "Period": 60, "Stat": "Maximum"}}])
r = out["MetricDataResults"][0]
assert r["Values"] and isinstance(r["Timestamps"][0], datetime.datetime), r
cw.put_metric_alarm(AlarmName="boto-cpu", Namespace="AWS/RDS", MetricName="CPUUtilization", Dimensions=writer, Statistic="Average",
    Period=60, EvaluationPeriods=1, Threshold=99.5, ComparisonOperator="GreaterThanThreshold")
cw.get_waiter("alarm_exists").wait(AlarmNames=["boto-cpu"], WaiterConfig={"Delay": 1})
a = cw.describe_alarms(AlarmNames=["boto-cpu"])["MetricAlarms"][0]
assert a["StateValue"] in ("OK", "INSUFFICIENT_DATA") and a["Threshold"] == 99.5, a
cw.delete_alarms(AlarmNames=["boto-cpu"])
try:
    cw.delete_alarms(AlarmNames=["boto-cpu"])
    raise SystemExit("a deleted alarm was deleted again")
except botocore.exceptions.ClientError as err:
    assert err.response["Error"]["Code"] == "ResourceNotFound", err.response
print("ok")
`
	out := run(t, ctx, clientEnv(e), "python3", "-c", script, e.Endpoint(), cwWriter)
	if strings.TrimSpace(string(out)) != "ok" {
		t.Errorf("boto3 script printed %q", out)
	}
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI is not installed")
	}
	var listed struct{ Metrics []struct{ MetricName string } }
	b := run(t, ctx, clientEnv(e), "aws", "cloudwatch", "list-metrics", "--endpoint-url", e.Endpoint(), "--output", "json",
		"--namespace", "AWS/RDS", "--metric-name", "AuroraReplicaLag")
	if err := json.Unmarshal(b, &listed); err != nil || len(listed.Metrics) == 0 || listed.Metrics[0].MetricName != "AuroraReplicaLag" {
		t.Errorf("aws cloudwatch list-metrics: %s (%v)", b, err)
	}
}

// DescribeAlarms pages by MaxRecords, in name order, as the SDK's
// paginator follows it.
func TestCloudWatchDescribeAlarmsPaging(t *testing.T) {
	ctx := testCtx(t)
	c := cwClient(t)
	var want []string
	for i := range 5 {
		name := fmt.Sprintf("page-%d", i)
		want = append(want, name)
		_, err := c.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String(name), Namespace: aws.String("AWS/RDS"),
			MetricName: aws.String("FreeableMemory"), Dimensions: []cwtypes.Dimension{rdsDim("DBInstanceIdentifier", cwReader)},
			Statistic: cwtypes.StatisticMinimum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1 << 20),
			ComparisonOperator: cwtypes.ComparisonOperatorLessThanThreshold})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _, _ = c.DeleteAlarms(context.Background(), &cloudwatch.DeleteAlarmsInput{AlarmNames: want}) })
	p := cloudwatch.NewDescribeAlarmsPaginator(c, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("page-"), MaxRecords: aws.Int32(2)})
	var got []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, a := range out.MetricAlarms {
			got = append(got, aws.ToString(a.AlarmName))
		}
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("DescribeAlarms pages: %d pages of %v, want 3 of %v", pages, got, want)
	}
	var bad *cwtypes.ResourceNotFound
	if _, err := c.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"page-0", "no-such-alarm"}}); !errors.As(err, &bad) {
		t.Errorf("DeleteAlarms with an unknown alarm: %v", err)
	}
	if out, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"page-0"}}); err != nil || len(out.MetricAlarms) != 1 {
		t.Errorf("a refused DeleteAlarms deleted page-0: %v, %v", out, err)
	}
}
