package extensions_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var roleSeq atomic.Int64

// newRole creates a cluster-wide role with a unique name built from base
// (which may be hostile) and drops it, with what it owns, when the test
// ends. Call it after pgtest.NewDB so the role is dropped after... before
// the database: DROP OWNED runs in the test database first.
func newRole(t testing.TB, db *pgtest.DB, base string, attrs string) string {
	t.Helper()
	name := fmt.Sprintf("%s%d", base, roleSeq.Add(1))
	q := sqlquote.MustIdent(name)
	ctx := ctxT(t)
	if _, err := db.Pool.Exec(ctx, "CREATE ROLE "+q+" "+attrs); err != nil {
		t.Fatalf("creating role %q: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Drop what the role owns in the test database, then the role.
		if db.Pool != nil {
			_, _ = db.Pool.Exec(ctx, "DROP OWNED BY "+q+" CASCADE")
		}
		admin, err := pgx.Connect(ctx, db.Server.ConnString("postgres"))
		if err != nil {
			t.Errorf("dropping role %q: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP ROLE IF EXISTS "+q); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "2BP01" {
				return // still owns objects in another database; dropped with it
			}
			t.Errorf("dropping role %q: %v", name, err)
		}
	})
	return name
}

// ensureGlobalRole creates a role shared by all tests (rds_superuser,
// pgtle_admin) once; it lives as long as the server.
func ensureGlobalRole(t testing.TB, db *pgtest.DB, name string) {
	t.Helper()
	_, err := db.Pool.Exec(ctxT(t), "CREATE ROLE "+sqlquote.MustIdent(name)+" NOLOGIN")
	var pe *pgconn.PgError
	if err != nil && !(errors.As(err, &pe) && (pe.Code == "42710" || pe.Code == "23505")) {
		t.Fatalf("creating role %s: %v", name, err)
	}
}

func mustExec(t testing.TB, q interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, sql string, args ...any) {
	t.Helper()
	if _, err := q.Exec(ctxT(t), sql, args...); err != nil {
		t.Fatalf("%s: %v", firstLine(sql), err)
	}
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i] + " ..."
		}
	}
	return s
}

// connectAs opens a connection to the test database as another role
// (trust authentication), closed when the test ends.
func connectAs(t testing.TB, db *pgtest.DB, role string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(db.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	cfg.User = role
	c, err := pgx.ConnectConfig(ctxT(t), cfg)
	if err != nil {
		t.Fatalf("connecting as %q: %v", role, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}
