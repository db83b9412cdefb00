package auroratest_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

// One emulator serves the package's tests; each test that reboots or
// reconfigures works on its own cluster, so the tests run in parallel. It
// starts with the first test that needs it (benchmarks start their own).
var (
	sharedOnce sync.Once
	sharedEmu  *auroratest.Emulator
	sharedErr  error
)

const (
	clusterShared = "shared"
	clusterParams = "params" // the parameter group acceptance tests, one after the other
	clusterFO     = "fo"
	clusterSM     = "sm" // RDS manages its master password in Secrets Manager
)

func emulator(t testing.TB) *auroratest.Emulator {
	t.Helper()
	sharedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		sharedEmu, sharedErr = auroratest.Start(ctx,
			auroratest.WithCluster(clusterShared, auroratest.ClusterConfig{Instances: 2, DatabaseName: "app",
				ClusterParameterGroup: "shared-cluster", InstanceParameterGroup: "shared-instance"}),
			auroratest.WithCluster(clusterParams, auroratest.ClusterConfig{Instances: 2, MasterUsername: "admin", MasterPassword: "s3cret-pass'word"}),
			auroratest.WithCluster(clusterFO, auroratest.ClusterConfig{Instances: 3, DatabaseName: "app"}),
			auroratest.WithCluster(clusterSM, auroratest.ClusterConfig{Instances: 2, ManageMasterUserPassword: true}),
		)
	})
	if sharedErr != nil {
		t.Fatalf("starting the shared emulator: %v", sharedErr)
	}
	return sharedEmu
}

func TestMain(m *testing.M) {
	// The Terraform, AWS CLI and boto3 tests spend minutes waiting out
	// their clients' fixed polling delays (30 s in the Terraform provider's
	// and the CLI's waiters). Unless -parallel is given, let four tests run
	// at once, so that those waits overlap the other tests instead of
	// holding one of GOMAXPROCS slots each.
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit && runtime.GOMAXPROCS(0) < 4 {
		_ = flag.Set("test.parallel", "4")
	}
	code := m.Run()
	for _, e := range []*auroratest.Emulator{sharedEmu, cwEmu} {
		if e == nil {
			continue
		}
		if err := e.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

func client(t testing.TB) *rds.Client { return rds.NewFromConfig(emulator(t).AWSConfig()) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func fastInstanceWaiter(o *rds.DBInstanceAvailableWaiterOptions) {
	o.MinDelay, o.MaxDelay = 50*time.Millisecond, 250*time.Millisecond
}

func fastClusterWaiter(o *rds.DBClusterAvailableWaiterOptions) {
	o.MinDelay, o.MaxDelay = 50*time.Millisecond, 250*time.Millisecond
}

func waitInstance(t *testing.T, ctx context.Context, c *rds.Client, id string) {
	t.Helper()
	w := rds.NewDBInstanceAvailableWaiter(c, fastInstanceWaiter)
	if err := w.Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)}, time.Minute); err != nil {
		t.Fatalf("waiting for %s: %v", id, err)
	}
}

func waitCluster(t *testing.T, ctx context.Context, c *rds.Client, id string) {
	t.Helper()
	w := rds.NewDBClusterAvailableWaiter(c, fastClusterWaiter)
	if err := w.Wait(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)}, time.Minute); err != nil {
		t.Fatalf("waiting for cluster %s: %v", id, err)
	}
}

func connect(t *testing.T, instanceID, db string) *pgx.Conn {
	t.Helper()
	return connectTo(t, emulator(t), instanceID, db)
}

// connectTo opens a connection to a database of an instance of emu as
// the superuser, closed when the test ends.
func connectTo(t *testing.T, emu *auroratest.Emulator, instanceID, db string) *pgx.Conn {
	t.Helper()
	cs, err := emu.ConnString(instanceID, db)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, cs)
	if err != nil {
		t.Fatalf("connecting to %s: %v", instanceID, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func show(t *testing.T, instanceID, setting string) string {
	t.Helper()
	conn := connect(t, instanceID, "postgres")
	var v string
	if err := conn.QueryRow(context.Background(), "SELECT current_setting($1)", setting).Scan(&v); err != nil {
		t.Fatalf("SHOW %s on %s: %v", setting, instanceID, err)
	}
	conn.Close(context.Background())
	return v
}

func describeCluster(t *testing.T, ctx context.Context, c *rds.Client, id string) types.DBCluster {
	t.Helper()
	out, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)})
	if err != nil {
		t.Fatalf("DescribeDBClusters %s: %v", id, err)
	}
	if len(out.DBClusters) != 1 {
		t.Fatalf("DescribeDBClusters %s: %d clusters", id, len(out.DBClusters))
	}
	return out.DBClusters[0]
}

func memberStatus(cl types.DBCluster) map[string]string {
	m := map[string]string{}
	for _, mem := range cl.DBClusterMembers {
		m[aws.ToString(mem.DBInstanceIdentifier)] = aws.ToString(mem.DBClusterParameterGroupStatus)
	}
	return m
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// useNewClusterGroup creates a DB cluster parameter group through the API
// and associates it with the cluster.
func useNewClusterGroup(t *testing.T, ctx context.Context, c *rds.Client, clusterID, group string) {
	t.Helper()
	_, err := c.CreateDBClusterParameterGroup(ctx, &rds.CreateDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String(group),
		DBParameterGroupFamily:      aws.String("aurora-postgresql15"),
		Description:                 aws.String("test group " + group),
	})
	if err != nil {
		t.Fatalf("CreateDBClusterParameterGroup: %v", err)
	}
	_, err = c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{
		DBClusterIdentifier:         aws.String(clusterID),
		DBClusterParameterGroupName: aws.String(group),
		ApplyImmediately:            aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("ModifyDBCluster: %v", err)
	}
	waitCluster(t, ctx, c, clusterID)
	if got := aws.ToString(describeCluster(t, ctx, c, clusterID).DBClusterParameterGroup); got != group {
		t.Fatalf("DBClusterParameterGroup = %q, want %q", got, group)
	}
}

