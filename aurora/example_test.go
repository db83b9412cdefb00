package aurora_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/pgaudit"
	"github.com/pgaurora/pgaurora/sslcert"
)

// The runnable examples work on a local Aurora emulator (package
// aurora/auroratest) with one cluster, "example", of a writer and a
// reader. They share it: the first example to need it starts it.

// exampleClusterID is the emulator's cluster the examples use.
const exampleClusterID = "example"

var examples struct {
	once sync.Once
	emu  *auroratest.Emulator
	err  error
}

// exampleEmulator returns the examples' emulator, starting it on first
// use (about three seconds).
func exampleEmulator() *auroratest.Emulator {
	examples.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		examples.emu, examples.err = auroratest.Start(ctx,
			auroratest.WithCluster(exampleClusterID, auroratest.ClusterConfig{Instances: 2}))
	})
	if examples.err != nil {
		log.Fatalf("starting the Aurora emulator: %v", examples.err)
	}
	return examples.emu
}

// stopExampleEmulator stops the examples' emulator if an example started
// it. TestMain calls it after the tests and examples.
func stopExampleEmulator() {
	examples.once.Do(func() {}) // no start from here on
	if examples.emu != nil {
		examples.emu.Close()
	}
}

// exampleCluster returns a handle on the emulator's cluster, made as in
// ExampleNew.
func exampleCluster(ctx context.Context) *aurora.Cluster {
	emu := exampleEmulator()
	c, err := aurora.New(exampleClusterID,
		aurora.WithAWSConfig(emu.AWSConfig()),
		aurora.WithCredentials(aurora.StaticPassword("postgres", emu.MasterPassword(exampleClusterID))),
		aurora.WithCABundle(emu.CABundlePEM()),
		// The emulator's state changes take milliseconds: poll fast. On
		// real Aurora leave it out (2s, backing off to 30s).
		aurora.WithWait(pgaurora.Wait{MinDelay: 50 * time.Millisecond, MaxDelay: time.Second}))
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// New makes a handle on a cluster without calling anything; Describe reads
// the cluster and its instances from the RDS API. Here a local emulator
// stands in for AWS. For a real cluster, load your AWS configuration
// (config.LoadDefaultConfig), take the credentials from the secret RDS
// manages (aurora.SecretsManagerSecret) or from IAM (aurora.IAMAuth), and
// verify the servers against AWS's CA bundle (global-bundle.pem).
func ExampleNew() {
	ctx := context.Background()
	emu := exampleEmulator()
	c, err := aurora.New("example",
		aurora.WithAWSConfig(emu.AWSConfig()),
		aurora.WithCredentials(aurora.StaticPassword("postgres", emu.MasterPassword("example"))),
		aurora.WithCABundle(emu.CABundlePEM()))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	d, err := c.Describe(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s (%s): %s, a writer and %d reader\n", d.ID, d.Engine, d.Status, len(d.Readers))
	// Output: example (aurora-postgresql): available, a writer and 1 reader
}

// Writer opens the pool on the cluster's writer. RunTx runs a transaction
// and, when the writer is lost (a failover), runs it again on the new
// writer, so the function must be safe to repeat: an upsert is.
func ExamplePool_RunTx() {
	ctx := context.Background()
	c := exampleCluster(ctx)
	defer c.Close()

	w, err := c.Writer(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := w.Exec(ctx, "CREATE TABLE IF NOT EXISTS example_orders(id int PRIMARY KEY, item text NOT NULL)"); err != nil {
		log.Fatal(err)
	}
	var item string
	err = w.RunTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO example_orders VALUES ($1, $2)
			ON CONFLICT (id) DO UPDATE SET item = excluded.item RETURNING item`, 1, "book").Scan(&item)
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(item)
	// Output: book
}

// EnablePgAudit creates and attaches a custom cluster parameter group,
// preloads pgaudit and sets pgaudit.log, reboots the instances, creates
// the extension and checks the settings. Each step is skipped when already
// done, so running it again changes nothing.
func ExampleCluster_EnablePgAudit() {
	ctx := context.Background()
	c := exampleCluster(ctx)
	defer c.Close()

	settings := pgaudit.Settings{Log: pgaurora.Ptr(pgaudit.Write | pgaudit.DDL)}
	r, err := c.EnablePgAudit(ctx, settings, &aurora.EnablePgAuditOptions{})
	if err != nil {
		log.Fatal(err) // a *aurora.WorkflowError names the failed step and the steps done
	}
	// r.String() lists the steps with what each found or changed.
	for _, s := range r.Steps {
		fmt.Println(s.Name)
	}
	st, err := c.Audit().Status(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("installed:", st.Installed, "pgaudit.log:", st.Values["pgaudit.log"])
	// Output:
	// use a custom DB cluster parameter group
	// set pgAudit parameters in example-cluster-params
	// reboot members pending reboot
	// create extension pgaudit
	// verify pgAudit on the writer
	// installed: true pgaudit.log: write,ddl
}

// AuditEntries reads pgAudit entries from the writer's PostgreSQL log
// through the RDS API (DescribeDBLogFiles, DownloadDBLogFilePortion); it
// needs no database credentials. Here pgAudit is enabled first
// (EnablePgAudit changes nothing when it already is) and one DDL
// statement is audited and read back.
func ExampleCluster_AuditEntries() {
	ctx := context.Background()
	c := exampleCluster(ctx)
	defer c.Close()
	if _, err := c.EnablePgAudit(ctx, pgaudit.Settings{Log: pgaurora.Ptr(pgaudit.Write | pgaudit.DDL)}, nil); err != nil {
		log.Fatal(err)
	}
	w, err := c.Writer(ctx)
	if err != nil {
		log.Fatal(err)
	}
	since := time.Now().Add(-time.Second)
	table := fmt.Sprintf("audited_%d", time.Now().UnixNano())
	if _, err := w.Exec(ctx, "CREATE TABLE "+table+" (id int)"); err != nil {
		log.Fatal(err)
	}

	for e, err := range c.AuditEntries(ctx, &aurora.AuditLogOptions{Since: since}) {
		var pe *pgaudit.ParseError
		if errors.As(err, &pe) {
			log.Print(err) // a malformed entry: the reading goes on
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		if e.ObjectName == "public."+table {
			fmt.Println(e.User, e.Class, e.Command)
		}
	}
	// Output: postgres ddl CREATE TABLE
}

// RotateCA moves every instance to another RDS CA, readers first and the
// writer last, after checking that the clients' trust store (nil: the
// Cluster's own CA bundle) trusts the new certificates.
func ExampleCluster_RotateCA() {
	ctx := context.Background()
	c := exampleCluster(ctx)
	defer c.Close()

	r, err := c.RotateCA(ctx, sslcert.CAECC384G1, nil, &aurora.RotateCAOptions{})
	if err != nil {
		log.Fatal(err) // errors.Is(err, sslcert.ErrUnsafePlan) when clients would not trust the new CA
	}
	for _, s := range r.Steps {
		fmt.Println(s.Name)
	}
	d, err := c.Describe(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("writer CA:", d.Writer.CACertificate)
	// Output:
	// plan the rotation to rds-ca-ecc384-g1
	// rotate the instances to rds-ca-ecc384-g1
	// check the writer connection
	// writer CA: rds-ca-ecc384-g1
}

// Failover promotes a reader (RDS chooses one when Target is empty) and
// waits until the cluster is available with it; an open writer pool
// follows at once.
func ExampleCluster_Failover() {
	ctx := context.Background()
	c := exampleCluster(ctx)
	defer c.Close()

	w, err := c.Writer(ctx)
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Failover(ctx, &aurora.FailoverOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("new writer:", res.NewWriter != res.OldWriter)
	fmt.Println("writer pool follows:", w.Target() == res.NewWriter)
	// Output:
	// new writer: true
	// writer pool follows: true
}

// EstimateMonthlyCost applies AWS's pricing formula to the caller's
// prices: here two instances at 0.26 an hour, 100 GB of storage at 0.10 a
// GB-month and 50 million I/O requests at 0.20 a million (Aurora Standard;
// illustrative prices, not a price list).
func ExampleEstimateMonthlyCost() {
	e, err := aurora.EstimateMonthlyCost(aurora.CostInput{
		Instances: 2, HourlyPrice: 0.26,
		StorageGB: 100, StorageGBMonthPrice: 0.10,
		IOPerMonth: 50e6, IOPricePerMillion: 0.20,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e)
	// Output: total 399.60 = compute 379.60 + storage 10.00 + I/O 10.00
}
