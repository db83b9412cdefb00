// Command quickstart is the README's main command (`make demo`): a tour of
// the SDK against the local Aurora emulator, using only the public API.
//
// It starts an emulator with two Aurora PostgreSQL clusters, "orders" (A)
// and "analytics" (B), each a writer and a reader made of real PostgreSQL 15
// servers, and then:
//
//  1. enables pgAudit on A with the write and ddl classes, excluding the
//     etl_service user, and reads the audit entries back through the RDS
//     log-file API;
//  2. enables pglogical on both clusters and replicates a table from A to B;
//  3. rotates B's CA certificate to rds-ca-ecc384-g1 with verify-full
//     connections open;
//  4. fails A over while a writer keeps committing, and checks that no
//     acknowledged write was lost;
//
// and prints a short report. Every step prints its progress as it goes.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/pgaudit"
	"github.com/pgaurora/pgaurora/pglogical"
	"github.com/pgaurora/pgaurora/sslcert"
)

// emulatorWait is how often the workflows poll the RDS API: the
// emulator's state changes take milliseconds, where real Aurora's take
// seconds to minutes (the workflows' default).
var emulatorWait = pgaurora.Wait{MinDelay: 25 * time.Millisecond, MaxDelay: 200 * time.Millisecond, MaxWait: time.Minute}

const (
	clusterA = "orders"
	clusterB = "analytics"
	targetCA = "rds-ca-ecc384-g1"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// tour holds what the steps share.
type tour struct {
	out    io.Writer
	emu    *auroratest.Emulator
	a, b   *aurora.Cluster
	start  time.Time
	report []string
}

func (t *tour) printf(format string, args ...any) { fmt.Fprintf(t.out, format, args...) }

// progress prints a workflow's steps as they complete (and leaves out
// the events of the reboots and rotations the steps run).
func (t *tour) progress(e pgaurora.Event) {
	if strings.Contains(e.Operation, ".") {
		return
	}
	mark := "ok "
	if !e.Changed {
		mark = "-- "
	}
	t.printf("   %s%s", mark, e.Step)
	if e.Detail != "" {
		t.printf(" (%s)", e.Detail)
	}
	t.printf(" [%s]\n", e.Elapsed.Round(time.Millisecond))
}

func run(ctx context.Context, out io.Writer) error {
	t := &tour{out: out, start: time.Now()}
	t.printf("pgaurora quickstart: two Aurora PostgreSQL clusters on a local emulator\n\n")

	t.printf("starting the emulator (%s and %s, a writer and a reader each)...\n", clusterA, clusterB)
	emu, err := auroratest.Start(ctx,
		auroratest.WithCluster(clusterA, auroratest.ClusterConfig{Instances: 2}),
		auroratest.WithCluster(clusterB, auroratest.ClusterConfig{Instances: 2, CACertificateIdentifier: "rds-ca-2019"}),
	)
	if err != nil {
		return fmt.Errorf("starting the emulator: %w", err)
	}
	defer emu.Close()
	t.emu = emu
	t.printf("   RDS API at %s, region %s [%s]\n\n", emu.Endpoint(), emu.Region(), time.Since(t.start).Round(time.Millisecond))

	if t.a, err = t.open(ctx, clusterA); err != nil {
		return err
	}
	defer t.a.Close()
	if t.b, err = t.open(ctx, clusterB); err != nil {
		return err
	}
	defer t.b.Close()

	for _, step := range []struct {
		title string
		fn    func(context.Context) error
	}{
		{"1. pgAudit on " + clusterA + ": classes write,ddl; etl_service excluded", t.audit},
		{"2. pglogical from " + clusterA + " to " + clusterB, t.replicate},
		{"3. CA rotation of " + clusterB + " to " + targetCA, t.rotate},
		{"4. failover of " + clusterA + " while writes continue", t.failover},
	} {
		t.printf("%s\n", step.title)
		if err := step.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", step.title, err)
		}
		t.printf("\n")
	}

	t.printf("report\n")
	for _, line := range t.report {
		t.printf("   %s\n", line)
	}
	t.printf("   finished in %s\n", time.Since(t.start).Round(100*time.Millisecond))
	return nil
}

// open returns a handle on one emulated cluster: the RDS API through the
// real aws-sdk-go-v2 client, connections with TLS verify-full against the
// emulator's CA bundle.
func (t *tour) open(ctx context.Context, id string) (*aurora.Cluster, error) {
	return aurora.New(id,
		aurora.WithAWSConfig(t.emu.AWSConfig()),
		aurora.WithCredentials(aurora.StaticPassword("postgres", t.emu.MasterPassword(id))),
		aurora.WithCABundle(t.emu.CABundlePEM()),
		aurora.WithWait(emulatorWait),
	)
}

