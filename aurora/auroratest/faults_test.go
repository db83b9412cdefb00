package auroratest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

// The fault hooks: throttling, latency, slow and failing reboots, a
// stopped instance.
func TestFaultHooks(t *testing.T) {
	// Not parallel: the API faults apply to every caller.
	ctx := testCtx(t)
	emu := emulator(t)
	c := client(t)
	noRetry := rds.NewFromConfig(emu.AWSConfig(), func(o *rds.Options) { o.RetryMaxAttempts = 1 })
	in := &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(clusterShared)}

	emu.ThrottleNext(1)
	if _, err := noRetry.DescribeDBClusters(ctx, in); apiCode(err) != "Throttling" {
		t.Errorf("throttled call without retries: %v, want Throttling", err)
	}
	emu.ThrottleNext(1)
	if _, err := c.DescribeDBClusters(ctx, in); err != nil {
		t.Errorf("throttled call with the SDK's retryer: %v, want success after a retry", err)
	}

	emu.SetThrottleRate(2)
	throttled := 0
	for i := 0; i < 6; i++ {
		if _, err := noRetry.DescribeDBClusters(ctx, in); apiCode(err) == "Throttling" {
			throttled++
		}
	}
	emu.SetThrottleRate(0)
	if throttled == 0 {
		t.Errorf("6 quick calls at a rate limit of 2/s: none throttled")
	}

	emu.SetLatency(200 * time.Millisecond)
	start := time.Now()
	if _, err := c.DescribeDBClusters(ctx, in); err != nil {
		t.Fatal(err)
	}
	emu.SetLatency(0)
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("a call with 200ms latency took %v", d)
	}

	id := clusterShared + "-instance-2"
	status := func() string {
		t.Helper()
		out, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.DBInstances[0].DBInstanceStatus)
	}
	if err := emu.DelayReboots(id, 800*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if got := status(); got != "rebooting" {
		t.Errorf("status during a delayed reboot = %q", got)
	}
	waitInstance(t, ctx, c, id)
	emu.DelayReboots(id, 0)

	if err := emu.FailNextReboot(id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	w := rds.NewDBInstanceAvailableWaiter(c, fastInstanceWaiter)
	if err := w.Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)}, 30*time.Second); err == nil {
		t.Errorf("the waiter succeeded on a failed reboot")
	}
	if got := status(); got != "failed" {
		t.Errorf("status after a failed reboot = %q", got)
	}
	rebootAndWait(t, ctx, c, id)

	if err := emu.StopInstance(id); err != nil {
		t.Fatal(err)
	}
	cs, _ := emu.ConnString(id, "postgres")
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if conn, err := pgx.Connect(cctx, cs); err == nil {
		conn.Close(ctx)
		t.Errorf("connected to a stopped instance")
	}
	cancel()
	rebootAndWait(t, ctx, c, id)
	connect(t, id, "postgres")
	if err := emu.FailNextReboot("no-such-instance"); err == nil {
		t.Errorf("FailNextReboot accepted an unknown instance")
	}
}

// mustPanic fails the test unless f panics with a message containing want.
func mustPanic(t *testing.T, what, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("%s did not panic", what)
		} else if msg := fmt.Sprint(r); !strings.Contains(msg, want) {
			t.Errorf("%s panicked with %q, want it to mention %q", what, msg, want)
		}
	}()
	f()
}

