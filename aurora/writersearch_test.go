package aurora_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/sslcert"
)

// logTo returns a logger writing text records to b.
func logTo(b *syncBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// staleClusters passes every RDS call to the emulator, except that while
// frozen it answers DescribeDBClusters with the last answer it got before,
// as a DescribeDBClusters that lags behind a failover would: the cluster's
// members and which one is the writer as they were.
type staleClusters struct {
	base aws.HTTPClient

	mu     sync.Mutex
	frozen bool
	status int
	header http.Header
	body   []byte
	served int // stale answers given
}

func (s *staleClusters) Do(req *http.Request) (*http.Response, error) {
	action, err := requestAction(req)
	if err != nil {
		return nil, err
	}
	if action != "DescribeDBClusters" {
		return s.base.Do(req)
	}
	s.mu.Lock()
	if s.frozen {
		s.served++
		resp := &http.Response{Status: http.StatusText(s.status), StatusCode: s.status, Header: s.header.Clone(),
			Body: io.NopCloser(bytes.NewReader(s.body)), ContentLength: int64(len(s.body)), Request: req}
		s.mu.Unlock()
		return resp, nil
	}
	s.mu.Unlock()
	resp, err := s.base.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.status, s.header, s.body = resp.StatusCode, resp.Header.Clone(), body
	s.mu.Unlock()
	return resp, nil
}

func (s *staleClusters) freeze(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frozen = on
}

func (s *staleClusters) staleAnswers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served
}

// failOver fails the cluster over through its own RDS client and waits
// until a new writer and every member, the old writer rebuilt as a reader
// included, are available. It returns the new writer.
func failOver(t *testing.T, id, old string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	api := rds.NewFromConfig(emu.AWSConfig())
	if _, err := api.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	return waitSettled(t, id, old)
}

// waitSettled waits until the cluster is available with a writer other
// than old ("" for any) and every instance is available, and returns the
// writer.
func waitSettled(t *testing.T, id, old string) string {
	t.Helper()
	c := openCluster(t, id, nil)
	var writer string
	pgtest.WaitFor(t, "the failover of "+id+" to end", 3*time.Minute, func() (bool, string) {
		d, err := c.Describe(context.Background())
		if err != nil {
			return false, err.Error()
		}
		if d.Writer == nil {
			return false, "no writer, cluster " + d.Status
		}
		state := fmt.Sprintf("cluster %s, writer %s %s", d.Status, d.Writer.ID, d.Writer.Status)
		ok := d.Status == "available" && d.Writer.ID != old && d.Writer.Status == "available"
		for _, r := range d.Readers {
			ok = ok && r.Status == "available"
			state += fmt.Sprintf(", reader %s %s", r.ID, r.Status)
		}
		writer = d.Writer.ID
		return ok, state
	})
	return writer
}

// TestStatementInFlightFailsRetryablyDuringFailover runs a long statement
// on the writer pool and fails the cluster over under it: the statement
// fails at once with a *aurora.ConnectionLostError naming the old writer,
// which errors.Is reports as aurora.ErrRetryable, and the pool then writes
// on the new writer.
func TestStatementInFlightFailsRetryablyDuringFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	waitSettled(t, clusterID, "") // an earlier test's failover may still run
	c := newCluster(t)
	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(ctx, "CREATE TABLE IF NOT EXISTS in_flight(id serial PRIMARY KEY, writer text)"); err != nil {
		t.Fatal(err)
	}
	old := w.Target()
	const sleep = "SELECT pg_sleep(120) -- in flight"
	done := make(chan error, 1)
	go func() {
		_, err := w.Exec(ctx, sleep)
		done <- err
	}()
	pgtest.WaitFor(t, "the statement to run on the writer", 30*time.Second, func() (bool, string) {
		var n int
		if err := w.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE query = $1 AND state = 'active'", sleep).Scan(&n); err != nil {
			return false, err.Error()
		}
		return n == 1, fmt.Sprintf("%d such statements running", n)
	})
	start := time.Now()
	api := rds.NewFromConfig(emu.AWSConfig())
	if _, err := api.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String(clusterID)}); err != nil {
		t.Fatal(err)
	}
	var stmtErr error
	select {
	case stmtErr = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the statement in flight was still running 60 s after FailoverDBCluster")
	}
	t.Logf("the statement failed %v after FailoverDBCluster: %v", time.Since(start).Round(time.Millisecond), stmtErr)
	var lost *aurora.ConnectionLostError
	if !errors.As(stmtErr, &lost) {
		t.Fatalf("statement in flight: want a *aurora.ConnectionLostError, got %T: %v", stmtErr, stmtErr)
	}
	if !errors.Is(stmtErr, aurora.ErrRetryable) {
		t.Errorf("%v is not aurora.ErrRetryable", stmtErr)
	}
	if lost.Instance != old {
		t.Errorf("ConnectionLostError.Instance = %q, want the old writer %q", lost.Instance, old)
	}
	newWriter := waitSettled(t, clusterID, old)
	var on string
	if err := w.RunTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "INSERT INTO in_flight(writer) VALUES (aurora_db_instance_identifier()) RETURNING writer").Scan(&on)
	}); err != nil {
		t.Fatal(err)
	}
	if on != newWriter || w.Target() != newWriter {
		t.Errorf("after the failover the pool wrote on %s (target %s), want the new writer %s", on, w.Target(), newWriter)
	}
}

