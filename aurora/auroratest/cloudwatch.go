package auroratest

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// CloudWatch: the metrics of namespace AWS/RDS, computed from the
// servers by the sampler of metrics.go, and metric alarms on them,
// evaluated on every sample. Served over RPC v2 CBOR (cborproto.go).

var cloudWatchService = &cborService{
	name:      "CloudWatch",
	id:        "GraniteServiceVersion20100801",
	namespace: "com.amazonaws.cloudwatch",
	actions: actionTable(
		entry("GetMetricData", (*Emulator).getMetricData),
		entry("ListMetrics", (*Emulator).listMetrics),
		entry("PutMetricAlarm", (*Emulator).putMetricAlarm),
		entry("DescribeAlarms", (*Emulator).describeAlarms),
		entry("DeleteAlarms", (*Emulator).deleteAlarms),
	),
	errorShapes: map[string]string{
		"InvalidParameterValue":       "InvalidParameterValueException",
		"InvalidParameterCombination": "InvalidParameterCombinationException",
		"MissingParameter":            "MissingRequiredParameterException",
		"InvalidNextToken":            "InvalidNextToken",
		"ResourceNotFound":            "ResourceNotFound",
		"LimitExceeded":               "LimitExceededFault",
		"InternalServiceError":        "InternalServiceFault",
		"InvalidFormat":               "InvalidFormatFault",
	},
}

const rdsNamespace = "AWS/RDS"

func errCWInvalid(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf(format, args...)}
}

func errCWMissing(name string) *apiError {
	return &apiError{http.StatusBadRequest, "MissingParameter", "The parameter " + name + " is required."}
}

func errCWCombination(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterCombination", fmt.Sprintf(format, args...)}
}

func errCWNextToken() *apiError {
	return &apiError{http.StatusBadRequest, "InvalidNextToken", "The service cannot parse the NextToken."}
}

// cwDimension is a metric's dimension, as the API writes it.
type cwDimension struct {
	Name  *string
	Value *string
}

// cwMetric is a metric's identity, as the API writes it.
type cwMetric struct {
	Namespace  *string
	MetricName *string
	Dimensions []cwDimension
}

// dims is a metric's dimensions, sorted by name.
type dims []dim

type dim struct{ name, value string }

func (d dims) key() string {
	var b strings.Builder
	for _, x := range d {
		b.WriteString(x.name + "=" + x.value + ";")
	}
	return b.String()
}

func (d dims) api() []cwDimension {
	out := make([]cwDimension, len(d))
	for i, x := range d {
		out[i] = cwDimension{aws.String(x.name), aws.String(x.value)}
	}
	return out
}

// dimsOf checks and sorts the dimensions of a request.
func dimsOf(member string, in []cwDimension) (dims, error) {
	if len(in) > 30 {
		return nil, errCWInvalid("%s: at most 30 dimensions, not %d.", member, len(in))
	}
	var d dims
	for i, x := range in {
		if x.Name == nil || *x.Name == "" {
			return nil, errCWMissing(fmt.Sprintf("%s[%d].Name", member, i))
		}
		if x.Value == nil {
			return nil, errCWMissing(fmt.Sprintf("%s[%d].Value", member, i))
		}
		d = append(d, dim{*x.Name, *x.Value})
	}
	sort.Slice(d, func(i, j int) bool { return d[i].name < d[j].name })
	for i := 1; i < len(d); i++ {
		if d[i].name == d[i-1].name {
			return nil, errCWInvalid("%s: the dimension %s is given twice.", member, d[i].name)
		}
	}
	return d, nil
}

// point is one sampled value.
type point struct {
	t time.Time
	v float64
}

// series is one metric's samples, oldest first. An instance-level metric
// aggregated by cluster or role has one point per instance per sample.
type series struct {
	name string
	dims dims
	unit string
	pts  []point
}

// maxPoints bounds each series: the oldest points go first, in batches
// (once it holds a quarter more), so that a full series costs no shift
// of every point on each sample.
const maxPoints = 20000

