package pglogical

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// WaitOptions tune WaitForSync and WaitForTableSync. The zero value (or
// nil) polls every 50 ms at first, backing off to every 200 ms (the
// interval of pglogical's own wait functions), with no bound but the
// caller's context and no progress reports.
type WaitOptions struct {
	// Wait says how the wait polls; zero fields take the defaults above.
	Wait pgaurora.Wait
	// Progress, when set, receives an event after every poll that saw a
	// change, and after the last one: Operation "pglogical.WaitForSync", Resource
	// the subscription (and table), Status the subscription's status and
	// sync state, Done and Total the tables ready and with a sync record,
	// Detail the tables not yet ready.
	Progress pgaurora.ProgressFunc
}

// syncWait is WaitForSync's default polling.
var syncWait = pgaurora.Wait{MinDelay: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond}

// syncSeen is what a sync wait saw at one poll.
type syncSeen struct {
	status  Status
	state   SyncState
	tables  int
	pending []TableSync
	polls   int
}

func (p syncSeen) event(resource string, elapsed time.Duration, done bool) pgaurora.Event {
	return pgaurora.Event{Operation: "pglogical.WaitForSync", Resource: resource,
		Status: fmt.Sprintf("%s, sync %s", p.status, p.state), Done: p.tables - len(p.pending), Total: p.tables,
		Detail: pendingList(p.pending), Elapsed: elapsed, Completed: done}
}

type syncSnapshot struct {
	status  Status
	enabled bool
	state   SyncState
	tables  []TableSync
}

// syncSnapshot reads a subscription's status and every sync record in one
// statement, so a poll sees one consistent state.
func (c *Client) syncSnapshot(ctx context.Context, subscription string) (syncSnapshot, error) {
	if err := checkName("subscription name", subscription); err != nil {
		return syncSnapshot{}, err
	}
	rows, err := c.q.Query(ctx, `SELECT coalesce(st.status, 'unknown'), s.sub_enabled,
			ss.sync_nspname::text, ss.sync_relname::text, ss.sync_status::text
		FROM pglogical.subscription s
		LEFT JOIN pglogical.show_subscription_status($1) st ON true
		LEFT JOIN pglogical.local_sync_status ss ON ss.sync_subid = s.sub_id
		WHERE s.sub_name = $1
		ORDER BY ss.sync_nspname NULLS FIRST, ss.sync_relname NULLS FIRST`, subscription)
	if err != nil {
		return syncSnapshot{}, wrap(fmt.Sprintf("reading the sync status of subscription %q", subscription), err)
	}
	defer rows.Close()
	var snap syncSnapshot
	found := false
	for rows.Next() {
		found = true
		var status string
		var nsp, rel, st *string
		if err := rows.Scan(&status, &snap.enabled, &nsp, &rel, &st); err != nil {
			return syncSnapshot{}, wrap(fmt.Sprintf("reading the sync status of subscription %q", subscription), err)
		}
		snap.status = Status(status)
		var state SyncState
		if st != nil && len(*st) == 1 {
			state = SyncState((*st)[0])
		}
		switch {
		case st == nil:
		case nsp == nil && rel == nil:
			snap.state = state
		default:
			snap.tables = append(snap.tables, TableSync{Table: Table{Schema: deref(nsp), Name: deref(rel)}, State: state})
		}
	}
	if err := rows.Err(); err != nil {
		return syncSnapshot{}, wrap(fmt.Sprintf("reading the sync status of subscription %q", subscription), err)
	}
	if !found {
		return syncSnapshot{}, fmt.Errorf("pglogical: sync status: %w", &NotFoundError{Kind: "subscription", Name: subscription})
	}
	return snap, nil
}

