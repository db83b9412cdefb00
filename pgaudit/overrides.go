package pgaudit

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// Scope is where a per-role or per-database setting applies, as
// PostgreSQL stores it in pg_db_role_setting:
//
//	Scope{Role: "r"}                 ALTER ROLE r SET ...          (r, everywhere)
//	Scope{Database: "d"}             ALTER DATABASE d SET ...      (everyone in d)
//	Scope{Role: "r", Database: "d"}  ALTER ROLE r IN DATABASE d SET ...
//	Scope{}                          ALTER ROLE ALL SET ...        (everyone, everywhere)
//
// A session gets these values when it starts, the most specific winning:
// role in database, then role, then database, then all roles, then the
// server's configuration. Role membership does not pass settings on, and
// SET ROLE does not change them.
type Scope struct {
	// Role is the role name, or "" for all roles.
	Role string
	// Database is the database name, or "" for all databases.
	Database string
}

// String describes the scope for messages.
func (s Scope) String() string {
	switch {
	case s.Role != "" && s.Database != "":
		return fmt.Sprintf("role %q in database %q", s.Role, s.Database)
	case s.Role != "":
		return fmt.Sprintf("role %q", s.Role)
	case s.Database != "":
		return fmt.Sprintf("database %q", s.Database)
	}
	return "all roles"
}

// alterPrefix returns "ALTER ROLE ... " / "ALTER DATABASE ... " for the
// scope, names quoted.
func (s Scope) alterPrefix() (string, error) {
	var role, db string
	var err error
	if s.Role != "" {
		if role, err = sqlquote.Ident(s.Role); err != nil {
			return "", fmt.Errorf("%w: role name: %w", ErrInvalid, err)
		}
	}
	if s.Database != "" {
		if db, err = sqlquote.Ident(s.Database); err != nil {
			return "", fmt.Errorf("%w: database name: %w", ErrInvalid, err)
		}
	}
	switch {
	case role != "" && db != "":
		return "ALTER ROLE " + role + " IN DATABASE " + db, nil
	case role != "":
		return "ALTER ROLE " + role, nil
	case db != "":
		return "ALTER DATABASE " + db, nil
	}
	return "ALTER ROLE ALL", nil
}

// Override is one pgAudit setting stored for a scope.
type Override struct {
	Scope
	// Name is the setting, for example "pgaudit.log".
	Name string
	// Value is the stored value.
	Value string
}

// OverrideChange sets or removes one override.
type OverrideChange struct {
	Scope
	// Name is the pgAudit setting.
	Name string
	// Value is the new value; see NormalizeValue for what is accepted.
	// Ignored when Reset is set.
	Value string
	// Reset removes the override (ALTER ... RESET name).
	Reset bool
}

// statement builds the SQL for the change, after validating it.
func (c OverrideChange) statement() (string, error) {
	prefix, err := c.Scope.alterPrefix()
	if err != nil {
		return "", err
	}
	name, err := canonicalName(c.Name)
	if err != nil {
		return "", err
	}
	if c.Reset {
		return prefix + " RESET " + name, nil
	}
	v, err := NormalizeValue(name, c.Value)
	if err != nil {
		return "", err
	}
	lit, err := sqlquote.Literal(v)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrInvalid, name, err)
	}
	return prefix + " SET " + name + " = " + lit, nil
}

// overrideChanges returns the set fields of s as changes for scope.
func (s Settings) overrideChanges(scope Scope) ([]OverrideChange, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	list := s.List()
	if len(list) == 0 {
		return nil, fmt.Errorf("%w: no setting given", ErrInvalid)
	}
	out := make([]OverrideChange, len(list))
	for i, st := range list {
		out[i] = OverrideChange{Scope: scope, Name: st.Name, Value: st.Value}
	}
	return out, nil
}

// SetOverrides stores the set fields of s for the scope (ALTER ROLE/DATABASE
// ... SET), all in one transaction. New sessions of the role or database
// pick them up; running sessions keep their values. Setting pgAudit's
// settings needs a superuser (rds_superuser on RDS).
func (c *Client) SetOverrides(ctx context.Context, scope Scope, s Settings) error {
	changes, err := s.overrideChanges(scope)
	if err != nil {
		return err
	}
	return c.ApplyOverrides(ctx, changes)
}

// Exclude turns session auditing off for the scope: pgaudit.log = none.
// Excluding a role is how AWS documents leaving a user (an application's
// service account, say) out of the audit log.
func (c *Client) Exclude(ctx context.Context, scope Scope) error {
	return c.SetOverrides(ctx, scope, Settings{Log: pgaurora.Ptr(None)})
}

