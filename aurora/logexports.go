package aurora

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// Log exports: the cluster's logs published to CloudWatch Logs
// (SetLogExports), and the pgAudit entries of the exported PostgreSQL log
// read back by AuditEntries with AuditSourceCloudWatchLogs, with the same
// parser, cursor and follow mode as the log files.

// The log types Aurora PostgreSQL exports to CloudWatch Logs, as
// SetLogExports and Description.LogExports name them.
const (
	// LogExportPostgreSQL is the PostgreSQL log (and so pgAudit's
	// entries), published to /aws/rds/cluster/<cluster-id>/postgresql.
	LogExportPostgreSQL = "postgresql"
	// LogExportInstance is the instance log.
	LogExportInstance = "instance"
	// LogExportIAMDBAuthError is the IAM database authentication error
	// log.
	LogExportIAMDBAuthError = "iam-db-auth-error"
)

var logExportTypes = []string{LogExportPostgreSQL, LogExportInstance, LogExportIAMDBAuthError}

// logGroupName is the log group Aurora publishes a cluster's log of a
// type to; each instance's log is a log stream in it, named by the
// instance.
func logGroupName(clusterID, logType string) string {
	return "/aws/rds/cluster/" + clusterID + "/" + logType
}

// ErrLogEventGone is the cause (in an *AuditLogFileError) when the log
// event an AuditCursor points at is no longer in the log stream
// (CloudWatch Logs deleted it after the log group's retention): the
// reading cannot tell where to go on without losing or repeating entries,
// and stops. To go on anyway, start from the zero cursor with Since.
var ErrLogEventGone = errors.New("the log event the cursor points at is no longer in the log stream (deleted after the log group's retention)")

// maxLogEventsPerCall is the largest Limit FilterLogEvents takes.
const maxLogEventsPerCall = 10000

// SetLogExportsOptions configures SetLogExports. A nil
// *SetLogExportsOptions uses the defaults.
type SetLogExportsOptions struct {
	// Wait says how the step waits for RDS; zero fields take the
	// Cluster's defaults (WithWait).
	Wait pgaurora.Wait
	// Progress, when set, receives an event when the step completes.
	Progress pgaurora.ProgressFunc
}

// SetLogExports turns the publishing of the cluster's logs to CloudWatch
// Logs on (enable) and off (disable): ModifyDBCluster with
// CloudwatchLogsExportConfiguration, applied immediately, then it waits
// until the cluster is available and Describe's LogExports shows the
// change. The log types are LogExportPostgreSQL, LogExportInstance and
// LogExportIAMDBAuthError; they are checked before any call (unknown,
// repeated in both lists, or none at all: an *InputError at step "check
// input"). Only what is not yet as asked is sent; when everything is,
// nothing is called and the report says so.
//
// Aurora publishes the log written after the export took effect; turning
// it off stops new events, and the log group keeps the events it has.
// Read pgAudit entries from the exported log with AuditEntries and
// AuditLogOptions.Source AuditSourceCloudWatchLogs.
func (m *Monitoring) SetLogExports(ctx context.Context, enable, disable []string, opts *SetLogExportsOptions) (*Report, error) {
	c := m.c
	if opts == nil {
		opts = &SetLogExportsOptions{}
	}
	const name = "SetLogExports"
	allowed := strings.Join(logExportTypes, ", ")
	if len(enable) == 0 && len(disable) == 0 {
		return nil, inputFailure(name, &InputError{Field: "enable", Value: "none", Allowed: "at least one log type to enable or disable: " + allowed})
	}
	for _, l := range []struct {
		field string
		types []string
	}{{"enable", enable}, {"disable", disable}} {
		for _, t := range l.types {
			if !slices.Contains(logExportTypes, t) {
				return nil, inputFailure(name, &InputError{Field: l.field, Value: t, Allowed: allowed})
			}
			if l.field == "enable" && slices.Contains(disable, t) {
				return nil, inputFailure(name, &InputError{Field: "disable", Value: t, Allowed: "a log type not also in enable"})
			}
		}
	}
	w := c.newWorkflow(name, opts.Wait, opts.Progress)
	what := describeExports(enable, disable)
	err := w.step(ctx, "set log exports of "+c.id+": "+what, func(ctx context.Context) (bool, string, error) {
		d, err := c.Describe(ctx)
		if err != nil {
			return false, "", err
		}
		var on, off []string
		for _, t := range enable {
			if !slices.Contains(d.LogExports, t) && !slices.Contains(on, t) {
				on = append(on, t)
			}
		}
		for _, t := range disable {
			if slices.Contains(d.LogExports, t) && !slices.Contains(off, t) {
				off = append(off, t)
			}
		}
		if len(on) == 0 && len(off) == 0 {
			return false, "already " + what, nil
		}
		before := strings.Join(d.LogExports, ",")
		err = c.modifyCluster(ctx, d, &rds.ModifyDBClusterInput{CloudwatchLogsExportConfiguration: &rdstypes.CloudwatchLogsExportConfiguration{
			EnableLogTypes: on, DisableLogTypes: off}}, "log exports "+what, w.wait, func(d *Description) bool {
			for _, t := range enable {
				if !slices.Contains(d.LogExports, t) {
					return false
				}
			}
			for _, t := range disable {
				if slices.Contains(d.LogExports, t) {
					return false
				}
			}
			return true
		})
		if err != nil {
			return false, "", err
		}
		return true, fmt.Sprintf("exports [%s] -> %s", before, what), nil
	})
	if err != nil {
		return nil, err
	}
	return w.report, nil
}

