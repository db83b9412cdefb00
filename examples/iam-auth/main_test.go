package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
)

func TestIAMAuth(t *testing.T) {
	exampletest.Run(t, run, nil,
		`mode: local Aurora emulator`,
		`static password for user "app_reader": logged in as app_reader \(TLS true\)`,
		`iam-demo: IAM database authentication off`,
		`refused at step "check roles app_reader, pgaurora_no_such_role": .*roles\[1\] is "pgaurora_no_such_role"; want an existing role`,
		`enable IAM database authentication on iam-demo: changed`,
		`grant rds_iam to app_reader: changed`,
		`verify IAM login as app_reader: unchanged \(logged in at iam-demo-instance-1 with a fresh IAM token`,
		`second run: nothing to change`,
		`IAM authentication for user "app_reader" in us-east-1: logged in as app_reader \(TLS true\)`,
		`the password of app_reader is refused now: .*LDAP authentication failed.*SQLSTATE 28000`,
		`iam-demo: IAM database authentication off -> on; IAM tokens log in as app_reader`,
	)
}

// TestIAMAuthRealClusterPath runs the example the way it runs against AWS
// (AURORA_CLUSTER_ID, a Secrets Manager secret, a CA bundle file,
// config.LoadDefaultConfig), with the AWS environment pointing at an
// emulator and holding the emulated account's keys, which the tokens must
// be signed with.
func TestIAMAuthRealClusterPath(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	emu := auroratest.NewT(t, auroratest.WithCluster("prod-like", auroratest.ClusterConfig{ManageMasterUserPassword: true}), auroratest.WithTransitionDelay(0))
	exampletest.UseAWSEmulator(t, emu)
	keys, err := emu.AWSConfig().Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", keys.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", keys.SecretAccessKey)
	bundle := filepath.Join(t.TempDir(), "global-bundle.pem")
	if err := os.WriteFile(bundle, emu.CABundlePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	// The role must exist on a real cluster.
	dsn, err := emu.ConnString("prod-like-instance-1", "postgres")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE ROLE svc_app LOGIN"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	vars := map[string]string{
		exampleenv.EnvClusterID: "prod-like",
		exampleenv.EnvSecretARN: emu.MasterUserSecretARN("prod-like"),
		exampleenv.EnvCABundle:  bundle,
	}

	// Without -yes it refuses, saying what it would change; without
	// -roles it asks for them.
	if err := exampletest.Fails(t, vars, run, []string{"-roles", "svc_app"}); !strings.Contains(err.Error(), "-yes") || !strings.Contains(err.Error(), "rds_iam") {
		t.Errorf("without -yes: %v; want a refusal naming -yes and the change", err)
	}
	if err := exampletest.Fails(t, vars, run, []string{"-yes"}); !strings.Contains(err.Error(), "-roles") {
		t.Errorf("without -roles: %v; want an error asking for -roles", err)
	}

	exampletest.RunWith(t, vars, run, []string{"-roles", "svc_app", "-yes"},
		`mode: real cluster prod-like in us-east-1, verifying servers against the CA bundle`,
		`prod-like: IAM database authentication off`,
		`grant rds_iam to svc_app: changed`,
		`IAM authentication for user "svc_app" in us-east-1: logged in as svc_app \(TLS true\)`,
		`prod-like: IAM database authentication off -> on; IAM tokens log in as svc_app`,
	)
}
