package auroratest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

// clientEnv is the environment of the AWS CLI and boto3 against an
// emulator: its credentials and Region, and nothing from the machine's
// AWS configuration.
func clientEnv(e *auroratest.Emulator) []string {
	cfg := e.AWSConfig()
	creds, _ := cfg.Credentials.Retrieve(context.Background())
	return append(os.Environ(), "AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey,
		"AWS_DEFAULT_REGION="+e.Region(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=")
}

// run runs a program in its own process group (killed with it when ctx
// ends) and returns its standard output; a failure fails the test.
func run(t *testing.T, ctx context.Context, env []string, prog string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", prog, strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.Bytes()
}

// TestAWSCLI drives the AWS CLI through a cluster's lifecycle: create the
// cluster and its instances, wait, tag, snapshot, restore the snapshot
// and find the data, restore to a time between two inserts and find
// exactly the first, delete.
func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the AWS CLI (aws) is not on PATH: this acceptance test drives it")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	e := auroratest.NewT(t)
	env := clientEnv(e)
	rdsCLI := func(args ...string) map[string]any {
		t.Helper()
		out := run(t, ctx, env, "aws", append([]string{"rds", "--endpoint-url", e.Endpoint(), "--output", "json"}, args...)...)
		var v map[string]any
		if len(bytes.TrimSpace(out)) > 0 {
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatalf("aws rds %s: %v\n%s", args[0], err, out)
			}
		}
		return v
	}
	waitInstances := func(ids ...string) {
		t.Helper()
		for _, id := range ids {
			rdsCLI("wait", "db-instance-available", "--db-instance-identifier", id)
		}
	}
	status := func(kind, id string) string {
		t.Helper()
		switch kind {
		case "cluster":
			return rdsCLI("describe-db-clusters", "--db-cluster-identifier", id)["DBClusters"].([]any)[0].(map[string]any)["Status"].(string)
		default:
			return rdsCLI("describe-db-cluster-snapshots", "--db-cluster-snapshot-identifier", id)["DBClusterSnapshots"].([]any)[0].(map[string]any)["Status"].(string)
		}
	}
	waitStatus := func(kind, id string) {
		t.Helper()
		pgtest.WaitFor(t, kind+" "+id+" to be available", 2*time.Minute, func() (bool, string) {
			s := status(kind, id)
			return s == "available", s
		})
	}
	newCluster := func(id string, args ...string) {
		t.Helper()
		rdsCLI(args...)
		waitStatus("cluster", id)
		rdsCLI("create-db-instance", "--db-instance-identifier", id+"-1", "--db-cluster-identifier", id,
			"--engine", "aurora-postgresql", "--db-instance-class", "db.r6g.large")
	}
	// query runs sql on an instance and returns the one value of its last
	// statement ("" when it returns none).
	query := func(instance, sql string) string {
		t.Helper()
		cs, err := e.ConnString(instance, "app")
		if err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, cs)
		if err != nil {
			t.Fatalf("connecting to %s: %v", instance, err)
		}
		defer conn.Close(ctx)
		res, err := conn.PgConn().Exec(ctx, sql).ReadAll()
		if err != nil {
			t.Fatalf("%s on %s: %v", sql, instance, err)
		}
		if last := res[len(res)-1]; len(last.Rows) == 1 {
			return string(last.Rows[0][0])
		}
		return ""
	}

	newCluster("cli", "create-db-cluster", "--db-cluster-identifier", "cli", "--engine", "aurora-postgresql", "--engine-version", "15.4",
		"--master-username", "master", "--master-user-password", "cli-password-1", "--database-name", "app")
	rdsCLI("create-db-instance", "--db-instance-identifier", "cli-2", "--db-cluster-identifier", "cli",
		"--engine", "aurora-postgresql", "--db-instance-class", "db.r6g.large")
	waitInstances("cli-1", "cli-2")
	psqlEveryEndpoint(t, ctx, e, env, rdsCLI, "cli", "cli-password-1")

	arn := rdsCLI("describe-db-clusters", "--db-cluster-identifier", "cli")["DBClusters"].([]any)[0].(map[string]any)["DBClusterArn"].(string)
	rdsCLI("add-tags-to-resource", "--resource-name", arn, "--tags", "Key=team,Value=data")
	if tags := rdsCLI("list-tags-for-resource", "--resource-name", arn)["TagList"].([]any); len(tags) != 1 || tags[0].(map[string]any)["Value"] != "data" {
		t.Errorf("tags after add-tags-to-resource: %v", tags)
	}

	query("cli-1", "CREATE TABLE life AS SELECT 1 AS v")
	rdsCLI("create-db-cluster-snapshot", "--db-cluster-identifier", "cli", "--db-cluster-snapshot-identifier", "cli-snap")
	waitStatus("snapshot", "cli-snap")
	query("cli-1", "INSERT INTO life VALUES (2) RETURNING v::text")
	pgtest.WaitFor(t, "the first automated backup", time.Minute, func() (bool, string) {
		_, ok := rdsCLI("describe-db-clusters", "--db-cluster-identifier", "cli")["DBClusters"].([]any)[0].(map[string]any)["EarliestRestorableTime"]
		return ok, "no EarliestRestorableTime yet"
	})
	time.Sleep(100 * time.Millisecond)
	between := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(100 * time.Millisecond)
	query("cli-1", "INSERT INTO life VALUES (3) RETURNING v::text")

	newCluster("cli-restored", "restore-db-cluster-from-snapshot", "--db-cluster-identifier", "cli-restored",
		"--snapshot-identifier", "cli-snap", "--engine", "aurora-postgresql")
	newCluster("cli-pitr", "restore-db-cluster-to-point-in-time", "--db-cluster-identifier", "cli-pitr",
		"--source-db-cluster-identifier", "cli", "--restore-to-time", between)
	waitInstances("cli-restored-1", "cli-pitr-1")
	const rowsSQL = "SELECT string_agg(v::text, ',' ORDER BY v) FROM life"
	if got := query("cli-restored-1", rowsSQL); got != "1" {
		t.Errorf("the cluster restored from the snapshot has rows %s, want 1", got)
	}
	if got := query("cli-pitr-1", rowsSQL); got != "1,2" {
		t.Errorf("the cluster restored to %s has rows %s, want 1,2 (inserted before it, 3 after)", between, got)
	}

	for _, c := range [][]string{{"cli", "cli-1", "cli-2"}, {"cli-restored", "cli-restored-1"}, {"cli-pitr", "cli-pitr-1"}} {
		for _, id := range c[1:] {
			rdsCLI("delete-db-instance", "--db-instance-identifier", id)
		}
		for _, id := range c[1:] {
			rdsCLI("wait", "db-instance-deleted", "--db-instance-identifier", id)
		}
		rdsCLI("delete-db-cluster", "--db-cluster-identifier", c[0], "--skip-final-snapshot")
	}
	pgtest.WaitFor(t, "every cluster to be deleted", 2*time.Minute, func() (bool, string) {
		n := len(rdsCLI("describe-db-clusters")["DBClusters"].([]any))
		return n == 0, strings.Repeat("cluster ", n)
	})
}

