// Command monitor prints an Aurora PostgreSQL cluster's health at a
// glance: the key CloudWatch metrics with a small text chart of each over
// the period, the writer's top wait events, and the states of the
// recommended alarms.
//
//	go run ./examples/monitor
//	go run ./examples/monitor -last 3h -period 5m
//	go run ./examples/monitor -ensure-alarms -yes
//
// Everything comes through aurora.Cluster.Monitoring: the metrics from
// Metrics (GetMetricData, every page), the wait events from DatabaseLoad
// (Performance Insights' db.load.avg by wait event) when the writer has
// Performance Insights on, else from Cluster.SampleWaitEvents (five
// seconds of pg_stat_activity), and the alarms from RecommendedAlarms and
// AlarmStates. With -ensure-alarms it first creates or updates the
// recommended alarms (EnsureAlarms), which needs -yes against a real
// cluster.
//
// By default it runs against a local emulator with a 2-instance cluster
// whose metrics are sampled every second: it ensures the alarms, turns
// Performance Insights on for the writer, then provokes what they
// watch — a reader lagging 2 s behind a writer that keeps committing, an
// inactive replication slot holding WAL, 25 idle sessions and a row lock
// three sessions wait for — and shows each in the report (the last 30 s,
// one point per second). When AURORA_CLUSTER_ID is set it reads that real
// cluster, with the normal AWS configuration (AWS_REGION, AWS_PROFILE,
// ...) and the database variables (AURORA_SECRET_ARN or AURORA_DB_USER,
// AURORA_CA_BUNDLE), which the connections alarm uses to read
// max_connections. The AWS identity needs cloudwatch:GetMetricData,
// cloudwatch:DescribeAlarms (and cloudwatch:PutMetricAlarm with
// -ensure-alarms) and pi:GetResourceMetrics and
// pi:DescribeDimensionKeys.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
)

func main() { exampleenv.Main("monitor", run) }

func run(ctx context.Context, out io.Writer, args []string) error {
	cmd := exampleenv.NewCommand("monitor", "with -ensure-alarms, creates or updates the cluster's recommended CloudWatch alarms")
	last := cmd.Duration("last", time.Hour, "how far back to read the metrics (on the emulator: 30s)")
	period := cmd.Duration("period", time.Minute, "the length of each data point: 1s, 5s, 10s, 30s or a multiple of 1m (on the emulator: 1s)")
	ensure := cmd.Bool("ensure-alarms", false, "create or update the recommended alarms before showing their states (always on the emulator)")
	if err := cmd.Parse(args); err != nil {
		return err
	}
	opts := exampleenv.Options{
		ClusterID: "monitor-demo", Instances: 2,
		EmulatorOptions: []auroratest.Option{auroratest.WithMetricsPeriod(time.Second)},
	}
	if *ensure {
		opts.Changes = "creates or updates its recommended CloudWatch alarms"
	}
	env, err := cmd.Open(ctx, out, opts)
	if err != nil {
		return err
	}
	defer env.Close()
	c := env.Cluster

	if env.Emulated() {
		*ensure = true
		if !flagSet(cmd, "last") {
			*last = 30 * time.Second
		}
		if !flagSet(cmd, "period") {
			*period = time.Second
		}
	}

	alarms, err := c.Monitoring().RecommendedAlarms(ctx, alarmThresholds(env))
	if err != nil {
		return err
	}
	if *ensure {
		exampleenv.Heading(out, "EnsureAlarms: the recommended alarms")
		r, err := c.Monitoring().EnsureAlarms(ctx, alarms, nil)
		if err != nil {
			return exampleenv.Failed(out, err)
		}
		exampleenv.PrintReport(out, r)
	}
	if env.Emulated() {
		stop, err := provoke(ctx, out, env)
		if err != nil {
			return err
		}
		defer stop()
	}

	d, err := c.Describe(ctx)
	if err != nil {
		return err
	}
	scopes := []aurora.MetricScope{{}}
	if d.Writer != nil {
		scopes = append(scopes, aurora.MetricScope{Instance: d.Writer.ID})
	}
	for _, r := range d.Readers {
		scopes = append(scopes, aurora.MetricScope{Instance: r.ID})
	}
	exampleenv.Heading(out, "metrics of %s over the last %s, one point per %s (Maximum)", c.ID(), *last, *period)
	series, err := c.Monitoring().Metrics(ctx, &aurora.MetricsOptions{Scopes: scopes, Start: time.Now().Add(-*last), Period: *period, Statistic: aurora.StatMaximum})
	if err != nil {
		return err
	}
	printSeries(out, series)

	if err := printLoad(ctx, out, c, d, *last); err != nil {
		return err
	}

	names := make([]string, len(alarms))
	for i, a := range alarms {
		names[i] = a.Name
	}
	if env.Emulated() {
		// The alarms are evaluated on each sample: wait for the first.
		if err := waitEvaluated(ctx, c, names); err != nil {
			return err
		}
	}
	states, err := c.Monitoring().AlarmStates(ctx, names...)
	if err != nil {
		return err
	}
	exampleenv.Heading(out, "alarm states")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for i, st := range states {
		state := string(st.State)
		if state == "" {
			state = "missing (run with -ensure-alarms)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", st.Name, state, alarms[i].Condition())
	}
	return tw.Flush()
}