// ResetOverrides removes the named pgAudit overrides of the scope; with no
// names it removes every pgAudit override the scope has (and nothing
// else: other settings of the role or database stay).
func (c *Client) ResetOverrides(ctx context.Context, scope Scope, names ...string) error {
	if _, err := scope.alterPrefix(); err != nil {
		return err
	}
	if len(names) == 0 {
		all, err := c.Overrides(ctx)
		if err != nil {
			return err
		}
		for _, o := range all {
			if o.Scope == scope {
				names = append(names, o.Name)
			}
		}
		if len(names) == 0 {
			return nil
		}
	}
	changes := make([]OverrideChange, len(names))
	for i, n := range names {
		changes[i] = OverrideChange{Scope: scope, Name: n, Reset: true}
	}
	return c.ApplyOverrides(ctx, changes)
}

// OverrideError reports which change of ApplyOverrides failed. No change
// was kept: the transaction was rolled back.
type OverrideError struct {
	// Index is the failed change's position in the slice given.
	Index int
	// Change is the failed change.
	Change OverrideChange
	// Err is the server's error.
	Err error
}

// Error describes the failed change; nothing was applied.
func (e *OverrideError) Error() string {
	what := "setting"
	if e.Change.Reset {
		what = "resetting"
	}
	return fmt.Sprintf("pgaudit: %s %s for %s (change %d): %v; nothing was applied", what, e.Change.Name, e.Change.Scope, e.Index, e.Err)
}

// Unwrap returns the server's error.
func (e *OverrideError) Unwrap() error { return e.Err }

// batchSize bounds how many statements one pipelined batch holds.
const batchSize = 1000

