package pglogical

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/secretsql"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// Status is a subscription's state as pglogical.show_subscription_status
// reports it.
type Status string

// The statuses pglogical reports.
const (
	// StatusReplicating: the apply worker runs and the initial sync is
	// done.
	StatusReplicating Status = "replicating"
	// StatusInitializing: the apply worker runs and the initial sync is
	// in progress.
	StatusInitializing Status = "initializing"
	// StatusDown: the subscription is enabled but no apply worker runs
	// (it failed, or has not started yet).
	StatusDown Status = "down"
	// StatusDisabled: the subscription is disabled.
	StatusDisabled Status = "disabled"
	// StatusUnknown: the apply worker runs but the sync status is
	// missing.
	StatusUnknown Status = "unknown"
)

// SyncState is a pglogical synchronization state, of a subscription as a
// whole or of one table (pglogical.local_sync_status.sync_status).
type SyncState byte

// The sync states, with the names pglogical.show_subscription_table uses.
const (
	SyncNone        SyncState = 0   // "none": no sync requested
	SyncInit        SyncState = 'i' // "sync_init": sync requested
	SyncStructure   SyncState = 's' // "sync_structure": copying the schema
	SyncData        SyncState = 'd' // "sync_data": copying rows
	SyncConstraints SyncState = 'c' // "sync_constraints": adding constraints
	SyncWaiting     SyncState = 'w' // "sync_waiting": copied, waiting for the apply worker
	SyncCatchup     SyncState = 'u' // "catchup": applying changes made during the copy
	SyncDone        SyncState = 'y' // "synchronized": caught up, about to be ready
	SyncReady       SyncState = 'r' // "replicating": in sync
)

// String returns the state's name as pglogical.show_subscription_table
// prints it.
func (s SyncState) String() string {
	switch s {
	case SyncNone:
		return "none"
	case SyncInit:
		return "sync_init"
	case SyncStructure:
		return "sync_structure"
	case SyncData:
		return "sync_data"
	case SyncConstraints:
		return "sync_constraints"
	case SyncWaiting:
		return "sync_waiting"
	case SyncCatchup:
		return "catchup"
	case SyncDone:
		return "synchronized"
	case SyncReady:
		return "replicating"
	}
	return fmt.Sprintf("unknown(%q)", rune(s))
}

// ForwardOrigins says which changes a subscription receives by origin.
type ForwardOrigins int

const (
	// ForwardAll receives every change on the provider, including the
	// ones it received from elsewhere (pglogical's default, '{all}').
	ForwardAll ForwardOrigins = iota
	// ForwardNone receives only changes made on the provider itself
	// ('{}'), as two-way replication needs so that changes do not loop.
	ForwardNone
)

func (f ForwardOrigins) array() ([]string, error) {
	switch f {
	case ForwardAll:
		return []string{"all"}, nil
	case ForwardNone:
		return []string{}, nil
	}
	return nil, invalid("ForwardOrigins %d: allowed values are ForwardAll and ForwardNone", int(f))
}

// String returns "all" or "none".
func (f ForwardOrigins) String() string {
	switch f {
	case ForwardAll:
		return "all"
	case ForwardNone:
		return "none"
	}
	return fmt.Sprintf("ForwardOrigins(%d)", int(f))
}

// SubscriptionSpec describes a subscription to create. Every field is
// passed to pglogical.create_subscription explicitly, so the zero values
// below are what you get, not pglogical's defaults.
type SubscriptionSpec struct {
	// Name is the subscription name.
	Name string `json:"name"`
	// Provider is how the subscriber connects to the provider, password
	// included if it needs one.
	Provider pgaurora.ConnString `json:"provider"`
	// ReplicationSets are the provider's sets to receive; empty means
	// DefaultReplicationSets.
	ReplicationSets []string `json:"replication_sets,omitempty"`
	// SynchronizeStructure copies the provider's schema first
	// (pg_dump/pg_restore on the subscriber host).
	SynchronizeStructure bool `json:"synchronize_structure"`
	// SynchronizeData copies the existing rows of the subscribed tables.
	// pglogical's own default is true; here it must be asked for.
	SynchronizeData bool `json:"synchronize_data"`
	// ForwardOrigins selects changes by origin; ForwardNone for two-way
	// replication.
	ForwardOrigins ForwardOrigins `json:"forward_origins"`
	// ApplyDelay delays applying each transaction by this much.
	ApplyDelay time.Duration `json:"apply_delay,omitempty"`
	// ForceTextTransfer sends values as text, for providers and
	// subscribers with different type internals.
	ForceTextTransfer bool `json:"force_text_transfer,omitempty"`
}

