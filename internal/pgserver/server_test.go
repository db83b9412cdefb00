package pgserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func startT(t *testing.T, cfg Config) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func connect(t *testing.T, connString string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func queryString(t *testing.T, c *pgx.Conn, sql string) string {
	t.Helper()
	var s string
	if err := c.QueryRow(context.Background(), sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func TestTwoServersRestartKeepsData(t *testing.T) {
	t.Parallel()
	a := startT(t, Config{PreloadLibraries: []string{"pgaudit"}, Settings: map[string]string{"application_name": "server-a"}})
	b := startT(t, Config{Password: "s3cr'et pass", Superuser: "master"})
	if a.Port() == b.Port() {
		t.Fatalf("both servers on port %d", a.Port())
	}
	ctx := context.Background()

	ca := connect(t, a.ConnString("postgres"))
	if got := queryString(t, ca, "SHOW shared_preload_libraries"); got != "pgaudit" {
		t.Errorf("shared_preload_libraries = %q, want pgaudit", got)
	}
	if _, err := ca.Exec(ctx, "CREATE TABLE kept(v text); INSERT INTO kept VALUES ('survives')"); err != nil {
		t.Fatal(err)
	}
	cb := connect(t, b.ConnString("postgres"))
	if got := queryString(t, cb, "SELECT current_user"); got != "master" {
		t.Errorf("current_user = %q, want master", got)
	}
	if strings.Contains(b.String(), "s3cr") {
		t.Errorf("String() leaks the password: %s", b)
	}

	// Password authentication is enforced on TCP.
	bad := strings.Replace(b.ConnString("postgres"), "s3cr%27et%20pass", "wrong", 1)
	if c, err := pgx.Connect(ctx, bad); err == nil {
		c.Close(ctx)
		t.Error("connecting with a wrong password succeeded")
	}

	port := a.Port()
	if err := a.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if a.Port() != port {
		t.Errorf("port changed across restart: %d -> %d", port, a.Port())
	}
	ca2 := connect(t, a.ConnString("postgres"))
	if got := queryString(t, ca2, "SELECT v FROM kept"); got != "survives" {
		t.Errorf("after restart got %q", got)
	}
}

func TestReplicaFollowsAndPromotes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	primary := startT(t, Config{Password: "pw", Settings: map[string]string{"wal_level": "logical"}})
	replica, err := primary.StartReplica(ctx, Config{})
	if err != nil {
		t.Fatalf("StartReplica: %v", err)
	}
	t.Cleanup(func() { replica.Close() })
	other, err := primary.StartReplica(ctx, Config{})
	if err != nil {
		t.Fatalf("StartReplica: %v", err)
	}
	t.Cleanup(func() { other.Close() })

	cp := connect(t, primary.ConnString("postgres"))
	if _, err := cp.Exec(ctx, "CREATE TABLE t(v int); INSERT INTO t SELECT generate_series(1,100)"); err != nil {
		t.Fatal(err)
	}
	cr := connect(t, replica.ConnString("postgres"))
	if got := queryString(t, cr, "SELECT pg_is_in_recovery()::text"); got != "true" {
		t.Fatalf("replica pg_is_in_recovery = %s", got)
	}
	if got := queryString(t, cr, "SHOW wal_level"); got != "logical" {
		t.Errorf("replica wal_level = %s, want the primary's setting", got)
	}
	waitFor(t, func() bool {
		var n int
		err := cr.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n)
		return err == nil && n == 100
	})
	if _, err := cr.Exec(ctx, "INSERT INTO t VALUES (1)"); err == nil {
		t.Error("write on a replica succeeded")
	}

	primary.Kill()
	if err := replica.Promote(ctx); err != nil {
		t.Fatalf("Promote: %v", err)
	}
	if _, err := cr.Exec(ctx, "INSERT INTO t VALUES (101)"); err != nil {
		t.Fatalf("write after promote: %v", err)
	}
	if got := queryString(t, cr, "SELECT count(*)::text FROM t"); got != "101" {
		t.Errorf("rows after promote = %s", got)
	}
	// The other replica follows the promoted one onto its new timeline:
	// Follow returns once it streams from there, and it sees the write.
	if err := other.Follow(ctx, replica); err != nil {
		t.Fatalf("Follow: %v", err)
	}
	if got, err := other.QueryOne(ctx, "SELECT received_tli::text FROM pg_stat_wal_receiver WHERE status = 'streaming'"); err != nil || got != "2" {
		t.Errorf("after Follow the WAL receiver streams timeline %q (%v), want 2", got, err)
	}
	co := connect(t, other.ConnString("postgres"))
	waitFor(t, func() bool {
		var n int
		err := co.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n)
		return err == nil && n == 101
	})
	// A promoted server stays a primary across a restart.
	if err := replica.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	cr2 := connect(t, replica.ConnString("postgres"))
	if got := queryString(t, cr2, "SELECT pg_is_in_recovery()::text"); got != "false" {
		t.Errorf("after restart pg_is_in_recovery = %s", got)
	}
}

