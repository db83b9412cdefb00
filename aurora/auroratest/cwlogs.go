package auroratest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CloudWatch Logs: the exported PostgreSQL log. While a cluster's
// EnabledCloudwatchLogsExports holds "postgresql", the log each of its
// instances writes is published to the log group
// /aws/rds/cluster/<cluster-id>/postgresql, one log stream per instance
// named by the instance's identifier, as Aurora publishes it; one log
// event is one log record (a message and its continuation lines, which
// start with a tab), its timestamp the record's (whole seconds, RDS's
// log_line_prefix %t), its message the record without its last newline.
//
// Exactly what is published: the export takes effect when the cluster's
// modification is applied (when DescribeDBClusters shows the new
// EnabledCloudwatchLogsExports): from then on every record that starts
// at or after the end the instance's log had at that moment is
// published, until the export is turned off; a record that started
// before that end is not (its continuation lines neither). An instance
// created while the export is on is published from its first record.
// When the export is turned off the group, the streams and the events
// stay (as CloudWatch Logs keeps them); no record written after that is
// published, and turning it on again publishes from then on. Events of
// an instance deleted later stay too (read into memory as its log goes),
// and a new instance given its name goes on in its stream.
//
// Nothing is copied in the background: the events are read from the
// servers' logs when they are asked for. Each stream keeps the byte
// ranges it publishes and an index of the records in them (offsets and
// times), extended with what the server wrote since the last request,
// so a request reads only the records it returns. A record is published
// once its last line is complete; a continuation line that reaches the
// log after its record was published (PostgreSQL writes a message in
// one write, so this does not happen with its own messages) is an event
// of its own, so that the events' messages joined with newlines are
// always the log's text. Logs nobody exports cost nothing.

const (
	logsTargetPrefix  = "Logs_20140328."
	maxEventsPerCall  = 10000
	maxEventBytesCall = 1 << 20 // FilterLogEvents and GetLogEvents return at most 1 MB
	maxDescribeLimit  = 50
	exportedLogType   = "postgresql"
)

// cwLogs is the CloudWatch Logs state. Its lock is taken after the state
// lock, never before it.
type cwLogs struct {
	mu     sync.Mutex
	groups map[string]*logGroup // by name
}

// logGroup is one log group.
type logGroup struct {
	name    string
	created time.Time
	streams []*logStream // by name
}

// logStream is one instance's log stream.
type logStream struct {
	name    string
	ord     int // in its group, for event IDs
	created time.Time
	path    string // the instance's server log
	// windows are the byte ranges of the log that are published, in
	// order; the last one may be open (to < 0).
	windows []exportWindow
	scanWin int   // the window being indexed
	scanned int64 // where the indexing stopped, in windows[scanWin]
	started bool  // a record of windows[scanWin] has been seen
	// events are sorted by (ts, seq).
	events     []logEvent
	seq        int64
	lastIngest int64
}

// exportWindow is a published byte range of a server log: records that
// start at or after from and before to (to < 0: open).
type exportWindow struct{ from, to int64 }

// logEvent is one published record.
type logEvent struct {
	seq        int64   // in the stream, in the log's order
	ts, ingest int64   // milliseconds since the epoch
	start, end int64   // in the log, the last newline left out
	msg        *string // the message, kept once the log is gone
}

// logGroupName is the log group of a cluster's exported PostgreSQL log.
func logGroupName(clusterID string) string {
	return "/aws/rds/cluster/" + clusterID + "/" + exportedLogType
}

func (e *Emulator) logGroupARN(name string) string {
	return "arn:aws:logs:" + e.region + ":" + e.account + ":log-group:" + name
}

