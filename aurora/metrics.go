package aurora

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// MetricName is the name of an Aurora PostgreSQL metric in CloudWatch's
// AWS/RDS namespace.
type MetricName string

// The Aurora PostgreSQL metrics that matter for administration (see
// "Amazon CloudWatch metrics for Amazon Aurora" in the Aurora User
// Guide). Each is listed by AdminMetrics with its unit.
const (
	CPUUtilization            MetricName = "CPUUtilization"            // Percent
	FreeableMemory            MetricName = "FreeableMemory"            // Bytes
	DatabaseConnections       MetricName = "DatabaseConnections"       // Count
	AuroraReplicaLag          MetricName = "AuroraReplicaLag"          // Milliseconds, per reader
	AuroraReplicaLagMaximum   MetricName = "AuroraReplicaLagMaximum"   // Milliseconds, on the writer
	ReplicationSlotDiskUsage  MetricName = "ReplicationSlotDiskUsage"  // Bytes
	OldestReplicationSlotLag  MetricName = "OldestReplicationSlotLag"  // Bytes
	TransactionLogsDiskUsage  MetricName = "TransactionLogsDiskUsage"  // Bytes
	MaximumUsedTransactionIDs MetricName = "MaximumUsedTransactionIDs" // Count
	Deadlocks                 MetricName = "Deadlocks"                 // Count/Second
	CommitLatency             MetricName = "CommitLatency"             // Milliseconds
	BufferCacheHitRatio       MetricName = "BufferCacheHitRatio"       // Percent
	VolumeBytesUsed           MetricName = "VolumeBytesUsed"           // Bytes, per cluster
	VolumeReadIOPs            MetricName = "VolumeReadIOPs"            // Count, per cluster
	VolumeWriteIOPs           MetricName = "VolumeWriteIOPs"           // Count, per cluster
)

// MetricInfo says what a metric measures and where CloudWatch has it.
type MetricInfo struct {
	Name MetricName
	// Unit is the CloudWatch unit: "Percent", "Bytes", "Count",
	// "Milliseconds", "Count/Second".
	Unit string
	// ClusterOnly is true for the cluster volume's metrics, which have
	// no instance or role dimension.
	ClusterOnly bool
	// Description says what the metric measures.
	Description string
}

// metricInfo is the catalog behind AdminMetrics and MetricsOptions.
var metricInfo = []MetricInfo{
	{CPUUtilization, "Percent", false, "CPU used by the instance"},
	{FreeableMemory, "Bytes", false, "memory available to the instance"},
	{DatabaseConnections, "Count", false, "client sessions connected"},
	{AuroraReplicaLag, "Milliseconds", false, "how far a reader's replay is behind the writer"},
	{AuroraReplicaLagMaximum, "Milliseconds", false, "the largest lag of any reader, reported by the writer"},
	{ReplicationSlotDiskUsage, "Bytes", false, "WAL kept for replication slots"},
	{OldestReplicationSlotLag, "Bytes", false, "WAL the most lagging replication slot has not consumed"},
	{TransactionLogsDiskUsage, "Bytes", false, "WAL on the writer's disk; -1 unless logical replication is on"},
	{MaximumUsedTransactionIDs, "Count", false, "age of the oldest unfrozen transaction ID (wraparound at 2^31)"},
	{Deadlocks, "Count/Second", false, "deadlocks detected"},
	{CommitLatency, "Milliseconds", false, "average time of a commit (not on the emulator)"},
	{BufferCacheHitRatio, "Percent", false, "reads served from the buffer cache"},
	{VolumeBytesUsed, "Bytes", true, "storage the cluster volume uses"},
	{VolumeReadIOPs, "Count", true, "billed read I/O operations of the cluster volume"},
	{VolumeWriteIOPs, "Count", true, "billed write I/O operations of the cluster volume"},
}

// AdminMetrics returns the metrics the SDK reads by default, with their
// units, in a fixed order.
func AdminMetrics() []MetricInfo { return slices.Clone(metricInfo) }

