// Package pgaudit manages pgAudit, PostgreSQL's audit-logging extension, on
// Aurora and RDS PostgreSQL: the statement classes it logs, its settings as
// parameter-group changes, the SQL that installs it and configures it per
// role and per database, object auditing through the rds_pgaudit role, and
// a fast reader of the audit entries it writes to the server log.
//
// # Classes and settings
//
// Classes is the set of statement classes in pgaudit.log. ParseClasses
// reads pgAudit's own syntax ("all, -misc": a comma list, case-insensitive,
// "-class" subtracting left to right) and Classes.String writes it back
// canonically. Settings holds every pgAudit setting; Settings.Changes turns
// it into the []params.Change for a parameter group, adding pgaudit to
// shared_preload_libraries when it is not listed yet:
//
//	changes, err := pgaudit.Settings{
//		Log:     pgaurora.Ptr(pgaudit.Write | pgaudit.DDL),
//		LogRows: pgaurora.Ptr(true),
//	}.Changes(&pgaudit.ChangeOptions{SharedPreloadLibraries: current})
//
// # SQL client
//
// Client works over a pgaurora.Querier (a *pgx.Conn, pgx.Tx,
// *pgxpool.Pool or *aurora.Pool). Status reports whether pgAudit is preloaded and installed,
// its version and the current settings; Install creates the extension,
// idempotently, and refuses with ErrNotPreloaded when the library is not
// preloaded. Object auditing: CreateAuditRole creates rds_pgaudit (the only
// pgaudit.role RDS allows), Audit and Unaudit grant and revoke privileges on
// a Table, View, Columns or Func to it, and ListAudited lists what is
// audited.
//
// Per-role and per-database settings are stored with ALTER ROLE/DATABASE
// ... SET for a Scope (a role, a database, a role in a database, or all
// roles): SetOverrides, Exclude (pgaudit.log = none), ResetOverrides.
// Overrides lists them from pg_db_role_setting; Effective and
// EffectiveClasses apply PostgreSQL's precedence (role in database, role,
// database, all roles, server); ApplyOverrides applies thousands of changes
// at once, validated first, pipelined, in one transaction.
//
// # Reading audit logs
//
// Reader (and the iterator Entries) reads a server log from any io.Reader
// and yields typed entries: the prefix fields (time, user, database, process
// ID, client address) and the audit fields (SESSION or OBJECT, statement and
// substatement IDs, class, command, object type and name, statement,
// parameters, rows). It follows pgAudit's CSV rules, including fields with
// newlines that span lines, skips every line that is not an audit entry,
// and keeps pgAudit's markers (<not logged>, <none>, <previously logged>,
// <REDACTED>) as they are: nothing is ever un-redacted. The default prefix
// is RDS's "%t:%r:%u@%d:[%p]:"; ParsePrefix compiles any other
// log_line_prefix. Summarize counts entries by class, command, user and
// object.
//
//	for e, err := range pgaudit.Entries(logFile, nil) {
//		if err != nil { ... }
//		fmt.Println(e.Time, e.User, e.Class, e.Command, e.ObjectName)
//	}
package pgaudit
