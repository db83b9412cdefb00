package pgserver

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// otherMajor returns the binaries of the given major version, or skips the
// test saying how to install them (CI installs them: .ci/run).
func otherMajor(t *testing.T, major int) Binaries {
	t.Helper()
	b, err := BinariesFor(major)
	if errors.Is(err, ErrNoBinaries) {
		if os.Getenv("PGAURORA_REQUIRE_MAJORS") != "" { // CI: .ci/run
			t.Fatalf("PGAURORA_REQUIRE_MAJORS is set, and there are no PostgreSQL %d server binaries: %v", major, err)
		}
		t.Skipf("no PostgreSQL %d binaries: run internal/pgserver/fetch-majors.sh (or make deps-majors) and set the %s it prints: %v", major, EnvBinDirs, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestListedBinDirs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[int]string
		bad  bool
	}{
		{in: "", want: map[int]string{}},
		{in: "16=/a/bin, 17=/b/bin,", want: map[int]string{16: "/a/bin", 17: "/b/bin"}},
		{in: "16", bad: true},
		{in: "x=/a", bad: true},
		{in: "16=", bad: true},
		{in: "0=/a", bad: true},
	} {
		got, err := listedBinDirs(tc.in)
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), EnvBinDirs) {
				t.Errorf("listedBinDirs(%q) = %v, %v; want an error naming %s", tc.in, got, err, EnvBinDirs)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("listedBinDirs(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("listedBinDirs(%q)[%d] = %q, want %q", tc.in, k, got[k], v)
			}
		}
	}
}

func TestBinariesForDefault(t *testing.T) {
	def, err := FindBinaries()
	if err != nil {
		t.Fatal(err)
	}
	b, err := BinariesFor(def.Major)
	if err != nil || b != def {
		t.Fatalf("BinariesFor(%d) = %v, %v; want %v", def.Major, b, err, def)
	}
	if _, err := BinariesFor(3); !errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), "fetch-majors.sh") {
		t.Fatalf("BinariesFor(3) = %v; want ErrNoBinaries naming fetch-majors.sh", err)
	}
	if err := def.CheckExtension("plpgsql"); err != nil {
		t.Errorf("CheckExtension(plpgsql): %v", err)
	}
	if err := def.CheckExtension("no_such_extension"); err == nil {
		t.Error("CheckExtension(no_such_extension) = nil")
	}
	if err := def.CheckLibrary("pgaudit"); err != nil {
		t.Errorf("CheckLibrary(pgaudit): %v", err)
	}
}

// TestDumpIntoNewerMajor upgrades a PostgreSQL 15 server's data into a 16
// server by dump and restore, then makes a replica and a backup of the 16
// server, whose installation has no pg_basebackup.
func TestDumpIntoNewerMajor(t *testing.T) {
	t.Parallel()
	b16 := otherMajor(t, 16)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	old := startT(t, Config{Superuser: "master", Password: "s3cret pass"})
	oc := connect(t, old.ConnString("postgres"))
	for _, q := range []string{
		"CREATE ROLE app LOGIN PASSWORD 'app-pass'",
		"CREATE DATABASE shop OWNER app",
	} {
		if _, err := oc.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	sc := connect(t, old.ConnString("shop"))
	for _, q := range []string{
		"CREATE TABLE items (id int PRIMARY KEY, name text)",
		"INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g",
		"COMMENT ON TABLE items IS 'the catalog'",
		"GRANT SELECT ON items TO app",
	} {
		if _, err := sc.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// vacuum_defer_cleanup_age is gone in 16: a server must start anyway.
	cfg := Config{Superuser: "master", Password: "s3cret pass", Binaries: b16, WALSegmentSize: 1,
		Settings: map[string]string{"vacuum_defer_cleanup_age": "0", "wal_keep_size": "64MB"}}
	n := startT(t, cfg)
	if err := old.DumpInto(ctx, n); err != nil {
		t.Fatalf("DumpInto: %v", err)
	}
	nc := connect(t, n.ConnString("shop"))
	if v := queryString(t, nc, "SELECT current_setting('server_version_num')"); !strings.HasPrefix(v, "16") {
		t.Fatalf("server_version_num = %s, want 16xxxx", v)
	}
	if got := queryString(t, nc, "SELECT count(*)::text || ' ' || obj_description('items'::regclass) || ' ' || has_table_privilege('app', 'items', 'SELECT')::text FROM items"); got != "100 the catalog true" {
		t.Fatalf("after the restore: %q", got)
	}
	// The role and its password came along.
	connect(t, "postgres://app:app-pass@"+net.JoinHostPort(n.Host(), strconv.Itoa(n.Port()))+"/shop?sslmode=disable")

	replica, err := n.StartReplica(ctx, Config{Dir: filepath.Join(t.TempDir(), "r")})
	if err != nil {
		t.Fatalf("StartReplica of the 16 server: %v", err)
	}
	t.Cleanup(func() { replica.Close() })
	if replica.Binaries() != b16 {
		t.Fatalf("the replica runs %v, want %v", replica.Binaries(), b16)
	}
	if _, err := nc.Exec(ctx, "INSERT INTO items VALUES (101, 'new')"); err != nil {
		t.Fatal(err)
	}
	lsn, err := n.QueryOne(ctx, "SELECT pg_current_wal_insert_lsn()::text")
	if err != nil {
		t.Fatal(err)
	}
	rc := connect(t, replica.ConnString("shop"))
	deadline := time.Now().Add(time.Minute)
	for queryString(t, rc, "SELECT (pg_last_wal_replay_lsn() >= '"+lsn+"'::pg_lsn)::text") != "true" {
		if time.Now().After(deadline) {
			t.Fatal("the replica did not replay the insert")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := queryString(t, rc, "SELECT count(*)::text FROM items"); got != "101" {
		t.Fatalf("replica rows = %s, want 101", got)
	}

	dir := filepath.Join(t.TempDir(), "backup")
	if err := n.Backup(ctx, dir); err != nil {
		t.Fatalf("Backup of the 16 server: %v", err)
	}
	// Open picks the binaries of the data's major version by itself.
	restored, err := Open(ctx, Config{Dir: dir, Superuser: "master", Password: "s3cret pass"}, nil)
	if err != nil {
		t.Fatalf("Open of the backup: %v", err)
	}
	t.Cleanup(func() { restored.Close() })
	if restored.Binaries() != b16 {
		t.Fatalf("the restored server runs %v, want %v", restored.Binaries(), b16)
	}
	if got, err := restored.QueryOne(ctx, "SELECT count(*)::text FROM pg_database WHERE datname = 'shop'"); err != nil || got != "1" {
		t.Fatalf("restored: %q, %v", got, err)
	}
}
