package aurora

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/plural"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// RDSIAMRole is the role whose members log in with IAM authentication
// tokens instead of passwords, on a cluster with IAM database
// authentication enabled.
const RDSIAMRole = "rds_iam"

// EnableIAMAuthOptions configures EnableIAMAuth. A nil
// *EnableIAMAuthOptions uses the defaults.
type EnableIAMAuthOptions struct {
	// AWSConfig signs the tokens of the verifying logins (its Region and
	// Credentials, as IAMAuth uses them). Nil means the aws.Config the
	// Cluster was made with (WithAWSConfig); a Cluster made WithRDSClient
	// must be given one. On AWS, its IAM identity needs rds-db:connect
	// for each role.
	AWSConfig *aws.Config
	// TokenBuilder mints the tokens of the verifying logins; nil means
	// auth.BuildAuthToken (see IAMAuth).
	TokenBuilder TokenBuilder
	// Wait says how the steps wait for RDS and the servers; zero fields
	// take the Cluster's defaults (WithWait).
	Wait pgaurora.Wait
	// Progress, when set, receives an event as each step completes.
	Progress pgaurora.ProgressFunc
}

// EnableIAMAuth turns IAM database authentication on for the cluster and
// for roles, so that IAMAuth credentials log in as them, doing only what
// is not done yet:
//
//  1. check, on the writer, that every role exists and can log in (LOGIN),
//     and that none is the role the Cluster itself logs in as with a
//     password (a member of rds_iam logs in only with tokens, so the
//     Cluster would lock itself out), unless it is already a member;
//  2. ModifyDBCluster with EnableIAMDatabaseAuthentication and
//     ApplyImmediately when the cluster does not have it, then wait until
//     the cluster is available with it;
//  3. GRANT rds_iam TO each role that is not yet a member (directly or
//     through another role);
//  4. verify: log in as each role at the writer instance with a fresh
//     token (IAMAuth with opts.AWSConfig and opts.TokenBuilder), over TLS,
//     and check SELECT current_user.
//
// From then on each role logs in only with a token: its password no longer
// works. At least one role is required; names must be valid and distinct,
// the Cluster must use TLS (IAM authentication requires it) and have an
// aws.Config to sign with; that is checked before any call. A second run
// reports only unchanged steps. A failure returns a *WorkflowError naming
// the failed step and the steps done; a role that does not exist fails the
// first step, before anything changed, with an *InputError naming it.
func (c *Cluster) EnableIAMAuth(ctx context.Context, roles []string, opts *EnableIAMAuthOptions) (*Report, error) {
	if opts == nil {
		opts = &EnableIAMAuthOptions{}
	}
	const name = "EnableIAMAuth"
	cfg, err := c.checkIAMAuthInput(roles, opts)
	if err != nil {
		return nil, inputFailure(name, err)
	}
	w := c.newWorkflow(name, opts.Wait, opts.Progress)

	err = w.step(ctx, "check roles "+strings.Join(roles, ", "), func(ctx context.Context) (bool, string, error) {
		if err := c.awaitWriter(ctx, w.wait); err != nil {
			return false, "", err
		}
		var session string
		var haveIAMRole bool
		if err := c.SQL().QueryRow(ctx, `SELECT session_user::text, EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)`, RDSIAMRole).Scan(&session, &haveIAMRole); err != nil {
			return false, "", fmt.Errorf("reading the roles: %w", err)
		}
		if !haveIAMRole {
			return false, "", fmt.Errorf("the writer has no role %s: is this an Aurora PostgreSQL cluster?", RDSIAMRole)
		}
		members := 0
		for i, role := range roles {
			st, err := c.iamRoleState(ctx, role)
			if err != nil {
				return false, "", err
			}
			field := fmt.Sprintf("roles[%d]", i)
			switch {
			case !st.exists:
				return false, "", &InputError{Field: field, Value: strconv.Quote(role), Allowed: "an existing role (none of that name on the writer)"}
			case !st.canLogin:
				return false, "", &InputError{Field: field, Value: strconv.Quote(role), Allowed: "a role with LOGIN (it has NOLOGIN)"}
			case role == session && !st.member:
				return false, "", &InputError{Field: field, Value: strconv.Quote(role),
					Allowed: "a role other than the one this Cluster logs in as: once a member of " + RDSIAMRole + " it could log in only with IAM tokens, not its password"}
			}
			if st.member {
				members++
			}
		}
		return false, fmt.Sprintf("%s with LOGIN; %d already in %s", plural.Count(len(roles), "role"), members, RDSIAMRole), nil
	})
	if err != nil {
		return nil, err
	}

	err = w.step(ctx, "enable IAM database authentication on "+c.id, func(ctx context.Context) (bool, string, error) {
		d, err := c.Describe(ctx)
		if err != nil {
			return false, "", err
		}
		if d.IAMDatabaseAuthentication {
			return false, "already enabled", nil
		}
		if err := c.modifyCluster(ctx, d, &rds.ModifyDBClusterInput{EnableIAMDatabaseAuthentication: aws.Bool(true)}, "IAM database authentication", w.wait,
			func(d *Description) bool { return d.IAMDatabaseAuthentication }); err != nil {
			return false, "", err
		}
		return true, "ModifyDBCluster EnableIAMDatabaseAuthentication, applied immediately", nil
	})
	if err != nil {
		return nil, err
	}

	for _, role := range roles {
		err := w.step(ctx, "grant "+RDSIAMRole+" to "+role, func(ctx context.Context) (bool, string, error) {
			st, err := c.iamRoleState(ctx, role)
			if err != nil {
				return false, "", err
			}
			if !st.exists {
				return false, "", fmt.Errorf("role %q no longer exists", role)
			}
			if st.member {
				return false, "already a member of " + RDSIAMRole, nil
			}
			ident, err := sqlquote.Ident(role)
			if err != nil {
				return false, "", err // checkIAMAuthInput refused it already
			}
			if _, err := c.SQL().Exec(ctx, "GRANT "+sqlquote.MustIdent(RDSIAMRole)+" TO "+ident); err != nil {
				return false, "", fmt.Errorf("granting %s to %q: %w", RDSIAMRole, role, err)
			}
			return true, "GRANT " + RDSIAMRole + ": the role now logs in with IAM tokens only", nil
		})
		if err != nil {
			return nil, err
		}
	}

	for _, role := range roles {
		err := w.step(ctx, "verify IAM login as "+role, func(ctx context.Context) (bool, string, error) {
			d, err := c.waitDescribed(ctx, "cluster "+c.id+" to have an available writer", w.wait, func(d *Description) bool {
				return d.Writer != nil && d.Writer.Status == pgaurora.StatusAvailable
			})
			if err != nil {
				return false, "", err
			}
			ep := endpointOf(*d.Writer)
			user, err := c.loginWithIAM(ctx, ep, cfg, role, opts.TokenBuilder, w.wait)
			if err != nil {
				return false, "", err
			}
			return false, fmt.Sprintf("logged in at %s with a fresh IAM token as %s", ep, user), nil
		})
		if err != nil {
			return nil, err
		}
	}
	return w.report, nil
}

