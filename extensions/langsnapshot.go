package extensions

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// LanguageSnapshot is the state of everything DROP EXTENSION ... CASCADE
// of a set of procedural-language extensions would remove and
// UpgradeLanguages recreates: the extensions themselves (not their
// versions), their languages, every function written in those languages or
// depending on one, and every trigger that calls one. Two snapshots taken
// before and after an upgrade compare equal (with cmp.Diff or Equal) when
// nothing was lost or changed. It holds no OIDs, which change on
// recreation.
type LanguageSnapshot struct {
	// Extensions are the installed extensions of the set, by name.
	Extensions []ExtensionState
	// Languages are the procedural languages the extensions create, by
	// name.
	Languages []LanguageState
	// Functions are the functions and procedures to recreate, ordered by
	// schema, name and identity arguments.
	Functions []FunctionState
	// Triggers are the triggers to recreate, ordered by schema, table and
	// name.
	Triggers []TriggerState
	// Defaults are the column defaults that call the functions, ordered
	// by schema, table and column.
	Defaults []ColumnDefaultState
}

// ColumnDefaultState is a column default expression that depends on a
// recreated function (DEFAULT my_plv8_function()).
type ColumnDefaultState struct {
	// Schema, Table and Column identify the column.
	Schema, Table, Column string
	// Expression is pg_get_expr of the default.
	Expression string
}

// Key identifies the column: schema.table.column.
func (d ColumnDefaultState) Key() string { return d.Schema + "." + d.Table + "." + d.Column }

// ExtensionState is an extension's identity without its version.
type ExtensionState struct {
	// Name, Schema and Owner are the extension, the schema of its objects
	// and the role that created it.
	Name, Schema, Owner string
}

// LanguageState is a procedural language's owner, privileges and comment.
type LanguageState struct {
	// Name is the language.
	Name string
	// Owner is the language's owner.
	Owner string
	// ACL is the effective access control list as aclitem text
	// ("=U/postgres"): the built-in default (acldefault) when the catalog
	// holds none, since no SQL statement can set an ACL back to "none".
	ACL []string
	// Comment is the language's comment, "" when it has none.
	Comment string
}

// FunctionState is one function or procedure as the catalog describes it.
type FunctionState struct {
	// Schema and Name are the function's schema and name.
	Schema, Name string
	// IdentityArgs is pg_get_function_identity_arguments: the argument
	// list that identifies the function among its overloads.
	IdentityArgs string
	// Language is the function's language.
	Language string
	// Kind is "f" (function) or "p" (procedure); other kinds are never
	// recreated.
	Kind string
	// Definition is pg_get_functiondef: the complete CREATE OR REPLACE
	// statement, attributes and body included.
	Definition string
	// Owner is the function's owner.
	Owner string
	// ACL is the effective access control list (see LanguageState.ACL).
	ACL []string
	// Comment is the function's comment, "" when it has none.
	Comment string
	// DependsOnExtensions lists the extensions the function was marked as
	// depending on (ALTER FUNCTION ... DEPENDS ON EXTENSION).
	DependsOnExtensions []string
}

// Key identifies the function: schema.name(identity arguments).
func (f FunctionState) Key() string { return f.Schema + "." + f.Name + "(" + f.IdentityArgs + ")" }

// TriggerState is one trigger as the catalog describes it.
type TriggerState struct {
	// Schema, Table and Name identify the trigger.
	Schema, Table, Name string
	// Definition is pg_get_triggerdef: the CREATE TRIGGER statement.
	Definition string
	// Enabled is pg_trigger.tgenabled: "O" (origin, the default), "D"
	// (disabled), "R" (replica) or "A" (always).
	Enabled string
	// Comment is the trigger's comment, "" when it has none.
	Comment string
	// Cloned says the trigger was cloned onto a partition from a trigger on
	// its partitioned table; it comes back when that one is created.
	Cloned bool
	// DependsOnExtensions lists the extensions the trigger was marked as
	// depending on (ALTER TRIGGER ... DEPENDS ON EXTENSION).
	DependsOnExtensions []string
}