// syncExports opens or closes the export of each member's log to match
// the cluster's EnabledCloudwatchLogsExports. It is called with the
// state lock held, after the list changed or a member was added.
func (e *Emulator) syncExports(st *state, c *cluster) {
	on := slices.Contains(c.logExports, exportedLogType)
	e.cwl.mu.Lock()
	defer e.cwl.mu.Unlock()
	g := e.cwl.groups[logGroupName(c.id)]
	if g == nil && !on {
		return
	}
	now := time.Now()
	if g == nil {
		if e.cwl.groups == nil {
			e.cwl.groups = map[string]*logGroup{}
		}
		g = &logGroup{name: logGroupName(c.id), created: now}
		e.cwl.groups[g.name] = g
	}
	for _, in := range c.members {
		s := g.stream(in.id)
		if s == nil && !on {
			continue
		}
		if s == nil {
			s = &logStream{name: in.id, ord: len(g.streams), created: now, path: in.logPath()}
			g.streams = append(g.streams, s)
			slices.SortFunc(g.streams, func(a, b *logStream) int { return strings.Compare(a.name, b.name) })
		}
		if s.path == "" {
			// A new instance with the name of a deleted one, whose
			// events are kept: its own log goes on in the stream.
			s.path, s.scanWin, s.scanned, s.started = in.logPath(), len(s.windows), 0, false
		}
		open := len(s.windows) > 0 && s.windows[len(s.windows)-1].to < 0
		if on == open {
			continue
		}
		size := int64(0)
		if fi, err := os.Stat(s.path); err == nil {
			size = fi.Size()
		}
		if on {
			s.windows = append(s.windows, exportWindow{from: size, to: -1})
		} else {
			s.windows[len(s.windows)-1].to = size
		}
	}
}

// keepExportedEvents reads the published events of an instance's log
// into memory before its log is removed, and ends its export.
func (e *Emulator) keepExportedEvents(in *instance) {
	e.cwl.mu.Lock()
	defer e.cwl.mu.Unlock()
	g := e.cwl.groups[logGroupName(in.cluster.id)]
	if g == nil {
		return
	}
	s := g.stream(in.id)
	if s == nil || s.path == "" {
		return
	}
	if err := s.update(); err != nil {
		e.log.Error("auroratest: keeping the exported log events", "instance", in.id, "error", err)
	}
	f, err := os.Open(s.path)
	if err == nil {
		defer f.Close()
		for i := range s.events {
			if s.events[i].msg == nil {
				if m, err := s.message(f, &s.events[i]); err == nil {
					s.events[i].msg = &m
				}
			}
		}
	}
	s.path = ""
	if n := len(s.windows); n > 0 && s.windows[n-1].to < 0 {
		s.windows[n-1].to = s.scanned
	}
}

func (g *logGroup) stream(name string) *logStream {
	i, ok := slices.BinarySearchFunc(g.streams, name, func(s *logStream, name string) int { return strings.Compare(s.name, name) })
	if !ok {
		return nil
	}
	return g.streams[i]
}

// update indexes the records the server wrote in the stream's windows
// since the last call.
func (s *logStream) update() error {
	if s.path == "" || len(s.windows) == 0 {
		return nil
	}
	f, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	now := time.Now().UnixMilli()
	last := -1 // the event the continuation lines of this call go to
	var buf []byte
	chunk := int64(logReadChunk)
	for s.scanWin < len(s.windows) {
		w := s.windows[s.scanWin]
		if s.scanned < w.from {
			// Lines before the window's first record (the rest of a line,
			// continuations) belong to records before it.
			s.scanned, s.started = w.from, false
		}
		if s.scanned >= size {
			if w.to >= 0 && s.scanWin+1 < len(s.windows) {
				s.scanWin, s.started = s.scanWin+1, false
				continue
			}
			return nil
		}
		n := min(size-s.scanned, chunk)
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := f.ReadAt(buf, s.scanned); err != nil && err != io.EOF {
			return err
		}
		closed := false
		off := logLines(buf, false, func(line []byte, lo, hi int) bool {
			start, end := s.scanned+int64(lo), s.scanned+int64(hi)-1 // the newline left out
			if stamp, ok := logStamp(line); ok {
				if w.to >= 0 && start >= w.to {
					closed = true
					return false
				}
				s.seq++
				s.insert(logEvent{seq: s.seq, ts: stamp.UnixMilli(), ingest: now, start: start, end: end})
				last = len(s.events) - 1
				for last >= 0 && s.events[last].seq != s.seq {
					last--
				}
				s.started = true
			} else if s.started {
				switch {
				case last >= 0:
					s.events[last].end = end
				case len(s.events) > 0:
					// A continuation after its record was published:
					// an event of its own, at the time of the one before.
					s.seq++
					s.insert(logEvent{seq: s.seq, ts: s.events[len(s.events)-1].ts, ingest: now, start: start, end: end})
					last = len(s.events) - 1
				}
			}
			return true
		})
		s.scanned += int64(off)
		s.lastIngest = now
		if closed {
			s.scanWin, s.started = s.scanWin+1, false
			last = -1
			continue
		}
		if off == 0 {
			if s.scanned+n >= size {
				return nil // a line being written
			}
			chunk *= 2 // a line longer than a chunk
		}
	}
	return nil
}

