package aurora

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/pgaurora/pgaurora"
)

// AlarmSpec is one CloudWatch metric alarm on a cluster metric: what
// EnsureAlarms creates or brings up to date.
type AlarmSpec struct {
	// Name is the alarm's name, unique in the account and Region.
	Name string
	// Description is the alarm's AlarmDescription: what the alarm means
	// and what to do about it.
	Description string
	Metric      MetricName
	Scope       MetricScope
	Statistic   Statistic
	// Period is the length of each evaluated data point: a multiple of
	// 60 s. 10 and 30 s are high-resolution periods, which RDS's metrics
	// (published once a minute) do not have on AWS, where such an alarm
	// stays INSUFFICIENT_DATA; the emulator samples as often as
	// auroratest.WithMetricsPeriod says.
	Period time.Duration
	// The alarm fires when DatapointsToAlarm of the last
	// EvaluationPeriods periods breach (zero DatapointsToAlarm means all
	// of them).
	EvaluationPeriods int
	DatapointsToAlarm int
	// Threshold and Comparison are the breaching condition: the
	// statistic compared with Threshold, in the metric's unit.
	Threshold  float64
	Comparison types.ComparisonOperator
	// TreatMissingData is "missing" (the default), "notBreaching",
	// "breaching" or "ignore".
	TreatMissingData string
	// Actions are the ARNs notified when the alarm fires (AlarmActions)
	// and when it clears (OKActions), for example SNS topics.
	Actions   []string
	OKActions []string
}

// String is the alarm's name and its Condition.
func (a AlarmSpec) String() string { return a.Name + ": " + a.Condition() }

// Condition says when the alarm fires, for example "Maximum
// DatabaseConnections of cluster/WRITER > 20 for 5 of 5 × 1m0s".
func (a AlarmSpec) Condition() string {
	return fmt.Sprintf("%s %s of %s %s %s for %d of %d × %s", a.Statistic, a.Metric, a.Scope,
		comparisonSymbol(a.Comparison), strconv.FormatFloat(a.Threshold, 'f', -1, 64), cmp.Or(a.DatapointsToAlarm, a.EvaluationPeriods), a.EvaluationPeriods, a.Period)
}

func comparisonSymbol(op types.ComparisonOperator) string {
	switch op {
	case types.ComparisonOperatorGreaterThanThreshold:
		return ">"
	case types.ComparisonOperatorGreaterThanOrEqualToThreshold:
		return ">="
	case types.ComparisonOperatorLessThanThreshold:
		return "<"
	case types.ComparisonOperatorLessThanOrEqualToThreshold:
		return "<="
	}
	return string(op)
}

// AlarmThresholds are the thresholds of RecommendedAlarms. The zero value
// of each field takes the default named in its comment.
type AlarmThresholds struct {
	// ReplicaLag fires the replica-lag alarm when the largest reader lag
	// (AuroraReplicaLagMaximum) exceeds it; default 1 s.
	ReplicaLag time.Duration
	// SlotLagBytes fires the slot alarm when the most lagging
	// replication slot (OldestReplicationSlotLag) has more WAL than this
	// unconsumed; default 5 GiB.
	SlotLagBytes float64
	// UsedTransactionIDs fires the wraparound alarm when the oldest
	// unfrozen transaction ID (MaximumUsedTransactionIDs) is older; the
	// default, 1 billion, leaves half of the 2^31 headroom for vacuum to
	// catch up.
	UsedTransactionIDs float64
	// VolumeBytes fires the storage alarm when the cluster volume
	// (VolumeBytesUsed) grows past it; default 100 TiB of Aurora's
	// 128 TiB limit.
	VolumeBytes float64
	// Connections fires the connections alarm of each role when an
	// instance has more sessions (DatabaseConnections); zero means 80 %
	// of the writer's max_connections, read through SQL.
	Connections int
	// Period and EvaluationPeriods shape every alarm: the condition must
	// hold for EvaluationPeriods periods of Period in a row; defaults 60 s
	// and 5.
	Period            time.Duration
	EvaluationPeriods int
	// Actions are the ARNs every alarm notifies when it fires and when
	// it clears.
	Actions []string
}

