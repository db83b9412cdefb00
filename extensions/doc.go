// Package extensions installs, upgrades and inspects PostgreSQL extensions on
// Aurora PostgreSQL: what is available and installed, which have updates,
// whether the current user may install one (superuser or rds_superuser,
// trusted extensions, rds.allowed_extensions), and the procedures AWS
// documents for particular extensions: an atomic upgrade of procedural
// languages such as PLV8 that keeps every function, trigger, owner, grant and
// comment, orafce, pg_repack, PL/Rust and pg_tle.
//
// Everything runs over a pgaurora.Querier (a *pgx.Conn, pgx.Tx,
// *pgxpool.Pool or *aurora.Pool); the operations that must be atomic open
// their own transaction, or a savepoint in the caller's. Identifiers are quoted with internal/sqlquote and values are
// bind parameters; bad input fails with ErrInvalid before any SQL runs.
//
// # Managing extensions
//
// Client lists what the server offers (Available, AvailableVersions with
// the trusted/superuser/requires columns), what is installed (Installed),
// and which installed extensions are behind their default version
// (Updates, with the update path ALTER EXTENSION would take). Create,
// Update and Drop run CREATE/ALTER/DROP EXTENSION; Drop is RESTRICT unless
// DropOptions.Cascade asks otherwise.
//
// CanInstall answers whether the current user may install an extension and
// names the rule that decided: RuleAvailable, RuleAllowedExtensions
// (rds.allowed_extensions, read with current_setting(..., true), so an
// unset value or "*" allows everything), RuleSuperuser, RuleRDSSuperuser,
// RuleTrusted (trusted extension plus CREATE on the database, PostgreSQL
// 13+) or RuleUnprivileged. A refusal is an *InstallRefusedError (matched
// by ErrInstallRefused) that names the refusing rule and, for CASCADE,
// the required extension that was refused.
//
// # Upgrading procedural languages (PLV8)
//
// AWS documents upgrading PLV8 as: check versions, count functions,
// pg_dump the schema, extract the CREATE FUNCTION statements, DROP
// EXTENSION ... CASCADE, CREATE EXTENSION, restore, count again. That
// loses whatever the cascade drops besides the functions (triggers, the
// languages' grants) and leaves a broken database when a step fails.
// UpgradeLanguages does the same in one transaction and loses nothing:
//
//	res, err := extensions.UpgradeLanguages(ctx, pool, backupFile, nil) // plv8, plcoffee, plls
//
// It plans (PlanLanguageUpgrade: installed, default and target versions,
// languages, function counts, and every dependent found through
// pg_depend), refuses before any change when the cascade would drop
// objects it cannot recreate (views, column defaults, aggregates, other
// extensions: *DependentsError), writes a complete, checksummed backup to
// the caller's writer, then drops and recreates the extensions at the
// target version and recreates every function (pg_get_functiondef, in
// dependency order) with its owner, exact ACL (REVOKE of the defaults,
// then the GRANTs in their original order and grantors) and comment,
// every dependent trigger (pg_get_triggerdef, with its enabled state and
// comment, including constraint triggers and triggers cloned onto
// partitions), the languages' owners, grants and comments, and ALTER ...
// DEPENDS ON EXTENSION marks. Finally it takes the LanguageSnapshot again
// and compares it with the plan; any difference or error rolls back
// (*UpgradeError says at which UpgradeStep; *VerificationError lists
// differences). LanguageUpgradeOptions.Progress observes each step (and
// cancelling the context from it aborts the upgrade); LockTimeout bounds lock waits. A killed session mid-upgrade leaves
// the database exactly as it was: the server rolls the transaction back.
//
// The backup is a SQL script that psql can replay (psql -X -1 -v
// ON_ERROR_STOP=1 -f backup.sql) and that RestoreLanguageBackup replays in
// one transaction, verifying the result against the snapshot the backup
// carries; ReadLanguageBackup rejects truncated or edited files
// (ErrBadBackup) before anything runs. SnapshotLanguages takes the
// snapshot at any time, for comparisons with cmp.Diff or
// LanguageSnapshot.Diff.
//
// Here the upgrade is tested with plperl and plperlu standing in for plv8
// (not packaged for Debian's PostgreSQL 15); see the package tests and the
// benchmark that compares it with the documented pg_dump/pg_restore
// procedure.
//
// # orafce, pg_repack, PL/Rust, pg_tle
//
// InstallOrafce creates orafce and gives the oracle schema to
// rds_superuser, as RDS documents. InstallRepack creates pg_repack and the
// default privileges on the repack schema that let a non-superuser run
// it; RepackArgs builds the pg_repack command line (always -k, never -a,
// password only in the environment) and RunRepack runs the client,
// streaming its output lines to a callback. CheckPLRustEngine checks an
// RDS or Aurora engine version (pgaurora.ParseEngineVersion reads "15.4" and
// "15.2-R2") against PL/Rust's minimums (13.12, 14.9, 15.2-R2, 16.1,
// 17.1); PLRustChanges, InstallPLRust and GrantPLRustUsage /
// RevokePLRustUsage set it up. TLEStatus detects pg_tle and the
// pgtle_admin role, TLEExtensions lists Trusted Language Extensions, and
// InstallTLE / UninstallTLE wrap pgtle.install_extension and
// pgtle.uninstall_extension with bind parameters.
//
// # Parameters
//
// PreloadChanges returns the shared_preload_libraries change (a
// []params.Change, pending reboot) that the named extensions need —
// pgaudit, pglogical, pg_cron, plrust, pg_stat_statements, auto_explain,
// pg_tle — built with params.PreloadChange.
//
// # Speed
//
// BenchmarkUpgradeLanguages1000 times the upgrade of 1,000 functions next
// to the documented procedure on the same database. On loopback both are
// bound by the server's own work (the DROP ... CASCADE and the 1,000
// CREATE FUNCTIONs, which both run), and UpgradeLanguages, backup and
// verification included, is about 3× faster on a 2-vCPU machine (3.5×
// with an application schema in the database, which pg_dump reads and
// UpgradeLanguages does not). It takes about 20 round trips, against one
// per statement for pg_restore, so across a network, as between a client
// and Aurora, the gap widens: about 34× through a proxy adding a 2.5 ms
// round trip.
package extensions
