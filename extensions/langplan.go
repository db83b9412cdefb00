package extensions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
)

// DefaultLanguageExtensions are the extensions UpgradeLanguages upgrades
// when the options name none: PLV8 and the CoffeeScript and LiveScript
// languages built on it, as in AWS's PLV8 upgrade procedure.
var DefaultLanguageExtensions = []string{"plv8", "plcoffee", "plls"}

// LanguageUpgradeOptions configure PlanLanguageUpgrade and UpgradeLanguages.
// A nil *LanguageUpgradeOptions means the defaults.
type LanguageUpgradeOptions struct {
	// Extensions are the procedural-language extensions to upgrade
	// together; nil means DefaultLanguageExtensions. Names not installed in
	// the database are skipped.
	Extensions []string
	// Versions maps an extension to the version to install; an extension
	// not in the map gets its default version.
	Versions map[string]string
	// Reinstall drops and recreates the extensions even when the installed
	// version already is the target (to refresh catalog metadata after an
	// engine upgrade replaced the library). Without it, an extension at its
	// target version is left alone.
	Reinstall bool
	// LockTimeout, when positive, bounds how long the upgrade waits for a
	// lock (SET LOCAL lock_timeout); the upgrade fails and rolls back
	// instead of queueing behind long transactions.
	LockTimeout time.Duration
	// Progress, when set, receives an event after each step of
	// UpgradeLanguages: Operation "extensions.UpgradeLanguages", Step the
	// UpgradeStep, Detail the server backend running the upgrade's
	// transaction. It runs on the caller's goroutine while the
	// transaction is open; cancelling the upgrade's context from it
	// aborts the upgrade, which rolls back.
	Progress pgaurora.ProgressFunc
}

func (o *LanguageUpgradeOptions) extensions() []string {
	if o == nil || o.Extensions == nil {
		return DefaultLanguageExtensions
	}
	return o.Extensions
}

func (o *LanguageUpgradeOptions) validate() error {
	exts := o.extensions()
	if len(exts) == 0 {
		return invalidf("LanguageUpgradeOptions.Extensions is empty; name at least one extension or leave it nil for %v", DefaultLanguageExtensions)
	}
	seen := map[string]bool{}
	for i, e := range exts {
		if _, err := ident(fmt.Sprintf("LanguageUpgradeOptions.Extensions[%d]", i), e); err != nil {
			return err
		}
		if seen[e] {
			return invalidf("LanguageUpgradeOptions.Extensions lists %q twice", e)
		}
		seen[e] = true
	}
	if o == nil {
		return nil
	}
	for e, v := range o.Versions {
		if !seen[e] {
			return invalidf("LanguageUpgradeOptions.Versions names %q, which is not in Extensions %v", e, exts)
		}
		if v == "" {
			return invalidf("LanguageUpgradeOptions.Versions[%q] is empty; leave the extension out of the map for its default version", e)
		}
		if _, err := literal(fmt.Sprintf("LanguageUpgradeOptions.Versions[%q]", e), v); err != nil {
			return err
		}
	}
	if o.LockTimeout < 0 {
		return invalidf("LanguageUpgradeOptions.LockTimeout is negative (%v)", o.LockTimeout)
	}
	return nil
}

// LanguagePlan is what UpgradeLanguages would do, read from the catalog.
type LanguagePlan struct {
	// Extensions has one entry per extension asked for, in the order
	// given.
	Extensions []LanguageExtensionPlan
	// Before is the snapshot of everything the upgrade drops and
	// recreates; after a successful upgrade the same snapshot is taken
	// again and must be equal.
	Before LanguageSnapshot
	// Dependents are objects the cascade would drop that the upgrade
	// cannot recreate (views, column defaults, aggregates, other
	// extensions, ...). UpgradeLanguages refuses to run while there are
	// any: drop or rewrite them first, or recreate them yourself.
	Dependents []Dependent

	c             *collected
	serverVersion int
	// default privileges for functions exist: every function gets explicit
	// grants, revoking from these grantees first
	defaultACL         bool
	defaultACLGrantees []string
	database           string
}

