package auroratest

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/pgaurora/pgaurora/internal/pgserver"
)

// Performance Insights, on the same endpoint as the RDS API: the
// awsJson1.1 protocol (X-Amz-Target: PerformanceInsightsv20180227.<Action>),
// as aws-sdk-go-v2/service/pi writes and reads it.
//
// An instance created or modified with EnablePerformanceInsights has its
// pg_stat_activity sampled once a second, as Performance Insights samples
// an Aurora instance: every active session other than the sampler's own
// (state 'active'; WAL senders, which Aurora has none of, left out) is
// one observation, with its wait event ("CPU" when it waits on none), its
// statement (whitespace collapsed, cut at 500 bytes), user, application,
// client host and database. The last piMaxSamples samples of each
// instance are kept. db.load.avg over a period is the average number of
// active sessions in the samples of that period. No sampling happens
// while no instance has Performance Insights on.
//
// GetResourceMetrics and DescribeDimensionKeys read the samples, by the
// instance's DbiResourceId, grouped by the dimension groups db.wait_event,
// db.wait_event_type, db.sql, db.user, db.application, db.host and db,
// with filters on their dimensions and NextToken paging.

const (
	// piInterval is how often an instance with Performance Insights on is
	// sampled.
	piInterval = time.Second
	// piMaxSamples bounds the samples kept per instance: one hour's.
	piMaxSamples = 3600
	// piMaxStatement is the longest statement text kept, in bytes: what
	// DescribeDimensionKeys returns of one element.
	piMaxStatement = 500
	// piDefaultRetention is the free tier's retention, in days.
	piDefaultRetention = 7
	// piMaxPage is the largest MaxResults and GroupBy.Limit.
	piMaxPage = 25
	// piDefaultLimit is the number of keys of a GroupBy without a Limit.
	piDefaultLimit = 10
	// piMaxPoints bounds the data points of one metric.
	piMaxPoints = 10_080
	// piMetricLoad and piMetricSampledLoad are the metrics served; the
	// emulator samples every session, so they are equal.
	piMetricLoad        = "db.load.avg"
	piMetricSampledLoad = "db.sampledload.avg"
)

// piPeriods are the valid PeriodInSeconds.
var piPeriods = []int{1, 60, 300, 3600, 86400}

// piConfig is an instance's Performance Insights setting. It is part of
// the state.
type piConfig struct {
	enabled   bool
	retention int    // days
	kmsKeyID  string // the key of the collected data
}

// validPIRetention reports whether days is a valid
// PerformanceInsightsRetentionPeriod: 7, a multiple of 31 up to 713 (23
// months), or 731.
func validPIRetention(days int) bool {
	return days == 7 || days == 731 || days >= 31 && days <= 713 && days%31 == 0
}

// newPIConfig is the setting of an instance on which Performance
// Insights is turned on with the given retention and KMS key (nil and ""
// for the defaults: 7 days and the account's aws/rds key).
func (e *Emulator) newPIConfig(retention *int, kmsKeyID string) piConfig {
	c := piConfig{enabled: true, retention: piDefaultRetention, kmsKeyID: kmsKeyID}
	if retention != nil {
		c.retention = *retention
	}
	if c.kmsKeyID == "" {
		c.kmsKeyID = e.rdsKMSKeyARN
	}
	return c
}

// modifiedPIConfig is ModifyDBInstance's change of cur: enable (nil when
// not given), a retention (nil when not given) and a KMS key ("" when not
// given). As on RDS, the KMS key of an instance's collected data cannot
// change while Performance Insights is on.
func (e *Emulator) modifiedPIConfig(cur piConfig, enable *bool, retention *int, kmsKeyID string) (piConfig, error) {
	on := cur.enabled
	if enable != nil {
		on = *enable
	}
	if !on {
		return piConfig{}, nil
	}
	if !cur.enabled {
		return e.newPIConfig(retention, kmsKeyID), nil
	}
	next := cur
	if retention != nil {
		next.retention = *retention
	}
	if kmsKeyID != "" && kmsKeyID != cur.kmsKeyID {
		return cur, errInvalidCombination("You can't change the KMS key of Performance Insights while it is enabled: turn it off first.")
	}
	return next, nil
}

// setPIConfig gives an instance a new setting: turning it off drops the
// collected samples, turning it on starts the sampler. st is locked.
func (e *Emulator) setPIConfig(st *state, in *instance, c piConfig) {
	in.pi = c
	if !c.enabled {
		in.piSamples = nil
		return
	}
	e.startPISampling(st)
}

