package sslcert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TrustStore is an ordered set of trusted certificates (normally root and
// intermediate CAs) without duplicates: what a client passes as
// sslrootcert. It is immutable; Merge and WithCatalog return new stores. A
// TrustStore is safe for concurrent use.
type TrustStore struct {
	certs      []*x509.Certificate
	skipped    []SkippedBlock
	duplicates int
	catalog    *Catalog
}

// NewTrustStore returns a store holding the given certificates, in order,
// without duplicates.
func NewTrustStore(certs ...*x509.Certificate) *TrustStore {
	s := &TrustStore{}
	seen := make(map[string]bool, len(certs))
	for _, c := range certs {
		if c == nil {
			continue
		}
		if seen[string(c.Raw)] {
			s.duplicates++
			continue
		}
		seen[string(c.Raw)] = true
		s.certs = append(s.certs, c)
	}
	return s
}

// LoadFile reads and parses a PEM bundle file (see ParsePEM).
func LoadFile(path string) (*TrustStore, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sslcert: load trust store: %w", err)
	}
	s, err := ParsePEM(data)
	if err != nil {
		return nil, fmt.Errorf("sslcert: load trust store %s: %w", path, err)
	}
	return s, nil
}

// WithCatalog returns a copy of the store that names RDS CAs with cat
// (nil means DefaultCatalog). Use a catalog from RefreshCatalog to match
// CAs by their exact thumbprints.
func (s *TrustStore) WithCatalog(cat *Catalog) *TrustStore {
	c := *s
	c.catalog = cat
	return &c
}

// Len returns the number of certificates.
func (s *TrustStore) Len() int { return len(s.certs) }

// Certificates returns the store's certificates in order. The slice is a
// copy; the certificates are shared and must not be modified.
func (s *TrustStore) Certificates() []*x509.Certificate { return slices.Clone(s.certs) }

// Skipped returns the non-certificate PEM blocks ParsePEM ignored.
func (s *TrustStore) Skipped() []SkippedBlock { return slices.Clone(s.skipped) }

// Duplicates returns how many certificates identical to an earlier one were
// dropped while the store was built.
func (s *TrustStore) Duplicates() int { return s.duplicates }

// CertInfo is what a person needs to know about one certificate.
type CertInfo struct {
	// Subject and Issuer are the distinguished names in RFC 2253 form.
	Subject, Issuer string
	// CommonName is the subject common name.
	CommonName string
	// SerialNumber is the serial number in hex.
	SerialNumber string
	// KeyAlgorithm is "RSA", "ECDSA", "Ed25519" or "unknown".
	KeyAlgorithm string
	// KeySize is the key size in bits (the curve size for ECDSA).
	KeySize int
	// SignatureAlgorithm is how the issuer signed this certificate, for
	// example "SHA384-RSA" or "ECDSA-SHA384".
	SignatureAlgorithm string
	// NotBefore and NotAfter bound the certificate's validity.
	NotBefore, NotAfter time.Time
	// Thumbprint is the SHA-1 thumbprint, lower-case hex.
	Thumbprint string
	// IsCA says the certificate may sign others (basic constraints).
	IsCA bool
	// SelfSigned says subject and issuer are the same and the certificate
	// verifies its own signature: a root.
	SelfSigned bool
	// DNSNames and IPAddresses are the subject alternative names.
	DNSNames, IPAddresses []string
	// CAIdentifier is the RDS CA this certificate is, for CA
	// certificates the catalog recognises ("" otherwise).
	CAIdentifier string
	// IssuerCAIdentifier is the RDS CA named by the issuer, "" when not
	// recognised. For a server certificate this is the CA that issued it.
	IssuerCAIdentifier string
}