func (t *tour) audit(ctx context.Context) error {
	since := time.Now().Add(-time.Second)
	w, err := t.a.Writer(ctx)
	if err != nil {
		return err
	}
	// The excluded user must exist before its exclusion is set. Its
	// password reaches the server only as a SCRAM verifier.
	etlPassword := rand.Text()
	verifier, err := aurora.PasswordSQL(etlPassword)
	if err != nil {
		return err
	}
	var exists bool
	if err := w.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = 'etl_service')").Scan(&exists); err != nil {
		return err
	}
	verb := "CREATE"
	if exists {
		verb = "ALTER"
	}
	if _, err := w.Exec(ctx, verb+" ROLE etl_service LOGIN PASSWORD "+verifier); err != nil {
		return err
	}
	rep, err := t.a.EnablePgAudit(ctx, pgaudit.Settings{Log: pgaurora.Ptr(pgaudit.Write | pgaudit.DDL)},
		&aurora.EnablePgAuditOptions{ExcludeUsers: []string{"etl_service"}, Progress: t.progress})
	if err != nil {
		return err
	}

	// Some audited work, and some by the excluded user.
	for _, sql := range []string{
		"CREATE TABLE IF NOT EXISTS customers(id int PRIMARY KEY, name text)",
		"INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace') ON CONFLICT DO NOTHING",
		"GRANT INSERT ON customers TO etl_service",
		"SELECT count(*) FROM customers", // READ is not audited
	} {
		if _, err := w.Exec(ctx, sql); err != nil {
			return err
		}
	}
	// etl_service logs in on its own: pgAudit reads pgaudit.log at login,
	// so its sessions are not audited.
	etl, err := aurora.New(clusterA,
		aurora.WithAWSConfig(t.emu.AWSConfig()),
		aurora.WithCredentials(aurora.StaticPassword("etl_service", etlPassword)),
		aurora.WithCABundle(t.emu.CABundlePEM()))
	if err != nil {
		return err
	}
	defer etl.Close()
	if _, err := etl.SQL().Exec(ctx, "INSERT INTO customers VALUES (3, 'Linus') ON CONFLICT DO NOTHING"); err != nil {
		return fmt.Errorf("writing as etl_service: %w", err)
	}
	t.printf("   etl_service inserted a row in a session of its own\n")

	t.printf("   audit entries read back with DownloadDBLogFilePortion:\n")
	n := 0
	for e, err := range t.a.AuditEntries(ctx, &aurora.AuditLogOptions{Since: since}) {
		if err != nil {
			return err
		}
		if !strings.Contains(e.Statement, "customers") {
			continue
		}
		n++
		t.printf("     %-5s %-12s by %-8s %s\n", e.Class, e.Command, e.User, oneLine(e.Statement))
	}
	if n == 0 {
		return errors.New("no audit entry was read back")
	}
	t.report = append(t.report, fmt.Sprintf("pgAudit: %d steps (%s), %d audit entries read back through the API",
		len(rep.Steps), changedWord(rep), n))
	return nil
}

