// Command failover fails an Aurora PostgreSQL cluster over to a reader with
// aurora.Cluster.Failover while a stream of writes goes on through the
// failover-aware writer pool, and checks that no acknowledged write was
// lost.
//
// The writer pool connects to the writer instance itself, found by
// topology. When the writer goes away it finds the new one and sends new
// connections there at once; a statement that was in flight fails with a
// retryable error, and Pool.RunTx runs the caller's transaction again on
// the new writer. The example writes one row per transaction with RunTx
// from a goroutine, calls Failover (FailoverDBCluster, then a wait until
// the cluster is available with its new writer), keeps writing until the
// pool has written on the new writer, and then checks every acknowledged
// row on the new writer. It reports the old and new writer, how long the
// failover took, how many writes were acknowledged and the longest pause
// between two acknowledgements. A second Failover naming the new writer as
// target finds it already the writer and changes nothing.
//
//	go run ./examples/failover
//	go run ./examples/failover -target my-cluster-instance-2
//
// By default it runs against a local emulator with a 2-instance cluster.
// When AURORA_CLUSTER_ID is set it works on that real cluster, which needs
// at least one reader, with the normal AWS configuration (AWS_REGION,
// AWS_PROFILE, ...) and:
//
//	AURORA_SECRET_ARN   Secrets Manager secret with the database user and password, or
//	AURORA_DB_USER      a database user with IAM authentication
//	AURORA_CA_BUNDLE    path to AWS's global CA bundle (default: system trust store)
//	AURORA_DATABASE     database to write to (default postgres)
//
// A failover makes the cluster refuse writes for a few seconds, so against
// a real cluster it wants -yes. It writes to a table
// pgaurora_example_failover, dropped at the end.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
)

func main() { exampleenv.Main("failover", run) }

const table = "pgaurora_example_failover"

