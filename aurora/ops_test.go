package aurora_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/params"
)

func TestSetBackupRetention(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rec := &apiRecorder{}
	c := openCluster(t, opsClusterID, rec)

	for _, bad := range []int{0, -1, 36} {
		_, err := c.SetBackupRetention(ctx, bad, nil)
		var we *aurora.WorkflowError
		var ie *aurora.InputError
		if !errors.As(err, &we) || we.Step != "check input" || !strings.Contains(err.Error(), "1 to 35") ||
			!errors.As(err, &ie) || ie.Field != "days" {
			t.Errorf("SetBackupRetention(%d): %v; want a check-input error with an *InputError on days naming 1 to 35", bad, err)
		}
	}
	if acts := rec.take(); len(acts) != 0 {
		t.Errorf("invalid input made API calls: %v", acts)
	}

	for run := 1; run <= 2; run++ {
		r, err := c.SetBackupRetention(ctx, 7, &aurora.SetBackupRetentionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("run %d: %s", run, r)
		mut := mutating(rec.take())
		if run == 1 && (!r.Changed() || len(mut) != 1 || mut[0] != "ModifyDBCluster") {
			t.Errorf("first run: changed=%v, calls %v; want one ModifyDBCluster", r.Changed(), mut)
		}
		if run == 2 && (r.Changed() || len(mut) != 0 || !strings.Contains(r.String(), "nothing to change")) {
			t.Errorf("second run: changed=%v, calls %v; want nothing", r.Changed(), mut)
		}
	}
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.BackupRetentionDays != 7 || d.Status != "available" {
		t.Errorf("after SetBackupRetention: %d days, status %s", d.BackupRetentionDays, d.Status)
	}
}

func TestRebootAndFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rec := &apiRecorder{}
	c := openCluster(t, opsClusterID, rec)
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	writer, reader := d.Writer.ID, d.Readers[0].ID

	if _, err := c.Reboot(ctx, "", nil); err == nil {
		t.Error("Reboot of an empty identifier succeeded")
	}
	if _, err := c.Reboot(ctx, "shop-instance-1", nil); err == nil || !strings.Contains(err.Error(), "not a DB instance of cluster ops") {
		t.Errorf("Reboot of another cluster's instance: %v", err)
	}
	if m := mutating(rec.take()); len(m) != 0 {
		t.Errorf("refused reboots made calls: %v", m)
	}

	// Nothing pending: OnlyIfPending changes nothing.
	r, err := c.Reboot(ctx, reader, &aurora.RebootOptions{OnlyIfPending: true})
	if err != nil || r.Changed() {
		t.Fatalf("Reboot(OnlyIfPending) with nothing pending: %v, %v", err, r)
	}
	// Attach a custom group behind the SDK's back: every member is then
	// pending-reboot, and OnlyIfPending reboots each once.
	api := rds.NewFromConfig(emu.AWSConfig())
	if _, err := params.New(api).CreateGroup(ctx, params.Group{Name: "ops-reboot", Kind: params.ClusterGroup, Family: "aurora-postgresql15", Description: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String(opsClusterID), DBClusterParameterGroupName: aws.String("ops-reboot"), ApplyImmediately: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetBackupRetention(ctx, 3, &aurora.SetBackupRetentionOptions{}); err != nil { // waits for the modification
		t.Fatal(err)
	}
	rec.take()
	for _, id := range []string{reader, writer} {
		for run := 1; run <= 2; run++ {
			r, err := c.Reboot(ctx, id, &aurora.RebootOptions{OnlyIfPending: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s run %d: %s", id, run, r)
			mut := mutating(rec.take())
			if run == 1 && (!r.Changed() || len(mut) != 1 || mut[0] != "RebootDBInstance") {
				t.Errorf("%s first run: %v, calls %v; want one reboot", id, r, mut)
			}
			if run == 2 && (r.Changed() || len(mut) != 0) {
				t.Errorf("%s second run: %v, calls %v; want nothing", id, r, mut)
			}
		}
	}
	// Without OnlyIfPending a reboot always happens.
	if r, err := c.Reboot(ctx, reader, &aurora.RebootOptions{}); err != nil || !r.Changed() {
		t.Fatalf("plain Reboot: %v, %v", err, r)
	}

	// Failover to the reader, with the writer pool open.
	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(ctx, "CREATE TABLE IF NOT EXISTS failover_probe(at timestamptz)"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Failover(ctx, &aurora.FailoverOptions{Target: "nope"}); err == nil || !strings.Contains(err.Error(), "not a DB instance") {
		t.Errorf("Failover to an unknown target: %v", err)
	}
	rec.take()
	for run := 1; run <= 2; run++ {
		res, err := c.Failover(ctx, &aurora.FailoverOptions{Target: reader})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("run %d: %s (%s -> %s in %s)", run, res, res.OldWriter, res.NewWriter, res.Duration)
		mut := mutating(rec.take())
		if run == 1 && (!res.Report.Changed() || res.OldWriter != writer || res.NewWriter != reader || len(mut) != 1 || mut[0] != "FailoverDBCluster") {
			t.Errorf("first failover: %+v, calls %v", res, mut)
		}
		if run == 2 && (res.Report.Changed() || len(mut) != 0 || res.NewWriter != reader) {
			t.Errorf("second failover: %+v, calls %v; want nothing", res, mut)
		}
		if run == 1 && !strings.HasPrefix(res.String(), "writer "+writer+" -> "+reader+" in ") {
			t.Errorf("printed result %q does not name the writers", res)
		}
		if run == 1 && w.Target() != reader {
			t.Errorf("writer pool on %s after the failover, want %s", w.Target(), reader)
		}
	}
	// The pool writes to the new writer straight away.
	var id string
	if err := w.QueryRow(ctx, "INSERT INTO failover_probe VALUES (now()) RETURNING aurora_db_instance_identifier()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	if id != reader {
		t.Errorf("write landed on %s, want %s", id, reader)
	}
}