// TestWriterSearchByDescribeDBClusters makes the writer search fall back
// to the RDS API: the cluster's database has no aurora_replica_status(),
// so asking the instances fails. DescribeDBClusters lags behind the
// failover (it keeps naming the old writer, now a reader) until the test
// lets it catch up, so the search must reject the instance RDS names
// while it is in recovery; a search that ends before RDS catches up fails
// saying so; and once RDS names the new writer, the search finds it by
// DescribeDBClusters and the transaction that waited for it commits
// there.
func TestWriterSearchByDescribeDBClusters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	waitSettled(t, clusterID, "")
	// A database without aurora_replica_status().
	setup := newCluster(t)
	sw, err := setup.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := fmt.Sprintf("no_topology_%d", time.Now().UnixNano())
	if _, err := sw.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}
	open := func(logs *syncBuffer, stale *staleClusters) *aurora.Cluster {
		cfg := emu.AWSConfig()
		if stale.base == nil { // set once: the first Cluster's calls read it
			stale.base = cfg.HTTPClient
			if stale.base == nil {
				stale.base = http.DefaultClient
			}
		}
		cfg.HTTPClient = stale
		return openCluster(t, clusterID, nil, aurora.WithAWSConfig(cfg), aurora.WithDatabase(db), aurora.WithLogger(logTo(logs)))
	}
	stale := &staleClusters{}
	var logs1, logs2 syncBuffer
	c1 := open(&logs1, stale)
	w1, err := c1.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w1.Exec(ctx, "DROP FUNCTION pg_catalog.aurora_replica_status(); CREATE TABLE writes(id serial PRIMARY KEY, writer text)"); err != nil {
		t.Fatal(err)
	}
	old := w1.Target()
	if _, err := c1.Describe(ctx); err != nil { // the answer that will go stale
		t.Fatal(err)
	}

	stale.freeze(true)
	newWriter := failOver(t, clusterID, old)
	write := func(ctx context.Context, w *aurora.Pool) (string, error) {
		var on string
		err := w.RunTx(ctx, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "INSERT INTO writes(writer) VALUES (aurora_db_instance_identifier()) RETURNING writer").Scan(&on)
		})
		return on, err
	}
	// c1 loses its writer and searches while RDS still names the old one.
	type result struct {
		on  string
		err error
	}
	first := make(chan result, 1)
	go func() {
		on, err := write(ctx, w1)
		first <- result{on, err}
	}()
	// c2 opens while RDS names the old writer, and finds it a reader.
	c2 := open(&logs2, stale)
	w2, err := c2.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if w2.Target() != old {
		t.Fatalf("c2's writer pool opened on %s, want the writer the stale DescribeDBClusters names, %s", w2.Target(), old)
	}
	searchCtx, stopSearch := context.WithCancel(ctx)
	second := make(chan error, 1)
	go func() {
		_, err := write(searchCtx, w2)
		second <- err
	}()
	pgtest.WaitFor(t, "both searches to ask the stale DescribeDBClusters several times", time.Minute, func() (bool, string) {
		n := stale.staleAnswers()
		return n >= 10, fmt.Sprintf("%d stale answers", n)
	})
	for name, l := range map[string]*syncBuffer{"c1": &logs1, "c2": &logs2} {
		if s := l.String(); strings.Contains(s, "writer found") {
			t.Fatalf("%s accepted a writer while DescribeDBClusters named the old one, now in recovery:\n%s", name, s)
		}
	}
	if got := w1.Target(); got != old {
		t.Fatalf("c1 moved to %s while DescribeDBClusters named %s", got, old)
	}

	// A search that ends before RDS catches up fails, saying why.
	c2.Close()
	stopSearch()
	pgtest.WaitFor(t, "c2's search to give up", 30*time.Second, func() (bool, string) {
		return strings.Contains(logs2.String(), "no writer found"), "log: " + logs2.String()
	})
	if s := logs2.String(); !strings.Contains(s, old) || !strings.Contains(s, "in recovery") {
		t.Errorf("the failed search's error does not name %s and its being in recovery:\n%s", old, s)
	}
	if err := <-second; err == nil {
		t.Error("c2's transaction committed though no writer was found")
	}

	// RDS catches up: c1 finds the new writer by DescribeDBClusters and
	// its transaction commits there.
	stale.freeze(false)
	var r result
	select {
	case r = <-first:
	case <-time.After(2 * time.Minute):
		t.Fatal("c1's transaction did not commit within 2 minutes of DescribeDBClusters catching up")
	}
	if r.err != nil {
		t.Fatalf("c1's transaction: %v", r.err)
	}
	if r.on != newWriter || w1.Target() != newWriter {
		t.Errorf("c1 wrote on %s (target %s), want the new writer %s", r.on, w1.Target(), newWriter)
	}
	if s := logs1.String(); !strings.Contains(s, "by=DescribeDBClusters") {
		t.Errorf("c1 did not find the writer by DescribeDBClusters:\n%s", s)
	}
	t.Logf("%d stale DescribeDBClusters answers; c1 logged:\n%sc2 logged:\n%s", stale.staleAnswers(), logs1.String(), logs2.String())
}

