// Command diagnostics runs two health checks on an Aurora PostgreSQL
// cluster's writer: what its sessions wait on (aurora.Cluster.SampleWaitEvents)
// and which replication slots no consumer reads while they hold WAL back
// (aurora.Cluster.InactiveSlots).
//
// SampleWaitEvents samples pg_stat_activity every -interval for -period and
// reports the wait events of the active sessions by share, classified by
// wait_event_type (so Aurora's own events, such as IO:XactSync, fall in the
// right class), with a hint for the events it knows: the manual form of
// what Performance Insights shows. InactiveSlots lists the slots whose
// consumer is gone, largest retained WAL first: AWS warns that such a slot
// makes storage grow until the cluster runs out of it.
//
//	go run ./examples/diagnostics
//	go run ./examples/diagnostics -period 30s -interval 500ms
//
// By default it runs against a local emulator with a 1-instance cluster
// and first makes something to see: one session sleeping (pg_sleep), one
// holding a row lock while idle in its transaction, one waiting for that
// lock, and a physical replication slot that nobody reads while 10 MB of
// WAL is written past it. When AURORA_CLUSTER_ID is set it only observes
// that real cluster (it changes nothing, so no -yes is needed), with the
// normal AWS configuration (AWS_REGION, AWS_PROFILE, ...) and:
//
//	AURORA_SECRET_ARN   Secrets Manager secret with the database user and password, or
//	AURORA_DB_USER      a database user with IAM authentication
//	AURORA_CA_BUNDLE    path to AWS's global CA bundle (default: system trust store)
//	AURORA_DATABASE     database to connect to (default postgres)
package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
)

func main() { exampleenv.Main("diagnostics", run) }

const demoSlot = "forgotten_consumer"

func run(ctx context.Context, out io.Writer, args []string) error {
	cmd := exampleenv.NewCommand("diagnostics", "")
	period := cmd.Duration("period", 3*time.Second, "how long to sample pg_stat_activity")
	interval := cmd.Duration("interval", 100*time.Millisecond, "time between two samples")
	if err := cmd.Parse(args); err != nil {
		return err
	}

	env, err := cmd.Open(ctx, out, exampleenv.Options{ClusterID: "diag-demo"})
	if err != nil {
		return err
	}
	defer env.Close()
	c := env.Cluster
	w, err := c.Writer(ctx)
	if err != nil {
		return err
	}

	if env.Emulated() {
		exampleenv.Heading(out, "make something to see (emulator only)")
		stopLoad, err := demoLoad(ctx, out, w)
		if err != nil {
			return err
		}
		defer stopLoad()
	}

	exampleenv.Heading(out, "SampleWaitEvents: %s every %s on %s's writer", *period, *interval, c.ID())
	r, err := c.SampleWaitEvents(ctx, *period, *interval)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "  "+strings.ReplaceAll(r.String(), "\n", "\n  "))

	exampleenv.Heading(out, "InactiveSlots on %s's writer", c.ID())
	slots, err := c.InactiveSlots(ctx)
	if err != nil {
		return err
	}
	if len(slots) == 0 {
		fmt.Fprintln(out, "  no inactive replication slot")
	}
	for _, s := range slots {
		kind := s.Type
		if s.Plugin != "" {
			kind += ", plugin " + s.Plugin + ", database " + s.Database
		}
		fmt.Fprintf(out, "  %s (%s): retains %s of WAL from %s, wal_status %s\n", s.Name, kind, s.RetainedWAL(), s.RestartLSN, s.WALStatus)
	}
	if len(slots) > 0 {
		fmt.Fprintln(out, "  fix: reconnect each slot's consumer, or drop the slot with SELECT pg_drop_replication_slot('<name>')")
	}

	exampleenv.Heading(out, "report")
	top := "none"
	if t := r.Top(1); len(t) > 0 {
		top = fmt.Sprintf("%s (%.0f%%)", t[0].Event, 100*t[0].Share)
	}
	var retained int64
	for _, s := range slots {
		retained += s.RetainedBytes
	}
	fmt.Fprintf(out, "  %d samples, %.2f average active sessions, top wait event %s\n", r.Samples, r.AverageActiveSessions, top)
	fmt.Fprintf(out, "  %s holding %s of WAL in all\n", exampleenv.Plural(len(slots), "inactive replication slot"), pgaurora.ReplicationSlot{RetainedBytes: retained}.RetainedWAL())
	return nil
}

// demoLoad starts sessions that wait on a timeout and on a row lock, and
// creates a physical slot that retains WAL. The returned function ends the
// sessions and drops the slot.
func demoLoad(ctx context.Context, out io.Writer, w *aurora.Pool) (stop func(), err error) {
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{"CREATE TABLE IF NOT EXISTS diag_demo(id int PRIMARY KEY, n int)", nil},
		{"INSERT INTO diag_demo VALUES (1, 0) ON CONFLICT DO NOTHING", nil},
		// A physical slot reserving WAL at once; no standby will use it.
		{"SELECT pg_create_physical_replication_slot($1, true)", []any{demoSlot}},
		// About 10 MB of WAL past the slot.
		{"CREATE TABLE diag_filler AS SELECT g AS id, repeat('x', 100) AS pad FROM generate_series(1, 60000) g", nil},
	} {
		if _, err := w.Exec(ctx, stmt.sql, stmt.args...); err != nil {
			return nil, fmt.Errorf("%s: %w", stmt.sql, err)
		}
	}
	fmt.Fprintf(out, "  created physical slot %s and wrote WAL past it\n", demoSlot)

	holder, err := w.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := holder.Exec(ctx, "UPDATE diag_demo SET n = n + 1 WHERE id = 1"); err != nil {
		_ = holder.Rollback(ctx)
		return nil, err
	}
	loadCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() {
		_, _ = w.Exec(loadCtx, "SELECT pg_sleep(600)")
		done <- struct{}{}
	}()
	go func() {
		_, _ = w.Exec(loadCtx, "UPDATE diag_demo SET n = n + 1 WHERE id = 1")
		done <- struct{}{}
	}()
	fmt.Fprintln(out, "  one session in pg_sleep, one holding a row lock (idle in transaction), one waiting for that lock")
	time.Sleep(200 * time.Millisecond) // let the sessions reach their waits

	return func() {
		cancel()
		_ = holder.Rollback(context.WithoutCancel(ctx))
		<-done
		<-done
		_, _ = w.Exec(context.WithoutCancel(ctx), "SELECT pg_drop_replication_slot($1)", demoSlot)
	}, nil
}
