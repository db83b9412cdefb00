package auroratest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
)

// setExport turns the cluster's postgresql log export on or off and
// waits until the cluster is available with it.
func setExport(t *testing.T, ctx context.Context, c *rds.Client, cluster string, on bool) {
	t.Helper()
	cfg := &rdstypes.CloudwatchLogsExportConfiguration{DisableLogTypes: []string{"postgresql"}}
	if on {
		cfg = &rdstypes.CloudwatchLogsExportConfiguration{EnableLogTypes: []string{"postgresql"}}
	}
	if _, err := c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String(cluster), ApplyImmediately: aws.Bool(true),
		CloudwatchLogsExportConfiguration: cfg}); err != nil {
		t.Fatalf("ModifyDBCluster: %v", err)
	}
	waitCluster(t, ctx, c, cluster)
	out, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(cluster)})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.DBClusters[0].EnabledCloudwatchLogsExports; slices.Contains(got, "postgresql") != on {
		t.Fatalf("EnabledCloudwatchLogsExports %v after turning the export on=%v", got, on)
	}
}

// ours is in every record records writes, and in no line of the
// servers' own.
const ours = ":app@db:["

// oursPattern is the filter pattern of the events holding ours.
const oursPattern = `"` + ours + `"`

// records is n log records in the server's format, every third one of
// three lines, each holding tag and its number.
func records(tag string, n int) (text string, messages []string) {
	stamp := time.Now().UTC().Format("2006-01-02 15:04:05 UTC")
	var b strings.Builder
	for i := range n {
		m := fmt.Sprintf("%s:127.0.0.1(5432):app@db:[%d]:LOG:  statement: SELECT '%s-%d'", stamp, 100+i, tag, i)
		if i%3 == 0 {
			m += "\n\t, 'second line'\n\t, 'third line'"
		}
		messages = append(messages, m)
		b.WriteString(m + "\n")
	}
	return b.String(), messages
}

// filterAll reads every event FilterLogEvents returns, through the SDK's
// paginator, and the number of pages.
func filterAll(t *testing.T, ctx context.Context, logs *cloudwatchlogs.Client, in *cloudwatchlogs.FilterLogEventsInput) ([]cwltypes.FilteredLogEvent, int) {
	t.Helper()
	var events []cwltypes.FilteredLogEvent
	pages := 0
	for p := cloudwatchlogs.NewFilterLogEventsPaginator(logs, in); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("FilterLogEvents: %v", err)
		}
		pages++
		events = append(events, out.Events...)
	}
	return events, pages
}

func messagesOf(events []cwltypes.FilteredLogEvent) []string {
	var m []string
	for _, e := range events {
		m = append(m, aws.ToString(e.Message))
	}
	return m
}

