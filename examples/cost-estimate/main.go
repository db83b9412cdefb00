// Command cost-estimate estimates the monthly cost of an Aurora PostgreSQL
// cluster with aurora.EstimateMonthlyCost, from the formula AWS documents:
//
//	instances × hourly price × 730 hours + storage GB × monthly GB price
//	  (+ I/O requests / 1,000,000 × price per million, on Aurora Standard)
//
// It is a pure calculation: the SDK holds no price list, so the prices are
// flags, in any one currency, for your Region, instance class and storage
// configuration (look them up on the Aurora pricing page). The defaults
// are illustrative numbers, not AWS's current prices. Backups beyond the
// free allowance, data transfer and other features are not counted.
//
//	go run ./examples/cost-estimate
//	go run ./examples/cost-estimate -instances 3 -hourly 0.29 -storage-gb 500 -storage-price 0.10 -io-per-month 200e6 -io-price 0.20
//
// It needs no emulator and no AWS account. When AURORA_CLUSTER_ID is set
// and -instances is not given, it counts that real cluster's instances
// (DescribeDBClusters, with the normal AWS configuration: AWS_REGION,
// AWS_PROFILE, ...; no database credentials are needed).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
)

func main() { exampleenv.Main("cost-estimate", run) }

func run(ctx context.Context, out io.Writer, args []string) error {
	cmd := exampleenv.NewCommand("cost-estimate", "")
	var in aurora.CostInput
	cmd.IntVar(&in.Instances, "instances", 2, "DB instances (writer and readers), all of one class")
	cmd.Float64Var(&in.HourlyPrice, "hourly", 0.26, "on-demand price of one instance for one hour")
	cmd.Float64Var(&in.StorageGB, "storage-gb", 100, "billed cluster volume size, GB-months")
	cmd.Float64Var(&in.StorageGBMonthPrice, "storage-price", 0.10, "price of one GB of storage for a month")
	cmd.Float64Var(&in.IOPerMonth, "io-per-month", 0, "I/O requests a month (Aurora Standard; 0 for I/O-Optimized)")
	cmd.Float64Var(&in.IOPricePerMillion, "io-price", 0.20, "price of one million I/O requests (Aurora Standard)")
	if err := cmd.Parse(args); err != nil {
		return err
	}
	instancesGiven := false
	cmd.Visit(func(f *flag.Flag) { instancesGiven = instancesGiven || f.Name == "instances" })

	if id := os.Getenv(exampleenv.EnvClusterID); id != "" && !instancesGiven {
		env, err := cmd.Open(ctx, out, exampleenv.Options{APIOnly: true})
		if err != nil {
			return err
		}
		defer env.Close()
		d, err := env.Cluster.Describe(ctx)
		if err != nil {
			return err
		}
		in.Instances = len(d.Readers)
		if d.Writer != nil {
			in.Instances++
		}
		fmt.Fprintf(out, "%s has %s (engine %s %s)\n", id, exampleenv.Plural(in.Instances, "instance"), d.Engine, d.EngineVersion)
	} else {
		fmt.Fprintf(out, "mode: pure calculation from the flags (set %s to count a real cluster's instances)\n", exampleenv.EnvClusterID)
	}

	est, err := aurora.EstimateMonthlyCost(in)
	if err != nil {
		return err
	}
	exampleenv.Heading(out, "monthly estimate (%d h a month)", aurora.HoursPerMonth)
	fmt.Fprintf(out, "  compute  %10.2f  (%d instances × %g an hour × %d hours)\n", est.Compute, in.Instances, in.HourlyPrice, aurora.HoursPerMonth)
	fmt.Fprintf(out, "  storage  %10.2f  (%g GB × %g a GB-month)\n", est.Storage, in.StorageGB, in.StorageGBMonthPrice)
	fmt.Fprintf(out, "  I/O      %10.2f  (%.0f requests × %g a million)\n", est.IO, in.IOPerMonth, in.IOPricePerMillion)
	fmt.Fprintf(out, "  total    %10.2f\n", est.Total)
	exampleenv.Heading(out, "report")
	fmt.Fprintf(out, "  %s\n", est)
	return nil
}
