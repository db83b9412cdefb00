package aurora

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/extensions"
	"github.com/pgaurora/pgaurora/params"
)

// EngineLifecycle is one major version's support calendar, as
// DescribeDBMajorEngineVersions reports it.
type EngineLifecycle struct {
	// Major is the major version ("15").
	Major string
	// StandardSupportEnd is the last day of RDS standard support; zero
	// when the API did not report it.
	StandardSupportEnd time.Time
	// ExtendedSupportEnd is the last day of RDS Extended Support; zero
	// when the API did not report it.
	ExtendedSupportEnd time.Time
}

// EngineLifecycles are Aurora PostgreSQL's support calendars, by major
// version ("15").
type EngineLifecycles map[string]EngineLifecycle

// EngineLifecycles reads Aurora PostgreSQL's support calendar of every
// major version (DescribeDBMajorEngineVersions, every page). The calendar
// is the Region's, not the cluster's: read it once for many clusters and
// pass it in AdviseOptions.Lifecycles.
func (c *Cluster) EngineLifecycles(ctx context.Context) (EngineLifecycles, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	out := EngineLifecycles{}
	pages := rds.NewDescribeDBMajorEngineVersionsPaginator(c.api, &rds.DescribeDBMajorEngineVersionsInput{Engine: aws.String(pgaurora.Engine)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("aurora: reading the engine's support lifecycles: %w", err)
		}
		for _, v := range page.DBMajorEngineVersions {
			l := EngineLifecycle{Major: aws.ToString(v.MajorEngineVersion)}
			for _, s := range v.SupportedEngineLifecycles {
				switch s.LifecycleSupportName {
				case types.LifecycleSupportNameOpenSourceRdsStandardSupport:
					l.StandardSupportEnd = aws.ToTime(s.LifecycleSupportEndDate)
				case types.LifecycleSupportNameOpenSourceRdsExtendedSupport:
					l.ExtendedSupportEnd = aws.ToTime(s.LifecycleSupportEndDate)
				}
			}
			out[l.Major] = l
		}
	}
	return out, nil
}

// extendedSupport reports the cluster's major version past the end of
// standard support at now. A major the calendar does not list, or lists
// without an end of standard support, is not judged.
func (a *advice) extendedSupport(lcs EngineLifecycles, now time.Time) error {
	v, err := pgaurora.ParseEngineVersion(a.d.EngineVersion)
	if err != nil {
		return err
	}
	l, ok := lcs[strconv.Itoa(v.Major)]
	if !ok || l.StandardSupportEnd.IsZero() {
		return nil
	}
	// The end date is the last day of standard support.
	if now.Before(l.StandardSupportEnd.AddDate(0, 0, 1)) {
		return nil
	}
	ev := fmt.Sprintf("engine version %s: standard support of PostgreSQL %d ended on %s", a.d.EngineVersion, v.Major, l.StandardSupportEnd.UTC().Format(time.DateOnly))
	sev := SeverityWarning
	if a.d.EngineLifecycleSupport == "open-source-rds-extended-support-disabled" {
		ev += "; EngineLifecycleSupport=open-source-rds-extended-support-disabled, so AWS upgrades the cluster in a maintenance window"
		sev = SeverityCritical
	} else {
		ev += "; the cluster runs on RDS Extended Support, which is charged"
		if !l.ExtendedSupportEnd.IsZero() {
			ev += " and ends on " + l.ExtendedSupportEnd.UTC().Format(time.DateOnly)
		}
	}
	a.add(Finding{ID: CheckExtendedSupport, Severity: sev,
		Resource: a.clusterResource(), Evidence: ev,
		Fix: Fix{Workflow: "Cluster.PlanMajorUpgrade, then Cluster.MajorUpgrade to a major version in standard support"}})
	return nil
}

