package aurora

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/extensions"
	"github.com/pgaurora/pgaurora/internal/plural"
	"github.com/pgaurora/pgaurora/internal/slots"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
	"github.com/pgaurora/pgaurora/params"
	"github.com/pgaurora/pgaurora/pglogical"
)

// The IDs of the findings PlanMajorUpgrade reports, besides the advisor's
// CheckPendingReboot. Like the advisor's, they are stable.
const (
	// CheckUpgradeTarget: the target is not a major-version upgrade target
	// that RDS offers for the cluster's engine version.
	CheckUpgradeTarget = "upgrade-target-not-offered"
	// CheckUpgradeInstanceClass: an instance's class cannot be ordered
	// for the target version.
	CheckUpgradeInstanceClass = "upgrade-instance-class-not-orderable"
	// CheckUpgradeParameter: a value of the cluster's parameter groups
	// cannot be carried to the target family (the family has no such
	// parameter, or does not accept the value).
	CheckUpgradeParameter = "upgrade-parameter-not-carried"
	// CheckUpgradeLanguage: PLV8 (or another language extension named in
	// the options) is installed; its documented upgrade drops every
	// function written in it.
	CheckUpgradeLanguage = "upgrade-language-extension"
	// CheckUpgradePgLogical: pglogical nodes, subscriptions or slots must
	// be dropped before the upgrade and re-created after it.
	CheckUpgradePgLogical = "upgrade-pglogical"
	// CheckUpgradeLogicalSlot: a logical replication slot that the
	// upgrade cannot carry (all of them below PostgreSQL 17; from 17 on,
	// those with changes not yet consumed).
	CheckUpgradeLogicalSlot = "upgrade-logical-slot"
	// CheckUpgradeExtensionUpdate: an extension is older than the version
	// the engine ships; update it before the upgrade.
	CheckUpgradeExtensionUpdate = "upgrade-extension-update"
	// CheckUpgradeColumnType: a column whose type pg_upgrade cannot carry
	// (reg* types that store OIDs, and aclitem into PostgreSQL 16).
	CheckUpgradeColumnType = "upgrade-column-type"
	// CheckUpgradePreparedTransaction: a prepared transaction is open;
	// pg_upgrade refuses to run.
	CheckUpgradePreparedTransaction = "upgrade-prepared-transaction"
	// CheckUpgradeInstanceState: an instance is not available.
	CheckUpgradeInstanceState = "upgrade-instance-not-available"
	// CheckUpgradeMaintenance: maintenance actions are pending.
	CheckUpgradeMaintenance = "upgrade-maintenance-pending"
	// CheckUpgradeSnapshot: the cluster has no snapshot newer than
	// MajorUpgradePlanOptions.SnapshotMaxAge.
	CheckUpgradeSnapshot = "upgrade-no-recent-snapshot"
	// CheckUpgradeReplicaLag: a reader replays the writer's changes more
	// than MajorUpgradePlanOptions.MaxReplicaLag behind.
	CheckUpgradeReplicaLag = "upgrade-replica-lag"
)

// MajorUpgradePlanOptions are PlanMajorUpgrade's optional knobs; nil means
// the zero value.
type MajorUpgradePlanOptions struct {
	// Languages are the language extensions whose upgrade drops their
	// functions (CheckUpgradeLanguage); nil means
	// extensions.DefaultLanguageExtensions (plv8, plcoffee, plls).
	Languages []string
	// SnapshotMaxAge is how old the newest cluster snapshot may be before
	// CheckUpgradeSnapshot reports it; zero means 24 hours.
	SnapshotMaxAge time.Duration
	// MaxReplicaLag is the replica lag (aurora_replica_status()'s
	// replica_lag_in_msec, as each reader reports it) above which
	// CheckUpgradeReplicaLag reports a reader; zero means 1 second.
	MaxReplicaLag time.Duration
}

// ParameterGroupCarryOver is a parameter group of the cluster and the
// group of the target family that the upgrade must name in its place.
type ParameterGroupCarryOver struct {
	// Kind is params.ClusterGroup or params.InstanceGroup.
	Kind params.Kind
	// Current is the group in use; Instances the instances using it (for
	// an instance group).
	Current   string
	Instances []string `json:",omitempty"`
	// Target is the group of the target family to create (or, for a
	// default group, the target family's default group).
	Target string
	// Carry are the values set in Current that the target family accepts,
	// to set in Target. The values it does not accept are findings
	// (CheckUpgradeParameter), never dropped in silence.
	Carry []params.Change `json:",omitempty"`
}