// LanguageExtensionPlan is the plan for one extension.
type LanguageExtensionPlan struct {
	// Name is the extension.
	Name string
	// Available says the server has the extension.
	Available bool
	// InstalledVersion is the installed version, "" when not installed
	// (the extension is then skipped).
	InstalledVersion string
	// DefaultVersion is the server's default version.
	DefaultVersion string
	// TargetVersion is the version the upgrade installs.
	TargetVersion string
	// Languages are the procedural languages the extension creates.
	Languages []string
	// Functions counts the functions written in those languages.
	Functions int
	// Upgrade says the extension will be dropped and created again: it is
	// installed and either below the target version or Reinstall is set.
	Upgrade bool
}

// WriteBackup writes the backup UpgradeLanguages would write for this plan
// (see RestoreLanguageBackup), without changing anything: a backup of the
// language functions, triggers, owners, grants and comments at the time of
// the plan.
func (p *LanguagePlan) WriteBackup(w io.Writer) error {
	if p.c == nil {
		return invalidf("LanguagePlan was not made by PlanLanguageUpgrade")
	}
	stmts, err := p.statements()
	if err != nil {
		return fmt.Errorf("extensions: rendering the backup: %w", err)
	}
	if err := writeBackup(w, p, stmts); err != nil {
		return fmt.Errorf("extensions: writing the backup: %w", err)
	}
	return nil
}

// Triggers counts the dependent triggers the upgrade recreates.
func (p *LanguagePlan) Triggers() int { return len(p.Before.Triggers) }

// Upgrading lists the extensions the upgrade drops and creates again.
func (p *LanguagePlan) Upgrading() []string {
	var out []string
	for _, e := range p.Extensions {
		if e.Upgrade {
			out = append(out, e.Name)
		}
	}
	return out
}

// ErrUnsupportedDependents is matched (errors.Is) by *DependentsError.
var ErrUnsupportedDependents = errors.New("extensions: objects depend on the language extensions that the upgrade cannot recreate")

// DependentsError lists the objects that keep UpgradeLanguages from
// running: DROP EXTENSION ... CASCADE would drop them and the upgrade
// cannot recreate them.
type DependentsError struct {
	// Dependents are the objects.
	Dependents []Dependent
}

// Error lists up to ten of the objects.
func (e *DependentsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "extensions: upgrade refused: DROP EXTENSION ... CASCADE would drop %d object(s) the upgrade cannot recreate: ", len(e.Dependents))
	for i, d := range e.Dependents {
		if i == 10 {
			fmt.Fprintf(&b, ", and %d more", len(e.Dependents)-10)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.Description)
	}
	b.WriteString("; drop or change them first, and recreate them after the upgrade")
	return b.String()
}

// Is matches ErrUnsupportedDependents.
func (e *DependentsError) Is(target error) bool { return target == ErrUnsupportedDependents }

// PlanLanguageUpgrade reads what UpgradeLanguages would do, without
// changing anything: per extension the installed, default and target
// versions, its languages and function count; the snapshot of every
// function, trigger, owner, grant and comment the upgrade recreates; and
// the dependents found through pg_depend that it could not recreate. It
// reads in a transaction it rolls back (a savepoint when db is a pgx.Tx),
// with search_path set to pg_catalog so every definition comes out
// schema-qualified.
func PlanLanguageUpgrade(ctx context.Context, db pgaurora.Querier, opts *LanguageUpgradeOptions) (*LanguagePlan, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("extensions: planning the language upgrade: starting a transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true)`); err != nil {
		return nil, fmt.Errorf("extensions: planning the language upgrade: %w", err)
	}
	p, err := plan(ctx, tx, opts)
	if err != nil {
		return nil, fmt.Errorf("extensions: planning the language upgrade: %w", err)
	}
	return p, nil
}

