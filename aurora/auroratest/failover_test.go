package auroratest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

// endpointConn connects to the cluster's writer or reader endpoint as the
// master user, with sslmode=verify-full against the emulator's CA bundle.
func endpointConn(t *testing.T, ctx context.Context, host string, port int32, clusterID string) (*pgx.Conn, error) {
	t.Helper()
	cfg, err := pgx.ParseConfig("dbname=app sslmode=verify-full connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(emulator(t).CABundlePEM())
	cfg.Host, cfg.Port, cfg.User, cfg.Password = host, uint16(port), "postgres", emulator(t).MasterPassword(clusterID)
	cfg.TLSConfig, cfg.Fallbacks = &tls.Config{RootCAs: pool, ServerName: host}, nil
	return pgx.ConnectConfig(ctx, cfg)
}

func writerOf(t *testing.T, ctx context.Context, c *rds.Client, clusterID string) string {
	t.Helper()
	for _, m := range describeCluster(t, ctx, c, clusterID).DBClusterMembers {
		if aws.ToBool(m.IsClusterWriter) {
			return aws.ToString(m.DBInstanceIdentifier)
		}
	}
	t.Fatalf("cluster %s has no writer", clusterID)
	return ""
}

// writeThroughEndpoint inserts a row through the writer endpoint, retrying
// until it succeeds (as an application would after a failover).
func writeThroughEndpoint(t *testing.T, ctx context.Context, host string, port int32, v int) {
	t.Helper()
	pgtest.WaitFor(t, "a write through the writer endpoint", 30*time.Second, func() (bool, string) {
		conn, err := endpointConn(t, ctx, host, port, clusterFO)
		if err != nil {
			return false, err.Error()
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "INSERT INTO fo_rows VALUES ($1)", v); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

func TestFailover(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c := client(t)
	cl := describeCluster(t, ctx, c, clusterFO)
	host, port := aws.ToString(cl.Endpoint), aws.ToInt32(cl.Port)

	conn, err := endpointConn(t, ctx, host, port, clusterFO)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE fo_rows(v int PRIMARY KEY); INSERT INTO fo_rows VALUES (1)"); err != nil {
		t.Fatal(err)
	}

	// Fail over to the named reader (tier 2, not the best tier).
	out, err := c.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{
		DBClusterIdentifier: aws.String(clusterFO), TargetDBInstanceIdentifier: aws.String(clusterFO + "-instance-3"),
	})
	if err != nil {
		t.Fatalf("FailoverDBCluster: %v", err)
	}
	if got := aws.ToString(out.DBCluster.Status); got != "failing-over" {
		t.Errorf("status = %q, want failing-over", got)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO fo_rows VALUES (2)"); err == nil {
		t.Errorf("a session through the writer endpoint survived the failover")
	}
	writeThroughEndpoint(t, ctx, host, port, 3)
	waitCluster(t, ctx, c, clusterFO)
	if w := writerOf(t, ctx, c, clusterFO); w != clusterFO+"-instance-3" {
		t.Fatalf("writer after failover = %s, want %s-instance-3", w, clusterFO)
	}
	// Every member has every acknowledged row, and only the writer writes.
	for _, id := range []string{clusterFO + "-instance-1", clusterFO + "-instance-2", clusterFO + "-instance-3"} {
		waitInstance(t, ctx, c, id)
		waitReplicated(t, ctx, id, "app", "SELECT count(*) = 2 FROM fo_rows WHERE v IN (1, 3)")
		r := connect(t, id, "app")
		var rec bool
		if err := r.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&rec); err != nil {
			t.Fatal(err)
		}
		if rec != (id != clusterFO+"-instance-3") {
			t.Errorf("%s pg_is_in_recovery = %v", id, rec)
		}
		// The Aurora topology functions name the new writer everywhere.
		var self, writer string
		var members int
		if err := r.QueryRow(ctx, `SELECT aurora_db_instance_identifier(),
			(SELECT server_id FROM aurora_replica_status() WHERE session_id = 'MASTER_SESSION_ID'),
			(SELECT count(*) FROM aurora_replica_status())`).Scan(&self, &writer, &members); err != nil {
			t.Fatalf("topology functions on %s: %v", id, err)
		}
		if self != id || writer != clusterFO+"-instance-3" || members != 3 {
			t.Errorf("on %s: aurora_db_instance_identifier() = %q, writer by aurora_replica_status() = %q, %d members", id, self, writer, members)
		}
	}

	// Without a target, the reader with the lowest promotion tier wins.
	if _, err := c.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String(clusterFO)}); err != nil {
		t.Fatal(err)
	}
	waitCluster(t, ctx, c, clusterFO)
	if w := writerOf(t, ctx, c, clusterFO); w != clusterFO+"-instance-1" {
		t.Errorf("writer after an untargeted failover = %s, want the tier-0 %s-instance-1", w, clusterFO)
	}
	writeThroughEndpoint(t, ctx, host, port, 4)

	// A crashed writer fails over by itself.
	if err := emulator(t).CrashInstance(clusterFO + "-instance-1"); err != nil {
		t.Fatal(err)
	}
	writeThroughEndpoint(t, ctx, host, port, 5)
	waitCluster(t, ctx, c, clusterFO)
	if w := writerOf(t, ctx, c, clusterFO); w == clusterFO+"-instance-1" {
		t.Errorf("the crashed writer is still the writer")
	}
	waitInstance(t, ctx, c, clusterFO+"-instance-1")
	waitReplicated(t, ctx, clusterFO+"-instance-1", "app", "SELECT count(*) = 1 FROM fo_rows WHERE v = 5")

	// RebootDBInstance with ForceFailover on the writer fails over too.
	before := writerOf(t, ctx, c, clusterFO)
	if _, err := c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(before), ForceFailover: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	writeThroughEndpoint(t, ctx, host, port, 6)
	waitCluster(t, ctx, c, clusterFO)
	if after := writerOf(t, ctx, c, clusterFO); after == before {
		t.Errorf("RebootDBInstance with ForceFailover left %s the writer", before)
	}

	// The reader endpoint reaches a reader.
	rc, err := endpointConn(t, ctx, aws.ToString(cl.ReaderEndpoint), port, clusterFO)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close(ctx)
	var rec bool
	if err := rc.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&rec); err != nil || !rec {
		t.Errorf("reader endpoint: in recovery %v, %v", rec, err)
	}
}

