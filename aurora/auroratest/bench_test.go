package auroratest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
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

// BenchmarkFailover measures FailoverDBCluster on a 2-instance cluster,
// from the call to the first successful write through the writer endpoint
// (new connection, INSERT, retried every 10ms) and to the cluster being
// available again with the new writer (DescribeDBClusters polled every
// 10ms). "after-start" fails over a cluster that has just started (each
// iteration starts its own emulator, outside the timing); "back-to-back"
// fails over one cluster again as soon as the previous failover is done.
// Both are idle clusters, where the WAL the writer last inserted may sit
// unflushed. Each reports the median and the maximum of both times and
// logs every sample.
func BenchmarkFailover(b *testing.B) {
	ctx := context.Background()
	start := func(b *testing.B) *failoverBench {
		e, err := auroratest.Start(ctx, auroratest.WithCluster("bench", auroratest.ClusterConfig{Instances: 2, DatabaseName: "app"}))
		if err != nil {
			b.Fatal(err)
		}
		return newFailoverBench(b, e)
	}
	b.Run("after-start", func(b *testing.B) {
		var write, avail []time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			fb := start(b)
			b.StartTimer()
			w, a := fb.failover(b)
			write, avail = append(write, w), append(avail, a)
			b.StopTimer()
			if err := fb.e.Close(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		reportSamples(b, "failover-write", write)
		reportSamples(b, "failover-available", avail)
	})
	b.Run("back-to-back", func(b *testing.B) {
		b.StopTimer()
		fb := start(b)
		defer fb.e.Close()
		b.StartTimer()
		var write, avail []time.Duration
		for i := 0; i < b.N; i++ {
			w, a := fb.failover(b)
			write, avail = append(write, w), append(avail, a)
		}
		reportSamples(b, "failover-write", write)
		reportSamples(b, "failover-available", avail)
	})
}

type failoverBench struct {
	e   *auroratest.Emulator
	c   *rds.Client
	cfg *pgx.ConnConfig
}

func newFailoverBench(b *testing.B, e *auroratest.Emulator) *failoverBench {
	ctx := context.Background()
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
	// No write before the first failover: right after start, the writer's
	// last WAL may not be flushed.
	return &failoverBench{e: e, c: c, cfg: cfg}
}

func (fb *failoverBench) exec(sql string) error {
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, fb.cfg)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// failover runs one failover and returns the time to the first write and
// to the cluster being available with a new writer.
func (fb *failoverBench) failover(b *testing.B) (write, available time.Duration) {
	ctx := context.Background()
	id := aws.String("bench")
	before := fb.writer(b)
	start := time.Now()
	if _, err := fb.c.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: id}); err != nil {
		b.Fatal(err)
	}
	const write1 = "CREATE TABLE IF NOT EXISTS t(v int); INSERT INTO t VALUES (1)"
	for err := fb.exec(write1); err != nil; err = fb.exec(write1) {
		if time.Since(start) > time.Minute {
			b.Fatalf("no successful write within a minute of the failover; last error: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	write = time.Since(start)
	for {
		out, err := fb.c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: id})
		if err != nil {
			b.Fatal(err)
		}
		if aws.ToString(out.DBClusters[0].Status) == "available" && fb.writerOf(out) != before {
			break
		}
		if time.Since(start) > time.Minute {
			b.Fatalf("the cluster is not available with a new writer within a minute of the failover")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return write, time.Since(start)
}

func (fb *failoverBench) writer(b *testing.B) string {
	out, err := fb.c.DescribeDBClusters(context.Background(), &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("bench")})
	if err != nil {
		b.Fatal(err)
	}
	return fb.writerOf(out)
}

func (fb *failoverBench) writerOf(out *rds.DescribeDBClustersOutput) string {
	for _, m := range out.DBClusters[0].DBClusterMembers {
		if aws.ToBool(m.IsClusterWriter) {
			return aws.ToString(m.DBInstanceIdentifier)
		}
	}
	return ""
}

// reportSamples reports the median and the maximum of samples as
// s/NAME-median and s/NAME-max, and logs every sample.
func reportSamples(b *testing.B, name string, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	b.ReportMetric(sorted[len(sorted)/2].Seconds(), "s/"+name+"-median")
	b.ReportMetric(sorted[len(sorted)-1].Seconds(), "s/"+name+"-max")
	parts := make([]string, len(samples))
	for i, d := range samples {
		parts[i] = fmt.Sprintf("%.3f", d.Seconds())
	}
	b.Logf("%s: median %.3fs, max %.3fs, samples (s, in order): %s", name,
		sorted[len(sorted)/2].Seconds(), sorted[len(sorted)-1].Seconds(), strings.Join(parts, " "))
}

// BenchmarkCreateCluster measures CreateDBCluster plus one
// CreateDBInstance until the SDK's DBInstanceAvailable waiter (polling
// every 20ms) returns: a new database on a new server, prepared as
// Aurora's, with its first automated backup.
func BenchmarkCreateCluster(b *testing.B) {
	ctx := context.Background()
	e, err := auroratest.Start(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	c := rds.NewFromConfig(e.AWSConfig())
	var samples []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("bench-%d", i)
		start := time.Now()
		if _, err := c.CreateDBCluster(ctx, &rds.CreateDBClusterInput{DBClusterIdentifier: aws.String(id), Engine: aws.String("aurora-postgresql"),
			MasterUsername: aws.String("master"), MasterUserPassword: aws.String("bench-password")}); err != nil {
			b.Fatal(err)
		}
		benchWaitCluster(b, c, id)
		benchInstance(b, c, id, id+"-1")
		samples = append(samples, time.Since(start))
	}
	reportSamples(b, "create-available", samples)
}

// BenchmarkRestoreFromSnapshot measures RestoreDBClusterFromSnapshot plus
// one CreateDBInstance until the instance is available, from a snapshot
// of a cluster holding a 10,000-row table.
func BenchmarkRestoreFromSnapshot(b *testing.B) {
	ctx := context.Background()
	e, err := auroratest.Start(ctx, auroratest.WithCluster("src", auroratest.ClusterConfig{DatabaseName: "app"}))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	c := rds.NewFromConfig(e.AWSConfig())
	cs, err := e.ConnString("src-instance-1", "app")
	if err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, cs)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t AS SELECT generate_series(1, 10000) AS v"); err != nil {
		b.Fatal(err)
	}
	conn.Close(ctx)
	if _, err := c.CreateDBClusterSnapshot(ctx, &rds.CreateDBClusterSnapshotInput{DBClusterIdentifier: aws.String("src"), DBClusterSnapshotIdentifier: aws.String("snap")}); err != nil {
		b.Fatal(err)
	}
	w := rds.NewDBClusterSnapshotAvailableWaiter(c, func(o *rds.DBClusterSnapshotAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 20*time.Millisecond
	})
	if err := w.Wait(ctx, &rds.DescribeDBClusterSnapshotsInput{DBClusterSnapshotIdentifier: aws.String("snap")}, time.Minute); err != nil {
		b.Fatal(err)
	}
	var samples []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("restored-%d", i)
		start := time.Now()
		if _, err := c.RestoreDBClusterFromSnapshot(ctx, &rds.RestoreDBClusterFromSnapshotInput{DBClusterIdentifier: aws.String(id),
			SnapshotIdentifier: aws.String("snap"), Engine: aws.String("aurora-postgresql")}); err != nil {
			b.Fatal(err)
		}
		benchWaitCluster(b, c, id)
		benchInstance(b, c, id, id+"-1")
		samples = append(samples, time.Since(start))
	}
	reportSamples(b, "restore-available", samples)
}