// Defaults of AlarmThresholds.
const (
	DefaultAlarmReplicaLag         = time.Second
	DefaultAlarmSlotLagBytes       = 5 << 30
	DefaultAlarmUsedTransactionIDs = 1_000_000_000
	DefaultAlarmVolumeBytes        = 100 << 40
	DefaultAlarmPeriod             = time.Minute
	DefaultAlarmEvaluationPeriods  = 5
)

// RecommendedAlarms returns the alarms every Aurora PostgreSQL cluster
// should have, with the thresholds t gives (nil: the defaults): replica
// lag, replication slot lag, transaction-ID wraparound, storage, and
// connections of the writer and of the readers. Each is named
// "<cluster>-<what>". The specs are data: change any field before
// passing them to EnsureAlarms. With Connections zero it reads the
// writer's max_connections.
func (m *Monitoring) RecommendedAlarms(ctx context.Context, t *AlarmThresholds) ([]AlarmSpec, error) {
	c := m.c
	if err := c.usable(); err != nil {
		return nil, err
	}
	if t == nil {
		t = &AlarmThresholds{}
	}
	th := *t
	if th.ReplicaLag < 0 || th.SlotLagBytes < 0 || th.UsedTransactionIDs < 0 || th.VolumeBytes < 0 || th.Connections < 0 || th.EvaluationPeriods < 0 {
		return nil, &InputError{Field: "AlarmThresholds", Value: fmt.Sprintf("%+v", th), Allowed: "no negative threshold"}
	}
	th.ReplicaLag = cmp.Or(th.ReplicaLag, DefaultAlarmReplicaLag)
	th.SlotLagBytes = cmp.Or(th.SlotLagBytes, DefaultAlarmSlotLagBytes)
	th.UsedTransactionIDs = cmp.Or(th.UsedTransactionIDs, DefaultAlarmUsedTransactionIDs)
	th.VolumeBytes = cmp.Or(th.VolumeBytes, DefaultAlarmVolumeBytes)
	th.Period = cmp.Or(th.Period, DefaultAlarmPeriod)
	th.EvaluationPeriods = cmp.Or(th.EvaluationPeriods, DefaultAlarmEvaluationPeriods)
	if err := checkAlarmPeriod("AlarmThresholds.Period", th.Period); err != nil {
		return nil, err
	}
	if th.Connections == 0 {
		var maxConns int
		if err := c.SQL().QueryRow(ctx, `SELECT current_setting('max_connections')::int`).Scan(&maxConns); err != nil {
			return nil, fmt.Errorf("aurora: reading max_connections for the connections alarm (set AlarmThresholds.Connections to skip): %w", err)
		}
		th.Connections = max(1, maxConns*8/10)
	}
	// The readers' alarms treat missing data as not breaching: a cluster
	// without readers publishes no AuroraReplicaLagMaximum and nothing
	// for the READER role, which would keep them INSUFFICIENT_DATA.
	spec := func(what, desc string, m MetricName, scope MetricScope, threshold float64) AlarmSpec {
		missing := "missing"
		if m == AuroraReplicaLagMaximum || scope.Role == RoleReader {
			missing = "notBreaching"
		}
		return AlarmSpec{
			Name: c.id + "-" + what, Description: desc, Metric: m, Scope: scope, Statistic: StatMaximum,
			Period: th.Period, EvaluationPeriods: th.EvaluationPeriods, Threshold: threshold,
			Comparison: types.ComparisonOperatorGreaterThanThreshold, TreatMissingData: missing,
			Actions: slices.Clone(th.Actions), OKActions: slices.Clone(th.Actions),
		}
	}
	return []AlarmSpec{
		spec("replica-lag", "A reader of "+c.id+" replays the writer's changes late: reads there are stale, and a failover to it waits. Look for long queries or I/O saturation on the reader.",
			AuroraReplicaLagMaximum, MetricScope{}, float64(th.ReplicaLag.Milliseconds())),
		spec("slot-lag", "A replication slot of "+c.id+" keeps WAL its consumer has not read: an inactive slot fills storage. Restart the consumer or drop the slot.",
			OldestReplicationSlotLag, MetricScope{Role: RoleWriter}, th.SlotLagBytes),
		spec("xid-wraparound", "The oldest unfrozen transaction ID of "+c.id+" ages towards wraparound, at which PostgreSQL stops writes. Find what blocks autovacuum (long transactions, slots, prepared transactions) and vacuum.",
			MaximumUsedTransactionIDs, MetricScope{Role: RoleWriter}, th.UsedTransactionIDs),
		spec("storage", "The cluster volume of "+c.id+" nears Aurora's size limit.",
			VolumeBytesUsed, MetricScope{}, th.VolumeBytes),
		spec("connections-writer", "The writer of "+c.id+" nears max_connections: new sessions will be refused. Pool connections (RDS Proxy) or find the leak.",
			DatabaseConnections, MetricScope{Role: RoleWriter}, float64(th.Connections)),
		spec("connections-readers", "A reader of "+c.id+" nears max_connections: new sessions will be refused.",
			DatabaseConnections, MetricScope{Role: RoleReader}, float64(th.Connections)),
	}, nil
}

