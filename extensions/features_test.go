package extensions_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/extensions"
	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/params"
)

const (
	plrustMissing = "plrust is not packaged for Debian's PostgreSQL 15 here, so CREATE EXTENSION plrust cannot run; " +
		"GrantPLRustUsage and RevokePLRustUsage run against a trusted language named plrust made from plperl's handlers instead (TestPLRustUsageOnAStandIn)"
	pgtleMissing = "pg_tle is not packaged for Debian's PostgreSQL 15 here, so pgtle.install_extension and pgtle.uninstall_extension cannot run; " +
		"their SQL is checked by exact-output tests, and InstallTLE, TLEExtensions and UninstallTLE refuse without the extension (no stand-in can be CREATE EXTENSION pg_tle without its control file)"
)

func TestOrafce(t *testing.T) {
	db := pgtest.NewDB(t)
	ensureGlobalRole(t, db, extensions.RDSSuperuserRole)
	c := extensions.New(db.Pool)
	for i := 0; i < 2; i++ { // idempotent
		if err := c.InstallOrafce(ctxT(t), ""); err != nil {
			t.Fatal(err)
		}
	}
	var owner string
	if err := db.Pool.QueryRow(ctxT(t), `SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'oracle'`).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	if owner != extensions.RDSSuperuserRole {
		t.Errorf("oracle schema owner %q, want %q", owner, extensions.RDSSuperuserRole)
	}
	var got string
	if err := db.Pool.QueryRow(ctxT(t), `SELECT oracle.nvl(NULL::text, 'x')`).Scan(&got); err != nil || got != "x" {
		t.Errorf("oracle.nvl: %q %v", got, err)
	}
	stmts, err := extensions.OrafceSQL(`own"er`)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"CREATE EXTENSION IF NOT EXISTS orafce", `ALTER SCHEMA oracle OWNER TO "own""er"`}, stmts); d != "" {
		t.Errorf("OrafceSQL (-want +got):\n%s", d)
	}
	// A missing owner role fails and leaves no extension behind (one
	// transaction).
	db2 := pgtest.NewDB(t)
	if err := extensions.New(db2.Pool).InstallOrafce(ctxT(t), "no such role"); err == nil {
		t.Fatal("want an error for a missing owner role")
	}
	var n int
	db2.Pool.QueryRow(ctxT(t), `SELECT count(*) FROM pg_extension WHERE extname = 'orafce'`).Scan(&n)
	if n != 0 {
		t.Errorf("failed install left orafce installed")
	}
}