// TestCloudWatchLogsExport turns a cluster's log export on and off and
// reads the log group through the real CloudWatch Logs client: the group
// and one stream per instance appear with the export, each event is one
// record (multi-line ones whole) written while it is on, in order;
// FilterLogEvents and GetLogEvents page as CloudWatch Logs does; a
// throttled call is retried; with the export off no event is added and
// the old ones stay.
func TestCloudWatchLogsExport(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	emu := auroratest.NewT(t, auroratest.WithCluster("cwl", auroratest.ClusterConfig{Instances: 2}))
	c := rds.NewFromConfig(emu.AWSConfig())
	logs := cloudwatchlogs.NewFromConfig(emu.AWSConfig())
	const (
		group = "/aws/rds/cluster/cwl/postgresql"
		w, r  = "cwl-instance-1", "cwl-instance-2"
	)
	before, _ := records("before", 3)
	if err := emu.AppendLog(w, []byte(before)); err != nil {
		t.Fatal(err)
	}
	_, err := logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group)})
	var nf *cwltypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("FilterLogEvents before any export: %v, want ResourceNotFoundException", err)
	}

	setExport(t, ctx, c, "cwl", true)
	text, want := records("on", 40)
	if err := emu.AppendLog(w, []byte(text)); err != nil {
		t.Fatal(err)
	}
	rtext, rwant := records("reader", 2)
	if err := emu.AppendLog(r, []byte(rtext)); err != nil {
		t.Fatal(err)
	}

	groups, err := logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/rds/cluster/cwl/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups.LogGroups) != 1 || aws.ToString(groups.LogGroups[0].LogGroupName) != group {
		t.Fatalf("log groups: %+v", groups.LogGroups)
	}
	streams, err := logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(group)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range streams.LogStreams {
		names = append(names, aws.ToString(s.LogStreamName))
		if aws.ToInt64(s.LastEventTimestamp) == 0 {
			t.Errorf("stream %s has no lastEventTimestamp", aws.ToString(s.LogStreamName))
		}
	}
	if !slices.Equal(names, []string{w, r}) {
		t.Errorf("log streams %v, want %v", names, []string{w, r})
	}
	one, err := logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(group), Limit: aws.Int32(1),
		OrderBy: cwltypes.OrderByLastEventTime, Descending: aws.Bool(true)})
	if err != nil || len(one.LogStreams) != 1 || one.NextToken == nil {
		t.Errorf("DescribeLogStreams limit 1: %v, %+v", err, one)
	}
	if _, err := logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(group),
		OrderBy: cwltypes.OrderByLastEventTime, LogStreamNamePrefix: aws.String("cwl")}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("orderBy LastEventTime with a prefix: %v, want InvalidParameterException", err)
	}

	// FilterLogEvents, 7 events a page, the writer's stream; the first
	// call is throttled once and retried by the SDK.
	emu.Action("FilterLogEvents").ThrottleNext(1)
	calls := emu.CallCount("FilterLogEvents")
	events, pages := filterAll(t, ctx, logs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group),
		LogStreamNames: []string{w}, Limit: aws.Int32(7), FilterPattern: aws.String(oursPattern)})
	if got := messagesOf(events); !slices.Equal(got, want) {
		t.Fatalf("the writer's events:\n%q\nwant the records written while exporting:\n%q", got, want)
	}
	if pages != 6 || emu.CallCount("FilterLogEvents")-calls != pages+1 {
		t.Errorf("%d pages in %d calls, want 6 pages and one throttled call", pages, emu.CallCount("FilterLogEvents")-calls)
	}
	for _, e := range events {
		if aws.ToString(e.LogStreamName) != w || aws.ToString(e.EventId) == "" || aws.ToInt64(e.Timestamp)%1000 != 0 ||
			aws.ToInt64(e.IngestionTime) < aws.ToInt64(e.Timestamp) {
			t.Errorf("event %+v", e)
			break
		}
	}
	all, _ := filterAll(t, ctx, logs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String(oursPattern)})
	if len(all) != len(want)+len(rwant) {
		t.Errorf("the group has %d events, want %d", len(all), len(want)+len(rwant))
	}
	byPrefix, _ := filterAll(t, ctx, logs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), LogStreamNamePrefix: aws.String("cwl-instance-2"), FilterPattern: aws.String(oursPattern)})
	if got := messagesOf(byPrefix); !slices.Equal(got, rwant) {
		t.Errorf("the reader's events %q, want %q", got, rwant)
	}
	term, _ := filterAll(t, ctx, logs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String("on-12")})
	if got := messagesOf(term); !slices.Equal(got, []string{want[12]}) {
		t.Errorf("filter pattern on-12: %q", got)
	}
	if _, err := logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group),
		FilterPattern: aws.String("?on-1 ?on-2")}); apiCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), "auroratest") {
		t.Errorf("an unemulated filter pattern: %v", err)
	}
	if _, err := logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group),
		LogStreamNames: []string{w}, LogStreamNamePrefix: aws.String("x")}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("logStreamNames and a prefix: %v", err)
	}
	ts := aws.ToInt64(events[0].Timestamp)
	if none, _ := filterAll(t, ctx, logs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), StartTime: aws.Int64(ts + 1000), FilterPattern: aws.String(oursPattern)}); len(none) != 0 {
		t.Errorf("%d events after the second they were written in", len(none))
	}
	if in, _ := filterAll(t, ctx, logs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), LogStreamNames: []string{w},
		StartTime: aws.Int64(ts), EndTime: aws.Int64(ts), FilterPattern: aws.String(oursPattern)}); len(in) != len(want) {
		t.Errorf("%d events with startTime = endTime = their time, want %d", len(in), len(want))
	}

	// GetLogEvents from the head, 15 a page: the forward token repeats
	// at the end.
	var got []string
	token := ""
	for range 10 {
		in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(w), Limit: aws.Int32(15), StartFromHead: aws.Bool(true)}
		if token != "" {
			in.NextToken = aws.String(token)
		}
		out, err := logs.GetLogEvents(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			if m := aws.ToString(e.Message); strings.Contains(m, ours) {
				got = append(got, m)
			}
		}
		if aws.ToString(out.NextForwardToken) == token {
			break
		}
		token = aws.ToString(out.NextForwardToken)
	}
	if !slices.Equal(got, want) {
		t.Errorf("GetLogEvents forward: %d events, want %d", len(got), len(want))
	}
	// The SDK's paginator, which follows the forward token, ends with
	// StopOnDuplicateToken.
	got = nil
	p := cloudwatchlogs.NewGetLogEventsPaginator(logs, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(w),
		Limit: aws.Int32(9), StartFromHead: aws.Bool(true)}, func(o *cloudwatchlogs.GetLogEventsPaginatorOptions) { o.StopOnDuplicateToken = true })
	for n := 0; p.HasMorePages(); n++ {
		if n > 20 {
			t.Fatal("the GetLogEvents paginator does not end")
		}
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			if m := aws.ToString(e.Message); strings.Contains(m, ours) {
				got = append(got, m)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("GetLogEvents paginator: %d events, want %d", len(got), len(want))
	}
	// Backward from the tail.
	got, token = nil, ""
	for range 10 {
		in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(w), Limit: aws.Int32(15)}
		if token != "" {
			in.NextToken = aws.String(token)
		}
		out, err := logs.GetLogEvents(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var page []string
		for _, e := range out.Events {
			if m := aws.ToString(e.Message); strings.Contains(m, ours) {
				page = append(page, m)
			}
		}
		got = append(page, got...)
		if aws.ToString(out.NextBackwardToken) == token {
			break
		}
		token = aws.ToString(out.NextBackwardToken)
	}
	if !slices.Equal(got, want) {
		t.Errorf("GetLogEvents backward: %d events, want %d", len(got), len(want))
	}
	if _, err := logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("nope")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("GetLogEvents of no stream: %v", err)
	}
	if _, err := logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), LogStreamNames: []string{w, "nope"}}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("FilterLogEvents of no stream: %v", err)
	}

	// 3 MB of hard records (lines longer than a page's 1 MB, multi-byte
	// characters, continuation lines) come back whole, 1 MB a page.
	big := bigLog(3 << 20)
	if err := emu.AppendLog(r, big); err != nil {
		t.Fatal(err)
	}
	bigEvents, bigPages := filterAll(t, ctx, logs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), LogStreamNames: []string{r}})
	if joined := strings.Join(messagesOf(bigEvents), "\n") + "\n"; !strings.Contains(joined, string(big)) {
		t.Errorf("the reader's %d events do not hold the 3 MB of log appended", len(bigEvents))
	}
	if bigPages < 3 {
		t.Errorf("3 MB of events in %d pages of at most 1 MB", bigPages)
	}

	// Off: nothing more arrives; the events stay. On again: from then on.
	setExport(t, ctx, c, "cwl", false)
	off, _ := records("off", 4)
	if err := emu.AppendLog(w, []byte(off)); err != nil {
		t.Fatal(err)
	}
	if after, _ := filterAll(t, ctx, logs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), LogStreamNames: []string{w},
		FilterPattern: aws.String(oursPattern)}); !slices.Equal(messagesOf(after), want) {
		t.Errorf("with the export off the stream has %d events, want the %d from before", len(after), len(want))
	}
	setExport(t, ctx, c, "cwl", true)
	again, againWant := records("again", 2)
	if err := emu.AppendLog(w, []byte(again)); err != nil {
		t.Fatal(err)
	}
	if after, _ := filterAll(t, ctx, logs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), LogStreamNames: []string{w},
		FilterPattern: aws.String(oursPattern)}); !slices.Equal(messagesOf(after), append(slices.Clone(want), againWant...)) {
		t.Errorf("exported again: %q", messagesOf(after)[len(want):])
	}
}

