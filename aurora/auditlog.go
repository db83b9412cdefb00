package aurora

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/smithy-go"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/wait"
	"github.com/pgaurora/pgaurora/pgaudit"
)

// DefaultLogLinesPerCall is how many log lines AuditEntries asks for in each
// DownloadDBLogFilePortion call by default. RDS also cuts each response at
// 1 MB, and the next call continues where it stopped.
const DefaultLogLinesPerCall = 10000

// DefaultAuditLogFiles is how many log files AuditEntries reads at once by
// default.
const DefaultAuditLogFiles = 4

// DefaultAuditPrefetch is how many portions of a log file AuditEntries
// holds downloaded ahead of the parsing by default.
const DefaultAuditPrefetch = 2

// defaultFollowWait is how follow mode polls for new log data by default:
// from 1 s apart, growing to 10 s while nothing is written, until the
// context ends.
var defaultFollowWait = pgaurora.Wait{MinDelay: time.Second, MaxDelay: 10 * time.Second}

// ErrLogFileGone is the cause (in an *AuditLogFileError) when the log file
// an AuditCursor points into is no longer listed: RDS deleted it after
// rds.log_retention_period before it was read to its end, so the entries
// after the cursor in it are lost. The reading goes on with the later
// files.
var ErrLogFileGone = errors.New("the log file is no longer listed (deleted after rds.log_retention_period); the entries after the cursor in it are lost")

// AuditSource is where AuditEntries reads an instance's PostgreSQL log.
type AuditSource int

const (
	// AuditSourceRDS reads the instance's log files through the RDS API
	// (DescribeDBLogFiles, DownloadDBLogFilePortion). It is the default.
	AuditSourceRDS AuditSource = iota
	// AuditSourceCloudWatchLogs reads the log exported to CloudWatch
	// Logs (see Monitoring.SetLogExports): the instance's log stream in the
	// cluster's log group /aws/rds/cluster/<cluster-id>/postgresql,
	// through FilterLogEvents. It needs the CloudWatch Logs client
	// (WithAWSConfig or WithCloudWatchLogsClient) and holds only what
	// was written while the export was on.
	AuditSourceCloudWatchLogs
)

// String names the source as AuditLogOptions.Source's documentation
// does.
func (s AuditSource) String() string {
	switch s {
	case AuditSourceRDS:
		return "AuditSourceRDS"
	case AuditSourceCloudWatchLogs:
		return "AuditSourceCloudWatchLogs"
	}
	return fmt.Sprintf("AuditSource(%d)", int(s))
}

// AuditLogOptions configures AuditEntries. A nil *AuditLogOptions reads every
// log file of the current writer.
type AuditLogOptions struct {
	// Source is where the log is read: the log files through the RDS
	// API (AuditSourceRDS, the default) or the log exported to
	// CloudWatch Logs (AuditSourceCloudWatchLogs). Either way the same
	// parser reads the same text, so the entries are the same; every
	// option below applies to both unless it says otherwise.
	Source AuditSource

	// Instance is the DB instance whose log is read (with the CloudWatch
	// Logs source, its log stream, named by it). Empty means the
	// instance of Cursor, or else the cluster's writer when the reading
	// starts. After a failover, entries written before it are in the old
	// writer's log: name that instance to read them.
	Instance string
	// Since skips log files last written before it and entries whose
	// timestamp is before it (the log's timestamps have whole seconds, so
	// entries from the second Since falls in are kept); with the
	// CloudWatch Logs source it is the StartTime of FilterLogEvents
	// (unless a Cursor says where to go on). Zero reads everything the
	// instance (or its log stream) still has.
	Since time.Time
	// LinesPerCall is NumberOfLines of each DownloadDBLogFilePortion call
	// (with the CloudWatch Logs source, the Limit of each
	// FilterLogEvents call, at most 10,000 log events); zero means
	// DefaultLogLinesPerCall.
	LinesPerCall int
	// Reader configures the parsing; nil reads RDS's log_line_prefix.
	Reader *pgaudit.ReaderOptions

	// Files is how many log files are downloaded and parsed at once;
	// zero means DefaultAuditLogFiles. RDS source only (a log stream is
	// read in one). Entries still come in log order:
	// a file's entries wait until those of the files before it are
	// yielded, a bounded number of them (a few thousand per file), after
	// which its download waits too.
	Files int
	// Prefetch is how many portions of a file (with the CloudWatch Logs
	// source, pages of log events) may wait downloaded while the text
	// is parsed; zero means DefaultAuditPrefetch. The next portion is
	// always requested as soon as the previous one has arrived.
	Prefetch int
	// WholeFiles downloads each log file whole, with one GET of RDS's
	// downloadCompleteLogFile REST path signed with Signature Version 4,
	// streaming and without DownloadDBLogFilePortion's 1 MB a call: much
	// faster far from the Region. It needs the rds:DownloadCompleteDBLogFile
	// permission and the AWS configuration (a Cluster made with
	// WithAWSConfig, or with WithRDSClient and an *rds.Client). In follow
	// mode the file being written is still read by portions, which can go
	// on from where they stopped. RDS source only.
	WholeFiles bool

	// Follow keeps reading: the newest file as it grows, and the next
	// files as the server rotates its log (hourly on RDS), like tail -F,
	// until ctx ends (the iteration then just ends) or Wait.MaxWait passes
	// without new log data. It polls DescribeDBLogFiles as Wait says
	// (with the CloudWatch Logs source, FilterLogEvents from the time of
	// the last log event read).
	Follow bool
	// Wait is how follow mode polls for new data: zero MinDelay and
	// MaxDelay take the Cluster's WithWait, else 1 s growing to 10 s.
	// MaxWait, when set, ends following after that long without new data
	// with an error that matches context.DeadlineExceeded; the Cluster's
	// MaxWait does not apply.
	Wait pgaurora.Wait

	// Cursor, when set, is where the reading starts and where it is: a
	// zero cursor starts at the oldest file (or Since); a saved one goes
	// on just after the entry it was saved after. Before each entry is
	// yielded the cursor moves past it, and past the end of each file
	// read to its end, so that saving *Cursor in the loop body and
	// handing it back later loses no entry and repeats none.
	Cursor *AuditCursor
	// Progress, when set, receives an event when a file has been read to
	// its end and when following starts on a file.
	Progress pgaurora.ProgressFunc
}

