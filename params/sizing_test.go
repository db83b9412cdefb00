package params

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSizeLogicalReplication(t *testing.T) {
	// Values as a fresh Aurora cluster group reports them.
	fresh := map[string]string{
		"rds.logical_replication":         "0",
		"max_replication_slots":           "20",
		"max_wal_senders":                 "10",
		"max_logical_replication_workers": "",
		"max_worker_processes":            "GREATEST(${DBInstanceVCPU*2},8)",
		"max_parallel_workers":            "GREATEST(${DBInstanceVCPU/2},8)",
		"autovacuum_max_workers":          "GREATEST({DBInstanceClassMemory/64371566592},3)",
	}
	const gib = int64(1) << 30
	tests := []struct {
		name    string
		in      SizingInput
		want    []Change
		wantErr string
	}{
		{
			name: "fresh group, small plan: only enable, and make room for the workers",
			in:   SizingInput{Publications: 1, Subscriptions: 1, VCPU: 2, MemoryBytes: 16 * gib, Current: fresh},
			// workers 4 (default) + autovacuum 3 + parallel 8 = 15 > GREATEST(4, 8) = 8
			want: []Change{
				{Name: "rds.logical_replication", Value: "1"},
				{Name: "max_worker_processes", Value: "15"},
			},
		},
		{
			name: "big plan raises every bound",
			in:   SizingInput{Publications: 20, Subscriptions: 10, CDCTasks: 2, ActiveSlots: 12, VCPU: 16, MemoryBytes: 128 * gib, Current: fresh},
			// slots 32 > 20; senders 12 > 10; workers 12 > 4;
			// autovacuum GREATEST(128GiB/64371566592=2, 3)=3; parallel GREATEST(8, 8)=8;
			// need 12+3+8 = 23 < GREATEST(32, 8) = 32: max_worker_processes stays.
			want: []Change{
				{Name: "rds.logical_replication", Value: "1"},
				{Name: "max_replication_slots", Value: "32"},
				{Name: "max_wal_senders", Value: "12"},
				{Name: "max_logical_replication_workers", Value: "12"},
			},
		},
		{
			name: "active slots default to every planned slot",
			in: SizingInput{Publications: 8, Subscriptions: 8, Current: map[string]string{
				"rds.logical_replication": "1", "max_replication_slots": "20", "max_wal_senders": "10",
				"max_logical_replication_workers": "4", "max_worker_processes": "8",
				"max_parallel_workers": "8", "autovacuum_max_workers": "3"}},
			want: []Change{
				{Name: "max_wal_senders", Value: "16"},
				{Name: "max_logical_replication_workers", Value: "16"},
				{Name: "max_worker_processes", Value: "27"},
			},
		},
		{
			name: "never lowers higher values",
			in: SizingInput{Publications: 1, Subscriptions: 1, ActiveSlots: 1, Current: map[string]string{
				"rds.logical_replication": "on", "max_replication_slots": "100", "max_wal_senders": "100",
				"max_logical_replication_workers": "50", "max_worker_processes": "500",
				"max_parallel_workers": "8", "autovacuum_max_workers": "3"}},
			want: nil,
		},
		{
			name: "max_worker_processes counts the raised workers",
			in: SizingInput{Publications: 2, Subscriptions: 2, ActiveSlots: 10, Current: map[string]string{
				"rds.logical_replication": "1", "max_replication_slots": "20", "max_wal_senders": "10",
				"max_logical_replication_workers": "4", "max_worker_processes": "20",
				"max_parallel_workers": "6", "autovacuum_max_workers": "5"}},
			// workers 10; need 10+5+6 = 21 > 20
			want: []Change{
				{Name: "max_logical_replication_workers", Value: "10"},
				{Name: "max_worker_processes", Value: "21"},
			},
		},
		{
			name: "names match without regard to case",
			in: SizingInput{Publications: 30, Current: map[string]string{
				"RDS.LOGICAL_REPLICATION": "1", "MAX_REPLICATION_SLOTS": "40", "max_wal_senders": "40",
				"max_logical_replication_workers": "40", "max_worker_processes": "100",
				"max_parallel_workers": "8", "autovacuum_max_workers": "3"}},
			want: nil,
		},
		{
			name:    "formula without vCPU is refused rather than guessed",
			in:      SizingInput{Publications: 1, MemoryBytes: 16 * gib, Current: fresh},
			wantErr: `parameter "max_parallel_workers": current value "GREATEST(${DBInstanceVCPU/2},8)" cannot be evaluated: needs the instance's vCPU count`,
		},
		{
			name:    "formula without memory is refused",
			in:      SizingInput{Publications: 1, VCPU: 2, Current: fresh},
			wantErr: "needs the instance's memory",
		},
		{
			name:    "garbage current value",
			in:      SizingInput{Current: map[string]string{"max_wal_senders": "many"}},
			wantErr: `parameter "max_wal_senders": current value "many" cannot be evaluated`,
		},
		{
			name:    "negative count",
			in:      SizingInput{Publications: -1},
			wantErr: "Publications",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SizeLogicalReplication(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			// Whatever sizing returns must be valid for a cluster group
			// and fit in one call.
			calls, err := PlanCalls(ClusterGroup, got, nil)
			if err != nil {
				t.Fatalf("sizing result does not plan: %v", err)
			}
			if len(got) > 0 && len(calls) != 1 {
				t.Fatalf("sizing result split into %d calls", len(calls))
			}
		})
	}
}

func TestEvalFormula(t *testing.T) {
	env := formulaEnv{vcpu: 4, memory: 32 << 30}
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{"8", 8, ""},
		{" -1 ", -1, ""},
		{"GREATEST(${DBInstanceVCPU*2},8)", 8, ""},
		{"GREATEST({DBInstanceVCPU*3},8)", 12, ""},
		{"GREATEST(${DBInstanceVCPU/2},8)", 8, ""},
		{"LEAST({DBInstanceClassMemory/9531392},5000)", 3604, ""},
		{"SUM({DBInstanceClassMemory/12038},-50003)", 2804269, ""},
		{"greatest(1, least(5, 3), 2)", 3, ""},
		{"{DBInstanceVCPU}", 4, ""},
		{"GREATEST(log(DBInstanceClassMemory/21474836480)*600,200)", 0, "unsupported function LOG"},
		{"{DBInstanceVCPU/0}", 0, "bad operand"},
		{"{Other}", 0, "unsupported variable"},
		{"GREATEST(1,", 0, "empty expression"},
		{"GREATEST(1 2)", 0, "unexpected"},
		{"8 9", 0, "unexpected"},
		{"", 0, "empty expression"},
		{"{DBInstanceVCPU", 0, "unterminated"},
	}
	for _, tt := range tests {
		got, err := evalFormula(tt.in, env)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("evalFormula(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("evalFormula(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}