func (t *tour) replicate(ctx context.Context) error {
	const table = "CREATE TABLE IF NOT EXISTS sales(id int PRIMARY KEY, amount numeric NOT NULL)"
	for _, c := range []*aurora.Cluster{t.a, t.b} {
		if _, err := c.SQL().Exec(ctx, table); err != nil {
			return err
		}
	}
	// pglogical connects to a node through its DSN: the subscriber to
	// itself too, to copy the initial data, so the subscriber's node DSN
	// logs in, as a node role that may only write the replicated table
	// (pglogical keeps the DSN, password included, in its catalog; the
	// SDK never prints it). The provider's node DSN needs no password:
	// the subscription has its own.
	nodeRole := &pglogical.NodeRoleSpec{Name: "pgl_node", Password: rand.Text(), Subscriber: true,
		Tables: []pglogical.Table{pglogical.T("public", "sales")}}
	for _, c := range []*aurora.Cluster{t.a, t.b} {
		t.printf("   enabling pglogical on %s\n", c.ID())
		opts := &aurora.PgLogicalOptions{Progress: t.progress}
		if c == t.b {
			opts.NodeRole = nodeRole
		}
		if _, err := c.EnablePgLogical(ctx, opts); err != nil {
			return err
		}
	}
	if _, err := t.a.SQL().Exec(ctx, "INSERT INTO sales SELECT g, g * 1.5 FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING"); err != nil {
		return err
	}
	provider := t.a.PgLogical()
	if err := provider.AddTable(ctx, "default", pglogical.T("public", "sales"), nil); err != nil && !errors.Is(err, pglogical.ErrAlreadyExists) {
		return err
	}

	dsn, err := t.dsn(ctx, t.a)
	if err != nil {
		return err
	}
	t.printf("   subscribing %s to %s (provider %s)\n", clusterB, clusterA, dsn) // the DSN prints without its password
	subscriber := t.b.PgLogical()
	if _, err := subscriber.Subscription(ctx, "sales_from_orders"); err != nil {
		if _, err := subscriber.CreateSubscription(ctx, pglogical.SubscriptionSpec{
			Name: "sales_from_orders", Provider: dsn, SynchronizeData: true,
		}); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := subscriber.WaitForSync(ctx, "sales_from_orders", nil); err != nil {
		return err
	}
	t.printf("   initial sync done [%s]\n", time.Since(start).Round(time.Millisecond))

	if _, err := t.a.SQL().Exec(ctx, "INSERT INTO sales SELECT g, g * 1.5 FROM generate_series(1001, 1100) g ON CONFLICT DO NOTHING"); err != nil {
		return err
	}
	var rows int
	for deadline := time.Now().Add(30 * time.Second); ; {
		if err := t.b.SQL().QueryRow(ctx, "SELECT count(*) FROM sales").Scan(&rows); err != nil {
			return err
		}
		if rows == 1100 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s has %d of 1100 rows after 30s", clusterB, rows)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.printf("   %s has all %d rows of %s.sales (1000 synced, 100 streamed)\n", clusterB, rows, clusterA)
	t.report = append(t.report, fmt.Sprintf("pglogical: %d rows replicated from %s to %s", rows, clusterA, clusterB))
	return nil
}

// dsn is a pglogical connection string for a cluster's writer endpoint.
func (t *tour) dsn(ctx context.Context, c *aurora.Cluster) (pgaurora.ConnString, error) {
	d, err := c.Describe(ctx)
	if err != nil {
		return pgaurora.ConnString{}, err
	}
	return pgaurora.NewConnString(map[string]string{
		"host": d.Endpoint, "port": fmt.Sprint(d.Port), "dbname": "postgres",
		"user": "postgres", "password": t.emu.MasterPassword(c.ID()), "sslmode": "require",
	})
}

func (t *tour) rotate(ctx context.Context) error {
	// Clients trust the old and the new CAs before the rotation: the
	// emulator's bundle holds all of them, as AWS's global bundle does.
	trust, err := sslcert.ParsePEM(t.emu.CABundlePEM())
	if err != nil {
		return err
	}
	w, err := t.b.Writer(ctx)
	if err != nil {
		return err
	}
	if err := w.Ping(ctx); err != nil {
		return err
	}
	rep, err := t.b.RotateCA(ctx, targetCA, trust, &aurora.RotateCAOptions{Progress: t.progress})
	if err != nil {
		return err
	}
	d, err := t.b.Describe(ctx)
	if err != nil {
		return err
	}
	var ssl bool
	if err := w.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil {
		return fmt.Errorf("verify-full connection after the rotation: %w", err)
	}
	check, err := sslcert.CheckServer(ctx, fmt.Sprintf("%s:%d", d.Writer.Address, d.Writer.Port), &sslcert.CheckOptions{TrustStore: trust, ServerName: d.Writer.Address})
	if err != nil {
		return err
	}
	t.printf("   %s presents a certificate issued by %s, verified: %v\n", d.Writer.ID, check.CAIdentifier, check.Verified)
	t.report = append(t.report, fmt.Sprintf("CA rotation: %s now on %s (%s); verify-full connections kept working", clusterB, d.Writer.CACertificate, changedWord(rep)))
	return nil
}

func (t *tour) failover(ctx context.Context) error {
	w, err := t.a.Writer(ctx)
	if err != nil {
		return err
	}
	if _, err := w.Exec(ctx, "CREATE TABLE IF NOT EXISTS heartbeat(id int PRIMARY KEY, at timestamptz DEFAULT now())"); err != nil {
		return err
	}
	var acked atomic.Int64
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := 1; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			err := w.RunTx(ctx, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, "INSERT INTO heartbeat(id) VALUES ($1) ON CONFLICT DO NOTHING", i)
				return err
			})
			if err != nil {
				done <- err
				return
			}
			acked.Store(int64(i))
		}
	}()
	time.Sleep(300 * time.Millisecond)
	t.printf("   %d writes committed; failing over...\n", acked.Load())
	res, err := t.a.Failover(ctx, &aurora.FailoverOptions{Progress: t.progress})
	if err != nil {
		close(stop)
		return errors.Join(err, <-done)
	}
	before := acked.Load()
	for acked.Load() < before+100 {
		select {
		case err := <-done:
			return fmt.Errorf("write stream stopped: %w", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	close(stop)
	if err := <-done; err != nil {
		return err
	}
	var stored int64
	if err := w.QueryRow(ctx, "SELECT count(*) FROM heartbeat").Scan(&stored); err != nil {
		return err
	}
	lost := acked.Load() - stored
	if lost > 0 {
		return fmt.Errorf("%d acknowledged writes lost", lost)
	}
	t.printf("   writer %s -> %s in %s; %d acknowledged writes, all on the new writer\n",
		res.OldWriter, res.NewWriter, res.Duration.Round(time.Millisecond), acked.Load())
	t.report = append(t.report, fmt.Sprintf("failover: %s -> %s, %d acknowledged writes, none lost", res.OldWriter, res.NewWriter, acked.Load()))
	return nil
}

func changedWord(r *aurora.Report) string {
	if r.Changed() {
		return "changes applied"
	}
	return "already in place"
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 70 {
		s = s[:67] + "..."
	}
	return s
}
