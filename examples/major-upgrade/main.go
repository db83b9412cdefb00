// Command major-upgrade upgrades an Aurora PostgreSQL cluster to a new
// major engine version with aurora.Cluster.UpgradeMajorVersion, after
// printing the plan that aurora.Cluster.PlanMajorUpgrade makes: every
// finding (the target offered by RDS, instance classes, parameter values
// the new family does not accept, PLV8-style languages, pglogical, logical
// slots, pending extension updates, column types pg_upgrade refuses,
// prepared transactions, the cluster's state and its newest snapshot) and
// the parameter groups of the target family, with the values carried
// over.
//
// The upgrade is one resumable workflow: plan, snapshot, tear pglogical
// down, drop logical slots (with -drop-slots), create the target family's
// groups, upgrade the engine, update extensions, reinstall the language
// extensions, analyze every database in stages, restore pglogical, verify.
// Its state goes to -state as JSON after every run: when a run fails, run
// the example again with the same -state and it resumes where it stopped.
// A second run on the upgraded cluster changes nothing.
//
//	go run ./examples/major-upgrade
//	go run ./examples/major-upgrade -plan-only
//	go run ./examples/major-upgrade -target 16.6 -drop-slots -state upgrade.json
//
// By default it runs against a local emulator with a 2-instance cluster at
// 15.4 with custom parameter groups, pgAudit, a pglogical node, a table
// with a trigger, plperl functions (plperl stands in for PLV8: the
// emulator's PostgreSQL 15 has no PLV8 package) and a logical slot that
// blocks the upgrade. It shows the refusal first
// (nothing changed), then upgrades with DropLogicalSlots as -drop-slots
// would. The emulator's servers stay PostgreSQL 15 binaries while RDS
// reports the new version (pgAudit and pglogical are not in the
// PostgreSQL 16 builds the emulator can move a cluster to, and an
// emulator event says so); the workflow's SQL steps run on them all the
// same.
//
// When AURORA_CLUSTER_ID is set it works on that real cluster, with the
// normal AWS configuration and the database variables (AURORA_SECRET_ARN or
// AURORA_DB_USER, AURORA_CA_BUNDLE). -plan-only only reads; the upgrade
// takes the cluster offline while the engine is upgraded, so it wants
// -yes.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
	"github.com/pgaurora/pgaurora/params"
	"github.com/pgaurora/pgaurora/pgaudit"
)

func main() { exampleenv.Main("major-upgrade", run) }

// The emulated cluster and its custom parameter groups.
const (
	demoCluster       = "upgrade-demo"
	demoClusterGroup  = "demo-aurora-postgresql15"
	demoInstanceGroup = "demo-instances"
)

// demoSetup gives the emulated cluster what an upgrade must deal with.
var demoSetup = []string{
	"CREATE TABLE orders(id int PRIMARY KEY, total numeric NOT NULL)",
	"INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 1000) g",
	"CREATE EXTENSION plperl",
	"CREATE FUNCTION order_label(id int) RETURNS text LANGUAGE plperl AS $$ return 'order-' . $_[0]; $$",
	`CREATE FUNCTION orders_round() RETURNS trigger LANGUAGE plperl AS $$ $_TD->{new}{total} = int($_TD->{new}{total}); return "MODIFY"; $$`,
	"CREATE TRIGGER orders_round BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION orders_round()",
	"COMMENT ON FUNCTION order_label(int) IS 'the label printed on an order'",
	"SELECT pg_create_logical_replication_slot('cdc_slot', 'test_decoding')",
}

