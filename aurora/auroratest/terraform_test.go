package auroratest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
)

// tfPluginMirror is where these machines keep the Terraform AWS provider
// (a filesystem mirror); TF_PLUGIN_MIRROR overrides it.
const tfPluginMirror = "/opt/tf-plugins"

const tfConfig = `
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

variable "endpoint" { type = string }
variable "statement_timeout" { type = string }

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "AKIAAURORATESTLOCAL0"
  secret_key                  = "not-checked"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    rds = var.endpoint
  }
}

resource "aws_rds_cluster_parameter_group" "cluster" {
  name        = "tf-cluster-params"
  family      = "aurora-postgresql15"
  description = "auroratest terraform cluster parameters"
  parameter {
    name         = "log_min_duration_statement"
    value        = "250"
    apply_method = "immediate"
  }
  parameter {
    name         = "rds.logical_replication"
    value        = "1"
    apply_method = "pending-reboot"
  }
  tags = { env = "test" }
}

resource "aws_db_parameter_group" "instance" {
  name        = "tf-instance-params"
  family      = "aurora-postgresql15"
  description = "auroratest terraform instance parameters"
  parameter {
    name         = "statement_timeout"
    value        = var.statement_timeout
    apply_method = "immediate"
  }
  tags = { env = "test" }
}

resource "aws_rds_cluster" "main" {
  cluster_identifier                  = "tf-main"
  engine                              = "aurora-postgresql"
  engine_version                      = "15.4"
  database_name                       = "app"
  master_username                     = "master"
  master_password                     = "tf-password-1"
  db_cluster_parameter_group_name     = aws_rds_cluster_parameter_group.cluster.name
  iam_database_authentication_enabled = true
  storage_encrypted                   = true
  deletion_protection                 = false
  skip_final_snapshot                 = true
  apply_immediately                   = true
  tags                                = { env = "test" }
}

resource "aws_rds_cluster_instance" "main" {
  count                   = 2
  identifier              = "tf-main-${count.index}"
  cluster_identifier      = aws_rds_cluster.main.id
  instance_class          = "db.r6g.large"
  engine                  = aws_rds_cluster.main.engine
  engine_version          = aws_rds_cluster.main.engine_version
  db_parameter_group_name = aws_db_parameter_group.instance.name
  apply_immediately       = true
  tags                    = { env = "test" }
}
`

// terraform runs terraform in dir and returns its exit code; output goes
// to the test log.
func terraform(t *testing.T, ctx context.Context, dir string, env []string, args ...string) int {
	t.Helper()
	cmd := exec.CommandContext(ctx, "terraform", args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("terraform %s (%.1fs):\n%s", strings.Join(args, " "), time.Since(start).Seconds(), tail(out.String(), 60))
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		t.Fatalf("terraform %s: %v", args[0], err)
	}
	return 0
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// TestTerraform drives the real Terraform AWS provider against the
// emulator: parameter groups with parameters and tags, a cluster with two
// instances, IAM authentication and encryption apply; a plan then shows
// no drift; a changed parameter applies in place; destroy removes it all.
func TestTerraform(t *testing.T) {
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Skip("terraform is not on PATH: the Terraform acceptance test needs it and the AWS provider's filesystem mirror")
	}
	mirror := tfPluginMirror
	if m := os.Getenv("TF_PLUGIN_MIRROR"); m != "" {
		mirror = m
	}
	if _, err := os.Stat(filepath.Join(mirror, "registry.terraform.io", "hashicorp", "aws")); err != nil {
		t.Skipf("the Terraform AWS provider is not in the filesystem mirror %s (set TF_PLUGIN_MIRROR): %v", mirror, err)
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e := auroratest.NewT(t)
	c := rds.NewFromConfig(e.AWSConfig())

	dir := t.TempDir()
	cli := filepath.Join(dir, "terraformrc")
	if err := os.WriteFile(cli, []byte(fmt.Sprintf("provider_installation {\n  filesystem_mirror {\n    path = %q\n  }\n}\n", mirror)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(tfConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	// A plugin cache outside the test's directory: later runs link the
	// provider (hundreds of megabytes) instead of copying it.
	cache := filepath.Join(os.TempDir(), "pgaurora-terraform-plugin-cache")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "TF_CLI_CONFIG_FILE="+cli, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "TF_PLUGIN_CACHE_DIR="+cache,
		"TF_VAR_endpoint="+e.Endpoint(), "TF_VAR_statement_timeout=30000",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	if code := terraform(t, ctx, dir, env, "init", "-input=false", "-no-color"); code != 0 {
		t.Fatalf("terraform init exited %d", code)
	}
	apply := []string{"apply", "-input=false", "-auto-approve", "-no-color", "-parallelism=4"}
	if code := terraform(t, ctx, dir, env, apply...); code != 0 {
		t.Fatalf("terraform apply exited %d", code)
	}
	cl, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("tf-main")})
	if err != nil {
		t.Fatal(err)
	}
	if got := cl.DBClusters[0]; len(got.DBClusterMembers) != 2 || !aws.ToBool(got.IAMDatabaseAuthenticationEnabled) || !aws.ToBool(got.StorageEncrypted) {
		t.Fatalf("after apply the cluster is %+v", got)
	}
	if code := terraform(t, ctx, dir, env, "plan", "-input=false", "-no-color", "-detailed-exitcode"); code != 0 {
		t.Fatalf("terraform plan -detailed-exitcode after apply exited %d, want 0 (no drift)", code)
	}

	// A changed parameter value applies in place.
	// The state was just refreshed by the plan: the last two commands
	// skip their refresh, the slowest part of a provider run.
	env2 := append(env, "TF_VAR_statement_timeout=45000")
	if code := terraform(t, ctx, dir, env2, append(apply, "-refresh=false")...); code != 0 {
		t.Fatalf("terraform apply of a changed parameter exited %d", code)
	}
	ps, err := c.DescribeDBParameters(ctx, &rds.DescribeDBParametersInput{DBParameterGroupName: aws.String("tf-instance-params"), Source: aws.String("user")})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps.Parameters) != 1 || aws.ToString(ps.Parameters[0].ParameterValue) != "45000" {
		t.Errorf("after the change the group holds %+v, want statement_timeout 45000", ps.Parameters)
	}
	cs, err := e.ConnString("tf-main-0", "app")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var timeout string
	if err := conn.QueryRow(ctx, "SHOW statement_timeout").Scan(&timeout); err != nil || timeout != "45s" {
		t.Errorf("the instance runs with statement_timeout %q (%v), want 45s", timeout, err)
	}
	if code := terraform(t, ctx, dir, env2, "destroy", "-input=false", "-auto-approve", "-no-color", "-parallelism=4", "-refresh=false"); code != 0 {
		t.Fatalf("terraform destroy exited %d", code)
	}
	left, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := c.DescribeDBParameterGroups(ctx, &rds.DescribeDBParameterGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups.DBParameterGroups {
		if aws.ToString(g.DBParameterGroupName) == "tf-instance-params" {
			t.Error("the DB parameter group survived destroy")
		}
	}
	if len(left.DBClusters) != 0 {
		t.Errorf("%d clusters survived destroy", len(left.DBClusters))
	}
}