// Key identifies the trigger: schema.table.name.
func (t TriggerState) Key() string { return t.Schema + "." + t.Table + "." + t.Name }

// Dependent is an object DROP EXTENSION ... CASCADE would remove that
// UpgradeLanguages cannot recreate (a view, a column default, an
// aggregate, another extension, ...), as pg_describe_object and
// pg_identify_object name it.
type Dependent struct {
	// Type is the object type ("view", "default value", "aggregate").
	Type string
	// Identity is the object's machine-readable identity.
	Identity string
	// Description is the object's human-readable description.
	Description string
}

// aclItem is one entry of an ACL: grantee (PUBLIC when ""), grantor and the
// privileges, each with or without grant option.
type aclItem struct {
	grantee, grantor string
	privs            []aclPriv
}

type aclPriv struct {
	name      string
	grantable bool
}

// collected is a snapshot plus what is needed to recreate it.
type collected struct {
	snap LanguageSnapshot
	// installed extension facts by name
	versions map[string]string
	// functions in creation order (keys into snap.Functions)
	order []int
	// per function / language index: the effective ACL items and whether
	// the catalog held no ACL (NULL)
	funcACL   map[int][]aclItem
	funcNull  map[int]bool
	langACL   map[int][]aclItem
	langNull  map[int]bool
	langCount map[string]int // functions per language
	others    []Dependent
	// language OID -> extension, extension -> language names
	langExt   map[uint32]string
	langOfExt map[string][]string
	// constraint triggers cannot be CREATE OR REPLACE'd
	constraintTrigger map[int]bool
	// objects with members found per extension
	funcOIDs, trigOIDs []uint32
}

type depRow struct {
	class     string
	objid     uint32
	objsubid  int32
	refclass  string
	refobjid  uint32
	deptype   string
	objType   string
	identity  string
	describes string
}

type objKey struct {
	class string
	objid uint32
	sub   int32
}

// walkSQL finds every object DROP EXTENSION ... CASCADE would drop: the
// objects depending, directly or through others, on the extensions.
const walkSQL = `WITH RECURSIVE w(classid, objid, objsubid, refclassid, refobjid, deptype) AS (
  SELECT 'pg_catalog.pg_extension'::pg_catalog.regclass::oid, e.oid, 0, 0::oid, 0::oid, ' '::"char"
  FROM pg_catalog.pg_extension e WHERE e.extname = ANY($1::text[])
  UNION
  SELECT d.classid, d.objid, d.objsubid, d.refclassid, d.refobjid, d.deptype
  FROM pg_catalog.pg_depend d
  JOIN w ON d.refclassid = w.classid AND d.refobjid = w.objid AND (w.objsubid = 0 OR d.refobjsubid = w.objsubid)
  WHERE d.deptype IN ('n', 'a', 'i', 'e', 'x', 'P', 'S')
)
SELECT w.classid::pg_catalog.regclass::text, w.objid, w.objsubid,
       CASE WHEN w.refclassid = 0 THEN '' ELSE w.refclassid::pg_catalog.regclass::text END, w.refobjid, w.deptype::text,
       coalesce(o.type, ''), coalesce(o.identity, ''),
       CASE WHEN w.classid IN ('pg_catalog.pg_proc'::pg_catalog.regclass, 'pg_catalog.pg_trigger'::pg_catalog.regclass) THEN ''
            ELSE coalesce(pg_catalog.pg_describe_object(w.classid, w.objid, w.objsubid), '') END
FROM w
LEFT JOIN LATERAL (SELECT i.type, i.identity FROM pg_catalog.pg_identify_object(w.classid, w.objid, w.objsubid) i
  WHERE w.classid NOT IN ('pg_catalog.pg_proc'::pg_catalog.regclass, 'pg_catalog.pg_trigger'::pg_catalog.regclass)
  OFFSET 0) o ON true`

