package logical

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pgaurora/pgaurora"
)

// ColumnDef is one column of a table definition.
type ColumnDef struct {
	// Name is the column's name and Type its type as format_type writes
	// it ("character varying(20)", "numeric(10,2)").
	Name, Type string
	// NotNull is true for NOT NULL columns.
	NotNull bool
	// HasDefault is true when the column has a default (including
	// serial and identity columns).
	HasDefault bool
	// Generated is true for stored generated columns.
	Generated bool
}

// TableDef is what logical replication needs to agree on between the
// publisher and the subscriber: a table's columns and primary key.
type TableDef struct {
	// Table is the table's schema-qualified name.
	Table TableName
	// Columns are the columns in attribute order.
	Columns []ColumnDef
	// PrimaryKey lists the primary key's columns in key order; empty
	// when there is none.
	PrimaryKey []string
}

func (d TableDef) column(name string) (ColumnDef, bool) {
	for _, c := range d.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return ColumnDef{}, false
}

// DiffKind says what a schema difference is about.
type DiffKind string

// Kinds of schema differences.
const (
	// DiffMissingTable: the subscriber has no table of that name; CREATE
	// SUBSCRIPTION (or REFRESH PUBLICATION) fails.
	DiffMissingTable DiffKind = "missing-table"
	// DiffMissingColumn: a published column is missing on the
	// subscriber; applying changes fails.
	DiffMissingColumn DiffKind = "missing-column"
	// DiffExtraColumn: the subscriber has a column the publisher does
	// not send; it gets its default (an error when it is NOT NULL without
	// one).
	DiffExtraColumn DiffKind = "extra-column"
	// DiffTypeMismatch: the column's types differ; values are converted
	// through their text form and may fail to convert (binary
	// subscriptions need the same types).
	DiffTypeMismatch DiffKind = "type-mismatch"
	// DiffPrimaryKey: the primary keys differ; UPDATE and DELETE find
	// subscriber rows by the subscriber's key.
	DiffPrimaryKey DiffKind = "primary-key"
)

// SchemaDifference is one difference found by CompareSchemas.
type SchemaDifference struct {
	// Table is the publisher's table.
	Table TableName
	// Kind says what differs and Severity how much it matters.
	Kind     DiffKind
	Severity Severity
	// Column is the column concerned, if any.
	Column string
	// Publisher and Subscriber describe each side (a type, a key).
	Publisher, Subscriber string
	// Message explains the consequence and the fix.
	Message string
}

// String formats the difference on one line.
func (d SchemaDifference) String() string {
	return fmt.Sprintf("%s: %s: %s", d.Severity, d.Table, d.Message)
}

// SchemaComparison is the result of CompareSchemas.
type SchemaComparison struct {
	// Tables are the publisher's tables compared.
	Tables []TableName
	// Differences are ordered by table, then column.
	Differences []SchemaDifference
}

// OK reports whether no difference has SeverityError.
func (c SchemaComparison) OK() bool {
	for _, d := range c.Differences {
		if d.Severity == SeverityError {
			return false
		}
	}
	return true
}

// CompareOptions says which tables CompareSchemas compares. Tables and
// Publication add up; when both are empty, every table of the publisher's
// database outside the system schemas is compared.
type CompareOptions struct {
	// Tables are tables to compare.
	Tables []TableName
	// Publication adds the tables an existing publication on the
	// publisher publishes, honoring its column lists: columns left out of
	// a list need not exist on the subscriber.
	Publication string
}

