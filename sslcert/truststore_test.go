package sslcert

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestTrustStoreList(t *testing.T) {
	cas := testRDSCAs(t)
	s := storeOf(cas[CARSA2048G1], cas[CAECC384G1])
	got := s.List()
	if len(got) != 2 {
		t.Fatalf("List returned %d entries", len(got))
	}
	sum := sha1.Sum(cas[CARSA2048G1].cert.Raw)
	type row struct {
		CN, Alg string
		Size    int
		Thumb   string
		CA, SS  bool
		ID      string
	}
	want := []row{
		{"Amazon RDS test-1 Root CA RSA2048 G1", "RSA", 2048, hex.EncodeToString(sum[:]), true, true, CARSA2048G1},
		{"Amazon RDS test-1 Root CA ECC384 G1", "ECDSA", 384, Thumbprint(cas[CAECC384G1].cert), true, true, CAECC384G1},
	}
	var rows []row
	for _, ci := range got {
		rows = append(rows, row{ci.CommonName, ci.KeyAlgorithm, ci.KeySize, ci.Thumbprint, ci.IsCA, ci.SelfSigned, ci.CAIdentifier})
		if ci.NotAfter.IsZero() || ci.NotBefore.IsZero() || !strings.Contains(ci.Subject, "CN=") || ci.SerialNumber == "" {
			t.Errorf("incomplete info: %+v", ci)
		}
		if ci.IssuerCAIdentifier != ci.CAIdentifier {
			t.Errorf("root %s: IssuerCAIdentifier %q != CAIdentifier %q", ci.CommonName, ci.IssuerCAIdentifier, ci.CAIdentifier)
		}
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if len(sum) != 20 || len(got[0].Thumbprint) != 40 {
		t.Errorf("thumbprint %q is not SHA-1 hex", got[0].Thumbprint)
	}
}

func TestTrustsCA(t *testing.T) {
	cas := testRDSCAs(t)
	other := newCA(t, caSpec{cn: "local emulator CA", kind: "p384", keyN: 2})
	expired := newCA(t, caSpec{cn: "Amazon RDS old-1 Root CA RSA4096 G1", kind: "rsa", keyN: 0,
		notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-24 * time.Hour)})
	s := storeOf(cas[CA2019], cas[CAECC384G1], other, expired)
	now := time.Now()
	tests := []struct {
		id   string
		at   time.Time
		cat  *Catalog
		want bool
	}{
		{CA2019, now, nil, true},
		{CA2019, now.Add(60 * 24 * time.Hour), nil, false}, // expired by then
		{CAECC384G1, now, nil, true},
		{CARSA2048G1, now, nil, false},
		{CARSA4096G1, now, nil, false}, // only an expired one
		{CARSA4096G1, now.Add(-36 * time.Hour), nil, true},
		{"local-ca", now, nil, false},
		{"local-ca", now, NewCatalog(CA{ID: "local-ca", Thumbprint: Thumbprint(other.cert)}), true},
	}
	for _, tc := range tests {
		if got := s.WithCatalog(tc.cat).TrustsCA(tc.id, tc.at); got != tc.want {
			t.Errorf("TrustsCA(%s, %v) = %v, want %v", tc.id, tc.at.Sub(now).Round(time.Hour), got, tc.want)
		}
	}
}

func TestTrustsAndVerifyChain(t *testing.T) {
	cas := testRDSCAs(t)
	root := cas[CARSA2048G1]
	sub := root.intermediate(t, "Amazon RDS test-1 Subordinate CA RSA2048 G1.A.1", 3)
	l := sub.issue(t, []string{"db-1.cluster.test", "127.0.0.1"}, time.Time{})
	s := storeOf(root)

	if !s.Trusts(root.cert) {
		t.Error("store does not trust its own root")
	}
	if !s.Trusts(sub.cert) {
		t.Error("store does not trust an intermediate signed by its root")
	}
	if s.Trusts(l.cert) {
		t.Error("store trusts a leaf without its intermediate")
	}
	if storeOf(cas[CAECC384G1]).Trusts(root.cert) {
		t.Error("unrelated store trusts the root")
	}
	chain := []*x509.Certificate{l.cert, sub.cert}
	for _, name := range []string{"db-1.cluster.test", "127.0.0.1", ""} {
		if _, err := s.VerifyChain(chain, name, time.Time{}); err != nil {
			t.Errorf("VerifyChain(%q): %v", name, err)
		}
	}
	if _, err := s.VerifyChain(chain, "other.test", time.Time{}); err == nil || !strings.Contains(err.Error(), "other.test") {
		t.Errorf("VerifyChain with wrong host: %v, want a hostname error", err)
	}
	if _, err := s.VerifyChain(chain, "db-1.cluster.test", time.Now().Add(2*365*24*time.Hour)); err == nil {
		t.Error("VerifyChain after expiry succeeded")
	}
	if _, err := s.VerifyChain(nil, "", time.Time{}); err == nil {
		t.Error("VerifyChain(nil) succeeded")
	}
}