// piSession is one active session in one sample.
type piSession struct {
	waitType, waitEvent string // "" when on CPU
	sql                 string
	user                string
	userID              int64
	app, host, db       string
}

// piSample is one sample of an instance's pg_stat_activity.
type piSample struct {
	at       time.Time
	sessions []piSession
}

// piGroups are the dimension groups served, each with its dimensions.
var piGroups = map[string][]string{
	"db.wait_event":      {"db.wait_event.name", "db.wait_event.type"},
	"db.wait_event_type": {"db.wait_event_type.name"},
	"db.sql":             {"db.sql.id", "db.sql.db_id", "db.sql.statement"},
	"db.user":            {"db.user.id", "db.user.name"},
	"db.application":     {"db.application.name"},
	"db.host":            {"db.host.id", "db.host.name"},
	"db":                 {"db.name"},
}

// dim returns the session's value of a dimension, and whether the
// dimension is known.
func (s *piSession) dim(name string) (string, bool) {
	switch name {
	case "db.wait_event.name":
		if s.waitEvent == "" {
			return "CPU", true
		}
		return s.waitType + ":" + s.waitEvent, true
	case "db.wait_event.type", "db.wait_event_type.name":
		if s.waitEvent == "" {
			return "CPU", true
		}
		return s.waitType, true
	case "db.sql.statement":
		return s.sql, true
	case "db.sql.id":
		h := sha1.Sum([]byte(s.sql))
		return strings.ToUpper(hex.EncodeToString(h[:])), true
	case "db.sql.db_id":
		h := fnv.New32a()
		_, _ = h.Write([]byte(s.sql))
		return "pi-" + strconv.FormatUint(uint64(h.Sum32()), 10), true
	case "db.user.name":
		return s.user, true
	case "db.user.id":
		return strconv.FormatInt(s.userID, 10), true
	case "db.application.name":
		return s.app, true
	case "db.host.id", "db.host.name":
		return s.host, true
	case "db.name":
		return s.db, true
	}
	return "", false
}

// piKnownDimension reports whether name is a dimension of a served group.
func piKnownDimension(name string) bool {
	var s piSession
	_, ok := s.dim(name)
	return ok
}

// normalizeStatement collapses the whitespace of a statement and cuts it
// at piMaxStatement bytes, on a character boundary.
func normalizeStatement(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) <= piMaxStatement {
		return q
	}
	n := piMaxStatement
	for n > 0 && !utf8.RuneStart(q[n]) {
		n--
	}
	return q[:n]
}

// piSampleSQL reads the active sessions of an instance, other than the
// sampler's own: at most 1000 of them.
const piSampleSQL = `SELECT coalesce(a.wait_event_type, ''), coalesce(a.wait_event, ''),
  coalesce(left(a.query, 1000), ''), coalesce(a.usename::text, ''), coalesce(a.usesysid::int8, 0),
  coalesce(a.application_name, ''), coalesce(host(a.client_addr), ''), coalesce(a.datname::text, '')
FROM pg_catalog.pg_stat_activity a
WHERE a.state = 'active' AND a.pid <> pg_catalog.pg_backend_pid() AND a.backend_type <> 'walsender'
LIMIT 1000`

// startPISampling starts the sampling loop unless it runs. st is locked.
func (e *Emulator) startPISampling(st *state) {
	if st.piSampling || st.closed {
		return
	}
	st.piSampling = true
	e.goBackground(st, e.piLoop)
}

// piTarget is an instance to sample, with the server it runs on.
type piTarget struct {
	in  *instance
	srv *pgserver.Server
}

// piConn is the sampler's session on one instance's server.
type piConn struct {
	srv  *pgserver.Server
	conn *pgx.Conn
}

