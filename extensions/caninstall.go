package extensions

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Rule names the rule that decided whether the current user may install an
// extension.
type Rule string

// The rules CanInstall applies, in order.
const (
	// RuleAvailable: the server must have the extension (a control file,
	// so a row in pg_available_extensions; on RDS, rds.extensions).
	RuleAvailable Rule = "available"
	// RuleAllowedExtensions: when rds.allowed_extensions is set to
	// anything but "" or "*", only the extensions it lists may be
	// installed, by anyone.
	RuleAllowedExtensions Rule = "rds.allowed_extensions"
	// RuleSuperuser: a superuser may install any extension; an extension
	// whose control file says superuser=true and is not trusted needs one
	// (or rds_superuser on RDS and Aurora).
	RuleSuperuser Rule = "superuser"
	// RuleRDSSuperuser: on RDS and Aurora, members of rds_superuser may
	// install every extension the server offers.
	RuleRDSSuperuser Rule = "rds_superuser"
	// RuleTrusted: a trusted extension (PostgreSQL 13 and later) may be
	// installed by a user with CREATE privilege on the database.
	RuleTrusted Rule = "trusted"
	// RuleUnprivileged: the control file says superuser=false, so any user
	// with the privileges its script needs may install it.
	RuleUnprivileged Rule = "unprivileged"
)

// RDSSuperuserRole is the role RDS and Aurora give the master user in
// place of PostgreSQL's superuser attribute.
const RDSSuperuserRole = "rds_superuser"

// AllowedExtensionsSetting is the RDS parameter that limits which
// extensions can be installed.
const AllowedExtensionsSetting = "rds.allowed_extensions"

// ErrInstallRefused is matched (with errors.Is) by *InstallRefusedError.
var ErrInstallRefused = errors.New("extensions: installing the extension is not permitted")

// InstallRefusedError says which rule refuses the current user the
// installation of an extension.
type InstallRefusedError struct {
	// Extension is the extension asked about.
	Extension string
	// Required is set when the refusal is about an extension that
	// Extension requires (CREATE EXTENSION ... CASCADE would install it);
	// it is the refused one.
	Required string
	// Rule is the rule that refused.
	Rule Rule
	// User is the current user.
	User string
	// Reason says what the rule needs that is missing.
	Reason string
}

// Error formats the refusal, naming the rule.
func (e *InstallRefusedError) Error() string {
	what := fmt.Sprintf("extension %q", e.Extension)
	if e.Required != "" {
		what += fmt.Sprintf(" (its required extension %q)", e.Required)
	}
	return fmt.Sprintf("extensions: %s may not install %s: refused by rule %s: %s", quoteUser(e.User), what, e.Rule, e.Reason)
}

func quoteUser(u string) string {
	if u == "" {
		return "the current user"
	}
	return fmt.Sprintf("role %q", u)
}

// Is matches ErrInstallRefused.
func (e *InstallRefusedError) Is(target error) bool { return target == ErrInstallRefused }

// ParseAllowedExtensions reads an rds.allowed_extensions value. all is
// true when the value allows every extension ("" or "*"); otherwise names
// are the extensions listed (comma-separated, spaces around names ignored).
func ParseAllowedExtensions(value string) (names []string, all bool) {
	v := strings.TrimSpace(value)
	if v == "" || v == "*" {
		return nil, true
	}
	for _, n := range strings.Split(v, ",") {
		n = strings.TrimSpace(n)
		if n == "*" {
			return nil, true
		}
		if n != "" {
			names = append(names, n)
		}
	}
	return names, false
}

// installFacts are what CanInstall learns about the current user once.
type installFacts struct {
	user          string
	superuser     bool
	rdsSuperuser  bool
	createOnDB    bool
	serverVersion int
	allowed       []string
	allowAll      bool
	allowedRaw    string
}

