package params

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// The issue lists these parameters; the catalog must know every one.
var issueParameters = []string{
	"shared_preload_libraries", "rds.logical_replication", "rds.allowed_extensions", "rds.force_ssl",
	"max_replication_slots", "max_wal_senders", "max_logical_replication_workers", "max_worker_processes",
	"autovacuum_max_workers", "max_parallel_workers", "max_standby_streaming_delay", "max_standby_archive_delay",
	"wal_sender_timeout", "track_commit_timestamp", "ssl_min_protocol_version", "password_encryption",
	// Memory and timeouts with units, for the fleet drift check (#21).
	"maintenance_work_mem", "log_min_duration_statement", "statement_timeout",
	// pgAudit 1.7 GUCs (as listed by pg_settings with pgaudit preloaded) plus log_parameter_max_size (16+).
	"pgaudit.log", "pgaudit.log_catalog", "pgaudit.log_client", "pgaudit.log_level", "pgaudit.log_parameter",
	"pgaudit.log_parameter_max_size", "pgaudit.log_relation", "pgaudit.log_rows", "pgaudit.log_statement",
	"pgaudit.log_statement_once", "pgaudit.role",
	// pglogical 2.4 GUCs (as listed by pg_settings with pglogical preloaded).
	"pglogical.batch_inserts", "pglogical.conflict_log_level", "pglogical.conflict_resolution",
	"pglogical.extra_connection_options", "pglogical.synchronous_commit", "pglogical.temp_directory",
	"pglogical.use_spi",
}

func TestCatalogCoversIssueList(t *testing.T) {
	for _, n := range issueParameters {
		s, ok := Lookup(n)
		if !ok {
			t.Errorf("catalog lacks %s", n)
			continue
		}
		if s.Type == 0 || s.Apply == "" || s.Level == 0 || s.Description == "" {
			t.Errorf("%s: incomplete spec %+v", n, s)
		}
		if s.Type == TypeInteger && s.Min > s.Max {
			t.Errorf("%s: Min %d > Max %d", n, s.Min, s.Max)
		}
		if s.Type == TypeEnum && len(s.Allowed) == 0 {
			t.Errorf("%s: enum without allowed values", n)
		}
	}
	if got, want := len(Catalog()), len(issueParameters); got != want {
		t.Errorf("Catalog() has %d entries, want %d", got, want)
	}
	cat := Catalog()
	for i := 1; i < len(cat); i++ {
		if cat[i-1].Name >= cat[i].Name {
			t.Fatalf("Catalog() not sorted at %s, %s", cat[i-1].Name, cat[i].Name)
		}
	}
}

// Facts of Aurora PostgreSQL 15 the SDK depends on.
func TestCatalogFacts(t *testing.T) {
	tests := []struct {
		name  string
		apply ApplyType
		level Level
		typ   ValueType
	}{
		{"rds.logical_replication", Static, ClusterOnly, TypeBool},
		{"shared_preload_libraries", Static, Both, TypeList},
		{"max_worker_processes", Static, Both, TypeInteger},
		{"max_replication_slots", Static, ClusterOnly, TypeInteger},
		{"track_commit_timestamp", Static, ClusterOnly, TypeBool},
		{"rds.force_ssl", Dynamic, ClusterOnly, TypeBool},
		{"pgaudit.log", Dynamic, Both, TypeList},
		{"pgaudit.role", Dynamic, Both, TypeEnum},
		{"pglogical.use_spi", Static, Both, TypeBool},
		{"pglogical.conflict_resolution", Dynamic, Both, TypeEnum},
		{"ssl_min_protocol_version", Dynamic, ClusterOnly, TypeEnum},
		{"max_parallel_workers", Dynamic, Both, TypeInteger},
	}
	for _, tt := range tests {
		s, _ := Lookup(tt.name)
		if s.Apply != tt.apply || s.Level != tt.level || s.Type != tt.typ {
			t.Errorf("%s: got %s/%s/%s, want %s/%s/%s", tt.name, s.Apply, s.Level, s.Type, tt.apply, tt.level, tt.typ)
		}
	}
}