// LookupMetric returns what the SDK knows of a metric; ok is false for a
// metric outside AdminMetrics (it can still be read, as a metric of
// unknown unit).
func LookupMetric(name MetricName) (info MetricInfo, ok bool) {
	i := slices.IndexFunc(metricInfo, func(m MetricInfo) bool { return m.Name == name })
	if i < 0 {
		return MetricInfo{Name: name}, false
	}
	return metricInfo[i], true
}

// The roles of MetricScope.Role, as CloudWatch's Role dimension names
// them.
const (
	RoleWriter = "WRITER"
	RoleReader = "READER"
)

// MetricScope says which CloudWatch dimensions a metric is read for: one
// instance (Instance set), the instances of one role in the cluster (Role
// set: RoleWriter or RoleReader), or the whole cluster (neither).
type MetricScope struct {
	Instance string
	Role     string
}

// String is the instance, "cluster/ROLE", or "cluster".
func (s MetricScope) String() string {
	switch {
	case s.Instance != "":
		return s.Instance
	case s.Role != "":
		return "cluster/" + s.Role
	}
	return "cluster"
}

// dimensions are the CloudWatch dimensions of s in cluster clusterID.
func (s MetricScope) dimensions(clusterID string) []types.Dimension {
	switch {
	case s.Instance != "":
		return []types.Dimension{{Name: aws.String("DBInstanceIdentifier"), Value: aws.String(s.Instance)}}
	case s.Role != "":
		return []types.Dimension{{Name: aws.String("DBClusterIdentifier"), Value: aws.String(clusterID)}, {Name: aws.String("Role"), Value: aws.String(s.Role)}}
	}
	return []types.Dimension{{Name: aws.String("DBClusterIdentifier"), Value: aws.String(clusterID)}}
}

func (s MetricScope) check(field string) error {
	if s.Instance != "" && s.Role != "" {
		return &InputError{Field: field, Value: fmt.Sprintf("{Instance: %q, Role: %q}", s.Instance, s.Role), Allowed: "an Instance or a Role, not both"}
	}
	if s.Role != "" && s.Role != RoleWriter && s.Role != RoleReader {
		return &InputError{Field: field + ".Role", Value: strconv.Quote(s.Role), Allowed: `"WRITER" or "READER"`}
	}
	return nil
}

// Statistic is a CloudWatch statistic: "Average", "Maximum", "Minimum",
// "Sum", "SampleCount", or a percentile such as "p99".
type Statistic string

// The statistics every metric has.
const (
	StatAverage     Statistic = "Average"
	StatMaximum     Statistic = "Maximum"
	StatMinimum     Statistic = "Minimum"
	StatSum         Statistic = "Sum"
	StatSampleCount Statistic = "SampleCount"
)

func (s Statistic) check(field string) error {
	switch s {
	case StatAverage, StatMaximum, StatMinimum, StatSum, StatSampleCount:
		return nil
	}
	if len(s) > 1 && s[0] == 'p' {
		if p, err := strconv.ParseFloat(string(s[1:]), 64); err == nil && p >= 0 && p <= 100 {
			return nil
		}
	}
	return &InputError{Field: field, Value: strconv.Quote(string(s)), Allowed: "Average, Maximum, Minimum, Sum, SampleCount or a percentile p0 to p100"}
}

// MetricsOptions says what Cluster.Metrics reads. The zero value reads
// every metric of AdminMetrics for the cluster, as the Average of each
// minute of the last hour.
type MetricsOptions struct {
	// Metrics are the metrics to read; nil means every one of
	// AdminMetrics.
	Metrics []MetricName
	// Scopes are the dimensions each metric is read for; nil means the
	// cluster. A ClusterOnly metric is read only for the cluster scope.
	Scopes []MetricScope
	// Start and End bound the time range; zero End means now, and zero
	// Start an hour before End.
	Start, End time.Time
	// Period is the length of each data point: a multiple of 60 s (of
	// 300 s for data older than 15 days, of 3600 s older than 63 days).
	// Zero means one minute. 1, 5, 10 and 30 s are high-resolution
	// periods: RDS publishes its metrics once a minute, so on AWS they
	// find no data; the emulator samples as often as
	// auroratest.WithMetricsPeriod says.
	Period time.Duration
	// Statistic aggregates each period; empty means Average.
	Statistic Statistic
}

