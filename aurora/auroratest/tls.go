package auroratest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"

	"github.com/pgaurora/pgaurora/internal/pgserver"
)

// TLS and CA certificates. The emulator holds a local certificate
// authority for each RDS CA identifier it knows, created once per process:
//
//	rds-ca-rsa2048-g1  RSA 2048, SHA-256 (the default for new instances)
//	rds-ca-rsa4096-g1  RSA 4096, SHA-384
//	rds-ca-ecc384-g1   ECDSA P-384, SHA-384
//	rds-ca-2019        RSA 2048, SHA-256, expiring 30 days after the process
//	                   started, as rds-ca-2019 did in August 2024
//
// Every instance's server gets a certificate from its CA whose SANs are
// localhost, the instance and cluster identifiers, the instance's own
// address and every address of 127.0.0.0/24 (the cluster endpoints:
// writer 127.0.0.1, reader 127.0.0.2, custom endpoints from 127.0.0.3), so
// sslmode=verify-full against CABundlePEM works on every address Describe
// reports, as Aurora's certificates name its instance and cluster DNS
// names. Server keys are RSA for the RSA CAs and ECDSA P-384 for
// the ECC CA; one key of each kind serves every certificate of the process.

const (
	caRSA2048 = "rds-ca-rsa2048-g1"
	caRSA4096 = "rds-ca-rsa4096-g1"
	caECC384  = "rds-ca-ecc384-g1"
	caOld2019 = "rds-ca-2019"
)

// caIDs lists the CAs in the order DescribeCertificates reports them.
var caIDs = []string{caOld2019, caECC384, caRSA2048, caRSA4096}

type localCA struct {
	id      string
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
	leafKey crypto.Signer // the key of the server certificates it issues
	thumb   string        // SHA-1 of the DER certificate, hex
}

type caSet struct {
	byID   map[string]*localCA
	bundle []byte
}

var caCache struct {
	once sync.Once
	set  *caSet
	err  error
}

// loadCAs returns the process-wide CAs, creating them on first use.
func loadCAs() (*caSet, error) {
	caCache.once.Do(func() { caCache.set, caCache.err = newCASet(time.Now()) })
	return caCache.set, caCache.err
}

