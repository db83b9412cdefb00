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
	"github.com/pgaurora/pgaurora/internal/slots"
	"github.com/pgaurora/pgaurora/params"
	"github.com/pgaurora/pgaurora/pgaudit"
	"github.com/pgaurora/pgaurora/sslcert"
)

// Severity says how urgent a Finding is.
type Severity string

// The severities, from least to most urgent.
const (
	// SeverityInfo is worth knowing; nothing is at risk now.
	SeverityInfo Severity = "info"
	// SeverityWarning departs from AWS's guidance in a way that costs
	// availability, security or money.
	SeverityWarning Severity = "warning"
	// SeverityCritical puts data or the cluster's availability at risk.
	SeverityCritical Severity = "critical"
)

// rank orders severities for sorting, most urgent first.
func (s Severity) rank() int {
	switch s {
	case SeverityCritical:
		return 0
	case SeverityWarning:
		return 1
	default:
		return 2
	}
}

// Category is the area of the AWS guidance a Finding comes from.
type Category string

// The categories.
const (
	CategoryAvailability Category = "availability"
	CategorySecurity     Category = "security"
	CategoryCost         Category = "cost"
	CategoryPerformance  Category = "performance"
	CategoryReplication  Category = "replication"
	CategoryAudit        Category = "audit"
	CategoryUpgrade      Category = "upgrade"
	CategoryParameters   Category = "parameters"
)