// MajorUpgradePlan is what PlanMajorUpgrade found.
type MajorUpgradePlan struct {
	// ClusterID is the cluster; From and To the engine versions, and
	// FromFamily and ToFamily their parameter group families.
	ClusterID, From, To, FromFamily, ToFamily string
	// ParameterGroups are the cluster's group, then each instance group.
	ParameterGroups []ParameterGroupCarryOver
	// Databases are the databases whose contents were checked.
	Databases []string
	// Findings are what stands in the upgrade's way or must be handled by
	// it, most urgent first. A critical finding blocks the upgrade.
	Findings []Finding
}

// Blockers returns the critical findings: those that make RDS refuse or
// fail the upgrade, or lose data or functions, unless they are fixed.
func (p *MajorUpgradePlan) Blockers() []Finding {
	var out []Finding
	for _, f := range p.Findings {
		if f.Severity == SeverityCritical {
			out = append(out, f)
		}
	}
	return out
}

// Ready reports whether nothing blocks the upgrade.
func (p *MajorUpgradePlan) Ready() bool { return len(p.Blockers()) == 0 }

// PlanMajorUpgrade checks everything that a major version upgrade of the
// cluster to targetVersion (for example "16.6") depends on, and returns
// each problem with its evidence and fix, and the parameter groups of the
// target family to use. It changes nothing: its RDS calls are Describe
// calls, and its SQL runs in READ ONLY transactions (pglogical's state is
// read by pglogical.Client.PrepareUpgrade in a dry run).
//
// It checks: that RDS offers the target as a major upgrade of the
// current version and every instance class for it; the values of the
// cluster and instance parameter groups against the target family's
// parameters (preload libraries included); in every database that
// accepts connections, PLV8-style language extensions, pglogical, pending
// extension updates and columns of types pg_upgrade refuses; the
// cluster's logical slots and prepared transactions; and the state:
// instances not available, parameter changes pending a reboot, pending
// maintenance, readers lagging, and the age of the newest snapshot.
//
// What it cannot know from the API it does not guess: RDS publishes no
// list of the target version's extensions, so an extension that the
// target lacks is found only through shared_preload_libraries' allowed
// values.
func (c *Cluster) PlanMajorUpgrade(ctx context.Context, targetVersion string, opts *MajorUpgradePlanOptions) (*MajorUpgradePlan, error) {
	if opts == nil {
		opts = &MajorUpgradePlanOptions{}
	}
	if opts.SnapshotMaxAge < 0 {
		return nil, fmt.Errorf("aurora: plan major upgrade: SnapshotMaxAge %v is negative", opts.SnapshotMaxAge)
	}
	if opts.MaxReplicaLag < 0 {
		return nil, fmt.Errorf("aurora: plan major upgrade: MaxReplicaLag %v is negative", opts.MaxReplicaLag)
	}
	target, err := pgaurora.ParseEngineVersion(targetVersion)
	if err != nil {
		return nil, fmt.Errorf("aurora: plan major upgrade: target %q: %w", targetVersion, err)
	}
	d, err := c.Describe(ctx)
	if err != nil {
		return nil, fmt.Errorf("aurora: plan major upgrade: %w", err)
	}
	from, err := pgaurora.ParseEngineVersion(d.EngineVersion)
	if err != nil {
		return nil, fmt.Errorf("aurora: plan major upgrade: the cluster's engine version %q: %w", d.EngineVersion, err)
	}
	if target.Major <= from.Major {
		return nil, fmt.Errorf("aurora: plan major upgrade: %s is not a later major version than the cluster's %s", targetVersion, d.EngineVersion)
	}
	u := &upgradePlanner{c: c, d: d, opts: opts, from: from, to: target, plan: &MajorUpgradePlan{
		ClusterID: c.id, From: d.EngineVersion, To: targetVersion,
	}}
	for _, step := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"engine versions", u.versions},
		{"instance classes", u.instanceClasses},
		{"parameter groups", u.parameterGroups},
		{"state", u.state},
		{"databases", u.databases},
	} {
		if err := step.run(ctx); err != nil {
			return nil, fmt.Errorf("aurora: plan major upgrade to %s: checking %s: %w", targetVersion, step.name, err)
		}
	}
	sortFindings(u.plan.Findings)
	if u.plan.Findings == nil {
		u.plan.Findings = []Finding{}
	}
	return u.plan, nil
}

