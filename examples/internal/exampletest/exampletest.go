// Package exampletest runs an example program's run function in a test,
// against the local emulator, and checks what it printed.
package exampletest

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
)

// Timeout bounds one example run in a test.
const Timeout = 2 * time.Minute

// Run clears the variables that select a real cluster (so the example runs
// against the emulator even on a machine configured for AWS), runs the
// example with args, and fails the test when it returns an error or its
// output lacks a match for one of the regular expressions in want, or
// holds an emulated cluster's master password. It returns the output,
// which it also logs.
func Run(t *testing.T, run func(ctx context.Context, out io.Writer, args []string) error, args []string, want ...string) string {
	t.Helper()
	return RunWith(t, nil, run, args, want...)
}

// RunWith is Run with the variables vars set after the real-cluster ones
// are cleared: with AURORA_CLUSTER_ID among them (and UseAWSEmulator),
// the example takes its real-cluster path against an emulator.
func RunWith(t *testing.T, vars map[string]string, run func(ctx context.Context, out io.Writer, args []string) error, args []string, want ...string) string {
	t.Helper()
	out, err := runExample(t, vars, run, args)
	if err != nil {
		t.Fatalf("the example failed: %v", err)
	}
	for _, w := range want {
		if !regexp.MustCompile(w).MatchString(out) {
			t.Errorf("output lacks %q", w)
		}
	}
	return out
}

// Fails is RunWith for a run that must fail: it fails the test when the
// example succeeds, or prints an emulated master password (in its output
// or its error), and returns the example's error for the test to check.
func Fails(t *testing.T, vars map[string]string, run func(ctx context.Context, out io.Writer, args []string) error, args []string) error {
	t.Helper()
	_, err := runExample(t, vars, run, args)
	if err == nil {
		t.Fatalf("the example succeeded with %q; want a failure", args)
	}
	return err
}

// runExample runs the example with args and vars set after the
// real-cluster variables are cleared, logs its output, and fails the test
// when the output or the error holds an emulated master password.
func runExample(t *testing.T, vars map[string]string, run func(ctx context.Context, out io.Writer, args []string) error, args []string) (string, error) {
	t.Helper()
	for _, v := range exampleenv.Variables {
		t.Setenv(v, "")
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	var secrets []string
	exampleenv.OnOpen = func(env *exampleenv.Env) {
		for _, c := range []*aurora.Cluster{env.Cluster, env.B} {
			if c != nil && env.Emulated() {
				secrets = append(secrets, env.Emulator.MasterPassword(c.ID()))
			}
		}
	}
	t.Cleanup(func() { exampleenv.OnOpen = nil })
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	var out bytes.Buffer
	start := time.Now()
	err := run(ctx, &out, args)
	t.Logf("output (%s):\n%s", time.Since(start).Round(time.Millisecond), out.String())
	for _, s := range secrets {
		if s != "" && (strings.Contains(out.String(), s) || err != nil && strings.Contains(err.Error(), s)) {
			t.Errorf("the example printed a master password")
		}
	}
	return out.String(), err
}

// UseAWSEmulator sets the AWS environment so that
// config.LoadDefaultConfig, as an example calls it against a real cluster,
// reaches the emulator's RDS, Secrets Manager, CloudWatch, CloudWatch Logs
// and Performance Insights APIs (AWS_ENDPOINT_URL_RDS, ..._SECRETS_MANAGER,
// ..._CLOUDWATCH, ..._CLOUDWATCH_LOGS, ..._PI) in its Region
// with dummy static credentials, and reads no shared config or credentials
// file.
func UseAWSEmulator(t *testing.T, emu *auroratest.Emulator) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_REGION":                       emu.Region(),
		"AWS_ACCESS_KEY_ID":                "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":            "example-secret-access-key",
		"AWS_SESSION_TOKEN":                "",
		"AWS_PROFILE":                      "",
		"AWS_CONFIG_FILE":                  filepath.Join(t.TempDir(), "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE":      filepath.Join(t.TempDir(), "no-credentials"),
		"AWS_EC2_METADATA_DISABLED":        "true",
		"AWS_ENDPOINT_URL":                 "",
		"AWS_ENDPOINT_URL_RDS":             emu.Endpoint(),
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": emu.Endpoint(),
		"AWS_ENDPOINT_URL_CLOUDWATCH":      emu.Endpoint(),
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": emu.Endpoint(),
		"AWS_ENDPOINT_URL_PI":              emu.Endpoint(),
	} {
		t.Setenv(k, v)
	}
}
