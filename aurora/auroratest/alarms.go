package auroratest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// CloudWatch metric alarms on one AWS/RDS metric each: created and
// replaced by PutMetricAlarm, evaluated on every sample of metrics.go
// (and when put), listed by DescribeAlarms, removed by DeleteAlarms.
// Actions are stored, not run.

type alarm struct {
	name, arn, description string
	actionsEnabled         bool
	alarmActions           []string
	okActions              []string
	insufficientActions    []string
	metricName, namespace  string
	dims                   dims
	statistic, extended    string // one of them
	period                 int32
	unit                   string
	evaluationPeriods      int32
	datapointsToAlarm      int32
	threshold              float64
	comparison             string
	treatMissing           string
	lowSampleCount         string
	tags                   []cwTag
	configUpdated          time.Time

	state        string // OK, ALARM, INSUFFICIENT_DATA
	reason       string
	reasonData   string
	updated      time.Time // StateUpdatedTimestamp
	transitioned time.Time // StateTransitionedTimestamp
}

const (
	stateOK           = "OK"
	stateAlarm        = "ALARM"
	stateInsufficient = "INSUFFICIENT_DATA"
)

type cwTag struct {
	Key   *string
	Value *string
}

type putMetricAlarmInput struct {
	AlarmName                        *string
	AlarmDescription                 *string
	ActionsEnabled                   *bool
	AlarmActions                     []string
	OKActions                        []string
	InsufficientDataActions          []string
	MetricName                       *string
	Namespace                        *string
	Statistic                        string
	ExtendedStatistic                *string
	Dimensions                       []cwDimension
	Period                           *int32
	Unit                             string
	EvaluationPeriods                *int32
	DatapointsToAlarm                *int32
	Threshold                        *float64
	ComparisonOperator               string
	TreatMissingData                 *string
	EvaluateLowSampleCountPercentile *string
	Tags                             []cwTag
}

var comparisons = map[string]struct {
	symbol string
	breach func(v, t float64) bool
}{
	"GreaterThanOrEqualToThreshold": {"greater than or equal to", func(v, t float64) bool { return v >= t }},
	"GreaterThanThreshold":          {"greater than", func(v, t float64) bool { return v > t }},
	"LessThanThreshold":             {"less than", func(v, t float64) bool { return v < t }},
	"LessThanOrEqualToThreshold":    {"less than or equal to", func(v, t float64) bool { return v <= t }},
}

