package extensions_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/extensions"
	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

func perlOpts() *extensions.LanguageUpgradeOptions {
	return &extensions.LanguageUpgradeOptions{Extensions: perlExtensions, Reinstall: true}
}

func snapshot(t testing.TB, db *pgtest.DB) *extensions.LanguageSnapshot {
	t.Helper()
	s, err := extensions.SnapshotLanguages(ctxT(t), db.Pool, perlExtensions)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func TestPlanLanguageUpgrade(t *testing.T) {
	t.Log(plv8Missing)
	db := pgtest.NewDB(t)
	f := buildLanguageFixture(t, db, 60)
	p, err := extensions.PlanLanguageUpgrade(ctxT(t), db.Pool, &extensions.LanguageUpgradeOptions{Extensions: []string{"plperl", "plperlu", "plv8"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Dependents) != 0 {
		t.Errorf("dependents: %v", p.Dependents)
	}
	got := map[string]extensions.LanguageExtensionPlan{}
	for _, e := range p.Extensions {
		got[e.Name] = e
	}
	if e := got["plv8"]; e.InstalledVersion != "" || e.Upgrade {
		t.Errorf("plv8 is not installed here, plan says %+v", e)
	}
	if e := got["plperl"]; e.InstalledVersion != "1.0" || e.TargetVersion != "1.0" || e.Upgrade || len(e.Languages) != 1 {
		t.Errorf("plperl plan %+v", e)
	}
	if n := got["plperl"].Functions + got["plperlu"].Functions; n != f.functions {
		t.Errorf("functions in plperl+plperlu: %d, fixture made %d", n, f.functions)
	}
	if got["plperlu"].Functions != 1 {
		t.Errorf("plperlu functions: %d, want 1", got["plperlu"].Functions)
	}
	if p.Triggers() != f.triggers {
		t.Errorf("triggers: %d, fixture made %d", p.Triggers(), f.triggers)
	}
	if len(p.Before.Defaults) != f.defaults {
		t.Errorf("column defaults: %v, fixture made %d", p.Before.Defaults, f.defaults)
	}
	if len(p.Upgrading()) != 0 {
		t.Errorf("nothing is below its default version, yet upgrading %v", p.Upgrading())
	}
	// A plan's backup, written without upgrading, restores after a
	// disaster.
	var backup bytes.Buffer
	if err := p.WriteBackup(&backup); err != nil {
		t.Fatal(err)
	}
	before := capture(t, db)
	mustExec(t, db.Pool, "DROP EXTENSION plperl, plperlu CASCADE")
	if _, err := extensions.RestoreLanguageBackup(ctxT(t), db.Pool, &backup); err != nil {
		t.Fatal(err)
	}
	checkUnchanged(t, db, before, "restore of a plan's backup")
}

func TestUpgradeLanguagesKeepsEverything(t *testing.T) {
	t.Log(plv8Missing)
	db := pgtest.NewDB(t)
	buildLanguageFixture(t, db, 120)
	before := capture(t, db)
	var backup bytes.Buffer
	var steps []extensions.UpgradeStep
	opts := perlOpts()
	opts.Progress = func(e pgaurora.Event) {
		if e.Operation != "extensions.UpgradeLanguages" || !e.Completed {
			t.Errorf("event %v", e)
		}
		steps = append(steps, extensions.UpgradeStep(e.Step))
	}
	res, err := extensions.UpgradeLanguages(ctxT(t), db.Pool, &backup, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkUnchanged(t, db, before, "catalog changed by the upgrade")
	if res.Functions != len(before.snap.Functions) || res.Triggers != len(before.snap.Triggers) {
		t.Errorf("result counts %d functions, %d triggers; snapshot has %d, %d", res.Functions, res.Triggers, len(before.snap.Functions), len(before.snap.Triggers))
	}
	wantSteps := []extensions.UpgradeStep{extensions.StepBackupWritten, extensions.StepDropped,
		extensions.StepCreated, extensions.StepFunctions, extensions.StepTriggers, extensions.StepVerified}
	if d := cmp.Diff(wantSteps, steps); d != "" {
		t.Errorf("steps (-want +got):\n%s", d)
	}
	// The triggers still work.
	mustExec(t, db.Pool, `INSERT INTO app."tab le" VALUES (1, 'x', 1)`)
	var v string
	if err := db.Pool.QueryRow(ctxT(t), `SELECT v FROM app."tab le" WHERE id = 1`).Scan(&v); err != nil || !strings.HasPrefix(v, "t") {
		t.Errorf("trigger did not run after the upgrade: v=%q err=%v", v, err)
	}
	b, err := extensions.ReadLanguageBackup(bytes.NewReader(backup.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(*before.snap, b.Snapshot); d != "" {
		t.Errorf("backup snapshot differs (-before +backup):\n%s", d)
	}
}

func TestUpgradeLanguagesRollsBackWhenCancelled(t *testing.T) {
	db := pgtest.NewDB(t)
	buildLanguageFixture(t, db, 20)
	before := capture(t, db)
	opts := perlOpts()
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	opts.Progress = func(e pgaurora.Event) {
		if e.Step == string(extensions.StepFunctions) {
			cancel()
		}
	}
	_, err := extensions.UpgradeLanguages(ctx, db.Pool, &bytes.Buffer{}, opts)
	var ue *extensions.UpgradeError
	if !errors.As(err, &ue) || !errors.Is(err, context.Canceled) || !ue.RolledBack || ue.Step != extensions.StepFunctions {
		t.Fatalf("want a rolled-back *UpgradeError at %q wrapping context.Canceled, got %#v", extensions.StepFunctions, err)
	}
	checkUnchanged(t, db, before, "catalog changed")
}

// TestUpgradeLanguages1000 is the acceptance test: 1,000 plperl functions
// (some used by triggers, some granted to other roles, some commented).
// Killing the upgrading session mid-transaction leaves the database
// exactly as before; the upgrade then succeeds and everything is
// identical.
func TestUpgradeLanguages1000(t *testing.T) {
	t.Log(plv8Missing)
	db := pgtest.NewDB(t)
	f := buildLanguageFixture(t, db, 1000)
	before := capture(t, db)
	if len(before.snap.Functions) != f.functions || f.functions < 1000 {
		t.Fatalf("snapshot holds %d functions, fixture made %d", len(before.snap.Functions), f.functions)
	}
	granted, commented := 0, 0
	for _, fn := range before.snap.Functions {
		if len(fn.ACL) > 2 || (len(fn.ACL) == 2 && !strings.HasPrefix(fn.ACL[0], "=")) {
			granted++
		}
		if fn.Comment != "" {
			commented++
		}
	}
	t.Logf("%d functions (%d with grants to other roles, %d commented), %d triggers", len(before.snap.Functions), granted, commented, len(before.snap.Triggers))

	// 1. Kill the session between recreating the functions and the
	// triggers.
	killer := db.Connect(t)
	for _, at := range []extensions.UpgradeStep{extensions.StepDropped, extensions.StepFunctions} {
		opts := perlOpts()
		opts.Progress = func(e pgaurora.Event) {
			if e.Step == string(at) {
				// The upgrading session is the one in this database with a
				// transaction that has written.
				var ok bool
				if err := killer.QueryRow(ctxT(t), `SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity
					WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL`).Scan(&ok); err != nil || !ok {
					t.Errorf("terminating the upgrade's backend: %v %v", ok, err)
				}
			}
		}
		_, err := extensions.UpgradeLanguages(ctxT(t), db.Pool, &bytes.Buffer{}, opts)
		var ue *extensions.UpgradeError
		if !errors.As(err, &ue) || !ue.RolledBack {
			t.Fatalf("killed after %q: want a rolled-back *UpgradeError, got %v", at, err)
		}
		t.Logf("killed after %q: %v", at, err)
		checkUnchanged(t, db, before, "killing the session after %q changed the catalog", at)
	}

	// 2. The upgrade.
	var backup bytes.Buffer
	res, err := extensions.UpgradeLanguages(ctxT(t), db.Pool, &backup, perlOpts())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("upgraded %v: %d functions, %d triggers, %d statements in %v; backup %d bytes",
		res.Upgraded, res.Functions, res.Triggers, res.Statements, res.Elapsed, backup.Len())
	checkUnchanged(t, db, before, "catalog changed by the upgrade")
}

// upgradedWithBackup builds a 40-function fixture, captures its catalog and
// upgrades it, returning the backup UpgradeLanguages wrote.
func upgradedWithBackup(t *testing.T) (*pgtest.DB, *catalogState, []byte) {
	t.Helper()
	db := pgtest.NewDB(t)
	buildLanguageFixture(t, db, 40)
	before := capture(t, db)
	var backup bytes.Buffer
	if _, err := extensions.UpgradeLanguages(ctxT(t), db.Pool, &backup, perlOpts()); err != nil {
		t.Fatal(err)
	}
	return db, before, backup.Bytes()
}

func TestRestoreLanguageBackup(t *testing.T) {
	t.Log(plv8Missing)
	db, before, backup := upgradedWithBackup(t)

	// Disaster: the documented procedure's DROP ... CASCADE without the
	// restore. Everything written in plperl is gone.
	mustExec(t, db.Pool, "DROP EXTENSION plperl, plperlu CASCADE")
	// A grant added to a function the backup holds must not survive the
	// restore either: recreate one function by hand with an extra grant.
	mustExec(t, db.Pool, `CREATE EXTENSION plperl`)
	mustExec(t, db.Pool, `CREATE FUNCTION app.zz_base() RETURNS integer LANGUAGE plperl AS $$ return 1; $$`)
	mustExec(t, db.Pool, `GRANT EXECUTE ON FUNCTION app.zz_base() TO pg_monitor`)

	res, err := extensions.RestoreLanguageBackup(ctxT(t), db.Pool, bytes.NewReader(backup))
	if err != nil {
		t.Fatal(err)
	}
	if res.Functions != len(before.snap.Functions) || res.Triggers != len(before.snap.Triggers) || len(res.Extra) != 0 {
		t.Errorf("restore result %+v", res)
	}
	checkUnchanged(t, db, before, "restore did not bring the catalog back")
	// Restoring again over the restored database changes nothing.
	if _, err := extensions.RestoreLanguageBackup(ctxT(t), db.Pool, bytes.NewReader(backup)); err != nil {
		t.Fatal(err)
	}
	checkUnchanged(t, db, before, "second restore changed the catalog")
}

func TestLanguageBackupRunsInPsql(t *testing.T) {
	psql := pgtest.Binary(t, "psql")
	db, before, backup := upgradedWithBackup(t)
	mustExec(t, db.Pool, "DROP EXTENSION plperl, plperlu CASCADE")
	file := filepath.Join(t.TempDir(), "backup.sql")
	if err := os.WriteFile(file, backup, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(psql, "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", db.ConnString(), "-f", file).CombinedOutput()
	if err != nil {
		t.Fatalf("psql -1 -f backup: %v\n%s", err, out)
	}
	checkUnchanged(t, db, before, "psql replay did not bring the catalog back")
}

func TestReadLanguageBackupRejectsDamage(t *testing.T) {
	db, _, good := upgradedWithBackup(t)
	if _, err := extensions.ReadLanguageBackup(bytes.NewReader(good)); err != nil {
		t.Fatalf("intact backup: %v", err)
	}
	body := bytes.Index(good, []byte("$function$"))
	cases := map[string][]byte{
		"empty":        nil,
		"not a backup": []byte("SELECT 1;\n"),
		"truncated":    good[:len(good)/2],
		"no end line":  good[:bytes.LastIndex(good, []byte("-- pgaurora:end"))],
		"edited body":  append(append(append([]byte{}, good[:body+11]...), 'X'), good[body+12:]...),
	}
	for name, in := range cases {
		if _, err := extensions.ReadLanguageBackup(bytes.NewReader(in)); !errors.Is(err, extensions.ErrBadBackup) {
			t.Errorf("%s: want ErrBadBackup, got %v", name, err)
		}
		// The damaged backup is refused before anything runs.
		if _, err := extensions.RestoreLanguageBackup(ctxT(t), db.Pool, bytes.NewReader(in)); !errors.Is(err, extensions.ErrBadBackup) {
			t.Errorf("%s: restore: want ErrBadBackup, got %v", name, err)
		}
	}
}

func TestUpgradeLanguagesRefusesUnrecreatableDependents(t *testing.T) {
	db := pgtest.NewDB(t)
	buildLanguageFixture(t, db, 10)
	mustExec(t, db.Pool, `CREATE VIEW app.v AS SELECT app.zz_base() AS x`)
	mustExec(t, db.Pool, `CREATE FUNCTION app.imm(int) RETURNS int LANGUAGE plperl IMMUTABLE AS $$ return $_[0]; $$`)
	mustExec(t, db.Pool, `CREATE TABLE app.g (x int, y int GENERATED ALWAYS AS (app.imm(x)) STORED)`)
	before := capture(t, db)
	var backup bytes.Buffer
	_, err := extensions.UpgradeLanguages(ctxT(t), db.Pool, &backup, perlOpts())
	var de *extensions.DependentsError
	if !errors.As(err, &de) || !errors.Is(err, extensions.ErrUnsupportedDependents) {
		t.Fatalf("want *DependentsError, got %v", err)
	}
	var got []string
	for _, d := range de.Dependents {
		got = append(got, d.Type)
	}
	if d := cmp.Diff([]string{"generated column", "rule"}, got); d != "" {
		t.Errorf("dependent types (-want +got):\n%s\nerror: %v", d, err)
	}
	if backup.Len() != 0 {
		t.Errorf("a refused upgrade wrote %d bytes of backup", backup.Len())
	}
	checkUnchanged(t, db, before, "refused upgrade changed the catalog")
}

// Default privileges give new functions a non-default ACL; the upgrade
// must still reproduce every ACL exactly, including the built-in default
// of functions that never had a GRANT.
func TestUpgradeLanguagesWithDefaultPrivileges(t *testing.T) {
	db := pgtest.NewDB(t)
	f := buildLanguageFixture(t, db, 30)
	mustExec(t, db.Pool, "ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC")
	mustExec(t, db.Pool, "ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT EXECUTE ON FUNCTIONS TO "+quote(f.granter))
	mustExec(t, db.Pool, `CREATE FUNCTION app.after_defaults() RETURNS int LANGUAGE plperl AS $$ return 1; $$`)
	before := capture(t, db)
	if _, err := extensions.UpgradeLanguages(ctxT(t), db.Pool, io.Discard, perlOpts()); err != nil {
		t.Fatal(err)
	}
	checkUnchanged(t, db, before, "catalog changed")
}

// Extension ownership and DEPENDS ON EXTENSION marks come back too, and
// the extension owner's default privileges neither change the recreated
// extension's functions nor change.
func TestUpgradeLanguagesKeepsOwnersAndExtensionDependencies(t *testing.T) {
	db := pgtest.NewDB(t)
	creator := newRole(t, db, "ext creator ", "NOLOGIN")
	mustExec(t, db.Pool, "GRANT CREATE ON DATABASE "+quote(db.Name)+" TO "+quote(creator))
	// plperl is trusted: a role with CREATE on the database may install it.
	mustExec(t, db.Pool, "SET ROLE "+quote(creator)+"; CREATE EXTENSION plperl; RESET ROLE")
	mustExec(t, db.Pool, `CREATE EXTENSION plperlu`)
	mustExec(t, db.Pool, `CREATE FUNCTION public.marked() RETURNS int LANGUAGE plperl AS $$ return 1; $$`)
	mustExec(t, db.Pool, `ALTER FUNCTION public.marked() DEPENDS ON EXTENSION plperlu`)
	// Default privileges set after the extensions were made, global and in
	// the schema of the extensions' functions, of the creator and of the
	// bootstrap superuser (who runs a trusted extension's script for a
	// non-superuser), must not reach the recreated extensions' functions,
	// and must survive.
	for _, r := range []string{creator, db.Server.Superuser()} {
		mustExec(t, db.Pool, "ALTER DEFAULT PRIVILEGES FOR ROLE "+quote(r)+" REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC")
		mustExec(t, db.Pool, "ALTER DEFAULT PRIVILEGES FOR ROLE "+quote(r)+" IN SCHEMA pg_catalog GRANT EXECUTE ON FUNCTIONS TO pg_monitor WITH GRANT OPTION")
	}
	before := capture(t, db)
	if before.snap.Extensions[0].Owner != creator {
		t.Fatalf("plperl owner %q, want %q", before.snap.Extensions[0].Owner, creator)
	}
	res, err := extensions.UpgradeLanguages(ctxT(t), db.Pool, io.Discard, perlOpts())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %v", res.Warnings)
	}
	checkUnchanged(t, db, before, "catalog changed")
}

func TestUpgradeLanguagesNothingToDo(t *testing.T) {
	db := pgtest.NewDB(t)
	buildLanguageFixture(t, db, 5)
	var backup bytes.Buffer
	// The default set (plv8, plcoffee, plls) is not installed here.
	res, err := extensions.UpgradeLanguages(ctxT(t), db.Pool, &backup, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Upgraded) != 0 || backup.Len() != 0 {
		t.Errorf("nothing installed, yet upgraded %v and wrote %d bytes", res.Upgraded, backup.Len())
	}
	// plperl at its default version without Reinstall: left alone.
	res, err = extensions.UpgradeLanguages(ctxT(t), db.Pool, &backup, &extensions.LanguageUpgradeOptions{Extensions: perlExtensions})
	if err != nil || len(res.Upgraded) != 0 || backup.Len() != 0 {
		t.Errorf("at default version: upgraded %v, wrote %d bytes, err %v", res, backup.Len(), err)
	}
}

func TestLanguageUpgradeOptionsValidation(t *testing.T) {
	db := pgtest.NewDB(t)
	cases := map[string]*extensions.LanguageUpgradeOptions{
		"empty list":         {Extensions: []string{}},
		"empty name":         {Extensions: []string{""}},
		"duplicate":          {Extensions: []string{"plperl", "plperl"}},
		"version not listed": {Extensions: []string{"plperl"}, Versions: map[string]string{"plv8": "3.0"}},
		"empty version":      {Extensions: []string{"plperl"}, Versions: map[string]string{"plperl": ""}},
		"negative timeout":   {Extensions: []string{"plperl"}, LockTimeout: -1},
		"NUL in name":        {Extensions: []string{"pl\x00perl"}},
	}
	for name, o := range cases {
		if _, err := extensions.UpgradeLanguages(ctxT(t), db.Pool, io.Discard, o); !errors.Is(err, extensions.ErrInvalid) {
			t.Errorf("%s: want ErrInvalid, got %v", name, err)
		}
		if _, err := extensions.PlanLanguageUpgrade(ctxT(t), db.Pool, o); !errors.Is(err, extensions.ErrInvalid) {
			t.Errorf("%s: plan: want ErrInvalid, got %v", name, err)
		}
	}
	if _, err := extensions.UpgradeLanguages(ctxT(t), db.Pool, nil, nil); !errors.Is(err, extensions.ErrInvalid) {
		t.Errorf("nil backup writer: want ErrInvalid, got %v", err)
	}
	mustExec(t, db.Pool, "CREATE EXTENSION plperl")
	_, err := extensions.UpgradeLanguages(ctxT(t), db.Pool, io.Discard, &extensions.LanguageUpgradeOptions{
		Extensions: []string{"plperl"}, Versions: map[string]string{"plperl": "9.9"}})
	if !errors.Is(err, extensions.ErrInvalid) || !strings.Contains(err.Error(), `"9.9"`) {
		t.Errorf("unavailable target version: want ErrInvalid naming it, got %v", err)
	}
}

func quote(s string) string { return sqlquote.MustIdent(s) }

// Inside the caller's transaction the upgrade is a savepoint: the
// caller's settings survive it and the caller's ROLLBACK undoes it.
func TestUpgradeLanguagesInCallerTransaction(t *testing.T) {
	db := pgtest.NewDB(t)
	buildLanguageFixture(t, db, 10)
	before := capture(t, db)
	ctx := ctxT(t)
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	mustExec(t, tx, "SET LOCAL search_path = app, public")
	mustExec(t, tx, "SET LOCAL lock_timeout = '7s'")
	if _, err := extensions.UpgradeLanguages(ctx, tx, io.Discard, perlOpts()); err != nil {
		t.Fatal(err)
	}
	var sp, lt string
	if err := tx.QueryRow(ctx, "SELECT current_setting('search_path'), current_setting('lock_timeout')").Scan(&sp, &lt); err != nil {
		t.Fatal(err)
	}
	if sp != "app, public" || lt != "7s" {
		t.Errorf("caller's settings changed: search_path %q, lock_timeout %q", sp, lt)
	}
	var fn string
	if err := tx.QueryRow(ctx, "SELECT p.oid::regprocedure::text FROM pg_proc p WHERE proname = 'zz_base'").Scan(&fn); err != nil || fn != "zz_base()" {
		t.Errorf("unqualified lookup through the caller's search_path: %q %v", fn, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	checkUnchanged(t, db, before, "catalog changed after the caller rolled back")
}

// With LockTimeout, an upgrade that would queue behind a long transaction
// gives up and rolls back.
func TestUpgradeLanguagesLockTimeout(t *testing.T) {
	db := pgtest.NewDB(t)
	buildLanguageFixture(t, db, 10)
	before := capture(t, db)
	ctx := ctxT(t)
	blocker, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(ctx)
	mustExec(t, blocker, `LOCK TABLE app."tab le" IN ACCESS SHARE MODE`)
	opts := perlOpts()
	opts.LockTimeout = 200 * time.Millisecond
	start := time.Now()
	_, err = extensions.UpgradeLanguages(ctx, db.Pool, io.Discard, opts)
	var ue *extensions.UpgradeError
	var pe *pgconn.PgError
	if !errors.As(err, &ue) || !ue.RolledBack || !errors.As(err, &pe) || pe.Code != "55P03" {
		t.Fatalf("want a rolled-back lock timeout (55P03), got %v", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("lock timeout took %v", time.Since(start))
	}
	blocker.Rollback(ctx)
	checkUnchanged(t, db, before, "catalog changed")
}

// TestUpgradePLV8 runs the upgrade on plv8 itself where the server has
// it; everywhere else the plperl tests above cover the procedure.
func TestUpgradePLV8(t *testing.T) {
	db := pgtest.NewDB(t)
	if _, ok := availableExtension(t, db, "plv8"); !ok {
		t.Skip(plv8Missing)
	}
	mustExec(t, db.Pool, "CREATE EXTENSION plv8")
	mustExec(t, db.Pool, `CREATE FUNCTION public.js_add(a int, b int) RETURNS int LANGUAGE plv8 AS $$ return a + b; $$`)
	mustExec(t, db.Pool, `COMMENT ON FUNCTION public.js_add(int, int) IS 'adds'`)
	before, err := extensions.SnapshotLanguages(ctxT(t), db.Pool, []string{"plv8"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := extensions.UpgradeLanguages(ctxT(t), db.Pool, io.Discard, &extensions.LanguageUpgradeOptions{Reinstall: true})
	if err != nil {
		t.Fatal(err)
	}
	after, err := extensions.SnapshotLanguages(ctxT(t), db.Pool, []string{"plv8"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(before, after); d != "" || len(res.Upgraded) != 1 {
		t.Fatalf("plv8 upgrade %v changed the catalog:\n%s", res.Upgraded, d)
	}
}

// countingConn counts the writes a connection makes: pgx sends each
// query, Exec or batch (its statements' preparation aside) in one write
// and then waits for the answer, so writes are round trips.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// TestUpgradeLanguagesRoundTrips holds UpgradeLanguages to a fixed number
// of round trips, whatever the number of functions: over a network each
// one costs a full round trip, which is where the documented procedure
// (one per pg_restore statement) loses most.
func TestUpgradeLanguagesRoundTrips(t *testing.T) {
	db := pgtest.NewDB(t)
	buildLanguageFixture(t, db, 40)
	cfg, err := pgx.ParseConfig(db.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	var writes atomic.Int64
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{c, &writes}, nil
	}
	conn, err := pgx.ConnectConfig(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var counts []int64
	for range 2 { // the first run also prepares its statements
		writes.Store(0)
		if _, err := extensions.UpgradeLanguages(ctxT(t), conn, io.Discard, perlOpts()); err != nil {
			t.Fatal(err)
		}
		counts = append(counts, writes.Load())
	}
	t.Logf("round trips: %d on a new connection, %d once its statements are prepared", counts[0], counts[1])
	// BEGIN, settings, plan, 2+2 for the two snapshots, DROP, two CREATE
	// EXTENSIONs, the language, function, default and trigger sections,
	// restoring the settings, COMMIT: 16 (a large script's function
	// section takes one more per 256 kB).
	if counts[1] > 16 {
		t.Errorf("UpgradeLanguages took %d round trips once prepared, want at most 16", counts[1])
	}
}