// checkPrices refuses prices that cannot be used, naming the field.
func checkPrices(p *AdvisePrices, d *Description) error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"StorageGBMonthPrice", p.StorageGBMonthPrice}, {"IOPricePerMillion", p.IOPricePerMillion}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return &InputError{Field: "AdvisePrices." + f.name, Value: strconv.FormatFloat(f.v, 'g', -1, 64), Allowed: "a finite number of 0 or more"}
		}
	}
	if p.Window < 0 {
		return &InputError{Field: "AdvisePrices.Window", Value: p.Window.String(), Allowed: "0 (7 days) or a positive duration"}
	}
	if p.Period != 0 {
		now := time.Now()
		if err := checkPeriod("AdvisePrices.Period", p.Period, now.Add(-cmp.Or(p.Window, 7*24*time.Hour)), now, metricSubMinute); err != nil {
			return err
		}
	}
	for _, in := range (&advice{d: d}).instances() {
		h, ok := p.HourlyPrices[in.Class]
		if !ok {
			return &InputError{Field: "AdvisePrices.HourlyPrices", Value: "no price for " + in.Class + " (instance " + in.ID + ")", Allowed: "an hourly price for every instance class of the cluster"}
		}
		if math.IsNaN(h) || math.IsInf(h, 0) || h < 0 {
			return &InputError{Field: "AdvisePrices.HourlyPrices[" + in.Class + "]", Value: strconv.FormatFloat(h, 'g', -1, 64), Allowed: "a finite number of 0 or more"}
		}
	}
	return nil
}

// ioOptimized estimates the cluster's monthly cost on Aurora Standard
// from the caller's prices and the volume's metrics over the window
// (VolumeReadIOPs and VolumeWriteIOPs summed per period, VolumeBytesUsed
// averaged), and reports I/O above IOOptimizedShare of it. The I/O rate
// is the I/O of the periods that have data over their length, so a
// window CloudWatch has no data for is not judged. A cluster already on
// I/O-Optimized is not judged.
func (a *advice) ioOptimized(ctx context.Context, c *Cluster, now time.Time) error {
	p := a.opts.Prices
	if p == nil || a.d.StorageType == "aurora-iopt1" {
		return nil
	}
	window, period := cmp.Or(p.Window, 7*24*time.Hour), cmp.Or(p.Period, 5*time.Minute)
	series, err := c.Monitoring().Metrics(ctx, &MetricsOptions{Metrics: []MetricName{VolumeReadIOPs, VolumeWriteIOPs},
		Start: now.Add(-window), End: now, Period: period, Statistic: StatSum})
	if err != nil {
		return err
	}
	bytes, err := c.Monitoring().Metrics(ctx, &MetricsOptions{Metrics: []MetricName{VolumeBytesUsed},
		Start: now.Add(-window), End: now, Period: period, Statistic: StatAverage})
	if err != nil {
		return err
	}
	var ios float64
	periods := map[time.Time]bool{}
	for _, s := range series {
		for _, pt := range s.Points {
			ios += pt.Value
			periods[pt.Time] = true
		}
	}
	if len(periods) == 0 {
		return nil
	}
	observed := time.Duration(len(periods)) * period
	perMonth := ios / observed.Hours() * HoursPerMonth
	var gb float64
	if b, ok := bytes[0].Last(); ok {
		gb = b.Value / 1e9
	}
	in := CostInput{StorageGB: gb, StorageGBMonthPrice: p.StorageGBMonthPrice, IOPerMonth: perMonth, IOPricePerMillion: p.IOPricePerMillion}
	var est CostEstimate
	for _, x := range a.instances() {
		e, err := EstimateMonthlyCost(CostInput{Instances: 1, HourlyPrice: p.HourlyPrices[x.Class]})
		if err != nil {
			return err
		}
		est.Compute += e.Compute
	}
	rest, err := EstimateMonthlyCost(in)
	if err != nil {
		return err
	}
	est.Storage, est.IO = rest.Storage, rest.IO
	est.Total = est.Compute + est.Storage + est.IO
	if est.Total <= 0 || est.IO/est.Total <= IOOptimizedShare {
		return nil
	}
	a.add(Finding{ID: CheckIOOptimized,
		Resource: a.clusterResource(),
		Evidence: fmt.Sprintf("I/O is %.0f%% of the estimated monthly cost on Aurora Standard (%s), from %.0f I/O requests in %s of CloudWatch data (%.0f a month)",
			100*est.IO/est.Total, est, ios, observed, perMonth),
		Fix: Fix{Action: "ModifyDBCluster with StorageType=aurora-iopt1 (Aurora I/O-Optimized), after comparing with its own instance and storage prices"}})
	return nil
}

