package logical

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// Severity ranks a readiness finding.
type Severity int

// Severities, from least to most serious.
const (
	// SeverityInfo is something to know: replication works.
	SeverityInfo Severity = iota + 1
	// SeverityWarning is something that replicates incompletely or
	// slowly, or needs action at cutover.
	SeverityWarning
	// SeverityError is something that fails: the table cannot be
	// published, or writes to it fail once it is.
	SeverityError
)

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	switch s {
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// FindingKind says what a readiness finding is about.
type FindingKind string

// The kinds of readiness findings, from PostgreSQL's documented logical
// replication restrictions.
const (
	// FindingNotFound: the named table does not exist.
	FindingNotFound FindingKind = "not-found"
	// FindingNotPublishable: a view, materialized view, foreign table,
	// sequence or other relation that publications cannot hold.
	FindingNotPublishable FindingKind = "not-publishable"
	// FindingUnlogged: an unlogged or temporary table, which writes no
	// WAL to decode.
	FindingUnlogged FindingKind = "unlogged"
	// FindingSystemTable: a table in a system schema.
	FindingSystemTable FindingKind = "system-table"
	// FindingNoReplicaIdentity: no primary key and no usable replica
	// identity, so UPDATE and DELETE on the table fail once it is in a
	// publication that publishes them.
	FindingNoReplicaIdentity FindingKind = "no-replica-identity"
	// FindingReplicaIdentityFull: REPLICA IDENTITY FULL works, but logs
	// whole old rows and makes the subscriber search without an index.
	FindingReplicaIdentityFull FindingKind = "replica-identity-full"
	// FindingPartitionedTable: a partitioned table, published through its
	// leaf partitions unless publish_via_partition_root is set.
	FindingPartitionedTable FindingKind = "partitioned-table"
	// FindingPartition: a partition listed on its own.
	FindingPartition FindingKind = "partition"
	// FindingLargeObject: an oid or lo column, whose large objects
	// (pg_largeobject) are not replicated.
	FindingLargeObject FindingKind = "large-object"
	// FindingSequence: a sequence feeding a column (serial, identity or
	// a nextval default), whose values are not replicated.
	FindingSequence FindingKind = "sequence"
	// FindingGeneratedColumn: a stored generated column, which is not
	// replicated but computed again on the subscriber.
	FindingGeneratedColumn FindingKind = "generated-column"
)

// Finding is one problem or fact found by CheckReadiness, with what to do
// about it.
type Finding struct {
	// Table is the relation the finding is about.
	Table TableName
	// Kind says what the finding is about and Severity how serious it is.
	Kind     FindingKind
	Severity Severity
	// Column is the column concerned, if any.
	Column string
	// Sequence is the sequence concerned, for FindingSequence.
	Sequence TableName
	// Root is the partitioned table a partition belongs to.
	Root TableName
	// Message says what is wrong and what happens if nothing is done.
	Message string
	// Fix says how to fix it, usually as SQL to run on the publisher.
	Fix string
}

// String formats the finding on one line: severity, table, message, fix.
func (f Finding) String() string {
	s := fmt.Sprintf("%s: %s: %s", f.Severity, f.Table, f.Message)
	if f.Fix != "" {
		s += " Fix: " + f.Fix
	}
	return s
}

// Readiness is the result of CheckReadiness.
type Readiness struct {
	// Checked lists the relations checked, in name order, including the
	// leaf partitions of partitioned tables.
	Checked []TableName
	// Findings are ordered by table, then by severity (most serious
	// first).
	Findings []Finding
}

// OK reports whether nothing has SeverityError.
func (r Readiness) OK() bool { return len(r.Errors()) == 0 }

// Errors returns the findings with SeverityError.
func (r Readiness) Errors() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity == SeverityError {
			out = append(out, f)
		}
	}
	return out
}

// Of returns the findings about one table.
func (r Readiness) Of(t TableName) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Table == t {
			out = append(out, f)
		}
	}
	return out
}

