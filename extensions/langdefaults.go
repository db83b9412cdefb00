package extensions

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// defaultFunctionACLSQL reads a role's default privileges on functions
// (pg_default_acl) as readACLItems wants them, and defaultFunctionACLSchemaSQL
// the schema of each entry ("" for the role's global default).
const (
	defaultFunctionACLSQL = `SELECT d.oid, a.ord, pg_catalog.pg_get_userbyid(a.grantor)::text,
       CASE WHEN a.grantee = 0 THEN '' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END, a.privilege_type, a.is_grantable
FROM pg_catalog.pg_default_acl d
CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) WITH ORDINALITY a(grantor, grantee, privilege_type, is_grantable, ord)
WHERE d.defaclrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1) AND d.defaclobjtype = 'f'
ORDER BY d.oid, a.ord`
	defaultFunctionACLSchemaSQL = `SELECT d.oid, coalesce(n.nspname::text, '')
FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
WHERE d.defaclrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1) AND d.defaclobjtype = 'f'
ORDER BY d.oid`
)

// suspendDefaultFunctionACLs returns, for the role that runs CREATE
// EXTENSION (creator), the statements that set its default privileges on functions
// back to PostgreSQL's built-in ones (EXECUTE to PUBLIC and the owner)
// and those that put them back as they are now. Run between the two,
// CREATE EXTENSION gives the extension's own functions (a language's call
// handler, inline handler and validator, plv8_version(), ...) the ACL the
// extension's script gives them, as when the extension was first created
// before the default privileges were set; otherwise a default such as
// ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC would
// take EXECUTE on them away from every user. Both are empty when the role
// has no default privileges on functions.
//
// The script of a trusted extension that a non-superuser creates runs as
// the bootstrap superuser, whose default privileges then apply: when the
// current user is a superuser (and so may change them), that role's are
// suspended too.
func suspendDefaultFunctionACLs(ctx context.Context, tx pgx.Tx, creator string) (suspend, restore []string, err error) {
	roles := []string{creator}
	var bootstrap string
	var super bool
	if err := tx.QueryRow(ctx, `SELECT (SELECT rolname::text FROM pg_catalog.pg_roles WHERE oid = 10),
       coalesce((SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user), false)`).Scan(&bootstrap, &super); err != nil {
		return nil, nil, fmt.Errorf("reading the bootstrap superuser: %w", err)
	}
	if super && bootstrap != creator {
		roles = append(roles, bootstrap)
	}
	for _, r := range roles {
		s, u, err := suspendRoleDefaults(ctx, tx, r)
		if err != nil {
			return nil, nil, err
		}
		suspend, restore = append(suspend, s...), append(restore, u...)
	}
	return suspend, restore, nil
}

// suspendRoleDefaults is suspendDefaultFunctionACLs for one role.
func suspendRoleDefaults(ctx context.Context, tx pgx.Tx, role string) (suspend, restore []string, err error) {
	fail := func(err error) ([]string, []string, error) {
		return nil, nil, fmt.Errorf("reading the default privileges of %q: %w", role, err)
	}
	rows, err := tx.Query(ctx, defaultFunctionACLSchemaSQL, role)
	if err != nil {
		return fail(err)
	}
	var oids []uint32
	schemas := map[uint32]string{}
	var oid uint32
	var schema string
	if _, err := pgx.ForEachRow(rows, []any{&oid, &schema}, func() error {
		oids = append(oids, oid)
		schemas[oid] = schema
		return nil
	}); err != nil {
		return fail(err)
	}
	if len(oids) == 0 {
		return nil, nil, nil
	}
	rows, err = tx.Query(ctx, defaultFunctionACLSQL, role)
	if err != nil {
		return fail(err)
	}
	acls, err := readACLItems(rows)
	if err != nil {
		return fail(err)
	}
	r, err := ident("role", role)
	if err != nil {
		return nil, nil, err
	}
	builtin := []aclItem{
		{grantee: "", grantor: role, privs: []aclPriv{{"EXECUTE", false}}},
		{grantee: role, grantor: role, privs: []aclPriv{{"EXECUTE", false}}},
	}
	for _, oid := range oids {
		items, schema := acls[oid], schemas[oid]
		prefix := "ALTER DEFAULT PRIVILEGES FOR ROLE " + r + " "
		var grantees []string
		for _, it := range items {
			grantees = append(grantees, it.grantee)
		}
		var to []aclItem // what the entry is set to while suspended
		if schema != "" {
			s, err := ident("schema", schema)
			if err != nil {
				return nil, nil, err
			}
			prefix += "IN SCHEMA " + s + " "
		} else {
			to = builtin
		}
		// Per-schema defaults add to the global one: suspended, they are
		// empty (and PostgreSQL drops the entry); the global one is the
		// built-in default (and dropped too).
		off, err := aclStatements("FUNCTIONS", role, grantees, to)
		if err != nil {
			return nil, nil, err
		}
		on, err := aclStatements("FUNCTIONS", role, grantees, items)
		if err != nil {
			return nil, nil, err
		}
		for _, s := range off {
			suspend = append(suspend, prefix+s)
		}
		for _, s := range on {
			restore = append(restore, prefix+s)
		}
	}
	return suspend, restore, nil
}
