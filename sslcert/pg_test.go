package sslcert

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/internal/pgserver"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

// One PostgreSQL server for the package; tests that need TLS turn it on
// with useServerCert. Tests that change the certificate do not run in
// parallel.
func TestMain(m *testing.M) { pgtest.Main(m) }

// useServerCert makes the shared server present l (reload, as RDS does on
// a CA change) and waits until new connections see it.
func useServerCert(t *testing.T, l *leaf) *pgserver.Server {
	t.Helper()
	srv := pgtest.Server(t)
	if err := srv.SetTLS(&pgserver.TLS{CertPEM: l.certPEM, KeyPEM: l.keyPEM}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	addr := serverAddr(srv)
	pgtest.WaitFor(t, "the server at "+addr+" to present the new certificate after reload", 20*time.Second, func() (bool, string) {
		res, err := CheckServer(ctx, addr, nil)
		if err != nil {
			return false, err.Error()
		}
		return res.Certificates[0].Equal(l.cert), "presents " + res.Certificates[0].Subject.String()
	})
	return srv
}

func serverAddr(srv *pgserver.Server) string {
	return net.JoinHostPort(srv.Host(), strconv.Itoa(srv.Port()))
}

// connectVerifyFull connects with sslmode=verify-full and sslrootcert
// pointing at the store written to a file, as libpq users do.
func connectVerifyFull(ctx context.Context, t *testing.T, srv *pgserver.Server, store *TrustStore, app string) (*pgx.Conn, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "root.pem")
	if err := store.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	cs := fmt.Sprintf("host=%s port=%d user=%s dbname=postgres sslmode=verify-full sslrootcert=%s application_name=%s",
		srv.Host(), srv.Port(), srv.Superuser(), path, app)
	return pgx.Connect(ctx, cs)
}

func TestCheckServerPostgres(t *testing.T) {
	cas := testRDSCAs(t)
	names := []string{"localhost", "127.0.0.1"}
	oldLeaf := cas[CA2019].issue(t, names, time.Time{})
	newLeaf := cas[CAECC384G1].issue(t, names, time.Time{})
	oldOnly := storeOf(cas[CA2019])
	merged := oldOnly.Merge(storeOf(cas[CARSA2048G1], cas[CAECC384G1]))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	srv := useServerCert(t, oldLeaf)
	addr := serverAddr(srv)

	// Before the rotation: both stores verify, the issuer is the old CA.
	for name, store := range map[string]*TrustStore{"old only": oldOnly, "merged": merged} {
		res, err := CheckServer(ctx, addr, &CheckOptions{TrustStore: store})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !res.Verified || res.CAIdentifier != CA2019 || !res.NotAfter.Equal(oldLeaf.cert.NotAfter) {
			t.Errorf("%s before rotation: verified %v (%v), CA %q, NotAfter %v", name, res.Verified, res.VerifyError, res.CAIdentifier, res.NotAfter)
		}
		if !strings.HasPrefix(res.TLSVersion, "TLS 1.") {
			t.Errorf("TLSVersion = %q", res.TLSVersion)
		}
	}
	res, err := CheckServer(ctx, net.JoinHostPort("localhost", strconv.Itoa(srv.Port())), &CheckOptions{TrustStore: merged})
	if err != nil || !res.Verified || res.ServerName != "localhost" {
		t.Errorf("check by host name: %v, %+v", err, res)
	}
	res, err = CheckServer(ctx, addr, &CheckOptions{TrustStore: merged, ServerName: "db.example.com"})
	if err != nil || res.Verified || res.VerifyError == nil || !strings.Contains(res.VerifyError.Error(), "db.example.com") {
		t.Errorf("check with a name the certificate lacks: %v, verified %v, %v", err, res.Verified, res.VerifyError)
	}

	// A verify-full client with the merged bundle keeps working through
	// the rotation.
	conn, err := connectVerifyFull(ctx, t, srv, merged, "merged-before")
	if err != nil {
		t.Fatalf("verify-full with the merged bundle before rotation: %v", err)
	}
	defer conn.Close(ctx)

	// Rotation: the server now presents a certificate from the new CA.
	useServerCert(t, newLeaf)
	res, err = CheckServer(ctx, addr, &CheckOptions{TrustStore: merged})
	if err != nil || !res.Verified || res.CAIdentifier != CAECC384G1 || res.Chain[0].KeyAlgorithm != "ECDSA" {
		t.Fatalf("after rotation with merged store: %v, %+v", err, res)
	}
	res, err = CheckServer(ctx, addr, &CheckOptions{TrustStore: oldOnly})
	if err != nil || res.Verified || res.CAIdentifier != CAECC384G1 {
		t.Errorf("after rotation with the old CA only: err %v, verified %v, CA %q; want unverified", err, res.Verified, res.CAIdentifier)
	}

	if err := conn.Ping(ctx); err != nil {
		t.Errorf("existing verify-full connection after rotation: %v", err)
	}
	c2, err := connectVerifyFull(ctx, t, srv, merged, "merged-after")
	if err != nil {
		t.Errorf("new verify-full connection with the merged bundle after rotation: %v", err)
	} else {
		c2.Close(ctx)
	}
	if c3, err := connectVerifyFull(ctx, t, srv, oldOnly, "old-after"); err == nil {
		c3.Close(ctx)
		t.Error("verify-full with the old CA only connected after rotation")
	}

	// ConfigurePGX gives the same verify-full behaviour from a parsed
	// configuration.
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=postgres sslmode=disable", srv.Port(), srv.Superuser()))
	if err != nil {
		t.Fatal(err)
	}
	merged.ConfigurePGX(&cfg.Config)
	c4, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("ConfigurePGX connection: %v", err)
	}
	var ssl bool
	if err := c4.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		t.Errorf("ConfigurePGX connection uses TLS: %v, %v", ssl, err)
	}
	c4.Close(ctx)
	oldOnly.ConfigurePGX(&cfg.Config)
	if c5, err := pgx.ConnectConfig(ctx, cfg); err == nil {
		c5.Close(ctx)
		t.Error("ConfigurePGX with the old CA only connected after rotation")
	}

	// The checks never log in: the server logs nothing about them (no
	// connection lines, no "incomplete startup packet"), even for a check
	// whose chain does not verify.
	logBefore := quietLog(t, srv) // the refused clients above are logged asynchronously
	for _, store := range []*TrustStore{merged, oldOnly, nil} {
		if _, err := CheckServer(ctx, addr, &CheckOptions{TrustStore: store}); err != nil {
			t.Fatal(err)
		}
	}
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil { // the log has caught up
		t.Fatal(err)
	}
	logAfter := quietLog(t, srv)
	if extra := strings.TrimSpace(string(logAfter[len(logBefore):])); extra != "" {
		t.Errorf("server logged during the checks:\n%s", extra)
	}
}