// EnsureAlarmsOptions configures EnsureAlarms.
type EnsureAlarmsOptions struct {
	// Progress, when set, receives an event as each alarm is checked.
	Progress pgaurora.ProgressFunc
}

// EnsureAlarms creates each alarm that does not exist and updates each
// that differs from its spec (PutMetricAlarm), one step per alarm, and
// leaves alarms that match alone: a second run changes nothing. Specs are
// checked before any call.
func (m *Monitoring) EnsureAlarms(ctx context.Context, specs []AlarmSpec, opts *EnsureAlarmsOptions) (*Report, error) {
	c := m.c
	const name = "EnsureAlarms"
	if opts == nil {
		opts = &EnsureAlarmsOptions{}
	}
	if err := checkAlarmSpecs(specs); err != nil {
		return nil, inputFailure(name, err)
	}
	api, err := c.cloudWatchClient()
	if err != nil {
		return nil, inputFailure(name, err)
	}
	w := c.newWorkflow(name, pgaurora.Wait{}, opts.Progress)
	var existing map[string]types.MetricAlarm
	if err := w.step(ctx, "read alarms", func(ctx context.Context) (bool, string, error) {
		names := make([]string, len(specs))
		for i, s := range specs {
			names[i] = s.Name
		}
		existing, err = describeAlarms(ctx, api, names)
		return false, fmt.Sprintf("%d of %d exist", len(existing), len(specs)), err
	}); err != nil {
		return nil, err
	}
	for _, s := range specs {
		err := w.step(ctx, "alarm "+s.Name, func(ctx context.Context) (bool, string, error) {
			in := c.putAlarmInput(s)
			old, ok := existing[s.Name]
			detail := "created"
			if ok {
				diff := alarmDiff(old, in)
				if len(diff) == 0 {
					return false, "as specified", nil
				}
				detail = "updated " + strings.Join(diff, ", ")
			}
			if _, err := api.PutMetricAlarm(ctx, in); err != nil {
				return false, "", err
			}
			return true, detail, nil
		})
		if err != nil {
			return nil, err
		}
	}
	return w.report, nil
}