func benchWaitCluster(b *testing.B, c *rds.Client, id string) {
	w := rds.NewDBClusterAvailableWaiter(c, func(o *rds.DBClusterAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 20*time.Millisecond
	})
	if err := w.Wait(context.Background(), &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)}, time.Minute); err != nil {
		b.Fatal(err)
	}
}

func benchInstance(b *testing.B, c *rds.Client, cluster, id string) {
	ctx := context.Background()
	if _, err := c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(id), DBClusterIdentifier: aws.String(cluster),
		Engine: aws.String("aurora-postgresql"), DBInstanceClass: aws.String("db.r6g.large")}); err != nil {
		b.Fatal(err)
	}
	w := rds.NewDBInstanceAvailableWaiter(c, func(o *rds.DBInstanceAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 20*time.Millisecond
	})
	if err := w.Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)}, time.Minute); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFreshCluster measures what a fresh cluster per test costs:
// Start with one cluster of 1 or 2 instances until it returns (every
// instance available), after the process's first start (the catalog and
// the CAs, and the template data directory, are made before the timer).
// Each iteration starts the cluster both ways, one after the other: the
// baseline (WithoutTemplate: initdb and the preparation on the writer, a
// base backup per reader, as before templates) and ours (copies of the
// template data directory, readers streaming from copies). It reports
// both means in ms and the baseline/ours ratio.
func BenchmarkFreshCluster(b *testing.B) {
	ctx := context.Background()
	warm, err := auroratest.Start(ctx, auroratest.WithCluster("warm", auroratest.ClusterConfig{}))
	if err != nil {
		b.Fatal(err)
	}
	if err := warm.Close(); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			start := func(opts ...auroratest.Option) time.Duration {
				t0 := time.Now()
				e, err := auroratest.Start(ctx, append(opts, auroratest.WithCluster("fresh", auroratest.ClusterConfig{Instances: n, DatabaseName: "app"}))...)
				if err != nil {
					b.Fatal(err)
				}
				d := time.Since(t0)
				if err := e.Close(); err != nil {
					b.Fatal(err)
				}
				return d
			}
			var base, ours time.Duration
			for range b.N {
				base += start(auroratest.WithoutTemplate())
				ours += start()
			}
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
			b.ReportMetric(ms(base), "ms/baseline")
			b.ReportMetric(ms(ours), "ms/template")
			b.ReportMetric(float64(base)/float64(ours), "baseline/template")
			b.ReportMetric(0, "ns/op") // both ways run in one op: the figures above are what counts
		})
	}
}

