package logical

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

var roleSeq atomic.Int64

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, time.Now().UnixNano()%1e6, roleSeq.Add(1))
}

// loginURL is a URL connection string for a role with a password on the
// publisher.
func loginURL(db *pgtest.DB, role, password string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(role, password),
		Host: db.Server.Host() + ":" + strconv.Itoa(db.Server.Port()), Path: "/" + db.Name, RawQuery: "sslmode=disable"}
	return u.String()
}

func TestCDCUser(t *testing.T) {
	t.Parallel()
	db := newDB(t, pubSrv)
	c := New(db.Pool)
	ctx := testCtx(t)
	mustExec(t, db.Pool, "CREATE SCHEMA app; CREATE TABLE app.orders (id int PRIMARY KEY); INSERT INTO app.orders VALUES (1)")

	role := uniqueName("cdc")
	password := "cdc'pw\\" + strconv.FormatInt(time.Now().UnixNano(), 36)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.DropCDCUser(ctx, role); err != nil {
			t.Errorf("dropping the CDC user: %v", err)
		}
	})
	u, err := c.CreateCDCUser(ctx, CDCUserSpec{Name: role, Password: password, Schemas: []string{"app"}})
	if err != nil {
		t.Fatal(err)
	}
	if u.Replication != "REPLICATION" {
		t.Errorf("replication = %q, want the REPLICATION attribute (no rds_replication role here)", u.Replication)
	}
	for _, s := range u.Statements {
		if strings.Contains(s, password) || strings.Contains(s, "SCRAM") {
			t.Errorf("a reported statement holds the secret: %s", s)
		}
	}
	var repl bool
	var stored string
	if err := db.Pool.QueryRow(ctx, "SELECT rolreplication, rolpassword FROM pg_authid WHERE rolname = $1", role).Scan(&repl, &stored); err != nil {
		t.Fatal(err)
	}
	if !repl || !strings.HasPrefix(stored, "SCRAM-SHA-256$4096:") {
		t.Errorf("rolreplication = %t, rolpassword prefix = %.20s", repl, stored)
	}
	if _, err := c.CreateCDCUser(ctx, CDCUserSpec{Name: role, Password: password}); !errors.Is(err, ErrAlreadyExists) || strings.Contains(err.Error(), password) {
		t.Errorf("duplicate: %v, want ErrAlreadyExists without the password", err)
	}

	// The role logs in over TCP with scram-sha-256 (the verifier computed
	// here is right), reads the schema and creates and drops a slot.
	conn, err := pgx.Connect(ctx, loginURL(db, role, password))
	if err != nil {
		t.Fatalf("logging in as the CDC user: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM app.orders").Scan(&n); err != nil || n != 1 {
		t.Errorf("reading app.orders as the CDC user: %d, %v", n, err)
	}
	cdc := New(conn)
	slot := uniqueName("cdc_slot")
	if _, err := cdc.CreateSlot(ctx, slot, PluginWal2JSON); err != nil {
		t.Fatalf("creating a slot as the CDC user: %v", err)
	}
	if err := cdc.DropSlot(ctx, slot); err != nil {
		t.Fatal(err)
	}

	// A non-ASCII password is refused before anything is sent: the SDK
	// cannot hash it as the server would (SASLprep), and sends no password
	// in clear.
	role2 := uniqueName("cdc_utf8")
	if _, err := c.CreateCDCUser(ctx, CDCUserSpec{Name: role2, Password: "pässwörd-€"}); !errors.Is(err, pgaurora.ErrPassword) || !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "pässwörd") {
		t.Fatalf("non-ASCII password: %v, want ErrPassword and ErrInvalid, without the password", err)
	}
	if n := queryInt(t, db.Pool, "SELECT count(*) FROM pg_roles WHERE rolname = $1", role2); n != 0 {
		t.Errorf("the refused role was created")
	}

	// Neither password reached the server log.
	log, err := db.Server.ReadLog()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{password[7:], stored[20:40]} {
		if bytes.Contains(log, []byte(secret)) {
			t.Errorf("the server log holds a secret (%.3s...)", secret)
		}
	}
	if !bytes.Contains(log, []byte("GRANT USAGE ON SCHEMA \"app\" TO \""+role+"\"")) {
		t.Errorf("the statements after CREATE ROLE were not logged: logging was not restored")
	}

	for _, bad := range []CDCUserSpec{{Name: "", Password: "x"}, {Name: "x"}, {Name: "x", Password: "a\x00b"}, {Name: "x", Password: "p", Schemas: []string{""}}} {
		if _, err := c.CreateCDCUser(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("CreateCDCUser(%q): %v, want ErrInvalid", bad.Name, err)
		}
	}
}

