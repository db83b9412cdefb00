package pgaudit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// Privilege is a privilege granted to the audit role to audit an object.
type Privilege string

// The privileges object auditing uses. pgAudit logs a SELECT, INSERT,
// UPDATE or DELETE on a relation when rds_pgaudit holds that privilege on
// the relation or on one of the columns the statement uses.
const (
	Select  Privilege = "SELECT"
	Insert  Privilege = "INSERT"
	Update  Privilege = "UPDATE"
	Delete  Privilege = "DELETE"
	Execute Privilege = "EXECUTE"
)

// ObjectKind is the kind of object an AuditedObject names.
type ObjectKind string

// Object kinds.
const (
	KindTable    ObjectKind = "table"
	KindView     ObjectKind = "view"
	KindColumns  ObjectKind = "columns"
	KindFunction ObjectKind = "function"
)

// AuditedObject names a table, view, set of columns or function for object
// auditing. Build one with Table, View, Columns or Func.
type AuditedObject struct {
	// Kind is what the object is.
	Kind ObjectKind
	// Schema and Name name the relation or function.
	Schema, Name string
	// Columns are the audited columns of a KindColumns object.
	Columns []string
	// Args are a function's argument types as SQL type names ("integer",
	// "text", "public.mytype"), to tell overloaded functions apart.
	Args []string
}

// Table names a table (or any relation GRANT ... ON TABLE accepts).
func Table(schema, name string) AuditedObject {
	return AuditedObject{Kind: KindTable, Schema: schema, Name: name}
}

// View names a view or materialized view.
func View(schema, name string) AuditedObject {
	return AuditedObject{Kind: KindView, Schema: schema, Name: name}
}

// Columns names columns of a table or view.
func Columns(schema, table string, columns ...string) AuditedObject {
	return AuditedObject{Kind: KindColumns, Schema: schema, Name: table, Columns: columns}
}

// Func names a function by schema, name and argument types.
//
// pgAudit 1.7 (and later) logs function calls only through the FUNCTION
// session class: EXECUTE granted to the audit role is recorded and listed,
// but makes pgAudit write no OBJECT entry for the call itself.
func Func(schema, name string, argTypes ...string) AuditedObject {
	return AuditedObject{Kind: KindFunction, Schema: schema, Name: name, Args: argTypes}
}

// String describes the object.
func (o AuditedObject) String() string {
	switch o.Kind {
	case KindColumns:
		return fmt.Sprintf("columns %s of %s.%s", strings.Join(o.Columns, ", "), o.Schema, o.Name)
	case KindFunction:
		return fmt.Sprintf("function %s.%s(%s)", o.Schema, o.Name, strings.Join(o.Args, ", "))
	}
	return fmt.Sprintf("%s %s.%s", o.Kind, o.Schema, o.Name)
}

func (o AuditedObject) allowed() []Privilege {
	switch o.Kind {
	case KindTable, KindView:
		return []Privilege{Select, Insert, Update, Delete}
	case KindColumns:
		return []Privilege{Select, Insert, Update}
	case KindFunction:
		return []Privilege{Execute}
	}
	return nil
}

