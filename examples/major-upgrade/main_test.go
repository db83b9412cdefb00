package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
)

func TestMajorUpgrade(t *testing.T) {
	dir := t.TempDir()
	statePath, backupPath := filepath.Join(dir, "state.json"), filepath.Join(dir, "backup.sql")
	exampletest.Run(t, run, []string{"-state", statePath, "-backup", backupPath},
		`15\.4 → 16\.6 \(family aurora-postgresql15 → aurora-postgresql16\)`,
		`cluster group demo-aurora-postgresql15 → demo-aurora-postgresql16, carrying .*pgaudit\.log=write,ddl, rds\.logical_replication=1, shared_preload_libraries=pg_stat_statements,pgaudit,pglogical, work_mem=8192`,
		`instance group demo-instances → demo-instances-aurora-postgresql16, carrying random_page_cost=1\.1`,
		`3 findings, 2 blockers`,
		`critical +upgrade-language-extension +extension/plperl +plperl 1\.0 is installed in postgres with 2 functions `,
		`critical +upgrade-logical-slot +slot/cdc_slot`,
		`warning +upgrade-parameter-not-carried +parameter-group/demo-aurora-postgresql15 +vacuum_defer_cleanup_age=10`,
		`refused, nothing changed: the upgrade is blocked by 1 finding: upgrade-logical-slot slot/cdc_slot`,
		`- drop logical replication slots: changed \(dropped cdc_slot\)`,
		`- upgrade the engine: changed \(15\.4 to 16\.6\)`,
		`- analyze every database: changed \(analyzed \d+ tables in 3 stages\)`,
		`- verify the upgrade: unchanged \(16\.6 with its groups`,
		`upgrade-demo runs 16\.6, cluster group demo-aurora-postgresql16`,
		`orders: 1000 rows; order_label still works: order-999`,
		`UpgradeMajorVersion: nothing to change`,
		`backup of the language functions \(\d+ bytes\) appended to `,
	)
	b, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	var st aurora.MajorUpgradeState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("the state file is not a MajorUpgradeState: %v\n%s", err, b)
	}
	if st.Target != "16.6" || !st.Upgraded || st.Snapshot != "upgrade-demo-before-16-6" || len(st.DroppedSlots) != 1 || st.DroppedSlots[0].Name != "cdc_slot" {
		t.Errorf("state after the upgrade: %s", b)
	}
	backup, err := os.ReadFile(backupPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(backup), "order_label") {
		t.Errorf("the backup has no order_label:\n%s", backup)
	}
}

func TestMajorUpgradePlanOnly(t *testing.T) {
	out := exampletest.Run(t, run, []string{"-plan-only", "-target", "17.5"},
		`15\.4 → 17\.5 \(family aurora-postgresql15 → aurora-postgresql17\)`,
		`critical +upgrade-logical-slot +slot/cdc_slot`,
	)
	if strings.Contains(out, "== upgrade") {
		t.Errorf("-plan-only went on to upgrade")
	}
}
