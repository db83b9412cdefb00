// Package extensions installs, upgrades and inspects PostgreSQL extensions on
// Aurora PostgreSQL: what is available and installed, which have updates,
// whether the current user may install one (superuser or rds_superuser,
// trusted extensions, rds.allowed_extensions), and the procedures AWS
// documents for particular extensions: an atomic upgrade of procedural
// languages such as PLV8 that keeps every function, trigger, owner, grant and
// comment, orafce, pg_repack, PL/Rust and pg_tle.
//
// Status: being built (issue #8); see the README's status table.
package extensions