// AuditCursor is a position in a DB instance's log files: just past the
// last entry AuditEntries yielded (or the end of the last file it read
// through); with the CloudWatch Logs source, in its log stream: the last
// log event read (LogEventTime, LogEventID). It is a plain value: save it
// (it marshals to JSON) and hand it back in AuditLogOptions.Cursor, with
// the Source it was made with.
type AuditCursor struct {
	// Instance is the DB instance whose log it is.
	Instance string `json:"instance"`
	// File is the log file, as DescribeDBLogFiles names it; empty for
	// the very start.
	File string `json:"file,omitempty"`
	// Offset is how many bytes of File have been read.
	Offset int64 `json:"offset,omitempty"`
	// Marker is the DownloadDBLogFilePortion marker that downloads File
	// from byte MarkerOffset on (at most Offset), so that going on costs
	// at most one portion again; empty means from the start of the file.
	Marker string `json:"marker,omitempty"`
	// MarkerOffset is where Marker starts in File.
	MarkerOffset int64 `json:"marker_offset,omitempty"`

	// LogEventTime and LogEventID are a position of the CloudWatch Logs
	// source (File and the offsets are then empty): the timestamp, in
	// milliseconds since the Unix epoch, and the ID of the last log
	// event of the instance's log stream read. Reading goes on with the
	// events after it, found with FilterLogEvents from LogEventTime on.
	// Both are empty for the start of the stream.
	LogEventTime int64  `json:"log_event_time,omitempty"`
	LogEventID   string `json:"log_event_id,omitempty"`
}

// IsZero reports whether the cursor is the very start.
func (c AuditCursor) IsZero() bool { return c == AuditCursor{} }

// String shows the position as instance/file@offset, or
// instance@event:time/id for a log event.
func (c AuditCursor) String() string {
	if c.LogEventID != "" || c.LogEventTime != 0 {
		return fmt.Sprintf("%s@event:%d/%s", c.Instance, c.LogEventTime, c.LogEventID)
	}
	if c.File == "" {
		return c.Instance + "@start"
	}
	return fmt.Sprintf("%s/%s@%d", c.Instance, c.File, c.Offset)
}

// check refuses a cursor that cannot have been made by AuditEntries.
func (c AuditCursor) check() error {
	switch {
	case c.Offset < 0 || c.MarkerOffset < 0 || c.MarkerOffset > c.Offset:
		return fmt.Errorf("aurora: AuditCursor %s: Offset and MarkerOffset must satisfy 0 <= MarkerOffset <= Offset", c)
	case c.File == "" && (c.Offset != 0 || c.Marker != ""):
		return fmt.Errorf("aurora: AuditCursor %s: an offset or a marker without a File", c)
	case c.Marker == "" && c.MarkerOffset != 0:
		return fmt.Errorf("aurora: AuditCursor %s: a MarkerOffset without a Marker", c)
	case (c.LogEventTime != 0 || c.LogEventID != "") && (c.File != "" || c.Offset != 0 || c.Marker != ""):
		return fmt.Errorf("aurora: AuditCursor %s: both a log file position and a log event", c)
	case c.LogEventTime < 0 || (c.LogEventID == "") != (c.LogEventTime == 0):
		return fmt.Errorf("aurora: AuditCursor %s: LogEventTime and LogEventID go together (a log event's timestamp in milliseconds and its ID)", c)
	}
	return nil
}

// AuditLogFileError is an error while reading one log file: downloading
// it, or a malformed audit entry in it (a *pgaudit.ParseError, after which
// the reading goes on).
type AuditLogFileError struct {
	// Instance and File name the log file; with the CloudWatch Logs
	// source, File is the log group and Instance the log stream.
	Instance, File string
	// Err is the cause.
	Err error
}

func (e *AuditLogFileError) Error() string {
	return fmt.Sprintf("aurora: audit log %s of %s: %v", e.File, e.Instance, e.Err)
}

// Unwrap returns the cause.
func (e *AuditLogFileError) Unwrap() error { return e.Err }

