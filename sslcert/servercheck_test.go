package sslcert

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sslResponder is a TCP server that speaks the first step of the
// PostgreSQL protocol: it answers an SSLRequest with a configurable byte
// and, after 'S', performs a TLS handshake with the current certificate.
// It records what the client sends after the handshake, which must be
// nothing (the check never logs in).
type sslResponder struct {
	ln       net.Listener
	answer   byte
	silent   bool // never answer
	cert     atomic.Pointer[tls.Certificate]
	mu       sync.Mutex
	requests [][]byte
	after    [][]byte
	wg       sync.WaitGroup
}

func newSSLResponder(t *testing.T, l *leaf, setup ...func(*sslResponder)) *sslResponder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &sslResponder{ln: ln, answer: 'S'}
	if l != nil {
		r.setLeaf(l)
	}
	for _, f := range setup {
		f(r)
	}
	r.wg.Add(1)
	go r.serve()
	t.Cleanup(func() { ln.Close(); r.wg.Wait() })
	return r
}

func (r *sslResponder) setLeaf(l *leaf) {
	c := l.tlsCert()
	r.cert.Store(&c)
}

func (r *sslResponder) addr() string { return r.ln.Addr().String() }

func (r *sslResponder) serve() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			req := make([]byte, 8)
			if _, err := io.ReadFull(c, req); err != nil {
				return
			}
			r.mu.Lock()
			r.requests = append(r.requests, req)
			r.mu.Unlock()
			if r.silent {
				_, _ = io.Copy(io.Discard, c)
				return
			}
			if _, err := c.Write([]byte{r.answer}); err != nil || r.answer != 'S' {
				return
			}
			cert := r.cert.Load()
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{*cert}})
			if err := tc.Handshake(); err != nil {
				return
			}
			rest, _ := io.ReadAll(tc)
			r.mu.Lock()
			r.after = append(r.after, rest)
			r.mu.Unlock()
		}()
	}
}

func TestCheckServer(t *testing.T) {
	cas := testRDSCAs(t)
	sub := cas[CARSA2048G1].intermediate(t, "Amazon RDS test-1 Subordinate CA RSA2048 G1.A.1", 4)
	withChain := sub.issue(t, []string{"db-1.test", "127.0.0.1"}, time.Time{}, sub)
	ecc := cas[CAECC384G1].issue(t, []string{"localhost", "127.0.0.1"}, time.Time{})
	wrongName := cas[CAECC384G1].issue(t, []string{"elsewhere.test"}, time.Time{})
	old := cas[CA2019].issue(t, []string{"127.0.0.1"}, time.Now().Add(10*24*time.Hour))

	merged := storeOf(cas[CA2019], cas[CARSA2048G1], cas[CAECC384G1])
	oldOnly := storeOf(cas[CA2019])

	tests := []struct {
		name       string
		leaf       *leaf
		opts       CheckOptions
		chainLen   int
		caID       string
		verified   bool
		verifyErr  string
		serverName string
	}{
		{name: "ecc384 verified by IP", leaf: ecc, opts: CheckOptions{TrustStore: merged}, chainLen: 1, caID: CAECC384G1, verified: true, serverName: "127.0.0.1"},
		{name: "ecc384 verified by name", leaf: ecc, opts: CheckOptions{TrustStore: merged, ServerName: "localhost"}, chainLen: 1, caID: CAECC384G1, verified: true, serverName: "localhost"},
		{name: "intermediate sent by server", leaf: withChain, opts: CheckOptions{TrustStore: merged, ServerName: "db-1.test"}, chainLen: 2, caID: CARSA2048G1, verified: true, serverName: "db-1.test"},
		{name: "old CA only, new server cert", leaf: ecc, opts: CheckOptions{TrustStore: oldOnly}, chainLen: 1, caID: CAECC384G1, verifyErr: "unknown authority"},
		{name: "old CA", leaf: old, opts: CheckOptions{TrustStore: oldOnly}, chainLen: 1, caID: CA2019, verified: true, serverName: "127.0.0.1"},
		{name: "hostname mismatch", leaf: wrongName, opts: CheckOptions{TrustStore: merged}, chainLen: 1, caID: CAECC384G1, verifyErr: "127.0.0.1"},
		{name: "hostname verification off", leaf: wrongName, opts: CheckOptions{TrustStore: merged, ServerName: "-"}, chainLen: 1, caID: CAECC384G1, verified: true},
		{name: "no trust store", leaf: ecc, opts: CheckOptions{}, chainLen: 1, caID: CAECC384G1, verifyErr: ErrNoTrustStore.Error(), serverName: "127.0.0.1"},
		{name: "expired by then", leaf: old, opts: CheckOptions{TrustStore: oldOnly, Time: time.Now().Add(30 * 24 * time.Hour)}, chainLen: 1, caID: CA2019, verifyErr: "expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSSLResponder(t, tc.leaf)
			opts := tc.opts
			res, err := CheckServer(context.Background(), srv.addr(), &opts)
			if err != nil {
				t.Fatalf("CheckServer: %v", err)
			}
			if len(res.Chain) != tc.chainLen || len(res.Certificates) != tc.chainLen {
				t.Errorf("chain length = %d, want %d", len(res.Chain), tc.chainLen)
			}
			if res.CAIdentifier != tc.caID {
				t.Errorf("CAIdentifier = %q, want %q", res.CAIdentifier, tc.caID)
			}
			if res.Verified != tc.verified {
				t.Errorf("Verified = %v (%v), want %v", res.Verified, res.VerifyError, tc.verified)
			}
			if tc.verified && (res.VerifyError != nil || len(res.VerifiedChain) < 2) {
				t.Errorf("verified check: error %v, verified chain %d long", res.VerifyError, len(res.VerifiedChain))
			}
			if tc.verifyErr != "" && (res.VerifyError == nil || !strings.Contains(res.VerifyError.Error(), tc.verifyErr)) {
				t.Errorf("VerifyError = %v, want it to mention %q", res.VerifyError, tc.verifyErr)
			}
			if tc.verified || tc.serverName != "" {
				if res.ServerName != tc.serverName {
					t.Errorf("ServerName = %q, want %q", res.ServerName, tc.serverName)
				}
			}
			if !res.NotAfter.Equal(tc.leaf.cert.NotAfter) || res.Issuer != tc.leaf.cert.Issuer.String() {
				t.Errorf("NotAfter %v / Issuer %q do not match the leaf", res.NotAfter, res.Issuer)
			}
			if !strings.HasPrefix(res.TLSVersion, "TLS 1.") || res.CipherSuite == "" {
				t.Errorf("TLSVersion %q, CipherSuite %q", res.TLSVersion, res.CipherSuite)
			}
			srv.ln.Close()
			srv.wg.Wait()
			srv.mu.Lock()
			defer srv.mu.Unlock()
			want := []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}
			if len(srv.requests) != 1 || string(srv.requests[0]) != string(want) {
				t.Errorf("requests = %x, want one SSLRequest %x", srv.requests, want)
			}
			if binary.BigEndian.Uint32(want[4:]) != sslRequestCode {
				t.Errorf("SSLRequest code mismatch")
			}
			for _, a := range srv.after {
				if len(a) != 0 {
					t.Errorf("client sent %d bytes after the handshake; the check must not log in", len(a))
				}
			}
		})
	}
}

