package pglogical

import (
	"context"
	"fmt"
	"strings"
)

// Actions is the set of DML a replication set replicates.
type Actions uint8

// The actions a replication set can replicate.
const (
	Insert Actions = 1 << iota
	Update
	Delete
	Truncate

	// AllActions replicates every kind of change (pglogical's default).
	AllActions = Insert | Update | Delete | Truncate
)

// String lists the actions, such as "insert,update".
func (a Actions) String() string {
	var parts []string
	for _, x := range []struct {
		a Actions
		s string
	}{{Insert, "insert"}, {Update, "update"}, {Delete, "delete"}, {Truncate, "truncate"}} {
		if a&x.a != 0 {
			parts = append(parts, x.s)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

func (a Actions) validate() error {
	if a&^AllActions != 0 {
		return invalid("replication set actions: unknown bits %#x; allowed: Insert, Update, Delete, Truncate", uint8(a&^AllActions))
	}
	if a == 0 {
		return invalid("replication set actions are empty; allowed: any of Insert, Update, Delete, Truncate (AllActions for all)")
	}
	return nil
}

// The replication sets every node has.
const (
	// DefaultSet replicates every action of its tables.
	DefaultSet = "default"
	// DefaultInsertOnlySet replicates inserts only; tables without a
	// primary key can be in it.
	DefaultInsertOnlySet = "default_insert_only"
	// DDLSet carries the DDL queued by replicate_ddl_command.
	DDLSet = "ddl_sql"
)

// DefaultReplicationSets are the sets a subscription gets when none are
// given, as in pglogical.create_subscription.
var DefaultReplicationSets = []string{DefaultSet, DefaultInsertOnlySet, DDLSet}

// ReplicationSet is a replication set of the local node.
type ReplicationSet struct {
	// ID is the set's oid.
	ID uint32
	// Name is the set name.
	Name string
	// Actions are the kinds of change it replicates.
	Actions Actions
	// Tables are its tables, in name order.
	Tables []SetTable
	// Sequences are its sequences, in name order.
	Sequences []Table
}

// SetTable is a table in a replication set.
type SetTable struct {
	// Table is the table, always schema-qualified.
	Table Table
	// Columns are the replicated columns; empty means all.
	Columns []string
	// RowFilter is the row filter expression, as PostgreSQL deparses it;
	// empty means every row.
	RowFilter string
}

// CreateReplicationSet creates a replication set on the local node
// (pglogical.create_replication_set) replicating the given actions.
func (c *Client) CreateReplicationSet(ctx context.Context, name string, actions Actions) error {
	return c.replicationSetActions(ctx, "create", name, actions)
}

// AlterReplicationSet sets the actions a replication set replicates
// (pglogical.alter_replication_set). All four flags are always passed, so
// none is left unchanged by a NULL.
func (c *Client) AlterReplicationSet(ctx context.Context, name string, actions Actions) error {
	return c.replicationSetActions(ctx, "alter", name, actions)
}

// replicationSetActions calls pglogical.<verb>_replication_set with every
// action flag given explicitly, and treats a NULL result as failure.
func (c *Client) replicationSetActions(ctx context.Context, verb, name string, actions Actions) error {
	if err := checkName("replication set name", name); err != nil {
		return err
	}
	if err := actions.validate(); err != nil {
		return err
	}
	fn := verb + "_replication_set" // "create" or "alter": fixed by the callers above
	var id *uint32
	op := fmt.Sprintf("%s replication set %q", verb, name)
	if err := c.q.QueryRow(ctx, "SELECT pglogical."+fn+"($1, $2, $3, $4, $5)",
		name, actions&Insert != 0, actions&Update != 0, actions&Delete != 0, actions&Truncate != 0).Scan(&id); err != nil {
		return wrap(op, err)
	}
	if id == nil {
		return fmt.Errorf("pglogical: %s: %s returned NULL: %w", op, fn, ErrNothingDone)
	}
	return nil
}

// DropReplicationSet drops a replication set
// (pglogical.drop_replication_set). With ifExists a missing set is not an
// error.
func (c *Client) DropReplicationSet(ctx context.Context, name string, ifExists bool) error {
	if err := checkName("replication set name", name); err != nil {
		return err
	}
	op := fmt.Sprintf("drop replication set %q", name)
	var ok *bool
	if err := c.q.QueryRow(ctx, "SELECT pglogical.drop_replication_set($1, $2)", name, ifExists).Scan(&ok); err != nil {
		return wrap(op, err)
	}
	if ok == nil {
		return checkResult(op, "pglogical.drop_replication_set", ok)
	}
	if !*ok && !ifExists {
		return fmt.Errorf("pglogical: %s: %w", op, &NotFoundError{Kind: "replication set", Name: name})
	}
	return nil
}

// TableOptions are the optional settings of AddTable.
type TableOptions struct {
	// Columns limits replication to these columns (they must include the
	// primary key); empty replicates all columns.
	Columns []string
	// RowFilter is an SQL boolean expression over the table's columns;
	// only rows for which it is true are replicated. It is passed as a
	// value, and pglogical parses it as an expression of this table.
	// Empty replicates every row.
	RowFilter string
	// Synchronize copies the table's existing rows to subscribers that
	// already subscribe to the set.
	Synchronize bool
}

// AddTable adds a table to a replication set
// (pglogical.replication_set_add_table). A table without a primary key can
// only be in a set that replicates neither updates nor deletes.
func (c *Client) AddTable(ctx context.Context, set string, t Table, opts *TableOptions) error {
	rel, err := setMember(set, t, "table")
	if err != nil {
		return err
	}
	var o TableOptions
	if opts != nil {
		o = *opts
	}
	for i, col := range o.Columns {
		if err := checkName(fmt.Sprintf("TableOptions.Columns[%d]", i), col); err != nil {
			return err
		}
	}
	if strings.IndexByte(o.RowFilter, 0) >= 0 {
		return invalid("TableOptions.RowFilter contains a NUL byte")
	}
	// replication_set_add_table is CALLED ON NULL INPUT: NULL columns and
	// row filter mean "all columns" and "every row", which is exactly
	// what empty options mean, so they are passed as NULL on purpose.
	var cols any
	if len(o.Columns) > 0 {
		cols = o.Columns
	}
	var filter any
	if strings.TrimSpace(o.RowFilter) != "" {
		filter = o.RowFilter
	}
	return c.callBool(ctx, fmt.Sprintf("add table %s to replication set %q", t, set), "pglogical.replication_set_add_table",
		"SELECT pglogical.replication_set_add_table($1, $2::text::regclass, $3, $4::text[], $5::text)", set, rel, o.Synchronize, cols, filter)
}

// RemoveTable removes a table from a replication set
// (pglogical.replication_set_remove_table).
func (c *Client) RemoveTable(ctx context.Context, set string, t Table) error {
	return c.removeFromSet(ctx, set, t, "table")
}

// AddAllTables adds every table of the given schemas to a replication set
// (pglogical.replication_set_add_all_tables); synchronize copies their
// rows to current subscribers.
func (c *Client) AddAllTables(ctx context.Context, set string, schemas []string, synchronize bool) error {
	return c.addAllToSet(ctx, set, "tables", schemas, synchronize)
}

// AddSequence adds a sequence to a replication set
// (pglogical.replication_set_add_sequence); synchronize sends its current
// state to subscribers at once.
func (c *Client) AddSequence(ctx context.Context, set string, seq Table, synchronize bool) error {
	rel, err := setMember(set, seq, "sequence")
	if err != nil {
		return err
	}
	return c.callBool(ctx, fmt.Sprintf("add sequence %s to replication set %q", seq, set), "pglogical.replication_set_add_sequence",
		"SELECT pglogical.replication_set_add_sequence($1, $2::text::regclass, $3)", set, rel, synchronize)
}

// AddAllSequences adds every sequence of the given schemas to a
// replication set (pglogical.replication_set_add_all_sequences).
func (c *Client) AddAllSequences(ctx context.Context, set string, schemas []string, synchronize bool) error {
	return c.addAllToSet(ctx, set, "sequences", schemas, synchronize)
}

// RemoveSequence removes a sequence from a replication set
// (pglogical.replication_set_remove_sequence).
func (c *Client) RemoveSequence(ctx context.Context, set string, seq Table) error {
	return c.removeFromSet(ctx, set, seq, "sequence")
}

// setMember validates a replication set name and a relation of the given
// kind ("table" or "sequence") and returns the relation as regclass text.
func setMember(set string, t Table, kind string) (string, error) {
	if err := checkName("replication set name", set); err != nil {
		return "", err
	}
	return t.regclass(kind)
}

// removeFromSet calls pglogical.replication_set_remove_<kind>, kind being
// "table" or "sequence" (fixed by the callers above).
func (c *Client) removeFromSet(ctx context.Context, set string, t Table, kind string) error {
	rel, err := setMember(set, t, kind)
	if err != nil {
		return err
	}
	fn := "pglogical.replication_set_remove_" + kind
	return c.callBool(ctx, fmt.Sprintf("remove %s %s from replication set %q", kind, t, set), fn,
		"SELECT "+fn+"($1, $2::text::regclass)", set, rel)
}

// addAllToSet calls pglogical.replication_set_add_all_<kinds>, kinds being
// "tables" or "sequences" (fixed by the callers above).
func (c *Client) addAllToSet(ctx context.Context, set, kinds string, schemas []string, synchronize bool) error {
	if err := checkName("replication set name", set); err != nil {
		return err
	}
	if len(schemas) == 0 {
		return invalid("schemas is empty; name at least one schema, such as public")
	}
	if err := checkNames("schemas", schemas); err != nil {
		return err
	}
	fn := "pglogical.replication_set_add_all_" + kinds
	return c.callBool(ctx, fmt.Sprintf("add all %s of %v to replication set %q", kinds, schemas, set), fn,
		"SELECT "+fn+"($1, $2::text[], $3)", set, schemas, synchronize)
}

// SynchronizeSequence pushes a sequence's current state to subscribers
// (pglogical.synchronize_sequence); run it on the provider.
func (c *Client) SynchronizeSequence(ctx context.Context, seq Table) error {
	rel, err := seq.regclass("sequence")
	if err != nil {
		return err
	}
	return c.callBool(ctx, fmt.Sprintf("synchronize sequence %s", seq), "pglogical.synchronize_sequence",
		"SELECT pglogical.synchronize_sequence($1::text::regclass)", rel)
}

// ReplicationSets lists the local node's replication sets with their
// tables and sequences.
func (c *Client) ReplicationSets(ctx context.Context) ([]ReplicationSet, error) {
	rows, err := c.q.Query(ctx, `SELECT s.set_id, s.set_name::text, s.replicate_insert, s.replicate_update,
			s.replicate_delete, s.replicate_truncate
		FROM pglogical.replication_set s JOIN pglogical.local_node l ON l.node_id = s.set_nodeid
		ORDER BY s.set_name`)
	if err != nil {
		return nil, wrap("listing replication sets", err)
	}
	var sets []ReplicationSet
	index := map[uint32]int{}
	for rows.Next() {
		var s ReplicationSet
		var ins, upd, del, trunc bool
		if err := rows.Scan(&s.ID, &s.Name, &ins, &upd, &del, &trunc); err != nil {
			rows.Close()
			return nil, wrap("listing replication sets", err)
		}
		for _, f := range []struct {
			on bool
			a  Actions
		}{{ins, Insert}, {upd, Update}, {del, Delete}, {trunc, Truncate}} {
			if f.on {
				s.Actions |= f.a
			}
		}
		index[s.ID] = len(sets)
		sets = append(sets, s)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("listing replication sets", err)
	}

	rows, err = c.q.Query(ctx, `SELECT t.set_id, n.nspname::text, c.relname::text, t.set_att_list,
			pg_catalog.pg_get_expr(t.set_row_filter, t.set_reloid)
		FROM pglogical.replication_set_table t
		JOIN pg_catalog.pg_class c ON c.oid = t.set_reloid
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		ORDER BY n.nspname, c.relname`)
	if err != nil {
		return nil, wrap("listing replication set tables", err)
	}
	for rows.Next() {
		var id uint32
		var st SetTable
		var filter *string
		if err := rows.Scan(&id, &st.Table.Schema, &st.Table.Name, &st.Columns, &filter); err != nil {
			rows.Close()
			return nil, wrap("listing replication set tables", err)
		}
		st.RowFilter = deref(filter)
		if i, ok := index[id]; ok {
			sets[i].Tables = append(sets[i].Tables, st)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("listing replication set tables", err)
	}

	rows, err = c.q.Query(ctx, `SELECT q.set_id, n.nspname::text, c.relname::text
		FROM pglogical.replication_set_seq q
		JOIN pg_catalog.pg_class c ON c.oid = q.set_seqoid
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		ORDER BY n.nspname, c.relname`)
	if err != nil {
		return nil, wrap("listing replication set sequences", err)
	}
	for rows.Next() {
		var id uint32
		var t Table
		if err := rows.Scan(&id, &t.Schema, &t.Name); err != nil {
			rows.Close()
			return nil, wrap("listing replication set sequences", err)
		}
		if i, ok := index[id]; ok {
			sets[i].Sequences = append(sets[i].Sequences, t)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("listing replication set sequences", err)
	}
	return sets, nil
}

// ReplicateDDL runs a DDL command here and queues it for the subscribers
// of the given replication sets (pglogical.replicate_ddl_command); empty
// sets means pglogical's default, {ddl_sql}. The command should
// schema-qualify every object, because subscribers run it with an empty
// search_path.
func (c *Client) ReplicateDDL(ctx context.Context, command string, sets []string) error {
	if strings.TrimSpace(command) == "" {
		return invalid("DDL command is empty")
	}
	if strings.IndexByte(command, 0) >= 0 {
		return invalid("DDL command contains a NUL byte")
	}
	if len(sets) == 0 {
		sets = []string{DDLSet}
	}
	if err := checkNames("replication sets", sets); err != nil {
		return err
	}
	return c.callBool(ctx, "replicate DDL command", "pglogical.replicate_ddl_command",
		"SELECT pglogical.replicate_ddl_command($1, $2::text[])", command, sets)
}
