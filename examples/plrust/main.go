// Command plrust sets up PL/Rust (trusted functions written in Rust) on an
// Aurora PostgreSQL cluster with aurora.Cluster.EnablePLRust, and shows the
// two checks that keep it from rebooting a cluster that cannot run PL/Rust.
//
// EnablePLRust first checks the engine version (PL/Rust needs Aurora
// PostgreSQL 13.12, 14.9, 15.3, 16.1, 17.1 or later in its major version)
// and that the writer offers the plrust extension (pg_available_extensions),
// and only then puts the cluster on a custom DB cluster parameter group,
// adds plrust to shared_preload_libraries, reboots the members pending a
// reboot and runs CREATE EXTENSION plrust. The example prints the version
// rule for a few engine versions (extensions.CheckPLRustEngine, the check
// the workflow runs), the cluster's own version and what the writer offers,
// then runs the workflow.
//
//	go run ./examples/plrust
//	go run ./examples/plrust -check    # the checks only; changes nothing
//
// By default it runs against a local emulator with a 1-instance cluster
// reporting engine version 15.4. The emulator's PostgreSQL has no plrust
// package, so there the workflow stops at its availability check, before
// changing anything, and the example shows that (and exits 0). When
// AURORA_CLUSTER_ID is set it works on that real cluster, with the normal
// AWS configuration (AWS_REGION, AWS_PROFILE, ...) and:
//
//	AURORA_SECRET_ARN   Secrets Manager secret with the database user and password, or
//	AURORA_DB_USER      a database user with IAM authentication
//	AURORA_CA_BUNDLE    path to AWS's global CA bundle (default: system trust store)
//	AURORA_DATABASE     database to create the extension in (default postgres)
//
// There, unless -check is given, it changes the parameter group and
// reboots the instances, so it wants -yes; a refusal by either check is a
// failure (exit status 1).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
	"github.com/pgaurora/pgaurora/extensions"
)

func main() { exampleenv.Main("plrust", run) }

func run(ctx context.Context, out io.Writer, args []string) error {
	cmd := exampleenv.NewCommand("plrust", "changes its parameter group, reboots its instances, creates the plrust extension")
	checkOnly := cmd.Bool("check", false, "only run the engine version and availability checks; change nothing")
	if err := cmd.Parse(args); err != nil {
		return err
	}

	changes := "changes the DB cluster parameter group (plrust in shared_preload_libraries), reboots the instances and creates the plrust extension"
	if *checkOnly {
		changes = ""
	}
	env, err := cmd.Open(ctx, out, exampleenv.Options{ClusterID: "plrust-demo", EngineVersion: "15.4", Changes: changes})
	if err != nil {
		return err
	}
	defer env.Close()
	c := env.Cluster

	exampleenv.Heading(out, "the engine version rule (extensions.CheckPLRustEngine)")
	for _, v := range []string{"13.11", "13.12", "14.8", "14.9", "15.2", "15.3", "16.1", "17.1"} {
		if err := extensions.CheckPLRustEngine(v); err != nil {
			fmt.Fprintf(out, "  %-6s refused: %v\n", v, err)
		} else {
			fmt.Fprintf(out, "  %-6s has PL/Rust\n", v)
		}
	}

	exampleenv.Heading(out, "what %s can run", c.ID())
	before, err := c.Describe(ctx)
	if err != nil {
		return err
	}
	engineErr := extensions.CheckPLRustEngine(before.EngineVersion)
	if engineErr != nil {
		fmt.Fprintf(out, "  engine %s %s: refused: %v\n", before.Engine, before.EngineVersion, engineErr)
	} else {
		fmt.Fprintf(out, "  engine %s %s: has PL/Rust\n", before.Engine, before.EngineVersion)
	}
	versions, err := c.Extensions().AvailableVersions(ctx, extensions.PLRust)
	if err != nil {
		return err
	}
	if len(versions) == 0 {
		fmt.Fprintf(out, "  the writer offers no %s extension (not in pg_available_extension_versions)\n", extensions.PLRust)
	}
	for _, v := range versions {
		fmt.Fprintf(out, "  the writer offers %s %s (installed: %v)\n", v.Name, v.Version, v.Installed)
	}
	if *checkOnly {
		if engineErr != nil || len(versions) == 0 {
			return fmt.Errorf("%s cannot run PL/Rust", c.ID())
		}
		fmt.Fprintf(out, "\n%s can run PL/Rust; run without -check to set it up\n", c.ID())
		return nil
	}

	exampleenv.Heading(out, "EnablePLRust on %s", c.ID())
	report, err := c.EnablePLRust(ctx, &aurora.PLRustOptions{
		Progress: exampleenv.Progress(out),
	})
	refused := errors.Is(err, extensions.ErrNotAvailable) || errors.Is(err, extensions.ErrUnsupportedEngine)
	if err != nil && !(refused && env.Emulated()) {
		return exampleenv.Failed(out, err)
	}
	if err != nil {
		// The emulator has no plrust package: the refusal is the demo.
		we, err := exampleenv.Refused(out, "EnablePLRust", err)
		if err != nil {
			return err
		}
		after, err := c.Describe(ctx)
		if err != nil {
			return err
		}
		if after.ParameterGroup != before.ParameterGroup {
			return fmt.Errorf("the refused workflow changed the cluster parameter group from %s to %s", before.ParameterGroup, after.ParameterGroup)
		}
		exampleenv.Heading(out, "report")
		fmt.Fprintf(out, "  the emulator's PostgreSQL has no plrust package, so EnablePLRust stopped before changing anything:\n")
		exampleenv.PrintReport(out, we.Report)
		fmt.Fprintf(out, "  %s still uses parameter group %s; nothing was rebooted\n", c.ID(), after.ParameterGroup)
		return nil
	}

	if err := exampleenv.RunAgain(out, "run again: it must find everything in place", func() (*aurora.Report, error) {
		return c.EnablePLRust(ctx, &aurora.PLRustOptions{Progress: exampleenv.Progress(out)})
	}); err != nil {
		return err
	}
	exampleenv.Heading(out, "report")
	exampleenv.PrintReport(out, report)
	return nil
}
