package pgaudit

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

func TestStatusAndInstall(t *testing.T) {
	ctx := testCtx(t)
	db := pgtest.NewDB(t)
	c := New(db.Pool)
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Preloaded || st.Installed || st.Version != "" || st.DefaultVersion != "1.7" {
		t.Fatalf("before install: %+v", st)
	}
	if st.Settings.Log == nil || *st.Settings.Log != None || st.Values["pgaudit.log"] != "none" {
		t.Errorf("pgaudit.log before install: %+v", st.Values)
	}
	if st.Settings.LogCatalog == nil || !*st.Settings.LogCatalog || st.Settings.LogParameterMaxSize != nil {
		t.Errorf("settings: %+v", st.Settings)
	}
	for i := 0; i < 2; i++ {
		st, err = c.Install(ctx)
		if err != nil {
			t.Fatalf("install %d: %v", i+1, err)
		}
		if !st.Installed || st.Version != "1.7" {
			t.Fatalf("after install %d: %+v", i+1, st)
		}
	}
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_extension WHERE extname = 'pgaudit'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("extension rows: %d, %v", n, err)
	}
}

func TestInstallRefusedWhenNotPreloaded(t *testing.T) {
	ctx := testCtx(t)
	srv := pgtest.StartServer(t) // a server of its own, without pgaudit
	db := pgtest.NewDBOn(t, srv)
	c := New(db.Pool)
	_, err := c.Install(ctx)
	if !errors.Is(err, ErrNotPreloaded) {
		t.Fatalf("Install: %v, want ErrNotPreloaded", err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_extension WHERE extname = 'pgaudit'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("extension created anyway: %d, %v", n, err)
	}
}

// TestParseClassesLikeServer checks that ParseClasses accepts exactly what
// the real pgAudit accepts, and that the classes it computes are the ones
// pgAudit then logs.
func TestParseClassesLikeServer(t *testing.T) {
	ctx := testCtx(t)
	db := pgtest.NewDB(t)
	conn := db.Connect(t)
	if _, err := New(conn).Install(ctx); err != nil {
		t.Fatal(err)
	}
	inputs := []string{
		"", "none", "all", "READ", "read, write", " ddl ,\tread", "all, -misc", "-misc, all", "misc,-misc_set",
		"all,-misc_set", "misc_set", `"READ","-ddl",ddl`, "function,role", "read,-none",
		"reed", "read,", ",read", "read,,write", "read write", "- read", "-", "--read", `"read`, `""`, "misc-set", "dml",
	}
	for _, in := range inputs {
		_, perr := ParseClasses(in)
		_, serr := conn.Exec(ctx, "SELECT pg_catalog.set_config('pgaudit.log', $1, false)", in)
		if (perr == nil) != (serr == nil) {
			t.Errorf("%q: ParseClasses error %v, server error %v", in, perr, serr)
		}
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id int); CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'; CREATE ROLE "+sqlquote.MustIdent(uniq("granted"))); err != nil {
		t.Fatal(err)
	}
	// One statement per class; the marker comment ties log lines to it.
	workload := []struct {
		class Classes
		sql   string
	}{
		{Read, "SELECT /*M*/ 1 FROM t"},
		{Write, "INSERT /*M*/ INTO t VALUES (1)"},
		{Function, "DO /*M*/ $$BEGIN PERFORM 1; END$$"},
		{Role, "GRANT /*M*/ SELECT ON t TO PUBLIC"},
		{DDL, "CREATE /*M*/ TABLE IF NOT EXISTS t2 (id int)"},
		{Misc, "VACUUM /*M*/ t"},
		{MiscSet, "SET /*M*/ work_mem = '4MB'"},
	}
	for i, setting := range []string{"all, -misc", "misc_set", "misc,-misc_set", "read,function", "all,-all,ddl", "none"} {
		set := MustParseClasses(setting)
		marker := fmt.Sprintf("cls_%d_%s", i, uniq("m"))
		if _, err := conn.Exec(ctx, "SELECT pg_catalog.set_config('pgaudit.log', $1, false)", setting); err != nil {
			t.Fatal(err)
		}
		for _, w := range workload {
			if _, err := conn.Exec(ctx, strings.Replace(w.sql, "/*M*/", "/*"+marker+"*/", 1)); err != nil {
				t.Fatalf("%s: %v", w.sql, err)
			}
		}
		if _, err := conn.Exec(ctx, "SET pgaudit.log = 'none'"); err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, e := range serverEntries(t, hasMarker(marker)) {
			got = append(got, e.Command)
		}
		for _, w := range workload {
			if set.Logs(w.class) {
				want = append(want, strings.Fields(strings.Replace(w.sql, "/*M*/ ", "", 1))[0])
			}
		}
		// CREATE TABLE is logged as CREATE TABLE; the others by their
		// first word.
		for i, g := range got {
			got[i] = strings.Fields(g)[0]
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("pgaudit.log=%q (%s) logged commands (-want +got):\n%s", setting, set, diff)
		}
	}
}

