package aurora_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/extensions"
)

// plv8Database is where the PLV8 upgrade test works, on diagClusterID.
const plv8Database = "plv8_upgrade"

// TestUpgradePLV8 runs UpgradePLV8 with plperl standing in for plv8: PLV8
// is not packaged for Debian's PostgreSQL 15, and the upgrade is the same
// for any procedural-language extension (extensions.UpgradeLanguages).
// plperl has only version 1.0, so the test makes the catalog say 0.9 is
// installed, as after an engine upgrade that shipped a newer library.
func TestUpgradePLV8(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := openCluster(t, diagClusterID, nil)
	aw, err := admin.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := aw.Exec(ctx, "DROP DATABASE IF EXISTS "+plv8Database); err != nil {
		t.Fatal(err)
	}
	if _, err := aw.Exec(ctx, "CREATE DATABASE "+plv8Database); err != nil {
		t.Fatal(err)
	}
	c := openCluster(t, diagClusterID, nil, aurora.WithDatabase(plv8Database))
	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"CREATE EXTENSION plperl",
		"CREATE ROLE plv8_app NOLOGIN",
		`CREATE FUNCTION add_one(i int) RETURNS int LANGUAGE plperl AS $$ return $_[0] + 1; $$`,
		"COMMENT ON FUNCTION add_one(int) IS 'adds one'",
		"REVOKE ALL ON FUNCTION add_one(int) FROM PUBLIC",
		"GRANT EXECUTE ON FUNCTION add_one(int) TO plv8_app",
		"CREATE TABLE items(id int PRIMARY KEY, n int)",
		`CREATE FUNCTION items_bump() RETURNS trigger LANGUAGE plperl AS $$ $_TD->{new}{n} += 1; return "MODIFY"; $$`,
		"CREATE TRIGGER items_bump BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION items_bump()",
		"UPDATE pg_catalog.pg_extension SET extversion = '0.9' WHERE extname = 'plperl'",
	} {
		if _, err := w.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	t.Cleanup(func() {
		c.Close()
		ctx := context.Background()
		_, _ = aw.Exec(ctx, "DROP DATABASE IF EXISTS "+plv8Database+" WITH (FORCE)")
		_, _ = aw.Exec(ctx, "DROP ROLE IF EXISTS plv8_app")
	})

	opts := &aurora.PLV8UpgradeOptions{Languages: []string{"plperl"}}
	var backup bytes.Buffer
	r1, err := c.UpgradePLV8(ctx, &backup, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run:\n%s", r1)
	wantSteps(t, r1,
		stepWant{"plan the language upgrade", false},
		stepWant{"upgrade the language extensions", true},
		stepWant{"verify the installed versions", false})
	if d := r1.Steps[1].Detail; !strings.Contains(d, "plperl 0.9 -> 1.0") || !strings.Contains(d, "2 functions and 1 triggers") {
		t.Errorf("upgrade detail %q", d)
	}
	if !strings.Contains(backup.String(), "add_one") || !strings.Contains(backup.String(), "items_bump") {
		t.Errorf("backup (%d bytes) lacks the functions", backup.Len())
	}

	var version, comment string
	var n int
	var canExec bool
	if err := w.QueryRow(ctx, "SELECT extversion FROM pg_extension WHERE extname = 'plperl'").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(ctx, "INSERT INTO items VALUES (1, 1)"); err != nil {
		t.Fatal(err)
	}
	if err := w.QueryRow(ctx, `SELECT add_one(n), obj_description('add_one(int)'::regprocedure), has_function_privilege('plv8_app', 'add_one(int)', 'EXECUTE')
		FROM items WHERE id = 1`).Scan(&n, &comment, &canExec); err != nil {
		t.Fatal(err)
	}
	if version != "1.0" || n != 3 || comment != "adds one" || !canExec {
		t.Errorf("after the upgrade: plperl %s, add_one(trigger-bumped 1) = %d, comment %q, plv8_app may execute: %v; want 1.0, 3, \"adds one\", true",
			version, n, comment, canExec)
	}

	backup.Reset()
	r2, err := c.UpgradePLV8(ctx, &backup, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Changed() || !strings.Contains(r2.String(), "nothing to change") || backup.Len() != 0 {
		t.Errorf("second run changed something or wrote a backup (%d bytes):\n%s", backup.Len(), r2)
	}

	// The defaults (plv8, plcoffee, plls) are not installed here.
	r3, err := c.UpgradePLV8(ctx, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r3.Changed() || !strings.Contains(r3.Steps[0].Detail, "none of plv8, plcoffee, plls is installed") {
		t.Errorf("default languages:\n%s", r3)
	}

	for _, tc := range []struct {
		backup io.Writer
		opts   *aurora.PLV8UpgradeOptions
		field  string
	}{
		{nil, nil, "backup"},
		{io.Discard, &aurora.PLV8UpgradeOptions{Languages: []string{}}, "PLV8UpgradeOptions.Languages"},
		{io.Discard, &aurora.PLV8UpgradeOptions{Languages: []string{"plperl", " "}}, "PLV8UpgradeOptions.Languages[1]"},
		{io.Discard, &aurora.PLV8UpgradeOptions{LockTimeout: -time.Second}, "PLV8UpgradeOptions.LockTimeout"},
	} {
		_, err := c.UpgradePLV8(ctx, tc.backup, tc.opts)
		var ie *aurora.InputError
		if !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("UpgradePLV8 with bad %s: %v", tc.field, err)
		}
	}
}

// TestEnablePLRustUnavailable runs EnablePLRust where the engine version
// allows PL/Rust but the server has no plrust package (it is not installed
// here, and the emulator, like Aurora, only lets shared_preload_libraries
// list installed libraries). The workflow must stop at its availability
// check, naming the extension, before it changes any parameter or reboots
// anything.
func TestEnablePLRustUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rec := &apiRecorder{}
	c := openCluster(t, pglogicalClusterID, rec)
	before, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var progress syncList[pgaurora.Event]
	r, err := c.EnablePLRust(ctx, &aurora.PLRustOptions{Progress: progress.add})
	if r != nil || err == nil {
		t.Fatalf("EnablePLRust without a plrust package: report %v, error %v; want an error", r, err)
	}
	t.Logf("EnablePLRust: %v", err)
	var we *aurora.WorkflowError
	if !errors.As(err, &we) || we.Step != "check that the plrust extension is available" {
		t.Fatalf("error %v; want a *WorkflowError at the availability check", err)
	}
	if !errors.Is(err, extensions.ErrNotAvailable) || !strings.Contains(err.Error(), "plrust") {
		t.Errorf("error %q does not match extensions.ErrNotAvailable or does not name plrust", err)
	}
	if len(we.Report.Steps) != 1 || we.Report.Steps[0].Name != "check the engine version for PL/Rust" || we.Report.Changed() {
		t.Errorf("completed steps:\n%s\nwant only the engine version check, unchanged", we.Report)
	}
	if got := eventSteps("EnablePLRust", progress.snapshot()); len(got) != 1 {
		t.Errorf("progress saw %v", got)
	}
	if m := mutating(rec.take()); len(m) != 0 {
		t.Errorf("the refused workflow made changing calls: %v", m)
	}
	after, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.ParameterGroup != before.ParameterGroup {
		t.Errorf("cluster parameter group changed from %s to %s", before.ParameterGroup, after.ParameterGroup)
	}
}

// TestEnablePLRustRefusesOldEngine: the diag cluster reports engine version
// 15.1, older than PL/Rust's 15.2-R2 minimum; the workflow refuses before
// any call that changes something or touches the database.
func TestEnablePLRustRefusesOldEngine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec := &apiRecorder{}
	var connects atomic.Int32
	c := openCluster(t, diagClusterID, rec, aurora.WithPoolConfig(func(pc *pgxpool.Config) {
		pc.AfterConnect = func(context.Context, *pgx.Conn) error { connects.Add(1); return nil }
	}))
	_, err := c.EnablePLRust(ctx, &aurora.PLRustOptions{})
	t.Logf("EnablePLRust on 15.1: %v", err)
	var we *aurora.WorkflowError
	var ve *extensions.EngineVersionError
	if !errors.As(err, &we) || we.Step != "check the engine version for PL/Rust" || !errors.As(err, &ve) || !errors.Is(err, extensions.ErrUnsupportedEngine) {
		t.Fatalf("EnablePLRust on 15.1: %v; want a *WorkflowError at the engine version step wrapping *extensions.EngineVersionError", err)
	}
	if !strings.Contains(err.Error(), "15.1") || !strings.Contains(err.Error(), "plrust") {
		t.Errorf("error %q does not name the version and the extension", err)
	}
	if we.Report.Changed() || len(we.Report.Steps) != 0 {
		t.Errorf("steps completed before the refusal:\n%s", we.Report)
	}
	if m := mutating(rec.take()); len(m) != 0 {
		t.Errorf("the refused workflow made changing calls: %v", m)
	}
	if n := connects.Load(); n != 0 {
		t.Errorf("the refused workflow opened %d database connections", n)
	}
}