// TestCDCUserRDSReplication creates a CDC user where an rds_replication
// role exists, as on Aurora: the role is granted instead of the
// REPLICATION attribute. It runs on the subscriber server, which no other
// test gives an rds_replication role, and not in parallel.
func TestCDCUserRDSReplication(t *testing.T) {
	db := newDB(t, subSrv)
	c := New(db.Pool)
	ctx := testCtx(t)
	mustExec(t, db.Pool, "CREATE ROLE rds_replication")
	role := uniqueName("cdc_rds")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.DropCDCUser(ctx, role)
		if _, err := db.Pool.Exec(ctx, "DROP ROLE rds_replication"); err != nil {
			t.Errorf("dropping rds_replication: %v", err)
		}
	})
	u, err := c.CreateCDCUser(ctx, CDCUserSpec{Name: role, Password: "secret-1"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Replication != RDSReplicationRole {
		t.Errorf("replication = %q, want rds_replication", u.Replication)
	}
	if stmt, how, err := ReplicationGrant(ctx, db.Pool, "Odd Name"); err != nil || stmt != `GRANT "rds_replication" TO "Odd Name"` || how != RDSReplicationRole {
		t.Errorf("ReplicationGrant with rds_replication = %q, %q, %v", stmt, how, err)
	}
	if _, _, err := ReplicationGrant(ctx, db.Pool, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("ReplicationGrant of an empty name: %v; want ErrInvalid", err)
	}
	if n := queryInt(t, db.Pool, `SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
		JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = 'rds_replication' AND u.rolname = $1 AND NOT u.rolreplication`, role); n != 1 {
		t.Errorf("the role is not a member of rds_replication (or has REPLICATION)")
	}
	// A role that is not a superuser, as rds_superuser is not: with SET
	// rights on the log settings it may create CDC users (the settings it
	// may not change, like track_activities, are left as they are);
	// without them nothing is sent.
	admin := uniqueName("admin")
	mustExec(t, db.Pool, "CREATE ROLE "+admin+" LOGIN CREATEROLE")
	mustExec(t, db.Pool, "GRANT SET ON PARAMETER log_statement, log_min_error_statement TO "+admin)
	mustExec(t, db.Pool, "GRANT rds_replication TO "+admin+" WITH ADMIN OPTION")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, sql := range []string{"REVOKE SET ON PARAMETER log_statement, log_min_error_statement FROM " + admin, "DROP OWNED BY " + admin, "DROP ROLE " + admin} {
			if _, err := db.Pool.Exec(ctx, sql); err != nil {
				t.Errorf("%s: %v", sql, err)
			}
		}
	})
	cfg, err := pgx.ParseConfig(db.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	cfg.User = admin
	limited, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer limited.Close(context.Background())
	role3 := uniqueName("cdc_limited")
	t.Cleanup(func() { _, _ = db.Pool.Exec(context.Background(), "DROP ROLE IF EXISTS "+role3) })
	if u, err := New(limited).CreateCDCUser(ctx, CDCUserSpec{Name: role3, Password: "secret-3"}); err != nil || u.Replication != RDSReplicationRole {
		t.Fatalf("CDC user by a role with SET rights: %+v, %v", u, err)
	}
	mustExec(t, db.Pool, "REVOKE SET ON PARAMETER log_statement FROM "+admin)
	role4 := uniqueName("cdc_refused")
	if _, err := New(limited).CreateCDCUser(ctx, CDCUserSpec{Name: role4, Password: "secret-4"}); !errors.Is(err, pgaurora.ErrLogSuppression) {
		t.Errorf("CDC user by a role that may not set log_statement: %v, want pgaurora.ErrLogSuppression", err)
	}
	if n := queryInt(t, db.Pool, "SELECT count(*) FROM pg_roles WHERE rolname = $1", role4); n != 0 {
		t.Errorf("the refused role was created")
	}
	var ls string
	if err := limited.QueryRow(ctx, "SHOW log_statement").Scan(&ls); err != nil || ls != "all" {
		t.Errorf("log_statement on the caller's connection after the refusal = %q, %v", ls, err)
	}

	// Inside the caller's transaction, the role is created in it.
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	role2 := uniqueName("cdc_tx")
	if _, err := New(tx).CreateCDCUser(ctx, CDCUserSpec{Name: role2, Password: "secret-2"}); err != nil {
		t.Fatal(err)
	}
	var logStmt string
	if err := tx.QueryRow(ctx, "SHOW log_statement").Scan(&logStmt); err != nil || logStmt != "all" {
		t.Errorf("log_statement in the caller's transaction after the call = %q, %v; want it restored", logStmt, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db.Pool, "SELECT count(*) FROM pg_roles WHERE rolname = $1", role2); n != 0 {
		t.Errorf("the role survived the caller's rollback")
	}
}