// ReadinessInput says what CheckReadiness checks. Tables, Schemas and
// Publication add up; when all are empty, every table of the database
// outside the system schemas is checked.
type ReadinessInput struct {
	// Tables are tables to replicate.
	Tables []TableName
	// Schemas adds every table, view, materialized view and foreign
	// table of these schemas.
	Schemas []string
	// Publication adds the tables an existing publication covers, and
	// takes its Operations and ViaPartitionRoot from it.
	Publication string
	// Operations are the operations to be published; empty means all.
	// Without update and delete, a missing replica identity is only
	// informational.
	Operations []Operation
	// ViaPartitionRoot is the publish_via_partition_root setting planned.
	ViaPartitionRoot bool
}

const systemSchemas = "('pg_catalog', 'information_schema', 'pg_toast')"

type relFacts struct {
	oid                       uint32
	name                      TableName
	kind, persistence, replid string
	isPartition               bool
	root                      TableName
	hasPK, hasReplIdentIndex  bool
	candidateIndex            string
	listed                    bool // named by the input (not only a leaf of one)
	system                    bool
}

// CheckReadiness checks tables before they are replicated, against the
// restrictions PostgreSQL documents for logical replication, and returns
// each problem with its fix:
//
//   - tables without a primary key or usable replica identity: UPDATE and
//     DELETE on them fail once they are published (error; informational
//     when neither operation is published), with a suggested unique index
//     for REPLICA IDENTITY USING INDEX when there is one; REPLICA IDENTITY
//     FULL is a warning (slow on the subscriber);
//   - partitioned tables (published through their leaves unless
//     publish_via_partition_root) and partitions listed on their own; the
//     leaves of partitioned tables are checked too;
//   - views, materialized views, foreign tables and sequences, which
//     cannot be published, and unlogged, temporary and system tables;
//   - large-object columns (type oid or lo): the large objects themselves
//     are not replicated (warning);
//   - sequences feeding columns (serial, identity, nextval defaults),
//     whose values do not follow (warning: run SyncSequences at cutover);
//   - stored generated columns, computed again on the subscriber (info).
//
// Tables that do not exist are reported as errors rather than failing the
// call. It needs PostgreSQL 13 or later.
func (c *Client) CheckReadiness(ctx context.Context, in ReadinessInput) (Readiness, error) {
	if err := c.require(ctx, version13, "readiness checks"); err != nil {
		return Readiness{}, err
	}
	if _, err := checkOperations("Operations", in.Operations); err != nil {
		return Readiness{}, err
	}
	names := make([]string, len(in.Tables))
	for i, t := range in.Tables {
		id, err := t.Ident()
		if err != nil {
			return Readiness{}, invalid("Tables[%d]: %v", i, err)
		}
		names[i] = id
	}
	if _, err := idents("Schemas", in.Schemas); err != nil {
		return Readiness{}, err
	}
	ops, viaRoot := in.Operations, in.ViaPartitionRoot
	var rep Readiness
	var oids []uint32
	add := func(o uint32) {
		if !slices.Contains(oids, o) {
			oids = append(oids, o)
		}
	}

	if len(names) > 0 {
		rows, err := c.q.Query(ctx, "SELECT u.i, to_regclass(u.n)::oid FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i) ORDER BY u.i", names)
		if err != nil {
			return Readiness{}, classify(err, "looking up the tables")
		}
		for rows.Next() {
			var i int
			var oid *uint32
			if err := rows.Scan(&i, &oid); err != nil {
				rows.Close()
				return Readiness{}, classify(err, "looking up the tables")
			}
			if oid == nil {
				t := in.Tables[i-1]
				rep.Findings = append(rep.Findings, Finding{Table: t, Kind: FindingNotFound, Severity: SeverityError,
					Message: "does not exist (or is not on the search_path).",
					Fix:     "create it on the publisher, or check the name and schema."})
				continue
			}
			add(*oid)
		}
		if err := rows.Err(); err != nil {
			return Readiness{}, classify(err, "looking up the tables")
		}
	}
	if len(in.Schemas) > 0 {
		if err := c.collect(ctx, &oids, `SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition`, in.Schemas); err != nil {
			return Readiness{}, classify(err, "listing the schemas' tables")
		}
	}
	if in.Publication != "" {
		var all, upd, del, ins, trunc bool
		err := c.q.QueryRow(ctx, "SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate, pubviaroot FROM pg_publication WHERE pubname = $1",
			in.Publication).Scan(&all, &ins, &upd, &del, &trunc, &viaRoot)
		if err != nil {
			if isNoRows(err) {
				return Readiness{}, fmt.Errorf("logical: checking readiness: publication %q: %w", in.Publication, ErrNotFound)
			}
			return Readiness{}, classify(err, "reading the publication")
		}
		ops = nil
		for i, on := range []bool{ins, upd, del, trunc} {
			if on {
				ops = append(ops, AllOperations[i])
			}
		}
		q := `SELECT prrelid FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid WHERE p.pubname = $1
			UNION SELECT c.oid FROM pg_publication_namespace pn JOIN pg_publication p ON p.oid = pn.pnpubid
			JOIN pg_class c ON c.relnamespace = pn.pnnspid AND c.relkind IN ('r', 'p') AND NOT c.relispartition WHERE p.pubname = $1`
		if v, _ := c.ServerVersion(ctx); v < version15 {
			q = "SELECT prrelid FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid WHERE p.pubname = $1"
		}
		if all {
			q = `SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence = 'p'
				AND n.nspname NOT IN ` + systemSchemas + ` AND $1::text IS NOT NULL`
		}
		if err := c.collect(ctx, &oids, q, in.Publication); err != nil {
			return Readiness{}, classify(err, "listing the publication's tables")
		}
	}
	if len(in.Tables) == 0 && len(in.Schemas) == 0 && in.Publication == "" {
		if err := c.collect(ctx, &oids, `SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN `+systemSchemas+`
			AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'`); err != nil {
			return Readiness{}, classify(err, "listing the database's tables")
		}
	}
	listed := slices.Clone(oids)
	// Leaf partitions of partitioned tables: their changes are what is
	// decoded, so their replica identities matter.
	if len(oids) > 0 {
		if err := c.collect(ctx, &oids, `SELECT t.relid::oid FROM unnest($1::oid[]) AS p(oid)
			JOIN pg_class c ON c.oid = p.oid AND c.relkind = 'p'
			CROSS JOIN LATERAL pg_partition_tree(p.oid) t WHERE t.relid::oid <> p.oid`, oids); err != nil {
			return Readiness{}, classify(err, "listing partitions")
		}
	}
	facts, err := c.relationFacts(ctx, oids)
	if err != nil {
		return Readiness{}, err
	}
	byOID := map[uint32]*relFacts{}
	for i := range facts {
		facts[i].listed = slices.Contains(listed, facts[i].oid)
		byOID[facts[i].oid] = &facts[i]
		rep.Checked = append(rep.Checked, facts[i].name)
	}
	updatesPublished := len(ops) == 0 || slices.Contains(ops, OpUpdate) || slices.Contains(ops, OpDelete)
	for _, f := range facts {
		rep.Findings = append(rep.Findings, relationFindings(f, byOID, updatesPublished, viaRoot)...)
	}
	colFindings, err := c.columnFindings(ctx, oids, byOID)
	if err != nil {
		return Readiness{}, err
	}
	rep.Findings = append(rep.Findings, colFindings...)
	slices.SortStableFunc(rep.Findings, func(a, b Finding) int {
		if c := strings.Compare(a.Table.Schema, b.Table.Schema); c != 0 {
			return c
		}
		if c := strings.Compare(a.Table.Name, b.Table.Name); c != 0 {
			return c
		}
		return int(b.Severity) - int(a.Severity)
	})
	return rep, nil
}

