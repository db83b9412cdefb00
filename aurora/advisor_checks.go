package aurora

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/extensions"
	"github.com/pgaurora/pgaurora/internal/guc"
	"github.com/pgaurora/pgaurora/logical"
	"github.com/pgaurora/pgaurora/params"
	"github.com/pgaurora/pgaurora/pgaudit"
	"github.com/pgaurora/pgaurora/pglogical"
	"github.com/pgaurora/pgaurora/sslcert"
)

// caExpiry reports the instances whose CA expires within CAExpiryWindow
// of now, per the catalog. A CA the catalog does not list, or lists
// without a validity, is not judged.
func (a *advice) caExpiry(cat *sslcert.Catalog, now time.Time) {
	target := cat.DefaultForNewLaunches()
	if ca, ok := cat.Lookup(target); !ok || ca.ValidTill.IsZero() || ca.ValidTill.Before(now.Add(CAExpiryWindow)) {
		target = "" // no safe default to propose
	}
	for _, in := range a.instances() {
		ca, ok := cat.Lookup(in.CACertificate)
		if !ok || ca.ValidTill.IsZero() || !ca.ValidTill.Before(now.Add(CAExpiryWindow)) {
			continue
		}
		sev, state := SeverityWarning, fmt.Sprintf("expires on %s, in %d days", ca.ValidTill.UTC().Format(time.DateOnly), int(ca.ValidTill.Sub(now).Hours()/24))
		if ca.ExpiredAt(now) {
			sev, state = SeverityCritical, "expired on "+ca.ValidTill.UTC().Format(time.DateOnly)
		}
		fix := Fix{Action: "rotate the instance to a CA valid for longer (Cluster.RotateCA with one of " + strings.Join(cat.IDs(), ", ") + ")"}
		if target != "" {
			fix = Fix{Workflow: fmt.Sprintf("Cluster.RotateCA(ctx, %q, trust, nil)", target)}
		}
		a.add(Finding{ID: CheckCAExpiring, Severity: sev,
			Resource: "instance/" + in.ID, Instance: &in,
			Evidence: fmt.Sprintf("%s's server certificate comes from CA %s, which %s", in.ID, ca.ID, state),
			Fix:      fix})
	}
}

// iamMembersSQL reads whether rds_iam ($1) exists and how many roles that
// can log in are members of it (iamMembersCTE).
const iamMembersSQL = iamMembersCTE + `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1),
	(SELECT count(*) FROM iam_members m JOIN pg_catalog.pg_roles r ON r.oid = m.oid WHERE r.rolcanlogin)`

// iamMembers reports IAM database authentication enabled with no login
// role in rds_iam (iamMemberPasswords judges the members' passwords).
func (a *advice) iamMembers(ctx context.Context, tx pgx.Tx) error {
	if !a.d.IAMDatabaseAuthentication {
		return nil
	}
	var exists bool
	var members int
	if err := tx.QueryRow(ctx, iamMembersSQL, RDSIAMRole).Scan(&exists, &members); err != nil {
		return err
	}
	if !exists || members > 0 {
		return nil
	}
	a.add(Finding{ID: CheckIAMAuthNoMembers,
		Resource: a.clusterResource(),
		Evidence: "IAMDatabaseAuthenticationEnabled=true, and no role that can log in is a member of rds_iam",
		Fix:      Fix{Workflow: "Cluster.EnableIAMAuth(ctx, roles, nil)", Action: "or ModifyDBCluster with EnableIAMDatabaseAuthentication=false"}})
	return nil
}

