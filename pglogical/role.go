package pglogical

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/conninfo"
	"github.com/pgaurora/pgaurora/internal/redact"
	"github.com/pgaurora/pgaurora/internal/secretsql"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
	"github.com/pgaurora/pgaurora/logical"
)

// NodeRoleSpec describes the role that pglogical's connections between
// nodes log in as, in place of the master user: the user of a provider
// DSN (what a subscriber connects to the provider as) and of a
// subscriber node's own DSN (what the subscriber's initial copy writes
// the tables as). See Client.CreateNodeRole for the privileges each side
// gets.
type NodeRoleSpec struct {
	// Name is the role's name.
	Name string
	// Password is the role's password. It reaches the server only as a
	// SCRAM-SHA-256 verifier, through the SDK's secret path, and never an
	// error, log or printed form of the spec. It must be printable ASCII
	// (pgaurora.ErrPassword otherwise).
	Password string
	// Provider gives the role what subscribers connecting to this node
	// need: replication, and reading pglogical's table list and Tables.
	Provider bool
	// Subscriber gives the role what this node's own DSN needs while its
	// subscriptions copy the initial data: writing Tables with the
	// subscription's replication origin and replica triggers.
	Subscriber bool
	// Tables are the replicated tables: on a provider, the tables of the
	// replication sets subscribers copy; on a subscriber, the tables its
	// subscriptions copy into. They must exist.
	Tables []Table
	// Schemas are schemas whose tables are all replicated (as
	// Client.AddAllTables adds them): the role gets the table privileges
	// on the tables there now, and, through ALTER DEFAULT PRIVILEGES, on
	// those the calling role creates there later. They must exist.
	Schemas []string
}

// String describes the spec with its password REDACTED.
func (s NodeRoleSpec) String() string {
	pw := `""`
	if s.Password != "" {
		pw = conninfo.Redacted
	}
	return fmt.Sprintf("NodeRoleSpec{Name: %q, Password: %s, Provider: %t, Subscriber: %t, Tables: %v, Schemas: %q}", s.Name, pw, s.Provider, s.Subscriber, s.Tables, s.Schemas)
}

// Format prints the spec without its password, for every verb.
func (s NodeRoleSpec) Format(f fmt.State, verb rune) {
	redact.Format(f, verb, s.String(), s.GoString())
}

// GoString describes the spec without its password, for %#v.
func (s NodeRoleSpec) GoString() string { return redact.GoString("pglogical.NodeRoleSpec", s.String()) }

// LogValue describes the spec without its password, for log/slog.
func (s NodeRoleSpec) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes the spec without its password.
func (s NodeRoleSpec) MarshalJSON() ([]byte, error) {
	tables := make([]string, len(s.Tables))
	for i, t := range s.Tables {
		tables[i] = t.String()
	}
	return json.Marshal(struct {
		Name       string   `json:"name"`
		Provider   bool     `json:"provider,omitempty"`
		Subscriber bool     `json:"subscriber,omitempty"`
		Tables     []string `json:"tables,omitempty"`
		Schemas    []string `json:"schemas,omitempty"`
	}{s.Name, s.Provider, s.Subscriber, tables, s.Schemas})
}

// Validate checks the spec as CreateNodeRole does before sending
// anything: a valid role name, a printable ASCII password, at least one of
// Provider and Subscriber, and valid table and schema names. Errors match ErrInvalid
// (and pgaurora.ErrPassword for the password) and never show the
// password.
func (s NodeRoleSpec) Validate() error {
	if err := checkName("NodeRoleSpec.Name", s.Name); err != nil {
		return err
	}
	if err := secretsql.CheckPassword("NodeRoleSpec.Password", s.Password); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if !s.Provider && !s.Subscriber {
		return invalid("NodeRoleSpec: neither Provider nor Subscriber is set; say which side of replication the role serves")
	}
	for i, t := range s.Tables {
		if _, err := t.regclass(fmt.Sprintf("NodeRoleSpec.Tables[%d]", i)); err != nil {
			return err
		}
	}
	if err := checkNames("NodeRoleSpec.Schemas", s.Schemas); err != nil {
		return err
	}
	return nil
}

