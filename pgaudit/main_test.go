package pgaudit

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// The package's tests share one PostgreSQL 15 server with pgAudit
// preloaded; it logs with RDS's log_line_prefix, which the reader reads by
// default. Fuzzing exercises the pure reader and starts no server.
func TestMain(m *testing.M) {
	flag.Parse()
	if pgtest.Fuzzing() {
		os.Exit(m.Run())
	}
	pgtest.Main(m, pgtest.WithPreload("pgaudit"))
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var nameSeq atomic.Int64

// uniq returns a name unique in this test run, for cluster-wide objects
// (roles, databases) shared by the server.
func uniq(base string) string {
	return fmt.Sprintf("%s_%d_%d", base, time.Now().UnixNano()%1e6, nameSeq.Add(1))
}

// admin connects to the postgres database as the superuser.
func admin(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx := testCtx(t)
	c, err := pgx.Connect(ctx, pgtest.Server(t).ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// connectAs opens a connection to database as role (trust authentication).
func connectAs(t testing.TB, role, database string) *pgx.Conn {
	t.Helper()
	ctx := testCtx(t)
	cfg, err := pgx.ParseConfig(pgtest.Server(t).ConnString(database))
	if err != nil {
		t.Fatal(err)
	}
	cfg.User = role
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connecting as %q to %q: %v", role, database, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// createRole creates a login role, dropped (with what it owns in the given
// databases) when the test ends.
func createRole(t testing.TB, name string, databases ...string) {
	t.Helper()
	ctx := testCtx(t)
	a := admin(t)
	ident := sqlquote.MustIdent(name)
	if _, err := a.Exec(ctx, "CREATE ROLE "+ident+" LOGIN"); err != nil {
		t.Fatalf("creating role %q: %v", name, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, pgtest.Server(t).ConnString("postgres"))
		if err != nil {
			t.Errorf("dropping role %q: %v", name, err)
			return
		}
		defer c.Close(ctx)
		for _, db := range databases {
			if dc, err := pgx.Connect(ctx, pgtest.Server(t).ConnString(db)); err == nil {
				dc.Exec(ctx, "DROP OWNED BY "+ident)
				dc.Close(ctx)
			}
		}
		c.Exec(ctx, "DROP OWNED BY "+ident)
		if _, err := c.Exec(ctx, "DROP ROLE IF EXISTS "+ident); err != nil {
			t.Errorf("dropping role %q: %v", name, err)
		}
	})
}

// createDatabase creates a database with any name, dropped when the test
// ends (pgtest.NewDB picks its own names).
func createDatabase(t testing.TB, name string) {
	t.Helper()
	ctx := testCtx(t)
	ident := sqlquote.MustIdent(name)
	if _, err := admin(t).Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("creating database %q: %v", name, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, pgtest.Server(t).ConnString("postgres"))
		if err != nil {
			t.Errorf("dropping database %q: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %q: %v", name, err)
		}
	})
}

// serverEntries reads the shared server's whole log with the Reader and
// returns the entries for which keep is true; it fails the test on any
// malformed audit entry.
func serverEntries(t testing.TB, keep func(*Entry) bool) []Entry {
	t.Helper()
	log, err := pgtest.Server(t).ReadLog()
	if err != nil {
		t.Fatal(err)
	}
	var out []Entry
	r := NewReader(bytes.NewReader(log), nil)
	for e, err := range r.All() {
		if err != nil {
			t.Fatalf("reading the server log: %v", err)
		}
		if keep(&e) {
			out = append(out, e)
		}
	}
	return out
}

// hasMarker keeps entries whose statement contains marker.
func hasMarker(marker string) func(*Entry) bool {
	return func(e *Entry) bool { return strings.Contains(e.Statement, marker) }
}
