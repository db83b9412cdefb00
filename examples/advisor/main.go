// Command advisor prints what aurora.Cluster.Advise finds wrong with an
// Aurora PostgreSQL cluster: a table of findings (severity, check ID,
// resource, evidence, fix), or one JSON object per line with -json for
// pipelines.
//
//	go run ./examples/advisor
//	go run ./examples/advisor -json
//	go run ./examples/advisor -migration
//
// By default it runs against a local emulator with a 1-instance cluster
// created with the emulator's defaults, which depart from AWS's guidance
// (no encryption, no deletion protection, the default master user name,
// rds.force_ssl off, no reader). When AURORA_CLUSTER_ID is set it reads
// that real cluster, with the normal AWS configuration and the database
// variables (AURORA_SECRET_ARN or AURORA_DB_USER, AURORA_CA_BUNDLE).
// Advise only describes and reads: it changes nothing, so -yes is not
// needed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
)

func main() { exampleenv.Main("advisor", run) }

func run(ctx context.Context, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("advisor", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object per finding instead of a table")
	migration := fs.Bool("migration", false, "a migration or major upgrade is planned (adds the checks that matter then)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The mode line goes to the table output only, so -json output is
	// JSON lines and nothing else.
	modeOut := out
	if *asJSON {
		modeOut = io.Discard
	}
	env, err := exampleenv.Open(ctx, exampleenv.Options{Out: modeOut, ClusterID: "advisor-demo"})
	if err != nil {
		return err
	}
	defer env.Close()

	findings, err := env.Cluster.Advise(ctx, &aurora.AdviseOptions{PlannedMigration: *migration})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		for _, f := range findings {
			if err := enc.Encode(f); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(out, "\n%s: %s\n\n", env.Cluster.ID(), exampleenv.Plural(len(findings), "finding"))
	if len(findings) == 0 {
		return nil
	}
	return exampleenv.PrintFindings(out, findings)
}