// AuditEntries reads pgAudit entries from an instance's PostgreSQL log files
// through the RDS API: DescribeDBLogFiles lists the files, oldest first,
// and each is downloaded from its start with DownloadDBLogFilePortion
// (Marker "0", then each response's Marker) or, with WholeFiles, with one
// signed GET of the downloadCompleteLogFile REST path, while the pgaudit
// reader parses the text as it arrives. Files named *.csv or *.json
// (csvlog and jsonlog) are skipped.
//
// The reading is pipelined: the next portion of a file is requested as
// soon as the previous one has arrived, while it is parsed, and up to
// Files files are downloaded and parsed at once, on their own goroutines.
// Entries still come in log order, each file's in order, portions cut in
// the middle of a line or of an entry joined exactly. Memory stays
// bounded (a few portions and a few thousand entries per file), so logs
// of any size stream through. With Follow it goes on as the log grows
// and rotates, and Cursor says where it is, so that a restarted reader
// goes on where the last one stopped.
//
// With Source AuditSourceCloudWatchLogs the text comes from the log
// exported to CloudWatch Logs instead: the instance's log stream in
// /aws/rds/cluster/<cluster-id>/postgresql, read with FilterLogEvents
// (LinesPerCall events a call, paged, the next page requested while one
// is parsed), each log event's message a line (or lines) of the log.
// The parser, the options and the iteration are the same, so for the
// same stretch of log both sources yield the same entries. The cursor
// then holds the last log event read (LogEventTime, LogEventID);
// following polls FilterLogEvents from that event's time. CloudWatch
// Logs orders a stream's events by their timestamps (whole seconds
// here): entries that two sessions wrote out of timestamp order across a
// second come in timestamp order, and an event ingested after the
// follower has passed its timestamp is not seen.
//
// Malformed entries are yielded as (Entry{}, *AuditLogFileError wrapping a
// *pgaudit.ParseError) and the iteration goes on; any other error is yielded
// once and ends it. Stopping the loop stops the downloads.
//
//	cur := loadCursor() // a saved aurora.AuditCursor, or the zero one
//	for e, err := range c.AuditEntries(ctx, &aurora.AuditLogOptions{Follow: true, Cursor: &cur}) {
//		if err != nil { ... }
//		ship(e)
//		saveCursor(cur) // just past e
//	}
func (c *Cluster) AuditEntries(ctx context.Context, opts *AuditLogOptions) iter.Seq2[pgaudit.Entry, error] {
	var o AuditLogOptions
	if opts != nil {
		o = *opts
	}
	return func(yield func(pgaudit.Entry, error) bool) {
		if err := c.usable(); err != nil {
			yield(pgaudit.Entry{}, err)
			return
		}
		a, err := c.newAuditRead(o)
		if err != nil {
			yield(pgaudit.Entry{}, err)
			return
		}
		if a.instance == "" {
			d, err := c.Describe(ctx)
			if err != nil {
				yield(pgaudit.Entry{}, fmt.Errorf("aurora: finding the writer to read its audit log: %w", err))
				return
			}
			if d.Writer == nil {
				yield(pgaudit.Entry{}, fmt.Errorf("aurora: cluster %s has no writer right now (status %s); name the instance whose audit log to read", c.id, d.Status))
				return
			}
			a.instance = d.Writer.ID
		}
		a.run(ctx, yield)
	}
}

// auditRead is one AuditEntries reading.
type auditRead struct {
	c        *Cluster
	o        AuditLogOptions
	instance string
	since    time.Time // o.Since to the second
	follow   pgaurora.Wait
	whole    *completeLogFiles // with WholeFiles
	logs     CloudWatchLogsAPI // with the CloudWatch Logs source
	logGroup string            // with the CloudWatch Logs source
	ctx      context.Context   // the reading's, ended when it stops
	wg       sync.WaitGroup    // the reading's goroutines
}

// newAuditRead checks the options, before any call.
func (c *Cluster) newAuditRead(o AuditLogOptions) (*auditRead, error) {
	for _, f := range []struct {
		name string
		v    int
		def  int
	}{{"LinesPerCall", o.LinesPerCall, DefaultLogLinesPerCall}, {"Files", o.Files, DefaultAuditLogFiles}, {"Prefetch", o.Prefetch, DefaultAuditPrefetch}} {
		if f.v < 0 {
			return nil, fmt.Errorf("aurora: AuditLogOptions.%s %d: allowed values are 0 (default %d) or more", f.name, f.v, f.def)
		}
	}
	if o.Wait.MinDelay < 0 || o.Wait.MaxDelay < 0 || o.Wait.MaxWait < 0 {
		return nil, fmt.Errorf("aurora: AuditLogOptions.Wait: negative duration in %v", o.Wait)
	}
	switch o.Source {
	case AuditSourceRDS:
		if cur := o.Cursor; cur != nil && cur.LogEventID != "" {
			return nil, fmt.Errorf("aurora: AuditLogOptions.Cursor %s is a position in a CloudWatch Logs log stream: read with Source AuditSourceCloudWatchLogs", cur)
		}
	case AuditSourceCloudWatchLogs:
		switch {
		case o.Files != 0:
			return nil, fmt.Errorf("aurora: AuditLogOptions.Files %d: the CloudWatch Logs source reads one log stream; allowed value is 0", o.Files)
		case o.WholeFiles:
			return nil, errors.New("aurora: AuditLogOptions.WholeFiles downloads log files through the RDS API; the CloudWatch Logs source has none")
		case o.LinesPerCall > maxLogEventsPerCall:
			return nil, fmt.Errorf("aurora: AuditLogOptions.LinesPerCall %d: FilterLogEvents returns at most %d log events; allowed values are 0 to %d", o.LinesPerCall, maxLogEventsPerCall, maxLogEventsPerCall)
		}
		if cur := o.Cursor; cur != nil && cur.File != "" {
			return nil, fmt.Errorf("aurora: AuditLogOptions.Cursor %s is a position in a log file: read with Source AuditSourceRDS", cur)
		}
	default:
		return nil, fmt.Errorf("aurora: AuditLogOptions.Source %s: allowed values are AuditSourceRDS and AuditSourceCloudWatchLogs", o.Source)
	}
	a := &auditRead{c: c, o: o, instance: o.Instance, since: o.Since.Truncate(time.Second)}
	if o.Source == AuditSourceCloudWatchLogs {
		logs, err := c.logsClient()
		if err != nil {
			return nil, fmt.Errorf("aurora: AuditEntries from CloudWatch Logs: %w", err)
		}
		a.logs, a.logGroup = logs, logGroupName(c.id, LogExportPostgreSQL)
	}
	if a.o.LinesPerCall == 0 {
		a.o.LinesPerCall = DefaultLogLinesPerCall
	}
	if a.o.Files == 0 {
		a.o.Files = DefaultAuditLogFiles
	}
	if a.o.Prefetch == 0 {
		a.o.Prefetch = DefaultAuditPrefetch
	}
	if cur := o.Cursor; cur != nil {
		if err := cur.check(); err != nil {
			return nil, err
		}
		switch {
		case a.instance == "":
			a.instance = cur.Instance
		case cur.Instance != "" && cur.Instance != a.instance:
			return nil, fmt.Errorf("aurora: AuditLogOptions.Instance %s, but the Cursor is in the log of %s", a.instance, cur.Instance)
		}
	}
	a.follow = pgaurora.Wait{MinDelay: o.Wait.MinDelay, MaxDelay: o.Wait.MaxDelay, MaxWait: o.Wait.MaxWait}.
		Or(pgaurora.Wait{MinDelay: c.cfg.wait.MinDelay, MaxDelay: c.cfg.wait.MaxDelay}).Or(defaultFollowWait)
	if o.WholeFiles {
		w, err := c.completeLogFiles()
		if err != nil {
			return nil, err
		}
		a.whole = w
	}
	return a, nil
}

