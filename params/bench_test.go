package params

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// BenchmarkPlanCalls plans a 1,000-parameter change set mixing methods and
// together-sets, and reports planned changes per second.
func BenchmarkPlanCalls(b *testing.B) {
	changes := []Change{
		{Name: "shared_preload_libraries", Value: "pg_stat_statements,pgaudit,pglogical"},
		{Name: "pgaudit.log", Value: "ddl,role"},
		{Name: "max_wal_senders", Value: "30"},
		{Name: "max_worker_processes", Value: "40"},
	}
	for i := range 996 {
		m := types.ApplyMethodImmediate
		if i%3 == 0 {
			m = types.ApplyMethodPendingReboot
		}
		changes = append(changes, Change{Name: fmt.Sprintf("custom.p%04d", i), Value: "1", Method: m})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := PlanCalls(ClusterGroup, changes, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*float64(len(changes))/b.Elapsed().Seconds(), "changes/s")
}

// BenchmarkParseLibraryList parses a 50-entry list with quoted entries.
func BenchmarkParseLibraryList(b *testing.B) {
	var parts []string
	for i := range 50 {
		if i%10 == 0 {
			parts = append(parts, fmt.Sprintf(`"lib %d, quoted"`, i))
		} else {
			parts = append(parts, fmt.Sprintf(" lib_%d ", i))
		}
	}
	s := strings.Join(parts, ",")
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseLibraryList(s); err != nil {
			b.Fatal(err)
		}
	}
}