// WaitForSync waits until a subscription's initial sync is complete: the
// subscription-level sync state and every table's state are SyncReady (the
// condition pglogical.wait_for_subscription_sync_complete waits for). It
// polls pglogical.local_sync_status rather than calling that function,
// because a server-side wait cannot be cancelled from the client: ctx
// bounds the wait, and when it ends the error says where the sync was.
// A disabled subscription cannot sync: the wait then fails with
// ErrSubscriptionDisabled.
func (c *Client) WaitForSync(ctx context.Context, subscription string, opts *WaitOptions) error {
	return c.wait(ctx, subscription, nil, opts)
}

// WaitForTableSync waits until one table of a subscription is SyncReady,
// after the subscription itself is, as
// pglogical.wait_for_table_sync_complete does; see WaitForSync.
func (c *Client) WaitForTableSync(ctx context.Context, subscription string, t Table, opts *WaitOptions) error {
	if err := checkName("subscription name", subscription); err != nil {
		return err
	}
	rel, err := t.regclass("table")
	if err != nil {
		return err
	}
	if t.Schema == "" {
		var schema string
		if err := c.q.QueryRow(ctx, `SELECT n.nspname::text FROM pg_catalog.pg_class c
			JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::text::regclass`, rel).Scan(&schema); err != nil {
			return wrap(fmt.Sprintf("resolving table %s", t), err)
		}
		t.Schema = schema
	}
	return c.wait(ctx, subscription, &t, opts)
}

func (c *Client) wait(ctx context.Context, subscription string, table *Table, opts *WaitOptions) error {
	var o WaitOptions
	if opts != nil {
		o = *opts
	}
	start := time.Now()
	var last syncSeen
	lastEvent := pgaurora.Event{}
	what := fmt.Sprintf("subscription %q", subscription)
	if table != nil {
		what = fmt.Sprintf("table %s of subscription %q", *table, subscription)
	}
	err := wait.Until(ctx, o.Wait, syncWait, func(ctx context.Context) (bool, error) {
		snap, err := c.syncSnapshot(ctx, subscription)
		if err != nil {
			return false, err
		}
		p := syncSeen{status: snap.status, state: snap.state, tables: len(snap.tables), polls: last.polls + 1}
		tableReady := false
		for _, ts := range snap.tables {
			if ts.State != SyncReady {
				p.pending = append(p.pending, ts)
			}
			if table != nil && ts.Table == *table && ts.State == SyncReady {
				tableReady = true
			}
		}
		done := snap.state == SyncReady && (table == nil && len(p.pending) == 0 || table != nil && tableReady)
		last = p
		ev := p.event(what, time.Since(start), done)
		if seen := withoutElapsed(ev); seen != lastEvent || done {
			o.Progress.Report(ev)
			lastEvent = seen
		}
		if done {
			return true, nil
		}
		if !snap.enabled || snap.status == StatusDisabled {
			return false, fmt.Errorf("pglogical: waiting for the sync of %s: %w (enable it with EnableSubscription)", what, ErrSubscriptionDisabled)
		}
		return false, nil
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("pglogical: waiting for the sync of %s: %w (last seen: %s)", what, err, describeSeen(last))
	}
	return err
}

func withoutElapsed(e pgaurora.Event) pgaurora.Event {
	e.Elapsed = 0
	return e
}

// pendingList names up to three tables not yet ready, with their states.
func pendingList(pending []TableSync) string {
	var b strings.Builder
	for i, t := range pending {
		if i == 3 {
			fmt.Fprintf(&b, ", and %d more", len(pending)-3)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", t.Table, t.State)
	}
	return b.String()
}

func describeSeen(p syncSeen) string {
	if p.polls == 0 {
		return "nothing yet"
	}
	s := fmt.Sprintf("status %s, subscription sync %s, %d of %d tables ready", p.status, p.state, p.tables-len(p.pending), p.tables)
	if l := pendingList(p.pending); l != "" {
		s += ", " + l
	}
	if p.status == StatusDown {
		s += "; the apply worker is not running, see Diagnose"
	}
	return s
}
