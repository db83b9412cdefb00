// Command audit-tail follows an Aurora PostgreSQL cluster's pgAudit log
// through the RDS API, like tail -F, with aurora.Cluster.AuditEntries in
// follow mode, and prints one line per entry: JSON lines (-json, the
// object pgaudit.WriteJSON writes, documented in package pgaudit) or a
// readable line. With -cursor it saves where it stopped in a file (an
// aurora.AuditCursor as JSON) and goes on from there when run again, so
// that no entry is printed twice or lost across runs. With -cloudwatch it
// reads the log exported to CloudWatch Logs instead (the writer's log
// stream in /aws/rds/cluster/<cluster-id>/postgresql, through
// FilterLogEvents): the same entries, the same options, another
// aurora.AuditLogOptions.Source.
//
//	go run ./examples/audit-tail
//	go run ./examples/audit-tail -json -cursor /tmp/audit.cursor -for 30s
//	go run ./examples/audit-tail -cloudwatch
//
// By default it runs against a local emulator: it turns pgAudit on for a
// 1-instance cluster (EnablePgAudit), runs a small workload that the log
// rotates in the middle of, and follows the writer's log until the
// workload's entries are all printed (or -for passes); with -cloudwatch it
// turns the log export on first (SetLogExports). Every run starts
// a new emulator, so there a saved cursor is only a demonstration of the
// file's form. When
// AURORA_CLUSTER_ID is set it follows that real cluster's writer (or
// -instance) with the normal AWS configuration (AWS_REGION, AWS_PROFILE,
// ...), changes nothing, and runs until interrupted (or -for passes); it
// needs rds:DescribeDBLogFiles and rds:DownloadDBLogFilePortion, and
// rds:DownloadCompleteDBLogFile with -whole; with -cloudwatch the
// cluster must export its postgresql log already, and it needs
// logs:FilterLogEvents instead.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
	"github.com/pgaurora/pgaurora/pgaudit"
)

func main() { exampleenv.Main("audit-tail", run) }

// demoStatements is how many audited statements the emulator's workload
// runs.
const demoStatements = 40