// The IDs of the checks Advise runs. They are stable: a finding keeps its
// ID across releases, so callers can filter or silence by it.
const (
	// CheckBurstableClass: an instance runs on a T (burstable) class.
	CheckBurstableClass = "instance-class-burstable"
	// CheckNoReader: the cluster has a writer and no reader to fail over
	// to.
	CheckNoReader = "no-reader"
	// CheckFailoverTargetSmaller: the reader Aurora would promote on
	// failover is a smaller class than the writer.
	CheckFailoverTargetSmaller = "failover-target-smaller"
	// CheckStorageNotEncrypted: the cluster's storage is not encrypted at
	// rest.
	CheckStorageNotEncrypted = "storage-not-encrypted"
	// CheckDeletionProtectionOff: the cluster can be deleted by one call.
	CheckDeletionProtectionOff = "deletion-protection-off"
	// CheckPubliclyAccessible: an instance has a public address.
	CheckPubliclyAccessible = "publicly-accessible"
	// CheckForceSSLOff: rds.force_ssl is off, so clients may connect
	// without TLS.
	CheckForceSSLOff = "force-ssl-off"
	// CheckClientsWithoutTLS: client sessions on the writer are not
	// encrypted.
	CheckClientsWithoutTLS = "clients-without-tls"
	// CheckDefaultMasterUsername: the master user has the default name.
	CheckDefaultMasterUsername = "default-master-username"
	// CheckInactiveSlot: a replication slot nobody reads keeps WAL.
	CheckInactiveSlot = "inactive-slot-retaining-wal"
	// CheckPgAuditNotInstalled: pgAudit is preloaded but the extension is
	// not installed in the Cluster's database.
	CheckPgAuditNotInstalled = "pgaudit-preloaded-not-installed"
	// CheckPgAuditNotPreloaded: the pgaudit extension is installed but the
	// library is not preloaded, so nothing is audited.
	CheckPgAuditNotPreloaded = "pgaudit-installed-not-preloaded"
	// CheckPgAuditLogNone: pgAudit runs with pgaudit.log = none at the
	// server, so session auditing logs nothing.
	CheckPgAuditLogNone = "pgaudit-log-none"
	// CheckPendingReboot: parameter changes wait for a reboot.
	CheckPendingReboot = "parameters-pending-reboot"
	// CheckAutoMinorUpgrade: automatic minor version upgrades are on while
	// a migration is planned (AdviseOptions.PlannedMigration).
	CheckAutoMinorUpgrade = "auto-minor-upgrade-before-migration"
	// CheckExtensionUpdate: an installed extension is older than the
	// version the engine ships.
	CheckExtensionUpdate = "extension-update-pending"
	// CheckCAExpiring: an instance's server certificate comes from an RDS
	// CA that expires within CAExpiryWindow (or has expired), per the CA
	// catalog (DescribeCertificates).
	CheckCAExpiring = "ca-expiring"
	// CheckIAMAuthNoMembers: IAM database authentication is enabled, but
	// no role that can log in is a member of rds_iam (members that still
	// have passwords are CheckIAMMemberPassword).
	CheckIAMAuthNoMembers = "iam-auth-no-members"
	// CheckPgAuditExcluded: a role, a database, or a role in a database
	// has pgaudit.log = none stored for it (pg_db_role_setting), so its
	// sessions are not audited.
	CheckPgAuditExcluded = "pgaudit-excluded"
	// CheckPgAuditBypass: a role that can log in, other than the master
	// user, may change pgAudit's settings in its own sessions: it is a
	// superuser, a member of rds_superuser, or holds SET on pgaudit.log.
	CheckPgAuditBypass = "pgaudit-role-can-bypass"
	// CheckPgAuditHeavy: the server runs pgAudit with pgaudit.log = all,
	// pgaudit.log_relation on or pgaudit.log_parameter on.
	CheckPgAuditHeavy = "pgaudit-heavy-logging"
	// CheckSubscriptionDown: a subscription in the Cluster's database is
	// disabled, has no apply worker running, or has recorded apply or
	// table sync errors.
	CheckSubscriptionDown = "subscription-down"
	// CheckPublicationNoReplicaIdentity: a table a publication publishes
	// UPDATE or DELETE for has no primary key and no usable replica
	// identity, so those statements fail on it.
	CheckPublicationNoReplicaIdentity = "publication-table-no-replica-identity"
	// CheckPgLogicalSubscriptionDown: a pglogical subscription in the
	// Cluster's database is not replicating (disabled, apply worker down,
	// replication origin missing), per pglogical.Diagnose.
	CheckPgLogicalSubscriptionDown = "pglogical-subscription-down"
	// CheckInstanceGroupOverride: an instance's custom DB parameter group
	// sets a parameter the DB cluster parameter group also sets, to a
	// different value, which wins on that instance.
	CheckInstanceGroupOverride = "instance-group-overrides-cluster"
	// CheckReplicationCapacity: a setting of the writer leaves no room
	// beyond the replication that exists: max_replication_slots at or
	// below the slots plus the subscriptions (whose apply workers need
	// replication origins, which it also bounds); max_wal_senders at or
	// below the slots (one sender per slot's consumer);
	// max_logical_replication_workers at or below the subscriptions
	// (native, enabled or not, plus pglogical's in the Cluster's
	// database: one apply worker each, none left for a table sync); or
	// max_worker_processes below max_logical_replication_workers + 1 (the
	// launcher), plus pglogical's supervisor, manager and apply workers
	// when it is preloaded.
	CheckReplicationCapacity = "replication-capacity-undersized"
	// CheckTruncateAcrossForeignKey: a publication publishes TRUNCATE of
	// a table that a foreign key links to a table the publication does
	// not publish.
	CheckTruncateAcrossForeignKey = "publication-truncate-across-foreign-key"
	// CheckPgLogicalExtraUnique: a table in a pglogical replication set
	// has a unique constraint or unique index besides its primary key.
	CheckPgLogicalExtraUnique = "pglogical-table-extra-unique"
	// CheckLanguageBelowDefault: PLV8 (or another language extension of
	// AdviseOptions.Languages) is installed below the version the engine
	// ships. It replaces CheckExtensionUpdate for those extensions, whose
	// update is a drop and re-create (Cluster.UpgradePLV8), not ALTER
	// EXTENSION ... UPDATE.
	CheckLanguageBelowDefault = "plv8-below-default-version"
	// CheckExtendedSupport: the cluster's engine major version is past
	// the end of RDS standard support (DescribeDBMajorEngineVersions'
	// lifecycles), so it runs on Extended Support, which is charged, or,
	// with Extended Support disabled, is due for an upgrade by AWS.
	CheckExtendedSupport = "engine-extended-support"
	// CheckIOOptimized: on Aurora Standard storage, I/O is more than
	// IOOptimizedShare of the cluster's estimated monthly cost, the point
	// past which AWS says Aurora I/O-Optimized costs less. It runs only
	// when AdviseOptions.Prices is set.
	CheckIOOptimized = "io-optimized-pays"
	// CheckRDSProxy: the writer's client sessions are many and mostly
	// idle (at least ProxyIdleShare of max_connections, at least
	// ProxyIdleFraction of them idle), or, from PostgreSQL 14 on,
	// pg_stat_database counts at least ProxyChurnSessions sessions opened
	// at ProxyChurnRate a second or more and lasting less than
	// ProxyChurnMeanSession on average. The rate is over the time since
	// the counters' last reset (pg_stat_reset), else since the server's
	// start; counters PostgreSQL kept across a clean restart make it look
	// higher than it was.
	CheckRDSProxy = "connections-call-for-rds-proxy"
	// CheckParameterNotAccepted: a custom parameter group holds a value
	// outside what the group's own metadata (AllowedValues) or the SDK's
	// catalog of Aurora parameters (params.Validate) accepts.
	CheckParameterNotAccepted = "parameter-value-not-accepted"
	// CheckIAMMemberPassword: a login role in rds_iam still has a
	// password. It runs only where pg_authid is readable (a real
	// superuser, as on the emulator); on Aurora rds_superuser cannot read
	// it, and the check does not run.
	CheckIAMMemberPassword = "iam-member-has-password"
)

