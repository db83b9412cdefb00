// Package logical sets up PostgreSQL's native logical replication and
// change-data-capture on Aurora PostgreSQL: the parameters
// (rds.logical_replication and sizing), publications and subscriptions, a
// readiness check of the tables to replicate (replica identity, partitions,
// large objects, sequences), sequence synchronization for cutover, schema
// comparison, CDC users and slots with pgoutput or wal2json, and a slot
// monitor that finds inactive slots retaining WAL before the disk fills.
//
// Status: being built (issue #11); see the README's status table.
package logical
