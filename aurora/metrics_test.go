package aurora_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

// monitorEmulator starts an emulator of its own whose metrics are sampled
// every second, with a 2-instance cluster "mon", and returns a handle on
// it.
func monitorEmulator(t *testing.T) (*auroratest.Emulator, *aurora.Cluster) {
	t.Helper()
	e := auroratest.NewT(t, auroratest.WithCluster("mon", auroratest.ClusterConfig{Instances: 2}),
		auroratest.WithMetricsPeriod(time.Second), auroratest.WithTransitionDelay(0))
	c, err := aurora.New("mon", aurora.WithAWSConfig(e.AWSConfig()),
		aurora.WithCredentials(aurora.StaticPassword("postgres", e.MasterPassword("mon"))),
		aurora.WithCABundle(e.CABundlePEM()), aurora.WithWait(fastWait))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return e, c
}

// holdConnections opens n sessions on the instance and returns a func
// that closes them.
func holdConnections(t *testing.T, ctx context.Context, e *auroratest.Emulator, instance string, n int) func() {
	t.Helper()
	dsn, err := e.ConnString(instance, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]*pgx.Conn, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range conns {
		wg.Go(func() { conns[i], errs[i] = pgx.Connect(ctx, dsn) })
	}
	wg.Wait()
	closeAll := func() {
		for _, c := range conns {
			if c != nil {
				c.Close(context.Background())
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		closeAll()
		t.Fatal(err)
	}
	return closeAll
}

// pollMetric reads one metric of one scope, over the last minute at one
// point per second, until ok accepts its newest point, and returns it.
func pollMetric(t *testing.T, ctx context.Context, c *aurora.Cluster, m aurora.MetricName, scope aurora.MetricScope, stat aurora.Statistic, ok func(v float64) bool) float64 {
	t.Helper()
	var got float64
	pgtest.WaitFor(t, fmt.Sprintf("%s %s of %s", stat, m, scope), time.Minute, func() (bool, string) {
		series, err := c.Monitoring().Metrics(ctx, &aurora.MetricsOptions{Metrics: []aurora.MetricName{m}, Scopes: []aurora.MetricScope{scope},
			Start: time.Now().Add(-time.Minute), Period: time.Second, Statistic: stat})
		if err != nil || len(series) != 1 {
			t.Fatalf("Metrics(%s of %s): %d series, %v; want 1", m, scope, len(series), err)
		}
		p, found := series[0].Last()
		got = p.Value
		return found && ok(p.Value), fmt.Sprintf("%d points, last %+v", len(series[0].Points), p)
	})
	return got
}

func TestMetricsFromServers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, c := monitorEmulator(t)
	writer, reader := "mon-instance-1", "mon-instance-2"

	// The default reads every administration metric for the cluster.
	all, err := c.Monitoring().Metrics(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(aurora.AdminMetrics()) {
		t.Errorf("Metrics(nil) returned %d series; want one per AdminMetrics (%d)", len(all), len(aurora.AdminMetrics()))
	}
	for _, s := range all {
		if s.Unit == "" || s.Statistic != aurora.StatAverage || s.Scope != (aurora.MetricScope{}) {
			t.Errorf("series %s: unit %q, statistic %q, scope %v; want a unit, Average, the cluster", s.Metric, s.Unit, s.Statistic, s.Scope)
		}
	}

	// 50 sessions on the writer show in DatabaseConnections, per instance
	// and for the writer role.
	release := holdConnections(t, ctx, e, writer, 50)
	got := pollMetric(t, ctx, c, aurora.DatabaseConnections, aurora.MetricScope{Instance: writer}, aurora.StatMaximum, func(v float64) bool { return v >= 50 })
	t.Logf("DatabaseConnections of %s with 50 sessions held: %v", writer, got)
	pollMetric(t, ctx, c, aurora.DatabaseConnections, aurora.MetricScope{Role: aurora.RoleWriter}, aurora.StatMaximum, func(v float64) bool { return v >= 50 })
	release()
	pollMetric(t, ctx, c, aurora.DatabaseConnections, aurora.MetricScope{Instance: writer}, aurora.StatMaximum, func(v float64) bool { return v < 50 })

	// A reader made to lag while the writer commits shows in
	// AuroraReplicaLag, and in the writer's AuroraReplicaLagMaximum.
	if err := e.SetReplicaLag(reader, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	stop := commitLoop(t, ctx, c)
	lag := pollMetric(t, ctx, c, aurora.AuroraReplicaLag, aurora.MetricScope{Instance: reader}, aurora.StatMaximum, func(v float64) bool { return v >= 1000 })
	pollMetric(t, ctx, c, aurora.AuroraReplicaLagMaximum, aurora.MetricScope{}, aurora.StatMaximum, func(v float64) bool { return v >= 1000 })
	t.Logf("AuroraReplicaLag of %s at 3 s of apply delay: %v ms", reader, lag)
	stop()
	if err := e.SetReplicaLag(reader, 0); err != nil {
		t.Fatal(err)
	}

	// Cluster-only metrics are not read per instance.
	s, err := c.Monitoring().Metrics(ctx, &aurora.MetricsOptions{Metrics: []aurora.MetricName{aurora.VolumeBytesUsed, aurora.CPUUtilization},
		Scopes: []aurora.MetricScope{{}, {Instance: writer}}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range s {
		names = append(names, string(x.Metric)+"@"+x.Scope.String())
	}
	if want := "VolumeBytesUsed@cluster CPUUtilization@cluster CPUUtilization@" + writer; strings.Join(names, " ") != want {
		t.Errorf("series %v; want %s", names, want)
	}
}

// commitLoop commits small transactions on the writer until stopped.
func commitLoop(t *testing.T, ctx context.Context, c *aurora.Cluster) (stop func()) {
	t.Helper()
	if _, err := c.SQL().Exec(ctx, "CREATE TABLE IF NOT EXISTS metrics_ticks(t timestamptz)"); err != nil {
		t.Fatal(err)
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for lctx.Err() == nil {
			_, _ = c.SQL().Exec(lctx, "INSERT INTO metrics_ticks VALUES (now())")
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() { cancel(); <-done }
}

func TestMetricsInputErrors(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t)
	now := time.Now()
	for _, tc := range []struct {
		o     aurora.MetricsOptions
		field string // "" when the options are accepted
	}{
		{aurora.MetricsOptions{Period: 7 * time.Second}, "MetricsOptions.Period"},
		{aurora.MetricsOptions{Start: now, End: now.Add(-time.Minute)}, "MetricsOptions.Start"},
		{aurora.MetricsOptions{Statistic: "Median"}, "MetricsOptions.Statistic"},
		{aurora.MetricsOptions{Scopes: []aurora.MetricScope{{Instance: "x", Role: aurora.RoleWriter}}}, "MetricsOptions.Scopes[0]"},
		{aurora.MetricsOptions{Scopes: []aurora.MetricScope{{Role: "writer"}}}, "MetricsOptions.Scopes[0].Role"},
		{aurora.MetricsOptions{Metrics: []aurora.MetricName{""}}, "MetricsOptions.Metrics[0]"},
		{aurora.MetricsOptions{Period: 1500 * time.Millisecond}, "MetricsOptions.Period"},
		{aurora.MetricsOptions{Statistic: "p101"}, "MetricsOptions.Statistic"},
		{aurora.MetricsOptions{Start: now.Add(-20 * 24 * time.Hour), Period: time.Minute}, "MetricsOptions.Period"},
		{aurora.MetricsOptions{Start: now.Add(-70 * 24 * time.Hour), Period: 5 * time.Minute}, "MetricsOptions.Period"},
		// What CloudWatch serves is accepted.
		{aurora.MetricsOptions{Start: now.Add(-20 * 24 * time.Hour), Period: 5 * time.Minute}, ""},
		{aurora.MetricsOptions{Start: now.Add(-70 * 24 * time.Hour), Period: time.Hour}, ""},
		{aurora.MetricsOptions{Start: now.Add(-time.Minute), Period: time.Second, Statistic: "p100"}, ""},
	} {
		_, err := c.Monitoring().Metrics(ctx, &tc.o)
		if tc.field == "" && err != nil || tc.field != "" && !isInputError(err, tc.field) {
			t.Errorf("Metrics(%+v) = %v; want %s", tc.o, err, cmp.Or(tc.field, "no error"))
		}
	}
	noCW, err := aurora.New(clusterID, aurora.WithRDSClient(newCluster(t).RDS()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noCW.Monitoring().Metrics(ctx, nil); !errors.Is(err, aurora.ErrNoClient) || !strings.Contains(err.Error(), "WithCloudWatchClient") {
		t.Errorf("Metrics without a CloudWatch client: %v; want ErrNoClient naming WithCloudWatchClient", err)
	}
}

func TestRecommendedAlarms(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, c := monitorEmulator(t)

	// Thresholds are checked before any call.
	if _, err := c.Monitoring().RecommendedAlarms(ctx, &aurora.AlarmThresholds{Period: 45 * time.Second}); !isInputError(err, "AlarmThresholds.Period") {
		t.Errorf("RecommendedAlarms with a 45 s period: %v; want an *aurora.InputError", err)
	}
	specs, err := c.Monitoring().RecommendedAlarms(ctx, &aurora.AlarmThresholds{Period: 10 * time.Second, EvaluationPeriods: 1})
	if err != nil {
		t.Fatal(err)
	}
	var connections *aurora.AlarmSpec
	var names []string
	for i, s := range specs {
		names = append(names, s.Name)
		if s.Name == "mon-connections-writer" {
			connections = &specs[i]
		}
	}
	for _, s := range specs {
		// A cluster without readers publishes no reader data: their
		// alarms must not sit in INSUFFICIENT_DATA for it.
		missing := "missing"
		if s.Name == "mon-replica-lag" || s.Name == "mon-connections-readers" {
			missing = "notBreaching"
		}
		if s.TreatMissingData != missing {
			t.Errorf("%s treats missing data as %q; want %q", s.Name, s.TreatMissingData, missing)
		}
	}
	want := "mon-replica-lag mon-slot-lag mon-xid-wraparound mon-storage mon-connections-writer mon-connections-readers"
	if strings.Join(names, " ") != want {
		t.Fatalf("RecommendedAlarms names %v; want %s", names, want)
	}
	// The connections threshold defaults to 80 % of max_connections.
	var maxConns float64
	if err := c.SQL().QueryRow(ctx, "SELECT current_setting('max_connections')::float8").Scan(&maxConns); err != nil {
		t.Fatal(err)
	}
	if connections.Threshold != float64(int(maxConns)*8/10) {
		t.Errorf("connections threshold %v; want 80%% of max_connections %v", connections.Threshold, maxConns)
	}

	// Bad specs are refused before any call.
	bad := append([]aurora.AlarmSpec(nil), specs...)
	bad[1].Name = bad[0].Name
	if _, err := c.Monitoring().EnsureAlarms(ctx, bad, nil); !isInputError(err, "AlarmSpec[1].Name") {
		t.Errorf("EnsureAlarms with a repeated name: %v; want an input error", err)
	}
	if st, err := c.Monitoring().AlarmStates(ctx, names...); err != nil || st[0].State != "" {
		t.Fatalf("after a refused EnsureAlarms: %v, %v; want no alarm", st, err)
	}

	connections.Threshold = 20
	first, err := c.Monitoring().EnsureAlarms(ctx, specs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := changedSteps(first); n != len(specs) {
		t.Errorf("first EnsureAlarms changed %d steps; want %d:\n%v", n, len(specs), first)
	}
	again, err := c.Monitoring().EnsureAlarms(ctx, specs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Changed() {
		t.Errorf("second EnsureAlarms changed something:\n%v", again)
	}
	connections.Threshold = 25
	third, err := c.Monitoring().EnsureAlarms(ctx, specs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := changedSteps(third); n != 1 || !strings.Contains(third.String(), "updated Threshold") {
		t.Errorf("EnsureAlarms after a threshold change:\n%v\nwant one step updating Threshold", third)
	}

	// The connections alarm goes to ALARM while 30 sessions are held, and
	// back to OK when they close.
	release := holdConnections(t, ctx, e, "mon-instance-1", 30)
	waitAlarm(t, ctx, c, connections.Name, types.StateValueAlarm)
	release()
	waitAlarm(t, ctx, c, connections.Name, types.StateValueOk)
}

func waitAlarm(t *testing.T, ctx context.Context, c *aurora.Cluster, name string, want types.StateValue) {
	t.Helper()
	pgtest.WaitFor(t, "alarm "+name+" in state "+string(want), time.Minute, func() (bool, string) {
		st, err := c.Monitoring().AlarmStates(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return st[0].State == want, st[0].String()
	})
}

func changedSteps(r *aurora.Report) int {
	n := 0
	for _, s := range r.Steps {
		if s.Changed {
			n++
		}
	}
	return n
}