// Describe summarises a certificate; cat names RDS CAs (nil means
// DefaultCatalog).
func Describe(cert *x509.Certificate, cat *Catalog) CertInfo {
	info := CertInfo{
		Subject:            cert.Subject.String(),
		Issuer:             cert.Issuer.String(),
		CommonName:         cert.Subject.CommonName,
		SignatureAlgorithm: cert.SignatureAlgorithm.String(),
		NotBefore:          cert.NotBefore,
		NotAfter:           cert.NotAfter,
		Thumbprint:         Thumbprint(cert),
		IsCA:               cert.IsCA,
		DNSNames:           slices.Clone(cert.DNSNames),
		IssuerCAIdentifier: cat.IdentifyName(cert.Issuer.CommonName),
	}
	if cert.SerialNumber != nil {
		info.SerialNumber = cert.SerialNumber.Text(16)
	}
	for _, ip := range cert.IPAddresses {
		info.IPAddresses = append(info.IPAddresses, ip.String())
	}
	info.KeyAlgorithm, info.KeySize = keyInfo(cert.PublicKey)
	if bytes.Equal(cert.RawSubject, cert.RawIssuer) && cert.CheckSignatureFrom(cert) == nil {
		info.SelfSigned = true
	}
	if cert.IsCA {
		info.CAIdentifier = cat.Identify(cert)
		if info.SelfSigned {
			info.IssuerCAIdentifier = info.CAIdentifier
		}
	}
	return info
}

func keyInfo(pub any) (string, int) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ECDSA", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "Ed25519", 256
	default:
		return "unknown", 0
	}
}

// List describes every certificate in the store, in order.
func (s *TrustStore) List() []CertInfo {
	out := make([]CertInfo, len(s.certs))
	for i, c := range s.certs {
		out[i] = Describe(c, s.catalog)
	}
	return out
}

// ExpiringBefore describes the certificates whose NotAfter is before t,
// soonest first. Expired certificates are included when t is now or later.
func (s *TrustStore) ExpiringBefore(t time.Time) []CertInfo {
	var out []CertInfo
	for _, c := range s.certs {
		if c.NotAfter.Before(t) {
			out = append(out, Describe(c, s.catalog))
		}
	}
	slices.SortStableFunc(out, func(a, b CertInfo) int { return a.NotAfter.Compare(b.NotAfter) })
	return out
}

// CertificatesForCA returns the store's CA certificates that the catalog
// identifies as the RDS CA id.
func (s *TrustStore) CertificatesForCA(id string) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range s.certs {
		if c.IsCA && s.catalog.Identify(c) == id {
			out = append(out, c)
		}
	}
	return out
}

// TrustsCA reports whether the store holds a certificate of the RDS CA id
// (identified through the store's catalog, see Catalog.Identify) that is
// valid at t. A zero t means now.
func (s *TrustStore) TrustsCA(id string, t time.Time) bool {
	if t.IsZero() {
		t = time.Now()
	}
	for _, c := range s.CertificatesForCA(id) {
		if !t.Before(c.NotBefore) && !t.After(c.NotAfter) {
			return true
		}
	}
	return false
}

// Trusts reports whether cert is in the store or chains to a certificate
// in it, at the current time, for any key usage. Use VerifyChain for
// server certificates with hostname verification.
func (s *TrustStore) Trusts(cert *x509.Certificate) bool {
	if cert == nil {
		return false
	}
	_, err := s.verify([]*x509.Certificate{cert}, "", time.Time{}, x509.ExtKeyUsageAny)
	return err == nil
}

// VerifyChain verifies a server's certificate chain (leaf first, then the
// intermediates it sent) against the store, as libpq's sslmode=verify-full
// and Go's TLS client do: the chain must lead to a certificate in the
// store, every certificate must be valid at t (zero means now), the leaf
// must allow server authentication, and, when dnsName is not empty, the
// leaf must name it (a host name or an IP address). It returns the
// verified chains.
func (s *TrustStore) VerifyChain(chain []*x509.Certificate, dnsName string, t time.Time) ([][]*x509.Certificate, error) {
	return s.verify(chain, dnsName, t, x509.ExtKeyUsageServerAuth)
}

