package pgtest

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// LatencyProxy starts a TCP proxy to target (host:port) that adds rtt to
// every round trip, as a network link between a client and Aurora would,
// and returns its address. It stops when the test or benchmark ends.
//
// Each chunk of data is held rtt/2 in each direction, without serialising
// the delays (a chunk read while another waits is not held longer). On
// Linux the hold is a kernel wait (ppoll) on a thread of its own, at
// real-time priority where allowed, not a Go timer, whose granularity
// under load made an earlier version of this proxy add 2.35 ms when asked
// for 0.5 ms. The round trip through the proxy is rtt plus the loopback
// round trip plus the proxy's own hops (BenchmarkLatencyProxy prints all
// three). Measure it with RoundTrip and print it next to any figure taken
// through the proxy.
func LatencyProxy(t testing.TB, target string, rtt time.Duration) *net.TCPAddr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	oneWay := rtt / 2
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			// Each direction ends when its source does (and half-closes
			// its destination); the connections close when both have.
			var wg sync.WaitGroup
			wg.Go(func() { delayPipe(server, client, oneWay, stop) })
			wg.Go(func() { delayPipe(client, server, oneWay, stop) })
			go func() {
				wg.Wait()
				client.Close()
				server.Close()
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr)
}

// goroutinePipe copies src to dst, each chunk oneWay after it was read,
// with a Go timer: the portable delayPipe, less precise under load.
func goroutinePipe(dst, src net.Conn, oneWay time.Duration) {
	type chunk struct {
		at   time.Time
		data []byte
	}
	ch := make(chan chunk, 4096)
	go func() {
		for c := range ch {
			time.Sleep(time.Until(c.at))
			if _, err := dst.Write(c.data); err != nil {
				break
			}
		}
		if tc, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = tc.CloseWrite()
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			ch <- chunk{time.Now().Add(oneWay), bytes.Clone(buf[:n])}
		}
		if err != nil {
			close(ch)
			return
		}
	}
}

// Execer is what RoundTrip needs: *pgxpool.Pool, *pgx.Conn and friends.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// RoundTrip returns the median time of n SELECT 1 on q: the round trip a
// client of q really sees, to print next to figures taken through a
// LatencyProxy (or over loopback, for comparison).
func RoundTrip(t testing.TB, q Execer, n int) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ds := make([]time.Duration, n)
	for i := range ds {
		t0 := time.Now()
		if _, err := q.Exec(ctx, "SELECT 1"); err != nil {
			t.Fatalf("pgtest: measuring the round trip: %v", err)
		}
		ds[i] = time.Since(t0)
	}
	slices.Sort(ds)
	return ds[n/2]
}

// ThroughLatency returns a pool on the database and a connection string
// for it (for psql, pg_dump, ...) that both go through a LatencyProxy
// adding rtt to every round trip. The pool has the settings of d.Pool and
// closes when the test or benchmark ends.
func (d *DB) ThroughLatency(t testing.TB, rtt time.Duration) (*pgxpool.Pool, string) {
	t.Helper()
	addr := LatencyProxy(t, net.JoinHostPort(d.Server.Host(), strconv.Itoa(d.Server.Port())), rtt)
	cfg := d.Pool.Config().Copy()
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = addr.IP.String(), uint16(addr.Port)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	u, err := url.Parse(d.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	u.Host = addr.String()
	return pool, u.String()
}
