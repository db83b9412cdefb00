// Command advisor prints what aurora.Cluster.Advise finds wrong with an
// Aurora PostgreSQL cluster, or with a whole fleet of them: a table of
// findings (severity, check ID, resource, evidence, fix), or one JSON
// object per line with -json for pipelines. With -drift it checks the
// parameter groups against desired values instead (Cluster.CheckDrift).
//
//	go run ./examples/advisor
//	go run ./examples/advisor -json
//	go run ./examples/advisor -migration
//	go run ./examples/advisor -hourly db.r6g.large=0.26 -storage-price 0.10 -io-price 0.20
//	go run ./examples/advisor -fleet
//	go run ./examples/advisor -fleet -tag env=prod -regions us-east-1,eu-west-1
//	go run ./examples/advisor -fleet -drift rds.force_ssl=1 -drift maintenance_work_mem=1GB
//
// By default it runs against a local emulator with a 1-instance cluster
// created with the emulator's defaults, which depart from AWS's guidance
// (no encryption, no deletion protection, the default master user name,
// rds.force_ssl off, no reader); -fleet adds a second, 2-instance
// cluster. When AURORA_CLUSTER_ID is set it reads that real cluster, with
// the normal AWS configuration and the database variables
// (AURORA_SECRET_ARN or AURORA_DB_USER, AURORA_CA_BUNDLE); with -fleet, it
// reads every Aurora PostgreSQL cluster in the configured Region and in
// -regions (those with the -tag tags), each with its RDS-managed secret,
// else AURORA_DB_USER, else AURORA_SECRET_ARN. Advise and the drift check
// only describe and read: they change nothing, so -yes is not needed.
//
// -hourly (one class=price per instance class, repeatable), -storage-price
// and -io-price give Advise the prices of AdviseOptions.Prices, which turn
// on the check of whether Aurora I/O-Optimized would cost less (it reads
// the volume's I/O from CloudWatch); the SDK holds no price list, so
// without -hourly that check does not run.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
	"github.com/pgaurora/pgaurora/params"
)

func main() { exampleenv.Main("advisor", run) }

// pairs is a repeatable name=value flag.
type pairs []params.Change

func (p *pairs) String() string { return fmt.Sprint(*p) }
func (p *pairs) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" || value == "" {
		return fmt.Errorf("%q is not name=value", s)
	}
	*p = append(*p, params.Change{Name: name, Value: value})
	return nil
}

type config struct {
	asJSON, migration, fleet bool
	regions                  exampleenv.List
	tags                     pairs
	drift                    pairs
	concurrency              int
	hourly                   pairs
	storagePrice, ioPrice    float64
}

// adviseOptions are the Advise options the flags give.
func (cf config) adviseOptions() (*aurora.AdviseOptions, error) {
	o := &aurora.AdviseOptions{PlannedMigration: cf.migration}
	if len(cf.hourly) == 0 {
		return o, nil
	}
	o.Prices = &aurora.AdvisePrices{HourlyPrices: map[string]float64{}, StorageGBMonthPrice: cf.storagePrice, IOPricePerMillion: cf.ioPrice}
	for _, h := range cf.hourly {
		v, err := strconv.ParseFloat(h.Value, 64)
		if err != nil {
			return nil, fmt.Errorf("-hourly %s=%s: not a price", h.Name, h.Value)
		}
		o.Prices.HourlyPrices[h.Name] = v
	}
	return o, nil
}

