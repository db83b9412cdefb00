package logical

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/conninfo"
	"github.com/pgaurora/pgaurora/internal/redact"
	"github.com/pgaurora/pgaurora/internal/secretsql"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// RDSReplicationRole is the role Amazon RDS and Aurora grant for
// replication instead of the REPLICATION attribute, which only the
// rdsadmin superuser may give.
const RDSReplicationRole = "rds_replication"

// ReplicationGrant returns the statement that lets the role named role
// replicate on q's server: GRANT rds_replication TO the role where the
// server has RDSReplicationRole (RDS and Aurora), ALTER ROLE ... WITH
// REPLICATION otherwise (plain PostgreSQL). how is what it gives:
// RDSReplicationRole or "REPLICATION". It only reads; the caller runs
// the statement.
func ReplicationGrant(ctx context.Context, q pgaurora.Querier, role string) (stmt, how string, err error) {
	ident, err := sqlquote.Ident(role)
	if err != nil {
		return "", "", invalid("role name: %v", err)
	}
	var hasRDS bool
	if err := q.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)", RDSReplicationRole).Scan(&hasRDS); err != nil {
		return "", "", fmt.Errorf("looking up %s: %w", RDSReplicationRole, err)
	}
	if hasRDS {
		return "GRANT " + sqlquote.MustIdent(RDSReplicationRole) + " TO " + ident, RDSReplicationRole, nil
	}
	return "ALTER ROLE " + ident + " WITH REPLICATION", "REPLICATION", nil
}

// CDCUserSpec describes a dedicated role for a change-data-capture tool
// (Debezium, AWS DMS and others) that reads a logical replication slot.
type CDCUserSpec struct {
	// Name is the role's name.
	Name string
	// Password is the role's password. It never reaches the server in
	// plain text when it is ASCII (the SCRAM-SHA-256 verifier is computed
	// here, as psql's \password does) and never reaches an error or log.
	Password string
	// Schemas are schemas whose tables the tool snapshots: the role gets
	// USAGE on them, SELECT on their tables, and SELECT on tables the
	// calling role creates there later (ALTER DEFAULT PRIVILEGES).
	Schemas []string
}

// String describes the spec with its password REDACTED.
func (s CDCUserSpec) String() string {
	pw := `""`
	if s.Password != "" {
		pw = conninfo.Redacted
	}
	return fmt.Sprintf("CDCUserSpec{Name: %q, Password: %s, Schemas: %q}", s.Name, pw, s.Schemas)
}

// Format, GoString, LogValue and MarshalJSON print the spec without its
// password, for every verb.
func (s CDCUserSpec) Format(f fmt.State, verb rune) { redact.Format(f, verb, s.String(), s.GoString()) }
func (s CDCUserSpec) GoString() string              { return redact.GoString("logical.CDCUserSpec", s.String()) }
func (s CDCUserSpec) LogValue() slog.Value          { return slog.StringValue(s.String()) }

// MarshalJSON encodes the spec without its password.
func (s CDCUserSpec) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name    string   `json:"name"`
		Schemas []string `json:"schemas,omitempty"`
	}{s.Name, s.Schemas})
}

// CDCUser reports what CreateCDCUser did.
type CDCUser struct {
	// Name is the role created.
	Name string
	// Replication says how the role may replicate: "rds_replication"
	// (granted that role) or "REPLICATION" (the role attribute).
	Replication string
	// Statements are the statements run, in order, with the password
	// replaced by REDACTED.
	Statements []string
}