// pgAuditExclusions reports the scopes with pgaudit.log = none stored
// for them.
func (a *advice) pgAuditExclusions(ctx context.Context, tx pgx.Tx) error {
	overrides, err := pgaudit.New(tx).Overrides(ctx)
	if err != nil {
		return err
	}
	for _, o := range overrides {
		if !strings.EqualFold(o.Name, pgaudit.SettingLog) {
			continue
		}
		if cl, err := pgaudit.ParseClasses(o.Value); err != nil || cl != 0 {
			continue
		}
		var res string
		switch {
		case o.Role != "" && o.Database != "":
			res = "role/" + o.Role + "@database/" + o.Database
		case o.Role != "":
			res = "role/" + o.Role
		case o.Database != "":
			res = "database/" + o.Database
		default:
			res = a.clusterResource()
		}
		a.add(Finding{ID: CheckPgAuditExcluded,
			Resource: res,
			Evidence: fmt.Sprintf("pgaudit.log=%s is stored for %s, so its sessions are not audited", o.Value, o.Scope),
			Fix:      Fix{Workflow: fmt.Sprintf("Cluster.Audit().ResetOverrides(ctx, pgaudit.Scope{Role: %q, Database: %q}, %q)", o.Role, o.Database, pgaudit.SettingLog)}})
	}
	return nil
}

// rdsManagedRoles are the login roles RDS itself runs as on Aurora, which
// the checks of roles leave out.
var rdsManagedRoles = []string{"rdsadmin", "rdstopmgr", "rdsrepladmin"}

// pgAuditBypass reports the login roles, besides the master user and
// RDS's own, that may SET pgAudit's settings in their sessions.
func (a *advice) pgAuditBypass(ctx context.Context, tx pgx.Tx) error {
	version, err := pgaurora.ParseEngineVersion(a.d.EngineVersion)
	if err != nil {
		return err
	}
	args := []any{append([]string{a.d.MasterUsername}, rdsManagedRoles...), extensions.RDSSuperuserRole}
	setPriv := "false" // GRANT SET ON PARAMETER is PostgreSQL 15+
	if version.Major >= 15 {
		setPriv = "pg_catalog.has_parameter_privilege(r.oid, $3, 'SET')"
		args = append(args, pgaudit.SettingLog)
	}
	rows, err := tx.Query(ctx, `SELECT r.rolname::text, r.rolsuper,
		coalesce((SELECT pg_catalog.pg_has_role(r.oid, g.oid, 'MEMBER') FROM pg_catalog.pg_roles g WHERE g.rolname = $2), false),
		`+setPriv+`
	FROM pg_catalog.pg_roles r
	WHERE r.rolcanlogin AND NOT r.rolname = ANY($1)
	ORDER BY 1`, args...)
	if err != nil {
		return err
	}
	type role struct {
		name              string
		super, rdsSU, set bool
	}
	roles, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (role, error) {
		var x role
		return x, r.Scan(&x.name, &x.super, &x.rdsSU, &x.set)
	})
	if err != nil {
		return err
	}
	for _, r := range roles {
		var how, fix string
		switch {
		case r.super:
			how, fix = "is a superuser", "ALTER ROLE ... NOSUPERUSER"
		case r.rdsSU:
			how, fix = "is a member of rds_superuser", "REVOKE rds_superuser FROM the role (or the role that passes it on)"
		case r.set:
			how, fix = "holds SET on pgaudit.log", "REVOKE SET ON PARAMETER pgaudit.log FROM the role"
		default:
			continue
		}
		a.add(Finding{ID: CheckPgAuditBypass,
			Resource: "role/" + r.name,
			Evidence: fmt.Sprintf("role %s can log in and %s, so it can SET pgaudit.log = none in its own sessions", r.name, how),
			Fix:      Fix{Action: fix + "; give administrators separate, audited roles"}})
	}
	return nil
}