// piLoop samples, once a second, every instance with Performance
// Insights on whose server runs; it ends when none has it on, or at
// Close.
func (e *Emulator) piLoop(ctx context.Context) {
	conns := map[*instance]*piConn{}
	defer func() {
		for _, c := range conns {
			c.conn.Close(context.WithoutCancel(ctx))
		}
	}()
	tick := time.NewTicker(piInterval)
	defer tick.Stop()
	for {
		st := e.lock()
		var targets []piTarget
		enabled := false
		for _, in := range st.instances {
			if !in.pi.enabled {
				continue
			}
			enabled = true
			if in.server != nil && in.server.Running() {
				targets = append(targets, piTarget{in, in.server})
			}
		}
		if !enabled || ctx.Err() != nil {
			st.piSampling = false
			st.unlock()
			return
		}
		st.unlock()
		seen := map[*instance]bool{}
		for _, t := range targets {
			seen[t.in] = true
			s, err := e.piSampleOne(ctx, conns, t)
			if err != nil {
				if ctx.Err() == nil {
					e.log.Debug("auroratest: Performance Insights sample", "instance", t.in.id, "error", err)
				}
				continue
			}
			st := e.lock()
			if t.in.pi.enabled {
				t.in.piSamples = append(t.in.piSamples, s)
				if len(t.in.piSamples) >= 2*piMaxSamples {
					t.in.piSamples = slices.Clone(t.in.piSamples[len(t.in.piSamples)-piMaxSamples:])
				}
			}
			st.unlock()
		}
		for in, c := range conns {
			if !seen[in] {
				c.conn.Close(ctx)
				delete(conns, in)
			}
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// piSampleOne takes one sample of t, through the session conns holds for
// it, opened (again) when needed.
func (e *Emulator) piSampleOne(ctx context.Context, conns map[*instance]*piConn, t piTarget) (piSample, error) {
	c := conns[t.in]
	if c != nil && (c.srv != t.srv || c.conn.IsClosed()) {
		c.conn.Close(ctx)
		delete(conns, t.in)
		c = nil
	}
	if c == nil {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		cfg, err := t.srv.ConnConfig("postgres") // TLS when rds.force_ssl asks for it
		if err != nil {
			return piSample{}, err
		}
		cfg.RuntimeParams["application_name"] = piApplication
		conn, err := pgx.ConnectConfig(cctx, cfg)
		if err != nil {
			return piSample{}, err
		}
		c = &piConn{t.srv, conn}
		conns[t.in] = c
	}
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	at := time.Now().UTC()
	rows, err := c.conn.Query(qctx, piSampleSQL)
	if err != nil {
		c.conn.Close(ctx)
		delete(conns, t.in)
		return piSample{}, err
	}
	s := piSample{at: at}
	for rows.Next() {
		var x piSession
		if err := rows.Scan(&x.waitType, &x.waitEvent, &x.sql, &x.user, &x.userID, &x.app, &x.host, &x.db); err != nil {
			rows.Close()
			return piSample{}, err
		}
		x.sql = normalizeStatement(x.sql)
		s.sessions = append(s.sessions, x)
	}
	if err := rows.Err(); err != nil {
		c.conn.Close(ctx)
		delete(conns, t.in)
		return piSample{}, err
	}
	return s, nil
}

// The Performance Insights service.

func piInvalid(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidArgumentException", fmt.Sprintf(format, args...)}
}

func piNotAuthorized(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "NotAuthorizedException", fmt.Sprintf(format, args...)}
}

// performanceInsights is the Performance Insights service: its actions,
// each with the request members it reads.
func (e *Emulator) performanceInsights() *jsonService {
	return &jsonService{
		name:        "Performance Insights",
		prefix:      "PerformanceInsightsv20180227.",
		contentType: "application/x-amz-json-1.1",
		actions: map[string]jsonAction{
			"GetResourceMetrics": {[]string{"ServiceType", "Identifier", "MetricQueries", "StartTime", "EndTime",
				"PeriodInSeconds", "MaxResults", "NextToken", "PeriodAlignment"}, e.piGetResourceMetrics},
			"DescribeDimensionKeys": {[]string{"ServiceType", "Identifier", "Metric", "GroupBy", "Filter", "StartTime", "EndTime",
				"PeriodInSeconds", "MaxResults", "NextToken"}, e.piDescribeDimensionKeys},
		},
	}
}

type piDimensionGroup struct {
	Group      *string
	Dimensions []string
	Limit      *int
}

type piMetricQuery struct {
	Metric  *string
	GroupBy *piDimensionGroup
	Filter  map[string]string
}

type piMetricKey struct {
	Metric     string
	Dimensions map[string]string `json:",omitempty"`
}

type piDataPoint struct {
	Timestamp epoch
	Value     *float64 `json:",omitempty"`
}

type piMetricKeyDataPoints struct {
	Key        piMetricKey
	DataPoints []piDataPoint
}

// piWindow is a request's time range, aligned to its period.
type piWindow struct {
	start, end time.Time // aligned
	period     time.Duration
}

// piRequest is what the two actions share.
type piRequest struct {
	ServiceType     string
	Identifier      string
	StartTime       *epoch
	EndTime         *epoch
	PeriodInSeconds *int
	MaxResults      *int
	NextToken       *string
}

// resolve checks the shared members and returns the instance's samples
// in the window, with the window and the page to start at.
func (e *Emulator) piResolve(r *piRequest) ([]piSample, piWindow, int, int, error) {
	var w piWindow
	if r.ServiceType != "RDS" {
		return nil, w, 0, 0, piInvalid("Invalid ServiceType %q: auroratest serves RDS.", r.ServiceType)
	}
	if r.StartTime == nil || r.EndTime == nil {
		return nil, w, 0, 0, piInvalid("StartTime and EndTime are required.")
	}
	start, end := time.Time(*r.StartTime), time.Time(*r.EndTime)
	if !start.Before(end) {
		return nil, w, 0, 0, piInvalid("StartTime must be earlier than EndTime.")
	}
	period := 0
	if r.PeriodInSeconds != nil {
		period = *r.PeriodInSeconds
		if !slices.Contains(piPeriods, period) {
			return nil, w, 0, 0, piInvalid("Invalid PeriodInSeconds %d: valid values are 1, 60, 300, 3600 and 86400.", period)
		}
	} else {
		// About 100 to 200 data points, as Performance Insights picks.
		period = piPeriods[len(piPeriods)-1]
		for _, p := range piPeriods {
			if end.Sub(start) <= time.Duration(p)*200*time.Second {
				period = p
				break
			}
		}
	}
	w.period = time.Duration(period) * time.Second
	w.start = start.Truncate(w.period)
	w.end = end.Truncate(w.period)
	if w.end.Before(end) {
		w.end = w.end.Add(w.period)
	}
	if n := w.end.Sub(w.start) / w.period; n > piMaxPoints {
		return nil, w, 0, 0, piInvalid("The time range holds %d periods of %ds; at most %d are served: use a longer PeriodInSeconds.", n, period, piMaxPoints)
	}
	pageSize := piMaxPage
	if r.MaxResults != nil {
		if *r.MaxResults < 0 || *r.MaxResults > piMaxPage {
			return nil, w, 0, 0, piInvalid("Invalid MaxResults %d: valid values are 0 to %d.", *r.MaxResults, piMaxPage)
		}
		if *r.MaxResults > 0 {
			pageSize = *r.MaxResults
		}
	}
	offset := 0
	if r.NextToken != nil {
		var err error
		if offset, err = piParseToken(*r.NextToken); err != nil {
			return nil, w, 0, 0, err
		}
	}
	st := e.lock()
	defer st.unlock()
	var in *instance
	for _, x := range st.instances {
		if x.resourceID == r.Identifier {
			in = x
		}
	}
	if in == nil {
		return nil, w, 0, 0, piNotAuthorized("The resource %s does not exist or you are not authorized to access it (Identifier is the instance's DbiResourceId).", r.Identifier)
	}
	if !in.pi.enabled {
		return nil, w, 0, 0, piNotAuthorized("Performance Insights is not enabled for the DB instance %s (%s).", in.id, r.Identifier)
	}
	if time.Since(start) > time.Duration(in.pi.retention)*24*time.Hour {
		return nil, w, 0, 0, piInvalid("StartTime must be within the retention period of %d days.", in.pi.retention)
	}
	var samples []piSample
	for _, s := range in.piSamples {
		if !s.at.Before(w.start) && s.at.Before(w.end) {
			samples = append(samples, s)
		}
	}
	return samples, w, offset, pageSize, nil
}

func piToken(offset int) string { return encodeToken(piTokenPrefix, strconv.Itoa(offset)) }

func piParseToken(tok string) (int, error) {
	if s, ok := decodeToken(piTokenPrefix, tok); ok {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, piInvalid("The NextToken is not valid.")
}

const piTokenPrefix = "auroratest-pi:"

// piGrouping is a checked GroupBy with a filter.
type piGrouping struct {
	dims   []string // nil for no grouping
	limit  int
	filter map[string]string
}

func piCheckGrouping(g *piDimensionGroup, filter map[string]string, required bool) (piGrouping, error) {
	out := piGrouping{filter: filter}
	for k := range filter {
		if !piKnownDimension(k) {
			return out, piInvalid("Invalid Filter dimension %q: auroratest serves the dimensions of %s.", k, strings.Join(slices.Sorted(maps.Keys(piGroups)), ", "))
		}
	}
	if g == nil {
		if required {
			return out, piInvalid("GroupBy is required.")
		}
		return out, nil
	}
	if g.Group == nil {
		return out, piInvalid("GroupBy.Group is required.")
	}
	dims, ok := piGroups[*g.Group]
	if !ok {
		return out, piInvalid("Invalid dimension group %q: auroratest serves %s.", *g.Group, strings.Join(slices.Sorted(maps.Keys(piGroups)), ", "))
	}
	if len(g.Dimensions) > 0 {
		for _, d := range g.Dimensions {
			if !slices.Contains(dims, d) {
				return out, piInvalid("Invalid dimension %q for the group %s: its dimensions are %s.", d, *g.Group, strings.Join(dims, ", "))
			}
		}
		dims = g.Dimensions
	}
	out.dims, out.limit = dims, piDefaultLimit
	if g.Limit != nil {
		if *g.Limit < 1 || *g.Limit > piMaxPage {
			return out, piInvalid("Invalid GroupBy.Limit %d: valid values are 1 to %d.", *g.Limit, piMaxPage)
		}
		out.limit = *g.Limit
	}
	return out, nil
}

// matches reports whether a session passes the filter.
func (g *piGrouping) matches(s *piSession) bool {
	for k, v := range g.filter {
		if got, _ := s.dim(k); got != v {
			return false
		}
	}
	return true
}

// key returns the session's key: its values of the grouping dimensions.
func (g *piGrouping) key(s *piSession) string {
	vals := make([]string, len(g.dims))
	for i, d := range g.dims {
		vals[i], _ = s.dim(d)
	}
	return strings.Join(vals, "\x00")
}

// piKey is one key's aggregate.
type piKey struct {
	key   string
	dims  map[string]string
	count int
}

// topKeys returns the keys of the sessions in samples, by decreasing
// count (ties by key), at most g.limit.
func (g *piGrouping) topKeys(samples []piSample) []piKey {
	keys := map[string]*piKey{}
	for _, s := range samples {
		for i := range s.sessions {
			x := &s.sessions[i]
			if !g.matches(x) {
				continue
			}
			k := g.key(x)
			pk := keys[k]
			if pk == nil {
				pk = &piKey{key: k, dims: map[string]string{}}
				for _, d := range g.dims {
					pk.dims[d], _ = x.dim(d)
				}
				keys[k] = pk
			}
			pk.count++
		}
	}
	list := make([]piKey, 0, len(keys))
	for _, k := range keys {
		list = append(list, *k)
	}
	slices.SortFunc(list, func(a, b piKey) int {
		if c := cmp.Compare(b.count, a.count); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	if len(list) > g.limit {
		list = list[:g.limit]
	}
	return list
}

// series returns the data points of the sessions in samples that pass
// the filter (and have key, when key is not nil): per period, the
// average of their count over the period's samples; no value for a
// period without samples.
func (g *piGrouping) series(samples []piSample, w piWindow, key *string, alignEnd bool) []piDataPoint {
	n := int(w.end.Sub(w.start) / w.period)
	counts := make([]int, n)
	taken := make([]int, n)
	for _, s := range samples {
		i := int(s.at.Sub(w.start) / w.period)
		taken[i]++
		for j := range s.sessions {
			x := &s.sessions[j]
			if g.matches(x) && (key == nil || g.key(x) == *key) {
				counts[i]++
			}
		}
	}
	points := make([]piDataPoint, n)
	for i := range points {
		t := w.start.Add(time.Duration(i) * w.period)
		if alignEnd {
			t = t.Add(w.period)
		}
		points[i].Timestamp = epoch(t)
		if taken[i] > 0 {
			v := math.Round(float64(counts[i])/float64(taken[i])*1e6) / 1e6
			points[i].Value = &v
		}
	}
	return points
}

func piCheckMetric(m *string) error {
	if m == nil || *m == "" {
		return piInvalid("Metric is required.")
	}
	if *m != piMetricLoad && *m != piMetricSampledLoad {
		return piInvalid("Invalid metric %q: auroratest serves %s and %s.", *m, piMetricLoad, piMetricSampledLoad)
	}
	return nil
}

type piGetResourceMetricsIn struct {
	piRequest
	MetricQueries   []piMetricQuery
	PeriodAlignment string
}

type piGetResourceMetricsOut struct {
	AlignedStartTime epoch
	AlignedEndTime   epoch
	Identifier       string
	MetricList       []piMetricKeyDataPoints
	NextToken        string `json:",omitempty"`
}

func (e *Emulator) piGetResourceMetrics(_ context.Context, body []byte) (any, error) {
	var in piGetResourceMetricsIn
	if err := decodeMembers(body, &in); err != nil {
		return nil, err
	}
	if len(in.MetricQueries) == 0 || len(in.MetricQueries) > 15 {
		return nil, piInvalid("MetricQueries must have 1 to 15 queries.")
	}
	alignEnd := true
	switch in.PeriodAlignment {
	case "", "END_TIME":
	case "START_TIME":
		alignEnd = false
	default:
		return nil, piInvalid("Invalid PeriodAlignment %q: use END_TIME or START_TIME.", in.PeriodAlignment)
	}
	groupings := make([]piGrouping, len(in.MetricQueries))
	for i, q := range in.MetricQueries {
		if err := piCheckMetric(q.Metric); err != nil {
			return nil, err
		}
		var err error
		if groupings[i], err = piCheckGrouping(q.GroupBy, q.Filter, false); err != nil {
			return nil, err
		}
	}
	samples, w, offset, pageSize, err := e.piResolve(&in.piRequest)
	if err != nil {
		return nil, err
	}
	var all []piMetricKeyDataPoints
	for i, q := range in.MetricQueries {
		g := &groupings[i]
		all = append(all, piMetricKeyDataPoints{Key: piMetricKey{Metric: *q.Metric}, DataPoints: g.series(samples, w, nil, alignEnd)})
		if g.dims == nil {
			continue
		}
		for _, k := range g.topKeys(samples) {
			all = append(all, piMetricKeyDataPoints{Key: piMetricKey{Metric: *q.Metric, Dimensions: k.dims}, DataPoints: g.series(samples, w, &k.key, alignEnd)})
		}
	}
	out := piGetResourceMetricsOut{AlignedStartTime: epoch(w.start), AlignedEndTime: epoch(w.end), Identifier: in.Identifier}
	if offset > len(all) {
		return nil, piInvalid("The NextToken is not valid.")
	}
	all = all[offset:]
	if len(all) > pageSize {
		all, out.NextToken = all[:pageSize], piToken(offset+pageSize)
	}
	out.MetricList = all
	return out, nil
}

type piDescribeDimensionKeysIn struct {
	piRequest
	Metric  *string
	GroupBy *piDimensionGroup
	Filter  map[string]string
}

type piDimensionKeyDescription struct {
	Dimensions map[string]string
	Total      float64
}

type piDescribeDimensionKeysOut struct {
	AlignedStartTime epoch
	AlignedEndTime   epoch
	Keys             []piDimensionKeyDescription
	NextToken        string `json:",omitempty"`
}

func (e *Emulator) piDescribeDimensionKeys(_ context.Context, body []byte) (any, error) {
	var in piDescribeDimensionKeysIn
	if err := decodeMembers(body, &in); err != nil {
		return nil, err
	}
	if err := piCheckMetric(in.Metric); err != nil {
		return nil, err
	}
	g, err := piCheckGrouping(in.GroupBy, in.Filter, true)
	if err != nil {
		return nil, err
	}
	samples, w, offset, pageSize, err := e.piResolve(&in.piRequest)
	if err != nil {
		return nil, err
	}
	out := piDescribeDimensionKeysOut{AlignedStartTime: epoch(w.start), AlignedEndTime: epoch(w.end), Keys: []piDimensionKeyDescription{}}
	keys := g.topKeys(samples)
	if offset > len(keys) {
		return nil, piInvalid("The NextToken is not valid.")
	}
	keys = keys[offset:]
	if len(keys) > pageSize {
		keys, out.NextToken = keys[:pageSize], piToken(offset+pageSize)
	}
	for _, k := range keys {
		total := math.Round(float64(k.count)/float64(len(samples))*1e6) / 1e6
		out.Keys = append(out.Keys, piDimensionKeyDescription{Dimensions: k.dims, Total: total})
	}
	return out, nil
}
