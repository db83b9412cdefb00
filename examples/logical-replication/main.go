// Command logical-replication prepares an Aurora PostgreSQL cluster for
// logical replication with aurora.Cluster.ConfigureLogicalReplication, and
// proves it works by decoding a change through a logical replication slot.
//
// The workflow puts the cluster on a custom DB cluster parameter group
// (when it uses its family's default group), sets rds.logical_replication=1
// and raises max_replication_slots, max_wal_senders,
// max_logical_replication_workers and max_worker_processes to fit the
// planned publications, subscriptions and other slot consumers (never
// lowering anything), reboots the members pending a reboot and checks that
// the writer runs with wal_level=logical. The example runs it twice (the
// second run changes nothing), prints the settings the writer now runs
// with, then, with the logical package (Cluster.Logical), creates a slot
// with the wal2json plugin, inserts a row into a scratch table and reads
// the decoded change back.
//
//	go run ./examples/logical-replication
//	go run ./examples/logical-replication -publications 4 -subscriptions 2 -slots 3
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
// Against a real cluster it changes the parameter group and reboots the
// instances, so it wants -yes. The slot it creates is dropped at the end,
// and so is the scratch table pgaurora_example_lrep.
package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
	"github.com/pgaurora/pgaurora/logical"
)

func main() { exampleenv.Main("logical-replication", run) }

const slotName = "pgaurora_example_slot"

func run(ctx context.Context, out io.Writer, args []string) error {
	cmd := exampleenv.NewCommand("logical-replication", "changes its parameter group and reboots its instances")
	var plan aurora.LogicalReplicationPlan
	cmd.IntVar(&plan.Publications, "publications", 2, "planned publications (each consumed through a slot on this cluster)")
	cmd.IntVar(&plan.Subscriptions, "subscriptions", 1, "planned subscriptions on this cluster")
	cmd.IntVar(&plan.Slots, "slots", 1, "other consumers of logical slots (AWS DMS, Debezium, wal2json readers)")
	cmd.IntVar(&plan.VCPU, "vcpu", 0, "vCPUs of the instance class, for RDS's default formulas (0: read the writer's running values)")
	if err := cmd.Parse(args); err != nil {
		return err
	}

	env, err := cmd.Open(ctx, out, exampleenv.Options{
		ClusterID: "lrep-demo", Instances: 2,
		Changes: "changes the DB cluster parameter group (rds.logical_replication=1 and the replication sizing) and reboots the instances",
	})
	if err != nil {
		return err
	}
	defer env.Close()
	c := env.Cluster

	opts := &aurora.LogicalReplicationOptions{
		Progress: exampleenv.Progress(out),
	}
	exampleenv.Heading(out, "ConfigureLogicalReplication on %s: %d publications, %d subscriptions, %d other slots",
		c.ID(), plan.Publications, plan.Subscriptions, plan.Slots)
	first, err := c.ConfigureLogicalReplication(ctx, plan, opts)
	if err != nil {
		return exampleenv.Failed(out, err)
	}
	if err := exampleenv.RunAgain(out, "run again: it must find everything in place", func() (*aurora.Report, error) {
		return c.ConfigureLogicalReplication(ctx, plan, opts)
	}); err != nil {
		return err
	}

	exampleenv.Heading(out, "the writer's replication settings")
	w, err := c.Writer(ctx)
	if err != nil {
		return err
	}
	for _, name := range []string{"wal_level", "max_replication_slots", "max_wal_senders", "max_logical_replication_workers", "max_worker_processes"} {
		var v string
		if err := w.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		fmt.Fprintf(out, "  %-32s %s\n", name, v)
	}

	exampleenv.Heading(out, "decode a change through a wal2json slot")
	changes, err := decodeOneChange(ctx, c)
	if err != nil {
		return err
	}
	for _, ch := range changes {
		fmt.Fprintf(out, "  %s\n", ch)
	}

	exampleenv.Heading(out, "report")
	exampleenv.PrintReport(out, first)
	fmt.Fprintf(out, "  %s is ready for logical replication; a change was decoded through slot %s\n", c.ID(), slotName)
	return nil
}

// decodeOneChange creates a wal2json slot with the logical package,
// writes a row, reads the change back through the slot and drops it.
func decodeOneChange(ctx context.Context, c *aurora.Cluster) ([]string, error) {
	lr := c.Logical()
	if _, err := lr.CreateSlot(ctx, slotName, logical.PluginWal2JSON); err != nil {
		return nil, fmt.Errorf("creating the slot: %w", err)
	}
	// The slot keeps WAL until it is dropped: drop it whatever happens.
	defer func() { _ = lr.DropSlot(context.WithoutCancel(ctx), slotName) }()
	for _, stmt := range []string{
		"CREATE TABLE IF NOT EXISTS pgaurora_example_lrep(id int PRIMARY KEY, note text)",
		"INSERT INTO pgaurora_example_lrep VALUES (1, 'decoded') ON CONFLICT (id) DO UPDATE SET note = excluded.note",
		"DROP TABLE pgaurora_example_lrep",
	} {
		if _, err := c.SQL().Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("%s: %w", stmt, err)
		}
	}
	changes, err := lr.PeekWal2JSON(ctx, slotName, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the slot: %w", err)
	}
	var out []string
	for _, ch := range changes {
		line := fmt.Sprintf("%s %s.%s at %s:", ch.Kind, ch.Schema, ch.Table, ch.LSN)
		for _, col := range ch.Columns {
			text, _ := col.Value.Text()
			line += fmt.Sprintf(" %s=%s", col.Name, text)
		}
		out = append(out, line)
	}
	if !slices.ContainsFunc(changes, func(ch logical.DataChange) bool { return ch.Kind == logical.KindInsert }) {
		return nil, fmt.Errorf("the slot decoded no insert: %q", out)
	}
	return out, nil
}
