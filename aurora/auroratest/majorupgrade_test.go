package auroratest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/internal/pgserver"
)

// needMajor skips a test when the machine has no server binaries of the
// given major version, saying how to install them. CI installs them
// (.ci/run runs make deps-majors, and make test points the tests at them).
func needMajor(t *testing.T, major int) {
	t.Helper()
	if _, err := pgserver.BinariesFor(major); errors.Is(err, pgserver.ErrNoBinaries) {
		if os.Getenv("PGAURORA_REQUIRE_MAJORS") != "" { // CI: .ci/run
			t.Fatalf("PGAURORA_REQUIRE_MAJORS is set, and there are no PostgreSQL %d server binaries: %v", major, err)
		}
		t.Skipf("no PostgreSQL %d server binaries: run `make deps-majors` (internal/pgserver/fetch-majors.sh) and set the %s it prints: %v", major, pgserver.EnvBinDirs, err)
	} else if err != nil {
		t.Fatal(err)
	}
}

// upgradeHarness drives one cluster of an emulator through upgrades.
type upgradeHarness struct {
	t       *testing.T
	ctx     context.Context
	e       *auroratest.Emulator
	c       *rds.Client
	cluster string
}

func (h *upgradeHarness) sql(instance, db, query string, args ...any) string {
	h.t.Helper()
	conn := h.connect(instance, db, "", "")
	defer conn.Close(h.ctx)
	var out string
	if err := conn.QueryRow(h.ctx, query, args...).Scan(&out); err != nil {
		h.t.Fatalf("%s on %s: %v", query, instance, err)
	}
	return out
}

func (h *upgradeHarness) exec(instance, db string, queries ...string) {
	h.t.Helper()
	conn := h.connect(instance, db, "", "")
	defer conn.Close(h.ctx)
	for _, q := range queries {
		if _, err := conn.Exec(h.ctx, q); err != nil {
			h.t.Fatalf("%s on %s: %v", q, instance, err)
		}
	}
}

// connect connects to an instance as the master user, or as user with
// password.
func (h *upgradeHarness) connect(instance, db, user, password string) *pgx.Conn {
	h.t.Helper()
	cs, err := h.e.ConnString(instance, db)
	if err != nil {
		h.t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(cs)
	if err != nil {
		h.t.Fatal(err)
	}
	if user != "" {
		cfg.User, cfg.Password = user, password
	}
	conn, err := pgx.ConnectConfig(h.ctx, cfg)
	if err != nil {
		h.t.Fatalf("connecting to %s/%s: %v", instance, db, err)
	}
	return conn
}

// groups makes the cluster and instance parameter groups of a family,
// unless an earlier call made them.
func (h *upgradeHarness) groups(major string) (cluster, instance string) {
	h.t.Helper()
	cluster, instance = h.cluster+"-"+major, h.cluster+"-inst-"+major
	family := aws.String("aurora-postgresql" + major)
	var exists *types.DBParameterGroupAlreadyExistsFault
	if _, err := h.c.CreateDBClusterParameterGroup(h.ctx, &rds.CreateDBClusterParameterGroupInput{DBClusterParameterGroupName: aws.String(cluster),
		DBParameterGroupFamily: family, Description: aws.String("upgrade test")}); err != nil && !errors.As(err, &exists) {
		h.t.Fatal(err)
	}
	if _, err := h.c.CreateDBParameterGroup(h.ctx, &rds.CreateDBParameterGroupInput{DBParameterGroupName: aws.String(instance),
		DBParameterGroupFamily: family, Description: aws.String("upgrade test")}); err != nil && !errors.As(err, &exists) {
		h.t.Fatal(err)
	}
	return cluster, instance
}

// upgrade upgrades the cluster to version and waits until it is available
// again; it returns the messages of the cluster's events since.
func (h *upgradeHarness) upgrade(version string) []string {
	h.t.Helper()
	since := time.Now()
	cg, ig := h.groups(majorOfVersion(version))
	if _, err := h.c.ModifyDBCluster(h.ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String(h.cluster), EngineVersion: aws.String(version),
		AllowMajorVersionUpgrade: aws.Bool(true), ApplyImmediately: aws.Bool(true),
		DBClusterParameterGroupName: aws.String(cg), DBInstanceParameterGroupName: aws.String(ig)}); err != nil {
		h.t.Fatal(err)
	}
	h.waitAvailable()
	return h.events(since)
}