// extensionsSQL reads the installed extensions of a set.
const extensionsSQL = `SELECT e.oid, e.extname::text, e.extversion, n.nspname::text, pg_catalog.pg_get_userbyid(e.extowner)::text
FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = ANY($1::text[]) ORDER BY e.extname`

// collect takes the snapshot of the given (installed) extensions. tx must
// run with search_path = pg_catalog, pg_temp so every definition comes out
// schema-qualified. It takes two round trips: the extensions and the
// pg_depend walk, then every catalog read that depends on the walk.
func collect(ctx context.Context, tx pgx.Tx, exts []string, allACLs bool) (_ *collected, err error) {
	c := &collected{
		versions:          map[string]string{},
		funcACL:           map[int][]aclItem{},
		funcNull:          map[int]bool{},
		langACL:           map[int][]aclItem{},
		langNull:          map[int]bool{},
		langCount:         map[string]int{},
		constraintTrigger: map[int]bool{},
		langExt:           map[uint32]string{},
		langOfExt:         map[string][]string{},
	}
	// The extensions, and everything the cascade would drop.
	var first pgx.Batch
	first.Queue(extensionsSQL, exts)
	first.Queue(walkSQL, exts)
	br := tx.SendBatch(ctx, &first)
	defer func() {
		if br != nil {
			if cerr := br.Close(); err == nil && cerr != nil {
				err = cerr
			}
		}
	}()
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("reading the extensions: %w", err)
	}
	extOID := map[uint32]string{}
	for rows.Next() {
		var oid uint32
		var e ExtensionState
		var v string
		if err := rows.Scan(&oid, &e.Name, &v, &e.Schema, &e.Owner); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading the extensions: %w", err)
		}
		extOID[oid] = e.Name
		c.versions[e.Name] = v
		c.snap.Extensions = append(c.snap.Extensions, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the extensions: %w", err)
	}
	rows, err = br.Query()
	if err != nil {
		return nil, fmt.Errorf("finding dependent objects through pg_depend: %w", err)
	}
	deps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (depRow, error) {
		var d depRow
		err := r.Scan(&d.class, &d.objid, &d.objsubid, &d.refclass, &d.refobjid, &d.deptype, &d.objType, &d.identity, &d.describes)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("finding dependent objects through pg_depend: %w", err)
	}
	member := map[objKey]string{}
	objs := make(map[objKey]int, len(deps)) // index of the first row of each object
	objOrder := make([]objKey, 0, len(deps))
	edges := make(map[objKey][]objKey, len(deps)) // object -> objects it depends on (within the set)
	for i, d := range deps {
		k := objKey{d.class, d.objid, d.objsubid}
		if _, ok := objs[k]; !ok {
			objs[k] = i
			objOrder = append(objOrder, k)
		}
		if d.deptype == "e" && d.refclass == "pg_extension" && extOID[d.refobjid] != "" {
			member[k] = extOID[d.refobjid]
		}
		if d.refclass != "" {
			edges[k] = append(edges[k], objKey{d.refclass, d.refobjid, 0})
		}
	}
	var langOIDs, funcOIDs, trigOIDs, conOIDs, defOIDs []uint32
	var defRows []depRow
	var conRows []depRow
	for _, k := range objOrder {
		d := &deps[objs[k]]
		switch {
		case d.class == "pg_extension" && extOID[d.objid] != "":
			// one of the set
		case member[k] != "":
			if d.class == "pg_language" {
				langOIDs = append(langOIDs, d.objid)
				c.langExt[d.objid] = member[k]
			}
		case d.class == "pg_proc" && d.objsubid == 0:
			funcOIDs = append(funcOIDs, d.objid)
		case d.class == "pg_trigger":
			trigOIDs = append(trigOIDs, d.objid)
		case d.class == "pg_attrdef":
			defOIDs = append(defOIDs, d.objid)
			defRows = append(defRows, *d)
		case d.class == "pg_constraint":
			// The constraint of a constraint trigger comes back with
			// CREATE CONSTRAINT TRIGGER; others are dependents.
			conOIDs = append(conOIDs, d.objid)
			conRows = append(conRows, *d)
		default:
			c.others = append(c.others, Dependent{Type: d.objType, Identity: d.identity, Description: d.describes})
		}
	}
	c.funcOIDs, c.trigOIDs = funcOIDs, trigOIDs
	err = br.Close()
	br = nil
	if err != nil {
		return nil, fmt.Errorf("finding dependent objects through pg_depend: %w", err)
	}
	if len(c.snap.Extensions) == 0 {
		return c, nil
	}

	// Every read that needs the walk's objects, in one round trip.
	var second pgx.Batch
	if len(conOIDs) > 0 {
		second.Queue(`SELECT t.tgconstraint FROM unnest($1::oid[]) u(oid) JOIN pg_catalog.pg_trigger t ON t.oid = u.oid
WHERE t.tgconstraint = ANY($2::oid[])`, trigOIDs, conOIDs)
	}
	second.Queue(languagesSQL, langOIDs)
	second.Queue(languageACLSQL, langOIDs)
	second.Queue(functionStateSQL, funcOIDs, allACLs)
	second.Queue(triggersSQL, trigOIDs)
	if len(defOIDs) > 0 {
		second.Queue(defaultsSQL, defOIDs)
	}
	br = tx.SendBatch(ctx, &second)
	if len(conOIDs) > 0 {
		rows, err := br.Query()
		if err != nil {
			return nil, fmt.Errorf("reading constraint triggers: %w", err)
		}
		ofTrigger, err := pgx.CollectRows(rows, pgx.RowTo[uint32])
		if err != nil {
			return nil, fmt.Errorf("reading constraint triggers: %w", err)
		}
		for _, d := range conRows {
			if !slices.Contains(ofTrigger, d.objid) {
				c.others = append(c.others, Dependent{Type: d.objType, Identity: d.identity, Description: d.describes})
			}
		}
	}
	if err := c.readLanguages(br); err != nil {
		return nil, err
	}
	funcIdx, err := c.readFunctions(br, len(funcOIDs))
	if err != nil {
		return nil, err
	}
	if err := c.readTriggers(br); err != nil {
		return nil, err
	}
	if len(defOIDs) > 0 {
		if err := c.readDefaults(br, defRows); err != nil {
			return nil, err
		}
	}
	err = br.Close()
	br = nil
	if err != nil {
		return nil, fmt.Errorf("reading the catalog: %w", err)
	}
	for _, f := range c.snap.Functions {
		c.langCount[f.Language]++
	}

	// Creation order: a function after the functions it depends on.
	c.order = topoOrder(c.snap.Functions, funcIdx, edges)
	slices.SortFunc(c.others, func(a, b Dependent) int { return strings.Compare(a.Description, b.Description) })
	return c, nil
}

