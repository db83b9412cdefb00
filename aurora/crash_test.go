package aurora_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// TestFailoversAndCrashUnderLoad runs eight writers through the writer
// pool's RunTx on a 2-instance cluster while it fails over three times
// and its writer then crashes: no acknowledged write is lost, no call
// outlives its context, and no committed transaction runs twice (each
// inserts its own key with no ON CONFLICT, so a second run would fail).
// A commit whose outcome RunTx cannot prove after the crash is reported
// as ErrCommitUnknown, never as a success.
func TestFailoversAndCrashUnderLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c, _ := createCleanCluster(t, "load")
	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(ctx, "CREATE TABLE acked(id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}

	const writers, callTimeout = 8, 45 * time.Second
	var mu sync.Mutex
	var acked []int
	var phase atomic.Int32 // 0 before the first failover, 1-3 after each, 4 after the crash
	ackedIn := map[int]int32{}
	var failures []error
	var longest time.Duration
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for id := g; ; id += writers {
				select {
				case <-stop:
					return
				default:
				}
				cctx, ccancel := context.WithTimeout(ctx, callTimeout)
				t0 := time.Now()
				err := w.RunTx(cctx, func(tx pgx.Tx) error {
					_, err := tx.Exec(cctx, "INSERT INTO acked VALUES ($1)", id)
					return err
				})
				took := time.Since(t0)
				ccancel()
				mu.Lock()
				longest = max(longest, took)
				if err != nil {
					failures = append(failures, fmt.Errorf("id %d after %v: %w", id, took, err))
				} else {
					acked = append(acked, id)
					ackedIn[id] = phase.Load()
				}
				mu.Unlock()
				if err != nil && errors.Is(err, context.DeadlineExceeded) {
					return
				}
			}
		})
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	wantMore := func(what string, n int) {
		t.Helper()
		from := count()
		pgtest.WaitFor(t, fmt.Sprintf("%d writes %s", n, what), time.Minute, func() (bool, string) {
			return count() >= from+n, fmt.Sprint(count() - from)
		})
	}

	api := rds.NewFromConfig(emu.AWSConfig())
	wantMore("before the first failover", 200)
	for i := range 3 {
		before := w.Target()
		if _, err := api.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String("load")}); err != nil {
			t.Fatal(err)
		}
		pgtest.WaitFor(t, fmt.Sprintf("failover %d to move the writer pool", i+1), time.Minute, func() (bool, string) {
			return w.Target() != before, w.Target()
		})
		phase.Store(int32(i + 1))
		wantMore(fmt.Sprintf("after failover %d", i+1), 200)
		waitDescribed(t, c, "the cluster after the failover", allAvailable(2))
	}
	before := w.Target()
	if err := emu.CrashInstance(before); err != nil {
		t.Fatal(err)
	}
	pgtest.WaitFor(t, "the writer pool to leave the crashed writer", time.Minute, func() (bool, string) {
		return w.Target() != before, w.Target()
	})
	phase.Store(4)
	wantMore("after the crash", 200)
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	unknown := 0
	for _, err := range failures {
		if errors.Is(err, aurora.ErrCommitUnknown) {
			// Not acknowledged, so whether it is there proves nothing.
			t.Logf("a RunTx could not tell whether its commit took: %v", err)
			unknown++
			continue
		}
		t.Errorf("a RunTx failed: %v", err)
	}
	if longest > callTimeout+5*time.Second {
		t.Errorf("a RunTx took %v, past its %v context", longest, callTimeout)
	}
	var missing []int
	var total int
	if err := w.QueryRow(ctx, "SELECT ARRAY(SELECT a.id FROM unnest($1::int[]) AS a(id) WHERE NOT EXISTS (SELECT 1 FROM acked WHERE acked.id = a.id) ORDER BY 1), (SELECT count(*) FROM acked)", acked).Scan(&missing, &total); err != nil {
		t.Fatal(err)
	}
	if len(missing) != 0 {
		byPhase := map[int32]int{}
		for _, id := range missing {
			byPhase[ackedIn[id]]++
		}
		t.Errorf("%d of %d acknowledged writes are missing (by phase, 0 before the first failover, 4 after the crash: %v): %v", len(missing), len(acked), byPhase, missing[:min(len(missing), 20)])
	}
	t.Logf("%d acknowledged writes through three failovers and a crash (%d rows; %d commits of unknown outcome), the longest call %v", len(acked), total, unknown, longest)
}