func (e *Emulator) putMetricAlarm(_ context.Context, in *putMetricAlarmInput) (any, error) {
	if in.AlarmName == nil || *in.AlarmName == "" {
		return nil, errCWMissing("AlarmName")
	}
	if len(*in.AlarmName) > 255 {
		return nil, errCWInvalid("AlarmName: at most 255 characters.")
	}
	if in.MetricName == nil || *in.MetricName == "" {
		return nil, errCWMissing("MetricName (auroratest does not evaluate alarms on Metrics queries)")
	}
	if in.Namespace == nil || *in.Namespace == "" {
		return nil, errCWMissing("Namespace")
	}
	if (in.Statistic == "") == (in.ExtendedStatistic == nil) {
		return nil, errCWCombination("Give exactly one of Statistic and ExtendedStatistic.")
	}
	if in.Statistic != "" {
		if err := checkStat("Statistic", in.Statistic); err != nil || strings.HasPrefix(in.Statistic, "p") {
			return nil, errCWInvalid("Statistic %q: use Average, Sum, Minimum, Maximum or SampleCount (a percentile goes in ExtendedStatistic).", in.Statistic)
		}
	} else if !percentileRE.MatchString(*in.ExtendedStatistic) {
		return nil, errCWInvalid("ExtendedStatistic %q: auroratest computes percentiles, pNN(.NN).", *in.ExtendedStatistic)
	}
	if in.Period == nil {
		return nil, errCWMissing("Period")
	}
	if err := checkPeriod("Period", *in.Period); err != nil {
		return nil, err
	}
	if in.EvaluationPeriods == nil {
		return nil, errCWMissing("EvaluationPeriods")
	}
	if *in.EvaluationPeriods < 1 {
		return nil, errCWInvalid("EvaluationPeriods %d must be at least 1.", *in.EvaluationPeriods)
	}
	if int64(*in.Period)*int64(*in.EvaluationPeriods) > 7*86400 {
		return nil, errCWInvalid("Period times EvaluationPeriods must be at most 7 days (604800 seconds).")
	}
	m := *in.EvaluationPeriods
	if in.DatapointsToAlarm != nil {
		m = *in.DatapointsToAlarm
		if m < 1 || m > *in.EvaluationPeriods {
			return nil, errCWInvalid("DatapointsToAlarm %d must be from 1 to EvaluationPeriods (%d).", m, *in.EvaluationPeriods)
		}
	}
	if in.Threshold == nil {
		return nil, errCWMissing("Threshold")
	}
	if in.ComparisonOperator == "" {
		return nil, errCWMissing("ComparisonOperator")
	}
	if _, ok := comparisons[in.ComparisonOperator]; !ok {
		return nil, errCWInvalid("ComparisonOperator %q: auroratest evaluates GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold and LessThanOrEqualToThreshold (no anomaly detection bands).", in.ComparisonOperator)
	}
	treat := "missing"
	if in.TreatMissingData != nil {
		treat = *in.TreatMissingData
		if !slices.Contains([]string{"breaching", "notBreaching", "ignore", "missing"}, treat) {
			return nil, errCWInvalid("TreatMissingData %q: use breaching, notBreaching, ignore or missing.", treat)
		}
	}
	if v := in.EvaluateLowSampleCountPercentile; v != nil && *v != "evaluate" && *v != "ignore" {
		return nil, errCWInvalid("EvaluateLowSampleCountPercentile %q: use evaluate or ignore.", *v)
	}
	d, err := dimsOf("Dimensions", in.Dimensions)
	if err != nil {
		return nil, err
	}
	for i, t := range in.Tags {
		if t.Key == nil || *t.Key == "" || t.Value == nil {
			return nil, errCWInvalid("Tags[%d]: a tag needs a Key and a Value.", i)
		}
	}
	a := &alarm{
		name: *in.AlarmName, arn: "arn:aws:cloudwatch:" + e.region + ":" + e.account + ":alarm:" + *in.AlarmName,
		description: aws.ToString(in.AlarmDescription), actionsEnabled: in.ActionsEnabled == nil || *in.ActionsEnabled,
		alarmActions: in.AlarmActions, okActions: in.OKActions, insufficientActions: in.InsufficientDataActions,
		metricName: *in.MetricName, namespace: *in.Namespace, dims: d,
		statistic: in.Statistic, extended: aws.ToString(in.ExtendedStatistic), period: *in.Period, unit: in.Unit,
		evaluationPeriods: *in.EvaluationPeriods, datapointsToAlarm: m, threshold: *in.Threshold,
		comparison: in.ComparisonOperator, treatMissing: treat, lowSampleCount: aws.ToString(in.EvaluateLowSampleCountPercentile),
		tags: in.Tags, configUpdated: time.Now().UTC(),
		state: stateInsufficient, reason: "Unchecked: Initial alarm creation",
	}
	e.cw.mu.Lock()
	defer e.cw.mu.Unlock()
	if e.cw.alarms == nil {
		e.cw.alarms = map[string]*alarm{}
	}
	if old := e.cw.alarms[a.name]; old != nil {
		// An update leaves the state and the tags as they were (AWS
		// ignores Tags on an update), and replaces the rest.
		a.state, a.reason, a.reasonData, a.updated, a.transitioned = old.state, old.reason, old.reasonData, old.updated, old.transitioned
		a.tags = old.tags
	} else {
		if len(e.cw.alarms) >= 10000 {
			return nil, &apiError{http.StatusBadRequest, "LimitExceeded", "The maximum number of alarms (10000) has been reached."}
		}
		a.updated, a.transitioned = a.configUpdated, a.configUpdated
	}
	e.cw.alarms[a.name] = a
	e.cw.evaluate(a, time.Now())
	return nil, nil
}

