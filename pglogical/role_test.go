package pglogical

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/pgserver"
	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// rolePair is a provider and a subscriber whose pglogical connections log
// in as node roles made by CreateNodeRole, not as the superuser.
type rolePair struct {
	prov, sub         side
	provRole, subRole NodeRoleSpec
	provDSN, subDSN   pgaurora.ConnString
	provMade, subMade NodeRole
	table             string
}

// nodeRoleName returns a role name unique to the test, dropped (with its
// privileges on shared objects) on both servers when the test ends, after
// the test's databases.
func nodeRoleName(t *testing.T, kind string) string {
	t.Helper()
	name := fmt.Sprintf("pgl_%s_%d", kind, dbSeq.Add(1))
	t.Cleanup(func() {
		for _, srv := range []*pgserver.Server{provSrv, subSrv} {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			conn, err := pgx.Connect(ctx, srv.ConnString("postgres"))
			if err == nil {
				var exists bool
				if err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", name).Scan(&exists); err == nil && exists {
					if _, err = conn.Exec(ctx, "DROP OWNED BY "+sqlquote.MustIdent(name)); err == nil {
						_, err = conn.Exec(ctx, "DROP ROLE "+sqlquote.MustIdent(name))
					}
				}
				conn.Close(context.Background())
			}
			cancel()
			if err != nil {
				t.Errorf("dropping role %s on %s: %v", name, srv, err)
			}
		}
	})
	return name
}