func TestMergeAndExpiring(t *testing.T) {
	cas := testRDSCAs(t)
	old := storeOf(cas[CA2019], cas[CARSA2048G1])
	newer := storeOf(cas[CARSA2048G1], cas[CAECC384G1])
	m := old.Merge(newer)
	var ids []string
	for _, ci := range m.List() {
		ids = append(ids, ci.CAIdentifier)
	}
	if diff := cmp.Diff([]string{CA2019, CARSA2048G1, CAECC384G1}, ids); diff != "" {
		t.Errorf("merged (-want +got):\n%s", diff)
	}
	if m.Duplicates() != 1 {
		t.Errorf("Duplicates = %d, want 1", m.Duplicates())
	}
	if Merge().Len() != 0 || Merge(nil, newer).Len() != 2 || Merge(old, newer, old).Len() != 3 {
		t.Error("Merge of edge cases gave the wrong sizes")
	}
	if old.Len() != 2 || newer.Len() != 2 {
		t.Error("Merge modified its inputs")
	}

	exp := m.ExpiringBefore(time.Now().Add(365 * 24 * time.Hour))
	if len(exp) != 1 || exp[0].CAIdentifier != CA2019 {
		t.Errorf("ExpiringBefore(+1y) = %+v, want only rds-ca-2019", exp)
	}
	if got := m.ExpiringBefore(time.Now().Add(100 * 365 * 24 * time.Hour)); len(got) != 3 || got[0].CAIdentifier != CA2019 {
		t.Errorf("ExpiringBefore(+100y) = %d entries, first %q; want 3, soonest first", len(got), got[0].CAIdentifier)
	}
	if got := m.ExpiringBefore(time.Now()); len(got) != 0 {
		t.Errorf("ExpiringBefore(now) = %d entries, want 0", len(got))
	}
}

func TestWritePEMAndFile(t *testing.T) {
	cas := testRDSCAs(t)
	s := storeOf(cas[CA2019], cas[CAECC384G1])
	var buf bytes.Buffer
	n, err := s.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) || !bytes.Equal(buf.Bytes(), s.PEM()) {
		t.Fatalf("WriteTo = %d, %v; PEM differs or length wrong", n, err)
	}
	if !strings.HasPrefix(buf.String(), "# CN=Amazon RDS Root 2019 CA") {
		t.Errorf("bundle does not start with the subject comment: %q", buf.String()[:40])
	}
	path := filepath.Join(t.TempDir(), "root.pem")
	if err := s.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
	}
	back, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Len() != 2 || !back.Certificates()[1].Equal(cas[CAECC384G1].cert) {
		t.Error("file does not round-trip")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := (&TrustStore{}).WriteFile(filepath.Join(t.TempDir(), "x.pem")); err == nil {
		t.Error("writing an empty store succeeded")
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Error("LoadFile of a missing file succeeded")
	}
}

// TestTLSConfig runs real TLS handshakes over a pipe.
func TestTLSConfig(t *testing.T) {
	cas := testRDSCAs(t)
	l := cas[CAECC384G1].issue(t, []string{"db.test"}, time.Time{})
	handshake := func(cfg *tls.Config) error {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			_ = tls.Server(c, &tls.Config{Certificates: []tls.Certificate{l.tlsCert()}}).Handshake()
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return tls.Client(c, cfg).HandshakeContext(ctx)
	}
	if err := handshake(storeOf(cas[CAECC384G1]).TLSConfig("db.test")); err != nil {
		t.Errorf("handshake with the right CA and name: %v", err)
	}
	if err := handshake(storeOf(cas[CAECC384G1]).TLSConfig("other.test")); err == nil {
		t.Error("handshake with the wrong name succeeded")
	}
	if err := handshake(storeOf(cas[CA2019]).TLSConfig("db.test")); err == nil {
		t.Error("handshake with the wrong CA succeeded")
	}
}

func TestConfigurePGX(t *testing.T) {
	cas := testRDSCAs(t)
	s := storeOf(cas[CAECC384G1])
	cfg, err := pgconn.ParseConfig("host=a.test,b.test,/tmp port=5432 sslmode=prefer user=x")
	if err != nil {
		t.Fatal(err)
	}
	s.ConfigurePGX(cfg)
	if cfg.TLSConfig == nil || cfg.TLSConfig.ServerName != "a.test" || cfg.TLSConfig.InsecureSkipVerify {
		t.Fatalf("primary TLS config = %+v", cfg.TLSConfig)
	}
	var got []string
	for _, fb := range cfg.Fallbacks {
		name := "plain"
		if fb.TLSConfig != nil {
			name = fb.TLSConfig.ServerName
		}
		got = append(got, fb.Host+":"+name)
	}
	if diff := cmp.Diff([]string{"b.test:b.test", "/tmp:plain"}, got); diff != "" {
		t.Errorf("fallbacks (-want +got):\n%s", diff)
	}
	s.ConfigurePGX(nil) // no panic
}