// evaluate sets the alarm's state from its metric's last
// EvaluationPeriods periods, the last one being the period holding now
// (so far). Callers hold cw.mu.
func (cw *cloudWatch) evaluate(a *alarm, now time.Time) {
	period := time.Duration(a.period) * time.Second
	end := time.Unix(0, now.UnixNano()-now.UnixNano()%int64(period)).UTC().Add(period)
	from := end.Add(-time.Duration(a.evaluationPeriods) * period)
	statistic := a.statistic
	if statistic == "" {
		statistic = a.extended
	}
	byTime := map[int64]float64{} // by UnixNano
	if a.namespace == rdsNamespace {
		if s := cw.series[seriesKey(a.metricName, a.dims)]; s != nil && (a.unit == "" || a.unit == s.unit) {
			for _, b := range s.buckets(from, end, now, period, statistic) {
				byTime[b.t.UnixNano()] = b.v
			}
		}
	}
	cmp := comparisons[a.comparison]
	type dp struct {
		t       time.Time
		v       float64
		present bool
	}
	var recent []dp // newest first
	for t := end.Add(-period); !t.Before(from); t = t.Add(-period) {
		v, ok := byTime[t.UnixNano()]
		recent = append(recent, dp{t, v, ok})
	}
	var breaching, present int
	var shown []dp
	for _, p := range recent {
		switch {
		case p.present:
			present++
			shown = append(shown, p)
			if cmp.breach(p.v, a.threshold) {
				breaching++
			}
		case a.treatMissing == "breaching":
			breaching++
		}
	}
	n := int(a.evaluationPeriods)
	var state string
	switch {
	case breaching >= int(a.datapointsToAlarm):
		state = stateAlarm
	case present == 0 && a.treatMissing == "ignore":
		return // the state stays
	case present == 0 && a.treatMissing == "missing":
		state = stateInsufficient
	default:
		state = stateOK
	}
	if state == a.state && a.reason != "Unchecked: Initial alarm creation" {
		return
	}
	var reason string
	fmtDP := func(ps []dp) string {
		var parts []string
		for _, p := range ps {
			parts = append(parts, strconv.FormatFloat(p.v, 'f', -1, 64)+" ("+p.t.UTC().Format("02/01/06 15:04:05")+")")
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	plural := func(k int) string {
		if k == 1 {
			return "datapoint"
		}
		return "datapoints"
	}
	switch state {
	case stateInsufficient:
		reason = fmt.Sprintf("Insufficient Data: %d %s %s unknown.", n, plural(n), map[bool]string{true: "was", false: "were"}[n == 1])
	case stateAlarm:
		var bs []dp
		for _, p := range shown {
			if cmp.breach(p.v, a.threshold) {
				bs = append(bs, p)
			}
		}
		reason = fmt.Sprintf("Threshold Crossed: %d out of the last %d %s %s %s %s the threshold (%s) (minimum %d %s for %s -> ALARM transition).",
			breaching, n, plural(n), fmtDP(bs), map[bool]string{true: "was", false: "were"}[breaching == 1], cmp.symbol,
			strconv.FormatFloat(a.threshold, 'f', -1, 64), a.datapointsToAlarm, plural(int(a.datapointsToAlarm)), a.state)
	default:
		reason = fmt.Sprintf("Threshold Crossed: no %s were %s the threshold (%s) among the last %d %s %s (minimum %d %s for %s -> OK transition).",
			plural(2), cmp.symbol, strconv.FormatFloat(a.threshold, 'f', -1, 64), n, plural(n), fmtDP(shown),
			a.datapointsToAlarm, plural(int(a.datapointsToAlarm)), a.state)
		if breaching > 0 {
			reason = fmt.Sprintf("Threshold Crossed: %d out of the last %d %s %s %s %s the threshold (%s), fewer than the %d for ALARM (%s -> OK transition).",
				breaching, n, plural(n), fmtDP(shown), map[bool]string{true: "was", false: "were"}[breaching == 1], cmp.symbol,
				strconv.FormatFloat(a.threshold, 'f', -1, 64), a.datapointsToAlarm, a.state)
		}
	}
	var vals []float64
	var stamps []string
	for _, p := range shown {
		vals = append(vals, p.v)
		stamps = append(stamps, p.t.UTC().Format("2006-01-02T15:04:05.000+0000"))
	}
	data, _ := json.Marshal(map[string]any{
		"version": "1.0", "queryDate": now.UTC().Format("2006-01-02T15:04:05.000+0000"),
		"statistic": statistic, "period": a.period, "recentDatapoints": vals, "recentTimestamps": stamps,
		"threshold": a.threshold, "evaluatedDatapoints": len(shown),
	})
	a.reason, a.reasonData, a.updated = reason, string(data), now.UTC()
	if state != a.state {
		a.state, a.transitioned = state, now.UTC()
	}
}

// evaluateAll evaluates every alarm; callers hold cw.mu.
func (cw *cloudWatch) evaluateAll(now time.Time) {
	for _, a := range cw.alarms {
		cw.evaluate(a, now)
	}
}

type describeAlarmsInput struct {
	AlarmNames      []string
	AlarmNamePrefix *string
	AlarmTypes      []string
	ActionPrefix    *string
	StateValue      string
	MaxRecords      *int32
	NextToken       *string
}

type cwMetricAlarm struct {
	AlarmName                          *string
	AlarmArn                           *string
	AlarmDescription                   *string
	AlarmConfigurationUpdatedTimestamp time.Time
	ActionsEnabled                     bool
	OKActions                          []string
	AlarmActions                       []string
	InsufficientDataActions            []string
	StateValue                         string
	StateReason                        *string
	StateReasonData                    *string
	StateUpdatedTimestamp              time.Time
	StateTransitionedTimestamp         time.Time
	MetricName                         *string
	Namespace                          *string
	Statistic                          string
	ExtendedStatistic                  *string
	Dimensions                         []cwDimension
	Period                             int32
	Unit                               string
	EvaluationPeriods                  int32
	DatapointsToAlarm                  int32
	Threshold                          float64
	ComparisonOperator                 string
	TreatMissingData                   *string
	EvaluateLowSampleCountPercentile   *string
}

type describeAlarmsOutput struct {
	MetricAlarms    []cwMetricAlarm
	CompositeAlarms []struct{}
	NextToken       *string
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (a *alarm) api() cwMetricAlarm {
	return cwMetricAlarm{
		AlarmName: aws.String(a.name), AlarmArn: aws.String(a.arn), AlarmDescription: optStr(a.description),
		AlarmConfigurationUpdatedTimestamp: a.configUpdated, ActionsEnabled: a.actionsEnabled,
		OKActions: orEmpty(a.okActions), AlarmActions: orEmpty(a.alarmActions), InsufficientDataActions: orEmpty(a.insufficientActions),
		StateValue: a.state, StateReason: aws.String(a.reason), StateReasonData: optStr(a.reasonData),
		StateUpdatedTimestamp: a.updated, StateTransitionedTimestamp: a.transitioned,
		MetricName: aws.String(a.metricName), Namespace: aws.String(a.namespace), Statistic: a.statistic, ExtendedStatistic: optStr(a.extended),
		Dimensions: a.dims.api(), Period: a.period, Unit: a.unit, EvaluationPeriods: a.evaluationPeriods,
		DatapointsToAlarm: a.datapointsToAlarm, Threshold: a.threshold, ComparisonOperator: a.comparison,
		TreatMissingData: aws.String(a.treatMissing), EvaluateLowSampleCountPercentile: optStr(a.lowSampleCount),
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (e *Emulator) describeAlarms(_ context.Context, in *describeAlarmsInput) (any, error) {
	if len(in.AlarmNames) > 0 && in.AlarmNamePrefix != nil {
		return nil, errCWCombination("Give AlarmNames or AlarmNamePrefix, not both.")
	}
	if len(in.AlarmNames) > 100 {
		return nil, errCWInvalid("AlarmNames: at most 100 names, not %d.", len(in.AlarmNames))
	}
	if in.StateValue != "" && !slices.Contains([]string{stateOK, stateAlarm, stateInsufficient}, in.StateValue) {
		return nil, errCWInvalid("StateValue %q: use OK, ALARM or INSUFFICIENT_DATA.", in.StateValue)
	}
	for _, t := range in.AlarmTypes {
		if t != "MetricAlarm" && t != "CompositeAlarm" {
			return nil, errCWInvalid("AlarmTypes: %q is not MetricAlarm or CompositeAlarm.", t)
		}
	}
	limit := int64(50)
	if in.MaxRecords != nil {
		if *in.MaxRecords < 1 || *in.MaxRecords > 100 {
			return nil, errCWInvalid("MaxRecords %d must be from 1 to 100.", *in.MaxRecords)
		}
		limit = int64(*in.MaxRecords)
	}
	after, err := decodeAfterToken(in.NextToken) // the last alarm of the previous page
	if err != nil {
		return nil, err
	}
	out := &describeAlarmsOutput{MetricAlarms: []cwMetricAlarm{}, CompositeAlarms: []struct{}{}}
	if len(in.AlarmTypes) > 0 && !slices.Contains(in.AlarmTypes, "MetricAlarm") {
		return out, nil
	}
	e.cw.mu.Lock()
	defer e.cw.mu.Unlock()
	var list []*alarm
	for _, a := range e.cw.alarms {
		if len(in.AlarmNames) > 0 && !slices.Contains(in.AlarmNames, a.name) {
			continue
		}
		if in.AlarmNamePrefix != nil && !strings.HasPrefix(a.name, *in.AlarmNamePrefix) {
			continue
		}
		if in.StateValue != "" && a.state != in.StateValue {
			continue
		}
		if in.ActionPrefix != nil && !slices.ContainsFunc(a.alarmActions, func(s string) bool { return strings.HasPrefix(s, *in.ActionPrefix) }) {
			continue
		}
		if after != "" && a.name <= after {
			continue
		}
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	end := min(limit, int64(len(list)))
	for _, a := range list[:end] {
		out.MetricAlarms = append(out.MetricAlarms, a.api())
	}
	if end < int64(len(list)) {
		out.NextToken = encodeAfterToken(list[end-1].name)
	}
	return out, nil
}

type deleteAlarmsInput struct {
	AlarmNames []string
}

func (e *Emulator) deleteAlarms(_ context.Context, in *deleteAlarmsInput) (any, error) {
	if len(in.AlarmNames) == 0 {
		return nil, errCWMissing("AlarmNames")
	}
	if len(in.AlarmNames) > 100 {
		return nil, errCWInvalid("AlarmNames: at most 100 names, not %d.", len(in.AlarmNames))
	}
	e.cw.mu.Lock()
	defer e.cw.mu.Unlock()
	for _, n := range in.AlarmNames {
		if e.cw.alarms[n] == nil {
			return nil, &apiError{http.StatusNotFound, "ResourceNotFound", "The named resource does not exist: alarm " + n + "."}
		}
	}
	for _, n := range in.AlarmNames {
		delete(e.cw.alarms, n)
	}
	return nil, nil
}
