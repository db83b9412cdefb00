package sslcert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// ErrTLSNotSupported is returned (wrapped) by CheckServer when the server
// answers the SSLRequest with 'N': it has ssl off.
var ErrTLSNotSupported = errors.New("server does not accept TLS connections (ssl = off)")

// ErrNoTrustStore is the VerifyError of a check made without a trust
// store: the chain was captured but nothing was verified.
var ErrNoTrustStore = errors.New("no trust store given; chain not verified")

// sslRequestCode is the SSLRequest code: 1234 in the high 16 bits, 5679 in
// the low 16 bits.
const sslRequestCode = 80877103

// DefaultCheckTimeout bounds a server check when the context has no
// deadline.
const DefaultCheckTimeout = 10 * time.Second

// CheckOptions configures CheckServer. The zero value is usable.
type CheckOptions struct {
	// TrustStore is what the chain is verified against. Nil means the
	// chain is only captured and VerifyError is ErrNoTrustStore.
	TrustStore *TrustStore
	// ServerName is the name the server certificate must carry (the host
	// name a client connects to). Empty means the host part of the
	// address. "-" disables hostname verification (verify-ca).
	ServerName string
	// Catalog names the RDS CA that issued the certificate. Nil means the
	// trust store's catalog, or DefaultCatalog.
	Catalog *Catalog
	// Time is the time the chain is verified at; zero means now.
	Time time.Time
	// Timeout bounds the check when ctx has no deadline; zero means
	// DefaultCheckTimeout.
	Timeout time.Duration
	// DialContext opens the TCP connection; nil means a net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// ServerCheck is what CheckServer found.
type ServerCheck struct {
	// Address is the host:port that was checked.
	Address string
	// ServerName is the name the certificate was verified for ("" when
	// hostname verification was off).
	ServerName string
	// TLSVersion and CipherSuite are the negotiated protocol version
	// ("TLS 1.3") and cipher suite.
	TLSVersion, CipherSuite string
	// Chain describes the certificates the server presented, leaf first.
	Chain []CertInfo
	// Certificates are those certificates, leaf first.
	Certificates []*x509.Certificate
	// Issuer is the distinguished name of the leaf's issuer.
	Issuer string
	// CAIdentifier is the RDS CA that issued the server certificate, ""
	// when the catalog does not recognise it.
	CAIdentifier string
	// NotAfter is when the server certificate expires.
	NotAfter time.Time
	// Verified says the chain verifies against the trust store, with
	// hostname verification unless it was turned off.
	Verified bool
	// VerifyError says why verification failed; nil when Verified.
	VerifyError error
	// VerifiedChain describes the chain that verified, leaf first and the
	// trust store's anchor last; nil when not verified.
	VerifiedChain []CertInfo
}

// CheckServer connects to a PostgreSQL server at addr (host:port), sends
// the SSLRequest, performs the TLS handshake and returns the certificate
// chain the server presents, the CA that issued it, its expiry, and
// whether it verifies against opts.TrustStore with hostname verification.
//
// It never logs in: after the handshake the connection is closed without
// a startup message, so no session starts and nothing is authenticated;
// PostgreSQL logs nothing about it unless log_connections is on (which
// logs every connection it receives). The handshake itself
// accepts any certificate so that an untrusted one can still be reported;
// verification is done afterwards on the captured chain, and its outcome
// is reported in Verified and VerifyError rather than as an error. The
// returned error is for failures to get a chain at all: the connection,
// a server without TLS (ErrTLSNotSupported), a failed handshake, or the
// context ending. The check is bounded by ctx, or by opts.Timeout when ctx
// has no deadline.
func CheckServer(ctx context.Context, addr string, opts *CheckOptions) (*ServerCheck, error) {
	if opts == nil {
		opts = &CheckOptions{}
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("sslcert: check server: address %q must be host:port: %w", addr, err)
	}
	serverName := opts.ServerName
	switch serverName {
	case "":
		serverName = host
	case "-":
		serverName = ""
	}
	if _, ok := ctx.Deadline(); !ok {
		timeout := opts.Timeout
		if timeout <= 0 {
			timeout = DefaultCheckTimeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	wrap := func(step string, err error) error {
		ctxErr := ctx.Err()
		if ctxErr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
			// The connection deadline is the context's; it can fire a
			// moment before the context reports it.
			if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl.Add(-10*time.Millisecond)) {
				ctxErr = context.DeadlineExceeded
			}
		}
		if ctxErr != nil {
			return fmt.Errorf("sslcert: check server %s: %s: %w (%v)", addr, step, ctxErr, err)
		}
		return fmt.Errorf("sslcert: check server %s: %s: %w", addr, step, err)
	}

	dial := opts.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, wrap("connect", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var req [8]byte
	binary.BigEndian.PutUint32(req[0:4], 8)
	binary.BigEndian.PutUint32(req[4:8], sslRequestCode)
	if _, err := conn.Write(req[:]); err != nil {
		return nil, wrap("send SSLRequest", err)
	}
	var resp [1]byte
	if _, err := io.ReadFull(conn, resp[:]); err != nil {
		return nil, wrap("read SSLRequest response", err)
	}
	switch resp[0] {
	case 'S':
	case 'N':
		return nil, wrap("SSLRequest", ErrTLSNotSupported)
	case 'E':
		return nil, wrap("SSLRequest", errors.New("server answered with an error message (not a PostgreSQL server that supports SSLRequest?)"))
	default:
		return nil, wrap("SSLRequest", fmt.Errorf("unexpected response byte 0x%02x (not a PostgreSQL server?)", resp[0]))
	}

	sni := host
	if net.ParseIP(host) != nil {
		sni = ""
	}
	tc := tls.Client(conn, &tls.Config{
		ServerName: sni,
		// The chain is verified below against the caller's trust store,
		// so that an untrusted chain can be captured and reported.
		InsecureSkipVerify: true, //nolint:gosec // verified by hand below
		MinVersion:         tls.VersionTLS12,
	})
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, wrap("TLS handshake", err)
	}
	state := tc.ConnectionState()
	_ = tc.Close()
	if len(state.PeerCertificates) == 0 {
		return nil, wrap("TLS handshake", errors.New("server presented no certificate"))
	}

	cat := opts.Catalog
	if cat == nil && opts.TrustStore != nil {
		cat = opts.TrustStore.catalog
	}
	res := &ServerCheck{
		Address:      addr,
		ServerName:   serverName,
		TLSVersion:   tls.VersionName(state.Version),
		CipherSuite:  tls.CipherSuiteName(state.CipherSuite),
		Certificates: state.PeerCertificates,
	}
	analyseChain(res, opts.TrustStore, cat, serverName, opts.Time)
	return res, nil
}

// analyseChain fills the chain description, issuer, CA identifier and
// verification outcome of res from res.Certificates.
func analyseChain(res *ServerCheck, store *TrustStore, cat *Catalog, serverName string, t time.Time) {
	leaf := res.Certificates[0]
	res.Chain = make([]CertInfo, len(res.Certificates))
	for i, c := range res.Certificates {
		res.Chain[i] = Describe(c, cat)
	}
	res.Issuer = leaf.Issuer.String()
	res.NotAfter = leaf.NotAfter

	var verified []*x509.Certificate
	if store == nil {
		res.VerifyError = ErrNoTrustStore
	} else if chains, err := store.VerifyChain(res.Certificates, serverName, t); err != nil {
		res.VerifyError = err
	} else {
		res.Verified = true
		verified = chains[0]
		for _, c := range verified {
			res.VerifiedChain = append(res.VerifiedChain, Describe(c, cat))
		}
	}

	// Which RDS CA issued the leaf: the first recognised CA certificate
	// above the leaf in the verified chain, then in the presented chain,
	// then in the trust store by issuer name; the leaf's issuer name last.
	var candidates []*x509.Certificate
	if len(verified) > 1 {
		candidates = append(candidates, verified[1:]...)
	}
	candidates = append(candidates, res.Certificates[1:]...)
	if store != nil {
		for _, c := range store.certs {
			if string(c.RawSubject) == string(leaf.RawIssuer) {
				candidates = append(candidates, c)
			}
		}
	}
	for _, c := range candidates {
		if id := cat.Identify(c); id != "" {
			res.CAIdentifier = id
			return
		}
	}
	res.CAIdentifier = cat.IdentifyName(leaf.Issuer.CommonName)
}
