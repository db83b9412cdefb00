package pgaudit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

const benchRoles = 5000

// benchRoleSetup creates benchRoles roles, dropped when the benchmark ends,
// and returns the database and the role names.
func benchRoleSetup(b *testing.B) (*pgtest.DB, []string) {
	b.Helper()
	ctx := context.Background()
	db := pgtest.NewDB(b)
	pool := db.Pool
	prefix := uniq("bench_role")
	names := make([]string, benchRoles)
	run := func(stmt func(name string) string) {
		batch := &pgconn.Batch{}
		for _, n := range names {
			batch.ExecParams(stmt(n), nil, nil, nil, nil)
		}
		conn, err := pool.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Release()
		if _, err := conn.Conn().PgConn().ExecBatch(ctx, batch).ReadAll(); err != nil {
			b.Fatal(err)
		}
	}
	for i := range names {
		names[i] = fmt.Sprintf("%s_%05d", prefix, i)
	}
	run(func(n string) string { return "CREATE ROLE " + sqlquote.MustIdent(n) + " NOLOGIN" })
	b.Cleanup(func() { run(func(n string) string { return "DROP ROLE " + sqlquote.MustIdent(n) }) })
	return db, names
}

func benchChanges(names []string, iter int) []OverrideChange {
	value := []string{"read,write", "ddl"}[iter%2]
	ch := make([]OverrideChange, len(names))
	for i, n := range names {
		ch[i] = OverrideChange{Scope: Scope{Role: n}, Name: SettingLog, Value: value}
	}
	return ch
}

func applySequential(ctx context.Context, pool *pgxpool.Pool, changes []OverrideChange) error {
	for _, ch := range changes {
		stmt, err := ch.statement()
		if err != nil {
			return err
		}
		if _, err := pool.Exec(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkOverrides sets pgaudit.log for 5,000 roles with ApplyOverrides
// (validated, pipelined, one transaction) and with 5,000 sequential
// statements, each its own round trip and transaction, and reports the
// speedup measured in the same iterations, with the round trip each pool
// really sees (rtt-µs, the median of 200 SELECT 1): over loopback, where
// the server's own work per ALTER ROLE (about 40-60 µs here) bounds both,
// and through pgtest.LatencyProxy adding a 2.5 ms round trip, like a
// network between a client and Aurora.
//
//	go test -run '^$' -bench Overrides -benchtime 5x ./pgaudit/
func BenchmarkOverrides(b *testing.B) {
	db, names := benchRoleSetup(b)
	b.Run("loopback", func(b *testing.B) { benchOverrides(b, db.Pool, names) })
	b.Run("latency-proxy", func(b *testing.B) {
		slow, _ := db.ThroughLatency(b, benchRTT)
		benchOverrides(b, slow, names)
	})
}

// benchRTT is the round trip the latency proxy adds.
const benchRTT = 2500 * time.Microsecond

func benchOverrides(b *testing.B, pool *pgxpool.Pool, names []string) {
	ctx := context.Background()
	c := New(pool)
	rtt := pgtest.RoundTrip(b, pool, 200)
	var bulk, seq pgtest.Samples
	iter := 0
	// The two sides take turns going first.
	bulkRun := func() {
		t := time.Now()
		if err := c.ApplyOverrides(ctx, benchChanges(names, iter)); err != nil {
			b.Fatal(err)
		}
		bulk = append(bulk, time.Since(t))
		iter++
	}
	seqRun := func() {
		t := time.Now()
		if err := applySequential(ctx, pool, benchChanges(names, iter)); err != nil {
			b.Fatal(err)
		}
		seq = append(seq, time.Since(t))
		iter++
	}
	for b.Loop() {
		if len(bulk)%2 == 0 {
			bulkRun()
			seqRun()
		} else {
			seqRun()
			bulkRun()
		}
	}
	ratios, speedup := pgtest.Ratios(seq, bulk)
	b.Logf("round trip %v (median of 200 SELECT 1); bulk %v; sequential %v; speedups %.1f",
		rtt, bulk, seq, ratios)
	b.ReportMetric(pgtest.Ms(bulk.Median()), "bulk-median-ms/5000")
	b.ReportMetric(pgtest.Ms(seq.Median()), "sequential-median-ms/5000")
	b.ReportMetric(speedup, "speedup-median-x")
	b.ReportMetric(float64(rtt.Microseconds()), "rtt-µs")
}
