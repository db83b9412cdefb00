// Command upgrade-plv8 upgrades PLV8 (and plcoffee and plls, built on it)
// on an Aurora PostgreSQL cluster with aurora.Cluster.UpgradePLV8: the
// procedure AWS documents (dump the functions, DROP EXTENSION ... CASCADE,
// CREATE EXTENSION at the new version, restore the functions), but in one
// transaction that restores every function, trigger, owner, grant and
// comment and verifies them before it commits.
//
// The workflow plans first (installed, default and target versions, the
// functions in each language) and refuses, before any change, when the
// CASCADE would drop objects it cannot recreate. It writes the backup to a
// file the caller keeps, upgrades, and checks the versions. A second run
// finds nothing to upgrade and writes no backup.
//
//	go run ./examples/upgrade-plv8
//	go run ./examples/upgrade-plv8 -backup plv8-backup.sql
//
// By default it runs against a local emulator with a 1-instance cluster.
// PLV8 is not packaged for the PostgreSQL 15 the emulator runs, so there
// plperl stands in for it: the upgrade is the same for any
// procedural-language extension. plperl has a single version (1.0), so the
// example makes the catalog say 0.9 is installed, as after an engine
// upgrade that shipped a newer library, and creates a plperl function, a
// trigger, a grant and a comment that must survive the upgrade.
//
// When AURORA_CLUSTER_ID is set it upgrades plv8, plcoffee and plls (or
// -languages) on that real cluster, with the normal AWS configuration
// (AWS_REGION, AWS_PROFILE, ...) and:
//
//	AURORA_SECRET_ARN   Secrets Manager secret with the database user and password, or
//	AURORA_DB_USER      a database user with IAM authentication
//	AURORA_CA_BUNDLE    path to AWS's global CA bundle (default: system trust store)
//	AURORA_DATABASE     database whose functions are upgraded (default postgres)
//
// It drops and recreates the extensions (in one transaction), so it wants
// -yes; the backup goes to -backup or, by default, a new file in the
// temporary directory whose name it prints.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
)

func main() { exampleenv.Main("upgrade-plv8", run) }

// standIn builds what the emulator's stand-in upgrade works on: plperl
// with a function, a trigger function, a grant and a comment, and the
// catalog saying an older plperl is installed.
var standIn = []string{
	"CREATE EXTENSION IF NOT EXISTS plperl",
	"CREATE ROLE plv8_app NOLOGIN",
	`CREATE FUNCTION add_one(i int) RETURNS int LANGUAGE plperl AS $$ return $_[0] + 1; $$`,
	"COMMENT ON FUNCTION add_one(int) IS 'adds one'",
	"REVOKE ALL ON FUNCTION add_one(int) FROM PUBLIC",
	"GRANT EXECUTE ON FUNCTION add_one(int) TO plv8_app",
	"CREATE TABLE items(id int PRIMARY KEY, n int)",
	`CREATE FUNCTION items_bump() RETURNS trigger LANGUAGE plperl AS $$ $_TD->{new}{n} += 1; return "MODIFY"; $$`,
	"CREATE TRIGGER items_bump BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION items_bump()",
	"UPDATE pg_catalog.pg_extension SET extversion = '0.9' WHERE extname = 'plperl'",
}

func run(ctx context.Context, out io.Writer, args []string) error {
	cmd := exampleenv.NewCommand("upgrade-plv8", "drops and recreates the language extensions, in one transaction")
	var languages exampleenv.List
	cmd.Var(&languages, "languages", "comma-separated language `extensions` upgraded together (default plv8,plcoffee,plls; plperl on the emulator)")
	backupPath := cmd.String("backup", "", "file the backup of the language functions is written to (default: kept in memory on the emulator, a new temporary file on a real cluster)")
	lockTimeout := cmd.Duration("lock-timeout", 10*time.Second, "give up (and roll back) when a lock is not granted within this time")
	if err := cmd.Parse(args); err != nil {
		return err
	}

	env, err := cmd.Open(ctx, out, exampleenv.Options{
		ClusterID: "plv8-demo",
		Changes:   "drops and recreates the PLV8 language extensions and restores their functions, in one transaction",
	})
	if err != nil {
		return err
	}
	defer env.Close()
	c := env.Cluster

	opts := &aurora.PLV8UpgradeOptions{Languages: languages, LockTimeout: *lockTimeout, Progress: exampleenv.Progress(out)}
	if env.Emulated() {
		exampleenv.Heading(out, "set up the stand-in: plperl plays PLV8 on the emulator")
		fmt.Fprintln(out, "  PLV8 is not packaged for the emulator's PostgreSQL 15; the upgrade is the same for any procedural language")
		w, err := c.Writer(ctx)
		if err != nil {
			return err
		}
		if err := exampleenv.Exec(ctx, out, w, standIn...); err != nil {
			return err
		}
		if len(languages) == 0 {
			opts.Languages = []string{"plperl"}
		}
	}

	var backup io.Writer
	var inMemory bytes.Buffer
	switch {
	case *backupPath != "":
		f, err := os.Create(*backupPath)
		if err != nil {
			return fmt.Errorf("creating the backup file: %w", err)
		}
		defer f.Close()
		backup = f
	case env.Emulated():
		backup = &inMemory
		*backupPath = "memory"
	default:
		f, err := os.CreateTemp("", "plv8-backup-*.sql")
		if err != nil {
			return fmt.Errorf("creating the backup file: %w", err)
		}
		defer f.Close()
		backup, *backupPath = f, f.Name()
	}

	exampleenv.Heading(out, "UpgradePLV8 on %s (backup to %s)", c.ID(), *backupPath)
	first, err := c.UpgradePLV8(ctx, backup, opts)
	if err != nil {
		return exampleenv.Failed(out, err)
	}
	if inMemory.Len() > 0 {
		fmt.Fprintf(out, "  backup: %d bytes, starting with:\n", inMemory.Len())
		lines := strings.SplitN(inMemory.String(), "\n", 6)
		for _, l := range lines[:min(5, len(lines))] {
			fmt.Fprintf(out, "    %s\n", l)
		}
	}

	if err := exampleenv.RunAgain(out, "run again: nothing left to upgrade", func() (*aurora.Report, error) {
		return c.UpgradePLV8(ctx, io.Discard, opts)
	}); err != nil {
		return err
	}

	if env.Emulated() {
		exampleenv.Heading(out, "the functions survived")
		w, err := c.Writer(ctx)
		if err != nil {
			return err
		}
		var version, comment string
		var n int
		var canExec bool
		if _, err := w.Exec(ctx, "INSERT INTO items VALUES (1, 1)"); err != nil {
			return err
		}
		if err := w.QueryRow(ctx, `SELECT (SELECT extversion FROM pg_extension WHERE extname = 'plperl'), add_one(n),
			obj_description('add_one(int)'::regprocedure), has_function_privilege('plv8_app', 'add_one(int)', 'EXECUTE')
			FROM items WHERE id = 1`).Scan(&version, &n, &comment, &canExec); err != nil {
			return err
		}
		fmt.Fprintf(out, "  plperl %s; trigger items_bump turned 1 into 2 and add_one(2) = %d; comment %q; plv8_app may execute add_one: %v\n",
			version, n, comment, canExec)
		if version != "1.0" || n != 3 || comment != "adds one" || !canExec {
			return fmt.Errorf("the functions did not survive the upgrade intact")
		}
	}

	exampleenv.Heading(out, "report")
	exampleenv.PrintReport(out, first)
	return nil
}
