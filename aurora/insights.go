package aurora

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pi"
	pitypes "github.com/aws/aws-sdk-go-v2/service/pi/types"

	"github.com/pgaurora/pgaurora"
)

// Database load from Performance Insights: db.load.avg, the average
// number of active sessions, over a period, divided by wait event, SQL
// statement, user and the other dimension groups Aurora PostgreSQL
// reports.

// ErrInsightsDisabled is matched by errors.Is when a call needs
// Performance Insights on an instance that does not have it enabled
// (EnablePerformanceInsights on CreateDBInstance or ModifyDBInstance).
var ErrInsightsDisabled = errors.New("aurora: Performance Insights is not enabled on the instance")

// LoadGroup is a dimension group Performance Insights divides database
// load by.
type LoadGroup string

// The dimension groups of Aurora PostgreSQL.
const (
	// LoadByWaitEvent divides load by wait event: "CPU",
	// "Lock:transactionid", "IO:DataFileRead", ...
	LoadByWaitEvent LoadGroup = "db.wait_event"
	// LoadByWaitEventType divides load by wait event type: "CPU",
	// "Lock", "IO", ...
	LoadByWaitEventType LoadGroup = "db.wait_event_type"
	// LoadBySQL divides load by SQL statement.
	LoadBySQL LoadGroup = "db.sql"
	// LoadByUser divides load by database user.
	LoadByUser LoadGroup = "db.user"
	// LoadByApplication divides load by application_name.
	LoadByApplication LoadGroup = "db.application"
	// LoadByHost divides load by client host.
	LoadByHost LoadGroup = "db.host"
	// LoadByDatabase divides load by database.
	LoadByDatabase LoadGroup = "db"
)

// loadGroupNames maps each group to the dimension that names its keys.
var loadGroupNames = map[LoadGroup]string{
	LoadByWaitEvent:     "db.wait_event.name",
	LoadByWaitEventType: "db.wait_event_type.name",
	LoadBySQL:           "db.sql.statement",
	LoadByUser:          "db.user.name",
	LoadByApplication:   "db.application.name",
	LoadByHost:          "db.host.name",
	LoadByDatabase:      "db.name",
}

// loadPeriods are the data-point periods Performance Insights serves.
var loadPeriods = []time.Duration{time.Second, time.Minute, 5 * time.Minute, time.Hour, 24 * time.Hour}

// Limits of DatabaseLoad's options.
const (
	maxLoadKeys     = 25
	defaultLoadKeys = 10
	defaultLoadLast = time.Hour
	piLoadMetric    = "db.load.avg"
)

// LoadOptions selects what DatabaseLoad reads. Nil, or the zero value,
// is the writer's load by wait event over the last hour, top ten.
type LoadOptions struct {
	// Instance is the DB instance; "" is the cluster's writer.
	Instance string
	// Start and End bound the period; give both or neither. Without
	// them, the period is the last Last.
	Start, End time.Time
	// Last is the period's length when Start and End are not given; 0
	// is one hour.
	Last time.Duration
	// GroupBy divides the load; "" is LoadByWaitEvent.
	GroupBy LoadGroup
	// Limit is how many keys (the largest) to report: 1 to 25; 0 is 10.
	Limit int
	// Period is the length of each data point: 0 (Performance Insights
	// picks one for 100 to 200 points), 1s, 1m, 5m, 1h or 24h.
	Period time.Duration
	// Filter keeps only the sessions with these dimension values, as
	// {"db.user.name": "app"}; nil keeps all.
	Filter map[string]string
}

// LoadReport is the database load of one instance over a period, from
// Performance Insights.
type LoadReport struct {
	// Instance and ResourceID (its DbiResourceId) name the instance.
	Instance, ResourceID string
	// GroupBy is the dimension group of Top.
	GroupBy LoadGroup
	// Start and End are the period, aligned to Period by Performance
	// Insights.
	Start, End time.Time
	Period     time.Duration
	// AverageLoad is the average number of active sessions over the
	// data points with data; MaxLoad the largest point.
	AverageLoad, MaxLoad float64
	// Points are the load's data points with data, oldest first.
	Points []LoadPoint
	// Top are the largest keys of GroupBy, by decreasing load.
	Top []LoadKey
}

