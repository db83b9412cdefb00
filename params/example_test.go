package params_test

import (
	"fmt"

	"github.com/pgaurora/pgaurora/params"
)

func ExampleLibraryList() {
	libs, err := params.ParseLibraryList("pg_stat_statements, PGAUDIT")
	if err != nil {
		panic(err)
	}
	libs = libs.Add("pgaudit", "pglogical").Remove("pg_stat_statements")
	fmt.Println(libs)
	// Output: PGAUDIT,pglogical
}

func ExamplePreloadChange() {
	c, changed, err := params.PreloadChange("pg_stat_statements", []string{"pgaudit"}, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(c, changed)
	// Output: shared_preload_libraries=pg_stat_statements,pgaudit true
}

func ExampleValidate() {
	err := params.Validate(params.ClusterGroup, params.Change{Name: "pgaudit.log_level", Value: "error"})
	fmt.Println(err)
	err = params.Validate(params.InstanceGroup, params.Change{Name: "rds.logical_replication", Value: "1"})
	fmt.Println(err)
	// Output:
	// params: parameter "pgaudit.log_level": value "error" is not allowed; expected one of: debug5, debug4, debug3, debug2, debug1, info, notice, warning, log
	// params: parameter "rds.logical_replication": group kind "instance" cannot hold this parameter (cluster-only); set it in a DB cluster parameter group
}

func ExamplePlanCalls() {
	calls, err := params.PlanCalls(params.ClusterGroup, []params.Change{
		{Name: "rds.force_ssl", Value: "on"},
		{Name: "shared_preload_libraries", Value: "pg_stat_statements,pgaudit"},
		{Name: "pgaudit.log", Value: "ddl,role"},
		{Name: "password_encryption", Value: "scram-sha-256"},
	}, nil)
	if err != nil {
		panic(err)
	}
	for _, c := range calls {
		fmt.Println(c.Method, c.Changes)
	}
	// Output:
	// pending-reboot [shared_preload_libraries=pg_stat_statements,pgaudit (pending-reboot) pgaudit.log=ddl,role (pending-reboot)]
	// immediate [rds.force_ssl=1 (immediate) password_encryption=scram-sha-256 (immediate)]
}

func ExampleDiff() {
	current := []params.Parameter{
		{Name: "rds.logical_replication", Value: "1", DataType: "boolean"},
		{Name: "shared_preload_libraries", Value: "pgaudit, pglogical", DataType: "list"},
		{Name: "max_wal_senders", Value: "10", DataType: "integer"},
	}
	changes := params.Diff(current, []params.Change{
		{Name: "rds.logical_replication", Value: "on"},
		{Name: "shared_preload_libraries", Value: "pgaudit,pglogical"},
		{Name: "max_wal_senders", Value: "20"},
	})
	fmt.Println(changes)
	// Output: [max_wal_senders=20]
}

func ExampleSizeLogicalReplication() {
	changes, err := params.SizeLogicalReplication(params.SizingInput{
		Publications:  4,
		Subscriptions: 2,
		ActiveSlots:   6,
		VCPU:          4,
		MemoryBytes:   32 << 30,
		Current: map[string]string{
			"rds.logical_replication": "0",
			"max_worker_processes":    "GREATEST(${DBInstanceVCPU*2},8)",
			"max_parallel_workers":    "GREATEST(${DBInstanceVCPU/2},8)",
			"autovacuum_max_workers":  "3",
		},
	})
	if err != nil {
		panic(err)
	}
	for _, c := range changes {
		fmt.Println(c)
	}
	// Output:
	// rds.logical_replication=1
	// max_logical_replication_workers=6
	// max_worker_processes=17
}
