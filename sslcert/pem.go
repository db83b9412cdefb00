package sslcert

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ErrNoCertificates is returned (wrapped) by ParsePEM when the input holds
// no CERTIFICATE block at all.
var ErrNoCertificates = errors.New("no certificates in bundle")

// ParseError is a bundle that could not be parsed: a malformed or
// unterminated PEM block, or a CERTIFICATE block whose contents are not an
// X.509 certificate. Line and Offset locate the start of the offending
// block (or line) in the input.
type ParseError struct {
	// Line is the 1-based line number.
	Line int
	// Offset is the 0-based byte offset of that line.
	Offset int
	// Block is the 1-based index of the PEM block, 0 when the problem is
	// outside any block.
	Block int
	// Msg says what is wrong.
	Msg string
	// Err is the underlying cause, if any (for example from x509).
	Err error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sslcert: parse PEM bundle: line %d (byte offset %d)", e.Line, e.Offset)
	if e.Block > 0 {
		fmt.Fprintf(&b, ", block %d", e.Block)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *ParseError) Unwrap() error { return e.Err }

// SkippedBlock is a PEM block ParsePEM ignored because it is not a
// CERTIFICATE (a private key, parameters, an OpenSSL TRUSTED CERTIFICATE).
type SkippedBlock struct {
	// Type is the PEM label, for example "PRIVATE KEY".
	Type string
	// Line is the 1-based line of its BEGIN line.
	Line int
}

const (
	beginMarker = "-----BEGIN "
	endMarker   = "-----END "
	dashes      = "-----"
)

// ParsePEM parses a PEM bundle of CA certificates, such as the RDS
// global-bundle.pem or a file used as sslrootcert.
//
// Text outside PEM blocks (comments, certificate names, openssl's
// "subject=" lines) is ignored, as RFC 7468 allows. Blocks that are not
// CERTIFICATE blocks are skipped and reported by Skipped. Certificates that
// repeat an earlier one byte for byte are dropped and counted by
// Duplicates. Anything else that is wrong is an error naming the line: a
// BEGIN line without its END line, an END line without a BEGIN, invalid
// base64, or a CERTIFICATE block that does not hold an X.509 certificate.
// A bundle without any certificate is an error wrapping ErrNoCertificates.
func ParsePEM(data []byte) (*TrustStore, error) {
	var certs []*x509.Certificate
	var skipped []SkippedBlock
	lines := newLineIndex(data)
	nblocks := 0
	pos := 0
	for pos < len(data) {
		begin := findAtLineStart(data, pos, beginMarker)
		// An END line in the text before the next BEGIN has no BEGIN.
		limit := len(data)
		if begin >= 0 {
			limit = begin
		}
		if end := findAtLineStart(data[:limit], pos, endMarker); end >= 0 {
			return nil, &ParseError{Line: lines.line(end), Offset: end, Msg: "END line without a BEGIN line"}
		}
		if begin < 0 {
			break
		}
		nblocks++
		bl := lines.line(begin)
		label, ok := pemLabel(data[begin:], beginMarker)
		if !ok {
			return nil, &ParseError{Line: bl, Offset: begin, Block: nblocks, Msg: "malformed BEGIN line (want -----BEGIN LABEL-----)"}
		}
		endLine := endMarker + label + dashes
		end := findAtLineStart(data, begin+1, endLine)
		next := findAtLineStart(data, begin+1, beginMarker)
		if end < 0 || (next >= 0 && next < end) {
			return nil, &ParseError{Line: bl, Offset: begin, Block: nblocks, Msg: fmt.Sprintf("%q block has no %q line", label, endLine)}
		}
		stop := end + len(endLine)
		if nl := bytes.IndexByte(data[stop:], '\n'); nl >= 0 {
			stop += nl + 1
		} else {
			stop = len(data)
		}
		block, rest := pem.Decode(data[begin:stop])
		if block == nil || block.Type != label || len(bytes.TrimSpace(rest)) != 0 {
			return nil, &ParseError{Line: bl, Offset: begin, Block: nblocks, Msg: fmt.Sprintf("malformed %q block (invalid base64 or headers)", label)}
		}
		pos = stop
		if block.Type != "CERTIFICATE" {
			skipped = append(skipped, SkippedBlock{Type: block.Type, Line: bl})
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, &ParseError{Line: bl, Offset: begin, Block: nblocks, Msg: "CERTIFICATE block is not an X.509 certificate", Err: err}
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		switch {
		case len(bytes.TrimSpace(data)) == 0:
			return nil, fmt.Errorf("sslcert: parse PEM bundle: input is empty: %w", ErrNoCertificates)
		case nblocks == 0 && len(data) > 0 && data[0] == 0x30:
			return nil, fmt.Errorf("sslcert: parse PEM bundle: no PEM blocks found; the input looks like binary DER, convert it with `openssl x509 -inform der`: %w", ErrNoCertificates)
		case nblocks == 0:
			return nil, fmt.Errorf("sslcert: parse PEM bundle: no PEM blocks found (no %q line): %w", "-----BEGIN CERTIFICATE-----", ErrNoCertificates)
		default:
			return nil, fmt.Errorf("sslcert: parse PEM bundle: %d PEM blocks but none is a CERTIFICATE (skipped %s): %w", nblocks, skippedTypes(skipped), ErrNoCertificates)
		}
	}
	s := NewTrustStore(certs...)
	s.skipped = skipped
	return s, nil
}

func skippedTypes(sk []SkippedBlock) string {
	var parts []string
	seen := map[string]bool{}
	for _, b := range sk {
		if !seen[b.Type] {
			seen[b.Type] = true
			parts = append(parts, b.Type)
		}
	}
	return strings.Join(parts, ", ")
}

// findAtLineStart returns the index of the first occurrence of marker at or
// after from that starts a line, or -1.
func findAtLineStart(data []byte, from int, marker string) int {
	for from <= len(data) {
		i := bytes.Index(data[from:], []byte(marker))
		if i < 0 {
			return -1
		}
		i += from
		if i == 0 || data[i-1] == '\n' {
			return i
		}
		from = i + 1
	}
	return -1
}

// pemLabel reads "-----BEGIN LABEL-----" at the start of data.
func pemLabel(data []byte, marker string) (string, bool) {
	line := data
	if nl := bytes.IndexByte(line, '\n'); nl >= 0 {
		line = line[:nl]
	}
	line = bytes.TrimRight(line, " \t\r")
	if len(line) <= len(marker)+len(dashes) || !bytes.HasPrefix(line, []byte(marker)) || !bytes.HasSuffix(line, []byte(dashes)) {
		return "", false
	}
	label := line[len(marker) : len(line)-len(dashes)]
	if bytes.HasSuffix(label, []byte("-")) {
		return "", false
	}
	return string(label), true
}

// lineIndex maps byte offsets to 1-based line numbers.
type lineIndex struct{ starts []int }

func newLineIndex(data []byte) lineIndex {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return lineIndex{starts: starts}
}

func (li lineIndex) line(off int) int {
	lo, hi := 0, len(li.starts)
	for lo < hi {
		m := (lo + hi) / 2
		if li.starts[m] <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
