package auroratest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
)

// TestSaveAndResetState saves a 2-instance cluster's state with a schema,
// rows, a role and database privileges in place, changes all of that
// (and adds a database, a role, a logical slot and an open session), and
// resets: the writer and, as soon as ResetState returns, the reader hold
// the saved state again; what was added is gone. It resets twice from one
// save, refuses bad calls without touching the saved state, and with
// named databases resets only those.
func TestSaveAndResetState(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	emu, err := auroratest.Start(ctx, auroratest.WithCluster("saved", auroratest.ClusterConfig{Instances: 2, DatabaseName: "app", ClusterParameterGroup: "saved-params"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	// Logical replication, so that a logical slot can hold a database.
	api := rds.NewFromConfig(emu.AWSConfig())
	setClusterParam(t, ctx, api, "saved-params", "rds.logical_replication", "1", types.ApplyMethodPendingReboot)
	connect := func(instance, db string) *pgx.Conn {
		t.Helper()
		cs, err := emu.ConnString(instance, db)
		if err != nil {
			t.Fatal(err)
		}
		c, err := pgx.Connect(ctx, cs)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	exec := func(c *pgx.Conn, stmts ...string) {
		t.Helper()
		for _, s := range stmts {
			if _, err := c.Exec(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	one := func(c *pgx.Conn, q string) string {
		t.Helper()
		var s string
		if err := c.QueryRow(ctx, q).Scan(&s); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return s
	}
	const writer, reader = "saved-instance-1", "saved-instance-2"
	rebootAndWait(t, ctx, api, writer)
	const aclQuery = "SELECT coalesce(datacl::text, 'default') FROM pg_database WHERE datname = 'app'"
	const stateQuery = "SELECT count(*) || ' rows, sum ' || sum(id) || ', ' || (SELECT count(*) FROM pg_class WHERE relname = 'extra') || ' extra' FROM fixture"

	app := connect(writer, "app")
	exec(app,
		"CREATE TABLE fixture(id int PRIMARY KEY, v text)",
		"INSERT INTO fixture SELECT g, md5(g::text) FROM generate_series(1, 100) g",
		"CREATE ROLE fixture_user LOGIN",
		"GRANT CONNECT ON DATABASE app TO fixture_user")
	wantState, wantACL := one(app, stateQuery), one(app, aclQuery)
	if err := emu.ResetState(ctx, "saved"); err == nil || !strings.Contains(err.Error(), "SaveState first") {
		t.Fatalf("ResetState before any save: %v", err)
	}
	if err := emu.SaveState(ctx, "saved"); err != nil {
		t.Fatal(err)
	}
	// The save ended the session on app.
	if _, err := app.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("a session on a saved database lived through the save")
	}

	mess := func() *pgx.Conn {
		t.Helper()
		app := connect(writer, "app")
		exec(app,
			"DELETE FROM fixture WHERE id > 10",
			"CREATE TABLE extra(x int)",
			"REVOKE CONNECT ON DATABASE app FROM fixture_user",
			"CREATE ROLE added_user LOGIN",
			"CREATE DATABASE added",
			"SELECT pg_create_logical_replication_slot('added_slot', 'test_decoding')")
		if got := one(app, stateQuery); got == wantState {
			t.Fatalf("the changes did not change the state: %s", got)
		}
		return app
	}
	for round := range 2 {
		open := mess()
		if err := emu.ResetState(ctx, "saved"); err != nil {
			t.Fatalf("round %d: %v", round+1, err)
		}
		if _, err := open.Exec(ctx, "SELECT 1"); err == nil {
			t.Errorf("round %d: a session on a reset database lived through the reset", round+1)
		}
		// The reader has replayed the reset when ResetState returns:
		// read it at once.
		for _, in := range []string{reader, writer} {
			c := connect(in, "app")
			if got := one(c, stateQuery); got != wantState {
				t.Errorf("round %d: %s holds %s after the reset; want %s", round+1, in, got, wantState)
			}
			if got := one(c, aclQuery); got != wantACL {
				t.Errorf("round %d: %s: app's privileges are %s; want %s", round+1, in, got, wantACL)
			}
		}
		pg := connect(writer, "postgres")
		if got := one(pg, "SELECT string_agg(x, ',' ORDER BY x) FROM (SELECT datname AS x FROM pg_database WHERE datname IN ('added', 'app') UNION ALL SELECT rolname FROM pg_roles WHERE rolname IN ('added_user', 'fixture_user') UNION ALL SELECT slot_name FROM pg_replication_slots) s"); got != "app,fixture_user" {
			t.Errorf("round %d: after the reset the cluster has %s; want app,fixture_user", round+1, got)
		}
	}

	// A bad save changes nothing: the earlier save still resets.
	if err := emu.SaveState(ctx, "saved", "app", "nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("SaveState of a missing database: %v", err)
	}
	if err := emu.SaveState(ctx, "no-such-cluster"); err == nil {
		t.Fatal("SaveState of a missing cluster succeeded")
	}
	mess()
	if err := emu.ResetState(ctx, "saved"); err != nil {
		t.Fatal(err)
	}
	if got := one(connect(writer, "app"), stateQuery); got != wantState {
		t.Errorf("after a refused save, the reset gives %s; want %s", got, wantState)
	}

	// A save that fails after its first copy leaves the earlier save
	// whole: its copies are still there, and the reset puts it back.
	auroratest.FailSaveAfterCopy(1, errors.New("injected after the first copy"))
	err = emu.SaveState(ctx, "saved")
	auroratest.FailSaveAfterCopy(-1, nil)
	if err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("SaveState with a failure after the first copy: %v", err)
	}
	mess()
	if err := emu.ResetState(ctx, "saved"); err != nil {
		t.Fatal(err)
	}
	if got := one(connect(writer, "app"), stateQuery); got != wantState {
		t.Errorf("after a save that failed half-way, the reset gives %s; want %s", got, wantState)
	}
	if got := one(connect(writer, "postgres"), "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'auroratest%'"); got != "auroratest_saved_1_0,auroratest_saved_1_1" {
		t.Errorf("after a save that failed half-way the copies are %s; want the first save's two", got)
	}

	// Saving app alone leaves postgres as it is at the reset.
	if err := emu.SaveState(ctx, "saved", "app"); err != nil {
		t.Fatal(err)
	}
	exec(connect(writer, "postgres"), "CREATE TABLE kept(x int)")
	mess()
	if err := emu.ResetState(ctx, "saved"); err != nil {
		t.Fatal(err)
	}
	if got := one(connect(writer, "app"), stateQuery); got != wantState {
		t.Errorf("a reset of app alone gives %s; want %s", got, wantState)
	}
	if got := one(connect(writer, "postgres"), "SELECT count(*) FROM pg_class WHERE relname = 'kept'"); got != "1" {
		t.Errorf("a reset of app alone dropped postgres's table kept (%s found)", got)
	}
}