// cloudWatch is the emulator's CloudWatch state. Its lock is its own (not
// the state lock): the sampler takes the state lock, then releases it,
// then takes this one.
type cloudWatch struct {
	once   sync.Once
	mu     sync.Mutex
	series map[string]*series // by name + dims key
	alarms map[string]*alarm
}

// start starts the sampler, once (the first CloudWatch call does).
func (cw *cloudWatch) start(e *Emulator) {
	cw.once.Do(func() {
		st := e.lock()
		defer st.unlock()
		e.goBackground(st, e.sampleLoop)
	})
}

func seriesKey(name string, d dims) string { return name + "|" + d.key() }

// record adds a point, keeping the series in time order (the sampler's
// points come in order; a point older than the last goes in its place);
// callers hold cw.mu.
func (cw *cloudWatch) record(name string, d dims, unit string, t time.Time, v float64) {
	if cw.series == nil {
		cw.series = map[string]*series{}
	}
	k := seriesKey(name, d)
	s := cw.series[k]
	if s == nil {
		s = &series{name: name, dims: d, unit: unit}
		cw.series[k] = s
	}
	if n := len(s.pts); n > 0 && t.Before(s.pts[n-1].t) {
		i := sort.Search(n, func(i int) bool { return t.Before(s.pts[i].t) })
		s.pts = slices.Insert(s.pts, i, point{t, v})
	} else {
		s.pts = append(s.pts, point{t, v})
	}
	if len(s.pts) > maxPoints*5/4 {
		s.pts = slices.Clone(s.pts[len(s.pts)-maxPoints:])
	}
}

