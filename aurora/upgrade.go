package aurora

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/extensions"
	"github.com/pgaurora/pgaurora/internal/plural"
	"github.com/pgaurora/pgaurora/internal/slots"
	"github.com/pgaurora/pgaurora/internal/wait"
	"github.com/pgaurora/pgaurora/params"
	"github.com/pgaurora/pgaurora/pglogical"
)

// Step names of UpgradeMajorVersion, in the order they run.
const (
	stepPlanUpgrade       = "plan the major version upgrade"
	stepSnapshot          = "snapshot the cluster"
	stepTearDownPgLogical = "tear down pglogical"
	stepDropSlots         = "drop logical replication slots"
	stepTargetGroups      = "create the target family's parameter groups"
	stepUpgradeEngine     = "upgrade the engine"
	stepUpdateExtensions  = "update extensions"
	stepAnalyze           = "analyze every database"
	stepRestorePgLogical  = "restore pglogical"
	stepVerifyUpgrade     = "verify the upgrade"
)

// MajorUpgradeState is what UpgradeMajorVersion records as it goes, so
// that a run that failed at any step can be resumed: hand the same value
// back (it survives encoding/json, without passwords: give
// MajorUpgradeOptions.PgLogicalPassword then). Keep it until the upgrade
// is verified.
type MajorUpgradeState struct {
	// Target is the engine version the state is for.
	Target string
	// Snapshot is the cluster snapshot taken before the upgrade.
	Snapshot string `json:",omitempty"`
	// ParameterGroups are the plan's parameter groups, fixed when the
	// plan was made.
	ParameterGroups []ParameterGroupCarryOver `json:",omitempty"`
	// Objects counts each database's functions and triggers before the
	// upgrade, which the verification compares with.
	Objects map[string]ObjectCounts `json:",omitempty"`
	// PgLogical holds each database's pglogical setup as it was before its
	// teardown, for the restore.
	PgLogical map[string]pglogical.Description `json:",omitempty"`
	// DroppedSlots are the logical slots dropped before the upgrade
	// (MajorUpgradeOptions.DropLogicalSlots), to re-create after it.
	DroppedSlots []pgaurora.ReplicationSlot `json:",omitempty"`
	// Upgraded is set once this run's ModifyDBCluster has upgraded the
	// engine; LanguagesDone once the languages were reinstalled for it.
	Upgraded      bool `json:",omitempty"`
	LanguagesDone bool `json:",omitempty"`
}

// ObjectCounts are the functions and triggers of one database (outside
// the system schemas).
type ObjectCounts struct {
	Functions, Triggers int64
}

// MajorUpgradeOptions configure UpgradeMajorVersion; nil means the zero
// value.
type MajorUpgradeOptions struct {
	// Plan are the options of the plan made first.
	Plan *MajorUpgradePlanOptions
	// State records the progress; pass the value of a failed run to
	// resume it. Nil keeps the state in memory only.
	State *MajorUpgradeState
	// SnapshotID names the snapshot taken first; empty means
	// "<cluster>-before-<target>" ("app-before-16-6").
	SnapshotID string
	// DropLogicalSlots drops the logical replication slots (other than
	// pglogical's) that the upgrade cannot carry, after the snapshot;
	// their consumers lose their place. Without it they block the
	// upgrade.
	DropLogicalSlots bool
	// LanguageBackup receives the backup of the language extensions'
	// functions before they are reinstalled for the new engine. It is
	// required when one of the plan's Languages is installed.
	LanguageBackup io.Writer
	// PgLogicalPassword is asked for the password of a pglogical DSN (a
	// node's, an interface's, a subscription's provider's) when the
	// restore runs from a state that went through JSON, which keeps no
	// password.
	PgLogicalPassword func(dsn pgaurora.ConnString) (string, error)
	// Wait says how the steps wait; zero fields take the Cluster's
	// defaults.
	Wait pgaurora.Wait
	// Progress receives an event as each step completes, and the events
	// of the operations the steps run.
	Progress pgaurora.ProgressFunc
}

// UpgradeBlockedError is returned (inside a *WorkflowError of step "plan
// the major version upgrade") when the plan has blockers the workflow
// does not fix itself. Nothing was changed.
type UpgradeBlockedError struct {
	// Blockers are the findings to fix first.
	Blockers []Finding
}

