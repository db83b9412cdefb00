package logical

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/slots"
)

// Slots returns every replication slot of the cluster (slots are
// cluster-wide; logical ones belong to a database), in name order, with
// the WAL each retains.
func (c *Client) Slots(ctx context.Context) ([]pgaurora.ReplicationSlot, error) {
	out, err := slots.List(ctx, c.q, slots.All)
	if err != nil {
		return nil, classify(err, "listing replication slots")
	}
	return out, nil
}

// SlotPolicy says which slots a Monitor flags and what it does with them.
// A slot violates the policy when it has been inactive for at least
// MaxInactive, or retains more than MaxRetainedBytes of WAL.
type SlotPolicy struct {
	// MaxInactive flags slots inactive at least this long; 0 disables
	// the rule.
	MaxInactive time.Duration
	// MaxRetainedBytes flags slots retaining more WAL than this; 0
	// disables the rule.
	MaxRetainedBytes int64
	// Drop drops violating slots that are inactive and not Protected.
	// An active slot is never dropped (its consumer is reading; it is
	// only lagging): it is reported.
	Drop bool
	// Protect lists slot names that are reported but never dropped.
	Protect []string
	// Select chooses the slots the policy covers; nil covers every
	// logical slot. Physical slots are covered only when Select says so.
	Select func(pgaurora.ReplicationSlot) bool
}

// Violation is a rule of a SlotPolicy that a slot breaks.
type Violation string

// Policy rules.
const (
	// ViolationInactive: inactive for at least MaxInactive.
	ViolationInactive Violation = "inactive"
	// ViolationRetainedBytes: retains more than MaxRetainedBytes of WAL.
	ViolationRetainedBytes Violation = "retained-bytes"
	// ViolationLost: the server already removed WAL the slot needs
	// (wal_status lost); the slot is useless.
	ViolationLost Violation = "lost"
)

// SlotReport is one slot as a Monitor judged it.
type SlotReport struct {
	// Slot is the slot as read.
	Slot pgaurora.ReplicationSlot
	// InactiveSince is when the slot was first seen inactive (by this
	// monitor, or by the server on PostgreSQL 17+); zero when active.
	InactiveSince time.Time
	// InactiveFor is how long it has been inactive, as far as known.
	InactiveFor time.Duration
	// Violations are the rules broken; empty when the slot is fine.
	Violations []Violation
	// Dropped is true when the monitor dropped the slot in this check.
	Dropped bool
	// DropError is why dropping failed, when it did.
	DropError error
}

// String formats the report on one line.
func (r SlotReport) String() string {
	var b strings.Builder
	state := "active"
	if !r.Slot.Active {
		state = "inactive"
		if r.InactiveFor > 0 {
			state += " for " + r.InactiveFor.Round(time.Second).String()
		}
	}
	fmt.Fprintf(&b, "slot %s (%s, %s) %s, retains %d bytes of WAL", r.Slot.Name, r.Slot.Plugin, r.Slot.Database, state, r.Slot.RetainedBytes)
	if len(r.Violations) > 0 {
		fmt.Fprintf(&b, ": violates %v", r.Violations)
	}
	if r.Dropped {
		b.WriteString("; dropped")
	}
	if r.DropError != nil {
		fmt.Fprintf(&b, "; drop failed: %v", r.DropError)
	}
	return b.String()
}

// MonitorReport is the result of one Monitor.Check.
type MonitorReport struct {
	// At is the check's time, from the monitor's clock.
	At time.Time
	// Slots are the slots the policy covers, in name order.
	Slots []SlotReport
}

// Alerts returns the reports of slots that violate the policy.
func (r MonitorReport) Alerts() []SlotReport {
	var out []SlotReport
	for _, s := range r.Slots {
		if len(s.Violations) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// Dropped returns the names of the slots dropped.
func (r MonitorReport) Dropped() []string {
	var out []string
	for _, s := range r.Slots {
		if s.Dropped {
			out = append(out, s.Name())
		}
	}
	return out
}

// Name is the slot's name.
func (r SlotReport) Name() string { return r.Slot.Name }

// MonitorState is what a Monitor remembers between checks: when it first
// saw each slot inactive, and where the slot's consumer stood then. It
// marshals to JSON, so a monitor run from cron can keep it in a file.
type MonitorState struct {
	Slots map[string]InactiveMark `json:"slots"`
}

// InactiveMark records when a slot was first seen inactive, and its
// confirmed position at that time: if the position moves, something
// consumed the slot in between and the clock starts again.
type InactiveMark struct {
	Since             time.Time    `json:"since"`
	ConfirmedFlushLSN pgaurora.LSN `json:"confirmed_flush_lsn"`
	RestartLSN        pgaurora.LSN `json:"restart_lsn"`
}

// MonitorOptions tunes NewMonitor. A nil *MonitorOptions uses the wall
// clock and an empty state.
type MonitorOptions struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// State is the state saved by an earlier Monitor (see
	// Monitor.State).
	State *MonitorState
}

// Monitor watches replication slots for the classic logical replication
// outage: a slot whose consumer went away keeps every WAL segment since,
// until the storage fills. Each Check lists the slots with the WAL they
// retain (pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)), judges them
// against a SlotPolicy, and drops violating inactive slots when the
// policy says so.
//
// PostgreSQL before 17 does not record when a slot became inactive, so
// the monitor does: the first Check that sees a slot inactive starts its
// clock, and later checks measure from there. A slot that is active at a
// check, or whose confirmed position moved since (something consumed it
// in between), starts over. So run Check periodically (every minute or
// so) on one long-lived Monitor, or save State after each check and pass
// it to the next Monitor; the MaxInactive rule cannot fire on a first
// check. On PostgreSQL 17+ the server's inactive_since is used instead.
//
// A Monitor is safe for concurrent use.
type Monitor struct {
	c      *Client
	policy SlotPolicy
	now    func() time.Time

	mu    sync.Mutex
	marks map[string]InactiveMark
}

// NewMonitor returns a monitor of the slots of c's cluster.
func NewMonitor(c *Client, policy SlotPolicy, opts *MonitorOptions) (*Monitor, error) {
	if c == nil {
		return nil, invalid("NewMonitor: the Client is nil")
	}
	if policy.MaxInactive < 0 {
		return nil, invalid("MaxInactive is %v; it must be zero (off) or more", policy.MaxInactive)
	}
	if policy.MaxRetainedBytes < 0 {
		return nil, invalid("MaxRetainedBytes is %d; it must be zero (off) or more", policy.MaxRetainedBytes)
	}
	m := &Monitor{c: c, policy: policy, now: time.Now, marks: map[string]InactiveMark{}}
	if opts != nil {
		if opts.Now != nil {
			m.now = opts.Now
		}
		if opts.State != nil {
			maps.Copy(m.marks, opts.State.Slots)
		}
	}
	return m, nil
}

// State returns a copy of what the monitor remembers.
func (m *Monitor) State() MonitorState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return MonitorState{Slots: maps.Clone(m.marks)}
}