// describeExports says what SetLogExports is asked for: "+postgresql
// -instance".
func describeExports(enable, disable []string) string {
	var parts []string
	for _, t := range enable {
		parts = append(parts, "+"+t)
	}
	for _, t := range disable {
		parts = append(parts, "-"+t)
	}
	return strings.Join(parts, " ")
}

// eventPage is the text of a page of log events, for the pgaudit reader:
// each event's message and a newline, as the log file has it.
type eventPage struct {
	text   string
	events []eventRef
	err    error
}

// eventRef is where a log event ends in the text handed to the reader.
type eventRef struct {
	end  int64
	time int64
	id   string
}

// eventSource reads the pages fetchEvents sends. Its text starts at
// offset 0 after the position it was started from.
type eventSource struct {
	pagedText
	pages <-chan eventPage
	from  filePos
	hist  []eventRef // the events handed to the reader that positions may still fall in
}

func (s *eventSource) Read(p []byte) (int, error) { return s.read(p, s.next) }

func (s *eventSource) next() {
	pg, ok, err := receive(s.ctx, s.pages, s.idle)
	switch {
	case err != nil:
		s.err = err
	case !ok:
		s.done = true
	case pg.err != nil:
		s.err = pg.err
	default:
		s.cur = pg.text
		s.hist = append(s.hist, pg.events...)
	}
}

// pos is the position after the last event that ends at or before off.
func (s *eventSource) pos(off int64) filePos {
	for len(s.hist) > 1 && s.hist[1].end <= off {
		s.hist = s.hist[1:]
	}
	if len(s.hist) == 0 || s.hist[0].end > off {
		return s.from
	}
	return filePos{off: off, eventTime: s.hist[0].time, eventID: s.hist[0].id}
}

// eventMark is the last log event read: where the reading goes on.
type eventMark struct {
	time int64
	id   string
}

// after returns where the events after m start in events. skip says
// whether m's event is still to be found (it was not on an earlier
// page); gone, that an event later than m came first, so m's event is
// no longer there.
func (m eventMark) after(events []cwltypes.FilteredLogEvent, skip bool) (i int, stillSkip, gone bool) {
	if !skip {
		return 0, false, false
	}
	for i, ev := range events {
		if aws.ToString(ev.EventId) == m.id {
			return i + 1, false, false
		}
		if aws.ToInt64(ev.Timestamp) > m.time {
			return i, false, true
		}
	}
	return len(events), true, false
}