// stat computes a statistic (Average, Sum, Minimum, Maximum, SampleCount,
// or pNN) of values.
func stat(name string, vs []float64) float64 {
	switch name {
	case "Average":
		return sum(vs) / float64(len(vs))
	case "Sum":
		return sum(vs)
	case "Minimum":
		return slices.Min(vs)
	case "Maximum":
		return slices.Max(vs)
	case "SampleCount":
		return float64(len(vs))
	}
	p, _ := strconv.ParseFloat(name[1:], 64)
	s := slices.Sorted(slices.Values(vs))
	// nearest rank
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func sum(vs []float64) float64 {
	var t float64
	for _, v := range vs {
		t += v
	}
	return t
}

var percentileRE = regexp.MustCompile(`^p(100(\.0+)?|[0-9]{1,2}(\.[0-9]{1,10})?)$`)

// checkStat checks a statistic's name.
func checkStat(member, s string) error {
	switch s {
	case "Average", "Sum", "Minimum", "Maximum", "SampleCount":
		return nil
	}
	if percentileRE.MatchString(s) {
		return nil
	}
	return errCWInvalid("%s %q is not a statistic auroratest computes: use Average, Sum, Minimum, Maximum, SampleCount or a percentile pNN(.NN).", member, s)
}

// checkPeriod checks a period in seconds as CloudWatch does: 1, 5, 10, 30
// or a multiple of 60.
func checkPeriod(member string, p int32) error {
	if p == 1 || p == 5 || p == 10 || p == 30 || (p >= 60 && p%60 == 0) {
		return nil
	}
	return errCWInvalid("%s %d: the period must be 1, 5, 10, 30 or a multiple of 60 seconds.", member, p)
}

// bucket is one period's datapoint.
type bucket struct {
	t time.Time
	v float64
}

// buckets aggregates the points of s in [from, to), sampled no later than
// asOf, by period, oldest first. It reads only the points from from on
// (the series is in time order).
func (s *series) buckets(from, to, asOf time.Time, period time.Duration, statistic string) []bucket {
	var out []bucket
	var cur []float64
	var curT time.Time
	flush := func() {
		if len(cur) > 0 {
			out = append(out, bucket{curT, stat(statistic, cur)})
		}
		cur = cur[:0]
	}
	first := sort.Search(len(s.pts), func(i int) bool { return !s.pts[i].t.Before(from) })
	for _, p := range s.pts[first:] {
		if !p.t.Before(to) || p.t.After(asOf) {
			break
		}
		bt := time.Unix(0, p.t.UnixNano()-p.t.UnixNano()%int64(period)).UTC()
		if !bt.Equal(curT) {
			flush()
			curT = bt
		}
		cur = append(cur, p.v)
	}
	flush()
	return out
}

// GetMetricData.

type cwMetricStat struct {
	Metric *cwMetric
	Period *int32
	Stat   *string
	Unit   string
}

type cwMetricDataQuery struct {
	Id         *string
	MetricStat *cwMetricStat
	Expression *string
	Label      *string
	ReturnData *bool
	Period     *int32
}

type cwLabelOptions struct{ Timezone *string }

type getMetricDataInput struct {
	MetricDataQueries []cwMetricDataQuery
	StartTime         *time.Time
	EndTime           *time.Time
	NextToken         *string
	ScanBy            string
	MaxDatapoints     *int32
	LabelOptions      *cwLabelOptions
}

type cwMessage struct {
	Code  *string
	Value *string
}

type cwMetricDataResult struct {
	Id         *string
	Label      *string
	Timestamps []time.Time
	Values     []float64
	StatusCode string
	Messages   []cwMessage
}

type getMetricDataOutput struct {
	MetricDataResults []cwMetricDataResult
	NextToken         *string
	Messages          []cwMessage
}

var queryIDRE = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// The NextTokens of CloudWatch: GetMetricData's is the position it
// stopped at (cwTokenPrefix), ListMetrics' and DescribeAlarms' the key
// of the last item listed (cwAfterPrefix), so that items appearing
// between the pages do not shift them.
const (
	cwTokenPrefix = "auroratest-cw:"
	cwAfterPrefix = "auroratest-cw:after:"
)

func encodeCWToken(parts ...int64) *string {
	var s []string
	for _, p := range parts {
		s = append(s, strconv.FormatInt(p, 10))
	}
	return aws.String(encodeToken(cwTokenPrefix, strings.Join(s, ":")))
}

func decodeCWToken(tok string, n int) ([]int64, error) {
	rest, ok := decodeToken(cwTokenPrefix, tok)
	if !ok {
		return nil, errCWNextToken()
	}
	f := strings.Split(rest, ":")
	if len(f) != n {
		return nil, errCWNextToken()
	}
	out := make([]int64, n)
	for i, s := range f {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return nil, errCWNextToken()
		}
		out[i] = v
	}
	return out, nil
}

// encodeAfterToken is the NextToken of a page whose last item has the
// key.
func encodeAfterToken(key string) *string { return aws.String(encodeToken(cwAfterPrefix, key)) }

// decodeAfterToken returns the key of the last item the previous page
// listed: "" without a token.
func decodeAfterToken(tok *string) (string, error) {
	if tok == nil {
		return "", nil
	}
	key, ok := decodeToken(cwAfterPrefix, *tok)
	if !ok || key == "" {
		return "", errCWNextToken()
	}
	return key, nil
}

