package aurora_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/pglogical"
)

// writerSetting returns the writer's current value of a setting.
func writerSetting(t *testing.T, c *aurora.Cluster, name string) string {
	t.Helper()
	ctx := context.Background()
	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var v string
	if err := w.RunTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v)
	}); err != nil {
		t.Fatalf("reading %s on the writer: %v", name, err)
	}
	return v
}

func TestConfigureLogicalReplication(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rec := &apiRecorder{}
	c := openCluster(t, logicalClusterID, rec)
	plan := aurora.LogicalReplicationPlan{Publications: 6, Subscriptions: 4, Slots: 3}
	var progress syncList[pgaurora.Event]
	opts := &aurora.LogicalReplicationOptions{Progress: progress.add}

	r1, err := c.ConfigureLogicalReplication(ctx, plan, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run:\n%s", r1)
	wantSteps(t, r1,
		stepWant{"use a custom DB cluster parameter group", true},
		stepWant{"set rds.logical_replication=1", true},
		stepWant{"reboot members pending reboot", true},
		stepWant{"verify wal_level=logical", false})
	if got, want := strings.Join(eventSteps("ConfigureLogicalReplication", progress.snapshot()), "|"), strings.Join(stepNames(r1.Steps), "|"); got != want {
		t.Errorf("progress reported %q, want the report's steps %q", got, want)
	}
	if d := r1.Steps[2].Detail; !strings.Contains(d, "lrep-instance-1") || !strings.Contains(d, "lrep-instance-2") {
		t.Errorf("reboot detail %q does not name both instances", d)
	}

	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.ParameterGroup != aurora.CustomClusterGroupName(logicalClusterID) {
		t.Errorf("cluster parameter group %q, want %q", d.ParameterGroup, aurora.CustomClusterGroupName(logicalClusterID))
	}
	for _, in := range append(d.Readers, *d.Writer) {
		if in.ClusterParameterGroupStatus != "in-sync" || in.Status != "available" {
			t.Errorf("%s: status %s, cluster parameters %s; want available and in-sync", in.ID, in.Status, in.ClusterParameterGroupStatus)
		}
	}
	if got := writerSetting(t, c, "wal_level"); got != "logical" {
		t.Errorf("wal_level = %q on the writer", got)
	}
	// 6 + 4 + 3 slots are planned.
	if got, _ := strconv.Atoi(writerSetting(t, c, "max_replication_slots")); got < 13 {
		t.Errorf("max_replication_slots = %d, want at least 13", got)
	}

	rec.take()
	r2, err := c.ConfigureLogicalReplication(ctx, plan, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Changed() || !strings.Contains(r2.String(), "nothing to change") {
		t.Errorf("second run changed something:\n%s", r2)
	}
	if mut := mutating(rec.take()); len(mut) != 0 {
		t.Errorf("second run made changing calls: %v", mut)
	}
	wantSteps(t, r2,
		stepWant{"use a custom DB cluster parameter group", false},
		stepWant{"set rds.logical_replication=1", false},
		stepWant{"reboot members pending reboot", false},
		stepWant{"verify wal_level=logical", false})
}

func TestConfigureLogicalReplicationRefusesBadPlan(t *testing.T) {
	rec := &apiRecorder{}
	c := openCluster(t, logicalClusterID, rec)
	for _, tc := range []struct {
		plan  aurora.LogicalReplicationPlan
		field string
	}{
		{aurora.LogicalReplicationPlan{Slots: -1}, "LogicalReplicationPlan.Slots"},
		{aurora.LogicalReplicationPlan{VCPU: -2}, "LogicalReplicationPlan.VCPU"},
		{aurora.LogicalReplicationPlan{Publications: 1, ActiveSlots: 2}, "LogicalReplicationPlan.ActiveSlots"},
	} {
		_, err := c.ConfigureLogicalReplication(context.Background(), tc.plan, nil)
		var we *aurora.WorkflowError
		var ie *aurora.InputError
		if !errors.As(err, &we) || !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("plan %+v: error %v, want a *WorkflowError with an *InputError on %s", tc.plan, err, tc.field)
		}
	}
	if acts := rec.take(); len(acts) != 0 {
		t.Errorf("a refused plan called RDS: %v", acts)
	}
}

func TestEnablePgLogical(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rec := &apiRecorder{}
	c := openCluster(t, pglogicalClusterID, rec)
	opts := &aurora.PgLogicalOptions{Sizing: pglogical.Sizing{Subscriptions: 2, ProvidedSubscriptions: 2}}

	r1, err := c.EnablePgLogical(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run:\n%s", r1)
	wantSteps(t, r1,
		stepWant{"use a custom DB cluster parameter group", true},
		stepWant{"set the pglogical parameters", true},
		stepWant{"reboot members pending reboot", true},
		stepWant{"create extension pglogical", true},
		stepWant{"create the pglogical node pglog", true})
	if d := r1.Steps[1].Detail; !strings.Contains(d, "shared_preload_libraries=") || !strings.Contains(d, "pglogical") || !strings.Contains(d, "rds.logical_replication=1") {
		t.Errorf("parameter step detail %q does not show the preload and logical replication changes", d)
	}

	if got := writerSetting(t, c, "wal_level"); got != "logical" {
		t.Errorf("wal_level = %q", got)
	}
	node, err := c.PgLogical().LocalNode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if node.Name != pglogicalClusterID || len(node.Interfaces) != 1 {
		t.Fatalf("local node %+v, want %q with one interface", node, pglogicalClusterID)
	}
	dsn := node.Interfaces[0].DSN
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := dsn.Get("host")
	db, _ := dsn.Get("dbname")
	if host != d.Endpoint || db != "postgres" || dsn.HasPassword() {
		t.Errorf("node DSN %s: want host %s, dbname postgres and no password", dsn, d.Endpoint)
	}

	rec.take()
	r2, err := c.EnablePgLogical(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Changed() || !strings.Contains(r2.String(), "nothing to change") {
		t.Errorf("second run changed something:\n%s", r2)
	}
	if mut := mutating(rec.take()); len(mut) != 0 {
		t.Errorf("second run made changing calls: %v", mut)
	}
	if len(r2.Steps) != 5 {
		t.Errorf("second run has %d steps, want 5:\n%s", len(r2.Steps), r2)
	}

	// Asking for another node name does not replace the node.
	_, err = c.EnablePgLogical(ctx, &aurora.PgLogicalOptions{NodeName: "other", Sizing: opts.Sizing})
	var we *aurora.WorkflowError
	if !errors.As(err, &we) || !strings.HasPrefix(we.Step, "create the pglogical node") || !strings.Contains(err.Error(), `"pglog"`) {
		t.Errorf("EnablePgLogical with another node name: %v; want a failure at the node step naming the existing node", err)
	}
}