func rebootAndWait(t *testing.T, ctx context.Context, c *rds.Client, id string) {
	t.Helper()
	out, err := c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		t.Fatalf("RebootDBInstance %s: %v", id, err)
	}
	if got := aws.ToString(out.DBInstance.DBInstanceStatus); got != "rebooting" {
		t.Errorf("RebootDBInstance returned status %q, want rebooting", got)
	}
	waitInstance(t, ctx, c, id)
}

// The acceptance tests of issue #3, on one cluster, one after the other.
func TestParameterGroupAcceptance(t *testing.T) {
	t.Parallel()
	t.Run("pgaudit preload pending-reboot", testPgAuditPreloadPendingReboot)
	t.Run("logical replication wal_level", testLogicalReplicationWalLevel)
	t.Run("incompatible parameters", testIncompatibleParameters)
}

// A server that cannot start with its new settings comes back with the old
// ones and reports incompatible-parameters; fixing the group and rebooting
// makes it available again.
func testIncompatibleParameters(t *testing.T) {
	ctx := testCtx(t)
	c := client(t)
	reader := clusterParams + "-instance-2"
	if _, err := c.CreateDBParameterGroup(ctx, &rds.CreateDBParameterGroupInput{
		DBParameterGroupName: aws.String("too-big"), DBParameterGroupFamily: aws.String("aurora-postgresql15"), Description: aws.String("x"),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(reader), DBParameterGroupName: aws.String("too-big")}); err != nil {
		t.Fatal(err)
	}
	waitInstance(t, ctx, c, reader)
	// 8 TB of shared buffers: no machine here maps that.
	if _, err := c.ModifyDBParameterGroup(ctx, &rds.ModifyDBParameterGroupInput{
		DBParameterGroupName: aws.String("too-big"),
		Parameters:           []types.Parameter{{ParameterName: aws.String("shared_buffers"), ParameterValue: aws.String("1073741823"), ApplyMethod: types.ApplyMethodPendingReboot}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(reader)}); err != nil {
		t.Fatal(err)
	}
	w := rds.NewDBInstanceAvailableWaiter(c, fastInstanceWaiter)
	if err := w.Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(reader)}, time.Minute); err == nil {
		t.Fatalf("the waiter reports %s available with 8 TB of shared_buffers", reader)
	}
	out, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(reader)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.DBInstances[0].DBInstanceStatus); got != "incompatible-parameters" {
		t.Errorf("status = %q, want incompatible-parameters", got)
	}
	if got := show(t, reader, "shared_buffers"); got == "8TB" {
		t.Errorf("shared_buffers = %s", got)
	}
	if _, err := c.ResetDBParameterGroup(ctx, &rds.ResetDBParameterGroupInput{DBParameterGroupName: aws.String("too-big"), ResetAllParameters: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	rebootAndWait(t, ctx, c, reader)
}

// pgaudit through a cluster parameter group: pending-reboot, reboot,
// waiter, SHOW; the audit line is read back through the log API.
func testPgAuditPreloadPendingReboot(t *testing.T) {
	ctx := testCtx(t)
	c := client(t)
	writer, reader := clusterParams+"-instance-1", clusterParams+"-instance-2"
	useNewClusterGroup(t, ctx, c, clusterParams, "pgaudit-acceptance")

	_, err := c.ModifyDBClusterParameterGroup(ctx, &rds.ModifyDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String("pgaudit-acceptance"),
		Parameters: []types.Parameter{{
			ParameterName: aws.String("shared_preload_libraries"), ParameterValue: aws.String("pg_stat_statements,pgaudit"),
			ApplyMethod: types.ApplyMethodPendingReboot,
		}, {
			ParameterName: aws.String("pgaudit.log"), ParameterValue: aws.String("ddl,write"),
			ApplyMethod: types.ApplyMethodImmediate,
		}},
	})
	if err != nil {
		t.Fatalf("ModifyDBClusterParameterGroup: %v", err)
	}
	st := memberStatus(describeCluster(t, ctx, c, clusterParams))
	if st[writer] != "pending-reboot" || st[reader] != "pending-reboot" {
		t.Fatalf("member statuses after the change = %v, want pending-reboot for both", st)
	}
	if got := show(t, writer, "shared_preload_libraries"); strings.Contains(got, "pgaudit") {
		t.Fatalf("shared_preload_libraries = %q before the reboot", got)
	}

	rebootAndWait(t, ctx, c, writer)
	if got := show(t, writer, "shared_preload_libraries"); got != "pg_stat_statements,pgaudit" {
		t.Errorf("writer shared_preload_libraries = %q after reboot", got)
	}
	if got := show(t, writer, "pgaudit.log"); got != "ddl,write" {
		t.Errorf("writer pgaudit.log = %q after reboot", got)
	}
	st = memberStatus(describeCluster(t, ctx, c, clusterParams))
	if st[writer] != "in-sync" || st[reader] != "pending-reboot" {
		t.Errorf("member statuses after the writer's reboot = %v, want writer in-sync, reader pending-reboot", st)
	}

	rebootAndWait(t, ctx, c, reader)
	if got := show(t, reader, "shared_preload_libraries"); got != "pg_stat_statements,pgaudit" {
		t.Errorf("reader shared_preload_libraries = %q after reboot", got)
	}
	if st := memberStatus(describeCluster(t, ctx, c, clusterParams)); st[reader] != "in-sync" {
		t.Errorf("reader status = %q after its reboot", st[reader])
	}

	// pgAudit works: CREATE EXTENSION needs the preload, and the reader
	// replays it.
	w := connect(t, writer, "postgres")
	if _, err := w.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pgaudit"); err != nil {
		t.Fatalf("CREATE EXTENSION pgaudit: %v", err)
	}
	waitReplicated(t, ctx, reader, "postgres", "SELECT count(*) = 1 FROM pg_extension WHERE extname = 'pgaudit'")

	// The audit line reaches the log served through the API.
	if _, err := w.Exec(ctx, "CREATE TABLE audited_table(id int)"); err != nil {
		t.Fatal(err)
	}
	if !findInLog(t, ctx, c, writer, "DDL,CREATE TABLE,TABLE,public.audited_table,CREATE TABLE audited_table") {
		t.Errorf("the pgAudit line for CREATE TABLE audited_table is not in the writer's log files")
	}
	// The next test moves the cluster to a group without pgaudit: drop the
	// extension, whose event triggers would fail without the library.
	if _, err := w.Exec(ctx, "DROP EXTENSION pgaudit"); err != nil {
		t.Fatal(err)
	}
}