func TestLookupIsCaseInsensitiveAndCopies(t *testing.T) {
	s, ok := Lookup("  PGAudit.Log_Level ")
	if !ok || s.Name != "pgaudit.log_level" {
		t.Fatalf("Lookup = %+v, %v", s, ok)
	}
	s.Allowed[0] = "changed"
	if s2, _ := Lookup("pgaudit.log_level"); s2.Allowed[0] == "changed" {
		t.Fatal("Lookup returned the catalog's own slice")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		kind    Kind
		change  Change
		wantErr string // substring; empty means valid
	}{
		{"unknown parameter passes", ClusterGroup, Change{Name: "work_mem", Value: "anything"}, ""},
		{"bool 1", ClusterGroup, Change{Name: "rds.logical_replication", Value: "1"}, ""},
		{"bool on", ClusterGroup, Change{Name: "rds.logical_replication", Value: "on"}, ""},
		{"bool TRUE", ClusterGroup, Change{Name: "rds.force_ssl", Value: "TRUE"}, ""},
		{"bool bad", ClusterGroup, Change{Name: "rds.force_ssl", Value: "2"}, `parameter "rds.force_ssl": value "2" is not allowed; expected a boolean`},
		{"enum ok any case", ClusterGroup, Change{Name: "password_encryption", Value: "SCRAM-SHA-256"}, ""},
		{"enum bad", ClusterGroup, Change{Name: "password_encryption", Value: "sha1"}, "expected one of: md5, scram-sha-256"},
		{"pgaudit.log_level error not allowed", ClusterGroup, Change{Name: "pgaudit.log_level", Value: "error"}, "one of: debug5"},
		{"pgaudit.role only rds_pgaudit", InstanceGroup, Change{Name: "pgaudit.role", Value: "auditor"}, "one of: rds_pgaudit"},
		{"integer ok", ClusterGroup, Change{Name: "max_wal_senders", Value: "25"}, ""},
		{"integer below min", ClusterGroup, Change{Name: "max_wal_senders", Value: "4"}, "out of range; expected an integer from 5 to 262143"},
		{"integer above max", ClusterGroup, Change{Name: "max_parallel_workers", Value: "1025"}, "from 0 to 1024"},
		{"integer not a number", ClusterGroup, Change{Name: "max_worker_processes", Value: "lots"}, "is not allowed; expected an integer"},
		{"integer with unit refused", ClusterGroup, Change{Name: "wal_sender_timeout", Value: "60s"}, "(ms, without a unit suffix)"},
		{"negative one allowed", ClusterGroup, Change{Name: "max_standby_archive_delay", Value: "-1"}, ""},
		{"aurora range for streaming delay", ClusterGroup, Change{Name: "max_standby_streaming_delay", Value: "60000"}, "from 1000 to 30000"},
		{"list ok", ClusterGroup, Change{Name: "pgaudit.log", Value: "ddl, ROLE, -misc"}, ""},
		{"list bad item", ClusterGroup, Change{Name: "pgaudit.log", Value: "ddl,select"}, `has item "select", which is not allowed`},
		{"list unterminated quote", ClusterGroup, Change{Name: "shared_preload_libraries", Value: `pgaudit,"x`}, "unterminated double quote"},
		{"list only commas", ClusterGroup, Change{Name: "shared_preload_libraries", Value: ",,"}, "has no items"},
		{"empty value", ClusterGroup, Change{Name: "work_mem", Value: ""}, "use Service.Reset"},
		{"empty name", ClusterGroup, Change{Name: "", Value: "1"}, "name is empty"},
		{"name with space", ClusterGroup, Change{Name: "max wal", Value: "1"}, "spaces or control characters"},
		{"bad method", ClusterGroup, Change{Name: "work_mem", Value: "1", Method: "now"}, `method "now" is not an apply method`},
		{"static immediate refused", ClusterGroup, Change{Name: "shared_preload_libraries", Value: "pgaudit", Method: types.ApplyMethodImmediate}, "static and only takes effect after a reboot"},
		{"static pending ok", ClusterGroup, Change{Name: "shared_preload_libraries", Value: "pgaudit", Method: types.ApplyMethodPendingReboot}, ""},
		{"dynamic immediate ok", ClusterGroup, Change{Name: "rds.force_ssl", Value: "1", Method: types.ApplyMethodImmediate}, ""},
		{"cluster-only in instance group", InstanceGroup, Change{Name: "rds.logical_replication", Value: "1"}, `group kind "instance" cannot hold this parameter (cluster-only); set it in a DB cluster parameter group`},
		{"both in instance group", InstanceGroup, Change{Name: "shared_preload_libraries", Value: "pgaudit"}, ""},
		{"bad kind", Kind(0), Change{Name: "work_mem", Value: "1"}, "not a parameter group kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.kind, tt.change)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want error containing %q", err, tt.wantErr)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *ValidationError", err)
			}
		})
	}
}

func TestValidateSensitiveValueNotEchoed(t *testing.T) {
	// A string parameter accepts anything but NUL; the error must not
	// repeat a value that may hold connection secrets.
	err := Validate(ClusterGroup, Change{Name: "pglogical.extra_connection_options", Value: "password=hunter2\x00"})
	if err == nil {
		t.Fatal("want error for NUL byte")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error echoes a secret: %v", err)
	}
}

func TestValidateAllCollectsEveryProblem(t *testing.T) {
	err := ValidateAll(ClusterGroup, []Change{
		{Name: "max_wal_senders", Value: "1"},
		{Name: "rds.force_ssl", Value: "maybe"},
		{Name: "work_mem", Value: "64"},
		{Name: "WORK_MEM", Value: "128"},
	})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"max_wal_senders", "rds.force_ssl", "appears more than once"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if err := ValidateAll(ClusterGroup, nil); err != nil {
		t.Fatalf("empty change set: %v", err)
	}
}

func TestCheckEngineVersion(t *testing.T) {
	c := Change{Name: "pgaudit.log_parameter_max_size", Value: "1024"}
	tests := []struct {
		version string
		wantErr string
	}{
		{"", ""},
		{"16", ""},
		{"16.1", ""},
		{"17.2", ""},
		{"15.4", "needs version 16 or later"},
		{"fifteen", "is not a version number"},
	}
	for _, tt := range tests {
		err := CheckEngineVersion(tt.version, c, Change{Name: "work_mem", Value: "1"})
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("CheckEngineVersion(%q) = %v, want %q", tt.version, err, tt.wantErr)
		}
	}
}