func (e *UpgradeBlockedError) Error() string {
	parts := make([]string, len(e.Blockers))
	for i, f := range e.Blockers {
		parts[i] = f.ID + " " + f.Resource + ": " + f.Evidence
	}
	return fmt.Sprintf("the upgrade is blocked by %s: %s", plural.Count(len(e.Blockers), "finding"), strings.Join(parts, "; "))
}

// handledBy reports whether UpgradeMajorVersion fixes a blocker itself.
func (o *MajorUpgradeOptions) handles(f Finding) bool {
	switch f.ID {
	case CheckUpgradePgLogical, CheckUpgradeLanguage:
		return true
	case CheckUpgradeLogicalSlot:
		return o.DropLogicalSlots
	}
	return false
}

// UpgradeMajorVersion upgrades the cluster to another major engine
// version, the whole way: it plans (PlanMajorUpgrade; blockers it does not
// fix stop it before any change), takes a snapshot, tears pglogical down
// (pglogical.Client.PrepareUpgrade, keeping each description in the
// state), drops logical slots when asked, creates the target family's
// parameter groups with the carried values, calls ModifyDBCluster with
// EngineVersion, AllowMajorVersionUpgrade, both groups and
// ApplyImmediately and waits for it; then updates every extension that
// has an update, reinstalls the language extensions (with a backup),
// analyzes every database in stages (as vacuumdb --analyze-in-stages),
// restores pglogical, and verifies the result: the version, the groups
// and their values, the extensions, every database's functions and
// triggers, and the statistics.
//
// Each step finds its work done when it is, so the workflow can be run
// again after a failure at any step (with the same State), and a run on
// an upgraded cluster reports nothing changed. A failure returns a
// *WorkflowError naming the step, with the steps that completed.
func (c *Cluster) UpgradeMajorVersion(ctx context.Context, targetVersion string, opts *MajorUpgradeOptions) (*Report, error) {
	const name = "UpgradeMajorVersion"
	if opts == nil {
		opts = &MajorUpgradeOptions{}
	}
	st := opts.State
	if st == nil {
		st = &MajorUpgradeState{}
	}
	if st.Target != "" && st.Target != targetVersion {
		return nil, fmt.Errorf("aurora: %s: the state is of an upgrade to %s, not %s", name, st.Target, targetVersion)
	}
	if _, err := pgaurora.ParseEngineVersion(targetVersion); err != nil {
		return nil, fmt.Errorf("aurora: %s: target %q: %w", name, targetVersion, err)
	}
	snapshot := cmp.Or(opts.SnapshotID, c.id+"-before-"+strings.ReplaceAll(targetVersion, ".", "-"))
	w := c.newWorkflow(name, opts.Wait, opts.Progress)
	u := &majorUpgrade{c: c, w: w, opts: opts, st: st, target: targetVersion}

	if err := w.step(ctx, stepPlanUpgrade, u.plan); err != nil {
		return w.report, err
	}
	for _, s := range []struct {
		name string
		fn   func(context.Context) (bool, string, error)
		pre  bool // skipped once the engine is upgraded
	}{
		{stepSnapshot, func(ctx context.Context) (bool, string, error) { return u.snapshot(ctx, snapshot) }, true},
		{stepTearDownPgLogical, u.tearDownPgLogical, true},
		{stepDropSlots, u.dropSlots, true},
		{stepTargetGroups, u.targetGroups, true},
		{stepUpgradeEngine, u.upgradeEngine, false},
		{stepUpdateExtensions, u.updateExtensions, false},
		{stepUpgradeLanguages, u.upgradeLanguages, false},
		{stepAnalyze, u.analyze, false},
		{stepRestorePgLogical, u.restorePgLogical, false},
		{stepVerifyUpgrade, u.verify, false},
	} {
		fn := s.fn
		if s.pre && u.already {
			fn = func(context.Context) (bool, string, error) {
				return false, "the cluster already runs " + targetVersion, nil
			}
		}
		if err := w.step(ctx, s.name, fn); err != nil {
			return w.report, err
		}
	}
	return w.report, nil
}