// IOOptimizedShare is the share of the monthly cost spent on I/O above
// which CheckIOOptimized reports: AWS's guidance is that Aurora
// I/O-Optimized is the cheaper configuration when I/O charges exceed 25 %
// of the total Aurora database spend.
const IOOptimizedShare = 0.25

// CAExpiryWindow is how close to its CA's expiry an instance gets
// CheckCAExpiring.
const CAExpiryWindow = 90 * 24 * time.Hour

// Fix is how to resolve a Finding, as data: parameter changes to apply,
// an SDK call that does it, or, when neither exists, the RDS or SQL
// action to take.
type Fix struct {
	// Changes, when set, are parameter changes for the group Group of kind
	// Kind (apply them with Params().Plan and Apply, or Modify).
	Kind    params.Kind     `json:",omitempty"`
	Group   string          `json:",omitempty"`
	Changes []params.Change `json:",omitempty"`
	// Workflow names the SDK call that fixes the finding, for example
	// "Cluster.Params().RebootPending".
	Workflow string `json:",omitempty"`
	// Action describes what to do when no SDK call does it.
	Action string `json:",omitempty"`
}

// String is the fix on one line: the parameter changes, the SDK call,
// and the action, those that are set.
func (f Fix) String() string {
	var parts []string
	if len(f.Changes) > 0 {
		group := f.Group
		if group == "" {
			group = "a custom"
		}
		s := fmt.Sprintf("set in %s %s group:", group, f.Kind)
		for _, c := range f.Changes {
			s += " " + c.String()
		}
		parts = append(parts, s)
	}
	for _, more := range []string{f.Workflow, f.Action} {
		if more != "" {
			parts = append(parts, more)
		}
	}
	return strings.Join(parts, "; ")
}

// Finding is one thing Advise found wrong with a cluster.
type Finding struct {
	// ID is the check's stable identifier (the Check... constants).
	ID       string
	Severity Severity
	Category Category
	// Resource is what the finding is about: "cluster/ID",
	// "instance/ID", "slot/NAME", "extension/NAME", "database/NAME",
	// "role/NAME", "role/NAME@database/NAME", "subscription/NAME",
	// "table/SCHEMA.NAME", "pglogical-subscription/NAME",
	// "db-parameter-group/NAME".
	Resource string
	// Evidence is what was observed, with the values read.
	Evidence string
	// Why is the guidance the check comes from, in one sentence.
	Why string
	// Fix is how to resolve it.
	Fix Fix
	// Instance and Slot are the instance or replication slot the finding
	// is about, as read, when it is about one.
	Instance *pgaurora.Instance        `json:",omitempty"`
	Slot     *pgaurora.ReplicationSlot `json:",omitempty"`
}

// String is the finding on one line: severity, ID, resource, evidence.
func (f Finding) String() string {
	return fmt.Sprintf("%s %s %s: %s", f.Severity, f.ID, f.Resource, f.Evidence)
}

// AdviseOptions are Advise's optional knobs; nil means the zero value.
type AdviseOptions struct {
	// PlannedMigration says a major version upgrade or a logical
	// migration is planned, which turns on the checks that only matter
	// then (CheckAutoMinorUpgrade).
	PlannedMigration bool
	// Catalog names the RDS CAs and their validity, for CheckCAExpiring.
	// Nil reads it from the API (Certs.Catalog, one DescribeCertificates
	// call); a caller advising many clusters of one account and Region
	// reads it once and passes it to each call.
	Catalog *sslcert.Catalog
	// Languages are the language extensions CheckLanguageBelowDefault
	// judges; nil means extensions.DefaultLanguageExtensions (plv8,
	// plcoffee, plls).
	Languages []string
	// Lifecycles are the engine's support lifecycles, for
	// CheckExtendedSupport. Nil reads them from the API (one
	// DescribeDBMajorEngineVersions call); a caller advising many
	// clusters reads them once (ReadEngineLifecycles) and passes them to
	// each call, as Fleet.Advise does.
	Lifecycles EngineLifecycles
	// Prices, when set, turns on CheckIOOptimized, which then reads the
	// cluster volume's I/O from CloudWatch (one GetMetricData call). The
	// SDK holds no price list: without Prices the check does not run.
	Prices *AdvisePrices
}