// grantSQL builds GRANT/REVOKE for the object, with a function's
// signature resolved to sig (its regprocedure text) by the caller.
func (o AuditedObject) grantSQL(grant bool, privs []Privilege, sig string) (string, error) {
	allowed := o.allowed()
	if allowed == nil {
		return "", fmt.Errorf("%w: object kind %q: want table, view, columns or function", ErrInvalid, o.Kind)
	}
	if len(privs) == 0 {
		if o.Kind != KindFunction {
			return "", fmt.Errorf("%w: no privilege given for %s; allowed: %s", ErrInvalid, o, joinPrivs(allowed))
		}
		privs = allowed
	}
	var ps []string
	for _, p := range privs {
		up := Privilege(strings.ToUpper(string(p)))
		if !slices.Contains(allowed, up) {
			return "", fmt.Errorf("%w: privilege %q on %s: allowed: %s", ErrInvalid, p, o, joinPrivs(allowed))
		}
		if !slices.Contains(ps, string(up)) {
			ps = append(ps, string(up))
		}
	}
	var target string
	switch o.Kind {
	case KindFunction:
		target = "FUNCTION " + sig
	default:
		rel, err := sqlquote.Ident(o.Schema, o.Name)
		if err != nil {
			return "", fmt.Errorf("%w: %s: %w", ErrInvalid, o, err)
		}
		target = "TABLE " + rel
	}
	list := strings.Join(ps, ", ")
	if o.Kind == KindColumns {
		if len(o.Columns) == 0 {
			return "", fmt.Errorf("%w: %s: no column given", ErrInvalid, o)
		}
		cols := make([]string, len(o.Columns))
		for i, c := range o.Columns {
			q, err := sqlquote.Ident(c)
			if err != nil {
				return "", fmt.Errorf("%w: column of %s: %w", ErrInvalid, o, err)
			}
			cols[i] = q
		}
		colList := " (" + strings.Join(cols, ", ") + ")"
		for i := range ps {
			ps[i] += colList
		}
		list = strings.Join(ps, ", ")
	}
	role := sqlIdent(AuditRole)
	if grant {
		return "GRANT " + list + " ON " + target + " TO " + role, nil
	}
	return "REVOKE " + list + " ON " + target + " FROM " + role, nil
}

func joinPrivs(ps []Privilege) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// CreateAuditRole creates the rds_pgaudit role (NOLOGIN) unless it exists,
// and reports whether it created it. Object auditing needs this role and
// pgaudit.role = rds_pgaudit in the parameter group (Settings.Role).
func (c *Client) CreateAuditRole(ctx context.Context) (bool, error) {
	var exists bool
	if err := c.q.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)", AuditRole).Scan(&exists); err != nil {
		return false, fmt.Errorf("pgaudit: looking up role %s: %w", AuditRole, err)
	}
	if exists {
		return false, nil
	}
	_, err := c.q.Exec(ctx, "CREATE ROLE "+sqlIdent(AuditRole)+" NOLOGIN")
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42710" {
		// Created concurrently.
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pgaudit: creating role %s: %w", AuditRole, err)
	}
	return true, nil
}

// functionSignature resolves a function to its regprocedure text, which
// the server writes with every name quoted as needed.
func (c *Client) functionSignature(ctx context.Context, o AuditedObject) (string, error) {
	name, err := sqlquote.Ident(o.Schema, o.Name)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrInvalid, o, err)
	}
	for _, a := range o.Args {
		if strings.ContainsAny(a, "();") {
			return "", fmt.Errorf("%w: %s: argument type %q: want a type name", ErrInvalid, o, a)
		}
	}
	// The signature is a bind parameter: the server parses it.
	var sig *string
	err = c.q.QueryRow(ctx, "SELECT pg_catalog.to_regprocedure($1)::pg_catalog.text", name+"("+strings.Join(o.Args, ", ")+")").Scan(&sig)
	if err != nil {
		return "", fmt.Errorf("pgaudit: looking up %s: %w", o, err)
	}
	if sig == nil {
		return "", fmt.Errorf("pgaudit: %s does not exist", o)
	}
	return *sig, nil
}

func (c *Client) grant(ctx context.Context, grant bool, o AuditedObject, privs []Privilege) error {
	if _, err := o.grantSQL(grant, privs, "f()"); err != nil {
		return err // bad input, before anything is sent
	}
	sig := ""
	if o.Kind == KindFunction {
		var err error
		if sig, err = c.functionSignature(ctx, o); err != nil {
			return err
		}
	}
	stmt, err := o.grantSQL(grant, privs, sig)
	if err != nil {
		return err
	}
	if _, err := c.q.Exec(ctx, stmt); err != nil {
		verb := "auditing"
		if !grant {
			verb = "unauditing"
		}
		return fmt.Errorf("pgaudit: %s %s: %w", verb, o, err)
	}
	return nil
}

