package sslcert

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParsePEM(t *testing.T) {
	cas := testRDSCAs(t)
	a, b := cas[CARSA2048G1].pem(), cas[CAECC384G1].pem()
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})
	crlf := bytes.ReplaceAll(a, []byte("\n"), []byte("\r\n"))

	tests := []struct {
		name       string
		in         []byte
		certs      int
		skipped    []string
		duplicates int
	}{
		{name: "one", in: a, certs: 1},
		{name: "two", in: cat(a, b), certs: 2},
		{name: "comments and blank lines", in: cat([]byte("# RDS bundle\nAmazon RDS\n=====\n\n"), a, []byte("\nsubject=CN = x\n"), b, []byte("\n\n")), certs: 2},
		{name: "private key skipped", in: cat(key, a), certs: 1, skipped: []string{"PRIVATE KEY"}},
		{name: "trusted certificate skipped", in: cat(a, []byte(strings.Replace(string(b), "CERTIFICATE", "TRUSTED CERTIFICATE", 2))), certs: 1, skipped: []string{"TRUSTED CERTIFICATE"}},
		{name: "duplicate dropped", in: cat(a, b, a), certs: 2, duplicates: 1},
		{name: "CRLF", in: crlf, certs: 1},
		{name: "no trailing newline", in: bytes.TrimRight(a, "\n"), certs: 1},
		{name: "BEGIN inside text is not a block", in: cat([]byte("see -----BEGIN CERTIFICATE----- below\n"), a), certs: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParsePEM(tc.in)
			if err != nil {
				t.Fatalf("ParsePEM: %v", err)
			}
			if s.Len() != tc.certs {
				t.Errorf("Len = %d, want %d", s.Len(), tc.certs)
			}
			var types []string
			for _, sk := range s.Skipped() {
				types = append(types, sk.Type)
			}
			if strings.Join(types, ",") != strings.Join(tc.skipped, ",") {
				t.Errorf("skipped = %v, want %v", types, tc.skipped)
			}
			if s.Duplicates() != tc.duplicates {
				t.Errorf("Duplicates = %d, want %d", s.Duplicates(), tc.duplicates)
			}
		})
	}
}

func TestParsePEMErrors(t *testing.T) {
	cas := testRDSCAs(t)
	a := cas[CARSA2048G1].pem()
	lines := strings.Count(string(a), "\n")
	body := strings.Split(string(a), "\n")
	truncated := []byte(strings.Join(body[:len(body)-2], "\n") + "\n") // END line removed
	badB64 := []byte(strings.Replace(string(a), body[2], "!!!!not base64!!!!", 1))
	notCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("hello")})

	tests := []struct {
		name     string
		in       []byte
		line     int    // 0: not a *ParseError
		contains string // in the error text
		noCerts  bool   // errors.Is ErrNoCertificates
	}{
		{name: "empty", in: nil, contains: "empty", noCerts: true},
		{name: "whitespace", in: []byte(" \n\t\n"), contains: "empty", noCerts: true},
		{name: "text only", in: []byte("hello world\n"), contains: "no PEM blocks", noCerts: true},
		{name: "DER", in: cas[CARSA2048G1].cert.Raw, contains: "DER", noCerts: true},
		{name: "only a key", in: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}}), contains: "EC PRIVATE KEY", noCerts: true},
		{name: "missing END", in: truncated, line: 1, contains: `no "-----END CERTIFICATE-----" line`},
		{name: "missing END before next block", in: cat(truncated, a), line: 1, contains: "no \"-----END"},
		{name: "second block missing END", in: cat(a, []byte("\n"), truncated), line: lines + 2, contains: "block 2"},
		{name: "END without BEGIN", in: cat(a, []byte("junk\n-----END CERTIFICATE-----\n")), line: lines + 2, contains: "END line without a BEGIN"},
		{name: "bad base64", in: cat([]byte("# x\n"), badB64), line: 2, contains: "malformed \"CERTIFICATE\" block"},
		{name: "not a certificate", in: cat(a, notCert), line: lines + 1, contains: "not an X.509 certificate"},
		{name: "malformed BEGIN line", in: []byte("-----BEGIN CERTIFICATE\nAAAA\n-----END CERTIFICATE-----\n"), line: 1, contains: "malformed BEGIN line"},
		{name: "text after END", in: []byte(strings.Replace(string(a), "-----END CERTIFICATE-----", "-----END CERTIFICATE-----junk", 1)), line: 1, contains: "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParsePEM(tc.in)
			if err == nil {
				t.Fatalf("ParsePEM succeeded with %d certificates, want an error", s.Len())
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not contain %q", err, tc.contains)
			}
			if got := errors.Is(err, ErrNoCertificates); got != tc.noCerts {
				t.Errorf("errors.Is(ErrNoCertificates) = %v, want %v (%v)", got, tc.noCerts, err)
			}
			var pe *ParseError
			if tc.line == 0 {
				if errors.As(err, &pe) {
					t.Errorf("got *ParseError %v, want another error", err)
				}
				return
			}
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if pe.Line != tc.line {
				t.Errorf("Line = %d, want %d (%v)", pe.Line, tc.line, err)
			}
			if want := lineOffset(tc.in, pe.Line); pe.Offset != want {
				t.Errorf("Offset = %d, want %d (start of line %d)", pe.Offset, want, pe.Line)
			}
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("error %q does not name the line", err)
			}
		})
	}
}