// DSN returns base with the role as its user and the role's password:
// the connection string to give CreateNode (a subscriber's own node, or
// a provider's) or a SubscriptionSpec's Provider.
func (s NodeRoleSpec) DSN(base pgaurora.ConnString) (pgaurora.ConnString, error) {
	if err := checkName("NodeRoleSpec.Name", s.Name); err != nil {
		return pgaurora.ConnString{}, err
	}
	c, err := base.With("user", s.Name)
	if err != nil {
		return pgaurora.ConnString{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if c, err = c.WithPassword(s.Password); err != nil {
		return pgaurora.ConnString{}, fmt.Errorf("%w: NodeRoleSpec.Password: %w", ErrInvalid, err)
	}
	return c, nil
}

// NodeRole reports what CreateNodeRole did.
type NodeRole struct {
	// Name is the role's name.
	Name string
	// Created is true when the role was created, false when it existed
	// (its password was set again and the grants made again).
	Created bool
	// Statements are the statements run, in order, with the password
	// replaced by REDACTED.
	Statements []string
}

// CreateNodeRole creates, or brings up to date, a login role for
// pglogical's connections between nodes, with exactly the privileges
// pglogical uses through those connections (PostgreSQL 15, pglogical 2.4):
//
//   - spec.Provider: REPLICATION (membership in rds_replication where that
//     role exists, as on RDS and Aurora), for the subscriber's streaming
//     connection and its slot; USAGE on schema pglogical and SELECT on
//     pglogical.tables, which the subscriber reads to list the tables to
//     copy; SELECT on the tables (spec.Tables, and those of
//     spec.Schemas), which the initial copy reads (COPY ... TO STDOUT).
//   - spec.Subscriber: INSERT on the tables, which the initial copy
//     writes (COPY ... FROM STDIN); EXECUTE on
//     pg_replication_origin_session_setup(text) and
//     pg_replication_origin_session_reset(), with which the copy marks its
//     rows with the subscription's origin; SET on the parameter
//     session_replication_role (GRANT SET ON PARAMETER, PostgreSQL 15), as
//     the copy runs with replica triggers.
//
// Both get USAGE on the tables' schemas. For spec.Schemas the table
// privileges are granted on every table there (GRANT ... ON ALL TABLES IN
// SCHEMA) and, by ALTER DEFAULT PRIVILEGES, on the tables the calling role
// creates there later; tables other roles create later need a new call.
//
// Nothing else is needed there: pglogical's apply, sync and supervisor
// workers run on the subscriber as the bootstrap superuser (background
// workers), not as the DSN's user, so applying changes, truncating on
// resynchronization and advancing the replication origin need no grant.
// The calls that create nodes and subscriptions still need a superuser
// (rds_superuser) Client.
//
// It is idempotent: an existing role gets LOGIN and the new password, and
// the grants again (granting what is granted changes nothing). Nothing is
// revoked, and the role's other attributes and privileges are left as they
// are; a role that is a superuser is refused (ErrInvalid) before anything
// is changed, since a node role exists not to be one. Everything runs in
// one transaction, so a failure leaves nothing behind. The password
// travels as a SCRAM-SHA-256 verifier with statement logging, pgAudit and
// statement statistics off (the SDK's one secret path): the Querier must
// lend one connection, and the calling role must be allowed to change the
// log settings, create roles and make the grants (pgaurora.ErrLogSuppression
// otherwise, before anything is sent; a grant the calling role may not
// make, such as SET on session_replication_role where rds_superuser lacks
// the grant option, fails with the server's permission error). Invalid input (an empty name, a
// password outside printable ASCII, neither side chosen, an empty table
// or schema name) is refused with ErrInvalid before anything is sent; a
// table or schema that does not exist gives ErrNotFound, before anything
// is changed.
func (c *Client) CreateNodeRole(ctx context.Context, spec NodeRoleSpec) (NodeRole, error) {
	if err := spec.Validate(); err != nil {
		return NodeRole{}, err
	}
	role := sqlquote.MustIdent(spec.Name)
	secret, err := secretsql.PasswordLiteral("NodeRoleSpec.Password", spec.Password)
	if err != nil {
		return NodeRole{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	tables := make([]string, len(spec.Tables))
	for i, t := range spec.Tables {
		tables[i], _ = t.regclass("") // checked by Validate
	}

	op := fmt.Sprintf("create node role %q", spec.Name)
	p, err := secretsql.Pin(ctx, c.q)
	if err != nil {
		return NodeRole{}, wrap(op, err)
	}
	defer p.Release()
	var out NodeRole
	err = p.Tx(ctx, func(conn *pgx.Conn) error {
		var err error
		out, err = createNodeRole(ctx, p, conn, spec, role, secret, tables)
		return err
	})
	if err != nil {
		// The body's errors are classified already; BEGIN's and COMMIT's
		// hold no secret.
		return NodeRole{}, fmt.Errorf("pglogical: %s: %w", op, err)
	}
	return out, nil
}

// createNodeRole is CreateNodeRole's work, in its transaction on conn.
// Its errors name the step that failed, classified and without the
// password; CreateNodeRole adds the operation.
func createNodeRole(ctx context.Context, p *secretsql.Conn, conn *pgx.Conn, spec NodeRoleSpec, role, secret string, tables []string) (NodeRole, error) {
	fail := func(doing string, err error) (NodeRole, error) {
		return NodeRole{}, fmt.Errorf("%s: %w", doing, classify(err, spec.Password))
	}

	// The tables, resolved to their schemas, before anything changes.
	type rel struct{ schema, name string }
	var rels []rel
	for _, t := range tables {
		var r rel
		if err := conn.QueryRow(ctx, `SELECT n.nspname::text, c.relname::text FROM pg_catalog.pg_class c
			JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::regclass`, t).Scan(&r.schema, &r.name); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000") {
				return NodeRole{}, fmt.Errorf("%w (server said: %w)", &NotFoundError{Kind: "table", Name: t}, classify(err))
			}
			return fail("looking up table "+t, err)
		}
		rels = append(rels, r)
	}
	for _, sc := range spec.Schemas {
		var found bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)", sc).Scan(&found); err != nil {
			return fail("looking up schema "+sc, err)
		}
		if !found {
			return NodeRole{}, &NotFoundError{Kind: "schema", Name: sc}
		}
	}
	var exists, super bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1),
		coalesce((SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = $1), false)`, spec.Name).Scan(&exists, &super); err != nil {
		return fail("looking up the role", err)
	}
	var replication string
	if spec.Provider {
		var err error
		if replication, _, err = logical.ReplicationGrant(ctx, conn, spec.Name); err != nil {
			return fail("choosing the replication grant", err)
		}
	}
	if super {
		return NodeRole{}, fmt.Errorf("role %q exists and is a superuser; a node role should have only the privileges pglogical needs: give another name: %w", spec.Name, ErrInvalid)
	}

	out := NodeRole{Name: spec.Name, Created: !exists}
	set, err := p.SetLoginPassword(ctx, role, secret, spec.Password, !exists)
	if err != nil {
		return fail("setting the role's password", err)
	}
	out.Statements = append(out.Statements, set)

	var stmts []string
	grantSchema := func(schema string) {
		s := "GRANT USAGE ON SCHEMA " + sqlquote.MustIdent(schema) + " TO " + role
		if !slices.Contains(stmts, s) {
			stmts = append(stmts, s)
		}
	}
	if spec.Provider {
		stmts = append(stmts, replication)
		grantSchema("pglogical")
		stmts = append(stmts, "GRANT SELECT ON pglogical.tables TO "+role)
	}
	for _, r := range rels {
		grantSchema(r.schema)
	}
	for _, sc := range spec.Schemas {
		grantSchema(sc)
	}
	privs := "INSERT"
	switch {
	case spec.Provider && spec.Subscriber:
		privs = "SELECT, INSERT"
	case spec.Provider:
		privs = "SELECT"
	}
	for _, r := range rels {
		stmts = append(stmts, "GRANT "+privs+" ON TABLE "+sqlquote.MustIdent(r.schema, r.name)+" TO "+role)
	}
	for _, sc := range spec.Schemas {
		q := sqlquote.MustIdent(sc)
		stmts = append(stmts,
			"GRANT "+privs+" ON ALL TABLES IN SCHEMA "+q+" TO "+role,
			"ALTER DEFAULT PRIVILEGES IN SCHEMA "+q+" GRANT "+privs+" ON TABLES TO "+role)
	}
	if spec.Subscriber {
		stmts = append(stmts,
			"GRANT EXECUTE ON FUNCTION pg_catalog.pg_replication_origin_session_setup(text) TO "+role,
			"GRANT EXECUTE ON FUNCTION pg_catalog.pg_replication_origin_session_reset() TO "+role,
			"GRANT SET ON PARAMETER session_replication_role TO "+role)
	}
	ran, failed, err := p.ExecAll(ctx, stmts)
	out.Statements = append(out.Statements, ran...)
	if err != nil {
		return fail(failed, err)
	}
	return out, nil
}