// collect appends the oids a query returns to *oids, without duplicates.
func (c *Client) collect(ctx context.Context, oids *[]uint32, sql string, args ...any) error {
	rows, err := c.q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var o uint32
		if err := rows.Scan(&o); err != nil {
			return err
		}
		if !slices.Contains(*oids, o) {
			*oids = append(*oids, o)
		}
	}
	return rows.Err()
}

func (c *Client) relationFacts(ctx context.Context, oids []uint32) ([]relFacts, error) {
	if len(oids) == 0 {
		return nil, nil
	}
	rows, err := c.q.Query(ctx, `SELECT c.oid, n.nspname, c.relname, c.relkind::text, c.relpersistence::text, c.relreplident::text,
		c.relispartition, coalesce(rn.nspname, ''), coalesce(rc.relname, ''),
		EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),
		EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident AND i.indisvalid),
		coalesce((SELECT ci.relname FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
			WHERE i.indrelid = c.oid AND i.indisunique AND i.indimmediate AND i.indisvalid
			AND i.indpred IS NULL AND i.indexprs IS NULL
			AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey::int2[]) k JOIN pg_attribute a
				ON a.attrelid = c.oid AND a.attnum = k WHERE NOT a.attnotnull)
			ORDER BY i.indnatts, ci.relname LIMIT 1), ''),
		n.nspname IN `+systemSchemas+`
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_class rc ON c.relispartition AND rc.oid = pg_partition_root(c.oid)
		LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
		WHERE c.oid = ANY($1) ORDER BY n.nspname, c.relname`, oids)
	if err != nil {
		return nil, classify(err, "reading the tables' definitions")
	}
	defer rows.Close()
	var out []relFacts
	for rows.Next() {
		var f relFacts
		if err := rows.Scan(&f.oid, &f.name.Schema, &f.name.Name, &f.kind, &f.persistence, &f.replid, &f.isPartition,
			&f.root.Schema, &f.root.Name, &f.hasPK, &f.hasReplIdentIndex, &f.candidateIndex, &f.system); err != nil {
			return nil, classify(err, "reading the tables' definitions")
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "reading the tables' definitions")
	}
	return out, nil
}

