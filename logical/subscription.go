package logical

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/secretsql"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// SubscriptionSpec describes a subscription to create on the subscriber.
// The zero values of the boolean fields are PostgreSQL's defaults: the
// subscription is enabled, creates its slot on the publisher and copies
// the existing rows first.
type SubscriptionSpec struct {
	// Name is the subscription's name; the slot on the publisher gets it
	// too unless SlotName is set.
	Name string
	// Conn is the connection to the publisher's database. Its password
	// is stored in pg_subscription (readable by superusers only); the SDK
	// sends it with statement logging off and never prints it.
	Conn pgaurora.ConnString
	// Publications are the publisher's publications to subscribe to.
	Publications []string
	// Disabled creates the subscription without starting it (enabled =
	// false); start it with EnableSubscription.
	Disabled bool
	// SkipCopyData does not copy the rows that exist when the
	// subscription starts (copy_data = false): use it when the subscriber
	// already has them, for example restored from a snapshot.
	SkipCopyData bool
	// SkipCreateSlot uses an existing slot on the publisher, named
	// SlotName, instead of creating one (create_slot = false).
	SkipCreateSlot bool
	// SlotName names the slot on the publisher; empty means Name.
	SlotName string
	// SynchronousCommit is the apply worker's synchronous_commit: off
	// (the default), local, remote_write, remote_apply or on.
	SynchronousCommit string
	// Binary asks the publisher for binary values (PostgreSQL 14+).
	Binary bool
	// Streaming applies large in-progress transactions as they stream
	// (PostgreSQL 14+).
	Streaming bool
	// TwoPhase replicates prepared transactions at PREPARE (PostgreSQL
	// 15+).
	TwoPhase bool
	// DisableOnError disables the subscription when the apply worker
	// fails, instead of retrying forever (PostgreSQL 15+).
	DisableOnError bool
}

// SubscriptionOptions changes a subscription's options (ALTER
// SUBSCRIPTION ... SET). Nil fields are left as they are.
type SubscriptionOptions struct {
	// SlotName renames the slot the subscription uses; "" is refused (use
	// DropSubscriptionOptions.KeepSlot to detach a slot).
	SlotName *string
	// SynchronousCommit, Binary, Streaming and DisableOnError are as in
	// SubscriptionSpec.
	SynchronousCommit *string
	Binary            *bool
	Streaming         *bool
	DisableOnError    *bool
}

// DropSubscriptionOptions tunes DropSubscription.
type DropSubscriptionOptions struct {
	// IfExists makes dropping a missing subscription succeed.
	IfExists bool
	// KeepSlot detaches the slot before dropping the subscription, so
	// the publisher is not contacted and its slot stays: needed when the
	// publisher is unreachable. The kept slot retains WAL on the publisher
	// until it is dropped there (Client.DropSlot).
	KeepSlot bool
}

// SyncState is a table's synchronization state in a subscription
// (pg_subscription_rel.srsubstate).
type SyncState string

// The synchronization states a subscribed table goes through, in order.
const (
	SyncInit         SyncState = "init"          // i: waiting for a sync worker
	SyncDataCopy     SyncState = "data-copy"     // d: copying the existing rows
	SyncFinishedCopy SyncState = "finished-copy" // f: copy done, catching up (14+)
	SyncSynchronized SyncState = "synchronized"  // s: handing over to the apply worker
	SyncReady        SyncState = "ready"         // r: replicating normally
)

func syncStateOf(code string) SyncState {
	switch code {
	case "i":
		return SyncInit
	case "d":
		return SyncDataCopy
	case "f":
		return SyncFinishedCopy
	case "s":
		return SyncSynchronized
	case "r":
		return SyncReady
	}
	return SyncState("unknown (" + code + ")")
}

// SubscribedTable is one table of a subscription and its sync state.
type SubscribedTable struct {
	// Table is the subscriber's table.
	Table TableName
	// State is where its initial synchronization stands.
	State SyncState
	// LSN is the publisher's WAL position the sync reached (for the
	// synchronized and ready states), zero otherwise.
	LSN pgaurora.LSN
}