const languagesSQL = `SELECT l.oid, l.lanname::text, pg_catalog.pg_get_userbyid(l.lanowner)::text,
       coalesce(l.lanacl, pg_catalog.acldefault('l', l.lanowner))::text[], l.lanacl IS NULL,
       coalesce(pg_catalog.obj_description(l.oid, 'pg_language'), '')
FROM unnest($1::oid[]) u(oid) JOIN pg_catalog.pg_language l ON l.oid = u.oid ORDER BY l.lanname`

const languageACLSQL = `SELECT l.oid, a.ord, pg_catalog.pg_get_userbyid(a.grantor)::text,
       CASE WHEN a.grantee = 0 THEN '' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END, a.privilege_type, a.is_grantable
FROM unnest($1::oid[]) u(oid) JOIN pg_catalog.pg_language l ON l.oid = u.oid
CROSS JOIN LATERAL pg_catalog.aclexplode(coalesce(l.lanacl, pg_catalog.acldefault('l', l.lanowner))) WITH ORDINALITY a(grantor, grantee, privilege_type, is_grantable, ord)
ORDER BY l.oid, a.ord`

// readLanguages reads the results of languagesSQL and languageACLSQL.
func (c *collected) readLanguages(br pgx.BatchResults) error {
	rows, err := br.Query()
	if err != nil {
		return fmt.Errorf("reading the languages: %w", err)
	}
	byOID := map[uint32]int{}
	for rows.Next() {
		var oid uint32
		var l LanguageState
		var null bool
		if err := rows.Scan(&oid, &l.Name, &l.Owner, &l.ACL, &null, &l.Comment); err != nil {
			rows.Close()
			return fmt.Errorf("reading the languages: %w", err)
		}
		byOID[oid] = len(c.snap.Languages)
		if e := c.langExt[oid]; e != "" {
			c.langOfExt[e] = append(c.langOfExt[e], l.Name)
		}
		c.langNull[len(c.snap.Languages)] = null
		c.snap.Languages = append(c.snap.Languages, l)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading the languages: %w", err)
	}
	rows, err = br.Query()
	if err != nil {
		return fmt.Errorf("reading language privileges: %w", err)
	}
	items, err := readACLItems(rows)
	if err != nil {
		return fmt.Errorf("reading language privileges: %w", err)
	}
	for oid, it := range items {
		c.langACL[byOID[oid]] = it
	}
	return nil
}