// AdvisePrices are the caller's prices for CheckIOOptimized, in any one
// currency, for the cluster's Region on Aurora Standard, and the window
// of CloudWatch data the I/O rate is taken from.
type AdvisePrices struct {
	// HourlyPrices are the on-demand price of one instance hour, by
	// instance class ("db.r6g.large"); every class of the cluster must
	// have one.
	HourlyPrices map[string]float64
	// StorageGBMonthPrice is the price of one GB of cluster storage for
	// a month.
	StorageGBMonthPrice float64
	// IOPricePerMillion is the price of one million I/O requests.
	IOPricePerMillion float64
	// Window is how far back the I/O is read (VolumeReadIOPs and
	// VolumeWriteIOPs, summed); zero means 7 days.
	Window time.Duration
	// Period is the CloudWatch period the window is read at; zero means
	// 5 minutes, the resolution at which RDS publishes the volume's I/O.
	Period time.Duration
}

// DefaultMasterUsername is the master user name the RDS console proposes
// for Aurora PostgreSQL, which CheckDefaultMasterUsername reports.
const DefaultMasterUsername = "postgres"

// Advise checks the cluster against AWS's guidance and returns what it
// finds, most urgent first (then by ID and resource). An empty slice means
// every check passed.
//
// On the wire it calls only DescribeDBClusters, DescribeDBInstances,
// DescribeCertificates (unless AdviseOptions.Catalog is set),
// DescribeDBMajorEngineVersions (unless AdviseOptions.Lifecycles is set),
// DescribeDBClusterParameters with Source user when the cluster has a
// custom DB cluster parameter group, DescribeDBParameters with Source user
// for each custom DB parameter group of its instances, and, only when
// AdviseOptions.Prices is set, CloudWatch's GetMetricData (twice: the
// volume's I/O summed, its size averaged). It runs its SQL on the writer,
// in the Cluster's database, inside one READ ONLY transaction: it changes
// nothing. The SQL-side checks see what the writer sees: its client
// sessions and statistics, its settings, the cluster's replication slots,
// subscriptions and roles, and the extensions, publications, pglogical
// replication sets and subscriptions of the Cluster's database. A
// connection lost to a reboot or failover is retried on the writer, until
// ctx ends. Bad AdviseOptions.Prices are refused with an *InputError
// before any SQL or CloudWatch call.
//
// Two checks cannot always run, and then report nothing:
// CheckIOOptimized needs the caller's prices (the SDK holds no price
// list), and CheckIAMMemberPassword needs pg_authid, which Aurora's
// rds_superuser cannot read (a real superuser, as on the emulator, can).
func (c *Cluster) Advise(ctx context.Context, opts *AdviseOptions) ([]Finding, error) {
	if opts == nil {
		opts = &AdviseOptions{}
	}
	d, err := c.Describe(ctx)
	if err != nil {
		return nil, fmt.Errorf("aurora: advise: %w", err)
	}
	if opts.Prices != nil {
		if err := checkPrices(opts.Prices, d); err != nil {
			return nil, fmt.Errorf("aurora: advise: %w", err)
		}
	}
	cat := opts.Catalog
	if cat == nil {
		if cat, err = c.Certs().Catalog(ctx); err != nil {
			return nil, fmt.Errorf("aurora: advise: %w", err)
		}
	}
	lcs := opts.Lifecycles
	if lcs == nil {
		if lcs, err = c.EngineLifecycles(ctx); err != nil {
			return nil, fmt.Errorf("aurora: advise: %w", err)
		}
	}
	a := &advice{d: d, opts: opts}
	now := time.Now()
	a.controlPlane()
	a.caExpiry(cat, now)
	if err := a.extendedSupport(lcs, now); err != nil {
		return nil, fmt.Errorf("aurora: advise: %w", err)
	}
	groups, err := a.readGroupValues(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("aurora: advise: %w", err)
	}
	a.groupOverrides(groups)
	a.parametersNotAccepted(groups)
	if err := a.ioOptimized(ctx, c, now); err != nil {
		return nil, fmt.Errorf("aurora: advise: %w", err)
	}

	cp := len(a.found)
	err = c.onWriter(ctx, func(tx pgx.Tx) error {
		a.found = a.found[:cp] // a retried transaction starts again
		if _, err := tx.Exec(ctx, "SET TRANSACTION READ ONLY"); err != nil {
			return fmt.Errorf("making the transaction read-only: %w", err)
		}
		for _, check := range []struct {
			name string
			run  func(context.Context, pgx.Tx) error
		}{
			{"rds.force_ssl", a.forceSSL},
			{"client sessions", a.clientsWithoutTLS},
			{"replication slots", a.inactiveSlots},
			{"pgAudit", a.pgAudit},
			{"extension updates", a.extensionUpdates},
			{"IAM authentication", a.iamMembers},
			{"subscriptions", a.subscriptionsDown},
			{"pglogical subscriptions", a.pglogicalSubscriptions},
			{"publications", a.publicationIdentity},
			{"TRUNCATE across foreign keys", a.truncateAcrossForeignKeys},
			{"replication capacity and connections", a.replicationCapacity},
			{"passwords of rds_iam members", a.iamMemberPasswords},
		} {
			if err := check.run(ctx, tx); err != nil {
				return fmt.Errorf("checking %s: %w", check.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("aurora: advise: %w", err)
	}
	sortFindings(a.found)
	if a.found == nil {
		a.found = []Finding{}
	}
	return a.found, nil
}

// advice collects the findings of one Advise call.
type advice struct {
	d     *Description
	opts  *AdviseOptions
	found []Finding
	// pglogicalSubs is the number of pglogical subscriptions in the
	// Cluster's database, read by pglogicalSubscriptions.
	pglogicalSubs int
}

func (a *advice) add(f Finding) { a.found = append(a.found, withCheckInfo(f)) }

// clusterGroupFix is a fix that sets changes in the cluster's DB cluster
// parameter group. A default group cannot be modified: then the fix says
// to give the cluster a custom group first, and names none.
func (a *advice) clusterGroupFix(changes ...params.Change) Fix {
	f := Fix{Kind: params.ClusterGroup, Group: a.d.ParameterGroup, Changes: changes}
	if strings.HasPrefix(a.d.ParameterGroup, "default.") {
		f.Group = ""
		f.Action = fmt.Sprintf("the cluster uses the default group %s, which cannot be modified: create a custom DB cluster parameter group, set it on the cluster (ModifyDBCluster), then apply the changes to it", a.d.ParameterGroup)
	}
	return f
}

func withWorkflow(f Fix, workflow string) Fix {
	f.Workflow = workflow
	return f
}

func (a *advice) clusterResource() string { return "cluster/" + a.d.ID }

// instances returns the writer (when known) and the readers.
func (a *advice) instances() []pgaurora.Instance {
	var out []pgaurora.Instance
	if a.d.Writer != nil {
		out = append(out, *a.d.Writer)
	}
	return append(out, a.d.Readers...)
}

// controlPlane runs the checks that need only the RDS description.
func (a *advice) controlPlane() {
	d := a.d
	for _, in := range a.instances() {
		in := in
		if isBurstable(in.Class) {
			a.add(Finding{ID: CheckBurstableClass,
				Resource: "instance/" + in.ID, Instance: &in,
				Evidence: fmt.Sprintf("%s (%s) runs on %s, a burstable class", in.ID, in.Role(), in.Class),
				Fix:      Fix{Action: "ModifyDBInstance with a memory-optimized DBInstanceClass (db.r6g, db.r7g, ...)"}})
		}
		if in.PubliclyAccessible {
			a.add(Finding{ID: CheckPubliclyAccessible,
				Resource: "instance/" + in.ID, Instance: &in,
				Evidence: fmt.Sprintf("%s has PubliclyAccessible=true", in.ID),
				Fix:      Fix{Action: "ModifyDBInstance with PubliclyAccessible=false"}})
		}
		if a.opts.PlannedMigration && in.AutoMinorVersionUpgrade {
			a.add(Finding{ID: CheckAutoMinorUpgrade,
				Resource: "instance/" + in.ID, Instance: &in,
				Evidence: fmt.Sprintf("%s has AutoMinorVersionUpgrade=true (maintenance window %s)", in.ID, in.PreferredMaintenanceWindow),
				Fix:      Fix{Action: "ModifyDBInstance with AutoMinorVersionUpgrade=false"}})
		}
		if f, ok := pendingRebootFinding(d, in); ok {
			a.add(f)
		}
	}
	switch {
	case d.Writer != nil && len(d.Readers) == 0:
		a.add(Finding{ID: CheckNoReader,
			Resource: a.clusterResource(),
			Evidence: fmt.Sprintf("the cluster has a writer (%s) and no reader", d.Writer.ID),
			Fix:      Fix{Action: "CreateDBInstance in the cluster, with the writer's DBInstanceClass"}})
	case d.Writer != nil:
		if t, ok := failoverTarget(d.Readers); ok && classSmaller(t.Class, d.Writer.Class) {
			a.add(Finding{ID: CheckFailoverTargetSmaller,
				Resource: "instance/" + t.ID, Instance: &t,
				Evidence: fmt.Sprintf("failover would promote %s (tier %d, %s), smaller than the writer %s (%s)", t.ID, t.PromotionTier, t.Class, d.Writer.ID, d.Writer.Class),
				Fix:      Fix{Action: fmt.Sprintf("ModifyDBInstance %s with DBInstanceClass %s", t.ID, d.Writer.Class)}})
		}
	}
	if !d.StorageEncrypted {
		a.add(Finding{ID: CheckStorageNotEncrypted,
			Resource: a.clusterResource(),
			Evidence: "StorageEncrypted=false",
			Fix:      Fix{Action: "CreateDBClusterSnapshot, then RestoreDBClusterFromSnapshot with a KmsKeyId, and move clients to the new cluster"}})
	}
	if !d.DeletionProtection {
		a.add(Finding{ID: CheckDeletionProtectionOff,
			Resource: a.clusterResource(),
			Evidence: "DeletionProtection=false",
			Fix:      Fix{Action: "ModifyDBCluster with DeletionProtection=true"}})
	}
	if d.MasterUsername == DefaultMasterUsername {
		a.add(Finding{ID: CheckDefaultMasterUsername,
			Resource: a.clusterResource(),
			Evidence: fmt.Sprintf("MasterUsername=%s", d.MasterUsername),
			Fix:      Fix{Action: "the master user name cannot be changed: create new clusters with a custom MasterUsername, and log in as a separate, less privileged role"}})
	}
}

// pendingRebootFinding is CheckPendingReboot for an instance, when its
// parameter groups wait for a reboot.
func pendingRebootFinding(d *Description, in pgaurora.Instance) (Finding, bool) {
	if !in.PendingReboot() {
		return Finding{}, false
	}
	var groups []string
	if in.ClusterParameterGroupStatus == pgaurora.ParamPendingReboot {
		groups = append(groups, "DB cluster parameter group "+d.ParameterGroup)
	}
	if in.ParameterApplyStatus == pgaurora.ParamPendingReboot {
		groups = append(groups, "DB parameter group "+in.ParameterGroup)
	}
	return withCheckInfo(Finding{ID: CheckPendingReboot,
		Resource: "instance/" + in.ID, Instance: &in,
		Evidence: fmt.Sprintf("%s is pending-reboot for its %s", in.ID, strings.Join(groups, " and ")),
		Fix:      Fix{Workflow: "Cluster.Params().RebootPending"}}), true
}

// sortFindings orders findings most urgent first, then by ID and
// resource.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(x, y Finding) int {
		return cmp.Or(cmp.Compare(x.Severity.rank(), y.Severity.rank()), cmp.Compare(x.ID, y.ID), cmp.Compare(x.Resource, y.Resource))
	})
}

// isBurstable reports whether an instance class is a T class
// ("db.t3.medium", "db.t4g.large").
func isBurstable(class string) bool {
	fam, _, ok := splitClass(class)
	return ok && strings.HasPrefix(fam, "t")
}

// splitClass splits "db.r6g.2xlarge" into its family ("r6g") and size
// ("2xlarge").
func splitClass(class string) (family, size string, ok bool) {
	parts := strings.Split(class, ".")
	if len(parts) != 3 || parts[0] != "db" || parts[1] == "" || parts[2] == "" {
		return "", "", false
	}
	return parts[1], parts[2], true
}

// sizeRank orders instance sizes; -1 for a size this package does not
// know (and for db.serverless), which is never compared.
func sizeRank(size string) int {
	switch size {
	case "micro":
		return 0
	case "small":
		return 1
	case "medium":
		return 2
	case "large":
		return 3
	case "xlarge":
		return 4
	}
	var n int
	if _, err := fmt.Sscanf(size, "%dxlarge", &n); err == nil && n > 0 && size == fmt.Sprintf("%dxlarge", n) {
		return 4 + n
	}
	return -1
}

// classSmaller reports whether class a is certainly smaller than class b:
// a smaller size, or the same size on a burstable class against a
// non-burstable one. Classes it cannot compare are not smaller.
func classSmaller(a, b string) bool {
	_, sa, ok1 := splitClass(a)
	_, sb, ok2 := splitClass(b)
	ra, rb := sizeRank(sa), sizeRank(sb)
	if !ok1 || !ok2 || ra < 0 || rb < 0 {
		return false
	}
	return ra < rb || (ra == rb && isBurstable(a) && !isBurstable(b))
}

// failoverTarget is the reader Aurora promotes on a failover: the lowest
// promotion tier, and among those the largest class. ok is false when
// there are no readers or the largest cannot be told.
func failoverTarget(readers []pgaurora.Instance) (pgaurora.Instance, bool) {
	if len(readers) == 0 {
		return pgaurora.Instance{}, false
	}
	tier := readers[0].PromotionTier
	for _, r := range readers {
		tier = min(tier, r.PromotionTier)
	}
	var best []pgaurora.Instance
	for _, r := range readers {
		if r.PromotionTier == tier {
			best = append(best, r)
		}
	}
	t := best[0]
	for _, r := range best[1:] {
		switch {
		case classSmaller(t.Class, r.Class):
			t = r
		case !classSmaller(r.Class, t.Class) && r.Class != t.Class:
			return pgaurora.Instance{}, false // incomparable at the same tier
		}
	}
	return t, true
}

// forceSSL reports rds.force_ssl off. A server without the setting (not
// Aurora) is not judged.
func (a *advice) forceSSL(ctx context.Context, tx pgx.Tx) error {
	var v *string
	if err := tx.QueryRow(ctx, "SELECT pg_catalog.current_setting('rds.force_ssl', true)").Scan(&v); err != nil {
		return err
	}
	if v == nil || *v == "" {
		return nil
	}
	if on, ok := guc.ParseBool(*v); ok && !on {
		a.add(Finding{ID: CheckForceSSLOff,
			Resource: a.clusterResource(),
			Evidence: fmt.Sprintf("rds.force_ssl=%s on the writer", *v),
			Fix:      a.clusterGroupFix(params.Change{Name: "rds.force_ssl", Value: "1"})})
	}
	return nil
}

// clientsWithoutTLS reports the writer's client sessions over TCP without
// TLS.
func (a *advice) clientsWithoutTLS(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT coalesce(a.usename::text, ''), coalesce(a.datname::text, ''), host(a.client_addr), count(*)
FROM pg_catalog.pg_stat_activity a JOIN pg_catalog.pg_stat_ssl s ON s.pid = a.pid
WHERE a.backend_type = 'client backend' AND a.client_addr IS NOT NULL AND NOT s.ssl
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
	if err != nil {
		return err
	}
	type group struct {
		user, db, addr string
		n              int
	}
	groups, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (group, error) {
		var g group
		return g, r.Scan(&g.user, &g.db, &g.addr, &g.n)
	})
	if err != nil {
		return err
	}
	if len(groups) == 0 {
		return nil
	}
	total := 0
	var parts []string
	for _, g := range groups {
		total += g.n
		parts = append(parts, fmt.Sprintf("%d as %s to %s from %s", g.n, g.user, g.db, g.addr))
	}
	f := Finding{ID: CheckClientsWithoutTLS,
		Resource: "instance/" + a.d.ID,
		Evidence: fmt.Sprintf("%d client session(s) on the writer without TLS: %s", total, strings.Join(parts, "; ")),
		Fix:      a.clusterGroupFix(params.Change{Name: "rds.force_ssl", Value: "1"})}
	if a.d.Writer != nil {
		w := *a.d.Writer
		f.Resource, f.Instance = "instance/"+w.ID, &w
	}
	a.add(f)
	return nil
}

