// Command rotate-ca moves every instance of an Aurora PostgreSQL cluster to
// another RDS certificate authority with aurora.Cluster.RotateCA, the
// documented way, and shows the checks that make it safe.
//
// Before anything changes it lists the CAs the account can use
// (Certs().Catalog, from DescribeCertificates), each instance's CA and
// certificate expiry, and which client sessions use TLS
// (Certs().AuditSessions). It shows the refusal of a rotation that the
// clients' trust store would not survive (a store holding only the current
// CA), then rotates the instances, readers first and the writer last, each
// verified with a TLS handshake against the trust store, checks that the
// Cluster's own verify-full connections still work, and runs the rotation
// again to show that nothing is left to do.
//
//	go run ./examples/rotate-ca
//	go run ./examples/rotate-ca -target rds-ca-rsa4096-g1
//
// By default it runs against a local emulator with a 2-instance cluster on
// rds-ca-rsa2048-g1, and rotates it to rds-ca-ecc384-g1. When
// AURORA_CLUSTER_ID is set it works on that real cluster, with the normal
// AWS configuration (AWS_REGION, AWS_PROFILE, ...) and:
//
//	AURORA_SECRET_ARN   Secrets Manager secret with the database user and password, or
//	AURORA_DB_USER      a database user with IAM authentication
//	AURORA_CA_BUNDLE    path to AWS's global CA bundle: the trust store checked (required here)
//	AURORA_DATABASE     database to connect to (default postgres)
//
// and the default target is rds-ca-rsa2048-g1. Against a real cluster the
// rotation restarts each instance, so it wants -yes. -trust names a PEM
// bundle of the clients that must keep working, when it differs from
// AURORA_CA_BUNDLE.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
	"github.com/pgaurora/pgaurora/sslcert"
)

func main() { exampleenv.Main("rotate-ca", run) }

func run(ctx context.Context, out io.Writer, args []string) error {
	cmd := exampleenv.NewCommand("rotate-ca", "restarts each instance")
	target := cmd.String("target", "", "the CA to rotate to (default: "+sslcert.CAECC384G1+" on the emulator, "+sslcert.CARSA2048G1+" on a real cluster)")
	trustFile := cmd.String("trust", "", "PEM bundle of the clients that must survive the rotation (default: the CA bundle the example connects with)")
	if err := cmd.Parse(args); err != nil {
		return err
	}

	env, err := cmd.Open(ctx, out, exampleenv.Options{
		ClusterID: "certs-demo", Instances: 2,
		Changes: "rotates every instance to another CA, restarting each",
	})
	if err != nil {
		return err
	}
	defer env.Close()
	c := env.Cluster
	if *target == "" {
		*target = sslcert.CARSA2048G1
		if env.Emulated() {
			*target = sslcert.CAECC384G1
		}
	}
	if env.CABundle() == nil && *trustFile == "" {
		return fmt.Errorf("set %s (or -trust) to the CA bundle your clients use: the rotation is checked against it", exampleenv.EnvCABundle)
	}
	trust, err := sslcert.ParsePEM(env.CABundle())
	if *trustFile != "" {
		trust, err = sslcert.LoadFile(*trustFile)
	}
	if err != nil {
		return fmt.Errorf("reading the trust store: %w", err)
	}

	exampleenv.Heading(out, "CAs available (DescribeCertificates)")
	cat, err := c.Certs().Catalog(ctx)
	if err != nil {
		return err
	}
	for _, ca := range cat.CAs() {
		mark := ""
		if ca.ID == cat.DefaultForNewLaunches() {
			mark = "  (default for new launches)"
		}
		fmt.Fprintf(out, "  %-20s %-5s %4d  valid till %s%s\n", ca.ID, ca.KeyAlgorithm, ca.KeySize, ca.ValidTill.Format(time.DateOnly), mark)
	}
	trust = trust.WithCatalog(cat)

	exampleenv.Heading(out, "before")
	before, err := printInstances(ctx, out, c)
	if err != nil {
		return err
	}
	audit, err := c.Certs().AuditSessions(ctx, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  client sessions on the writer: %d with TLS, %d without\n", len(audit.Encrypted()), len(audit.Unencrypted()))
	for _, s := range audit.Unencrypted() {
		fmt.Fprintf(out, "    no TLS: pid %d %s@%s from %s (%s)\n", s.PID, s.User, s.Database, s.ClientAddr, s.Application)
	}

	// A trust store with only the CA in use would break once the servers
	// present certificates from the target: the rotation is refused
	// before anything changes.
	if oldOnly := sslcert.NewTrustStore(trust.CertificatesForCA(before)...); oldOnly.Len() > 0 && before != *target {
		exampleenv.Heading(out, "a rotation the clients would not survive is refused")
		_, err := c.RotateCA(ctx, *target, oldOnly, &aurora.RotateCAOptions{})
		if !errors.Is(err, sslcert.ErrUnsafePlan) {
			return fmt.Errorf("RotateCA with a trust store holding only %s: %v; want a refusal (sslcert.ErrUnsafePlan)", before, err)
		}
		fmt.Fprintf(out, "  refused, nothing changed: %v\n", err)
	}

	opts := &aurora.RotateCAOptions{
		Progress: exampleenv.Progress(out),
	}
	exampleenv.Heading(out, "RotateCA on %s to %s", c.ID(), *target)
	first, err := c.RotateCA(ctx, *target, trust, opts)
	if err != nil {
		return exampleenv.Failed(out, err)
	}
	if err := exampleenv.RunAgain(out, "run again: every instance is on "+*target+" already", func() (*aurora.Report, error) {
		return c.RotateCA(ctx, *target, trust, opts)
	}); err != nil {
		return err
	}

	exampleenv.Heading(out, "after")
	if _, err := printInstances(ctx, out, c); err != nil {
		return err
	}
	w, err := c.Writer(ctx)
	if err != nil {
		return err
	}
	var tlsVersion string
	if err := w.QueryRow(ctx, "SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&tlsVersion); err != nil {
		return fmt.Errorf("querying the writer after the rotation: %w", err)
	}
	fmt.Fprintf(out, "  the writer pool connects with verify-full over %s\n", tlsVersion)

	exampleenv.Heading(out, "report")
	exampleenv.PrintReport(out, first)
	return nil
}

// printInstances prints each instance's CA and certificate expiry and
// returns the writer's CA.
func printInstances(ctx context.Context, out io.Writer, c *aurora.Cluster) (string, error) {
	d, err := c.Describe(ctx)
	if err != nil {
		return "", err
	}
	if d.Writer == nil {
		return "", errors.New("the cluster has no writer right now")
	}
	for _, in := range append([]pgaurora.Instance{*d.Writer}, d.Readers...) {
		role := "reader"
		if in.Writer {
			role = "writer"
		}
		fmt.Fprintf(out, "  %-22s %s  CA %-18s certificate valid till %s\n", in.ID, role, in.CACertificate, in.CertificateValidTill.Format(time.DateOnly))
	}
	return d.Writer.CACertificate, nil
}
