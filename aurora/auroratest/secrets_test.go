package auroratest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
)

// rdsSecret is the SecretString of an RDS-managed master user secret.
type rdsSecret struct {
	Username            string `json:"username"`
	Password            string `json:"password"`
	Engine              string `json:"engine"`
	Host                string `json:"host"`
	Port                int    `json:"port"`
	DBClusterIdentifier string `json:"dbClusterIdentifier"`
}

func readSecret(t *testing.T, ctx context.Context, sm *secretsmanager.Client, in *secretsmanager.GetSecretValueInput) (rdsSecret, *secretsmanager.GetSecretValueOutput) {
	t.Helper()
	out, err := sm.GetSecretValue(ctx, in)
	if err != nil {
		t.Fatalf("GetSecretValue %s: %v", aws.ToString(in.SecretId), err)
	}
	var v rdsSecret
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil {
		t.Fatalf("the secret's value is not JSON: %v", err) // err quotes no part of the value
	}
	return v, out
}

// connectAs connects to one instance as user with password.
func connectAs(ctx context.Context, t *testing.T, instanceID, user, password string) (*pgx.Conn, error) {
	t.Helper()
	cs, err := emulator(t).ConnString(instanceID, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(cs)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, password)
	return pgx.Connect(ctx, u.String())
}

// instanceLog downloads every log file of an instance once.
func instanceLog(t *testing.T, ctx context.Context, c *rds.Client, instanceID string) string {
	t.Helper()
	files, err := c.DescribeDBLogFiles(ctx, &rds.DescribeDBLogFilesInput{DBInstanceIdentifier: aws.String(instanceID)})
	if err != nil {
		t.Fatalf("DescribeDBLogFiles: %v", err)
	}
	var all strings.Builder
	for _, f := range files.DescribeDBLogFiles {
		p := rds.NewDownloadDBLogFilePortionPaginator(c, &rds.DownloadDBLogFilePortionInput{
			DBInstanceIdentifier: aws.String(instanceID), LogFileName: f.LogFileName, Marker: aws.String("0"),
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("DownloadDBLogFilePortion: %v", err)
			}
			all.WriteString(aws.ToString(out.LogFileData))
		}
	}
	return all.String()
}

