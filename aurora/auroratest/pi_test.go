package auroratest_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pi"
	pitypes "github.com/aws/aws-sdk-go-v2/service/pi/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

func piKeyNames(keys []pitypes.DimensionKeyDescription, dim string) []string {
	var names []string
	for _, k := range keys {
		names = append(names, fmt.Sprintf("%s=%.2f", k.Dimensions[dim], aws.ToFloat64(k.Total)))
	}
	return names
}

// TestPerformanceInsights turns Performance Insights on for an instance
// through ModifyDBInstance and reads a workload with a known lock wait
// through the real pi client: the wait event on top, the grouping by SQL
// and by user, the series, paging, throttling and PI's errors.
func TestPerformanceInsights(t *testing.T) {
	ctx := testCtx(t)
	emu, err := auroratest.Start(ctx, auroratest.WithCluster("pic", auroratest.ClusterConfig{Instances: 1}),
		auroratest.WithTransitionDelay(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			emu.Close()
		}
	}()
	const id = "pic-instance-1"
	rc := rds.NewFromConfig(emu.AWSConfig())
	pc := pi.NewFromConfig(emu.AWSConfig())
	describe := func() (bool, string, int32, string) {
		out, err := rc.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		di := out.DBInstances[0]
		return aws.ToBool(di.PerformanceInsightsEnabled), aws.ToString(di.PerformanceInsightsKMSKeyId),
			aws.ToInt32(di.PerformanceInsightsRetentionPeriod), aws.ToString(di.DbiResourceId)
	}
	on, _, _, resourceID := describe()
	if on || emu.PISampling() {
		t.Fatalf("Performance Insights on (%v) or sampling (%v) before it was enabled", on, emu.PISampling())
	}
	keysIn := func(group string) *pi.DescribeDimensionKeysInput {
		return &pi.DescribeDimensionKeysInput{
			ServiceType: pitypes.ServiceTypeRds, Identifier: aws.String(resourceID), Metric: aws.String("db.load.avg"),
			StartTime: aws.Time(time.Now().Add(-time.Minute)), EndTime: aws.Time(time.Now().Add(time.Minute)),
			GroupBy: &pitypes.DimensionGroup{Group: aws.String(group)},
		}
	}
	if _, err := pc.DescribeDimensionKeys(ctx, keysIn("db.wait_event")); apiCode(err) != "NotAuthorizedException" {
		t.Errorf("DescribeDimensionKeys with Performance Insights off: %v; want NotAuthorizedException", err)
	}
	if _, err := rc.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id),
		EnablePerformanceInsights: aws.Bool(true), PerformanceInsightsRetentionPeriod: aws.Int32(8)}); apiCode(err) != "InvalidParameterValue" {
		t.Errorf("a retention of 8 days: %v; want InvalidParameterValue", err)
	}
	if _, err := rc.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id), ApplyImmediately: aws.Bool(true),
		EnablePerformanceInsights: aws.Bool(true), PerformanceInsightsRetentionPeriod: aws.Int32(31)}); err != nil {
		t.Fatal(err)
	}
	waitInstance(t, ctx, rc, id)
	on, key, retention, _ := describe()
	if !on || !strings.HasPrefix(key, "arn:aws:kms:") || retention != 31 {
		t.Errorf("after enabling: enabled %v, KMS key %q, retention %d; want true, the aws/rds key, 31", on, key, retention)
	}
	if !emu.PISampling() {
		t.Error("Performance Insights is on but the sampler does not run")
	}

	cs, err := emu.ConnString(id, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	pgtest.LockWait(t, cs)
	// From the next whole second, every sample has the workload.
	since := time.Now().Truncate(time.Second).Add(time.Second)
	var keys []pitypes.DimensionKeyDescription
	pgtest.WaitFor(t, "Lock:transactionid on top, at about 3 sessions", time.Minute, func() (bool, string) {
		in := keysIn("db.wait_event")
		in.StartTime, in.EndTime = aws.Time(since), aws.Time(time.Now().Add(time.Second))
		out, err := pc.DescribeDimensionKeys(ctx, in)
		if err != nil {
			return false, err.Error()
		}
		keys = out.Keys
		return len(keys) >= 2 && keys[0].Dimensions["db.wait_event.name"] == "Lock:transactionid" && aws.ToFloat64(keys[0].Total) > 2.5,
			strings.Join(piKeyNames(keys, "db.wait_event.name"), ", ")
	})
	if k := keys[0]; k.Dimensions["db.wait_event.type"] != "Lock" {
		t.Errorf("top key %v: want db.wait_event.type Lock", k.Dimensions)
	}
	if k := keys[1]; k.Dimensions["db.wait_event.name"] != "Timeout:PgSleep" || aws.ToFloat64(k.Total) > 1.001 {
		t.Errorf("second key %v %v: want Timeout:PgSleep at most 1", k.Dimensions, aws.ToFloat64(k.Total))
	}
	window := func(in *pi.DescribeDimensionKeysInput) *pi.DescribeDimensionKeysInput {
		in.StartTime, in.EndTime = aws.Time(since), aws.Time(time.Now().Add(time.Second))
		return in
	}

	// By user and by SQL.
	out, err := pc.DescribeDimensionKeys(ctx, window(keysIn("db.user")))
	if err != nil {
		t.Fatal(err)
	}
	users := piKeyNames(out.Keys, "db.user.name")
	if len(out.Keys) != 2 || out.Keys[0].Dimensions["db.user.name"] != "postgres" || out.Keys[1].Dimensions["db.user.name"] != "reporter" || out.Keys[1].Dimensions["db.user.id"] == "" {
		t.Errorf("by user: %v; want postgres then reporter", users)
	}
	out, err = pc.DescribeDimensionKeys(ctx, window(keysIn("db.sql")))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Keys) < 2 || out.Keys[0].Dimensions["db.sql.statement"] != pgtest.LockWaitUpdate || out.Keys[0].Dimensions["db.sql.id"] == "" {
		t.Errorf("by SQL: %v; want the UPDATE on top, with its db.sql.id", out.Keys)
	}
	in := window(keysIn("db.wait_event"))
	in.Filter = map[string]string{"db.user.name": "reporter"}
	out, err = pc.DescribeDimensionKeys(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := piKeyNames(out.Keys, "db.wait_event.name"); len(got) != 1 || !strings.HasPrefix(got[0], "Timeout:PgSleep=") {
		t.Errorf("the wait events of reporter: %v; want Timeout:PgSleep alone", got)
	}

	// Paging: one key a page gives the same keys.
	in = window(keysIn("db.wait_event"))
	all, err := pc.DescribeDimensionKeys(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	var paged []string
	p := pi.NewDescribeDimensionKeysPaginator(pc, func() *pi.DescribeDimensionKeysInput { c := *in; c.MaxResults = aws.Int32(1); return &c }())
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, k := range page.Keys {
			paged = append(paged, k.Dimensions["db.wait_event.name"])
		}
	}
	var whole []string
	for _, k := range all.Keys {
		whole = append(whole, k.Dimensions["db.wait_event.name"])
	}
	if !slices.Equal(paged, whole) || pages != len(whole) {
		t.Errorf("paged keys %v in %d pages; want %v, one a page", paged, pages, whole)
	}

	// The series, grouped: the aggregate first, then the keys.
	mIn := &pi.GetResourceMetricsInput{
		ServiceType: pitypes.ServiceTypeRds, Identifier: aws.String(resourceID),
		StartTime: aws.Time(since), EndTime: aws.Time(time.Now().Add(time.Second)), PeriodInSeconds: aws.Int32(1),
		MetricQueries: []pitypes.MetricQuery{{Metric: aws.String("db.load.avg"),
			GroupBy: &pitypes.DimensionGroup{Group: aws.String("db.wait_event"), Limit: aws.Int32(2)}}},
	}
	mOut, err := pc.GetResourceMetrics(ctx, mIn)
	if err != nil {
		t.Fatal(err)
	}
	if len(mOut.MetricList) != 3 || mOut.MetricList[0].Key.Dimensions != nil ||
		mOut.MetricList[1].Key.Dimensions["db.wait_event.name"] != "Lock:transactionid" {
		t.Fatalf("GetResourceMetrics: %d entries, keys %v; want the aggregate then Lock:transactionid and one more", len(mOut.MetricList), mOut.MetricList)
	}
	if !mOut.AlignedStartTime.Equal(since) {
		t.Errorf("AlignedStartTime %s; want %s", mOut.AlignedStartTime, since)
	}
	var sampled int
	for _, dp := range mOut.MetricList[0].DataPoints {
		if dp.Value != nil {
			sampled++
			if *dp.Value < 4 {
				t.Errorf("db.load.avg at %s is %v; the four sessions were active throughout", dp.Timestamp, *dp.Value)
			}
		}
	}
	if sampled == 0 {
		t.Error("no data point has a value")
	}
	mIn.MaxResults = aws.Int32(1)
	var entries int
	for mp := pi.NewGetResourceMetricsPaginator(pc, mIn); mp.HasMorePages(); {
		page, err := mp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		entries += len(page.MetricList)
	}
	if entries != 3 {
		t.Errorf("paged GetResourceMetrics gave %d entries; want 3", entries)
	}

	// Throttling is retried by the client; without retries it is seen.
	emu.Action("DescribeDimensionKeys").ThrottleNext(1)
	if _, err := pc.DescribeDimensionKeys(ctx, window(keysIn("db.wait_event"))); err != nil {
		t.Errorf("DescribeDimensionKeys after one throttled attempt: %v", err)
	}
	noRetry := pi.NewFromConfig(emu.AWSConfig(), func(o *pi.Options) { o.RetryMaxAttempts = 1 })
	emu.Action("DescribeDimensionKeys").ThrottleNext(1)
	if _, err := noRetry.DescribeDimensionKeys(ctx, window(keysIn("db.wait_event"))); apiCode(err) != "ThrottlingException" {
		t.Errorf("a throttled DescribeDimensionKeys: %v; want ThrottlingException", err)
	}

	// PI's errors.
	for name, mutate := range map[string]func(*pi.DescribeDimensionKeysInput){
		"unknown group":      func(in *pi.DescribeDimensionKeysInput) { in.GroupBy.Group = aws.String("db.nonsense") },
		"dimension of other": func(in *pi.DescribeDimensionKeysInput) { in.GroupBy.Dimensions = []string{"db.user.name"} },
		"period":             func(in *pi.DescribeDimensionKeysInput) { in.PeriodInSeconds = aws.Int32(7) },
		"metric":             func(in *pi.DescribeDimensionKeysInput) { in.Metric = aws.String("os.cpuUtilization.user.avg") },
		"reversed times":     func(in *pi.DescribeDimensionKeysInput) { in.StartTime, in.EndTime = in.EndTime, in.StartTime },
		"next token":         func(in *pi.DescribeDimensionKeysInput) { in.NextToken = aws.String("not-a-token") },
		"service type":       func(in *pi.DescribeDimensionKeysInput) { in.ServiceType = pitypes.ServiceTypeDocdb },
	} {
		in := keysIn("db.wait_event")
		mutate(in)
		if _, err := pc.DescribeDimensionKeys(ctx, in); apiCode(err) != "InvalidArgumentException" {
			t.Errorf("%s: %v; want InvalidArgumentException", name, err)
		}
	}
	in = keysIn("db.wait_event")
	in.Identifier = aws.String("db-NOSUCHRESOURCE")
	if _, err := pc.DescribeDimensionKeys(ctx, in); apiCode(err) != "NotAuthorizedException" {
		t.Errorf("an unknown Identifier: %v; want NotAuthorizedException", err)
	}

	// Turning it off stops the sampler and the data.
	if _, err := rc.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id), ApplyImmediately: aws.Bool(true),
		EnablePerformanceInsights: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	waitInstance(t, ctx, rc, id)
	if on, key, retention, _ := describe(); on || key != "" || retention != 0 {
		t.Errorf("after disabling: enabled %v, KMS key %q, retention %d", on, key, retention)
	}
	pgtest.WaitFor(t, "the sampler to stop", 30*time.Second, func() (bool, string) { return !emu.PISampling(), "" })
	if _, err := pc.DescribeDimensionKeys(ctx, keysIn("db.wait_event")); apiCode(err) != "NotAuthorizedException" {
		t.Errorf("DescribeDimensionKeys after disabling: %v; want NotAuthorizedException", err)
	}

	// A reader created with it on (the default retention, 7 days) is
	// sampled; Close stops the sampler.
	if _, err := rc.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("pic-instance-2"),
		DBClusterIdentifier: aws.String("pic"), Engine: aws.String("aurora-postgresql"), DBInstanceClass: aws.String("db.r6g.large"),
		EnablePerformanceInsights: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	waitInstance(t, ctx, rc, "pic-instance-2")
	out2, err := rc.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("pic-instance-2")})
	if err != nil {
		t.Fatal(err)
	}
	if di := out2.DBInstances[0]; !aws.ToBool(di.PerformanceInsightsEnabled) || aws.ToInt32(di.PerformanceInsightsRetentionPeriod) != 7 {
		t.Errorf("a reader created with Performance Insights: enabled %v, retention %d; want true, 7",
			aws.ToBool(di.PerformanceInsightsEnabled), aws.ToInt32(di.PerformanceInsightsRetentionPeriod))
	}
	if !emu.PISampling() {
		t.Error("the sampler does not run for the new reader")
	}
	closed = true
	if err := emu.Close(); err != nil {
		t.Errorf("Close while sampling: %v", err)
	}
	if emu.PISampling() {
		t.Error("the sampler runs after Close")
	}
}
