package logical

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/pgserver"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

// The package's tests share two servers with wal_level=logical and every
// statement logged (so that tests can check secrets stay out of the
// log): a publisher whose superuser authenticates with a password over
// TCP, and a subscriber. Each test uses its own databases on them and
// drops its subscriptions and slots before the databases.
var (
	pubSrv, subSrv *pgserver.Server
	pubPassword    string
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	flag.Parse()
	if pgtest.Fuzzing() {
		// Fuzzing exercises pure parsers; its worker processes need no
		// servers (tests that do skip, saying so).
		return m.Run()
	}
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	pubPassword = "pw'" + hex.EncodeToString(b) // a quote, to exercise quoting
	srvs, stop, err := pgtest.StartServers(serverOptions(pgtest.WithPassword(pubPassword)), serverOptions())
	if err != nil {
		fmt.Fprintf(os.Stderr, "logical tests (they need PostgreSQL 15 with wal2json): %v\n", err)
		return 1
	}
	defer stop()
	pubSrv, subSrv = srvs[0], srvs[1]
	return m.Run()
}

// serverOptions are the shared servers' options: logical replication,
// every statement logged, and pg_stat_statements, as on most Aurora
// clusters (tests check that secrets stay out of the log and of it).
func serverOptions(opts ...pgtest.Option) []pgtest.Option {
	return append([]pgtest.Option{
		pgtest.WithLogicalReplication(),
		pgtest.WithPreload("pg_stat_statements"),
		pgtest.WithSettings(map[string]string{
			"log_statement": "all",
			// As on Aurora: commits are flushed at once, so decoding sees
			// them without waiting for the WAL writer.
			"synchronous_commit": "on",
			// Quick retries keep subscription tests short.
			"wal_retrieve_retry_interval": "200ms",
		}),
	}, opts...)
}

// newDB creates a database for the test on one of the shared servers; it
// skips the test when the servers were not started (fuzzing runs).
func newDB(t *testing.T, srv *pgserver.Server) *pgtest.DB {
	t.Helper()
	if srv == nil {
		t.Skip("the PostgreSQL servers are not started in fuzzing runs; run without -fuzz")
	}
	return pgtest.NewDBOn(t, srv)
}

// secretPart is the part of the publisher's password that appears as is
// in any quoting of it.
func secretPart() string { return pubPassword[3:] }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pair is a publisher database and a subscriber database for one test,
// with clients on both.
type pair struct {
	pubDB, subDB *pgtest.DB
	pub, sub     *Client
}

// newPair creates the two databases. Its cleanup drops the subscriber's
// subscriptions (which drops their slots on the publisher) and any slot
// left in the publisher's database, before the databases are dropped.
func newPair(t *testing.T) pair {
	t.Helper()
	p := pair{pubDB: newDB(t, pubSrv), subDB: newDB(t, subSrv)}
	p.pub, p.sub = New(p.pubDB.Pool), New(p.subDB.Pool)
	t.Cleanup(func() { cleanupReplication(t, p.sub, p.pub, p.pubDB.Name) })
	return p
}

func cleanupReplication(t *testing.T, sub, pub *Client, pubDBName string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if sub != nil {
		subs, err := sub.Subscriptions(ctx)
		if err != nil {
			t.Errorf("cleanup: listing subscriptions: %v", err)
		}
		for _, s := range subs {
			if err := sub.DropSubscription(ctx, s.Name, nil); err != nil {
				t.Logf("cleanup: dropping subscription %s: %v; detaching its slot", s.Name, err)
				if err := sub.DropSubscription(ctx, s.Name, &DropSubscriptionOptions{KeepSlot: true, IfExists: true}); err != nil {
					t.Errorf("cleanup: dropping subscription %s: %v", s.Name, err)
				}
			}
		}
	}
	if pub != nil {
		slots, err := pub.Slots(ctx)
		if err != nil {
			t.Errorf("cleanup: listing slots: %v", err)
		}
		for _, s := range slots {
			if s.Database != pubDBName {
				continue
			}
			if s.Active {
				_, _ = pub.q.Exec(ctx, "SELECT pg_terminate_backend($1)", s.ActivePID)
				time.Sleep(100 * time.Millisecond)
			}
			if err := pub.DropSlot(ctx, s.Name); err != nil && !errors.Is(err, ErrNotFound) {
				t.Errorf("cleanup: dropping slot %s: %v", s.Name, err)
			}
		}
	}
}

// connInfo is the connection string for a database on the publisher, with
// the superuser's password.
func connInfo(t testing.TB, db *pgtest.DB) pgaurora.ConnString {
	t.Helper()
	ci, err := pgaurora.NewConnString(map[string]string{
		"host": db.Server.Host(), "port": strconv.Itoa(db.Server.Port()), "dbname": db.Name,
		"user": db.Server.Superuser(), "password": pubPassword, "application_name": "logical_test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return ci
}

func mustExec(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(testCtx(t), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func queryInt(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(testCtx(t), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}