// userGroupValues reads the values set (Source user) in the cluster's
// custom DB cluster parameter group and in the custom DB parameter groups
// of its instances, once for the checks that need them.
type userGroupValues struct {
	cluster   map[string]params.Parameter
	instances map[string]map[string]params.Parameter // by group
	groups    []string                               // the custom instance groups, sorted
	members   map[string][]string                    // instances by group
}

func (a *advice) readGroupValues(ctx context.Context, c *Cluster) (*userGroupValues, error) {
	u := &userGroupValues{instances: map[string]map[string]params.Parameter{}, members: map[string][]string{}}
	for _, in := range a.instances() {
		if isDefaultClusterGroup(in.ParameterGroup) { // "" too
			continue
		}
		if u.members[in.ParameterGroup] == nil {
			u.groups = append(u.groups, in.ParameterGroup)
		}
		u.members[in.ParameterGroup] = append(u.members[in.ParameterGroup], in.ID)
	}
	slices.Sort(u.groups)
	var err error
	if u.cluster, err = c.userValues(ctx, params.ClusterGroup, a.d.ParameterGroup); err != nil {
		return nil, err
	}
	for _, g := range u.groups {
		if u.instances[g], err = c.userValues(ctx, params.InstanceGroup, g); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// parametersNotAccepted reports the values of the custom groups that the
// group's own metadata (params.ValidateAgainst) or the SDK's catalog
// (params.Validate) refuses. Formulas, whose value depends on the
// instance, are not judged.
func (a *advice) parametersNotAccepted(u *userGroupValues) {
	check := func(kind params.Kind, group, resource string, values map[string]params.Parameter) {
		label := "DB cluster parameter group"
		if kind == params.InstanceGroup {
			label = "DB parameter group"
		}
		keys := slices.Sorted(maps.Keys(values))
		for _, k := range keys {
			p := values[k]
			if isFormula(p.Value) {
				continue
			}
			ch := params.Change{Name: p.Name, Value: p.Value}
			err := params.ValidateAgainst([]params.Parameter{p}, []params.Change{ch})
			if err == nil {
				err = params.Validate(kind, ch)
			}
			if err == nil {
				continue
			}
			a.add(Finding{ID: CheckParameterNotAccepted,
				Resource: resource + "/" + p.Name,
				Evidence: fmt.Sprintf("%s %s sets %s=%s: %v", label, group, p.Name, p.Value, err),
				Fix:      Fix{Workflow: fmt.Sprintf("Cluster.Params().Reset(ctx, %s, %q, %q)", kindExpr(kind), group, p.Name), Action: "or Modify it to a value the parameter accepts"}})
		}
	}
	if !isDefaultClusterGroup(a.d.ParameterGroup) {
		check(params.ClusterGroup, a.d.ParameterGroup, "db-cluster-parameter-group/"+a.d.ParameterGroup, u.cluster)
	}
	for _, g := range u.groups {
		check(params.InstanceGroup, g, "db-parameter-group/"+g, u.instances[g])
	}
}

func kindExpr(k params.Kind) string {
	if k == params.InstanceGroup {
		return "params.InstanceGroup"
	}
	return "params.ClusterGroup"
}

// languageNames are the extensions CheckLanguageBelowDefault judges.
func (a *advice) languageNames() []string {
	if a.opts.Languages != nil {
		return a.opts.Languages
	}
	return extensions.DefaultLanguageExtensions
}

// capacitySQL reads the writer's replication and connection settings and
// what uses them, in one row: the settings; the replication slots (not
// temporary); the subscriptions of the whole server (pg_subscription is
// a shared catalog); the client sessions and how many are idle; and, from
// PostgreSQL 14 on, pg_stat_database's session counters summed over the
// databases, with the time they count from (the oldest stats_reset, else
// the server's start).
const capacitySQL = `SELECT
	pg_catalog.current_setting('max_replication_slots')::int,
	pg_catalog.current_setting('max_wal_senders')::int,
	pg_catalog.current_setting('max_logical_replication_workers')::int,
	pg_catalog.current_setting('max_worker_processes')::int,
	pg_catalog.current_setting('max_connections')::int,
	(SELECT count(*) FROM pg_catalog.pg_replication_slots WHERE NOT temporary),
	(SELECT count(*) FROM pg_catalog.pg_subscription),
	(SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_catalog.pg_backend_pid()),
	(SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_catalog.pg_backend_pid() AND state = 'idle'),
	pg_catalog.current_setting('shared_preload_libraries'),
	%s`

// sessionsSQL is capacitySQL's last column from PostgreSQL 14 on:
// pg_stat_database's sessions, abandoned sessions, session time (ms) and
// the seconds they count over, as an array.
const sessionsSQL = `(SELECT ARRAY[coalesce(sum(sessions), 0)::float8, coalesce(sum(sessions_abandoned), 0)::float8, coalesce(sum(session_time), 0)::float8,
	extract(epoch FROM pg_catalog.now() - coalesce(min(stats_reset), pg_catalog.pg_postmaster_start_time()))::float8]
FROM pg_catalog.pg_stat_database WHERE datid <> 0)`

// The thresholds of CheckRDSProxy.
const (
	// ProxyIdleShare is the share of max_connections that client
	// sessions must reach for the idle rule.
	ProxyIdleShare = 0.5
	// ProxyIdleFraction is the share of those sessions that must be idle
	// for the idle rule.
	ProxyIdleFraction = 0.8
	// ProxyChurnSessions is the number of sessions pg_stat_database must
	// count since its statistics were reset for the churn rule.
	ProxyChurnSessions = 1000
	// ProxyChurnRate is the average number of sessions opened per second
	// at or above which the churn rule holds.
	ProxyChurnRate = 1.0
	// ProxyChurnMeanSession is the average session length under which
	// the churn rule holds.
	ProxyChurnMeanSession = time.Second
)

// replicationCapacity reports the settings that leave no room for the
// replication that exists, one finding naming each:
//   - max_replication_slots <= slots + subscriptions: a subscription's
//     apply worker needs a replication origin, which max_replication_slots
//     also bounds, and a new slot (or a table sync's temporary one) has
//     none left;
//   - max_wal_senders <= slots: each slot's consumer takes a WAL sender
//     when it connects, and none is left for one more;
//   - max_logical_replication_workers <= subscriptions (the server's,
//     enabled or not, plus the pglogical subscriptions of the Cluster's
//     database): each takes an apply worker, with none left for a table
//     sync;
//   - max_worker_processes < max_logical_replication_workers + 1 (the
//     launcher) + pglogical's supervisor, database manager and apply
//     workers when pglogical is preloaded, as PostgreSQL documents.
//
// It also reads the sessions for CheckRDSProxy (proxyNeed).
func (a *advice) replicationCapacity(ctx context.Context, tx pgx.Tx) error {
	v, err := pgaurora.ParseEngineVersion(a.d.EngineVersion)
	if err != nil {
		return err
	}
	sessionsCol := "NULL::float8[]" // no session counters before PostgreSQL 14
	if v.Major >= 14 {
		sessionsCol = sessionsSQL
	}
	var slotsMax, sendersMax, workersMax, procsMax, connMax, slots, subs, clients, idle int
	var preload string
	var sessions []float64
	if err := tx.QueryRow(ctx, fmt.Sprintf(capacitySQL, sessionsCol)).Scan(&slotsMax, &sendersMax, &workersMax, &procsMax, &connMax, &slots, &subs, &clients, &idle, &preload, &sessions); err != nil {
		return err
	}
	allSubs := subs + a.pglogicalSubs
	var low []string
	var changes []params.Change
	grow := func(name string, have, need int) {
		low = append(low, fmt.Sprintf("%s=%d for %d", name, have, need))
		changes = append(changes, params.Change{Name: name, Value: strconv.Itoa(max(need+need/2, need+2))})
	}
	if need := slots + allSubs; need > 0 && slotsMax <= need {
		grow("max_replication_slots", slotsMax, need)
	}
	if slots > 0 && sendersMax <= slots {
		grow("max_wal_senders", sendersMax, slots)
	}
	if allSubs > 0 && workersMax <= allSubs {
		grow("max_logical_replication_workers", workersMax, allSubs)
	}
	pgl := 0
	if libs, err := params.ParseLibraryList(preload); err == nil && libs.Contains("pglogical") {
		pgl = 2 + a.pglogicalSubs
	}
	if need := workersMax + 1 + pgl; allSubs > 0 && procsMax < need {
		grow("max_worker_processes", procsMax, need)
	}
	if len(low) > 0 {
		a.add(Finding{ID: CheckReplicationCapacity,
			Resource: a.writerResource(),
			Evidence: fmt.Sprintf("with %d replication slot(s) and %d subscription(s) (%d native, %d pglogical), the writer has %s", slots, allSubs, subs, a.pglogicalSubs, strings.Join(low, ", ")),
			Fix:      withWorkflow(a.clusterGroupFix(changes...), "Cluster.Params().RebootPending (the settings are static)")})
	}
	a.proxyNeed(connMax, clients, idle, sessions)
	return nil
}

// writerResource is "instance/WRITER", or the cluster while no writer is
// known.
func (a *advice) writerResource() string {
	if a.d.Writer != nil {
		return "instance/" + a.d.Writer.ID
	}
	return a.clusterResource()
}

// proxyNeed reports CheckRDSProxy on the writer when either holds:
//   - at least ProxyIdleShare of max_connections are client sessions,
//     and at least ProxyIdleFraction of them are idle;
//   - (PostgreSQL 14+) pg_stat_database counts at least
//     ProxyChurnSessions sessions, opened at ProxyChurnRate per second or
//     more since the statistics count, and lasting less than
//     ProxyChurnMeanSession on average.
func (a *advice) proxyNeed(connMax, clients, idle int, counters []float64) {
	var why []string
	if connMax > 0 && float64(clients) >= ProxyIdleShare*float64(connMax) && float64(idle) >= ProxyIdleFraction*float64(clients) {
		why = append(why, fmt.Sprintf("%d client sessions of max_connections=%d are connected, %d of them idle", clients, connMax, idle))
	}
	if len(counters) == 4 {
		sessions, abandoned, sessionMS, seconds := counters[0], counters[1], counters[2], counters[3]
		if sessions >= ProxyChurnSessions && seconds > 0 {
			rate, mean := sessions/seconds, time.Duration(sessionMS/sessions*float64(time.Millisecond))
			if rate >= ProxyChurnRate && mean < ProxyChurnMeanSession {
				why = append(why, fmt.Sprintf("%.0f sessions in %s (%.1f a second), lasting %s on average, %.0f abandoned", sessions, (time.Duration(seconds)*time.Second).String(), rate, mean.Round(time.Millisecond), abandoned))
			}
		}
	}
	if len(why) == 0 {
		return
	}
	a.add(Finding{ID: CheckRDSProxy,
		Resource: a.writerResource(),
		Evidence: strings.Join(why, "; "),
		Fix:      Fix{Action: "put RDS Proxy in front of the clients (CreateDBProxy with the cluster as target), or give them a connection pool"}})
}

// truncateFKSQL lists, for each publication that publishes TRUNCATE, the
// foreign keys between a table it publishes and one it does not.
const truncateFKSQL = `WITH pub AS (
	SELECT p.pubname, c.oid AS relid
	FROM pg_catalog.pg_publication p
	JOIN pg_catalog.pg_publication_tables t ON t.pubname = p.pubname
	JOIN pg_catalog.pg_namespace n ON n.nspname = t.schemaname
	JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.tablename
	WHERE p.pubtruncate)
SELECT pub.pubname::text, k.conname::text,
	(SELECT pg_catalog.format('%s.%s', n.nspname, c.relname) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = k.conrelid),
	(SELECT pg_catalog.format('%s.%s', n.nspname, c.relname) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = k.confrelid),
	k.conrelid = pub.relid
FROM pub JOIN pg_catalog.pg_constraint k ON k.contype = 'f' AND (k.conrelid = pub.relid OR k.confrelid = pub.relid)
WHERE NOT EXISTS (SELECT 1 FROM pub o WHERE o.pubname = pub.pubname
	AND o.relid = CASE WHEN k.conrelid = pub.relid THEN k.confrelid ELSE k.conrelid END)
ORDER BY 1, 3, 2`

// truncateAcrossForeignKeys reports the published tables linked by a
// foreign key to a table the same publication does not publish, when the
// publication publishes TRUNCATE.
func (a *advice) truncateAcrossForeignKeys(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, truncateFKSQL)
	if err != nil {
		return err
	}
	type link struct {
		pub, con, from, to string
		fromPublished      bool
	}
	links, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (link, error) {
		var l link
		return l, r.Scan(&l.pub, &l.con, &l.from, &l.to, &l.fromPublished)
	})
	if err != nil {
		return err
	}
	for _, l := range links {
		published, other := l.to, l.from
		if l.fromPublished {
			published, other = l.from, l.to
		}
		a.add(Finding{ID: CheckTruncateAcrossForeignKey,
			Resource: "publication/" + l.pub + "/" + published,
			Evidence: fmt.Sprintf("publication %s publishes TRUNCATE of %s, which foreign key %s (%s references %s) links to %s, not in the publication", l.pub, published, l.con, l.from, l.to, other),
			Fix:      Fix{Action: fmt.Sprintf("ALTER PUBLICATION %s ADD TABLE for %s, or ALTER PUBLICATION ... SET (publish = 'insert, update, delete')", l.pub, other)}})
	}
	return nil
}