func plan(ctx context.Context, tx pgx.Tx, opts *LanguageUpgradeOptions) (*LanguagePlan, error) {
	exts := opts.extensions()
	p := &LanguagePlan{}
	// The server, the extensions' versions and the default privileges, in
	// one round trip.
	var b pgx.Batch
	b.Queue(`SELECT current_setting('server_version_num')::int, current_database()::text`).QueryRow(func(r pgx.Row) error {
		return r.Scan(&p.serverVersion, &p.database)
	})
	b.Queue(`SELECT u.name, a.name IS NOT NULL, coalesce(a.default_version, ''), coalesce(e.extversion, '')
FROM unnest($1::text[]) WITH ORDINALITY u(name, ord)
LEFT JOIN (SELECT a.name::text, a.default_version FROM pg_catalog.pg_available_extensions() a(name, default_version, comment)
           WHERE a.name = ANY($1::text[])) a ON a.name = u.name
LEFT JOIN pg_catalog.pg_extension e ON e.extname = u.name
ORDER BY u.ord`, exts).Query(func(rows pgx.Rows) error {
		var err error
		p.Extensions, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (LanguageExtensionPlan, error) {
			var e LanguageExtensionPlan
			err := r.Scan(&e.Name, &e.Available, &e.DefaultVersion, &e.InstalledVersion)
			return e, err
		})
		if err != nil {
			return fmt.Errorf("reading the extensions: %w", err)
		}
		return nil
	})
	b.Queue(`SELECT EXISTS (SELECT FROM pg_catalog.pg_default_acl WHERE defaclobjtype = 'f'),
       ARRAY(SELECT DISTINCT CASE WHEN a.grantee = 0 THEN '' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END
             FROM pg_catalog.pg_default_acl d CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) a
             WHERE d.defaclobjtype = 'f' ORDER BY 1)`).QueryRow(func(r pgx.Row) error {
		if err := r.Scan(&p.defaultACL, &p.defaultACLGrantees); err != nil {
			return fmt.Errorf("reading default privileges: %w", err)
		}
		return nil
	})
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return nil, err
	}
	var installed []string
	for i := range p.Extensions {
		e := &p.Extensions[i]
		e.TargetVersion = e.DefaultVersion
		if opts != nil && opts.Versions[e.Name] != "" {
			e.TargetVersion = opts.Versions[e.Name]
		}
		if e.InstalledVersion == "" {
			continue
		}
		installed = append(installed, e.Name)
		if !e.Available {
			return nil, fmt.Errorf("%w: extension %q is installed but the server has no control file for it, so it could not be created again", ErrNotAvailable, e.Name)
		}
		if e.TargetVersion == e.DefaultVersion {
			e.Upgrade = e.InstalledVersion != e.TargetVersion || (opts != nil && opts.Reinstall)
			continue
		}
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_catalog.pg_available_extension_versions WHERE name = $1 AND version = $2)`,
			e.Name, e.TargetVersion).Scan(&ok); err != nil {
			return nil, fmt.Errorf("reading the versions of %q: %w", e.Name, err)
		}
		if !ok {
			return nil, invalidf("target version %q of extension %q is not available on this server (see pg_available_extension_versions)", e.TargetVersion, e.Name)
		}
		e.Upgrade = e.InstalledVersion != e.TargetVersion || (opts != nil && opts.Reinstall)
	}
	// The snapshot covers the extensions to upgrade (all installed ones
	// when none needs it, for the report).
	set := p.Upgrading()
	if len(set) == 0 {
		set = installed
	}
	c, err := collect(ctx, tx, set, p.defaultACL)
	if err != nil {
		return nil, err
	}
	p.c = c
	p.Before = c.snap
	p.Dependents = c.others
	counts := c
	if len(set) != len(installed) {
		if counts, err = collect(ctx, tx, installed, false); err != nil {
			return nil, err
		}
	}
	for i := range p.Extensions {
		e := &p.Extensions[i]
		e.Languages = counts.langOfExt[e.Name]
		for _, l := range e.Languages {
			e.Functions += counts.langCount[l]
		}
	}
	return p, nil
}

// stmt is one statement of the recreation script.
type stmt struct {
	Section string
	Key     string
	SQL     string
	// owner is set on ALTER ... OWNER TO statements: the upgrade skips
	// them when the owner is the role running it (the creator owns the
	// new function already); a restore by another role does not.
	owner string
	// backupOnly statements are written to the backup but not run by the
	// upgrade, which runs the upgradeOnly ones (never written) instead:
	// the same end state, reached from the new functions' default ACL.
	backupOnly, upgradeOnly bool
}

// Sections of the recreation script, in order.
const (
	sectionSetup     = "setup"
	sectionExtension = "extension"
	sectionLanguage  = "language"
	sectionFunction  = "function"
	sectionDefault   = "default"
	sectionTrigger   = "trigger"
)

// statements renders the script that recreates the snapshot once the
// extensions exist again: language owners, grants and comments; then the
// functions in dependency order with owner, grants, comment and extension
// dependencies; then the column defaults; then the triggers.
func (p *LanguagePlan) statements() ([]stmt, error) {
	c := p.c
	var out []stmt
	add := func(section, key, sql string) { out = append(out, stmt{Section: section, Key: key, SQL: sql}) }
	add(sectionSetup, "", "SET check_function_bodies = off")
	add(sectionSetup, "", "SET search_path = pg_catalog, pg_temp")
	add(sectionSetup, "", "SET client_min_messages = warning")
	for _, e := range c.snap.Extensions {
		n, err := ident("extension", e.Name)
		if err != nil {
			return nil, err
		}
		s, err := ident("schema", e.Schema)
		if err != nil {
			return nil, err
		}
		add(sectionExtension, e.Name, "CREATE EXTENSION IF NOT EXISTS "+n+" SCHEMA "+s)
	}
	for i, l := range c.snap.Languages {
		name, err := ident("language", l.Name)
		if err != nil {
			return nil, err
		}
		owner, err := ident("owner", l.Owner)
		if err != nil {
			return nil, err
		}
		add(sectionLanguage, l.Name, "ALTER LANGUAGE "+name+" OWNER TO "+owner)
		if !c.langNull[i] {
			sqls, err := aclStatements("LANGUAGE "+name, l.Owner, nil, c.langACL[i])
			if err != nil {
				return nil, err
			}
			for _, s := range sqls {
				add(sectionLanguage, l.Name, s)
			}
		}
		cm := "NULL"
		if l.Comment != "" {
			if cm, err = literal("comment", l.Comment); err != nil {
				return nil, err
			}
		}
		add(sectionLanguage, l.Name, "COMMENT ON LANGUAGE "+name+" IS "+cm)
	}
	type aclGroup struct {
		kw, owner string
		items     []aclItem
		sigs      []string
		inline    bool
	}
	var groups []*aclGroup
	groupOf := map[string]*aclGroup{}
	for _, i := range c.order {
		f := c.snap.Functions[i]
		key := f.Key()
		kw := "FUNCTION"
		if f.Kind == "p" {
			kw = "PROCEDURE"
		}
		name, err := ident("function", f.Schema, f.Name)
		if err != nil {
			return nil, err
		}
		sig := name + "(" + f.IdentityArgs + ")"
		owner, err := ident("owner", f.Owner)
		if err != nil {
			return nil, err
		}
		add(sectionFunction, key, strings.TrimRight(f.Definition, " \n\t"))
		out = append(out, stmt{Section: sectionFunction, Key: key, SQL: "ALTER " + kw + " " + sig + " OWNER TO " + owner, owner: f.Owner})
		if f.Comment != "" {
			cm, err := literal("comment", f.Comment)
			if err != nil {
				return nil, err
			}
			add(sectionFunction, key, "COMMENT ON "+kw+" "+sig+" IS "+cm)
		}
		for _, e := range f.DependsOnExtensions {
			en, err := ident("extension", e)
			if err != nil {
				return nil, err
			}
			add(sectionFunction, key, "ALTER "+kw+" "+sig+" DEPENDS ON EXTENSION "+en)
		}
		if !c.funcNull[i] || p.defaultACL {
			// In the backup, functions with the same owner and ACL share
			// their REVOKE and GRANT statements, which set the ACL from
			// any starting point (a restore replays them over existing
			// functions).
			gk := kw + "\x00" + f.Owner + "\x00" + strings.Join(f.ACL, "\x00")
			g := groupOf[gk]
			if g == nil {
				g = &aclGroup{kw: kw, owner: f.Owner, items: c.funcACL[i]}
				groupOf[gk] = g
				groups = append(groups, g)
			}
			g.sigs = append(g.sigs, sig)
			// The upgrade's functions are new, with the built-in default
			// ACL (unless default privileges exist), and usually reach
			// their ACL from there with fewer statements, run right after
			// the function's creation: its row is then still on a page
			// with room, so the updates are HOT (no index entries).
			if !p.defaultACL {
				fresh, err := freshACLStatements(kw+" "+sig, f.Owner, c.funcACL[i])
				if err != nil {
					return nil, err
				}
				g.inline = fresh != nil
				for _, q := range fresh {
					out = append(out, stmt{Section: sectionFunction, Key: key, SQL: q, upgradeOnly: true})
				}
			}
		}
	}
	const perStatement = 200
	for _, g := range groups {
		for start := 0; start < len(g.sigs); start += perStatement {
			sigs := g.sigs[start:min(start+perStatement, len(g.sigs))]
			object := g.kw + " " + strings.Join(sigs, ", ")
			sqls, err := aclStatements(object, g.owner, p.defaultACLGrantees, g.items)
			if err != nil {
				return nil, err
			}
			for _, q := range sqls {
				out = append(out, stmt{Section: sectionFunction, SQL: q, backupOnly: g.inline})
			}
		}
	}
	// Column defaults that call the functions. ONLY: each table's default
	// is set on its own, partitions included.
	for _, d := range c.snap.Defaults {
		table, err := ident("table", d.Schema, d.Table)
		if err != nil {
			return nil, err
		}
		col, err := ident("column", d.Column)
		if err != nil {
			return nil, err
		}
		add(sectionDefault, d.Key(), "ALTER TABLE ONLY "+table+" ALTER COLUMN "+col+" SET DEFAULT "+d.Expression)
	}
	// Triggers: creations first (cloned ones come back with their parent),
	// then enable states (parents before clones), comments and extension
	// dependencies.
	type trig struct {
		t           TriggerState
		name, table string
	}
	var trigs []trig
	for i, t := range c.snap.Triggers {
		name, err := ident("trigger", t.Name)
		if err != nil {
			return nil, err
		}
		table, err := ident("table", t.Schema, t.Table)
		if err != nil {
			return nil, err
		}
		trigs = append(trigs, trig{t, name, table})
		if t.Cloned {
			continue
		}
		def := t.Definition
		switch {
		case c.constraintTrigger[i] || p.serverVersion < 140000:
			// No CREATE OR REPLACE for these: drop first, so replaying
			// the backup over an existing trigger works (a no-op in the
			// upgrade, where the cascade dropped it).
			add(sectionTrigger, t.Key(), "DROP TRIGGER IF EXISTS "+name+" ON "+table)
		case strings.HasPrefix(def, "CREATE TRIGGER "):
			def = "CREATE OR REPLACE TRIGGER " + strings.TrimPrefix(def, "CREATE TRIGGER ")
		}
		add(sectionTrigger, t.Key(), def)
	}
	for _, cloned := range []bool{false, true} {
		for _, tr := range trigs {
			if tr.t.Cloned != cloned {
				continue
			}
			if tr.t.Enabled != "O" || tr.t.Cloned {
				var action string
				switch tr.t.Enabled {
				case "O":
					action = "ENABLE TRIGGER"
				case "D":
					action = "DISABLE TRIGGER"
				case "R":
					action = "ENABLE REPLICA TRIGGER"
				case "A":
					action = "ENABLE ALWAYS TRIGGER"
				default:
					return nil, fmt.Errorf("trigger %s: unknown enabled state %q", tr.t.Key(), tr.t.Enabled)
				}
				add(sectionTrigger, tr.t.Key(), "ALTER TABLE "+tr.table+" "+action+" "+tr.name)
			}
		}
	}
	for _, tr := range trigs {
		if tr.t.Comment != "" {
			cm, err := literal("comment", tr.t.Comment)
			if err != nil {
				return nil, err
			}
			add(sectionTrigger, tr.t.Key(), "COMMENT ON TRIGGER "+tr.name+" ON "+tr.table+" IS "+cm)
		}
		for _, e := range tr.t.DependsOnExtensions {
			en, err := ident("extension", e)
			if err != nil {
				return nil, err
			}
			add(sectionTrigger, tr.t.Key(), "ALTER TRIGGER "+tr.name+" ON "+tr.table+" DEPENDS ON EXTENSION "+en)
		}
	}
	return out, nil
}

// freshACLStatements makes the ACL of one or more functions or procedures
// exactly items, starting from the built-in default ACL that a new one
// has (acldefault: EXECUTE to PUBLIC, then EXECUTE to the owner, both
// granted by the owner), with fewer statements than aclStatements where
// items begin with that default or with the owner's default entry alone.
// It returns nil when items do not, or when the result would be the
// default itself (nothing to run).
func freshACLStatements(object, owner string, items []aclItem) ([]string, error) {
	execute := []aclPriv{{name: "EXECUTE"}}
	public := aclItem{grantee: "", grantor: owner, privs: execute}
	own := aclItem{grantee: owner, grantor: owner, privs: execute}
	switch {
	case len(items) > 2 && equalACLItem(items[0], public) && equalACLItem(items[1], own):
		// Keep the default, append the rest.
		return grantStatements(object, owner, items[2:])
	case len(items) > 0 && equalACLItem(items[0], own):
		// Drop PUBLIC's default entry, append the rest.
		g, err := grantStatements(object, owner, items[1:])
		if err != nil {
			return nil, err
		}
		return append([]string{"REVOKE ALL ON " + object + " FROM PUBLIC"}, g...), nil
	}
	return nil, nil
}

func equalACLItem(a, b aclItem) bool {
	if a.grantee != b.grantee || a.grantor != b.grantor || len(a.privs) != len(b.privs) {
		return false
	}
	for i := range a.privs {
		if a.privs[i] != b.privs[i] {
			return false
		}
	}
	return true
}

// aclStatements makes the ACL of one or more objects exactly items:
// revoke everything from PUBLIC, the owner and the extra grantees (those
// default privileges may have granted to), then grant each item in order,
// as its grantor when that is not the owner. object is "FUNCTION
// s.f(args), s.g(args)" or "LANGUAGE l".
func aclStatements(object, owner string, extra []string, items []aclItem) ([]string, error) {
	from := []string{"PUBLIC"}
	seen := map[string]bool{"": true}
	for _, r := range append([]string{owner}, extra...) {
		if seen[r] {
			continue
		}
		seen[r] = true
		q, err := ident("grantee", r)
		if err != nil {
			return nil, err
		}
		from = append(from, q)
	}
	g, err := grantStatements(object, owner, items)
	if err != nil {
		return nil, err
	}
	return append([]string{"REVOKE ALL ON " + object + " FROM " + strings.Join(from, ", ")}, g...), nil
}

// grantStatements grants each item in order, as its grantor when that is
// not the owner. Each GRANT appends an entry to the ACL (there is none yet
// for that grantee and grantor), so the entries come out in items' order.
func grantStatements(object, owner string, items []aclItem) ([]string, error) {
	var out []string
	for _, it := range items {
		grantee := "PUBLIC"
		if it.grantee != "" {
			q, err := ident("grantee", it.grantee)
			if err != nil {
				return nil, err
			}
			grantee = q
		}
		var plain, grantable []string
		for _, pr := range it.privs {
			if pr.grantable {
				grantable = append(grantable, pr.name)
			} else {
				plain = append(plain, pr.name)
			}
		}
		var sqls []string
		if len(plain) > 0 {
			sqls = append(sqls, "GRANT "+strings.Join(plain, ", ")+" ON "+object+" TO "+grantee)
		}
		if len(grantable) > 0 {
			sqls = append(sqls, "GRANT "+strings.Join(grantable, ", ")+" ON "+object+" TO "+grantee+" WITH GRANT OPTION")
		}
		if it.grantor != owner {
			g, err := ident("grantor", it.grantor)
			if err != nil {
				return nil, err
			}
			sqls = append([]string{"SET ROLE " + g}, sqls...)
			sqls = append(sqls, "RESET ROLE")
		}
		out = append(out, sqls...)
	}
	return out, nil
}
