package sslcert

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// Identifiers of the RDS certificate authorities that Aurora PostgreSQL
// uses to sign DB server certificates.
const (
	// CA2019 is rds-ca-2019 (RSA 2048, SHA-256). It expired on 22 August
	// 2024 and does not support automatic server certificate rotation.
	CA2019 = "rds-ca-2019"
	// CARSA2048G1 is rds-ca-rsa2048-g1 (RSA 2048, SHA-256), the default
	// for new databases in most Regions.
	CARSA2048G1 = "rds-ca-rsa2048-g1"
	// CARSA4096G1 is rds-ca-rsa4096-g1 (RSA 4096, SHA-384).
	CARSA4096G1 = "rds-ca-rsa4096-g1"
	// CAECC384G1 is rds-ca-ecc384-g1 (ECDSA P-384, SHA-384).
	CAECC384G1 = "rds-ca-ecc384-g1"
)

// Source says where a catalog entry's facts come from.
type Source string

const (
	// Builtin entries come from the SDK's own table, taken from the Aurora
	// User Guide ("Using SSL/TLS to encrypt a connection to a DB cluster").
	Builtin Source = "builtin"
	// FromAPI entries come from DescribeCertificates.
	FromAPI Source = "api"
)

// CA describes one RDS certificate authority: what the documentation says
// about it and, once refreshed, what DescribeCertificates reports for the
// account and Region.
type CA struct {
	// ID is the CA identifier, for example "rds-ca-rsa2048-g1". It is the
	// value of CACertificateIdentifier in ModifyDBInstance.
	ID string
	// KeyAlgorithm is the CA's private key algorithm: "RSA" or "ECDSA".
	// Empty when unknown (an identifier the SDK has no facts about).
	KeyAlgorithm string
	// KeySize is the key size in bits (2048, 4096; 384 for ECDSA P-384).
	KeySize int
	// SigningAlgorithm is the hash the CA signs server certificates with,
	// "SHA256" or "SHA384". In the AWS GovCloud (US) Regions
	// rds-ca-rsa2048-g1 signs with SHA384 instead.
	SigningAlgorithm string
	// CommonName is the subject common name of the root certificate, with
	// "{region}" where the Region name appears.
	CommonName string
	// AutomaticServerCertificateRotation says whether RDS renews the DB
	// server certificates issued by this CA without customer action.
	AutomaticServerCertificateRotation bool
	// ValidFrom and ValidTill bound the CA certificate's validity. Built-in
	// values are those of the us-east-1 roots to the day; the roots of
	// other Regions differ slightly. RefreshCatalog replaces them with the
	// exact values DescribeCertificates reports.
	ValidFrom, ValidTill time.Time

	// Thumbprint is the SHA-1 thumbprint of the CA certificate as reported
	// by DescribeCertificates, lower-case hex. Empty for built-in entries.
	Thumbprint string
	// CertificateType is DescribeCertificates' CertificateType ("CA").
	CertificateType string
	// ARN is the certificate's ARN when it came from the API.
	ARN string
	// CustomerOverride says the account overrides the Region's default CA
	// for new launches with this CA (ModifyCertificates).
	CustomerOverride bool
	// CustomerOverrideValidTill is when that override expires; zero when
	// there is none.
	CustomerOverrideValidTill time.Time
	// DefaultForNewLaunches says new DB instances in the account get this
	// CA unless they name another (DescribeCertificates'
	// DefaultCertificateForNewLaunches).
	DefaultForNewLaunches bool
	// Source says where the entry came from.
	Source Source
}

// ExpiredAt reports whether the CA certificate is no longer valid at t.
// An entry without a known ValidTill is never reported as expired.
func (ca CA) ExpiredAt(t time.Time) bool {
	return !ca.ValidTill.IsZero() && !t.Before(ca.ValidTill)
}