// insert adds an event in (ts, seq) order: at the end but for a record
// whose time is before the one before it.
func (s *logStream) insert(ev logEvent) {
	i := len(s.events)
	for i > 0 && s.events[i-1].ts > ev.ts {
		i--
	}
	s.events = slices.Insert(s.events, i, ev)
}

// message reads an event's message from the log f.
func (s *logStream) message(f *os.File, ev *logEvent) (string, error) {
	if ev.msg != nil {
		return *ev.msg, nil
	}
	b := make([]byte, ev.end-ev.start)
	if _, err := f.ReadAt(b, ev.start); err != nil {
		return "", err
	}
	return string(b), nil
}

// open opens the stream's log for message; it gives nil when the
// stream has no log or its log is gone.
func (s *logStream) open() (*os.File, error) {
	if s.path == "" {
		return nil, nil
	}
	f, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the log of %s: %w", s.name, err)
	}
	return f, nil
}

// read is the message of an event from f, the log open gave; ok is
// false when the event's message is gone with its log.
func (s *logStream) read(f *os.File, ev *logEvent) (msg string, ok bool, err error) {
	if f == nil && ev.msg == nil {
		return "", false, nil
	}
	if msg, err = s.message(f, ev); err != nil {
		return "", false, fmt.Errorf("reading the log of %s: %w", s.name, err)
	}
	return msg, true, nil
}

// eventID is an event's ID: its time, stream and sequence number, so
// that IDs sort as FilterLogEvents returns the events.
func (s *logStream) eventID(ev *logEvent) string {
	return fmt.Sprintf("%013d%04d%016d", ev.ts, s.ord, ev.seq)
}

// cloudWatchLogs is the CloudWatch Logs service: its actions, each with
// the request members it reads.
func (e *Emulator) cloudWatchLogs() *jsonService {
	return &jsonService{
		name:        "CloudWatch Logs",
		prefix:      logsTargetPrefix,
		contentType: "application/x-amz-json-1.1",
		actions: map[string]jsonAction{
			"DescribeLogGroups":  {[]string{"logGroupNamePrefix", "limit", "nextToken"}, e.logsDescribeLogGroups},
			"DescribeLogStreams": {[]string{"logGroupName", "logGroupIdentifier", "logStreamNamePrefix", "orderBy", "descending", "limit", "nextToken"}, e.logsDescribeLogStreams},
			"FilterLogEvents":    {[]string{"logGroupName", "logGroupIdentifier", "logStreamNames", "logStreamNamePrefix", "startTime", "endTime", "filterPattern", "limit", "nextToken"}, e.logsFilterLogEvents},
			"GetLogEvents":       {[]string{"logGroupName", "logGroupIdentifier", "logStreamName", "startTime", "endTime", "limit", "nextToken", "startFromHead"}, e.logsGetLogEvents},
		},
	}
}