// TestFormerPrimaryFollows is a planned switchover: the primary stops
// cleanly, its replica (having replayed everything) is promoted, and the
// former primary follows it on its own data directory, no base backup.
func TestFormerPrimaryFollows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	primary := startT(t, Config{Password: "pw"})
	replica, err := primary.StartReplica(ctx, Config{})
	if err != nil {
		t.Fatalf("StartReplica: %v", err)
	}
	t.Cleanup(func() { replica.Close() })
	cp := connect(t, primary.ConnString("postgres"))
	if _, err := cp.Exec(ctx, "CREATE TABLE t(v int); SET synchronous_commit = off; INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	cp.Close(ctx)
	if err := primary.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := replica.Promote(ctx); err != nil {
		t.Fatalf("Promote: %v", err)
	}
	if got, err := replica.QueryOne(ctx, "SELECT count(*)::text FROM t"); err != nil || got != "1" {
		t.Fatalf("the promoted replica has %s rows (%v), want the 1 committed before the stop", got, err)
	}
	if err := primary.Follow(ctx, replica); err != nil {
		t.Fatalf("Follow on the stopped former primary: %v", err)
	}
	if got, err := primary.QueryOne(ctx, "SELECT pg_is_in_recovery()::text"); err != nil || got != "true" {
		t.Fatalf("the former primary is in recovery: %s (%v)", got, err)
	}
	if _, err := replica.QueryOne(ctx, "INSERT INTO t VALUES (2) RETURNING v"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		got, err := primary.QueryOne(ctx, "SELECT count(*)::text FROM t")
		return err == nil && got == "2"
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	caPEM, certPEM, keyPEM := testCerts(t)
	s := startT(t, Config{TLS: &TLS{CertPEM: certPEM, KeyPEM: keyPEM}})
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(strings.Replace(s.ConnString("postgres"), "sslmode=disable", "sslmode=require", 1))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cfg.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "localhost"}
	cfg.Fallbacks = nil
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("verify-full connect: %v", err)
	}
	defer c.Close(ctx)
	if got := queryString(t, c, "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()"); got != "true" {
		t.Errorf("pg_stat_ssl.ssl = %s", got)
	}
}

// testCerts makes a CA and a server certificate for localhost/127.0.0.1.
func testCerts(t *testing.T) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	caCert, _ := x509.ParseCertificate(caDER)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

func TestStartFailureCarriesServerLog(t *testing.T) {
	t.Parallel()
	_, err := Start(context.Background(), Config{PreloadLibraries: []string{"no_such_library_xyz"}})
	if err == nil {
		t.Fatal("Start with a missing preload library succeeded")
	}
	if !strings.Contains(err.Error(), `could not access file "no_such_library_xyz"`) {
		t.Errorf("error lacks the server's log text: %v", err)
	}
}

func TestStartHonoursContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if s, err := Start(ctx, Config{}); err == nil {
		s.Close()
		t.Fatal("Start with a cancelled context succeeded")
	}
}

