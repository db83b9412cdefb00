package params

import "testing"

func TestEqualValues(t *testing.T) {
	tests := []struct {
		name, dataType, a, b string
		want                 bool
	}{
		{"rds.logical_replication", "", "1", "on", true},
		{"rds.logical_replication", "", "0", "off", true},
		{"rds.logical_replication", "", "true", "YES", true},
		{"rds.logical_replication", "", "1", "0", false},
		{"rds.logical_replication", "", "1", "maybe", false},
		{"max_wal_senders", "", "010", "10", true},
		{"max_wal_senders", "", "10", "11", false},
		{"max_wal_senders", "", "GREATEST(${DBInstanceVCPU*2},8)", "8", false},
		{"password_encryption", "", "SCRAM-SHA-256", "scram-sha-256", true},
		{"shared_preload_libraries", "", "pgaudit, pglogical", "pgaudit,pglogical", true},
		{"shared_preload_libraries", "", "PGAUDIT,pglogical", "pgaudit,pglogical", true},
		{"shared_preload_libraries", "", "pglogical,pgaudit", "pgaudit,pglogical", false},
		{"shared_preload_libraries", "", "pgaudit", "pgaudit,pglogical", false},
		{"pglogical.temp_directory", "", "/tmp", "/TMP", false},
		{"pglogical.temp_directory", "", "/tmp", "/tmp", true},
		// Not in the catalog: the API's data type decides.
		{"autovacuum", "boolean", "on", "1", true},
		{"work_mem", "integer", "4096", "04096", true},
		{"random_page_cost", "float", "1.10", "1.1", true},
		{"ssl_ciphers", "list", "a, b", "a,b", true},
		{"application_name", "string", "On", "1", false},
		// Not in the catalog and no data type: booleans and integers still compare.
		{"autovacuum", "", "off", "0", true},
		{"work_mem", "", "64", "064", true},
		{"search_path", "", "a", "b", false},
	}
	for _, tt := range tests {
		if got := EqualValues(tt.name, tt.dataType, tt.a, tt.b); got != tt.want {
			t.Errorf("EqualValues(%q, %q, %q, %q) = %v, want %v", tt.name, tt.dataType, tt.a, tt.b, got, tt.want)
		}
	}
}
