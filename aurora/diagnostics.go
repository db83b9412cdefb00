package aurora

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/slots"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// WaitClass is the kind of wait a session is in, from pg_stat_activity's
// wait_event_type. Aurora reports its own events (IO:XactSync,
// IPC:DamRecordTxAck, ...) and spells some LWLocks its own way, but under
// PostgreSQL's types, so classifying by type works on both.
type WaitClass string

// The wait classes. WaitCPU is a session that is active with no wait
// event: running on a CPU or waiting for one.
const (
	WaitCPU       WaitClass = "CPU"
	WaitIO        WaitClass = "IO"
	WaitLock      WaitClass = "Lock"
	WaitLWLock    WaitClass = "LWLock"
	WaitClient    WaitClass = "Client"
	WaitIPC       WaitClass = "IPC"
	WaitTimeout   WaitClass = "Timeout"
	WaitBufferPin WaitClass = "BufferPin"
	WaitActivity  WaitClass = "Activity"
	WaitExtension WaitClass = "Extension"
	// WaitOther is a type this package does not know, or a non-active
	// session without a wait event.
	WaitOther WaitClass = "Other"
)

var waitClasses = map[string]WaitClass{
	"io": WaitIO, "lock": WaitLock, "lwlock": WaitLWLock, "client": WaitClient, "ipc": WaitIPC,
	"timeout": WaitTimeout, "bufferpin": WaitBufferPin, "activity": WaitActivity, "extension": WaitExtension,
}

// ClassifyWait returns the class of a pg_stat_activity row from its
// wait_event_type, wait_event and state ("" for NULL). A session that is
// active with no wait event is on CPU (WaitCPU), as Aurora's Performance
// Insights counts it. Types match without regard to case; unknown ones are
// WaitOther.
func ClassifyWait(waitEventType, waitEvent, state string) WaitClass {
	if waitEvent == "" && waitEventType == "" {
		if state == "active" {
			return WaitCPU
		}
		return WaitOther
	}
	if c, ok := waitClasses[strings.ToLower(waitEventType)]; ok {
		return c
	}
	return WaitOther
}

// waitHints are short explanations of wait events AWS's Aurora
// PostgreSQL tuning guide discusses, keyed by "Type:Event" in lower case.
// Aurora and PostgreSQL versions spell some LWLocks differently
// (buffer_content, BufferContent); both are listed.
var waitHints = map[string]string{
	"cpu":                          "on CPU or waiting for it: look for costly queries or too many active sessions",
	"client:clientread":            "waiting for the client to send: slow application or network, or idle in transaction",
	"client:clientwrite":           "waiting to send results to the client: large results or a slow network",
	"io:buffileread":               "reading temporary files: work_mem too small for sorts or hashes",
	"io:buffilewrite":              "writing temporary files: work_mem too small for sorts or hashes",
	"io:datafileread":              "reading pages not in the buffer cache: working set larger than memory, or missing indexes",
	"io:xactsync":                  "commits waiting for Aurora storage to acknowledge: many small commits; batch them",
	"ipc:damrecordtxack":           "database activity streams waiting for the stream to acknowledge",
	"ipc:bufferio":                 "several sessions waiting for the same page to be read",
	"lock:advisory":                "waiting for an application advisory lock",
	"lock:extend":                  "waiting to extend a relation: concurrent inserts into one table",
	"lock:relation":                "waiting for a table lock: DDL or LOCK TABLE against running queries",
	"lock:transactionid":           "waiting for another transaction's row lock: contention on the same rows",
	"lock:tuple":                   "waiting for a row lock queue: several sessions updating the same row",
	"lwlock:buffer_content":        "contention on buffer pages: concurrent updates of the same pages",
	"lwlock:buffercontent":         "contention on buffer pages: concurrent updates of the same pages",
	"lwlock:buffer_mapping":        "contention on the buffer mapping: working set larger than shared buffers",
	"lwlock:buffermapping":         "contention on the buffer mapping: working set larger than shared buffers",
	"lwlock:bufferio":              "several sessions waiting for the same page to be read",
	"lwlock:lock_manager":          "contention on the lock manager: many partitions or relations locked per query",
	"lwlock:lockmanager":           "contention on the lock manager: many partitions or relations locked per query",
	"lwlock:multixactoffsetbuffer": "multixact contention: foreign keys or SELECT FOR SHARE on hot rows",
	"lwlock:multixactmemberbuffer": "multixact contention: foreign keys or SELECT FOR SHARE on hot rows",
	"lwlock:subtransbuffer":        "subtransaction overflow: many savepoints in long transactions",
	"timeout:pgsleep":              "sessions in pg_sleep",
}

