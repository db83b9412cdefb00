package sslcert

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/google/go-cmp/cmp"
)

func TestDefaultCatalog(t *testing.T) {
	cat := DefaultCatalog()
	if diff := cmp.Diff([]string{CA2019, CAECC384G1, CARSA2048G1, CARSA4096G1}, cat.IDs()); diff != "" {
		t.Errorf("IDs (-want +got):\n%s", diff)
	}
	tests := []struct {
		id         string
		alg        string
		size       int
		sig        string
		autoRotate bool
		expiredNow bool
		tillYear   int
	}{
		{CA2019, "RSA", 2048, "SHA256", false, true, 2024},
		{CARSA2048G1, "RSA", 2048, "SHA256", true, false, 2061},
		{CARSA4096G1, "RSA", 4096, "SHA384", true, false, 2121},
		{CAECC384G1, "ECDSA", 384, "SHA384", true, false, 2121},
	}
	for _, tc := range tests {
		ca, ok := cat.Lookup(tc.id)
		if !ok {
			t.Errorf("Lookup(%s) not found", tc.id)
			continue
		}
		got := []any{ca.KeyAlgorithm, ca.KeySize, ca.SigningAlgorithm, ca.AutomaticServerCertificateRotation, ca.ExpiredAt(time.Now()), ca.ValidTill.Year(), ca.Source}
		want := []any{tc.alg, tc.size, tc.sig, tc.autoRotate, tc.expiredNow, tc.tillYear, Builtin}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.id, diff)
		}
	}
	if ca, _ := cat.Lookup(CA2019); !ca.ValidTill.Equal(time.Date(2024, 8, 22, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("rds-ca-2019 ValidTill = %v, want 2024-08-22", ca.ValidTill)
	}
	if got := cat.DefaultForNewLaunches(); got != CARSA2048G1 {
		t.Errorf("DefaultForNewLaunches = %q", got)
	}
	if _, ok := cat.Lookup("rds-ca-2015"); ok {
		t.Error("Lookup(rds-ca-2015) found")
	}
	var nilCat *Catalog
	if len(nilCat.IDs()) != 4 {
		t.Error("nil catalog is not the default catalog")
	}
}

func TestIdentify(t *testing.T) {
	cas := testRDSCAs(t)
	other := newCA(t, caSpec{cn: "Some Corp Root", kind: "p384", keyN: 1})
	named := newCA(t, caSpec{cn: "emulator rds-ca-rsa4096-g1 root", kind: "rsa", keyN: 1})
	custom := NewCatalog(CA{ID: "local-ca", Thumbprint: strings.ToUpper(Thumbprint(other.cert))}, CA{ID: CARSA4096G1})

	tests := []struct {
		name string
		cat  *Catalog
		ca   *testCA
		want string
	}{
		{"rsa2048 by common name", nil, cas[CARSA2048G1], CARSA2048G1},
		{"ecc384 by common name", nil, cas[CAECC384G1], CAECC384G1},
		{"2019 by common name", nil, cas[CA2019], CA2019},
		{"unknown", nil, other, ""},
		{"by thumbprint (case-insensitive)", custom, other, "local-ca"},
		{"identifier in common name", nil, named, CARSA4096G1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cat.Identify(tc.ca.cert); got != tc.want {
				t.Errorf("Identify = %q, want %q", got, tc.want)
			}
		})
	}
	names := map[string]string{
		"Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1": CARSA2048G1,
		"Amazon RDS eu-west-1 Root CA ECC384 G1":             CAECC384G1,
		"Amazon RDS us-east-1 2019 CA":                       CA2019,
		"Amazon RDS Root 2019 CA":                            CA2019,
		"Other RSA2048 G1":                                   "",
		"":                                                   "",
	}
	for cn, want := range names {
		if got := DefaultCatalog().IdentifyName(cn); got != want {
			t.Errorf("IdentifyName(%q) = %q, want %q", cn, got, want)
		}
	}
}

