package params

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/google/go-cmp/cmp"
)

// layout renders calls as "method: name=value, ..." lines for comparison.
func layout(calls []Call) []string {
	var out []string
	for _, c := range calls {
		parts := make([]string, len(c.Changes))
		for i, ch := range c.Changes {
			if ch.Method != c.Method {
				parts[i] = "MIXED!" + ch.String()
				continue
			}
			parts[i] = ch.Name + "=" + ch.Value
		}
		out = append(out, string(c.Method)+": "+strings.Join(parts, ", "))
	}
	return out
}

func numbered(prefix string, n int, method types.ApplyMethod) []Change {
	cs := make([]Change, n)
	for i := range cs {
		cs[i] = Change{Name: fmt.Sprintf("%s%02d", prefix, i), Value: "1", Method: method}
	}
	return cs
}

func callSizes(calls []Call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, fmt.Sprintf("%s:%d", c.Method, len(c.Changes)))
	}
	return out
}

func TestPlanCallsBatchSizes(t *testing.T) {
	tests := []struct {
		name    string
		changes []Change
		want    []string
	}{
		{"nothing", nil, nil},
		{"one", numbered("p", 1, types.ApplyMethodImmediate), []string{"immediate:1"}},
		{"exactly 20", numbered("p", 20, types.ApplyMethodImmediate), []string{"immediate:20"}},
		{"21", numbered("p", 21, types.ApplyMethodImmediate), []string{"immediate:20", "immediate:1"}},
		{"95 immediate is 5 calls", numbered("p", 95, types.ApplyMethodImmediate),
			[]string{"immediate:20", "immediate:20", "immediate:20", "immediate:20", "immediate:15"}},
		{"95 pending is 5 calls", numbered("p", 95, types.ApplyMethodPendingReboot),
			[]string{"pending-reboot:20", "pending-reboot:20", "pending-reboot:20", "pending-reboot:20", "pending-reboot:15"}},
		{"95 of each is 5 calls per method, pending first",
			append(numbered("i", 95, types.ApplyMethodImmediate), numbered("p", 95, types.ApplyMethodPendingReboot)...),
			[]string{"pending-reboot:20", "pending-reboot:20", "pending-reboot:20", "pending-reboot:20", "pending-reboot:15",
				"immediate:20", "immediate:20", "immediate:20", "immediate:20", "immediate:15"}},
		{"interleaved methods never share a call",
			[]Change{{Name: "a", Value: "1", Method: types.ApplyMethodImmediate}, {Name: "b", Value: "1", Method: types.ApplyMethodPendingReboot},
				{Name: "c", Value: "1", Method: types.ApplyMethodImmediate}},
			[]string{"pending-reboot:1", "immediate:2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, err := PlanCalls(ClusterGroup, tt.changes, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, callSizes(calls)); diff != "" {
				t.Fatalf("call sizes (-want +got):\n%s", diff)
			}
			total := 0
			for _, c := range calls {
				for _, ch := range c.Changes {
					if ch.Method != c.Method {
						t.Fatalf("change %v in a %s call", ch, c.Method)
					}
				}
				total += len(c.Changes)
			}
			if total != len(tt.changes) {
				t.Fatalf("planned %d changes, want %d", total, len(tt.changes))
			}
		})
	}
}