// auditLogFile is one log file as DescribeDBLogFiles lists it.
type auditLogFile struct {
	name        string
	lastWritten int64
	size        int64
}

// throttleMaxWait is how long a reading goes on asking again while the
// API throttles it, once the SDK's retryer has given up.
const throttleMaxWait = 2 * time.Minute

// throttled reports whether err is the API refusing a call for its rate,
// by the error codes the SDK's retryer treats as throttling.
func throttled(err error) bool {
	return retry.ThrottleErrorCode{Codes: retry.DefaultThrottleErrorCodes}.IsErrorThrottle(err) == aws.TrueTernary
}

// unthrottled calls f, and again, backing off as the reading's Wait says,
// while the API throttles it (after the SDK's own retries), for at most
// throttleMaxWait; then it returns the last throttling error.
func (a *auditRead) unthrottled(ctx context.Context, f func(ctx context.Context) error) error {
	var last error
	err := wait.Until(ctx, pgaurora.Wait{MinDelay: a.follow.MinDelay, MaxDelay: a.follow.MaxDelay, MaxWait: throttleMaxWait}, defaultFollowWait,
		func(ctx context.Context) (bool, error) {
			last = f(ctx)
			if last != nil && throttled(last) {
				return false, nil
			}
			return true, last
		})
	if err != nil && wait.IsTimeout(err) && last != nil {
		return last
	}
	return err
}

// list lists the instance's stderr log files last written at or after
// Since, oldest first, asking again while the API throttles.
func (a *auditRead) list(ctx context.Context) ([]auditLogFile, error) {
	var files []auditLogFile
	err := a.unthrottled(ctx, func(ctx context.Context) error {
		var err error
		files, err = a.listOnce(ctx)
		return err
	})
	return files, err
}

