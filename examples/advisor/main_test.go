package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
)

func TestAdvisorTable(t *testing.T) {
	exampletest.Run(t, run, nil,
		`advisor-demo: 5 findings`,
		`SEVERITY +CHECK +RESOURCE +EVIDENCE +FIX`,
		`critical +storage-not-encrypted +cluster/advisor-demo +StorageEncrypted=false`,
		`warning +force-ssl-off +cluster/advisor-demo +rds.force_ssl=0 on the writer +set in a custom cluster group: rds.force_ssl=1; the cluster uses the default group default.aurora-postgresql15, which cannot be modified`,
		`warning +no-reader +cluster/advisor-demo`,
		`warning +default-master-username +cluster/advisor-demo +MasterUsername=postgres`,
		`warning +deletion-protection-off`,
	)
}

func TestAdvisorJSON(t *testing.T) {
	out := exampletest.Run(t, run, []string{"-json", "-migration"})
	dec := json.NewDecoder(strings.NewReader(out))
	ids := map[string]bool{}
	for dec.More() {
		var f aurora.Finding
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("not JSON lines: %v", err)
		}
		if f.Why == "" || f.Evidence == "" {
			t.Errorf("incomplete finding %+v", f)
		}
		ids[f.ID] = true
	}
	for _, id := range []string{aurora.CheckStorageNotEncrypted, aurora.CheckDeletionProtectionOff, aurora.CheckDefaultMasterUsername,
		aurora.CheckForceSSLOff, aurora.CheckNoReader, aurora.CheckAutoMinorUpgrade} {
		if !ids[id] {
			t.Errorf("no %s in the JSON output", id)
		}
	}
	if len(ids) != 6 {
		t.Errorf("findings %v, want exactly 6 checks", ids)
	}
}

func TestAdvisorFleetTable(t *testing.T) {
	exampletest.Run(t, run, []string{"-fleet"},
		`cluster advisor-demo \(1 instance\) and cluster advisor-demo-b \(2 instances\)`,
		`\[2/2\] advisor-demo`,
		`9 findings`,
		`CLUSTER +SEVERITY +CHECK +RESOURCE +EVIDENCE +FIX`,
		`advisor-demo +warning +no-reader +cluster/advisor-demo `,
		`advisor-demo-b +critical +storage-not-encrypted +cluster/advisor-demo-b +StorageEncrypted=false`,
		`summary: 2 clusters: 2 done, 0 failed; 9 findings; \d+ API calls`,
	)
}

func TestAdvisorFleetJSON(t *testing.T) {
	out := exampletest.Run(t, run, []string{"-fleet", "-json"})
	dec := json.NewDecoder(strings.NewReader(out))
	byCluster := map[string]map[string]bool{}
	for dec.More() {
		var f clusterFinding
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("not JSON lines: %v", err)
		}
		if f.Cluster == "" || f.Region == "" || f.ID == "" || f.Evidence == "" {
			t.Errorf("incomplete finding %+v", f)
		}
		if byCluster[f.Cluster] == nil {
			byCluster[f.Cluster] = map[string]bool{}
		}
		byCluster[f.Cluster][f.ID] = true
	}
	// The 2-instance cluster has a reader; the other has not.
	if !byCluster["advisor-demo"][aurora.CheckNoReader] || byCluster["advisor-demo-b"][aurora.CheckNoReader] {
		t.Errorf("no-reader findings by cluster: %v", byCluster)
	}
	if len(byCluster) != 2 || len(byCluster["advisor-demo"]) != 5 || len(byCluster["advisor-demo-b"]) != 4 {
		t.Errorf("findings by cluster %v, want 5 and 4", byCluster)
	}
}

func TestAdvisorDrift(t *testing.T) {
	// rds.force_ssl differs from the default group's 0; statement_timeout
	// is the engine default, 0; shared_preload_libraries is the default
	// group's value: only rds.force_ssl is drift.
	exampletest.Run(t, run, []string{"-fleet", "-drift", "rds.force_ssl=on", "-drift", "statement_timeout=0", "-drift", "shared_preload_libraries=pg_stat_statements"},
		`2 parameters drifted`,
		`CLUSTER +STATE +GROUP +PARAMETER +VALUE +SOURCE +WANT +DETAIL`,
		`advisor-demo +different +cluster default.aurora-postgresql15 +rds.force_ssl +0 +system +on `,
		`advisor-demo-b +different +cluster default.aurora-postgresql15 +rds.force_ssl +0 +system +on `,
		`advisor-demo +in-sync +2 parameters`,
		`summary: 2 clusters: 2 done, 0 failed; 2 drifted \(2 parameters\)`,
	)
	out := exampletest.Run(t, run, []string{"-drift", "log_min_duration_statement=1s"},
		`1 parameter drifted`,
		`advisor-demo +different +cluster default.aurora-postgresql15 +log_min_duration_statement +-1 +engine-default +1s `)
	if strings.Contains(out, "advisor-demo-b") {
		t.Error("the single-cluster drift check read the fleet")
	}
}

// TestAdvisorPrices: -hourly gives Advise its prices: without one for
// the cluster's class, Advise refuses them naming the field; with it, the
// run succeeds (the example's emulator has no CloudWatch data yet, so the
// I/O-Optimized check has nothing to judge and the findings are the
// usual five).
func TestAdvisorPrices(t *testing.T) {
	err := exampletest.Fails(t, nil, run, []string{"-hourly", "db.x9.large=1"})
	var ie *aurora.InputError
	if !errors.As(err, &ie) || ie.Field != "AdvisePrices.HourlyPrices" {
		t.Errorf("prices without the cluster's class: %v; want an *aurora.InputError for AdvisePrices.HourlyPrices", err)
	}
	if err := exampletest.Fails(t, nil, run, []string{"-hourly", "db.r6g.large=cheap"}); err == nil || !strings.Contains(err.Error(), "not a price") {
		t.Errorf("a price that is not a number: %v", err)
	}
	exampletest.Run(t, run, []string{"-hourly", "db.r6g.large=0.26"}, `advisor-demo: 5 findings`)
}
