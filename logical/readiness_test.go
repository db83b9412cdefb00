package logical

import (
	"errors"
	"strings"
	"testing"
)

// TestReadiness is the readiness part of the acceptance tests: a table
// without a primary key and a large-object column are flagged, with the
// other documented restrictions.
func TestReadiness(t *testing.T) {
	t.Parallel()
	db := newDB(t, pubSrv)
	c := New(db.Pool)
	ctx := testCtx(t)
	mustExec(t, db.Pool, `CREATE EXTENSION lo;
		CREATE TABLE ok (id bigserial PRIMARY KEY, body text);
		CREATE TABLE nopk (a int, b text);
		CREATE TABLE uniq (a int NOT NULL, b text, UNIQUE (a));
		CREATE TABLE full_ri (a int);
		ALTER TABLE full_ri REPLICA IDENTITY FULL;
		CREATE TABLE nothing (id int PRIMARY KEY);
		ALTER TABLE nothing REPLICA IDENTITY NOTHING;
		CREATE TABLE docs (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, blob oid, pic lo,
			words int GENERATED ALWAYS AS (id * 2) STORED);
		CREATE SEQUENCE free_seq;
		CREATE TABLE uses_seq (id int PRIMARY KEY DEFAULT nextval('free_seq'));
		CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY);
		CREATE VIEW v AS SELECT * FROM ok;
		CREATE MATERIALIZED VIEW mv AS SELECT * FROM ok;
		CREATE TABLE parted (id int, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
		CREATE TABLE parted_eu PARTITION OF parted FOR VALUES IN ('eu');
		CREATE TABLE parted_us (id int NOT NULL, region text NOT NULL);
		ALTER TABLE parted ATTACH PARTITION parted_us FOR VALUES IN ('us');
		CREATE TABLE logs (at timestamptz, msg text) PARTITION BY RANGE (at);
		CREATE TABLE logs_2024 PARTITION OF logs FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');`)

	tbl := func(name string) TableName { return TableName{"public", name} }
	rep, err := c.CheckReadiness(ctx, ReadinessInput{Tables: []TableName{
		tbl("ok"), tbl("nopk"), tbl("uniq"), tbl("full_ri"), tbl("nothing"), tbl("docs"), tbl("uses_seq"),
		tbl("scratch"), tbl("v"), tbl("mv"), tbl("parted"), tbl("logs_2024"), tbl("free_seq"), tbl("missing"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		t.Log(f)
	}
	type key struct {
		table string
		kind  FindingKind
		sev   Severity
		col   string
	}
	got := map[key]Finding{}
	for _, f := range rep.Findings {
		got[key{f.Table.Name, f.Kind, f.Severity, f.Column}] = f
	}
	want := []key{
		{"nopk", FindingNoReplicaIdentity, SeverityError, ""},
		{"uniq", FindingNoReplicaIdentity, SeverityError, ""},
		{"full_ri", FindingReplicaIdentityFull, SeverityWarning, ""},
		{"nothing", FindingNoReplicaIdentity, SeverityError, ""},
		{"docs", FindingLargeObject, SeverityWarning, "blob"},
		{"docs", FindingLargeObject, SeverityWarning, "pic"},
		{"docs", FindingSequence, SeverityWarning, "id"},
		{"docs", FindingGeneratedColumn, SeverityInfo, "words"},
		{"ok", FindingSequence, SeverityWarning, "id"},
		{"uses_seq", FindingSequence, SeverityWarning, "id"},
		{"scratch", FindingUnlogged, SeverityError, ""},
		{"v", FindingNotPublishable, SeverityError, ""},
		{"mv", FindingNotPublishable, SeverityError, ""},
		{"free_seq", FindingNotPublishable, SeverityError, ""},
		{"missing", FindingNotFound, SeverityError, ""},
		{"parted", FindingPartitionedTable, SeverityInfo, ""},
		{"logs_2024", FindingPartition, SeverityInfo, ""},
		{"logs_2024", FindingNoReplicaIdentity, SeverityError, ""},
	}
	for _, k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("missing finding %+v", k)
		}
	}
	if len(rep.Findings) != len(want) {
		t.Errorf("%d findings, want %d", len(rep.Findings), len(want))
	}
	if rep.OK() {
		t.Error("OK() with errors")
	}
	// Fixes name the right SQL.
	if f := got[key{"uniq", FindingNoReplicaIdentity, SeverityError, ""}]; !strings.Contains(f.Fix, `REPLICA IDENTITY USING INDEX "uniq_a_key"`) {
		t.Errorf("uniq fix = %q, want the unique index suggested", f.Fix)
	}
	if f := got[key{"nopk", FindingNoReplicaIdentity, SeverityError, ""}]; !strings.Contains(f.Fix, `ALTER TABLE "public"."nopk" ADD PRIMARY KEY`) {
		t.Errorf("nopk fix = %q", f.Fix)
	}
	if f := got[key{"scratch", FindingUnlogged, SeverityError, ""}]; f.Fix != `ALTER TABLE "public"."scratch" SET LOGGED;` {
		t.Errorf("scratch fix = %q", f.Fix)
	}
	if f := got[key{"docs", FindingSequence, SeverityWarning, "id"}]; f.Sequence != (TableName{"public", "docs_id_seq"}) {
		t.Errorf("docs sequence = %v", f.Sequence)
	}
	if f := got[key{"logs_2024", FindingPartition, SeverityInfo, ""}]; f.Root != (TableName{"public", "logs"}) {
		t.Errorf("logs_2024 root = %v", f.Root)
	}
	// The leaves of a partitioned table are checked too.
	if !contains(rep.Checked, tbl("parted_eu")) || !contains(rep.Checked, tbl("parted_us")) {
		t.Errorf("checked = %v, want the leaves of parted", rep.Checked)
	}

	// With inserts only, a missing replica identity is informational.
	rep, err = c.CheckReadiness(ctx, ReadinessInput{Tables: []TableName{tbl("nopk")}, Operations: []Operation{OpInsert}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Severity != SeverityInfo || !rep.OK() {
		t.Errorf("insert-only findings = %v", rep.Findings)
	}

	// A publication's own tables and settings.
	mustExec(t, db.Pool, "CREATE PUBLICATION ins FOR TABLE nopk, parted WITH (publish = 'insert', publish_via_partition_root = true)")
	rep, err = c.CheckReadiness(ctx, ReadinessInput{Publication: "ins"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if f.Severity == SeverityError {
			t.Errorf("insert-only publication: unexpected error %v", f)
		}
		if f.Kind == FindingPartitionedTable && !strings.Contains(f.Message, "publish_via_partition_root its partitions") {
			t.Errorf("via-root message = %q", f.Message)
		}
	}
	if _, err := c.CheckReadiness(ctx, ReadinessInput{Publication: "nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing publication: %v", err)
	}

	// Whole database: every table outside the system schemas.
	rep, err = c.CheckReadiness(ctx, ReadinessInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !contains(rep.Checked, tbl("ok")) || contains(rep.Checked, tbl("v")) || contains(rep.Checked, TableName{"pg_catalog", "pg_class"}) {
		t.Errorf("whole-database check covered %v", rep.Checked)
	}
	if _, err := c.CheckReadiness(ctx, ReadinessInput{Tables: []TableName{{Name: ""}}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty name: %v", err)
	}
}

func contains(ts []TableName, t TableName) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}