// relationFindings judges one relation from its catalog facts. It is pure.
func relationFindings(f relFacts, byOID map[uint32]*relFacts, updatesPublished, viaRoot bool) []Finding {
	id := sqlquote.MustIdent(f.name.Schema, f.name.Name)
	fd := func(kind FindingKind, sev Severity, msg, fix string) Finding {
		return Finding{Table: f.name, Kind: kind, Severity: sev, Message: msg, Fix: fix}
	}
	if f.system {
		return []Finding{fd(FindingSystemTable, SeverityError, "is in a system schema; system catalogs cannot be published.",
			"leave it out of the publication.")}
	}
	switch f.kind {
	case "v":
		return []Finding{fd(FindingNotPublishable, SeverityError, "is a view; publications hold tables only.",
			"publish the view's base tables and create the view on the subscriber.")}
	case "m":
		return []Finding{fd(FindingNotPublishable, SeverityError, "is a materialized view; publications hold tables only.",
			"publish its base tables and run REFRESH MATERIALIZED VIEW "+id+" on the subscriber (or replace it with a table).")}
	case "f":
		return []Finding{fd(FindingNotPublishable, SeverityError, "is a foreign table; its rows live on another server and write no WAL here.",
			"replicate the table on the server that holds it, or copy its rows into a local table and publish that.")}
	case "S":
		return []Finding{fd(FindingNotPublishable, SeverityError, "is a sequence; logical replication does not replicate sequences.",
			"leave it out of the publication and copy its value at cutover with SyncSequences.")}
	case "r", "p":
	default:
		return []Finding{fd(FindingNotPublishable, SeverityError, fmt.Sprintf("is not a table (relkind %q) and cannot be published.", f.kind),
			"leave it out of the publication.")}
	}
	var out []Finding
	switch f.persistence {
	case "u":
		out = append(out, fd(FindingUnlogged, SeverityError, "is unlogged: it writes no WAL, so it cannot be published.",
			"ALTER TABLE "+id+" SET LOGGED;"))
	case "t":
		out = append(out, fd(FindingUnlogged, SeverityError, "is a temporary table and cannot be published.",
			"replicate a permanent table instead."))
	}
	if f.kind == "p" {
		if f.isPartition && !f.listed {
			return out // an intermediate level of a listed partitioned table
		}
		if viaRoot {
			out = append(out, fd(FindingPartitionedTable, SeverityInfo,
				"is partitioned; with publish_via_partition_root its partitions' changes are published as changes to "+f.name.String()+", so the subscriber may partition it differently or not at all.",
				""))
		} else {
			out = append(out, fd(FindingPartitionedTable, SeverityInfo,
				"is partitioned; without publish_via_partition_root its changes are published under each leaf partition's name, so the subscriber needs tables with those names.",
				"to publish them as "+f.name.String()+" instead: CREATE PUBLICATION ... WITH (publish_via_partition_root = true) or ALTER PUBLICATION ... SET (publish_via_partition_root = true)."))
		}
		return out // replica identity matters on the leaves, checked on their own
	}
	if f.isPartition && f.listed {
		fnd := fd(FindingPartition, SeverityInfo, "is a partition of "+f.root.String()+" listed on its own; its changes are published under its own name unless its root is published too with publish_via_partition_root.",
			"publish "+f.root.String()+" instead if every partition should replicate.")
		fnd.Root = f.root
		out = append(out, fnd)
	}
	sev := SeverityError
	consequence := "UPDATE and DELETE on it will fail once it is in a publication that publishes them (\"cannot update table because it does not have a replica identity and publishes updates\")."
	if !updatesPublished {
		sev = SeverityInfo
		consequence = "that is fine while the publication publishes neither UPDATE nor DELETE."
	}
	fix := "ALTER TABLE " + id + " ADD PRIMARY KEY (...); or, with no unique key, ALTER TABLE " + id + " REPLICA IDENTITY FULL; (slow on the subscriber)"
	if f.candidateIndex != "" {
		fix = "ALTER TABLE " + id + " REPLICA IDENTITY USING INDEX " + sqlquote.MustIdent(f.candidateIndex) + "; (a unique index on NOT NULL columns), or add a primary key."
	}
	switch f.replid {
	case "d":
		if !f.hasPK {
			out = append(out, fd(FindingNoReplicaIdentity, sev, "has no primary key, so no replica identity: "+consequence, fix))
		}
	case "n":
		if f.hasPK {
			fix = "ALTER TABLE " + id + " REPLICA IDENTITY DEFAULT; (it then uses the primary key)"
		}
		out = append(out, fd(FindingNoReplicaIdentity, sev, "has REPLICA IDENTITY NOTHING: "+consequence, fix))
	case "i":
		if !f.hasReplIdentIndex {
			out = append(out, fd(FindingNoReplicaIdentity, sev, "has REPLICA IDENTITY USING INDEX but the index is gone or invalid: "+consequence, fix))
		}
	case "f":
		out = append(out, fd(FindingReplicaIdentityFull, SeverityWarning,
			"has REPLICA IDENTITY FULL: every UPDATE and DELETE logs the whole old row, and the subscriber finds each row by scanning the table unless it has a usable index.",
			"add a primary key (or a unique index on NOT NULL columns) and ALTER TABLE "+id+" REPLICA IDENTITY DEFAULT (or USING INDEX ...)."))
	}
	return out
}