// flagSet reports whether the command line set the flag.
func flagSet(cmd *exampleenv.Command, name string) bool {
	set := false
	cmd.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// alarmThresholds are the defaults on a real cluster; on the emulator
// every alarm looks at one 10-second period, so that the provocations
// show within seconds, and the connections alarm fires at 20 sessions.
func alarmThresholds(env *exampleenv.Env) *aurora.AlarmThresholds {
	if !env.Emulated() {
		return nil
	}
	return &aurora.AlarmThresholds{Period: 10 * time.Second, EvaluationPeriods: 1, Connections: 20, SlotLagBytes: 1 << 20, ReplicaLag: 500 * time.Millisecond}
}

// waitEvaluated waits until no alarm is INSUFFICIENT_DATA or missing,
// at most 30 s.
func waitEvaluated(ctx context.Context, c *aurora.Cluster, names []string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		states, err := c.Monitoring().AlarmStates(ctx, names...)
		if err != nil {
			return fmt.Errorf("waiting for the alarms' first evaluation: %w", err)
		}
		if !slices.ContainsFunc(states, func(s aurora.AlarmState) bool { return s.State == "" || s.State == "INSUFFICIENT_DATA" }) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the alarms' first evaluation: %w", ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// printSeries prints a table of the series that have data (metric,
// scope, newest value, maximum, chart), then names those without.
func printSeries(out io.Writer, series []aurora.MetricSeries) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "METRIC\tSCOPE\tLAST\tMAX\tCHART")
	var empty []string
	for _, s := range series {
		p, ok := s.Last()
		if !ok {
			empty = append(empty, string(s.Metric)+" of "+s.Scope.String())
			continue
		}
		hi := math.Inf(-1)
		for _, q := range s.Points {
			hi = max(hi, q.Value)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Metric, s.Scope, formatValue(p.Value, s.Unit), formatValue(hi, s.Unit), sparkline(s.Points, 40))
	}
	tw.Flush()
	if len(empty) > 0 {
		fmt.Fprintf(out, "no data for %s\n", strings.Join(empty, ", "))
	}
}

// printLoad prints the writer's top wait events: from Performance
// Insights over the period when the writer has it on, else from five
// seconds of sampling pg_stat_activity (SampleWaitEvents).
func printLoad(ctx context.Context, out io.Writer, c *aurora.Cluster, d *aurora.Description, last time.Duration) error {
	if d.Writer == nil {
		return nil
	}
	if !d.Writer.PerformanceInsightsEnabled {
		exampleenv.Heading(out, "top wait events of %s: Performance Insights is off, sampling pg_stat_activity for 5 s", d.Writer.ID)
		r, err := c.SampleWaitEvents(ctx, 5*time.Second, 100*time.Millisecond)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, r)
		return nil
	}
	exampleenv.Heading(out, "top wait events of %s over the last %s (Performance Insights db.load.avg)", d.Writer.ID, last)
	r, err := c.Monitoring().DatabaseLoad(ctx, &aurora.LoadOptions{Instance: d.Writer.ID, Last: last, GroupBy: aurora.LoadByWaitEvent, Limit: 5})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "average active sessions %.2f (max %.2f)\n", r.AverageLoad, r.MaxLoad)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WAIT EVENT\tLOAD\tSHARE")
	for _, k := range r.Top {
		fmt.Fprintf(tw, "%s\t%.2f\t%.0f %%\n", k.Name, k.Load, 100*k.Share)
	}
	return tw.Flush()
}

