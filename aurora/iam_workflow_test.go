package aurora_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
)

// TestEnableIAMAuth takes a cluster without IAM database authentication
// to one where IAMAuth logs in as two roles and their passwords are
// refused: bad input and an unknown role are refused before any change,
// a second run changes nothing, and a failed verification names the
// steps that ran.
func TestEnableIAMAuth(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rec := &apiRecorder{}
	c := openCluster(t, iamFlowClusterID, rec)
	const password = "iam-flow-Passw0rd"
	// A name that only survives quoting: upper case and a space.
	roles := []string{"app_iam", "Report IAM"}
	for _, stmt := range []string{
		"CREATE ROLE app_iam LOGIN PASSWORD " + passwordSQL(t, password),
		`CREATE ROLE "Report IAM" LOGIN PASSWORD ` + passwordSQL(t, password),
		"CREATE ROLE late_iam LOGIN PASSWORD " + passwordSQL(t, password),
		"CREATE ROLE iam_nologin NOLOGIN",
	} {
		if _, err := c.SQL().Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	asPassword := func(user string) error {
		p := openCluster(t, iamFlowClusterID, nil, aurora.WithCredentials(aurora.StaticPassword(user, password)))
		w, err := p.Writer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return w.Ping(ctx)
	}
	if err := asPassword("app_iam"); err != nil {
		t.Fatalf("password login before IAM authentication: %v", err)
	}
	iamOff := func(when string) {
		t.Helper()
		d, err := c.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d.IAMDatabaseAuthentication {
			t.Fatalf("%s: the cluster has IAM database authentication", when)
		}
	}
	iamOff("at the start")
	rec.take()

	// Refused before any call: no roles, invalid or repeated names,
	// rds_iam itself, an aws.Config that cannot sign, plain text.
	noRegion := emu.AWSConfig()
	noRegion.Region = ""
	// WithRDSClient alone leaves the Cluster without an aws.Config.
	apiOnly, err := aurora.New(iamFlowClusterID, aurora.WithRDSClient(c.RDS()), aurora.WithCABundle(emu.CABundlePEM()),
		aurora.WithCredentials(aurora.StaticPassword("postgres", emu.MasterPassword(iamFlowClusterID))))
	if err != nil {
		t.Fatal(err)
	}
	defer apiOnly.Close()
	for _, bad := range []struct {
		roles []string
		opts  *aurora.EnableIAMAuthOptions
		c     *aurora.Cluster
		want  string
	}{
		{nil, nil, c, "roles is empty"},
		{[]string{"app_iam", "a\x00b"}, nil, c, "roles[1]: not a valid role name"},
		{[]string{"app_iam", "app_iam"}, nil, c, "listed twice"},
		{[]string{aurora.RDSIAMRole}, nil, c, "not rds_iam itself"},
		{roles, &aurora.EnableIAMAuthOptions{AWSConfig: &noRegion}, c, "EnableIAMAuthOptions.AWSConfig"},
		{roles, nil, apiOnly, "EnableIAMAuthOptions.AWSConfig is nil"},
	} {
		_, err := bad.c.EnableIAMAuth(ctx, bad.roles, bad.opts)
		var we *aurora.WorkflowError
		if !errors.As(err, &we) || we.Step != "check input" || len(we.Report.Steps) != 0 || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("EnableIAMAuth(%q): %v; want a check-input error saying %q", bad.roles, err, bad.want)
		}
	}
	plain, err := aurora.New(iamFlowClusterID, aurora.WithAWSConfig(emu.AWSConfig()), aurora.WithInsecurePlaintext(),
		aurora.WithCredentials(aurora.StaticPassword("postgres", emu.MasterPassword(iamFlowClusterID))))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.EnableIAMAuth(ctx, roles, nil); err == nil || !strings.Contains(err.Error(), "requires TLS") {
		t.Errorf("EnableIAMAuth over plain text: %v; want a refusal saying IAM authentication requires TLS", err)
	}
	if acts := rec.take(); len(acts) != 0 {
		t.Errorf("refused input made API calls: %v", acts)
	}

	// Roles that do not exist, cannot log in, or are the Cluster's own
	// are refused at the first step, before anything changes.
	for _, bad := range []struct {
		roles      []string
		field, say string
	}{
		{[]string{"app_iam", "no_such_role"}, "roles[1]", "an existing role"},
		{[]string{"iam_nologin"}, "roles[0]", "LOGIN"},
		{[]string{"postgres"}, "roles[0]", "logs in as"},
	} {
		_, err := c.EnableIAMAuth(ctx, bad.roles, nil)
		var we *aurora.WorkflowError
		var ie *aurora.InputError
		if !errors.As(err, &we) || !strings.HasPrefix(we.Step, "check roles") || len(we.Report.Steps) != 0 ||
			!errors.As(err, &ie) || ie.Field != bad.field || !strings.Contains(err.Error(), bad.say) {
			t.Errorf("EnableIAMAuth(%q): %v; want a failure at the first step with an *InputError on %s saying %q", bad.roles, err, bad.field, bad.say)
		}
	}
	if m := mutating(rec.take()); len(m) != 0 {
		t.Errorf("refused roles made API calls: %v", m)
	}
	iamOff("after the refusals")
	if members := rdsIAMMembers(ctx, t, c); len(members) != 0 {
		t.Errorf("after the refusals, rds_iam has members %v", members)
	}

	// The first run changes the cluster and grants both roles.
	var events syncList[pgaurora.Event]
	var minted atomic.Int32
	build := func(ctx context.Context, endpoint, region, user string, creds aws.CredentialsProvider) (string, error) {
		minted.Add(1)
		return auth.BuildAuthToken(ctx, endpoint, region, user, creds)
	}
	opts := &aurora.EnableIAMAuthOptions{TokenBuilder: build, Progress: events.add}
	r, err := c.EnableIAMAuth(ctx, roles, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run: %s", r)
	wantSteps(t, r,
		stepWant{"check roles app_iam, Report IAM", false},
		stepWant{"enable IAM database authentication on iamflow", true},
		stepWant{"grant rds_iam to app_iam", true},
		stepWant{"grant rds_iam to Report IAM", true},
		stepWant{"verify IAM login as app_iam", false},
		stepWant{"verify IAM login as Report IAM", false},
	)
	if got, want := eventSteps("EnableIAMAuth", events.snapshot()), stepNames(r.Steps); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("progress events for steps %q, want %q", got, want)
	}
	if m := mutating(rec.take()); len(m) != 1 || m[0] != "ModifyDBCluster" {
		t.Errorf("first run made calls %v; want one ModifyDBCluster", m)
	}
	if n := minted.Load(); n != 2 {
		t.Errorf("%d tokens minted; want one per verified role (2)", n)
	}

	// IAMAuth now logs in as each role; their passwords do not.
	for _, role := range roles {
		ic := openCluster(t, iamFlowClusterID, nil, aurora.WithCredentials(aurora.IAMAuth(emu.AWSConfig(), role, nil)))
		w, err := ic.Writer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var user string
		if err := w.QueryRow(ctx, "SELECT current_user::text").Scan(&user); err != nil || user != role {
			t.Errorf("IAMAuth as %q: current_user %q, %v", role, user, err)
		}
		wantRefused(t, asPassword(role), "the password of "+role)
	}

	// The second run finds everything done.
	minted.Store(0)
	r, err = c.EnableIAMAuth(ctx, roles, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second run: %s", r)
	if r.Changed() || len(r.Steps) != 6 || !strings.Contains(r.String(), "nothing to change") {
		t.Errorf("second run changed something:\n%s", r)
	}
	if m := mutating(rec.take()); len(m) != 0 {
		t.Errorf("second run made calls %v", m)
	}
	if n := minted.Load(); n != 2 {
		t.Errorf("second run minted %d tokens; want a fresh one per role (2)", n)
	}

	// A failed verification says which steps ran; late_iam, granted after
	// the cluster got IAM authentication, has lost its password already.
	var lastToken atomic.Value
	wrong := func(ctx context.Context, endpoint, region, user string, creds aws.CredentialsProvider) (string, error) {
		if user == "late_iam" {
			user = "app_iam" // a real token, for another user
		}
		tok, err := auth.BuildAuthToken(ctx, endpoint, region, user, creds)
		lastToken.Store(tok)
		return tok, err
	}
	three := append(roles[:len(roles):len(roles)], "late_iam")
	_, err = c.EnableIAMAuth(ctx, three, &aurora.EnableIAMAuthOptions{TokenBuilder: wrong})
	var we *aurora.WorkflowError
	if !errors.As(err, &we) || we.Step != "verify IAM login as late_iam" {
		t.Fatalf("with a token for another user: %v; want a failure at verify IAM login as late_iam", err)
	}
	t.Logf("failed run: %v", err)
	if got := strings.Join(stepNames(we.Report.Steps), "|"); got != "check roles app_iam, Report IAM, late_iam|enable IAM database authentication on iamflow|"+
		"grant rds_iam to app_iam|grant rds_iam to Report IAM|grant rds_iam to late_iam|verify IAM login as app_iam|verify IAM login as Report IAM" {
		t.Errorf("completed steps %q", got)
	}
	if s := stepOf(t, we.Report, "grant rds_iam to late_iam"); !s.Changed {
		t.Errorf("the grant to late_iam is reported unchanged: %s", s)
	}
	if !strings.Contains(err.Error(), "completed: check roles") || !strings.Contains(err.Error(), "grant rds_iam to late_iam") {
		t.Errorf("the error does not list the completed steps: %v", err)
	}
	if tok, _ := lastToken.Load().(string); tok == "" || strings.Contains(err.Error(), tok[len(tok)-64:]) {
		t.Errorf("the error holds the token (or none was made): %v", err)
	}
	wantRefused(t, asPassword("late_iam"), "the password of late_iam, granted rds_iam after IAM authentication was enabled")

	// Run again with real tokens: it resumes, with nothing left to change.
	r, err = c.EnableIAMAuth(ctx, three, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Changed() || stepOf(t, r, "verify IAM login as late_iam").Detail == "" {
		t.Errorf("the run after the failure:\n%s", r)
	}
	if got := rdsIAMMembers(ctx, t, c); strings.Join(got, "|") != "Report IAM|app_iam|late_iam" {
		t.Errorf("rds_iam members %q", got)
	}
	// A role in rds_iam through a group role is a member already: no
	// GRANT, and the IAM login works.
	for _, stmt := range []string{
		"CREATE ROLE iam_group NOLOGIN",
		"GRANT rds_iam TO iam_group",
		"CREATE ROLE via_group LOGIN IN ROLE iam_group PASSWORD " + passwordSQL(t, password),
	} {
		if _, err := c.SQL().Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	r, err = c.EnableIAMAuth(ctx, []string{"via_group"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := stepOf(t, r, "grant rds_iam to via_group"); r.Changed() || !strings.Contains(s.Detail, "already a member") ||
		!strings.Contains(stepOf(t, r, "check roles via_group").Detail, "1 already in rds_iam") {
		t.Errorf("a role in rds_iam through iam_group is not seen as a member:\n%s", r)
	}
	if got := rdsIAMMembers(ctx, t, c); strings.Join(got, "|") != "Report IAM|app_iam|iam_group|late_iam" {
		t.Errorf("rds_iam direct members %q; want via_group only through iam_group", got)
	}
	// The master user keeps its password (the Cluster's own pool).
	if err := c.SQL().QueryRow(ctx, "SELECT 1").Scan(new(int)); err != nil {
		t.Errorf("the Cluster's own connection after EnableIAMAuth: %v", err)
	}
}

// passwordSQL is aurora.PasswordSQL, failing the test on error.
func passwordSQL(t *testing.T, password string) string {
	t.Helper()
	lit, err := aurora.PasswordSQL(password)
	if err != nil {
		t.Fatal(err)
	}
	return lit
}

// rdsIAMMembers lists the direct members of rds_iam, sorted.
func rdsIAMMembers(ctx context.Context, t *testing.T, c *aurora.Cluster) []string {
	t.Helper()
	rows, err := c.SQL().Query(ctx, `SELECT r.rolname::text FROM pg_auth_members m
		JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid
		WHERE g.rolname = 'rds_iam' ORDER BY r.rolname COLLATE "C"`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// wantRefused checks that err is the server refusing a login, and not a
// retryable error.
func wantRefused(t *testing.T, err error, what string) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28000" || errors.Is(err, aurora.ErrRetryable) {
		t.Errorf("%s: %v; want the login refused (SQLSTATE 28000)", what, err)
	}
}
