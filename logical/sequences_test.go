package logical

import (
	"errors"
	"math"
	"testing"
)

func TestPlanSequenceSync(t *testing.T) {
	seq := TableName{"public", "s"}
	up := func(next int64) SequenceState {
		return SequenceState{Sequence: seq, Next: next, Increment: 1, Min: 1, Max: math.MaxInt64}
	}
	down := func(next int64) SequenceState {
		return SequenceState{Sequence: seq, Next: next, Increment: -1, Min: math.MinInt64, Max: -1}
	}
	small := func(next int64, exhausted bool) SequenceState {
		return SequenceState{Sequence: seq, Next: next, Exhausted: exhausted, Increment: 10, Min: 1, Max: 100}
	}
	tests := []struct {
		name          string
		pub           SequenceState
		sub           *SequenceState
		headroom      int64
		action        SequenceAction
		target        int64
		targetExhaust bool
	}{
		{"behind", up(500), ptr(up(1)), 0, SequenceSet, 500, false},
		{"equal", up(500), ptr(up(500)), 0, SequenceAhead, 500, false},
		{"ahead is never moved back", up(500), ptr(up(900)), 0, SequenceAhead, 500, false},
		{"headroom", up(500), ptr(up(1)), 100, SequenceSet, 600, false},
		{"headroom makes an equal one move", up(500), ptr(up(500)), 1, SequenceSet, 501, false},
		{"descending behind", down(-500), ptr(down(-1)), 0, SequenceSet, -500, false},
		{"descending ahead", down(-500), ptr(down(-900)), 0, SequenceAhead, -500, false},
		{"descending headroom", down(-500), ptr(down(-1)), 10, SequenceSet, -510, false},
		{"missing", up(5), nil, 0, SequenceMissing, 0, false},
		{"opposite directions", up(5), ptr(down(-5)), 0, SequenceMismatch, 0, false},
		{"publisher exhausted", small(100, true), ptr(small(11, false)), 0, SequenceSet, 100, true},
		{"both exhausted", small(100, true), ptr(small(100, true)), 0, SequenceAhead, 100, true},
		{"headroom past the limit", small(91, false), ptr(small(1, false)), 5, SequenceSet, 100, true},
		{"headroom overflow", up(math.MaxInt64 - 5), ptr(up(1)), math.MaxInt64, SequenceSet, math.MaxInt64, true},
		{"subscriber's smaller max", up(500), ptr(SequenceState{Sequence: seq, Next: 1, Increment: 1, Min: 1, Max: 100}), 0, SequenceSet, 100, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanSequenceSync(tt.pub, tt.sub, tt.headroom)
			if got.Action != tt.action {
				t.Fatalf("action = %s, want %s (%+v)", got.Action, tt.action, got)
			}
			if tt.action == SequenceSet || tt.action == SequenceAhead {
				if got.Target != tt.target || got.TargetExhausted != tt.targetExhaust {
					t.Errorf("target = %d exhausted %t, want %d %t", got.Target, got.TargetExhausted, tt.target, tt.targetExhaust)
				}
			}
		})
	}
}

