// Package aurora is the SDK's front door: a small Cluster handle for one
// Amazon Aurora PostgreSQL DB cluster that composes every feature package and
// runs the workflows that need both the RDS API and SQL, in order.
//
// A Cluster holds an RDS client, the cluster identifier, connection settings
// (TLS verify-full by default, static credentials, an AWS Secrets Manager
// secret or IAM authentication tokens) and lazily opened pgx pools for the
// writer and the readers. It hands out the feature clients go-github style:
// Params (parameter groups), Audit (pgAudit), Logical (pglogical),
// Extensions and Certs (CA rotation).
//
// Workflows such as enabling pgAudit are short compositions: change the
// parameter group, reboot the members left pending-reboot, wait until they
// are available and in sync, then run CREATE EXTENSION and verify. Each one
// is idempotent and reports which steps ran.
//
// Status: this package is being built (issue #10); see the README's status
// table for what works today. Its tests run against the local emulator in
// package aurora/auroratest.
package aurora