// Validate checks the spec without contacting a server.
func (s SubscriptionSpec) Validate() error {
	if err := checkName("subscription name", s.Name); err != nil {
		return err
	}
	if s.Provider.IsZero() {
		return invalid("subscription %q: Provider pgaurora.ConnString is empty", s.Name)
	}
	if err := checkNames("ReplicationSets", s.ReplicationSets); err != nil {
		return err
	}
	if _, err := s.ForwardOrigins.array(); err != nil {
		return err
	}
	if s.ApplyDelay < 0 {
		return invalid("subscription %q: ApplyDelay %v is negative", s.Name, s.ApplyDelay)
	}
	return nil
}

// CreateSubscription subscribes this database's node to a provider
// (pglogical.create_subscription) and returns the new subscription's oid.
// The local node must exist. The provider DSN travels as a bind
// parameter; if the server fails, its error is scrubbed of the password.
// The initial sync runs in the background: wait for it with WaitForSync.
func (c *Client) CreateSubscription(ctx context.Context, spec SubscriptionSpec) (uint32, error) {
	if err := spec.Validate(); err != nil {
		return 0, err
	}
	sets := spec.ReplicationSets
	if len(sets) == 0 {
		sets = DefaultReplicationSets
	}
	origins, _ := spec.ForwardOrigins.array()
	op := fmt.Sprintf("create subscription %q", spec.Name)
	var id *uint32
	err := c.callSecret(ctx, op, secretsql.ConnSecrets(spec.Provider),
		`SELECT pglogical.create_subscription(subscription_name := $1, provider_dsn := $2,
			replication_sets := $3::text[], synchronize_structure := $4, synchronize_data := $5,
			forward_origins := $6::text[], apply_delay := $7::interval, force_text_transfer := $8)`,
		[]any{spec.Name, spec.Provider.Reveal(), sets, spec.SynchronizeStructure, spec.SynchronizeData,
			origins, spec.ApplyDelay, spec.ForceTextTransfer}, &id)
	if err != nil {
		return 0, err
	}
	if id == nil {
		return 0, fmt.Errorf("pglogical: %s: create_subscription returned NULL: %w", op, ErrNothingDone)
	}
	return *id, nil
}

// DropSubscription drops a subscription (pglogical.drop_subscription).
// pglogical also drops its replication slot on the provider when it can
// reach it; a slot left behind (provider down) must be dropped there, for
// example with PrepareUpgrade or DropSlot. With ifExists a missing
// subscription is not an error. A drop that races pglogical's own workers
// ("tuple concurrently updated") is run again, for at most 10 seconds.
func (c *Client) DropSubscription(ctx context.Context, name string, ifExists bool) error {
	if err := checkName("subscription name", name); err != nil {
		return err
	}
	op := fmt.Sprintf("drop subscription %q", name)
	var id *uint32
	if err := retryConcurrentUpdate(ctx, func(ctx context.Context) error {
		return c.q.QueryRow(ctx, "SELECT pglogical.drop_subscription($1, $2)", name, ifExists).Scan(&id)
	}); err != nil {
		return wrap(op, err)
	}
	if id == nil {
		return fmt.Errorf("pglogical: %s: drop_subscription returned NULL: %w", op, ErrNothingDone)
	}
	if *id == 0 && !ifExists {
		return fmt.Errorf("pglogical: %s: %w", op, &NotFoundError{Kind: "subscription", Name: name})
	}
	return nil
}

// DisableSubscription stops a subscription's apply worker
// (pglogical.alter_subscription_disable). With immediate the worker is
// told to stop at once rather than at the end of the current transaction,
// and DisableSubscription returns only when pglogical reports the
// subscription disabled, that is, when the worker has exited (it waits at
// most 30 seconds, within ctx).
func (c *Client) DisableSubscription(ctx context.Context, name string, immediate bool) error {
	if err := checkName("subscription name", name); err != nil {
		return err
	}
	op := fmt.Sprintf("disable subscription %q", name)
	if err := c.callBool(ctx, op, "pglogical.alter_subscription_disable",
		"SELECT pglogical.alter_subscription_disable($1, $2)", name, immediate); err != nil {
		return err
	}
	if !immediate {
		return nil
	}
	var status *string
	err := wait.Until(ctx, workerExit, workerExit, func(ctx context.Context) (bool, error) {
		if err := c.q.QueryRow(ctx, "SELECT status FROM pglogical.show_subscription_status($1)", name).Scan(&status); err != nil {
			return false, wrap(op+": waiting for the apply worker to exit", err)
		}
		return deref(status) == string(StatusDisabled), nil
	})
	if err != nil && (ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)) {
		return fmt.Errorf("pglogical: %s: the apply worker is still running (status %s): %w", op, deref(status), err)
	}
	return err
}

// workerExit is how DisableSubscription waits for the apply worker.
var workerExit = pgaurora.Wait{MinDelay: 10 * time.Millisecond, MaxDelay: 200 * time.Millisecond, MaxWait: 30 * time.Second}

