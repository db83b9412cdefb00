package auroratest_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/jackc/pgx/v5"
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
