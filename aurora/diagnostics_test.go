package aurora_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
)

func TestClassifyWait(t *testing.T) {
	tests := []struct {
		typ, event, state string
		want              aurora.WaitClass
	}{
		{"", "", "active", aurora.WaitCPU},
		{"", "", "idle in transaction", aurora.WaitOther},
		{"", "", "", aurora.WaitOther},
		{"IO", "XactSync", "active", aurora.WaitIO}, // Aurora's commit wait
		{"IO", "DataFileRead", "active", aurora.WaitIO},
		{"IPC", "DamRecordTxAck", "active", aurora.WaitIPC}, // Aurora only
		{"Lock", "transactionid", "active", aurora.WaitLock},
		{"LWLock", "buffer_content", "active", aurora.WaitLWLock}, // Aurora's older spelling
		{"LWLock", "BufferContent", "active", aurora.WaitLWLock},
		{"Client", "ClientRead", "idle in transaction", aurora.WaitClient},
		{"Timeout", "PgSleep", "active", aurora.WaitTimeout},
		{"BufferPin", "BufferPin", "active", aurora.WaitBufferPin},
		{"Activity", "WalSenderMain", "active", aurora.WaitActivity},
		{"Extension", "Extension", "active", aurora.WaitExtension},
		{"lwlock", "lockmanager", "active", aurora.WaitLWLock}, // case-insensitive type
		{"SomethingNew", "X", "active", aurora.WaitOther},
	}
	for _, tc := range tests {
		if got := aurora.ClassifyWait(tc.typ, tc.event, tc.state); got != tc.want {
			t.Errorf("ClassifyWait(%q, %q, %q) = %s, want %s", tc.typ, tc.event, tc.state, got, tc.want)
		}
	}
	if aurora.WaitHint("io:xactsync") == "" || aurora.WaitHint("CPU") == "" || aurora.WaitHint("IO:NoSuchEvent") != "" {
		t.Error("WaitHint does not know IO:XactSync and CPU, or invents hints")
	}
}

func TestSummarizeWaitEvents(t *testing.T) {
	obs := []aurora.WaitObservation{
		{"IO", "XactSync", "active"}, {"IO", "XactSync", "active"}, {"IO", "XactSync", "active"},
		{"", "", "active"}, {"", "", "active"},
		{"Lock", "transactionid", "active"},
		{"IO", "DataFileRead", "active"},
		{"Client", "ClientRead", "idle in transaction"},
	}
	r := aurora.SummarizeWaitEvents(4, obs)
	type ev struct {
		Event string
		Class aurora.WaitClass
		Count int
		Share float64
		Avg   float64
	}
	var got []ev
	for _, e := range r.Events {
		got = append(got, ev{e.Event, e.Class, e.Count, e.Share, e.AverageSessions})
	}
	want := []ev{
		{"IO:XactSync", aurora.WaitIO, 3, 3.0 / 8, 0.75},
		{"CPU", aurora.WaitCPU, 2, 2.0 / 8, 0.5},
		{"Client:ClientRead", aurora.WaitClient, 1, 1.0 / 8, 0.25},
		{"IO:DataFileRead", aurora.WaitIO, 1, 1.0 / 8, 0.25},
		{"Lock:transactionid", aurora.WaitLock, 1, 1.0 / 8, 0.25},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	wantClasses := []aurora.WaitClassShare{
		{Class: aurora.WaitIO, Count: 4, Share: 0.5},
		{Class: aurora.WaitCPU, Count: 2, Share: 0.25},
		{Class: aurora.WaitClient, Count: 1, Share: 0.125},
		{Class: aurora.WaitLock, Count: 1, Share: 0.125},
	}
	if d := cmp.Diff(wantClasses, r.Classes); d != "" {
		t.Errorf("classes (-want +got):\n%s", d)
	}
	if r.Observations != 8 || r.AverageActiveSessions != 2 {
		t.Errorf("observations %d, AAS %v; want 8 and 2", r.Observations, r.AverageActiveSessions)
	}
	if top := r.Top(2); len(top) != 2 || top[0].Event != "IO:XactSync" || !strings.Contains(top[0].Hint, "commit") {
		t.Errorf("Top(2) = %+v", top)
	}
	if len(r.Top(100)) != 5 || len(r.Top(-1)) != 0 {
		t.Error("Top does not clamp")
	}
	if s := r.String(); !strings.Contains(s, "37.5%  IO:XactSync") || !strings.Contains(s, "by class: IO 50.0% CPU 25.0%") {
		t.Errorf("String():\n%s", s)
	}

	empty := aurora.SummarizeWaitEvents(3, nil)
	if empty.Observations != 0 || len(empty.Events) != 0 || empty.AverageActiveSessions != 0 {
		t.Errorf("no observations: %+v", empty)
	}
}

// TestSampleWaitEvents holds one session in pg_sleep and one waiting for a
// row lock another holds, and samples the writer.
func TestSampleWaitEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := openCluster(t, diagClusterID, nil)
	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(ctx, "CREATE TABLE IF NOT EXISTS wait_probe(id int PRIMARY KEY, n int); INSERT INTO wait_probe VALUES (1, 0) ON CONFLICT DO NOTHING"); err != nil {
		t.Fatal(err)
	}
	holder, err := w.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(context.Background())
	if _, err := holder.Exec(ctx, "UPDATE wait_probe SET n = n + 1 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() {
		_, _ = w.Exec(loadCtx, "SELECT pg_sleep(10)")
		done <- struct{}{}
	}()
	go func() {
		_, _ = w.Exec(loadCtx, "UPDATE wait_probe SET n = n + 1 WHERE id = 1")
		done <- struct{}{}
	}()
	time.Sleep(200 * time.Millisecond)

	r, err := c.SampleWaitEvents(ctx, time.Second, 100*time.Millisecond)
	stopLoad()
	_ = holder.Rollback(context.Background())
	<-done
	<-done
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wait events:\n%s", r)
	if r.Samples != 10 || r.Period != time.Second || r.Interval != 100*time.Millisecond {
		t.Errorf("samples %d, period %s, interval %s; want 10, 1s, 100ms", r.Samples, r.Period, r.Interval)
	}
	events := map[string]aurora.WaitEventShare{}
	var sum float64
	for _, e := range r.Events {
		events[e.Event] = e
		sum += e.Share
	}
	if e := events["Timeout:PgSleep"]; e.Class != aurora.WaitTimeout || e.Count < 8 {
		t.Errorf("Timeout:PgSleep = %+v; want it in (nearly) every sample", e)
	}
	if e := events["Lock:transactionid"]; e.Class != aurora.WaitLock || e.Count < 8 {
		t.Errorf("Lock:transactionid = %+v; want it in (nearly) every sample", e)
	}
	// The holder is idle in transaction (Client:ClientRead); the sampling
	// session itself, active without a wait event, must not count as CPU.
	if e, ok := events["CPU"]; ok {
		t.Errorf("CPU seen %d times: the sampler counted itself", e.Count)
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("shares sum to %v", sum)
	}

	for _, tc := range []struct {
		period, interval time.Duration
		field            string
	}{
		{0, time.Millisecond, "period"},
		{time.Second, 0, "interval"},
		{time.Second, 2 * time.Second, "interval"},
		{time.Hour, time.Microsecond, "interval"},
	} {
		_, err := c.SampleWaitEvents(ctx, tc.period, tc.interval)
		var ie *aurora.InputError
		if !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("SampleWaitEvents(%s, %s): %v; want an *InputError on %s", tc.period, tc.interval, err, tc.field)
		}
	}
}