// findInLog downloads every log file of an instance with the SDK's
// paginator and reports whether one holds the text.
func findInLog(t *testing.T, ctx context.Context, c *rds.Client, instanceID, text string) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, err := c.DescribeDBLogFiles(ctx, &rds.DescribeDBLogFilesInput{DBInstanceIdentifier: aws.String(instanceID)})
		if err != nil {
			t.Fatalf("DescribeDBLogFiles: %v", err)
		}
		if len(files.DescribeDBLogFiles) == 0 {
			t.Fatalf("DescribeDBLogFiles lists no files")
		}
		for _, f := range files.DescribeDBLogFiles {
			name := aws.ToString(f.LogFileName)
			if !strings.HasPrefix(name, "error/postgresql.log.") || aws.ToInt64(f.Size) <= 0 || aws.ToInt64(f.LastWritten) <= 0 {
				t.Errorf("log file %+v", f)
			}
			var data strings.Builder
			pages := 0
			p := rds.NewDownloadDBLogFilePortionPaginator(c, &rds.DownloadDBLogFilePortionInput{
				DBInstanceIdentifier: aws.String(instanceID), LogFileName: aws.String(name),
				Marker: aws.String("0"), NumberOfLines: aws.Int32(50),
			})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatalf("DownloadDBLogFilePortion: %v", err)
				}
				pages++
				data.WriteString(aws.ToString(out.LogFileData))
				if aws.ToBool(out.AdditionalDataPending) != (aws.ToString(out.Marker) != "") {
					t.Errorf("AdditionalDataPending %v with Marker %q", aws.ToBool(out.AdditionalDataPending), aws.ToString(out.Marker))
				}
			}
			if int64(data.Len()) < aws.ToInt64(f.Size) {
				t.Errorf("downloaded %d bytes of %s in %d pages; DescribeDBLogFiles says %d", data.Len(), name, pages, aws.ToInt64(f.Size))
			}
			if strings.Contains(data.String(), text) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitReplicated polls a boolean query on an instance's database until it
// returns true.
func waitReplicated(t *testing.T, ctx context.Context, instanceID, db, query string) {
	t.Helper()
	r := connect(t, instanceID, db)
	pgtest.WaitFor(t, query+" on "+instanceID, 30*time.Second, func() (bool, string) {
		var ok bool
		if err := r.QueryRow(ctx, query).Scan(&ok); err != nil {
			t.Fatalf("%s on %s: %v", query, instanceID, err)
		}
		return ok, "false: the reader does not replay"
	})
}

// rds.logical_replication=1 gives wal_level=logical after a reboot; a
// larger max_connections on the writer does not strand the reader.
func testLogicalReplicationWalLevel(t *testing.T) {
	ctx := testCtx(t)
	c := client(t)
	writer, reader := clusterParams+"-instance-1", clusterParams+"-instance-2"
	useNewClusterGroup(t, ctx, c, clusterParams, "logical-acceptance")

	_, err := c.ModifyDBClusterParameterGroup(ctx, &rds.ModifyDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String("logical-acceptance"),
		Parameters: []types.Parameter{
			{ParameterName: aws.String("rds.logical_replication"), ParameterValue: aws.String("1"), ApplyMethod: types.ApplyMethodPendingReboot},
			{ParameterName: aws.String("max_connections"), ParameterValue: aws.String("150"), ApplyMethod: types.ApplyMethodPendingReboot},
		},
	})
	if err != nil {
		t.Fatalf("ModifyDBClusterParameterGroup: %v", err)
	}
	if st := memberStatus(describeCluster(t, ctx, c, clusterParams)); st[writer] != "pending-reboot" {
		t.Fatalf("writer status = %q, want pending-reboot", st[writer])
	}
	rebootAndWait(t, ctx, c, writer)
	waitInstance(t, ctx, c, reader) // restarted with the writer when its max_connections fell short
	if got := show(t, writer, "wal_level"); got != "logical" {
		t.Errorf("wal_level = %q after reboot, want logical", got)
	}
	if got := show(t, writer, "rds.logical_replication"); got != "1" {
		t.Errorf("rds.logical_replication = %q, want 1", got)
	}
	if got := show(t, reader, "max_connections"); got != "150" {
		t.Errorf("reader max_connections = %q, want 150 (at least the writer's)", got)
	}

	// The reader still replays, and logical decoding works on the writer.
	w := connect(t, writer, "postgres")
	if _, err := w.Exec(ctx, "CREATE TABLE after_reboot(id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, ctx, reader, "postgres", "SELECT count(*) = 1 FROM pg_class WHERE relname = 'after_reboot'")
	if _, err := w.Exec(ctx, "SELECT pg_create_logical_replication_slot('t_slot', 'test_decoding')"); err != nil {
		t.Fatalf("creating a logical slot: %v", err)
	}
	if _, err := w.Exec(ctx, "SELECT pg_drop_replication_slot('t_slot')"); err != nil {
		t.Fatal(err)
	}
	if len(emulator(t).MasterPassword(clusterParams)) == 0 || emulator(t).MasterPassword(clusterParams) != "s3cret-pass'word" {
		t.Errorf("MasterPassword does not return the configured password")
	}
}