// Audit turns object auditing on for the object and privileges: it grants
// them to rds_pgaudit, so pgAudit logs an OBJECT entry for every statement
// using one of them on the object (when pgaudit.role is rds_pgaudit). For
// a function the privilege is EXECUTE (the default).
func (c *Client) Audit(ctx context.Context, o AuditedObject, privs ...Privilege) error {
	return c.grant(ctx, true, o, privs)
}

// Unaudit turns object auditing off for the object and privileges (REVOKE
// from rds_pgaudit). As PostgreSQL does for every REVOKE, revoking a
// privilege on a table also revokes it on each of its columns.
func (c *Client) Unaudit(ctx context.Context, o AuditedObject, privs ...Privilege) error {
	return c.grant(ctx, false, o, privs)
}

// AuditedGrant is one object-auditing grant found by ListAudited.
type AuditedGrant struct {
	// Object is the audited object; for columns, one column per grant.
	Object AuditedObject
	// RelKind is the relation's kind as pg_class says (table, view,
	// materialized view, ...) or "function".
	RelKind string
	// Privileges are the privileges granted to rds_pgaudit.
	Privileges []Privilege
}

// ListAudited lists what is object-audited in this database: every table,
// view, column and function on which rds_pgaudit holds a privilege
// directly. Roles granted to rds_pgaudit also count for pgAudit but are not
// followed here.
func (c *Client) ListAudited(ctx context.Context) ([]AuditedGrant, error) {
	rows, err := c.q.Query(ctx, `
WITH role AS (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1)
SELECT k, nspname, relname, colname, args, relkind, privs FROM (
  SELECT 0 AS o, 'rel' AS k, n.nspname, c.relname, '' AS colname, '{}'::text[] AS args,
         c.relkind::text AS relkind,
         array_agg(a.privilege_type ORDER BY a.privilege_type) AS privs
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
   WHERE a.grantee = (SELECT oid FROM role)
   GROUP BY n.nspname, c.relname, c.relkind
  UNION ALL
  SELECT 1, 'col', n.nspname, c.relname, att.attname, '{}', c.relkind::text,
         array_agg(a.privilege_type ORDER BY a.privilege_type)
    FROM pg_catalog.pg_attribute att
    JOIN pg_catalog.pg_class c ON c.oid = att.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL pg_catalog.aclexplode(att.attacl) a
   WHERE a.grantee = (SELECT oid FROM role) AND NOT att.attisdropped
   GROUP BY n.nspname, c.relname, att.attname, c.relkind
  UNION ALL
  SELECT 2, 'func', n.nspname, p.proname, '',
         ARRAY(SELECT pg_catalog.format_type(t, NULL) FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS u(t, i) ORDER BY i),
         'function',
         array_agg(a.privilege_type ORDER BY a.privilege_type)
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    CROSS JOIN LATERAL pg_catalog.aclexplode(p.proacl) a
   WHERE a.grantee = (SELECT oid FROM role)
   GROUP BY n.nspname, p.proname, p.proargtypes
) x ORDER BY nspname, relname, o, colname`, AuditRole)
	if err != nil {
		return nil, fmt.Errorf("pgaudit: listing audited objects: %w", err)
	}
	var out []AuditedGrant
	var k, schema, name, col, relkind string
	var args, privs []string
	_, err = pgx.ForEachRow(rows, []any{&k, &schema, &name, &col, &args, &relkind, &privs}, func() error {
		g := AuditedGrant{RelKind: relKindName(relkind)}
		switch k {
		case "rel":
			g.Object = Table(schema, name)
			if relkind == "v" || relkind == "m" {
				g.Object.Kind = KindView
			}
		case "col":
			g.Object = Columns(schema, name, col)
		case "func":
			g.Object = Func(schema, name, args...)
		}
		for _, p := range privs {
			g.Privileges = append(g.Privileges, Privilege(p))
		}
		out = append(out, g)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgaudit: listing audited objects: %w", err)
	}
	return out, nil
}

func relKindName(k string) string {
	switch k {
	case "r":
		return "table"
	case "p":
		return "partitioned table"
	case "v":
		return "view"
	case "m":
		return "materialized view"
	case "f":
		return "foreign table"
	case "S":
		return "sequence"
	}
	return k
}
