package auroratest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pgaurora/pgaurora/internal/wait"
)

// Cluster endpoints. Aurora gives each cluster a writer endpoint and a
// reader endpoint, two DNS names on the cluster's port. The emulator
// listens on two loopback addresses with that port (see addresses.go): the
// writer endpoint on 127.0.0.1 forwards every new connection to the
// current writer; the reader endpoint on 127.0.0.2 spreads new connections
// over the available readers (the writer when there are none). They
// forward bytes, so TLS negotiation and authentication happen with the
// instance itself.

// proxy is one endpoint.
type proxy struct {
	ln   net.Listener
	pick func() (instanceID string, addr string, ok bool)

	mu     sync.Mutex
	conns  map[*proxyConn]struct{}
	closed bool
	wg     sync.WaitGroup
}

type proxyConn struct {
	instanceID     string
	client, server net.Conn
}

func (pc *proxyConn) close() {
	pc.client.Close()
	pc.server.Close()
}

// startProxies opens the cluster's two endpoints on one port: the one
// asked for, or a free one.
func (e *Emulator) startProxies(c *cluster, want *int) error {
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		addr := writerEndpointHost + ":0"
		if want != nil {
			addr = net.JoinHostPort(writerEndpointHost, strconv.Itoa(*want))
		}
		wl, err := net.Listen("tcp", addr)
		if err != nil && want != nil {
			return errInvalidValue("Port %d is not free on this machine's loopback addresses: pick another or leave Port out.", *want)
		}
		if err != nil {
			return fmt.Errorf("auroratest: opening the writer endpoint of %s: %w", c.id, err)
		}
		port := wl.Addr().(*net.TCPAddr).Port
		rl, err := net.Listen("tcp", net.JoinHostPort(readerEndpointHost, strconv.Itoa(port)))
		if err != nil {
			wl.Close()
			lastErr = err
			if want != nil {
				return errInvalidValue("Port %d is not free on this machine's loopback addresses: pick another or leave Port out.", *want)
			}
			continue
		}
		c.port = port
		c.writerProxy = newProxy(wl, func() (string, string, bool) { return e.pickWriter(c) })
		var next atomic.Uint64
		c.readerProxy = newProxy(rl, func() (string, string, bool) {
			return e.pickReader(c, int(next.Add(1)))
		})
		return nil
	}
	return fmt.Errorf("auroratest: opening the reader endpoint of %s on 127.0.0.2 (loopback addresses beyond 127.0.0.1 must be usable): %w", c.id, lastErr)
}

func (e *Emulator) pickWriter(c *cluster) (string, string, bool) {
	st := e.lock()
	defer st.unlock()
	w := c.writer()
	if w == nil || w.port == 0 || c.fenced {
		return "", "", false
	}
	return w.id, hostPort(w.address, w.port), true
}

func (e *Emulator) pickReader(c *cluster, n int) (string, string, bool) {
	st := e.lock()
	var ready []*instance
	for _, r := range c.readers() {
		if r.status == statusAvailable && r.port != 0 {
			ready = append(ready, r)
		}
	}
	st.unlock()
	if len(ready) == 0 {
		return e.pickWriter(c)
	}
	r := ready[n%len(ready)]
	return r.id, hostPort(r.address, r.port), true
}

func newProxy(ln net.Listener, pick func() (string, string, bool)) *proxy {
	p := &proxy{ln: ln, pick: pick, conns: map[*proxyConn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			_ = wait.Sleep(context.Background(), 10*time.Millisecond) // a transient accept error: try again
			continue
		}
		p.wg.Add(1)
		go p.handle(client)
	}
}

func (p *proxy) handle(client net.Conn) {
	defer p.wg.Done()
	id, addr, ok := p.pick()
	if !ok {
		client.Close()
		return
	}
	server, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		client.Close() // the instance is down: the client sees the connection end
		return
	}
	pc := &proxyConn{instanceID: id, client: client, server: server}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		pc.close()
		return
	}
	p.conns[pc] = struct{}{}
	p.mu.Unlock()

	done := make(chan struct{}, 2)
	go func() { io.Copy(server, client); done <- struct{}{} }()
	go func() { io.Copy(client, server); done <- struct{}{} }()
	<-done
	pc.close()
	<-done
	p.mu.Lock()
	delete(p.conns, pc)
	p.mu.Unlock()
}

// cut closes the forwarded connections to instances other than keep ("" cuts
// all), as a failover ends sessions on the old writer.
func (p *proxy) cut(keep string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pc := range p.conns {
		if keep == "" || pc.instanceID != keep {
			pc.close()
		}
	}
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.cut("")
	p.wg.Wait()
}

func (c *cluster) closeProxies() {
	if c.writerProxy != nil {
		c.writerProxy.close()
	}
	if c.readerProxy != nil {
		c.readerProxy.close()
	}
}
