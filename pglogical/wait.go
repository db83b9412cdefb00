package pglogical

import (
	"context"
	"fmt"
	"time"
)

// WaitOptions tune WaitForSync and WaitForTableSync. The zero value (or
// nil) polls every 50 ms at first, backing off to every 200 ms, with no
// progress reports; the caller's context bounds the wait.
type WaitOptions struct {
	// PollInterval is the first interval between polls; zero means 50 ms.
	PollInterval time.Duration
	// MaxPollInterval caps the backoff; zero means 200 ms, the interval
	// of pglogical's own wait functions.
	MaxPollInterval time.Duration
	// Progress, when set, is called after every poll that saw a change,
	// and after the last one.
	Progress func(SyncProgress)
}

func (o *WaitOptions) withDefaults() WaitOptions {
	var w WaitOptions
	if o != nil {
		w = *o
	}
	if w.PollInterval <= 0 {
		w.PollInterval = 50 * time.Millisecond
	}
	if w.MaxPollInterval <= 0 {
		w.MaxPollInterval = 200 * time.Millisecond
	}
	if w.MaxPollInterval < w.PollInterval {
		w.MaxPollInterval = w.PollInterval
	}
	return w
}

// SyncProgress is what a wait saw at one poll.
type SyncProgress struct {
	// Subscription is the subscription waited for.
	Subscription string
	// Status is the subscription's status at this poll.
	Status Status
	// State is the subscription-level sync state.
	State SyncState
	// Tables counts the tables with a sync record; Ready those in
	// SyncReady.
	Tables, Ready int
	// Pending are the tables not yet ready, with their states.
	Pending []TableSync
	// Elapsed is the time since the wait started.
	Elapsed time.Duration
	// Polls counts the polls so far.
	Polls int
}

func (p SyncProgress) key() string {
	return fmt.Sprintf("%s|%c|%d|%d|%v", p.Status, p.State, p.Tables, p.Ready, p.Pending)
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
	o := opts.withDefaults()
	start := time.Now()
	interval := o.PollInterval
	var last SyncProgress
	lastKey := ""
	what := fmt.Sprintf("subscription %q", subscription)
	if table != nil {
		what = fmt.Sprintf("table %s of subscription %q", *table, subscription)
	}
	for polls := 1; ; polls++ {
		snap, err := c.syncSnapshot(ctx, subscription)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("pglogical: waiting for the sync of %s: %w (last seen: %s)", what, ctx.Err(), describeProgress(last))
			}
			return err
		}
		p := SyncProgress{Subscription: subscription, Status: snap.status, State: snap.state,
			Tables: len(snap.tables), Elapsed: time.Since(start), Polls: polls}
		tableReady := false
		for _, ts := range snap.tables {
			if ts.State == SyncReady {
				p.Ready++
			} else {
				p.Pending = append(p.Pending, ts)
			}
			if table != nil && ts.Table == *table && ts.State == SyncReady {
				tableReady = true
			}
		}
		done := snap.state == SyncReady && (table == nil && len(p.Pending) == 0 || table != nil && tableReady)
		if k := p.key(); o.Progress != nil && (k != lastKey || done) {
			o.Progress(p)
			lastKey = k
		}
		last = p
		if done {
			return nil
		}
		if !snap.enabled || snap.status == StatusDisabled {
			return fmt.Errorf("pglogical: waiting for the sync of %s: %w (enable it with EnableSubscription)", what, ErrSubscriptionDisabled)
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("pglogical: waiting for the sync of %s: %w (last seen: %s)", what, ctx.Err(), describeProgress(last))
		case <-t.C:
		}
		interval = min(interval*3/2, o.MaxPollInterval)
	}
}

func describeProgress(p SyncProgress) string {
	if p.Polls == 0 {
		return "nothing yet"
	}
	s := fmt.Sprintf("status %s, subscription sync %s, %d of %d tables ready", p.Status, p.State, p.Ready, p.Tables)
	for i, t := range p.Pending {
		if i == 3 {
			s += fmt.Sprintf(", and %d more", len(p.Pending)-3)
			break
		}
		s += fmt.Sprintf(", %s %s", t.Table, t.State)
	}
	if p.Status == StatusDown {
		s += "; the apply worker is not running, see Diagnose"
	}
	return s
}