// checkIAMAuthInput refuses bad roles and options before any call, and
// returns the aws.Config that signs the verifying logins' tokens.
func (c *Cluster) checkIAMAuthInput(roles []string, opts *EnableIAMAuthOptions) (aws.Config, error) {
	if len(roles) == 0 {
		return aws.Config{}, &InputError{Field: "roles", Value: "empty", Allowed: "at least one role to log in with IAM authentication"}
	}
	seen := map[string]bool{}
	for i, r := range roles {
		field := fmt.Sprintf("roles[%d]", i)
		if _, err := sqlquote.Ident(r); err != nil {
			return aws.Config{}, fmt.Errorf("%s: not a valid role name: %w", field, err)
		}
		if r == RDSIAMRole {
			return aws.Config{}, &InputError{Field: field, Value: strconv.Quote(r), Allowed: "a login role, not " + RDSIAMRole + " itself"}
		}
		if seen[r] {
			return aws.Config{}, &InputError{Field: field, Value: strconv.Quote(r), Allowed: "each role once (it is listed twice)"}
		}
		seen[r] = true
	}
	if c != nil && c.cfg.plaintext {
		return aws.Config{}, errors.New("IAM authentication requires TLS, and the Cluster was made WithInsecurePlaintext: the verifying logins would be refused")
	}
	cfg := opts.AWSConfig
	if cfg == nil && c != nil {
		cfg = c.cfg.awsConfig
	}
	switch {
	case cfg == nil:
		return aws.Config{}, &InputError{Field: "EnableIAMAuthOptions.AWSConfig", Value: "nil",
			Allowed: "the aws.Config whose credentials sign the verifying logins' tokens (required when the Cluster was made WithRDSClient)"}
	case cfg.Region == "" || cfg.Credentials == nil:
		return aws.Config{}, &InputError{Field: "EnableIAMAuthOptions.AWSConfig", Value: "an aws.Config without a Region or Credentials",
			Allowed: "an aws.Config with both, to sign the verifying logins' tokens"}
	}
	return *cfg, nil
}

