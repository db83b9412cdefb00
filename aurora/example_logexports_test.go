package aurora_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/pgaudit"
)

// SetLogExports publishes the cluster's PostgreSQL log to CloudWatch
// Logs (the log group /aws/rds/cluster/<cluster-id>/postgresql, a log
// stream per instance); AuditEntries with AuditSourceCloudWatchLogs reads
// pgAudit entries back from it with FilterLogEvents, with the parser,
// cursor and follow mode of the log files. Here one DDL statement is
// audited after the export is on and read back from the log group.
func ExampleMonitoring_SetLogExports() {
	ctx := context.Background()
	c := exampleCluster(ctx)
	defer c.Close()
	if _, err := c.EnablePgAudit(ctx, pgaudit.Settings{Log: pgaurora.Ptr(pgaudit.Write | pgaudit.DDL)}, nil); err != nil {
		log.Fatal(err)
	}
	r, err := c.Monitoring().SetLogExports(ctx, []string{aurora.LogExportPostgreSQL}, nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Steps[0].Name)

	w, err := c.Writer(ctx)
	if err != nil {
		log.Fatal(err)
	}
	since := time.Now().Add(-time.Second)
	table := fmt.Sprintf("exported_%d", time.Now().UnixNano())
	if _, err := w.Exec(ctx, "CREATE TABLE "+table+" (id int)"); err != nil {
		log.Fatal(err)
	}
	o := &aurora.AuditLogOptions{Source: aurora.AuditSourceCloudWatchLogs, Since: since}
	for e, err := range c.AuditEntries(ctx, o) {
		if err != nil {
			log.Fatal(err)
		}
		if e.ObjectName == "public."+table {
			fmt.Println(e.User, e.Class, e.Command)
		}
	}
	// Output:
	// set log exports of example: +postgresql
	// postgres ddl CREATE TABLE
}