// A 21-parameter modify and other bad changes are refused with
// InvalidParameterValue and change nothing; a static parameter with
// immediate is InvalidParameterCombination, as on Aurora.
func TestModifyRefusals(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c := client(t)
	const group = "refusals"
	if _, err := c.CreateDBClusterParameterGroup(ctx, &rds.CreateDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String(group), DBParameterGroupFamily: aws.String("aurora-postgresql15"),
		Description: aws.String("refusals"),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDBParameterGroup(ctx, &rds.CreateDBParameterGroupInput{
		DBParameterGroupName: aws.String(group), DBParameterGroupFamily: aws.String("aurora-postgresql15"),
		Description: aws.String("refusals"),
	}); err != nil {
		t.Fatal(err)
	}
	p := func(name, value string, m types.ApplyMethod) types.Parameter {
		return types.Parameter{ParameterName: aws.String(name), ParameterValue: aws.String(value), ApplyMethod: m}
	}
	var many []types.Parameter
	for _, name := range []string{"work_mem", "maintenance_work_mem", "statement_timeout", "lock_timeout", "log_min_duration_statement",
		"idle_in_transaction_session_timeout", "log_connections", "log_disconnections", "log_lock_waits", "log_temp_files",
		"deadlock_timeout", "temp_buffers", "random_page_cost", "seq_page_cost", "effective_io_concurrency",
		"default_statistics_target", "from_collapse_limit", "join_collapse_limit", "geqo_threshold", "cpu_tuple_cost", "vacuum_cost_limit"} {
		value := "100"
		switch name {
		case "log_connections", "log_disconnections", "log_lock_waits":
			value = "1"
		case "random_page_cost", "seq_page_cost", "cpu_tuple_cost":
			value = "1.5"
		case "geqo_threshold":
			value = "12"
		case "temp_buffers", "maintenance_work_mem":
			value = "2048"
		}
		many = append(many, p(name, value, types.ApplyMethodImmediate))
	}
	if len(many) != 21 {
		t.Fatalf("test bug: %d parameters", len(many))
	}
	// The first 20 are fine on their own: only the count is wrong.
	for _, tc := range []struct {
		name   string
		params []types.Parameter
	}{
		{"21 parameters", many},
		{"static with immediate", []types.Parameter{p("work_mem", "8192", types.ApplyMethodImmediate), p("shared_preload_libraries", "pgaudit", types.ApplyMethodImmediate)}},
		{"unknown parameter", []types.Parameter{p("work_mem", "8192", types.ApplyMethodImmediate), p("no_such_parameter", "1", types.ApplyMethodImmediate)}},
		{"out of range", []types.Parameter{p("max_connections", "0", types.ApplyMethodPendingReboot)}},
		{"not an integer", []types.Parameter{p("work_mem", "8MB", types.ApplyMethodImmediate)}},
		{"boolean spelled on", []types.Parameter{p("log_connections", "maybe", types.ApplyMethodImmediate)}},
		{"enum value", []types.Parameter{p("log_statement", "everything", types.ApplyMethodImmediate)}},
		{"library not allowed", []types.Parameter{p("shared_preload_libraries", "pgaudit,not_a_library", types.ApplyMethodPendingReboot)}},
		{"not modifiable", []types.Parameter{p("log_line_prefix", "%m", types.ApplyMethodImmediate)}},
		{"hidden server setting", []types.Parameter{p("port", "5433", types.ApplyMethodPendingReboot)}},
		{"bad apply method", []types.Parameter{p("work_mem", "8192", types.ApplyMethod("later"))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ModifyDBClusterParameterGroup(ctx, &rds.ModifyDBClusterParameterGroupInput{
				DBClusterParameterGroupName: aws.String(group), Parameters: tc.params,
			})
			want := "InvalidParameterValue"
			if tc.name == "static with immediate" {
				want = "InvalidParameterCombination"
			}
			if code := apiCode(err); code != want {
				t.Fatalf("error = %v (code %q), want %s", err, code, want)
			}
		})
	}
	// A cluster-only parameter is not part of a DB parameter group.
	_, err := c.ModifyDBParameterGroup(ctx, &rds.ModifyDBParameterGroupInput{
		DBParameterGroupName: aws.String(group),
		Parameters:           []types.Parameter{p("rds.logical_replication", "1", types.ApplyMethodPendingReboot)},
	})
	if code := apiCode(err); code != "InvalidParameterValue" {
		t.Errorf("rds.logical_replication in a DB parameter group: %v, want InvalidParameterValue", err)
	}
	// Default groups cannot be modified.
	_, err = c.ModifyDBClusterParameterGroup(ctx, &rds.ModifyDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String("default.aurora-postgresql15"),
		Parameters:                  []types.Parameter{p("work_mem", "8192", types.ApplyMethodImmediate)},
	})
	if code := apiCode(err); code != "InvalidParameterValue" {
		t.Errorf("modifying the default group: %v, want InvalidParameterValue", err)
	}
	// Nothing changed.
	out, err := c.DescribeDBClusterParameters(ctx, &rds.DescribeDBClusterParametersInput{
		DBClusterParameterGroupName: aws.String(group), Source: aws.String("user"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Parameters) != 0 {
		t.Errorf("refused changes left %d user parameters, e.g. %s", len(out.Parameters), aws.ToString(out.Parameters[0].ParameterName))
	}
	// The same 20 go through.
	if _, err := c.ModifyDBClusterParameterGroup(ctx, &rds.ModifyDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String(group), Parameters: many[:20],
	}); err != nil {
		t.Fatalf("20 parameters: %v", err)
	}
	out, err = c.DescribeDBClusterParameters(ctx, &rds.DescribeDBClusterParametersInput{
		DBClusterParameterGroupName: aws.String(group), Source: aws.String("user"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Parameters) != 20 {
		t.Errorf("after a 20-parameter modify: %d user parameters, want 20", len(out.Parameters))
	}
	for _, prm := range out.Parameters {
		if aws.ToString(prm.ParameterName) == "random_page_cost" && aws.ToString(prm.ParameterValue) != "1.5" {
			t.Errorf("random_page_cost = %q", aws.ToString(prm.ParameterValue))
		}
	}
	// Reset all of them.
	if _, err := c.ResetDBClusterParameterGroup(ctx, &rds.ResetDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String(group), ResetAllParameters: aws.Bool(true),
	}); err != nil {
		t.Fatalf("ResetDBClusterParameterGroup: %v", err)
	}
	out, err = c.DescribeDBClusterParameters(ctx, &rds.DescribeDBClusterParametersInput{
		DBClusterParameterGroupName: aws.String(group), Source: aws.String("user"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Parameters) != 0 {
		t.Errorf("after ResetAllParameters: %d user parameters", len(out.Parameters))
	}
	// Unused custom groups can be deleted.
	if _, err := c.DeleteDBClusterParameterGroup(ctx, &rds.DeleteDBClusterParameterGroupInput{DBClusterParameterGroupName: aws.String(group)}); err != nil {
		t.Errorf("DeleteDBClusterParameterGroup: %v", err)
	}
	if _, err := c.DeleteDBParameterGroup(ctx, &rds.DeleteDBParameterGroupInput{DBParameterGroupName: aws.String(group)}); err != nil {
		t.Errorf("DeleteDBParameterGroup: %v", err)
	}
	_, err = c.DescribeDBClusterParameterGroups(ctx, &rds.DescribeDBClusterParameterGroupsInput{DBClusterParameterGroupName: aws.String(group)})
	if !errors.As(err, new(*types.DBParameterGroupNotFoundFault)) {
		t.Errorf("a deleted group: %v, want *types.DBParameterGroupNotFoundFault", err)
	}
}

// Typed faults reach the caller through errors.As.
func TestFaults(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c := client(t)

	_, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("no-such-cluster")})
	var cnf *types.DBClusterNotFoundFault
	if !errors.As(err, &cnf) {
		t.Errorf("unknown cluster: %v (%T), want *types.DBClusterNotFoundFault", err, err)
	}
	_, err = c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("no-such-instance")})
	var inf *types.DBInstanceNotFoundFault
	if !errors.As(err, &inf) {
		t.Errorf("unknown instance: %v, want *types.DBInstanceNotFoundFault", err)
	}
	_, err = c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String("no-such-instance")})
	if !errors.As(err, &inf) {
		t.Errorf("rebooting an unknown instance: %v, want *types.DBInstanceNotFoundFault", err)
	}
	_, err = c.DescribeDBClusterParameters(ctx, &rds.DescribeDBClusterParametersInput{DBClusterParameterGroupName: aws.String("no-such-group")})
	var gnf *types.DBParameterGroupNotFoundFault
	if !errors.As(err, &gnf) {
		t.Errorf("unknown cluster group: %v, want *types.DBParameterGroupNotFoundFault", err)
	}
	_, err = c.DescribeDBParameterGroups(ctx, &rds.DescribeDBParameterGroupsInput{DBParameterGroupName: aws.String("no-such-group")})
	if !errors.As(err, &gnf) {
		t.Errorf("unknown instance group: %v, want *types.DBParameterGroupNotFoundFault", err)
	}
	_, err = c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String(clusterShared), DBClusterParameterGroupName: aws.String("no-such-group")})
	var cgnf *types.DBClusterParameterGroupNotFoundFault
	if !errors.As(err, &cgnf) {
		t.Errorf("ModifyDBCluster with an unknown group: %v, want *types.DBClusterParameterGroupNotFoundFault", err)
	}
	_, err = c.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(clusterShared + "-instance-1"), DBParameterGroupName: aws.String("no-such-group")})
	if !errors.As(err, &gnf) {
		t.Errorf("ModifyDBInstance with an unknown group: %v, want *types.DBParameterGroupNotFoundFault", err)
	}

	// Existing group names, group name rules.
	_, err = c.CreateDBClusterParameterGroup(ctx, &rds.CreateDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String("shared-cluster"), DBParameterGroupFamily: aws.String("aurora-postgresql15"), Description: aws.String("x"),
	})
	var exists *types.DBParameterGroupAlreadyExistsFault
	if !errors.As(err, &exists) {
		t.Errorf("creating an existing group: %v, want *types.DBParameterGroupAlreadyExistsFault", err)
	}
	for _, name := range []string{"1starts-with-digit", "ends-with-hyphen-", "two--hyphens", "under_score", "dot.name"} {
		_, err = c.CreateDBParameterGroup(ctx, &rds.CreateDBParameterGroupInput{
			DBParameterGroupName: aws.String(name), DBParameterGroupFamily: aws.String("aurora-postgresql15"), Description: aws.String("x"),
		})
		if apiCode(err) != "InvalidParameterValue" {
			t.Errorf("creating group %q: %v, want InvalidParameterValue", name, err)
		}
	}
	_, err = c.CreateDBParameterGroup(ctx, &rds.CreateDBParameterGroupInput{
		DBParameterGroupName: aws.String("wrong-family"), DBParameterGroupFamily: aws.String("mysql8.0"), Description: aws.String("x"),
	})
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("creating a mysql8.0 group: %v, want InvalidParameterValue", err)
	}

	// Groups in use and default groups cannot be deleted.
	var badState *types.InvalidDBParameterGroupStateFault
	_, err = c.DeleteDBClusterParameterGroup(ctx, &rds.DeleteDBClusterParameterGroupInput{DBClusterParameterGroupName: aws.String("shared-cluster")})
	if !errors.As(err, &badState) {
		t.Errorf("deleting a group in use: %v, want *types.InvalidDBParameterGroupStateFault", err)
	}
	_, err = c.DeleteDBParameterGroup(ctx, &rds.DeleteDBParameterGroupInput{DBParameterGroupName: aws.String("default.aurora-postgresql15")})
	if !errors.As(err, &badState) {
		t.Errorf("deleting a default group: %v, want *types.InvalidDBParameterGroupStateFault", err)
	}
	_, err = c.DeleteDBParameterGroup(ctx, &rds.DeleteDBParameterGroupInput{DBParameterGroupName: aws.String("no-such-group")})
	if !errors.As(err, &gnf) {
		t.Errorf("deleting an unknown group: %v, want *types.DBParameterGroupNotFoundFault", err)
	}

	// Backup retention period bounds.
	_, err = c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String(clusterShared), BackupRetentionPeriod: aws.Int32(36)})
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("BackupRetentionPeriod 36: %v, want InvalidParameterValue", err)
	}
	_, err = c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String("no-such-cluster"), BackupRetentionPeriod: aws.Int32(7)})
	if !errors.As(err, &cnf) {
		t.Errorf("ModifyDBCluster on an unknown cluster: %v, want *types.DBClusterNotFoundFault", err)
	}
	// Options the emulator does not emulate are refused, not ignored.
	_, err = c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String(clusterShared), BacktrackWindow: aws.Int64(3600)})
	if apiCode(err) != "InvalidParameterValue" || !strings.Contains(err.Error(), "BacktrackWindow") {
		t.Errorf("ModifyDBCluster BacktrackWindow: %v, want InvalidParameterValue naming it", err)
	}
}

