package auroratest

import (
	"context"
	"slices"
	"time"
)

// Events: every state change the emulator makes records an event, and
// DescribeEvents lists them with RDS's source types, categories and time
// window (by default the last hour; at most 14 days back).

// Source types of events.
const (
	sourceCluster        = "db-cluster"
	sourceInstance       = "db-instance"
	sourceSnapshot       = "db-cluster-snapshot"
	sourceClusterGroup   = "db-cluster-parameter-group"
	sourceInstanceGroup  = "db-parameter-group"
	sourceClusterEnpoint = "db-cluster-endpoint"
)

var sourceTypes = []string{sourceCluster, sourceInstance, sourceSnapshot, sourceClusterGroup, sourceInstanceGroup, sourceClusterEnpoint,
	"db-security-group", "db-snapshot", "custom-engine-version", "db-proxy", "blue-green-deployment"}

// maxEvents bounds the events kept; older ones are dropped.
const maxEvents = 10000

// event is one recorded event.
type event struct {
	at         time.Time
	sourceType string
	sourceID   string
	sourceARN  string
	categories []string
	message    string
}

// event records an event about a resource.
func (e *Emulator) event(st *state, sourceType, id, category, message string) {
	kind := map[string]string{sourceCluster: "cluster", sourceInstance: "db", sourceSnapshot: "cluster-snapshot",
		sourceClusterGroup: "cluster-pg", sourceInstanceGroup: "pg", sourceClusterEnpoint: "cluster-endpoint"}[sourceType]
	st.events = append(st.events, event{at: time.Now().UTC(), sourceType: sourceType, sourceID: id,
		sourceARN: e.arn(kind, id), categories: []string{category}, message: message})
	if n := len(st.events); n > maxEvents {
		st.events = slices.Delete(st.events, 0, n-maxEvents)
	}
}

type describeEventsIn struct {
	SourceIdentifier string
	SourceType       string
	StartTime        *time.Time
	EndTime          *time.Time
	Duration         *int
	EventCategories  []string `rds:",list=EventCategory"`
	listIn
}

type xEvent struct {
	SourceIdentifier string
	SourceType       string
	Message          string
	EventCategories  xStringList
	Date             string
	SourceArn        string
}

type xDescribeEventsResult struct {
	Marker string `xml:",omitempty"`
	Events struct {
		Items []xEvent `xml:"Event"`
	}
}

// eventFilters: DescribeEvents has no filters in RDS.
var eventFilters = filterSet[event]{}

func (e *Emulator) describeEvents(ctx context.Context, in *describeEventsIn) (any, error) {
	if in.SourceType != "" && !slices.Contains(sourceTypes, in.SourceType) {
		return nil, errInvalidValue("Invalid SourceType %q.", in.SourceType)
	}
	if in.SourceIdentifier != "" && in.SourceType == "" {
		return nil, errInvalidCombination("SourceType is required when SourceIdentifier is given.")
	}
	now := time.Now().UTC()
	end := now
	if in.EndTime != nil {
		end = *in.EndTime
	}
	start := end.Add(-time.Hour)
	switch {
	case in.StartTime != nil:
		start = *in.StartTime
	case in.Duration != nil:
		if *in.Duration < 0 || *in.Duration > 20160 {
			return nil, errInvalidValue("Invalid Duration %d: 0 to 20160 minutes.", *in.Duration)
		}
		start = end.Add(-time.Duration(*in.Duration) * time.Minute)
	}
	if start.Before(now.Add(-14 * 24 * time.Hour)) {
		start = now.Add(-14 * 24 * time.Hour)
	}
	st := e.lock()
	var list []event
	for _, ev := range st.events {
		if ev.at.Before(start) || ev.at.After(end) ||
			in.SourceType != "" && ev.sourceType != in.SourceType ||
			in.SourceIdentifier != "" && ev.sourceID != in.SourceIdentifier && ev.sourceARN != in.SourceIdentifier ||
			len(in.EventCategories) > 0 && !slices.ContainsFunc(ev.categories, func(c string) bool { return slices.Contains(in.EventCategories, c) }) {
			continue
		}
		list = append(list, ev)
	}
	st.unlock()
	items, next, err := describe(list, eventFilters, in.Filters, in.pageIn)
	if err != nil {
		return nil, err
	}
	var res xDescribeEventsResult
	res.Marker = next
	for _, ev := range items {
		res.Events.Items = append(res.Events.Items, xEvent{SourceIdentifier: ev.sourceID, SourceType: ev.sourceType, Message: ev.message,
			EventCategories: xStringList{Items: ev.categories}, Date: ev.at.Format(timeFormat), SourceArn: ev.sourceARN})
	}
	return res, nil
}