func TestParseMajor(t *testing.T) {
	for in, want := range map[string]int{
		"postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n": 15,
		"postgres (PostgreSQL) 17beta1":                          0,
		"postgres (PostgreSQL) 16.1":                             16,
	} {
		got, err := parseMajor(in)
		if want == 0 {
			if err == nil {
				t.Errorf("parseMajor(%q) = %d, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("parseMajor(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

// TestCallerEnvironmentDoesNotLeak checks that the caller's libpq settings
// do not reach the programs a server runs: with PGSSLMODE=verify-full
// inherited, pg_basebackup would refuse to connect to a server without TLS.
func TestCallerEnvironmentDoesNotLeak(t *testing.T) {
	t.Setenv("PGSSLMODE", "verify-full")
	t.Setenv("PGSSLCERT", "/nonexistent/postgresql.crt")
	primary := startT(t, Config{})
	replica, err := primary.StartReplica(context.Background(), Config{})
	if err != nil {
		t.Fatalf("StartReplica with the caller's PGSSLMODE set: %v", err)
	}
	replica.Close()
}

// TestSetPasswordKeepsReplication changes the superuser's password on the
// primary and checks that, after SetPassword, the replica still streams
// across a restart of the primary (its WAL receiver reconnects with the
// new password), and that new replicas and ConnString use it.
func TestSetPasswordKeepsReplication(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	primary := startT(t, Config{Password: "old-pw"})
	replica, err := primary.StartReplica(ctx, Config{})
	if err != nil {
		t.Fatalf("StartReplica: %v", err)
	}
	t.Cleanup(func() { replica.Close() })
	const next = `n3w p'w\`
	if err := primary.SetPassword(""); err == nil {
		t.Error("SetPassword accepted an empty password")
	}

	cp := connect(t, primary.ConnString("postgres"))
	cr := connect(t, replica.ConnString("postgres"))
	var lsn string
	if _, err := cp.Exec(ctx, "ALTER ROLE postgres PASSWORD '"+strings.ReplaceAll(next, "'", "''")+"'"); err != nil {
		t.Fatal(err)
	}
	if err := cp.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		var ok bool
		return cr.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", lsn).Scan(&ok) == nil && ok
	})
	for _, s := range []*Server{primary, replica} {
		if err := s.SetPassword(next); err != nil {
			t.Fatal(err)
		}
	}
	if err := replica.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	// The WAL receiver must reconnect to a restarted primary.
	if err := primary.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	cp2 := connect(t, primary.ConnString("postgres"))
	if _, err := cp2.Exec(ctx, "CREATE TABLE after_rotation()"); err != nil {
		t.Fatal(err)
	}
	cr2 := connect(t, replica.ConnString("postgres"))
	waitFor(t, func() bool {
		var n int
		return cr2.QueryRow(ctx, "SELECT count(*) FROM pg_class WHERE relname = 'after_rotation'").Scan(&n) == nil && n == 1
	})
	// A new replica authenticates its base backup and replication with
	// the new password.
	r2, err := primary.StartReplica(ctx, Config{})
	if err != nil {
		t.Fatalf("StartReplica after SetPassword: %v", err)
	}
	t.Cleanup(func() { r2.Close() })
	if got := queryString(t, connect(t, r2.ConnString("postgres")), "SELECT pg_is_in_recovery()::text"); got != "true" {
		t.Errorf("new replica pg_is_in_recovery = %s", got)
	}
	// primary_conninfo names a password file: the password reaches
	// neither the configuration nor the log (which records changed
	// settings at every reload).
	for _, s := range []*Server{replica, r2} {
		logText, err := s.ReadLog()
		if err != nil {
			t.Fatal(err)
		}
		conf, err := os.ReadFile(filepath.Join(s.DataDir(), confFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, pw := range []string{"old-pw", next} {
			if strings.Contains(string(logText), pw) || strings.Contains(string(conf), pw) {
				t.Errorf("%s: the log or %s holds a password", s, confFile)
			}
		}
	}
}

// TestBackupOpenAndPointInTime takes a base backup, archives WAL, and
// opens copies of the backup: as it was, and replayed to a time between
// two commits, which holds exactly the first.
func TestBackupOpenAndPointInTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	archive := filepath.Join(t.TempDir(), "archive")
	if err := MakeServerDir(archive); err != nil {
		t.Fatal(err)
	}
	primary := startT(t, Config{Password: "pw", Settings: map[string]string{
		"archive_mode": "on", "archive_command": "test ! -f " + archive + "/%f && cp %p " + archive + "/%f"}})
	exec := func(sql string) {
		t.Helper()
		c := connect(t, primary.ConnString("postgres"))
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
		c.Close(ctx)
	}
	exec("CREATE TABLE t(v int)")
	backup := t.TempDir()
	if err := primary.Backup(ctx, backup); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	exec("INSERT INTO t VALUES (1)")
	time.Sleep(50 * time.Millisecond)
	between := time.Now()
	time.Sleep(50 * time.Millisecond)
	exec("INSERT INTO t VALUES (2)")
	seg, err := primary.QueryOne(ctx, "SELECT pg_walfile_name(pg_switch_wal())")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, err := os.Stat(filepath.Join(archive, seg)); return err == nil })

	open := func(rec *Recovery) *Server {
		t.Helper()
		dir := t.TempDir()
		if out, err := runCopy(backup+"/data", dir+"/data"); err != nil {
			t.Fatalf("copying the backup: %v\n%s", err, out)
		}
		s, err := Open(ctx, Config{Dir: dir, Password: "pw"}, rec)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	if got, err := open(nil).QueryOne(ctx, "SELECT count(*)::text FROM t"); err != nil || got != "0" {
		t.Errorf("the backup as it was has %s rows (%v), want 0", got, err)
	}
	pitr := open(&Recovery{RestoreCommand: "cp " + archive + "/%f %p", TargetTime: between})
	if got, err := pitr.QueryOne(ctx, "SELECT string_agg(v::text, ',') FROM t"); err != nil || got != "1" {
		t.Errorf("restored to a time between the inserts: rows %q (%v), want exactly 1", got, err)
	}
	if _, err := pitr.QueryOne(ctx, "INSERT INTO t VALUES (3) RETURNING v"); err != nil {
		t.Errorf("the restored server does not accept writes: %v", err)
	}
	if got := pitr.Settings()["recovery_target_time"]; got != "" {
		t.Errorf("recovery_target_time stays set: %q", got)
	}
}

func runCopy(from, to string) ([]byte, error) {
	return newCommand(context.Background(), false, "cp", "-a", from, to).CombinedOutput()
}

// TestHostHBAAndReplicaFromCopy starts a server on a loopback address of
// its own whose pg_hba.conf refuses plain connections, checks that a plain
// session is refused and ConnConfig's TLS one is not, that SetHBA takes
// effect with Reload, and that a replica opened on a copy of the server's
// cleanly stopped data streams what the server writes after it restarts.
func TestHostHBAAndReplicaFromCopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, certPEM, keyPEM := testCerts(t)
	s := startT(t, Config{Host: "127.0.0.9", Password: "pw-for-hba", TLS: &TLS{CertPEM: certPEM, KeyPEM: keyPEM},
		HBA: []string{"hostnossl all all all reject"}, WALSegmentSize: 1})
	if s.Host() != "127.0.0.9" || !strings.Contains(s.ConnString("db"), "@127.0.0.9:") {
		t.Fatalf("Host %s, ConnString on %s", s.Host(), s)
	}
	plainErr := func() error {
		c, err := pgx.Connect(ctx, s.ConnString("postgres"))
		if err == nil {
			c.Close(ctx)
		}
		return err
	}
	if err := plainErr(); err == nil || !strings.Contains(err.Error(), "28000") || !strings.Contains(err.Error(), "no encryption") {
		t.Fatalf("a plain session against hostnossl reject: %v", err)
	}
	c, err := s.Connect(ctx, "postgres")
	if err != nil {
		t.Fatalf("ConnConfig's session: %v", err)
	}
	if got := queryString(t, c, "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()"); got != "true" {
		t.Errorf("ConnConfig's session: ssl = %s", got)
	}
	if got := queryString(t, c, "SHOW wal_segment_size"); got != "1MB" {
		t.Errorf("wal_segment_size = %s", got)
	}
	c.Close(ctx)
	if err := s.SetHBA(nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return plainErr() == nil })

	// A copy of the stopped server, opened as its replica.
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := CopyTree(ctx, s.DataDir(), filepath.Join(dir, "data")); err != nil {
		t.Fatal(err)
	}
	if err := s.StartAgain(ctx); err != nil {
		t.Fatal(err)
	}
	c = connect(t, s.ConnString("postgres"))
	if _, err := c.Exec(ctx, "CREATE TABLE after_copy AS SELECT 42 AS v"); err != nil {
		t.Fatal(err)
	}
	r, err := s.OpenReplica(ctx, Config{Dir: dir, Host: "127.0.0.10", Settings: map[string]string{"cluster_name": "copy-replica"}})
	if err != nil {
		t.Fatalf("OpenReplica: %v", err)
	}
	defer r.Close()
	rc := connect(t, r.ConnString("postgres"))
	waitFor(t, func() bool {
		var v int
		return rc.QueryRow(ctx, "SELECT v FROM after_copy").Scan(&v) == nil && v == 42
	})
	if got := queryString(t, c, "SELECT application_name FROM pg_stat_replication"); got != "copy-replica" {
		t.Errorf("the replica is known to its primary as %q, want its cluster_name", got)
	}
}

// TestKillLeavesNoBackend kills a server while sessions commit in a
// loop: as in a crash, no backend may outlive it, so no commit is
// acknowledged once Kill has returned. (A postmaster's backends lead
// process groups of their own: killing its group alone left them serving,
// and committing, after it died.)
func TestKillLeavesNoBackend(t *testing.T) {
	s := startT(t, Config{Dir: t.TempDir()})
	ctx := context.Background()
	setup := connect(t, s.ConnString("postgres"))
	if _, err := setup.Exec(ctx, "CREATE TABLE k(n int)"); err != nil {
		t.Fatal(err)
	}
	const sessions = 4
	var killed atomic.Bool
	var late atomic.Int64
	var wg sync.WaitGroup
	var pids []int
	for range sessions {
		c := connect(t, s.ConnString("postgres"))
		var pid int
		if err := c.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
		wg.Go(func() {
			for {
				if _, err := c.Exec(ctx, "INSERT INTO k VALUES (1)"); err != nil {
					return
				}
				if killed.Load() {
					late.Add(1)
				}
			}
		})
	}
	time.Sleep(100 * time.Millisecond) // let the sessions commit for a while
	s.Kill()
	killed.Store(true)
	wg.Wait()
	if n := late.Load(); n > 0 {
		t.Errorf("%d commits were acknowledged after Kill returned", n)
	}
	for _, pid := range pids {
		if !gone(pid) {
			state, _, _ := procStat(pid)
			t.Errorf("backend %d (state %c) outlived the killed server", pid, state)
		}
	}
}