func run(ctx context.Context, out io.Writer, args []string) error {
	cmd := exampleenv.NewCommand("audit-tail", "")
	asJSON := cmd.Bool("json", false, "print JSON lines (one object per entry) instead of readable lines")
	cursorFile := cmd.String("cursor", "", "a file to go on from (when it exists) and to save the position in when stopping")
	instance := cmd.String("instance", "", "the DB instance whose log to follow (default: the cursor's, else the writer)")
	whole := cmd.Bool("whole", false, "download files that are no longer written whole (downloadCompleteLogFile), not by portions")
	cloudWatch := cmd.Bool("cloudwatch", false, "read the log exported to CloudWatch Logs (FilterLogEvents), not the log files")
	maxTime := cmd.Duration("for", 0, "stop following after this long (default: on the emulator when the demo's entries are in, else when interrupted)")
	if err := cmd.Parse(args); err != nil {
		return err
	}
	if *maxTime < 0 {
		return fmt.Errorf("-for %v: want a positive duration, or 0 for no limit", *maxTime)
	}
	source := aurora.AuditSourceRDS
	if *cloudWatch {
		if *whole {
			return errors.New("-whole downloads log files through the RDS API: it does not go with -cloudwatch")
		}
		source = aurora.AuditSourceCloudWatchLogs
	}
	var cur aurora.AuditCursor
	if *cursorFile != "" {
		b, err := os.ReadFile(*cursorFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return fmt.Errorf("-cursor: %w", err)
		default:
			if err := json.Unmarshal(b, &cur); err != nil {
				return fmt.Errorf("-cursor %s: not a saved cursor: %w", *cursorFile, err)
			}
		}
	}

	env, err := cmd.Open(ctx, out, exampleenv.Options{ClusterID: "audit-tail", Instances: 1, APIOnly: true})
	if err != nil {
		return err
	}
	defer env.Close()
	c := env.Cluster

	if *maxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *maxTime)
		defer cancel()
	}
	// On the emulator: pgAudit on, and a workload to follow.
	mark := ""
	work := make(chan error, 1)
	if env.Emulated() {
		exampleenv.Heading(out, "EnablePgAudit on %s, then a workload of %d statements, the log rotated in the middle", c.ID(), demoStatements)
		if _, err := c.EnablePgAudit(ctx, pgaudit.Settings{Log: pgaurora.Ptr(pgaudit.Write | pgaudit.DDL), LogRows: pgaurora.Ptr(true)}, nil); err != nil {
			return exampleenv.Failed(out, err)
		}
		if *cloudWatch {
			exampleenv.Heading(out, "SetLogExports: the postgresql log of %s to CloudWatch Logs", c.ID())
			if _, err := c.Monitoring().SetLogExports(ctx, []string{aurora.LogExportPostgreSQL}, nil, nil); err != nil {
				return exampleenv.Failed(out, err)
			}
		}
		if *maxTime == 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, time.Minute)
			defer cancel()
		}
		mark = fmt.Sprint("audit-tail-", time.Now().UnixNano())
		go func() { work <- workload(ctx, env, mark) }()
	}

	from := "the log files"
	if *cloudWatch {
		from = "CloudWatch Logs"
	}
	exampleenv.Heading(out, "following the audit log in %s from %s", from, cur)
	w := bufio.NewWriter(out)
	printed, demo := 0, 0
	opts := &aurora.AuditLogOptions{Source: source, Instance: *instance, Follow: true, Cursor: &cur, WholeFiles: *whole}
	var readErr error
	for e, err := range c.AuditEntries(ctx, opts) {
		if err != nil {
			var fe *aurora.AuditLogFileError
			var pe *pgaudit.ParseError
			if errors.As(err, &fe) && errors.As(err, &pe) {
				fmt.Fprintf(w, "skipped a malformed entry: %v\n", err)
				continue
			}
			readErr = err
			break
		}
		if *asJSON {
			if err := pgaudit.WriteJSON(w, &e); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(w, "%s %s@%s [%d] %s %s %s %s: %s\n", e.Time.Format(time.DateTime), e.User, e.Database, e.PID, e.Type, e.Class, e.Command, e.ObjectName, e.Statement)
		}
		printed++
		if mark != "" && strings.Contains(e.Statement, mark) {
			if demo++; demo == demoStatements {
				break
			}
		}
		if printed%100 == 0 {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if readErr != nil {
		return fmt.Errorf("following the audit log: %w", readErr)
	}
	if mark != "" {
		if err := <-work; err != nil {
			return fmt.Errorf("the workload: %w", err)
		}
		if demo < demoStatements {
			return fmt.Errorf("%d of the workload's %d entries printed before the time ran out", demo, demoStatements)
		}
	}
	exampleenv.Heading(out, "stopped")
	fmt.Fprintf(out, "  %d entries printed; cursor %s\n", printed, cur)
	if *cursorFile != "" {
		b, err := json.Marshal(cur)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*cursorFile, append(b, '\n'), 0o600); err != nil {
			return fmt.Errorf("saving the cursor: %w", err)
		}
		fmt.Fprintf(out, "  cursor saved to %s: run again to go on from there\n", *cursorFile)
	}
	return nil
}

// workload writes demoStatements audited INSERTs on the emulated cluster,
// and rotates the writer's log halfway.
func workload(ctx context.Context, env *exampleenv.Env, mark string) error {
	c := env.Cluster
	w, err := c.Writer(ctx)
	if err != nil {
		return err
	}
	if _, err := w.Exec(ctx, "CREATE TABLE IF NOT EXISTS audit_tail_demo(id bigserial PRIMARY KEY, note text)"); err != nil {
		return err
	}
	d, err := c.Describe(ctx)
	if err != nil {
		return err
	}
	if d.Writer == nil {
		return errors.New("the cluster has no writer")
	}
	for i := range demoStatements {
		if i == demoStatements/2 {
			if _, err := env.Emulator.RotateLog(d.Writer.ID); err != nil {
				return err
			}
		}
		if _, err := w.Exec(ctx, fmt.Sprintf("INSERT INTO audit_tail_demo(note) VALUES ('%s-%02d')", mark, i)); err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
