package pglogical

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/slots"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// Description is what re-creates a database's pglogical setup after a major
// version upgrade: its local node (with interfaces and replication sets)
// and its subscriptions. PrepareUpgrade returns it; Restore applies it.
//
// It encodes to JSON without any password (DSN's JSON form leaves secrets
// out), so it can be stored; give the passwords back with
// RestoreOptions.ProviderPassword or DSN.WithPassword.
type Description struct {
	// Database is the database the description was taken from.
	Database string `json:"database"`
	// Node is the local node; nil when the database had none.
	Node *NodeDescription `json:"node,omitempty"`
	// Subscriptions are the subscriptions, as specs that re-create them
	// without copying data again.
	Subscriptions []SubscriptionSpec `json:"subscriptions,omitempty"`
}

// NodeDescription is a node as Restore re-creates it.
type NodeDescription struct {
	// Name is the node name.
	Name string `json:"name"`
	// DSN is the node's own interface (the one named like the node).
	DSN pgaurora.ConnString `json:"dsn"`
	// Interfaces are its other interfaces.
	Interfaces []InterfaceDescription `json:"interfaces,omitempty"`
	// ReplicationSets are its replication sets with their tables and
	// sequences.
	ReplicationSets []SetDescription `json:"replication_sets,omitempty"`
}

// InterfaceDescription is a node interface.
type InterfaceDescription struct {
	// Name is the interface name.
	Name string `json:"name"`
	// DSN is its connection string.
	DSN pgaurora.ConnString `json:"dsn"`
}

// SetDescription is a replication set as Restore re-creates it.
type SetDescription struct {
	// Name is the set name.
	Name string `json:"name"`
	// Actions are what it replicates.
	Actions Actions `json:"actions"`
	// Tables are its tables, with column lists and row filters.
	Tables []SetTable `json:"tables,omitempty"`
	// Sequences are its sequences.
	Sequences []Table `json:"sequences,omitempty"`
}

// Describe reads the database's pglogical setup into a Description.
func (c *Client) Describe(ctx context.Context) (Description, error) {
	var d Description
	if err := c.q.QueryRow(ctx, "SELECT current_database()::text").Scan(&d.Database); err != nil {
		return d, wrap("describe: reading the database name", err)
	}
	node, err := c.LocalNode(ctx)
	switch {
	case errors.Is(err, ErrNoLocalNode):
	case err != nil:
		return d, err
	default:
		nd := &NodeDescription{Name: node.Name}
		for _, i := range node.Interfaces {
			if i.Name == node.Name {
				nd.DSN = i.DSN
			} else {
				nd.Interfaces = append(nd.Interfaces, InterfaceDescription{Name: i.Name, DSN: i.DSN})
			}
		}
		sets, err := c.ReplicationSets(ctx)
		if err != nil {
			return d, err
		}
		for _, s := range sets {
			nd.ReplicationSets = append(nd.ReplicationSets, SetDescription{Name: s.Name, Actions: s.Actions, Tables: s.Tables, Sequences: s.Sequences})
		}
		d.Node = nd
	}
	subs, err := c.Subscriptions(ctx)
	if err != nil {
		return d, err
	}
	for _, s := range subs {
		d.Subscriptions = append(d.Subscriptions, s.Spec())
	}
	return d, nil
}

// UpgradeOptions tune PrepareUpgrade. Nil means: act (not a dry run),
// refuse while mid-sync, keep a provider-only node.
type UpgradeOptions struct {
	// DryRun reports what would be dropped without dropping anything.
	DryRun bool
	// Force drops even while a subscription or table is mid-sync (the
	// sync is then lost and must be redone after the upgrade).
	Force bool
	// DropProviderNode also drops the local node of a database that has
	// no subscriptions (a provider). A subscriber's node is always
	// dropped, as AWS requires before upgrading a subscriber.
	DropProviderNode bool
}

// ActionKind is the kind of an UpgradeAction.
type ActionKind string

// The things PrepareUpgrade drops.
const (
	ActionDropSubscription ActionKind = "drop subscription"
	ActionDropSlot         ActionKind = "drop replication slot"
	ActionDropNode         ActionKind = "drop node"
)

