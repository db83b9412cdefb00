package aurora_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
	"github.com/pgaurora/pgaurora/params"
	"github.com/pgaurora/pgaurora/pgaudit"
)

// The role left out of session auditing, and its password (a test value,
// not a secret).
const (
	excludedRole     = "audit_excluded"
	excludedPassword = "excluded-test-password"
)

var auditSettings = pgaudit.Settings{Log: pgaurora.Ptr(pgaudit.Write | pgaudit.DDL), LogRows: pgaurora.Ptr(true)}

// ensureExcludedRole creates the login role the audit tests exclude.
func ensureExcludedRole(t *testing.T, c *aurora.Cluster) {
	t.Helper()
	ctx := context.Background()
	var exists bool
	if err := c.SQL().QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", excludedRole).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		return
	}
	pw, err := sqlquote.Literal(excludedPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SQL().Exec(ctx, "CREATE ROLE "+sqlquote.MustIdent(excludedRole)+" LOGIN PASSWORD "+pw); err != nil {
		t.Fatal(err)
	}
}

// enablePgAudit runs the workflow the audit tests need.
func enablePgAudit(t *testing.T, c *aurora.Cluster, progress pgaurora.ProgressFunc) *aurora.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := c.EnablePgAudit(ctx, auditSettings, &aurora.EnablePgAuditOptions{
		ExcludeUsers: []string{excludedRole}, Progress: progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEnablePgAudit(t *testing.T) {
	ctx := context.Background()
	rec := &apiRecorder{}
	c := openCluster(t, auditClusterID, rec)
	ensureExcludedRole(t, c)

	// Bad input is refused before any call.
	rec.take()
	for _, tc := range []struct {
		s    pgaudit.Settings
		opts *aurora.EnablePgAuditOptions
		want string
	}{
		{pgaudit.Settings{LogLevel: "loud"}, nil, "log_level"},
		{auditSettings, &aurora.EnablePgAuditOptions{ExcludeUsers: []string{""}}, "ExcludeUsers[0]"},
		{auditSettings, &aurora.EnablePgAuditOptions{ExcludeUsers: []string{"a", "a"}}, "listed twice"},
		{auditSettings, &aurora.EnablePgAuditOptions{ParameterGroup: "bad--name"}, "ParameterGroup"},
	} {
		_, err := c.EnablePgAudit(ctx, tc.s, tc.opts)
		var we *aurora.WorkflowError
		if !errors.As(err, &we) || we.Step != "check input" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("EnablePgAudit(%+v, %+v): %v; want a check-input error mentioning %q", tc.s, tc.opts, err, tc.want)
		}
	}
	if acts := rec.take(); len(acts) != 0 {
		t.Errorf("invalid input made API calls: %v", acts)
	}

	var progressed []pgaurora.Event
	first := enablePgAudit(t, c, func(e pgaurora.Event) { progressed = append(progressed, e) })
	t.Logf("first run:\n%s", first)
	if got, want := eventSteps("EnablePgAudit", progressed), stepNames(first.Steps); !first.Changed() || !slices.Equal(got, want) {
		t.Errorf("first run changed=%v, progress reported steps %q for the report's %q", first.Changed(), got, want)
	}
	// The same callback saw the reboots the workflow ran.
	if !slices.ContainsFunc(progressed, func(e pgaurora.Event) bool { return e.Operation == "params.RebootPending" && e.Step == params.StepDone }) {
		t.Errorf("progress saw no reboot done: %v", progressed)
	}
	for _, name := range []string{"use a custom DB cluster parameter group", "set pgAudit parameters", "reboot members pending reboot", "create extension pgaudit", "exclude " + excludedRole} {
		if s := stepOf(t, first, name); !s.Changed {
			t.Errorf("first run: step %q did not change anything: %s", name, s)
		}
	}
	if s := stepOf(t, first, "reboot members"); !strings.HasSuffix(s.Detail, "audit-instance-1") {
		t.Errorf("the writer must reboot last: %s", s)
	}
	if s := stepOf(t, first, "verify"); s.Changed {
		t.Errorf("verify changed something: %s", s)
	}
	mut := mutating(rec.take())
	t.Logf("first run calls: %v", mut)

	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := aurora.CustomClusterGroupName(auditClusterID); d.ParameterGroup != want {
		t.Errorf("cluster parameter group %q, want %s", d.ParameterGroup, want)
	}
	for _, in := range append([]pgaurora.Instance{*d.Writer}, d.Readers...) {
		if in.Status != "available" || in.ClusterParameterGroupStatus != pgaurora.ParamInSync {
			t.Errorf("%s: status %s, cluster parameters %s", in.ID, in.Status, in.ClusterParameterGroupStatus)
		}
	}
	st, err := c.Audit().Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Installed || st.Values["pgaudit.log"] != "write,ddl" || st.Values["pgaudit.log_rows"] != "on" {
		t.Errorf("pgaudit status after the workflow: %+v", st)
	}

	second := enablePgAudit(t, c, nil)
	t.Logf("second run:\n%s", second)
	if second.Changed() || !strings.Contains(second.String(), "nothing to change") {
		t.Errorf("second run changed something:\n%s", second)
	}
	if mut := mutating(rec.take()); len(mut) != 0 {
		t.Errorf("second run made changing calls: %v", mut)
	}

	// A named group that differs from the custom group in use is refused.
	_, err = c.EnablePgAudit(ctx, auditSettings, &aurora.EnablePgAuditOptions{ParameterGroup: "another-group"})
	var we *aurora.WorkflowError
	if !errors.As(err, &we) || we.Step != "use a custom DB cluster parameter group" || !strings.Contains(err.Error(), aurora.CustomClusterGroupName(auditClusterID)) {
		t.Errorf("EnablePgAudit with another group: %v", err)
	}
}

// connectAs opens a connection to the cluster's writer as another role.
func connectAs(t *testing.T, c *aurora.Cluster, user, password string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := emu.ConnString(d.Writer.ID, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(cs)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Password = user, password
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
