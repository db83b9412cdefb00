package pgtest

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// LatencyProxy starts a TCP proxy to target (host:port) that delays every
// chunk of data by oneWay in each direction, without serialising the
// delays, as a network link between a client and Aurora would, and
// returns its address. It stops when the test or benchmark ends.
//
// Timer granularity on a busy machine makes the real delay larger than
// oneWay: measure the round trip through the proxy (a few hundred SELECT
// 1) rather than trusting the figure asked for.
func LatencyProxy(t testing.TB, target string, oneWay time.Duration) *net.TCPAddr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
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
			go delayPipe(server, client, oneWay)
			go delayPipe(client, server, oneWay)
		}
	}()
	return ln.Addr().(*net.TCPAddr)
}

// delayPipe copies src to dst, each chunk oneWay after it was read.
func delayPipe(dst, src net.Conn, oneWay time.Duration) {
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
		dst.Close()
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