// UpgradeAction is one thing PrepareUpgrade drops.
type UpgradeAction struct {
	// Kind is what kind of object.
	Kind ActionKind
	// Name is the object's name.
	Name string
	// Detail adds what matters about it (an active slot's walsender, a
	// subscription's provider).
	Detail string
}

// String describes the action, such as `drop node "n1"`.
func (a UpgradeAction) String() string {
	s := string(a.Kind) + " " + fmt.Sprintf("%q", a.Name)
	if a.Detail != "" {
		s += " (" + a.Detail + ")"
	}
	return s
}

// UpgradeReport is what PrepareUpgrade found and did.
type UpgradeReport struct {
	// Description re-creates what is dropped; keep it for Restore.
	Description Description
	// Actions are exactly what is (or, in a dry run, would be) dropped,
	// in order.
	Actions []UpgradeAction
	// Applied are the actions taken (empty in a dry run).
	Applied []UpgradeAction
	// MidSync lists the synchronizations in progress, which make
	// PrepareUpgrade refuse unless forced.
	MidSync []string
	// OtherSlots are logical replication slots that are not this
	// database's pglogical slots. An Aurora/RDS major version upgrade
	// from before PostgreSQL 17 refuses to start while any logical slot
	// exists, so these must be dropped by their owners too.
	OtherSlots []pgaurora.ReplicationSlot
	// DryRun is true when nothing was changed on purpose.
	DryRun bool
}

// syncSlotRe matches the extra slot pglogical creates while it copies a
// table: the subscription's slot name plus "_" and eight hex digits.
var syncSlotRe = regexp.MustCompile(`^(.+)_[0-9a-f]{8}$`)

