package logical

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// Operation is a kind of change a publication publishes.
type Operation string

// The operations a publication can publish. A publication that names none
// publishes all four.
const (
	OpInsert   Operation = "insert"
	OpUpdate   Operation = "update"
	OpDelete   Operation = "delete"
	OpTruncate Operation = "truncate"
)

// AllOperations lists every Operation, in the order PostgreSQL writes
// them.
var AllOperations = []Operation{OpInsert, OpUpdate, OpDelete, OpTruncate}

// Server versions (server_version_num) that brought the features this
// package checks for.
const (
	version13 = 130000 // publish_via_partition_root
	version14 = 140000 // ALTER SUBSCRIPTION ADD/DROP PUBLICATION, binary, streaming
	version15 = 150000 // row filters, column lists, TABLES IN SCHEMA, disable_on_error, two_phase
)

// PublishedTable is a table in a publication's table list, with an
// optional column list and row filter (PostgreSQL 15 and later).
type PublishedTable struct {
	// Table is the table.
	Table TableName
	// Columns, when set, publishes only these columns. The replica
	// identity columns must be among them for UPDATE and DELETE to be
	// published.
	Columns []string
	// Where, when set, publishes only rows matching this SQL expression
	// over the table's columns (for UPDATE and DELETE, over the replica
	// identity columns only), for example "region = 'eu' AND NOT archived".
	// It is SQL text put into WHERE (...) as written: the SDK refuses a
	// semicolon, comments and unbalanced parentheses, and the server
	// checks the rest. Never build it from untrusted input.
	Where string
}

// PublicationSpec describes a publication to create.
type PublicationSpec struct {
	// Name is the publication's name.
	Name string
	// AllTables publishes every table of the database, present and
	// future (FOR ALL TABLES). It excludes Tables and Schemas.
	AllTables bool
	// Tables lists tables to publish (FOR TABLE ...).
	Tables []PublishedTable
	// Schemas publishes every table of these schemas, present and
	// future (FOR TABLES IN SCHEMA, PostgreSQL 15 and later).
	Schemas []string
	// Operations are the operations published; empty means all four.
	Operations []Operation
	// ViaPartitionRoot publishes changes to partitions as changes to
	// their partitioned root table (publish_via_partition_root,
	// PostgreSQL 13 and later), so the subscriber can partition the table
	// differently or not at all.
	ViaPartitionRoot bool
}

// PublicationOptions changes a publication's options. Nil or empty fields
// are left as they are.
type PublicationOptions struct {
	// Operations, when not empty, replaces the published operations.
	Operations []Operation
	// ViaPartitionRoot, when set, sets publish_via_partition_root.
	ViaPartitionRoot *bool
}

// Publication is a publication as the server describes it.
type Publication struct {
	// Name and Owner name the publication and its owning role.
	Name, Owner string
	// AllTables is true for FOR ALL TABLES publications.
	AllTables bool
	// Operations are the operations published.
	Operations []Operation
	// ViaPartitionRoot is publish_via_partition_root.
	ViaPartitionRoot bool
	// Tables are the tables named in the publication, with their column
	// lists and row filters (PostgreSQL 15 and later), in name order.
	Tables []PublishedTable
	// Schemas are the schemas published with TABLES IN SCHEMA.
	Schemas []string
	// Published is every table whose changes the publication publishes
	// (pg_publication_tables): the named tables, the tables of the
	// schemas, or all tables, with partitions resolved as
	// ViaPartitionRoot says.
	Published []TableName
}

func checkOperations(field string, ops []Operation) (string, error) {
	seen := map[Operation]bool{}
	parts := make([]string, 0, len(ops))
	for i, op := range ops {
		if !slices.Contains(AllOperations, op) {
			return "", invalid("%s[%d] is %q; allowed: insert, update, delete, truncate", field, i, op)
		}
		if seen[op] {
			return "", invalid("%s lists %q twice", field, op)
		}
		seen[op] = true
		parts = append(parts, string(op))
	}
	return strings.Join(parts, ", "), nil
}