// LoadPoint is one data point: the average active sessions in the
// period that ends (or, with a START_TIME alignment, starts) at Time.
type LoadPoint struct {
	Time time.Time
	Load float64
}

// LoadKey is one key of a LoadReport's group: a wait event, a statement,
// a user, ...
type LoadKey struct {
	// Name is the key's main dimension: the wait event
	// (db.wait_event.name), the statement (db.sql.statement), the user
	// (db.user.name), ...
	Name string
	// Dimensions are all the key's dimensions, as Performance Insights
	// names them ("db.wait_event.type", "db.sql.id", "db.user.id", ...).
	Dimensions map[string]string
	// Load is the key's average active sessions over the period.
	Load float64
	// Share is Load over the report's AverageLoad (0 when that is 0).
	Share float64
}

// String lists the average load and the top keys.
func (r *LoadReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %.2f average active sessions (max %.2f) from %s to %s, by %s",
		r.Instance, r.AverageLoad, r.MaxLoad, r.Start.Format(time.RFC3339), r.End.Format(time.RFC3339), r.GroupBy)
	for _, k := range r.Top {
		fmt.Fprintf(&b, "\n  %6.2f  %s", k.Load, k.Name)
	}
	return b.String()
}

// resolve validates the options, as of now, and returns them with the
// period and the defaults filled in.
func (o *LoadOptions) resolve(now time.Time) (LoadOptions, error) {
	var r LoadOptions
	if o != nil {
		r = *o
	}
	if r.GroupBy == "" {
		r.GroupBy = LoadByWaitEvent
	}
	if _, ok := loadGroupNames[r.GroupBy]; !ok {
		groups := make([]string, 0, len(loadGroupNames))
		for g := range loadGroupNames {
			groups = append(groups, string(g))
		}
		slices.Sort(groups)
		return r, &InputError{Field: "LoadOptions.GroupBy", Value: string(r.GroupBy), Allowed: strings.Join(groups, ", ")}
	}
	if r.Limit < 0 || r.Limit > maxLoadKeys {
		return r, &InputError{Field: "LoadOptions.Limit", Value: fmt.Sprint(r.Limit), Allowed: "0 (10) to 25"}
	}
	if r.Limit == 0 {
		r.Limit = defaultLoadKeys
	}
	if r.Period != 0 && !slices.Contains(loadPeriods, r.Period) {
		return r, &InputError{Field: "LoadOptions.Period", Value: r.Period.String(), Allowed: "0, 1s, 1m0s, 5m0s, 1h0m0s or 24h0m0s"}
	}
	switch {
	case r.Start.IsZero() != r.End.IsZero():
		return r, &InputError{Field: "LoadOptions.Start", Value: r.Start.String(), Allowed: "given with End, or neither (see Last)"}
	case !r.Start.IsZero():
		if !r.Start.Before(r.End) {
			return r, &InputError{Field: "LoadOptions.End", Value: r.End.String(), Allowed: "after Start (" + r.Start.String() + ")"}
		}
		if r.Last != 0 {
			return r, &InputError{Field: "LoadOptions.Last", Value: r.Last.String(), Allowed: "0 when Start and End are given"}
		}
	default:
		if r.Last < 0 {
			return r, &InputError{Field: "LoadOptions.Last", Value: r.Last.String(), Allowed: "a positive duration, or 0 (one hour)"}
		}
		if r.Last == 0 {
			r.Last = defaultLoadLast
		}
		r.Start, r.End = now.Add(-r.Last), now
	}
	for k := range r.Filter {
		if !strings.HasPrefix(k, "db.") {
			return r, &InputError{Field: "LoadOptions.Filter", Value: k, Allowed: `Performance Insights dimensions, as "db.user.name"`}
		}
	}
	return r, nil
}