func (s *TrustStore) verify(chain []*x509.Certificate, dnsName string, t time.Time, usage x509.ExtKeyUsage) ([][]*x509.Certificate, error) {
	if len(chain) == 0 || chain[0] == nil {
		return nil, errors.New("sslcert: verify: empty certificate chain")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		if c != nil {
			inter.AddCert(c)
		}
	}
	chains, err := chain[0].Verify(x509.VerifyOptions{
		DNSName:       dnsName,
		Roots:         s.Pool(),
		Intermediates: inter,
		CurrentTime:   t,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
	if err != nil {
		return nil, fmt.Errorf("sslcert: verify certificate %q: %w", chain[0].Subject.CommonName, err)
	}
	return chains, nil
}

// Merge returns a store with the receiver's certificates followed by those
// of others that it does not already hold (compared by their DER bytes).
// Use it to add new CAs to a bundle while keeping the old ones, the first
// step of a CA rotation. The result uses the receiver's catalog.
func (s *TrustStore) Merge(others ...*TrustStore) *TrustStore {
	all := slices.Clone(s.certs)
	for _, o := range others {
		if o != nil {
			all = append(all, o.certs...)
		}
	}
	m := NewTrustStore(all...)
	m.catalog = s.catalog
	return m
}

// Merge returns the union of the stores, in order, without duplicates. It
// returns an empty store when given none.
func Merge(stores ...*TrustStore) *TrustStore {
	if len(stores) == 0 || stores[0] == nil {
		return (&TrustStore{}).Merge(stores...)
	}
	return stores[0].Merge(stores[1:]...)
}

// PEM returns the store as a PEM bundle, one CERTIFICATE block per
// certificate, each preceded by a "# subject" comment line (which parsers,
// libpq included, ignore).
func (s *TrustStore) PEM() []byte {
	var b bytes.Buffer
	_, _ = s.WriteTo(&b)
	return b.Bytes()
}

// WriteTo writes the store as a PEM bundle to w (see PEM).
func (s *TrustStore) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for _, c := range s.certs {
		m, err := fmt.Fprintf(w, "# %s\n", c.Subject.String())
		n += int64(m)
		if err != nil {
			return n, fmt.Errorf("sslcert: write trust store: %w", err)
		}
		enc := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		m, err = w.Write(enc)
		n += int64(m)
		if err != nil {
			return n, fmt.Errorf("sslcert: write trust store: %w", err)
		}
	}
	return n, nil
}

// WriteFile writes the store as a PEM bundle to path, atomically (a
// temporary file in the same directory renamed into place), with mode
// 0644. The file is what libpq and pgx take as sslrootcert, for example
// "host=... sslmode=verify-full sslrootcert=/path/to/bundle.pem".
func (s *TrustStore) WriteFile(path string) error {
	if len(s.certs) == 0 {
		return fmt.Errorf("sslcert: write trust store %s: the store is empty", path)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("sslcert: write trust store %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("sslcert: write trust store %s: %w", path, err)
	}
	if _, err := f.Write(s.PEM()); err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sslcert: write trust store %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sslcert: write trust store %s: %w", path, err)
	}
	return nil
}

// Pool returns a certificate pool holding every certificate of the store
// as a trust anchor, as pgx does with sslrootcert.
func (s *TrustStore) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range s.certs {
		p.AddCert(c)
	}
	return p
}

// TLSConfig returns a client TLS configuration equivalent to
// sslmode=verify-full with this store as sslrootcert: the server's chain
// must lead to the store and its certificate must name serverName (the
// host the client connects to: an endpoint name or an IP address). TLS 1.2
// is the minimum, as on Aurora PostgreSQL.
func (s *TrustStore) TLSConfig(serverName string) *tls.Config {
	return &tls.Config{
		RootCAs:    s.Pool(),
		ServerName: serverName,
		MinVersion: tls.VersionTLS12,
	}
}

// ConfigurePGX makes a parsed pgx connection configuration verify-full
// against the store: every host (cfg.Host and each fallback) gets a TLS
// configuration from TLSConfig with its own host name, and plain-text
// fallbacks (which sslmode=prefer or allow add) are removed. Host names
// starting with "/" are Unix sockets, which do not use TLS; they are left
// as they are.
func (s *TrustStore) ConfigurePGX(cfg *pgconn.Config) {
	if cfg == nil {
		return
	}
	if !isUnixSocket(cfg.Host) {
		cfg.TLSConfig = s.TLSConfig(cfg.Host)
	}
	var fbs []*pgconn.FallbackConfig
	seen := map[string]bool{}
	for _, fb := range cfg.Fallbacks {
		if fb == nil {
			continue
		}
		if !isUnixSocket(fb.Host) {
			if fb.TLSConfig == nil {
				continue // a plain-text fallback
			}
			fb.TLSConfig = s.TLSConfig(fb.Host)
		}
		key := fmt.Sprintf("%s:%d", fb.Host, fb.Port)
		if seen[key] {
			continue
		}
		seen[key] = true
		fbs = append(fbs, fb)
	}
	cfg.Fallbacks = fbs
}

func isUnixSocket(host string) bool { return len(host) > 0 && host[0] == '/' }