// psqlEveryEndpoint reads the addresses of a cluster's instances and
// endpoints with the AWS CLI and checks, with psql and sslmode=verify-full
// against the emulator's CAs, that each answers on the cluster's port as
// the instance it names (the writer endpoint as the writer, the reader
// endpoint as a reader).
func psqlEveryEndpoint(t *testing.T, ctx context.Context, e *auroratest.Emulator, env []string, rdsCLI func(...string) map[string]any, cluster, password string) {
	t.Helper()
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql is not on PATH: this acceptance test drives it")
	}
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, e.CABundlePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	psql := func(host string, port int) string {
		t.Helper()
		conn := fmt.Sprintf("host=%s port=%d user=master dbname=app sslmode=verify-full sslrootcert=%s connect_timeout=10", host, port, bundle)
		return strings.TrimSpace(string(run(t, ctx, append(env, "PGPASSWORD="+password), "psql", conn, "-Atc",
			"SELECT aurora_db_instance_identifier() || ' ' || pg_is_in_recovery()")))
	}
	cl := rdsCLI("describe-db-clusters", "--db-cluster-identifier", cluster)["DBClusters"].([]any)[0].(map[string]any)
	port := int(cl["Port"].(float64))
	writer := ""
	for _, m := range cl["DBClusterMembers"].([]any) {
		if m := m.(map[string]any); m["IsClusterWriter"].(bool) {
			writer = m["DBInstanceIdentifier"].(string)
		}
	}
	addrs := map[string]string{}
	for _, in := range rdsCLI("describe-db-instances", "--filters", "Name=db-cluster-id,Values="+cluster)["DBInstances"].([]any) {
		in := in.(map[string]any)
		id, ep := in["DBInstanceIdentifier"].(string), in["Endpoint"].(map[string]any)
		addr, p := ep["Address"].(string), int(ep["Port"].(float64))
		if p != port || addrs[addr] != "" || addr == cl["Endpoint"] || addr == cl["ReaderEndpoint"] {
			t.Errorf("instance %s at %s:%d; the cluster's port is %d, addresses so far %v", id, addr, p, port, addrs)
		}
		addrs[addr] = id
		if got, want := psql(addr, p), fmt.Sprintf("%s %v", id, id != writer); got != want {
			t.Errorf("psql at %s:%d (instance %s) answers %q, want %q", addr, p, id, got, want)
		}
	}
	if got := psql(cl["Endpoint"].(string), port); got != writer+" false" {
		t.Errorf("psql at the writer endpoint answers %q, want %q", got, writer+" false")
	}
	if got := psql(cl["ReaderEndpoint"].(string), port); !strings.HasSuffix(got, " true") {
		t.Errorf("psql at the reader endpoint answers %q, want a reader", got)
	}
}