const functionStateSQL = `WITH x AS (
  SELECT d.objid, array_agg(e.extname::text ORDER BY e.extname) AS exts
  FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
  WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
    AND d.deptype = 'x'
  GROUP BY d.objid
)
SELECT p.oid, n.nspname::text, p.proname::text, pg_catalog.pg_get_function_identity_arguments(p.oid),
       l.lanname::text, p.prokind::text,
       CASE WHEN p.prokind IN ('f', 'p') THEN pg_catalog.pg_get_functiondef(p.oid) ELSE '' END,
       pg_catalog.pg_get_userbyid(p.proowner)::text,
       coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))::text[], p.proacl IS NULL,
       coalesce(ds.description, ''), coalesce(x.exts, '{}'),
       acl.grantors, acl.grantees, acl.privs, acl.grantable
FROM unnest($1::oid[]) u(oid)
JOIN pg_catalog.pg_proc p ON p.oid = u.oid
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
LEFT JOIN pg_catalog.pg_description ds ON ds.objoid = p.oid AND ds.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND ds.objsubid = 0
LEFT JOIN x ON x.objid = p.oid
LEFT JOIN LATERAL (
  SELECT array_agg(pg_catalog.pg_get_userbyid(a.grantor)::text ORDER BY a.ord) AS grantors,
         array_agg(CASE WHEN a.grantee = 0 THEN '' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END ORDER BY a.ord) AS grantees,
         array_agg(a.privilege_type ORDER BY a.ord) AS privs,
         array_agg(a.is_grantable ORDER BY a.ord) AS grantable
  FROM pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) WITH ORDINALITY a(grantor, grantee, privilege_type, is_grantable, ord)
  WHERE $2 OR p.proacl IS NOT NULL
) acl ON true`