// majorUpgrade is one run of UpgradeMajorVersion.
type majorUpgrade struct {
	c       *Cluster
	w       *workflow
	opts    *MajorUpgradeOptions
	st      *MajorUpgradeState
	target  string
	already bool // the cluster ran the target when the run started
	dbs     []string
}

func (u *majorUpgrade) plan(ctx context.Context) (bool, string, error) {
	d, err := u.c.Describe(ctx)
	if err != nil {
		return false, "", err
	}
	if d.EngineVersion == u.target {
		u.already = true
		if u.st.Target == "" {
			u.st.Target = u.target
		}
		if err := u.listDatabases(ctx); err != nil {
			return false, "", err
		}
		return false, "the cluster already runs " + u.target, nil
	}
	p, err := u.c.PlanMajorUpgrade(ctx, u.target, u.opts.Plan)
	if err != nil {
		return false, "", err
	}
	var blockers []Finding
	languages := false
	for _, f := range p.Blockers() {
		if !u.opts.handles(f) {
			blockers = append(blockers, f)
		}
		languages = languages || f.ID == CheckUpgradeLanguage
	}
	if len(blockers) > 0 {
		return false, "", &UpgradeBlockedError{Blockers: blockers}
	}
	if languages && u.opts.LanguageBackup == nil {
		return false, "", errors.New("language extensions are installed, and their reinstall writes a backup first: set LanguageBackup")
	}
	instanceGroups := slices.DeleteFunc(slices.Clone(p.ParameterGroups), func(g ParameterGroupCarryOver) bool { return g.Kind != params.InstanceGroup })
	if len(instanceGroups) > 1 {
		var names []string
		for _, g := range instanceGroups {
			names = append(names, g.Current)
		}
		return false, "", fmt.Errorf("the instances use several DB parameter groups (%s), and a major upgrade gives all of them one: give them the same group first", strings.Join(names, ", "))
	}
	u.dbs = p.Databases
	u.st.Target = u.target
	if u.st.ParameterGroups == nil {
		u.st.ParameterGroups = p.ParameterGroups
	}
	if u.st.Objects == nil {
		counts, err := u.objectCounts(ctx)
		if err != nil {
			return false, "", err
		}
		u.st.Objects = counts
	}
	return false, fmt.Sprintf("%s to %s (%s): %s, none blocking", p.From, p.To, p.ToFamily, plural.Count(len(p.Findings), "finding")), nil
}

func (u *majorUpgrade) listDatabases(ctx context.Context) error {
	return u.c.onWriter(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, databasesSQL)
		if err != nil {
			return err
		}
		u.dbs, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
}

// eachDatabase runs fn on a connection to each database in turn.
func (u *majorUpgrade) eachDatabase(ctx context.Context, fn func(db string, conn *pgx.Conn) error) error {
	for _, db := range u.dbs {
		conn, err := u.c.connectDatabase(ctx, db)
		if err != nil {
			return fmt.Errorf("database %s: %w", db, err)
		}
		err = fn(db, conn)
		conn.Close(context.WithoutCancel(ctx))
		if err != nil {
			return fmt.Errorf("database %s: %w", db, err)
		}
	}
	return nil
}

const objectCountsSQL = `SELECT
	(SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
	 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'),
	(SELECT count(*) FROM pg_catalog.pg_trigger WHERE NOT tgisinternal)`

func (u *majorUpgrade) objectCounts(ctx context.Context) (map[string]ObjectCounts, error) {
	out := map[string]ObjectCounts{}
	err := u.eachDatabase(ctx, func(db string, conn *pgx.Conn) error {
		var oc ObjectCounts
		if err := conn.QueryRow(ctx, objectCountsSQL).Scan(&oc.Functions, &oc.Triggers); err != nil {
			return err
		}
		out[db] = oc
		return nil
	})
	return out, err
}