// builtinCAs is the documented table. Dates are the us-east-1 roots'.
var builtinCAs = []CA{
	{
		ID: CA2019, KeyAlgorithm: "RSA", KeySize: 2048, SigningAlgorithm: "SHA256",
		CommonName: "Amazon RDS Root 2019 CA",
		ValidFrom:  time.Date(2019, 8, 22, 0, 0, 0, 0, time.UTC),
		ValidTill:  time.Date(2024, 8, 22, 0, 0, 0, 0, time.UTC),
	},
	{
		ID: CARSA2048G1, KeyAlgorithm: "RSA", KeySize: 2048, SigningAlgorithm: "SHA256",
		CommonName:                         "Amazon RDS {region} Root CA RSA2048 G1",
		AutomaticServerCertificateRotation: true,
		ValidFrom:                          time.Date(2021, 5, 25, 0, 0, 0, 0, time.UTC),
		ValidTill:                          time.Date(2061, 5, 25, 0, 0, 0, 0, time.UTC),
	},
	{
		ID: CARSA4096G1, KeyAlgorithm: "RSA", KeySize: 4096, SigningAlgorithm: "SHA384",
		CommonName:                         "Amazon RDS {region} Root CA RSA4096 G1",
		AutomaticServerCertificateRotation: true,
		ValidFrom:                          time.Date(2021, 5, 25, 0, 0, 0, 0, time.UTC),
		ValidTill:                          time.Date(2121, 5, 25, 0, 0, 0, 0, time.UTC),
	},
	{
		ID: CAECC384G1, KeyAlgorithm: "ECDSA", KeySize: 384, SigningAlgorithm: "SHA384",
		CommonName:                         "Amazon RDS {region} Root CA ECC384 G1",
		AutomaticServerCertificateRotation: true,
		ValidFrom:                          time.Date(2021, 5, 25, 0, 0, 0, 0, time.UTC),
		ValidTill:                          time.Date(2121, 5, 25, 0, 0, 0, 0, time.UTC),
	},
}

// cnMarkers recognise the documented CAs by a distinctive part of their
// root and subordinate common names, for certificates whose thumbprint the
// catalog does not know.
var cnMarkers = []struct{ marker, id string }{
	{"RSA2048 G1", CARSA2048G1},
	{"RSA4096 G1", CARSA4096G1},
	{"ECC384 G1", CAECC384G1},
	{"2019 CA", CA2019}, // "Amazon RDS Root 2019 CA", "Amazon RDS us-east-1 2019 CA"
}

// Catalog is a set of RDS CAs keyed by identifier. The zero value and a nil
// *Catalog behave as DefaultCatalog. A Catalog is immutable once built and
// safe for concurrent use.
type Catalog struct {
	cas []CA // sorted by ID
}

// DefaultCatalog returns the documented RDS CAs (rds-ca-2019,
// rds-ca-rsa2048-g1, rds-ca-rsa4096-g1, rds-ca-ecc384-g1) with their key
// and signing algorithms and validity. rds-ca-rsa2048-g1 is marked as the
// default for new launches, as it is in most Regions.
func DefaultCatalog() *Catalog {
	cas := make([]CA, len(builtinCAs))
	copy(cas, builtinCAs)
	for i := range cas {
		cas[i].Source = Builtin
		cas[i].DefaultForNewLaunches = cas[i].ID == CARSA2048G1
	}
	slices.SortFunc(cas, func(a, b CA) int { return strings.Compare(a.ID, b.ID) })
	return &Catalog{cas: cas}
}

// NewCatalog builds a catalog from the given entries. Entries with an empty
// ID are dropped; a later entry with the same ID replaces an earlier one.
// Thumbprints are normalised to lower-case hex without separators.
func NewCatalog(cas ...CA) *Catalog {
	byID := make(map[string]CA, len(cas))
	for _, ca := range cas {
		if ca.ID == "" {
			continue
		}
		ca.Thumbprint = normThumbprint(ca.Thumbprint)
		byID[ca.ID] = ca
	}
	out := make([]CA, 0, len(byID))
	for _, ca := range byID {
		out = append(out, ca)
	}
	slices.SortFunc(out, func(a, b CA) int { return strings.Compare(a.ID, b.ID) })
	return &Catalog{cas: out}
}

func (c *Catalog) entries() []CA {
	if c == nil || c.cas == nil {
		return DefaultCatalog().cas
	}
	return c.cas
}

// CAs returns the catalog's entries sorted by identifier.
func (c *Catalog) CAs() []CA {
	return slices.Clone(c.entries())
}

// IDs returns the catalog's identifiers, sorted.
func (c *Catalog) IDs() []string {
	e := c.entries()
	ids := make([]string, len(e))
	for i, ca := range e {
		ids[i] = ca.ID
	}
	return ids
}

// Lookup returns the entry for a CA identifier.
func (c *Catalog) Lookup(id string) (CA, bool) {
	for _, ca := range c.entries() {
		if ca.ID == id {
			return ca, true
		}
	}
	return CA{}, false
}

// DefaultForNewLaunches returns the identifier of the CA that new DB
// instances get when they name none, or "" when the catalog does not say.
func (c *Catalog) DefaultForNewLaunches() string {
	for _, ca := range c.entries() {
		if ca.DefaultForNewLaunches {
			return ca.ID
		}
	}
	return ""
}