func run(ctx context.Context, out io.Writer, args []string) error {
	cmd := exampleenv.NewCommand("failover", "fails it over; writes pause for a few seconds")
	target := cmd.String("target", "", "the reader to promote (default: the one RDS chooses by promotion tier)")
	after := cmd.Int("after", 20, "writes to acknowledge on the new writer before stopping")
	every := cmd.Duration("every", 10*time.Millisecond, "pause between two writes")
	if err := cmd.Parse(args); err != nil {
		return err
	}

	env, err := cmd.Open(ctx, out, exampleenv.Options{
		ClusterID: "failover-demo", Instances: 2,
		Changes: "fails the cluster over to a reader (writes pause for a few seconds) and writes rows to a table " + table + " (dropped at the end)",
	})
	if err != nil {
		return err
	}
	defer env.Close()
	c := env.Cluster

	d, err := c.Describe(ctx)
	if err != nil {
		return err
	}
	if d.Writer == nil || len(d.Readers) == 0 {
		return fmt.Errorf("%s needs a writer and at least one reader to fail over", c.ID())
	}
	fmt.Fprintf(out, "\n%s: writer %s, readers", c.ID(), d.Writer.ID)
	for _, r := range d.Readers {
		fmt.Fprintf(out, " %s (tier %d)", r.ID, r.PromotionTier)
	}
	fmt.Fprintln(out)

	w, err := c.Writer(ctx)
	if err != nil {
		return err
	}
	if _, err := w.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+table+"(id bigserial PRIMARY KEY, instance text NOT NULL DEFAULT aurora_db_instance_identifier(), written_at timestamptz NOT NULL DEFAULT clock_timestamp())"); err != nil {
		return fmt.Errorf("creating %s: %w", table, err)
	}
	defer exampleenv.DropTable(ctx, out, w, table)
	fmt.Fprintf(out, "writer pool on %s; writing one row per transaction with Pool.RunTx\n", w.Target())

	s := startWriting(ctx, w, *every)
	defer s.stop() // on the error paths; stopping twice is fine
	// Let some writes land on the old writer first.
	if err := s.waitFor(ctx, 10); err != nil {
		return err
	}

	exampleenv.Heading(out, "Failover of %s during the writes", c.ID())
	res, err := c.Failover(ctx, &aurora.FailoverOptions{Target: *target, Progress: exampleenv.Progress(out)})
	if err != nil {
		return exampleenv.Failed(out, err)
	}
	fmt.Fprintf(out, "  %s -> %s in %s; %d writes acknowledged so far\n", res.OldWriter, res.NewWriter, res.Duration.Round(time.Millisecond), s.count())

	// Keep writing until the pool has written on the new writer.
	deadline := time.Now().Add(time.Minute)
	for w.Target() != res.NewWriter {
		if time.Now().After(deadline) {
			return fmt.Errorf("the writer pool still targets %s a minute after the failover", w.Target())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.waitFor(ctx, s.count()+*after); err != nil {
		return err
	}
	ids, pause, err := s.stop()
	if err != nil {
		return fmt.Errorf("the write stream failed: %w", err)
	}

	var missing int
	if err := w.QueryRow(ctx, "SELECT count(*) FROM unnest($1::bigint[]) AS a(id) WHERE NOT EXISTS (SELECT FROM "+table+" t WHERE t.id = a.id)", ids).Scan(&missing); err != nil {
		return err
	}
	rows, err := w.Query(ctx, "SELECT instance, count(*) FROM "+table+" GROUP BY instance ORDER BY min(written_at)")
	if err != nil {
		return err
	}
	perInstance, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var in string
		var n int
		err := r.Scan(&in, &n)
		return fmt.Sprintf("%d on %s", n, in), err
	})
	if err != nil {
		return err
	}

	if err := exampleenv.RunAgain(out, "run again with the new writer as target: nothing to do", func() (*aurora.Report, error) {
		again, err := c.Failover(ctx, &aurora.FailoverOptions{Target: res.NewWriter, Progress: exampleenv.Progress(out)})
		if err != nil {
			return nil, err
		}
		return again.Report, nil
	}); err != nil {
		return err
	}

	exampleenv.Heading(out, "report")
	exampleenv.PrintReport(out, res.Report)
	fmt.Fprintf(out, "  writer %s -> %s; the cluster was available with its new writer %s after the failover call\n", res.OldWriter, res.NewWriter, res.Duration.Round(time.Millisecond))
	fmt.Fprintf(out, "  %d writes acknowledged (rows: %v), %d missing; longest pause between acknowledgements %s\n", len(ids), perInstance, missing, pause.Round(time.Millisecond))
	if missing != 0 {
		return fmt.Errorf("%d acknowledged writes are missing after the failover", missing)
	}
	return nil
}

// stream is the goroutine writing rows and what it acknowledged.
type stream struct {
	done   chan struct{}
	exited chan struct{}

	mu       sync.Mutex
	ids      []int64
	last     time.Time
	maxPause time.Duration
	err      error
}

// startWriting inserts one row per transaction through w.RunTx, one every
// interval, until stopped. RunTx retries a transaction that failed because
// the writer was lost, on the new writer.
func startWriting(ctx context.Context, w *aurora.Pool, every time.Duration) *stream {
	s := &stream{done: make(chan struct{}), exited: make(chan struct{}), last: time.Now()}
	go func() {
		defer close(s.exited)
		for {
			select {
			case <-s.done:
				return
			case <-time.After(every):
			}
			var id int64
			err := w.RunTx(ctx, func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, "INSERT INTO "+table+" DEFAULT VALUES RETURNING id").Scan(&id)
			})
			s.mu.Lock()
			if err != nil {
				s.err = err
				s.mu.Unlock()
				return
			}
			now := time.Now()
			s.ids = append(s.ids, id)
			s.maxPause = max(s.maxPause, now.Sub(s.last))
			s.last = now
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *stream) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ids)
}

// waitFor waits until n writes are acknowledged, or the stream fails.
func (s *stream) waitFor(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		got, err := len(s.ids), s.err
		s.mu.Unlock()
		switch {
		case err != nil:
			return fmt.Errorf("the write stream failed: %w", err)
		case got >= n:
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.exited:
			return errors.New("the write stream stopped")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stop ends the stream and returns the acknowledged ids and the longest
// pause between two acknowledgements.
func (s *stream) stop() ([]int64, time.Duration, error) {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	<-s.exited
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids, s.maxPause, s.err
}