// CompareSchemas compares table definitions (columns, types, primary
// keys) between the publisher and the subscriber, before a subscription
// is created: logical replication does not replicate schema, so the
// subscriber's tables must be created to match, and later DDL applied on
// both sides. Tables are matched by schema-qualified name.
func CompareSchemas(ctx context.Context, publisher, subscriber pgaurora.Querier, opts *CompareOptions) (SchemaComparison, error) {
	if opts == nil {
		opts = &CompareOptions{}
	}
	for i, t := range opts.Tables {
		if _, err := t.Ident(); err != nil {
			return SchemaComparison{}, invalid("Tables[%d]: %v", i, err)
		}
	}
	names := slices.Clone(opts.Tables)
	published := map[TableName][]string{} // column lists
	if opts.Publication != "" {
		p, err := New(publisher).Publication(ctx, opts.Publication)
		if err != nil {
			return SchemaComparison{}, err
		}
		for _, t := range p.Tables {
			if len(t.Columns) > 0 {
				published[t.Table] = t.Columns
			}
		}
		names = append(names, p.Published...)
	}
	var err error
	if len(opts.Tables) == 0 && opts.Publication == "" {
		if names, err = listTables(ctx, publisher); err != nil {
			return SchemaComparison{}, fmt.Errorf("logical: comparing schemas: listing the publisher's tables: %w", err)
		}
	}
	pub, err := TableDefs(ctx, publisher, names)
	if err != nil {
		return SchemaComparison{}, fmt.Errorf("logical: comparing schemas: reading the publisher: %w", err)
	}
	var pubDefs []TableDef
	var subNames []TableName
	for i, d := range pub {
		if d == nil {
			return SchemaComparison{}, fmt.Errorf("logical: comparing schemas: table %s: %w on the publisher", names[i], ErrNotFound)
		}
		if slices.ContainsFunc(pubDefs, func(x TableDef) bool { return x.Table == d.Table }) {
			continue
		}
		if cols, ok := published[d.Table]; ok {
			d.Columns = slices.DeleteFunc(slices.Clone(d.Columns), func(c ColumnDef) bool { return !slices.Contains(cols, c.Name) })
		}
		pubDefs = append(pubDefs, *d)
		subNames = append(subNames, d.Table)
	}
	sub, err := TableDefs(ctx, subscriber, subNames)
	if err != nil {
		return SchemaComparison{}, fmt.Errorf("logical: comparing schemas: reading the subscriber: %w", err)
	}
	out := SchemaComparison{}
	for i, p := range pubDefs {
		out.Tables = append(out.Tables, p.Table)
		out.Differences = append(out.Differences, DiffTable(p, sub[i], published[p.Table] != nil)...)
	}
	return out, nil
}

// DiffTable compares one table's definition on the publisher with the
// subscriber's (nil when the subscriber lacks the table). columnList says
// the publisher's definition holds only the columns of a publication's
// column list, so the subscriber's other columns are expected. It is
// pure.
func DiffTable(pub TableDef, sub *TableDef, columnList bool) []SchemaDifference {
	d := func(kind DiffKind, sev Severity, col, p, s, msg string) SchemaDifference {
		return SchemaDifference{Table: pub.Table, Kind: kind, Severity: sev, Column: col, Publisher: p, Subscriber: s, Message: msg}
	}
	if sub == nil {
		return []SchemaDifference{d(DiffMissingTable, SeverityError, "", "", "",
			"the subscriber has no table "+pub.Table.String()+": create it with the publisher's definition (pg_dump --schema-only --table) before creating the subscription.")}
	}
	var out []SchemaDifference
	for _, pc := range pub.Columns {
		sc, ok := sub.column(pc.Name)
		switch {
		case pc.Generated:
			// Not sent: the subscriber computes or defaults it.
			continue
		case !ok:
			out = append(out, d(DiffMissingColumn, SeverityError, pc.Name, pc.Type, "",
				fmt.Sprintf("column %s (%s) is missing on the subscriber: applying changes fails (\"logical replication target relation is missing replicated column\"). Add it there first.", displayIdent(pc.Name), pc.Type)))
		case sc.Generated:
			out = append(out, d(DiffTypeMismatch, SeverityError, pc.Name, pc.Type, sc.Type+" (generated)",
				fmt.Sprintf("column %s is generated on the subscriber but published as data: applying changes fails. Make it a plain column there.", displayIdent(pc.Name))))
		case pc.Type != sc.Type:
			out = append(out, d(DiffTypeMismatch, SeverityWarning, pc.Name, pc.Type, sc.Type,
				fmt.Sprintf("column %s is %s on the publisher and %s on the subscriber: values are converted through their text form and fail to apply if they do not fit (binary subscriptions need equal types).", displayIdent(pc.Name), pc.Type, sc.Type)))
		}
	}
	for _, sc := range sub.Columns {
		if _, ok := pub.column(sc.Name); ok {
			continue
		}
		switch {
		case sc.NotNull && !sc.HasDefault && !sc.Generated:
			out = append(out, d(DiffExtraColumn, SeverityError, sc.Name, "", sc.Type,
				fmt.Sprintf("column %s exists only on the subscriber and is NOT NULL without a default: replicated inserts fail. Give it a default, drop NOT NULL, or add it on the publisher.", displayIdent(sc.Name))))
		case !columnList:
			out = append(out, d(DiffExtraColumn, SeverityInfo, sc.Name, "", sc.Type,
				fmt.Sprintf("column %s exists only on the subscriber; replicated rows get its default.", displayIdent(sc.Name))))
		}
	}
	if !slices.Equal(pub.PrimaryKey, sub.PrimaryKey) {
		pk := func(cols []string) string {
			if len(cols) == 0 {
				return "none"
			}
			return "(" + strings.Join(cols, ", ") + ")"
		}
		switch {
		case len(sub.PrimaryKey) == 0:
			out = append(out, d(DiffPrimaryKey, SeverityError, "", pk(pub.PrimaryKey), pk(sub.PrimaryKey),
				fmt.Sprintf("the subscriber's table has no primary key (the publisher's is %s): replicated UPDATE and DELETE fail (\"logical replication target relation has neither REPLICA IDENTITY index nor PRIMARY KEY\") unless the publisher uses REPLICA IDENTITY FULL. Add the same primary key on the subscriber.", pk(pub.PrimaryKey))))
		case len(pub.PrimaryKey) == 0:
			out = append(out, d(DiffPrimaryKey, SeverityWarning, "", pk(pub.PrimaryKey), pk(sub.PrimaryKey),
				fmt.Sprintf("the publisher's table has no primary key but the subscriber's is %s: give the publisher a matching key (or replica identity) so that UPDATE and DELETE replicate.", pk(sub.PrimaryKey))))
		default:
			out = append(out, d(DiffPrimaryKey, SeverityWarning, "", pk(pub.PrimaryKey), pk(sub.PrimaryKey),
				fmt.Sprintf("the primary key is %s on the publisher and %s on the subscriber: UPDATE and DELETE find subscriber rows by the subscriber's key, which must use only columns of the publisher's replica identity.", pk(pub.PrimaryKey), pk(sub.PrimaryKey))))
		}
	}
	return out
}

