package auroratest_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
)

var (
	catalogOnce sync.Once
	catalogTime time.Duration
)

// BenchmarkStart measures starting an emulator with one 2-instance cluster
// (writer plus one streaming replica) until Start returns, and closing it.
// The engine-default catalog is built once per process before the timer
// starts; its cost (with the CAs) is reported as s/first-start.
func BenchmarkStart(b *testing.B) {
	ctx := context.Background()
	catalogOnce.Do(func() {
		t0 := time.Now()
		warm, err := auroratest.Start(ctx)
		if err != nil {
			b.Fatal(err)
		}
		catalogTime = time.Since(t0)
		warm.Close()
	})
	b.ResetTimer()
	var starting time.Duration
	for i := 0; i < b.N; i++ {
		t := time.Now()
		e, err := auroratest.Start(ctx, auroratest.WithCluster("bench", auroratest.ClusterConfig{Instances: 2}))
		if err != nil {
			b.Fatal(err)
		}
		starting += time.Since(t)
		b.StopTimer()
		if err := e.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(starting.Seconds()/float64(b.N), "s/start")
	b.ReportMetric(catalogTime.Seconds(), "s/first-start")
}

// BenchmarkReboot measures one RebootDBInstance of a writer, from the call
// until DescribeDBInstances reports it available again (polled every 10ms).
func BenchmarkReboot(b *testing.B) {
	ctx := context.Background()
	e, err := auroratest.Start(ctx, auroratest.WithCluster("bench", auroratest.ClusterConfig{Instances: 2}))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	c := rds.NewFromConfig(e.AWSConfig())
	id := aws.String("bench-instance-1")
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: id}); err != nil {
			b.Fatal(err)
		}
		for {
			out, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: id})
			if err != nil {
				b.Fatal(err)
			}
			if aws.ToString(out.DBInstances[0].DBInstanceStatus) == "available" {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/reboot")
}

// BenchmarkFailover measures the time from a FailoverDBCluster call to the
// first successful write through the cluster's writer endpoint (new
// connection, INSERT, retried every 10ms), over b.N failovers of a
// 2-instance cluster; it reports the median and the maximum.
func BenchmarkFailover(b *testing.B) {
	ctx := context.Background()
	e, err := auroratest.Start(ctx, auroratest.WithCluster("bench", auroratest.ClusterConfig{Instances: 2, DatabaseName: "app"}))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	c := rds.NewFromConfig(e.AWSConfig())
	out, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("bench")})
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := pgx.ParseConfig("dbname=app sslmode=disable connect_timeout=2")
	if err != nil {
		b.Fatal(err)
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Password = aws.ToString(out.DBClusters[0].Endpoint), uint16(aws.ToInt32(out.DBClusters[0].Port)), "postgres", e.MasterPassword("bench")
	write := func() error {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "INSERT INTO t VALUES (1)")
		return err
	}
	if conn, err := pgx.ConnectConfig(ctx, cfg); err != nil {
		b.Fatal(err)
	} else {
		if _, err := conn.Exec(ctx, "CREATE TABLE t(v int)"); err != nil {
			b.Fatal(err)
		}
		conn.Close(ctx)
	}
	waiter := rds.NewDBClusterAvailableWaiter(c, func(o *rds.DBClusterAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 100*time.Millisecond
	})
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := c.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String("bench")}); err != nil {
			b.Fatal(err)
		}
		for err := write(); err != nil; err = write() {
			if time.Since(start) > time.Minute {
				b.Fatalf("no successful write within a minute of the failover; last error: %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		times = append(times, time.Since(start))
		b.StopTimer()
		if err := waiter.Wait(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("bench")}, time.Minute); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	slices.Sort(times)
	b.ReportMetric(times[len(times)/2].Seconds(), "s/failover-median")
	b.ReportMetric(times[len(times)-1].Seconds(), "s/failover-max")
}
