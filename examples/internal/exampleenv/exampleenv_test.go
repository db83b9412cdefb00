package exampleenv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
)

// secretsStub answers Secrets Manager's GetSecretValue (JSON 1.1
// protocol) with one secret string, counting the calls. Secrets Manager is
// an AWS service the emulator does not cover; the database behind the
// secret is real.
type secretsStub struct {
	arn, value string
	calls      atomic.Int32
}

func (s *secretsStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	var in struct{ SecretId string }
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || json.Unmarshal(body, &in) != nil || in.SecretId != s.arn {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`))
		return
	}
	out, _ := json.Marshal(map[string]any{"ARN": s.arn, "Name": "demo", "SecretString": s.value, "VersionId": "v1"})
	_, _ = w.Write(out)
}

// TestRealClusterMode opens the emulator's cluster the way the examples
// open a real one: AURORA_CLUSTER_ID, config.LoadDefaultConfig, a Secrets
// Manager secret and a CA bundle file.
func TestRealClusterMode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	emu := auroratest.NewT(t, auroratest.WithCluster("prod", auroratest.ClusterConfig{Instances: 1}))
	password := emu.MasterPassword("prod")
	exampletest.UseAWSEmulator(t, emu)
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod-db-AbCdEf"
	value, _ := json.Marshal(map[string]string{"username": "postgres", "password": password})
	stub := &secretsStub{arn: arn, value: string(value)}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", srv.URL)
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
	if n := stub.calls.Load(); n != 0 {
		t.Errorf("refusals read the secret %d times", n)
	}

	out.Reset()
	env, err := exampleenv.Open(ctx, exampleenv.Options{Out: &out, Changes: "reboots everything", Yes: true})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	t.Logf("output:\n%s", &out)
	if env.Emulated() || env.Poll.Interval != 0 {
		t.Errorf("real-cluster mode reports Emulated=%v, Poll %+v", env.Emulated(), env.Poll)
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
	if stub.calls.Load() == 0 {
		t.Error("the secret was never read")
	}
	user, pw, err := env.Password(ctx, "prod")
	if err != nil || user != "postgres" || pw != password {
		t.Errorf("Password: %q, (%d bytes), %v", user, len(pw), err)
	}
	if strings.Contains(out.String(), password) {
		t.Error("the output holds the password")
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
	stub.value = "not-json-" + password
	t.Setenv(exampleenv.EnvSecretARN, arn)
	t.Setenv(exampleenv.EnvDBUser, "")
	bad, err := exampleenv.Open(ctx, exampleenv.Options{Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if _, _, err := bad.Password(ctx, "prod"); err == nil || strings.Contains(err.Error(), password) || !strings.Contains(err.Error(), arn) {
		t.Errorf("Password from a malformed secret: %v", err)
	}
}
