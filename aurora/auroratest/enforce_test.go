package auroratest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// What Aurora enforces, enforced by the servers: rds.force_ssl,
// rds.allowed_extensions and IAM database authentication, each on a
// cluster of its own made through the API.

const enforcePassword = "enforce-master-pass"

// enforceCluster creates a cluster with a DB cluster parameter group of
// its own (named after it) and the given number of instances, and waits
// until they are available. It returns the instances' endpoints, writer
// first.
func enforceCluster(t *testing.T, ctx context.Context, c *rds.Client, id string, instances int, mod func(*rds.CreateDBClusterInput)) []types.Endpoint {
	t.Helper()
	if _, err := c.CreateDBClusterParameterGroup(ctx, &rds.CreateDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String(id), DBParameterGroupFamily: aws.String("aurora-postgresql15"), Description: aws.String("enforcement test"),
	}); err != nil {
		t.Fatal(err)
	}
	createCluster(t, ctx, c, id, func(in *rds.CreateDBClusterInput) {
		in.MasterUserPassword = aws.String(enforcePassword)
		in.DBClusterParameterGroupName = aws.String(id)
		if mod != nil {
			mod(in)
		}
	})
	waitCluster(t, ctx, c, id)
	var eps []types.Endpoint
	for i := range instances {
		createInstance(t, ctx, c, id, id+"-"+strconv.Itoa(i+1))
		waitInstance(t, ctx, c, id+"-"+strconv.Itoa(i+1))
		eps = append(eps, *instanceEndpoint(t, ctx, c, id+"-"+strconv.Itoa(i+1)).Endpoint)
	}
	return eps
}

// setClusterParam sets one parameter of a DB cluster parameter group.
func setClusterParam(t *testing.T, ctx context.Context, c *rds.Client, group, name, value string, method types.ApplyMethod) {
	t.Helper()
	if _, err := c.ModifyDBClusterParameterGroup(ctx, &rds.ModifyDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String(group),
		Parameters:                  []types.Parameter{{ParameterName: aws.String(name), ParameterValue: aws.String(value), ApplyMethod: method}},
	}); err != nil {
		t.Fatalf("setting %s=%s: %v", name, value, err)
	}
}

// dial connects to database app at host:port as user; with useTLS over
// verify-full TLS against the emulator's CAs, else with sslmode=disable.
func dial(t *testing.T, ctx context.Context, host string, port int32, user, password string, useTLS bool) (*pgx.Conn, error) {
	t.Helper()
	return dialDB(t, ctx, host, port, "app", user, password, useTLS)
}