func TestPlanCallsMethodsAndValues(t *testing.T) {
	meta := []Parameter{
		{Name: "work_mem", DataType: "integer", ApplyType: Dynamic, Modifiable: true},
		{Name: "shared_buffers", DataType: "integer", ApplyType: Static, Modifiable: true},
		{Name: "autovacuum", DataType: "boolean", AllowedValues: "0,1", ApplyType: Dynamic, Modifiable: true},
		{Name: "max_wal_senders", DataType: "integer", AllowedValues: "5-262143", ApplyType: Static, Modifiable: true},
		{Name: "rds.force_ssl", DataType: "boolean", AllowedValues: "0,1", ApplyType: Dynamic, Modifiable: true},
	}
	tests := []struct {
		name    string
		changes []Change
		opts    *PlanOptions
		want    []string
	}{
		{"catalog static defaults to pending-reboot, dynamic to immediate, values canonical",
			[]Change{{Name: "max_wal_senders", Value: "020"}, {Name: "rds.force_ssl", Value: "on"}},
			nil,
			[]string{"pending-reboot: max_wal_senders=20", "immediate: rds.force_ssl=1"}},
		{"unknown without metadata defaults to pending-reboot",
			[]Change{{Name: "work_mem", Value: "65536"}},
			nil,
			[]string{"pending-reboot: work_mem=65536"}},
		{"unknown with metadata uses the API's apply type and boolean spelling",
			[]Change{{Name: "work_mem", Value: "65536"}, {Name: "shared_buffers", Value: "1000"}, {Name: "autovacuum", Value: "off"}},
			&PlanOptions{Metadata: meta},
			[]string{"pending-reboot: shared_buffers=1000", "immediate: work_mem=65536, autovacuum=0"}},
		{"explicit method kept",
			[]Change{{Name: "rds.force_ssl", Value: "1", Method: types.ApplyMethodPendingReboot}},
			nil,
			[]string{"pending-reboot: rds.force_ssl=1"}},
		{"catalog names normalized to catalog spelling",
			[]Change{{Name: "RDS.Force_SSL", Value: "yes"}},
			nil,
			[]string{"immediate: rds.force_ssl=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, err := PlanCalls(ClusterGroup, tt.changes, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, layout(calls)); diff != "" {
				t.Fatalf("layout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanCallsTogether(t *testing.T) {
	sizing := []Change{
		{Name: "rds.logical_replication", Value: "1"},
		{Name: "max_replication_slots", Value: "30"},
		{Name: "max_wal_senders", Value: "30"},
		{Name: "max_logical_replication_workers", Value: "30"},
		{Name: "max_worker_processes", Value: "50"},
	}
	tests := []struct {
		name    string
		changes []Change
		want    []string
	}{
		{"pgaudit settings follow shared_preload_libraries to pending-reboot, in one call",
			[]Change{
				{Name: "pgaudit.log", Value: "ddl,role"},
				{Name: "rds.force_ssl", Value: "1"},
				{Name: "shared_preload_libraries", Value: "pg_stat_statements,pgaudit"},
				{Name: "pgaudit.role", Value: "rds_pgaudit"},
			},
			[]string{
				"pending-reboot: pgaudit.log=ddl,role, shared_preload_libraries=pg_stat_statements,pgaudit, pgaudit.role=rds_pgaudit",
				"immediate: rds.force_ssl=1",
			}},
		{"pgaudit settings alone stay immediate",
			[]Change{{Name: "pgaudit.log", Value: "all,-misc"}, {Name: "pgaudit.log_catalog", Value: "off"}},
			[]string{"immediate: pgaudit.log=all,-misc, pgaudit.log_catalog=0"}},
		{"explicit immediate in a mixed set keeps its method and goes apart",
			[]Change{
				{Name: "shared_preload_libraries", Value: "pgaudit"},
				{Name: "pgaudit.log", Value: "ddl", Method: types.ApplyMethodImmediate},
				{Name: "pgaudit.log_level", Value: "notice"},
			},
			[]string{
				"pending-reboot: shared_preload_libraries=pgaudit, pgaudit.log_level=notice",
				"immediate: pgaudit.log=ddl",
			}},
		{"pglogical joins pgaudit through shared_preload_libraries and takes track_commit_timestamp",
			[]Change{
				{Name: "pglogical.conflict_resolution", Value: "last_update_wins"},
				{Name: "work_mem", Value: "1", Method: types.ApplyMethodPendingReboot},
				{Name: "track_commit_timestamp", Value: "on"},
				{Name: "shared_preload_libraries", Value: "pgaudit,pglogical"},
				{Name: "pgaudit.log", Value: "ddl"},
			},
			[]string{
				"pending-reboot: pglogical.conflict_resolution=last_update_wins, track_commit_timestamp=1, shared_preload_libraries=pgaudit,pglogical, pgaudit.log=ddl, work_mem=1",
			}},
		{"sizing set is not split across calls",
			append(numbered("p", 17, types.ApplyMethodPendingReboot), sizing...),
			[]string{
				"pending-reboot: " + strings.Join(namesEq(numbered("p", 17, types.ApplyMethodPendingReboot)), ", "),
				"pending-reboot: rds.logical_replication=1, max_replication_slots=30, max_wal_senders=30, max_logical_replication_workers=30, max_worker_processes=50",
			}},
		{"first-fit: later singles fill the first call's room",
			append(append(numbered("p", 17, types.ApplyMethodPendingReboot), sizing...), numbered("q", 4, types.ApplyMethodPendingReboot)...),
			[]string{
				"pending-reboot: " + strings.Join(append(namesEq(numbered("p", 17, types.ApplyMethodPendingReboot)), namesEq(numbered("q", 3, types.ApplyMethodPendingReboot))...), ", "),
				"pending-reboot: rds.logical_replication=1, max_replication_slots=30, max_wal_senders=30, max_logical_replication_workers=30, max_worker_processes=50, q03=1",
			}},
		{"sizing members scattered in input travel together",
			[]Change{
				{Name: "max_wal_senders", Value: "30"},
				{Name: "x", Value: "1", Method: types.ApplyMethodPendingReboot},
				{Name: "max_parallel_workers", Value: "8"},
			},
			[]string{"pending-reboot: max_wal_senders=30, max_parallel_workers=8, x=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, err := PlanCalls(ClusterGroup, tt.changes, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, layout(calls)); diff != "" {
				t.Fatalf("layout (-want +got):\n%s", diff)
			}
		})
	}
}

func namesEq(cs []Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name + "=" + c.Value
	}
	return out
}

func TestPlanCallsRefusesBeforePlanning(t *testing.T) {
	tooBig := []Change{{Name: "shared_preload_libraries", Value: "pgaudit"}}
	for i := range 20 {
		tooBig = append(tooBig, Change{Name: fmt.Sprintf("pgaudit.custom%02d", i), Value: "1"})
	}
	tests := []struct {
		name    string
		kind    Kind
		changes []Change
		opts    *PlanOptions
		wantErr string
	}{
		{"bad enum", ClusterGroup, []Change{{Name: "pgaudit.log_level", Value: "loud"}}, nil, "one of: debug5"},
		{"static immediate", ClusterGroup, []Change{{Name: "max_wal_senders", Value: "10", Method: types.ApplyMethodImmediate}}, nil, "static"},
		{"out of range", ClusterGroup, []Change{{Name: "max_parallel_workers", Value: "5000"}}, nil, "out of range"},
		{"unknown to the API", ClusterGroup, []Change{{Name: "no_such_thing", Value: "1"}}, &PlanOptions{Metadata: testMeta}, "is not a parameter of this group"},
		{"engine too old", ClusterGroup, []Change{{Name: "pgaudit.log_parameter_max_size", Value: "10"}}, &PlanOptions{EngineVersion: "15.4"}, "needs version 16"},
		{"cluster-only in instance group", InstanceGroup, []Change{{Name: "rds.logical_replication", Value: "1"}}, nil, "set it in a DB cluster parameter group"},
		{"duplicate", ClusterGroup, []Change{{Name: "a", Value: "1"}, {Name: "A", Value: "2"}}, nil, "more than once"},
		{"together set larger than a call", ClusterGroup, tooBig, nil, "must be applied together"},
		{"bad kind", Kind(3), []Change{{Name: "a", Value: "1"}}, nil, "not a parameter group kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, err := PlanCalls(tt.kind, tt.changes, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("PlanCalls error = %v, want %q", err, tt.wantErr)
			}
			if calls != nil {
				t.Fatalf("PlanCalls returned calls with an error: %v", calls)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *ValidationError", err)
			}
		})
	}
}