func (u *majorUpgrade) snapshot(ctx context.Context, id string) (bool, string, error) {
	api := u.c.api
	find := func(ctx context.Context) (*types.DBClusterSnapshot, error) {
		out, err := api.DescribeDBClusterSnapshots(ctx, &rds.DescribeDBClusterSnapshotsInput{DBClusterSnapshotIdentifier: aws.String(id)})
		var nf *types.DBClusterSnapshotNotFoundFault
		switch {
		case errors.As(err, &nf):
			return nil, nil
		case err != nil:
			return nil, err
		case len(out.DBClusterSnapshots) == 0:
			return nil, nil
		}
		return &out.DBClusterSnapshots[0], nil
	}
	s, err := find(ctx)
	if err != nil {
		return false, "", err
	}
	changed := false
	if s == nil {
		if _, err := api.CreateDBClusterSnapshot(ctx, &rds.CreateDBClusterSnapshotInput{
			DBClusterIdentifier: aws.String(u.c.id), DBClusterSnapshotIdentifier: aws.String(id)}); err != nil {
			return false, "", fmt.Errorf("CreateDBClusterSnapshot %s: %w", id, err)
		}
		changed = true
	} else if aws.ToString(s.DBClusterIdentifier) != u.c.id {
		return false, "", fmt.Errorf("snapshot %s exists but is of cluster %s: name another one (SnapshotID)", id, aws.ToString(s.DBClusterIdentifier))
	}
	err = wait.Until(ctx, u.w.wait, wait.RDS, func(ctx context.Context) (bool, error) {
		s, err := find(ctx)
		if err != nil || s == nil {
			return false, err
		}
		return aws.ToString(s.Status) == "available", nil
	})
	if err != nil {
		return false, "", fmt.Errorf("waiting for snapshot %s: %w", id, err)
	}
	u.st.Snapshot = id
	if !changed {
		return false, "snapshot " + id + " exists", nil
	}
	return true, "took snapshot " + id, nil
}

func (u *majorUpgrade) tearDownPgLogical(ctx context.Context) (bool, string, error) {
	var done []string
	err := u.eachDatabase(ctx, func(db string, conn *pgx.Conn) error {
		var has bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pglogical')").Scan(&has); err != nil || !has {
			return err
		}
		rep, err := pglogical.New(conn).PrepareUpgrade(ctx, &pglogical.UpgradeOptions{})
		if _, kept := u.st.PgLogical[db]; !kept && (rep.Description.Node != nil || len(rep.Description.Subscriptions) > 0) {
			if u.st.PgLogical == nil {
				u.st.PgLogical = map[string]pglogical.Description{}
			}
			u.st.PgLogical[db] = rep.Description
		}
		for _, a := range rep.Applied {
			done = append(done, db+": "+a.String())
		}
		return err
	})
	if err != nil {
		return len(done) > 0, "", err
	}
	if len(done) == 0 {
		return false, "nothing of pglogical to drop", nil
	}
	return true, strings.Join(done, "; "), nil
}

func (u *majorUpgrade) dropSlots(ctx context.Context) (bool, string, error) {
	if !u.opts.DropLogicalSlots {
		return false, "DropLogicalSlots not set", nil
	}
	var dropped []string
	err := u.c.onWriter(ctx, func(tx pgx.Tx) error {
		list, err := slots.List(ctx, tx, slots.Logical)
		if err != nil {
			return err
		}
		for _, s := range list {
			if s.Temporary {
				continue
			}
			if _, err := tx.Exec(ctx, "SELECT pg_catalog.pg_drop_replication_slot($1)", s.Name); err != nil {
				return fmt.Errorf("dropping slot %s: %w", s.Name, err)
			}
			u.st.DroppedSlots = append(u.st.DroppedSlots, s)
			dropped = append(dropped, s.Name)
		}
		return nil
	})
	if err != nil {
		return false, "", err
	}
	if len(dropped) == 0 {
		return false, "no logical slot", nil
	}
	return true, "dropped " + strings.Join(dropped, ", "), nil
}