// dialDB is dial to database db.
func dialDB(t *testing.T, ctx context.Context, host string, port int32, db, user, password string, useTLS bool) (*pgx.Conn, error) {
	t.Helper()
	cfg, err := pgx.ParseConfig("sslmode=disable connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = db
	cfg.Host, cfg.Port, cfg.User, cfg.Password = host, uint16(port), user, password
	if useTLS {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(emulator(t).CABundlePEM())
		cfg.TLSConfig = &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		t.Cleanup(func() { conn.Close(context.Background()) })
	}
	return conn, err
}

// sqlState returns the SQLSTATE of a server error, or "".
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func TestForceSSL(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c := client(t)
	const id = "forcessl"
	eps := enforceCluster(t, ctx, c, id, 2, nil)
	cl := describeCluster(t, ctx, c, id)
	// Every instance and both cluster endpoints, as Describe reports them.
	targets := map[string]types.Endpoint{"writer": eps[0], "reader": eps[1],
		"cluster endpoint": {Address: cl.Endpoint, Port: cl.Port}, "reader endpoint": {Address: cl.ReaderEndpoint, Port: cl.Port}}
	expect := func(plainOK bool, when string) {
		t.Helper()
		for name, ep := range targets {
			_, err := dial(t, ctx, aws.ToString(ep.Address), aws.ToInt32(ep.Port), "master", enforcePassword, false)
			switch {
			case plainOK && err != nil:
				t.Errorf("%s: a plain connection to the %s failed: %v", when, name, err)
			case !plainOK && err == nil:
				t.Errorf("%s: a plain connection to the %s was accepted", when, name)
			case !plainOK && (sqlState(err) != "28000" || !strings.Contains(err.Error(), "no encryption")):
				t.Errorf("%s: a plain connection to the %s: %v, want SQLSTATE 28000 (pg_hba.conf rejects ... no encryption)", when, name, err)
			}
			if _, err := dial(t, ctx, aws.ToString(ep.Address), aws.ToInt32(ep.Port), "master", enforcePassword, true); err != nil {
				t.Errorf("%s: a verify-full TLS connection to the %s failed: %v", when, name, err)
			}
		}
	}
	expect(true, "rds.force_ssl=0 (default)")

	// Dynamic, applied immediately: in effect when the call returns.
	setClusterParam(t, ctx, c, id, "rds.force_ssl", "1", types.ApplyMethodImmediate)
	expect(false, "rds.force_ssl=1 immediate")
	setClusterParam(t, ctx, c, id, "rds.force_ssl", "0", types.ApplyMethodImmediate)
	expect(true, "rds.force_ssl=0 immediate")

	// pending-reboot: nothing changes until the reboot.
	setClusterParam(t, ctx, c, id, "rds.force_ssl", "1", types.ApplyMethodPendingReboot)
	expect(true, "rds.force_ssl=1 pending-reboot, before the reboot")
	rebootAndWait(t, ctx, c, id+"-1")
	rebootAndWait(t, ctx, c, id+"-2")
	expect(false, "rds.force_ssl=1 pending-reboot, after the reboots")
}

func TestAllowedExtensions(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c := client(t)
	const id = "allowedext"
	eps := enforceCluster(t, ctx, c, id, 1, nil)
	w := eps[0]
	conn, err := dial(t, ctx, aws.ToString(w.Address), aws.ToInt32(w.Port), "master", enforcePassword, true)
	if err != nil {
		t.Fatal(err)
	}
	create := func(ext string) error {
		_, err := conn.Exec(ctx, "CREATE EXTENSION "+pgx.Identifier{ext}.Sanitize()+" CASCADE")
		return err
	}
	refused := func(ext, named string) {
		t.Helper()
		err := create(ext)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" || !strings.Contains(pgErr.Message, `"`+named+`"`) ||
			!strings.Contains(pgErr.Hint, "rds.allowed_extensions") {
			t.Errorf("CREATE EXTENSION %s: %v (hint %q), want SQLSTATE 42501 naming %s and rds.allowed_extensions", ext, err, hint(err), named)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_extension WHERE extname = $1", named).Scan(&n); err != nil || n != 0 {
			t.Errorf("after the refused CREATE EXTENSION %s: %d extensions named %s (%v), want none", ext, n, named, err)
		}
	}

	// Empty (the default) allows every extension.
	if err := create("hstore"); err != nil {
		t.Fatalf("with rds.allowed_extensions unset: %v", err)
	}
	setClusterParam(t, ctx, c, id, "rds.allowed_extensions", "pg_trgm, earthdistance", types.ApplyMethodImmediate)
	refused("citext", "citext")
	// CASCADE would add cube, which the list does not name.
	refused("earthdistance", "cube")
	if err := create("pg_trgm"); err != nil {
		t.Errorf("CREATE EXTENSION of a listed extension: %v", err)
	}
	// A session cannot widen the list.
	if _, err := conn.Exec(ctx, "SET rds.allowed_extensions = '*'"); err != nil {
		t.Fatal(err)
	}
	refused("citext", "citext")
	// A database created later is guarded too.
	if _, err := conn.Exec(ctx, "CREATE DATABASE later"); err != nil {
		t.Fatal(err)
	}
	ldb, err := dialDB(t, ctx, aws.ToString(w.Address), aws.ToInt32(w.Port), "later", "master", enforcePassword, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ldb.Exec(ctx, "CREATE EXTENSION citext"); sqlState(err) != "42501" {
		t.Errorf("CREATE EXTENSION citext in a new database: %v, want SQLSTATE 42501", err)
	}
	// "*" allows all again.
	setClusterParam(t, ctx, c, id, "rds.allowed_extensions", "*", types.ApplyMethodImmediate)
	if _, err := conn.Exec(ctx, "RESET rds.allowed_extensions"); err != nil {
		t.Fatal(err)
	}
	if err := create("citext"); err != nil {
		t.Errorf("with rds.allowed_extensions=*: %v", err)
	}
}

func hint(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Hint
	}
	return ""
}

// presign makes an IAM authentication token as auth.BuildAuthToken does,
// but signed at a given time with given credentials, for the tokens the
// SDK will not make (expired ones, other keys).
func presign(t *testing.T, ctx context.Context, endpoint, region, user string, creds aws.CredentialsProvider, at time.Time) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "https://"+endpoint+"?Action=connect&DBUser="+url.QueryEscape(user)+"&X-Amz-Expires=900", nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := creds.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const emptyPayload = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	signed, _, err := v4.NewSigner().PresignHTTP(ctx, v, req, emptyPayload, "rds-db", region, at)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(signed, "https://")
}