// columnFindings reports large-object columns, sequences feeding columns
// and generated columns of the relations.
func (c *Client) columnFindings(ctx context.Context, oids []uint32, byOID map[uint32]*relFacts) ([]Finding, error) {
	if len(oids) == 0 {
		return nil, nil
	}
	var out []Finding
	tableOK := func(o uint32) (*relFacts, bool) {
		f, ok := byOID[o]
		// Partitions reached through their root have the root's columns:
		// report those once, on the root.
		return f, ok && (f.kind == "r" || f.kind == "p") && !f.system && (f.listed || !f.isPartition)
	}
	rows, err := c.q.Query(ctx, `SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attgenerated::text
		FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
		LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
		WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
		AND (a.atttypid = 'oid'::regtype OR t.typname = 'lo' OR bt.oid = 'oid'::regtype OR a.attgenerated <> '')
		ORDER BY a.attrelid, a.attnum`, oids)
	if err != nil {
		return nil, classify(err, "reading the tables' columns")
	}
	for rows.Next() {
		var o uint32
		var col, typ, gen string
		if err := rows.Scan(&o, &col, &typ, &gen); err != nil {
			rows.Close()
			return nil, classify(err, "reading the tables' columns")
		}
		f, ok := tableOK(o)
		if !ok {
			continue
		}
		if gen != "" {
			out = append(out, Finding{Table: f.name, Kind: FindingGeneratedColumn, Severity: SeverityInfo, Column: col,
				Message: fmt.Sprintf("column %s is a stored generated column; its values are not replicated but computed on the subscriber.", displayIdent(col)),
				Fix:     "give the subscriber's column the same generation expression (or a plain column if it should hold the publisher's values)."})
			continue
		}
		out = append(out, Finding{Table: f.name, Kind: FindingLargeObject, Severity: SeverityWarning, Column: col,
			Message: fmt.Sprintf("column %s is of type %s: if it holds large-object OIDs, the large objects (pg_largeobject) are not replicated, and the subscriber's copies of the OIDs point at nothing.", displayIdent(col), typ),
			Fix:     "store the data in a bytea column instead, or copy the large objects separately (pg_dump --large-objects, or lo_export/lo_import) and keep the OIDs consistent."})
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "reading the tables' columns")
	}

	rows, err = c.q.Query(ctx, `SELECT t.relid, a.attname, sn.nspname, s.relname, t.how FROM (
			SELECT d.refobjid AS relid, d.refobjsubid AS attnum, d.objid AS seqid,
				CASE d.deptype WHEN 'i' THEN 'identity' ELSE 'serial' END AS how
			FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
			AND d.deptype IN ('a', 'i') AND d.refobjid = ANY($1) AND d.refobjsubid > 0
			UNION ALL
			SELECT ad.adrelid, ad.adnum, d.refobjid, 'default'
			FROM pg_attrdef ad JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
			AND d.refclassid = 'pg_class'::regclass
			WHERE ad.adrelid = ANY($1)) t
		JOIN pg_class s ON s.oid = t.seqid AND s.relkind = 'S'
		JOIN pg_namespace sn ON sn.oid = s.relnamespace
		JOIN pg_attribute a ON a.attrelid = t.relid AND a.attnum = t.attnum
		ORDER BY 1, 2, 3, 4, t.how = 'default'`, oids)
	if err != nil {
		return nil, classify(err, "reading the tables' sequences")
	}
	seen := map[string]bool{}
	for rows.Next() {
		var o uint32
		var col, how string
		var seq TableName
		if err := rows.Scan(&o, &col, &seq.Schema, &seq.Name, &how); err != nil {
			rows.Close()
			return nil, classify(err, "reading the tables' sequences")
		}
		f, ok := tableOK(o)
		if !ok {
			continue
		}
		key := f.name.String() + "\x00" + col + "\x00" + seq.String()
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, Finding{Table: f.name, Kind: FindingSequence, Severity: SeverityWarning, Column: col, Sequence: seq,
			Message: fmt.Sprintf("column %s takes values from sequence %s (%s), and sequence values are not replicated: after a cutover the subscriber's sequence would hand out values already used.", displayIdent(col), seq, how),
			Fix:     "at cutover, before writes start on the subscriber, copy the sequence values with SyncSequences."})
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "reading the tables' sequences")
	}
	return out, nil
}
