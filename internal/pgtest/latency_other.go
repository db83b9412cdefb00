//go:build !linux

package pgtest

import (
	"net"
	"time"
)

// delayPipe copies src to dst, each chunk oneWay after it was read. Outside
// Linux it holds chunks with Go timers, whose granularity makes the delay
// larger than asked: print the measured round trip.
func delayPipe(dst, src net.Conn, oneWay time.Duration, _ <-chan struct{}) {
	goroutinePipe(dst, src, oneWay)
}