// TestCleanFailoverLosesNothing commits through the writer endpoint and
// fails over at once, several times, starting right after the emulator
// started (when the reader has only just begun streaming). Aurora's
// readers share storage, so a clean failover loses no committed work; the
// emulator's readers must catch up before the old writer stops.
func TestCleanFailoverLosesNothing(t *testing.T) {
	ctx := context.Background()
	e := auroratest.NewT(t, auroratest.WithCluster("noloss", auroratest.ClusterConfig{Instances: 2, DatabaseName: "app"}))
	c := rds.NewFromConfig(e.AWSConfig())
	out, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("noloss")})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig("dbname=app sslmode=disable connect_timeout=15")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Host, cfg.Port = aws.ToString(out.DBClusters[0].Endpoint), uint16(aws.ToInt32(out.DBClusters[0].Port))
	cfg.User, cfg.Password = "postgres", e.MasterPassword("noloss")
	waiter := rds.NewDBClusterAvailableWaiter(c, func(o *rds.DBClusterAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 100*time.Millisecond
	})
	for round := range 3 {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE TABLE t%d AS SELECT generate_series(1, 1000) AS v", round)); err != nil {
			t.Fatal(err)
		}
		// One small commit last, acknowledged before its WAL is flushed
		// (synchronous_commit=off): it must survive too.
		if _, err := conn.Exec(ctx, "SET synchronous_commit = off"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO t%d VALUES (1001)", round)); err != nil {
			t.Fatal(err)
		}
		conn.Close(ctx)
		if _, err := c.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String("noloss")}); err != nil {
			t.Fatal(err)
		}
		if err := waiter.Wait(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("noloss")}, time.Minute); err != nil {
			t.Fatal(err)
		}
		conn, err = pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = conn.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM t%d", round)).Scan(&n)
		conn.Close(ctx)
		if err != nil || n != 1001 {
			t.Fatalf("round %d: after the failover the new writer has %d of 1001 rows committed before it (%v)", round, n, err)
		}
	}
}