// CreateCDCUser creates a login role for a CDC tool, able to create and
// read logical replication slots: it is granted rds_replication where that
// role exists (Amazon RDS and Aurora), or given the REPLICATION attribute
// otherwise; and it may read the tables of spec.Schemas.
//
// Everything runs in one transaction, so a failure leaves nothing behind.
// CREATE ROLE cannot take its password as a bind parameter, so it carries
// a SCRAM-SHA-256 verifier computed here instead of the password, and
// runs with statement logging, pgAudit and statement statistics off (the
// SDK's one secret path: see the pgaurora package). The password must be
// printable ASCII (pgaurora.ErrPassword otherwise). The client's Querier
// must lend one connection (a pool, a connection or a transaction), and
// the calling role must be allowed to change the log settings and create
// roles (rds_superuser on Aurora), or the call fails with
// pgaurora.ErrLogSuppression before anything is created. An existing role
// gives an error matching ErrAlreadyExists.
func (c *Client) CreateCDCUser(ctx context.Context, spec CDCUserSpec) (CDCUser, error) {
	role, err := sqlquote.Ident(spec.Name)
	if err != nil {
		return CDCUser{}, invalid("Name: %v", err)
	}
	secret, err := secretsql.PasswordLiteral("CDCUserSpec.Password", spec.Password)
	if err != nil {
		return CDCUser{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	schemas, err := idents("Schemas", spec.Schemas)
	if err != nil {
		return CDCUser{}, err
	}

	p, err := secretsql.Pin(ctx, c.q)
	if err != nil {
		return CDCUser{}, err
	}
	defer p.Release()
	out := CDCUser{Name: spec.Name}
	err = p.Tx(ctx, func(conn *pgx.Conn) error {
		create, err := p.SetLoginPassword(ctx, role, secret, spec.Password, true)
		if err != nil {
			return fmt.Errorf("creating the role: %w", err)
		}
		out.Statements = append(out.Statements, create)
		grant, how, err := ReplicationGrant(ctx, conn, spec.Name)
		if err != nil {
			return err
		}
		stmts := []string{grant}
		out.Replication = how
		for _, s := range schemas {
			stmts = append(stmts,
				"GRANT USAGE ON SCHEMA "+s+" TO "+role,
				"GRANT SELECT ON ALL TABLES IN SCHEMA "+s+" TO "+role,
				"ALTER DEFAULT PRIVILEGES IN SCHEMA "+s+" GRANT SELECT ON TABLES TO "+role)
		}
		ran, failed, err := p.ExecAll(ctx, stmts)
		out.Statements = append(out.Statements, ran...)
		if err != nil {
			return fmt.Errorf("%s: %w", failed, err)
		}
		return nil
	})
	if err != nil {
		return CDCUser{}, classify(err, fmt.Sprintf("creating CDC user %q", spec.Name))
	}
	return out, nil
}

// DropCDCUser drops a role made by CreateCDCUser: its privileges and
// default privileges in the client's database are revoked (DROP OWNED),
// then the role is dropped. A role that still has privileges or objects
// in other databases cannot be dropped; run DROP OWNED BY there first.
// Slots the tool created are not dropped: see DropSlot.
func (c *Client) DropCDCUser(ctx context.Context, name string) error {
	role, err := sqlquote.Ident(name)
	if err != nil {
		return invalid("role name: %v", err)
	}
	if _, err := c.q.Exec(ctx, "DROP OWNED BY "+role); err != nil {
		return classify(err, fmt.Sprintf("dropping CDC user %q: revoking its privileges", name))
	}
	_, err = c.q.Exec(ctx, "DROP ROLE "+role)
	return classify(err, fmt.Sprintf("dropping CDC user %q", name))
}

// Plugin is a logical decoding output plugin.
type Plugin string

// Output plugins for CDC slots.
const (
	// PluginPgoutput is PostgreSQL's built-in plugin, used by
	// subscriptions and by Debezium's default connector.
	PluginPgoutput Plugin = "pgoutput"
	// PluginWal2JSON emits changes as JSON; Aurora ships it. See
	// Client.PeekWal2JSON.
	PluginWal2JSON Plugin = "wal2json"
)

// Slot is a replication slot as created.
type Slot struct {
	// Name and Plugin are the slot's.
	Name   string
	Plugin Plugin
	// LSN is the slot's consistent point: decoding returns the changes
	// committed after it.
	LSN pgaurora.LSN
}

// CreateSlot creates a logical replication slot in the client's database
// (pg_create_logical_replication_slot). From then on the server keeps
// every WAL segment the slot has not consumed: a slot nobody reads fills
// the disk. Watch slots with a Monitor. Names hold lower-case letters,
// digits and underscores. An existing slot gives an error matching
// ErrAlreadyExists.
func (c *Client) CreateSlot(ctx context.Context, name string, plugin Plugin) (Slot, error) {
	if err := checkSlotName(name); err != nil {
		return Slot{}, err
	}
	if plugin != PluginPgoutput && plugin != PluginWal2JSON {
		return Slot{}, invalid("plugin is %q; allowed: pgoutput, wal2json", plugin)
	}
	s := Slot{Name: name, Plugin: plugin}
	err := c.q.QueryRow(ctx, "SELECT lsn::text FROM pg_create_logical_replication_slot($1, $2)", name, string(plugin)).Scan(&s.LSN)
	if err != nil {
		var hint string
		if strings.Contains(err.Error(), "output_plugin_libraries") || strings.Contains(err.Error(), "could not access file") {
			hint = " (the server does not offer this output plugin)"
		}
		return Slot{}, classify(err, fmt.Sprintf("creating slot %q with %s%s", name, plugin, hint))
	}
	return s, nil
}

// DropSlot drops a replication slot (pg_drop_replication_slot), releasing
// the WAL it retains. A slot in use gives an error matching
// ErrSlotActive, a missing one ErrNotFound. Slots of subscriptions are
// dropped with the subscription (DropSubscription); drop them here only
// when the subscription is gone.
func (c *Client) DropSlot(ctx context.Context, name string) error {
	if err := checkSlotName(name); err != nil {
		return err
	}
	_, err := c.q.Exec(ctx, "SELECT pg_drop_replication_slot($1)", name)
	return classify(err, fmt.Sprintf("dropping slot %q", name))
}

// AdvanceSlot moves a slot's confirmed position to lsn (or as far as WAL
// has been written, when lsn is past it), so that the server may recycle
// the WAL before it: what a consumer does after it has durably processed
// the changes up to lsn (see PeekWal2JSON). It returns the position
// reached.
func (c *Client) AdvanceSlot(ctx context.Context, name string, lsn pgaurora.LSN) (pgaurora.LSN, error) {
	if err := checkSlotName(name); err != nil {
		return 0, err
	}
	var end pgaurora.LSN
	err := c.q.QueryRow(ctx, "SELECT end_lsn::text FROM pg_replication_slot_advance($1, $2::pg_lsn)", name, lsn).Scan(&end)
	return end, classify(err, fmt.Sprintf("advancing slot %q", name))
}

// PeekOptions tunes PeekWal2JSON. A nil *PeekOptions reads every pending
// change, without transaction records.
type PeekOptions struct {
	// UptoLSN, when not zero, stops at changes committed at or before
	// this WAL position.
	UptoLSN pgaurora.LSN
	// UptoChanges stops after about this many records (whole
	// transactions are returned); 0 means no limit.
	UptoChanges int
	// Tables keeps only the changes of these tables (wal2json's
	// add-tables); each needs its schema.
	Tables []TableName
	// Transactions includes begin and commit records (KindBegin,
	// KindCommit) around each transaction's changes.
	Transactions bool
}

// PeekWal2JSON reads the pending changes of a wal2json slot in the
// client's database without consuming them
// (pg_logical_slot_peek_changes with wal2json's format-version 2, one
// record per change) and returns them as typed records, in commit order.
// Every record carries its WAL position, transaction ID and commit time;
// updates and deletes carry the old key (the replica identity's columns;
// every old column with REPLICA IDENTITY FULL). Peeking again returns the
// same changes until the slot is advanced (AdvanceSlot). Decoding reads
// flushed WAL only: changes committed with synchronous_commit off appear
// once the WAL writer has flushed them (within wal_writer_delay).
func (c *Client) PeekWal2JSON(ctx context.Context, slot string, opts *PeekOptions) ([]DataChange, error) {
	if opts == nil {
		opts = &PeekOptions{}
	}
	if err := checkSlotName(slot); err != nil {
		return nil, err
	}
	var upto *pgaurora.LSN
	if opts.UptoLSN != 0 {
		upto = &opts.UptoLSN
	}
	if opts.UptoChanges < 0 {
		return nil, invalid("UptoChanges is %d; it must be zero (no limit) or more", opts.UptoChanges)
	}
	var n *int
	if opts.UptoChanges > 0 {
		n = &opts.UptoChanges
	}
	args := []any{slot, upto, n,
		"format-version", "2", "include-transaction", strconv.FormatBool(opts.Transactions),
		"include-timestamp", "true", "include-type-oids", "true", "include-pk", "true"}
	if len(opts.Tables) > 0 {
		var parts []string
		for i, t := range opts.Tables {
			if t.Schema == "" || t.Name == "" {
				return nil, invalid("Tables[%d]: give both Schema and Name", i)
			}
			parts = append(parts, wal2jsonEscape(t.Schema)+"."+wal2jsonEscape(t.Name))
		}
		args = append(args, "add-tables", strings.Join(parts, ","))
	}
	var ph []string
	for i := 4; i <= len(args); i++ {
		ph = append(ph, "$"+strconv.Itoa(i))
	}
	rows, err := c.q.Query(ctx, "SELECT lsn::text, xid::text::int8, data FROM pg_logical_slot_peek_changes($1, $2::pg_lsn, $3::int, "+
		strings.Join(ph, ", ")+")", args...)
	if err != nil {
		return nil, classify(err, fmt.Sprintf("peeking at slot %q", slot))
	}
	defer rows.Close()
	var out []DataChange
	sc := w2jScanner{intern: map[string]string{}}
	for rows.Next() {
		var lsn pgaurora.LSN
		var xid int64
		var data []byte
		if err := rows.Scan(&lsn, &xid, &data); err != nil {
			return nil, classify(err, fmt.Sprintf("peeking at slot %q", slot))
		}
		ch, err := sc.parseRecord(data) // values alias data, which Scan allocated
		if err != nil {
			return nil, fmt.Errorf("logical: peeking at slot %q: change at %s: %w", slot, lsn, err)
		}
		if ch.LSN == 0 {
			ch.LSN = lsn
		}
		if ch.XID == 0 {
			ch.XID = uint32(xid)
		}
		out = append(out, ch)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, fmt.Sprintf("peeking at slot %q", slot))
	}
	return out, nil
}

// wal2jsonEscape escapes the characters wal2json's table filters treat
// specially: comma, dot, asterisk, backslash and space.
func wal2jsonEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '.', '*', '\\', ' ':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