// MetricSeries is one metric's data points for one scope.
type MetricSeries struct {
	Metric    MetricName
	Scope     MetricScope
	Statistic Statistic
	// Unit is the metric's unit, from AdminMetrics ("" when the metric is
	// not in it).
	Unit string
	// Points are in time order, one per period that has data; a period
	// without data has no point.
	Points []MetricPoint
}

// MetricPoint is one period's value, at the period's start.
type MetricPoint struct {
	Time  time.Time
	Value float64
}

// Last returns the newest point; ok is false when the series is empty.
func (s MetricSeries) Last() (p MetricPoint, ok bool) {
	if len(s.Points) == 0 {
		return MetricPoint{}, false
	}
	return s.Points[len(s.Points)-1], true
}

// maxMetricQueries is GetMetricData's limit of queries per request.
const maxMetricQueries = 500

// Metrics reads the cluster's CloudWatch metrics through GetMetricData,
// following every page. It returns one series per metric and scope, in
// the order of opts.Metrics (then opts.Scopes). Bad options are refused
// with an *InputError before any call.
func (m *Monitoring) Metrics(ctx context.Context, opts *MetricsOptions) ([]MetricSeries, error) {
	c := m.c
	if err := c.usable(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &MetricsOptions{}
	}
	q, err := c.metricQueries(*opts, time.Now())
	if err != nil {
		return nil, err
	}
	api, err := c.cloudWatchClient()
	if err != nil {
		return nil, err
	}
	for from := 0; from < len(q.series); from += maxMetricQueries {
		to := min(from+maxMetricQueries, len(q.series))
		if err := q.read(ctx, api, from, to); err != nil {
			return nil, fmt.Errorf("aurora: reading the metrics of cluster %s: %w", c.id, err)
		}
	}
	return q.series, nil
}

// metricQuery is a checked MetricsOptions: the series to fill and the
// request's constant part.
type metricQuery struct {
	clusterID  string
	start, end time.Time
	period     int32 // seconds
	series     []MetricSeries
}

func (c *Cluster) metricQueries(o MetricsOptions, now time.Time) (*metricQuery, error) {
	q := &metricQuery{clusterID: c.id, start: o.Start, end: o.End}
	if q.end.IsZero() {
		q.end = now
	}
	if q.start.IsZero() {
		q.start = q.end.Add(-time.Hour)
	}
	if !q.start.Before(q.end) {
		return nil, &InputError{Field: "MetricsOptions.Start", Value: q.start.Format(time.RFC3339), Allowed: "a time before End (" + q.end.Format(time.RFC3339) + ")"}
	}
	period := o.Period
	if period == 0 {
		period = time.Minute
	}
	if err := checkPeriod("MetricsOptions.Period", period, q.start, now, metricSubMinute); err != nil {
		return nil, err
	}
	q.period = int32(period / time.Second)
	stat := o.Statistic
	if stat == "" {
		stat = StatAverage
	}
	if err := stat.check("MetricsOptions.Statistic"); err != nil {
		return nil, err
	}
	names := o.Metrics
	if names == nil {
		for _, m := range metricInfo {
			names = append(names, m.Name)
		}
	}
	scopes := o.Scopes
	if scopes == nil {
		scopes = []MetricScope{{}}
	}
	for i, s := range scopes {
		if err := s.check(fmt.Sprintf("MetricsOptions.Scopes[%d]", i)); err != nil {
			return nil, err
		}
	}
	for i, n := range names {
		if n == "" {
			return nil, &InputError{Field: fmt.Sprintf("MetricsOptions.Metrics[%d]", i), Value: `""`, Allowed: "a metric name such as CPUUtilization"}
		}
		info, _ := LookupMetric(n)
		for _, s := range scopes {
			if info.ClusterOnly && s != (MetricScope{}) {
				continue
			}
			q.series = append(q.series, MetricSeries{Metric: n, Scope: s, Statistic: stat, Unit: info.Unit})
		}
	}
	return q, nil
}

