package auroratest

import (
	"fmt"
	"net"
	"strconv"
	"sync"
)

// Addresses. Aurora gives every instance an endpoint of its own, and the
// cluster's writer and reader endpoints are two more names, all on the
// cluster's port. The emulator does the same with loopback addresses
// (127.0.0.0/8 is all loopback on Linux): the writer endpoint listens on
// 127.0.0.1 and the reader endpoint on 127.0.0.2, custom endpoints on
// 127.0.0.3 and up, and each instance's server on an address of its own
// from 127.0.1.1 up, never given twice in a process, all on the cluster's
// port. An instance keeps its address for life (reboots, failovers,
// rebuilds), so tools that map addresses to instances, or pair an address
// with the cluster's port, work.

const (
	writerEndpointHost = "127.0.0.1"
	readerEndpointHost = "127.0.0.2"
)

var instanceAddrs struct {
	mu   sync.Mutex
	next uint32 // offset from 127.0.1.0
}

// newInstanceAddress returns the next unused instance address of the
// process: 127.0.1.1, 127.0.1.2, ..., skipping the .0 and .255 of each
// /24.
func newInstanceAddress() (string, error) {
	instanceAddrs.mu.Lock()
	defer instanceAddrs.mu.Unlock()
	for {
		instanceAddrs.next++
		n := 1<<8 + instanceAddrs.next // 127.0.1.0 + offset
		if n >= 1<<24 {
			return "", fmt.Errorf("auroratest: no loopback address is left for another instance")
		}
		if lo := n & 0xff; lo == 0 || lo == 255 {
			continue
		}
		return net.IPv4(127, byte(n>>16), byte(n>>8), byte(n)).String(), nil
	}
}

// hostPort is address:port.
func hostPort(address string, port int) string {
	return net.JoinHostPort(address, strconv.Itoa(port))
}