// iamRoleState is what EnableIAMAuth needs to know of a role.
type iamRoleState struct {
	exists, canLogin bool
	// member is true when the role is a member of rds_iam, directly or
	// through other roles (as pg_hba.conf's "+rds_iam" counts it, without
	// the superuser shortcut of pg_has_role).
	member bool
}

// iamMembersCTE is the one definition of rds_iam's members: the CTE
// iam_members holds the oids of every role that is a member of the role
// named $1, directly or through other roles, as pg_hba.conf's "+rds_iam"
// counts them (pg_has_role is not used: it says yes for every superuser,
// which "+rds_iam" does not).
const iamMembersCTE = `WITH RECURSIVE iam_members(oid) AS (
	SELECT a.member FROM pg_catalog.pg_auth_members a
		JOIN pg_catalog.pg_roles g ON g.oid = a.roleid WHERE g.rolname = $1
	UNION
	SELECT a.member FROM pg_catalog.pg_auth_members a JOIN iam_members m ON a.roleid = m.oid)
`

// iamRoleSQL reads the LOGIN attribute of role $2 and whether it is a
// member of rds_iam ($1).
const iamRoleSQL = iamMembersCTE + `SELECT r.rolcanlogin, r.oid IN (SELECT oid FROM iam_members)
FROM pg_catalog.pg_roles r WHERE r.rolname = $2`

func (c *Cluster) iamRoleState(ctx context.Context, role string) (iamRoleState, error) {
	st := iamRoleState{exists: true}
	err := c.SQL().QueryRow(ctx, iamRoleSQL, RDSIAMRole, role).Scan(&st.canLogin, &st.member)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return iamRoleState{}, nil
	case err != nil:
		return iamRoleState{}, fmt.Errorf("reading role %q: %w", role, err)
	}
	return st, nil
}

// loginWithIAM logs in as role at ep with IAMAuth credentials of cfg and
// build, and returns current_user. The error never holds the token.
func (c *Cluster) loginWithIAM(ctx context.Context, ep endpoint, cfg aws.Config, role string, build TokenBuilder, wt pgaurora.Wait) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.waitFor(wt).MaxWait)
	defer cancel()
	conn, err := c.connectWith(ctx, ep, IAMAuth(cfg, role, build))
	if err != nil {
		hint := ""
		if isAuthFailure(err) {
			hint = " (on AWS, the IAM identity of the aws.Config needs rds-db:connect for the user)"
		}
		return "", fmt.Errorf("logging in as %q at %s with an IAM token%s: %w", role, ep, hint, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var user string
	if err := conn.QueryRow(ctx, "SELECT current_user::text").Scan(&user); err != nil {
		return "", fmt.Errorf("SELECT current_user as %q: %w", role, err)
	}
	if user != role {
		return "", fmt.Errorf("logged in with an IAM token for %q, but current_user is %q", role, user)
	}
	return user, nil
}