func (e *Emulator) getMetricData(_ context.Context, in *getMetricDataInput) (any, error) {
	if len(in.MetricDataQueries) == 0 {
		return nil, errCWMissing("MetricDataQueries")
	}
	if len(in.MetricDataQueries) > 500 {
		return nil, errCWInvalid("MetricDataQueries: at most 500 queries, not %d.", len(in.MetricDataQueries))
	}
	if in.StartTime == nil {
		return nil, errCWMissing("StartTime")
	}
	if in.EndTime == nil {
		return nil, errCWMissing("EndTime")
	}
	if !in.StartTime.Before(*in.EndTime) {
		return nil, errCWInvalid("The StartTime %s must be before the EndTime %s.", in.StartTime.Format(time.RFC3339), in.EndTime.Format(time.RFC3339))
	}
	descending := true
	switch in.ScanBy {
	case "", "TimestampDescending":
	case "TimestampAscending":
		descending = false
	default:
		return nil, errCWInvalid("ScanBy %q: use TimestampDescending or TimestampAscending.", in.ScanBy)
	}
	maxDP := int64(100800)
	if in.MaxDatapoints != nil {
		if *in.MaxDatapoints < 1 {
			return nil, errCWInvalid("MaxDatapoints %d must be at least 1.", *in.MaxDatapoints)
		}
		maxDP = int64(*in.MaxDatapoints)
	}
	type query struct {
		id, label, statistic, unit string
		key                        string
		period                     time.Duration
		ret                        bool
	}
	var qs []query
	seen := map[string]bool{}
	for i, q := range in.MetricDataQueries {
		member := fmt.Sprintf("MetricDataQueries[%d]", i)
		if q.Id == nil {
			return nil, errCWMissing(member + ".Id")
		}
		if !queryIDRE.MatchString(*q.Id) {
			return nil, errCWInvalid("%s.Id %q must start with a lower-case letter and hold only letters, digits and _.", member, *q.Id)
		}
		if seen[*q.Id] {
			return nil, errCWInvalid("%s.Id %q is given twice.", member, *q.Id)
		}
		seen[*q.Id] = true
		if q.Expression != nil {
			return nil, errCWInvalid("%s.Expression: auroratest does not evaluate metric math or Metrics Insights expressions; query each metric with MetricStat.", member)
		}
		if q.MetricStat == nil {
			return nil, errCWCombination("%s: give MetricStat (or Expression).", member)
		}
		if q.Period != nil {
			return nil, errCWCombination("%s.Period goes with Expression; with MetricStat give MetricStat.Period.", member)
		}
		ms := q.MetricStat
		if ms.Metric == nil || ms.Metric.MetricName == nil {
			return nil, errCWMissing(member + ".MetricStat.Metric.MetricName")
		}
		if ms.Metric.Namespace == nil {
			return nil, errCWMissing(member + ".MetricStat.Metric.Namespace")
		}
		if ms.Period == nil {
			return nil, errCWMissing(member + ".MetricStat.Period")
		}
		if err := checkPeriod(member+".MetricStat.Period", *ms.Period); err != nil {
			return nil, err
		}
		if ms.Stat == nil {
			return nil, errCWMissing(member + ".MetricStat.Stat")
		}
		if err := checkStat(member+".MetricStat.Stat", *ms.Stat); err != nil {
			return nil, err
		}
		d, err := dimsOf(member+".MetricStat.Metric.Dimensions", ms.Metric.Dimensions)
		if err != nil {
			return nil, err
		}
		key := "" // no data: the emulator publishes AWS/RDS only
		if *ms.Metric.Namespace == rdsNamespace {
			key = seriesKey(*ms.Metric.MetricName, d)
		}
		label := *ms.Metric.MetricName
		if q.Label != nil {
			label = *q.Label
		}
		qs = append(qs, query{id: *q.Id, label: label, statistic: *ms.Stat, unit: ms.Unit, key: key,
			period: time.Duration(*ms.Period) * time.Second, ret: q.ReturnData == nil || *q.ReturnData})
	}
	// A first page fixes the time the data is read as of, so that the
	// next pages go on where it stopped while the sampler adds points.
	asOf := time.Now()
	qi, off := int64(0), int64(0)
	if in.NextToken != nil {
		t, err := decodeCWToken(*in.NextToken, 3)
		if err != nil {
			return nil, err
		}
		asOf, qi, off = time.Unix(0, t[0]), t[1], t[2]
		if qi >= int64(len(qs)) {
			return nil, errCWNextToken()
		}
	}
	e.cw.mu.Lock()
	defer e.cw.mu.Unlock()
	out := &getMetricDataOutput{MetricDataResults: []cwMetricDataResult{}}
	budget := maxDP
	for i := qi; i < int64(len(qs)); i++ {
		q := qs[i]
		if !q.ret {
			continue
		}
		var bs []bucket
		if s := e.cw.series[q.key]; s != nil && (q.unit == "" || q.unit == s.unit) {
			bs = s.buckets(*in.StartTime, *in.EndTime, asOf, q.period, q.statistic)
		}
		if descending {
			slices.Reverse(bs)
		}
		start := int64(0)
		if i == qi {
			start = min(off, int64(len(bs)))
		}
		bs = bs[start:]
		r := cwMetricDataResult{Id: aws.String(q.id), Label: aws.String(q.label), StatusCode: "Complete", Timestamps: []time.Time{}, Values: []float64{}}
		take := min(int64(len(bs)), budget)
		for _, b := range bs[:take] {
			r.Timestamps = append(r.Timestamps, b.t)
			r.Values = append(r.Values, b.v)
		}
		budget -= take
		if take < int64(len(bs)) {
			r.StatusCode = "PartialData"
			out.MetricDataResults = append(out.MetricDataResults, r)
			out.NextToken = encodeCWToken(asOf.UnixNano(), i, start+take)
			return out, nil
		}
		out.MetricDataResults = append(out.MetricDataResults, r)
	}
	return out, nil
}