func (h *upgradeHarness) events(since time.Time) []string {
	h.t.Helper()
	out, err := h.c.DescribeEvents(h.ctx, &rds.DescribeEventsInput{SourceIdentifier: aws.String(h.cluster), SourceType: types.SourceTypeDbCluster,
		StartTime: aws.Time(since.Add(-time.Second))})
	if err != nil {
		h.t.Fatal(err)
	}
	var msgs []string
	for _, ev := range out.Events {
		msgs = append(msgs, aws.ToString(ev.Message))
	}
	return msgs
}

func (h *upgradeHarness) waitAvailable() {
	h.t.Helper()
	if err := rds.NewDBClusterAvailableWaiter(h.c, fastClusterWaiter).Wait(h.ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(h.cluster)}, 3*time.Minute); err != nil {
		h.t.Fatal(err)
	}
	out, err := h.c.DescribeDBInstances(h.ctx, &rds.DescribeDBInstancesInput{Filters: []types.Filter{{Name: aws.String("db-cluster-id"), Values: []string{h.cluster}}}})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, in := range out.DBInstances {
		if err := rds.NewDBInstanceAvailableWaiter(h.c, fastInstanceWaiter).Wait(h.ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: in.DBInstanceIdentifier}, 3*time.Minute); err != nil {
			h.t.Fatal(err)
		}
	}
}

// writer returns the writer's and the first reader's identifiers.
func (h *upgradeHarness) members() (writer, reader string) {
	h.t.Helper()
	out, err := h.c.DescribeDBClusters(h.ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(h.cluster)})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, m := range out.DBClusters[0].DBClusterMembers {
		if aws.ToBool(m.IsClusterWriter) {
			writer = aws.ToString(m.DBInstanceIdentifier)
		} else if reader == "" {
			reader = aws.ToString(m.DBInstanceIdentifier)
		}
	}
	return writer, reader
}

// waitRow waits until query returns want on instance.
func (h *upgradeHarness) waitRow(instance, db, query, want string) {
	h.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got := h.sql(instance, db, query)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s on %s: %q, want %q", query, instance, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func majorOfVersion(v string) string { m, _, _ := strings.Cut(v, "."); return m }

func hasMessage(msgs []string, parts ...string) bool {
	for _, m := range msgs {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(m, p)
		}
		if all {
			return true
		}
	}
	return false
}

