package pgaudit

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

const benchRoles = 5000

// benchRoleSetup creates benchRoles roles, dropped when the benchmark ends,
// and returns a pool and the role names.
func benchRoleSetup(b *testing.B) (*pgxpool.Pool, []string) {
	b.Helper()
	ctx := context.Background()
	pool := pgtest.NewDB(b).Pool
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
	return pool, names
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
// really sees (rtt-µs): over loopback, where the server's own work per
// ALTER ROLE (about 40-60 µs here) bounds both, and through a proxy that
// adds latency like a network between client and Aurora. The proxy asks
// for 250 µs each way; timer granularity on a busy machine makes the
// measured round trip larger (a few ms here), so read rtt-µs, not the
// name.
func BenchmarkOverrides(b *testing.B) {
	pool, names := benchRoleSetup(b)
	b.Run("loopback", func(b *testing.B) { benchOverrides(b, pool, names) })
	b.Run("latency-proxy", func(b *testing.B) {
		slow := latencyPool(b, pool, 250*time.Microsecond)
		benchOverrides(b, slow, names)
	})
}

func benchOverrides(b *testing.B, pool *pgxpool.Pool, names []string) {
	ctx := context.Background()
	c := New(pool)
	// The round trip this pool really sees.
	const pings = 200
	t0 := time.Now()
	for i := 0; i < pings; i++ {
		if _, err := pool.Exec(ctx, "SELECT 1"); err != nil {
			b.Fatal(err)
		}
	}
	rtt := time.Since(t0) / pings
	b.ResetTimer()
	var bulk, seq time.Duration
	iter := 0
	for b.Loop() {
		t := time.Now()
		if err := c.ApplyOverrides(ctx, benchChanges(names, iter)); err != nil {
			b.Fatal(err)
		}
		bulk += time.Since(t)
		iter++
		t = time.Now()
		if err := applySequential(ctx, pool, benchChanges(names, iter)); err != nil {
			b.Fatal(err)
		}
		seq += time.Since(t)
		iter++
	}
	n := float64(b.N)
	b.ReportMetric(bulk.Seconds()*1000/n, "bulk-ms/5000")
	b.ReportMetric(seq.Seconds()*1000/n, "sequential-ms/5000")
	b.ReportMetric(seq.Seconds()/bulk.Seconds(), "speedup")
	b.ReportMetric(float64(rtt.Microseconds()), "rtt-µs")
}

// latencyPool returns a pool to the same database through
// pgtest.LatencyProxy.
func latencyPool(b *testing.B, direct *pgxpool.Pool, oneWay time.Duration) *pgxpool.Pool {
	b.Helper()
	target := net.JoinHostPort(direct.Config().ConnConfig.Host, fmt.Sprint(direct.Config().ConnConfig.Port))
	addr := pgtest.LatencyProxy(b, target, oneWay)
	cfg := direct.Config().Copy()
	cfg.ConnConfig.Host = addr.IP.String()
	cfg.ConnConfig.Port = uint16(addr.Port)
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return pool
}