// upgradePlanner collects one PlanMajorUpgrade.
type upgradePlanner struct {
	c        *Cluster
	d        *Description
	opts     *MajorUpgradePlanOptions
	from, to pgaurora.EngineVersion
	plan     *MajorUpgradePlan
}

func (u *upgradePlanner) add(f Finding) { u.plan.Findings = append(u.plan.Findings, f) }

func (u *upgradePlanner) clusterResource() string { return "cluster/" + u.d.ID }

// versions checks the target against the current version's upgrade
// targets and learns both families.
func (u *upgradePlanner) versions(ctx context.Context) error {
	cur, err := u.engineVersion(ctx, u.d.EngineVersion)
	if err != nil {
		return err
	}
	u.plan.FromFamily = familyOf(cur, u.from)
	var offered []string
	found := false
	if cur != nil {
		for _, t := range cur.ValidUpgradeTarget {
			if !aws.ToBool(t.IsMajorVersionUpgrade) {
				continue
			}
			offered = append(offered, aws.ToString(t.EngineVersion))
			found = found || aws.ToString(t.EngineVersion) == u.plan.To
		}
	}
	tv, err := u.engineVersion(ctx, u.plan.To)
	if err != nil {
		return err
	}
	u.plan.ToFamily = familyOf(tv, u.to)
	if !found {
		evidence := fmt.Sprintf("%s is not among the major upgrade targets RDS offers for %s", u.plan.To, u.d.EngineVersion)
		if len(offered) > 0 {
			evidence += " (" + strings.Join(offered, ", ") + ")"
		}
		u.add(Finding{ID: CheckUpgradeTarget, Severity: SeverityCritical, Category: CategoryUpgrade,
			Resource: u.clusterResource(), Evidence: evidence,
			Why: "RDS accepts a major version upgrade only to a version listed in the current version's ValidUpgradeTarget with IsMajorVersionUpgrade.",
			Fix: Fix{Action: "pick a target from DescribeDBEngineVersions' ValidUpgradeTarget, or upgrade in several steps"}})
	}
	return nil
}

// engineVersion describes one engine version; nil when RDS does not know
// it.
func (u *upgradePlanner) engineVersion(ctx context.Context, v string) (*types.DBEngineVersion, error) {
	out, err := u.c.api.DescribeDBEngineVersions(ctx, &rds.DescribeDBEngineVersionsInput{
		Engine: aws.String(pgaurora.Engine), EngineVersion: aws.String(v)})
	if err != nil {
		return nil, err
	}
	for i := range out.DBEngineVersions {
		if aws.ToString(out.DBEngineVersions[i].EngineVersion) == v {
			return &out.DBEngineVersions[i], nil
		}
	}
	return nil, nil
}

// familyOf is the parameter group family RDS names for a version, or the
// one Aurora's naming gives when RDS does not know the version.
func familyOf(ev *types.DBEngineVersion, v pgaurora.EngineVersion) string {
	if ev != nil && aws.ToString(ev.DBParameterGroupFamily) != "" {
		return aws.ToString(ev.DBParameterGroupFamily)
	}
	return v.Family()
}

// instanceClasses checks that each instance class can be ordered for the
// target.
func (u *upgradePlanner) instanceClasses(ctx context.Context) error {
	checked := map[string]bool{}
	for _, in := range u.instances() {
		if in.Class == "" || checked[in.Class] {
			continue
		}
		checked[in.Class] = true
		out, err := u.c.api.DescribeOrderableDBInstanceOptions(ctx, &rds.DescribeOrderableDBInstanceOptionsInput{
			Engine: aws.String(pgaurora.Engine), EngineVersion: aws.String(u.plan.To), DBInstanceClass: aws.String(in.Class)})
		if err != nil {
			return err
		}
		if len(out.OrderableDBInstanceOptions) > 0 {
			continue
		}
		var ids []string
		for _, x := range u.instances() {
			if x.Class == in.Class {
				ids = append(ids, x.ID)
			}
		}
		u.add(Finding{ID: CheckUpgradeInstanceClass, Severity: SeverityCritical, Category: CategoryUpgrade,
			Resource: "instance/" + ids[0],
			Evidence: fmt.Sprintf("%s cannot be ordered for %s (used by %s)", in.Class, u.plan.To, strings.Join(ids, ", ")),
			Why:      "RDS refuses an upgrade to a version that does not support every instance's class.",
			Fix:      Fix{Action: "ModifyDBInstance to a class DescribeOrderableDBInstanceOptions lists for " + u.plan.To + " before the upgrade"}})
	}
	return nil
}