func logsInvalid(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterException", fmt.Sprintf(format, args...)}
}

func logsNotFound(message string) *apiError {
	return &apiError{http.StatusBadRequest, "ResourceNotFoundException", message}
}

// group finds a log group by name or ARN (with or without ":*"); the
// caller holds e.cwl.mu.
func (e *Emulator) group(name, identifier string) (*logGroup, error) {
	switch {
	case name != "" && identifier != "":
		return nil, logsInvalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case name == "" && identifier == "":
		return nil, logsInvalid("Either logGroupName or logGroupIdentifier must be given.")
	case identifier != "":
		name = strings.TrimSuffix(identifier, ":*")
		if rest, ok := strings.CutPrefix(name, e.logGroupARN("")); ok {
			name = rest
		}
	}
	if g := e.cwl.groups[name]; g != nil {
		return g, nil
	}
	return nil, logsNotFound("The specified log group does not exist.")
}

// limitOf checks a limit member: 1 to max, default max.
func limitOf(v *int, max int) (int, error) {
	if v == nil {
		return max, nil
	}
	if *v < 1 || *v > max {
		return 0, logsInvalid("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and %d", *v, max)
	}
	return *v, nil
}

// indexToken is a nextToken that is a position in a list.
func indexToken(i int) string { return encodeToken("i/", strconv.Itoa(i)) }

func parseIndexToken(t string) (int, error) {
	if t == "" {
		return 0, nil
	}
	rest, ok := decodeToken("i/", t)
	n, err := strconv.Atoi(rest)
	if !ok || err != nil || n < 0 {
		return 0, logsInvalid("The specified nextToken is invalid.")
	}
	return n, nil
}

type logsDescribeGroupsIn struct {
	LogGroupNamePrefix string `json:"logGroupNamePrefix"`
	Limit              *int   `json:"limit"`
	NextToken          string `json:"nextToken"`
}

type xLogGroup struct {
	LogGroupName      string `json:"logGroupName"`
	CreationTime      int64  `json:"creationTime"`
	MetricFilterCount int    `json:"metricFilterCount"`
	Arn               string `json:"arn"`
	LogGroupArn       string `json:"logGroupArn"`
	StoredBytes       int64  `json:"storedBytes"`
	LogGroupClass     string `json:"logGroupClass"`
}

func (e *Emulator) logsDescribeLogGroups(ctx context.Context, body []byte) (any, error) {
	var in logsDescribeGroupsIn
	if err := decodeMembers(body, &in); err != nil {
		return nil, err
	}
	limit, err := limitOf(in.Limit, maxDescribeLimit)
	if err != nil {
		return nil, err
	}
	from, err := parseIndexToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	e.cwl.mu.Lock()
	defer e.cwl.mu.Unlock()
	var list []xLogGroup
	for _, g := range e.cwl.groups {
		if !strings.HasPrefix(g.name, in.LogGroupNamePrefix) {
			continue
		}
		var stored int64
		for _, s := range g.streams {
			stored += s.storedBytes()
		}
		arn := e.logGroupARN(g.name)
		list = append(list, xLogGroup{LogGroupName: g.name, CreationTime: g.created.UnixMilli(), Arn: arn + ":*", LogGroupArn: arn,
			StoredBytes: stored, LogGroupClass: "STANDARD"})
	}
	slices.SortFunc(list, func(a, b xLogGroup) int { return strings.Compare(a.LogGroupName, b.LogGroupName) })
	out := struct {
		LogGroups []xLogGroup `json:"logGroups"`
		NextToken string      `json:"nextToken,omitempty"`
	}{LogGroups: []xLogGroup{}}
	if from < len(list) {
		end := min(from+limit, len(list))
		out.LogGroups = list[from:end]
		if end < len(list) {
			out.NextToken = indexToken(end)
		}
	}
	return out, nil
}

// storedBytes is the size of the stream's messages so far.
func (s *logStream) storedBytes() int64 {
	var n int64
	for _, ev := range s.events {
		n += ev.end - ev.start
	}
	return n
}

