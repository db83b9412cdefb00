package exampleenv_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
)

// TestRealClusterMode opens the emulator's cluster the way the examples
// open a real one: AURORA_CLUSTER_ID, config.LoadDefaultConfig, the
// cluster's RDS-managed Secrets Manager secret (served by the emulator)
// and a CA bundle file.
func TestRealClusterMode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	emu := auroratest.NewT(t, auroratest.WithCluster("prod", auroratest.ClusterConfig{Instances: 1, ManageMasterUserPassword: true}))
	password := emu.MasterPassword("prod")
	exampletest.UseAWSEmulator(t, emu)
	arn := emu.MasterUserSecretARN("prod")
	reads := func() int { return emu.CallCount("GetSecretValue") }
	bundle := filepath.Join(t.TempDir(), "global-bundle.pem")
	if err := os.WriteFile(bundle, emu.CABundlePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, v := range exampleenv.Variables {
		t.Setenv(v, "")
	}
	t.Setenv(exampleenv.EnvClusterID, "prod")

	// No database credentials: a clear error naming both variables.
	var out bytes.Buffer
	if _, err := exampleenv.Open(ctx, exampleenv.Options{Out: &out}); err == nil ||
		!strings.Contains(err.Error(), exampleenv.EnvSecretARN) || !strings.Contains(err.Error(), exampleenv.EnvDBUser) {
		t.Errorf("Open without credentials: %v", err)
	}
	// A change without -yes is refused before anything is called.
	t.Setenv(exampleenv.EnvSecretARN, arn)
	t.Setenv(exampleenv.EnvCABundle, bundle)
	if _, err := exampleenv.Open(ctx, exampleenv.Options{Out: &out, Changes: "reboots everything"}); err == nil ||
		!strings.Contains(err.Error(), "reboots everything") || !strings.Contains(err.Error(), "-yes") {
		t.Errorf("Open with changes and no -yes: %v", err)
	}
	if n := reads(); n != 0 {
		t.Errorf("refusals read the secret %d times", n)
	}

	out.Reset()
	env, err := exampleenv.Open(ctx, exampleenv.Options{Out: &out, Changes: "reboots everything", Yes: true})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	t.Logf("output:\n%s", &out)
	if env.Emulated() {
		t.Errorf("real-cluster mode reports Emulated")
	}
	for _, want := range []string{"mode: real cluster prod in us-east-1", "the CA bundle " + bundle, arn} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Verify-full against the bundle, with the secret's credentials.
	w, err := env.Cluster.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ssl bool
	if err := w.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		t.Fatalf("connection through the secret: ssl=%v, %v", ssl, err)
	}
	if reads() == 0 {
		t.Error("the secret was never read")
	}
	user, pw, err := env.Password(ctx, "prod")
	if err != nil || user != "postgres" || pw != password {
		t.Errorf("Password: %q, (%d bytes), %v", user, len(pw), err)
	}
	if strings.Contains(out.String(), password) {
		t.Error("the output holds the password")
	}
	// After a rotation of the secret, new connections and Password
	// follow it.
	if err := emu.RotateMasterPassword(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	w.PGXPool().Reset()
	if err := w.Ping(ctx); err != nil {
		t.Errorf("a new connection after the secret's rotation: %v", err)
	}
	if _, pw, err := env.Password(ctx, "prod"); err != nil || pw != emu.MasterPassword("prod") || pw == password {
		t.Errorf("Password after the rotation: (%d bytes), %v; want the new password", len(pw), err)
	}

	// IAM authentication has no password to hand out.
	t.Setenv(exampleenv.EnvSecretARN, "")
	t.Setenv(exampleenv.EnvDBUser, "app_user")
	out.Reset()
	iam, err := exampleenv.Open(ctx, exampleenv.Options{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer iam.Close()
	if !strings.Contains(out.String(), `IAM authentication for user "app_user"`) {
		t.Errorf("IAM mode output:\n%s", &out)
	}
	if _, _, err := iam.Password(ctx, "prod"); err == nil || !strings.Contains(err.Error(), "IAM") {
		t.Errorf("Password with IAM authentication: %v", err)
	}

	// A secret that is not the JSON RDS writes: the error names the
	// secret, never its text.
	sm := secretsmanager.NewFromConfig(emu.AWSConfig())
	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("prod-db-malformed"), SecretString: aws.String("not-json-" + password)})
	if err != nil {
		t.Fatal(err)
	}
	badARN := aws.ToString(created.ARN)
	t.Setenv(exampleenv.EnvSecretARN, badARN)
	t.Setenv(exampleenv.EnvDBUser, "")
	bad, err := exampleenv.Open(ctx, exampleenv.Options{Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if _, _, err := bad.Password(ctx, "prod"); err == nil || strings.Contains(err.Error(), password) || !strings.Contains(err.Error(), badARN) {
		t.Errorf("Password from a malformed secret: %v", err)
	}
	// A secret that does not exist: Secrets Manager's error, naming it.
	t.Setenv(exampleenv.EnvSecretARN, arn+"-gone")
	gone, err := exampleenv.Open(ctx, exampleenv.Options{Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer gone.Close()
	var nf *smtypes.ResourceNotFoundException
	if _, _, err := gone.Password(ctx, "prod"); !errors.As(err, &nf) || !strings.Contains(err.Error(), arn+"-gone") {
		t.Errorf("Password from a missing secret: %v; want *types.ResourceNotFoundException naming it", err)
	}
}