func (u *upgradePlanner) instances() []pgaurora.Instance {
	var out []pgaurora.Instance
	if u.d.Writer != nil {
		out = append(out, *u.d.Writer)
	}
	return append(out, u.d.Readers...)
}

// parameterGroups plans the target family's groups: the cluster's, then
// each instance group in use.
func (u *upgradePlanner) parameterGroups(ctx context.Context) error {
	if err := u.carryOver(ctx, params.ClusterGroup, u.d.ParameterGroup, nil); err != nil {
		return err
	}
	var order []string
	users := map[string][]string{}
	for _, in := range u.instances() {
		if in.ParameterGroup == "" {
			continue
		}
		if users[in.ParameterGroup] == nil {
			order = append(order, in.ParameterGroup)
		}
		users[in.ParameterGroup] = append(users[in.ParameterGroup], in.ID)
	}
	for _, g := range order {
		if err := u.carryOver(ctx, params.InstanceGroup, g, users[g]); err != nil {
			return err
		}
	}
	return nil
}

// renamedParameters are parameters a PostgreSQL major version renamed,
// from the release notes, by the version that renamed them.
var renamedParameters = map[int]map[string]string{
	16: {"force_parallel_mode": "debug_parallel_query"},
}

func (u *upgradePlanner) carryOver(ctx context.Context, kind params.Kind, group string, instances []string) error {
	co := ParameterGroupCarryOver{Kind: kind, Current: group, Instances: instances, Target: targetGroupName(group, u.plan.FromFamily, u.plan.ToFamily)}
	if !strings.HasPrefix(group, "default.") {
		set, err := u.c.params.ListParameters(ctx, kind, group, &params.ListOptions{Source: params.SourceUser})
		if err != nil {
			return err
		}
		meta, err := u.c.params.EngineDefaults(ctx, kind, u.plan.ToFamily)
		if err != nil {
			return err
		}
		known := map[string]bool{}
		for _, p := range meta {
			known[strings.ToLower(p.Name)] = true
		}
		for _, p := range set {
			ch := params.Change{Name: p.Name, Value: p.Value}
			verr := params.ValidateAgainst(meta, []params.Change{ch})
			if verr == nil {
				co.Carry = append(co.Carry, ch)
				continue
			}
			f := Finding{ID: CheckUpgradeParameter, Severity: SeverityWarning, Category: CategoryParameters,
				Resource: "parameter-group/" + group,
				Evidence: fmt.Sprintf("%s=%s in %s %s: %v", p.Name, p.Value, kind, group, verr),
				Why:      "A major upgrade names new parameter groups of the target family; a value that family does not accept is not carried, and the server would run without it.",
				Fix:      Fix{Action: fmt.Sprintf("decide what %s should be under %s before the upgrade", p.Name, u.plan.ToFamily)}}
			if !known[strings.ToLower(p.Name)] {
				f.Evidence = fmt.Sprintf("%s=%s is set in %s %s, and family %s has no parameter %s", p.Name, p.Value, kind, group, u.plan.ToFamily, p.Name)
				if to, ok := u.renamed(p.Name); ok && known[to] {
					f.Fix = Fix{Kind: kind, Group: co.Target, Changes: []params.Change{{Name: to, Value: p.Value}},
						Action: fmt.Sprintf("PostgreSQL renamed %s to %s: set the new name in %s", p.Name, to, co.Target)}
				}
			}
			if strings.EqualFold(p.Name, "shared_preload_libraries") {
				f.Severity = SeverityCritical
				f.Why = "RDS refuses a major upgrade while shared_preload_libraries names a library the target version does not have."
				f.Fix = Fix{Action: "remove the libraries the target family does not allow from shared_preload_libraries (and reboot) before the upgrade"}
			}
			u.add(f)
		}
	}
	u.plan.ParameterGroups = append(u.plan.ParameterGroups, co)
	return nil
}

func (u *upgradePlanner) renamed(name string) (string, bool) {
	for v := u.from.Major + 1; v <= u.to.Major; v++ {
		if to, ok := renamedParameters[v][strings.ToLower(name)]; ok {
			return to, true
		}
	}
	return "", false
}

