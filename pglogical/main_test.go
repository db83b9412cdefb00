package pglogical

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/pgserver"
	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/internal/slots"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// The package's tests share two servers, a provider and a subscriber, each
// with pglogical preloaded and wal_level=logical; every test uses its own
// databases on them and drops its subscriptions, slots and nodes before
// the databases (a database whose provider has an active walsender can
// hang DROP DATABASE).
var provSrv, subSrv *pgserver.Server

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	flag.Parse()
	if pgtest.Fuzzing() {
		// Fuzz targets are pure; starting two servers in every fuzz
		// worker process would only slow them down.
		return m.Run()
	}
	srvs, stop, err := pgtest.StartServers(serverOptions(), serverOptions())
	if err != nil {
		fmt.Fprintf(os.Stderr, "pglogical tests (they need PostgreSQL 15 with pglogical): %v\n", err)
		return 1
	}
	defer stop()
	provSrv, subSrv = srvs[0], srvs[1]
	return m.Run()
}

// serverOptions are the options of a server with pglogical preloaded and
// logical replication on.
func serverOptions(opts ...pgtest.Option) []pgtest.Option {
	return append([]pgtest.Option{pgtest.WithPreload(LibraryName), pgtest.WithLogicalReplication()}, opts...)
}

// side is one database of a test, with a pglogical client.
type side struct {
	db     *pgtest.DB
	pool   *pgxpool.Pool
	client *Client
	dsn    pgaurora.ConnString // connection string for peers (no password: the servers trust)
	node   string
}

func (s side) server() *pgserver.Server { return s.db.Server }

func newSide(t testing.TB, srv *pgserver.Server, node string) side {
	t.Helper()
	return sideOn(t, newDB(t, srv), node)
}

func sideOn(t testing.TB, db *pgtest.DB, node string) side {
	t.Helper()
	srv := db.Server
	dsn := mustDSN(t, map[string]string{"host": srv.Host(), "port": strconv.Itoa(srv.Port()), "dbname": db.Name, "user": srv.Superuser()})
	s := side{db: db, pool: db.Pool, client: New(db.Pool), dsn: dsn, node: node}
	ctx := testCtx(t)
	if _, err := s.client.Install(ctx); err != nil {
		t.Fatalf("install on %s: %v", db.Name, err)
	}
	return s
}

// cleanupPglogical drops, in order, the subscriptions of every side, the
// pglogical slots of the sides' databases, and the nodes. Register it after
// the databases so that it runs before they are dropped.
func cleanupPglogical(t testing.TB, sides ...side) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for _, s := range sides {
			if !s.server().Running() {
				continue
			}
			subs, err := s.client.Subscriptions(ctx)
			if err != nil && !errors.Is(err, ErrNotInstalled) {
				t.Logf("cleanup: listing subscriptions on %s: %v", s.db.Name, err)
			}
			for _, sub := range subs {
				if err := s.client.DropSubscription(ctx, sub.Name, true); err != nil {
					t.Errorf("cleanup: dropping subscription %s: %v", sub.Name, err)
				}
			}
		}
		for _, s := range sides {
			if !s.server().Running() {
				continue
			}
			found, err := slots.List(ctx, s.client.q, slots.InThisDatabase)
			if err != nil {
				t.Errorf("cleanup: listing slots on %s: %v", s.db.Name, err)
			}
			for _, sl := range found {
				if err := s.client.DropSlot(ctx, sl.Name); err != nil {
					t.Errorf("cleanup: dropping slot %s: %v", sl.Name, err)
				}
			}
			if n, err := s.client.LocalNode(ctx); err == nil {
				if err := s.client.DropNode(ctx, n.Name, true); err != nil {
					t.Errorf("cleanup: dropping node %s: %v", n.Name, err)
				}
			}
		}
	})
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pair returns a provider and a subscriber database, cleaned up in the
// right order.
func pair(t testing.TB) (prov, sub side) {
	t.Helper()
	prov = newSide(t, provSrv, "provider")
	sub = newSide(t, subSrv, "subscriber")
	cleanupPglogical(t, sub, prov)
	return prov, sub
}

func mustExec(t testing.TB, s side, sql string, args ...any) {
	t.Helper()
	if _, err := s.pool.Exec(testCtx(t), sql, args...); err != nil {
		t.Fatalf("%s on %s: %v", sql, s.db.Name, err)
	}
}

func count(t testing.TB, s side, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(testCtx(t), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s on %s: %v", sql, s.db.Name, err)
	}
	return n
}