func run(ctx context.Context, out io.Writer, args []string) error {
	var cf config
	cmd := exampleenv.NewCommand("advisor", "")
	cmd.BoolVar(&cf.asJSON, "json", false, "print one JSON object per finding instead of a table")
	cmd.BoolVar(&cf.migration, "migration", false, "a migration or major upgrade is planned (adds the checks that matter then)")
	cmd.BoolVar(&cf.fleet, "fleet", false, "work on every Aurora PostgreSQL cluster the AWS configuration reaches")
	cmd.Var(&cf.regions, "regions", "with -fleet: more `Regions`, comma-separated, besides the configured one")
	cmd.Var(&cf.tags, "tag", "with -fleet: only clusters with this tag, key=value (repeatable)")
	cmd.Var(&cf.drift, "drift", "check parameter drift against name=value instead of advising (repeatable)")
	cmd.IntVar(&cf.concurrency, "concurrency", 0, "with -fleet: clusters worked on at once (0: the SDK's default)")
	cmd.Var(&cf.hourly, "hourly", "on-demand price of one instance hour, `class=price` (repeatable, one per class); turns on the I/O-Optimized check")
	cmd.Float64Var(&cf.storagePrice, "storage-price", 0.10, "with -hourly: price of one GB of storage for a month")
	cmd.Float64Var(&cf.ioPrice, "io-price", 0.20, "with -hourly: price of one million I/O requests")
	if err := cmd.Parse(args); err != nil {
		return err
	}
	if !cf.fleet && (len(cf.regions) > 0 || len(cf.tags) > 0) {
		return errors.New("-regions and -tag need -fleet")
	}
	adviseOpts, err := cf.adviseOptions()
	if err != nil {
		return err
	}
	// The mode line goes to the table output only, so -json output is
	// JSON lines and nothing else.
	modeOut := out
	if cf.asJSON {
		modeOut = io.Discard
	}
	opts := exampleenv.Options{Out: modeOut, ClusterID: "advisor-demo", APIOnly: len(cf.drift) > 0 || cf.fleet}
	if cf.fleet {
		opts.SecondClusterID, opts.SecondInstances = "advisor-demo-b", 2
	}
	env, err := cmd.Open(ctx, out, opts)
	if err != nil {
		return err
	}
	defer env.Close()
	if cf.fleet {
		return runFleet(ctx, out, env, cf)
	}

	if len(cf.drift) > 0 {
		rep, err := env.Cluster.CheckDrift(ctx, cf.drift)
		if err != nil {
			return err
		}
		return printDrift(out, cf.asJSON, []clusterDrift{{Cluster: env.Cluster.ID(), Report: rep}})
	}
	findings, err := env.Cluster.Advise(ctx, adviseOpts)
	if err != nil {
		return err
	}
	if cf.asJSON {
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

// clusterFinding is one finding of a fleet, as a JSON line: the cluster,
// its Region and the finding's fields.
type clusterFinding struct {
	Cluster string
	Region  string
	aurora.Finding
}

// clusterError is a cluster the fleet run failed on, as a JSON line.
type clusterError struct {
	Cluster string
	Region  string
	Error   string
}

// clusterDrift is one cluster's drift report.
type clusterDrift struct {
	Cluster string
	Region  string
	Report  *aurora.DriftReport
}

func runFleet(ctx context.Context, out io.Writer, env *exampleenv.Env, cf config) error {
	configs := []aws.Config{env.AWS}
	for _, r := range cf.regions {
		if r != env.AWS.Region {
			c := env.AWS.Copy()
			c.Region = r
			configs = append(configs, c)
		}
	}
	tags := map[string]string{}
	for _, t := range cf.tags {
		tags[t.Name] = t.Value
	}
	var progress pgaurora.ProgressFunc
	if !cf.asJSON {
		progress = func(e pgaurora.Event) {
			if e.Step == "cluster" {
				fmt.Fprintf(out, "  [%d/%d] %s: %s\n", e.Done, e.Total, e.Resource, e.Detail)
			}
		}
	}
	f, err := aurora.NewFleet(configs, &aurora.FleetOptions{Tags: tags, Concurrency: cf.concurrency,
		ClusterOptions: env.FleetClusterOptions, Progress: progress})
	if err != nil {
		return err
	}
	if !cf.asJSON {
		fmt.Fprintf(out, "\nfleet: %s\n", f)
	}
	var runner *aurora.FleetRun
	if len(cf.drift) > 0 {
		runner = f.CheckDrift(ctx, cf.drift)
	} else {
		o, err := cf.adviseOptions()
		if err != nil {
			return err
		}
		runner = f.Advise(ctx, o)
	}

	enc := json.NewEncoder(out)
	var (
		findings []clusterFinding
		drifts   []clusterDrift
		failed   []clusterError
	)
	for r, err := range runner.Results() {
		if err != nil {
			if r.Cluster.ID == "" && r.Cluster.Region == "" {
				return err // refused before any call
			}
			ce := clusterError{Cluster: r.Cluster.ID, Region: r.Cluster.Region, Error: err.Error()}
			if cf.asJSON {
				if err := enc.Encode(ce); err != nil {
					return err
				}
			}
			failed = append(failed, ce)
			continue
		}
		if r.Drift != nil {
			drifts = append(drifts, clusterDrift{Cluster: r.Cluster.ID, Region: r.Cluster.Region, Report: r.Drift})
			continue
		}
		for _, fd := range r.Findings {
			cfd := clusterFinding{Cluster: r.Cluster.ID, Region: r.Cluster.Region, Finding: fd}
			if cf.asJSON { // streamed, as each cluster ends
				if err := enc.Encode(cfd); err != nil {
					return err
				}
			}
			findings = append(findings, cfd)
		}
	}
	if len(cf.drift) > 0 {
		if err := printDrift(out, cf.asJSON, drifts); err != nil {
			return err
		}
	} else if !cf.asJSON {
		if err := printFleetFindings(out, findings); err != nil {
			return err
		}
	}
	if !cf.asJSON {
		for _, ce := range failed {
			fmt.Fprintf(out, "failed: %s (%s): %s\n", ce.Cluster, ce.Region, ce.Error)
		}
		fmt.Fprintf(out, "\nsummary: %s\n", runner.Summary())
	}
	return nil
}

// printFleetFindings prints a fleet's findings as one table, by cluster.
func printFleetFindings(out io.Writer, findings []clusterFinding) error {
	slices.SortStableFunc(findings, func(a, b clusterFinding) int {
		return cmp.Or(cmp.Compare(a.Region, b.Region), cmp.Compare(a.Cluster, b.Cluster))
	})
	fmt.Fprintf(out, "\n%s\n\n", exampleenv.Plural(len(findings), "finding"))
	if len(findings) == 0 {
		return nil
	}
	fs := make([]aurora.Finding, len(findings))
	for i, f := range findings {
		fs[i] = f.Finding
	}
	return exampleenv.PrintFindingsBy(out, "CLUSTER", func(i int) string { return findings[i].Cluster }, fs)
}

// driftLine is one parameter of a drift report, as a JSON line.
type driftLine struct {
	Cluster string
	Region  string `json:",omitempty"`
	aurora.ParameterDrift
}

// printDrift prints drift reports: a table of the parameters not as
// wanted, or one JSON object per parameter.
func printDrift(out io.Writer, asJSON bool, reports []clusterDrift) error {
	slices.SortFunc(reports, func(a, b clusterDrift) int {
		return cmp.Or(cmp.Compare(a.Region, b.Region), cmp.Compare(a.Cluster, b.Cluster))
	})
	if asJSON {
		enc := json.NewEncoder(out)
		for _, r := range reports {
			for _, p := range r.Report.Parameters {
				if err := enc.Encode(driftLine{Cluster: r.Cluster, Region: r.Region, ParameterDrift: p}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	drifted := 0
	for _, r := range reports {
		drifted += len(r.Report.Drifted())
	}
	fmt.Fprintf(out, "\n%s drifted\n\n", exampleenv.Plural(drifted, "parameter"))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tSTATE\tGROUP\tPARAMETER\tVALUE\tSOURCE\tWANT\tDETAIL")
	for _, r := range reports {
		for _, p := range r.Report.Parameters {
			v := p.Actual
			if v == "" {
				v = "?"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\t%s\t%s\t%s\n", r.Cluster, p.State, p.Kind, p.Group, p.Name, v, p.Source, p.Desired, p.Detail)
		}
		fmt.Fprintf(tw, "%s\tin-sync\t\t%s\t\t\t\t\n", r.Cluster, exampleenv.Plural(r.Report.InSync, "parameter"))
	}
	return tw.Flush()
}