// TestManagedMasterUserSecret reads a cluster's RDS-managed secret through
// the real Secrets Manager client, rotates it (RotateSecret and the hook),
// and checks that the servers, the secret and DescribeDBClusters agree
// after each rotation, that the readers keep replicating, and that no
// server log holds a password.
func TestManagedMasterUserSecret(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	emu := emulator(t)
	c := client(t)
	sm := secretsmanager.NewFromConfig(emu.AWSConfig())
	writer, reader := clusterSM+"-instance-1", clusterSM+"-instance-2"

	arn := emu.MasterUserSecretARN(clusterSM)
	if !strings.HasPrefix(arn, "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-") {
		t.Fatalf("MasterUserSecretARN = %q", arn)
	}
	if got := emu.MasterUserSecretARN(clusterShared); got != "" {
		t.Errorf("MasterUserSecretARN of a cluster without a managed secret = %q", got)
	}
	cl := describeCluster(t, ctx, c, clusterSM)
	if s := cl.MasterUserSecret; s == nil || aws.ToString(s.SecretArn) != arn || aws.ToString(s.SecretStatus) != "active" ||
		!strings.HasPrefix(aws.ToString(s.KmsKeyId), "arn:aws:kms:us-east-1:123456789012:key/") {
		t.Errorf("DescribeDBClusters MasterUserSecret = %+v, want ARN %s, active, a KMS key", s, arn)
	}
	if s := describeCluster(t, ctx, c, clusterShared).MasterUserSecret; s != nil {
		t.Errorf("a cluster without ManageMasterUserPassword reports MasterUserSecret %+v", s)
	}

	// The value, by ARN, by name and by partial ARN.
	first, out := readSecret(t, ctx, sm, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if first.Username != "postgres" || first.Password != emu.MasterPassword(clusterSM) || first.Engine != "postgres" ||
		first.Host != aws.ToString(cl.Endpoint) || first.Port != int(aws.ToInt32(cl.Port)) || first.DBClusterIdentifier != clusterSM {
		t.Errorf("secret = user %q engine %q host %q port %d cluster %q (password matches: %v)",
			first.Username, first.Engine, first.Host, first.Port, first.DBClusterIdentifier, first.Password == emu.MasterPassword(clusterSM))
	}
	if aws.ToString(out.ARN) != arn || len(out.VersionStages) != 1 || out.VersionStages[0] != "AWSCURRENT" || out.CreatedDate == nil {
		t.Errorf("GetSecretValue ARN %s stages %v created %v", aws.ToString(out.ARN), out.VersionStages, out.CreatedDate)
	}
	firstVersion := aws.ToString(out.VersionId)
	name := aws.ToString(out.Name)
	for _, id := range []string{name, arn[:len(arn)-7]} {
		if v, _ := readSecret(t, ctx, sm, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}); v.Password != first.Password {
			t.Errorf("GetSecretValue by %q returned another password", id)
		}
	}
	// The secret's credentials log in, on the writer and on the reader.
	for _, id := range []string{writer, reader} {
		conn, err := connectAs(ctx, t, id, first.Username, first.Password)
		if err != nil {
			t.Fatalf("connecting to %s with the secret: %v", id, err)
		}
		conn.Close(ctx)
	}

	d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.OwningService) != "rds" || !aws.ToBool(d.RotationEnabled) || aws.ToString(d.Name) != name ||
		len(d.VersionIdsToStages) != 1 || d.VersionIdsToStages[firstVersion][0] != "AWSCURRENT" || d.LastRotatedDate != nil {
		t.Errorf("DescribeSecret = owner %q rotation %v name %q stages %v last rotated %v",
			aws.ToString(d.OwningService), aws.ToBool(d.RotationEnabled), aws.ToString(d.Name), d.VersionIdsToStages, d.LastRotatedDate)
	}

	// A session opened before the rotation stays open.
	before, err := connectAs(ctx, t, writer, first.Username, first.Password)
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close(ctx)

	rot, err := sm.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatalf("RotateSecret: %v", err)
	}
	second, out := readSecret(t, ctx, sm, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if second.Password == first.Password || second.Password != emu.MasterPassword(clusterSM) || len(second.Password) < 20 {
		t.Errorf("after RotateSecret: the password changed: %v; MasterPassword follows: %v; length %d",
			second.Password != first.Password, second.Password == emu.MasterPassword(clusterSM), len(second.Password))
	}
	if aws.ToString(out.VersionId) != aws.ToString(rot.VersionId) || aws.ToString(rot.ARN) != arn {
		t.Errorf("RotateSecret returned version %s of %s; GetSecretValue has %s", aws.ToString(rot.VersionId), aws.ToString(rot.ARN), aws.ToString(out.VersionId))
	}
	if prev, _ := readSecret(t, ctx, sm, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSPREVIOUS")}); prev.Password != first.Password {
		t.Error("AWSPREVIOUS is not the password before the rotation")
	}
	if _, err := before.Exec(ctx, "SELECT 1"); err != nil {
		t.Errorf("a session opened before the rotation: %v", err)
	}
	for _, id := range []string{writer, reader} {
		_, err := connectAs(ctx, t, id, first.Username, first.Password)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
			t.Errorf("%s with the old password: %v; want SQLSTATE 28P01", id, err)
		}
		conn, err := connectAs(ctx, t, id, second.Username, second.Password)
		if err != nil {
			t.Fatalf("%s with the new password: %v", id, err)
		}
		conn.Close(ctx)
	}
	// The same ClientRequestToken again is a repeat, not a new rotation.
	again, err := sm.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(arn), ClientRequestToken: rot.VersionId})
	if err != nil || aws.ToString(again.VersionId) != aws.ToString(rot.VersionId) || emu.MasterPassword(clusterSM) != second.Password {
		t.Errorf("RotateSecret repeated: version %s, %v; the password changed: %v", aws.ToString(again.VersionId), err, emu.MasterPassword(clusterSM) != second.Password)
	}

	// The test hook rotates the same way.
	if err := emu.RotateMasterPassword(ctx, clusterSM); err != nil {
		t.Fatal(err)
	}
	third, _ := readSecret(t, ctx, sm, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if third.Password == second.Password || third.Password != emu.MasterPassword(clusterSM) {
		t.Error("RotateMasterPassword did not change the secret's password")
	}
	d, err = sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.VersionIdsToStages) != 2 || d.LastRotatedDate == nil || d.NextRotationDate == nil {
		t.Errorf("DescribeSecret after rotations: stages %v, last rotated %v, next %v", d.VersionIdsToStages, d.LastRotatedDate, d.NextRotationDate)
	}
	if s := describeCluster(t, ctx, c, clusterSM).MasterUserSecret; s == nil || aws.ToString(s.SecretStatus) != "active" {
		t.Errorf("MasterUserSecret after the rotations: %+v", s)
	}

	// The emulator's own work (a writer reboot, after which the reader's
	// WAL receiver reconnects) goes on with the new password.
	rebootAndWait(t, ctx, c, writer)
	w := connect(t, writer, "postgres")
	if _, err := w.Exec(ctx, "CREATE TABLE after_rotation(v int)"); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, ctx, reader, "postgres", "SELECT count(*) = 1 FROM pg_class WHERE relname = 'after_rotation'")

	// No log line holds a password; the refused logins are logged.
	for _, id := range []string{writer, reader} {
		log := instanceLog(t, ctx, c, id)
		for _, pw := range []string{first.Password, second.Password, third.Password} {
			if strings.Contains(log, pw) {
				t.Errorf("the log of %s holds a master password", id)
			}
		}
		if id == writer && !strings.Contains(log, `password authentication failed for user "postgres"`) {
			t.Errorf("the log of %s does not show the refused login", id)
		}
	}
}

