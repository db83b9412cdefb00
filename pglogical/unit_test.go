package pglogical

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/params"
)

func TestParameters(t *testing.T) {
	extra := mustDSN(t, map[string]string{"keepalives_idle": "60", "sslmode": "require"})
	for _, tc := range []struct {
		name string
		opts ParameterOptions
		want []params.Change
	}{
		{
			name: "defaults on an empty group",
			opts: ParameterOptions{Sizing: Sizing{VCPU: 2, MemoryBytes: 8 << 30}},
			want: []params.Change{
				{Name: "shared_preload_libraries", Value: "pglogical"},
				{Name: "rds.logical_replication", Value: "1"},
				// AWS's rule: 4 workers + 3 autovacuum + 8 parallel.
				{Name: "max_worker_processes", Value: "15"},
			},
		},
		{
			name: "keeps other libraries and sizes for many subscriptions",
			opts: ParameterOptions{
				CurrentPreload: "pg_stat_statements,pgaudit",
				Sizing:         Sizing{Subscriptions: 10, ProvidedSubscriptions: 12, Databases: 2, VCPU: 4, MemoryBytes: 32 << 30},
			},
			want: []params.Change{
				{Name: "shared_preload_libraries", Value: "pg_stat_statements,pgaudit,pglogical"},
				{Name: "rds.logical_replication", Value: "1"},
				{Name: "max_replication_slots", Value: "24"},
				{Name: "max_wal_senders", Value: "24"},
				{Name: "max_logical_replication_workers", Value: "24"},
				{Name: "max_worker_processes", Value: "35"},
			},
		},
		{
			name: "already loaded, timestamp-based resolution adds track_commit_timestamp",
			opts: ParameterOptions{
				CurrentPreload: "pglogical",
				Sizing:         Sizing{VCPU: 2, MemoryBytes: 8 << 30, Current: map[string]string{"rds.logical_replication": "1"}},
				Settings: Settings{ConflictResolution: ResolveLastUpdateWins, ConflictLogLevel: pgaurora.LogLevelWarning,
					BatchInserts: pgaurora.Ptr(false), UseSPI: pgaurora.Ptr(true), SynchronousCommit: pgaurora.Ptr(true), ExtraConnectionOptions: &extra},
			},
			want: []params.Change{
				{Name: "shared_preload_libraries", Value: "pglogical"},
				{Name: "rds.logical_replication", Value: "1"},
				{Name: "max_worker_processes", Value: "15"},
				{Name: "pglogical.conflict_resolution", Value: "last_update_wins"},
				{Name: "track_commit_timestamp", Value: "1"},
				{Name: "pglogical.conflict_log_level", Value: "warning"},
				{Name: "pglogical.batch_inserts", Value: "0"},
				{Name: "pglogical.use_spi", Value: "1"},
				{Name: "pglogical.synchronous_commit", Value: "1"},
				{Name: "pglogical.extra_connection_options", Value: "keepalives_idle=60 sslmode=require"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parameters(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			if err := params.ValidateAll(params.ClusterGroup, got); err != nil {
				t.Errorf("params rejects the changes: %v", err)
			}
		})
	}
}

func TestParametersRejects(t *testing.T) {
	for name, opts := range map[string]ParameterOptions{
		"bad resolution":  {Settings: Settings{ConflictResolution: "newest"}},
		"bad log level":   {Settings: Settings{ConflictLogLevel: "loud"}},
		"negative counts": {Sizing: Sizing{Subscriptions: -1}},
	} {
		_, err := Parameters(opts)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	_, err := Parameters(ParameterOptions{Settings: Settings{ConflictResolution: "newest"}})
	for _, want := range []string{"conflict_resolution", "apply_remote", "last_update_wins"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// A formula without the instance size cannot be compared: refuse
	// rather than risk lowering it.
	if _, err := Parameters(ParameterOptions{Sizing: Sizing{Subscriptions: 20}}); err == nil {
		t.Error("sizing against the default formula without VCPU succeeded")
	}
}

func TestConflictResolution(t *testing.T) {
	for _, r := range conflictResolutions {
		if err := r.Validate(); err != nil {
			t.Errorf("%s: %v", r, err)
		}
	}
	want := map[ConflictResolution]bool{ResolveKeepLocal: true, ResolveLastUpdateWins: true, ResolveFirstUpdateWins: true}
	for _, r := range conflictResolutions {
		if r.NeedsCommitTimestamps() != want[r] {
			t.Errorf("%s.NeedsCommitTimestamps() = %v", r, !want[r])
		}
	}
}

func TestPrerequisitesCheck(t *testing.T) {
	for _, tc := range []struct {
		p         Prerequisites
		preloaded bool
		wal       bool
	}{
		{Prerequisites{SharedPreloadLibraries: "pglogical", WALLevel: "logical"}, true, true},
		{Prerequisites{SharedPreloadLibraries: "pg_stat_statements, $libdir/pglogical.so", WALLevel: "logical"}, true, true},
		{Prerequisites{SharedPreloadLibraries: "pgaudit", WALLevel: "replica"}, false, false},
		{Prerequisites{SharedPreloadLibraries: "", WALLevel: "logical"}, false, true},
		{Prerequisites{SharedPreloadLibraries: "pglogical_ticker", WALLevel: "logical"}, false, true},
	} {
		err := tc.p.Check()
		if got := !errors.Is(err, ErrNotPreloaded); got != tc.preloaded {
			t.Errorf("%+v: preloaded = %v, want %v (%v)", tc.p, got, tc.preloaded, err)
		}
		if got := !errors.Is(err, ErrWALLevel); got != tc.wal {
			t.Errorf("%+v: wal ok = %v, want %v (%v)", tc.p, got, tc.wal, err)
		}
	}
}

func TestValidation(t *testing.T) {
	long := strings.Repeat("n", 64)
	for name, err := range map[string]error{
		"empty node name":     checkName("node name", ""),
		"long node name":      checkName("node name", long),
		"NUL in name":         checkName("node name", "a\x00"),
		"empty actions":       Actions(0).validate(),
		"unknown actions":     Actions(0x20).validate(),
		"empty table":         func() error { _, err := (Table{}).regclass("table"); return err }(),
		"spec without DSN":    SubscriptionSpec{Name: "s"}.Validate(),
		"spec bad forward":    SubscriptionSpec{Name: "s", Provider: mustDSN(t, map[string]string{"host": "h"}), ForwardOrigins: 7}.Validate(),
		"spec negative delay": SubscriptionSpec{Name: "s", Provider: mustDSN(t, map[string]string{"host": "h"}), ApplyDelay: -time.Second}.Validate(),
		"spec long set":       SubscriptionSpec{Name: "s", Provider: mustDSN(t, map[string]string{"host": "h"}), ReplicationSets: []string{long}}.Validate(),
	} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if got := (Insert | Delete).String(); got != "insert,delete" {
		t.Errorf("Actions.String() = %q", got)
	}
	if got := T("public", `we"ird`).String(); got != `"public"."we""ird"` {
		t.Errorf("Table.String() = %q", got)
	}
}

func TestSyncStateNames(t *testing.T) {
	for _, s := range []SyncState{SyncInit, SyncStructure, SyncData, SyncConstraints, SyncWaiting, SyncCatchup, SyncDone, SyncReady} {
		if got := parseSyncName(s.String()); got != s {
			t.Errorf("parseSyncName(%q) = %v, want %v", s.String(), got, s)
		}
	}
}

func TestClassifyScrubsSecrets(t *testing.T) {
	server := &pgconn.PgError{Severity: "ERROR", Code: "XX000",
		Message: `could not connect to the postgresql server: connection to server at "127.0.0.1", port 1 failed: Connection refused`,
		Detail:  "dsn was:  host=127.0.0.1 port=1 password=hunter22 dbname=src"}
	err := wrap("create subscription", server, "hunter22")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("lost the *pgconn.PgError: %v", err)
	}
	if strings.Contains(pgErr.Detail, "hunter22") || strings.Contains(err.Error(), "hunter22") {
		t.Errorf("secret survives: %v / %q", err, pgErr.Detail)
	}
	if pgErr == server {
		t.Error("classify returned the original error, which holds the secret")
	}
	for _, tc := range []struct {
		msg  string
		want error
		kind string
	}{
		{"subscriber nope not found", ErrNotFound, "subscription"},
		{"node n1 not found", ErrNotFound, "node"},
		{"replication set s not found", ErrNotFound, "replication set"},
		{`interface "i" for node node "n" not found`, ErrNotFound, "interface"},
		{"node n1 already exists", ErrAlreadyExists, ""},
	} {
		err := classify(&pgconn.PgError{Code: "XX000", Message: tc.msg})
		if !errors.Is(err, tc.want) {
			t.Errorf("%q: %v is not %v", tc.msg, err, tc.want)
		}
		var nf *NotFoundError
		if tc.kind != "" && (!errors.As(err, &nf) || nf.Kind != tc.kind) {
			t.Errorf("%q: NotFoundError = %+v, want kind %q", tc.msg, nf, tc.kind)
		}
	}
	if err := classify(&pgconn.PgError{Code: "3F000", Message: `schema "pglogical" does not exist`}); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("missing schema: %v", err)
	}
}

const sampleLog = `2022-07-06 16:17:03 UTC::[unknown]@labdb:[14610]:LOG:  starting apply for subscription docs_lab_subscription
2022-07-06 16:17:03 UTC::[unknown]@labdb:[14610]:ERROR:  replication origin "pgl_labdb_docs_labcb4fa94_docs_lab3de412c" does not exist
2022-07-06 16:17:03 UTC::[unknown]@labdb:[14610]:LOG:  apply worker [14610] at slot 1 generation 6 exiting with error
2022-07-06 16:17:03 UTC::@:[7361]:LOG: background worker "pglogical apply 16404:2880255011" (PID 14610) exited with exit code 1
2022-07-06 16:18:10 UTC::[unknown]@labdb:[21783]:ERROR:  could not connect to the postgresql server: connection refused
	Is the server running?
2022-07-06 16:18:10 UTC::[unknown]@labdb:[21783]:DETAIL:  dsn was:  host=10.0.0.1 password=hunter22 dbname=labdb
2022-07-06 16:19:44 UTC::@:[7361]:LOG:  background worker "pglogical apply 16404:2880255011" (PID 21783) exited with exit code 1
2022-07-06 16:20:00 +02::@:[7361]:LOG:  background worker "pglogical apply 16404:999" (PID 22000) exited with exit code 1
2022-07-06 16:21:00 UTC::@:[7361]:LOG:  background worker "pglogical apply 16404:2880255011" (PID 23000) exited with exit code 0
`

func TestParseApplyFailures(t *testing.T) {
	got, err := ParseApplyFailures(strings.NewReader(sampleLog))
	if err != nil {
		t.Fatal(err)
	}
	want := []ApplyFailure{
		{Line: 4, Time: time.Date(2022, 7, 6, 16, 17, 3, 0, time.UTC), DatabaseOID: 16404, SubscriptionOID: 2880255011, PID: 14610, ExitCode: 1,
			Message: `ERROR: replication origin "pgl_labdb_docs_labcb4fa94_docs_lab3de412c" does not exist`},
		{Line: 8, Time: time.Date(2022, 7, 6, 16, 19, 44, 0, time.UTC), DatabaseOID: 16404, SubscriptionOID: 2880255011, PID: 21783, ExitCode: 1,
			Message: "ERROR: could not connect to the postgresql server: connection refused"},
		{Line: 9, Time: time.Date(2022, 7, 6, 14, 20, 0, 0, time.UTC), DatabaseOID: 16404, SubscriptionOID: 999, PID: 22000, ExitCode: 1},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	long := strings.Repeat("x", 200<<10) + "\n" + strings.SplitAfter(sampleLog, "\n")[3]
	got, err = ParseApplyFailures(strings.NewReader(long))
	if err != nil || len(got) != 1 || got[0].Line != 2 {
		t.Errorf("after a 200 KiB line: %+v, %v", got, err)
	}
}

func TestClassifyDiagnosis(t *testing.T) {
	slot := func(active bool) *pgaurora.ReplicationSlot {
		return &pgaurora.ReplicationSlot{Name: "pgl_s", Active: active}
	}
	base := Diagnosis{Subscription: "s", Status: StatusReplicating, Enabled: true, Sync: SyncReady, SlotName: "pgl_s",
		OriginPresent: true, ProviderChecked: true, Slot: slot(true)}
	for _, tc := range []struct {
		name     string
		edit     func(*Diagnosis)
		provider bool
		want     Cause
	}{
		{"healthy", func(d *Diagnosis) {}, true, CauseNone},
		{"healthy without provider", func(d *Diagnosis) { d.ProviderChecked, d.Slot = false, nil }, false, CauseNone},
		{"disabled", func(d *Diagnosis) { d.Enabled, d.Status = false, StatusDisabled }, true, CauseDisabled},
		{"disabled, provider down", func(d *Diagnosis) {
			d.Enabled, d.Status, d.ProviderChecked, d.ProviderErr = false, StatusDisabled, false, errors.New("refused")
		}, true, CauseDisabled},
		{"provider down", func(d *Diagnosis) {
			d.Status, d.ProviderChecked, d.Slot, d.ProviderErr = StatusDown, false, nil, errors.New("refused")
		}, true, CauseProviderUnreachable},
		{"origin missing", func(d *Diagnosis) { d.OriginPresent, d.Status, d.Slot = false, StatusDown, slot(false) }, true, CauseOriginMissing},
		{"slot missing", func(d *Diagnosis) { d.Status, d.Slot = StatusDown, nil }, true, CauseSlotMissing},
		{"not yet started", func(d *Diagnosis) {
			d.Sync, d.Status, d.Slot, d.OriginPresent = SyncInit, StatusDown, nil, false
		}, true, CauseInitializing},
		{"initial sync", func(d *Diagnosis) { d.Sync, d.Status = SyncData, StatusInitializing }, true, CauseInitializing},
		{"table sync", func(d *Diagnosis) { d.Status = StatusInitializing }, true, CauseInitializing},
		{"worker down", func(d *Diagnosis) {
			d.Status, d.Slot = StatusDown, slot(false)
			d.ApplyFailures = []ApplyFailure{{Message: "ERROR: boom"}}
		}, true, CauseApplyWorkerDown},
		{"initial sync failing", func(d *Diagnosis) {
			d.Sync, d.Status = SyncData, StatusDown
			d.ApplyFailures = []ApplyFailure{{Message: "ERROR: relation does not exist"}}
		}, true, CauseApplyWorkerDown},
		{"slot inactive", func(d *Diagnosis) { d.Slot = slot(false) }, true, CauseSlotInactive},
		{"unknown", func(d *Diagnosis) { d.Status = StatusUnknown }, true, CauseUnknown},
	} {
		d := base
		tc.edit(&d)
		got, expl, _ := classifyDiagnosis(d, tc.provider)
		if got != tc.want {
			t.Errorf("%s: cause %s (%s), want %s", tc.name, got, expl, tc.want)
		}
		if tc.name == "worker down" && !strings.Contains(expl, "boom") {
			t.Errorf("worker down: explanation %q lacks the log message", expl)
		}
	}
}

func mustDSN(t testing.TB, m map[string]string) pgaurora.ConnString {
	t.Helper()
	d, err := pgaurora.NewConnString(m)
	if err != nil {
		t.Fatalf("NewConnString: %v", err)
	}
	return d
}

func TestRetryConcurrentUpdate(t *testing.T) {
	raced := &pgconn.PgError{Severity: "ERROR", Code: "XX000", Message: "tuple concurrently updated"}
	aborted := &pgconn.PgError{Severity: "ERROR", Code: "25P02", Message: "current transaction is aborted"}
	other := &pgconn.PgError{Severity: "ERROR", Code: "XX000", Message: "cache lookup failed"}
	for _, tc := range []struct {
		name    string
		results []error
		want    error
		calls   int
	}{
		{"succeeds at once", []error{nil}, nil, 1},
		{"a race, then success", []error{raced, raced, nil}, nil, 3},
		{"another internal error is not retried", []error{other}, other, 1},
		{"inside the caller's transaction the race is reported", []error{raced, aborted}, raced, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := retryConcurrentUpdate(t.Context(), func(context.Context) error {
				calls++
				return tc.results[min(calls, len(tc.results))-1]
			})
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if calls != tc.calls {
				t.Errorf("write ran %d times, want %d", calls, tc.calls)
			}
		})
	}
}
