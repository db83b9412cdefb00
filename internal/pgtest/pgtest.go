// Package pgtest runs a package's tests against a real PostgreSQL server.
//
// A test package starts one server for all its tests from TestMain, and each
// test gets its own fresh database:
//
//	func TestMain(m *testing.M) { pgtest.Main(m, pgtest.WithPreload("pgaudit")) }
//
//	func TestSomething(t *testing.T) {
//		db := pgtest.NewDB(t) // dropped when the test ends
//		db.Pool.Exec(ctx, "...")
//	}
//
// Servers log with Amazon RDS's log_line_prefix (%t:%r:%u@%d:[%p]:), so log
// parsers see what they would see on Aurora. When the PostgreSQL binaries are
// missing the test binary fails, never skips, and says to run `make deps`.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgaurora/pgaurora/internal/pgserver"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// RDSLogLinePrefix is the log_line_prefix Amazon RDS and Aurora use.
const RDSLogLinePrefix = "%t:%r:%u@%d:[%p]:"

// Option configures the servers pgtest starts.
type Option func(*pgserver.Config)

// WithPreload sets shared_preload_libraries.
func WithPreload(libs ...string) Option {
	return func(c *pgserver.Config) { c.PreloadLibraries = append(c.PreloadLibraries, libs...) }
}

// WithSettings adds server settings (GUCs).
func WithSettings(settings map[string]string) Option {
	return func(c *pgserver.Config) { maps.Copy(c.Settings, settings) }
}

// WithLogicalReplication sets what logical replication and pglogical need:
// wal_level=logical, commit timestamps, and room for slots, senders and
// workers.
func WithLogicalReplication() Option {
	return WithSettings(map[string]string{
		"wal_level":                       "logical",
		"track_commit_timestamp":          "on",
		"max_replication_slots":           "20",
		"max_wal_senders":                 "20",
		"max_worker_processes":            "32",
		"max_logical_replication_workers": "16",
	})
}

// WithPassword makes the superuser authenticate with a password over TCP.
func WithPassword(password string) Option {
	return func(c *pgserver.Config) { c.Password = password }
}

var shared atomic.Pointer[pgserver.Server]

// Main starts the package's shared server, runs the tests and stops the
// server. Call it from TestMain.
func Main(m *testing.M, opts ...Option) {
	os.Exit(run(m, opts))
}

func run(m *testing.M, opts []Option) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s, err := pgserver.Start(ctx, config(opts))
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, hint(err))
		return 1
	}
	shared.Store(s)
	code := m.Run()
	if err := s.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: stopping the server: %v\n", err)
	}
	return code
}

func config(opts []Option) pgserver.Config {
	c := pgserver.Config{Settings: map[string]string{
		"log_line_prefix": RDSLogLinePrefix,
		"max_connections": "200",
	}}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func hint(err error) string {
	if errors.Is(err, pgserver.ErrNoBinaries) {
		return fmt.Sprintf("pgtest: %v\npgtest: these tests need PostgreSQL 15 and its extensions: run `make deps` (as root) first", err)
	}
	return fmt.Sprintf("pgtest: starting PostgreSQL: %v", err)
}

// Server returns the package's shared server. It fails the test when
// TestMain did not call Main.
func Server(t testing.TB) *pgserver.Server {
	t.Helper()
	s := shared.Load()
	if s == nil {
		t.Fatal("pgtest: no shared server: call pgtest.Main from TestMain")
	}
	return s
}

// StartServer starts a server of the test's own, stopped when the test ends.
// Use it where a test needs several servers (replication) or must restart
// one; otherwise prefer the shared server.
func StartServer(t testing.TB, opts ...Option) *pgserver.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := pgserver.Start(ctx, config(opts))
	if err != nil {
		t.Fatal(hint(err))
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// DB is a database created for one test.
type DB struct {
	// Name is the database's name.
	Name string
	// Pool is connected to the database as the superuser.
	Pool *pgxpool.Pool
	// Server is the server the database lives on.
	Server *pgserver.Server
}

// ConnString is a connection string for the database as the superuser.
func (d *DB) ConnString() string { return d.Server.ConnString(d.Name) }

// Connect opens a single connection to the database, closed when the test
// ends.
func (d *DB) Connect(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, d.ConnString())
	if err != nil {
		t.Fatalf("pgtest: connecting to %s: %v", d.Name, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

var dbSeq atomic.Int64

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// NewDB creates a fresh database on the shared server for this test and
// drops it when the test ends.
func NewDB(t testing.TB) *DB {
	t.Helper()
	return NewDBOn(t, Server(t))
}

// NewDBOn creates a fresh database on the given server for this test and
// drops it when the test ends.
func NewDBOn(t testing.TB, s *pgserver.Server) *DB {
	t.Helper()
	name := unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "_")
	suffix := fmt.Sprintf("_%d", dbSeq.Add(1))
	if len(name)+len(suffix) > sqlquote.MaxIdentifierLength {
		name = name[:sqlquote.MaxIdentifierLength-len(suffix)]
	}
	name += suffix
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, s.ConnString("postgres"))
	if err != nil {
		t.Fatalf("pgtest: connecting to %s: %v", s, err)
	}
	defer admin.Close(context.Background())
	ident := sqlquote.MustIdent(name)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	pool, err := pgxpool.New(ctx, s.ConnString(name))
	if err != nil {
		t.Fatalf("pgtest: opening a pool on %s: %v", name, err)
	}
	db := &DB{Name: name, Pool: pool, Server: s}
	t.Cleanup(func() {
		pool.Close()
		if !s.Running() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, s.ConnString("postgres"))
		if err != nil {
			t.Errorf("pgtest: dropping %s: %v", name, err)
			return
		}
		defer admin.Close(context.Background())
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: dropping %s: %v", name, err)
		}
	})
	return db
}

// Binary returns the path of a PostgreSQL program (psql, pg_dump,
// pg_repack, ...) installed next to the server's binaries, and fails the
// test with the `make deps` hint when it is not there: `make deps`
// installs every program the tests use, so a missing one is a broken
// environment, not a reason to skip.
func Binary(t testing.TB, prog string) string {
	t.Helper()
	bins, err := pgserver.FindBinaries()
	if err != nil {
		t.Fatal(hint(err))
	}
	p := bins.Path(prog)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("pgtest: %s is not installed in %s: run `make deps` (as root) first", prog, bins.Dir)
	}
	return p
}
