// Command backup-retention sets how many days of automated backups an
// Aurora PostgreSQL cluster keeps, with aurora.Cluster.SetBackupRetention.
//
// The workflow checks the value (1 to 35 days) before any call, calls
// ModifyDBCluster with BackupRetentionPeriod and ApplyImmediately when the
// cluster keeps another number of days, and waits until the cluster is
// available with the new period. The example shows an out-of-range value
// refused, sets the period, runs again to show that nothing is left to
// change, and prints the cluster before and after.
//
//	go run ./examples/backup-retention
//	go run ./examples/backup-retention -days 14
//
// By default it runs against a local emulator with a 1-instance cluster
// (which keeps 1 day). When AURORA_CLUSTER_ID is set it works on that real
// cluster, with the normal AWS configuration (AWS_REGION, AWS_PROFILE,
// ...). The workflow only calls the RDS API, so the database variables
// (AURORA_SECRET_ARN, AURORA_DB_USER, AURORA_CA_BUNDLE) are not needed.
// It changes the cluster's backup retention — lowering it deletes the
// automated backups older than the new period — so it wants -yes.
package main

import (
	"context"
	"fmt"
	"io"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
)

func main() { exampleenv.Main("backup-retention", run) }

func run(ctx context.Context, out io.Writer, args []string) error {
	cmd := exampleenv.NewCommand("backup-retention", "changes its backup retention period")
	days := cmd.Int("days", 7, fmt.Sprintf("days of automated backups to keep (%d to %d)", aurora.MinBackupRetentionDays, aurora.MaxBackupRetentionDays))
	if err := cmd.Parse(args); err != nil {
		return err
	}

	env, err := cmd.Open(ctx, out, exampleenv.Options{
		ClusterID: "backup-demo", APIOnly: true,
		Changes: fmt.Sprintf("sets the cluster's backup retention period to %d days (lowering it deletes older automated backups)", *days),
	})
	if err != nil {
		return err
	}
	defer env.Close()
	c := env.Cluster

	before, err := c.Describe(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s keeps %s of automated backups (status %s)\n", c.ID(), exampleenv.Plural(before.BackupRetentionDays, "day"), before.Status)

	exampleenv.Heading(out, "an out-of-range value is refused before any call")
	_, err = c.SetBackupRetention(ctx, aurora.MaxBackupRetentionDays+1, nil)
	if _, err := exampleenv.Refused(out, fmt.Sprintf("SetBackupRetention(%d)", aurora.MaxBackupRetentionDays+1), err); err != nil {
		return err
	}

	opts := &aurora.SetBackupRetentionOptions{Progress: exampleenv.Progress(out)}
	exampleenv.Heading(out, "SetBackupRetention(%d) on %s", *days, c.ID())
	first, err := c.SetBackupRetention(ctx, *days, opts)
	if err != nil {
		return exampleenv.Failed(out, err)
	}
	if err := exampleenv.RunAgain(out, "run again: nothing left to change", func() (*aurora.Report, error) {
		return c.SetBackupRetention(ctx, *days, opts)
	}); err != nil {
		return err
	}

	after, err := c.Describe(ctx)
	if err != nil {
		return err
	}
	exampleenv.Heading(out, "report")
	exampleenv.PrintReport(out, first)
	fmt.Fprintf(out, "  %s: backup retention %d -> %d days, status %s\n", c.ID(), before.BackupRetentionDays, after.BackupRetentionDays, after.Status)
	if after.BackupRetentionDays != *days {
		return fmt.Errorf("the cluster keeps %d days, not %d", after.BackupRetentionDays, *days)
	}
	return nil
}