// EnableSubscription starts a disabled subscription again
// (pglogical.alter_subscription_enable). With immediate the worker starts
// at once rather than at the end of the current transaction.
func (c *Client) EnableSubscription(ctx context.Context, name string, immediate bool) error {
	if err := checkName("subscription name", name); err != nil {
		return err
	}
	return c.callBool(ctx, fmt.Sprintf("enable subscription %q", name), "pglogical.alter_subscription_enable",
		"SELECT pglogical.alter_subscription_enable($1, $2)", name, immediate)
}

// AddReplicationSet adds a provider replication set to a subscription
// (pglogical.alter_subscription_add_replication_set). Tables already in the
// set are not synchronized; use ResynchronizeTable or Synchronize.
func (c *Client) AddReplicationSet(ctx context.Context, subscription, set string) error {
	if err := checkName("subscription name", subscription); err != nil {
		return err
	}
	if err := checkName("replication set name", set); err != nil {
		return err
	}
	return c.callBool(ctx, fmt.Sprintf("add replication set %q to subscription %q", set, subscription),
		"pglogical.alter_subscription_add_replication_set",
		"SELECT pglogical.alter_subscription_add_replication_set($1, $2)", subscription, set)
}

// RemoveReplicationSet removes a replication set from a subscription
// (pglogical.alter_subscription_remove_replication_set).
func (c *Client) RemoveReplicationSet(ctx context.Context, subscription, set string) error {
	if err := checkName("subscription name", subscription); err != nil {
		return err
	}
	if err := checkName("replication set name", set); err != nil {
		return err
	}
	return c.callBool(ctx, fmt.Sprintf("remove replication set %q from subscription %q", set, subscription),
		"pglogical.alter_subscription_remove_replication_set",
		"SELECT pglogical.alter_subscription_remove_replication_set($1, $2)", subscription, set)
}

// ResynchronizeTable copies a table again from the provider
// (pglogical.alter_subscription_resynchronize_table); with truncate the
// local table is emptied first. Wait for it with WaitForTableSync.
func (c *Client) ResynchronizeTable(ctx context.Context, subscription string, t Table, truncate bool) error {
	if err := checkName("subscription name", subscription); err != nil {
		return err
	}
	rel, err := t.regclass("table")
	if err != nil {
		return err
	}
	return c.callBool(ctx, fmt.Sprintf("resynchronize table %s of subscription %q", t, subscription),
		"pglogical.alter_subscription_resynchronize_table",
		"SELECT pglogical.alter_subscription_resynchronize_table($1, $2::text::regclass, $3)", subscription, rel, truncate)
}

// Synchronize makes a subscription copy the tables that were added to its
// replication sets since it last synchronized
// (pglogical.alter_subscription_synchronize); with truncate those tables
// are emptied first.
func (c *Client) Synchronize(ctx context.Context, subscription string, truncate bool) error {
	if err := checkName("subscription name", subscription); err != nil {
		return err
	}
	return c.callBool(ctx, fmt.Sprintf("synchronize subscription %q", subscription),
		"pglogical.alter_subscription_synchronize",
		"SELECT pglogical.alter_subscription_synchronize($1, $2)", subscription, truncate)
}

// Subscription is a subscription of this database, with its live status.
type Subscription struct {
	// ID is the subscription's oid.
	ID uint32
	// Name is the subscription name.
	Name string
	// Status is the live status from pglogical.show_subscription_status.
	Status Status
	// Enabled is false after DisableSubscription.
	Enabled bool
	// ProviderNode is the provider's node name.
	ProviderNode string
	// ProviderInterface is the provider interface the subscription uses.
	ProviderInterface string
	// Provider is the provider DSN (redacted when printed).
	Provider pgaurora.ConnString
	// SlotName is the replication slot on the provider; pglogical names
	// the subscriber's replication origin the same.
	SlotName string
	// ReplicationSets are the subscribed sets.
	ReplicationSets []string
	// ForwardOrigins is the origin filter.
	ForwardOrigins ForwardOrigins
	// ApplyDelay is the apply delay.
	ApplyDelay time.Duration
	// ForceTextTransfer is the text-transfer flag.
	ForceTextTransfer bool
	// Sync is the subscription-level sync state (SyncReady when the
	// initial sync is done).
	Sync SyncState
}

