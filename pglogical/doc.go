// Package pglogical manages pglogical replication on Aurora and RDS for
// PostgreSQL: the parameters it needs (pglogical in shared_preload_libraries,
// rds.logical_replication=1, enough slots, senders and workers), nodes,
// replication sets and subscriptions, waiting for initial synchronization
// under the caller's context, diagnosing a broken provider/subscriber pair
// (inactive slot, missing replication origin, a subscription that is down or
// disabled) and repairing it with the documented procedure, and preparing a
// node for a major version upgrade.
//
// Connection strings handed to pglogical are built by a DSN type that quotes
// values safely and never prints the password.
//
// Status: being built (issue #7); see the README's status table.
package pglogical