// WaitHint returns a one-line explanation of a wait event ("IO:XactSync",
// "CPU"), or "" when this package has none.
func WaitHint(event string) string { return waitHints[strings.ToLower(event)] }

// WaitObservation is one session seen in one sample of pg_stat_activity:
// its wait_event_type, wait_event and state ("" for NULL).
type WaitObservation struct {
	// WaitEventType and WaitEvent are pg_stat_activity's wait_event_type
	// and wait_event; State is its state.
	WaitEventType, WaitEvent, State string
}

// event names the observation as "Type:Event", or "CPU".
func (o WaitObservation) event() (class WaitClass, name string) {
	class = ClassifyWait(o.WaitEventType, o.WaitEvent, o.State)
	switch {
	case class == WaitCPU:
		return class, "CPU"
	case o.WaitEvent == "" && o.WaitEventType == "":
		return class, "Other:" + o.State
	default:
		return class, o.WaitEventType + ":" + o.WaitEvent
	}
}

// WaitEventShare is one wait event's part of the sampled activity.
type WaitEventShare struct {
	// Event is "Type:Event" ("IO:XactSync", "Lock:transactionid") or
	// "CPU".
	Event string
	// Class is the event's WaitClass.
	Class WaitClass
	// Count is how many times a session was seen in the event.
	Count int
	// Share is Count over all observations, from 0 to 1.
	Share float64
	// AverageSessions is Count over the number of samples: the average
	// number of sessions in the event (Performance Insights' "average
	// active sessions" for it).
	AverageSessions float64
	// Hint explains the event when this package knows it.
	Hint string
}

// WaitClassShare is one wait class's part of the sampled activity.
type WaitClassShare struct {
	// Class is the wait class.
	Class WaitClass
	// Count is how many times a session was seen in the class.
	Count int
	// Share is Count over all observations, from 0 to 1.
	Share float64
}

// WaitSource is where a WaitEventReport's observations come from.
type WaitSource string

// The sources of wait events.
const (
	// WaitSourceActivity is sampling pg_stat_activity by hand, over SQL.
	WaitSourceActivity WaitSource = "pg_stat_activity"
	// WaitSourceInsights is Performance Insights' db.load.avg by wait
	// event (see LoadReport.WaitEvents).
	WaitSourceInsights WaitSource = "performance-insights"
)

// WaitEventReport is what SampleWaitEvents saw.
type WaitEventReport struct {
	// Source is where the observations come from.
	Source WaitSource
	// Period and Interval are what was asked; Samples how many snapshots
	// of pg_stat_activity were taken.
	Period, Interval time.Duration
	Samples          int
	// Observations counts the non-idle sessions seen over all samples.
	Observations int
	// AverageActiveSessions is Observations over Samples.
	AverageActiveSessions float64
	// Events are the wait events by decreasing count (ties by name).
	Events []WaitEventShare
	// Classes are the wait classes by decreasing count (ties by name).
	Classes []WaitClassShare
}

// Top returns the n events with the largest shares (all when n exceeds
// them).
func (r *WaitEventReport) Top(n int) []WaitEventShare {
	if n > len(r.Events) {
		n = len(r.Events)
	}
	if n < 0 {
		n = 0
	}
	return r.Events[:n]
}

