// Package logical sets up PostgreSQL's native logical replication and
// change-data-capture on Aurora PostgreSQL: the parameters, publications
// and subscriptions, a readiness check of the tables to replicate,
// sequence synchronization for cutover, schema comparison, CDC users and
// slots with pgoutput or wal2json, and a slot monitor that finds inactive
// slots retaining WAL before the storage fills.
//
// # Parameters
//
// Parameters returns the DB cluster parameter group changes logical
// replication needs (rds.logical_replication=1 and the slot, sender and
// worker sizing of params.SizeLogicalReplication, never lowering a value)
// as []params.Change; apply them with params.Service and reboot.
//
// # Publications and subscriptions
//
// A Client runs SQL in one database through a pgaurora.Querier (a
// *pgxpool.Pool, *aurora.Pool, *pgx.Conn or pgx.Tx):
//
//	pub := logical.New(publisherPool)
//	err := pub.CreatePublication(ctx, logical.PublicationSpec{
//		Name:   "orders",
//		Tables: []logical.PublishedTable{{Table: logical.TableName{Schema: "public", Name: "orders"}, Where: "region = 'eu'"}},
//	})
//	sub := logical.New(subscriberPool)
//	conn, _ := pgaurora.ParseConnString("host=publisher.cluster-x.rds.amazonaws.com dbname=app user=repl password=... sslmode=verify-full")
//	err = sub.CreateSubscription(ctx, logical.SubscriptionSpec{Name: "orders_sub", Conn: conn, Publications: []string{"orders"}})
//	err = sub.WaitSync(ctx, "orders_sub", &logical.WaitOptions{Progress: report})
//
// Publications can list tables (with column lists and row filters on
// PostgreSQL 15+), whole schemas (15+) or all tables, publish chosen
// operations and publish partitions through their root; features the
// server's version lacks are refused with a *VersionError before anything
// runs. Publications and Subscriptions list them with their tables, the
// latter with each table's sync state from pg_subscription_rel.
//
// # Secrets
//
// A pgaurora.ConnString never prints its password (String, fmt and slog
// show REDACTED; JSON leaves it out). CREATE SUBSCRIPTION ... CONNECTION and CREATE ROLE ...
// PASSWORD cannot take bind parameters, so the statements that carry a
// secret are quoted with the SDK's audited literal quoting and go through
// the SDK's one secret path (described in the pgaurora package): one
// connection, with the server log, pgAudit, pg_stat_statements and
// pg_stat_activity kept from recording them; when that cannot be done the
// call fails with pgaurora.ErrLogSuppression and the secret is never
// sent. CDC user passwords are sent as SCRAM-SHA-256 verifiers computed
// client-side, and must be printable ASCII (pgaurora.ErrPassword). Errors
// are scrubbed of secrets.
//
// # Before replicating
//
// CheckReadiness checks tables against the documented restrictions:
// tables without a primary key or usable replica identity (UPDATE and
// DELETE would fail), REPLICA IDENTITY FULL, partitioned tables and
// partitions, views, materialized views, foreign tables, unlogged tables,
// large-object columns (oid, lo) whose objects do not replicate, sequences
// feeding columns, and generated columns; each finding carries its fix.
// CompareSchemas compares the publisher's and subscriber's table
// definitions (columns, types, primary keys), since logical replication
// does not replicate DDL.
//
// # Cutover
//
// SyncSequences copies sequence positions from the publisher to the
// subscriber, never moving a sequence backwards (in the direction of its
// increment), with optional headroom.
//
// # Change data capture
//
// CreateCDCUser creates a login role for a CDC tool: granted
// rds_replication where that role exists (Aurora), with the REPLICATION
// attribute otherwise (ReplicationGrant makes that choice, for pglogical's
// node roles too). CreateSlot, DropSlot and AdvanceSlot manage logical
// slots with pgoutput or wal2json; PeekWal2JSON reads a wal2json slot's
// pending changes as typed DataChange records (format-version 2), and
// ParseWal2JSON and Wal2JSONChanges parse records from elsewhere (for
// example pg_recvlogical's output) with a purpose-built scanner
// (BenchmarkWal2JSONChanges reports its throughput).
//
// # Slot monitor
//
// A slot whose consumer is gone keeps every WAL segment written since.
// Slots lists every slot with the WAL it retains
// (pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)); a Monitor judges
// them against a SlotPolicy (inactive longer than a threshold, or
// retaining more than a limit) and can drop violating inactive slots.
// PostgreSQL before 17 does not record when a slot became inactive, so the
// Monitor remembers when it first saw each slot inactive; keep one Monitor
// running, or save its State between runs.
package logical
