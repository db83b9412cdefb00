// Command enable-pgaudit turns pgAudit on for an Aurora PostgreSQL cluster
// with aurora.Cluster.EnablePgAudit, then reads the audit lines back from
// the writer's PostgreSQL log through the RDS API (DescribeDBLogFiles and
// DownloadDBLogFilePortion) with aurora.Cluster.AuditEntries.
//
// The workflow puts the cluster on a custom DB cluster parameter group
// (creating one when it uses its family's default group), adds pgaudit to
// shared_preload_libraries and sets the pgaudit.* parameters, reboots the
// members left pending-reboot (readers first, the writer last), runs CREATE
// EXTENSION pgaudit, excludes the given roles from session auditing and
// verifies the result. The example runs it a second time to show that
// nothing is left to change, writes to a small table
// (pgaurora_example_audit, dropped at the end) and prints the audit entries
// it caused.
//
//	go run ./examples/enable-pgaudit
//	go run ./examples/enable-pgaudit -log write,ddl,role -exclude app_service
//
// By default it runs against a local emulator with a 2-instance cluster
// and excludes a role app_service that it creates there. When
// AURORA_CLUSTER_ID is set it works on that real cluster, with the normal
// AWS configuration (AWS_REGION, AWS_PROFILE, ...) and:
//
//	AURORA_SECRET_ARN   Secrets Manager secret with the database user and password, or
//	AURORA_DB_USER      a database user with IAM authentication
//	AURORA_CA_BUNDLE    path to AWS's global CA bundle (default: system trust store)
//	AURORA_DATABASE     database to connect to (default postgres)
//
// Against a real cluster it changes the parameter group and reboots the
// instances, so it wants -yes; the roles to exclude (-exclude) must exist.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
	"github.com/pgaurora/pgaurora/pgaudit"
)

func main() { exampleenv.Main("enable-pgaudit", run) }

// demoRole is the application role the example excludes from session
// auditing on the emulator.
const demoRole = "app_service"

func run(ctx context.Context, out io.Writer, args []string) error {
	cmd := exampleenv.NewCommand("enable-pgaudit", "changes its parameter group and reboots its instances")
	logClasses := cmd.String("log", "write,ddl", "pgaudit.log: the statement classes to audit ("+pgaudit.AllowedClassWords+")")
	var excluded exampleenv.List
	cmd.Var(&excluded, "exclude", "comma-separated `roles` to leave out of session auditing (default: "+demoRole+" on the emulator, none on a real cluster)")
	wait := cmd.Duration("wait", time.Minute, "how long to wait for the audit lines to reach the log")
	if err := cmd.Parse(args); err != nil {
		return err
	}
	classes, err := pgaudit.ParseClasses(*logClasses)
	if err != nil {
		return fmt.Errorf("-log: %w", err)
	}
	settings := pgaudit.Settings{Log: pgaurora.Ptr(classes), LogRows: pgaurora.Ptr(true)}

	env, err := cmd.Open(ctx, out, exampleenv.Options{
		ClusterID: "audit-demo", Instances: 2,
		Changes: "changes the DB cluster parameter group (creating a custom one when the cluster uses a default group), reboots the instances, creates the pgaudit extension and a table pgaurora_example_audit (dropped at the end)",
	})
	if err != nil {
		return err
	}
	defer env.Close()
	c := env.Cluster

	if env.Emulated() && len(excluded) == 0 {
		excluded = []string{demoRole}
		if _, err := c.SQL().Exec(ctx, "CREATE ROLE "+pgx.Identifier{demoRole}.Sanitize()); err != nil {
			return fmt.Errorf("creating the role %s: %w", demoRole, err)
		}
		fmt.Fprintf(out, "created role %s on the emulator, to exclude from session auditing\n", demoRole)
	}

	opts := &aurora.EnablePgAuditOptions{
		ExcludeUsers: excluded,
		Progress:     exampleenv.Progress(out),
	}
	exampleenv.Heading(out, "EnablePgAudit on %s (pgaudit.log=%s, pgaudit.log_rows=on)", c.ID(), classes)
	first, err := c.EnablePgAudit(ctx, settings, opts)
	if err != nil {
		return exampleenv.Failed(out, err)
	}
	if err := exampleenv.RunAgain(out, "run again: it must find everything in place", func() (*aurora.Report, error) {
		return c.EnablePgAudit(ctx, settings, opts)
	}); err != nil {
		return err
	}

	exampleenv.Heading(out, "effective pgaudit.log per role")
	var me, db string
	if err := c.SQL().QueryRow(ctx, "SELECT current_user, current_database()").Scan(&me, &db); err != nil {
		return err
	}
	for _, role := range append([]string{me}, excluded...) {
		eff, err := c.Audit().EffectiveClasses(ctx, role, db)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  %-14s %s\n", role, eff)
	}

	exampleenv.Heading(out, "audited statements, read back through the RDS API")
	since := time.Now()
	w, err := c.Writer(ctx)
	if err != nil {
		return err
	}
	d, err := c.Describe(ctx)
	if err != nil {
		return err
	}
	if d.Writer == nil {
		return errors.New("the cluster has no writer right now")
	}
	if err := exampleenv.Exec(ctx, out, w,
		"CREATE TABLE IF NOT EXISTS pgaurora_example_audit(id bigserial PRIMARY KEY, note text)",
		"INSERT INTO pgaurora_example_audit(note) VALUES ('written by the enable-pgaudit example')",
		"SELECT count(*) FROM pgaurora_example_audit", // READ: not audited unless -log has read
	); err != nil {
		return err
	}
	defer exampleenv.DropTable(ctx, out, w, "pgaurora_example_audit")

	// The server writes its log a moment after the statements; poll.
	entries, err := readAudit(ctx, c, d.Writer.ID, since, *wait)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  %d audit entries in %s's log since the statements ran:\n", len(entries), d.Writer.ID)
	for _, e := range entries {
		fmt.Fprintf(out, "    %s %s@%s %s %s %s rows=%d: %s\n", e.Time.Format(time.TimeOnly), e.User, e.Database, e.Type, e.Class, e.Command, e.Rows, e.Statement)
	}

	exampleenv.Heading(out, "report")
	exampleenv.PrintReport(out, first)
	fmt.Fprintf(out, "  pgAudit is on for %s with pgaudit.log=%s; excluded roles: %s; %d audit entries read back\n",
		c.ID(), classes, strings.Join(excluded, ", "), len(entries))
	return nil
}

// readAudit reads the writer's audit entries since the statements ran,
// until the INSERT shows up, and returns the entries about the example's
// table.
func readAudit(ctx context.Context, c *aurora.Cluster, instance string, since time.Time, wait time.Duration) ([]pgaudit.Entry, error) {
	deadline := time.Now().Add(wait)
	for {
		var found []pgaudit.Entry
		seen := false
		for e, err := range c.AuditEntries(ctx, &aurora.AuditLogOptions{Instance: instance, Since: since}) {
			if err != nil {
				return nil, fmt.Errorf("reading the audit log: %w", err)
			}
			if strings.Contains(e.Statement, "pgaurora_example_audit") {
				found = append(found, e)
			}
			if e.Command == "INSERT" && strings.Contains(e.Statement, "pgaurora_example_audit") {
				seen = true
			}
		}
		if seen {
			return found, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the audited INSERT was not in %s's log after %s", instance, wait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
