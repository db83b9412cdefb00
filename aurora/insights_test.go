package aurora_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

// setInsights turns Performance Insights on or off for an instance and
// waits for it to be available.
func setInsights(t *testing.T, ctx context.Context, api *rds.Client, id string, on bool) {
	t.Helper()
	if _, err := api.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id),
		EnablePerformanceInsights: aws.Bool(on), ApplyImmediately: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if err := rds.NewDBInstanceAvailableWaiter(api).Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)}, 2*time.Minute,
		func(o *rds.DBInstanceAvailableWaiterOptions) {
			o.MinDelay, o.MaxDelay = 50*time.Millisecond, 300*time.Millisecond
		}); err != nil {
		t.Fatal(err)
	}
}

// TestDatabaseLoad reads, through the real pi client against the
// emulator, the load of a workload with a known lock wait: by wait event
// (the lock on top), by SQL and by user, as a WaitEventReport, and
// through SampleWaitEvents; with throttling retried, and PI's absence and
// bad options as clear errors.
func TestDatabaseLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rec := &apiRecorder{}
	c := openCluster(t, insightsClusterID, rec)
	writer := insightsClusterID + "-instance-1"

	// Bad options: an *InputError, before any call.
	rec.take()
	for _, bad := range []struct {
		opts  aurora.LoadOptions
		field string
	}{
		{aurora.LoadOptions{GroupBy: "db.nonsense"}, "LoadOptions.GroupBy"},
		{aurora.LoadOptions{Limit: 26}, "LoadOptions.Limit"},
		{aurora.LoadOptions{Period: 2 * time.Second}, "LoadOptions.Period"},
		{aurora.LoadOptions{Start: time.Now()}, "LoadOptions.Start"},
		{aurora.LoadOptions{Start: time.Now(), End: time.Now().Add(-time.Minute)}, "LoadOptions.End"},
		{aurora.LoadOptions{Last: -time.Minute}, "LoadOptions.Last"},
		{aurora.LoadOptions{Filter: map[string]string{"user": "x"}}, "LoadOptions.Filter"},
	} {
		_, err := c.Monitoring().DatabaseLoad(ctx, &bad.opts)
		var ie *aurora.InputError
		if !errors.As(err, &ie) || ie.Field != bad.field {
			t.Errorf("DatabaseLoad(%+v): %v; want an *InputError on %s", bad.opts, err, bad.field)
		}
	}
	if acts := rec.take(); len(acts) != 0 {
		t.Errorf("bad options made calls: %v", acts)
	}
	apiOnly, err := aurora.New(insightsClusterID, aurora.WithRDSClient(c.RDS()))
	if err != nil {
		t.Fatal(err)
	}
	defer apiOnly.Close()
	if _, err := apiOnly.Monitoring().DatabaseLoad(ctx, nil); !errors.Is(err, aurora.ErrNoClient) {
		t.Errorf("DatabaseLoad without a pi client: %v; want ErrNoClient", err)
	}

	// Not enabled: ErrInsightsDisabled, and SampleWaitEvents samples by
	// hand.
	if _, err := c.Monitoring().DatabaseLoad(ctx, nil); !errors.Is(err, aurora.ErrInsightsDisabled) || !strings.Contains(err.Error(), writer) {
		t.Errorf("DatabaseLoad with Performance Insights off: %v; want ErrInsightsDisabled naming %s", err, writer)
	}
	if r, err := c.SampleWaitEvents(ctx, 200*time.Millisecond, 100*time.Millisecond); err != nil || r.Source != aurora.WaitSourceActivity {
		t.Errorf("SampleWaitEvents with Performance Insights off: %v, %v; want Source %s", r, err, aurora.WaitSourceActivity)
	}

	api := rds.NewFromConfig(emu.AWSConfig())
	setInsights(t, ctx, api, writer, true)
	defer setInsights(t, context.Background(), api, writer, false)
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Writer.PerformanceInsightsEnabled || !strings.HasPrefix(d.Writer.ResourceID, "db-") {
		t.Fatalf("Describe: writer PerformanceInsightsEnabled %v, ResourceID %q", d.Writer.PerformanceInsightsEnabled, d.Writer.ResourceID)
	}

	cs, err := emu.ConnString(insightsClusterID+"-instance-1", "postgres")
	if err != nil {
		t.Fatal(err)
	}
	pgtest.LockWait(t, cs)
	since := time.Now().Truncate(time.Second).Add(time.Second)
	window := func(o aurora.LoadOptions) *aurora.LoadOptions {
		o.Start, o.End, o.Period = since, time.Now().Add(time.Second), time.Second
		return &o
	}
	var r *aurora.LoadReport
	pgtest.WaitFor(t, "Lock:transactionid on top at about 3 sessions", time.Minute, func() (bool, string) {
		var err error
		r, err = c.Monitoring().DatabaseLoad(ctx, window(aurora.LoadOptions{}))
		if err != nil {
			return false, err.Error()
		}
		return len(r.Top) >= 2 && r.Top[0].Name == "Lock:transactionid" && r.Top[0].Load > 2.5 && len(r.Points) > 0, r.String()
	})
	t.Logf("%s", r)
	if r.Instance != writer || r.ResourceID != d.Writer.ResourceID || r.GroupBy != aurora.LoadByWaitEvent || r.Period != time.Second {
		t.Errorf("report of %s (%s) by %s every %s; want %s by wait event every second", r.Instance, r.ResourceID, r.GroupBy, r.Period, writer)
	}
	if r.AverageLoad < 4 || r.MaxLoad < r.AverageLoad {
		t.Errorf("average load %.2f, max %.2f; want at least the 4 waiting sessions", r.AverageLoad, r.MaxLoad)
	}
	if top := r.Top[0]; top.Dimensions["db.wait_event.type"] != "Lock" || top.Share <= 0.5 || top.Share > 1 {
		t.Errorf("top key %+v: want type Lock and a share over half", top)
	}
	if r.Top[1].Name != "Timeout:PgSleep" || r.Top[1].Load > r.Top[0].Load {
		t.Errorf("second key %+v; want Timeout:PgSleep, below the lock", r.Top[1])
	}
	we, err := r.WaitEvents()
	if err != nil {
		t.Fatal(err)
	}
	if we.Source != aurora.WaitSourceInsights || we.Events[0].Event != "Lock:transactionid" || we.Events[0].Class != aurora.WaitLock ||
		we.Classes[0].Class != aurora.WaitLock || we.Events[0].Hint == "" {
		t.Errorf("as wait events: %s; want Lock:transactionid on top, from Performance Insights", we)
	}

	bySQL, err := c.Monitoring().DatabaseLoad(ctx, window(aurora.LoadOptions{GroupBy: aurora.LoadBySQL, Limit: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if len(bySQL.Top) != 1 || bySQL.Top[0].Name != pgtest.LockWaitUpdate || bySQL.Top[0].Dimensions["db.sql.id"] == "" {
		t.Errorf("by SQL, limit 1: %s; want the blocked UPDATE alone", bySQL)
	}
	byUser, err := c.Monitoring().DatabaseLoad(ctx, window(aurora.LoadOptions{GroupBy: aurora.LoadByUser}))
	if err != nil {
		t.Fatal(err)
	}
	if len(byUser.Top) != 2 || byUser.Top[0].Name != "postgres" || byUser.Top[1].Name != "reporter" {
		t.Errorf("by user: %s; want postgres, then reporter", byUser)
	}
	reporter, err := c.Monitoring().DatabaseLoad(ctx, window(aurora.LoadOptions{Filter: map[string]string{"db.user.name": "reporter"}}))
	if err != nil {
		t.Fatal(err)
	}
	if len(reporter.Top) != 1 || reporter.Top[0].Name != "Timeout:PgSleep" {
		t.Errorf("reporter's wait events: %s; want Timeout:PgSleep alone", reporter)
	}
	if _, err := c.Monitoring().DatabaseLoad(ctx, &aurora.LoadOptions{Instance: "no-such-instance"}); !isInputError(err, "LoadOptions.Instance") {
		t.Errorf("DatabaseLoad of a non-member: %v; want an *InputError on LoadOptions.Instance", err)
	}

	// Throttled calls are retried by the pi client.
	emu.Action("GetResourceMetrics").ThrottleNext(1)
	emu.Action("DescribeDimensionKeys").ThrottleNext(1)
	if _, err := c.Monitoring().DatabaseLoad(ctx, window(aurora.LoadOptions{})); err != nil {
		t.Errorf("DatabaseLoad with one throttled attempt of each call: %v", err)
	}

	// SampleWaitEvents reads Performance Insights when it is on.
	sw, err := c.SampleWaitEvents(ctx, 2*time.Second, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if sw.Source != aurora.WaitSourceInsights || len(sw.Events) == 0 || sw.Events[0].Event != "Lock:transactionid" || sw.Period != 2*time.Second {
		t.Errorf("SampleWaitEvents with Performance Insights on: %s (source %s, period %s); want Lock:transactionid on top from it", sw, sw.Source, sw.Period)
	}
}

func isInputError(err error, field string) bool {
	var ie *aurora.InputError
	return errors.As(err, &ie) && ie.Field == field
}
