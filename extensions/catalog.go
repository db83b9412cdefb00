package extensions

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Available is an extension the server can install (a row of
// pg_available_extensions).
type Available struct {
	// Name is the extension name.
	Name string
	// DefaultVersion is the version CREATE EXTENSION installs without
	// VERSION.
	DefaultVersion string
	// InstalledVersion is the version installed in the current database,
	// "" when it is not installed.
	InstalledVersion string
	// Comment is the control file's comment.
	Comment string
}

// Installed reports whether the extension is installed in the database.
func (a Available) Installed() bool { return a.InstalledVersion != "" }

// AvailableVersion is one installable version of an extension (a row of
// pg_available_extension_versions).
type AvailableVersion struct {
	// Name is the extension name; Version one of its versions.
	Name, Version string
	// Installed says this version is the one installed in the database.
	Installed bool
	// Superuser says only superusers may install this version, unless
	// Trusted.
	Superuser bool
	// Trusted says a non-superuser with CREATE on the database may install
	// it although Superuser is set (PostgreSQL 13 and later).
	Trusted bool
	// Relocatable says the extension's objects can move to another schema.
	Relocatable bool
	// Schema is the schema the extension must live in, "" when any.
	Schema string
	// Requires lists the extensions this version needs installed first
	// (CREATE EXTENSION ... CASCADE installs them).
	Requires []string
	// Comment is the control file's comment.
	Comment string
}

// InstalledExtension is an extension installed in the current database (a
// row of pg_extension).
type InstalledExtension struct {
	// Name and Version are the extension and its installed version.
	Name, Version string
	// Schema holds the extension's objects.
	Schema string
	// Owner is the role that created the extension.
	Owner string
	// Relocatable says ALTER EXTENSION ... SET SCHEMA works.
	Relocatable bool
}

// Update is an installed extension whose default version differs from the
// installed one.
type Update struct {
	// Name is the extension.
	Name string
	// Installed and Default are the installed and the default version.
	Installed, Default string
	// Path is the chain of update scripts ALTER EXTENSION ... UPDATE would
	// run, as pg_extension_update_paths reports it ("1.0--1.1--1.2"); ""
	// when the server has no update path, in which case the extension can
	// only be dropped and created again (as PLV8 upgrades are done).
	Path string
}

// Updatable reports whether ALTER EXTENSION ... UPDATE can reach the
// default version.
func (u Update) Updatable() bool { return u.Path != "" }

// Available lists the extensions the server can install, by name.
func (c *Client) Available(ctx context.Context) ([]Available, error) {
	rows, err := c.q.Query(ctx, `SELECT name::text, coalesce(default_version, ''), coalesce(installed_version, ''), coalesce(comment, '')
FROM pg_catalog.pg_available_extensions ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("extensions: listing available extensions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Available, error) {
		var a Available
		err := r.Scan(&a.Name, &a.DefaultVersion, &a.InstalledVersion, &a.Comment)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("extensions: listing available extensions: %w", err)
	}
	return out, nil
}

// AvailableVersions lists the installable versions of the named extension,
// or of every extension when name is "", ordered by name and version.
func (c *Client) AvailableVersions(ctx context.Context, name string) ([]AvailableVersion, error) {
	if name != "" {
		if _, err := ident("extension name", name); err != nil {
			return nil, err
		}
	}
	rows, err := c.q.Query(ctx, `SELECT name::text, version, installed, superuser, trusted, relocatable,
       coalesce(schema::text, ''), coalesce(requires::text[], '{}'), coalesce(comment, '')
FROM pg_catalog.pg_available_extension_versions
WHERE $1 = '' OR name = $1
ORDER BY name, version`, name)
	if err != nil {
		return nil, fmt.Errorf("extensions: listing available versions of %q: %w", name, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AvailableVersion, error) {
		var v AvailableVersion
		err := r.Scan(&v.Name, &v.Version, &v.Installed, &v.Superuser, &v.Trusted, &v.Relocatable, &v.Schema, &v.Requires, &v.Comment)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("extensions: listing available versions of %q: %w", name, err)
	}
	SortVersions(out)
	return out, nil
}

// Installed lists the extensions installed in the current database, by
// name.
func (c *Client) Installed(ctx context.Context) ([]InstalledExtension, error) {
	rows, err := c.q.Query(ctx, `SELECT e.extname::text, e.extversion, n.nspname::text, pg_catalog.pg_get_userbyid(e.extowner)::text, e.extrelocatable
FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
ORDER BY e.extname`)
	if err != nil {
		return nil, fmt.Errorf("extensions: listing installed extensions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (InstalledExtension, error) {
		var e InstalledExtension
		err := r.Scan(&e.Name, &e.Version, &e.Schema, &e.Owner, &e.Relocatable)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("extensions: listing installed extensions: %w", err)
	}
	return out, nil
}

// Updates lists the installed extensions whose installed version is older
// than the default version, with the update path when the server has one.
// Versions are compared with CompareVersions; a version pair that does not
// compare (free-form strings) counts as an update when the server has a
// path from one to the other.
func (c *Client) Updates(ctx context.Context) ([]Update, error) {
	rows, err := c.q.Query(ctx, `SELECT a.name::text, a.installed_version, a.default_version,
       coalesce((SELECT p.path FROM pg_catalog.pg_extension_update_paths(a.name) p
                 WHERE p.source = a.installed_version AND p.target = a.default_version), '')
FROM pg_catalog.pg_available_extensions a
WHERE a.installed_version IS NOT NULL AND a.default_version IS NOT NULL
  AND a.installed_version <> a.default_version
ORDER BY a.name`)
	if err != nil {
		return nil, fmt.Errorf("extensions: listing extension updates: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Update, error) {
		var u Update
		err := r.Scan(&u.Name, &u.Installed, &u.Default, &u.Path)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("extensions: listing extension updates: %w", err)
	}
	var out []Update
	for _, u := range all {
		cmp, ok := CompareVersions(u.Installed, u.Default)
		if (ok && cmp < 0) || (!ok && u.Path != "") {
			out = append(out, u)
		}
	}
	return out, nil
}

// CreateOptions are the optional clauses of CREATE EXTENSION.
type CreateOptions struct {
	// Schema is where the extension's objects go; "" lets the server pick
	// (the control file's schema, else the first schema in search_path).
	Schema string
	// Version is the version to install; "" is the default version.
	Version string
	// Cascade also installs the extensions this one requires.
	Cascade bool
	// IfNotExists makes an installed extension a no-op instead of an error.
	IfNotExists bool
}

// createSQL returns the CREATE EXTENSION statement Create runs.
func createSQL(name string, opts *CreateOptions) (string, error) {
	if opts == nil {
		opts = &CreateOptions{}
	}
	n, err := ident("extension name", name)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("CREATE EXTENSION ")
	if opts.IfNotExists {
		b.WriteString("IF NOT EXISTS ")
	}
	b.WriteString(n)
	if opts.Schema != "" {
		s, err := ident("schema", opts.Schema)
		if err != nil {
			return "", err
		}
		b.WriteString(" SCHEMA " + s)
	}
	if opts.Version != "" {
		v, err := literal("version", opts.Version)
		if err != nil {
			return "", err
		}
		b.WriteString(" VERSION " + v)
	}
	if opts.Cascade {
		b.WriteString(" CASCADE")
	}
	return b.String(), nil
}

// Create installs an extension in the current database (CREATE EXTENSION).
// When the server refuses for lack of privilege, the error says so; call
// CanInstall first to learn which rule applies.
func (c *Client) Create(ctx context.Context, name string, opts *CreateOptions) error {
	q, err := createSQL(name, opts)
	if err != nil {
		return err
	}
	if _, err := c.q.Exec(ctx, q); err != nil {
		return fmt.Errorf("extensions: creating extension %q: %w", name, explain(err))
	}
	return nil
}

// updateSQL returns the ALTER EXTENSION ... UPDATE statement Update runs;
// version "" updates to the default version.
func updateSQL(name, version string) (string, error) {
	n, err := ident("extension name", name)
	if err != nil {
		return "", err
	}
	q := "ALTER EXTENSION " + n + " UPDATE"
	if version != "" {
		v, err := literal("version", version)
		if err != nil {
			return "", err
		}
		q += " TO " + v
	}
	return q, nil
}

// Update updates an installed extension to version, or to its default
// version when version is "" (ALTER EXTENSION ... UPDATE). It fails with
// ErrNotInstalled when the extension is not installed.
func (c *Client) Update(ctx context.Context, name, version string) error {
	q, err := updateSQL(name, version)
	if err != nil {
		return err
	}
	var installed bool
	if err := c.q.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = $1)`, name).Scan(&installed); err != nil {
		return fmt.Errorf("extensions: updating extension %q: %w", name, err)
	}
	if !installed {
		return fmt.Errorf("extensions: updating extension %q: %w", name, ErrNotInstalled)
	}
	if _, err := c.q.Exec(ctx, q); err != nil {
		return fmt.Errorf("extensions: updating extension %q to %s: %w", name, orDefault(version), explain(err))
	}
	return nil
}

func orDefault(v string) string {
	if v == "" {
		return "the default version"
	}
	return "version " + strconv.Quote(v)
}

// DropOptions are the optional clauses of DROP EXTENSION.
type DropOptions struct {
	// Cascade also drops every object that depends on the extension. Off,
	// the drop fails when anything does (RESTRICT).
	Cascade bool
	// IfExists makes a missing extension a no-op instead of an error.
	IfExists bool
}

// dropSQL returns the DROP EXTENSION statement Drop runs.
func dropSQL(name string, opts *DropOptions) (string, error) {
	if opts == nil {
		opts = &DropOptions{}
	}
	n, err := ident("extension name", name)
	if err != nil {
		return "", err
	}
	q := "DROP EXTENSION "
	if opts.IfExists {
		q += "IF EXISTS "
	}
	q += n
	if opts.Cascade {
		q += " CASCADE"
	} else {
		q += " RESTRICT"
	}
	return q, nil
}

// Drop removes an extension (DROP EXTENSION). Without opts.Cascade it is
// RESTRICT: the server refuses when other objects depend on the extension,
// and the error lists them.
func (c *Client) Drop(ctx context.Context, name string, opts *DropOptions) error {
	q, err := dropSQL(name, opts)
	if err != nil {
		return err
	}
	if _, err := c.q.Exec(ctx, q); err != nil {
		return fmt.Errorf("extensions: dropping extension %q: %w", name, explain(err))
	}
	return nil
}

// explain adds the server's DETAIL and HINT to an error's text, keeping
// the *pgconn.PgError in the chain.
func explain(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	extra := ""
	if pe.Detail != "" {
		extra += " (detail: " + pe.Detail + ")"
	}
	if pe.Hint != "" {
		extra += " (hint: " + pe.Hint + ")"
	}
	if extra == "" {
		return err
	}
	return fmt.Errorf("%w%s", err, extra)
}

// CompareVersions compares two extension version strings the way people
// read them: runs of digits compare as numbers, other runs as text, and
// separators (".", "-", "_") only separate ("1.10" > "1.9", "3.2.0" >
// "3.1.10", "1.5.3" < "2.1.0"). ok is false when the versions are not
// comparable that way (a number where the other has text); the result is
// then 0.
func CompareVersions(a, b string) (cmp int, ok bool) {
	ta, tb := versionTokens(a), versionTokens(b)
	for i := 0; i < len(ta) || i < len(tb); i++ {
		if i >= len(ta) {
			return -1, true
		}
		if i >= len(tb) {
			return 1, true
		}
		x, y := ta[i], tb[i]
		xn, xerr := strconv.ParseUint(x, 10, 64)
		yn, yerr := strconv.ParseUint(y, 10, 64)
		switch {
		case xerr == nil && yerr == nil:
			if xn != yn {
				if xn < yn {
					return -1, true
				}
				return 1, true
			}
		case xerr != nil && yerr != nil:
			if c := strings.Compare(x, y); c != 0 {
				return c, true
			}
		default:
			return 0, false
		}
	}
	return 0, true
}

func versionTokens(v string) []string {
	var out []string
	cur := strings.Builder{}
	digit := false
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range v {
		switch {
		case unicode.IsDigit(r):
			if !digit {
				flush()
			}
			digit = true
			cur.WriteRune(r)
		case unicode.IsLetter(r):
			if digit {
				flush()
			}
			digit = false
			cur.WriteRune(r)
		default:
			flush()
			digit = false
		}
	}
	flush()
	return out
}

// SortVersions orders versions by name, then by CompareVersions (text
// order where versions do not compare).
func SortVersions(vs []AvailableVersion) {
	less := func(a, b AvailableVersion) bool {
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if c, ok := CompareVersions(a.Version, b.Version); ok {
			return c < 0
		}
		return a.Version < b.Version
	}
	// insertion sort keeps it stable and the lists are short
	for i := 1; i < len(vs); i++ {
		for j := i; j > 0 && less(vs[j], vs[j-1]); j-- {
			vs[j], vs[j-1] = vs[j-1], vs[j]
		}
	}
}