// newRolePair makes the pair, its table app.docs_lab_table (rows rows on
// the provider), the two roles and the two nodes, with the nodes' DSNs and
// the subscription's provider DSN logging in as the roles. The roles are
// given the table (NodeRoleSpec.Tables), or with bySchema its schema
// (NodeRoleSpec.Schemas), the table being created after the roles.
func newRolePair(t *testing.T, rows int, bySchema bool) rolePair {
	t.Helper()
	var rp rolePair
	rp.provRole = NodeRoleSpec{Name: nodeRoleName(t, "prov"), Password: "prov-Secret-1", Provider: true}
	rp.subRole = NodeRoleSpec{Name: nodeRoleName(t, "sub"), Password: "sub-Secret-2", Subscriber: true}
	rp.prov, rp.sub = pair(t)
	ctx := testCtx(t)
	rp.table = "docs_lab_table"
	createTable := func() {
		for _, s := range []side{rp.prov, rp.sub} {
			mustExec(t, s, "CREATE TABLE app.docs_lab_table (a int PRIMARY KEY, b text)")
		}
		mustExec(t, rp.prov, "INSERT INTO app.docs_lab_table SELECT g, 'v' || g FROM generate_series(1, $1::int) g", rows)
	}
	for _, s := range []side{rp.prov, rp.sub} {
		mustExec(t, s, "CREATE SCHEMA app")
	}
	if bySchema {
		rp.provRole.Schemas, rp.subRole.Schemas = []string{"app"}, []string{"app"}
	} else {
		createTable()
		tables := []Table{T("app", rp.table)}
		rp.provRole.Tables, rp.subRole.Tables = tables, tables
	}
	var err error
	if rp.provMade, err = rp.prov.client.CreateNodeRole(ctx, rp.provRole); err != nil {
		t.Fatal(err)
	}
	if rp.subMade, err = rp.sub.client.CreateNodeRole(ctx, rp.subRole); err != nil {
		t.Fatal(err)
	}
	if bySchema {
		createTable()
	}
	if rp.provDSN, err = rp.provRole.DSN(rp.prov.dsn); err != nil {
		t.Fatal(err)
	}
	if rp.subDSN, err = rp.subRole.DSN(rp.sub.dsn); err != nil {
		t.Fatal(err)
	}
	if _, err := rp.prov.client.CreateNode(ctx, rp.prov.node, rp.provDSN); err != nil {
		t.Fatal(err)
	}
	if err := rp.prov.client.AddAllTables(ctx, DefaultSet, []string{"app"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := rp.sub.client.CreateNode(ctx, rp.sub.node, rp.subDSN); err != nil {
		t.Fatal(err)
	}
	return rp
}

func (rp rolePair) subscribe(t *testing.T, name string) error {
	t.Helper()
	_, err := rp.sub.client.CreateSubscription(testCtx(t), SubscriptionSpec{
		Name: name, Provider: rp.provDSN, ReplicationSets: []string{DefaultSet}, SynchronizeData: true,
	})
	return err
}

// grantsOf lists what role has been granted in the database of s and on
// the server's parameters: table, schema and function privileges, role
// memberships and parameter privileges, each as "kind object privilege",
// sorted; and its attributes.
func grantsOf(t *testing.T, s side, role string) (attrs string, grants []string) {
	t.Helper()
	ctx := testCtx(t)
	if err := s.pool.QueryRow(ctx, `SELECT format('super=%s replication=%s login=%s createrole=%s createdb=%s bypassrls=%s',
		rolsuper, rolreplication, rolcanlogin, rolcreaterole, rolcreatedb, rolbypassrls) FROM pg_roles WHERE rolname = $1`, role).Scan(&attrs); err != nil {
		t.Fatalf("reading the attributes of %s: %v", role, err)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT 'table ' || c.oid::regclass::text || ' ' || a.privilege_type
		  FROM pg_class c, aclexplode(c.relacl) a WHERE a.grantee = $1::regrole
		UNION ALL
		SELECT 'schema ' || n.nspname || ' ' || a.privilege_type
		  FROM pg_namespace n, aclexplode(n.nspacl) a WHERE a.grantee = $1::regrole
		UNION ALL
		SELECT 'function ' || p.oid::regprocedure::text || ' ' || a.privilege_type
		  FROM pg_proc p, aclexplode(p.proacl) a WHERE a.grantee = $1::regrole
		UNION ALL
		SELECT 'parameter ' || pa.parname || ' ' || a.privilege_type
		  FROM pg_parameter_acl pa, aclexplode(pa.paracl) a WHERE a.grantee = $1::regrole
		UNION ALL
		SELECT 'member of ' || m.roleid::regrole::text FROM pg_auth_members m WHERE m.member = $1::regrole
		UNION ALL
		SELECT 'default for tables in ' || d.defaclnamespace::regnamespace::text || ' ' || a.privilege_type
		  FROM pg_default_acl d, aclexplode(d.defaclacl) a WHERE a.grantee = $1::regrole
		UNION ALL
		SELECT 'database ' || d.datname || ' ' || a.privilege_type
		  FROM pg_database d, aclexplode(d.datacl) a WHERE a.grantee = $1::regrole
		ORDER BY 1`, role)
	if err != nil {
		t.Fatalf("reading the grants of %s: %v", role, err)
	}
	grants, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("reading the grants of %s: %v", role, err)
	}
	return attrs, grants
}

func TestNodeRoleReplicates(t *testing.T) {
	rp := newRolePair(t, 3000, false)
	ctx := testCtx(t)
	if !rp.provMade.Created || !rp.subMade.Created {
		t.Errorf("first CreateNodeRole calls report Created = %v, %v", rp.provMade.Created, rp.subMade.Created)
	}
	for _, st := range append(append([]string{}, rp.provMade.Statements...), rp.subMade.Statements...) {
		if strings.Contains(st, rp.provRole.Password) || strings.Contains(st, rp.subRole.Password) || strings.Contains(st, "SCRAM") {
			t.Errorf("statement %q shows the password or its verifier", st)
		}
	}

	// Exactly the privileges documented, and nothing more.
	attrs, grants := grantsOf(t, rp.prov, rp.provRole.Name)
	if attrs != "super=f replication=t login=t createrole=f createdb=f bypassrls=f" {
		t.Errorf("provider role attributes: %s", attrs)
	}
	wantProv := []string{"schema app USAGE", "schema pglogical USAGE", "table app.docs_lab_table SELECT", "table pglogical.tables SELECT"}
	if !slices.Equal(grants, wantProv) {
		t.Errorf("provider role grants:\n%s\nwant:\n%s", strings.Join(grants, "\n"), strings.Join(wantProv, "\n"))
	}
	attrs, grants = grantsOf(t, rp.sub, rp.subRole.Name)
	if attrs != "super=f replication=f login=t createrole=f createdb=f bypassrls=f" {
		t.Errorf("subscriber role attributes: %s", attrs)
	}
	wantSub := []string{
		"function pg_replication_origin_session_reset() EXECUTE", "function pg_replication_origin_session_setup(text) EXECUTE",
		"parameter session_replication_role SET", "schema app USAGE", "table app.docs_lab_table INSERT",
	}
	if !slices.Equal(grants, wantSub) {
		t.Errorf("subscriber role grants:\n%s\nwant:\n%s", strings.Join(grants, "\n"), strings.Join(wantSub, "\n"))
	}

	const name = "role_sub"
	if err := rp.subscribe(t, name); err != nil {
		t.Fatal(err)
	}
	if err := rp.sub.client.WaitForSync(ctx, name, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, rp.sub, "SELECT count(*) FROM app.docs_lab_table"); n != 3000 {
		t.Fatalf("subscriber has %d rows after the sync, want 3000", n)
	}
	// The provider's walsender for the subscription is the role's.
	pgtest.WaitFor(t, "the subscription's walsender on the provider", 30*time.Second, func() (bool, string) {
		var users []string
		rows, err := rp.prov.pool.Query(ctx, "SELECT usename::text FROM pg_stat_activity WHERE backend_type = 'walsender' AND datname = $1", rp.prov.db.Name)
		if err == nil {
			users, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if err != nil {
			return false, err.Error()
		}
		return slices.Equal(users, []string{rp.provRole.Name}), fmt.Sprintf("walsenders of %v", users)
	})

	// Changes are applied although the subscriber's role may not update,
	// delete or truncate: the apply worker runs as the bootstrap superuser.
	mustExec(t, rp.prov, "INSERT INTO app.docs_lab_table SELECT g, 'v' || g FROM generate_series(3001, 3100) g")
	mustExec(t, rp.prov, "UPDATE app.docs_lab_table SET b = 'changed' WHERE a <= 10")
	mustExec(t, rp.prov, "DELETE FROM app.docs_lab_table WHERE a > 3050")
	pgtest.WaitFor(t, "the changes on the subscriber", 30*time.Second, func() (bool, string) {
		var n, changed int
		if err := rp.sub.pool.QueryRow(ctx, "SELECT count(*), count(*) FILTER (WHERE b = 'changed') FROM app.docs_lab_table").Scan(&n, &changed); err != nil {
			return false, err.Error()
		}
		return n == 3050 && changed == 10, fmt.Sprintf("%d rows, %d changed", n, changed)
	})
	mustExec(t, rp.prov, "TRUNCATE app.docs_lab_table")
	pgtest.WaitFor(t, "the truncate on the subscriber", 30*time.Second, func() (bool, string) {
		n := count(t, rp.sub, "SELECT count(*) FROM app.docs_lab_table")
		return n == 0, fmt.Sprintf("%d rows", n)
	})

	// A second call changes nothing and the pair keeps replicating (the
	// roles' sessions keep working with the password set again).
	again, err := rp.prov.client.CreateNodeRole(ctx, rp.provRole)
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || len(again.Statements) != len(rp.provMade.Statements) || !strings.HasPrefix(again.Statements[0], "ALTER ROLE") {
		t.Errorf("second call: %+v", again)
	}
	if _, g := grantsOf(t, rp.prov, rp.provRole.Name); !slices.Equal(g, wantProv) {
		t.Errorf("provider role grants after a second call: %v", g)
	}
	if _, err := rp.sub.client.CreateNodeRole(ctx, rp.subRole); err != nil {
		t.Fatal(err)
	}
	if _, g := grantsOf(t, rp.sub, rp.subRole.Name); !slices.Equal(g, wantSub) {
		t.Errorf("subscriber role grants after a second call: %v", g)
	}
	mustExec(t, rp.prov, "INSERT INTO app.docs_lab_table SELECT g, 'w' FROM generate_series(1, 50) g")
	pgtest.WaitFor(t, "rows after the second call", 30*time.Second, func() (bool, string) {
		n := count(t, rp.sub, "SELECT count(*) FROM app.docs_lab_table")
		return n == 50, fmt.Sprintf("%d rows", n)
	})

	// Resynchronizing a table (truncate, then copy again) works through
	// the roles too.
	mustExec(t, rp.sub, "DELETE FROM app.docs_lab_table WHERE a <= 25")
	if err := rp.sub.client.ResynchronizeTable(ctx, name, T("app", "docs_lab_table"), true); err != nil {
		t.Fatal(err)
	}
	pgtest.WaitFor(t, "the resynchronized table", 30*time.Second, func() (bool, string) {
		n := count(t, rp.sub, "SELECT count(*) FROM app.docs_lab_table")
		st, err := rp.sub.client.TableSyncState(ctx, name, T("app", "docs_lab_table"))
		return n == 50 && err == nil && st == SyncReady, fmt.Sprintf("%d rows, state %v, %v", n, st, err)
	})

	// Dropping the subscription drops its slot on the provider, through
	// the provider's role.
	sub, err := rp.sub.client.Subscription(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := rp.sub.client.DropSubscription(ctx, name, false); err != nil {
		t.Fatal(err)
	}
	if n := count(t, rp.prov, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", sub.SlotName); n != 0 {
		t.Errorf("the provider still has the subscription's slot %s", sub.SlotName)
	}
}

// TestNodeRoleSchemas gives the roles a schema rather than tables: the
// table created there afterwards replicates through them.
func TestNodeRoleSchemas(t *testing.T) {
	rp := newRolePair(t, 500, true)
	ctx := testCtx(t)
	_, grants := grantsOf(t, rp.prov, rp.provRole.Name)
	want := []string{"default for tables in app SELECT", "schema app USAGE", "schema pglogical USAGE", "table app.docs_lab_table SELECT", "table pglogical.tables SELECT"}
	if !slices.Equal(grants, want) {
		t.Errorf("provider role grants:\n%s\nwant:\n%s", strings.Join(grants, "\n"), strings.Join(want, "\n"))
	}
	_, grants = grantsOf(t, rp.sub, rp.subRole.Name)
	want = []string{"default for tables in app INSERT",
		"function pg_replication_origin_session_reset() EXECUTE", "function pg_replication_origin_session_setup(text) EXECUTE",
		"parameter session_replication_role SET", "schema app USAGE", "table app.docs_lab_table INSERT"}
	if !slices.Equal(grants, want) {
		t.Errorf("subscriber role grants:\n%s\nwant:\n%s", strings.Join(grants, "\n"), strings.Join(want, "\n"))
	}
	if err := rp.subscribe(t, "by_schema"); err != nil {
		t.Fatal(err)
	}
	if err := rp.sub.client.WaitForSync(ctx, "by_schema", nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, rp.sub, "SELECT count(*) FROM app.docs_lab_table"); n != 500 {
		t.Fatalf("subscriber has %d rows after the sync, want 500", n)
	}
	if _, err := rp.sub.client.CreateNodeRole(ctx, NodeRoleSpec{Name: rp.subRole.Name, Password: "x-1", Subscriber: true, Schemas: []string{"missing"}}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `schema "missing"`) {
		t.Errorf("CreateNodeRole with a missing schema = %v; want ErrNotFound", err)
	}
}

// TestNodeRoleGrantsAreNeeded takes one of CreateNodeRole's grants away
// at a time and shows the replication failing without it.
func TestNodeRoleGrantsAreNeeded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		onProv bool
		revoke string // %s is the role
		// failsCreate: CreateSubscription itself fails; else the sync
		// worker logs want on the subscriber and copies nothing.
		failsCreate bool
		want        string
		// warnOnly: the sync completes, and the subscriber's log has want.
		warnOnly bool
	}{
		{name: "provider replication", onProv: true, revoke: "ALTER ROLE %s NOREPLICATION", failsCreate: true, want: "replication"},
		{name: "provider table select", onProv: true, revoke: "REVOKE SELECT ON app.docs_lab_table FROM %s", want: "permission denied for table docs_lab_table"},
		{name: "provider pglogical tables", onProv: true, revoke: "REVOKE SELECT ON pglogical.tables FROM %s", want: "permission denied for view tables"},
		{name: "provider pglogical schema", onProv: true, revoke: "REVOKE USAGE ON SCHEMA pglogical FROM %s", failsCreate: true, want: "permission denied for schema pglogical"},
		{name: "subscriber insert", revoke: "REVOKE INSERT ON app.docs_lab_table FROM %s", want: "permission denied for table docs_lab_table"},
		{name: "subscriber schema", revoke: "REVOKE USAGE ON SCHEMA app FROM %s", want: "permission denied for schema app"},
		{name: "subscriber origin setup", revoke: "REVOKE EXECUTE ON FUNCTION pg_replication_origin_session_setup(text) FROM %s", want: "permission denied for function pg_replication_origin_session_setup"},
		// Without it the copy still commits, but the origin stays set on
		// the copy's session until it ends, racing the apply worker that
		// takes the origin over, and pglogical warns.
		{name: "subscriber origin reset", revoke: "REVOKE EXECUTE ON FUNCTION pg_replication_origin_session_reset() FROM %s", warnOnly: true, want: "Resetting session origin on target node failed"},
		{name: "subscriber session_replication_role", revoke: "REVOKE SET ON PARAMETER session_replication_role FROM %s", want: `permission denied to set parameter "session_replication_role"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp := newRolePair(t, 100, false)
			s, role := rp.sub, rp.subRole.Name
			if tc.onProv {
				s, role = rp.prov, rp.provRole.Name
			}
			mustExec(t, s, fmt.Sprintf(tc.revoke, sqlquote.MustIdent(role)))
			logStart := logSize(t, rp.sub.server())
			name := "needs_" + strings.ReplaceAll(tc.name, " ", "_")
			err := rp.subscribe(t, name)
			if tc.failsCreate {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("CreateSubscription without the grant: %v; want an error mentioning %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pgtest.WaitFor(t, "the sync worker's error in the subscriber's log", 60*time.Second, func() (bool, string) {
				b, err := rp.sub.server().ReadLog()
				if err != nil {
					return false, err.Error()
				}
				return bytes.Contains(b[logStart:], []byte(tc.want)), "not logged yet"
			})
			if tc.warnOnly {
				if err := rp.sub.client.WaitForSync(testCtx(t), name, nil); err != nil {
					t.Fatal(err)
				}
				return
			}
			wctx, cancel := context.WithTimeout(testCtx(t), 2*time.Second)
			defer cancel()
			if err := rp.sub.client.WaitForSync(wctx, name, nil); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("WaitForSync without the grant: %v; want the sync to not complete", err)
			}
			if n := count(t, rp.sub, "SELECT count(*) FROM app.docs_lab_table"); n != 0 {
				t.Errorf("subscriber has %d rows without the grant", n)
			}
		})
	}
}