// BenchmarkCommitLatency prices what a crash that loses no acknowledged
// commit costs: commits of a one-row INSERT through the writer endpoint
// of a 2-instance cluster with synchronous_commit off (acknowledged before
// the WAL reaches the files: what the emulator did before) and on (the
// emulator's default now), alternating in batches of 200 within each
// iteration, so both ways meet the same machine. It prints µs per commit
// both ways and their ratio (on/off).
//
//	go test -run '^$' -bench CommitLatency -benchtime 20x ./aurora/auroratest/
func BenchmarkCommitLatency(b *testing.B) {
	ctx := context.Background()
	e, err := auroratest.Start(ctx, auroratest.WithCluster("commits", auroratest.ClusterConfig{Instances: 2, DatabaseName: "app"}))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	conn, err := pgx.ConnectConfig(ctx, writerConfig(b, ctx, e, "commits", "dbname=app sslmode=disable"))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE c(id bigserial PRIMARY KEY, v int)"); err != nil {
		b.Fatal(err)
	}
	const batch = 200
	commits := func(mode string) time.Duration {
		if _, err := conn.Exec(ctx, "SET synchronous_commit = "+mode); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		for i := range batch {
			if _, err := conn.Exec(ctx, "INSERT INTO c(v) VALUES ($1)", i); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(t0)
	}
	var off, on time.Duration
	b.ResetTimer()
	for range b.N {
		off += commits("off")
		on += commits("on")
	}
	n := float64(b.N * batch)
	b.ReportMetric(float64(off.Nanoseconds())/1000/n, "µs/commit-off")
	b.ReportMetric(float64(on.Nanoseconds())/1000/n, "µs/commit-on")
	b.ReportMetric(float64(on)/float64(off), "on/off")
}

// BenchmarkResetState measures going back to a saved state between
// tests, on a cluster of 1 or 2 instances whose database app holds a
// 1000-row table: each iteration deletes rows and adds a table, then puts
// the saved state back (ResetState, once with app saved alone and once
// with every database saved), and, as the baseline, starts a fresh
// cluster like it (Start, from the template) and loads the table again.
// It reports the three means in ms and fresh/reset(app).
//
//	go test -run '^$' -bench ResetState -benchtime 10x ./aurora/auroratest/
func BenchmarkResetState(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			const fixture = "CREATE TABLE fixture(id int PRIMARY KEY, v text); INSERT INTO fixture SELECT g, md5(g::text) FROM generate_series(1, 1000) g"
			start := func() (*auroratest.Emulator, *pgx.Conn) {
				e, err := auroratest.Start(ctx, auroratest.WithCluster("reset", auroratest.ClusterConfig{Instances: n, DatabaseName: "app"}))
				if err != nil {
					b.Fatal(err)
				}
				cs, err := e.ConnString("reset-instance-1", "app")
				if err != nil {
					b.Fatal(err)
				}
				c, err := pgx.Connect(ctx, cs)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Exec(ctx, fixture); err != nil {
					b.Fatal(err)
				}
				return e, c
			}
			emu, c := start()
			defer emu.Close()
			c.Close(ctx)
			cs, err := emu.ConnString("reset-instance-1", "app")
			if err != nil {
				b.Fatal(err)
			}
			change := func() {
				c, err := pgx.Connect(ctx, cs)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close(ctx)
				if _, err := c.Exec(ctx, "DELETE FROM fixture WHERE id % 2 = 0; CREATE TABLE extra(x int)"); err != nil {
					b.Fatal(err)
				}
			}
			reset := func(dbs ...string) time.Duration {
				if err := emu.SaveState(ctx, "reset", dbs...); err != nil {
					b.Fatal(err)
				}
				change()
				t0 := time.Now()
				if err := emu.ResetState(ctx, "reset"); err != nil {
					b.Fatal(err)
				}
				return time.Since(t0)
			}
			var app, all, fresh time.Duration
			for range b.N {
				app += reset("app")
				all += reset()
				t0 := time.Now()
				e, c := start()
				fresh += time.Since(t0)
				c.Close(ctx)
				if err := e.Close(); err != nil {
					b.Fatal(err)
				}
			}
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
			b.ReportMetric(ms(app), "ms/reset-app")
			b.ReportMetric(ms(all), "ms/reset-all")
			b.ReportMetric(ms(fresh), "ms/fresh")
			b.ReportMetric(float64(fresh)/float64(app), "fresh/reset-app")
			b.ReportMetric(0, "ns/op") // the figures above are what counts
		})
	}
}
