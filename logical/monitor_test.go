package logical

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

func TestJudge(t *testing.T) {
	p := SlotPolicy{MaxInactive: time.Hour, MaxRetainedBytes: 1000}
	tests := []struct {
		name     string
		slot     pgaurora.ReplicationSlot
		inactive time.Duration
		want     []Violation
	}{
		{"fine", pgaurora.ReplicationSlot{RetainedBytes: 10}, 0, nil},
		{"inactive long", pgaurora.ReplicationSlot{RetainedBytes: 10}, time.Hour, []Violation{ViolationInactive}},
		{"inactive short", pgaurora.ReplicationSlot{RetainedBytes: 10}, time.Hour - 1, nil},
		{"retains too much", pgaurora.ReplicationSlot{RetainedBytes: 1001}, 0, []Violation{ViolationRetainedBytes}},
		{"at the limit", pgaurora.ReplicationSlot{RetainedBytes: 1000}, 0, nil},
		{"both", pgaurora.ReplicationSlot{RetainedBytes: 5000}, 2 * time.Hour, []Violation{ViolationInactive, ViolationRetainedBytes}},
		{"active and lagging", pgaurora.ReplicationSlot{Active: true, RetainedBytes: 5000}, 2 * time.Hour, []Violation{ViolationRetainedBytes}},
		{"lost", pgaurora.ReplicationSlot{WALStatus: "lost"}, 0, []Violation{ViolationLost}},
	}
	for _, tt := range tests {
		if got := Judge(p, tt.slot, tt.inactive); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := Judge(SlotPolicy{}, pgaurora.ReplicationSlot{RetainedBytes: 1 << 40}, 1000*time.Hour); got != nil {
		t.Errorf("empty policy: %v", got)
	}
}

// clock is a test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// TestSlotMonitor is the slot part of the acceptance tests: an inactive
// slot holding WAL is reported with its retained bytes and dropped by the
// policy, once it has been inactive past the threshold.
func TestSlotMonitor(t *testing.T) {
	t.Parallel()
	db := newDB(t, pubSrv)
	c := New(db.Pool)
	ctx := testCtx(t)
	t.Cleanup(func() { cleanupReplication(t, nil, c, db.Name) })
	mustExec(t, db.Pool, "CREATE TABLE filler (id int, pad text)")

	stale, keep, busy := uniqueName("stale"), uniqueName("keep"), uniqueName("busy")
	for _, s := range []string{stale, keep, busy} {
		if _, err := c.CreateSlot(ctx, s, PluginWal2JSON); err != nil {
			t.Fatal(err)
		}
	}
	// WAL written after the slots were created is retained by them.
	mustExec(t, db.Pool, "INSERT INTO filler SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g")

	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	policy := SlotPolicy{MaxInactive: time.Hour, Drop: true, Protect: []string{keep},
		Select: func(s pgaurora.ReplicationSlot) bool { return s.Database == db.Name }}
	m, err := NewMonitor(c, policy, &MonitorOptions{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := m.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Slots) != 3 {
		t.Fatalf("slots = %v, want the test's three", rep.Slots)
	}
	for _, s := range rep.Slots {
		t.Log(s)
		if s.Slot.Active || s.Slot.RetainedBytes < 400_000 || s.Slot.Plugin != "wal2json" || s.Slot.WALStatus != "reserved" ||
			!s.InactiveSince.Equal(clk.t) || s.InactiveFor != 0 || len(s.Violations) != 0 {
			t.Errorf("first check: %+v", s)
		}
	}

	// Half an hour later: still within the threshold. Meanwhile a
	// consumer reads "busy" and confirms, which restarts its clock.
	clk.advance(30 * time.Minute)
	changes, err := c.PeekWal2JSON(ctx, busy, &PeekOptions{Transactions: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AdvanceSlot(ctx, busy, changes[len(changes)-1].LSN); err != nil {
		t.Fatal(err)
	}
	if rep, err = m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rep.Alerts()) != 0 {
		t.Errorf("alerts at 30 minutes: %v", rep.Alerts())
	}
	state := m.State()
	if !state.Slots[busy].Since.Equal(clk.t) || !state.Slots[stale].Since.Equal(clk.t.Add(-30*time.Minute)) {
		t.Errorf("state after a consumer advanced busy: %+v", state)
	}

	// The state survives a restart of the monitor, through JSON.
	raw, err := json.Marshal(state)
	if err != nil {
		t.Fatal(err)
	}
	var restored MonitorState
	if err := json.Unmarshal(raw, &restored); err != nil {
		t.Fatal(err)
	}
	m, err = NewMonitor(c, policy, &MonitorOptions{Now: clk.now, State: &restored})
	if err != nil {
		t.Fatal(err)
	}

	// Past the threshold: the stale slot is dropped, the protected one
	// only reported, and busy is not yet due.
	clk.advance(31 * time.Minute)
	if rep, err = m.Check(ctx); err != nil {
		t.Fatal(err)
	}
	byName := map[string]SlotReport{}
	for _, s := range rep.Slots {
		byName[s.Name()] = s
		t.Log(s)
	}
	if s := byName[stale]; !s.Dropped || s.DropError != nil || !slices.Equal(s.Violations, []Violation{ViolationInactive}) ||
		s.InactiveFor != 61*time.Minute || s.Slot.RetainedBytes < 400_000 {
		t.Errorf("stale = %+v", s)
	}
	if s := byName[keep]; s.Dropped || len(s.Violations) != 1 {
		t.Errorf("protected = %+v", s)
	}
	if s := byName[busy]; s.Dropped || len(s.Violations) != 0 || s.InactiveFor != 31*time.Minute {
		t.Errorf("busy = %+v", s)
	}
	if !cmp.Equal(rep.Dropped(), []string{stale}) || len(rep.Alerts()) != 2 {
		t.Errorf("dropped = %v, alerts = %v", rep.Dropped(), rep.Alerts())
	}
	slots, err := c.Slots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(slots, func(s pgaurora.ReplicationSlot) bool { return s.Name == stale }) {
		t.Error("the stale slot is still on the server")
	}

	// A retained-bytes policy flags at once, and reports without
	// dropping when Drop is off.
	m2, err := NewMonitor(c, SlotPolicy{MaxRetainedBytes: 1024, Select: policy.Select}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err = m2.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Slots {
		if s.Name() == keep && (!slices.Equal(s.Violations, []Violation{ViolationRetainedBytes}) || s.Dropped) {
			t.Errorf("retained-bytes policy: %+v", s)
		}
	}
	if _, err := NewMonitor(c, SlotPolicy{MaxInactive: -1}, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative MaxInactive: %v", err)
	}
}

// TestSlotMonitorActiveSlot checks that an active slot (a running
// subscription's) is reported when it retains too much but never dropped.
func TestSlotMonitorActiveSlot(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	ctx := testCtx(t)
	for _, pool := range pools(p) {
		mustExec(t, pool, "CREATE TABLE a (id int PRIMARY KEY)")
	}
	if err := p.pub.CreatePublication(ctx, PublicationSpec{Name: "ap", AllTables: true}); err != nil {
		t.Fatal(err)
	}
	if err := p.sub.CreateSubscription(ctx, SubscriptionSpec{Name: "as", Conn: connInfo(t, p.pubDB), Publications: []string{"ap"}, SkipCopyData: true}); err != nil {
		t.Fatal(err)
	}
	pgtest.WaitFor(t, "the subscription's slot to be active", 20*time.Second, func() (bool, string) {
		slots, err := p.pub.Slots(ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, s := range slots {
			if s.Name == "as" {
				return s.Active, "inactive"
			}
		}
		return false, "no slot"
	})
	m, err := NewMonitor(p.pub, SlotPolicy{MaxRetainedBytes: 1, MaxInactive: time.Nanosecond, Drop: true,
		Select: func(s pgaurora.ReplicationSlot) bool { return s.Database == p.pubDB.Name }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, p.pubDB.Pool, "INSERT INTO a SELECT generate_series(1, 100)")
	rep, err := m.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Slots {
		if s.Dropped || !s.Slot.Active || slices.Contains(s.Violations, ViolationInactive) {
			t.Errorf("active slot: %+v", s)
		}
	}
	if err := p.pub.DropSlot(ctx, "as"); !errors.Is(err, ErrSlotActive) {
		t.Errorf("dropping an active slot: %v, want ErrSlotActive", err)
	}
}
