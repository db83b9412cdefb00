package sslcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Test certificates are generated at run time; no key material is
// committed. Keys are cached per process because RSA generation is slow.

var serial atomic.Int64

type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func (ca *testCA) pem() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
}

var (
	keyMu    sync.Mutex
	keyCache = map[string][]crypto.Signer{}
)

// testKey returns the n-th cached key of a kind ("rsa" 2048 or "p384").
func testKey(t testing.TB, kind string, n int) crypto.Signer {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	for len(keyCache[kind]) <= n {
		var k crypto.Signer
		var err error
		switch kind {
		case "rsa":
			k, err = rsa.GenerateKey(rand.Reader, 2048)
		case "p384":
			k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		default:
			t.Fatalf("unknown key kind %q", kind)
		}
		if err != nil {
			t.Fatal(err)
		}
		keyCache[kind] = append(keyCache[kind], k)
	}
	return keyCache[kind][n]
}

type caSpec struct {
	cn        string
	kind      string // "rsa" or "p384"
	keyN      int
	notBefore time.Time
	notAfter  time.Time
}

// newCA makes a self-signed root CA.
func newCA(t testing.TB, s caSpec) *testCA {
	t.Helper()
	if s.kind == "" {
		s.kind = "rsa"
	}
	if s.notBefore.IsZero() {
		s.notBefore = time.Now().Add(-time.Hour)
	}
	if s.notAfter.IsZero() {
		s.notAfter = time.Now().Add(10 * 365 * 24 * time.Hour)
	}
	key := testKey(t, s.kind, s.keyN)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: s.cn, Organization: []string{"pgaurora test"}},
		NotBefore:             s.notBefore,
		NotAfter:              s.notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key}
}

// intermediate makes a CA signed by ca.
func (ca *testCA) intermediate(t testing.TB, cn string, keyN int) *testCA {
	t.Helper()
	key := testKey(t, "p384", keyN)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(5 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key}
}

type leaf struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte // leaf followed by any chain given to issue
	keyPEM  []byte
}

func (l *leaf) tlsCert() tls.Certificate {
	c, err := tls.X509KeyPair(l.certPEM, l.keyPEM)
	if err != nil {
		panic(err)
	}
	return c
}

// issue makes a server certificate for the given names (IP addresses
// become IP SANs). chain is appended to certPEM after the leaf.
func (ca *testCA) issue(t testing.TB, names []string, notAfter time.Time, chain ...*testCA) *leaf {
	t.Helper()
	if notAfter.IsZero() {
		notAfter = time.Now().Add(365 * 24 * time.Hour)
	}
	key := testKey(t, "p384", 9)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for _, c := range chain {
		certPEM = append(certPEM, c.pem()...)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &leaf{
		cert:    cert,
		key:     key,
		certPEM: certPEM,
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
	}
}

// rdsCAs are test stand-ins for the RDS CAs, with the documented common
// names (Region "test-1"), generated once per process.
var (
	rdsCAsOnce sync.Once
	rdsCAs     map[string]*testCA
)

func testRDSCAs(t testing.TB) map[string]*testCA {
	t.Helper()
	rdsCAsOnce.Do(func() {
		rdsCAs = map[string]*testCA{
			CA2019: newCA(t, caSpec{cn: "Amazon RDS Root 2019 CA", kind: "rsa", keyN: 0,
				notBefore: time.Now().Add(-5 * 365 * 24 * time.Hour), notAfter: time.Now().Add(20 * 24 * time.Hour)}),
			CARSA2048G1: newCA(t, caSpec{cn: "Amazon RDS test-1 Root CA RSA2048 G1", kind: "rsa", keyN: 1}),
			CAECC384G1:  newCA(t, caSpec{cn: "Amazon RDS test-1 Root CA ECC384 G1", kind: "p384", keyN: 0}),
		}
	})
	return rdsCAs
}

// storeOf returns a trust store holding the test CAs' certificates.
func storeOf(cas ...*testCA) *TrustStore {
	certs := make([]*x509.Certificate, len(cas))
	for i, ca := range cas {
		certs[i] = ca.cert
	}
	return NewTrustStore(certs...)
}
