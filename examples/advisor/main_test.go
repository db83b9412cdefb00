package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
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
	for _, v := range exampleenv.Variables {
		t.Setenv(v, "")
	}
	var out bytes.Buffer
	if err := run(context.Background(), &out, []string{"-json", "-migration"}); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&out)
	ids := map[string]bool{}
	for dec.More() {
		var f aurora.Finding
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("not JSON lines: %v\n%s", err, out.String())
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