func TestIAMAuthentication(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	e := emulator(t)
	c := client(t)
	const id = "iamauth"
	eps := enforceCluster(t, ctx, c, id, 2, nil)
	w, r := eps[0], eps[1]
	host, port := aws.ToString(w.Address), aws.ToInt32(w.Port)
	endpoint := host + ":" + strconv.Itoa(int(port))
	master, err := dial(t, ctx, host, port, "master", enforcePassword, true)
	if err != nil {
		t.Fatal(err)
	}
	const userPassword = "app-user-pass"
	for _, s := range []string{
		"CREATE ROLE app_user LOGIN PASSWORD '" + userPassword + "'",
		"CREATE ROLE other_user LOGIN PASSWORD '" + userPassword + "'",
		"GRANT rds_iam TO app_user, other_user",
	} {
		if _, err := master.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	creds := e.AWSConfig().Credentials
	region := e.Region()
	// Off (the default): the password works and a token does not.
	if _, err := dial(t, ctx, host, port, "app_user", userPassword, true); err != nil {
		t.Fatalf("without IAM authentication, the password: %v", err)
	}
	token, err := auth.BuildAuthToken(ctx, endpoint, region, "app_user", creds)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(t, ctx, host, port, "app_user", token, true); err == nil {
		t.Error("without IAM authentication, a token logged in as a password")
	}

	if _, err := c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{
		DBClusterIdentifier: aws.String(id), EnableIAMDatabaseAuthentication: aws.Bool(true), ApplyImmediately: aws.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}
	waitCluster(t, ctx, c, id)
	if !aws.ToBool(describeCluster(t, ctx, c, id).IAMDatabaseAuthenticationEnabled) {
		t.Fatal("IAMDatabaseAuthenticationEnabled is not reported")
	}

	accepted := func(what, h string, p int32, user, password string) {
		t.Helper()
		conn, err := dial(t, ctx, h, p, user, password, true)
		if err != nil {
			t.Errorf("%s: refused: %v", what, err)
			return
		}
		var got string
		if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&got); err != nil || got != user {
			t.Errorf("%s: current_user %q (%v), want %s", what, got, err, user)
		}
	}
	refused := func(what, h string, p int32, user, password string, useTLS bool) {
		t.Helper()
		_, err := dial(t, ctx, h, p, user, password, useTLS)
		if err == nil {
			t.Errorf("%s: accepted", what)
			return
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("%s: the error holds the password or token", what)
		}
		if useTLS && !strings.Contains(err.Error(), "LDAP authentication failed") {
			t.Errorf("%s: %v, want PostgreSQL's LDAP authentication failure", what, err)
		}
	}
	token, err = auth.BuildAuthToken(ctx, endpoint, region, "app_user", creds)
	if err != nil {
		t.Fatal(err)
	}
	accepted("a token from auth.BuildAuthToken", host, port, "app_user", token)
	// Through the cluster endpoint, with a token for it.
	cl := describeCluster(t, ctx, c, id)
	cep := aws.ToString(cl.Endpoint) + ":" + strconv.Itoa(int(aws.ToInt32(cl.Port)))
	ctoken, err := auth.BuildAuthToken(ctx, cep, region, "app_user", creds)
	if err != nil {
		t.Fatal(err)
	}
	accepted("a token for the cluster endpoint, through it", aws.ToString(cl.Endpoint), aws.ToInt32(cl.Port), "app_user", ctoken)
	// The reader checks tokens too.
	rtoken, err := auth.BuildAuthToken(ctx, aws.ToString(r.Address)+":"+strconv.Itoa(int(aws.ToInt32(r.Port))), region, "app_user", creds)
	if err != nil {
		t.Fatal(err)
	}
	accepted("a token for the reader", aws.ToString(r.Address), aws.ToInt32(r.Port), "app_user", rtoken)

	refused("the rds_iam member's password", host, port, "app_user", userPassword, true)
	otherToken, err := auth.BuildAuthToken(ctx, endpoint, region, "other_user", creds)
	if err != nil {
		t.Fatal(err)
	}
	refused("a token for another user", host, port, "app_user", otherToken, true)
	refused("a token for the reader, on the writer", host, port, "app_user", rtoken, true)
	refused("an expired token", host, port, "app_user", presign(t, ctx, endpoint, region, "app_user", creds, time.Now().Add(-16*time.Minute)), true)
	accepted("a 14-minute-old token", host, port, "app_user", presign(t, ctx, endpoint, region, "app_user", creds, time.Now().Add(-14*time.Minute)))
	wrongKeys := credentials.NewStaticCredentialsProvider("AKIAAURORATESTLOCAL0", "not-the-emulated-account-secret", "")
	refused("a token signed with another secret key", host, port, "app_user", presign(t, ctx, endpoint, region, "app_user", wrongKeys, time.Now()), true)
	tampered := strings.Replace(token, "DBUser=app_user", "DBUser=other_user", 1)
	refused("a token whose user was changed", host, port, "other_user", tampered, true)
	sig := token[len(token)-1:]
	flip := "0"
	if sig == "0" {
		flip = "1"
	}
	refused("a token with a changed signature", host, port, "app_user", token[:len(token)-1]+flip, true)
	refused("a valid token without TLS", host, port, "app_user", token, false)
	// The master user keeps its password.
	accepted("the master password", host, port, "master", enforcePassword)
	if log := instanceLog(t, ctx, c, id+"-1"); strings.Contains(log, token[len(token)-64:]) || strings.Contains(log, userPassword) {
		t.Error("the server log holds a token's signature or a password")
	}

	// Off again: the password works again.
	if _, err := c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{
		DBClusterIdentifier: aws.String(id), EnableIAMDatabaseAuthentication: aws.Bool(false), ApplyImmediately: aws.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}
	waitCluster(t, ctx, c, id)
	accepted("the password with IAM authentication off again", host, port, "app_user", userPassword)
}