// TestCloudWatchLogsExportFromCreation creates a cluster with the export
// on and an instance in it: the instance's stream holds its log from the
// first record, and the events' messages joined with newlines are the
// log's text, as DownloadDBLogFilePortion returns it. After the instance
// is deleted, the log group keeps its events.
func TestCloudWatchLogsExportFromCreation(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	emu := auroratest.NewT(t)
	c := rds.NewFromConfig(emu.AWSConfig())
	logs := cloudwatchlogs.NewFromConfig(emu.AWSConfig())
	const id, group = "cwlnew-1", "/aws/rds/cluster/cwlnew/postgresql"
	createCluster(t, ctx, c, "cwlnew", func(in *rds.CreateDBClusterInput) { in.EnableCloudwatchLogsExports = []string{"postgresql"} })
	waitCluster(t, ctx, c, "cwlnew")
	createInstance(t, ctx, c, "cwlnew", id)
	waitInstance(t, ctx, c, id)
	if got := describeCluster(t, ctx, c, "cwlnew").EnabledCloudwatchLogsExports; !slices.Equal(got, []string{"postgresql"}) {
		t.Errorf("EnabledCloudwatchLogsExports %v", got)
	}
	text := instanceLog(t, ctx, c, id)
	events, _ := filterAll(t, ctx, logs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), LogStreamNames: []string{id}})
	joined := strings.Join(messagesOf(events), "\n") + "\n"
	if len(events) == 0 || !strings.HasPrefix(joined, text) {
		t.Fatalf("%d events; their messages joined:\n%s\nthe log:\n%s", len(events), joined, text)
	}
	multi := slices.ContainsFunc(messagesOf(events), func(m string) bool { return strings.Contains(m, "\n\t") })
	t.Logf("%d events (multi-line among them: %v) for %d bytes of log", len(events), multi, len(text))

	if _, err := c.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	waitDeleted(t, ctx, c, []string{id}, "")
	kept, _ := filterAll(t, ctx, logs, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), LogStreamNames: []string{id}})
	if len(kept) < len(events) || !slices.Equal(messagesOf(kept)[:len(events)], messagesOf(events)) {
		t.Errorf("after the instance was deleted the stream has %d events, had %d", len(kept), len(events))
	}
}
