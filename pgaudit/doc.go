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
//
// # JSON lines
//
// WriteJSON and Entry.AppendJSON write one JSON object per entry, for log
// pipelines (Elasticsearch, Splunk, CloudWatch, jq) that want fields
// rather than pgAudit's CSV; Entry.MarshalJSON and Entry.UnmarshalJSON
// use the same object, which reads back to an equal entry. The object has
// these members, always all of them, in this order:
//
//	time             string  the log line's time, RFC 3339 with the fraction the prefix
//	                         shows and the offset it was logged in ("2024-05-06T10:00:01Z");
//	                         null when the prefix has no time
//	remote           string  the client address as the prefix shows it ("10.0.0.7(40112)",
//	                         "[local]"); "" when the prefix has none
//	user             string  the session user; "" when the prefix has none
//	database         string  the database; "" when the prefix has none
//	pid              number  the backend's process ID; 0 when the prefix has none
//	application      string  the application name ("[unknown]" when it was empty)
//	session_id       string  the session ID (%c); "" when the prefix has none
//	severity         string  LOG, NOTICE, WARNING, INFO or DEBUG
//	type             string  SESSION or OBJECT
//	statement_id     number  the statement's number in its session
//	substatement_id  number  the substatement's number in its statement
//	class            string  READ, WRITE, FUNCTION, ROLE, DDL or MISC
//	command          string  the command tag ("INSERT", "ALTER TABLE")
//	object_type      string  TABLE, VIEW, FUNCTION, ...; "" when none
//	object_name      string  the fully qualified object name; "" when none
//	statement        string  the statement, or a marker: "<not logged>", "<previously
//	                         logged>"; "<REDACTED>" inside it where pgAudit put it
//	parameter        string  the parameter field as pgAudit wrote it: a CSV list, "<none>",
//	                         "<not logged>", "<previously logged>"
//	parameters       array   that field split into values (Entry.Parameters): [] for
//	                         "<none>", null when it holds no list; ignored when read back
//	rows             number  rows retrieved or affected; null without pgaudit.log_rows
//
// Markers stay exactly as pgAudit wrote them, so that "<REDACTED>" can be
// searched for in the JSON text: only what JSON requires is escaped (",
// \ and control characters), not <, > or &. A newline inside a statement
// is \n, so an object is always one line. Bytes that are not valid UTF-8
// (PostgreSQL writes none in a UTF-8 database) become U+FFFD.
//
//	w := bufio.NewWriter(os.Stdout)
//	for e, err := range pgaudit.Entries(logFile, nil) {
//		if err != nil { ... }
//		pgaudit.WriteJSON(w, &e)
//	}
//	w.Flush()
package pgaudit