// TestInactiveSlots turns logical replication on for the diag cluster,
// creates a logical slot no one reads, writes WAL past it and checks that
// the slot is reported with the WAL it holds.
func TestInactiveSlots(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := openCluster(t, diagClusterID, nil)
	r, err := c.ConfigureLogicalReplication(ctx, aurora.LogicalReplicationPlan{Slots: 1}, &aurora.LogicalReplicationOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", r)
	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const slot = "forgotten_consumer"
	if _, err := w.Exec(ctx, "SELECT pg_create_logical_replication_slot($1, 'test_decoding')", slot); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = w.Exec(context.Background(), "SELECT pg_drop_replication_slot($1)", slot)
	})
	if _, err := w.Exec(ctx, "CREATE TABLE IF NOT EXISTS wal_filler(id int, pad text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(ctx, "INSERT INTO wal_filler SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g"); err != nil {
		t.Fatal(err)
	}

	slots, err := c.InactiveSlots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found *pgaurora.ReplicationSlot
	for i := range slots {
		t.Logf("inactive slot %s (%s, %s): %s retained, wal_status %s", slots[i].Name, slots[i].Type, slots[i].Plugin, slots[i].RetainedWAL(), slots[i].WALStatus)
		if slots[i].Name == slot {
			found = &slots[i]
		}
	}
	if found == nil {
		t.Fatalf("slot %s not reported among %+v", slot, slots)
	}
	if found.Type != "logical" || found.Plugin != "test_decoding" || found.Database != "postgres" || found.Temporary || found.WALStatus != "reserved" || found.RestartLSN == 0 {
		t.Errorf("slot %+v", *found)
	}
	// 20,000 rows of over 100 bytes each.
	if found.RetainedBytes < 2_000_000 {
		t.Errorf("slot retains %d bytes of WAL, want at least 2 MB", found.RetainedBytes)
	}
	for i := 1; i < len(slots); i++ {
		if slots[i].RetainedBytes > slots[i-1].RetainedBytes {
			t.Errorf("slots not ordered by retained WAL: %+v", slots)
		}
	}

	// A dropped slot is no longer reported.
	if _, err := w.Exec(ctx, "SELECT pg_drop_replication_slot($1)", slot); err != nil {
		t.Fatal(err)
	}
	slots, err = c.InactiveSlots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		if s.Name == slot {
			t.Errorf("dropped slot still reported")
		}
	}
}
