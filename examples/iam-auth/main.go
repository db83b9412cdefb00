// Command iam-auth turns IAM database authentication on for an Aurora
// PostgreSQL cluster and for named roles with aurora.Cluster.EnableIAMAuth,
// then logs in as them with aurora.IAMAuth: a fresh IAM authentication
// token (feature/rds/auth.BuildAuthToken) for every connection.
//
// The workflow checks that every role exists and can log in, calls
// ModifyDBCluster with EnableIAMDatabaseAuthentication and
// ApplyImmediately when the cluster does not have it (and waits until it
// does), grants rds_iam to each role not yet a member, and verifies a login
// as each role at the writer with a fresh token. The example first shows
// an unknown role refused before anything changes, runs the workflow, runs
// it again to show that nothing is left to change, then logs in through a
// Cluster handle whose credentials are IAMAuth.
//
//	go run ./examples/iam-auth
//	go run ./examples/iam-auth -roles app_reader,app_writer
//
// By default it runs against a local emulator with a 1-instance cluster,
// where it creates a role app_reader with a random password, shows the
// password working before and refused after (a member of rds_iam logs in
// only with tokens; the emulator's servers check them for real). When
// AURORA_CLUSTER_ID is set it works on that real cluster, with the normal
// AWS configuration (AWS_REGION, AWS_PROFILE, ...) and:
//
//	AURORA_SECRET_ARN   Secrets Manager secret with the database user and password, or
//	AURORA_DB_USER      a database user with IAM authentication
//	AURORA_CA_BUNDLE    path to AWS's global CA bundle (default: system trust store)
//	AURORA_DATABASE     database to connect to (default postgres)
//
// There the roles (-roles) must exist, the AWS identity needs
// rds:ModifyDBCluster and rds-db:connect for each role, and since the
// roles' passwords stop working it wants -yes.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
)

func main() { exampleenv.Main("iam-auth", run) }

// demoRole is the role the example creates on the emulator.
const demoRole = "app_reader"

func run(ctx context.Context, out io.Writer, args []string) error {
	cmd := exampleenv.NewCommand("iam-auth", "enables IAM database authentication; the roles' passwords stop working")
	var roles exampleenv.List
	cmd.Var(&roles, "roles", "comma-separated `roles` to log in with IAM authentication (default: "+demoRole+", created on the emulator; required on a real cluster)")
	if err := cmd.Parse(args); err != nil {
		return err
	}

	env, err := cmd.Open(ctx, out, exampleenv.Options{
		ClusterID: "iam-demo",
		Changes:   "enables IAM database authentication on the cluster and grants rds_iam to the roles, whose passwords then stop working",
	})
	if err != nil {
		return err
	}
	defer env.Close()
	c := env.Cluster

	// On the emulator: a role with a password, which logs in until it
	// is granted rds_iam.
	var password string
	if env.Emulated() && len(roles) == 0 {
		roles = []string{demoRole}
		password = rand.Text()
		lit, err := aurora.PasswordSQL(password)
		if err != nil {
			return err
		}
		if _, err := c.SQL().Exec(ctx, "CREATE ROLE "+pgx.Identifier{demoRole}.Sanitize()+" LOGIN PASSWORD "+lit); err != nil {
			return fmt.Errorf("creating the role %s: %w", demoRole, err)
		}
		fmt.Fprintf(out, "created role %s on the emulator, with a random password\n", demoRole)
		if err := login(ctx, out, env, aurora.StaticPassword(demoRole, password)); err != nil {
			return fmt.Errorf("password login before IAM authentication: %w", err)
		}
	}
	if len(roles) == 0 {
		return errors.New("-roles: name the roles to log in with IAM authentication (they must exist)")
	}

	before, err := c.Describe(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s: IAM database authentication %s\n", c.ID(), onOff(before.IAMDatabaseAuthentication))

	exampleenv.Heading(out, "a role that does not exist is refused before anything changes")
	_, err = c.EnableIAMAuth(ctx, append(roles[:len(roles):len(roles)], "pgaurora_no_such_role"), nil)
	if _, err := exampleenv.Refused(out, "EnableIAMAuth with an unknown role", err); err != nil {
		return err
	}

	opts := &aurora.EnableIAMAuthOptions{Progress: exampleenv.Progress(out)}
	exampleenv.Heading(out, "EnableIAMAuth(%s) on %s", strings.Join(roles, ", "), c.ID())
	first, err := c.EnableIAMAuth(ctx, roles, opts)
	if err != nil {
		return exampleenv.Failed(out, err)
	}
	if err := exampleenv.RunAgain(out, "run again: nothing left to change", func() (*aurora.Report, error) {
		return c.EnableIAMAuth(ctx, roles, opts)
	}); err != nil {
		return err
	}

	exampleenv.Heading(out, "log in with aurora.IAMAuth: a fresh token per connection")
	for _, role := range roles {
		if err := login(ctx, out, env, aurora.IAMAuth(env.AWS, role, nil)); err != nil {
			return fmt.Errorf("IAMAuth as %s: %w", role, err)
		}
	}
	if password != "" {
		err := login(ctx, out, env, aurora.StaticPassword(demoRole, password))
		if err == nil {
			return fmt.Errorf("the password of %s still logs in after EnableIAMAuth", demoRole)
		}
		fmt.Fprintf(out, "  the password of %s is refused now: %v\n", demoRole, err)
	}

	after, err := c.Describe(ctx)
	if err != nil {
		return err
	}
	exampleenv.Heading(out, "report")
	exampleenv.PrintReport(out, first)
	fmt.Fprintf(out, "  %s: IAM database authentication %s -> %s; IAM tokens log in as %s\n", c.ID(),
		onOff(before.IAMDatabaseAuthentication), onOff(after.IAMDatabaseAuthentication), strings.Join(roles, ", "))
	return nil
}

// login opens a handle on the example's cluster with creds, and prints
// who the writer says is logged in.
func login(ctx context.Context, out io.Writer, env *exampleenv.Env, creds aurora.Credentials) error {
	h, err := env.NewCluster(ctx, env.Cluster.ID(), aurora.WithCredentials(creds))
	if err != nil {
		return err
	}
	defer h.Close()
	var user string
	var ssl bool
	if err := h.SQL().QueryRow(ctx, "SELECT current_user::text, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&user, &ssl); err != nil {
		return err
	}
	fmt.Fprintf(out, "  %s: logged in as %s (TLS %v)\n", creds, user, ssl)
	return nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