// pgAuditHeavy reports pgaudit.log all, log_relation on and log_parameter
// on in server, the server's values of pgAudit's settings
// (pgaudit.Client.ServerValues); a setting missing from it is not judged.
func (a *advice) pgAuditHeavy(ctx context.Context, tx pgx.Tx, server map[string]string) error {
	var heavy []string
	var changes []params.Change
	action := ""
	for _, name := range []string{pgaudit.SettingLog, pgaudit.SettingLogParameter, pgaudit.SettingLogRelation} {
		value, ok := server[name]
		if !ok {
			continue
		}
		switch name {
		case pgaudit.SettingLog:
			if cl, err := pgaudit.ParseClasses(value); err == nil && cl&pgaudit.All == pgaudit.All {
				heavy = append(heavy, name+"="+value)
				action = "narrow pgaudit.log to the classes the audit policy needs (for example ddl,role,write)"
			}
		default:
			if on, ok := guc.ParseBool(value); ok && on {
				heavy = append(heavy, name+"="+value)
				changes = append(changes, params.Change{Name: name, Value: "0"})
			}
		}
	}
	if len(heavy) == 0 {
		return nil
	}
	var retention *string
	if err := tx.QueryRow(ctx, "SELECT pg_catalog.current_setting('rds.log_retention_period', true)").Scan(&retention); err != nil {
		return err
	}
	ev := "pgAudit logs heavily at the server: " + strings.Join(heavy, ", ")
	if retention != nil && *retention != "" {
		ev += fmt.Sprintf("; rds.log_retention_period=%s minutes", *retention)
	}
	var fix Fix
	if len(changes) > 0 {
		fix = a.clusterGroupFix(changes...)
	}
	if action != "" {
		fix.Action = strings.TrimPrefix(fix.Action+"; "+action, "; ")
	}
	a.add(Finding{ID: CheckPgAuditHeavy,
		Resource: a.clusterResource(), Evidence: ev,
		Fix: fix})
	return nil
}

// subscriptionsDown reports the subscriptions of the Cluster's database
// that are disabled, have no apply worker, or have recorded errors.
func (a *advice) subscriptionsDown(ctx context.Context, tx pgx.Tx) error {
	subs, err := logical.New(tx).Subscriptions(ctx)
	if err != nil {
		return err
	}
	for _, s := range subs {
		var why []string
		switch {
		case !s.Enabled:
			why = append(why, "is disabled")
		case s.WorkerPID == 0:
			why = append(why, "is enabled but no apply worker runs")
		}
		if s.ApplyErrors > 0 || s.SyncErrors > 0 {
			why = append(why, fmt.Sprintf("recorded %d apply and %d table sync error(s) since its statistics were reset", s.ApplyErrors, s.SyncErrors))
		}
		if len(why) == 0 {
			continue
		}
		a.add(Finding{ID: CheckSubscriptionDown,
			Resource: "subscription/" + s.Name,
			Evidence: fmt.Sprintf("subscription %s (publications %s) %s", s.Name, strings.Join(s.Publications, ", "), strings.Join(why, " and ")),
			Fix:      Fix{Action: "read the subscriber's log for the apply worker's error, fix it, then ALTER SUBSCRIPTION ... ENABLE (logical.Client.EnableSubscription) and SELECT pg_stat_reset_subscription_stats(oid); or drop the subscription"}})
	}
	return nil
}

// publicationIdentity reports the published tables without a replica
// identity, per the logical package's readiness check.
func (a *advice) publicationIdentity(ctx context.Context, tx pgx.Tx) error {
	lc := logical.New(tx)
	pubs, err := lc.Publications(ctx)
	if err != nil {
		return err
	}
	// One finding per table, naming every publication that needs it.
	type table struct {
		f    logical.Finding
		pubs []string
	}
	var order []string
	tables := map[string]*table{}
	for _, p := range pubs {
		r, err := lc.CheckReadiness(ctx, logical.ReadinessInput{Publication: p.Name})
		if err != nil {
			return err
		}
		for _, f := range r.Findings {
			if f.Kind != logical.FindingNoReplicaIdentity || f.Severity != logical.SeverityError {
				continue
			}
			key := f.Table.String()
			if tables[key] == nil {
				tables[key] = &table{f: f}
				order = append(order, key)
			}
			tables[key].pubs = append(tables[key].pubs, p.Name)
		}
	}
	for _, key := range order {
		t := tables[key]
		a.add(Finding{ID: CheckPublicationNoReplicaIdentity,
			Resource: "table/" + key,
			Evidence: fmt.Sprintf("publication %s publishes updates or deletes of %s: %s", strings.Join(t.pubs, ", "), key, t.f.Message),
			Fix:      Fix{Action: t.f.Fix}})
	}
	return nil
}