// tableClause renders one table of a FOR TABLE / ADD TABLE / SET TABLE
// list: "s"."t" ("a", "b") WHERE (expr).
func tableClause(field string, t PublishedTable, version int) (string, error) {
	id, err := t.Table.Ident()
	if err != nil {
		return "", invalid("%s: %v", field, err)
	}
	var b strings.Builder
	b.WriteString(id)
	if len(t.Columns) > 0 {
		if version < version15 {
			return "", &VersionError{Feature: "publication column lists", Need: version15, Have: version}
		}
		cols, err := idents(field+".Columns", t.Columns)
		if err != nil {
			return "", err
		}
		b.WriteString(" (" + strings.Join(cols, ", ") + ")")
	}
	if t.Where != "" {
		if version < version15 {
			return "", &VersionError{Feature: "publication row filters", Need: version15, Have: version}
		}
		if err := checkExpression(field+".Where", t.Where); err != nil {
			return "", err
		}
		b.WriteString(" WHERE (" + t.Where + ")")
	}
	return b.String(), nil
}

// publicationObjects renders the object list of CREATE/ALTER PUBLICATION.
// Before 15 the syntax is "TABLE a, b"; from 15 each item has its own
// keyword: "TABLE a, TABLE b, TABLES IN SCHEMA s".
func publicationObjects(tables []PublishedTable, schemas []string, version int) (string, error) {
	var items []string
	for i, t := range tables {
		c, err := tableClause(fmt.Sprintf("Tables[%d]", i), t, version)
		if err != nil {
			return "", err
		}
		items = append(items, c)
	}
	if len(schemas) > 0 && version < version15 {
		return "", &VersionError{Feature: "TABLES IN SCHEMA publications", Need: version15, Have: version}
	}
	qs, err := idents("Schemas", schemas)
	if err != nil {
		return "", err
	}
	if version < version15 {
		return "TABLE " + strings.Join(items, ", "), nil
	}
	var out []string
	for _, it := range items {
		out = append(out, "TABLE "+it)
	}
	for _, s := range qs {
		out = append(out, "TABLES IN SCHEMA "+s)
	}
	return strings.Join(out, ", "), nil
}

// createPublicationSQL builds CREATE PUBLICATION for a server version.
func createPublicationSQL(spec PublicationSpec, version int) (string, error) {
	name, err := sqlquote.Ident(spec.Name)
	if err != nil {
		return "", invalid("Name: %v", err)
	}
	if spec.AllTables && (len(spec.Tables) > 0 || len(spec.Schemas) > 0) {
		return "", invalid("AllTables excludes Tables and Schemas; set one or the other")
	}
	ops, err := checkOperations("Operations", spec.Operations)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("CREATE PUBLICATION " + name)
	switch {
	case spec.AllTables:
		b.WriteString(" FOR ALL TABLES")
	case len(spec.Tables) > 0 || len(spec.Schemas) > 0:
		objs, err := publicationObjects(spec.Tables, spec.Schemas, version)
		if err != nil {
			return "", err
		}
		b.WriteString(" FOR " + objs)
	}
	var with []string
	if ops != "" {
		lit, err := sqlquote.Literal(ops)
		if err != nil {
			return "", err
		}
		with = append(with, "publish = "+lit)
	}
	if spec.ViaPartitionRoot {
		if version < version13 {
			return "", &VersionError{Feature: "publish_via_partition_root", Need: version13, Have: version}
		}
		with = append(with, "publish_via_partition_root = true")
	}
	if len(with) > 0 {
		b.WriteString(" WITH (" + strings.Join(with, ", ") + ")")
	}
	return b.String(), nil
}

// CreatePublication creates a publication (CREATE PUBLICATION) in the
// client's database. Input is checked, including against the server's
// version for row filters, column lists and schemas, before anything is
// created. An existing publication gives an error matching
// ErrAlreadyExists.
func (c *Client) CreatePublication(ctx context.Context, spec PublicationSpec) error {
	v, err := c.ServerVersion(ctx)
	if err != nil {
		return err
	}
	sql, err := createPublicationSQL(spec, v)
	if err != nil {
		return err
	}
	_, err = c.q.Exec(ctx, sql)
	return classify(err, fmt.Sprintf("creating publication %q", spec.Name))
}

// DropPublication drops a publication. A missing one gives an error
// matching ErrNotFound unless ifExists is set. Subscriptions to it keep
// running and fail on their next start or refresh: drop or alter them
// first.
func (c *Client) DropPublication(ctx context.Context, name string, ifExists bool) error {
	q, err := sqlquote.Ident(name)
	if err != nil {
		return invalid("publication name: %v", err)
	}
	sql := "DROP PUBLICATION " + q
	if ifExists {
		sql = "DROP PUBLICATION IF EXISTS " + q
	}
	_, err = c.q.Exec(ctx, sql)
	return classify(err, fmt.Sprintf("dropping publication %q", name))
}