// pglogicalExtraUniqueSQL lists the tables of pglogical replication sets
// with a valid unique index besides the primary key.
const pglogicalExtraUniqueSQL = `SELECT s.set_name::text, pg_catalog.format('%s.%s', n.nspname, c.relname), ic.relname::text
FROM pglogical.replication_set_table t
JOIN pglogical.replication_set s ON s.set_id = t.set_id
JOIN pg_catalog.pg_class c ON c.oid = t.set_reloid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_index i ON i.indrelid = t.set_reloid AND i.indisunique AND i.indisvalid AND NOT i.indisprimary
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
ORDER BY 2, 1, 3`

// pglogicalExtraUnique reports the tables of pglogical replication sets
// with unique indexes besides the primary key (pglogical is installed:
// pglogicalSubscriptions found it).
func (a *advice) pglogicalExtraUnique(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, pglogicalExtraUniqueSQL)
	if err != nil {
		return err
	}
	type hit struct{ set, table, index string }
	hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hit, error) {
		var h hit
		return h, r.Scan(&h.set, &h.table, &h.index)
	})
	if err != nil {
		return err
	}
	type table struct{ sets, indexes []string }
	var order []string
	tables := map[string]*table{}
	for _, h := range hits {
		t := tables[h.table]
		if t == nil {
			t = &table{}
			tables[h.table] = t
			order = append(order, h.table)
		}
		if !slices.Contains(t.sets, h.set) {
			t.sets = append(t.sets, h.set)
		}
		if !slices.Contains(t.indexes, h.index) {
			t.indexes = append(t.indexes, h.index)
		}
	}
	for _, name := range order {
		t := tables[name]
		a.add(Finding{ID: CheckPgLogicalExtraUnique,
			Resource: "table/" + name,
			Evidence: fmt.Sprintf("%s, in pglogical replication set %s, has unique index(es) %s besides its primary key", name, strings.Join(t.sets, ", "), strings.Join(t.indexes, ", ")),
			Fix:      Fix{Action: "drop the other unique constraints, or take the table out of the replication set (pglogical.replication_set_remove_table) and replicate it another way"}})
	}
	return nil
}