// targetGroupName proposes the name of the target family's group: the
// target family's default group for a default group, the name with the
// family swapped when it contains the current family, else the name with
// the target family appended.
func targetGroupName(group, fromFamily, toFamily string) string {
	switch {
	case strings.HasPrefix(group, "default."):
		return "default." + toFamily
	case fromFamily != "" && strings.Contains(group, fromFamily):
		return strings.ReplaceAll(group, fromFamily, toFamily)
	}
	return strings.TrimSuffix(group, "-") + "-" + toFamily
}

// state checks the instances, pending reboots, pending maintenance,
// replica lag and the newest snapshot.
func (u *upgradePlanner) state(ctx context.Context) error {
	for _, in := range u.instances() {
		in := in
		if in.Status != "available" {
			u.add(Finding{ID: CheckUpgradeInstanceState, Severity: SeverityCritical, Category: CategoryAvailability,
				Resource: "instance/" + in.ID, Instance: &in,
				Evidence: fmt.Sprintf("%s is %s", in.ID, in.Status),
				Why:      "RDS upgrades a cluster only when every instance is available.",
				Fix:      Fix{Action: "wait until the instance is available (or start it) before the upgrade"}})
		}
		if f, ok := pendingRebootFinding(u.d, in); ok {
			u.add(f)
		}
	}
	pg := rds.NewDescribePendingMaintenanceActionsPaginator(u.c.api, &rds.DescribePendingMaintenanceActionsInput{
		Filters: []types.Filter{{Name: aws.String("db-cluster-id"), Values: []string{u.d.ID}}}})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, r := range out.PendingMaintenanceActions {
			for _, a := range r.PendingMaintenanceActionDetails {
				res := aws.ToString(r.ResourceIdentifier)
				if i := strings.LastIndex(res, ":"); i >= 0 {
					res = res[i+1:]
				}
				u.add(Finding{ID: CheckUpgradeMaintenance, Severity: SeverityWarning, Category: CategoryUpgrade,
					Resource: "instance/" + res,
					Evidence: fmt.Sprintf("%s has pending maintenance %s: %s", res, aws.ToString(a.Action), aws.ToString(a.Description)),
					Why:      "Pending maintenance can run in the same window as the upgrade, or be applied by it, and lengthen the downtime.",
					Fix:      Fix{Action: "ApplyPendingMaintenanceAction (or wait for it) before the upgrade"}})
			}
		}
	}
	maxAge := u.opts.SnapshotMaxAge
	if maxAge == 0 {
		maxAge = 24 * time.Hour
	}
	var newest time.Time
	sp := rds.NewDescribeDBClusterSnapshotsPaginator(u.c.api, &rds.DescribeDBClusterSnapshotsInput{DBClusterIdentifier: aws.String(u.d.ID)})
	for sp.HasMorePages() {
		out, err := sp.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, s := range out.DBClusterSnapshots {
			if t := aws.ToTime(s.SnapshotCreateTime); aws.ToString(s.Status) == "available" && t.After(newest) {
				newest = t
			}
		}
	}
	if err := u.replicaLag(ctx); err != nil {
		return err
	}
	if time.Since(newest) > maxAge {
		ev := "the cluster has no available snapshot"
		if !newest.IsZero() {
			ev = fmt.Sprintf("the newest snapshot is from %s, older than %s", newest.UTC().Format(time.RFC3339), maxAge)
		}
		u.add(Finding{ID: CheckUpgradeSnapshot, Severity: SeverityWarning, Category: CategoryUpgrade,
			Resource: u.clusterResource(), Evidence: ev,
			Why: "AWS recommends a snapshot right before a major upgrade: the upgrade cannot be undone, and a snapshot is the way back.",
			Fix: Fix{Action: "CreateDBClusterSnapshot before the upgrade"}})
	}
	return nil
}

// replicaLag asks each available reader how far behind the writer it
// replays (its own row of aurora_replica_status(), in a READ ONLY
// transaction) and reports those past MaxReplicaLag. A reader that cannot
// be reached is left to the instance-state check.
func (u *upgradePlanner) replicaLag(ctx context.Context) error {
	limit := u.opts.MaxReplicaLag
	if limit == 0 {
		limit = time.Second
	}
	for _, in := range u.d.Readers {
		if in.Status != "available" {
			continue
		}
		conn, err := u.c.probe(ctx, endpointOf(in))
		if err != nil {
			continue
		}
		var lag *float64
		err = pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT replica_lag_in_msec FROM aurora_replica_status() WHERE server_id = $1", in.ID).Scan(&lag)
		})
		conn.Close(context.WithoutCancel(ctx))
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("reading the replica lag of %s: %w", in.ID, err)
		}
		if lag == nil || time.Duration(*lag*float64(time.Millisecond)) <= limit {
			continue
		}
		in := in
		u.add(Finding{ID: CheckUpgradeReplicaLag, Severity: SeverityWarning, Category: CategoryReplication,
			Resource: "instance/" + in.ID, Instance: &in,
			Evidence: fmt.Sprintf("%s replays %.0f ms behind the writer (more than %s)", in.ID, *lag, limit),
			Why:      "The upgrade stops every instance together: a reader far behind the writer has to replay the backlog first, which lengthens the downtime, and its lag shows it is short of resources.",
			Fix:      Fix{Action: "find why the reader lags (its size, long queries, I/O) and wait until it has caught up before the upgrade"}})
	}
	return nil
}

