package aurora_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/aurora/auroratest"
)

// A first program, whole: a local Aurora emulator, a handle on its
// cluster, a description, a write through the failover-aware writer pool,
// and one workflow. Against a real cluster, build the handle from your
// AWS configuration instead (see New) and leave out WithWait.
func Example() {
	ctx := context.Background()
	emu, err := auroratest.Start(ctx, auroratest.WithCluster("shop", auroratest.ClusterConfig{Instances: 2}))
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()

	c, err := aurora.New("shop",
		aurora.WithAWSConfig(emu.AWSConfig()), // the RDS API: the emulator's
		aurora.WithCredentials(aurora.StaticPassword("postgres", emu.MasterPassword("shop"))),
		aurora.WithCABundle(emu.CABundlePEM()), // TLS verify-full against the emulator's CAs
		aurora.WithWait(pgaurora.Wait{MinDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond}),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	d, err := c.Describe(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s is %s: writer %s, %d reader(s)\n", d.ID, d.Status, d.Writer.ID, len(d.Readers))

	w, err := c.Writer(ctx)
	if err != nil {
		log.Fatal(err)
	}
	err = w.RunTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders VALUES (1), (2)")
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	var n int
	if err := w.QueryRow(ctx, "SELECT count(*) FROM orders").Scan(&n); err != nil {
		log.Fatal(err)
	}
	fmt.Println("orders:", n)

	report, err := c.SetBackupRetention(ctx, 7, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(report.Changed(), report.Steps[0].Name)
	// Output:
	// shop is available: writer shop-instance-1, 1 reader(s)
	// orders: 2
	// true set backup retention of shop to 7 days
}