// Per-action faults: throttling, rate limits, latency and failures of one
// action, with the real SDK clients decoding the faults.
func TestActionFaults(t *testing.T) {
	// Not parallel: the faults apply to every caller of the action.
	ctx := testCtx(t)
	emu := emulator(t)
	c := client(t)
	noRetry := rds.NewFromConfig(emu.AWSConfig(), func(o *rds.Options) { o.RetryMaxAttempts = 1 })
	clusters := &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(clusterShared)}
	instances := &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(clusterShared + "-instance-1")}
	for _, name := range []string{"DescribeDBClusters", "DescribeDBInstances", "RebootDBInstance", "ModifyDBCluster", "GetSecretValue"} {
		t.Cleanup(emu.Action(name).Reset)
	}

	// Throttling of one action leaves the others alone.
	emu.Action("DescribeDBClusters").ThrottleNext(1)
	if _, err := noRetry.DescribeDBInstances(ctx, instances); err != nil {
		t.Errorf("DescribeDBInstances while DescribeDBClusters is throttled: %v", err)
	}
	if _, err := noRetry.DescribeDBClusters(ctx, clusters); apiCode(err) != "Throttling" {
		t.Errorf("throttled DescribeDBClusters: %v, want Throttling", err)
	}
	if _, err := noRetry.DescribeDBClusters(ctx, clusters); err != nil {
		t.Errorf("DescribeDBClusters after its one throttled call: %v", err)
	}

	emu.Action("DescribeDBClusters").SetThrottleRate(2)
	throttled := 0
	for range 6 {
		if _, err := noRetry.DescribeDBClusters(ctx, clusters); apiCode(err) == "Throttling" {
			throttled++
		}
		if _, err := noRetry.DescribeDBInstances(ctx, instances); err != nil {
			t.Errorf("DescribeDBInstances while DescribeDBClusters is rate limited: %v", err)
		}
	}
	emu.Action("DescribeDBClusters").SetThrottleRate(0)
	if throttled == 0 {
		t.Errorf("6 quick DescribeDBClusters at a rate limit of 2/s: none throttled")
	}

	emu.Action("DescribeDBClusters").SetLatency(200 * time.Millisecond)
	start := time.Now()
	if _, err := c.DescribeDBClusters(ctx, clusters); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("a DescribeDBClusters call with 200ms latency took %v", d)
	}
	emu.Action("DescribeDBClusters").SetLatency(0)

	// A reboot that fails with a fault code: the SDK's typed error, no
	// retry, and no reboot.
	id := clusterShared + "-instance-2"
	startTime := func() time.Time {
		t.Helper()
		conn := connect(t, id, "postgres")
		defer conn.Close(ctx)
		var at time.Time
		if err := conn.QueryRow(ctx, "SELECT pg_postmaster_start_time()").Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	before, calls := startTime(), emu.CallCount("RebootDBInstance")
	emu.Action("RebootDBInstance").FailNext(1, auroratest.Fault{Code: "InvalidDBInstanceState"})
	_, err := c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(id)})
	var badState *types.InvalidDBInstanceStateFault
	if !errors.As(err, &badState) {
		t.Errorf("the failed reboot: %v (%T), want *types.InvalidDBInstanceStateFault", err, err)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidDBInstanceState" || !strings.Contains(ae.ErrorMessage(), "InvalidDBInstanceState") {
		t.Errorf("the failed reboot: %v, want code InvalidDBInstanceState and a message naming it", err)
	}
	if n := emu.CallCount("RebootDBInstance") - calls; n != 1 {
		t.Errorf("the failed reboot took %d calls, want 1 (InvalidDBInstanceState is not retried)", n)
	}
	out, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.DBInstances[0].DBInstanceStatus); got != "available" {
		t.Errorf("status after the failed reboot = %q, want available", got)
	}
	if after := startTime(); !after.Equal(before) {
		t.Errorf("the failed reboot restarted the server (started %v, then %v)", before, after)
	}
	rebootAndWait(t, ctx, c, id) // FailNext(1) failed one call
	if after := startTime(); !after.After(before) {
		t.Errorf("the reboot after the failed one did not restart the server")
	}

	// A modification that fails with a fault code changes nothing.
	retention := aws.ToInt32(describeCluster(t, ctx, c, clusterShared).BackupRetentionPeriod)
	emu.Action("ModifyDBCluster").FailNext(2, auroratest.Fault{Code: "InvalidDBClusterStateFault", Message: "DBCluster shared is <busy> & cannot be modified."})
	for i := range 2 {
		_, err = c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{
			DBClusterIdentifier: aws.String(clusterShared), BackupRetentionPeriod: aws.Int32(retention + 1), ApplyImmediately: aws.Bool(true),
		})
		var clusterState *types.InvalidDBClusterStateFault
		if !errors.As(err, &clusterState) || clusterState.ErrorMessage() != "DBCluster shared is <busy> & cannot be modified." {
			t.Errorf("failed modification %d: %v, want *types.InvalidDBClusterStateFault with the given message", i+1, err)
		}
	}
	cl := describeCluster(t, ctx, c, clusterShared)
	if got := aws.ToInt32(cl.BackupRetentionPeriod); got != retention || aws.ToString(cl.Status) != "available" {
		t.Errorf("after the failed modifications: retention %d, status %s; want %d, available", got, aws.ToString(cl.Status), retention)
	}
	_, err = noRetry.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String(clusterShared), BackupRetentionPeriod: aws.Int32(36)})
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("ModifyDBCluster after its two failures: %v, want the emulator's own InvalidParameterValue", err)
	}

	// Retryable faults are retried by the SDK: a throttling code, and a
	// 500.
	for _, f := range []auroratest.Fault{{Code: "Throttling"}, {Code: "InternalFailure", StatusCode: 500}} {
		calls := emu.CallCount("DescribeDBClusters")
		emu.Action("DescribeDBClusters").FailNext(1, f)
		if _, err := c.DescribeDBClusters(ctx, clusters); err != nil {
			t.Errorf("DescribeDBClusters failed once with %s: %v, want success after a retry", f.Code, err)
		}
		if n := emu.CallCount("DescribeDBClusters") - calls; n != 2 {
			t.Errorf("DescribeDBClusters failed once with %s took %d calls, want 2", f.Code, n)
		}
	}
	emu.Action("DescribeDBClusters").FailNext(1, auroratest.Fault{Code: "InternalFailure", StatusCode: 500})
	_, err = noRetry.DescribeDBClusters(ctx, clusters)
	var re *awshttp.ResponseError
	if apiCode(err) != "InternalFailure" || !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Errorf("a 500 without retries: %v, want InternalFailure with HTTP status 500", err)
	}

	// The API-wide faults come first, then the action's.
	emu.ThrottleNext(1)
	emu.Action("DescribeDBClusters").FailNext(1, auroratest.Fault{Code: "InvalidParameterCombination"})
	var got []string
	for range 3 {
		_, err := noRetry.DescribeDBClusters(ctx, clusters)
		got = append(got, apiCode(err))
	}
	if fmt.Sprint(got) != "[Throttling InvalidParameterCombination ]" {
		t.Errorf("API-wide ThrottleNext(1), then the action's FailNext(1): codes %q, want Throttling, InvalidParameterCombination, success", got)
	}

	// Reset removes the action's faults.
	a := emu.Action("DescribeDBInstances")
	a.ThrottleNext(5)
	a.SetThrottleRate(0.001)
	a.FailNext(5, auroratest.Fault{Code: "InternalFailure", StatusCode: 503})
	a.Reset()
	if _, err := noRetry.DescribeDBInstances(ctx, instances); err != nil {
		t.Errorf("DescribeDBInstances after Reset: %v", err)
	}

	// Secrets Manager actions fail the same way, in their protocol.
	sm := secretsmanager.NewFromConfig(emu.AWSConfig())
	emu.Action("GetSecretValue").FailNext(1, auroratest.Fault{Code: "InternalServiceError", StatusCode: 500})
	emu.Action("GetSecretValue").FailNext(1, auroratest.Fault{Code: "DecryptionFailure"})
	_, err = sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("any")})
	if apiCode(err) != "DecryptionFailure" {
		t.Errorf("GetSecretValue with FailNext: %v, want DecryptionFailure (the later FailNext replaces the earlier)", err)
	}

	// Misspelled actions and invalid faults panic.
	mustPanic(t, `Action("RebootDBInstances")`, "RebootDBInstances", func() { emu.Action("RebootDBInstances") })
	for _, f := range []auroratest.Fault{{}, {Code: "Bad<Code>"}, {Code: "1Code"}, {Code: "Throttling", StatusCode: 302}, {Code: "Throttling", StatusCode: 600}} {
		mustPanic(t, fmt.Sprintf("FailNext(1, %+v)", f), "FailNext", func() { emu.Action("DescribeDBClusters").FailNext(1, f) })
	}
	emu.Action("DescribeDBClusters").FailNext(0, auroratest.Fault{}) // removes; no fault needed
}