// Subscription is a subscription as the subscriber describes it.
type Subscription struct {
	// Name and Owner name the subscription and its owning role.
	Name, Owner string
	// Enabled is false when the subscription is disabled.
	Enabled bool
	// Conn is the connection to the publisher, with its password (print
	// it freely: it is redacted). Empty when the role may not read
	// pg_subscription.subconninfo or it could not be parsed.
	Conn pgaurora.ConnString
	// SlotName is the slot on the publisher; empty when detached (NONE).
	SlotName string
	// SynchronousCommit is the apply worker's synchronous_commit.
	SynchronousCommit string
	// Publications are the publisher's publications.
	Publications []string
	// Binary, Streaming and DisableOnError are the subscription's
	// options (false where the server lacks them).
	Binary, Streaming, DisableOnError bool
	// Tables are the subscribed tables with their sync states, in name
	// order.
	Tables []SubscribedTable
	// WorkerPID is the apply worker's process ID, 0 when none runs.
	WorkerPID int
	// ReceivedLSN is the last WAL position the apply worker received.
	ReceivedLSN pgaurora.LSN
	// LastMessage is when the apply worker last heard from the
	// publisher; zero when unknown.
	LastMessage time.Time
	// ApplyErrors and SyncErrors count the apply and table sync worker
	// failures since the statistics were reset (PostgreSQL 15+).
	ApplyErrors, SyncErrors int64
}

// Synced reports whether every table is ready.
func (s Subscription) Synced() bool {
	for _, t := range s.Tables {
		if t.State != SyncReady {
			return false
		}
	}
	return true
}

var syncCommitValues = []string{"off", "local", "remote_write", "remote_apply", "on"}

func checkSyncCommit(v string) error {
	if !slices.Contains(syncCommitValues, v) {
		return invalid("SynchronousCommit is %q; allowed: off, local, remote_write, remote_apply, on", v)
	}
	return nil
}

// connLiteral quotes the connection string for SQL text. It fails on an
// empty pgaurora.ConnString.
func connLiteral(conn pgaurora.ConnString) (string, error) {
	if conn.IsZero() {
		return "", invalid("Conn is empty; give the publisher's host, port, dbname and user")
	}
	lit, err := sqlquote.Literal(conn.Reveal())
	// The E'' form comes with a leading space; the statement has its own.
	return strings.TrimLeft(lit, " "), err
}

// createSubscriptionSQL builds CREATE SUBSCRIPTION for a server version.
// The result holds the connection string's password.
func createSubscriptionSQL(spec SubscriptionSpec, version int) (string, error) {
	name, err := sqlquote.Ident(spec.Name)
	if err != nil {
		return "", invalid("Name: %v", err)
	}
	if len(spec.Publications) == 0 {
		return "", invalid("Publications is empty; name at least one publication of the publisher")
	}
	pubs, err := idents("Publications", spec.Publications)
	if err != nil {
		return "", err
	}
	conn, err := connLiteral(spec.Conn)
	if err != nil {
		return "", err
	}
	var with []string
	if spec.Disabled {
		with = append(with, "enabled = false")
	}
	if spec.SkipCopyData {
		with = append(with, "copy_data = false")
	}
	if spec.SkipCreateSlot {
		if spec.SlotName == "" {
			return "", invalid("SkipCreateSlot needs SlotName: the existing slot on the publisher")
		}
		with = append(with, "create_slot = false")
	}
	if spec.SlotName != "" {
		lit, err := slotNameLiteral(spec.SlotName)
		if err != nil {
			return "", err
		}
		with = append(with, "slot_name = "+lit)
	}
	if spec.SynchronousCommit != "" {
		if err := checkSyncCommit(spec.SynchronousCommit); err != nil {
			return "", err
		}
		with = append(with, "synchronous_commit = "+sqlquoteLiteral(spec.SynchronousCommit))
	}
	flags := []struct {
		on      bool
		option  string
		need    int
		feature string
	}{
		{spec.Binary, "binary", version14, "binary subscriptions"},
		{spec.Streaming, "streaming", version14, "streaming subscriptions"},
		{spec.TwoPhase, "two_phase", version15, "two-phase subscriptions"},
		{spec.DisableOnError, "disable_on_error", version15, "disable_on_error"},
	}
	for _, f := range flags {
		if !f.on {
			continue
		}
		if version < f.need {
			return "", &VersionError{Feature: f.feature, Need: f.need, Have: version}
		}
		with = append(with, f.option+" = true")
	}
	sql := "CREATE SUBSCRIPTION " + name + " CONNECTION " + conn + " PUBLICATION " + strings.Join(pubs, ", ")
	if len(with) > 0 {
		sql += " WITH (" + strings.Join(with, ", ") + ")"
	}
	return sql, nil
}

