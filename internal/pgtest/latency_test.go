package pgtest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pgaurora/pgaurora/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestLatencyProxyKeepsTheStream sends 4 MB each way through the proxy,
// in writes of many sizes, and checks that every byte arrives once and in
// order, and that a query through ThroughLatency's pool and connection
// string works. Its cleanup, which drops the database, also checks that
// the proxy leaves the server running: a proxy thread that ended with its
// goroutine once killed the postmaster (started with Pdeathsig from that
// thread).
func TestLatencyProxyKeepsTheStream(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		c, err := echo.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	addr := pgtest.LatencyProxy(t, echo.Addr().String(), time.Millisecond)
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := make([]byte, 4<<20)
	rand.Read(want)
	go func() {
		sizes := []int{1, 7, 1500, 65536, 100000, 3}
		for rest, i := want, 0; len(rest) > 0; i++ {
			k := min(sizes[i%len(sizes)], len(rest))
			if _, err := c.Write(rest[:k]); err != nil {
				return
			}
			rest = rest[k:]
		}
	}()
	got := make([]byte, len(want))
	c.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the bytes that came back differ from those sent")
	}

	db := pgtest.NewDB(t)
	pool, conn := db.ThroughLatency(t, time.Millisecond)
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT sum(g) FROM generate_series(1, 1000) g").Scan(&n); err != nil || n != 500500 {
		t.Fatalf("query through the proxy: %d, %v", n, err)
	}
	if conn == db.ConnString() {
		t.Errorf("ThroughLatency's connection string %q is the direct one", conn)
	}
}

// BenchmarkLatencyProxy prints the round trip a client sees, the median
// of 200 SELECT 1, over loopback and through proxies asked to add 1 ms
// and 2.5 ms, and what the proxy adds beyond the round trip asked for.
//
//	go test -run '^$' -bench LatencyProxy -benchtime 5x ./internal/pgtest/
func BenchmarkLatencyProxy(b *testing.B) {
	db := pgtest.NewDB(b)
	for _, rtt := range []time.Duration{time.Millisecond, 2500 * time.Microsecond} {
		b.Run(rtt.String(), func(b *testing.B) {
			slow, _ := db.ThroughLatency(b, rtt)
			var direct, proxied pgtest.Samples
			for b.Loop() {
				direct = append(direct, pgtest.RoundTrip(b, db.Pool, 200))
				proxied = append(proxied, pgtest.RoundTrip(b, slow, 200))
			}
			b.Logf("asked %v: loopback %v, through the proxy %v", rtt, direct, proxied)
			b.ReportMetric(float64(rtt.Microseconds()), "asked-rtt-µs")
			b.ReportMetric(float64(direct.Median().Microseconds()), "loopback-rtt-µs")
			b.ReportMetric(float64(proxied.Median().Microseconds()), "proxy-rtt-µs")
			b.ReportMetric(float64((proxied.Median() - rtt - direct.Median()).Microseconds()), "proxy-extra-µs")
		})
	}
}