// checkPeriod accepts the periods CloudWatch serves for data points that
// start at start: a multiple of 60 s (RDS publishes its metrics at
// regular resolution, once a minute), of 300 s from 15 days back and of
// 3600 s from 63 days back, where CloudWatch keeps only coarser
// aggregates and returns nothing for finer periods; and, with
// subMinute, the high-resolution periods 1, 5, 10 and 30 s (or 10 and
// 30 s for alarms, subMinute false) that only high-resolution metrics
// have: on AWS not the RDS ones, on the emulator every one sampled that
// often (auroratest.WithMetricsPeriod).
func checkPeriod(field string, p time.Duration, start, now time.Time, subMinute []time.Duration) error {
	if p > 0 && p%time.Second == 0 {
		step := time.Minute
		switch age := now.Sub(start); {
		case age > 63*24*time.Hour:
			step = time.Hour
		case age > 15*24*time.Hour:
			step = 5 * time.Minute
		}
		if p%step == 0 || (step == time.Minute && slices.Contains(subMinute, p)) {
			return nil
		}
	}
	allowed := "a multiple of 1m"
	switch {
	case now.Sub(start) > 63*24*time.Hour:
		allowed = "a multiple of 1h, for data older than 63 days"
	case now.Sub(start) > 15*24*time.Hour:
		allowed = "a multiple of 5m, for data older than 15 days"
	case len(subMinute) > 0:
		var subs []string
		for _, d := range subMinute {
			subs = append(subs, d.String())
		}
		allowed = strings.Join(subs, ", ") + " (high resolution) or a multiple of 1m"
	}
	return &InputError{Field: field, Value: p.String(), Allowed: allowed}
}

// metricSubMinute and alarmSubMinute are the high-resolution periods of
// GetMetricData and of metric alarms.
var (
	metricSubMinute = []time.Duration{time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second}
	alarmSubMinute  = []time.Duration{10 * time.Second, 30 * time.Second}
)

// read fills q.series[from:to] with one GetMetricData request and its
// pages.
func (q *metricQuery) read(ctx context.Context, api CloudWatchAPI, from, to int) error {
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(q.start), EndTime: aws.Time(q.end),
		ScanBy: types.ScanByTimestampAscending,
	}
	byID := map[string]*MetricSeries{}
	for i := from; i < to; i++ {
		s := &q.series[i]
		id := "m" + strconv.Itoa(i)
		byID[id] = s
		in.MetricDataQueries = append(in.MetricDataQueries, types.MetricDataQuery{
			Id: aws.String(id),
			MetricStat: &types.MetricStat{
				Metric: &types.Metric{Namespace: aws.String("AWS/RDS"), MetricName: aws.String(string(s.Metric)), Dimensions: s.Scope.dimensions(q.clusterID)},
				Period: aws.Int32(q.period),
				Stat:   aws.String(string(s.Statistic)),
			},
		})
	}
	pages := cloudwatch.NewGetMetricDataPaginator(api, in)
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, r := range out.MetricDataResults {
			s := byID[aws.ToString(r.Id)]
			if s == nil {
				continue
			}
			if r.StatusCode == types.StatusCodeInternalError || r.StatusCode == types.StatusCodeForbidden {
				return fmt.Errorf("%s of %s: status %s: %s", s.Metric, s.Scope, r.StatusCode, messagesText(r.Messages))
			}
			if len(r.Timestamps) != len(r.Values) {
				return fmt.Errorf("%s of %s: %d timestamps for %d values", s.Metric, s.Scope, len(r.Timestamps), len(r.Values))
			}
			for j, t := range r.Timestamps {
				s.Points = append(s.Points, MetricPoint{Time: t, Value: r.Values[j]})
			}
		}
	}
	return nil
}

func messagesText(ms []types.MessageData) string {
	var out string
	for i, m := range ms {
		if i > 0 {
			out += "; "
		}
		out += aws.ToString(m.Code) + " " + aws.ToString(m.Value)
	}
	return out
}