// sqlquoteLiteral quotes a value the SDK has already checked against a
// fixed set of words.
func sqlquoteLiteral(s string) string {
	lit, err := sqlquote.Literal(s)
	if err != nil {
		panic(err)
	}
	return lit
}

// slotNameLiteral checks a replication slot name (lower-case letters,
// digits and underscores, at most 63 bytes) and quotes it.
func slotNameLiteral(name string) (string, error) {
	if err := checkSlotName(name); err != nil {
		return "", err
	}
	return sqlquote.Literal(name)
}

func checkSlotName(name string) error {
	if name == "" || len(name) > sqlquote.MaxIdentifierLength {
		return invalid("slot name %q must be 1 to 63 characters long", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return invalid("slot name %q may hold only lower-case letters, digits and underscores", name)
		}
	}
	return nil
}

// CreateSubscription creates a subscription (CREATE SUBSCRIPTION) in the
// client's database, which connects to the publisher, creates the slot
// there (unless SkipCreateSlot) and starts copying (unless Disabled or
// SkipCopyData). Wait for the copy with WaitSync.
//
// When the connection string has a password, the statement runs on one
// connection with statement logging, pgAudit and statement statistics
// turned off around it, so that nothing records the password (see the
// package documentation). Creating the slot cannot happen inside a
// transaction block, so the client's Querier must then be a pool
// (*pgxpool.Pool, *aurora.Pool) or an idle *pgx.Conn; with SkipCreateSlot
// a pgx.Tx works too. The role must be allowed to set the log parameters
// (a superuser, rds_superuser on Aurora); otherwise the call fails with
// pgaurora.ErrLogSuppression before sending the password.
func (c *Client) CreateSubscription(ctx context.Context, spec SubscriptionSpec) error {
	v, err := c.ServerVersion(ctx)
	if err != nil {
		return err
	}
	sql, err := createSubscriptionSQL(spec, v)
	if err != nil {
		return err
	}
	doing := fmt.Sprintf("creating subscription %q", spec.Name)
	if secrets := secretsql.ConnSecrets(spec.Conn); len(secrets) > 0 {
		err := secretsql.Run(ctx, c.q, secretsql.Statement{SQL: sql, Secrets: secrets, OutsideTx: !spec.SkipCreateSlot})
		return classify(err, doing)
	}
	_, err = c.q.Exec(ctx, sql)
	return classify(err, doing)
}

func subIdent(name string) (string, error) {
	q, err := sqlquote.Ident(name)
	if err != nil {
		return "", invalid("subscription name: %v", err)
	}
	return q, nil
}

func (c *Client) alterSubscription(ctx context.Context, name, clause, doing string) error {
	q, err := subIdent(name)
	if err != nil {
		return err
	}
	_, err = c.q.Exec(ctx, "ALTER SUBSCRIPTION "+q+" "+clause)
	return classify(err, fmt.Sprintf("%s subscription %q", doing, name))
}

// EnableSubscription starts a disabled subscription's apply worker.
func (c *Client) EnableSubscription(ctx context.Context, name string) error {
	return c.alterSubscription(ctx, name, "ENABLE", "enabling")
}

// DisableSubscription stops a subscription's apply worker. Its slot on
// the publisher stays and retains WAL until the subscription is enabled
// again or dropped.
func (c *Client) DisableSubscription(ctx context.Context, name string) error {
	return c.alterSubscription(ctx, name, "DISABLE", "disabling")
}

// RefreshSubscription fetches the publications' current table lists
// (ALTER SUBSCRIPTION ... REFRESH PUBLICATION): new tables start
// synchronizing, copying their rows when copyData is set; dropped tables
// stop replicating. It cannot run inside a transaction block.
func (c *Client) RefreshSubscription(ctx context.Context, name string, copyData bool) error {
	return c.alterSubscription(ctx, name, fmt.Sprintf("REFRESH PUBLICATION WITH (copy_data = %t)", copyData), "refreshing")
}