func TestRepackInstallAndRun(t *testing.T) {
	db := pgtest.NewDB(t)
	c := extensions.New(db.Pool)
	if err := c.InstallRepack(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := c.InstallRepack(ctxT(t)); err != nil {
		t.Fatalf("second InstallRepack: %v", err)
	}
	rows, err := db.Pool.Query(ctxT(t), `SELECT d.defaclobjtype::text, d.defaclacl::text
FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace WHERE n.nspname = 'repack' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	type acl struct{ Type, ACL string }
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[acl])
	if err != nil {
		t.Fatal(err)
	}
	want := []acl{{"S", "{=rU/postgres}"}, {"r", "{=a/postgres}"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("default privileges on schema repack (-want +got):\n%s", d)
	}

	bin, ok := extensions.RepackBinary()
	if !ok {
		t.Fatal("RepackBinary found no pg_repack client; `make deps` installs it (Debian: postgresql-15-repack ships /usr/lib/postgresql/15/bin/pg_repack)")
	}
	mustExec(t, db.Pool, `CREATE TABLE public."bloated t" (id int PRIMARY KEY, v text);
INSERT INTO public."bloated t" SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g;
DELETE FROM public."bloated t" WHERE id % 2 = 0`)
	s := db.Server
	opts := extensions.RepackOptions{Host: s.Host(), Port: s.Port(), User: s.Superuser(), Database: db.Name,
		Tables: []string{`public."bloated t"`}, WaitTimeout: 10 * time.Second}
	var mu sync.Mutex
	var lines []string
	err = extensions.RunRepack(ctxT(t), bin, opts, func(l string) {
		mu.Lock()
		lines = append(lines, l)
		mu.Unlock()
	})
	if err != nil {
		t.Fatalf("pg_repack: %v\n%s", err, strings.Join(lines, "\n"))
	}
	if !strings.Contains(strings.Join(lines, "\n"), `repacking table "public."bloated t""`) {
		t.Errorf("pg_repack output does not report the table:\n%s", strings.Join(lines, "\n"))
	}
	var n int
	if err := db.Pool.QueryRow(ctxT(t), `SELECT count(*) FROM public."bloated t"`).Scan(&n); err != nil || n != 2500 {
		t.Errorf("rows after repack: %d %v", n, err)
	}

	// A failing run reports the exit code and its last line.
	opts.Tables = []string{"public.no_such_table"}
	err = extensions.RunRepack(ctxT(t), bin, opts, nil)
	var re *extensions.RepackError
	if !errors.As(err, &re) || re.ExitCode == 0 || len(re.Tail) == 0 {
		t.Errorf("want a *RepackError with output, got %v", err)
	}
	// Cancelling the context stops it.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := extensions.RunRepack(ctx, bin, opts, nil); err == nil {
		t.Error("a cancelled context should fail the run")
	}
}

func TestRepackArgs(t *testing.T) {
	args, err := extensions.RepackArgs(extensions.RepackOptions{
		Host: "db.example.com", Port: 5432, User: "master", Database: "app db", Password: "s3cret",
		Tables: []string{"public.orders", `s."T"`}, Schemas: []string{"audit"}, OrderBy: "id DESC",
		Jobs: 4, WaitTimeout: 1500 * time.Millisecond, NoKillBackend: true, NoAnalyze: true, DryRun: true, Echo: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-k", "--host=db.example.com", "--username=master", "--port=5432", "--dbname=app db", "--no-password",
		"--table=public.orders", `--table=s."T"`, "--schema=audit", "--order-by=id DESC", "--jobs=4", "--wait-timeout=2",
		"--no-kill-backend", "--no-analyze", "--dry-run", "--echo"}
	if d := cmp.Diff(want, args); d != "" {
		t.Errorf("args (-want +got):\n%s", d)
	}
	for _, a := range args {
		if a == "-a" || a == "--all" || strings.Contains(a, "s3cret") {
			t.Errorf("forbidden argument %q", a)
		}
	}
	o := extensions.RepackOptions{Database: "d", Password: "s3cret"}
	for _, s := range []string{o.String(), fmt.Sprintf("%v %+v %#v %s", o, o, o, o)} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("password printed: %s", s)
		}
	}
	bad := map[string]extensions.RepackOptions{
		"no database":       {Tables: []string{"t"}},
		"nothing to repack": {Database: "d"},
		"only indexes":      {Database: "d", Schemas: []string{"s"}, OnlyIndexes: true},
		"order and noorder": {Database: "d", Tables: []string{"t"}, OrderBy: "a", NoOrder: true},
		"empty table":       {Database: "d", Tables: []string{""}},
		"newline":           {Database: "d", Tables: []string{"t\n--all"}},
		"port":              {Database: "d", Tables: []string{"t"}, Port: 70000},
		"jobs":              {Database: "d", Tables: []string{"t"}, Jobs: -1},
	}
	for name, o := range bad {
		if _, err := extensions.RepackArgs(o); !errors.Is(err, extensions.ErrInvalid) {
			t.Errorf("%s: want ErrInvalid, got %v", name, err)
		}
	}
	if d := cmp.Diff([]string{
		"CREATE EXTENSION IF NOT EXISTS pg_repack",
		"ALTER DEFAULT PRIVILEGES IN SCHEMA repack GRANT INSERT ON TABLES TO PUBLIC",
		"ALTER DEFAULT PRIVILEGES IN SCHEMA repack GRANT USAGE, SELECT ON SEQUENCES TO PUBLIC",
	}, extensions.RepackSQL()); d != "" {
		t.Errorf("RepackSQL (-want +got):\n%s", d)
	}
}

func TestPLRust(t *testing.T) {
	for _, v := range []string{"15.2-R2", "15.3", "15.4", "14.9", "13.12", "16.1", "17.1", "17.4", "18.1", "15.2-r3"} {
		if err := extensions.CheckPLRustEngine(v); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	for _, v := range []string{"15.2", "15.1", "14.8", "13.11", "16.0", "12.22", "11.9", "9.6.22"} {
		err := extensions.CheckPLRustEngine(v)
		var ee *extensions.EngineVersionError
		if !errors.As(err, &ee) || !errors.Is(err, extensions.ErrUnsupportedEngine) {
			t.Errorf("%s: want *EngineVersionError, got %v", v, err)
		}
	}
	if err := extensions.CheckPLRustEngine("15.2-R2"); err != nil {
		t.Error(err)
	}
	// The refusal says which minimum applies where.
	for _, tc := range []struct {
		version string
		want    []string
		not     []string
	}{
		{"15.2", []string{"needs engine version 15.2-R2 or later in the 15 line on RDS for PostgreSQL", "15.3 or later on Aurora PostgreSQL", "the engine is 15.2"}, nil},
		{"15.1", []string{"15.2-R2 or later", "15.3 or later on Aurora", "the engine is 15.1"}, nil},
		{"15.1-R3", []string{"needs engine version 15.2-R2 or later in the 15 line; the engine is 15.1-R3"}, []string{"Aurora"}},
		{"14.8", []string{"needs engine version 14.9 or later in the 14 line; the engine is 14.8"}, []string{"Aurora", "-R"}},
		{"12.22", []string{"not available on PostgreSQL 12"}, []string{"Aurora"}},
	} {
		err := extensions.CheckPLRustEngine(tc.version)
		if err == nil {
			t.Errorf("%s: accepted", tc.version)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tc.version, err, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(err.Error(), n) {
				t.Errorf("%s: %q mentions %q", tc.version, err, n)
			}
		}
	}
	if err := extensions.CheckPLRustEngine("fifteen"); !errors.Is(err, pgaurora.ErrEngineVersion) {
		t.Errorf("garbage: want pgaurora.ErrEngineVersion, got %v", err)
	}

	changes, err := extensions.PLRustChanges("15.4", "pg_stat_statements,pgaudit")
	if err != nil {
		t.Fatal(err)
	}
	want := []params.Change{{Name: "shared_preload_libraries", Value: "pg_stat_statements,pgaudit,plrust", Method: types.ApplyMethodPendingReboot}}
	if d := cmp.Diff(want, changes); d != "" {
		t.Errorf("PLRustChanges (-want +got):\n%s", d)
	}
	if _, err := extensions.PLRustChanges("15.2", ""); !errors.Is(err, extensions.ErrUnsupportedEngine) {
		t.Errorf("PLRustChanges on 15.2: want ErrUnsupportedEngine, got %v", err)
	}

	db := pgtest.NewDB(t)
	c := extensions.New(db.Pool)
	// The local server does not preload plrust: refused before any DDL.
	if err := c.InstallPLRust(ctxT(t), "15.4"); !errors.Is(err, extensions.ErrNotPreloaded) {
		t.Errorf("InstallPLRust without preload: want ErrNotPreloaded, got %v", err)
	}
	if err := c.InstallPLRust(ctxT(t), "15.2"); !errors.Is(err, extensions.ErrUnsupportedEngine) {
		t.Errorf("InstallPLRust on 15.2: want ErrUnsupportedEngine, got %v", err)
	}
	// Grant and revoke usage, on plperl (same statements as for plrust).
	role := newRole(t, db, "rust dev ", "NOLOGIN")
	mustExec(t, db.Pool, "CREATE EXTENSION plperl; REVOKE USAGE ON LANGUAGE plperl FROM PUBLIC")
	usage := func() bool {
		var ok bool
		if err := db.Pool.QueryRow(ctxT(t), `SELECT has_language_privilege($1, 'plperl', 'USAGE')`, role).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if err := c.GrantLanguageUsage(ctxT(t), "plperl", role); err != nil || !usage() {
		t.Errorf("after grant: usage %v, err %v", usage(), err)
	}
	if err := c.RevokeLanguageUsage(ctxT(t), "plperl", role); err != nil || usage() {
		t.Errorf("after revoke: usage %v, err %v", usage(), err)
	}
	t.Run("live", func(t *testing.T) {
		if _, ok := availableExtension(t, db, extensions.PLRust); !ok {
			t.Skip(plrustMissing)
		}
		// PL/Rust must be preloaded, with a directory to compile in: a
		// server of the test's own.
		srv := pgtest.StartServer(t, pgtest.WithPreload(extensions.PLRust),
			pgtest.WithSettings(map[string]string{"plrust.work_dir": t.TempDir()}))
		db := pgtest.NewDBOn(t, srv)
		c := extensions.New(db.Pool)
		if err := c.InstallPLRust(ctxT(t), "15.4"); err != nil {
			t.Fatal(err)
		}
		checkLanguageUsage(t, db, c, "Ok(Some(1))")
	})
}

// TestPLRustUsageOnAStandIn runs GrantPLRustUsage and RevokePLRustUsage
// against a real trusted language named plrust, made from plperl's
// handlers, since PL/Rust itself is not packaged here: the statements
// are the ones that run on Aurora, on a language of that name.
func TestPLRustUsageOnAStandIn(t *testing.T) {
	db := pgtest.NewDB(t)
	if _, ok := availableExtension(t, db, extensions.PLRust); ok {
		t.Skip("plrust is installed here: TestPLRust/live covers it")
	}
	mustExec(t, db.Pool, `CREATE EXTENSION plperl;
CREATE TRUSTED LANGUAGE plrust HANDLER plperl_call_handler INLINE plperl_inline_handler VALIDATOR plperl_validator`)
	checkLanguageUsage(t, db, extensions.New(db.Pool), "return 1;")
}

// checkLanguageUsage checks that GrantPLRustUsage lets a role create a
// function in plrust (with body, returning 1) and RevokePLRustUsage takes
// that away.
func checkLanguageUsage(t *testing.T, db *pgtest.DB, c *extensions.Client, body string) {
	t.Helper()
	language := extensions.PLRust
	role := newRole(t, db, "rust dev ", "NOLOGIN")
	mustExec(t, db.Pool, "REVOKE USAGE ON LANGUAGE "+quote(language)+" FROM PUBLIC; GRANT CREATE ON SCHEMA public TO "+quote(role))
	usage := func() bool {
		var ok bool
		if err := db.Pool.QueryRow(ctxT(t), `SELECT has_language_privilege($1, $2, 'USAGE')`, role, language).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if usage() {
		t.Fatalf("%q has USAGE on %s before any grant", role, language)
	}
	if err := c.GrantPLRustUsage(ctxT(t), role); err != nil || !usage() {
		t.Fatalf("after GrantPLRustUsage: usage %v, err %v", usage(), err)
	}
	// The grant is what lets the role write a function in the language.
	tx, err := db.Pool.Begin(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	mustExec(t, tx, "SET LOCAL ROLE "+quote(role))
	if _, err := tx.Exec(ctxT(t), "CREATE FUNCTION public.uses_grant() RETURNS int STRICT LANGUAGE "+quote(language)+" AS "+lit(body)); err != nil {
		t.Errorf("creating a %s function after the grant: %v", language, err)
	}
	tx.Rollback(context.Background())
	if err := c.RevokePLRustUsage(ctxT(t), role); err != nil || usage() {
		t.Errorf("after RevokePLRustUsage: usage %v, err %v", usage(), err)
	}
	// Without the grant the same statement is refused.
	tx, err = db.Pool.Begin(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	mustExec(t, tx, "SET LOCAL ROLE "+quote(role))
	_, err = tx.Exec(ctxT(t), "CREATE FUNCTION public.uses_grant() RETURNS int STRICT LANGUAGE "+quote(language)+" AS "+lit(body))
	if pe := (*pgconn.PgError)(nil); !errors.As(err, &pe) || pe.Code != "42501" {
		t.Errorf("creating a %s function after the revoke: want permission denied (42501), got %v", language, err)
	}
}

func availableExtension(t testing.TB, db *pgtest.DB, name string) (string, bool) {
	var v string
	err := db.Pool.QueryRow(ctxT(t), `SELECT default_version FROM pg_available_extensions WHERE name = $1`, name).Scan(&v)
	return v, err == nil
}

func TestPgTLE(t *testing.T) {
	q, args, err := extensions.InstallTLESQL(extensions.TLEInstall{Name: "my_ext", Version: "0.1", Description: "it's mine",
		Script: "CREATE FUNCTION my_test() RETURNS int AS $$ SELECT 42 $$ LANGUAGE sql;", Requires: []string{"pg_stat_statements"}})
	if err != nil {
		t.Fatal(err)
	}
	if q != `SELECT pgtle.install_extension($1, $2, $3, $4, $5::text[])` {
		t.Errorf("install SQL %q", q)
	}
	if d := cmp.Diff([]any{"my_ext", "0.1", "it's mine", "CREATE FUNCTION my_test() RETURNS int AS $$ SELECT 42 $$ LANGUAGE sql;", []string{"pg_stat_statements"}}, args); d != "" {
		t.Errorf("install args (-want +got):\n%s", d)
	}
	if _, args, _ := extensions.InstallTLESQL(extensions.TLEInstall{Name: "e", Version: "1", Script: "SELECT 1"}); args[4] != nil && len(args[4].([]string)) != 0 {
		t.Errorf("no requirements should send NULL, got %v", args[4])
	}
	q, args, _ = extensions.UninstallTLESQL("my_ext", "")
	if q != `SELECT pgtle.uninstall_extension($1)` || !cmp.Equal(args, []any{"my_ext"}) {
		t.Errorf("uninstall all: %q %v", q, args)
	}
	q, args, _ = extensions.UninstallTLESQL("my_ext", "0.2")
	if q != `SELECT pgtle.uninstall_extension($1, $2)` || !cmp.Equal(args, []any{"my_ext", "0.2"}) {
		t.Errorf("uninstall one version: %q %v", q, args)
	}
	for name, e := range map[string]extensions.TLEInstall{
		"no name": {Version: "1", Script: "x"}, "no version": {Name: "n", Script: "x"}, "no script": {Name: "n", Version: "1"},
		"NUL": {Name: "n", Version: "1", Script: "a\x00b"},
	} {
		if _, _, err := extensions.InstallTLESQL(e); !errors.Is(err, extensions.ErrInvalid) {
			t.Errorf("%s: want ErrInvalid, got %v", name, err)
		}
	}
	if _, _, err := extensions.UninstallTLESQL("", ""); !errors.Is(err, extensions.ErrInvalid) {
		t.Errorf("empty uninstall name: want ErrInvalid, got %v", err)
	}

	db := pgtest.NewDB(t)
	c := extensions.New(db.Pool)
	st, err := c.TLEStatus(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Installed != "" || st.Preloaded || !st.CurrentUserIsAdmin {
		t.Errorf("status on a server without pg_tle: %+v", st)
	}
	if _, err := c.TLEExtensions(ctxT(t)); !errors.Is(err, extensions.ErrNotInstalled) {
		t.Errorf("TLEExtensions without pg_tle: want ErrNotInstalled, got %v", err)
	}
	if err := c.InstallTLE(ctxT(t), extensions.TLEInstall{Name: "e", Version: "1", Script: "SELECT 1"}); !errors.Is(err, extensions.ErrNotInstalled) {
		t.Errorf("InstallTLE without pg_tle: want ErrNotInstalled, got %v", err)
	}
	if err := c.UninstallTLE(ctxT(t), "e", ""); !errors.Is(err, extensions.ErrNotInstalled) {
		t.Errorf("UninstallTLE without pg_tle: want ErrNotInstalled, got %v", err)
	}
	t.Run("live", func(t *testing.T) {
		if !st.Available {
			t.Skip(pgtleMissing)
		}
		// pg_tle must be preloaded: a server of the test's own.
		srv := pgtest.StartServer(t, pgtest.WithPreload(extensions.PgTLE))
		db := pgtest.NewDBOn(t, srv)
		c := extensions.New(db.Pool)
		if st, err := c.TLEStatus(ctxT(t)); err != nil || !st.Preloaded || !st.Available {
			t.Fatalf("status on a server preloading pg_tle: %+v, %v", st, err)
		}
		mustExec(t, db.Pool, "CREATE EXTENSION pg_tle")
		e := extensions.TLEInstall{Name: "pgaurora_tle_test", Version: "0.1", Description: "test", Script: "CREATE FUNCTION pgaurora_tle_f() RETURNS int AS $$ SELECT 42 $$ LANGUAGE sql;"}
		if err := c.InstallTLE(ctxT(t), e); err != nil {
			t.Fatal(err)
		}
		list, err := c.TLEExtensions(ctxT(t))
		if err != nil || len(list) != 1 || list[0].Name != e.Name || list[0].DefaultVersion != e.Version {
			t.Fatalf("TLE extensions %v %v", list, err)
		}
		// Registered means CREATE EXTENSION works, and its function runs.
		mustExec(t, db.Pool, "CREATE EXTENSION "+quote(e.Name))
		var v int
		if err := db.Pool.QueryRow(ctxT(t), "SELECT pgaurora_tle_f()").Scan(&v); err != nil || v != 42 {
			t.Fatalf("the TLE extension's function: %d, %v", v, err)
		}
		mustExec(t, db.Pool, "DROP EXTENSION "+quote(e.Name))
		if err := c.UninstallTLE(ctxT(t), e.Name, ""); err != nil {
			t.Fatal(err)
		}
		if list, err := c.TLEExtensions(ctxT(t)); err != nil || len(list) != 0 {
			t.Errorf("after UninstallTLE: %v, %v", list, err)
		}
		if _, err := db.Pool.Exec(ctxT(t), "CREATE EXTENSION "+quote(e.Name)); err == nil {
			t.Error("CREATE EXTENSION still works after UninstallTLE")
		}
	})
}

func TestPreloadChanges(t *testing.T) {
	cases := []struct {
		current string
		exts    []string
		want    string // "" = no change
	}{
		{"", []string{"pgaudit"}, "pgaudit"},
		{"pg_stat_statements", []string{"pgaudit", "pg_cron"}, "pg_stat_statements,pgaudit,pg_cron"},
		{"pgaudit,pg_stat_statements", []string{"pgaudit"}, ""},
		{"PGAUDIT", []string{"pgaudit"}, ""},
		{"pg_stat_statements", []string{"orafce", "plv8"}, ""}, // need no preload
		{"pg_stat_statements", []string{"auto_explain", "pglogical", "plrust", "pg_tle"}, "pg_stat_statements,auto_explain,pglogical,plrust,pg_tle"},
		{`"odd,lib",pgaudit`, []string{"pg_cron", "pg_cron"}, `"odd,lib",pgaudit,pg_cron`},
	}
	for _, c := range cases {
		got, err := extensions.PreloadChanges(c.current, c.exts...)
		if err != nil {
			t.Errorf("%q + %v: %v", c.current, c.exts, err)
			continue
		}
		var want []params.Change
		if c.want != "" {
			want = []params.Change{{Name: params.SharedPreloadLibraries, Value: c.want, Method: types.ApplyMethodPendingReboot}}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%q + %v (-want +got):\n%s", c.current, c.exts, d)
		}
	}
	if _, err := extensions.PreloadChanges(`"unterminated`, "pgaudit"); err == nil {
		t.Error("a malformed current value should fail")
	}
	if _, err := extensions.PreloadChanges("", ""); !errors.Is(err, extensions.ErrInvalid) {
		t.Errorf("empty extension name: want ErrInvalid, got %v", err)
	}
	if d := cmp.Diff([]string{"auto_explain", "pg_cron", "pg_stat_statements", "pg_tle", "pgaudit", "pglogical", "plrust"}, extensions.PreloadExtensions()); d != "" {
		t.Errorf("PreloadExtensions (-want +got):\n%s", d)
	}
	if lib, ok := extensions.PreloadLibrary("pglogical"); !ok || lib != "pglogical" {
		t.Errorf("PreloadLibrary(pglogical) = %q, %v", lib, ok)
	}
	if _, ok := extensions.PreloadLibrary("orafce"); ok {
		t.Error("orafce needs no preload")
	}
}