// groupOverrides reports the custom DB parameter groups of the instances
// that set a parameter the cluster's DB cluster parameter group also sets,
// to a value the engine does not count as equal (params.EquivalentValues):
// for their instances, the instance group's value wins.
func (a *advice) groupOverrides(u *userGroupValues) {
	if len(u.groups) == 0 || isDefaultClusterGroup(a.d.ParameterGroup) {
		return
	}
	cluster := u.cluster
	for _, g := range u.groups {
		own := u.instances[g]
		var names, parts []string
		for key, p := range own {
			cp, ok := cluster[key]
			if !ok || params.EquivalentValues(p.Name, cmp.Or(p.DataType, cp.DataType), p.Value, cp.Value) {
				continue
			}
			names = append(names, p.Name)
		}
		if len(names) == 0 {
			continue
		}
		slices.Sort(names)
		quoted := make([]string, len(names))
		for i, n := range names {
			p, cp := own[strings.ToLower(n)], cluster[strings.ToLower(n)]
			parts = append(parts, fmt.Sprintf("%s=%s (cluster group: %s)", n, p.Value, cp.Value))
			quoted[i] = fmt.Sprintf("%q", n)
		}
		a.add(Finding{ID: CheckInstanceGroupOverride,
			Resource: "db-parameter-group/" + g,
			Evidence: fmt.Sprintf("DB parameter group %s of %s overrides DB cluster parameter group %s: %s", g, strings.Join(u.members[g], ", "), a.d.ParameterGroup, strings.Join(parts, ", ")),
			Fix: Fix{Workflow: fmt.Sprintf("Cluster.Params().Reset(ctx, params.InstanceGroup, %q, %s)", g, strings.Join(quoted, ", ")),
				Action: "or, when the instances are meant to differ, keep the override and document it"}})
	}
}

// pglogicalSubscriptions reports the pglogical subscriptions of the
// Cluster's database that are not replicating, per pglogical.Diagnose on
// the subscriber alone (show_subscription_status and the replication
// origin); an initial sync in progress is not reported. A database
// without the pglogical extension is not judged.
func (a *advice) pglogicalSubscriptions(ctx context.Context, tx pgx.Tx) error {
	var installed bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pglogical')").Scan(&installed); err != nil {
		return err
	}
	a.pglogicalSubs = 0
	if !installed {
		return nil
	}
	if err := a.pglogicalExtraUnique(ctx, tx); err != nil {
		return err
	}
	pc := pglogical.New(tx)
	subs, err := pc.Subscriptions(ctx)
	if err != nil {
		return err
	}
	a.pglogicalSubs = len(subs)
	for _, s := range subs {
		d, err := pglogical.Diagnose(ctx, nil, pc, s.Name, nil)
		if err != nil {
			return err
		}
		if d.Healthy() || d.Cause == pglogical.CauseInitializing {
			continue
		}
		a.add(Finding{ID: CheckPgLogicalSubscriptionDown,
			Resource: "pglogical-subscription/" + s.Name,
			Evidence: fmt.Sprintf("pglogical subscription %s from node %s has status %s (cause %s): %s", s.Name, s.ProviderNode, d.Status, d.Cause, d.Explanation),
			Fix:      Fix{Workflow: fmt.Sprintf("pglogical.Repair(ctx, provider, Cluster.PgLogical(), %q, nil)", s.Name), Action: d.Remedy}})
	}
	return nil
}