// readFunctions reads the result of functionStateSQL for n functions.
func (c *collected) readFunctions(br pgx.BatchResults, n int) (map[objKey]int, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("reading the functions: %w", err)
	}
	type fn struct {
		oid  uint32
		st   FunctionState
		null bool
		acl  []aclItem
	}
	fns := make([]fn, 0, n)
	var grantors, grantees, privs []string
	var grantable []bool
	for rows.Next() {
		fns = append(fns, fn{})
		f := &fns[len(fns)-1]
		grantors, grantees, privs, grantable = grantors[:0], grantees[:0], privs[:0], grantable[:0]
		if err := rows.Scan(&f.oid, &f.st.Schema, &f.st.Name, &f.st.IdentityArgs, &f.st.Language, &f.st.Kind,
			&f.st.Definition, &f.st.Owner, &f.st.ACL, &f.null, &f.st.Comment, &f.st.DependsOnExtensions,
			&grantors, &grantees, &privs, &grantable); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading the functions: %w", err)
		}
		f.acl = groupACL(grantors, grantees, privs, grantable)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the functions: %w", err)
	}
	// Sort indexes, not the (large) structs.
	order := make([]int32, len(fns))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return compareFunctions(&fns[a].st, &fns[b].st) })
	idx := make(map[objKey]int, len(fns))
	c.snap.Functions = make([]FunctionState, 0, len(fns))
	for _, j := range order {
		f := &fns[j]
		if f.st.Kind != "f" && f.st.Kind != "p" {
			c.others = append(c.others, Dependent{Type: kindName(f.st.Kind), Identity: f.st.Key(),
				Description: kindName(f.st.Kind) + " " + f.st.Key()})
			continue
		}
		i := len(c.snap.Functions)
		idx[objKey{"pg_proc", f.oid, 0}] = i
		if f.null {
			c.funcNull[i] = true
		}
		if f.acl != nil {
			c.funcACL[i] = f.acl
		}
		c.snap.Functions = append(c.snap.Functions, f.st)
	}
	return idx, nil
}

func kindName(k string) string {
	switch k {
	case "a":
		return "aggregate"
	case "w":
		return "window function"
	case "p":
		return "procedure"
	default:
		return "function"
	}
}

func compareFunctions(a, b *FunctionState) int {
	if c := strings.Compare(a.Schema, b.Schema); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.IdentityArgs, b.IdentityArgs)
}

const triggersSQL = `SELECT n.nspname::text, c.relname::text, t.tgname::text, pg_catalog.pg_get_triggerdef(t.oid),
       t.tgenabled::text, coalesce(ds.description, ''), t.tgparentid <> 0,
       t.tgconstraint <> 0, t.tgisinternal AND t.tgparentid = 0,
       coalesce((SELECT array_agg(e.extname::text ORDER BY e.extname) FROM pg_catalog.pg_depend d
                 JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
                 WHERE d.classid = 'pg_catalog.pg_trigger'::pg_catalog.regclass AND d.objid = t.oid
                   AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'x'), '{}')
FROM unnest($1::oid[]) u(oid)
JOIN pg_catalog.pg_trigger t ON t.oid = u.oid
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_description ds ON ds.objoid = t.oid AND ds.classoid = 'pg_catalog.pg_trigger'::pg_catalog.regclass AND ds.objsubid = 0
ORDER BY n.nspname, c.relname, t.tgname`

// readTriggers reads the result of triggersSQL.
func (c *collected) readTriggers(br pgx.BatchResults) error {
	rows, err := br.Query()
	if err != nil {
		return fmt.Errorf("reading the triggers: %w", err)
	}
	for rows.Next() {
		var t TriggerState
		var constraint, internal bool
		if err := rows.Scan(&t.Schema, &t.Table, &t.Name, &t.Definition, &t.Enabled, &t.Comment, &t.Cloned,
			&constraint, &internal, &t.DependsOnExtensions); err != nil {
			rows.Close()
			return fmt.Errorf("reading the triggers: %w", err)
		}
		if internal {
			c.others = append(c.others, Dependent{Type: "internal trigger", Identity: t.Key(), Description: "internal trigger " + t.Key()})
			continue
		}
		if constraint {
			c.constraintTrigger[len(c.snap.Triggers)] = true
		}
		c.snap.Triggers = append(c.snap.Triggers, t)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading the triggers: %w", err)
	}
	return nil
}

const defaultsSQL = `SELECT ad.oid, n.nspname::text, cl.relname::text, a.attname::text,
       pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), a.attgenerated <> ''
FROM unnest($1::oid[]) u(oid)
JOIN pg_catalog.pg_attrdef ad ON ad.oid = u.oid
JOIN pg_catalog.pg_class cl ON cl.oid = ad.adrelid
JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
ORDER BY n.nspname, cl.relname, a.attname`