// TestMajorVersionUpgradeRealServers upgrades a writer and a reader with
// data, roles, grants, a function and comments from PostgreSQL 15 to 16,
// then to 17, on the machine's server binaries of those versions: the
// servers really run the new version, everything survives, the reader
// replicates, and a reboot and a failover work on the new version.
func TestMajorVersionUpgradeRealServers(t *testing.T) {
	needMajor(t, 16)
	needMajor(t, 17)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	e := auroratest.NewT(t, auroratest.WithCluster("real", auroratest.ClusterConfig{Instances: 2, EngineVersion: "15.4"}),
		auroratest.WithCluster("direct", auroratest.ClusterConfig{Instances: 1, EngineVersion: "15.4"}),
		auroratest.WithTransitionDelay(20*time.Millisecond), auroratest.WithLogger(slog.New(slog.NewTextHandler(testWriter{t}, nil))))
	h := &upgradeHarness{t: t, ctx: ctx, e: e, c: rds.NewFromConfig(e.AWSConfig()), cluster: "real"}
	writer, reader := h.members()
	h.exec(writer, "postgres",
		"CREATE ROLE app LOGIN PASSWORD 'app-pass-1'",
		"CREATE ROLE reporting NOLOGIN",
		"GRANT reporting TO app",
		"CREATE DATABASE shop OWNER app",
		"COMMENT ON DATABASE shop IS 'the shop'")
	h.exec(writer, "shop",
		"CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)",
		"INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g",
		"COMMENT ON TABLE items IS 'every item'",
		"GRANT SELECT ON items TO reporting",
		"CREATE FUNCTION item_name(i int) RETURNS text LANGUAGE sql STABLE AS $$ SELECT name FROM items WHERE id = i $$",
		"COMMENT ON FUNCTION item_name(int) IS 'looks an item up'",
		"ANALYZE items")
	check := func(major, writer, reader string) {
		t.Helper()
		for _, id := range []string{writer, reader} {
			if v := h.sql(id, "postgres", "SHOW server_version"); !strings.HasPrefix(v, major+".") {
				t.Fatalf("%s runs PostgreSQL %s, want %s.x", id, v, major)
			}
			if got := h.sql(id, "shop", "SELECT count(*) || ' ' || item_name(7) || ' ' || obj_description('items'::regclass) || ' ' || "+
				"obj_description('item_name(int)'::regprocedure) || ' ' || shobj_description((SELECT oid FROM pg_database WHERE datname = 'shop'), 'pg_database') FROM items"); got != "500 item 7 every item looks an item up the shop" {
				t.Errorf("%s after the upgrade to %s: %q", id, major, got)
			}
		}
		// The role, its password, its membership and the grant.
		app := h.connect(writer, "shop", "app", "app-pass-1")
		var n int
		if err := app.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil || n < 500 {
			t.Errorf("app on %s: %d rows, %v", writer, n, err)
		}
		app.Close(ctx)
		// The reader replicates new writes.
		h.exec(writer, "shop", fmt.Sprintf("INSERT INTO items VALUES (%s000, 'new in %s')", major, major))
		h.waitRow(reader, "shop", fmt.Sprintf("SELECT count(*)::text FROM items WHERE id = %s000", major), "1")
		h.exec(writer, "shop", fmt.Sprintf("DELETE FROM items WHERE id = %s000", major))
	}

	msgs := h.upgrade("16.6")
	if !hasMessage(msgs, "major version has been upgraded from 15.4 to 16.6") || hasMessage(msgs, "keep running") {
		t.Fatalf("events of the upgrade to 16.6: %q", msgs)
	}
	check("16", writer, reader)
	// Statistics do not survive a dump and restore, as with pg_upgrade.
	if got := h.sql(writer, "shop", "SELECT count(*)::text FROM pg_stats WHERE tablename = 'items'"); got != "0" {
		t.Errorf("%s statistics rows after the upgrade, want none before ANALYZE", got)
	}

	// A reboot of the writer, then a failover, on the new version.
	if _, err := h.c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(writer)}); err != nil {
		t.Fatal(err)
	}
	h.waitAvailable()
	check("16", writer, reader)
	if _, err := h.c.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String("real"), TargetDBInstanceIdentifier: aws.String(reader)}); err != nil {
		t.Fatal(err)
	}
	h.waitAvailable()
	if w, r := h.members(); w != reader || r != writer {
		t.Fatalf("after the failover: writer %s, reader %s", w, r)
	}
	writer, reader = reader, writer
	check("16", writer, reader)

	// From 16 on, the dump needs a pg_dumpall of 16 or later, which the
	// relocatable builds lack: unless the machine has one, the upgrade to
	// 17 only changes the reported version, and says why.
	msgs = h.upgrade("17.5")
	if !hasMessage(msgs, "major version has been upgraded from 16.6 to 17.5") {
		t.Fatalf("events of the upgrade to 17.5: %q", msgs)
	}
	runs := "17"
	if dumpable(16) {
		if hasMessage(msgs, "keep running") {
			t.Fatalf("events of the upgrade to 17.5: %q", msgs)
		}
	} else {
		if !hasMessage(msgs, "keep running PostgreSQL 16", "pg_dumpall of PostgreSQL 16 or later") {
			t.Fatalf("events of the upgrade to 17.5: %q", msgs)
		}
		runs = "16"
	}
	check(runs, writer, reader)
	h.afterUpgrade(runs, writer)

	// 15 to 17 at once is a real upgrade again.
	h.cluster = "direct"
	direct, _ := h.members()
	h.exec(direct, "postgres", "CREATE TABLE t AS SELECT generate_series(1, 10) AS n")
	if msgs := h.upgrade("17.5"); !hasMessage(msgs, "major version has been upgraded from 15.4 to 17.5") || hasMessage(msgs, "keep running") {
		t.Fatalf("events of the upgrade from 15.4 to 17.5: %q", msgs)
	}
	if v := h.sql(direct, "postgres", "SELECT current_setting('server_version') || ' ' || sum(n) FROM t"); !strings.HasPrefix(v, "17.") || !strings.HasSuffix(v, " 55") {
		t.Fatalf("after the upgrade to 17.5: %q", v)
	}
}

