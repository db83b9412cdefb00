// Package auroratest runs a local Amazon Aurora PostgreSQL emulator: an RDS
// API endpoint on 127.0.0.1 that the unchanged aws-sdk-go-v2 RDS client
// talks to (and the Secrets Manager client, for the master user's
// secret), backed by real PostgreSQL servers. It is to Aurora what
// net/http/httptest is to net/http: a real server for tests, examples and
// offline work. Parameter groups here change real servers.
//
// # Usage
//
//	func TestSomething(t *testing.T) {
//		emu := auroratest.NewT(t, auroratest.WithCluster("demo", auroratest.ClusterConfig{Instances: 2}))
//		client := rds.NewFromConfig(emu.AWSConfig())
//		out, err := client.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{
//			DBClusterIdentifier: aws.String("demo"),
//		})
//		...
//		cs, _ := emu.ConnString("demo-instance-1", "postgres") // holds the password: do not log it
//		conn, err := pgx.Connect(ctx, cs)
//	}
//
// Start is the same without a testing.TB; Close stops everything. Each
// WithCluster creates a DB cluster up front; clusters start in parallel.
// Start also builds, once per process, the engine-default parameter catalog
// from a short-lived server and the local CAs (two to five seconds on two
// cores); later emulators reuse them. A 2-instance cluster then takes about
// three seconds to start (initdb, start, pg_basebackup).
//
// # What is emulated
//
// Clusters and instances. Instance identifiers are "<cluster>-instance-N".
// The first instance is the writer and the others are hot-standby
// streaming replicas of it (readers), with promotion tiers 0, 1, 2, ...
// Each is a PostgreSQL server (internal/pgserver: the Debian PostgreSQL 15
// with pgaudit, pglogical, wal2json, orafce, pg_repack and plperl) on
// 127.0.0.1 with its own port, reported as the instance endpoint. The
// master user is the servers' bootstrap superuser and authenticates with
// scram-sha-256; it is also granted the roles rds_superuser and
// rds_replication, which the emulator creates as Aurora does. EngineVersion
// is only reported: the servers are whatever PostgreSQL 15 is installed.
//
// Cluster endpoints. DescribeDBClusters reports Endpoint 127.0.0.1 and
// ReaderEndpoint 127.0.0.2 on one Port, like Aurora's two DNS names on one
// port. They are TCP proxies: the writer endpoint forwards new connections
// to the current writer; the reader endpoint spreads them over the
// available readers, or the writer when there is none.
//
// The RDS Query protocol. Form-encoded requests (Action, Version
// 2014-10-31, Parameters.Parameter.N.ParameterName, Filters.Filter.N...),
// XML results, and XML errors with the HTTP status and the exact fault
// codes the SDK maps to typed errors (DBClusterNotFoundFault,
// DBInstanceNotFound, DBParameterGroupNotFound,
// DBParameterGroupAlreadyExists, DBClusterParameterGroupNotFound,
// InvalidDBParameterGroupState, InvalidDBInstanceState,
// InvalidDBClusterStateFault, DBLogFileNotFoundFault), so errors.As finds
// *types.DBClusterNotFoundFault and friends. Bad input gets
// InvalidParameterValue or InvalidParameterCombination. Marker/MaxRecords
// paging (MaxRecords 20 to 100, default 100) works where the API pages.
// Request parameters the emulator does not emulate are refused with
// InvalidParameterValue naming them, never silently ignored; actions it
// does not emulate get InvalidAction.
//
// Actions: Create/Delete/Describe/Modify/Reset of DB cluster parameter
// groups and DB parameter groups, DescribeDBClusterParameters and
// DescribeDBParameters (with Source), DescribeEngineDefaultClusterParameters
// and DescribeEngineDefaultParameters, DescribeDBClusters and
// DescribeDBInstances (filters db-cluster-id, db-instance-id, engine and the
// resource IDs), ModifyDBCluster (DBClusterParameterGroupName,
// BackupRetentionPeriod 1 to 35, ApplyImmediately), ModifyDBInstance
// (DBParameterGroupName, PromotionTier), RebootDBInstance (ForceFailover
// fails over a writer), FailoverDBCluster (TargetDBInstanceIdentifier),
// DescribeDBLogFiles and DownloadDBLogFilePortion, DescribeCertificates,
// ModifyCertificates, DescribePendingMaintenanceActions, and
// ModifyDBInstance's CACertificateIdentifier, CertificateRotationRestart and
// ApplyImmediately.
//
// Parameter groups. The engine-default catalog comes from pg_settings of a
// server with pg_stat_statements, pgaudit, pglogical and auto_explain
// loaded: apply type static for postmaster settings and dynamic otherwise;
// data types boolean (AllowedValues "0,1"), integer and float (ranges like
// "1-262143"), string (enum values as a comma list), and list for
// shared_preload_libraries (the preloadable libraries installed here) and
// pgaudit.log. Settings Aurora manages itself (port, data_directory, fsync,
// wal_level, ssl files, logging destinations, ...) are not listed;
// log_line_prefix is listed but not modifiable. The RDS-only parameters
// rds.logical_replication, rds.force_ssl, rds.allowed_extensions and
// rds.log_retention_period are added; the first three, and the replication,
// TLS and password settings, exist only in DB cluster parameter groups. The
// default groups "default.aurora-postgresqlNN" exist for every family and
// cannot be modified (InvalidParameterValue) or deleted
// (InvalidDBParameterGroupState). Names are lower-cased and follow RDS's
// rules.
//
// Modify validates everything before changing anything: at most 20
// parameters, known and modifiable names, values within AllowedValues, an
// ApplyMethod on every parameter, and no "immediate" for a static
// parameter. Aurora answers that last case with InvalidParameterCombination
// ("cannot use immediate apply method for static parameter"); this emulator
// answers InvalidParameterValue, as the SDK's issue #3 specifies.
//
// Effects. Dynamic parameters applied "immediate" are written to the
// configuration of every running server that uses the group, which is
// reloaded; they are in effect for new sessions when the Modify call
// returns (Aurora takes a few seconds; do not rely on the difference).
// Static parameters, and "pending-reboot" changes, mark the members
// pending-reboot (DBClusterMembers[].DBClusterParameterGroupStatus for
// cluster groups, DBParameterGroups[].ParameterApplyStatus for instance
// groups) until RebootDBInstance restarts the server with them. Instance
// group values override cluster group values. shared_preload_libraries
// becomes the server's preload list. rds.logical_replication=1 becomes
// wal_level=logical, and max_wal_senders stays above the number of
// instances. The rds.* values reach the servers as custom settings (SHOW
// rds.force_ssl works); rds.force_ssl and rds.allowed_extensions are not
// enforced.
//
// Readers keep replaying: a hot standby needs max_connections,
// max_worker_processes, max_wal_senders, max_prepared_transactions and
// max_locks_per_transaction at least as high as its primary, so readers
// always run with at least the writer's values, and a writer reboot that
// raises one of them above a reader's restarts that reader first (it shows
// "rebooting" too). Aurora PostgreSQL 15 reboots the writer alone.
//
// Asynchronous states. RebootDBInstance answers "rebooting" and restarts
// the server in the background; ModifyDBCluster and ModifyDBInstance
// answer "modifying" and apply after WithTransitionDelay (200ms by
// default); failovers go through "failing-over". DescribeDBInstances and
// DescribeDBClusters show these states, so rds.NewDBInstanceAvailableWaiter
// and rds.NewDBClusterAvailableWaiter really wait (give them a small
// MinDelay in tests; the SDK's default is 30 seconds). A server that does
// not start with its new settings is started again with the previous ones
// and reports "incompatible-parameters", which the SDK's waiters treat as a
// failure. All calls are safe for concurrent use.
//
// Failover. FailoverDBCluster (with or without a target; otherwise the
// available reader with the lowest promotion tier), RebootDBInstance with
// ForceFailover on the writer, and a writer crashed with CrashInstance all
// fail over: the writer endpoint refuses connections and cuts its
// sessions, the old writer stops, the target is promoted, the other
// readers follow it (or are rebuilt from a base backup when they cannot),
// and the old writer is rebuilt as a reader on its old port. A crashed
// reader, or a crashed writer with no reader, restarts with crash
// recovery.
//
// Log files. Each instance's PostgreSQL log, written with RDS's
// log_line_prefix "%t:%r:%u@%d:[%p]:", is served by DescribeDBLogFiles and
// DownloadDBLogFilePortion as hourly files named
// "error/postgresql.log.YYYY-MM-DD-HH" (UTC). Marker "0" reads from the
// start in blocks of NumberOfLines (at most 1 MB); no Marker reads the
// last lines. At the end of a file the response carries no Marker and
// AdditionalDataPending false, so the SDK's paginator stops. pgAudit lines
// can be read back this way.
//
// TLS and CA certificates. Every server has TLS on (plain connections
// still work; ConnString uses sslmode=disable). The emulator holds a local
// CA for each of rds-ca-rsa2048-g1 (the default for new instances),
// rds-ca-rsa4096-g1, rds-ca-ecc384-g1 and rds-ca-2019 (expiring 30 days
// after the process started, as the real one did), created once per
// process. Each instance's certificate comes from its CA and names
// localhost, 127.0.0.1, 127.0.0.2 and the instance and cluster
// identifiers, so sslmode=verify-full with CABundlePEM as the root works on
// instance and cluster endpoints. ModifyDBInstance with
// CACertificateIdentifier re-issues the certificate from the new CA and
// restarts the server (CertificateRotationRestart, the default) or reloads
// it; without ApplyImmediately the change shows in PendingModifiedValues
// and as a pending maintenance action, and happens at the next reboot.
// DescribePendingMaintenanceActions also reports ca-certificate-rotation
// for instances whose CA expires within WithCARotationWindow (90 days).
// ModifyCertificates sets the default CA for new launches
// (ClusterConfig.CACertificateIdentifier picks one per cluster).
//
// Aurora topology functions. pg_catalog holds aurora_db_instance_identifier()
// and aurora_replica_status() in every database (they are created in
// template1 and postgres before anything else, so databases created later
// have them too), so topology-aware clients find the writer by SQL as on
// Aurora: server_id names the instance and session_id is
// 'MASTER_SESSION_ID' for the writer. They read the settings cluster_name
// and auroratest.topology, which the emulator maintains on every member.
//
// Secrets Manager. The same endpoint speaks Secrets Manager's JSON
// protocol (awsJson1.1: POST with X-Amz-Target secretsmanager.<Action> and
// a JSON body; JSON errors {"__type": ..., "Message": ...}), so
// secretsmanager.NewFromConfig(emu.AWSConfig()) works unchanged and its
// typed errors (*types.ResourceNotFoundException,
// InvalidParameterException, InvalidRequestException,
// ResourceExistsException) reach errors.As. A cluster created with
// ClusterConfig.ManageMasterUserPassword gets a generated master password
// kept in a secret that RDS manages, named "rds!cluster-<uuid>"; its ARN
// (MasterUserSecretARN) is what DescribeDBClusters reports as
// MasterUserSecret, with SecretStatus "active" ("rotating" while a
// rotation runs) and a KmsKeyId. Its SecretString is
// {"username", "password", "engine": "postgres", "host", "port",
// "dbClusterIdentifier"}. GetSecretValue finds a secret by ARN, partial
// ARN (without the random suffix) or name, and serves AWSCURRENT and, after
// a rotation, AWSPREVIOUS (by VersionStage or VersionId). DescribeSecret
// reports the name, OwningService "rds", rotation every 7 days, the
// version stages and the dates. RotateSecret (RotateImmediately; a
// ClientRequestToken that names an existing version makes it a repeat) and
// the test hook RotateMasterPassword rotate before they return: a new
// random password is set on the writer with ALTER ROLE ... PASSWORD
// carrying its SCRAM-SHA-256 verifier (statement logging off), so no log
// holds it, the readers replay it, and only then do the secret and
// MasterPassword change; sessions already open stay open, new ones need
// the new password. (Secrets Manager rotates in the background within
// seconds; here the call waits.) CreateSecret (Name, SecretString,
// Description) makes plain secrets for code that reads its own; they
// cannot be rotated (InvalidRequestException, as without a rotation
// function). Other operations get UnknownOperationException, and request
// members the emulator does not emulate get InvalidParameterException
// naming them.
//
// Faults. ThrottleNext and SetThrottleRate make API calls fail with
// Throttling (ThrottlingException for Secrets Manager calls, which count
// too); SetLatency delays every response; CallCount tells how many calls
// of an action arrived; DelayReboots makes reboots of an instance take
// longer (or hang), FailNextReboot makes one fail (status "failed");
// StopInstance stops a server behind the control plane's back;
// CrashInstance kills one as a crash would, and the emulator recovers as
// Aurora does (failover for a writer, restart for a reader).
//
// # What is not emulated
//
// Creating or deleting clusters and instances through the API, snapshots,
// backups and restores, global databases, Serverless, IAM authentication,
// Secrets Manager beyond the operations above (scheduled rotation,
// rotation functions, SecretBinary, resource policies, replication, KMS),
// tags, events, and maintenance windows
// (BackupRetentionPeriod and parameter group associations apply at once,
// regardless of ApplyImmediately, as Aurora applies them). There is no
// shared storage: readers are PostgreSQL streaming replicas, so replica lag
// is PostgreSQL's, and a crashed writer can lose commits its readers had
// not received yet (a clean FailoverDBCluster loses nothing, since the old
// writer stops before the reader is promoted). Requests are not
// authenticated; any credentials work. Formulas in parameter values
// ({DBInstanceClassMemory/...}) are refused. rds.force_ssl does not yet
// refuse plain connections, and rds.allowed_extensions does not limit
// CREATE EXTENSION.
package auroratest
