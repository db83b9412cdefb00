package auroratest_test

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/jackc/pgx/v5"
)

// tlsConnect connects with sslmode=verify-full semantics: the server's
// chain must verify against roots and name host. It returns the issuer of
// the server certificate.
func tlsConnect(t *testing.T, ctx context.Context, host string, port int32, clusterID string, roots []byte) (string, error) {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(roots) {
		t.Fatal("no certificates in the roots")
	}
	cfg, err := pgx.ParseConfig("dbname=postgres sslmode=verify-full connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Password = host, uint16(port), "postgres", emulator(t).MasterPassword(clusterID)
	cfg.TLSConfig = &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}
	cfg.Fallbacks = nil
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	tc, ok := conn.PgConn().Conn().(*tls.Conn)
	if !ok {
		return "", errors.New("the connection does not use TLS")
	}
	var ssl bool
	if err := conn.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		return "", errors.New("pg_stat_ssl does not show TLS")
	}
	return tc.ConnectionState().PeerCertificates[0].Issuer.CommonName, nil
}

func instanceEndpoint(t *testing.T, ctx context.Context, c *rds.Client, id string) types.DBInstance {
	t.Helper()
	out, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return out.DBInstances[0]
}

// Certificates: DescribeCertificates, verify-full connections, rotation to
// another CA with and without ApplyImmediately, ModifyCertificates.
func TestCertificatesAndRotation(t *testing.T) {
	// Not parallel: it restarts a reader of the shared cluster.
	ctx := testCtx(t)
	c := client(t)
	emu := emulator(t)
	certs, err := c.DescribeCertificates(ctx, &rds.DescribeCertificatesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(certs.DefaultCertificateForNewLaunches); got != "rds-ca-rsa2048-g1" {
		t.Errorf("DefaultCertificateForNewLaunches = %q", got)
	}
	byID := map[string]types.Certificate{}
	for _, ct := range certs.Certificates {
		byID[aws.ToString(ct.CertificateIdentifier)] = ct
	}
	for _, id := range []string{"rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1", "rds-ca-2019"} {
		ct, ok := byID[id]
		if !ok {
			t.Fatalf("DescribeCertificates lacks %s", id)
		}
		block, _ := pem.Decode(emu.CACertificatePEM(id))
		sum := sha1.Sum(block.Bytes)
		cert, _ := x509.ParseCertificate(block.Bytes)
		if aws.ToString(ct.Thumbprint) != hex.EncodeToString(sum[:]) || !aws.ToTime(ct.ValidTill).Equal(cert.NotAfter.Truncate(time.Millisecond)) ||
			aws.ToString(ct.CertificateType) != "CA" {
			t.Errorf("%s: thumbprint %s valid till %v type %s; the PEM says %x, %v", id, aws.ToString(ct.Thumbprint), aws.ToTime(ct.ValidTill), aws.ToString(ct.CertificateType), sum, cert.NotAfter)
		}
	}
	if till := aws.ToTime(byID["rds-ca-2019"].ValidTill); time.Until(till) > 60*24*time.Hour {
		t.Errorf("rds-ca-2019 is valid until %v; it should expire soon", till)
	}
	if _, err := c.DescribeCertificates(ctx, &rds.DescribeCertificatesInput{CertificateIdentifier: aws.String("rds-ca-nope")}); !errors.As(err, new(*types.CertificateNotFoundFault)) {
		t.Errorf("unknown certificate: %v, want *types.CertificateNotFoundFault", err)
	}

	// verify-full through the cluster endpoints and an instance endpoint.
	cl := describeCluster(t, ctx, c, clusterShared)
	bundle := emu.CABundlePEM()
	for _, host := range []string{aws.ToString(cl.Endpoint), aws.ToString(cl.ReaderEndpoint)} {
		issuer, err := tlsConnect(t, ctx, host, aws.ToInt32(cl.Port), clusterShared, bundle)
		if err != nil || issuer != "Amazon RDS us-east-1 Root CA RSA2048 G1" {
			t.Errorf("verify-full to %s: issuer %q, %v", host, issuer, err)
		}
	}
	reader := clusterShared + "-instance-2"
	in := instanceEndpoint(t, ctx, c, reader)
	if aws.ToString(in.CACertificateIdentifier) != "rds-ca-rsa2048-g1" || in.CertificateDetails == nil ||
		aws.ToString(in.CertificateDetails.CAIdentifier) != "rds-ca-rsa2048-g1" || in.CertificateDetails.ValidTill == nil {
		t.Errorf("instance CA %q details %+v", aws.ToString(in.CACertificateIdentifier), in.CertificateDetails)
	}

	// Rotate the reader to the ECC CA at once (with the default restart).
	if _, err := c.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{
		DBInstanceIdentifier: aws.String(reader), CACertificateIdentifier: aws.String("rds-ca-ecc384-g1"), ApplyImmediately: aws.Bool(true),
	}); err != nil {
		t.Fatalf("ModifyDBInstance CACertificateIdentifier: %v", err)
	}
	waitInstance(t, ctx, c, reader)
	in = instanceEndpoint(t, ctx, c, reader)
	host, port := aws.ToString(in.Endpoint.Address), aws.ToInt32(in.Endpoint.Port)
	if got := aws.ToString(in.CACertificateIdentifier); got != "rds-ca-ecc384-g1" {
		t.Errorf("CACertificateIdentifier after rotation = %q", got)
	}
	issuer, err := tlsConnect(t, ctx, host, port, clusterShared, emu.CACertificatePEM("rds-ca-ecc384-g1"))
	if err != nil || issuer != "Amazon RDS us-east-1 Root CA ECC384 G1" {
		t.Errorf("after rotation, verify-full with the ECC CA only: issuer %q, %v", issuer, err)
	}
	if _, err := tlsConnect(t, ctx, host, port, clusterShared, emu.CACertificatePEM("rds-ca-rsa2048-g1")); err == nil {
		t.Errorf("after rotation, a client trusting only rds-ca-rsa2048-g1 still verified the server")
	}

	// Without ApplyImmediately the change waits for a reboot and shows as
	// pending maintenance.
	if _, err := c.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{
		DBInstanceIdentifier: aws.String(reader), CACertificateIdentifier: aws.String("rds-ca-rsa4096-g1"),
	}); err != nil {
		t.Fatal(err)
	}
	waitInstance(t, ctx, c, reader)
	in = instanceEndpoint(t, ctx, c, reader)
	if aws.ToString(in.CACertificateIdentifier) != "rds-ca-ecc384-g1" || in.PendingModifiedValues == nil ||
		aws.ToString(in.PendingModifiedValues.CACertificateIdentifier) != "rds-ca-rsa4096-g1" {
		t.Errorf("pending CA change: current %q pending %+v", aws.ToString(in.CACertificateIdentifier), in.PendingModifiedValues)
	}
	pma, err := c.DescribePendingMaintenanceActions(ctx, &rds.DescribePendingMaintenanceActionsInput{
		Filters: []types.Filter{{Name: aws.String("db-cluster-id"), Values: []string{clusterShared}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pma.PendingMaintenanceActions) != 1 || aws.ToString(pma.PendingMaintenanceActions[0].ResourceIdentifier) != aws.ToString(in.DBInstanceArn) ||
		aws.ToString(pma.PendingMaintenanceActions[0].PendingMaintenanceActionDetails[0].Action) != "ca-certificate-rotation" {
		t.Errorf("pending maintenance = %+v", pma.PendingMaintenanceActions)
	}
	rebootAndWait(t, ctx, c, reader)
	issuer, err = tlsConnect(t, ctx, host, port, clusterShared, bundle)
	if err != nil || issuer != "Amazon RDS us-east-1 Root CA RSA4096 G1" {
		t.Errorf("after the reboot: issuer %q, %v", issuer, err)
	}

	// An instance on the expiring CA is reported for rotation.
	if _, err := c.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{
		DBInstanceIdentifier: aws.String(reader), CACertificateIdentifier: aws.String("rds-ca-2019"),
		ApplyImmediately: aws.Bool(true), CertificateRotationRestart: aws.Bool(false),
	}); err != nil {
		t.Fatal(err)
	}
	waitInstance(t, ctx, c, reader)
	if issuer, err := tlsConnect(t, ctx, host, port, clusterShared, bundle); err != nil || issuer != "Amazon RDS Root 2019 CA" {
		t.Errorf("rotation without restart (reload): issuer %q, %v", issuer, err)
	}
	pma, err = c.DescribePendingMaintenanceActions(ctx, &rds.DescribePendingMaintenanceActionsInput{ResourceIdentifier: in.DBInstanceArn})
	if err != nil || len(pma.PendingMaintenanceActions) != 1 {
		t.Errorf("an instance on rds-ca-2019: pending actions %+v, %v", pma, err)
	}
	// Back to the default, so other tests see the usual CA.
	if _, err := c.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{
		DBInstanceIdentifier: aws.String(reader), CACertificateIdentifier: aws.String("rds-ca-rsa2048-g1"),
		ApplyImmediately: aws.Bool(true), CertificateRotationRestart: aws.Bool(false),
	}); err != nil {
		t.Fatal(err)
	}
	waitInstance(t, ctx, c, reader)

	// The customer override changes the default for new launches.
	mc, err := c.ModifyCertificates(ctx, &rds.ModifyCertificatesInput{CertificateIdentifier: aws.String("rds-ca-ecc384-g1")})
	if err != nil || !aws.ToBool(mc.Certificate.CustomerOverride) {
		t.Fatalf("ModifyCertificates: %+v, %v", mc, err)
	}
	certs, err = c.DescribeCertificates(ctx, &rds.DescribeCertificatesInput{})
	if err != nil || aws.ToString(certs.DefaultCertificateForNewLaunches) != "rds-ca-ecc384-g1" {
		t.Errorf("default after override: %v, %v", certs.DefaultCertificateForNewLaunches, err)
	}
	if _, err := c.ModifyCertificates(ctx, &rds.ModifyCertificatesInput{RemoveCustomerOverride: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
}