// String lists the classes and the top ten events with their shares.
func (r *WaitEventReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d samples, %.2f average active sessions", r.Samples, r.AverageActiveSessions)
	if r.Source == WaitSourceInsights {
		b.WriteString(" (Performance Insights)")
	}
	if len(r.Classes) > 0 {
		b.WriteString("\nby class:")
		for _, c := range r.Classes {
			fmt.Fprintf(&b, " %s %.1f%%", c.Class, 100*c.Share)
		}
	}
	for _, e := range r.Top(10) {
		fmt.Fprintf(&b, "\n  %5.1f%%  %s", 100*e.Share, e.Event)
		if e.Hint != "" {
			b.WriteString("  (" + e.Hint + ")")
		}
	}
	return b.String()
}

// SummarizeWaitEvents aggregates observations gathered over samples
// snapshots into shares by event and by class. It is the pure core of
// SampleWaitEvents, usable on observations gathered elsewhere.
func SummarizeWaitEvents(samples int, obs []WaitObservation) *WaitEventReport {
	r := &WaitEventReport{Source: WaitSourceActivity, Samples: samples, Observations: len(obs)}
	events := map[string]*WaitEventShare{}
	classes := map[WaitClass]*WaitClassShare{}
	for _, o := range obs {
		class, name := o.event()
		e := events[name]
		if e == nil {
			e = &WaitEventShare{Event: name, Class: class, Hint: WaitHint(name)}
			events[name] = e
		}
		e.Count++
		c := classes[class]
		if c == nil {
			c = &WaitClassShare{Class: class}
			classes[class] = c
		}
		c.Count++
	}
	total := float64(len(obs))
	for _, e := range events {
		e.Share = float64(e.Count) / total
		if samples > 0 {
			e.AverageSessions = float64(e.Count) / float64(samples)
		}
		r.Events = append(r.Events, *e)
	}
	for _, c := range classes {
		c.Share = float64(c.Count) / total
		r.Classes = append(r.Classes, *c)
	}
	sort.Slice(r.Events, func(i, j int) bool {
		if r.Events[i].Count != r.Events[j].Count {
			return r.Events[i].Count > r.Events[j].Count
		}
		return r.Events[i].Event < r.Events[j].Event
	})
	sort.Slice(r.Classes, func(i, j int) bool {
		if r.Classes[i].Count != r.Classes[j].Count {
			return r.Classes[i].Count > r.Classes[j].Count
		}
		return r.Classes[i].Class < r.Classes[j].Class
	})
	if samples > 0 {
		r.AverageActiveSessions = total / float64(samples)
	}
	return r
}

// maxWaitSamples bounds the samples of one SampleWaitEvents call.
const maxWaitSamples = 100_000

// waitSampleSQL reads the sessions that are doing something: not idle
// (background processes, whose state is NULL, are left out too) and not
// the sampling session itself.
const waitSampleSQL = `SELECT coalesce(wait_event_type, ''), coalesce(wait_event, ''), coalesce(state, '')
FROM pg_catalog.pg_stat_activity
WHERE state IS NOT NULL AND state <> 'idle' AND pid <> pg_catalog.pg_backend_pid()`