// SetSubscriptionConn replaces the subscription's connection to the
// publisher (ALTER SUBSCRIPTION ... CONNECTION), with the same care for
// the password as CreateSubscription.
func (c *Client) SetSubscriptionConn(ctx context.Context, name string, conn pgaurora.ConnString) error {
	q, err := subIdent(name)
	if err != nil {
		return err
	}
	lit, err := connLiteral(conn)
	if err != nil {
		return err
	}
	sql := "ALTER SUBSCRIPTION " + q + " CONNECTION " + lit
	doing := fmt.Sprintf("setting the connection of subscription %q", name)
	if secrets := secretsql.ConnSecrets(conn); len(secrets) > 0 {
		return classify(secretsql.Run(ctx, c.q, secretsql.Statement{SQL: sql, Secrets: secrets}), doing)
	}
	_, err = c.q.Exec(ctx, sql)
	return classify(err, doing)
}

func (c *Client) subscriptionPublications(ctx context.Context, name, verb string, pubs []string, refresh bool) error {
	if len(pubs) == 0 {
		return invalid("no publications given")
	}
	qs, err := idents("publications", pubs)
	if err != nil {
		return err
	}
	if verb != "SET" {
		if err := c.require(ctx, version14, "ALTER SUBSCRIPTION ... ADD/DROP PUBLICATION"); err != nil {
			return err
		}
	}
	return c.alterSubscription(ctx, name, fmt.Sprintf("%s PUBLICATION %s WITH (refresh = %t)", verb, strings.Join(qs, ", "), refresh),
		"changing the publications of")
}

// SetSubscriptionPublications replaces the publications a subscription
// reads. With refresh set the table list is refreshed at once (copying
// new tables' rows), which cannot run inside a transaction block.
func (c *Client) SetSubscriptionPublications(ctx context.Context, name string, publications []string, refresh bool) error {
	return c.subscriptionPublications(ctx, name, "SET", publications, refresh)
}

// AddSubscriptionPublications adds publications to a subscription
// (PostgreSQL 14+); refresh as in SetSubscriptionPublications.
func (c *Client) AddSubscriptionPublications(ctx context.Context, name string, publications []string, refresh bool) error {
	return c.subscriptionPublications(ctx, name, "ADD", publications, refresh)
}

// DropSubscriptionPublications removes publications from a subscription
// (PostgreSQL 14+); refresh as in SetSubscriptionPublications.
func (c *Client) DropSubscriptionPublications(ctx context.Context, name string, publications []string, refresh bool) error {
	return c.subscriptionPublications(ctx, name, "DROP", publications, refresh)
}

// SetSubscriptionOptions changes a subscription's options (ALTER
// SUBSCRIPTION ... SET (...)).
func (c *Client) SetSubscriptionOptions(ctx context.Context, name string, opts SubscriptionOptions) error {
	var with []string
	if opts.SlotName != nil {
		lit, err := slotNameLiteral(*opts.SlotName)
		if err != nil {
			return err
		}
		with = append(with, "slot_name = "+lit)
	}
	if opts.SynchronousCommit != nil {
		if err := checkSyncCommit(*opts.SynchronousCommit); err != nil {
			return err
		}
		with = append(with, "synchronous_commit = "+sqlquoteLiteral(*opts.SynchronousCommit))
	}
	flags := []struct {
		v       *bool
		option  string
		need    int
		feature string
	}{
		{opts.Binary, "binary", version14, "binary subscriptions"},
		{opts.Streaming, "streaming", version14, "streaming subscriptions"},
		{opts.DisableOnError, "disable_on_error", version15, "disable_on_error"},
	}
	for _, f := range flags {
		if f.v == nil {
			continue
		}
		if err := c.require(ctx, f.need, f.feature); err != nil {
			return err
		}
		with = append(with, fmt.Sprintf("%s = %t", f.option, *f.v))
	}
	if len(with) == 0 {
		return invalid("SubscriptionOptions sets nothing")
	}
	return c.alterSubscription(ctx, name, "SET ("+strings.Join(with, ", ")+")", "setting the options of")
}