func listTables(ctx context.Context, q pgaurora.Querier) ([]TableName, error) {
	return listRelations(ctx, q, `c.relkind IN ('r', 'p') AND c.relpersistence = 'p'`)
}

// listRelations lists the relations outside the system schemas that match
// cond, a fixed SQL condition over pg_class c and pg_namespace n, in
// schema and name order.
func listRelations(ctx context.Context, q pgaurora.Querier, cond string) ([]TableName, error) {
	rows, err := q.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE `+cond+` AND n.nspname NOT IN `+systemSchemas+`
		ORDER BY 1, 2`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TableName
	for rows.Next() {
		var t TableName
		if err := rows.Scan(&t.Schema, &t.Name); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TableDefs reads the definitions of the named tables from one server;
// the result has one entry per name, nil for tables that do not exist.
// Unqualified names resolve through the search_path.
func TableDefs(ctx context.Context, q pgaurora.Querier, tables []TableName) ([]*TableDef, error) {
	out := make([]*TableDef, len(tables))
	if len(tables) == 0 {
		return out, nil
	}
	ids := make([]string, len(tables))
	for i, t := range tables {
		id, err := t.Ident()
		if err != nil {
			return nil, invalid("tables[%d]: %v", i, err)
		}
		ids[i] = id
	}
	rows, err := q.Query(ctx, `SELECT u.i, n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
			a.attnotnull, a.atthasdef, a.attgenerated <> '',
			coalesce((SELECT array_agg(ka.attname::text ORDER BY k.ord) FROM pg_index i
				CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(num, ord)
				JOIN pg_attribute ka ON ka.attrelid = i.indrelid AND ka.attnum = k.num
				WHERE i.indrelid = c.oid AND i.indisprimary), '{}')
		FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i)
		JOIN pg_class c ON c.oid = to_regclass(u.n) AND c.relkind IN ('r', 'p')
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY u.i, a.attnum`, ids)
	if err != nil {
		return nil, classify(err, "reading table definitions")
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var t TableName
		var col ColumnDef
		var pk []string
		if err := rows.Scan(&i, &t.Schema, &t.Name, &col.Name, &col.Type, &col.NotNull, &col.HasDefault, &col.Generated, &pk); err != nil {
			return nil, classify(err, "reading table definitions")
		}
		if out[i-1] == nil {
			out[i-1] = &TableDef{Table: t, PrimaryKey: pk}
		}
		out[i-1].Columns = append(out[i-1].Columns, col)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "reading table definitions")
	}
	return out, nil
}