func lineOffset(data []byte, line int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	return off
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// FuzzParsePEM checks that the parser never panics, that every error is
// either ErrNoCertificates or a located *ParseError, and that whatever it
// accepts writes back to a bundle that parses to the same certificates.
func FuzzParsePEM(f *testing.F) {
	cas := testRDSCAs(f)
	a, b := cas[CARSA2048G1].pem(), cas[CAECC384G1].pem()
	f.Add(a)
	f.Add(cat(a, b))
	f.Add(cat([]byte("# comment\n"), a, []byte("junk\n"), b))
	f.Add(cat(a, a))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2}}))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n"))
	f.Add([]byte("-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN -----\n-----END -----\n"))
	f.Add(bytes.ReplaceAll(a, []byte("\n"), []byte("\r\n")))
	f.Add([]byte{})
	f.Add(cas[CA2019].cert.Raw)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParsePEM(data)
		if err != nil {
			var pe *ParseError
			switch {
			case errors.As(err, &pe):
				if pe.Line < 1 || pe.Offset < 0 || pe.Offset > len(data) {
					t.Fatalf("bad location in %v (len %d)", err, len(data))
				}
				if want := lineOffset(data, pe.Line); pe.Offset != want {
					t.Fatalf("Offset %d is not the start of line %d (%d)", pe.Offset, pe.Line, want)
				}
			case errors.Is(err, ErrNoCertificates):
			default:
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if s.Len() == 0 {
			t.Fatal("accepted a bundle without certificates")
		}
		again, err := ParsePEM(s.PEM())
		if err != nil {
			t.Fatalf("re-parse of written bundle: %v", err)
		}
		if again.Len() != s.Len() || again.Duplicates() != 0 || len(again.Skipped()) != 0 {
			t.Fatalf("round trip: %d certs (dup %d, skipped %d), want %d", again.Len(), again.Duplicates(), len(again.Skipped()), s.Len())
		}
		for i, c := range again.Certificates() {
			if !c.Equal(s.Certificates()[i]) {
				t.Fatalf("round trip: certificate %d differs", i)
			}
		}
	})
}

// BenchmarkParsePEM parses a 100-certificate bundle (the size of the RDS
// global bundle) and reports certificates parsed per second.
func BenchmarkParsePEM(b *testing.B) {
	var bundle []byte
	for i := range 100 {
		ca := newCA(b, caSpec{cn: fmt.Sprintf("Amazon RDS bench-%d Root CA ECC384 G1", i), kind: "p384"})
		bundle = append(bundle, fmt.Sprintf("Amazon RDS bench-%d\n", i)...)
		bundle = append(bundle, ca.pem()...)
	}
	b.SetBytes(int64(len(bundle)))
	b.ResetTimer()
	for b.Loop() {
		s, err := ParsePEM(bundle)
		if err != nil || s.Len() != 100 {
			b.Fatal(s, err)
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "certs/s")
}