func TestObjectAuditing(t *testing.T) {
	ctx := testCtx(t)
	db := pgtest.NewDB(t)
	c := New(db.Pool)
	if _, err := c.Install(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAuditRole(ctx); err != nil {
		t.Fatal(err)
	}
	if created, err := c.CreateAuditRole(ctx); err != nil || created {
		t.Fatalf("second CreateAuditRole: %v, %v", created, err)
	}
	// Object auditing for this database: pgaudit.role via an override.
	if err := c.SetOverrides(ctx, Scope{Database: db.Name}, Settings{Role: AuditRole}); err != nil {
		t.Fatal(err)
	}
	hostileSchema := `sch "q" ü`
	hostileTable := strings.Repeat("t", 40) + ` "x'y" 名前` // 52 bytes
	long := strings.Repeat("L", 63)
	for _, s := range []string{
		"CREATE TABLE accounts (id int, name text, password text)",
		"INSERT INTO accounts VALUES (1, 'a', 'p')",
		"CREATE VIEW v_accounts AS SELECT id, name FROM accounts",
		"CREATE FUNCTION add1(i integer) RETURNS integer LANGUAGE sql AS 'SELECT i + 1'",
		"CREATE FUNCTION add1(i text) RETURNS text LANGUAGE sql AS 'SELECT i'",
		"CREATE SCHEMA " + sqlquote.MustIdent(hostileSchema),
		"CREATE TABLE " + sqlquote.MustIdent(hostileSchema, hostileTable) + " (" + sqlquote.MustIdent(long) + " int)",
		"CREATE TABLE victim (id int)",
	} {
		if _, err := db.Pool.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Audit(ctx, Table("public", "accounts"), Select, Delete, Insert))
	// Revoking a table privilege also revokes it on every column
	// (PostgreSQL's rule), so columns are audited after this.
	must(c.Unaudit(ctx, Table("public", "accounts"), Select, Insert))
	must(c.Audit(ctx, Columns("public", "accounts", "password"), Select, "update"))
	must(c.Audit(ctx, View("public", "v_accounts"), Select))
	must(c.Audit(ctx, Func("public", "add1", "integer")))
	must(c.Audit(ctx, Columns(hostileSchema, hostileTable, long), Insert))

	// Bad input is refused before anything is sent.
	for _, bad := range []struct {
		o     AuditedObject
		privs []Privilege
	}{
		{Table("public", "accounts"), nil},
		{Table("public", "accounts"), []Privilege{"TRUNCATE"}},
		{Table("public", "accounts"), []Privilege{"SELECT ON victim TO PUBLIC; DROP TABLE victim; --"}},
		{Columns("public", "accounts"), []Privilege{Select}},
		{Columns("public", "accounts", "id"), []Privilege{Delete}},
		{Func("public", "add1", "integer); DROP TABLE victim; --"), nil},
		{Table("public", ""), []Privilege{Select}},
		{AuditedObject{Kind: "schema", Name: "x"}, []Privilege{Select}},
	} {
		if err := c.Audit(ctx, bad.o, bad.privs...); !errors.Is(err, ErrInvalid) {
			t.Errorf("Audit(%s, %v): %v, want ErrInvalid", bad.o, bad.privs, err)
		}
	}
	if err := c.Audit(ctx, Func("public", "nope", "integer")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("unknown function: %v", err)
	}
	// Injection through names only names a table that does not exist.
	if err := c.Audit(ctx, Table("public", `victim"; DROP TABLE victim; --`), Select); err == nil {
		t.Error("a table named like an injection was found")
	}

	got, err := c.ListAudited(ctx)
	must(err)
	want := []AuditedGrant{
		{Object: Table("public", "accounts"), RelKind: "table", Privileges: []Privilege{Delete}},
		{Object: Columns("public", "accounts", "password"), RelKind: "table", Privileges: []Privilege{Select, Update}},
		{Object: Func("public", "add1", "integer"), RelKind: "function", Privileges: []Privilege{Execute}},
		{Object: View("public", "v_accounts"), RelKind: "view", Privileges: []Privilege{Select}},
		{Object: Columns(hostileSchema, hostileTable, long), RelKind: "table", Privileges: []Privilege{Insert}},
	}
	sort.Slice(want, func(i, j int) bool { return want[i].Object.Schema < want[j].Object.Schema })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListAudited (-want +got):\n%s", diff)
	}

	marker := uniq("obj")
	conn := db.Connect(t) // a new session: it picks up pgaudit.role
	run := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, strings.Replace(sql, "$M", "/*"+marker+"*/", 1)); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	run("SELECT $M id, name FROM accounts")        // not audited any more
	run("SELECT $M password FROM accounts")        // column audit
	run("DELETE $M FROM accounts WHERE id = 42")   // table audit
	run("UPDATE $M accounts SET name = 'b'")       // name is not audited
	run("UPDATE $M accounts SET password = 'q'")   // password is
	run("INSERT $M INTO accounts VALUES (2, 'c')") // not audited
	run("SELECT $M * FROM v_accounts")             // view audit
	run("SELECT $M add1(1)")                       // function: no OBJECT entry
	run("INSERT $M INTO " + sqlquote.MustIdent(hostileSchema, hostileTable) + " VALUES (7)")

	type seen struct{ Type, Command, ObjectType, ObjectName string }
	var gotSeen []seen
	for _, e := range serverEntries(t, hasMarker(marker)) {
		gotSeen = append(gotSeen, seen{string(e.Type), e.Command, e.ObjectType, e.ObjectName})
	}
	wantSeen := []seen{
		{"OBJECT", "SELECT", "TABLE", "public.accounts"},
		{"OBJECT", "DELETE", "TABLE", "public.accounts"},
		{"OBJECT", "UPDATE", "TABLE", "public.accounts"},
		{"OBJECT", "SELECT", "VIEW", "public.v_accounts"},
		{"OBJECT", "INSERT", "TABLE", `"sch ""q"" ü"."` + strings.ReplaceAll(hostileTable, `"`, `""`) + `"`},
	}
	if diff := cmp.Diff(wantSeen, gotSeen); diff != "" {
		t.Errorf("object-audited statements (-want +got):\n%s", diff)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM victim").Scan(&n); err != nil {
		t.Errorf("victim table: %v", err)
	}
	must(c.ResetOverrides(ctx, Scope{Database: db.Name}))
}