// iamPasswordsSQL lists the login members of rds_iam ($1) with a
// password. It reads pg_authid, so it runs only where that is readable
// (checked before).
const iamPasswordsSQL = iamMembersCTE + `SELECT r.rolname::text
FROM iam_members m JOIN pg_catalog.pg_authid r ON r.oid = m.oid
WHERE r.rolcanlogin AND r.rolpassword IS NOT NULL ORDER BY 1`

// iamMemberPasswords reports the rds_iam members that still have a
// password, where pg_authid is readable; on Aurora it is not (rds_superuser
// cannot read it), and nothing is judged.
func (a *advice) iamMemberPasswords(ctx context.Context, tx pgx.Tx) error {
	if !a.d.IAMDatabaseAuthentication {
		return nil
	}
	var readable bool
	if err := tx.QueryRow(ctx, "SELECT pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT')").Scan(&readable); err != nil {
		return err
	}
	if !readable {
		return nil
	}
	rows, err := tx.Query(ctx, iamPasswordsSQL, RDSIAMRole)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, n := range names {
		a.add(Finding{ID: CheckIAMMemberPassword,
			Resource: "role/" + n,
			Evidence: fmt.Sprintf("role %s is a member of rds_iam and still has a password", n),
			Fix:      Fix{Action: "ALTER ROLE ... PASSWORD NULL, so the role authenticates with IAM tokens only"}})
	}
	return nil
}