func checkAlarmSpecs(specs []AlarmSpec) error {
	seen := map[string]bool{}
	for i, s := range specs {
		field := fmt.Sprintf("AlarmSpec[%d]", i)
		switch {
		case s.Name == "" || len(s.Name) > 255:
			return &InputError{Field: field + ".Name", Value: strconv.Quote(s.Name), Allowed: "1 to 255 characters"}
		case seen[s.Name]:
			return &InputError{Field: field + ".Name", Value: strconv.Quote(s.Name), Allowed: "a name no other spec has"}
		case s.Metric == "":
			return &InputError{Field: field + ".Metric", Value: `""`, Allowed: "a metric name"}
		case s.EvaluationPeriods < 1:
			return &InputError{Field: field + ".EvaluationPeriods", Value: strconv.Itoa(s.EvaluationPeriods), Allowed: "at least 1"}
		case s.DatapointsToAlarm < 0 || s.DatapointsToAlarm > s.EvaluationPeriods:
			return &InputError{Field: field + ".DatapointsToAlarm", Value: strconv.Itoa(s.DatapointsToAlarm), Allowed: "0 to EvaluationPeriods"}
		case math.IsNaN(s.Threshold) || math.IsInf(s.Threshold, 0):
			return &InputError{Field: field + ".Threshold", Value: strconv.FormatFloat(s.Threshold, 'g', -1, 64), Allowed: "a finite number"}
		case comparisonSymbol(s.Comparison) == string(s.Comparison):
			return &InputError{Field: field + ".Comparison", Value: strconv.Quote(string(s.Comparison)), Allowed: "GreaterThanThreshold, GreaterThanOrEqualToThreshold, LessThanThreshold or LessThanOrEqualToThreshold"}
		}
		switch s.TreatMissingData {
		case "", "missing", "notBreaching", "breaching", "ignore":
		default:
			return &InputError{Field: field + ".TreatMissingData", Value: strconv.Quote(s.TreatMissingData), Allowed: "missing, notBreaching, breaching or ignore"}
		}
		if err := s.Scope.check(field + ".Scope"); err != nil {
			return err
		}
		if err := s.Statistic.check(field + ".Statistic"); err != nil {
			return err
		}
		if err := checkAlarmPeriod(field+".Period", s.Period); err != nil {
			return err
		}
		seen[s.Name] = true
	}
	return nil
}

// putAlarmInput is the PutMetricAlarm request of s.
func (c *Cluster) putAlarmInput(s AlarmSpec) *cloudwatch.PutMetricAlarmInput {
	in := &cloudwatch.PutMetricAlarmInput{
		AlarmName:          aws.String(s.Name),
		AlarmDescription:   aws.String(s.Description),
		Namespace:          aws.String("AWS/RDS"),
		MetricName:         aws.String(string(s.Metric)),
		Dimensions:         s.Scope.dimensions(c.id),
		Period:             aws.Int32(int32(s.Period / time.Second)),
		EvaluationPeriods:  aws.Int32(int32(s.EvaluationPeriods)),
		Threshold:          aws.Float64(s.Threshold),
		ComparisonOperator: s.Comparison,
		TreatMissingData:   aws.String(cmp.Or(s.TreatMissingData, "missing")),
		ActionsEnabled:     aws.Bool(true),
		AlarmActions:       s.Actions,
		OKActions:          s.OKActions,
	}
	if s.DatapointsToAlarm != 0 {
		in.DatapointsToAlarm = aws.Int32(int32(s.DatapointsToAlarm))
	}
	switch s.Statistic {
	case StatAverage, StatMaximum, StatMinimum, StatSum, StatSampleCount:
		in.Statistic = types.Statistic(s.Statistic)
	default:
		in.ExtendedStatistic = aws.String(string(s.Statistic))
	}
	return in
}