// readDefaults reads the result of defaultsSQL: the column defaults; a generation expression
// (GENERATED ALWAYS AS) is not a default: dropping it drops the column and
// its data, so it is a dependent the upgrade refuses.
func (c *collected) readDefaults(br pgx.BatchResults, rows []depRow) error {
	r, err := br.Query()
	if err != nil {
		return fmt.Errorf("reading column defaults: %w", err)
	}
	defer r.Close()
	for r.Next() {
		var oid uint32
		var d ColumnDefaultState
		var generated bool
		if err := r.Scan(&oid, &d.Schema, &d.Table, &d.Column, &d.Expression, &generated); err != nil {
			return fmt.Errorf("reading column defaults: %w", err)
		}
		if generated {
			for _, row := range rows {
				if row.objid == oid {
					c.others = append(c.others, Dependent{Type: "generated column", Identity: row.identity,
						Description: "generation expression of column " + d.Column + " of table " + d.Schema + "." + d.Table})
				}
			}
			continue
		}
		c.snap.Defaults = append(c.snap.Defaults, d)
	}
	return r.Err()
}

// readACLItems reads the rows of an aclexplode query returning (oid, ord,
// grantor, grantee, privilege, grantable) ordered by oid and ordinality,
// and groups them into ACL items per oid.
func readACLItems(rows pgx.Rows) (map[uint32][]aclItem, error) {
	defer rows.Close()
	out := map[uint32][]aclItem{}
	for rows.Next() {
		var (
			oid                    uint32
			ord                    int64
			grantor, grantee, priv string
			grantable              bool
		)
		if err := rows.Scan(&oid, &ord, &grantor, &grantee, &priv, &grantable); err != nil {
			return nil, err
		}
		items := out[oid]
		if n := len(items); n > 0 && items[n-1].grantee == grantee && items[n-1].grantor == grantor {
			items[n-1].privs = append(items[n-1].privs, aclPriv{priv, grantable})
		} else {
			items = append(items, aclItem{grantee: grantee, grantor: grantor, privs: []aclPriv{{priv, grantable}}})
		}
		out[oid] = items
	}
	return out, rows.Err()
}

// groupACL turns aclexplode's rows (one per privilege, in ACL order) into
// ACL items.
func groupACL(grantors, grantees, privs []string, grantable []bool) []aclItem {
	var items []aclItem
	for i := range grantors {
		if n := len(items); n > 0 && items[n-1].grantee == grantees[i] && items[n-1].grantor == grantors[i] {
			items[n-1].privs = append(items[n-1].privs, aclPriv{privs[i], grantable[i]})
			continue
		}
		items = append(items, aclItem{grantee: grantees[i], grantor: grantors[i], privs: []aclPriv{{privs[i], grantable[i]}}})
	}
	return items
}

// topoOrder returns function indexes so that every function comes after
// the functions (of the set) it depends on; ties keep the sorted order.
func topoOrder(fns []FunctionState, idx map[objKey]int, edges map[objKey][]objKey) []int {
	deps := make([][]int, len(fns))
	for k, i := range idx {
		for _, ref := range edges[k] {
			if j, ok := idx[ref]; ok && j != i {
				deps[i] = append(deps[i], j)
			}
		}
	}
	done := make([]bool, len(fns))
	visiting := make([]bool, len(fns))
	order := make([]int, 0, len(fns))
	var visit func(i int)
	visit = func(i int) {
		if done[i] || visiting[i] {
			return // a cycle cannot happen in pg_depend; never loop on one
		}
		visiting[i] = true
		slices.Sort(deps[i])
		for _, j := range deps[i] {
			visit(j)
		}
		visiting[i] = false
		done[i] = true
		order = append(order, i)
	}
	for i := range fns {
		visit(i)
	}
	return order
}