func (u *majorUpgrade) targetGroups(ctx context.Context) (bool, string, error) {
	family := ""
	if v, err := pgaurora.ParseEngineVersion(u.target); err == nil {
		family = v.Family()
	}
	var did []string
	for _, g := range u.st.ParameterGroups {
		if strings.HasPrefix(g.Target, "default.") {
			continue
		}
		cur, err := u.c.params.DescribeGroup(ctx, g.Kind, g.Target)
		switch {
		case errors.Is(err, params.ErrGroupNotFound):
			if _, err := u.c.params.CreateGroup(ctx, params.Group{Name: g.Target, Kind: g.Kind, Family: family,
				Description: fmt.Sprintf("%s for %s, carried from %s (created by pgaurora)", g.Kind, u.target, g.Current)}); err != nil {
				return len(did) > 0, "", err
			}
			did = append(did, "created "+g.Target)
		case err != nil:
			return len(did) > 0, "", err
		case !strings.EqualFold(cur.Family, family):
			return len(did) > 0, "", fmt.Errorf("parameter group %s exists with family %s, not %s", g.Target, cur.Family, family)
		}
		if len(g.Carry) == 0 {
			continue
		}
		p, err := u.c.params.Plan(ctx, g.Kind, g.Target, g.Carry...)
		if err != nil {
			return len(did) > 0, "", err
		}
		if p.Empty() {
			continue
		}
		if err := u.c.params.Apply(ctx, p); err != nil {
			return len(did) > 0, "", err
		}
		did = append(did, fmt.Sprintf("set %s in %s", changeList(p.Changes), g.Target))
	}
	if len(did) == 0 {
		return false, "the groups exist with their values", nil
	}
	return true, strings.Join(did, "; "), nil
}

func (u *majorUpgrade) targetGroup(kind params.Kind) string {
	for _, g := range u.st.ParameterGroups {
		if g.Kind == kind {
			return g.Target
		}
	}
	return ""
}

func (u *majorUpgrade) upgradeEngine(ctx context.Context) (bool, string, error) {
	d, err := u.c.Describe(ctx)
	if err != nil {
		return false, "", err
	}
	if d.EngineVersion == u.target {
		return false, "the cluster runs " + u.target, nil
	}
	from := d.EngineVersion
	in := &rds.ModifyDBClusterInput{EngineVersion: aws.String(u.target), AllowMajorVersionUpgrade: aws.Bool(true)}
	if g := u.targetGroup(params.ClusterGroup); g != "" {
		in.DBClusterParameterGroupName = aws.String(g)
	}
	if g := u.targetGroup(params.InstanceGroup); g != "" {
		in.DBInstanceParameterGroupName = aws.String(g)
	}
	in.DBClusterIdentifier, in.ApplyImmediately = aws.String(u.c.id), aws.Bool(true)
	out, err := u.c.api.ModifyDBCluster(ctx, in)
	if err != nil {
		return false, "", fmt.Errorf("ModifyDBCluster to %s: %w", u.target, err)
	}
	// Available again on the old version after it was not means RDS gave
	// the upgrade up (a pre-upgrade check failed).
	left := out.DBCluster != nil && aws.ToString(out.DBCluster.Status) != pgaurora.StatusAvailable
	_, err = u.c.waitDescribed(ctx, "cluster "+u.c.id+" to be available on "+u.target, u.w.wait, func(d *Description) bool {
		left = left || d.Status != pgaurora.StatusAvailable
		return d.Status == pgaurora.StatusAvailable && (d.EngineVersion == u.target || left)
	})
	u.c.resetIdleConns()
	if err != nil {
		return false, "", err
	}
	d, err = u.c.Describe(ctx)
	if err != nil {
		return false, "", err
	}
	if d.EngineVersion != u.target {
		return false, "", fmt.Errorf("RDS did not upgrade the cluster: it is available again on %s (its events, DescribeEvents, say why)", d.EngineVersion)
	}
	_, err = u.c.waitDescribed(ctx, "every instance to be available on "+u.target, u.w.wait, func(d *Description) bool {
		for _, in := range append(slices.Clone(d.Readers), derefInstance(d.Writer)...) {
			if in.Status != pgaurora.StatusAvailable {
				return false
			}
		}
		return d.Writer != nil
	})
	if err != nil {
		return false, "", err
	}
	u.st.Upgraded = true
	return true, fmt.Sprintf("%s to %s", from, u.target), nil
}

func derefInstance(in *pgaurora.Instance) []pgaurora.Instance {
	if in == nil {
		return nil
	}
	return []pgaurora.Instance{*in}
}