// DatabaseLoad reads an instance's database load (db.load.avg) over a
// period from Performance Insights: the series, and the top keys of a
// dimension group (wait events by default) with their load, largest
// first. The instance must have Performance Insights enabled; otherwise
// the error matches ErrInsightsDisabled. Bad options are an *InputError
// before any call; a Cluster without a Performance Insights client
// fails with ErrNoClient.
func (m *Monitoring) DatabaseLoad(ctx context.Context, opts *LoadOptions) (*LoadReport, error) {
	c := m.c
	if err := c.usable(); err != nil {
		return nil, err
	}
	o, err := opts.resolve(time.Now())
	if err != nil {
		return nil, err
	}
	api, err := c.piClient()
	if err != nil {
		return nil, fmt.Errorf("aurora: reading database load: %w", err)
	}
	in, err := c.insightsInstance(ctx, o.Instance)
	if err != nil {
		return nil, err
	}
	return loadReport(ctx, api, in, o)
}

// insightsInstance returns the member id ("" for the writer), which must
// have Performance Insights enabled.
func (c *Cluster) insightsInstance(ctx context.Context, id string) (pgaurora.Instance, error) {
	d, err := c.Describe(ctx)
	if err != nil {
		return pgaurora.Instance{}, fmt.Errorf("aurora: reading database load: %w", err)
	}
	var in pgaurora.Instance
	if id == "" {
		if d.Writer == nil {
			return pgaurora.Instance{}, fmt.Errorf("aurora: reading database load: cluster %s has no writer now", c.id)
		}
		in = *d.Writer
	} else {
		var ok bool
		// RDS identifiers are lower case; RDS reads them in any case.
		if in, ok = d.member(strings.ToLower(id)); !ok {
			return pgaurora.Instance{}, &InputError{Field: "LoadOptions.Instance", Value: id, Allowed: "a member of cluster " + c.id}
		}
	}
	if !in.PerformanceInsightsEnabled {
		return pgaurora.Instance{}, fmt.Errorf("%w: %s (turn it on with ModifyDBInstance's EnablePerformanceInsights)", ErrInsightsDisabled, in.ID)
	}
	return in, nil
}

// loadReport reads the report of o, resolved, for instance in.
func loadReport(ctx context.Context, api PerformanceInsightsAPI, in pgaurora.Instance, o LoadOptions) (*LoadReport, error) {
	fail := func(what string, err error) error {
		return fmt.Errorf("aurora: reading the database load of %s (%s): %w", in.ID, what, err)
	}
	var period *int32
	if o.Period != 0 {
		period = aws.Int32(int32(o.Period / time.Second))
	}
	r := &LoadReport{Instance: in.ID, ResourceID: in.ResourceID, GroupBy: o.GroupBy}
	series := pi.NewGetResourceMetricsPaginator(api, &pi.GetResourceMetricsInput{
		ServiceType: pitypes.ServiceTypeRds, Identifier: aws.String(in.ResourceID),
		StartTime: aws.Time(o.Start), EndTime: aws.Time(o.End), PeriodInSeconds: period,
		MetricQueries: []pitypes.MetricQuery{{Metric: aws.String(piLoadMetric), Filter: o.Filter}},
	})
	var sum float64
	for series.HasMorePages() {
		page, err := series.NextPage(ctx)
		if err != nil {
			return nil, fail("GetResourceMetrics", err)
		}
		r.Start, r.End = aws.ToTime(page.AlignedStartTime), aws.ToTime(page.AlignedEndTime)
		for _, m := range page.MetricList {
			if m.Key == nil || len(m.Key.Dimensions) > 0 {
				continue
			}
			for _, dp := range m.DataPoints {
				if dp.Value == nil || math.IsNaN(*dp.Value) {
					continue
				}
				r.Points = append(r.Points, LoadPoint{Time: aws.ToTime(dp.Timestamp), Load: *dp.Value})
				sum += *dp.Value
				r.MaxLoad = max(r.MaxLoad, *dp.Value)
			}
		}
	}
	if len(r.Points) > 0 {
		r.AverageLoad = sum / float64(len(r.Points))
	}
	if len(r.Points) > 1 {
		r.Period = r.Points[1].Time.Sub(r.Points[0].Time)
	} else {
		r.Period = o.Period
	}
	keys := pi.NewDescribeDimensionKeysPaginator(api, &pi.DescribeDimensionKeysInput{
		ServiceType: pitypes.ServiceTypeRds, Identifier: aws.String(in.ResourceID), Metric: aws.String(piLoadMetric),
		StartTime: aws.Time(o.Start), EndTime: aws.Time(o.End), PeriodInSeconds: period, Filter: o.Filter,
		GroupBy: &pitypes.DimensionGroup{Group: aws.String(string(o.GroupBy)), Limit: aws.Int32(int32(o.Limit))},
	})
	name := loadGroupNames[o.GroupBy]
	for keys.HasMorePages() && len(r.Top) < o.Limit {
		page, err := keys.NextPage(ctx)
		if err != nil {
			return nil, fail("DescribeDimensionKeys", err)
		}
		for _, k := range page.Keys {
			lk := LoadKey{Name: k.Dimensions[name], Dimensions: k.Dimensions, Load: aws.ToFloat64(k.Total)}
			if r.AverageLoad > 0 {
				lk.Share = lk.Load / r.AverageLoad
			}
			r.Top = append(r.Top, lk)
		}
	}
	slices.SortStableFunc(r.Top, func(a, b LoadKey) int { return cmp.Compare(b.Load, a.Load) })
	if len(r.Top) > o.Limit {
		r.Top = r.Top[:o.Limit]
	}
	return r, nil
}

