package aurora

// checkInfo is what every finding of one Advise check shares: its
// severity (a finding may raise it, as an expired CA does), its category,
// and the guidance it comes from.
type checkInfo struct {
	severity Severity
	category Category
	why      string
}

// adviseChecks are Advise's checks, one entry each (the documented count:
// TestAdviseChecksDocumented).
var adviseChecks = map[string]checkInfo{
	CheckBurstableClass: {SeverityWarning, CategoryPerformance,
		"AWS recommends the T instance classes only for development and test servers, not production: sustained load exhausts their CPU credits."},
	CheckPubliclyAccessible: {SeverityCritical, CategorySecurity,
		"AWS recommends that DB instances not be publicly accessible (Security Hub RDS.2): clients should reach them from inside the VPC."},
	CheckAutoMinorUpgrade: {SeverityWarning, CategoryUpgrade,
		"AWS's upgrade and migration guides say to turn off automatic minor version upgrades before a migration, so the engine does not change under it."},
	CheckNoReader: {SeverityWarning, CategoryAvailability,
		"AWS recommends at least one Aurora Replica in another Availability Zone, so that a failover promotes it in about a minute instead of recreating the writer."},
	CheckFailoverTargetSmaller: {SeverityWarning, CategoryAvailability,
		"Aurora promotes the reader with the lowest promotion tier (the largest of them on a tie), and AWS recommends that reader be the writer's size so the cluster keeps its capacity after a failover."},
	CheckStorageNotEncrypted: {SeverityCritical, CategorySecurity,
		"AWS recommends encrypting Aurora clusters at rest (Security Hub RDS.27); encryption cannot be turned on in place."},
	CheckDeletionProtectionOff: {SeverityWarning, CategoryAvailability,
		"AWS recommends deletion protection on production clusters (Security Hub RDS.7), so that no single call deletes them."},
	CheckDefaultMasterUsername: {SeverityWarning, CategorySecurity,
		"AWS recommends a custom administrator user name (Security Hub RDS.24), since the default one is the first an attacker tries."},
	CheckForceSSLOff: {SeverityWarning, CategorySecurity,
		"AWS recommends rds.force_ssl=1 so that the server refuses connections without TLS."},
	CheckInactiveSlot: {SeverityWarning, CategoryReplication,
		"AWS warns that an inactive replication slot keeps every WAL file since its restart point, which grows storage until the slot is used again or dropped."},
	CheckPgAuditNotInstalled: {SeverityWarning, CategoryAudit,
		"AWS's pgAudit setup loads the library and then runs CREATE EXTENSION pgaudit in the database, whose event triggers audit DDL."},
	CheckPgAuditNotPreloaded: {SeverityCritical, CategoryAudit,
		"pgAudit audits only when its library is in shared_preload_libraries; installed without it, the extension logs nothing."},
	CheckPgAuditLogNone: {SeverityWarning, CategoryAudit,
		"With pgaudit.log none, pgAudit's session auditing logs nothing, so the audit configuration AWS documents is not in effect."},
	CheckExtensionUpdate: {SeverityInfo, CategoryUpgrade,
		"AWS recommends ALTER EXTENSION ... UPDATE after an engine upgrade, since the engine ships newer extension versions but does not install them."},
	CheckCAExpiring: {SeverityWarning, CategorySecurity,
		"AWS says to move instances to a new CA before their CA expires, because clients that verify the server certificate cannot connect once it has."},
	CheckIAMAuthNoMembers: {SeverityInfo, CategorySecurity,
		"AWS's IAM database authentication applies only to roles granted rds_iam; enabled with none, it authenticates nobody and leaves every login on passwords."},
	CheckPgAuditExcluded: {SeverityWarning, CategoryAudit,
		"AWS documents excluding a role or database from auditing with pgaudit.log = none, which leaves everything its sessions do out of the audit log, so each exclusion should be one the audit policy means."},
	CheckPgAuditBypass: {SeverityWarning, CategoryAudit,
		"AWS warns that session-level settings override the audit configuration, so a role allowed to SET pgAudit's settings can stop auditing itself."},
	CheckPgAuditHeavy: {SeverityInfo, CategoryAudit,
		"AWS warns that pgaudit.log all, log_relation and log_parameter multiply the volume of the logs, which costs storage and performance, so they need log retention (rds.log_retention_period, log exports) sized for it."},
	CheckSubscriptionDown: {SeverityWarning, CategoryReplication,
		"A logical subscription that stops applying falls behind while its slot on the publisher keeps WAL, which AWS warns fills storage, so it must be fixed or dropped."},
	CheckPublicationNoReplicaIdentity: {SeverityCritical, CategoryReplication,
		"PostgreSQL's logical replication needs a replica identity (a primary key, a unique index, or FULL) on every table whose UPDATE and DELETE a publication publishes, and refuses those statements on a table without one."},
	CheckInstanceGroupOverride: {SeverityWarning, CategoryParameters,
		"Aurora applies a DB parameter group's value over the DB cluster parameter group's for the instances that use it, so the cluster's setting is silently not in effect there."},
	CheckPgLogicalSubscriptionDown: {SeverityWarning, CategoryReplication,
		"AWS's pglogical troubleshooting says a subscription that is not replicating falls behind while the provider's slot keeps WAL, so it must be repaired or dropped."},
	CheckPendingReboot: {SeverityWarning, CategoryParameters,
		"Static parameter changes take effect only after the instance reboots, so the server runs with values other than its parameter group shows."},
	CheckClientsWithoutTLS: {SeverityWarning, CategorySecurity,
		"AWS recommends that every client connect with TLS (sslmode=verify-full), so credentials and data do not cross the network in the clear."},
	CheckReplicationCapacity: {SeverityWarning, CategoryReplication,
		"AWS's logical replication and pglogical setup says to size max_replication_slots, max_wal_senders, max_logical_replication_workers and max_worker_processes for the slots and subscriptions planned, since a slot, sender or worker that is not available makes the next subscription or table sync fail."},
	CheckTruncateAcrossForeignKey: {SeverityWarning, CategoryReplication,
		"PostgreSQL's logical replication documents that a replicated TRUNCATE fails on the subscriber when a table it truncates has foreign-key links to a table not in the same subscription."},
	CheckPgLogicalExtraUnique: {SeverityWarning, CategoryReplication,
		"AWS's pglogical guidance and the pglogical documentation say a replicated table should have its primary key as its only unique constraint, since conflicts on other unique constraints cannot be resolved and stop the apply."},
	CheckLanguageBelowDefault: {SeverityWarning, CategoryUpgrade,
		"AWS recommends upgrading PLV8 to the version the engine ships after an engine upgrade, by dropping and re-creating the extension (the documented procedure), since the old version's library is not what the engine supports."},
	CheckExtendedSupport: {SeverityWarning, CategoryUpgrade,
		"AWS moves a major version past the end of standard support to RDS Extended Support, which is charged per vCPU-hour (or, with it disabled, upgrades the cluster itself), so AWS recommends upgrading to a major version in standard support before that date."},
	CheckIOOptimized: {SeverityInfo, CategoryCost,
		"AWS says Aurora I/O-Optimized costs less than Aurora Standard when I/O charges exceed 25% of the total Aurora database spend."},
	CheckRDSProxy: {SeverityInfo, CategoryPerformance,
		"AWS recommends RDS Proxy for applications that open and close connections at a high rate or keep many connections open and mostly idle, since it pools them and keeps the database's memory and CPU for queries."},
	CheckParameterNotAccepted: {SeverityWarning, CategoryParameters,
		"A parameter group value outside what the parameter accepts is refused by RDS or the engine, so the instance runs with another value than the group shows, or fails to start on its next reboot."},
	CheckIAMMemberPassword: {SeverityWarning, CategorySecurity,
		"AWS's IAM database authentication is meant to replace passwords, so a role granted rds_iam that keeps a password keeps a second, long-lived credential."},
}

// withCheckInfo fills f's Category and Why, and its Severity when unset,
// from adviseChecks.
func withCheckInfo(f Finding) Finding {
	info, ok := adviseChecks[f.ID]
	if !ok {
		panic("aurora: Advise check " + f.ID + " is not in adviseChecks")
	}
	if f.Severity == "" {
		f.Severity = info.severity
	}
	f.Category, f.Why = info.category, info.why
	return f
}