type logsDescribeStreamsIn struct {
	LogGroupName        string `json:"logGroupName"`
	LogGroupIdentifier  string `json:"logGroupIdentifier"`
	LogStreamNamePrefix string `json:"logStreamNamePrefix"`
	OrderBy             string `json:"orderBy"`
	Descending          bool   `json:"descending"`
	Limit               *int   `json:"limit"`
	NextToken           string `json:"nextToken"`
}

type xLogStream struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp int64  `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  int64  `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   int64  `json:"lastIngestionTime,omitempty"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

func (e *Emulator) logsDescribeLogStreams(ctx context.Context, body []byte) (any, error) {
	var in logsDescribeStreamsIn
	if err := decodeMembers(body, &in); err != nil {
		return nil, err
	}
	limit, err := limitOf(in.Limit, maxDescribeLimit)
	if err != nil {
		return nil, err
	}
	switch in.OrderBy {
	case "", "LogStreamName":
	case "LastEventTime":
		if in.LogStreamNamePrefix != "" {
			return nil, logsInvalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
		}
	default:
		return nil, logsInvalid("1 validation error detected: Value '%s' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]", in.OrderBy)
	}
	from, err := parseIndexToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	e.cwl.mu.Lock()
	defer e.cwl.mu.Unlock()
	g, err := e.group(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	var list []xLogStream
	for _, s := range g.streams {
		if !strings.HasPrefix(s.name, in.LogStreamNamePrefix) {
			continue
		}
		if err := s.update(); err != nil {
			return nil, fmt.Errorf("reading the log of %s: %w", s.name, err)
		}
		x := xLogStream{LogStreamName: s.name, CreationTime: s.created.UnixMilli(), Arn: e.logGroupARN(g.name) + ":log-stream:" + s.name,
			StoredBytes: s.storedBytes()}
		if n := len(s.events); n > 0 {
			x.FirstEventTimestamp, x.LastEventTimestamp, x.LastIngestionTime = s.events[0].ts, s.events[n-1].ts, s.lastIngest
		}
		list = append(list, x)
	}
	if in.OrderBy == "LastEventTime" {
		slices.SortStableFunc(list, func(a, b xLogStream) int {
			switch {
			case a.LastEventTimestamp < b.LastEventTimestamp:
				return -1
			case a.LastEventTimestamp > b.LastEventTimestamp:
				return 1
			}
			return 0
		})
	}
	if in.Descending {
		slices.Reverse(list)
	}
	out := struct {
		LogStreams []xLogStream `json:"logStreams"`
		NextToken  string       `json:"nextToken,omitempty"`
	}{LogStreams: []xLogStream{}}
	if from < len(list) {
		end := min(from+limit, len(list))
		out.LogStreams = list[from:end]
		if end < len(list) {
			out.NextToken = indexToken(end)
		}
	}
	return out, nil
}

// eventKey orders events across streams: by time, stream, sequence.
type eventKey struct {
	ts  int64
	ord int
	seq int64
}

func (k eventKey) less(o eventKey) bool {
	if k.ts != o.ts {
		return k.ts < o.ts
	}
	if k.ord != o.ord {
		return k.ord < o.ord
	}
	return k.seq < o.seq
}

func (k eventKey) String() string { return fmt.Sprintf("%d/%d/%d", k.ts, k.ord, k.seq) }

func parseEventKey(s string) (eventKey, bool) {
	p := strings.Split(s, "/")
	if len(p) != 3 {
		return eventKey{}, false
	}
	ts, err1 := strconv.ParseInt(p[0], 10, 64)
	ord, err2 := strconv.Atoi(p[1])
	seq, err3 := strconv.ParseInt(p[2], 10, 64)
	return eventKey{ts, ord, seq}, err1 == nil && err2 == nil && err3 == nil
}

// filterPattern is the part of CloudWatch Logs' filter pattern syntax
// the emulator matches: terms that must all occur in the message, each
// a word or a double-quoted phrase, case-sensitive.
type filterPattern []string

func parseFilterPattern(p string) (filterPattern, error) {
	var terms filterPattern
	rest := strings.TrimSpace(p)
	for rest != "" {
		if q, ok := strings.CutPrefix(rest, `"`); ok {
			i := strings.IndexByte(q, '"')
			if i < 0 {
				return nil, logsInvalid("Invalid filter pattern %q: a quoted term has no closing quote.", p)
			}
			terms = append(terms, q[:i])
			rest = strings.TrimSpace(q[i+1:])
			continue
		}
		term, after, _ := strings.Cut(rest, " ")
		if strings.ContainsAny(term, `"?{}[]()%=<>!*`) || strings.HasPrefix(term, "-") || strings.HasPrefix(term, "$") {
			return nil, logsInvalid("auroratest matches filter patterns made of terms (words or double-quoted phrases) that must all occur; it does not emulate %q (optional terms ?, exclusions -, JSON, space-delimited and regular-expression patterns).", term)
		}
		terms = append(terms, term)
		rest = strings.TrimSpace(after)
	}
	return terms, nil
}

