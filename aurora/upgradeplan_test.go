package aurora_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/params"
	"github.com/pgaurora/pgaurora/pgaudit"
	"github.com/pgaurora/pgaurora/pglogical"
)

// planUpgrade runs PlanMajorUpgrade and checks that it only described.
func planUpgrade(t *testing.T, c *aurora.Cluster, rec *apiRecorder, target string, opts *aurora.MajorUpgradePlanOptions) *aurora.MajorUpgradePlan {
	t.Helper()
	rec.take()
	p, err := c.PlanMajorUpgrade(context.Background(), target, opts)
	if err != nil {
		t.Fatalf("PlanMajorUpgrade(%s): %v", target, err)
	}
	acts := rec.take()
	if len(acts) == 0 {
		t.Fatal("PlanMajorUpgrade sent no RDS call: the recorder is not in the path")
	}
	for _, a := range acts {
		if !strings.HasPrefix(a, "Describe") {
			t.Errorf("PlanMajorUpgrade sent %s; it may only describe", a)
		}
	}
	return p
}

// TestMajorUpgrade plans an upgrade of the "upgrade" cluster from 15.4 to
// 16.6: first clean (no finding at all), then after each provocation the
// exact set of findings, with their evidence and fixes. Then it upgrades
// the cluster: refused while blockers it cannot fix remain, then run to
// completion with a failure injected after each step and a resumed run
// (the state through JSON) each time, then once more to see nothing
// change; and checks what survived.
func TestMajorUpgrade(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	rec := &apiRecorder{}
	c := openCluster(t, upgradeClusterID, rec)
	svc := c.Params()

	// A clean cluster with a recent snapshot and carried values.
	if err := svc.Modify(ctx, params.ClusterGroup, "app-aurora-postgresql15", params.Change{Name: "work_mem", Value: "8192", Method: types.ApplyMethodImmediate}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Modify(ctx, params.InstanceGroup, "app-instances", params.Change{Name: "random_page_cost", Value: "1.1", Method: types.ApplyMethodImmediate}); err != nil {
		t.Fatal(err)
	}
	// The emulator, like Aurora, takes an automated snapshot when it
	// creates a cluster: that one is recent.
	clean := planUpgrade(t, c, rec, "16.6", nil)
	wantFindings(t, clean.Findings)
	old := planUpgrade(t, c, rec, "16.6", &aurora.MajorUpgradePlanOptions{SnapshotMaxAge: time.Nanosecond})
	wantFindings(t, old.Findings, aurora.CheckUpgradeSnapshot)
	if f := finding(t, old.Findings, aurora.CheckUpgradeSnapshot, "cluster/"+upgradeClusterID); !strings.Contains(f.Evidence, "the newest snapshot is from") {
		t.Errorf("snapshot finding: %+v", f)
	}
	if !clean.Ready() || clean.From != "15.4" || clean.To != "16.6" || clean.FromFamily != "aurora-postgresql15" || clean.ToFamily != "aurora-postgresql16" {
		t.Fatalf("clean plan: %+v", clean)
	}
	if len(clean.ParameterGroups) != 2 {
		t.Fatalf("parameter groups: %+v", clean.ParameterGroups)
	}
	cg, ig := clean.ParameterGroups[0], clean.ParameterGroups[1]
	if cg.Kind != params.ClusterGroup || cg.Current != "app-aurora-postgresql15" || cg.Target != "app-aurora-postgresql16" ||
		fmt.Sprint(cg.Carry) != "[work_mem=8192]" {
		t.Errorf("cluster group carry-over: %+v", cg)
	}
	if ig.Kind != params.InstanceGroup || ig.Current != "app-instances" || ig.Target != "app-instances-aurora-postgresql16" ||
		len(ig.Instances) != 2 || fmt.Sprint(ig.Carry) != "[random_page_cost=1.1]" {
		t.Errorf("instance group carry-over: %+v", ig)
	}

	// Bad input is refused before any call; a target RDS does not offer
	// (16.1 is not the latest 16) is a finding.
	for _, bad := range []string{"", "sixteen", "15.10", "14.9"} {
		rec.take()
		if _, err := c.PlanMajorUpgrade(ctx, bad, nil); err == nil {
			t.Errorf("PlanMajorUpgrade(%q) succeeded", bad)
		} else if acts := rec.take(); bad == "sixteen" && len(acts) > 0 {
			t.Errorf("PlanMajorUpgrade(%q) called %v before refusing", bad, acts)
		}
	}
	if _, err := c.PlanMajorUpgrade(ctx, "16.6", &aurora.MajorUpgradePlanOptions{SnapshotMaxAge: -time.Second}); err == nil {
		t.Error("a negative SnapshotMaxAge was accepted")
	}
	if _, err := c.PlanMajorUpgrade(ctx, "16.6", &aurora.MajorUpgradePlanOptions{MaxReplicaLag: -time.Second}); err == nil {
		t.Error("a negative MaxReplicaLag was accepted")
	}
	notOffered := planUpgrade(t, c, rec, "16.1", nil)
	wantFindings(t, notOffered.Findings, aurora.CheckUpgradeTarget)
	if f := finding(t, notOffered.Findings, aurora.CheckUpgradeTarget, "cluster/"+upgradeClusterID); !strings.Contains(f.Evidence, "16.6") || f.Severity != aurora.SeverityCritical {
		t.Errorf("target finding: %+v", f)
	}

	// A reader that lags: its commits held back an hour, it is reported
	// once past MaxReplicaLag, and no longer once it has caught up.
	const laggard = upgradeClusterID + "-instance-2"
	if err := emu.SetReplicaLag(laggard, time.Hour); err != nil {
		t.Fatal(err)
	}
	lw, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lw.Exec(ctx, "CREATE TABLE lag_probe(); DROP TABLE lag_probe"); err != nil {
		t.Fatal(err)
	}
	lagOpts := &aurora.MajorUpgradePlanOptions{MaxReplicaLag: 100 * time.Millisecond}
	var lagging *aurora.MajorUpgradePlan
	pgtest.WaitFor(t, "the plan to report the lagging reader", time.Minute, func() (bool, string) {
		lagging = planUpgrade(t, c, rec, "16.6", lagOpts)
		return len(lagging.Findings) > 0, fmt.Sprint(lagging.Findings)
	})
	wantFindings(t, lagging.Findings, aurora.CheckUpgradeReplicaLag)
	if f := finding(t, lagging.Findings, aurora.CheckUpgradeReplicaLag, "instance/"+laggard); !strings.Contains(f.Evidence, "behind the writer") || f.Severity != aurora.SeverityWarning {
		t.Errorf("replica lag finding: %+v", f)
	}
	if err := emu.SetReplicaLag(laggard, 0); err != nil {
		t.Fatal(err)
	}
	pgtest.WaitFor(t, "the plan to see the reader caught up", time.Minute, func() (bool, string) {
		p := planUpgrade(t, c, rec, "16.6", lagOpts)
		return len(p.Findings) == 0, fmt.Sprint(p.Findings)
	})

	// The provocations.
	if err := svc.Modify(ctx, params.ClusterGroup, "app-aurora-postgresql15", params.Change{Name: "vacuum_defer_cleanup_age", Value: "10", Method: types.ApplyMethodImmediate}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnablePgAudit(ctx, pgaudit.Settings{Log: pgaurora.Ptr(pgaudit.Write | pgaudit.DDL)}, nil); err != nil {
		t.Fatal(err)
	}
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dsn := func(db string) pgaurora.ConnString {
		cs, err := pgaurora.NewConnString(map[string]string{"host": d.Writer.Address, "port": fmt.Sprint(d.Writer.Port),
			"dbname": db, "user": "postgres", "password": emu.MasterPassword(upgradeClusterID), "sslmode": "require"})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	if _, err := c.EnablePgLogical(ctx, &aurora.PgLogicalOptions{NodeName: "sub_node", NodeDSN: dsn("postgres")}); err != nil {
		t.Fatal(err)
	}
	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(p *aurora.Pool, sqls ...string) {
		t.Helper()
		for _, sql := range sqls {
			if _, err := p.Exec(ctx, sql); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
	}
	exec(w, "CREATE DATABASE prov")
	prov, err := openCluster(t, upgradeClusterID, nil, aurora.WithDatabase("prov")).Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exec(prov, "CREATE TABLE t_pgl (id int PRIMARY KEY, v text)", "INSERT INTO t_pgl VALUES (1, 'a')",
		"CREATE TABLE grants (id int PRIMARY KEY, acl aclitem[])")
	exec(w, "CREATE TABLE t_pgl (id int PRIMARY KEY, v text)")
	pp := pglogical.New(prov)
	if _, err := pp.Install(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pp.CreateNode(ctx, "prov_node", dsn("prov")); err != nil {
		t.Fatal(err)
	}
	if err := pp.AddTable(ctx, pglogical.DefaultSet, pglogical.Table{Schema: "public", Name: "t_pgl"}, nil); err != nil {
		t.Fatal(err)
	}
	sub := pglogical.New(w)
	if _, err := sub.CreateSubscription(ctx, pglogical.SubscriptionSpec{Name: "pgl_sub", Provider: dsn("prov"), SynchronizeData: true}); err != nil {
		t.Fatal(err)
	}
	if err := sub.WaitForSync(ctx, "pgl_sub", nil); err != nil {
		t.Fatal(err)
	}
	exec(w,
		// plperl stands in for PLV8: a function, and a trigger function
		// used by a trigger.
		"CREATE EXTENSION plperl",
		"CREATE FUNCTION perl_len(s text) RETURNS int LANGUAGE plperl AS 'return length($_[0]);'",
		"CREATE FUNCTION perl_trg() RETURNS trigger LANGUAGE plperl AS 'return;'",
		"CREATE TABLE with_trigger (id int)",
		"CREATE TRIGGER t BEFORE INSERT ON with_trigger FOR EACH ROW EXECUTE FUNCTION perl_trg()",
		// A column pg_upgrade refuses.
		"CREATE TABLE reg_refs (id int PRIMARY KEY, fn regproc)",
		"INSERT INTO reg_refs VALUES (1, 'now')",
		// A logical slot holding changes.
		"SELECT pg_create_logical_replication_slot('cdc_slot', 'test_decoding')",
		"INSERT INTO with_trigger VALUES (1)",
	)

	plan := planUpgrade(t, c, rec, "16.6", &aurora.MajorUpgradePlanOptions{Languages: []string{"plperl"}})
	wantFindings(t, plan.Findings,
		aurora.CheckUpgradeParameter,
		aurora.CheckUpgradeLanguage,
		aurora.CheckUpgradePgLogical, aurora.CheckUpgradePgLogical,
		aurora.CheckUpgradeLogicalSlot,
		aurora.CheckUpgradeColumnType, aurora.CheckUpgradeColumnType)
	if plan.Ready() || len(plan.Blockers()) != 6 {
		t.Errorf("blockers: %v", plan.Blockers())
	}
	for _, want := range []struct{ id, resource, evidence string }{
		{aurora.CheckUpgradeParameter, "parameter-group/app-aurora-postgresql15", "family aurora-postgresql16 has no parameter vacuum_defer_cleanup_age"},
		{aurora.CheckUpgradeLanguage, "extension/plperl", "installed in postgres with 2 functions"},
		{aurora.CheckUpgradePgLogical, "database/postgres", `drop subscription "pgl_sub"`},
		{aurora.CheckUpgradePgLogical, "database/prov", "drop replication slot"},
		{aurora.CheckUpgradeLogicalSlot, "slot/cdc_slot", "test_decoding"},
		{aurora.CheckUpgradeColumnType, "database/postgres", "public.reg_refs.fn in postgres is of type regproc"},
		{aurora.CheckUpgradeColumnType, "database/prov", "public.grants.acl in prov is of type aclitem[]"},
	} {
		f := finding(t, plan.Findings, want.id, want.resource)
		if !strings.Contains(f.Evidence, want.evidence) {
			t.Errorf("%s %s: evidence %q, want it to hold %q", want.id, want.resource, f.Evidence, want.evidence)
		}
	}
	// The values the target accepts are still carried, pgAudit's and
	// pglogical's preload included; the refused one is not.
	carried := map[string]string{}
	for _, ch := range plan.ParameterGroups[0].Carry {
		carried[ch.Name] = ch.Value
	}
	if carried["work_mem"] != "8192" || carried["pgaudit.log"] == "" || !strings.Contains(carried["shared_preload_libraries"], "pglogical") {
		t.Errorf("carried: %v", carried)
	}
	if _, ok := carried["vacuum_defer_cleanup_age"]; ok {
		t.Error("vacuum_defer_cleanup_age was carried to a family without it")
	}
	if !slicesEqual(plan.Databases, []string{"postgres", "prov"}) {
		t.Errorf("databases checked: %v", plan.Databases)
	}
	t.Logf("plan:\n%s", planText(plan))

	// To 17.5 too: the same blockers (the slot still cannot be carried
	// from 15).
	plan17 := planUpgrade(t, c, rec, "17.5", &aurora.MajorUpgradePlanOptions{Languages: []string{"plperl"}})
	finding(t, plan17.Findings, aurora.CheckUpgradeLogicalSlot, "slot/cdc_slot")

	testUpgrade(ctx, t, c, w, prov, dsn)
}

// testUpgrade is the upgrade half of TestMajorUpgrade, on the provoked
// cluster.
func testUpgrade(ctx context.Context, t *testing.T, c *aurora.Cluster, w, prov *aurora.Pool, dsn func(string) pgaurora.ConnString) {
	exec := func(p *aurora.Pool, sqls ...string) {
		t.Helper()
		for _, sql := range sqls {
			if _, err := p.Exec(ctx, sql); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
	}
	queryInt := func(p *aurora.Pool, sql string) int {
		t.Helper()
		var n int
		if err := p.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	exec(w, "CREATE ROLE perl_user",
		"GRANT EXECUTE ON FUNCTION perl_len(text) TO perl_user",
		"COMMENT ON FUNCTION perl_len(text) IS 'length in Perl'",
		"INSERT INTO t_pgl SELECT 0, 'subscriber only' WHERE false")
	var backup strings.Builder
	opts := &aurora.MajorUpgradeOptions{Plan: &aurora.MajorUpgradePlanOptions{Languages: []string{"plperl"}}, LanguageBackup: &backup,
		PgLogicalPassword: func(pgaurora.ConnString) (string, error) { return emu.MasterPassword(upgradeClusterID), nil }}

	// Blocked: the columns pg_upgrade refuses, and the slot (not dropped
	// unless asked). Nothing changes.
	_, err := c.UpgradeMajorVersion(ctx, "16.6", opts)
	var blocked *aurora.UpgradeBlockedError
	var we *aurora.WorkflowError
	if !errors.As(err, &blocked) || !errors.As(err, &we) || we.Step != "plan the major version upgrade" || len(blocked.Blockers) != 3 {
		t.Fatalf("upgrade with blockers: %v", err)
	}
	if d, _ := c.Describe(ctx); d.EngineVersion != "15.4" || len(we.Report.Steps) != 0 {
		t.Fatalf("a blocked upgrade changed something: %s, %v", d.EngineVersion, we.Report.Steps)
	}
	exec(w, "ALTER TABLE reg_refs ALTER COLUMN fn TYPE text")
	exec(prov, "ALTER TABLE grants ALTER COLUMN acl TYPE text[]")
	opts.DropLogicalSlots = true

	// A failure after each step, then a resumed run from the state
	// saved as JSON.
	steps := []string{"plan the major version upgrade", "snapshot the cluster", "tear down pglogical", "drop logical replication slots",
		"create the target family's parameter groups", "upgrade the engine", "update extensions", "upgrade the language extensions",
		"analyze every database", "restore pglogical", "verify the upgrade"}
	var saved []byte
	for i, after := range steps[:len(steps)-1] {
		st := &aurora.MajorUpgradeState{}
		if saved != nil {
			if err := json.Unmarshal(saved, st); err != nil {
				t.Fatal(err)
			}
		}
		o := *opts
		o.State = st
		rctx, stop := context.WithCancel(ctx)
		o.Progress = func(e pgaurora.Event) {
			if e.Operation == "UpgradeMajorVersion" && e.Completed && e.Step == after {
				stop()
			}
		}
		_, err := c.UpgradeMajorVersion(rctx, "16.6", &o)
		stop()
		if !errors.As(err, &we) || we.Step != steps[i+1] || !errors.Is(err, context.Canceled) {
			t.Fatalf("run stopped after %q: %v, want a *WorkflowError at %q", after, err, steps[i+1])
		}
		if saved, err = json.Marshal(st); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(saved), emu.MasterPassword(upgradeClusterID)) {
			t.Fatal("the saved state holds the master password")
		}
		last := we.Report.Steps[len(we.Report.Steps)-1]
		if last.Name != after {
			t.Fatalf("the last step reported is %q, want %q", last.Name, after)
		}
		t.Logf("stopped after %s", last)
	}
	st := &aurora.MajorUpgradeState{}
	if err := json.Unmarshal(saved, st); err != nil {
		t.Fatal(err)
	}
	o := *opts
	o.State = st
	rep, err := c.UpgradeMajorVersion(ctx, "16.6", &o)
	if err != nil {
		t.Fatalf("the last resumed run: %v", err)
	}
	t.Logf("last run:\n%s", rep)
	if st.Snapshot != "upgrade-before-16-6" || len(st.DroppedSlots) != 1 || st.DroppedSlots[0].Name != "cdc_slot" {
		t.Errorf("state: snapshot %q, dropped %v", st.Snapshot, st.DroppedSlots)
	}

	// A second run changes nothing.
	again, err := c.UpgradeMajorVersion(ctx, "16.6", opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.Changed() {
		t.Errorf("a run on the upgraded cluster changed something:\n%s", again)
	}

	// What survived.
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.EngineVersion != "16.6" || d.ParameterGroup != "app-aurora-postgresql16" {
		t.Errorf("after the upgrade: %s, group %s", d.EngineVersion, d.ParameterGroup)
	}
	for _, in := range append(d.Readers, *d.Writer) {
		if in.ParameterGroup != "app-instances-aurora-postgresql16" {
			t.Errorf("%s uses %s", in.ID, in.ParameterGroup)
		}
	}
	w, err = c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var preload, workMem string
	if err := w.QueryRow(ctx, "SELECT current_setting('shared_preload_libraries'), current_setting('work_mem')").Scan(&preload, &workMem); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(preload, "pgaudit") || !strings.Contains(preload, "pglogical") || workMem != "8MB" {
		t.Errorf("settings after the upgrade: shared_preload_libraries=%s work_mem=%s", preload, workMem)
	}
	if n := queryInt(w, "SELECT perl_len('four')"); n != 4 {
		t.Errorf("perl_len = %d", n)
	}
	if n := queryInt(w, `SELECT count(*) FROM pg_trigger WHERE tgname = 't' AND tgrelid = 'with_trigger'::regclass`); n != 1 {
		t.Errorf("%d triggers t", n)
	}
	if n := queryInt(w, `SELECT count(*) FROM pg_proc WHERE proname = 'perl_len' AND has_function_privilege('perl_user', oid, 'EXECUTE')
		AND obj_description(oid, 'pg_proc') = 'length in Perl'`); n != 1 {
		t.Error("perl_len lost its grant or its comment")
	}
	if n := queryInt(w, "SELECT count(*) FROM pg_statistic s JOIN pg_class c ON c.oid = s.starelid WHERE c.relname = 'reg_refs'"); n == 0 {
		t.Error("reg_refs has no statistics after the upgrade")
	}
	if !strings.Contains(backup.String(), "perl_len") {
		t.Error("the language backup does not hold perl_len")
	}
	// pglogical replication flows again.
	exec(prov, "INSERT INTO t_pgl VALUES (2, 'after the upgrade')")
	deadline := time.Now().Add(time.Minute)
	for queryInt(w, "SELECT count(*) FROM t_pgl") != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the row written on the provider after the upgrade did not arrive: %d rows", queryInt(w, "SELECT count(*) FROM t_pgl"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = dsn
}

func slicesEqual(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func planText(p *aurora.MajorUpgradePlan) string {
	var b strings.Builder
	for _, f := range p.Findings {
		fmt.Fprintf(&b, "  %s\n    fix: %+v\n", f, f.Fix)
	}
	return b.String()
}