func TestCheckServerFailures(t *testing.T) {
	t.Run("ssl off", func(t *testing.T) {
		srv := newSSLResponder(t, nil, func(r *sslResponder) { r.answer = 'N' })
		_, err := CheckServer(context.Background(), srv.addr(), nil)
		if !errors.Is(err, ErrTLSNotSupported) {
			t.Errorf("error = %v, want ErrTLSNotSupported", err)
		}
	})
	t.Run("not postgres", func(t *testing.T) {
		srv := newSSLResponder(t, nil, func(r *sslResponder) { r.answer = 'H' })
		_, err := CheckServer(context.Background(), srv.addr(), nil)
		if err == nil || !strings.Contains(err.Error(), "0x48") {
			t.Errorf("error = %v, want it to show the unexpected byte", err)
		}
	})
	t.Run("no answer honours the context", func(t *testing.T) {
		srv := newSSLResponder(t, nil, func(r *sslResponder) { r.silent = true })
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := CheckServer(ctx, srv.addr(), nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("no answer honours cancel", func(t *testing.T) {
		srv := newSSLResponder(t, nil, func(r *sslResponder) { r.silent = true })
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		_, err := CheckServer(ctx, srv.addr(), &CheckOptions{Timeout: time.Minute})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
	})
	t.Run("no answer with Timeout", func(t *testing.T) {
		srv := newSSLResponder(t, nil, func(r *sslResponder) { r.silent = true })
		_, err := CheckServer(context.Background(), srv.addr(), &CheckOptions{Timeout: 200 * time.Millisecond})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		_, err := CheckServer(context.Background(), addr, nil)
		if err == nil || !strings.Contains(err.Error(), "connect") {
			t.Errorf("error = %v, want a connect error", err)
		}
	})
	t.Run("bad address", func(t *testing.T) {
		_, err := CheckServer(context.Background(), "no-port", nil)
		if err == nil || !strings.Contains(err.Error(), "host:port") {
			t.Errorf("error = %v", err)
		}
	})
}
