package aurora_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora"
)

// BenchmarkFailoverRecovery measures how long the writer pool takes to
// write again after a failover: a goroutine writes through Pool.RunTx
// without pause while the cluster fails over b.N times (run it with
// -benchtime=5x); for each failover the time runs from the
// FailoverDBCluster call (the old writer's loss) to the first committed
// write that the new writer made. It reports the median and the maximum.
func BenchmarkFailoverRecovery(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := openCluster(b, opsClusterID, nil)
	w, err := c.Writer(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.Exec(ctx, "CREATE TABLE IF NOT EXISTS bench_writes(id bigserial PRIMARY KEY, writer text, at timestamptz DEFAULT now())"); err != nil {
		b.Fatal(err)
	}
	api := rds.NewFromConfig(emu.AWSConfig())

	// The writer goroutine records each commit: the instance that made it
	// and when.
	type commit struct {
		writer string
		at     time.Time
	}
	var mu sync.Mutex
	var log []commit
	since := func(from int) []commit {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(log[min(from, len(log)):])
	}
	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			var id string
			err := w.RunTx(ctx, func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, "INSERT INTO bench_writes(writer) VALUES (aurora_db_instance_identifier()) RETURNING writer").Scan(&id)
			})
			if err != nil {
				writerDone <- err
				return
			}
			at := time.Now()
			mu.Lock()
			log = append(log, commit{writer: id, at: at})
			mu.Unlock()
		}
	}()
	// await polls the commit log from index from until ok accepts a
	// commit, and returns it with the log's length.
	await := func(from int, limit time.Duration, ok func(commit) bool) (commit, int) {
		deadline := time.Now().Add(limit)
		for {
			cs := since(from)
			for _, cm := range cs {
				if ok(cm) {
					return cm, from + len(cs)
				}
			}
			from += len(cs)
			select {
			case err := <-writerDone:
				b.Fatalf("the writer goroutine stopped: %v", err)
			case <-time.After(5 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				b.Fatalf("no matching write within %s", limit)
			}
		}
	}

	var times []time.Duration
	next := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		d, err := c.Describe(ctx)
		if err != nil {
			b.Fatal(err)
		}
		old := d.Writer.ID
		// Start from a steady stream of writes on the current writer.
		_, next = await(next, time.Minute, func(cm commit) bool { return cm.writer == old })
		b.StartTimer()
		start := time.Now()
		if _, err := api.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String(opsClusterID)}); err != nil {
			b.Fatal(err)
		}
		var cm commit
		cm, next = await(next, 2*time.Minute, func(cm commit) bool { return cm.writer != old && cm.at.After(start) })
		times = append(times, cm.at.Sub(start))
		b.StopTimer()
		// The next failover needs an available cluster.
		waitAvailable(b, ctx, c)
		b.StartTimer()
	}
	b.StopTimer()
	close(stop)
	if err := <-writerDone; err != nil {
		b.Fatalf("writer: %v", err)
	}
	slices.Sort(times)
	b.ReportMetric(times[len(times)/2].Seconds(), "s/recovery-median")
	b.ReportMetric(times[len(times)-1].Seconds(), "s/recovery-max")
	b.Logf("%d failovers, recovery times %v", len(times), times)
}

// waitAvailable waits until the cluster and all its instances are
// available.
func waitAvailable(b *testing.B, ctx context.Context, c *aurora.Cluster) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, err := c.Describe(ctx)
		if err != nil {
			b.Fatal(err)
		}
		ok := d.Status == "available" && d.Writer != nil && d.Writer.Status == "available"
		for _, r := range d.Readers {
			ok = ok && r.Status == "available"
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("cluster not available after 2 minutes: %+v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