func (u *majorUpgrade) languages() []string {
	if u.opts.Plan != nil && u.opts.Plan.Languages != nil {
		return u.opts.Plan.Languages
	}
	return extensions.DefaultLanguageExtensions
}

func (u *majorUpgrade) updateExtensions(ctx context.Context) (bool, string, error) {
	var did []string
	err := u.eachDatabase(ctx, func(db string, conn *pgx.Conn) error {
		x := extensions.New(conn)
		ups, err := x.Updates(ctx)
		if err != nil {
			return err
		}
		for _, up := range ups {
			if slices.Contains(u.languages(), up.Name) || !up.Updatable() {
				continue
			}
			if err := x.Update(ctx, up.Name, ""); err != nil {
				return err
			}
			did = append(did, fmt.Sprintf("%s: %s %s to %s", db, up.Name, up.Installed, up.Default))
		}
		return nil
	})
	if err != nil {
		return len(did) > 0, "", err
	}
	if len(did) == 0 {
		return false, "every extension is at the engine's version", nil
	}
	return true, strings.Join(did, "; "), nil
}

func (u *majorUpgrade) upgradeLanguages(ctx context.Context) (bool, string, error) {
	var did []string
	err := u.eachDatabase(ctx, func(db string, conn *pgx.Conn) error {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_catalog.pg_extension WHERE extname = ANY($1)", u.languages()).Scan(&n); err != nil || n == 0 {
			return err
		}
		if u.opts.LanguageBackup == nil {
			return errors.New("language extensions are installed: set LanguageBackup")
		}
		res, err := extensions.UpgradeLanguages(ctx, conn, u.opts.LanguageBackup, &extensions.LanguageUpgradeOptions{
			Extensions: u.languages(), Reinstall: u.st.Upgraded && !u.st.LanguagesDone, Progress: u.w.progress})
		if err != nil {
			return err
		}
		for _, v := range res.Upgraded {
			did = append(did, fmt.Sprintf("%s: %s %s to %s", db, v.Name, v.From, v.To))
		}
		return nil
	})
	if err != nil {
		return len(did) > 0, "", err
	}
	u.st.LanguagesDone = true
	if len(did) == 0 {
		return false, "no language extension to reinstall", nil
	}
	return true, "reinstalled " + strings.Join(did, "; "), nil
}

// unanalyzedSQL lists the user tables with rows (or never counted) and no
// statistics: what a major upgrade leaves, since pg_upgrade does not carry
// pg_statistic.
const unanalyzedSQL = `SELECT n.nspname::text, c.relname::text
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
	AND c.reltuples <> 0 AND s.last_analyze IS NULL AND s.last_autoanalyze IS NULL
	AND NOT EXISTS (SELECT FROM pg_catalog.pg_statistic st WHERE st.starelid = c.oid)
ORDER BY 1, 2`

// analyzeStages are vacuumdb --analyze-in-stages' statistics targets:
// minimal statistics at once, then better ones, then the configured
// target (0 means the server's default_statistics_target).
var analyzeStages = []int{1, 10, 0}

func (u *majorUpgrade) analyze(ctx context.Context) (bool, string, error) {
	total := 0
	err := u.eachDatabase(ctx, func(db string, conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, unanalyzedSQL)
		if err != nil {
			return err
		}
		var tables []string
		for rows.Next() {
			var schema, table string
			if err := rows.Scan(&schema, &table); err != nil {
				rows.Close()
				return err
			}
			tables = append(tables, quoteIdent(schema, table))
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(tables) == 0 {
			return err
		}
		for i, target := range analyzeStages {
			set := "RESET default_statistics_target"
			if target > 0 {
				set = fmt.Sprintf("SET default_statistics_target = %d", target)
			}
			u.w.progress.Report(pgaurora.Event{Operation: u.w.report.Workflow, Step: stepAnalyze, Resource: db,
				Status: fmt.Sprintf("stage %d", i+1), Done: i, Total: len(analyzeStages),
				Detail: fmt.Sprintf("%s; ANALYZE of %s", set, plural.Count(len(tables), "table"))})
			if _, err := conn.Exec(ctx, set); err != nil {
				return err
			}
			if _, err := conn.Exec(ctx, "ANALYZE "+strings.Join(tables, ", ")); err != nil {
				return err
			}
		}
		total += len(tables)
		return nil
	})
	if err != nil {
		return total > 0, "", err
	}
	if total == 0 {
		return false, "every table has statistics", nil
	}
	return true, fmt.Sprintf("analyzed %s in %d stages", plural.Count(total, "table"), len(analyzeStages)), nil
}