// PrepareUpgrade makes the client's database ready for a major version
// upgrade, following AWS's guidance for pglogical:
//
//   - on a subscriber, every subscription and then the node are dropped
//     (dropping a subscription also drops its slot on a reachable
//     provider and its local replication origin);
//   - on a provider, this database's pglogical replication slots are
//     dropped (an active slot's walsender is terminated first), and the
//     node too with DropProviderNode.
//
// Divert writes away from the provider first: changes made after its
// slots are dropped are not replicated when the subscriptions are
// re-created. Prepare subscribers before their providers.
//
// It refuses, changing nothing, while a subscription or table is mid-sync
// (ErrMidSync) unless opts.Force. With opts.DryRun it only reports. The
// report's Description is what Restore needs afterwards. A failure part way
// returns a *StepError listing the actions taken.
func (c *Client) PrepareUpgrade(ctx context.Context, opts *UpgradeOptions) (UpgradeReport, error) {
	var o UpgradeOptions
	if opts != nil {
		o = *opts
	}
	rep := UpgradeReport{DryRun: o.DryRun}
	desc, err := c.Describe(ctx)
	if err != nil {
		return rep, err
	}
	rep.Description = desc

	// Mid-sync, subscriber side.
	for _, s := range desc.Subscriptions {
		snap, err := c.syncSnapshot(ctx, s.Name)
		if err != nil {
			return rep, err
		}
		if snap.state != SyncReady {
			rep.MidSync = append(rep.MidSync, fmt.Sprintf("subscription %q: initial sync %s", s.Name, snap.state))
		}
		for _, t := range snap.tables {
			if t.State != SyncReady {
				rep.MidSync = append(rep.MidSync, fmt.Sprintf("subscription %q: table %s %s", s.Name, t.Table, t.State))
			}
		}
	}

	// Slots, provider side.
	all, err := slots.List(ctx, c.q, slots.Logical)
	if err != nil {
		return rep, wrap("reading replication slots", err)
	}
	var dbName = desc.Database
	var ours []pgaurora.ReplicationSlot
	for _, s := range all {
		if s.Plugin == "pglogical_output" && s.Database == dbName {
			ours = append(ours, s)
		} else {
			rep.OtherSlots = append(rep.OtherSlots, s)
		}
	}
	names := make([]string, len(ours))
	for i, s := range ours {
		names[i] = s.Name
	}
	for _, s := range ours {
		if m := syncSlotRe.FindStringSubmatch(s.Name); m != nil && slices.Contains(names, m[1]) {
			rep.MidSync = append(rep.MidSync, fmt.Sprintf("provider slot %q: a table copy for slot %q is in progress", s.Name, m[1]))
		}
	}
	var copying []string
	rows, err := c.q.Query(ctx, `SELECT DISTINCT application_name FROM pg_catalog.pg_stat_activity
		WHERE datname = current_database() AND application_name LIKE '%\_copy' AND pid <> pg_backend_pid() ORDER BY 1`)
	if err != nil {
		return rep, wrap("prepare upgrade: reading sessions", err)
	}
	for rows.Next() {
		var app string
		if err := rows.Scan(&app); err != nil {
			rows.Close()
			return rep, wrap("prepare upgrade: reading sessions", err)
		}
		copying = append(copying, app)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, wrap("prepare upgrade: reading sessions", err)
	}
	for _, app := range copying {
		rep.MidSync = append(rep.MidSync, fmt.Sprintf("provider session %q is copying a table to a subscriber", app))
	}

	// The plan.
	for _, s := range desc.Subscriptions {
		rep.Actions = append(rep.Actions, UpgradeAction{Kind: ActionDropSubscription, Name: s.Name, Detail: "provider " + s.Provider.String()})
	}
	for _, s := range ours {
		detail := "inactive"
		if s.Active {
			detail = fmt.Sprintf("active, walsender PID %d will be terminated", s.ActivePID)
		}
		rep.Actions = append(rep.Actions, UpgradeAction{Kind: ActionDropSlot, Name: s.Name, Detail: detail})
	}
	if desc.Node != nil && (len(desc.Subscriptions) > 0 || o.DropProviderNode) {
		rep.Actions = append(rep.Actions, UpgradeAction{Kind: ActionDropNode, Name: desc.Node.Name})
	}

	if len(rep.MidSync) > 0 && !o.Force {
		return rep, fmt.Errorf("pglogical: prepare upgrade of %q: %w: %s (nothing was dropped; wait, or set Force)",
			dbName, ErrMidSync, strings.Join(rep.MidSync, "; "))
	}
	if o.DryRun {
		return rep, nil
	}
	op := fmt.Sprintf("prepare upgrade of %q", dbName)
	for _, a := range rep.Actions {
		var err error
		switch a.Kind {
		case ActionDropSubscription:
			err = c.DropSubscription(ctx, a.Name, true)
		case ActionDropSlot:
			err = c.DropSlot(ctx, a.Name)
		case ActionDropNode:
			err = c.DropNode(ctx, a.Name, true)
		}
		if err != nil {
			return rep, &StepError{Op: op, Applied: actionStrings(rep.Applied), Failed: a.String(), Err: err}
		}
		rep.Applied = append(rep.Applied, a)
	}
	return rep, nil
}

func actionStrings(as []UpgradeAction) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