func run(ctx context.Context, out io.Writer, args []string) error {
	cmd := exampleenv.NewCommand("major-upgrade", "snapshots it and upgrades its engine; the cluster is offline meanwhile")
	target := cmd.String("target", "16.6", "the engine version to upgrade to")
	planOnly := cmd.Bool("plan-only", false, "print the plan and stop (read-only)")
	dropSlots := cmd.Bool("drop-slots", false, "drop the logical replication slots the upgrade cannot carry, after the snapshot (their consumers lose their place)")
	var languages exampleenv.List
	cmd.Var(&languages, "languages", "comma-separated language `extensions` reinstalled for the new engine (default plv8,plcoffee,plls; plperl on the emulator)")
	backupPath := cmd.String("backup", "", "file the backup of the language functions is appended to (default: kept in memory)")
	statePath := cmd.String("state", "", "JSON file the upgrade's state is read from (to resume) and written to after the run (default: kept in memory)")
	if err := cmd.Parse(args); err != nil {
		return err
	}
	changes := "takes a snapshot and upgrades the cluster's engine to a new major version; the cluster is offline while the engine is upgraded"
	if *planOnly {
		changes = ""
	}
	env, err := cmd.Open(ctx, out, exampleenv.Options{
		ClusterID: demoCluster, Instances: 2, EngineVersion: "15.4",
		ClusterParameterGroup: demoClusterGroup, InstanceParameterGroup: demoInstanceGroup,
		Changes: changes,
	})
	if err != nil {
		return err
	}
	defer env.Close()
	c := env.Cluster

	planOpts := &aurora.MajorUpgradePlanOptions{Languages: languages}
	if env.Emulated() {
		if err := setUpDemo(ctx, out, c); err != nil {
			return err
		}
		if len(languages) == 0 {
			planOpts.Languages = []string{"plperl"}
		}
	}

	exampleenv.Heading(out, "plan the upgrade of %s to %s", c.ID(), *target)
	plan, err := c.PlanMajorUpgrade(ctx, *target, planOpts)
	if err != nil {
		return err
	}
	if err := printPlan(out, plan); err != nil {
		return err
	}
	if *planOnly {
		return nil
	}

	state := &aurora.MajorUpgradeState{}
	if *statePath != "" {
		if err := readState(*statePath, state); err != nil {
			return err
		}
	}
	backup := &backupFile{path: *backupPath}
	defer backup.close(out)
	opts := &aurora.MajorUpgradeOptions{
		Plan: planOpts, State: state, DropLogicalSlots: *dropSlots,
		LanguageBackup: backup, Progress: exampleenv.Progress(out),
	}
	upgrade := func(heading string) (*aurora.Report, error) {
		exampleenv.Heading(out, "%s", heading)
		r, err := c.UpgradeMajorVersion(ctx, *target, opts)
		if *statePath != "" {
			if werr := writeState(*statePath, state); werr != nil {
				return r, errors.Join(err, werr)
			}
			fmt.Fprintf(out, "  state written to %s\n", *statePath)
		}
		return r, err
	}

	r, err := upgrade(fmt.Sprintf("upgrade %s to %s", c.ID(), *target))
	var blocked *aurora.UpgradeBlockedError
	if errors.As(err, &blocked) && env.Emulated() && !*dropSlots {
		// The demonstration: the slot stopped the upgrade before any
		// change; the same run with DropLogicalSlots goes through.
		fmt.Fprintf(out, "  refused, nothing changed: %v\n", blocked)
		opts.DropLogicalSlots = true
		r, err = upgrade(fmt.Sprintf("upgrade %s to %s, dropping the logical slots (as -drop-slots does)", c.ID(), *target))
	}
	if err != nil {
		return exampleenv.Failed(out, err)
	}
	exampleenv.PrintReport(out, r)

	d, err := c.Describe(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  %s runs %s, cluster group %s\n", c.ID(), d.EngineVersion, d.ParameterGroup)
	if env.Emulated() {
		w, err := c.Writer(ctx)
		if err != nil {
			return err
		}
		var n int
		var label string
		if err := w.QueryRow(ctx, "SELECT count(*), max(order_label(id)) FROM orders").Scan(&n, &label); err != nil {
			return err
		}
		fmt.Fprintf(out, "  orders: %d rows; order_label still works: %s\n", n, label)
	}

	r, err = upgrade("upgrade again: nothing is left to do")
	if err != nil {
		return exampleenv.Failed(out, err)
	}
	exampleenv.PrintReport(out, r)
	return nil
}

// setUpDemo sets values in the emulated cluster's custom groups (one that
// family 16 no longer has) and creates what the upgrade must handle.
func setUpDemo(ctx context.Context, out io.Writer, c *aurora.Cluster) error {
	exampleenv.Heading(out, "set up the emulated cluster: values in custom groups, pgAudit, pglogical, plperl functions and a trigger, a logical slot")
	svc := c.Params()
	for _, s := range []struct {
		kind  params.Kind
		group string
		ch    params.Change
	}{
		{params.ClusterGroup, demoClusterGroup, params.Change{Name: "work_mem", Value: "8192"}},
		{params.ClusterGroup, demoClusterGroup, params.Change{Name: "vacuum_defer_cleanup_age", Value: "10"}},
		{params.InstanceGroup, demoInstanceGroup, params.Change{Name: "random_page_cost", Value: "1.1"}},
	} {
		if err := svc.Modify(ctx, s.kind, s.group, s.ch); err != nil {
			return err
		}
		fmt.Fprintf(out, "  %s group %s: %s\n", s.kind, s.group, s.ch)
	}
	// pgAudit and pglogical each add a preload library (and pglogical
	// rds.logical_replication=1) to the custom group, and reboot.
	if _, err := c.EnablePgAudit(ctx, pgaudit.Settings{Log: pgaurora.Ptr(pgaudit.Write | pgaudit.DDL)}, nil); err != nil {
		return err
	}
	fmt.Fprintln(out, "  EnablePgAudit: pgaudit.log=write,ddl")
	if _, err := c.EnablePgLogical(ctx, &aurora.PgLogicalOptions{NodeName: "demo_node"}); err != nil {
		return err
	}
	fmt.Fprintln(out, "  EnablePgLogical: node demo_node in postgres")
	w, err := c.Writer(ctx)
	if err != nil {
		return err
	}
	return exampleenv.Exec(ctx, out, w, demoSetup...)
}

// printPlan prints the plan's versions, parameter groups and findings.
func printPlan(out io.Writer, p *aurora.MajorUpgradePlan) error {
	fmt.Fprintf(out, "  %s → %s (family %s → %s), databases %s\n", p.From, p.To, p.FromFamily, p.ToFamily, strings.Join(p.Databases, ", "))
	for _, g := range p.ParameterGroups {
		line := fmt.Sprintf("  %s group %s → %s", g.Kind, g.Current, g.Target)
		if len(g.Carry) > 0 {
			carry := make([]string, len(g.Carry))
			for i, ch := range g.Carry {
				carry[i] = ch.String()
			}
			line += ", carrying " + strings.Join(carry, ", ")
		}
		fmt.Fprintln(out, line)
	}
	blockers := len(p.Blockers())
	fmt.Fprintf(out, "\n%s, %s\n\n", exampleenv.Plural(len(p.Findings), "finding"), exampleenv.Plural(blockers, "blocker"))
	if len(p.Findings) == 0 {
		return nil
	}
	return exampleenv.PrintFindings(out, p.Findings)
}

// readState loads a saved state; a missing file is a first run.
func readState(path string, st *aurora.MajorUpgradeState) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the upgrade state: %w", err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return fmt.Errorf("reading the upgrade state %s: %w", path, err)
	}
	return nil
}

func writeState(path string, st *aurora.MajorUpgradeState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing the upgrade state: %w", err)
	}
	return nil
}

// backupFile keeps the language functions' backup in memory, or appends
// it to a file opened on the first write (so a resumed run never
// overwrites the backup of an earlier one).
type backupFile struct {
	path string
	mem  bytes.Buffer
	f    *os.File
	n    int
}

func (b *backupFile) Write(p []byte) (int, error) {
	if b.path == "" {
		return b.mem.Write(p)
	}
	if b.f == nil {
		f, err := os.OpenFile(b.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return 0, fmt.Errorf("opening the language backup: %w", err)
		}
		b.f = f
	}
	n, err := b.f.Write(p)
	b.n += n
	return n, err
}

func (b *backupFile) close(out io.Writer) {
	switch {
	case b.f != nil:
		if err := b.f.Close(); err != nil {
			fmt.Fprintf(out, "closing the language backup %s: %v\n", b.path, err)
			return
		}
		fmt.Fprintf(out, "backup of the language functions (%d bytes) appended to %s\n", b.n, b.path)
	case b.mem.Len() > 0:
		fmt.Fprintf(out, "backup of the language functions: %d bytes, kept in memory (give -backup to keep it)\n", b.mem.Len())
	}
}