const subscriptionSelect = `SELECT s.sub_id, s.sub_name::text, coalesce(st.status, 'unknown'), s.sub_enabled,
		o.node_name::text, i.if_name::text, i.if_dsn, s.sub_slot_name::text,
		coalesce(s.sub_replication_sets, '{}'), coalesce(s.sub_forward_origins, '{}'),
		s.sub_apply_delay, s.sub_force_text_transfer,
		(SELECT ss.sync_status FROM pglogical.local_sync_status ss
		  WHERE ss.sync_subid = s.sub_id AND ss.sync_nspname IS NULL AND ss.sync_relname IS NULL)::text
	FROM pglogical.subscription s
	JOIN pglogical.node o ON o.node_id = s.sub_origin
	JOIN pglogical.node_interface i ON i.if_id = s.sub_origin_if
	LEFT JOIN pglogical.show_subscription_status() st ON st.subscription_name = s.sub_name::text`

// Subscriptions lists this database's subscriptions with their status.
func (c *Client) Subscriptions(ctx context.Context) ([]Subscription, error) {
	return c.subscriptions(ctx, "")
}

// Subscription returns one subscription, or a *NotFoundError.
func (c *Client) Subscription(ctx context.Context, name string) (Subscription, error) {
	if err := checkName("subscription name", name); err != nil {
		return Subscription{}, err
	}
	subs, err := c.subscriptions(ctx, name)
	if err != nil {
		return Subscription{}, err
	}
	if len(subs) == 0 {
		return Subscription{}, fmt.Errorf("pglogical: subscription status: %w", &NotFoundError{Kind: "subscription", Name: name})
	}
	return subs[0], nil
}

func (c *Client) subscriptions(ctx context.Context, name string) ([]Subscription, error) {
	sql := subscriptionSelect
	var args []any
	if name != "" {
		sql += " WHERE s.sub_name = $1"
		args = append(args, name)
	}
	sql += " ORDER BY s.sub_name"
	rows, err := c.q.Query(ctx, sql, args...)
	if err != nil {
		return nil, wrap("listing subscriptions", err)
	}
	defer rows.Close()
	var out []Subscription
	for rows.Next() {
		var s Subscription
		var status, dsn string
		var origins []string
		var sync *string
		if err := rows.Scan(&s.ID, &s.Name, &status, &s.Enabled, &s.ProviderNode, &s.ProviderInterface, &dsn,
			&s.SlotName, &s.ReplicationSets, &origins, &s.ApplyDelay, &s.ForceTextTransfer, &sync); err != nil {
			return nil, wrap("listing subscriptions", err)
		}
		s.Status = Status(status)
		s.Provider = pgaurora.ConnStringFromCatalog(dsn)
		if len(origins) == 0 {
			s.ForwardOrigins = ForwardNone
		}
		if sync != nil && len(*sync) == 1 {
			s.Sync = SyncState((*sync)[0])
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("listing subscriptions", err)
	}
	return out, nil
}

// Spec returns a SubscriptionSpec that re-creates the subscription, with
// SynchronizeData and SynchronizeStructure off (the subscriber already has
// the data).
func (s Subscription) Spec() SubscriptionSpec {
	sets := slices.Clone(s.ReplicationSets)
	return SubscriptionSpec{
		Name:              s.Name,
		Provider:          s.Provider,
		ReplicationSets:   sets,
		ForwardOrigins:    s.ForwardOrigins,
		ApplyDelay:        s.ApplyDelay,
		ForceTextTransfer: s.ForceTextTransfer,
	}
}

// TableSync is one table's sync state in a subscription.
type TableSync struct {
	// Table is the table (schema-qualified).
	Table Table
	// State is its sync state.
	State SyncState
}

// SubscriptionTables returns the sync state of every table the
// subscription has synchronized or is synchronizing, from
// pglogical.local_sync_status.
func (c *Client) SubscriptionTables(ctx context.Context, subscription string) ([]TableSync, error) {
	st, err := c.syncSnapshot(ctx, subscription)
	if err != nil {
		return nil, err
	}
	return st.tables, nil
}

// TableSyncState returns one table's sync state in a subscription, as
// pglogical.show_subscription_table reports it (SyncNone when the table has
// no sync record, such as a table not yet in a subscribed set).
func (c *Client) TableSyncState(ctx context.Context, subscription string, t Table) (SyncState, error) {
	if err := checkName("subscription name", subscription); err != nil {
		return 0, err
	}
	rel, err := t.regclass("table")
	if err != nil {
		return 0, err
	}
	var status *string
	op := fmt.Sprintf("sync state of table %s in subscription %q", t, subscription)
	if err := c.q.QueryRow(ctx, "SELECT status FROM pglogical.show_subscription_table($1, $2::text::regclass)", subscription, rel).Scan(&status); err != nil {
		return 0, wrap(op, err)
	}
	return parseSyncName(deref(status)), nil
}

func parseSyncName(s string) SyncState {
	for _, st := range []SyncState{SyncInit, SyncStructure, SyncData, SyncConstraints, SyncWaiting, SyncCatchup, SyncDone, SyncReady} {
		if st.String() == s {
			return st
		}
	}
	return SyncNone
}