// ListMetrics.

type cwDimensionFilter struct {
	Name  *string
	Value *string
}

type listMetricsInput struct {
	Namespace      *string
	MetricName     *string
	Dimensions     []cwDimensionFilter
	NextToken      *string
	RecentlyActive string
}

type listMetricsOutput struct {
	Metrics   []cwMetric
	NextToken *string
}

// listMetricsPage is how many metrics a ListMetrics page holds, as on
// CloudWatch.
const listMetricsPage = 500

func (e *Emulator) listMetrics(_ context.Context, in *listMetricsInput) (any, error) {
	if in.RecentlyActive != "" && in.RecentlyActive != "PT3H" {
		return nil, errCWInvalid("RecentlyActive %q: the only value is PT3H.", in.RecentlyActive)
	}
	if len(in.Dimensions) > 30 {
		return nil, errCWInvalid("Dimensions: at most 30 filters, not %d.", len(in.Dimensions))
	}
	for i, f := range in.Dimensions {
		if f.Name == nil || *f.Name == "" {
			return nil, errCWMissing(fmt.Sprintf("Dimensions[%d].Name", i))
		}
	}
	after, err := decodeAfterToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	e.cw.mu.Lock()
	var list []*series
	recent := time.Now().Add(-3 * time.Hour)
	for _, s := range e.cw.series {
		if in.Namespace != nil && *in.Namespace != rdsNamespace {
			continue
		}
		if in.MetricName != nil && *in.MetricName != s.name {
			continue
		}
		if !matchFilters(s.dims, in.Dimensions) {
			continue
		}
		if in.RecentlyActive != "" && (len(s.pts) == 0 || s.pts[len(s.pts)-1].t.Before(recent)) {
			continue
		}
		if after != "" && seriesKey(s.name, s.dims) <= after {
			continue
		}
		list = append(list, s)
	}
	e.cw.mu.Unlock()
	sort.Slice(list, func(i, j int) bool {
		return seriesKey(list[i].name, list[i].dims) < seriesKey(list[j].name, list[j].dims)
	})
	page := e.listMetricsPage
	if page <= 0 {
		page = listMetricsPage
	}
	out := &listMetricsOutput{Metrics: []cwMetric{}}
	end := min(page, len(list))
	for _, s := range list[:end] {
		out.Metrics = append(out.Metrics, cwMetric{Namespace: aws.String(rdsNamespace), MetricName: aws.String(s.name), Dimensions: s.dims.api()})
	}
	if end < len(list) {
		last := list[end-1]
		out.NextToken = encodeAfterToken(seriesKey(last.name, last.dims))
	}
	return out, nil
}

func matchFilters(d dims, filters []cwDimensionFilter) bool {
	for _, f := range filters {
		found := false
		for _, x := range d {
			if x.name == *f.Name && (f.Value == nil || *f.Value == x.value) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
