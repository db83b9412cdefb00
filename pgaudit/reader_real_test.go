package pgaudit

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// auditLineStart matches the first line of every audit entry the server
// writes with the RDS prefix.
var auditLineStart = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC:.*:\[\d+\]:(LOG|NOTICE|WARNING|INFO|DEBUG):  AUDIT: `)

// TestReaderRealLog runs a workload covering every class, object auditing,
// parameters with commas, quotes, newlines and NULLs, rows, relations and
// multi-line statements on the real pgAudit, then reads the server log: the
// reader must return every audit entry the server wrote, exactly.
func TestReaderRealLog(t *testing.T) {
	ctx := testCtx(t)
	db := pgtest.NewDB(t)
	c := New(db.Pool)
	if _, err := c.Install(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAuditRole(ctx); err != nil {
		t.Fatal(err)
	}
	conn := db.Connect(t)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	marker := uniq("real")
	secretRole := uniq("secret_role")
	exec("CREATE TABLE accounts (id int PRIMARY KEY, name text, note text)")
	exec("CREATE TABLE other (id int)")
	exec("CREATE FUNCTION bump(i int) RETURNS int LANGUAGE plpgsql AS $$BEGIN RETURN i + 1; END$$")
	if err := c.Audit(ctx, Table("public", "other"), Select); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"SET pgaudit.log = 'all'",
		"SET pgaudit.log_parameter = on",
		"SET pgaudit.log_rows = on",
		"SET pgaudit.log_relation = on",
		"SET pgaudit.log_catalog = off",
		"SET pgaudit.role = 'rds_pgaudit'",
	} {
		exec(s)
	}
	multiline := "SELECT /*" + marker + "*/ a.id,\n       a.name, \"x\"\n  FROM accounts a\n  JOIN (SELECT 1 AS \"x\") q ON true\n WHERE a.note <> 'tab\there'"
	params := []any{1, "a,b", `he said "hi"`, "line1\nline2\n\tindented"}
	exec("INSERT /*"+marker+"*/ INTO accounts VALUES ($1, $2, $3), ($1 + 1, NULL, $4)", params...)
	exec("INSERT /*"+marker+"*/ INTO accounts (id, name, note) VALUES ($1, $2, $3)", 3, nil, "")
	exec(multiline)
	exec("UPDATE /*" + marker + "*/ accounts SET note = 'n' WHERE id > 1")
	exec("DELETE /*" + marker + "*/ FROM accounts WHERE id = 3")
	exec("SELECT /*"+marker+"*/ bump($1)", 41)
	exec("DO /*" + marker + "*/ $$\nBEGIN\n  PERFORM bump(1);\n  CREATE TEMP TABLE tmp_from_do (id int);\nEND\n$$")
	exec("SELECT /*" + marker + "*/ id FROM other")
	exec("CREATE ROLE " + sqlquote.MustIdent(secretRole) + " /*" + marker + "*/ PASSWORD 'very-secret'")
	t.Cleanup(func() { admin(t).Exec(ctx, "DROP ROLE IF EXISTS "+sqlquote.MustIdent(secretRole)) })
	exec("GRANT /*" + marker + "*/ SELECT ON accounts TO " + sqlquote.MustIdent(secretRole))
	exec("REVOKE /*" + marker + "*/ SELECT ON accounts FROM " + sqlquote.MustIdent(secretRole))
	exec("ALTER TABLE /*" + marker + "*/ accounts ADD COLUMN \"weird, \"\"col\"\"\" int")
	exec("VACUUM /*" + marker + "*/ accounts")
	exec("SET /*" + marker + "*/ work_mem = '8MB'")
	exec("TRUNCATE /*" + marker + "*/ other")
	exec("SET pgaudit.log_statement_once = on")
	exec("SELECT /*" + marker + "*/ o1.id FROM other o1, other o2")
	exec("SET pgaudit.log_statement_once = off")
	exec("SET pgaudit.log_statement = off")
	exec("SELECT /*" + marker + "*/ 'statement not logged' FROM other")
	exec("SET pgaudit.log_statement = on")
	// Through a prepared statement with several parameters and NULLs.
	if _, err := conn.Exec(ctx, "SELECT /*"+marker+"*/ $1::text, $2::text, $3::int", pgx.QueryExecModeExec, "x,y", nil, nil); err != nil {
		t.Fatal(err)
	}
	exec("SET pgaudit.log = 'none'")

	log, err := pgtest.Server(t).ReadLog()
	if err != nil {
		t.Fatal(err)
	}
	// Every audit entry the server wrote, counted by its first line.
	want := 0
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if auditLineStart.Match(sc.Bytes()) {
			want++
		}
	}
	r := NewReader(bytes.NewReader(log), nil)
	var all, mine []Entry
	for e, err := range r.All() {
		if err != nil {
			t.Fatalf("reading the server log: %v", err)
		}
		all = append(all, e)
		if e.Database == db.Name && (strings.Contains(e.Statement, marker) || e.Statement == NotLogged || e.Statement == PreviouslyLogged) {
			mine = append(mine, e)
		}
	}
	if len(all) != want || r.Stats().Malformed != 0 || r.Stats().Unmatched != 0 {
		t.Fatalf("read %d entries (stats %+v); the log has %d", len(all), r.Stats(), want)
	}

	classes := map[string]bool{}
	for _, e := range mine {
		n, _ := classLogName(e.Class)
		classes[n] = true
		if e.User != "postgres" || e.PID == 0 || e.Remote == "" || e.Time.IsZero() || e.Severity != SeverityLog {
			t.Errorf("prefix fields: %+v", e)
		}
		if strings.Contains(e.Statement, "very-secret") {
			t.Errorf("the password reached the log: %q", e.Statement)
		}
	}
	for _, cl := range []string{"READ", "WRITE", "FUNCTION", "ROLE", "DDL", "MISC"} {
		if !classes[cl] {
			t.Errorf("no %s entry; classes seen: %v", cl, classes)
		}
	}
	find := func(pred func(e *Entry) bool) *Entry {
		t.Helper()
		for i := range mine {
			if pred(&mine[i]) {
				return &mine[i]
			}
		}
		t.Fatalf("no matching entry among %d", len(mine))
		return nil
	}
	// Parameters with commas, quotes, newlines and a NULL.
	e := find(func(e *Entry) bool { return e.Command == "INSERT" && strings.Contains(e.Statement, "($1 + 1") })
	got, ok := e.Parameters()
	if !ok || !cmp.Equal(got, []string{"1", "a,b", `he said "hi"`, "line1\nline2\n\tindented"}) {
		t.Errorf("parameters = %q, %v (raw %q)", got, ok, e.Parameter)
	}
	if !e.HasRows || e.Rows != 2 || e.ObjectName != "public.accounts" || e.ObjectType != "TABLE" {
		t.Errorf("insert entry: %+v", e)
	}
	e = find(func(e *Entry) bool { return e.Command == "INSERT" && strings.Contains(e.Statement, "(id, name, note)") })
	if got, _ := e.Parameters(); !cmp.Equal(got, []string{"3", "", ""}) {
		t.Errorf("NULL and empty parameters = %q", got)
	}
	// The multi-line statement comes back exactly, tabs and all.
	e = find(func(e *Entry) bool { return e.Command == "SELECT" && e.Statement == multiline })
	if e.Parameter != NoParameters || !e.HasRows {
		t.Errorf("multi-line select: %+v", e)
	}
	// The password is redacted and stays redacted.
	e = find(func(e *Entry) bool { return e.Command == "CREATE ROLE" })
	if !strings.HasSuffix(e.Statement, "PASSWORD "+Redacted) || e.Class != Role {
		t.Errorf("create role: %q", e.Statement)
	}
	// Object auditing and log_relation: one OBJECT and one SESSION entry.
	var kinds []string
	for _, e := range mine {
		if strings.Contains(e.Statement, "id FROM other") && !strings.Contains(e.Statement, "o1") {
			kinds = append(kinds, string(e.Type)+" "+e.ObjectName)
		}
	}
	if !cmp.Equal(kinds, []string{"OBJECT public.other", "SESSION public.other"}) {
		t.Errorf("object audit entries: %q", kinds)
	}
	// log_statement_once: the second relation entry says previously logged.
	e = find(func(e *Entry) bool { return e.Statement == PreviouslyLogged })
	if e.Parameter != PreviouslyLogged || e.Command != "SELECT" {
		t.Errorf("previously logged entry: %+v", e)
	}
	// log_statement off.
	e = find(func(e *Entry) bool { return e.Statement == NotLogged })
	if e.Parameter != NotLogged {
		t.Errorf("not logged entry: %+v", e)
	}
	// A quoted identifier with a comma and quotes in an ALTER TABLE.
	e = find(func(e *Entry) bool { return e.Command == "ALTER TABLE" })
	if !strings.Contains(e.Statement, `"weird, ""col"""`) || e.ObjectName != "public.accounts" {
		t.Errorf("alter table: %+v", e)
	}
	// Prepared statement with NULL parameters.
	e = find(func(e *Entry) bool { return strings.Contains(e.Statement, "$3::int") })
	if got, _ := e.Parameters(); !cmp.Equal(got, []string{"x,y", "", ""}) {
		t.Errorf("prepared parameters = %q (raw %q)", got, e.Parameter)
	}
	// DO block: FUNCTION, and the function it calls.
	e = find(func(e *Entry) bool { return e.Command == "DO" })
	if e.Class != Function || !strings.Contains(e.Statement, "\nBEGIN\n  PERFORM bump(1);") {
		t.Errorf("DO entry: %+v", e)
	}

	// Formatting what was read gives back the server's bytes.
	var b []byte
	for i := range all {
		b, err = appendEntry(b, nil, &all[i])
		if err != nil {
			t.Fatal(err)
		}
	}
	var again []Entry
	for e, err := range Entries(bytes.NewReader(b), nil) {
		if err != nil {
			t.Fatal(err)
		}
		again = append(again, e)
	}
	if diff := cmp.Diff(all, again); diff != "" {
		t.Errorf("round trip of the server's entries (-read +reformatted):\n%s", diff)
	}

	s, err := Summarize(Entries(bytes.NewReader(log), nil))
	if err != nil || s.Entries != want || s.ByUser["postgres"] == 0 || s.ByObject["TABLE public.accounts"] == 0 {
		t.Errorf("summary: %+v, %v", s, err)
	}
}