// DropSlot drops a replication slot on this server. When a walsender is
// streaming from it, the walsender is terminated first; because a
// subscriber reconnects, the drop is retried a few times. A missing slot
// is not an error.
func (c *Client) DropSlot(ctx context.Context, name string) error {
	if err := checkName("slot name", name); err != nil {
		return err
	}
	op := fmt.Sprintf("drop replication slot %q", name)
	var lastErr error
	err := wait.Until(ctx, slotRelease, slotRelease, func(ctx context.Context) (bool, error) {
		_, err := c.q.Exec(ctx, `SELECT pg_catalog.pg_terminate_backend(active_pid)
			FROM pg_catalog.pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, name)
		if err != nil {
			return false, wrap(op+": terminating its walsender", err)
		}
		_, err = c.q.Exec(ctx, `SELECT pg_catalog.pg_drop_replication_slot(slot_name)
			FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`, name)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "55006" { // object_in_use: still active
			lastErr = err
			return false, nil
		}
		return err == nil, wrap(op, err)
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return wrap(op, ctx.Err())
	case errors.Is(err, context.DeadlineExceeded) && lastErr != nil:
		return wrap(op+": it stayed active", lastErr)
	}
	return err
}

// slotRelease is how DropSlot waits for a terminated walsender to let go
// of its slot.
var slotRelease = pgaurora.Wait{MinDelay: 50 * time.Millisecond, MaxDelay: time.Second, MaxWait: 10 * time.Second}

// RestoreOptions tune Restore. Nil means the defaults.
type RestoreOptions struct {
	// SynchronizeData copies the data again when re-creating the
	// subscriptions. Off by default: after an upgrade the subscriber
	// still has its rows, and copying them again would conflict.
	SynchronizeData bool
	// ProviderPassword, when set, is asked for the password of a
	// subscription whose provider DSN has none (as after a round trip
	// through JSON). Returning "" keeps the DSN as it is.
	ProviderPassword func(subscription string, provider pgaurora.ConnString) (string, error)
	// NodePassword, when set, is asked for the password of the node's
	// DSN, and of each of its interfaces, when the description has none
	// (as after a round trip through JSON): pglogical connects to the
	// node through it when a subscription is created. Returning "" keeps
	// the DSN as it is.
	NodePassword func(node string, dsn pgaurora.ConnString) (string, error)
	// Progress, when set, receives an event for each step done
	// (Operation "pglogical.Restore", Step the step).
	Progress pgaurora.ProgressFunc
}

// Restore re-creates a database's pglogical setup from a Description after
// a major version upgrade: the extension (Install), the local node and its
// interfaces, its replication sets with their tables and sequences, and
// the subscriptions. What already exists is kept, so Restore can be run
// again after a failure. It returns the steps taken; a failure returns a
// *StepError listing them.
func (c *Client) Restore(ctx context.Context, desc Description, opts *RestoreOptions) ([]string, error) {
	var o RestoreOptions
	if opts != nil {
		o = *opts
	}
	// Validate everything before the first change.
	if desc.Node != nil {
		if err := checkName("node name", desc.Node.Name); err != nil {
			return nil, err
		}
		if desc.Node.DSN.IsZero() {
			return nil, invalid("description: node %q has no DSN", desc.Node.Name)
		}
		for _, s := range desc.Node.ReplicationSets {
			if err := checkName("replication set name", s.Name); err != nil {
				return nil, err
			}
			if err := s.Actions.validate(); err != nil {
				return nil, fmt.Errorf("replication set %q: %w", s.Name, err)
			}
		}
	}
	for _, s := range desc.Subscriptions {
		if err := s.Validate(); err != nil {
			return nil, err
		}
	}

	run := &stepRun{op: "restore pglogical setup", name: "pglogical.Restore", progress: o.Progress}
	do := run.do
	p, err := c.Prerequisites(ctx)
	if err != nil {
		return nil, err
	}
	if p.ExtensionVersion == "" {
		if err := do("create extension pglogical", func() error { _, err := c.Install(ctx); return err }); err != nil {
			return run.applied, err
		}
	}
	if desc.Node != nil {
		nd, err := withNodePasswords(*desc.Node, o.NodePassword)
		if err != nil {
			return run.applied, run.fail(fmt.Sprintf("password for node %q", desc.Node.Name), err)
		}
		if err := c.restoreNode(ctx, nd, do); err != nil {
			return run.applied, err
		}
	}
	existing, err := c.Subscriptions(ctx)
	if err != nil {
		return run.applied, err
	}
	for _, s := range desc.Subscriptions {
		if slices.ContainsFunc(existing, func(e Subscription) bool { return e.Name == s.Name }) {
			continue
		}
		spec := s
		spec.SynchronizeData = o.SynchronizeData
		spec.SynchronizeStructure = false
		if !spec.Provider.HasPassword() && o.ProviderPassword != nil {
			pw, err := o.ProviderPassword(spec.Name, spec.Provider)
			if err != nil {
				return run.applied, run.fail(fmt.Sprintf("password for subscription %q", spec.Name), err)
			}
			if pw != "" {
				if spec.Provider, err = spec.Provider.WithPassword(pw); err != nil {
					return run.applied, err
				}
			}
		}
		if err := do(fmt.Sprintf("create subscription %q", spec.Name), func() error {
			_, err := c.CreateSubscription(ctx, spec)
			return err
		}); err != nil {
			return run.applied, err
		}
	}
	return run.applied, nil
}

// withNodePasswords gives the node's DSN and its interfaces' the
// passwords ask returns, where they have none.
func withNodePasswords(nd NodeDescription, ask func(node string, dsn pgaurora.ConnString) (string, error)) (NodeDescription, error) {
	if ask == nil {
		return nd, nil
	}
	fill := func(dsn pgaurora.ConnString) (pgaurora.ConnString, error) {
		if dsn.HasPassword() {
			return dsn, nil
		}
		pw, err := ask(nd.Name, dsn)
		if err != nil || pw == "" {
			return dsn, err
		}
		return dsn.WithPassword(pw)
	}
	var err error
	if nd.DSN, err = fill(nd.DSN); err != nil {
		return nd, err
	}
	nd.Interfaces = slices.Clone(nd.Interfaces)
	for i := range nd.Interfaces {
		if nd.Interfaces[i].DSN, err = fill(nd.Interfaces[i].DSN); err != nil {
			return nd, err
		}
	}
	return nd, nil
}

func (c *Client) restoreNode(ctx context.Context, nd NodeDescription, do func(string, func() error) error) error {
	node, err := c.LocalNode(ctx)
	switch {
	case errors.Is(err, ErrNoLocalNode):
		if err := do(fmt.Sprintf("create node %q", nd.Name), func() error {
			n, err := c.CreateNode(ctx, nd.Name, nd.DSN)
			node = n
			return err
		}); err != nil {
			return err
		}
	case err != nil:
		return err
	case node.Name != nd.Name:
		return fmt.Errorf("pglogical: restore: the database already has local node %q, not %q; drop it first", node.Name, nd.Name)
	}
	for _, i := range nd.Interfaces {
		if slices.ContainsFunc(node.Interfaces, func(e Interface) bool { return e.Name == i.Name }) {
			continue
		}
		if err := do(fmt.Sprintf("add interface %q", i.Name), func() error {
			_, err := c.AddInterface(ctx, nd.Name, i.Name, i.DSN)
			return err
		}); err != nil {
			return err
		}
	}
	have, err := c.ReplicationSets(ctx)
	if err != nil {
		return err
	}
	for _, s := range nd.ReplicationSets {
		i := slices.IndexFunc(have, func(e ReplicationSet) bool { return e.Name == s.Name })
		var cur ReplicationSet
		switch {
		case i < 0:
			if err := do(fmt.Sprintf("create replication set %q", s.Name), func() error {
				return c.CreateReplicationSet(ctx, s.Name, s.Actions)
			}); err != nil {
				return err
			}
		default:
			cur = have[i]
			if cur.Actions != s.Actions {
				if err := do(fmt.Sprintf("alter replication set %q to %s", s.Name, s.Actions), func() error {
					return c.AlterReplicationSet(ctx, s.Name, s.Actions)
				}); err != nil {
					return err
				}
			}
		}
		for _, t := range s.Tables {
			if slices.ContainsFunc(cur.Tables, func(e SetTable) bool { return e.Table == t.Table }) {
				continue
			}
			if err := do(fmt.Sprintf("add table %s to replication set %q", t.Table, s.Name), func() error {
				return c.AddTable(ctx, s.Name, t.Table, &TableOptions{Columns: t.Columns, RowFilter: t.RowFilter})
			}); err != nil {
				return err
			}
		}
		for _, q := range s.Sequences {
			if slices.Contains(cur.Sequences, q) {
				continue
			}
			if err := do(fmt.Sprintf("add sequence %s to replication set %q", q, s.Name), func() error {
				return c.AddSequence(ctx, s.Name, q, false)
			}); err != nil {
				return err
			}
		}
	}
	return nil
}