// certPages is an in-memory DescribeCertificates with paging by Marker.
type certPages struct {
	pages [][]types.Certificate
	def   string
	calls int
	err   error
}

func (c *certPages) DescribeCertificates(_ context.Context, in *rds.DescribeCertificatesInput, _ ...func(*rds.Options)) (*rds.DescribeCertificatesOutput, error) {
	c.calls++
	if c.err != nil {
		return nil, c.err
	}
	i := 0
	if in.Marker != nil {
		i = int(aws.ToString(in.Marker)[0] - '0')
	}
	out := &rds.DescribeCertificatesOutput{Certificates: c.pages[i], DefaultCertificateForNewLaunches: aws.String(c.def)}
	if i+1 < len(c.pages) {
		out.Marker = aws.String(string(rune('0' + i + 1)))
	}
	return out, nil
}

func TestRefreshCatalog(t *testing.T) {
	from := time.Date(2021, 5, 25, 22, 34, 57, 0, time.UTC)
	till := time.Date(2061, 5, 25, 23, 34, 57, 0, time.UTC)
	override := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	api := &certPages{
		def: CAECC384G1,
		pages: [][]types.Certificate{
			{{
				CertificateIdentifier: aws.String(CARSA2048G1), CertificateType: aws.String("CA"),
				Thumbprint: aws.String("AB:CD:EF"), ValidFrom: &from, ValidTill: &till,
				CertificateArn: aws.String("arn:aws:rds:test-1::cert:rds-ca-rsa2048-g1"),
			}},
			{{
				CertificateIdentifier: aws.String(CAECC384G1), CertificateType: aws.String("CA"),
				Thumbprint: aws.String("0123"), ValidFrom: &from, ValidTill: &till,
				CustomerOverride: aws.Bool(true), CustomerOverrideValidTill: &override,
			}, {
				CertificateIdentifier: aws.String("rds-ca-custom-9"), Thumbprint: aws.String("99"),
			}, {}},
		},
	}
	cat, err := RefreshCatalog(context.Background(), api)
	if err != nil {
		t.Fatal(err)
	}
	if api.calls != 2 {
		t.Errorf("DescribeCertificates called %d times, want 2 (one per page)", api.calls)
	}
	want := []CA{
		{ID: "rds-ca-custom-9", Thumbprint: "99", Source: FromAPI},
		{ID: CAECC384G1, KeyAlgorithm: "ECDSA", KeySize: 384, SigningAlgorithm: "SHA384", CommonName: "Amazon RDS {region} Root CA ECC384 G1",
			AutomaticServerCertificateRotation: true, ValidFrom: from, ValidTill: till, Thumbprint: "0123", CertificateType: "CA",
			CustomerOverride: true, CustomerOverrideValidTill: override, DefaultForNewLaunches: true, Source: FromAPI},
		{ID: CARSA2048G1, KeyAlgorithm: "RSA", KeySize: 2048, SigningAlgorithm: "SHA256", CommonName: "Amazon RDS {region} Root CA RSA2048 G1",
			AutomaticServerCertificateRotation: true, ValidFrom: from, ValidTill: till, Thumbprint: "abcdef", CertificateType: "CA",
			ARN: "arn:aws:rds:test-1::cert:rds-ca-rsa2048-g1", Source: FromAPI},
	}
	if diff := cmp.Diff(want, cat.CAs()); diff != "" {
		t.Errorf("catalog (-want +got):\n%s", diff)
	}
	if got := cat.DefaultForNewLaunches(); got != CAECC384G1 {
		t.Errorf("DefaultForNewLaunches = %q", got)
	}

	boom := errors.New("throttled")
	_, err = RefreshCatalog(context.Background(), &certPages{err: boom})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "DescribeCertificates") {
		t.Errorf("error = %v, want it to wrap the cause and name the call", err)
	}
}