// Check reads the slots, judges them and, if the policy says so, drops
// the violating inactive ones. Failures to drop one slot are reported in
// its SlotReport, not as the call's error.
func (m *Monitor) Check(ctx context.Context) (MonitorReport, error) {
	if m == nil || m.now == nil {
		return MonitorReport{}, invalid("Monitor.Check: the Monitor was not made with NewMonitor")
	}
	slots, err := m.c.Slots(ctx)
	if err != nil {
		return MonitorReport{}, err
	}
	now := m.now()
	rep := MonitorReport{At: now}

	m.mu.Lock()
	seen := map[string]bool{}
	for _, s := range slots {
		seen[s.Name] = true
		if s.Active {
			delete(m.marks, s.Name)
			continue
		}
		mark, ok := m.marks[s.Name]
		if !ok || mark.ConfirmedFlushLSN != s.ConfirmedFlushLSN || mark.RestartLSN != s.RestartLSN {
			m.marks[s.Name] = InactiveMark{Since: now, ConfirmedFlushLSN: s.ConfirmedFlushLSN, RestartLSN: s.RestartLSN}
		}
	}
	for name := range m.marks {
		if !seen[name] {
			delete(m.marks, name)
		}
	}
	marks := maps.Clone(m.marks)
	m.mu.Unlock()

	for _, s := range slots {
		if m.policy.Select != nil {
			if !m.policy.Select(s) {
				continue
			}
		} else if s.Type != "logical" {
			continue
		}
		r := SlotReport{Slot: s}
		if !s.Active {
			r.InactiveSince = marks[s.Name].Since
			if !s.InactiveSince.IsZero() {
				r.InactiveSince = s.InactiveSince
			}
			r.InactiveFor = max(now.Sub(r.InactiveSince), 0)
		}
		r.Violations = Judge(m.policy, s, r.InactiveFor)
		if len(r.Violations) > 0 && m.policy.Drop && !s.Active && !s.Temporary && !slices.Contains(m.policy.Protect, s.Name) {
			r.Dropped, r.DropError = m.drop(ctx, s.Name)
		}
		rep.Slots = append(rep.Slots, r)
	}
	return rep, nil
}

// Judge returns the rules of the policy a slot breaks, given how long it
// has been inactive. It is pure.
func Judge(p SlotPolicy, s pgaurora.ReplicationSlot, inactiveFor time.Duration) []Violation {
	var out []Violation
	if !s.Active && p.MaxInactive > 0 && inactiveFor >= p.MaxInactive {
		out = append(out, ViolationInactive)
	}
	if p.MaxRetainedBytes > 0 && s.RetainedBytes > p.MaxRetainedBytes {
		out = append(out, ViolationRetainedBytes)
	}
	if s.WALStatus == "lost" {
		out = append(out, ViolationLost)
	}
	return out
}

// drop drops a slot if it is still inactive.
func (m *Monitor) drop(ctx context.Context, name string) (bool, error) {
	var dropped bool
	err := m.c.q.QueryRow(ctx, `SELECT count(*) > 0 FROM (SELECT pg_drop_replication_slot(slot_name)
		FROM pg_replication_slots WHERE slot_name = $1 AND NOT active) d`, name).Scan(&dropped)
	if err != nil {
		return false, classify(err, fmt.Sprintf("dropping slot %q", name))
	}
	if !dropped {
		return false, fmt.Errorf("logical: dropping slot %q: %w (it became active, or is gone)", name, ErrSlotActive)
	}
	m.mu.Lock()
	delete(m.marks, name)
	m.mu.Unlock()
	return true, nil
}