// databases runs the checks of each database that accepts connections,
// and the cluster-wide ones (slots, prepared transactions) on the
// Cluster's database.
func (u *upgradePlanner) databases(ctx context.Context) error {
	p, err := u.c.Writer(ctx)
	if err != nil {
		return err
	}
	var dbs []string
	var pglogicalSlots map[string]bool
	err = p.RunTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET TRANSACTION READ ONLY"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, databasesSQL)
		if err != nil {
			return err
		}
		if dbs, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		return u.preparedTransactions(ctx, tx)
	})
	if err != nil {
		return err
	}
	u.plan.Databases = dbs
	pglogicalSlots = map[string]bool{}
	for _, db := range dbs {
		names, err := u.database(ctx, db)
		if err != nil {
			return fmt.Errorf("database %s: %w", db, err)
		}
		for _, n := range names {
			pglogicalSlots[n] = true
		}
	}
	return p.RunTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET TRANSACTION READ ONLY"); err != nil {
			return err
		}
		return u.logicalSlots(ctx, tx, pglogicalSlots)
	})
}

// databasesSQL lists the databases the upgrade checks and works on: those
// that accept connections, but the templates and RDS's own rdsadmin.
const databasesSQL = `SELECT datname::text FROM pg_catalog.pg_database
WHERE datallowconn AND NOT datistemplate AND datname <> 'rdsadmin' ORDER BY datname`

// connectDatabase opens a connection to another database on the writer,
// with the Cluster's credentials and TLS.
func (c *Cluster) connectDatabase(ctx context.Context, db string) (*pgx.Conn, error) {
	p, err := c.Writer(ctx)
	if err != nil {
		return nil, err
	}
	cc := p.pool.Config().ConnConfig.Copy()
	cc.Database = db
	if err := p.configureConn(ctx, cc); err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cc)
}