// TestWithInsecurePlaintextAndWithTrustStore checks the two other TLS
// policies: WithInsecurePlaintext connects without TLS, and WithTrustStore verifies the servers against the
// store it is given, refusing a server whose CA is not in it.
func TestWithInsecurePlaintextAndWithTrustStore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sslOn := func(open func(context.Context) (*aurora.Pool, error)) bool {
		t.Helper()
		p, err := open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ssl bool
		if err := p.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil {
			t.Fatal(err)
		}
		return ssl
	}
	sslOf := func(c *aurora.Cluster) (writer, reader bool) { return sslOn(c.Writer), sslOn(c.Reader) }
	// Handles without openCluster's CA bundle.
	handle := func(tls aurora.Option) *aurora.Cluster {
		c, err := aurora.New(clusterID, aurora.WithAWSConfig(emu.AWSConfig()),
			aurora.WithCredentials(aurora.StaticPassword("postgres", emu.MasterPassword(clusterID))), tls, aurora.WithWait(fastWait))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	if w, r := sslOf(handle(aurora.WithInsecurePlaintext())); w || r {
		t.Errorf("WithInsecurePlaintext: writer ssl=%v, reader ssl=%v; want plain connections", w, r)
	}

	store, err := sslcert.ParsePEM(emu.CABundlePEM())
	if err != nil {
		t.Fatal(err)
	}
	if w, r := sslOf(handle(aurora.WithTrustStore(store))); !w || !r {
		t.Errorf("WithTrustStore: writer ssl=%v, reader ssl=%v; want TLS", w, r)
	}

	other, err := sslcert.ParsePEM(emu.CACertificatePEM("rds-ca-rsa4096-g1"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := handle(aurora.WithTrustStore(other)).Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = w.Ping(ctx)
	if err == nil || errors.Is(err, aurora.ErrRetryable) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("WithTrustStore without the servers' CA: want a non-retryable certificate error, got %v", err)
	}
	if _, err := aurora.New(clusterID, aurora.WithTrustStore(sslcert.NewTrustStore())); err == nil {
		t.Error("New accepted an empty trust store")
	}
}