func (fp filterPattern) match(msg string) bool {
	for _, t := range fp {
		if !strings.Contains(msg, t) {
			return false
		}
	}
	return true
}

type logsFilterIn struct {
	LogGroupName        string   `json:"logGroupName"`
	LogGroupIdentifier  string   `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       string   `json:"filterPattern"`
	Limit               *int     `json:"limit"`
	NextToken           string   `json:"nextToken"`
}

type xFilteredEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

// logsFilterLogEvents returns the events of the chosen streams in time
// order (streams by name within a time, each stream's in its order),
// from StartTime to EndTime inclusive, that match the pattern: at most
// limit events or 1 MB of messages, with a nextToken while more events
// remain. The token is the position after the last event returned, so
// events published later come on later pages; at the end there is no
// token.
func (e *Emulator) logsFilterLogEvents(ctx context.Context, body []byte) (any, error) {
	var in logsFilterIn
	if err := decodeMembers(body, &in); err != nil {
		return nil, err
	}
	limit, err := limitOf(in.Limit, maxEventsPerCall)
	if err != nil {
		return nil, err
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != "" {
		return nil, logsInvalid("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	if len(in.LogStreamNames) > 100 {
		return nil, logsInvalid("1 validation error detected: Value at 'logStreamNames' failed to satisfy constraint: Member must have length less than or equal to 100")
	}
	pattern, err := parseFilterPattern(in.FilterPattern)
	if err != nil {
		return nil, err
	}
	start, end := timeRange(in.StartTime, in.EndTime)
	if start < 0 || end < 0 {
		return nil, logsInvalid("startTime and endTime must be milliseconds since the epoch, not negative.")
	}
	after := eventKey{ts: -1}
	if in.NextToken != "" {
		b, ok := decodeToken("", in.NextToken)
		k, ok2 := parseEventKey(b)
		if !ok || !ok2 {
			return nil, logsInvalid("The specified nextToken is invalid.")
		}
		after = k
	}
	e.cwl.mu.Lock()
	defer e.cwl.mu.Unlock()
	g, err := e.group(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	for _, name := range in.LogStreamNames {
		if g.stream(name) == nil {
			return nil, logsNotFound("The specified log stream does not exist.")
		}
	}
	// The streams, each with the position of its next event.
	type cursor struct {
		s *logStream
		i int
		f *os.File
	}
	var curs []*cursor
	defer func() {
		for _, c := range curs {
			if c.f != nil {
				c.f.Close()
			}
		}
	}()
	for _, s := range g.streams {
		if len(in.LogStreamNames) > 0 && !slices.Contains(in.LogStreamNames, s.name) || !strings.HasPrefix(s.name, in.LogStreamNamePrefix) {
			continue
		}
		if err := s.update(); err != nil {
			return nil, fmt.Errorf("reading the log of %s: %w", s.name, err)
		}
		from := max(start, after.ts)
		i, _ := slices.BinarySearchFunc(s.events, from, func(ev logEvent, t int64) int { return cmpInt(ev.ts, t) })
		for i < len(s.events) && !after.less(eventKey{s.events[i].ts, s.ord, s.events[i].seq}) {
			i++
		}
		f, err := s.open()
		if err != nil {
			return nil, err
		}
		curs = append(curs, &cursor{s: s, i: i, f: f})
	}
	out := struct {
		Events    []xFilteredEvent `json:"events"`
		NextToken string           `json:"nextToken,omitempty"`
	}{Events: []xFilteredEvent{}}
	size := 0
	var lastKey eventKey
	for {
		var next *cursor
		for _, c := range curs {
			if c.i >= len(c.s.events) || c.s.events[c.i].ts > end {
				continue
			}
			if next == nil || (eventKey{c.s.events[c.i].ts, c.s.ord, c.s.events[c.i].seq}).less(eventKey{next.s.events[next.i].ts, next.s.ord, next.s.events[next.i].seq}) {
				next = c
			}
		}
		if next == nil {
			return out, nil
		}
		ev := &next.s.events[next.i]
		if len(out.Events) == limit || size+int(ev.end-ev.start) > maxEventBytesCall && len(out.Events) > 0 {
			out.NextToken = encodeToken("", lastKey.String())
			return out, nil
		}
		next.i++
		msg, ok, err := next.s.read(next.f, ev)
		if err != nil {
			return nil, err
		}
		if !ok || !pattern.match(msg) {
			continue
		}
		size += len(msg)
		lastKey = eventKey{ev.ts, next.s.ord, ev.seq}
		out.Events = append(out.Events, xFilteredEvent{LogStreamName: next.s.name, Timestamp: ev.ts, Message: msg, IngestionTime: ev.ingest, EventID: next.s.eventID(ev)})
	}
}

type logsGetIn struct {
	LogGroupName       string `json:"logGroupName"`
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	LogStreamName      string `json:"logStreamName"`
	StartTime          *int64 `json:"startTime"`
	EndTime            *int64 `json:"endTime"`
	Limit              *int   `json:"limit"`
	NextToken          string `json:"nextToken"`
	StartFromHead      bool   `json:"startFromHead"`
}

type xOutputEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

// logsGetLogEvents returns events of one stream, from StartTime
// (inclusive) to EndTime (exclusive), as GetLogEvents pages: without a
// token the last limit events (the first with startFromHead); a forward
// token (f/...) gives the events after the last of its page, a backward
// token (b/...) those before the first of its page. A page with no
// events gives back the token it was asked with, so that a reader
// following the stream sees the same token when it has reached the end.
func (e *Emulator) logsGetLogEvents(ctx context.Context, body []byte) (any, error) {
	var in logsGetIn
	if err := decodeMembers(body, &in); err != nil {
		return nil, err
	}
	if in.LogStreamName == "" {
		return nil, logsInvalid("1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: Member must not be null")
	}
	limit, err := limitOf(in.Limit, maxEventsPerCall)
	if err != nil {
		return nil, err
	}
	start, end := timeRange(in.StartTime, in.EndTime)
	forward := in.StartFromHead
	var token eventKey // (ts, seq) of the token's edge; ord unused
	if in.NextToken != "" {
		dir, rest, _ := strings.Cut(in.NextToken, "/")
		k, ok := parseEventKey(rest)
		if !ok || dir != "f" && dir != "b" {
			return nil, logsInvalid("The specified nextToken is invalid.")
		}
		token, forward = k, dir == "f"
	}
	e.cwl.mu.Lock()
	defer e.cwl.mu.Unlock()
	g, err := e.group(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	s := g.stream(in.LogStreamName)
	if s == nil {
		return nil, logsNotFound("The specified log stream does not exist.")
	}
	if err := s.update(); err != nil {
		return nil, fmt.Errorf("reading the log of %s: %w", s.name, err)
	}
	// The events in the time range, as positions in s.events.
	lo, _ := slices.BinarySearchFunc(s.events, start, func(ev logEvent, t int64) int { return cmpInt(ev.ts, t) })
	hi, _ := slices.BinarySearchFunc(s.events, end, func(ev logEvent, t int64) int { return cmpInt(ev.ts, t) })
	hi = max(hi, lo)
	pos := func(k eventKey) int { // the first event after k
		i, _ := slices.BinarySearchFunc(s.events, k, func(ev logEvent, k eventKey) int {
			if c := cmpInt(ev.ts, k.ts); c != 0 {
				return c
			}
			return cmpInt(ev.seq, k.seq)
		})
		return i
	}
	var from, to int
	switch {
	case in.NextToken == "" && forward:
		from, to = lo, min(lo+limit, hi)
	case in.NextToken == "":
		from, to = max(hi-limit, lo), hi
	case forward:
		i := pos(eventKey{ts: token.ts, seq: token.seq + 1})
		from = max(i, lo)
		to = max(min(from+limit, hi), from)
	default:
		i := min(pos(token), hi)
		to = max(i, lo)
		from = max(to-limit, lo)
	}
	// At most 1 MB of messages: backward, the newest of the page.
	size := 0
	if forward {
		for i := from; i < to; i++ {
			if size += int(s.events[i].end - s.events[i].start); size > maxEventBytesCall && i > from {
				to = i
				break
			}
		}
	} else {
		for i := to - 1; i >= from; i-- {
			if size += int(s.events[i].end - s.events[i].start); size > maxEventBytesCall && i < to-1 {
				from = i + 1
				break
			}
		}
	}
	f, err := s.open()
	if err != nil {
		return nil, err
	}
	if f != nil {
		defer f.Close()
	}
	events := []xOutputEvent{}
	for i := from; i < to; i++ {
		ev := &s.events[i]
		msg, ok, err := s.read(f, ev)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue // the log is gone
		}
		events = append(events, xOutputEvent{Timestamp: ev.ts, Message: msg, IngestionTime: ev.ingest})
	}
	out := struct {
		Events            []xOutputEvent `json:"events"`
		NextForwardToken  string         `json:"nextForwardToken"`
		NextBackwardToken string         `json:"nextBackwardToken"`
	}{Events: events}
	key := func(i int) string { return fmt.Sprintf("%d/0/%d", s.events[i].ts, s.events[i].seq) }
	switch {
	case from < to:
		out.NextForwardToken, out.NextBackwardToken = "f/"+key(to-1), "b/"+key(from)
	case in.NextToken != "":
		// Nothing more this way: the same token again.
		if forward {
			out.NextForwardToken, out.NextBackwardToken = in.NextToken, "b/"+fmt.Sprintf("%d/0/%d", token.ts, token.seq+1)
		} else {
			out.NextForwardToken, out.NextBackwardToken = "f/"+fmt.Sprintf("%d/0/%d", token.ts, token.seq-1), in.NextToken
		}
	default:
		// No events at all: tokens around the edge of the range.
		edge := fmt.Sprintf("%d/0/%d", start, -1)
		if from < len(s.events) {
			edge = fmt.Sprintf("%d/0/%d", s.events[from].ts, s.events[from].seq-1)
		} else if from > 0 {
			edge = key(from - 1)
		}
		out.NextForwardToken, out.NextBackwardToken = "f/"+edge, "b/"+edge
	}
	return out, nil
}

// timeRange is a request's startTime and endTime: by default from the
// epoch to far in the future.
func timeRange(startTime, endTime *int64) (start, end int64) {
	start, end = 0, int64(1)<<62
	if startTime != nil {
		start = *startTime
	}
	if endTime != nil {
		end = *endTime
	}
	return start, end
}

func cmpInt[T int | int64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