// WaitEvents returns a report by wait event (GroupBy LoadByWaitEvent) as
// the WaitEventReport SampleWaitEvents returns, with Source
// WaitSourceInsights: Performance Insights samples once a second, so
// Samples is the period in seconds and Interval one second; each event's
// AverageSessions is its load and Count that times Samples, rounded.
// Shares are of the reported events (the top Limit). A report by another
// group is an *InputError.
func (r *LoadReport) WaitEvents() (*WaitEventReport, error) {
	if r.GroupBy != LoadByWaitEvent {
		return nil, &InputError{Field: "LoadReport.GroupBy", Value: string(r.GroupBy), Allowed: string(LoadByWaitEvent)}
	}
	span := r.End.Sub(r.Start)
	samples := max(1, int(span/time.Second))
	w := &WaitEventReport{Source: WaitSourceInsights, Period: span, Interval: time.Second, Samples: samples,
		AverageActiveSessions: r.AverageLoad}
	var total float64
	for _, k := range r.Top {
		total += k.Load
	}
	classes := map[WaitClass]*WaitClassShare{}
	for _, k := range r.Top {
		event, wtype := k.Name, k.Dimensions["db.wait_event.type"]
		class := WaitCPU
		if event != "CPU" {
			class = ClassifyWait(wtype, strings.TrimPrefix(event, wtype+":"), "active")
		}
		e := WaitEventShare{Event: event, Class: class, Count: int(math.Round(k.Load * float64(samples))),
			AverageSessions: k.Load, Hint: WaitHint(event)}
		if total > 0 {
			e.Share = k.Load / total
		}
		w.Events = append(w.Events, e)
		w.Observations += e.Count
		cs := classes[class]
		if cs == nil {
			cs = &WaitClassShare{Class: class}
			classes[class] = cs
		}
		cs.Count += e.Count
		cs.Share += e.Share
	}
	for _, c := range classes {
		w.Classes = append(w.Classes, *c)
	}
	slices.SortStableFunc(w.Events, func(a, b WaitEventShare) int {
		return cmp.Or(cmp.Compare(b.AverageSessions, a.AverageSessions), cmp.Compare(a.Event, b.Event))
	})
	slices.SortFunc(w.Classes, func(a, b WaitClassShare) int {
		return cmp.Or(cmp.Compare(b.Share, a.Share), cmp.Compare(a.Class, b.Class))
	})
	return w, nil
}