// TestBoto3 is a smoke test with boto3: the engine catalog, a cluster's
// creation and deletion, and a refusal with its error code.
func TestBoto3(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 is not installed: this smoke test drives boto3")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := auroratest.NewT(t)
	script := `
import sys, boto3, botocore
rds = boto3.client("rds", endpoint_url=sys.argv[1])
versions = [v["EngineVersion"] for v in rds.describe_db_engine_versions(Engine="aurora-postgresql")["DBEngineVersions"]]
assert "15.4" in versions and "16.6" in versions, versions
c = rds.create_db_cluster(DBClusterIdentifier="boto", Engine="aurora-postgresql", MasterUsername="master",
                          MasterUserPassword="boto-password-1", DeletionProtection=True)["DBCluster"]
assert c["Status"] == "creating", c["Status"]
rds.get_waiter("db_cluster_available").wait(DBClusterIdentifier="boto", WaiterConfig={"Delay": 1})
try:
    rds.delete_db_cluster(DBClusterIdentifier="boto", SkipFinalSnapshot=True)
    raise SystemExit("a protected cluster was deleted")
except botocore.exceptions.ClientError as err:
    assert err.response["Error"]["Code"] == "InvalidParameterCombination", err.response
rds.modify_db_cluster(DBClusterIdentifier="boto", DeletionProtection=False, ApplyImmediately=True)
rds.get_waiter("db_cluster_available").wait(DBClusterIdentifier="boto", WaiterConfig={"Delay": 1})
rds.delete_db_cluster(DBClusterIdentifier="boto", SkipFinalSnapshot=True)
rds.get_waiter("db_cluster_deleted").wait(DBClusterIdentifier="boto", WaiterConfig={"Delay": 1})
print("ok")
`
	out := run(t, ctx, clientEnv(e), "python3", "-c", script, e.Endpoint())
	if strings.TrimSpace(string(out)) != "ok" {
		t.Errorf("boto3 script printed %q", out)
	}
}