// newCluster creates a cluster through the API, with database app and
// the given number of instances (id-1 the writer, id-2 ... readers), and
// waits until they are available.
func newCluster(t *testing.T, ctx context.Context, c *rds.Client, id string, instances int) {
	t.Helper()
	createCluster(t, ctx, c, id, nil)
	waitCluster(t, ctx, c, id)
	for i := range instances {
		createInstance(t, ctx, c, id, fmt.Sprintf("%s-%d", id, i+1))
	}
	for i := range instances {
		waitInstance(t, ctx, c, fmt.Sprintf("%s-%d", id, i+1))
	}
}

// An instance held in a state reports it to the API and to the SDK's
// waiters, and the actions that need it available refuse it, while its
// server goes on serving.
func TestHoldStatus(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	emu := emulator(t)
	c := client(t)
	newCluster(t, ctx, c, "hold", 1)
	id := "hold-1"
	in := &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)}
	status := func() string {
		t.Helper()
		out, err := c.DescribeDBInstances(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.DBInstances[0].DBInstanceStatus)
	}
	waiter := rds.NewDBInstanceAvailableWaiter(c, fastInstanceWaiter)

	release, err := emu.HoldStatus(id, "modifying")
	if err != nil {
		t.Fatal(err)
	}
	if got := status(); got != "modifying" {
		t.Errorf("held status = %q, want modifying", got)
	}
	// The waiter times out between its attempts ("exceeded max wait
	// time") or during one (the request's context deadline).
	if err := waiter.Wait(ctx, in, time.Second); err == nil || !strings.Contains(err.Error(), "exceeded max wait time") && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DBInstanceAvailable waiter on an instance held modifying: %v, want it to time out", err)
	}
	var badState *types.InvalidDBInstanceStateFault
	if _, err := c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(id)}); !errors.As(err, &badState) || !strings.Contains(err.Error(), "modifying") {
		t.Errorf("rebooting an instance held modifying: %v, want *types.InvalidDBInstanceStateFault naming the state", err)
	}
	if _, err := c.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id), PromotionTier: aws.Int32(3)}); !errors.As(err, &badState) {
		t.Errorf("modifying an instance held modifying: %v, want *types.InvalidDBInstanceStateFault", err)
	}
	if _, err := c.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id)}); !errors.As(err, &badState) || !strings.Contains(err.Error(), "modifying") {
		t.Errorf("deleting an instance held modifying: %v, want *types.InvalidDBInstanceStateFault naming the state", err)
	}
	if _, err := c.StopDBCluster(ctx, &rds.StopDBClusterInput{DBClusterIdentifier: aws.String("hold")}); !errors.As(err, &badState) || !strings.Contains(err.Error(), "modifying") {
		t.Errorf("stopping a cluster whose instance is held modifying: %v, want *types.InvalidDBInstanceStateFault naming the state", err)
	}
	conn := connect(t, id, "app")
	if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
		t.Errorf("the server of a held instance: %v", err)
	}

	// A second hold replaces the first; releasing the first does nothing.
	release2, err := emu.HoldStatus(id, "incompatible-parameters")
	if err != nil {
		t.Fatal(err)
	}
	release()
	if got := status(); got != "incompatible-parameters" {
		t.Errorf("status after releasing a replaced hold = %q, want incompatible-parameters", got)
	}
	if err := waiter.Wait(ctx, in, 30*time.Second); err == nil || !strings.Contains(err.Error(), "Failure") {
		t.Errorf("DBInstanceAvailable waiter on an instance held incompatible-parameters: %v, want the waiter's failure state", err)
	}

	release2()
	release2()
	if err := waiter.Wait(ctx, in, 30*time.Second); err != nil {
		t.Errorf("DBInstanceAvailable waiter after the release: %v", err)
	}
	if out, err := c.DescribeDBInstances(ctx, in); err != nil || aws.ToInt32(out.DBInstances[0].PromotionTier) == 3 {
		t.Errorf("the refused ModifyDBInstance changed the promotion tier (or Describe failed: %v)", err)
	}
	rebootAndWait(t, ctx, c, id)

	if _, err := emu.HoldStatus(id, "stuck"); err == nil || !strings.Contains(err.Error(), `"stuck"`) {
		t.Errorf("HoldStatus with an unknown status: %v, want an error naming it", err)
	}
	if _, err := emu.HoldStatus("no-such-instance", "modifying"); err == nil {
		t.Errorf("HoldStatus accepted an unknown instance")
	}
	if got := status(); got != "available" {
		t.Errorf("status after refused holds = %q, want available", got)
	}
}

