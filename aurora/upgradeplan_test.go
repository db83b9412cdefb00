package aurora_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
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

// TestPlanMajorUpgrade plans an upgrade of the "upgrade" cluster from
// 15.4 to 16.6: first clean (no finding at all), then after each
// provocation the exact set of findings, with their evidence and fixes.
func TestPlanMajorUpgrade(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
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
	notOffered := planUpgrade(t, c, rec, "16.1", nil)
	wantFindings(t, notOffered.Findings, aurora.CheckUpgradeTarget)
	if f := finding(t, notOffered.Findings, aurora.CheckUpgradeTarget, "cluster/"+upgradeClusterID); !strings.Contains(f.Evidence, "16.6") || f.Severity != aurora.SeverityCritical {
		t.Errorf("target finding: %+v", f)
	}

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
}

func slicesEqual(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func planText(p *aurora.MajorUpgradePlan) string {
	var b strings.Builder
	for _, f := range p.Findings {
		fmt.Fprintf(&b, "  %s\n    fix: %+v\n", f, f.Fix)
	}
	return b.String()
}