// provoke makes the emulated cluster show something: a reader lagging 2 s
// behind a writer that keeps committing, an inactive logical slot holding
// WAL, and 25 idle sessions on the writer. stop ends it.
func provoke(ctx context.Context, out io.Writer, env *exampleenv.Env) (stop func(), err error) {
	c := env.Cluster
	d, err := c.Describe(ctx)
	if err != nil {
		return nil, err
	}
	if d.Writer == nil || len(d.Readers) == 0 {
		return nil, fmt.Errorf("the emulated cluster has no writer or no reader: %s", d.Status)
	}
	writer, reader := d.Writer.ID, d.Readers[0].ID
	exampleenv.Heading(out, "provoking: %s lags 2 s, an inactive slot holds WAL, 25 idle sessions and a lock wait on %s", reader, writer)
	if _, err := rds.NewFromConfig(env.AWS).ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(writer),
		EnablePerformanceInsights: aws.Bool(true), ApplyImmediately: aws.Bool(true)}); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "  Performance Insights on for %s\n", writer)
	if err := env.Emulator.SetReplicaLag(reader, 2*time.Second); err != nil {
		return nil, err
	}
	w, err := c.Writer(ctx)
	if err != nil {
		return nil, err
	}
	if err := exampleenv.Exec(ctx, out, w,
		"CREATE TABLE IF NOT EXISTS ticks(id bigserial PRIMARY KEY, at timestamptz DEFAULT now(), pad text)",
		"SELECT pg_create_physical_replication_slot('monitor_demo', true)",
		"INSERT INTO ticks(pad) SELECT repeat('x', 1000) FROM generate_series(1, 5000)",
	); err != nil {
		return nil, err
	}
	dsn, err := env.Emulator.ConnString(writer, "postgres")
	if err != nil {
		return nil, err
	}
	var idle []*pgx.Conn
	for range 25 {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return nil, err
		}
		idle = append(idle, conn)
	}
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for wctx.Err() == nil {
			_, _ = c.SQL().Exec(wctx, "INSERT INTO ticks(pad) VALUES ('tick')")
			time.Sleep(10 * time.Millisecond)
		}
	})
	// A lock wait: one session holds a row lock, three wait for it.
	if _, err := idle[0].Exec(ctx, "BEGIN; SELECT * FROM ticks WHERE id = 1 FOR UPDATE"); err != nil {
		cancel()
		wg.Wait()
		return nil, err
	}
	for _, conn := range idle[1:4] {
		wg.Go(func() { _, _ = conn.Exec(wctx, "UPDATE ticks SET pad = 'locked' WHERE id = 1") })
	}
	// Let the sampler see it for a few periods.
	select {
	case <-ctx.Done():
	case <-time.After(4 * time.Second):
	}
	return func() {
		cancel()
		_, _ = idle[0].Exec(context.Background(), "ROLLBACK")
		wg.Wait()
		for _, conn := range idle {
			conn.Close(context.Background())
		}
	}, nil
}

// sparkBlocks are the eight heights of a text chart.
var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws points as one line of block characters, scaled from the
// series' minimum to its maximum; a flat series is a flat line.
func sparkline(points []aurora.MetricPoint, width int) string {
	if len(points) == 0 {
		return "(no data)"
	}
	if len(points) > width {
		points = points[len(points)-width:]
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range points {
		lo, hi = min(lo, p.Value), max(hi, p.Value)
	}
	var b strings.Builder
	for _, p := range points {
		i := 0
		if hi > lo {
			i = int((p.Value - lo) / (hi - lo) * float64(len(sparkBlocks)-1))
		}
		b.WriteRune(sparkBlocks[i])
	}
	return b.String()
}

// formatValue writes v in its unit, scaled for reading.
func formatValue(v float64, unit string) string {
	switch unit {
	case "Bytes":
		const k = 1024
		for _, u := range []string{"B", "KiB", "MiB", "GiB", "TiB"} {
			if math.Abs(v) < k || u == "TiB" {
				return fmt.Sprintf("%.4g %s", v, u)
			}
			v /= k
		}
	case "Percent":
		return fmt.Sprintf("%.1f %%", v)
	case "Milliseconds":
		return fmt.Sprintf("%.4g ms", v)
	}
	return fmt.Sprintf("%.4g", v)
}