func (c *Client) alterPublicationObjects(ctx context.Context, name, verb string, tables []PublishedTable, schemas []string) error {
	q, err := sqlquote.Ident(name)
	if err != nil {
		return invalid("publication name: %v", err)
	}
	if len(tables) == 0 && len(schemas) == 0 {
		return invalid("no tables or schemas given to %s", strings.ToLower(verb))
	}
	v, err := c.ServerVersion(ctx)
	if err != nil {
		return err
	}
	objs, err := publicationObjects(tables, schemas, v)
	if err != nil {
		return err
	}
	_, err = c.q.Exec(ctx, "ALTER PUBLICATION "+q+" "+verb+" "+objs)
	return classify(err, fmt.Sprintf("altering publication %q (%s)", name, strings.ToLower(verb)))
}

// AddPublicationTables adds tables to a publication (ALTER PUBLICATION
// ... ADD TABLE), with their column lists and row filters. Subscribers see
// them after ALTER SUBSCRIPTION ... REFRESH PUBLICATION (see
// Client.RefreshSubscription).
func (c *Client) AddPublicationTables(ctx context.Context, publication string, tables ...PublishedTable) error {
	return c.alterPublicationObjects(ctx, publication, "ADD", tables, nil)
}

// SetPublicationTables replaces a publication's table list (ALTER
// PUBLICATION ... SET TABLE). On PostgreSQL 15 and later this also
// removes its TABLES IN SCHEMA entries.
func (c *Client) SetPublicationTables(ctx context.Context, publication string, tables ...PublishedTable) error {
	return c.alterPublicationObjects(ctx, publication, "SET", tables, nil)
}

// DropPublicationTables removes tables from a publication (ALTER
// PUBLICATION ... DROP TABLE).
func (c *Client) DropPublicationTables(ctx context.Context, publication string, tables ...TableName) error {
	pts := make([]PublishedTable, len(tables))
	for i, t := range tables {
		pts[i] = PublishedTable{Table: t}
	}
	return c.alterPublicationObjects(ctx, publication, "DROP", pts, nil)
}

// AddPublicationSchemas adds every table of the schemas, present and
// future, to a publication (ALTER PUBLICATION ... ADD TABLES IN SCHEMA,
// PostgreSQL 15 and later).
func (c *Client) AddPublicationSchemas(ctx context.Context, publication string, schemas ...string) error {
	return c.alterPublicationObjects(ctx, publication, "ADD", nil, schemas)
}

// DropPublicationSchemas removes schemas from a publication (ALTER
// PUBLICATION ... DROP TABLES IN SCHEMA, PostgreSQL 15 and later).
func (c *Client) DropPublicationSchemas(ctx context.Context, publication string, schemas ...string) error {
	return c.alterPublicationObjects(ctx, publication, "DROP", nil, schemas)
}

// SetPublicationOptions changes the published operations and
// publish_via_partition_root (ALTER PUBLICATION ... SET (...)).
func (c *Client) SetPublicationOptions(ctx context.Context, publication string, opts PublicationOptions) error {
	q, err := sqlquote.Ident(publication)
	if err != nil {
		return invalid("publication name: %v", err)
	}
	ops, err := checkOperations("Operations", opts.Operations)
	if err != nil {
		return err
	}
	var with []string
	if ops != "" {
		lit, err := sqlquote.Literal(ops)
		if err != nil {
			return err
		}
		with = append(with, "publish = "+lit)
	}
	if opts.ViaPartitionRoot != nil {
		if err := c.require(ctx, version13, "publish_via_partition_root"); err != nil {
			return err
		}
		with = append(with, fmt.Sprintf("publish_via_partition_root = %t", *opts.ViaPartitionRoot))
	}
	if len(with) == 0 {
		return invalid("PublicationOptions sets nothing: give Operations or ViaPartitionRoot")
	}
	_, err = c.q.Exec(ctx, "ALTER PUBLICATION "+q+" SET ("+strings.Join(with, ", ")+")")
	return classify(err, fmt.Sprintf("setting the options of publication %q", publication))
}

// Publication returns one publication with its tables. A missing one
// gives an error matching ErrNotFound.
func (c *Client) Publication(ctx context.Context, name string) (Publication, error) {
	pubs, err := c.publications(ctx, &name)
	if err != nil {
		return Publication{}, err
	}
	if len(pubs) == 0 {
		return Publication{}, fmt.Errorf("logical: publication %q: %w", name, ErrNotFound)
	}
	return pubs[0], nil
}

