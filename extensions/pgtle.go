package extensions

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/params"
)

// PgTLE is the Trusted Language Extensions extension (pg_tle); its
// functions live in the schema pgtle and its managing role is
// PgTLEAdminRole. pg_tle must be in shared_preload_libraries.
const (
	PgTLE          = "pg_tle"
	PgTLEAdminRole = "pgtle_admin"
)

// TLEStatus is whether pg_tle can be used in the current database.
type TLEStatus struct {
	// Available says the server has pg_tle.
	Available bool
	// Installed is the installed version in this database, "" when not
	// installed.
	Installed string
	// Preloaded says pg_tle is in shared_preload_libraries.
	Preloaded bool
	// AdminRole says the pgtle_admin role exists (CREATE EXTENSION
	// pg_tle creates it).
	AdminRole bool
	// CurrentUserIsAdmin says the current user is a superuser or a member
	// of pgtle_admin, so it may install and uninstall TLE extensions.
	CurrentUserIsAdmin bool
}

// TLEStatus reports whether pg_tle is available, preloaded, installed,
// and whether the current user may manage TLE extensions.
func (c *Client) TLEStatus(ctx context.Context) (*TLEStatus, error) {
	s := &TLEStatus{}
	var preload string
	err := c.q.QueryRow(ctx, `SELECT
  EXISTS (SELECT FROM pg_catalog.pg_available_extensions() a(name, default_version, comment) WHERE a.name = $1),
  coalesce((SELECT extversion FROM pg_catalog.pg_extension WHERE extname = $1), ''),
  current_setting('shared_preload_libraries'),
  EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = $2),
  coalesce((SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user), false)
    OR coalesce((SELECT pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER') FROM pg_catalog.pg_roles r WHERE r.rolname = $2), false)`,
		PgTLE, PgTLEAdminRole).Scan(&s.Available, &s.Installed, &preload, &s.AdminRole, &s.CurrentUserIsAdmin)
	if err != nil {
		return nil, fmt.Errorf("extensions: reading pg_tle status: %w", err)
	}
	if list, err := params.ParseLibraryList(preload); err == nil {
		s.Preloaded = list.Contains(PgTLE)
	}
	return s, nil
}

// TLEExtension is a Trusted Language Extension registered with pg_tle
// (a row of pgtle.available_extensions()).
type TLEExtension struct {
	// Name is what CREATE EXTENSION takes.
	Name string
	// DefaultVersion is the version CREATE EXTENSION installs.
	DefaultVersion string
	// Description is the extension's description.
	Description string
}

// tleExtensionsSQL is the query TLEExtensions runs.
const tleExtensionsSQL = `SELECT name::text, default_version::text, coalesce(description, '')::text FROM pgtle.available_extensions() ORDER BY name`

// TLEExtensions lists the TLE extensions registered in this database. It
// fails with ErrNotInstalled when pg_tle is not installed here.
func (c *Client) TLEExtensions(ctx context.Context) ([]TLEExtension, error) {
	if err := c.requireInstalled(ctx, PgTLE); err != nil {
		return nil, err
	}
	rows, err := c.q.Query(ctx, tleExtensionsSQL)
	if err != nil {
		return nil, fmt.Errorf("extensions: listing TLE extensions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TLEExtension, error) {
		var e TLEExtension
		err := r.Scan(&e.Name, &e.DefaultVersion, &e.Description)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("extensions: listing TLE extensions: %w", err)
	}
	return out, nil
}

func (c *Client) requireInstalled(ctx context.Context, name string) error {
	var ok bool
	if err := c.q.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = $1)`, name).Scan(&ok); err != nil {
		return fmt.Errorf("extensions: checking for extension %q: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("%w: %s (CREATE EXTENSION %s first)", ErrNotInstalled, name, name)
	}
	return nil
}

// TLEInstall is a Trusted Language Extension to register with
// pgtle.install_extension.
type TLEInstall struct {
	// Name is the extension name CREATE EXTENSION will take.
	Name string
	// Version is the version the script installs.
	Version string
	// Description is shown by pgtle.available_extensions().
	Description string
	// Script is the extension's SQL (its functions and other objects).
	Script string
	// Requires lists extensions this one needs; pg_tle adds itself.
	Requires []string
}

// installTLESQL returns the statement and bind parameters InstallTLE
// sends. The script travels as a bind parameter, so no quoting of it is
// ever needed.
func installTLESQL(e TLEInstall) (string, []any, error) {
	switch {
	case e.Name == "":
		return "", nil, invalidf("TLEInstall.Name is empty")
	case e.Version == "":
		return "", nil, invalidf("TLEInstall.Version is empty")
	case e.Script == "":
		return "", nil, invalidf("TLEInstall.Script is empty")
	}
	for _, s := range []struct{ field, v string }{{"Name", e.Name}, {"Version", e.Version}, {"Description", e.Description}, {"Script", e.Script}} {
		if _, err := literal("TLEInstall."+s.field, s.v); err != nil {
			return "", nil, err
		}
	}
	var req []string
	if len(e.Requires) > 0 {
		req = append(req, e.Requires...)
	}
	return `SELECT pgtle.install_extension($1, $2, $3, $4, $5::text[])`, []any{e.Name, e.Version, e.Description, e.Script, req}, nil
}

// InstallTLE registers a TLE extension in this database
// (pgtle.install_extension); CREATE EXTENSION then installs it. The
// current user must be a member of pgtle_admin.
func (c *Client) InstallTLE(ctx context.Context, e TLEInstall) error {
	q, args, err := installTLESQL(e)
	if err != nil {
		return err
	}
	if err := c.requireInstalled(ctx, PgTLE); err != nil {
		return err
	}
	if _, err := c.q.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("extensions: registering TLE extension %q version %q: %w", e.Name, e.Version, explain(err))
	}
	return nil
}

// uninstallTLESQL returns the statement and bind parameters UninstallTLE
// sends: pgtle.uninstall_extension(name), or (name, version) to remove one
// version only.
func uninstallTLESQL(name, version string) (string, []any, error) {
	if name == "" {
		return "", nil, invalidf("TLE extension name is empty")
	}
	if version == "" {
		return `SELECT pgtle.uninstall_extension($1)`, []any{name}, nil
	}
	return `SELECT pgtle.uninstall_extension($1, $2)`, []any{name, version}, nil
}

// UninstallTLE removes a registered TLE extension, or one version of it
// when version is set (pgtle.uninstall_extension). An extension created
// from it stays until DROP EXTENSION.
func (c *Client) UninstallTLE(ctx context.Context, name, version string) error {
	q, args, err := uninstallTLESQL(name, version)
	if err != nil {
		return err
	}
	if err := c.requireInstalled(ctx, PgTLE); err != nil {
		return err
	}
	if _, err := c.q.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("extensions: unregistering TLE extension %q: %w", name, explain(err))
	}
	return nil
}