// ApplyOverrides applies many override changes at once: every change is
// validated first (nothing is sent if one is bad), then all statements are
// pipelined to the server in one transaction, so thousands of roles take a
// few round trips, and either all changes apply or none does (the error is
// an *OverrideError naming the change that failed). Inside the caller's
// transaction, a savepoint is used.
func (c *Client) ApplyOverrides(ctx context.Context, changes []OverrideChange) error {
	stmts := make([]string, len(changes))
	for i, ch := range changes {
		s, err := ch.statement()
		if err != nil {
			return fmt.Errorf("change %d (%s for %s): %w", i, ch.Name, ch.Scope, err)
		}
		stmts[i] = s
	}
	if len(stmts) == 0 {
		return nil
	}
	tx, err := c.q.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgaudit: beginning the override transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	pc := tx.Conn().PgConn()
	for start := 0; start < len(stmts); start += batchSize {
		end := min(start+batchSize, len(stmts))
		// pgconn's batch sends each statement unnamed (Parse, Bind,
		// Execute) with one Sync: one round trip per batch and no
		// statement-cache churn for thousands of distinct statements.
		batch := &pgconn.Batch{}
		for _, s := range stmts[start:end] {
			batch.ExecParams(s, nil, nil, nil, nil)
		}
		mrr := pc.ExecBatch(ctx, batch)
		i := start
		var failed error
		for mrr.NextResult() {
			if _, err := mrr.ResultReader().Close(); err != nil && failed == nil {
				failed = &OverrideError{Index: i, Change: changes[i], Err: err}
			}
			i++
		}
		if err := mrr.Close(); err != nil && failed == nil {
			failed = &OverrideError{Index: min(i, len(changes)-1), Change: changes[min(i, len(changes)-1)], Err: err}
		}
		if failed != nil {
			return failed
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgaudit: committing %d override changes: %w", len(changes), err)
	}
	return nil
}

// Overrides lists every pgAudit setting stored per role, per database and
// per role in database, from pg_db_role_setting, ordered by role, database
// and name.
func (c *Client) Overrides(ctx context.Context) ([]Override, error) {
	rows, err := c.q.Query(ctx, `SELECT coalesce(r.rolname, ''), coalesce(d.datname, ''), s.setconfig
		FROM pg_catalog.pg_db_role_setting s
		LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
		LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
		ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("pgaudit: listing overrides: %w", err)
	}
	var out []Override
	var role, db string
	var config []string
	_, err = pgx.ForEachRow(rows, []any{&role, &db, &config}, func() error {
		for _, kv := range config {
			name, value, ok := strings.Cut(kv, "=")
			if !ok || !strings.HasPrefix(strings.ToLower(name), "pgaudit.") {
				continue
			}
			out = append(out, Override{Scope: Scope{Role: role, Database: db}, Name: name, Value: value})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgaudit: listing overrides: %w", err)
	}
	return out, nil
}

// Effective returns the value of the setting name that a new session of
// role in database gets, from the overrides and the server's own value,
// with PostgreSQL's precedence: role in database, role, database, all
// roles, server.
func Effective(server string, overrides []Override, role, database, name string) string {
	best, rank := server, 0
	for _, o := range overrides {
		if !asciiEqualFold(o.Name, name) {
			continue
		}
		r := 0
		switch o.Scope {
		case Scope{Role: role, Database: database}:
			r = 4
		case Scope{Role: role}:
			r = 3
		case Scope{Database: database}:
			r = 2
		case Scope{}:
			r = 1
		}
		if r > rank {
			best, rank = o.Value, r
		}
	}
	return best
}

// EffectiveClasses returns the classes session auditing logs for a new
// session of role in database: the overrides, then the server's value of
// pgaudit.log (see ServerValue).
func (c *Client) EffectiveClasses(ctx context.Context, role, database string) (Classes, error) {
	overrides, err := c.Overrides(ctx)
	if err != nil {
		return 0, err
	}
	server, err := c.serverValue(ctx, SettingLog, overrides)
	if err != nil {
		return 0, err
	}
	return ParseClasses(Effective(server, overrides, role, database, SettingLog))
}

// ServerValue returns the server-wide value of a pgAudit setting (from the
// configuration files, or the built-in default), without the overrides of
// this session's role and database.
func (c *Client) ServerValue(ctx context.Context, name string) (string, error) {
	n, err := canonicalName(name)
	if err != nil {
		return "", err
	}
	overrides, err := c.Overrides(ctx)
	if err != nil {
		return "", err
	}
	return c.serverValue(ctx, n, overrides)
}

// ServerValues is ServerValue for several settings, reading the overrides
// once: it returns each setting's server-wide value, keyed by its
// canonical name (as in SettingNames). A setting whose server value cannot
// be told here (pg_file_settings is not readable, and this session's own
// role or database overrides it) is left out of the map rather than
// failing the call.
func (c *Client) ServerValues(ctx context.Context, names ...string) (map[string]string, error) {
	canon := make([]string, len(names))
	for i, name := range names {
		n, err := canonicalName(name)
		if err != nil {
			return nil, err
		}
		canon[i] = n
	}
	overrides, err := c.Overrides(ctx)
	if err != nil {
		return nil, err
	}
	values := make(map[string]string, len(canon))
	for _, n := range canon {
		v, err := c.serverValue(ctx, n, overrides)
		switch {
		case errors.Is(err, errServerValueHidden):
			continue
		case err != nil:
			return nil, err
		}
		values[n] = v
	}
	return values, nil
}

// errServerValueHidden is matched by serverValue's error when the
// server's value cannot be told from this session.
var errServerValueHidden = errors.New("pg_file_settings is not readable (grant pg_read_all_settings) and this session's own role or database overrides it")

func (c *Client) serverValue(ctx context.Context, name string, overrides []Override) (string, error) {
	// The configuration files, when this role may read them (asked
	// first, so that a caller's transaction is not aborted by a refusal).
	var readable bool
	if err := c.q.QueryRow(ctx, "SELECT pg_catalog.has_table_privilege('pg_catalog.pg_file_settings', 'SELECT')").Scan(&readable); err != nil {
		return "", fmt.Errorf("pgaudit: checking access to pg_file_settings: %w", err)
	}
	if readable {
		var v string
		err := c.q.QueryRow(ctx, `SELECT setting FROM pg_catalog.pg_file_settings
			WHERE name = $1 AND applied ORDER BY seqno DESC LIMIT 1`, name).Scan(&v)
		switch {
		case err == nil:
			return v, nil
		case !errors.Is(err, pgx.ErrNoRows):
			return "", fmt.Errorf("pgaudit: reading %s from the configuration files: %w", name, err)
		}
		// Not in any file: the built-in default.
		if err := c.q.QueryRow(ctx, `SELECT boot_val FROM pg_catalog.pg_settings WHERE name = $1`, name).Scan(&v); err != nil {
			return "", fmt.Errorf("pgaudit: reading the default of %s: %w", name, err)
		}
		return v, nil
	}
	// Otherwise this session's starting value is the server's when no
	// override applies to its role and database.
	var user, db, reset string
	if err := c.q.QueryRow(ctx, `SELECT session_user, pg_catalog.current_database(), reset_val
		FROM pg_catalog.pg_settings WHERE name = $1`, name).Scan(&user, &db, &reset); err != nil {
		return "", fmt.Errorf("pgaudit: reading %s: %w", name, err)
	}
	for _, o := range overrides {
		if asciiEqualFold(o.Name, name) && (o.Role == "" || o.Role == user) && (o.Database == "" || o.Database == db) {
			return "", fmt.Errorf("pgaudit: cannot tell the server's %s: %w", name, errServerValueHidden)
		}
	}
	return reset, nil
}

// sqlIdent quotes a name fixed in this package's source.
func sqlIdent(name string) string { return sqlquote.MustIdent(name) }