// TestSecretsManagerProtocol checks the JSON protocol's errors and the
// plain secrets of CreateSecret through the real client.
func TestSecretsManagerProtocol(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	emu := emulator(t)
	sm := secretsmanager.NewFromConfig(emu.AWSConfig())

	_, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("no-such-secret")})
	var nf *smtypes.ResourceNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(nf.ErrorMessage(), "can't find the specified secret") {
		t.Errorf("GetSecretValue of an unknown secret: %v; want *types.ResourceNotFoundException", err)
	}
	_, err = sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("no-such-secret")})
	if !errors.As(err, &nf) {
		t.Errorf("DescribeSecret of an unknown secret: %v; want *types.ResourceNotFoundException", err)
	}
	_, err = sm.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String("no-such-secret")})
	if !errors.As(err, &nf) {
		t.Errorf("RotateSecret of an unknown secret: %v; want *types.ResourceNotFoundException", err)
	}
	arn := emu.MasterUserSecretARN(clusterSM)
	_, err = sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSPENDING")})
	if !errors.As(err, &nf) {
		t.Errorf("GetSecretValue AWSPENDING: %v; want *types.ResourceNotFoundException", err)
	}
	// Members the emulator does not emulate are refused by name.
	_, err = sm.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(arn), RotationRules: &smtypes.RotationRulesType{AutomaticallyAfterDays: aws.Int64(3)}})
	var ip *smtypes.InvalidParameterException
	if !errors.As(err, &ip) || !strings.Contains(ip.ErrorMessage(), "RotationRules") {
		t.Errorf("RotateSecret with RotationRules: %v; want *types.InvalidParameterException naming it", err)
	}
	_, err = sm.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(arn), RotateImmediately: aws.Bool(false)})
	if !errors.As(err, &ip) {
		t.Errorf("RotateSecret with RotateImmediately false: %v; want *types.InvalidParameterException", err)
	}
	// Operations it does not emulate.
	_, err = sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	if apiCode(err) != "UnknownOperationException" {
		t.Errorf("ListSecrets: %v; want UnknownOperationException", err)
	}

	// A plain secret: created, read, described; it cannot be rotated.
	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("app/db-" + strconv.Itoa(emu.CallCount("CreateSecret"))), SecretString: aws.String(`{"k":"v"}`), Description: aws.String("test"),
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: created.ARN})
	if err != nil || aws.ToString(got.SecretString) != `{"k":"v"}` || aws.ToString(got.VersionId) != aws.ToString(created.VersionId) {
		t.Errorf("GetSecretValue of a created secret: %v", err)
	}
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: created.Name, SecretString: aws.String("x")})
	var exists *smtypes.ResourceExistsException
	if !errors.As(err, &exists) {
		t.Errorf("CreateSecret of an existing name: %v; want *types.ResourceExistsException", err)
	}
	d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: created.Name})
	if err != nil || aws.ToString(d.Description) != "test" || aws.ToBool(d.RotationEnabled) || d.OwningService != nil {
		t.Errorf("DescribeSecret of a created secret: %+v, %v", d, err)
	}
	_, err = sm.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: created.ARN})
	var ir *smtypes.InvalidRequestException
	if !errors.As(err, &ir) {
		t.Errorf("RotateSecret of a secret RDS does not manage: %v; want *types.InvalidRequestException", err)
	}
	if n := emu.CallCount("GetSecretValue"); n < 3 {
		t.Errorf("CallCount(GetSecretValue) = %d, want at least 3", n)
	}

	// The rotation hook refuses unknown clusters.
	if err := emu.RotateMasterPassword(ctx, "no-such-cluster"); err == nil {
		t.Error("RotateMasterPassword of an unknown cluster succeeded")
	}
}

// Throttling reaches Secrets Manager calls too, under Secrets Manager's
// name, and the SDK retries it.
func TestSecretsManagerThrottling(t *testing.T) {
	// Not parallel: the API faults apply to every caller.
	ctx := testCtx(t)
	emu := emulator(t)
	in := &secretsmanager.DescribeSecretInput{SecretId: aws.String(emu.MasterUserSecretARN(clusterSM))}
	emu.ThrottleNext(1)
	if _, err := secretsmanager.NewFromConfig(emu.AWSConfig()).DescribeSecret(ctx, in); err != nil {
		t.Errorf("DescribeSecret after one throttled attempt: %v", err)
	}
	noRetry := secretsmanager.NewFromConfig(emu.AWSConfig(), func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 })
	emu.ThrottleNext(1)
	if _, err := noRetry.DescribeSecret(ctx, in); apiCode(err) != "ThrottlingException" {
		t.Errorf("a throttled DescribeSecret: %v; want ThrottlingException", err)
	}
}

// TestManagedPasswordConfig: ManageMasterUserPassword and MasterPassword
// contradict each other, as on RDS.
func TestManagedPasswordConfig(t *testing.T) {
	t.Parallel()
	_, err := auroratest.Start(context.Background(), auroratest.WithCluster("x", auroratest.ClusterConfig{ManageMasterUserPassword: true, MasterPassword: "abcdefgh1"}))
	if err == nil || !strings.Contains(err.Error(), "ManageMasterUserPassword") {
		t.Errorf("Start with MasterPassword and ManageMasterUserPassword: %v", err)
	}
}
