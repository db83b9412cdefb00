// Package pglogical manages pglogical 2.x replication on Aurora PostgreSQL
// and RDS for PostgreSQL: the parameters it needs, nodes, replication sets
// and subscriptions, waiting for synchronization, diagnosing and repairing a
// broken provider/subscriber pair, preparing for a major version upgrade,
// and two-way replication.
//
// # Parameters
//
// [Parameters] returns the parameter-group changes ([params.Change]) that
// pglogical needs: pglogical added to shared_preload_libraries (keeping the
// libraries already there), rds.logical_replication=1, replication slots,
// walsenders and worker processes sized for the planned subscriptions
// ([Sizing]; values are never lowered), and pglogical's own [Settings]:
// conflict_resolution ([ConflictResolution]; keep_local, last_update_wins and
// first_update_wins add track_commit_timestamp=1), conflict_log_level,
// batch_inserts, use_spi, synchronous_commit and extra_connection_options.
// Apply them with the params package and reboot; then [Client.Install]
// creates the extension, after checking that pglogical is preloaded
// ([ErrNotPreloaded]) and wal_level is logical ([ErrWALLevel]).
//
// # Connection strings
//
// Nodes, interfaces and subscriptions take a [pgaurora.ConnString], the
// SDK's one connection-string type, which never prints its password.
// This package passes the real string to pglogical only as a bind
// parameter of its functions, through the SDK's one secret path (one
// connection, with the server log, pgAudit and statement statistics kept
// from recording it; pgaurora.ErrLogSuppression when that cannot be
// done), and scrubs it from server errors (pglogical repeats a failing
// DSN in the error DETAIL, which the secret path also keeps out of the
// server log). What no session setting reaches stays: pglogical stores
// DSNs in its catalogs in clear text (readable by superusers), and its
// background workers log theirs when they fail to connect (an apply
// worker retrying a provider that is down, a wrong password). Give the
// DSNs the password of a role made for replication, not a person's: see
// Node roles.
//
// # Node roles
//
// pglogical connects through two DSNs: a subscriber connects to its
// provider with the subscription's provider DSN (to read the table list,
// copy the tables and stream changes), and to itself with its own node's
// DSN (the initial copy writes the tables through it; CreateSubscription
// fails with "fe_sendauth: no password supplied" when that DSN cannot log
// in). [Client.CreateNodeRole] makes the login role for those DSNs from a
// [NodeRoleSpec], idempotently, with only the privileges pglogical uses
// through them, each of which a test shows necessary by taking it away:
//
//   - provider side: REPLICATION (rds_replication on Aurora and RDS),
//     USAGE on schema pglogical, SELECT on pglogical.tables, and USAGE
//     and SELECT on the replicated tables and their schemas;
//   - subscriber side: USAGE and INSERT on the replicated tables and
//     their schemas, EXECUTE on pg_replication_origin_session_setup(text)
//     and pg_replication_origin_session_reset(), and SET on the parameter
//     session_replication_role (PostgreSQL 15's GRANT SET ON PARAMETER).
//
// No UPDATE, DELETE, TRUNCATE or SELECT on the subscriber's tables, no
// access to its pglogical schema and no other replication origin function
// is needed: pglogical's apply, sync and supervisor workers run on the
// subscriber as the bootstrap superuser (background workers connect with
// no user), and the DSN's user is used only by libpq connections. The
// calls that create nodes and subscriptions (this package's Client) still
// need rds_superuser. This is verified on PostgreSQL 15 with pglogical
// 2.4.2 (also through the Aurora emulator, whose master user is a real
// superuser). On Aurora, whether rds_superuser may grant EXECUTE on the
// two replication origin functions and SET on session_replication_role
// (objects of rdsadmin) is not verified here: where it may not,
// CreateNodeRole fails with the server's permission error and changes
// nothing. [NodeRoleSpec.DSN] puts the role and its password in a DSN:
//
//	role := pglogical.NodeRoleSpec{Name: "pgl_node", Password: pw, Subscriber: true, Schemas: []string{"public"}}
//	sub.CreateNodeRole(ctx, role)
//	dsn, _ := role.DSN(subscriberDSN)
//	sub.CreateNode(ctx, "docs_lab_target", dsn)
//
// The trade-off stays: pglogical keeps node and provider DSNs, passwords
// included, in clear text in its catalog (readable by superusers), which
// is why they should carry a node role's password and not the master
// user's. aurora.Cluster.EnablePgLogical does all of this with
// PgLogicalOptions.NodeRole. Structure synchronization
// (SynchronizeStructure) is not covered: pglogical runs pg_dump and
// pg_restore through the same DSNs, which must then read and create the
// whole schema; create the tables on the subscriber first.
//
// # The client
//
// A [Client] works in one database over a [pgaurora.Querier] (a *pgx.Conn,
// pgx.Tx, *pgxpool.Pool or *aurora.Pool connected as rds_superuser): pglogical nodes,
// replication sets and subscriptions live in a database, so replicate
// several databases with several clients.
//
//	prov := pglogical.New(providerPool)
//	sub := pglogical.New(subscriberPool)
//	prov.CreateNode(ctx, "docs_lab_provider", providerDSN)
//	prov.AddAllTables(ctx, pglogical.DefaultSet, []string{"public"}, false)
//	sub.CreateNode(ctx, "docs_lab_target", subscriberDSN)
//	sub.CreateSubscription(ctx, pglogical.SubscriptionSpec{
//		Name: "docs_lab_subscription", Provider: providerDSN,
//		ReplicationSets: []string{pglogical.DefaultSet}, SynchronizeData: true,
//	})
//	sub.WaitForSync(ctx, "docs_lab_subscription", nil)
//
// Nodes: [Client.CreateNode], [Client.DropNode], [Client.Nodes],
// [Client.LocalNode], [Client.AddInterface], [Client.DropInterface],
// [Client.SwitchInterface]. Replication sets: [Client.CreateReplicationSet],
// [Client.AlterReplicationSet] and [Client.DropReplicationSet] with
// [Actions] flags; [Client.AddTable] (columns, row filter, synchronize),
// [Client.RemoveTable], [Client.AddAllTables], [Client.AddSequence],
// [Client.AddAllSequences], [Client.RemoveSequence],
// [Client.SynchronizeSequence], [Client.ReplicationSets];
// [Client.ReplicateDDL]. Subscriptions: [Client.CreateSubscription] from a
// [SubscriptionSpec] (replication sets, synchronize_structure,
// synchronize_data, forward_origins, apply_delay, force_text_transfer),
// [Client.DropSubscription], [Client.DisableSubscription] and
// [Client.EnableSubscription] (immediate or not),
// [Client.AddReplicationSet], [Client.RemoveReplicationSet],
// [Client.ResynchronizeTable], [Client.Synchronize], and
// [Client.Subscriptions] with the live [Status] from
// pglogical.show_subscription_status.
//
// pglogical's functions are mostly STRICT: given a NULL argument they return
// NULL and do nothing. The client validates every input first (errors match
// [ErrInvalid] and name the field), never passes NULL where it would mean
// "do nothing", and treats a false or NULL result as [ErrNothingDone].
// Server errors are mapped to [ErrNotFound] (a *[NotFoundError]),
// [ErrAlreadyExists] and [ErrNotInstalled].
//
// # Waiting
//
// [Client.WaitForSync] and [Client.WaitForTableSync] wait for the initial
// sync of a subscription or of one table by polling
// pglogical.local_sync_status, with backoff, until the caller's context
// ends, reporting [pgaurora.Event]s to an optional callback. They do not call
// pglogical.wait_for_subscription_sync_complete, which waits inside the
// server and cannot be cancelled from the client. BenchmarkInitialSync
// compares the two on a 1,000,000-row table.
//
// # Health and repair
//
// [Diagnose] runs the checks AWS documents for a provider/subscriber pair:
// the provider's slot in pg_replication_slots and whether it is active, the
// subscriber's replication origin in pg_replication_origin (pglogical names
// it after the slot), pglogical.show_subscription_status, and, given a
// [LogSource], the apply worker's exits in the subscriber's log
// ([ParseApplyFailures]). The [Diagnosis] names the likely [Cause]: a
// disabled subscription, a missing origin (typical after a subscriber
// upgrade), an unreachable provider, a missing slot, a failing apply worker.
// [Repair] performs AWS's re-establish procedure (disable the subscription
// immediately, recreate the origin when missing, enable it immediately) and
// verifies that the subscription replicates with an active slot; it refuses
// what the procedure cannot fix ([ErrProviderUnreachable],
// [ErrNotRepairable]).
//
// # Major version upgrades
//
// Before a major version upgrade from PostgreSQL 16 or earlier, Aurora and
// RDS require that no logical replication slot exists on the publisher, and
// a pglogical subscriber must have no subscriptions or node.
// [Client.PrepareUpgrade] does that for its database: on a subscriber it
// drops the subscriptions and the node, on a provider it drops the
// database's pglogical slots (terminating their walsenders) and, if asked,
// the node. It refuses while a sync is in progress ([ErrMidSync]) unless
// forced, can run as a dry run that lists exactly what it would drop, and
// reports other logical slots that would still block the upgrade. Its
// [Description] (JSON without passwords) lets [Client.Restore] re-create the
// node, interfaces, replication sets and subscriptions afterwards, without
// copying data again. Divert writes from the provider first: changes made
// between dropping the slots and re-creating the subscriptions are not
// replicated.
//
// # Two-way replication
//
// [SetupTwoWay] makes two databases subscribe to each other with
// forward_origins '{}' ([ForwardNone]), so a change is applied on the other
// side once and not sent back, with a conflict resolution
// ([TwoWay.Changes] for the parameter groups, or ALTER DATABASE where the
// role may). [TwoWay.Check] writes a probe row on each side and verifies
// that each arrives on the other side exactly once.
//
// # A PostgreSQL 15 pitfall
//
// With pglogical 2.4.2 (and, as reported, 2.4.3) preloaded on PostgreSQL 15,
// DROP DATABASE never returns: it waits for every process to absorb a
// ProcSignalBarrier, and pglogical's supervisor only does so while it scans
// pg_database, which it does when pglogical signals it (pglogical issues
// #399 and #418, fixed by pull request #403). Any pglogical call that
// changes a subscription or creates a node, in any database of the server,
// wakes it and lets the DROP finish; this package's tests drop their
// databases that way, and an operator can do the same.
package pglogical