// quietLog returns the server log once it has stopped growing for a
// moment.
func quietLog(t *testing.T, srv *pgserver.Server) []byte {
	t.Helper()
	prev, _ := srv.ReadLog()
	for range 50 {
		time.Sleep(200 * time.Millisecond)
		cur, err := srv.ReadLog()
		if err != nil {
			t.Fatal(err)
		}
		if len(cur) == len(prev) {
			return cur
		}
		prev = cur
	}
	t.Fatal("the server log keeps growing")
	return nil
}

func TestCheckServerPostgresNoTLS(t *testing.T) {
	srv := pgtest.StartServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := CheckServer(ctx, serverAddr(srv), nil)
	if err == nil || !strings.Contains(err.Error(), ErrTLSNotSupported.Error()) {
		t.Errorf("check of a server with ssl off: %v, want ErrTLSNotSupported", err)
	}
}

func TestAuditSessions(t *testing.T) {
	cas := testRDSCAs(t)
	srv := useServerCert(t, cas[CAECC384G1].issue(t, []string{"127.0.0.1"}, time.Time{}))
	db := pgtest.NewDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	connect := func(app, sslmode string) *pgx.Conn {
		cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=%s sslmode=%s application_name=%s",
			srv.Port(), srv.Superuser(), db.Name, sslmode, app))
		if err != nil {
			t.Fatal(err)
		}
		if sslmode != "disable" {
			storeOf(cas[CAECC384G1]).ConfigurePGX(&cfg.Config)
		}
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatalf("connect %s: %v", app, err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	connect("audit-tls", "verify-full")
	connect("audit-plain", "disable")
	self := connect("audit-self", "disable")

	a, err := AuditSessions(ctx, self, nil)
	if err != nil {
		t.Fatal(err)
	}
	byApp := map[string]Session{}
	for _, s := range a.Sessions {
		if s.Database == db.Name {
			byApp[s.Application] = s
		}
	}
	tlsS, plain, me := byApp["audit-tls"], byApp["audit-plain"], byApp["audit-self"]
	if !tlsS.SSL || !strings.HasPrefix(tlsS.Version, "TLSv1.") || tlsS.Cipher == "" || tlsS.Bits == 0 {
		t.Errorf("TLS session = %+v", tlsS)
	}
	if plain.SSL || plain.Version != "" || plain.Cipher != "" || plain.PID == 0 {
		t.Errorf("plain session = %+v", plain)
	}
	for _, s := range []Session{tlsS, plain, me} {
		if s.User != srv.Superuser() || s.ClientAddr != "127.0.0.1" || s.ClientPort <= 0 {
			t.Errorf("session %q: user %q, client %s:%d", s.Application, s.User, s.ClientAddr, s.ClientPort)
		}
	}
	if !me.Self || tlsS.Self || plain.Self {
		t.Errorf("Self flags: self %v, tls %v, plain %v", me.Self, tlsS.Self, plain.Self)
	}
	enc, unenc := apps(a.Encrypted(), db.Name), apps(a.Unencrypted(), db.Name)
	if !strings.Contains(enc, "audit-tls") || strings.Contains(enc, "audit-plain") ||
		!strings.Contains(unenc, "audit-plain") || strings.Contains(unenc, "audit-tls") {
		t.Errorf("Encrypted = %s; Unencrypted = %s", enc, unenc)
	}

	a, err = AuditSessions(ctx, db.Pool, &AuditOptions{ExcludeSelf: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range a.Sessions {
		if s.Self {
			t.Errorf("ExcludeSelf listed the auditing session %+v", s)
		}
	}
	if !strings.Contains(apps(a.Sessions, db.Name), "audit-self") {
		t.Error("the other sessions are missing with ExcludeSelf")
	}
}

func apps(ss []Session, dbName string) string {
	var out []string
	for _, s := range ss {
		if s.Database == dbName {
			out = append(out, s.Application)
		}
	}
	return strings.Join(out, ",")
}
