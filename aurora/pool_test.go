package aurora_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestRunTxRetriesSerializationFailuresOnTheSameWriter runs conflicting
// SERIALIZABLE transactions through RunTx. A serialization failure is a
// transaction that lost a conflict, not a lost writer: RunTx runs it
// again on the same writer, and nothing asks RDS or the instances where
// the writer went.
func TestRunTxRetriesSerializationFailuresOnTheSameWriter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rec := &apiRecorder{}
	c := openCluster(t, clusterID, rec)
	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	table := "serial_" + time.Now().Format("150405000000")
	if _, err := w.Exec(ctx, "CREATE TABLE "+table+" (k int PRIMARY KEY, v int NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = w.Exec(context.Background(), "DROP TABLE "+table) })
	if _, err := w.Exec(ctx, "INSERT INTO "+table+" VALUES (1, 0)"); err != nil {
		t.Fatal(err)
	}
	target := w.Target()
	rec.take()

	const workers, each = 4, 10
	var attempts atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				err := w.RunTx(ctx, func(tx pgx.Tx) error {
					attempts.Add(1)
					if _, err := tx.Exec(ctx, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"); err != nil {
						return err
					}
					var v int
					if err := tx.QueryRow(ctx, "SELECT v FROM "+table+" WHERE k = 1").Scan(&v); err != nil {
						return err
					}
					// Let the others read the same value: the updates then conflict.
					if _, err := tx.Exec(ctx, "SELECT pg_sleep(0.005)"); err != nil {
						return err
					}
					_, err := tx.Exec(ctx, "UPDATE "+table+" SET v = $1 WHERE k = 1", v+1)
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("RunTx: %v", err)
	}
	var v int
	if err := w.QueryRow(ctx, "SELECT v FROM "+table+" WHERE k = 1").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != workers*each {
		t.Errorf("v = %d after %d committed increments: a retried transaction was lost or ran twice", v, workers*each)
	}
	if n := attempts.Load(); n <= workers*each {
		t.Fatalf("%d attempts for %d commits: no transaction conflicted, so the test proved nothing", n, workers*each)
	} else {
		t.Logf("%d attempts for %d commits", n, workers*each)
	}
	if acts := rec.take(); slices.Contains(acts, "DescribeDBClusters") || slices.Contains(acts, "DescribeDBInstances") {
		t.Errorf("serialization failures made RDS calls %v: they were taken for a lost writer", acts)
	}
	if got := w.Target(); got != target {
		t.Errorf("the pool moved from %s to %s", target, got)
	}
}