// Publications returns the publications of the client's database, in name
// order, with their tables.
func (c *Client) Publications(ctx context.Context) ([]Publication, error) {
	return c.publications(ctx, nil)
}

func (c *Client) publications(ctx context.Context, only *string) ([]Publication, error) {
	v, err := c.ServerVersion(ctx)
	if err != nil {
		return nil, err
	}
	viaRoot := "false"
	if v >= version13 {
		viaRoot = "p.pubviaroot"
	}
	rows, err := c.q.Query(ctx, `SELECT p.oid, p.pubname, pg_get_userbyid(p.pubowner), p.puballtables,
		p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate, `+viaRoot+`
		FROM pg_publication p WHERE $1::text IS NULL OR p.pubname = $1 ORDER BY p.pubname`, only)
	if err != nil {
		return nil, classify(err, "listing publications")
	}
	var pubs []Publication
	index := map[uint32]int{}
	for rows.Next() {
		var p Publication
		var oid uint32
		var ins, upd, del, trunc bool
		if err := rows.Scan(&oid, &p.Name, &p.Owner, &p.AllTables, &ins, &upd, &del, &trunc, &p.ViaPartitionRoot); err != nil {
			rows.Close()
			return nil, classify(err, "reading publications")
		}
		for i, on := range []bool{ins, upd, del, trunc} {
			if on {
				p.Operations = append(p.Operations, AllOperations[i])
			}
		}
		index[oid] = len(pubs)
		pubs = append(pubs, p)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "listing publications")
	}
	if len(pubs) == 0 {
		return nil, nil
	}

	cols, filter := "NULL::text[]", "NULL::text"
	if v >= version15 {
		cols = `CASE WHEN r.prattrs IS NULL THEN NULL ELSE ARRAY(SELECT a.attname::text
			FROM unnest(r.prattrs::int2[]) WITH ORDINALITY AS u(num, ord)
			JOIN pg_attribute a ON a.attrelid = r.prrelid AND a.attnum = u.num ORDER BY u.ord) END`
		filter = "pg_get_expr(r.prqual, r.prrelid)"
	}
	rows, err = c.q.Query(ctx, `SELECT r.prpubid, n.nspname, c.relname, `+cols+`, `+filter+`
		FROM pg_publication_rel r JOIN pg_class c ON c.oid = r.prrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace ORDER BY 2, 3`)
	if err != nil {
		return nil, classify(err, "listing publication tables")
	}
	for rows.Next() {
		var oid uint32
		var t PublishedTable
		var where *string
		if err := rows.Scan(&oid, &t.Table.Schema, &t.Table.Name, &t.Columns, &where); err != nil {
			rows.Close()
			return nil, classify(err, "reading publication tables")
		}
		if where != nil {
			t.Where = *where
		}
		if i, ok := index[oid]; ok {
			pubs[i].Tables = append(pubs[i].Tables, t)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "listing publication tables")
	}

	if v >= version15 {
		rows, err = c.q.Query(ctx, `SELECT pn.pnpubid, n.nspname FROM pg_publication_namespace pn
			JOIN pg_namespace n ON n.oid = pn.pnnspid ORDER BY 2`)
		if err != nil {
			return nil, classify(err, "listing publication schemas")
		}
		for rows.Next() {
			var oid uint32
			var s string
			if err := rows.Scan(&oid, &s); err != nil {
				rows.Close()
				return nil, classify(err, "reading publication schemas")
			}
			if i, ok := index[oid]; ok {
				pubs[i].Schemas = append(pubs[i].Schemas, s)
			}
		}
		if err := rows.Err(); err != nil {
			return nil, classify(err, "listing publication schemas")
		}
	}

	byName := map[string]int{}
	for i, p := range pubs {
		byName[p.Name] = i
	}
	rows, err = c.q.Query(ctx, `SELECT pubname, schemaname, tablename FROM pg_publication_tables
		WHERE $1::text IS NULL OR pubname = $1 ORDER BY 1, 2, 3`, only)
	if err != nil {
		return nil, classify(err, "listing published tables")
	}
	for rows.Next() {
		var pub string
		var t TableName
		if err := rows.Scan(&pub, &t.Schema, &t.Name); err != nil {
			rows.Close()
			return nil, classify(err, "reading published tables")
		}
		if i, ok := byName[pub]; ok {
			pubs[i].Published = append(pubs[i].Published, t)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "listing published tables")
	}
	return pubs, nil
}