// TestSyncSequences is the sequence part of the acceptance tests: the
// subscriber's sequences move to the publisher's values and never
// backwards.
func TestSyncSequences(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	ctx := testCtx(t)
	for _, pool := range pools(p) {
		mustExec(t, pool, `CREATE TABLE orders (id bigserial PRIMARY KEY);
			CREATE SEQUENCE ahead;
			CREATE SEQUENCE countdown INCREMENT -5 MINVALUE -1000000 MAXVALUE -1 START -1;
			CREATE SEQUENCE unused;
			CREATE SEQUENCE "Odd ""name""";
			CREATE SCHEMA s2; CREATE SEQUENCE s2.other`)
	}
	mustExec(t, p.pubDB.Pool, `INSERT INTO orders SELECT FROM generate_series(1, 250);
		SELECT setval('ahead', 100); SELECT setval('countdown', -400);
		SELECT setval('"Odd ""name"""', 77, false); SELECT setval('s2.other', 3)`)
	mustExec(t, p.pubDB.Pool, `CREATE SEQUENCE only_on_publisher`)
	mustExec(t, p.subDB.Pool, `SELECT setval('ahead', 5000); SELECT setval('orders_id_seq', 10)`)

	next := func(pool string, seq string) int64 {
		t.Helper()
		db := p.subDB.Pool
		if pool == "pub" {
			db = p.pubDB.Pool
		}
		return queryInt(t, db, "SELECT nextval($1::regclass)", seq)
	}

	// Dry run: nothing changes.
	plan, err := SyncSequences(ctx, p.pubDB.Pool, p.subDB.Pool, &SequenceSyncOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]SequenceSync{}
	for _, s := range plan {
		got[s.Sequence.String()] = s
		t.Log(s)
	}
	wantActions := map[string]SequenceAction{
		"public.orders_id_seq": SequenceSet, "public.ahead": SequenceAhead, "public.countdown": SequenceSet,
		"public.unused": SequenceAhead, `public."Odd ""name"""`: SequenceSet, "s2.other": SequenceSet,
		"public.only_on_publisher": SequenceMissing,
	}
	for name, want := range wantActions {
		if got[name].Action != want {
			t.Errorf("%s: action %s, want %s", name, got[name].Action, want)
		}
	}
	if len(plan) != len(wantActions) {
		t.Errorf("%d sequences planned, want %d", len(plan), len(wantActions))
	}
	if n := queryInt(t, p.subDB.Pool, "SELECT last_value FROM orders_id_seq"); n != 10 {
		t.Fatalf("the dry run moved orders_id_seq to %d", n)
	}

	res, err := SyncSequences(ctx, p.pubDB.Pool, p.subDB.Pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(plan) {
		t.Errorf("%d results, want %d", len(res), len(plan))
	}
	// The subscriber now continues where the publisher stands.
	for seq, want := range map[string]int64{"orders_id_seq": 251, "countdown": -405, `"Odd ""name"""`: 77, "s2.other": 4, "ahead": 5001, "unused": 1} {
		if got := next("sub", seq); got != want {
			t.Errorf("subscriber nextval(%s) = %d, want %d", seq, got, want)
		}
	}
	// Never backwards: the publisher falls behind the subscriber's (just
	// advanced) sequences; a second sync changes nothing.
	res, err = SyncSequences(ctx, p.pubDB.Pool, p.subDB.Pool, &SequenceSyncOptions{Sequences: []TableName{{"public", "orders_id_seq"}, {"public", "countdown"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Action != SequenceAhead {
			t.Errorf("second sync: %v", r)
		}
	}
	if got := next("sub", "orders_id_seq"); got != 252 {
		t.Errorf("after the second sync nextval = %d, want 252", got)
	}

	// Headroom: the publisher moves on, the subscriber goes past it.
	next("pub", "orders_id_seq") // 251
	res, err = SyncSequences(ctx, p.pubDB.Pool, p.subDB.Pool, &SequenceSyncOptions{Sequences: []TableName{{"public", "orders_id_seq"}}, Headroom: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Action != SequenceSet || res[0].Target != 1252 {
		t.Errorf("headroom sync: %v", res[0])
	}
	if got := next("sub", "orders_id_seq"); got != 1252 {
		t.Errorf("after headroom nextval = %d, want 1252", got)
	}

	// An exhausted publisher sequence leaves the subscriber's exhausted.
	for _, pool := range pools(p) {
		mustExec(t, pool, "CREATE SEQUENCE tiny INCREMENT 10 MAXVALUE 100")
	}
	mustExec(t, p.pubDB.Pool, "SELECT setval('tiny', 100)")
	res, err = SyncSequences(ctx, p.pubDB.Pool, p.subDB.Pool, &SequenceSyncOptions{Sequences: []TableName{{Name: "tiny"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Action != SequenceSet || !res[0].TargetExhausted {
		t.Errorf("exhausted sync: %v", res[0])
	}
	if _, err := p.subDB.Pool.Exec(ctx, "SELECT nextval('tiny')"); err == nil {
		t.Errorf("the subscriber's tiny still hands out values")
	}
	if res, err = SyncSequences(ctx, p.pubDB.Pool, p.subDB.Pool, &SequenceSyncOptions{Sequences: []TableName{{Name: "tiny"}}}); err != nil || res[0].Action != SequenceAhead {
		t.Errorf("second exhausted sync: %v, %v", res, err)
	}

	if _, err := SyncSequences(ctx, p.pubDB.Pool, p.subDB.Pool, &SequenceSyncOptions{Sequences: []TableName{{"public", "nope"}}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing on the publisher: %v", err)
	}
	if _, err := SyncSequences(ctx, p.pubDB.Pool, p.subDB.Pool, &SequenceSyncOptions{Headroom: -1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative headroom: %v", err)
	}
}