// inactiveSlots reports the slots no consumer reads that hold WAL.
func (a *advice) inactiveSlots(ctx context.Context, tx pgx.Tx) error {
	found, err := slots.List(ctx, tx, slots.Inactive)
	if err != nil {
		return err
	}
	for _, s := range found {
		if s.Temporary || s.RestartLSN == 0 {
			continue // reserves no WAL
		}
		s := s
		sev := SeverityWarning
		if s.WALStatus == "unreserved" || s.WALStatus == "lost" {
			sev = SeverityCritical
		}
		ev := fmt.Sprintf("%s slot %s is inactive and retains %s (%d bytes) of WAL since %s", s.Type, s.Name, s.RetainedWAL(), s.RetainedBytes, s.RestartLSN)
		if s.WALStatus != "" {
			ev += ", wal_status " + s.WALStatus
		}
		a.add(Finding{ID: CheckInactiveSlot, Severity: sev,
			Resource: "slot/" + s.Name, Slot: &s, Evidence: ev,
			Fix: Fix{Action: "resume the slot's consumer, or drop the slot: SELECT pg_drop_replication_slot(name)"}})
	}
	return nil
}

// pgAudit reports pgAudit preloaded but not installed, the reverse, and
// pgaudit.log none at the server.
func (a *advice) pgAudit(ctx context.Context, tx pgx.Tx) error {
	st, err := pgaudit.New(tx).Status(ctx)
	if err != nil {
		return err
	}
	var db, preload string
	if err := tx.QueryRow(ctx, "SELECT pg_catalog.current_database()::text, pg_catalog.current_setting('shared_preload_libraries')").Scan(&db, &preload); err != nil {
		return err
	}
	switch {
	case st.Preloaded && !st.Installed:
		a.add(Finding{ID: CheckPgAuditNotInstalled,
			Resource: "database/" + db,
			Evidence: fmt.Sprintf("shared_preload_libraries=%s lists pgaudit, but the extension is not installed in database %s", preload, db),
			Fix:      Fix{Workflow: "Cluster.Audit().Install"}})
	case !st.Preloaded && st.Installed:
		ch, _, err := params.PreloadChange(preload, []string{pgaudit.LibraryName}, nil)
		if err != nil {
			return err
		}
		a.add(Finding{ID: CheckPgAuditNotPreloaded,
			Resource: "database/" + db,
			Evidence: fmt.Sprintf("the pgaudit extension %s is installed in database %s, but shared_preload_libraries=%q does not list pgaudit", st.Version, db, preload),
			Fix:      withWorkflow(a.clusterGroupFix(ch), "Cluster.EnablePgAudit")})
	}
	if !st.Preloaded {
		return nil
	}
	if err := a.pgAuditExclusions(ctx, tx); err != nil {
		return err
	}
	if err := a.pgAuditBypass(ctx, tx); err != nil {
		return err
	}
	// The server's values, without this session's role and database
	// overrides; one the session cannot tell is not judged.
	server, err := pgaudit.New(tx).ServerValues(ctx, pgaudit.SettingLog, pgaudit.SettingLogParameter, pgaudit.SettingLogRelation)
	if err != nil {
		return err
	}
	if err := a.pgAuditHeavy(ctx, tx, server); err != nil {
		return err
	}
	if setting, ok := server[pgaudit.SettingLog]; ok {
		if cl, err := pgaudit.ParseClasses(setting); err == nil && cl == 0 {
			a.add(Finding{ID: CheckPgAuditLogNone,
				Resource: a.clusterResource(),
				Evidence: fmt.Sprintf("pgaudit is preloaded and pgaudit.log=%s at the server", setting),
				Fix:      a.clusterGroupFix(params.Change{Name: pgaudit.SettingLog, Value: "ddl,role"})})
		}
	}
	return nil
}

// extensionUpdates reports installed extensions older than the engine's
// default version.
func (a *advice) extensionUpdates(ctx context.Context, tx pgx.Tx) error {
	ups, err := extensions.New(tx).Updates(ctx)
	if err != nil {
		return err
	}
	for _, u := range ups {
		ev := fmt.Sprintf("%s %s is installed; the engine ships %s", u.Name, u.Installed, u.Default)
		if slices.Contains(a.languageNames(), u.Name) {
			a.add(Finding{ID: CheckLanguageBelowDefault,
				Resource: "extension/" + u.Name, Evidence: ev,
				Fix: Fix{Workflow: fmt.Sprintf("Cluster.UpgradePLV8(ctx, backup, &aurora.PLV8UpgradeOptions{Languages: []string{%q}})", u.Name)}})
			continue
		}
		if u.Path != "" {
			ev += " (update path " + u.Path + ")"
		}
		a.add(Finding{ID: CheckExtensionUpdate,
			Resource: "extension/" + u.Name, Evidence: ev,
			Fix: Fix{Workflow: fmt.Sprintf("Cluster.Extensions().Update(ctx, %q, %q)", u.Name, u.Default)}})
	}
	return nil
}