// Dynamic parameters applied immediately are in effect on every member at
// once; instance-group values override cluster-group values.
func TestImmediateAndOverride(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c := client(t)
	writer, reader := clusterShared+"-instance-1", clusterShared+"-instance-2"
	_, err := c.ModifyDBClusterParameterGroup(ctx, &rds.ModifyDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String("shared-cluster"),
		Parameters: []types.Parameter{
			{ParameterName: aws.String("log_min_duration_statement"), ParameterValue: aws.String("2500"), ApplyMethod: types.ApplyMethodImmediate},
			{ParameterName: aws.String("statement_timeout"), ParameterValue: aws.String("60000"), ApplyMethod: types.ApplyMethodImmediate},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{writer, reader} {
		if got := show(t, id, "log_min_duration_statement"); got != "2500ms" {
			t.Errorf("%s log_min_duration_statement = %q, want 2500ms", id, got)
		}
		if got := show(t, id, "statement_timeout"); got != "1min" {
			t.Errorf("%s statement_timeout = %q, want 1min", id, got)
		}
	}
	if st := memberStatus(describeCluster(t, ctx, c, clusterShared)); st[writer] != "in-sync" || st[reader] != "in-sync" {
		t.Errorf("statuses after an immediate change = %v, want in-sync", st)
	}
	// The instance group overrides the cluster group.
	_, err = c.ModifyDBParameterGroup(ctx, &rds.ModifyDBParameterGroupInput{
		DBParameterGroupName: aws.String("shared-instance"),
		Parameters:           []types.Parameter{{ParameterName: aws.String("statement_timeout"), ParameterValue: aws.String("30000"), ApplyMethod: types.ApplyMethodImmediate}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := show(t, reader, "statement_timeout"); got != "30s" {
		t.Errorf("statement_timeout with the instance override = %q, want 30s", got)
	}
	// A later cluster-group change does not beat the instance group.
	_, err = c.ModifyDBClusterParameterGroup(ctx, &rds.ModifyDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String("shared-cluster"),
		Parameters:                  []types.Parameter{{ParameterName: aws.String("statement_timeout"), ParameterValue: aws.String("90000"), ApplyMethod: types.ApplyMethodImmediate}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := show(t, writer, "statement_timeout"); got != "30s" {
		t.Errorf("statement_timeout = %q, want the instance group's 30s", got)
	}
	// Resetting the instance value brings the cluster value back.
	_, err = c.ResetDBParameterGroup(ctx, &rds.ResetDBParameterGroupInput{
		DBParameterGroupName: aws.String("shared-instance"),
		Parameters:           []types.Parameter{{ParameterName: aws.String("statement_timeout"), ApplyMethod: types.ApplyMethodImmediate}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := show(t, writer, "statement_timeout"); got != "90s" {
		t.Errorf("statement_timeout after the reset = %q, want the cluster group's 90s", got)
	}
	// A pending-reboot instance-group change shows in ParameterApplyStatus.
	_, err = c.ModifyDBParameterGroup(ctx, &rds.ModifyDBParameterGroupInput{
		DBParameterGroupName: aws.String("shared-instance"),
		Parameters:           []types.Parameter{{ParameterName: aws.String("work_mem"), ParameterValue: aws.String("16384"), ApplyMethod: types.ApplyMethodPendingReboot}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(reader)})
	if err != nil {
		t.Fatal(err)
	}
	pg := out.DBInstances[0].DBParameterGroups
	if len(pg) != 1 || aws.ToString(pg[0].DBParameterGroupName) != "shared-instance" || aws.ToString(pg[0].ParameterApplyStatus) != "pending-reboot" {
		t.Errorf("DBParameterGroups = %+v, want shared-instance pending-reboot", pg)
	}
	if got := show(t, reader, "work_mem"); got == "16MB" {
		t.Errorf("a pending-reboot change took effect before the reboot")
	}
}

// Paging with Marker and MaxRecords, and the Source filter.
func TestPaginationAndCatalog(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c := client(t)
	var names []string
	byName := map[string]types.Parameter{}
	pages := 0
	pg := rds.NewDescribeEngineDefaultClusterParametersPaginator(c, &rds.DescribeEngineDefaultClusterParametersInput{
		DBParameterGroupFamily: aws.String("aurora-postgresql15"), MaxRecords: aws.Int32(50),
	})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if n := len(out.EngineDefaults.Parameters); n > 50 {
			t.Fatalf("page of %d parameters with MaxRecords 50", n)
		}
		for _, p := range out.EngineDefaults.Parameters {
			names = append(names, aws.ToString(p.ParameterName))
			byName[aws.ToString(p.ParameterName)] = p
		}
	}
	if pages < 3 || len(names) < 150 {
		t.Fatalf("%d parameters in %d pages; want the whole pg_settings catalog over several pages", len(names), pages)
	}
	if len(byName) != len(names) || !slices.IsSorted(names) {
		t.Errorf("pages repeat or skip parameters")
	}
	check := func(name, applyType, dataType, allowed string) {
		t.Helper()
		p, ok := byName[name]
		if !ok {
			t.Errorf("engine defaults lack %s", name)
			return
		}
		if aws.ToString(p.ApplyType) != applyType || aws.ToString(p.DataType) != dataType || (allowed != "" && aws.ToString(p.AllowedValues) != allowed) {
			t.Errorf("%s: ApplyType %q DataType %q AllowedValues %q; want %q %q %q", name,
				aws.ToString(p.ApplyType), aws.ToString(p.DataType), aws.ToString(p.AllowedValues), applyType, dataType, allowed)
		}
	}
	check("max_connections", "static", "integer", "1-262143")
	check("work_mem", "dynamic", "integer", "64-2147483647")
	check("log_connections", "dynamic", "boolean", "0,1")
	check("log_statement", "dynamic", "string", "none,ddl,mod,all")
	check("random_page_cost", "dynamic", "float", "")
	check("rds.logical_replication", "static", "boolean", "0,1")
	check("rds.force_ssl", "dynamic", "boolean", "0,1")
	check("shared_preload_libraries", "static", "list", "")
	check("pgaudit.log", "dynamic", "list", "")
	check("pglogical.conflict_resolution", "dynamic", "string", "error,apply_remote,keep_local,last_update_wins,first_update_wins")
	check("pglogical.batch_inserts", "static", "boolean", "0,1")
	if _, ok := byName["port"]; ok {
		t.Errorf("engine defaults list port, which Aurora manages")
	}
	// rds.logical_replication is cluster-only.
	inst, err := c.DescribeEngineDefaultParameters(ctx, &rds.DescribeEngineDefaultParametersInput{
		DBParameterGroupFamily: aws.String("aurora-postgresql15"), MaxRecords: aws.Int32(100),
	})
	if err != nil {
		t.Fatal(err)
	}
	if inst.EngineDefaults.Marker == nil {
		t.Errorf("the first page of instance defaults has no Marker")
	}
	allInst := 0
	ipg := rds.NewDescribeDBParametersPaginator(c, &rds.DescribeDBParametersInput{DBParameterGroupName: aws.String("default.aurora-postgresql15")})
	for ipg.HasMorePages() {
		out, err := ipg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range out.Parameters {
			allInst++
			if aws.ToString(p.ParameterName) == "rds.logical_replication" {
				t.Errorf("a DB parameter group lists the cluster-only rds.logical_replication")
			}
		}
	}
	if allInst == 0 || allInst >= len(names) {
		t.Errorf("%d instance parameters vs %d cluster parameters", allInst, len(names))
	}
	// Source filter: the default group's system values.
	sys, err := c.DescribeDBClusterParameters(ctx, &rds.DescribeDBClusterParametersInput{
		DBClusterParameterGroupName: aws.String("default.aurora-postgresql15"), Source: aws.String("system"),
	})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range sys.Parameters {
		if aws.ToString(p.Source) != "system" {
			t.Errorf("Source=system returned %s with source %q", aws.ToString(p.ParameterName), aws.ToString(p.Source))
		}
		if aws.ToString(p.ParameterName) == "shared_preload_libraries" && aws.ToString(p.ParameterValue) == "pg_stat_statements" {
			found = true
		}
	}
	if !found {
		t.Errorf("the default group does not report shared_preload_libraries=pg_stat_statements as a system value")
	}
	// MaxRecords bounds and bad markers.
	_, err = c.DescribeDBClusterParameters(ctx, &rds.DescribeDBClusterParametersInput{
		DBClusterParameterGroupName: aws.String("default.aurora-postgresql15"), MaxRecords: aws.Int32(19),
	})
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("MaxRecords 19: %v, want InvalidParameterValue", err)
	}
	_, err = c.DescribeDBClusterParameters(ctx, &rds.DescribeDBClusterParametersInput{
		DBClusterParameterGroupName: aws.String("default.aurora-postgresql15"), Marker: aws.String("bogus"),
	})
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("a bogus Marker: %v, want InvalidParameterValue", err)
	}
	groups, err := c.DescribeDBClusterParameterGroups(ctx, &rds.DescribeDBClusterParameterGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var gnames []string
	for _, g := range groups.DBClusterParameterGroups {
		gnames = append(gnames, aws.ToString(g.DBClusterParameterGroupName))
		if aws.ToString(g.DBParameterGroupFamily) != "aurora-postgresql15" || !strings.HasPrefix(aws.ToString(g.DBClusterParameterGroupArn), "arn:aws:rds:us-east-1:") {
			t.Errorf("group %+v", g)
		}
	}
	if !slices.Contains(gnames, "default.aurora-postgresql15") || !slices.Contains(gnames, "shared-cluster") {
		t.Errorf("DescribeDBClusterParameterGroups = %v", gnames)
	}
}

// DescribeDBClusters and DescribeDBInstances report the topology, and the
// endpoints they report accept connections.
func TestDescribeTopologyAndEndpoints(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	c := client(t)
	cl := describeCluster(t, ctx, c, clusterShared)
	if aws.ToString(cl.Engine) != "aurora-postgresql" || aws.ToString(cl.EngineVersion) != "15.4" ||
		aws.ToString(cl.Status) != "available" || aws.ToString(cl.DatabaseName) != "app" ||
		aws.ToString(cl.MasterUsername) != "postgres" || aws.ToString(cl.DBClusterParameterGroup) != "shared-cluster" {
		t.Errorf("cluster = engine %q version %q status %q db %q user %q group %q", aws.ToString(cl.Engine), aws.ToString(cl.EngineVersion),
			aws.ToString(cl.Status), aws.ToString(cl.DatabaseName), aws.ToString(cl.MasterUsername), aws.ToString(cl.DBClusterParameterGroup))
	}
	if len(cl.DBClusterMembers) != 2 || !aws.ToBool(cl.DBClusterMembers[0].IsClusterWriter) || aws.ToBool(cl.DBClusterMembers[1].IsClusterWriter) {
		t.Fatalf("members = %+v", cl.DBClusterMembers)
	}
	if aws.ToInt32(cl.DBClusterMembers[1].PromotionTier) != 1 {
		t.Errorf("reader PromotionTier = %d, want 1", aws.ToInt32(cl.DBClusterMembers[1].PromotionTier))
	}
	all, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{
		Filters: []types.Filter{{Name: aws.String("db-cluster-id"), Values: []string{clusterShared}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.DBInstances) != 2 {
		t.Fatalf("db-cluster-id filter: %d instances, want 2", len(all.DBInstances))
	}
	// Each instance has an address of its own on the cluster's port, as
	// each Aurora instance has an endpoint of its own.
	seen := map[string]bool{aws.ToString(cl.Endpoint): true, aws.ToString(cl.ReaderEndpoint): true}
	for _, in := range all.DBInstances {
		if aws.ToString(in.DBClusterIdentifier) != clusterShared || in.Endpoint == nil || aws.ToInt32(in.Endpoint.Port) != aws.ToInt32(cl.Port) ||
			seen[aws.ToString(in.Endpoint.Address)] || !strings.HasPrefix(aws.ToString(in.Endpoint.Address), "127.") {
			t.Errorf("instance %s: cluster %q endpoint %+v (cluster port %d; addresses so far %v)", aws.ToString(in.DBInstanceIdentifier),
				aws.ToString(in.DBClusterIdentifier), in.Endpoint, aws.ToInt32(cl.Port), seen)
			continue
		}
		seen[aws.ToString(in.Endpoint.Address)] = true
	}
	// Connect through the reported addresses with the master password.
	pw := emulator(t).MasterPassword(clusterShared)
	check := func(host string, port int32, wantRecovery bool, wantID string) {
		t.Helper()
		cfg, err := pgx.ParseConfig("dbname=app sslmode=disable")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Host, cfg.Port, cfg.User, cfg.Password = host, uint16(port), "postgres", pw
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatalf("connecting to %s:%d: %v", host, port, err)
		}
		defer conn.Close(ctx)
		var rec bool
		var id string
		if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery(), aurora_db_instance_identifier()").Scan(&rec, &id); err != nil {
			t.Fatal(err)
		}
		if rec != wantRecovery || wantID != "" && id != wantID {
			t.Errorf("%s:%d pg_is_in_recovery = %v on %s, want %v on %s", host, port, rec, id, wantRecovery, wantID)
		}
	}
	check(aws.ToString(cl.Endpoint), aws.ToInt32(cl.Port), false, clusterShared+"-instance-1")
	check(aws.ToString(cl.ReaderEndpoint), aws.ToInt32(cl.Port), true, clusterShared+"-instance-2")
	for _, in := range all.DBInstances {
		id := aws.ToString(in.DBInstanceIdentifier)
		check(aws.ToString(in.Endpoint.Address), aws.ToInt32(in.Endpoint.Port), id != clusterShared+"-instance-1", id)
	}
	// The master user holds rds_superuser, as on Aurora.
	conn := connect(t, clusterShared+"-instance-1", "app")
	var member bool
	if err := conn.QueryRow(ctx, "SELECT pg_has_role(current_user, 'rds_superuser', 'MEMBER')").Scan(&member); err != nil || !member {
		t.Errorf("master user in rds_superuser: %v %v", member, err)
	}
	// Filters and paging on clusters.
	out, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{
		Filters: []types.Filter{{Name: aws.String("db-cluster-id"), Values: []string{clusterParams, clusterFO}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.DBClusters) != 2 {
		t.Errorf("db-cluster-id filter with two values: %d clusters", len(out.DBClusters))
	}
	_, err = c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{
		Filters: []types.Filter{{Name: aws.String("no-such-filter"), Values: []string{"x"}}},
	})
	if apiCode(err) != "InvalidParameterValue" {
		t.Errorf("unknown filter: %v, want InvalidParameterValue", err)
	}
	if _, err := emulator(t).ConnString("no-such-instance", "postgres"); err == nil {
		t.Errorf("ConnString for an unknown instance did not fail")
	}
}

// ModifyDBCluster goes through "modifying"; a reboot while rebooting is
// refused; many concurrent calls are safe.
func TestAsyncStatesAndConcurrency(t *testing.T) {
	// Not parallel: it changes the shared cluster's state.
	ctx := testCtx(t)
	c := client(t)
	out, err := c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{
		DBClusterIdentifier: aws.String(clusterShared), BackupRetentionPeriod: aws.Int32(7), ApplyImmediately: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.DBCluster.Status); got != "modifying" {
		t.Errorf("status after ModifyDBCluster = %q, want modifying", got)
	}
	_, err = c.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String(clusterShared), BackupRetentionPeriod: aws.Int32(8)})
	var badCluster *types.InvalidDBClusterStateFault
	if !errors.As(err, &badCluster) {
		t.Errorf("modifying a modifying cluster: %v, want *types.InvalidDBClusterStateFault", err)
	}
	waitCluster(t, ctx, c, clusterShared)
	if got := aws.ToInt32(describeCluster(t, ctx, c, clusterShared).BackupRetentionPeriod); got != 7 {
		t.Errorf("BackupRetentionPeriod = %d, want 7", got)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 3; j++ {
				if _, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{}); err != nil {
					errs <- err
				}
				if _, err := c.DescribeDBClusterParameters(ctx, &rds.DescribeDBClusterParametersInput{DBClusterParameterGroupName: aws.String("shared-cluster")}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent call: %v", err)
	}
}

// RebootDBInstance refuses an instance that is already rebooting.
func TestRebootWhileRebooting(t *testing.T) {
	// Not parallel: it changes the shared cluster's state.
	ctx := testCtx(t)
	c := client(t)
	id := clusterShared + "-instance-2"
	if _, err := c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	_, err := c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(id)})
	var bad *types.InvalidDBInstanceStateFault
	if !errors.As(err, &bad) {
		t.Errorf("second reboot: %v, want *types.InvalidDBInstanceStateFault", err)
	}
	waitInstance(t, ctx, c, id)
}
