// Command reboot restarts one DB instance of an Aurora PostgreSQL cluster
// with aurora.Cluster.Reboot and waits until it is available again, with
// its parameter groups in sync.
//
// Reboot checks that the instance belongs to the cluster, waits first when
// it is busy (modifying, rebooting), calls RebootDBInstance and waits for
// the instance to be available with no parameter change pending. With
// OnlyIfPending it reboots only when a parameter group change waits for a
// reboot, which makes it idempotent: the example shows that mode finding
// nothing to do, then reboots the instance (by default a reader) while a
// reader pool keeps querying, and reports how long the instance was away.
//
//	go run ./examples/reboot
//	go run ./examples/reboot -instance my-cluster-instance-2 -only-if-pending
//
// By default it runs against a local emulator with a 2-instance cluster.
// When AURORA_CLUSTER_ID is set it works on that real cluster, with the
// normal AWS configuration (AWS_REGION, AWS_PROFILE, ...) and:
//
//	AURORA_SECRET_ARN   Secrets Manager secret with the database user and password, or
//	AURORA_DB_USER      a database user with IAM authentication
//	AURORA_CA_BUNDLE    path to AWS's global CA bundle (default: system trust store)
//	AURORA_DATABASE     database to connect to (default postgres)
//
// Against a real cluster the reboot makes the instance unavailable for a
// while (rebooting the writer stops writes without failing over), so it
// wants -yes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
)

func main() { exampleenv.Main("reboot", run) }

func run(ctx context.Context, out io.Writer, args []string) error {
	cmd := exampleenv.NewCommand("reboot", "the instance is unavailable while it restarts")
	instance := cmd.String("instance", "", "the DB instance to reboot (default: the first reader, or the writer when there is none)")
	onlyIfPending := cmd.Bool("only-if-pending", false, "reboot only when a parameter group change waits for a reboot")
	if err := cmd.Parse(args); err != nil {
		return err
	}

	env, err := cmd.Open(ctx, out, exampleenv.Options{
		ClusterID: "reboot-demo", Instances: 2,
		Changes: "reboots a DB instance (unavailable while it restarts)",
	})
	if err != nil {
		return err
	}
	defer env.Close()
	c := env.Cluster

	d, err := c.Describe(ctx)
	if err != nil {
		return err
	}
	if *instance == "" {
		switch {
		case len(d.Readers) > 0:
			*instance = d.Readers[0].ID
		case d.Writer != nil:
			*instance = d.Writer.ID
		default:
			return errors.New("the cluster has no instance")
		}
	}
	fmt.Fprintf(out, "\nrebooting %s of %s\n", *instance, c.ID())

	exampleenv.Heading(out, "Reboot with OnlyIfPending: only when a parameter change waits for it")
	pending, err := c.Reboot(ctx, *instance, &aurora.RebootOptions{OnlyIfPending: true, Progress: exampleenv.Progress(out)})
	if err != nil {
		return exampleenv.Failed(out, err)
	}
	if *onlyIfPending {
		exampleenv.Heading(out, "report")
		exampleenv.PrintReport(out, pending)
		return nil
	}

	// A reader pool queries through the reboot; the reader endpoint sends
	// new connections to the instances that are up.
	r, err := c.Reader(ctx)
	if err != nil {
		return err
	}
	probe := startProbe(ctx, r)

	exampleenv.Heading(out, "Reboot %s", *instance)
	start := time.Now()
	report, err := c.Reboot(ctx, *instance, &aurora.RebootOptions{Progress: exampleenv.Progress(out)})
	took := time.Since(start)
	ok, failed := probe()
	if err != nil {
		return exampleenv.Failed(out, err)
	}

	after, err := c.Describe(ctx)
	if err != nil {
		return err
	}
	exampleenv.Heading(out, "report")
	exampleenv.PrintReport(out, report)
	members := after.Readers
	if after.Writer != nil {
		members = append(members, *after.Writer)
	}
	for _, in := range members {
		if in.ID == *instance {
			fmt.Fprintf(out, "  %s is %s again after %s (parameters: cluster %s, instance %s)\n",
				in.ID, in.Status, took.Round(time.Millisecond), in.ClusterParameterGroupStatus, in.ParameterApplyStatus)
		}
	}
	fmt.Fprintf(out, "  reader pool during the reboot: %d queries answered, %d failed (each failed query would be retried by the application)\n", ok, failed)
	return nil
}

// startProbe runs a query on the reader pool every 50 ms until the
// returned function is called, which reports how many succeeded and
// failed.
func startProbe(ctx context.Context, r *aurora.Pool) func() (ok, failed int) {
	stop := make(chan struct{})
	done := make(chan [2]int)
	go func() {
		var n [2]int
		for {
			select {
			case <-stop:
				done <- n
				return
			case <-time.After(50 * time.Millisecond):
			}
			qctx, cancel := context.WithTimeout(ctx, time.Second)
			var one int
			if err := r.QueryRow(qctx, "SELECT 1").Scan(&one); err != nil {
				n[1]++
			} else {
				n[0]++
			}
			cancel()
		}
	}()
	return func() (int, int) {
		close(stop)
		n := <-done
		return n[0], n[1]
	}
}