// A held reader is not promoted: FailoverDBCluster refuses it as a target
// and passes it over without one, deleting the writer fails over past it,
// and DeleteDBInstance refuses it, even when its promotion tier is the
// best.
func TestHoldStatusFailover(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	emu := emulator(t)
	c := client(t)
	newCluster(t, ctx, c, "holdfo", 3)
	held := "holdfo-2"
	for id, tier := range map[string]int32{held: 0, "holdfo-3": 15} {
		if _, err := c.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id), PromotionTier: aws.Int32(tier), ApplyImmediately: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{held, "holdfo-3"} {
		waitInstance(t, ctx, c, id)
	}
	release, err := emu.HoldStatus(held, "modifying")
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	var badState *types.InvalidDBInstanceStateFault
	if _, err := c.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String("holdfo"), TargetDBInstanceIdentifier: aws.String(held)}); !errors.As(err, &badState) || !strings.Contains(err.Error(), "modifying") {
		t.Errorf("failing over to a reader held modifying: %v, want *types.InvalidDBInstanceStateFault naming the state", err)
	}
	if _, err := c.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(held)}); !errors.As(err, &badState) || !strings.Contains(err.Error(), "modifying") {
		t.Errorf("deleting an instance held modifying: %v, want *types.InvalidDBInstanceStateFault naming the state", err)
	}

	if _, err := c.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String("holdfo")}); err != nil {
		t.Fatal(err)
	}
	waitCluster(t, ctx, c, "holdfo")
	if w := writerOf(t, ctx, c, "holdfo"); w != "holdfo-3" {
		t.Errorf("writer after an untargeted failover = %s, want holdfo-3, the only reader not held (the held %s has the best tier)", w, held)
	}
	waitInstance(t, ctx, c, "holdfo-1")

	// Deleting the writer fails over to holdfo-1 (tier 1), not to the
	// held tier-0 reader.
	if _, err := c.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("holdfo-3")}); err != nil {
		t.Fatal(err)
	}
	waitDeleted(t, ctx, c, []string{"holdfo-3"}, "")
	if w := writerOf(t, ctx, c, "holdfo"); w != "holdfo-1" {
		t.Errorf("writer after deleting the writer = %s, want holdfo-1, the only reader not held", w)
	}
	if out, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(held)}); err != nil || aws.ToString(out.DBInstances[0].DBInstanceStatus) != "modifying" {
		t.Errorf("the held reader after the failovers: %v (err %v), want it still held modifying", out, err)
	}
}