// TestRunTxLostCommitAnswer loses the answer to a COMMIT: the connection
// drops right after the COMMIT went out, so the server commits and the
// client never hears it. RunTx must find that the transaction committed
// and not run it again (it inserts a key with no ON CONFLICT: a second
// run would fail), and a transaction whose connection drops before its
// COMMIT is run again.
func TestRunTxLostCommitAnswer(t *testing.T) {
	ctx := context.Background()
	var armed atomic.Bool
	c := newCluster(t, aurora.WithPoolConfig(func(cfg *pgxpool.Config) {
		cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			return &dropConn{Conn: conn}, err
		}
		cfg.ConnConfig.Tracer = commitDropper{&armed}
	}))
	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(ctx, "CREATE TABLE lost_answer(id int PRIMARY KEY, attempt int)"); err != nil {
		t.Fatal(err)
	}
	attempts := 0
	armed.Store(true)
	err = w.RunTx(ctx, func(tx pgx.Tx) error {
		attempts++
		_, err := tx.Exec(ctx, "INSERT INTO lost_answer VALUES (1, $1)", attempts)
		return err
	})
	if err != nil || armed.Load() {
		t.Fatalf("RunTx with a lost COMMIT answer: %v (the drop armed still: %v)", err, armed.Load())
	}
	var n, attempt int
	if err := w.QueryRow(ctx, "SELECT count(*), max(attempt) FROM lost_answer").Scan(&n, &attempt); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 || n != 1 || attempt != 1 {
		t.Errorf("fn ran %d times; the table holds %d rows from attempt %d; want one run", attempts, n, attempt)
	}

	// Dropped before the COMMIT: the transaction did not commit, and
	// RunTx runs it again.
	attempts = 0
	err = w.RunTx(ctx, func(tx pgx.Tx) error {
		attempts++
		if _, err := tx.Exec(ctx, "INSERT INTO lost_answer VALUES (2, $1)", attempts); err != nil {
			return err
		}
		if attempts == 1 {
			_, err := tx.Exec(ctx, "SELECT pg_terminate_backend(pg_backend_pid())")
			return err
		}
		return nil
	})
	if err != nil || attempts != 2 {
		t.Fatalf("RunTx after a connection lost before COMMIT: %v after %d runs; want success after 2", err, attempts)
	}
	if err := w.QueryRow(ctx, "SELECT count(*), max(attempt) FROM lost_answer WHERE id = 2").Scan(&n, &attempt); err != nil || n != 1 || attempt != 2 {
		t.Errorf("row 2: %d rows from attempt %d (%v); want 1 from attempt 2", n, attempt, err)
	}
}

// dropConn is a TCP connection that closes itself right after a write
// once told to.
type dropConn struct {
	net.Conn
	dropAfterWrite atomic.Bool
}

func (c *dropConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if c.dropAfterWrite.Load() {
		c.Conn.Close()
	}
	return n, err
}

// commitDropper is a pgx tracer that, when armed, makes the connection
// that is about to send a COMMIT drop right after sending it.
type commitDropper struct{ armed *atomic.Bool }

func (d commitDropper) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if data.SQL != "commit" || !d.armed.CompareAndSwap(true, false) {
		return ctx
	}
	raw := conn.PgConn().Conn()
	if tc, ok := raw.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if dc, ok := raw.(*dropConn); ok {
		dc.dropAfterWrite.Store(true)
	}
	return ctx
}

func (commitDropper) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestRunTxCommitUnknownAfterCrash loses the answer to a COMMIT that did
// commit, then crashes the writer before RunTx can ask: the writer that
// answers is another server, which may have given the transaction's id to
// a new transaction, and this pool saw no later commit of the old one, so
// RunTx must return ErrCommitUnknown, neither success nor a second run.
func TestRunTxCommitUnknownAfterCrash(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	createCleanCluster(t, "unknown")
	var armed atomic.Bool
	var crashWriter atomic.Pointer[string] // set: crash it at the next dial
	crashed := make(chan error, 1)
	c, err := aurora.New("unknown", aurora.WithAWSConfig(emu.AWSConfig()),
		aurora.WithCredentials(aurora.StaticPassword(cleanUser, cleanPassword)),
		aurora.WithCABundle(emu.CABundlePEM()), aurora.WithWait(fastWait),
		aurora.WithPoolConfig(func(cfg *pgxpool.Config) {
			cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
				// The first dial after the lost answer, for RunTx's
				// question: the writer crashes first.
				if id := crashWriter.Swap(nil); id != nil {
					crashed <- crashOnceCommitted(ctx, *id)
				}
				conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				return &dropConn{Conn: conn}, err
			}
			cfg.ConnConfig.Tracer = commitDropper{&armed}
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(ctx, "CREATE TABLE unknown_outcome(id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	writer := w.Target()
	armed.Store(true)
	runs := 0
	err = w.RunTx(ctx, func(tx pgx.Tx) error {
		runs++
		_, err := tx.Exec(ctx, "INSERT INTO unknown_outcome VALUES (1)")
		// From here the transaction has its connection: the next dial
		// is after the lost answer.
		crashWriter.Store(&writer)
		return err
	})
	select {
	case cerr := <-crashed:
		if cerr != nil {
			t.Fatalf("crashing the writer %s: %v", writer, cerr)
		}
	default:
		t.Fatalf("the writer was not crashed: RunTx returned %v after %d runs", err, runs)
	}
	if !errors.Is(err, aurora.ErrCommitUnknown) || runs != 1 {
		t.Fatalf("RunTx after a lost answer and a crash: %v after %d runs; want ErrCommitUnknown after 1", err, runs)
	}
	var n int
	if err := w.QueryRow(ctx, "SELECT count(*) FROM unknown_outcome").Scan(&n); err != nil || n != 1 {
		t.Errorf("the new writer holds %d rows (%v); want the 1 that committed", n, err)
	}
}

// crashOnceCommitted waits until the row of the COMMIT whose answer was
// dropped is on the writer, then crashes the writer.
func crashOnceCommitted(ctx context.Context, writer string) error {
	cs, err := emu.ConnString(writer, "postgres")
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, strings.Replace(cs, "sslmode=disable", "sslmode=require", 1)) // the cluster has rds.force_ssl on
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := wait.Until(ctx, pgaurora.Wait{MaxWait: 10 * time.Second}, pgaurora.Wait{MinDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}, func(ctx context.Context) (bool, error) {
		var n int
		err := conn.QueryRow(ctx, "SELECT count(*) FROM unknown_outcome").Scan(&n)
		return n == 1, err
	}); err != nil {
		return fmt.Errorf("waiting for the commit: %w", err)
	}
	return emu.CrashInstance(writer)
}