// fetchEvents reads the instance's log stream with FilterLogEvents from
// a position, page after page, each requested as soon as the one before
// it has arrived, and sends the text on: up to Prefetch pages wait to be
// parsed. Each pass asks for the events from the time of the last one
// read on and skips those up to it (events of one millisecond come in
// the stream's order). Without Follow one pass is made, to the page
// without a NextToken, and out is closed; with Follow a pass is made
// whenever polling (as Wait says) finds events after the last one.
func (a *auditRead) fetchEvents(ctx context.Context, from filePos, out chan<- eventPage) {
	send := func(p eventPage) bool {
		select {
		case out <- p:
			return true
		case <-ctx.Done():
			return false
		}
	}
	last := eventMark{from.eventTime, from.eventID}
	var textOff int64
	// A pass asks from the time of the last event read on; its pages
	// keep the pass's StartTime.
	var start *int64
	call := func(ctx context.Context, token *string) (*cloudwatchlogs.FilterLogEventsOutput, error) {
		in := &cloudwatchlogs.FilterLogEventsInput{
			LogGroupName:   aws.String(a.logGroup),
			LogStreamNames: []string{a.instance},
			Limit:          aws.Int32(int32(a.o.LinesPerCall)),
			StartTime:      start,
			NextToken:      token,
		}
		var res *cloudwatchlogs.FilterLogEventsOutput
		err := a.unthrottled(ctx, func(ctx context.Context) error {
			var err error
			res, err = a.logs.FilterLogEvents(ctx, in)
			return err
		})
		if err != nil {
			var nf *cwltypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				return nil, fmt.Errorf("FilterLogEvents on log stream %s: %w (is the %s log export on? see Monitoring.SetLogExports)", a.instance, err, LogExportPostgreSQL)
			}
			return nil, fmt.Errorf("FilterLogEvents on log stream %s: %w", a.instance, err)
		}
		return res, nil
	}
	// poll looks for events after last: it pages until a page holds one
	// (or shows last's event gone), keeping that page and whether last's
	// event is still to be skipped on it.
	var page *cloudwatchlogs.FilterLogEventsOutput
	var skip bool
	poll := func(ctx context.Context) (bool, error) {
		sk := last.id != ""
		switch {
		case last.id != "":
			start = aws.Int64(last.time)
		case !a.since.IsZero():
			start = aws.Int64(a.since.UnixMilli())
		}
		res, err := call(ctx, nil)
		for err == nil {
			i, still, gone := last.after(res.Events, sk)
			if gone || i < len(res.Events) {
				page, skip = res, sk
				return true, nil
			}
			sk = still
			if res.NextToken == nil {
				return false, nil
			}
			res, err = call(ctx, res.NextToken)
		}
		return false, err
	}
	for {
		var err error
		if a.o.Follow {
			err = wait.Until(ctx, a.follow, defaultFollowWait, poll)
			if err != nil && wait.IsTimeout(err) {
				err = fmt.Errorf("no new log events for %v: %w", a.follow.MaxWait, err)
			}
		} else {
			var found bool
			if found, err = poll(ctx); err == nil && !found {
				close(out)
				return
			}
		}
		if err != nil {
			send(eventPage{err: err})
			return
		}
		// Send this page and the next ones.
		for {
			i, still, gone := last.after(page.Events, skip)
			if gone {
				send(eventPage{err: fmt.Errorf("cursor at %d/%s: %w", last.time, last.id, ErrLogEventGone)})
				return
			}
			skip = still
			var b strings.Builder
			var refs []eventRef
			for _, ev := range page.Events[i:] {
				b.WriteString(aws.ToString(ev.Message))
				b.WriteByte('\n')
				last = eventMark{aws.ToInt64(ev.Timestamp), aws.ToString(ev.EventId)}
				refs = append(refs, eventRef{end: textOff + int64(b.Len()), time: last.time, id: last.id})
			}
			textOff += int64(b.Len())
			if len(refs) > 0 && !send(eventPage{text: b.String(), events: refs}) {
				return
			}
			if page.NextToken == nil {
				break
			}
			if page, err = call(ctx, page.NextToken); err != nil {
				send(eventPage{err: err})
				return
			}
		}
		if !a.o.Follow {
			close(out) // what the stream held when the pass began, and more
			return
		}
	}
}