// CanInstall reports whether the current user may install the named
// extension (at its default version, with CASCADE for the extensions it
// requires that are not installed yet). On success it returns the rule
// that allows it; otherwise the rule that refuses and an
// *InstallRefusedError (matched by ErrInstallRefused) that names it.
//
// The rules, in order: the server must have the extension
// (RuleAvailable); rds.allowed_extensions, when set and not "*", must list
// it (RuleAllowedExtensions, applied to everyone, as RDS does); then a
// superuser may (RuleSuperuser), a member of rds_superuser may
// (RuleRDSSuperuser), a trusted extension needs CREATE on the database
// (RuleTrusted, PostgreSQL 13+), an extension with superuser=false needs
// nothing more (RuleUnprivileged), and any other needs a superuser
// (RuleSuperuser). Every required extension that is not installed must
// pass the same rules.
//
// rds.allowed_extensions is read with current_setting(..., true), so a
// server without it (plain PostgreSQL) allows every extension.
func (c *Client) CanInstall(ctx context.Context, name string) (Rule, error) {
	if name == "" {
		return "", invalidf("extension name is empty")
	}
	if _, err := ident("extension name", name); err != nil {
		return "", err
	}
	f, err := c.installFacts(ctx)
	if err != nil {
		return "", err
	}
	return c.canInstall(ctx, f, name, name, map[string]bool{})
}

func (c *Client) installFacts(ctx context.Context) (*installFacts, error) {
	f := &installFacts{}
	err := c.q.QueryRow(ctx, `SELECT current_user::text,
       coalesce((SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user), false),
       coalesce((SELECT pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER') FROM pg_catalog.pg_roles r WHERE r.rolname = $1), false),
       pg_catalog.has_database_privilege(current_database(), 'CREATE'),
       current_setting('server_version_num')::int,
       coalesce(current_setting($2, true), '')`, RDSSuperuserRole, AllowedExtensionsSetting).
		Scan(&f.user, &f.superuser, &f.rdsSuperuser, &f.createOnDB, &f.serverVersion, &f.allowedRaw)
	if err != nil {
		return nil, fmt.Errorf("extensions: reading the current user's privileges: %w", err)
	}
	f.allowed, f.allowAll = ParseAllowedExtensions(f.allowedRaw)
	return f, nil
}

func (c *Client) canInstall(ctx context.Context, f *installFacts, top, name string, seen map[string]bool) (Rule, error) {
	seen[name] = true
	refuse := func(rule Rule, reason string) (Rule, error) {
		e := &InstallRefusedError{Extension: top, Rule: rule, User: f.user, Reason: reason}
		if name != top {
			e.Required = name
		}
		return rule, e
	}
	var (
		found, installed, superuser, trusted bool
		requires                             []string
	)
	err := c.q.QueryRow(ctx, `SELECT a.installed_version IS NOT NULL, coalesce(v.superuser, true), coalesce(v.trusted, false), coalesce(v.requires::text[], '{}')
FROM pg_catalog.pg_available_extensions a
LEFT JOIN pg_catalog.pg_available_extension_versions v ON v.name = a.name AND v.version = a.default_version
WHERE a.name = $1`, name).Scan(&installed, &superuser, &trusted, &requires)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return "", fmt.Errorf("extensions: reading extension %q: %w", name, err)
	default:
		found = true
	}
	if !found {
		return refuse(RuleAvailable, "the server has no such extension (it is not in pg_available_extensions)")
	}
	if !f.allowAll && !contains(f.allowed, name) {
		return refuse(RuleAllowedExtensions, fmt.Sprintf("%s is %q, which does not list it", AllowedExtensionsSetting, f.allowedRaw))
	}
	var rule Rule
	switch {
	case f.superuser:
		rule = RuleSuperuser
	case f.rdsSuperuser:
		rule = RuleRDSSuperuser
	case !superuser:
		rule = RuleUnprivileged
	case trusted && f.serverVersion >= 130000:
		if !f.createOnDB {
			return refuse(RuleTrusted, "the extension is trusted, but the user lacks CREATE privilege on the database")
		}
		rule = RuleTrusted
	case trusted:
		return refuse(RuleSuperuser, "trusted extensions need PostgreSQL 13 or later; this server needs a superuser or an rds_superuser member")
	default:
		return refuse(RuleSuperuser, "the extension is not trusted and needs a superuser or a member of rds_superuser")
	}
	for _, req := range requires {
		if seen[req] {
			continue
		}
		var reqInstalled bool
		if err := c.q.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = $1)`, req).Scan(&reqInstalled); err != nil {
			return "", fmt.Errorf("extensions: reading extension %q: %w", req, err)
		}
		if reqInstalled {
			continue
		}
		if r, err := c.canInstall(ctx, f, top, req, seen); err != nil {
			return r, err
		}
	}
	return rule, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