func logSize(t *testing.T, srv *pgserver.Server) int {
	t.Helper()
	b, err := srv.ReadLog()
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

func TestCreateNodeRoleRefuses(t *testing.T) {
	ctx := testCtx(t)
	s := newSide(t, provSrv, "p")
	mustExec(t, s, "CREATE TABLE t (a int)")
	for _, bad := range []NodeRoleSpec{
		{Name: "", Password: "x", Provider: true},
		{Name: "r", Provider: true},
		{Name: "r", Password: "pässwörd", Provider: true},
		{Name: "r", Password: "x"},
		{Name: "r", Password: "x", Subscriber: true, Tables: []Table{{Schema: "public"}}},
		{Name: "r\x00", Password: "x", Provider: true},
		{Name: "r", Password: "x", Provider: true, Schemas: []string{""}},
	} {
		if _, err := s.client.CreateNodeRole(ctx, bad); !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "pässwörd") {
			t.Errorf("CreateNodeRole(%v) = %v; want ErrInvalid without the password", bad, err)
		}
	}
	name := nodeRoleName(t, "refuse")
	if _, err := s.client.CreateNodeRole(ctx, NodeRoleSpec{Name: name, Password: "pw-1", Subscriber: true, Tables: []Table{T("public", "missing")}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("CreateNodeRole with a missing table = %v; want ErrNotFound", err)
	}
	// A grant that fails after CREATE ROLE leaves nothing behind: a
	// CREATEROLE role that is not a superuser may create the role but
	// holds none of the subscriber's grants to pass on (EXECUTE on the
	// replication origin functions, SET on session_replication_role).
	admin := nodeRoleName(t, "admin")
	mustExec(t, s, "CREATE ROLE "+admin+" LOGIN CREATEROLE")
	mustExec(t, s, "GRANT SET ON PARAMETER log_statement, log_min_error_statement TO "+admin)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := s.pool.Exec(ctx, "REVOKE SET ON PARAMETER log_statement, log_min_error_statement FROM "+admin); err != nil {
			t.Errorf("revoking from %s: %v", admin, err)
		}
	})
	cfg, err := pgx.ParseConfig(s.db.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	cfg.User = admin
	asAdmin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer asAdmin.Close(context.Background())
	failed := nodeRoleName(t, "failed")
	if _, err := New(asAdmin).CreateNodeRole(ctx, NodeRoleSpec{Name: failed, Password: "pw-1", Subscriber: true}); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("CreateNodeRole as %s = %v; want a permission error from a grant", admin, err)
	} else {
		t.Logf("as %s: %v", admin, err)
	}
	var n int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = $1", failed).Scan(&n); err != nil || n != 0 {
		t.Errorf("a CreateNodeRole that failed after CREATE ROLE left the role behind (%d, %v)", n, err)
	}
	// An existing superuser is not turned into a node role.
	mustExec(t, s, "CREATE ROLE "+sqlquote.MustIdent(name)+" SUPERUSER")
	if _, err := s.client.CreateNodeRole(ctx, NodeRoleSpec{Name: name, Password: "pw-1", Provider: true, Tables: []Table{T("", "t")}}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "superuser") {
		t.Errorf("CreateNodeRole on a superuser = %v; want ErrInvalid", err)
	}
	if _, err := New(noConn{s.pool}).CreateNodeRole(ctx, NodeRoleSpec{Name: name + "x", Password: "pw-1", Provider: true}); !errors.Is(err, pgaurora.ErrLogSuppression) {
		t.Errorf("CreateNodeRole over a Querier that cannot lend a connection = %v; want ErrLogSuppression", err)
	}
}

// noConn is a Querier that cannot lend one connection.
type noConn struct{ pgaurora.Querier }
