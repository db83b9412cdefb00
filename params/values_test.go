package params

import (
	"strconv"
	"testing"
)

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
		{"maintenance_work_mem", "", "64MB", "65536", true},
		{"maintenance_work_mem", "", "64MB", "65536kB", true},
		{"maintenance_work_mem", "", "1GB", "1048576", true},
		{"maintenance_work_mem", "", "64MB", "64mb", false}, // units are case-sensitive, as in PostgreSQL
		{"maintenance_work_mem", "", "64MB", "64", false},
		{"maintenance_work_mem", "", "1s", "1000", false}, // a time unit for a memory parameter
		{"statement_timeout", "", "5min", "300000", true},
		{"statement_timeout", "", "1.5s", "1500", true},
		{"statement_timeout", "", "1 s", "1000", true},
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

func TestEquivalentValues(t *testing.T) {
	tests := []struct {
		name, a, b string
		want       bool
	}{
		{"shared_preload_libraries", "pglogical,pgaudit", "pgaudit,pglogical", true},
		{"shared_preload_libraries", "PGAUDIT, pg_stat_statements", "pg_stat_statements,pgaudit", true},
		{"shared_preload_libraries", "pgaudit", "pgaudit,pglogical", false},
		{"shared_preload_libraries", "pgaudit,pgaudit", "pgaudit,pglogical", false},
		{"rds.allowed_extensions", "pgaudit,plpgsql", "plpgsql,pgaudit", true},
		// pgaudit.log applies its items left to right: order matters.
		{"pgaudit.log", "all,-misc", "-misc,all", false},
		{"rds.force_ssl", "on", "1", true},
		{"maintenance_work_mem", "64MB", "65536", true},
		{"work_mem", "64MB", "65536", false}, // not in the catalog: its unit is not known
	}
	for _, tt := range tests {
		if got := EquivalentValues(tt.name, "", tt.a, tt.b); got != tt.want {
			t.Errorf("EquivalentValues(%q, %q, %q) = %v, want %v", tt.name, tt.a, tt.b, got, tt.want)
		}
	}
}

func TestToBaseUnit(t *testing.T) {
	tests := []struct {
		name, value, want string
		wantErr           bool
	}{
		{"maintenance_work_mem", "64MB", "65536", false},
		{"maintenance_work_mem", "65536kB", "65536", false},
		{"maintenance_work_mem", "4096", "4096", false},
		{"maintenance_work_mem", "1GB", "1048576", false},
		{"statement_timeout", "5min", "300000", false},
		{"statement_timeout", "2h", "7200000", false},
		{"maintenance_work_mem", "64mb", "", true},
		{"maintenance_work_mem", "5s", "", true},
		{"statement_timeout", "1MB", "", true},
		{"rds.force_ssl", "on", "on", false}, // not an integer with a unit: as given
		{"not_in_catalog", "64MB", "", true}, // its base unit is not known
		{"not_in_catalog", "64", "64", false},
		{"search_path", "app, public", "app, public", false},
		// 2^53 TB in kB is 2^63, one past the largest int64: an error,
		// not a wrapped negative number.
		{"maintenance_work_mem", "8589934592TB", "", true},
		{"maintenance_work_mem", "-8589934592TB", "-9223372036854775808", false},
	}
	for _, tt := range tests {
		got, err := ToBaseUnit(tt.name, tt.value)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ToBaseUnit(%q, %q) = %q, %v; want %q, error %v", tt.name, tt.value, got, err, tt.want, tt.wantErr)
		}
	}
}

// FuzzToBaseUnit checks that ToBaseUnit never panics and that what it
// returns without an error is an integer (for a parameter with a unit)
// equal, by EqualValues, to what it was given.
func FuzzToBaseUnit(f *testing.F) {
	for _, s := range [][2]string{
		{"maintenance_work_mem", "64MB"}, {"maintenance_work_mem", "1.5GB"},
		{"maintenance_work_mem", "8589934592TB"}, {"maintenance_work_mem", "-8589934592TB"},
		{"maintenance_work_mem", "9223372036854775807"}, {"maintenance_work_mem", "1e300TB"},
		{"maintenance_work_mem", " 64 MB "}, {"maintenance_work_mem", "NaNkB"},
		{"statement_timeout", "5min"}, {"statement_timeout", "0.0001us"}, {"statement_timeout", "-1d"},
		{"rds.force_ssl", "on"}, {"not_in_catalog", "64MB"}, {"search_path", "app, public"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, v string) {
		out, err := ToBaseUnit(name, v)
		if err != nil {
			return
		}
		if !EqualValues(name, "", v, out) {
			t.Fatalf("ToBaseUnit(%q, %q) = %q, which EqualValues says differs", name, v, out)
		}
		if spec, ok := Lookup(name); ok && spec.Type == TypeInteger && spec.Unit != "" {
			if _, err := strconv.ParseInt(out, 10, 64); err != nil {
				t.Fatalf("ToBaseUnit(%q, %q) = %q, not an integer: %v", name, v, out, err)
			}
		}
	})
}