func newCASet(now time.Time) (*caSet, error) {
	type spec struct {
		id, cn         string
		newKey         func() (crypto.Signer, error)
		sig            x509.SignatureAlgorithm
		from, till     time.Time
		leafKeyFromRSA bool
	}
	rsaKey := func(bits int) func() (crypto.Signer, error) {
		return func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, bits) }
	}
	ecKey := func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P384(), rand.Reader) }
	specs := []spec{
		{caRSA2048, "Amazon RDS us-east-1 Root CA RSA2048 G1", rsaKey(2048), x509.SHA256WithRSA, now.Add(-24 * time.Hour), now.AddDate(40, 0, 0), true},
		{caRSA4096, "Amazon RDS us-east-1 Root CA RSA4096 G1", rsaKey(4096), x509.SHA384WithRSA, now.Add(-24 * time.Hour), now.AddDate(100, 0, 0), true},
		{caECC384, "Amazon RDS us-east-1 Root CA ECC384 G1", ecKey, x509.ECDSAWithSHA384, now.Add(-24 * time.Hour), now.AddDate(100, 0, 0), false},
		{caOld2019, "Amazon RDS Root 2019 CA", rsaKey(2048), x509.SHA256WithRSA, now.AddDate(-5, 0, 0), now.AddDate(0, 0, 30), true},
	}
	// Key generation is the slow part (RSA 4096): do it in parallel.
	keys := make([]crypto.Signer, len(specs)+2)
	errs := make([]error, len(specs)+2)
	var wg sync.WaitGroup
	gen := func(i int, f func() (crypto.Signer, error)) {
		wg.Add(1)
		go func() { defer wg.Done(); keys[i], errs[i] = f() }()
	}
	for i, s := range specs {
		gen(i, s.newKey)
	}
	gen(len(specs), rsaKey(2048)) // server key under the RSA CAs
	gen(len(specs)+1, ecKey)      // server key under the ECC CA
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("auroratest: generating CA keys: %w", err)
	}
	set := &caSet{byID: map[string]*localCA{}}
	for i, s := range specs {
		tmpl := &x509.Certificate{
			SerialNumber: serial(),
			Subject: pkix.Name{CommonName: s.cn, Organization: []string{"Amazon Web Services, Inc."},
				OrganizationalUnit: []string{"Amazon RDS"}, Country: []string{"US"}, Province: []string{"WA"}, Locality: []string{"Seattle"}},
			NotBefore: s.from, NotAfter: s.till,
			IsCA: true, BasicConstraintsValid: true,
			KeyUsage:           x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
			SignatureAlgorithm: s.sig,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, keys[i].Public(), keys[i])
		if err != nil {
			return nil, fmt.Errorf("auroratest: creating CA %s: %w", s.id, err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		sum := sha1.Sum(der)
		ca := &localCA{id: s.id, cert: cert, key: keys[i], thumb: hex.EncodeToString(sum[:]),
			certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
		ca.leafKey = keys[len(specs)+1]
		if s.leafKeyFromRSA {
			ca.leafKey = keys[len(specs)]
		}
		set.byID[s.id] = ca
	}
	var bundle bytes.Buffer
	for _, id := range caIDs {
		bundle.Write(set.byID[id].certPEM)
	}
	set.bundle = bundle.Bytes()
	return set, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	return n.Add(n, big.NewInt(1))
}

// issue creates a server certificate for an instance.
func (ca *localCA) issue(in *instance) (*pgserver.TLS, time.Time, error) {
	till := time.Now().AddDate(1, 0, 0)
	if ca.cert.NotAfter.Before(till) {
		till = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: in.id, Organization: []string{"Amazon.com"}, OrganizationalUnit: []string{"RDS"}, Country: []string{"US"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     till,
		DNSNames:     []string{"localhost", in.id, in.cluster.id},
		IPAddresses:  certIPs(in.address),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, ca.leafKey.Public(), ca.key)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("auroratest: issuing the server certificate of %s from %s: %w", in.id, ca.id, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.leafKey)
	if err != nil {
		return nil, time.Time{}, err
	}
	return &pgserver.TLS{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, till, nil
}

// certIPs are the IP addresses an instance's certificate names: its own
// and 127.0.0.1 to 127.0.0.254, where the cluster endpoints that forward
// to it listen.
func certIPs(own string) []net.IP {
	ips := []net.IP{net.ParseIP(own)}
	for i := 1; i < 255; i++ {
		ips = append(ips, net.IPv4(127, 0, 0, byte(i)))
	}
	return ips
}

// issueLocked gives an instance a new server certificate from a CA and
// records it.
func (e *Emulator) issue(st *state, in *instance, caID string) error {
	ca, ok := e.cas.byID[caID]
	if !ok {
		return fmt.Errorf("auroratest: unknown CA %q", caID)
	}
	t, till, err := ca.issue(in)
	if err != nil {
		return err
	}
	in.ca, in.tls, in.certValidTill = caID, t, till
	return nil
}

// serverTLS returns the TLS material an instance's server runs with.
func (e *Emulator) serverTLS(in *instance) *pgserver.TLS {
	st := e.lock()
	defer st.unlock()
	return in.tls
}

// CABundlePEM returns the certificates of every CA the emulator uses, PEM
// encoded: what a client should trust (sslrootcert) to verify any
// emulated instance or endpoint.
func (e *Emulator) CABundlePEM() []byte { return bytes.Clone(e.cas.bundle) }

// CACertificatePEM returns one CA's certificate, PEM encoded, or nil for
// an identifier the emulator does not know.
func (e *Emulator) CACertificatePEM(id string) []byte {
	if ca, ok := e.cas.byID[id]; ok {
		return bytes.Clone(ca.certPEM)
	}
	return nil
}