// alarmDiff names the fields in which an existing alarm differs from the
// request that would replace it.
func alarmDiff(old types.MetricAlarm, in *cloudwatch.PutMetricAlarmInput) []string {
	var diff []string
	check := func(field string, same bool) {
		if !same {
			diff = append(diff, field)
		}
	}
	dims := func(ds []types.Dimension) []string {
		out := make([]string, len(ds))
		for i, d := range ds {
			out[i] = aws.ToString(d.Name) + "=" + aws.ToString(d.Value)
		}
		slices.Sort(out)
		return out
	}
	check("AlarmDescription", aws.ToString(old.AlarmDescription) == aws.ToString(in.AlarmDescription))
	check("Namespace", aws.ToString(old.Namespace) == aws.ToString(in.Namespace))
	check("MetricName", aws.ToString(old.MetricName) == aws.ToString(in.MetricName))
	check("Dimensions", slices.Equal(dims(old.Dimensions), dims(in.Dimensions)))
	check("Statistic", old.Statistic == in.Statistic && aws.ToString(old.ExtendedStatistic) == aws.ToString(in.ExtendedStatistic))
	check("Period", aws.ToInt32(old.Period) == aws.ToInt32(in.Period))
	check("EvaluationPeriods", aws.ToInt32(old.EvaluationPeriods) == aws.ToInt32(in.EvaluationPeriods))
	check("DatapointsToAlarm", aws.ToInt32(old.DatapointsToAlarm) == aws.ToInt32(in.DatapointsToAlarm) ||
		(in.DatapointsToAlarm == nil && aws.ToInt32(old.DatapointsToAlarm) == aws.ToInt32(in.EvaluationPeriods)))
	check("Threshold", aws.ToFloat64(old.Threshold) == aws.ToFloat64(in.Threshold))
	check("ComparisonOperator", old.ComparisonOperator == in.ComparisonOperator)
	check("TreatMissingData", cmp.Or(aws.ToString(old.TreatMissingData), "missing") == aws.ToString(in.TreatMissingData))
	check("ActionsEnabled", aws.ToBool(old.ActionsEnabled) == aws.ToBool(in.ActionsEnabled))
	check("AlarmActions", slices.Equal(sortedCopy(old.AlarmActions), sortedCopy(in.AlarmActions)))
	check("OKActions", slices.Equal(sortedCopy(old.OKActions), sortedCopy(in.OKActions)))
	return diff
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// describeAlarms reads the metric alarms of the given names, 100 names
// per call (DescribeAlarms' limit), following every page.
func describeAlarms(ctx context.Context, api CloudWatchAPI, names []string) (map[string]types.MetricAlarm, error) {
	out := map[string]types.MetricAlarm{}
	for chunk := range slices.Chunk(names, 100) {
		pages := cloudwatch.NewDescribeAlarmsPaginator(api, &cloudwatch.DescribeAlarmsInput{
			AlarmNames: chunk, AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm},
		})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, a := range page.MetricAlarms {
				out[aws.ToString(a.AlarmName)] = a
			}
		}
	}
	return out, nil
}

// AlarmState is the state of one alarm.
type AlarmState struct {
	Name string
	// State is "OK", "ALARM" or "INSUFFICIENT_DATA"; empty when no
	// alarm has the name.
	State types.StateValue
	// Reason is CloudWatch's explanation of the state, and Since when the
	// alarm entered it.
	Reason string
	Since  time.Time
}

// String is "name: STATE (reason)".
func (a AlarmState) String() string {
	if a.State == "" {
		return a.Name + ": missing"
	}
	return fmt.Sprintf("%s: %s (%s)", a.Name, a.State, a.Reason)
}

// AlarmStates reads the states of the named alarms, in the order given.
// An alarm that does not exist has an empty State.
func (m *Monitoring) AlarmStates(ctx context.Context, names ...string) ([]AlarmState, error) {
	c := m.c
	if err := c.usable(); err != nil {
		return nil, err
	}
	api, err := c.cloudWatchClient()
	if err != nil {
		return nil, err
	}
	found, err := describeAlarms(ctx, api, names)
	if err != nil {
		return nil, fmt.Errorf("aurora: reading alarms: %w", err)
	}
	out := make([]AlarmState, len(names))
	for i, n := range names {
		out[i].Name = n
		if a, ok := found[n]; ok {
			out[i].State, out[i].Reason, out[i].Since = a.StateValue, aws.ToString(a.StateReason), aws.ToTime(a.StateTransitionedTimestamp)
		}
	}
	return out, nil
}

// checkAlarmPeriod accepts the periods of metric alarms.
func checkAlarmPeriod(field string, p time.Duration) error {
	now := time.Now()
	return checkPeriod(field, p, now, now, alarmSubMinute)
}