// Identify returns the RDS CA identifier of a CA certificate, or "" when it
// is not recognised. It matches, in order: the certificate's SHA-1
// thumbprint against the catalog's thumbprints (exact, from
// DescribeCertificates); a catalog identifier appearing in the subject
// common name; the documented common-name patterns ("... Root CA RSA2048
// G1", "Amazon RDS Root 2019 CA", ...), which also recognise the Region's
// subordinate CAs.
func (c *Catalog) Identify(cert *x509.Certificate) string {
	if cert == nil {
		return ""
	}
	tp := Thumbprint(cert)
	for _, ca := range c.entries() {
		if ca.Thumbprint != "" && ca.Thumbprint == tp {
			return ca.ID
		}
	}
	return c.IdentifyName(cert.Subject.CommonName)
}

// IdentifyName returns the RDS CA identifier that a certificate common name
// belongs to, or "" when it is not recognised. Use it on a server
// certificate's issuer name when the issuing certificate itself is not at
// hand.
func (c *Catalog) IdentifyName(commonName string) string {
	if commonName == "" {
		return ""
	}
	lower := strings.ToLower(commonName)
	best := ""
	for _, ca := range c.entries() {
		if strings.Contains(lower, strings.ToLower(ca.ID)) && len(ca.ID) > len(best) {
			best = ca.ID
		}
	}
	if best != "" {
		return best
	}
	if !strings.Contains(commonName, "Amazon RDS") {
		return ""
	}
	for _, m := range cnMarkers {
		if strings.Contains(commonName, m.marker) {
			return m.id
		}
	}
	return ""
}

// Thumbprint returns the SHA-1 thumbprint of a certificate as lower-case hex,
// the form DescribeCertificates reports and `openssl x509 -fingerprint
// -sha1` prints (without the colons).
func Thumbprint(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return hex.EncodeToString(sum[:])
}

func normThumbprint(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.NewReplacer(":", "", " ", "").Replace(s)
}

// DescribeCertificatesAPI is the one RDS call RefreshCatalog makes; it is
// rds.DescribeCertificatesAPIClient, satisfied by *rds.Client.
type DescribeCertificatesAPI interface {
	DescribeCertificates(ctx context.Context, in *rds.DescribeCertificatesInput, optFns ...func(*rds.Options)) (*rds.DescribeCertificatesOutput, error)
}

var _ DescribeCertificatesAPI = rds.DescribeCertificatesAPIClient(nil)

// RefreshCatalog reads every page of DescribeCertificates and returns a
// catalog of the CAs the account can use in the client's Region: identifier,
// thumbprint, ValidFrom, ValidTill, customer override and its expiry, and
// which CA is the default for new launches. Facts DescribeCertificates does
// not report (key and signing algorithm, common name) are filled in from
// the built-in table for the documented identifiers. CAs the API no longer
// lists are not in the result.
func RefreshCatalog(ctx context.Context, api DescribeCertificatesAPI) (*Catalog, error) {
	if api == nil {
		return nil, fmt.Errorf("sslcert: refresh CA catalog: api is nil")
	}
	builtin := DefaultCatalog()
	var cas []CA
	defaultID := ""
	p := rds.NewDescribeCertificatesPaginator(api, &rds.DescribeCertificatesInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("sslcert: refresh CA catalog: DescribeCertificates: %w", err)
		}
		if d := aws.ToString(out.DefaultCertificateForNewLaunches); d != "" {
			defaultID = d
		}
		for _, c := range out.Certificates {
			id := aws.ToString(c.CertificateIdentifier)
			if id == "" {
				continue
			}
			ca, ok := builtin.Lookup(id)
			if !ok {
				ca = CA{ID: id}
			}
			ca.Source = FromAPI
			ca.DefaultForNewLaunches = false
			ca.Thumbprint = normThumbprint(aws.ToString(c.Thumbprint))
			ca.CertificateType = aws.ToString(c.CertificateType)
			ca.ARN = aws.ToString(c.CertificateArn)
			ca.ValidFrom = aws.ToTime(c.ValidFrom)
			ca.ValidTill = aws.ToTime(c.ValidTill)
			ca.CustomerOverride = aws.ToBool(c.CustomerOverride)
			ca.CustomerOverrideValidTill = aws.ToTime(c.CustomerOverrideValidTill)
			cas = append(cas, ca)
		}
	}
	for i := range cas {
		cas[i].DefaultForNewLaunches = cas[i].ID == defaultID
	}
	return NewCatalog(cas...), nil
}