// walkthrough runs AWS's setup: a provider table with rows, the provider
// node with the table in the default set, the subscriber node with the
// same table, and a subscription with synchronize_data, waited for.
func walkthrough(t testing.TB, prov, sub side, rows int) string {
	t.Helper()
	ctx := testCtx(t)
	for _, s := range []side{prov, sub} {
		mustExec(t, s, "CREATE TABLE docs_lab_table (a int PRIMARY KEY)")
	}
	mustExec(t, prov, "INSERT INTO docs_lab_table SELECT generate_series(1, $1::int)", rows)
	if _, err := prov.client.CreateNode(ctx, prov.node, prov.dsn); err != nil {
		t.Fatal(err)
	}
	if err := prov.client.AddAllTables(ctx, DefaultSet, []string{"public"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.client.CreateNode(ctx, sub.node, sub.dsn); err != nil {
		t.Fatal(err)
	}
	const name = "docs_lab_subscription"
	if _, err := sub.client.CreateSubscription(ctx, SubscriptionSpec{
		Name: name, Provider: prov.dsn, ReplicationSets: []string{DefaultSet}, SynchronizeData: true,
	}); err != nil {
		t.Fatal(err)
	}
	if err := sub.client.WaitForSync(ctx, name, nil); err != nil {
		t.Fatal(err)
	}
	return name
}

var dbSeq atomic.Int64

// newDB creates a database for the test, dropped when the test ends with
// dropDatabase. It stands in for pgtest.NewDBOn, whose plain DROP DATABASE
// never returns on these servers (see dropDatabase).
func newDB(t testing.TB, srv *pgserver.Server) *pgtest.DB {
	t.Helper()
	db := createDB(t, srv)
	t.Cleanup(func() {
		db.Pool.Close()
		if !srv.Running() {
			return
		}
		if err := dropDatabase(srv, db.Name); err != nil {
			t.Logf("dropping %s: %v (the server is removed at the end of the run anyway)", db.Name, err)
		}
	})
	return db
}

// createDB creates a database and a pool on it, without cleanup.
func createDB(t testing.TB, srv *pgserver.Server) *pgtest.DB {
	t.Helper()
	if srv == nil {
		t.Skip("skipped: no PostgreSQL servers are started while fuzzing; run the tests without -fuzz")
	}
	name := strings.ToLower(t.Name())
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
	suffix := fmt.Sprintf("_%d", dbSeq.Add(1))
	if len(name)+len(suffix) > 40 {
		name = name[:40-len(suffix)]
	}
	name += suffix
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, srv.ConnString("postgres"))
	if err != nil {
		t.Fatalf("connecting to %s: %v", srv, err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+sqlquote.MustIdent(name)); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	pool, err := pgxpool.New(ctx, srv.ConnString(name))
	if err != nil {
		t.Fatalf("opening a pool on %s: %v", name, err)
	}
	return &pgtest.DB{Name: name, Pool: pool, Server: srv}
}

// dropDatabase drops a database on a server that preloads pglogical.
//
// On PostgreSQL 15, DROP DATABASE waits until every process has absorbed a
// ProcSignalBarrier, and the supervisor of pglogical 2.4.2 only does that
// while it scans pg_database, which it does when pglogical signals it that
// subscriptions changed (pglogical issues #399 and #418, fixed by pull
// request #403 in later releases). So while the DROP waits, a transaction
// that creates and drops a throw-away node in a scratch database wakes the
// supervisor, every 100 ms, until the DROP returns.
func dropDatabase(srv *pgserver.Server, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, srv.ConnString("postgres"))
	if err != nil {
		return err
	}
	defer admin.Close(context.Background())
	var preload string
	if err := admin.QueryRow(ctx, "SHOW shared_preload_libraries").Scan(&preload); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		_, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+sqlquote.MustIdent(name)+" WITH (FORCE)")
		done <- err
	}()
	if !strings.Contains(preload, LibraryName) {
		return <-done
	}
	kick, err := kickConn(ctx, srv)
	if err != nil {
		cancel()
		<-done
		return fmt.Errorf("connecting to the kick database: %w", err)
	}
	defer kick.Close(context.Background())
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			if _, err := kick.Exec(ctx, "SELECT pglogical.drop_node('kick', true); SELECT pglogical.create_node('kick', 'host=localhost'); SELECT pglogical.drop_node('kick')"); err != nil && ctx.Err() == nil {
				cancel()
				<-done
				return fmt.Errorf("waking the pglogical supervisor: %w", err)
			}
		}
	}
}

var kickMu sync.Mutex

// kickConn connects to the server's scratch database "pglogical_kick",
// creating it (with the extension) the first time.
func kickConn(ctx context.Context, srv *pgserver.Server) (*pgx.Conn, error) {
	kickMu.Lock()
	defer kickMu.Unlock()
	c, err := pgx.Connect(ctx, srv.ConnString("pglogical_kick"))
	if err == nil {
		return c, nil
	}
	admin, err := pgx.Connect(ctx, srv.ConnString("postgres"))
	if err != nil {
		return nil, err
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "CREATE DATABASE pglogical_kick"); err != nil {
		return nil, err
	}
	c, err = pgx.Connect(ctx, srv.ConnString("pglogical_kick"))
	if err != nil {
		return nil, err
	}
	if _, err := c.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pglogical"); err != nil {
		c.Close(context.Background())
		return nil, err
	}
	return c, nil
}
