package pgtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// LockWaitUpdate is the statement LockWait's blocked sessions run, as
// pg_stat_activity (and Performance Insights' db.sql dimension) shows it.
const LockWaitUpdate = "UPDATE lock_probe SET n = n + 1 WHERE id = $1"

// LockWait is a workload with known waits on the database of connString
// (as a superuser): it holds three rows of the table lock_probe in one
// transaction and blocks three sessions on them (Lock:transactionid, each
// on its own row, running LockWaitUpdate), while a session of the user
// "reporter" (created if missing) sleeps (Timeout:PgSleep). It returns
// once they all wait; each has a connection of its own, and they end with
// the test.
func LockWait(t testing.TB, connString string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var conns []*pgx.Conn
	open := func(user, password string) *pgx.Conn {
		t.Helper()
		cfg, err := pgx.ParseConfig(connString)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			cfg.User, cfg.Password = user, password
		}
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatalf("pgtest: connecting to %s for LockWait: %v", cfg.Host, err)
		}
		conns = append(conns, conn)
		return conn
	}
	t.Cleanup(func() {
		cancel()
		for _, conn := range conns {
			conn.Close(context.Background())
		}
	})
	admin := open("", "")
	for _, stmt := range []string{
		"CREATE TABLE IF NOT EXISTS lock_probe(id int PRIMARY KEY, n int)",
		"INSERT INTO lock_probe SELECT g, 0 FROM generate_series(1, 3) g ON CONFLICT DO NOTHING",
		"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reporter') THEN CREATE ROLE reporter LOGIN PASSWORD 'reporter-pass'; END IF; END$$",
	} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	holder, err := open("", "").Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, "UPDATE lock_probe SET n = n + 1"); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 4)
	for i := 1; i <= 3; i++ {
		conn := open("", "")
		go func() {
			_, _ = conn.Exec(ctx, LockWaitUpdate, i)
			done <- struct{}{}
		}()
	}
	sleeper := open("reporter", "reporter-pass")
	go func() {
		_, _ = sleeper.Exec(ctx, "SELECT pg_sleep(600)")
		done <- struct{}{}
	}()
	t.Cleanup(func() {
		cancel()
		_ = holder.Rollback(context.Background())
		for range 4 {
			<-done
		}
	})
	// Only this workload's sessions count: other tests may share the
	// server.
	var pids []uint32
	for _, conn := range conns {
		pids = append(pids, conn.PgConn().PID())
	}
	WaitFor(t, "three sessions waiting on Lock:transactionid and one in pg_sleep", 30*time.Second, func() (bool, string) {
		var locks, sleeps int
		err := admin.QueryRow(ctx, `SELECT count(*) FILTER (WHERE wait_event = 'transactionid'), count(*) FILTER (WHERE wait_event = 'PgSleep')
			FROM pg_stat_activity WHERE state = 'active' AND pid = ANY($1::int[])`, pids).Scan(&locks, &sleeps)
		return err == nil && locks == 3 && sleeps == 1, fmt.Sprintf("%d lock waits, %d sleeps, %v", locks, sleeps, err)
	})
}
