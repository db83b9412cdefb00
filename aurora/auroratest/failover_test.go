package auroratest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"slices"
	"sync"
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
	cfg := writerConfig(t, ctx, e, "noloss", "dbname=app sslmode=disable connect_timeout=15")
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

// writerConfig is a pgx configuration for the writer endpoint of e's
// cluster id as the master user, with the libpq settings in conninfo.
func writerConfig(tb testing.TB, ctx context.Context, e *auroratest.Emulator, id, conninfo string) *pgx.ConnConfig {
	tb.Helper()
	out, err := rds.NewFromConfig(e.AWSConfig()).DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)})
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(conninfo)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Host, cfg.Port = aws.ToString(out.DBClusters[0].Endpoint), uint16(aws.ToInt32(out.DBClusters[0].Port))
	cfg.User, cfg.Password = "postgres", e.MasterPassword(id)
	return cfg
}

// TestCrashLosesNoAcknowledgedWrite kills the writer (CrashInstance) while
// eight connections commit through the writer endpoint, on a 1- and a
// 2-instance cluster, and checks that every commit the server acknowledged
// is there afterwards: on Aurora a commit is acknowledged once the shared
// storage has it, so a crash loses none.
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	for _, instances := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d-instances", instances), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			e := auroratest.NewT(t, auroratest.WithCluster("crash", auroratest.ClusterConfig{Instances: instances, DatabaseName: "app"}))
			c := rds.NewFromConfig(e.AWSConfig())
			cfg := writerConfig(t, ctx, e, "crash", "dbname=app sslmode=disable connect_timeout=5")
			setup, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := setup.Exec(ctx, "CREATE TABLE acked(id int PRIMARY KEY)"); err != nil {
				t.Fatal(err)
			}
			setup.Close(ctx)

			// Each writer commits its own ids (w, w+8, w+16, ...) and
			// records those the server acknowledged; a failed commit
			// (the connection died) is not recorded, and the writer
			// reconnects until the cluster takes writes again.
			const writers = 8
			var acked syncIDs
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var conn *pgx.Conn
					defer func() {
						if conn != nil {
							conn.Close(context.Background())
						}
					}()
					for id := w; ; id += writers {
						select {
						case <-stop:
							return
						default:
						}
						if conn == nil {
							c, err := pgx.ConnectConfig(ctx, cfg)
							if err != nil {
								time.Sleep(20 * time.Millisecond)
								continue
							}
							conn = c
						}
						if _, err := conn.Exec(ctx, "INSERT INTO acked VALUES ($1)", id); err != nil {
							conn.Close(context.Background())
							conn = nil
							continue
						}
						acked.add(id)
					}
				}()
			}
			pgtest.WaitFor(t, "writes before the crash", 30*time.Second, func() (bool, string) {
				return acked.len() >= 400, fmt.Sprint(acked.len())
			})
			if err := e.CrashInstance(writerOf(t, ctx, c, "crash")); err != nil {
				t.Fatal(err)
			}
			n := acked.len()
			pgtest.WaitFor(t, "writes after the crash", time.Minute, func() (bool, string) {
				return acked.len() >= n+400, fmt.Sprintf("%d since the crash", acked.len()-n)
			})
			close(stop)
			wg.Wait()

			conn, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			ids := acked.snapshot()
			var missing int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM unnest($1::int[]) AS a(id) WHERE NOT EXISTS (SELECT 1 FROM acked WHERE acked.id = a.id)", ids).Scan(&missing); err != nil {
				t.Fatal(err)
			}
			if missing != 0 {
				t.Errorf("%d of %d acknowledged commits are missing after the writer crashed", missing, len(ids))
			}
			t.Logf("%d acknowledged commits, %d of them before the crash", len(ids), n)
		})
	}
}

// syncIDs is a list of ids that several goroutines append to.
type syncIDs struct {
	mu  sync.Mutex
	ids []int
}

func (s *syncIDs) add(id int) { s.mu.Lock(); s.ids = append(s.ids, id); s.mu.Unlock() }
func (s *syncIDs) len() int   { s.mu.Lock(); defer s.mu.Unlock(); return len(s.ids) }
func (s *syncIDs) snapshot() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ids)
}