func TestOverridesAreAudited(t *testing.T) {
	ctx := testCtx(t)
	db1 := uniq(`db "1" ü`)
	db2 := uniq("db2")
	alice := uniq("alice")
	bob := uniq(`bo'b "x" ü`)
	bob += strings.Repeat("b", 63-len(bob)) // the longest name PostgreSQL keeps
	carol := uniq("carol with spaces")
	dave := uniq("dave@example.com")
	injection := uniq(`x"; DROP TABLE victim; --`)
	for _, d := range []string{db1, db2} {
		createDatabase(t, d)
	}
	roles := []string{alice, bob, carol, dave, injection}
	for _, r := range roles {
		createRole(t, r, db1, db2)
	}
	for _, d := range []string{db1, db2} {
		c := connectAs(t, "postgres", d)
		if _, err := New(c).Install(ctx); err != nil {
			t.Fatal(err)
		}
		stmts := []string{"CREATE TABLE t (v text)", "CREATE TABLE victim (id int)", "GRANT ALL ON t TO PUBLIC", "GRANT CREATE ON SCHEMA public TO PUBLIC"}
		for _, s := range stmts {
			if _, err := c.Exec(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	pool := pgtest.NewDB(t).Pool
	c := New(pool)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.SetOverrides(ctx, Scope{Database: db1}, Settings{Log: pgaurora.Ptr(Read)}))
	must(c.SetOverrides(ctx, Scope{Role: alice}, Settings{Log: pgaurora.Ptr(Write), LogRows: pgaurora.Ptr(true)}))
	must(c.SetOverrides(ctx, Scope{Role: bob, Database: db1}, Settings{Log: pgaurora.Ptr(DDL)}))
	must(c.Exclude(ctx, Scope{Role: carol}))
	must(c.SetOverrides(ctx, Scope{Role: injection}, Settings{Log: pgaurora.Ptr(Read | Write)}))

	// Values that try to break out of the literal are refused before
	// anything is sent.
	for _, v := range []string{"read'; DROP TABLE victim; --", "read\x00", `read\'`} {
		err := c.ApplyOverrides(ctx, []OverrideChange{{Scope: Scope{Role: alice}, Name: "pgaudit.log", Value: v}})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("value %q: %v, want ErrInvalid", v, err)
		}
	}
	for _, ch := range []OverrideChange{
		{Scope: Scope{Role: alice}, Name: "pgaudit.log; DROP TABLE victim", Value: "read"},
		{Scope: Scope{Role: alice}, Name: "work_mem", Value: "1MB"},
		{Scope: Scope{Role: strings.Repeat("r", 64)}, Name: "pgaudit.log", Value: "read"},
		{Scope: Scope{Role: alice}, Name: "pgaudit.role", Value: "auditor"},
		{Scope: Scope{Role: alice}, Name: "pgaudit.log_rows", Value: "maybe"},
	} {
		if err := c.ApplyOverrides(ctx, []OverrideChange{ch}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", ch, err)
		}
	}
	// A change the server refuses rolls the whole call back.
	err := c.ApplyOverrides(ctx, []OverrideChange{
		{Scope: Scope{Role: dave}, Name: "pgaudit.log", Value: "all"},
		{Scope: Scope{Role: uniq("no_such_role")}, Name: "pgaudit.log", Value: "all"},
	})
	var oe *OverrideError
	if !errors.As(err, &oe) || oe.Index != 1 {
		t.Fatalf("failing batch: %v", err)
	}

	// The listing matches pg_db_role_setting.
	got, err := c.Overrides(ctx)
	must(err)
	rows, err := pool.Query(ctx, `SELECT coalesce(r.rolname, ''), coalesce(d.datname, ''), kv
		FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase,
		unnest(s.setconfig) kv WHERE kv LIKE 'pgaudit.%'`)
	must(err)
	var fromCatalog []Override
	var role, dbn, kv string
	_, err = pgx.ForEachRow(rows, []any{&role, &dbn, &kv}, func() error {
		n, v, _ := strings.Cut(kv, "=")
		fromCatalog = append(fromCatalog, Override{Scope: Scope{role, dbn}, Name: n, Value: v})
		return nil
	})
	must(err)
	key := func(o Override) string { return o.Role + "\x00" + o.Database + "\x00" + o.Name }
	sortO := func(s []Override) { sort.Slice(s, func(i, j int) bool { return key(s[i]) < key(s[j]) }) }
	sortO(got)
	sortO(fromCatalog)
	if diff := cmp.Diff(fromCatalog, got); diff != "" {
		t.Errorf("Overrides vs pg_db_role_setting (-catalog +got):\n%s", diff)
	}
	mine := slices.DeleteFunc(slices.Clone(got), func(o Override) bool {
		return !slices.Contains(roles, o.Role) && o.Database != db1 && o.Database != db2
	})
	wantMine := []Override{
		{Scope{Role: alice}, "pgaudit.log", "write"},
		{Scope{Role: alice}, "pgaudit.log_rows", "on"},
		{Scope{Role: bob, Database: db1}, "pgaudit.log", "ddl"},
		{Scope{Role: carol}, "pgaudit.log", "none"},
		{Scope{Database: db1}, "pgaudit.log", "read"},
		{Scope{Role: injection}, "pgaudit.log", "read,write"},
	}
	sortO(wantMine)
	if diff := cmp.Diff(wantMine, mine); diff != "" {
		t.Errorf("this test's overrides (-want +got):\n%s", diff)
	}

	// Each role in each database: exactly the statements of the classes
	// that win by precedence are audited.
	type pair struct{ role, db string }
	expect := map[pair][]string{
		{alice, db1}:     {"INSERT"},       // role beats database
		{bob, db1}:       {"CREATE TABLE"}, // role in database beats both
		{carol, db1}:     nil,              // excluded role beats database
		{dave, db1}:      {"SELECT"},       // database
		{injection, db1}: {"SELECT", "INSERT"},
		{alice, db2}:     {"INSERT"},
		{bob, db2}:       nil, // the role-in-database override is for db1 only
		{dave, db2}:      nil, // server: none
	}
	marker := uniq("ovr")
	for p, want := range expect {
		eff, err := c.EffectiveClasses(ctx, p.role, p.db)
		must(err)
		var wantClasses Classes
		for _, cmd := range want {
			wantClasses |= map[string]Classes{"SELECT": Read, "INSERT": Write, "CREATE TABLE": DDL}[cmd]
		}
		if eff != wantClasses {
			t.Errorf("EffectiveClasses(%q, %q) = %s, want %s", p.role, p.db, eff, wantClasses)
		}
		conn := connectAs(t, p.role, p.db)
		tbl := sqlquote.MustIdent(uniq("made"))
		for _, s := range []string{
			"SELECT /*" + marker + "*/ v FROM t",
			"INSERT /*" + marker + "*/ INTO t VALUES ('x')",
			"CREATE /*" + marker + "*/ TABLE " + tbl + " (id int)",
		} {
			if _, err := conn.Exec(ctx, s); err != nil {
				t.Fatalf("%q in %q: %s: %v", p.role, p.db, s, err)
			}
		}
		var got []string
		for _, e := range serverEntries(t, func(e *Entry) bool {
			return e.User == p.role && e.Database == p.db && strings.Contains(e.Statement, marker)
		}) {
			got = append(got, e.Command)
			if p.role == alice && !e.HasRows {
				t.Errorf("alice's entries should carry rows (pgaudit.log_rows override): %+v", e)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q in %q audited (-want +got):\n%s", p.role, p.db, diff)
		}
	}
	for _, d := range []string{db1, db2} {
		var n int
		if err := connectAs(t, "postgres", d).QueryRow(ctx, "SELECT count(*) FROM victim").Scan(&n); err != nil {
			t.Errorf("victim in %q: %v", d, err)
		}
	}

	// Reset: the overrides are gone, other settings of the role stay.
	if _, err := pool.Exec(ctx, "ALTER ROLE "+sqlquote.MustIdent(alice)+" SET work_mem = '2MB'"); err != nil {
		t.Fatal(err)
	}
	must(c.ResetOverrides(ctx, Scope{Role: alice}))
	must(c.ResetOverrides(ctx, Scope{Role: bob, Database: db1}, "PGAUDIT.LOG"))
	must(c.ResetOverrides(ctx, Scope{Role: carol}))
	must(c.ResetOverrides(ctx, Scope{Role: injection}))
	must(c.ResetOverrides(ctx, Scope{Database: db1}))
	got, err = c.Overrides(ctx)
	must(err)
	for _, o := range got {
		if slices.Contains(roles, o.Role) || o.Database == db1 || o.Database == db2 {
			t.Errorf("left after reset: %+v", o)
		}
	}
	var cfg []string
	must(pool.QueryRow(ctx, "SELECT setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = $1 AND s.setdatabase = 0", alice).Scan(&cfg))
	if !cmp.Equal(cfg, []string{"work_mem=2MB"}) {
		t.Errorf("alice's other settings: %q", cfg)
	}
}

func TestServerValue(t *testing.T) {
	ctx := testCtx(t)
	c := New(pgtest.NewDB(t).Pool)
	v, err := c.ServerValue(ctx, "pgaudit.log")
	if err != nil || v != "none" {
		t.Fatalf("ServerValue = %q, %v", v, err)
	}
	if _, err := c.ServerValue(ctx, "work_mem"); !errors.Is(err, ErrInvalid) {
		t.Errorf("work_mem: %v", err)
	}
	vs, err := c.ServerValues(ctx, "PGAUDIT.LOG", SettingLogRelation)
	if err != nil || !cmp.Equal(vs, map[string]string{SettingLog: "none", SettingLogRelation: "off"}) {
		t.Errorf("ServerValues = %v, %v", vs, err)
	}
	if _, err := c.ServerValues(ctx, SettingLog, "work_mem"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ServerValues with work_mem: %v", err)
	}
}

func TestEffective(t *testing.T) {
	ov := []Override{
		{Scope{}, "pgaudit.log", "misc"},
		{Scope{Database: "d"}, "pgaudit.log", "read"},
		{Scope{Role: "r"}, "pgaudit.log", "write"},
		{Scope{Role: "r", Database: "d"}, "pgaudit.log", "ddl"},
		{Scope{Role: "r", Database: "d"}, "pgaudit.log_rows", "on"},
	}
	tests := []struct{ role, db, want string }{
		{"r", "d", "ddl"}, {"r", "x", "write"}, {"x", "d", "read"}, {"x", "x", "misc"},
	}
	for _, tt := range tests {
		if got := Effective("none", ov, tt.role, tt.db, "PGAUDIT.LOG"); got != tt.want {
			t.Errorf("Effective(%s, %s) = %s, want %s", tt.role, tt.db, got, tt.want)
		}
	}
	if got := Effective("none", ov[:0], "r", "d", "pgaudit.log"); got != "none" {
		t.Errorf("no overrides: %s", got)
	}
}

func TestNormalizeValue(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"pgaudit.log", "WRITE, ddl", "write,ddl"},
		{"pgaudit.log_rows", "1", "on"},
		{"PGAUDIT.LOG_ROWS", "of", "off"},
		{"pgaudit.log_catalog", "Yes", "on"},
		{"pgaudit.log_level", "NOTICE", "notice"},
		{"pgaudit.log_parameter_max_size", "1024", "1024"},
		{"pgaudit.role", "rds_pgaudit", "rds_pgaudit"},
		{"pgaudit.role", "", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeValue(tt.name, tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeValue(%q, %q) = %q, %v; want %q", tt.name, tt.in, got, err, tt.want)
		}
	}
	for _, bad := range [][2]string{
		{"pgaudit.log_rows", "o"}, {"pgaudit.log_rows", ""}, {"pgaudit.log_parameter_max_size", "1e3"},
		{"pgaudit.log_parameter_max_size", "-1"}, {"pgaudit.role", "admin"}, {"pgaudit.nope", "1"}, {"pgaudit.log_level", "error"},
	} {
		if _, err := NormalizeValue(bad[0], bad[1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("NormalizeValue(%q, %q): %v", bad[0], bad[1], err)
		}
	}
}

// TestEffectiveClassesUnprivileged covers the path for a role that may not
// read pg_file_settings.
func TestEffectiveClassesUnprivileged(t *testing.T) {
	ctx := testCtx(t)
	db := pgtest.NewDB(t)
	plain, other := uniq("plain"), uniq("other")
	createRole(t, plain, db.Name)
	createRole(t, other, db.Name)
	su := New(db.Pool)
	if err := su.SetOverrides(ctx, Scope{Role: other, Database: db.Name}, Settings{Log: pgaurora.Ptr(Write)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { su.ResetOverrides(ctx, Scope{Role: other, Database: db.Name}) })
	c := New(connectAs(t, plain, db.Name))
	got, err := c.EffectiveClasses(ctx, other, db.Name)
	if err != nil || got != Write {
		t.Fatalf("EffectiveClasses = %s, %v", got, err)
	}
	if v, err := c.ServerValue(ctx, SettingLog); err != nil || v != "none" {
		t.Fatalf("ServerValue = %q, %v", v, err)
	}
	// When this session's own role is overridden the server value cannot
	// be told from it.
	if err := su.Exclude(ctx, Scope{Role: plain}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { su.ResetOverrides(ctx, Scope{Role: plain}) })
	if _, err := c.ServerValue(ctx, SettingLog); err == nil || !strings.Contains(err.Error(), "pg_read_all_settings") {
		t.Fatalf("ServerValue with an overridden session: %v", err)
	}
	// ServerValues leaves out the setting it cannot tell, not the others.
	if vs, err := c.ServerValues(ctx, SettingLog, SettingLogRelation); err != nil || !cmp.Equal(vs, map[string]string{SettingLogRelation: "off"}) {
		t.Fatalf("ServerValues with an overridden session = %v, %v; want only %s", vs, err, SettingLogRelation)
	}
}