// listOnce lists the log files once.
func (a *auditRead) listOnce(ctx context.Context) ([]auditLogFile, error) {
	in := &rds.DescribeDBLogFilesInput{DBInstanceIdentifier: aws.String(a.instance)}
	if !a.o.Since.IsZero() {
		in.FileLastWritten = aws.Int64(a.o.Since.UnixMilli())
	}
	var files []auditLogFile
	pages := rds.NewDescribeDBLogFilesPaginator(a.c.api, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx, bufferRequestBody)
		if err != nil {
			return nil, fmt.Errorf("aurora: listing the log files of %s: %w", a.instance, err)
		}
		for _, f := range page.DescribeDBLogFiles {
			name := aws.ToString(f.LogFileName)
			if strings.HasSuffix(name, ".csv") || strings.HasSuffix(name, ".json") {
				continue
			}
			files = append(files, auditLogFile{name: name, lastWritten: aws.ToInt64(f.LastWritten), size: aws.ToInt64(f.Size)})
		}
	}
	slices.SortStableFunc(files, func(a, b auditLogFile) int {
		if a.lastWritten != b.lastWritten {
			if a.lastWritten < b.lastWritten {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return files, nil
}

// after returns the files that come after the file named name: those
// after it in the listing or, when it is no longer listed, those whose
// names sort after it (RDS names PostgreSQL log files by their time).
func after(files []auditLogFile, name string) []auditLogFile {
	if i := slices.IndexFunc(files, func(f auditLogFile) bool { return f.name == name }); i >= 0 {
		return files[i+1:]
	}
	var later []auditLogFile
	for _, f := range files {
		if f.name > name {
			later = append(later, f)
		}
	}
	return later
}

// filePos is a position in a log file, as AuditCursor holds it; with
// the CloudWatch Logs source, the last log event read.
type filePos struct {
	off       int64
	marker    string
	markerOff int64
	eventTime int64
	eventID   string
}

// auditItem is one result of a file, with the position after it.
type auditItem struct {
	e   pgaudit.Entry
	err error // a *pgaudit.ParseError
	pos filePos
}

// batchEntries is how many results a file's goroutine hands over at once,
// and fileBatches how many batches may wait.
const (
	batchEntries = 256
	fileBatches  = 8
)

// fileRead is one file being read on its own goroutines.
type fileRead struct {
	file auditLogFile
	tail bool // follow it until a newer file appears
	out  chan []auditItem
	// Set before out is closed:
	err error   // what stopped the reading, nil at the file's end
	end filePos // the end of what was read
}

// run reads the files, a few at once, and yields their entries in order.
func (a *auditRead) run(ctx context.Context, yield func(pgaudit.Entry, error) bool) {
	ctx, cancel := context.WithCancel(ctx)
	a.ctx = ctx
	defer func() {
		cancel()
		a.wg.Wait()
	}()
	fail := func(file string, err error) *AuditLogFileError {
		return &AuditLogFileError{Instance: a.instance, File: file, Err: err}
	}
	if a.o.Source == AuditSourceCloudWatchLogs {
		// One stream, read as one file that never rotates.
		var from filePos
		if cur := a.o.Cursor; cur != nil {
			from.eventTime, from.eventID = cur.LogEventTime, cur.LogEventID
		}
		a.drain(ctx, a.start(auditLogFile{name: a.logGroup}, from, a.o.Follow), yield)
		return
	}
	files, err := a.list(ctx)
	if err != nil {
		yield(pgaudit.Entry{}, err)
		return
	}
	queue := files
	var from filePos // where the cursor's file starts
	fromFile := ""
	if cur := a.o.Cursor; cur != nil && cur.File != "" {
		if i := slices.IndexFunc(files, func(f auditLogFile) bool { return f.name == cur.File }); i >= 0 {
			queue, from, fromFile = files[i:], filePos{off: cur.Offset, marker: cur.Marker, markerOff: cur.MarkerOffset}, cur.File
		} else {
			if !yield(pgaudit.Entry{}, fail(cur.File, ErrLogFileGone)) {
				return
			}
			queue = after(files, cur.File)
		}
	}
	var active []*fileRead
	last := ""
	if cur := a.o.Cursor; cur != nil {
		last = cur.File // the files after it come next
	}
	for {
		for len(active) < a.o.Files && len(queue) > 0 {
			f := queue[0]
			queue = queue[1:]
			start := filePos{}
			if f.name == fromFile {
				start, fromFile = from, ""
			}
			active = append(active, a.start(f, start, a.o.Follow && len(queue) == 0))
		}
		if len(active) == 0 {
			if !a.o.Follow {
				return
			}
			// Nothing to read yet: wait for a file after the last one.
			var next []auditLogFile
			err := wait.Until(ctx, a.follow, defaultFollowWait, func(ctx context.Context) (bool, error) {
				files, err := a.list(ctx)
				if last == "" {
					next = files
				} else {
					next = after(files, last)
				}
				return len(next) > 0, err
			})
			if err != nil {
				if ctx.Err() == nil {
					yield(pgaudit.Entry{}, fmt.Errorf("aurora: waiting for log files of %s: %w", a.instance, err))
				}
				return
			}
			queue = next
			continue
		}
		fr := active[0]
		if !a.drain(ctx, fr, yield) {
			return
		}
		active = active[1:]
		last = fr.file.name
		if fr.tail {
			// The server rotated its log: the files after this one.
			files, err := a.list(ctx)
			if err != nil {
				if ctx.Err() == nil {
					yield(pgaudit.Entry{}, err)
				}
				return
			}
			queue = after(files, last)
		}
	}
}

// drain yields a file's results, moving the cursor past each, and past
// the end of the file when it has been read to its end. It reports
// whether the reading goes on.
func (a *auditRead) drain(ctx context.Context, fr *fileRead, yield func(pgaudit.Entry, error) bool) bool {
	if fr.tail {
		what := "the newest log file of " + a.instance
		if a.o.Source == AuditSourceCloudWatchLogs {
			what = "the log stream " + a.instance
		}
		a.o.Progress.Report(pgaurora.Event{Operation: "AuditEntries", Step: "follow", Resource: fr.file.name, Status: "following",
			Detail: "reading " + what + " as it grows"})
	}
	for batch := range fr.out {
		for _, it := range batch {
			if cur := a.o.Cursor; cur != nil {
				*cur = a.cursorAt(fr.file.name, it.pos)
			}
			var err error
			if it.err != nil {
				err = &AuditLogFileError{Instance: a.instance, File: fr.file.name, Err: it.err}
			}
			if !yield(it.e, err) {
				return false
			}
		}
	}
	if fr.err != nil {
		if a.o.Follow && ctx.Err() != nil {
			return false // following ends with the context
		}
		yield(pgaudit.Entry{}, &AuditLogFileError{Instance: a.instance, File: fr.file.name, Err: fr.err})
		return false
	}
	if cur := a.o.Cursor; cur != nil {
		*cur = a.cursorAt(fr.file.name, fr.end)
	}
	detail := fmt.Sprintf("read to byte %d", fr.end.off)
	if a.o.Source == AuditSourceCloudWatchLogs {
		detail = fmt.Sprintf("read the stream %s to its end", a.instance)
	}
	a.o.Progress.Report(pgaurora.Event{Operation: "AuditEntries", Step: "file", Resource: fr.file.name, Completed: true, Detail: detail})
	return true
}

// cursorAt is the cursor at a position in a file (or, with the
// CloudWatch Logs source, the log stream).
func (a *auditRead) cursorAt(file string, p filePos) AuditCursor {
	if a.o.Source == AuditSourceCloudWatchLogs {
		return AuditCursor{Instance: a.instance, LogEventTime: p.eventTime, LogEventID: p.eventID}
	}
	return AuditCursor{Instance: a.instance, File: file, Offset: p.off, Marker: p.marker, MarkerOffset: p.markerOff}
}

// start reads a file from a position on goroutines of its own.
func (a *auditRead) start(f auditLogFile, from filePos, tail bool) *fileRead {
	fr := &fileRead{file: f, tail: tail, out: make(chan []auditItem, fileBatches)}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer close(fr.out)
		fr.err = a.readFile(fr, from)
	}()
	return fr
}

// logSource is a log file's text, from a position, for the pgaudit
// reader.
type logSource interface {
	io.Reader
	// pos returns the position of file offset off, which the reader
	// has read up to.
	pos(off int64) filePos
	// failed returns the error the source stopped with, if it did.
	failed() error
	// whenIdle sets a function to call before waiting for the network.
	whenIdle(func())
	close()
}

// readFile parses a file from a position and hands its results over in
// batches.
func (a *auditRead) readFile(fr *fileRead, from filePos) error {
	ctx := a.ctx
	var src logSource
	if a.o.Source == AuditSourceCloudWatchLogs {
		pages := make(chan eventPage, a.o.Prefetch)
		src = &eventSource{pagedText: pagedText{ctx: ctx}, pages: pages, from: from}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.fetchEvents(ctx, from, pages)
		}()
	} else if a.whole != nil && !fr.tail {
		src = &streamSource{ctx: ctx, w: a.whole, instance: a.instance, name: fr.file.name, off: from.off}
	} else {
		chunks := make(chan logChunk, a.o.Prefetch)
		ps := &portionSource{pagedText: pagedText{ctx: ctx}, chunks: chunks, from: from}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.fetchPortions(ctx, fr, from, chunks)
		}()
		src = ps
	}
	defer src.close()
	var batch []auditItem
	send := func() error {
		if len(batch) == 0 {
			return nil
		}
		select {
		case fr.out <- batch:
			batch = nil
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	src.whenIdle(func() { _ = send() })
	r := pgaudit.NewReader(src, a.o.Reader)
	for {
		e, err := r.Next()
		if failed := src.failed(); failed != nil && !errors.Is(err, io.EOF) {
			// What the reader made of the text before the failure may be
			// cut short: keep nothing after it.
			_ = send()
			return failed
		}
		if errors.Is(err, io.EOF) {
			fr.end = src.pos(from.off + r.Offset())
			return send()
		}
		var pe *pgaudit.ParseError
		if err != nil && !errors.As(err, &pe) {
			_ = send()
			return err
		}
		if err == nil && !a.since.IsZero() && !e.Time.IsZero() && e.Time.Before(a.since) {
			continue
		}
		it := auditItem{err: err, pos: src.pos(from.off + r.Offset())}
		if err == nil {
			it.e = *e
		}
		batch = append(batch, it)
		if len(batch) >= batchEntries {
			if err := send(); err != nil {
				return err
			}
		}
	}
}

// logChunk is a downloaded piece of a log file.
type logChunk struct {
	data string
	off  int64 // where data starts in the file
	// marker downloads the file from markerOff on (markerOff <= off);
	// next, when not empty, from the end of data on.
	marker    string
	markerOff int64
	next      string
	end       bool  // the file is done after data
	err       error // the download failed
}

// pagedText is what the sources of downloaded text (portionSource and
// eventSource) share: the text left of the piece being read, and how
// the download ended.
type pagedText struct {
	ctx  context.Context
	cur  string
	done bool  // the text is all read
	err  error // the download failed, or ctx ended
	idle func()
}

// read reads the text left, calling next while none is and the
// download has not ended; next takes the next piece (with receive) and
// sets cur, done or err.
func (s *pagedText) read(p []byte, next func()) (int, error) {
	for s.cur == "" {
		switch {
		case s.err != nil:
			return 0, s.err
		case s.done:
			return 0, io.EOF
		}
		next()
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

func (s *pagedText) failed() error {
	if s.done {
		return nil
	}
	return s.err
}

func (s *pagedText) whenIdle(f func()) { s.idle = f }
func (s *pagedText) close()            {}

// receive takes the next value from ch; when none is there yet, it
// calls idle (if set) and waits. ok is false if ch is closed; err is
// ctx's error if ctx ends first.
func receive[T any](ctx context.Context, ch <-chan T, idle func()) (v T, ok bool, err error) {
	select {
	case v, ok = <-ch:
		return v, ok, nil
	default:
	}
	if idle != nil {
		idle()
	}
	select {
	case v, ok = <-ch:
		return v, ok, nil
	case <-ctx.Done():
		return v, false, ctx.Err()
	}
}

// portionSource reads the chunks fetchPortions downloads.
type portionSource struct {
	pagedText
	chunks <-chan logChunk
	from   filePos
	hist   []chunkRef // the chunks handed to the reader that positions may still fall in
}

// chunkRef is where a chunk was in the file and how it was downloaded.
type chunkRef struct {
	off, end     int64
	marker, next string
	markerOff    int64
}

func (s *portionSource) Read(p []byte) (int, error) { return s.read(p, s.next) }

func (s *portionSource) next() {
	c, _, err := receive(s.ctx, s.chunks, s.idle)
	switch {
	case err != nil:
		s.err = err
	case c.err != nil:
		s.err = c.err
	default:
		if c.data != "" {
			s.cur = c.data
			s.hist = append(s.hist, chunkRef{off: c.off, end: c.off + int64(len(c.data)), marker: c.marker, next: c.next, markerOff: c.markerOff})
		}
		s.done = c.end
	}
}

func (s *portionSource) pos(off int64) filePos {
	for len(s.hist) > 1 && s.hist[1].off <= off {
		s.hist = s.hist[1:]
	}
	if len(s.hist) == 0 || off < s.hist[0].off {
		return filePos{off: off, marker: s.from.marker, markerOff: s.from.markerOff}
	}
	h := s.hist[0]
	if off >= h.end && h.next != "" {
		return filePos{off: off, marker: h.next, markerOff: off}
	}
	return filePos{off: off, marker: h.marker, markerOff: h.markerOff}
}

// fetchPortions downloads a file with DownloadDBLogFilePortion from a
// position, portion after portion, each requested as soon as the one
// before it has arrived, and sends the text on: up to Prefetch portions
// wait to be parsed. A tail file is followed as it grows, until the
// server starts a newer file.
func (a *auditRead) fetchPortions(ctx context.Context, fr *fileRead, from filePos, out chan<- logChunk) {
	send := func(c logChunk) bool {
		select {
		case out <- c:
			return true
		case <-ctx.Done():
			return false
		}
	}
	marker, markerOff := from.marker, from.markerOff
	if marker == "" {
		marker, markerOff = "0", 0
	}
	pos := from.off // the text before pos has been sent (or is not wanted)
	closing := !fr.tail
	seen := int64(-1) // the size of the file when last looked at
	for {
		res, err := a.portion(ctx, fr.file.name, marker)
		if err != nil {
			send(logChunk{err: err})
			return
		}
		data := aws.ToString(res.LogFileData)
		dataEnd := markerOff + int64(len(data))
		next, pending := aws.ToString(res.Marker), aws.ToBool(res.AdditionalDataPending)
		if pending && next == "" {
			send(logChunk{err: fmt.Errorf("downloading from marker %s: more data pending but no Marker to go on with", marker)})
			return
		}
		if pending && next == marker {
			send(logChunk{err: fmt.Errorf("downloading from marker %s: the API returned the same marker with more data pending", marker)})
			return
		}
		if dataEnd > pos {
			text := data[pos-markerOff:]
			if !pending && !closing {
				// The end of a file being written: keep a last line
				// without its newline for the next look.
				text = text[:strings.LastIndexByte(text, '\n')+1]
			}
			if text != "" {
				c := logChunk{data: text, off: pos, marker: marker, markerOff: markerOff}
				if pending && pos+int64(len(text)) == dataEnd {
					c.next = next
				}
				if !send(c) {
					return
				}
				pos += int64(len(text))
			}
		}
		if pending {
			marker, markerOff = next, dataEnd
			continue
		}
		if next != "" && next != marker && pos == dataEnd {
			// RDS gave a marker for the end: go on from there.
			marker, markerOff = next, dataEnd
		}
		if closing {
			send(logChunk{end: true})
			return
		}
		// Follow: wait until the file grows or a newer one appears.
		if seen < 0 {
			seen = dataEnd
		}
		err = wait.Until(ctx, a.follow, defaultFollowWait, func(ctx context.Context) (bool, error) {
			files, err := a.list(ctx)
			if err != nil {
				return false, err
			}
			i := slices.IndexFunc(files, func(f auditLogFile) bool { return f.name == fr.file.name })
			if i < 0 {
				return false, ErrLogFileGone
			}
			if i < len(files)-1 {
				closing = true // rotated: read it to its end once more
				return true, nil
			}
			if files[i].size > seen {
				seen = files[i].size
				return true, nil
			}
			return false, nil
		})
		if err != nil {
			if wait.IsTimeout(err) {
				err = fmt.Errorf("no new log data for %v: %w", a.follow.MaxWait, err)
			}
			send(logChunk{err: err})
			return
		}
	}
}

// portion downloads one portion. A response cut short (see
// bufferRequestBody) is asked for again, and so is a call the API
// throttles.
func (a *auditRead) portion(ctx context.Context, name, marker string) (*rds.DownloadDBLogFilePortionOutput, error) {
	in := &rds.DownloadDBLogFilePortionInput{
		DBInstanceIdentifier: aws.String(a.instance),
		LogFileName:          aws.String(name),
		Marker:               aws.String(marker),
		NumberOfLines:        aws.Int32(int32(a.o.LinesPerCall)),
	}
	var out *rds.DownloadDBLogFilePortionOutput
	err := a.unthrottled(ctx, func(ctx context.Context) error {
		for attempt := 1; ; attempt++ {
			var err error
			out, err = a.c.api.DownloadDBLogFilePortion(ctx, in, bufferRequestBody)
			var de *smithy.DeserializationError
			if err != nil && errors.As(err, &de) && attempt < 3 && ctx.Err() == nil {
				if wait.Sleep(ctx, time.Duration(attempt)*100*time.Millisecond) == nil {
					continue
				}
			}
			return err
		}
	})
	if err != nil {
		return nil, fmt.Errorf("downloading from marker %s: %w", marker, err)
	}
	return out, nil
}

// bufferRequestBody makes a call send its request body from memory.
// aws-sdk-go-v2 closes a request's body as soon as the response headers
// arrive; a server that answers before net/http has made its last read
// of the body (one on the same machine, answering in microseconds) makes
// that read fail, and net/http then closes the connection under the
// response being read: a large DownloadDBLogFilePortion response breaks
// off with "use of closed network connection", or with "invalid UTF-8"
// when the break falls inside a character, which the SDK does not retry
// (aws/aws-sdk-go-v2#2737). A body net/http knows to be in memory is read
// to its end before the request goes out, so nothing reads it late.
func bufferRequestBody(o *rds.Options) {
	if o.HTTPClient != nil {
		o.HTTPClient = bufferedBodyClient{o.HTTPClient}
	}
}

type bufferedBodyClient struct{ base rds.HTTPClient }

func (c bufferedBodyClient) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	return c.base.Do(r)
}

// completeLogFiles downloads whole log files through RDS's REST path GET
// /v19/downloadCompleteLogFile/{DBInstanceIdentifier}/{LogFileName},
// signed with Signature Version 4 (service rds) with the RDS client's
// credentials, at the RDS client's endpoint, through its HTTP client.
type completeLogFiles struct {
	base   string // the endpoint's URL, without a final slash
	region string
	creds  aws.CredentialsProvider
	client rds.HTTPClient
	signer *v4.Signer
}

// completeLogFiles builds the whole-file downloader from the Cluster's
// RDS client (an *rds.Client) or AWS configuration.
func (c *Cluster) completeLogFiles() (*completeLogFiles, error) {
	var o rds.Options
	if rc, ok := c.api.(*rds.Client); ok {
		o = rc.Options()
	} else if c.cfg.awsConfig != nil {
		o = rds.NewFromConfig(*c.cfg.awsConfig).Options()
	} else {
		return nil, errors.New("aurora: AuditLogOptions.WholeFiles needs the AWS configuration: make the Cluster with WithAWSConfig, or WithRDSClient with an *rds.Client")
	}
	if o.Credentials == nil {
		return nil, errors.New("aurora: AuditLogOptions.WholeFiles: the RDS client has no credentials to sign the download with")
	}
	ep, err := o.EndpointResolverV2.ResolveEndpoint(context.Background(), rds.EndpointParameters{
		Region:       aws.String(o.Region),
		Endpoint:     o.BaseEndpoint,
		UseFIPS:      aws.Bool(o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
		UseDualStack: aws.Bool(o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
	})
	if err != nil {
		return nil, fmt.Errorf("aurora: AuditLogOptions.WholeFiles: resolving the RDS endpoint: %w", err)
	}
	client := o.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	u := ep.URI
	u.RawQuery, u.Fragment = "", ""
	return &completeLogFiles{base: strings.TrimSuffix(u.String(), "/"), region: o.Region, creds: o.Credentials, client: client, signer: v4.NewSigner()}, nil
}

// emptyPayloadHash is the SHA-256 of an empty body, hex encoded.
var emptyPayloadHash = func() string {
	sum := sha256.Sum256(nil)
	return hex.EncodeToString(sum[:])
}()

// open starts downloading a whole log file. A refusal comes back as a
// smithy.APIError with RDS's error code (DBInstanceNotFound,
// DBLogFileNotFoundFault, AccessDenied, ...); the request's signature is
// in no error.
func (w *completeLogFiles) open(ctx context.Context, instance, name string) (io.ReadCloser, error) {
	for attempt := 1; ; attempt++ {
		body, retry, err := w.try(ctx, instance, name)
		if err == nil || !retry || attempt == 3 || ctx.Err() != nil {
			return body, err
		}
		if wait.Sleep(ctx, time.Duration(attempt)*200*time.Millisecond) != nil {
			return nil, err
		}
	}
}

// try makes one request; retry says whether its failure may pass.
func (w *completeLogFiles) try(ctx context.Context, instance, name string) (io.ReadCloser, bool, error) {
	url := w.base + "/v19/downloadCompleteLogFile/" + instance + "/" + name
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, false, fmt.Errorf("downloadCompleteLogFile: %w", err)
	}
	creds, err := w.creds.Retrieve(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("downloadCompleteLogFile: getting credentials to sign with: %w", err)
	}
	if err := w.signer.SignHTTP(ctx, creds, req, emptyPayloadHash, "rds", w.region, time.Now()); err != nil {
		return nil, false, fmt.Errorf("downloadCompleteLogFile: signing: %w", err)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, true, fmt.Errorf("downloadCompleteLogFile: %w", err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp.Body, false, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	tag := func(name string) string {
		_, v, ok := strings.Cut(string(b), "<"+name+">")
		if !ok {
			return ""
		}
		v, _, _ = strings.Cut(v, "</"+name+">")
		return v
	}
	ae := &smithy.GenericAPIError{Code: tag("Code"), Message: tag("Message"), Fault: smithy.FaultClient}
	if ae.Code == "" {
		ae.Code = http.StatusText(resp.StatusCode)
	}
	if resp.StatusCode >= 500 {
		ae.Fault = smithy.FaultServer
	}
	return nil, resp.StatusCode >= 500 || throttled(ae), fmt.Errorf("downloadCompleteLogFile: HTTP %d: %w", resp.StatusCode, ae)
}

// streamSource reads a whole log file from a position: the download is
// started again, and the text already read skipped, when it breaks off.
type streamSource struct {
	ctx      context.Context
	w        *completeLogFiles
	instance string
	name     string
	off      int64 // where the next byte read is in the file
	body     io.ReadCloser
	breaks   int
	err      error
}

func (s *streamSource) Read(p []byte) (int, error) {
	for s.err == nil {
		if s.body == nil {
			body, err := s.w.open(s.ctx, s.instance, s.name)
			if err != nil {
				s.err = err
				break
			}
			if _, err := io.CopyN(io.Discard, body, s.off); err != nil {
				body.Close()
				if s.breaks++; s.breaks > 3 || s.ctx.Err() != nil {
					s.err = fmt.Errorf("downloadCompleteLogFile: skipping the %d bytes read before: %w", s.off, err)
				}
				continue
			}
			s.body = body
		}
		n, err := s.body.Read(p)
		s.off += int64(n)
		switch {
		case err == io.EOF:
			return n, io.EOF
		case err != nil:
			s.body.Close()
			s.body = nil
			if s.breaks++; s.breaks > 3 || s.ctx.Err() != nil {
				s.err = fmt.Errorf("downloadCompleteLogFile: at byte %d: %w", s.off, err)
			}
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, nil
	}
	return 0, s.err
}

func (s *streamSource) pos(off int64) filePos { return filePos{off: off} }
func (s *streamSource) failed() error         { return s.err }
func (s *streamSource) whenIdle(func())       {}
func (s *streamSource) close() {
	if s.body != nil {
		s.body.Close()
	}
}