// DropSubscription drops a subscription, which also drops its slot on the
// publisher (unless opts.KeepSlot); that needs the publisher reachable,
// and cannot run inside a transaction block. A missing subscription gives
// an error matching ErrNotFound unless opts.IfExists.
func (c *Client) DropSubscription(ctx context.Context, name string, opts *DropSubscriptionOptions) error {
	if opts == nil {
		opts = &DropSubscriptionOptions{}
	}
	q, err := subIdent(name)
	if err != nil {
		return err
	}
	if opts.KeepSlot {
		var exists bool
		if err := c.q.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_subscription WHERE subname = $1 AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()))", name).Scan(&exists); err != nil {
			return classify(err, fmt.Sprintf("looking up subscription %q", name))
		}
		if !exists {
			if opts.IfExists {
				return nil
			}
			return fmt.Errorf("logical: dropping subscription %q: %w", name, ErrNotFound)
		}
		if err := c.DisableSubscription(ctx, name); err != nil {
			return err
		}
		if err := c.alterSubscription(ctx, name, "SET (slot_name = NONE)", "detaching the slot of"); err != nil {
			return fmt.Errorf("%w (the subscription was disabled)", err)
		}
	}
	sql := "DROP SUBSCRIPTION " + q
	if opts.IfExists {
		sql = "DROP SUBSCRIPTION IF EXISTS " + q
	}
	_, err = c.q.Exec(ctx, sql)
	return classify(err, fmt.Sprintf("dropping subscription %q", name))
}

// Subscription returns one subscription of the client's database with its
// tables. A missing one gives an error matching ErrNotFound.
func (c *Client) Subscription(ctx context.Context, name string) (Subscription, error) {
	subs, err := c.subscriptions(ctx, &name)
	if err != nil {
		return Subscription{}, err
	}
	if len(subs) == 0 {
		return Subscription{}, fmt.Errorf("logical: subscription %q: %w", name, ErrNotFound)
	}
	return subs[0], nil
}

// Subscriptions returns the subscriptions of the client's database, in
// name order, with each table's sync state (pg_subscription_rel), the
// apply worker's status and, on PostgreSQL 15+, error counts.
func (c *Client) Subscriptions(ctx context.Context) ([]Subscription, error) {
	return c.subscriptions(ctx, nil)
}

func (c *Client) subscriptions(ctx context.Context, only *string) ([]Subscription, error) {
	v, err := c.ServerVersion(ctx)
	if err != nil {
		return nil, err
	}
	var canRead bool
	if err := c.q.QueryRow(ctx, "SELECT has_column_privilege('pg_catalog.pg_subscription', 'subconninfo', 'SELECT')").Scan(&canRead); err != nil {
		return nil, classify(err, "checking access to subscription connection strings")
	}
	conninfo := "NULL::text"
	if canRead {
		conninfo = "s.subconninfo"
	}
	binary, streaming, disable := "false", "false", "false"
	if v >= version14 {
		binary, streaming = "s.subbinary", "s.substream::text IN ('true', 't', 'p')"
	}
	if v >= version15 {
		disable = "s.subdisableonerr"
	}
	rows, err := c.q.Query(ctx, `SELECT s.oid, s.subname, pg_get_userbyid(s.subowner), s.subenabled, `+conninfo+`,
		coalesce(s.subslotname::text, ''), s.subsynccommit, s.subpublications, `+binary+`, `+streaming+`, `+disable+`
		FROM pg_subscription s
		WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND ($1::text IS NULL OR s.subname = $1) ORDER BY s.subname`, only)
	if err != nil {
		return nil, classify(err, "listing subscriptions")
	}
	var subs []Subscription
	index := map[uint32]int{}
	for rows.Next() {
		var s Subscription
		var oid uint32
		var conn *string
		if err := rows.Scan(&oid, &s.Name, &s.Owner, &s.Enabled, &conn, &s.SlotName, &s.SynchronousCommit,
			&s.Publications, &s.Binary, &s.Streaming, &s.DisableOnError); err != nil {
			rows.Close()
			return nil, classify(err, "reading subscriptions")
		}
		if conn != nil {
			s.Conn = pgaurora.ConnStringFromCatalog(*conn)
		}
		index[oid] = len(subs)
		subs = append(subs, s)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "listing subscriptions")
	}
	if len(subs) == 0 {
		return nil, nil
	}

	rows, err = c.q.Query(ctx, `SELECT sr.srsubid, n.nspname, c.relname, sr.srsubstate::text, sr.srsublsn::text
		FROM pg_subscription_rel sr JOIN pg_class c ON c.oid = sr.srrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace ORDER BY 2, 3`)
	if err != nil {
		return nil, classify(err, "listing subscription tables")
	}
	for rows.Next() {
		var oid uint32
		var t SubscribedTable
		var state string
		if err := rows.Scan(&oid, &t.Table.Schema, &t.Table.Name, &state, &t.LSN); err != nil {
			rows.Close()
			return nil, classify(err, "reading subscription tables")
		}
		t.State = syncStateOf(state)
		if i, ok := index[oid]; ok {
			subs[i].Tables = append(subs[i].Tables, t)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "listing subscription tables")
	}

	rows, err = c.q.Query(ctx, `SELECT subid, coalesce(pid, 0), received_lsn::text, last_msg_receipt_time
		FROM pg_stat_subscription WHERE relid IS NULL`)
	if err != nil {
		return nil, classify(err, "reading subscription workers")
	}
	for rows.Next() {
		var oid uint32
		var pid int
		var lsn pgaurora.LSN
		var last *time.Time
		if err := rows.Scan(&oid, &pid, &lsn, &last); err != nil {
			rows.Close()
			return nil, classify(err, "reading subscription workers")
		}
		if i, ok := index[oid]; ok {
			subs[i].WorkerPID, subs[i].ReceivedLSN = pid, lsn
			if last != nil {
				subs[i].LastMessage = *last
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "reading subscription workers")
	}

	if v >= version15 {
		rows, err = c.q.Query(ctx, "SELECT subid, apply_error_count, sync_error_count FROM pg_stat_subscription_stats")
		if err != nil {
			return nil, classify(err, "reading subscription statistics")
		}
		for rows.Next() {
			var oid uint32
			var apply, sync int64
			if err := rows.Scan(&oid, &apply, &sync); err != nil {
				rows.Close()
				return nil, classify(err, "reading subscription statistics")
			}
			if i, ok := index[oid]; ok {
				subs[i].ApplyErrors, subs[i].SyncErrors = apply, sync
			}
		}
		if err := rows.Err(); err != nil {
			return nil, classify(err, "reading subscription statistics")
		}
	}
	return subs, nil
}