func TestMustChangeTogether(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"shared_preload_libraries", "pgaudit.log", true},
		{"pgaudit.log", "pgaudit.role", true},
		{"shared_preload_libraries", "pglogical.use_spi", true},
		{"track_commit_timestamp", "pglogical.conflict_resolution", true},
		{"max_wal_senders", "max_worker_processes", true},
		{"rds.logical_replication", "max_replication_slots", true},
		{"max_wal_senders", "pgaudit.log", false},
		{"rds.force_ssl", "password_encryption", false},
		{"work_mem", "work_mem", true},
		{"SHARED_PRELOAD_LIBRARIES", "PgAudit.Log", true},
	}
	for _, tt := range tests {
		if got := Coupled(tt.a, tt.b); got != tt.want {
			t.Errorf("Coupled(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestPlanResetCalls(t *testing.T) {
	names := []string{"rds.force_ssl", "shared_preload_libraries", "work_mem", "autovacuum"}
	meta := []Parameter{{Name: "autovacuum", ApplyType: Dynamic}}
	calls, err := planResetCalls(names, meta)
	if err != nil {
		t.Fatal(err)
	}
	want := []Call{{Changes: []Change{
		{Name: "rds.force_ssl", Method: types.ApplyMethodImmediate},
		{Name: "shared_preload_libraries", Method: types.ApplyMethodPendingReboot},
		{Name: "work_mem", Method: types.ApplyMethodPendingReboot},
		{Name: "autovacuum", Method: types.ApplyMethodImmediate},
	}}}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}

	many := make([]string, 45)
	for i := range many {
		many[i] = fmt.Sprintf("p%02d", i)
	}
	calls, err = planResetCalls(many, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := callSizes(calls); !cmp.Equal(got, []string{":20", ":20", ":5"}) {
		t.Fatalf("sizes %v", got)
	}

	for _, bad := range [][]string{nil, {""}, {" a"}, {"a", "A"}} {
		if _, err := planResetCalls(bad, nil); err == nil {
			t.Errorf("planResetCalls(%q) = nil error", bad)
		}
	}
}

func TestDiff(t *testing.T) {
	current := []Parameter{
		{Name: "rds.logical_replication", Value: "1", DataType: "boolean"},
		{Name: "max_wal_senders", Value: "10", DataType: "integer"},
		{Name: "shared_preload_libraries", Value: "pg_stat_statements, pgaudit", DataType: "list"},
		{Name: "max_worker_processes", Value: "GREATEST(${DBInstanceVCPU*2},8)", DataType: "integer"},
		{Name: "autovacuum", Value: "", DataType: "boolean"},
		{Name: "work_mem", Value: "4096", DataType: "integer"},
		{Name: "search_path", Value: "public", DataType: "string"},
	}
	tests := []struct {
		name    string
		desired []Change
		want    []Change
	}{
		{"nothing differs", []Change{
			{Name: "rds.logical_replication", Value: "on"},
			{Name: "max_wal_senders", Value: "010"},
			{Name: "shared_preload_libraries", Value: "PG_STAT_STATEMENTS,pgaudit"},
			{Name: "work_mem", Value: "4096"},
			{Name: "search_path", Value: "public"},
		}, nil},
		{"value differs", []Change{{Name: "max_wal_senders", Value: "20"}},
			[]Change{{Name: "max_wal_senders", Value: "20"}}},
		{"list order matters", []Change{{Name: "shared_preload_libraries", Value: "pgaudit,pg_stat_statements"}},
			[]Change{{Name: "shared_preload_libraries", Value: "pgaudit,pg_stat_statements"}}},
		{"formula differs from a number", []Change{{Name: "max_worker_processes", Value: "8"}},
			[]Change{{Name: "max_worker_processes", Value: "8"}}},
		{"no current value differs", []Change{{Name: "autovacuum", Value: "1"}},
			[]Change{{Name: "autovacuum", Value: "1"}}},
		{"unknown parameter differs", []Change{{Name: "nope", Value: "1"}},
			[]Change{{Name: "nope", Value: "1"}}},
		{"order and methods kept", []Change{
			{Name: "work_mem", Value: "8192", Method: types.ApplyMethodPendingReboot},
			{Name: "rds.logical_replication", Value: "1"},
			{Name: "search_path", Value: "Public"},
		}, []Change{
			{Name: "work_mem", Value: "8192", Method: types.ApplyMethodPendingReboot},
			{Name: "search_path", Value: "Public"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Diff(current, tt.desired)); diff != "" {
				t.Fatalf("Diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiffValues(t *testing.T) {
	current := map[string]string{"RDS.LOGICAL_REPLICATION": "on", "max_wal_senders": "10", "track_commit_timestamp": ""}
	got := DiffValues(current, []Change{
		{Name: "rds.logical_replication", Value: "1"},
		{Name: "max_wal_senders", Value: "10"},
		{Name: "track_commit_timestamp", Value: "on"},
		{Name: "pgaudit.log", Value: "ddl"},
	})
	want := []Change{{Name: "track_commit_timestamp", Value: "on"}, {Name: "pgaudit.log", Value: "ddl"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("DiffValues (-want +got):\n%s", diff)
	}
}

func TestPlanEmpty(t *testing.T) {
	if !(Plan{}).Empty() || (Plan{Changes: []Change{{Name: "a", Value: "1"}}}).Empty() {
		t.Fatal("Empty wrong")
	}
}

func TestNewModifyError(t *testing.T) {
	calls := []Call{
		{Method: types.ApplyMethodPendingReboot, Changes: []Change{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}}},
		{Method: types.ApplyMethodImmediate, Changes: []Change{{Name: "c", Value: "secret-ish"}}},
		{Method: types.ApplyMethodImmediate, Changes: []Change{{Name: "d", Value: "4"}}},
	}
	cause := errors.New("throttled")
	e := newModifyError("modify", ClusterGroup, "g1", calls, 1, cause)
	if diff := cmp.Diff(namesEq(calls[0].Changes), namesEq(e.Applied)); diff != "" {
		t.Fatalf("Applied (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"c=secret-ish", "d=4"}, namesEq(e.NotApplied)); diff != "" {
		t.Fatalf("NotApplied (-want +got):\n%s", diff)
	}
	if !errors.Is(e, cause) {
		t.Fatal("cause not wrapped")
	}
	msg := e.Error()
	for _, want := range []string{`modify cluster parameter group "g1"`, "call 2 of 3", "applied [a, b]", "not applied [c, d]", "throttled"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "secret-ish") {
		t.Errorf("message prints a value: %q", msg)
	}
}