// afterUpgrade checks what else must work on servers of a new major
// version: TLS with the emulator's CA, the server log through
// DescribeDBLogFiles and DownloadDBLogFilePortion, SaveState and
// ResetState, a new reader, a snapshot restored, a point-in-time restore,
// and IAM authentication turned on (which these builds cannot
// check: token logins are refused, the servers keep running).
func (h *upgradeHarness) afterUpgrade(major, writer string) {
	t, ctx := h.t, h.ctx
	t.Helper()
	in := instanceEndpoint(t, ctx, h.c, writer)
	cs, err := h.e.ConnString(writer, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(cs)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(h.e.CABundlePEM())
	cfg.Host = aws.ToString(in.Endpoint.Address)
	cfg.TLSConfig = &tls.Config{RootCAs: pool, ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	cfg.Fallbacks = nil
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("verify-full connection to %s: %v", writer, err)
	}
	var ssl bool
	if err := conn.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		t.Errorf("TLS on %s: %v, %v", writer, ssl, err)
	}
	conn.Close(ctx)

	files, err := h.c.DescribeDBLogFiles(ctx, &rds.DescribeDBLogFilesInput{DBInstanceIdentifier: aws.String(writer)})
	if err != nil || len(files.DescribeDBLogFiles) == 0 {
		t.Fatalf("DescribeDBLogFiles %s: %v, %v", writer, files, err)
	}
	var logs []byte
	for _, f := range files.DescribeDBLogFiles {
		data, _ := downloadPortions(t, ctx, h.c, writer, aws.ToString(f.LogFileName))
		logs = append(logs, data...)
	}
	if !strings.Contains(string(logs), "starting PostgreSQL "+major+".") {
		t.Errorf("the log of %s does not show PostgreSQL %s starting", writer, major)
	}

	if err := h.e.SaveState(ctx, h.cluster, "shop"); err != nil {
		t.Fatalf("SaveState: %v", err)
	}
	h.exec(writer, "shop", "DELETE FROM items WHERE id > 100")
	if err := h.e.ResetState(ctx, h.cluster); err != nil {
		t.Fatalf("ResetState: %v", err)
	}
	if got := h.sql(writer, "shop", "SELECT count(*)::text FROM items"); got != "500" {
		t.Errorf("after ResetState: %s rows, want 500", got)
	}

	// A new reader, a snapshot restored and a point-in-time restore: base
	// backups of a server whose binaries have no pg_basebackup.
	added := h.cluster + "-instance-3"
	createInstance(t, ctx, h.c, h.cluster, added)
	waitInstance(t, ctx, h.c, added)
	h.exec(writer, "shop", "INSERT INTO items VALUES (1000000, 'for the new reader')")
	h.waitRow(added, "shop", "SELECT count(*)::text FROM items", "501")
	if v := h.sql(added, "postgres", "SHOW server_version"); !strings.HasPrefix(v, major+".") {
		t.Errorf("the added reader runs %s, want %s.x", v, major)
	}
	if _, err := h.c.CreateDBClusterSnapshot(ctx, &rds.CreateDBClusterSnapshotInput{DBClusterIdentifier: aws.String(h.cluster),
		DBClusterSnapshotIdentifier: aws.String(h.cluster + "-snap")}); err != nil {
		t.Fatal(err)
	}
	if err := rds.NewDBClusterSnapshotAvailableWaiter(h.c, func(o *rds.DBClusterSnapshotAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, time.Second
	}).
		Wait(ctx, &rds.DescribeDBClusterSnapshotsInput{DBClusterSnapshotIdentifier: aws.String(h.cluster + "-snap")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.RestoreDBClusterFromSnapshot(ctx, &rds.RestoreDBClusterFromSnapshotInput{DBClusterIdentifier: aws.String(h.cluster + "-restored"),
		SnapshotIdentifier: aws.String(h.cluster + "-snap"), Engine: aws.String("aurora-postgresql")}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.RestoreDBClusterToPointInTime(ctx, &rds.RestoreDBClusterToPointInTimeInput{DBClusterIdentifier: aws.String(h.cluster + "-pitr"),
		SourceDBClusterIdentifier: aws.String(h.cluster), UseLatestRestorableTime: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{h.cluster + "-restored", h.cluster + "-pitr"} {
		waitCluster(t, ctx, h.c, id)
		createInstance(t, ctx, h.c, id, id+"-1")
		waitInstance(t, ctx, h.c, id+"-1")
		if v := h.sql(id+"-1", "shop", "SELECT current_setting('server_version') || ' ' || count(*) FROM items"); !strings.HasPrefix(v, major+".") || !strings.HasSuffix(v, " 501") {
			t.Errorf("restored cluster %s: %q, want PostgreSQL %s with 501 rows", id, v, major)
		}
	}

	if _, err := h.c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String(h.cluster),
		EnableIAMDatabaseAuthentication: aws.Bool(true), ApplyImmediately: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	h.waitAvailable()
	if _, err := h.c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(writer)}); err != nil {
		t.Fatal(err)
	}
	h.waitAvailable()
	if v := h.sql(writer, "postgres", "SHOW server_version"); !strings.HasPrefix(v, major+".") {
		t.Errorf("with IAM authentication on, %s runs %s", writer, v)
	}
	if _, err := h.c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String(h.cluster),
		EnableIAMDatabaseAuthentication: aws.Bool(false), ApplyImmediately: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	h.waitAvailable()
}

// TestMajorVersionUpgradeFailureKeepsOldVersion fails a real upgrade
// half-way (the restore into PostgreSQL 16 refuses a database setting
// that 16 no longer has: force_parallel_mode, debug_parallel_query now): the cluster is available on 15 again, on its
// old servers and data, the reader replicates; so it is after a failure
// injected once the old servers have stopped (FailNextUpgrade); then the
// upgrade goes through.
func TestMajorVersionUpgradeFailureKeepsOldVersion(t *testing.T) {
	needMajor(t, 16)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	e := auroratest.NewT(t, auroratest.WithCluster("halfway", auroratest.ClusterConfig{Instances: 2, EngineVersion: "15.4"}),
		auroratest.WithTransitionDelay(20*time.Millisecond))
	h := &upgradeHarness{t: t, ctx: ctx, e: e, c: rds.NewFromConfig(e.AWSConfig()), cluster: "halfway"}
	writer, reader := h.members()
	h.exec(writer, "postgres", "CREATE DATABASE shop", "ALTER DATABASE shop SET force_parallel_mode = off")
	h.exec(writer, "shop", "CREATE TABLE items AS SELECT generate_series(1, 50) AS id")
	rows := 50
	failedOn15 := func(msgs []string, why ...string) {
		t.Helper()
		if !hasMessage(msgs, append([]string{"upgrade from 15.4 to 16.6 failed; the cluster is available on 15.4"}, why...)...) {
			t.Fatalf("events of the failed upgrade: %q", msgs)
		}
		out, err := h.c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("halfway")})
		if err != nil {
			t.Fatal(err)
		}
		if v := aws.ToString(out.DBClusters[0].EngineVersion); v != "15.4" {
			t.Fatalf("the failed upgrade left version %s", v)
		}
		for _, id := range []string{writer, reader} {
			if v := h.sql(id, "shop", "SELECT current_setting('server_version') || ' ' || count(*) FROM items"); !strings.HasPrefix(v, "15.") || !strings.HasSuffix(v, fmt.Sprintf(" %d", rows)) {
				t.Fatalf("%s after the failed upgrade: %q", id, v)
			}
		}
		rows++
		h.exec(writer, "shop", fmt.Sprintf("INSERT INTO items VALUES (%d)", rows))
		h.waitRow(reader, "shop", "SELECT count(*)::text FROM items", fmt.Sprint(rows))
	}
	// Early: the restore fails while the old servers still run.
	failedOn15(h.upgrade("16.6"), `restoring the dump`, `ERROR:  unrecognized configuration parameter "force_parallel_mode"`)
	h.exec(writer, "postgres", "ALTER DATABASE shop RESET force_parallel_mode")
	// Late: the old servers had stopped, the new writer ran.
	if err := e.FailNextUpgrade("halfway"); err != nil {
		t.Fatal(err)
	}
	failedOn15(h.upgrade("16.6"), "FailNextUpgrade")

	msgs := h.upgrade("16.6")
	if !hasMessage(msgs, "major version has been upgraded from 15.4 to 16.6") {
		t.Fatalf("events of the upgrade: %q", msgs)
	}
	for _, id := range []string{writer, reader} {
		if v := h.sql(id, "shop", "SELECT current_setting('server_version') || ' ' || count(*) FROM items"); !strings.HasPrefix(v, "16.") || !strings.HasSuffix(v, fmt.Sprintf(" %d", rows)) {
			t.Fatalf("%s after the upgrade: %q", id, v)
		}
	}
}

// dumpable reports whether the machine has a pg_dumpall that dumps a
// server of the given major version.
func dumpable(major int) bool {
	for _, b := range []func() (pgserver.Binaries, error){pgserver.FindBinaries, func() (pgserver.Binaries, error) { return pgserver.BinariesFor(major) }} {
		if bin, err := b(); err == nil && bin.Major >= major {
			if _, err := os.Stat(bin.Path("pg_dumpall")); err == nil {
				return true
			}
		}
	}
	return false
}

// TestMajorVersionUpgradeKeepsServersWithPgAudit upgrades a cluster whose
// writer preloads and uses pgAudit, which the machine's PostgreSQL 16
// binaries lack: the upgrade only changes the reported version, and an
// event says why.
func TestMajorVersionUpgradeKeepsServersWithPgAudit(t *testing.T) {
	needMajor(t, 16)
	if b, err := pgserver.BinariesFor(16); err == nil && b.CheckLibrary("pgaudit") == nil {
		t.Skipf("this machine's PostgreSQL 16 (%s) has pgaudit, so the upgrade of a cluster using it is real: TestMajorVersionUpgradeRealServers covers that path", b.Dir)
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := auroratest.NewT(t, auroratest.WithCluster("audited", auroratest.ClusterConfig{Instances: 1, EngineVersion: "15.4", ClusterParameterGroup: "audited-15"}),
		auroratest.WithTransitionDelay(20*time.Millisecond))
	h := &upgradeHarness{t: t, ctx: ctx, e: e, c: rds.NewFromConfig(e.AWSConfig()), cluster: "audited"}
	if _, err := h.c.ModifyDBClusterParameterGroup(ctx, &rds.ModifyDBClusterParameterGroupInput{DBClusterParameterGroupName: aws.String("audited-15"),
		Parameters: []types.Parameter{{ParameterName: aws.String("shared_preload_libraries"), ParameterValue: aws.String("pgaudit"), ApplyMethod: types.ApplyMethodPendingReboot}}}); err != nil {
		t.Fatal(err)
	}
	writer, _ := h.members()
	if _, err := h.c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(writer)}); err != nil {
		t.Fatal(err)
	}
	h.waitAvailable()
	h.exec(writer, "postgres", "CREATE EXTENSION pgaudit")
	msgs := h.upgrade("16.6")
	if !hasMessage(msgs, "major version has been upgraded from 15.4 to 16.6") || !hasMessage(msgs, "keep running PostgreSQL 15", "pgaudit") {
		t.Fatalf("events of the upgrade: %q", msgs)
	}
	if v := h.sql(writer, "postgres", "SHOW server_version"); !strings.HasPrefix(v, "15.") {
		t.Fatalf("the writer runs %s, want the old 15.x", v)
	}
	if got := h.sql(writer, "postgres", "SELECT extversion FROM pg_extension WHERE extname = 'pgaudit'"); got == "" {
		t.Fatal("pgaudit is gone")
	}
}

// testWriter sends the emulator's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