func (u *upgradePlanner) preparedTransactions(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT gid, database::text, owner::text, prepared FROM pg_catalog.pg_prepared_xacts ORDER BY prepared`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var gid, db, owner string
		var at time.Time
		if err := rows.Scan(&gid, &db, &owner, &at); err != nil {
			return err
		}
		u.add(Finding{ID: CheckUpgradePreparedTransaction, Severity: SeverityCritical, Category: CategoryUpgrade,
			Resource: "database/" + db,
			Evidence: fmt.Sprintf("prepared transaction %q of %s in %s, prepared at %s", gid, owner, db, at.UTC().Format(time.RFC3339)),
			Why:      "pg_upgrade refuses to run while a prepared transaction exists, and RDS fails the upgrade.",
			Fix:      Fix{Action: fmt.Sprintf("COMMIT PREPARED %s or ROLLBACK PREPARED %s in database %s", quoteLiteral(gid), quoteLiteral(gid), db)}})
	}
	return rows.Err()
}

// logicalSlots reports the logical slots the upgrade cannot carry; those
// of pglogical are covered by CheckUpgradePgLogical.
func (u *upgradePlanner) logicalSlots(ctx context.Context, tx pgx.Tx, pglogicalSlots map[string]bool) error {
	list, err := slots.List(ctx, tx, slots.Logical)
	if err != nil {
		return err
	}
	var current pgaurora.LSN
	if u.from.Major >= 17 {
		if err := tx.QueryRow(ctx, "SELECT pg_catalog.pg_current_wal_lsn()::text").Scan(&current); err != nil {
			return err
		}
	}
	for _, s := range list {
		if pglogicalSlots[s.Name] || s.Temporary {
			continue
		}
		s := s
		f := Finding{ID: CheckUpgradeLogicalSlot, Severity: SeverityCritical, Category: CategoryReplication,
			Resource: "slot/" + s.Name, Slot: &s,
			Evidence: fmt.Sprintf("logical slot %s (%s, database %s) exists; the cluster runs PostgreSQL %d", s.Name, s.Plugin, s.Database, u.from.Major),
			Why:      "Below PostgreSQL 17 an upgrade cannot carry logical replication slots: RDS's pre-check fails, after the cluster is already offline, while one exists.",
			Fix:      Fix{Action: "let the consumer finish, then SELECT pg_drop_replication_slot(" + quoteLiteral(s.Name) + "), and re-create the slot after the upgrade"}}
		if u.from.Major >= 17 {
			if s.ConfirmedFlushLSN >= current {
				continue
			}
			f.Evidence = fmt.Sprintf("logical slot %s (%s, database %s) has confirmed up to %s of %s", s.Name, s.Plugin, s.Database, s.ConfirmedFlushLSN, current)
			f.Why = "From PostgreSQL 17 an upgrade carries logical slots only when their consumers have consumed every change."
			f.Fix = Fix{Action: "let the slot's consumer catch up (or drop the slot) before the upgrade"}
		}
		u.add(f)
	}
	return nil
}

// database checks one database on its own connection to the writer and
// returns the replication slots pglogical owns there.
func (u *upgradePlanner) database(ctx context.Context, db string) ([]string, error) {
	conn, err := u.c.connectDatabase(ctx, db)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))

	var hasPgLogical bool
	err = pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := u.columnTypes(ctx, tx, db); err != nil {
			return err
		}
		if err := u.languages(ctx, tx, db); err != nil {
			return err
		}
		updates, err := extensions.New(tx).Updates(ctx)
		if err != nil {
			return err
		}
		for _, up := range updates {
			if slices.Contains(u.languageNames(), up.Name) {
				continue // the language upgrade installs the new version
			}
			u.add(Finding{ID: CheckUpgradeExtensionUpdate, Severity: SeverityWarning, Category: CategoryUpgrade,
				Resource: "extension/" + up.Name,
				Evidence: fmt.Sprintf("%s %s in %s; the engine ships %s", up.Name, up.Installed, db, up.Default),
				Why:      "AWS recommends updating extensions to the engine's version before a major upgrade, so that the upgrade starts from versions the target also supports.",
				Fix:      Fix{Workflow: "Cluster.Extensions().Update", Action: fmt.Sprintf("ALTER EXTENSION %s UPDATE in database %s", quoteIdent(up.Name), db)}})
		}
		return tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pglogical')").Scan(&hasPgLogical)
	})
	if err != nil || !hasPgLogical {
		return nil, err
	}
	rep, err := pglogical.New(conn).PrepareUpgrade(ctx, &pglogical.UpgradeOptions{DryRun: true, Force: true})
	if err != nil {
		return nil, err
	}
	var slotNames, actions []string
	for _, a := range rep.Actions {
		actions = append(actions, a.String())
		if a.Kind == pglogical.ActionDropSlot {
			slotNames = append(slotNames, a.Name)
		}
	}
	if len(actions) > 0 {
		ev := fmt.Sprintf("in %s, the upgrade must first %s", db, strings.Join(actions, ", "))
		if len(rep.MidSync) > 0 {
			ev += fmt.Sprintf("; mid-sync: %s", strings.Join(rep.MidSync, ", "))
		}
		u.add(Finding{ID: CheckUpgradePgLogical, Severity: SeverityCritical, Category: CategoryReplication,
			Resource: "database/" + db, Evidence: ev,
			Why: "AWS requires pglogical subscriptions, subscriber nodes and slots to be dropped before a major upgrade, and re-created after it.",
			Fix: Fix{Workflow: "Cluster.PgLogical().PrepareUpgrade, then Restore after the upgrade"}})
	}
	return slotNames, nil
}

func (u *upgradePlanner) languageNames() []string {
	if u.opts.Languages != nil {
		return u.opts.Languages
	}
	return extensions.DefaultLanguageExtensions
}

// languages reports installed language extensions whose documented
// upgrade drops their functions.
func (u *upgradePlanner) languages(ctx context.Context, tx pgx.Tx, db string) error {
	rows, err := tx.Query(ctx, `SELECT e.extname::text, e.extversion,
	(SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
	 JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_language'::regclass AND d.objid = l.oid
	  AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = e.oid AND d.deptype = 'e')
FROM pg_catalog.pg_extension e WHERE e.extname = ANY($1) ORDER BY 1`, u.languageNames())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, version string
		var functions int64
		if err := rows.Scan(&name, &version, &functions); err != nil {
			return err
		}
		u.add(Finding{ID: CheckUpgradeLanguage, Severity: SeverityCritical, Category: CategoryUpgrade,
			Resource: "extension/" + name,
			Evidence: fmt.Sprintf("%s %s is installed in %s with %s", name, version, db, plural.Count(int(functions), "function")),
			Why:      "The documented procedure upgrades the language by DROP EXTENSION ... CASCADE, which drops every function written in it and every trigger and default that uses them.",
			Fix:      Fix{Workflow: "Cluster.UpgradePLV8 (one transaction: functions, triggers, grants and comments re-created)"}})
	}
	return rows.Err()
}

// unsupportedColumnTypes are the types pg_upgrade refuses in user
// columns: reg* types that store OIDs (regclass, regrole and regtype are
// carried), and, into PostgreSQL 16, aclitem, whose storage changed.
func (u *upgradePlanner) unsupportedColumnTypes() []string {
	t := []string{"pg_catalog.regcollation", "pg_catalog.regconfig", "pg_catalog.regdictionary", "pg_catalog.regnamespace",
		"pg_catalog.regoper", "pg_catalog.regoperator", "pg_catalog.regproc", "pg_catalog.regprocedure"}
	if u.from.Major < 16 && u.to.Major >= 16 {
		t = append(t, "pg_catalog.aclitem")
	}
	return t
}

// columnTypesSQL is pg_upgrade's search for columns of given types,
// including domains, arrays, composite types and ranges over them.
const columnTypesSQL = `WITH RECURSIVE oids AS (
	SELECT t::pg_catalog.regtype::pg_catalog.oid AS oid FROM pg_catalog.unnest($1::text[]) t
	UNION ALL
	SELECT * FROM (
		WITH x AS (SELECT oid FROM oids)
		SELECT t.oid FROM pg_catalog.pg_type t, x WHERE t.typbasetype = x.oid AND t.typtype = 'd'
		UNION ALL
		SELECT t.oid FROM pg_catalog.pg_type t, x WHERE t.typelem = x.oid AND t.typtype = 'b'
		UNION ALL
		SELECT t.oid FROM pg_catalog.pg_type t, pg_catalog.pg_class c, pg_catalog.pg_attribute a, x
		WHERE t.typtype = 'c' AND t.oid = c.reltype AND c.oid = a.attrelid AND NOT a.attisdropped AND a.atttypid = x.oid
		UNION ALL
		SELECT t.oid FROM pg_catalog.pg_type t, pg_catalog.pg_range r, x WHERE t.typtype = 'r' AND r.rngtypid = t.oid AND r.rngsubtype = x.oid
	) foo
)
SELECT n.nspname::text, c.relname::text, a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
WHERE NOT a.attisdropped AND a.attnum > 0 AND a.atttypid IN (SELECT oid FROM oids)
	AND c.relkind IN ('r', 'm', 'i')
	AND n.nspname !~ '^pg_temp_' AND n.nspname !~ '^pg_toast_temp_' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2, 3`

func (u *upgradePlanner) columnTypes(ctx context.Context, tx pgx.Tx, db string) error {
	rows, err := tx.Query(ctx, columnTypesSQL, u.unsupportedColumnTypes())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var schema, table, column, typ string
		if err := rows.Scan(&schema, &table, &column, &typ); err != nil {
			return err
		}
		u.add(Finding{ID: CheckUpgradeColumnType, Severity: SeverityCritical, Category: CategoryUpgrade,
			Resource: "database/" + db,
			Evidence: fmt.Sprintf("column %s.%s.%s in %s is of type %s", schema, table, column, db, typ),
			Why:      "pg_upgrade cannot carry columns of types that store OIDs (other than regclass, regrole and regtype) or whose storage changed, so RDS fails the upgrade.",
			Fix:      Fix{Action: fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE text (or drop the column) before the upgrade", quoteIdent(schema, table), quoteIdent(column))}})
	}
	return rows.Err()
}

// quoteIdent and quoteLiteral quote names read from the server for the
// SQL a Fix shows; a name the quoting helper refuses (a NUL byte) is shown
// as Go would quote it, since no statement could name it anyway.
func quoteIdent(parts ...string) string {
	q, err := sqlquote.Ident(parts...)
	if err != nil {
		return fmt.Sprintf("%q", strings.Join(parts, "."))
	}
	return q
}

func quoteLiteral(s string) string {
	q, err := sqlquote.Literal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	return q
}