// A lagging reader replays the writer's commits that much later, for
// real; zero ends the lag, and so does a failover to the reader.
func TestReplicaLag(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	emu := emulator(t)
	c := client(t)
	newCluster(t, ctx, c, "lag", 2)
	writer, reader := "lag-1", "lag-2"
	w := connect(t, writer, "app")
	r := connect(t, reader, "app")
	exec := func(conn *pgx.Conn, sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(w, "CREATE TABLE lagged (v int)")
	waitReplicated(t, ctx, reader, "app", "SELECT to_regclass('lagged') IS NOT NULL")
	applyDelay := func(conn *pgx.Conn) string {
		t.Helper()
		var v string
		if err := conn.QueryRow(ctx, "SELECT setting FROM pg_settings WHERE name = 'recovery_min_apply_delay'").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}

	for _, bad := range []struct {
		id   string
		lag  time.Duration
		want string
	}{{writer, time.Second, "writer"}, {"no-such-instance", time.Second, "no-such-instance"}, {reader, -time.Second, "-1s"}, {reader, 30 * 24 * time.Hour, "720h"}} {
		if err := emu.SetReplicaLag(bad.id, bad.lag); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("SetReplicaLag(%s, %v): %v, want an error naming %s", bad.id, bad.lag, err, bad.want)
		}
	}
	if got := applyDelay(r); got != "0" {
		t.Fatalf("after refused SetReplicaLag calls, the reader's recovery_min_apply_delay = %s", got)
	}

	// A commit becomes visible on the reader only after the lag. The check
	// holds when the reader is asked within the lag: on a machine too slow
	// for that, the attempt proves nothing and is made again.
	const lag = 2 * time.Second
	if err := emu.SetReplicaLag(reader, lag); err != nil {
		t.Fatal(err)
	}
	if got := applyDelay(r); got != "2000" {
		t.Errorf("the reader's recovery_min_apply_delay = %s, want 2000 (ms)", got)
	}
	checked := false
	for v := 1; v <= 3 && !checked; v++ {
		start := time.Now() // before the commit, whose timestamp the delay counts from
		exec(w, "INSERT INTO lagged VALUES ($1)", v)
		var lsn string
		if err := w.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn()::text").Scan(&lsn); err != nil {
			t.Fatal(err)
		}
		// The reader has the commit's WAL, and holds it back.
		pgtest.WaitFor(t, "the reader to receive the commit", 30*time.Second, func() (bool, string) {
			var ok bool
			if err := r.QueryRow(ctx, "SELECT pg_last_wal_receive_lsn() >= $1::pg_lsn", lsn).Scan(&ok); err != nil {
				t.Fatal(err)
			}
			return ok, "not received"
		})
		var n int
		var lagMS float64
		err := r.QueryRow(ctx, `SELECT (SELECT count(*) FROM lagged WHERE v = $1),
			(SELECT replica_lag_in_msec FROM aurora_replica_status() WHERE server_id = aurora_db_instance_identifier())`, v).Scan(&n, &lagMS)
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		if elapsed >= lag {
			t.Logf("attempt %d asked the reader %v after the commit, not within the %v lag: trying again", v, elapsed, lag)
			continue
		}
		checked = true
		if n != 0 {
			t.Errorf("a row committed %v ago is visible on a reader lagging %v", elapsed, lag)
		}
		if lagMS <= 0 {
			t.Errorf("aurora_replica_status() on the lagging reader: replica_lag_in_msec = %v, want > 0", lagMS)
		}
		waitReplicated(t, ctx, reader, "app", fmt.Sprintf("SELECT count(*) = 1 FROM lagged WHERE v = %d", v))
	}
	if !checked {
		t.Fatalf("three attempts could not ask the reader within %v of a commit", lag)
	}

	// The lag survives a reboot of the reader.
	rebootAndWait(t, ctx, c, reader)
	r = connect(t, reader, "app")
	if got := applyDelay(r); got != "2000" {
		t.Errorf("after a reboot, the reader's recovery_min_apply_delay = %s, want 2000", got)
	}

	// Zero ends the lag, for a commit already held back too.
	if err := emu.SetReplicaLag(reader, time.Hour); err != nil {
		t.Fatal(err)
	}
	exec(w, "INSERT INTO lagged VALUES (10)")
	if err := emu.SetReplicaLag(reader, 0); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, ctx, reader, "app", "SELECT count(*) = 1 FROM lagged WHERE v = 10")
	if got := applyDelay(r); got != "0" {
		t.Errorf("after SetReplicaLag 0, the reader's recovery_min_apply_delay = %s", got)
	}

	// A failover to a lagging reader does not wait for the lag, and loses
	// nothing. The old writer restarts as a reader on its own data only
	// when the target replayed all of its WAL before the promotion (else
	// it is rebuilt from a base backup, with new files): with an hour's
	// lag, only if the lag ended first.
	if err := emu.SetReplicaLag(reader, time.Hour); err != nil {
		t.Fatal(err)
	}
	dataCreated := func(conn *pgx.Conn) time.Time {
		t.Helper()
		var at time.Time
		if err := conn.QueryRow(ctx, "SELECT (pg_stat_file('PG_VERSION')).modification").Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	oldData := dataCreated(w)
	exec(w, "INSERT INTO lagged VALUES (20)")
	if _, err := c.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String("lag"), TargetDBInstanceIdentifier: aws.String(reader)}); err != nil {
		t.Fatal(err)
	}
	waitCluster(t, ctx, c, "lag")
	waitInstance(t, ctx, c, writer)
	if got := writerOf(t, ctx, c, "lag"); got != reader {
		t.Fatalf("writer after the failover = %s, want %s", got, reader)
	}
	nw := connect(t, reader, "app")
	var n int
	if err := nw.QueryRow(ctx, "SELECT count(*) FROM lagged WHERE v = 20").Scan(&n); err != nil || n != 1 {
		t.Errorf("the row committed before the failover on the new writer: %d rows, %v", n, err)
	}
	if got := applyDelay(nw); got != "0" {
		t.Errorf("the new writer runs with recovery_min_apply_delay = %s", got)
	}
	if err := emu.SetReplicaLag(reader, time.Second); err == nil || !strings.Contains(err.Error(), "writer") {
		t.Errorf("SetReplicaLag on the new writer: %v, want an error saying it is the writer", err)
	}
	exec(nw, "INSERT INTO lagged VALUES (30)")
	waitReplicated(t, ctx, writer, "app", "SELECT count(*) = 1 FROM lagged WHERE v = 30")
	if got := dataCreated(connect(t, writer, "app")); !got.Equal(oldData) {
		t.Errorf("the old writer was rebuilt after the failover (PG_VERSION from %v, was %v): the target had not replayed everything", got, oldData)
	}
}
