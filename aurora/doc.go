// Package aurora is the SDK's front door: a small Cluster handle for one
// Amazon Aurora PostgreSQL DB cluster that composes the feature packages and
// runs the workflows that need both the RDS API and SQL, in order.
//
// # The Cluster handle
//
// New returns a *Cluster for a DB cluster identifier. It checks its options
// and calls nothing; Describe reads the cluster and its instances
// (DescribeDBClusters, DescribeDBInstances) into a Description with the
// writer, the readers, their statuses, parameter groups and CAs. A Cluster
// is safe for concurrent use; Close closes its pools. The options:
//
//   - WithAWSConfig builds the RDS client from an aws.Config, or
//     WithRDSClient takes any RDSAPI (an *rds.Client or a wrapper of one);
//     one of them is required.
//   - WithCredentials says how database connections log in:
//     StaticPassword; SecretsManagerSecret, the JSON secret RDS manages,
//     read on the first connection and read again when the server refuses
//     it (after a rotation); or IAMAuth, a fresh IAM token for every new
//     connection. Credentials never appear in errors, logs or String.
//     To create a login role, PasswordSQL turns its password into a SCRAM
//     verifier literal, so CREATE ROLE ... PASSWORD carries no password.
//   - WithCABundle (a PEM bundle such as AWS's global-bundle.pem) or
//     WithTrustStore makes connections TLS verify-full against those CAs;
//     without either they verify against the system roots.
//     WithInsecurePlaintext turns TLS off, for local tests only.
//   - WithDatabase (default "postgres"), WithLogger (default: discard) and
//     WithPoolConfig (pgxpool sizes, lifetimes, hooks).
//
// # Pools and failover
//
// Writer and Reader return pgx pools, opened on first use. The reader pool
// connects through the cluster's reader endpoint. The writer pool connects
// to the writer instance's own endpoint, found from the RDS API, not
// through the cluster DNS name, so it never waits for DNS to follow a
// failover. When a statement finds the writer gone (a broken connection, a
// shut-down server, or a read-only error from an old writer now a reader)
// it fails with a *ConnectionLostError, which matches ErrRetryable, and
// the pool looks for the new writer in the background: it asks the
// instances (aurora_replica_status()), then the RDS API, confirms the
// candidate is not in recovery, and sends new connections there. Pool.RunTx
// runs a transaction and, after a retryable failure, waits for that search
// and runs it again on the new writer, until it commits or ctx ends. A
// transaction whose COMMIT lost its answer is not run again unless the
// writer proves it did not commit; when a crash makes that unprovable,
// RunTx fails with an error matching ErrCommitUnknown. Failover moves an open writer pool at once. A Pool is a
// pgaurora.Querier, so it serves every feature package.
//
// # Feature clients
//
// The Cluster hands out the feature packages' clients, go-github style.
// Params (package params: parameter groups, change plans, reboots) calls
// the RDS API. Audit (package pgaudit), PgLogical (package pglogical),
// Logical (package logical: native publications, subscriptions, slots and
// CDC users) and Extensions (package extensions) run their SQL on the
// writer, in the Cluster's database, through SQL, a pgaurora.Querier that
// opens the writer pool on first use. Certs (on package sslcert) reads the RDS CA catalog, plans and
// executes CA rotations and audits which sessions use TLS.
//
// # Workflows
//
// The workflows are short compositions of those packages. Each takes ctx
// first and a nil-able options struct last (with Wait, a pgaurora.Wait, to
// tune its waits, and Progress, a pgaurora.ProgressFunc, to receive an
// event as each step completes and the events of the reboots and
// rotations it runs); WithWait sets the waits of every workflow of a
// Cluster at once, for example fast polls against the local emulator. A
// workflow refuses bad input
// before any call, and is idempotent: it returns a *Report of its steps,
// and a second run reports only unchanged steps. A failure is a
// *WorkflowError naming the failed step and the steps done before it;
// refused input fails at the step "check input", often with an
// *InputError naming the field and what it allows.
//
//   - EnablePgAudit: custom cluster parameter group (created and attached
//     when the cluster is on a default group, see CustomClusterGroupName),
//     shared_preload_libraries and pgaudit.* parameters, reboot of the
//     members pending reboot (readers first, writer last), CREATE
//     EXTENSION, roles excluded from session auditing, verification.
//   - ConfigureLogicalReplication: rds.logical_replication=1 and the
//     replication parameters sized for a LogicalReplicationPlan (never
//     lowered), reboot, check of wal_level=logical.
//   - EnablePgLogical: the same for pglogical, then CREATE EXTENSION and
//     the database's pglogical node.
//   - UpgradePLV8: the atomic upgrade of plv8 (plcoffee, plls) that keeps
//     every function, trigger, grant and comment, after a backup.
//   - EnablePLRust: engine version and availability checks, preload,
//     reboot, CREATE EXTENSION plrust.
//   - RotateCA: a rotation plan checked against the clients' trust store,
//     then each instance moved to the new CA (readers first) and verified.
//   - EnableIAMAuth: roles checked (they exist and can log in),
//     ModifyDBCluster EnableIAMDatabaseAuthentication, GRANT rds_iam, and a
//     login as each role with a fresh IAMAuth token, verified.
//   - SetBackupRetention, Reboot and Failover: cluster operations that wait
//     until RDS reports the cluster (or instance) available again.
//
// # Audit log, diagnostics and cost
//
// AuditEntries streams pgAudit entries from an instance's PostgreSQL log files
// through the RDS API (DescribeDBLogFiles, DownloadDBLogFilePortion, or
// with WholeFiles the signed downloadCompleteLogFile GET) as an iterator:
// pipelined (the next portion requested while one is parsed, several
// files at once, entries still in log order), and with Follow like
// tail -F across rotations, resumable from a saved AuditCursor with no
// entry lost or repeated. With AuditLogOptions.Source
// AuditSourceCloudWatchLogs it reads the same entries from the log group
// the PostgreSQL log is exported to (Monitoring.SetLogExports;
// FilterLogEvents on the instance's log stream, paged), with the same
// parser, follow mode and cursor: the source is an option, not another
// API. SampleWaitEvents samples the writer's
// pg_stat_activity and reports wait events by share, the way Performance
// Insights does (SummarizeWaitEvents, ClassifyWait and WaitHint are its
// pure parts); when the writer has Performance Insights on, it reads
// the same report from Performance Insights instead (Source).
// InactiveSlots lists the replication slots no consumer reads,
// with the WAL each keeps. EstimateMonthlyCost applies AWS's pricing
// formula to the caller's prices.
//
// # Monitoring
//
// Cluster.Monitoring hands out the monitoring client, which calls
// CloudWatch, CloudWatch Logs and Performance Insights with the clients
// WithAWSConfig builds (or WithCloudWatchClient,
// WithCloudWatchLogsClient, WithPerformanceInsightsClient; a call whose
// client is missing fails with ErrNoClient). Metrics reads the Aurora
// PostgreSQL metrics of AdminMetrics (or any AWS/RDS metric) per cluster,
// instance or role (MetricScope) over a time range through GetMetricData,
// every page. RecommendedAlarms turns AlarmThresholds, data with
// documented defaults, into the alarms every cluster should have
// (replica lag, slot lag, transaction-ID wraparound, storage,
// connections of the writer and of the readers); EnsureAlarms creates or
// updates them, one workflow step per alarm, changing only those that
// differ, and AlarmStates reads their states. DatabaseLoad reads an
// instance's database load (db.load.avg, average active sessions) over a
// period from Performance Insights, divided by wait event, SQL, user,
// application, host or database (LoadGroup), top keys first;
// LoadReport.WaitEvents turns one by wait event into a WaitEventReport.
// SetLogExports turns the export of the cluster's logs to CloudWatch
// Logs on and off (ModifyDBCluster CloudwatchLogsExportConfiguration,
// waited on).
//
// # Advisor, drift and fleets
//
// Advise checks a cluster against AWS's guidance (instance classes,
// readers, encryption, deletion protection, public access, TLS, CAs
// expiring within 90 days, IAM authentication without rds_iam members,
// the master user name, replication slots, logical and pglogical
// subscriptions that are down, published tables without a replica
// identity, pgAudit's installation, exclusions, roles that can change
// their own auditing and heavy settings, pending reboots, instance
// parameter groups that override the cluster's, parameter values the
// group or the SDK's catalog does not accept, extension updates, PLV8
// below the engine's version, engine versions in Extended Support,
// automatic minor upgrades before a migration, replication slots, senders
// and workers too few for the replication that exists, TRUNCATE published
// across foreign keys, pglogical tables with unique indexes besides the
// primary key, rds_iam members with passwords where pg_authid is
// readable, connections that call for RDS Proxy, and, given the caller's
// prices in AdviseOptions.Prices, I/O past the 25 % share where
// I/O-Optimized pays) and returns Findings with a stable ID, a severity,
// a category, the evidence, why, and the Fix as data. It only describes
// and reads.
//
// CheckDrift compares the cluster's DB cluster parameter group, and the
// custom DB parameter groups of its instances, with a specification (a
// []params.Change) as the engine compares values: "on" equals "1", "64MB"
// equals 65536 for a parameter in kB, shared_preload_libraries in any
// order (params.EquivalentValues); a parameter the group does not set is
// compared with the engine default, a specified value that waits for a
// reboot is reported as DriftPendingReboot, and a default that cannot be
// known without a server as DriftUnknown, so that only what is really
// different is DriftDifferent. It makes only Describe calls.
//
// A Fleet (NewFleet, one aws.Config per Region, and FleetOptions) runs
// these over many clusters: it lists them (DescribeDBClusters through
// rds.NewDescribeDBClustersPaginator, engine aurora-postgresql by default,
// by Filters and Tags), then runs Advise, CheckDrift or any
// func(ctx, *Cluster) error (Fleet.Run) on Concurrency clusters at once
// (4 by default). Results stream from FleetRun.Results as an
// iter.Seq2[FleetResult, error] as each cluster ends; a cluster's failure
// is yielded with its error and the run goes on. Progress receives an
// event per Region listed and per cluster done, and FleetRun.Summary
// counts clusters, findings, drift, RDS calls and attempts. The Fleet's
// RDS clients, one per Region shared by its clusters, use the SDK's
// adaptive retry mode (retry.NewAdaptiveMode, up to MaxAttempts tries),
// which slows the calls down under throttling so that none fails for it,
// without the retry quota, so that the clusters of a Region do not share
// one budget of retries. FleetOptions.ClusterOptions gives each cluster's handle
// its credentials (for Advise), for example its RDS-managed secret.
//
// # Testing
//
// The package's tests and runnable examples run against the local Aurora
// emulator in package aurora/auroratest: the real aws-sdk-go-v2 client and
// real PostgreSQL servers, no mocks. Use it for your own tests too.
package aurora