// WaitOptions tunes WaitSync. A nil *WaitOptions uses the defaults.
type WaitOptions struct {
	// Wait says how the wait polls; zero fields mean 100 ms and 2 s, with
	// no bound but the caller's context.
	Wait pgaurora.Wait
	// Progress, when set, receives an event after every poll: Operation
	// "logical.WaitSync", Resource the subscription, Done and Total the tables
	// ready and subscribed, Detail the tables pending and the count of
	// table sync failures (a growing count means a copy keeps failing;
	// the subscriber's log says why).
	Progress pgaurora.ProgressFunc
}

// syncWait is WaitSync's default polling.
var syncWait = pgaurora.Wait{MinDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second}

// WaitSync waits until every table of the subscription has finished its
// initial synchronization (state ready), polling pg_subscription_rel with
// backoff under ctx. It fails with ErrSubscriptionDisabled when the
// subscription is (or becomes) disabled, since the wait could not end,
// and when ctx ends it returns the context's error with the tables still
// pending.
func (c *Client) WaitSync(ctx context.Context, name string, opts *WaitOptions) error {
	var o WaitOptions
	if opts != nil {
		o = *opts
	}
	if _, err := subIdent(name); err != nil {
		return err
	}
	start := time.Now()
	last := "no poll completed"
	err := wait.Until(ctx, o.Wait, syncWait, func(ctx context.Context) (bool, error) {
		s, err := c.Subscription(ctx, name)
		if err != nil {
			return false, err
		}
		var pending []SubscribedTable
		for _, t := range s.Tables {
			if t.State != SyncReady {
				pending = append(pending, t)
			}
		}
		last = describePending(len(s.Tables), pending, s.SyncErrors)
		done := len(pending) == 0
		o.Progress.Report(pgaurora.Event{Operation: "logical.WaitSync", Resource: name, Done: len(s.Tables) - len(pending), Total: len(s.Tables),
			Detail: last, Elapsed: time.Since(start), Completed: done})
		if !done && !s.Enabled {
			return false, fmt.Errorf("logical: waiting for subscription %q to sync: %s: %w", name, last, ErrSubscriptionDisabled)
		}
		return done, nil
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("logical: waiting for subscription %q to sync: %s: %w", name, last, err)
	}
	return err
}

func describePending(tables int, pending []SubscribedTable, syncErrors int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d tables ready", tables-len(pending), tables)
	if len(pending) > 0 {
		b.WriteString("; pending:")
		for i, t := range pending {
			if i == 5 {
				fmt.Fprintf(&b, " and %d more", len(pending)-5)
				break
			}
			fmt.Fprintf(&b, " %s (%s)", t.Table, t.State)
		}
	}
	if syncErrors > 0 {
		fmt.Fprintf(&b, "; %d table sync failures", syncErrors)
	}
	return b.String()
}