// SampleWaitEvents reports the wait events of the writer's sessions over
// the coming period, by share. When the writer has Performance Insights
// enabled and the Cluster has a Performance Insights client, it waits
// out period and reads Performance Insights' db.load.avg by wait event
// for it (Source WaitSourceInsights; PI samples every second, whatever
// interval is; see LoadReport.WaitEvents). Otherwise it samples
// pg_stat_activity on the writer every interval for period
// (period/interval snapshots, the first at once) and counts the non-idle
// sessions other than its own (Source WaitSourceActivity): the manual
// form of what Performance Insights shows. Events are classified by
// wait_event_type (see ClassifyWait), so Aurora's own event names fall in
// the right class. period and interval must be positive, with interval at
// most period and at most 100,000 samples. Ending ctx stops the sampling
// with an error.
func (c *Cluster) SampleWaitEvents(ctx context.Context, period, interval time.Duration) (*WaitEventReport, error) {
	if period <= 0 {
		return nil, &InputError{Field: "period", Value: period.String(), Allowed: "a positive duration"}
	}
	if interval <= 0 || interval > period {
		return nil, &InputError{Field: "interval", Value: interval.String(), Allowed: "a positive duration of at most period (" + period.String() + ")"}
	}
	n := int(period / interval)
	if n > maxWaitSamples {
		return nil, &InputError{Field: "interval", Value: interval.String(), Allowed: fmt.Sprintf("at least period/%d (%s)", maxWaitSamples, period/maxWaitSamples)}
	}
	if c.cfg.pi != nil {
		if r, err := c.insightsWaitEvents(ctx, period); r != nil || err != nil {
			return r, err
		}
	}
	p, err := c.Writer(ctx)
	if err != nil {
		return nil, fmt.Errorf("aurora: sampling wait events: %w", err)
	}
	var obs []WaitObservation
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := 0; i < n; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("aurora: sampling wait events: stopped after %d of %d samples: %w", i, n, ctx.Err())
			case <-tick.C:
			}
		}
		rows, err := p.Query(ctx, waitSampleSQL)
		if err != nil {
			return nil, fmt.Errorf("aurora: sampling wait events (sample %d of %d): %w", i+1, n, err)
		}
		for rows.Next() {
			var o WaitObservation
			if err := rows.Scan(&o.WaitEventType, &o.WaitEvent, &o.State); err != nil {
				rows.Close()
				return nil, fmt.Errorf("aurora: sampling wait events: %w", err)
			}
			obs = append(obs, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("aurora: sampling wait events (sample %d of %d): %w", i+1, n, err)
		}
	}
	r := SummarizeWaitEvents(n, obs)
	r.Period, r.Interval = period, interval
	return r, nil
}

// insightsWaitEvents is SampleWaitEvents through Performance Insights:
// nil and no error when the writer does not have it enabled.
func (c *Cluster) insightsWaitEvents(ctx context.Context, period time.Duration) (*WaitEventReport, error) {
	in, err := c.insightsInstance(ctx, "")
	if errors.Is(err, ErrInsightsDisabled) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("aurora: sampling wait events: %w", err)
	}
	start := time.Now()
	if err := wait.Sleep(ctx, period); err != nil {
		return nil, fmt.Errorf("aurora: sampling wait events through Performance Insights: %w", err)
	}
	o, err := (&LoadOptions{Instance: in.ID, Start: start, End: start.Add(period), GroupBy: LoadByWaitEvent, Limit: maxLoadKeys}).resolve(start)
	if err != nil {
		return nil, err
	}
	lr, err := loadReport(ctx, c.cfg.pi, in, o)
	if err != nil {
		return nil, fmt.Errorf("aurora: sampling wait events: %w", err)
	}
	r, err := lr.WaitEvents()
	if err != nil {
		return nil, err
	}
	r.Period = period
	return r, nil
}

// InactiveSlots lists the replication slots on the writer that no consumer
// is reading (pg_replication_slots.active is false), largest retained WAL
// first, with the WAL each keeps: the check AWS documents against storage
// filling up behind a forgotten slot. None is an empty slice.
func (c *Cluster) InactiveSlots(ctx context.Context) ([]pgaurora.ReplicationSlot, error) {
	p, err := c.Writer(ctx)
	if err != nil {
		return nil, fmt.Errorf("aurora: listing inactive replication slots: %w", err)
	}
	found, err := slots.List(ctx, p, slots.Inactive)
	if err != nil {
		return nil, fmt.Errorf("aurora: listing inactive replication slots: %w", err)
	}
	slices.SortStableFunc(found, func(a, b pgaurora.ReplicationSlot) int { return cmp.Compare(b.RetainedBytes, a.RetainedBytes) })
	return append([]pgaurora.ReplicationSlot{}, found...), nil
}