func (u *majorUpgrade) restorePgLogical(ctx context.Context) (bool, string, error) {
	var did []string
	err := u.eachDatabase(ctx, func(db string, conn *pgx.Conn) error {
		desc, ok := u.st.PgLogical[db]
		if !ok {
			return nil
		}
		ro := &pglogical.RestoreOptions{Progress: u.w.progress}
		if ask := u.opts.PgLogicalPassword; ask != nil {
			ro.ProviderPassword = func(_ string, dsn pgaurora.ConnString) (string, error) { return ask(dsn) }
			ro.NodePassword = func(_ string, dsn pgaurora.ConnString) (string, error) { return ask(dsn) }
		}
		steps, err := pglogical.New(conn).Restore(ctx, desc, ro)
		for _, s := range steps {
			did = append(did, db+": "+s)
		}
		return err
	})
	if err != nil {
		return len(did) > 0, "", err
	}
	if len(did) == 0 {
		return false, "nothing of pglogical to restore", nil
	}
	return true, strings.Join(did, "; "), nil
}

func (u *majorUpgrade) verify(ctx context.Context) (bool, string, error) {
	var problems []string
	d, err := u.c.Describe(ctx)
	if err != nil {
		return false, "", err
	}
	if d.EngineVersion != u.target {
		problems = append(problems, fmt.Sprintf("the cluster reports %s", d.EngineVersion))
	}
	for _, g := range u.st.ParameterGroups {
		if g.Kind == params.ClusterGroup && !strings.EqualFold(d.ParameterGroup, g.Target) {
			problems = append(problems, fmt.Sprintf("the cluster uses %s, not %s", d.ParameterGroup, g.Target))
		}
		if g.Kind == params.InstanceGroup {
			for _, in := range append(slices.Clone(d.Readers), derefInstance(d.Writer)...) {
				if !strings.EqualFold(in.ParameterGroup, g.Target) {
					problems = append(problems, fmt.Sprintf("%s uses %s, not %s", in.ID, in.ParameterGroup, g.Target))
				}
			}
		}
		if len(g.Carry) == 0 {
			continue
		}
		p, err := u.c.params.Plan(ctx, g.Kind, g.Target, g.Carry...)
		if err != nil {
			return false, "", err
		}
		if !p.Empty() {
			problems = append(problems, fmt.Sprintf("%s lacks %s", g.Target, changeList(p.Changes)))
		}
	}
	err = u.eachDatabase(ctx, func(db string, conn *pgx.Conn) error {
		ups, err := extensions.New(conn).Updates(ctx)
		if err != nil {
			return err
		}
		for _, up := range ups {
			problems = append(problems, fmt.Sprintf("%s: %s is %s, not the engine's %s", db, up.Name, up.Installed, up.Default))
		}
		var now ObjectCounts
		if err := conn.QueryRow(ctx, objectCountsSQL).Scan(&now.Functions, &now.Triggers); err != nil {
			return err
		}
		if before, ok := u.st.Objects[db]; ok && now != before {
			problems = append(problems, fmt.Sprintf("%s: %d functions and %d triggers, %d and %d before", db, now.Functions, now.Triggers, before.Functions, before.Triggers))
		}
		var missing int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM ("+unanalyzedSQL+") x").Scan(&missing); err != nil {
			return err
		}
		if missing > 0 {
			problems = append(problems, fmt.Sprintf("%s: %s without statistics", db, plural.Count(missing, "table")))
		}
		return nil
	})
	if err != nil {
		return false, "", err
	}
	if len(problems) > 0 {
		return false, "", fmt.Errorf("the upgrade is not as planned: %s", strings.Join(problems, "; "))
	}
	return false, fmt.Sprintf("%s with its groups, values, extensions, functions, triggers and statistics in %s", u.target, plural.Count(len(u.dbs), "database")), nil
}
