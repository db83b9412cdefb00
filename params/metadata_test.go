package params

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/google/go-cmp/cmp"
)

// Metadata shaped like DescribeDBClusterParameters output for
// aurora-postgresql (values copied from the API's format).
var testMeta = []Parameter{
	{Name: "max_wal_senders", DataType: "integer", AllowedValues: "5-262143", ApplyType: Static, Modifiable: true},
	{Name: "autovacuum_vacuum_cost_delay", DataType: "integer", AllowedValues: "-1-100", ApplyType: Dynamic, Modifiable: true},
	{Name: "max_pred_locks_per_relation", DataType: "integer", AllowedValues: "-2147483648-2147483647", ApplyType: Dynamic, Modifiable: true},
	{Name: "random_page_cost", DataType: "float", AllowedValues: "0-1.79769e+308", ApplyType: Dynamic, Modifiable: true},
	{Name: "log_transaction_sample_rate", DataType: "float", AllowedValues: "0.0-1.0", ApplyType: Dynamic, Modifiable: true},
	{Name: "autovacuum", DataType: "boolean", AllowedValues: "0,1", ApplyType: Dynamic, Modifiable: true},
	{Name: "password_encryption", DataType: "string", AllowedValues: "md5,scram-sha-256", ApplyType: Dynamic, Modifiable: true},
	{Name: "babelfishpg_tds.tds_default_protocol_version", DataType: "string", AllowedValues: "TDSv7.0, TDSv7.1, DEFAULT", ApplyType: Dynamic, Modifiable: true},
	{Name: "shared_preload_libraries", DataType: "list", AllowedValues: "auto_explain,orafce,pgaudit,pg_stat_statements,pglogical", ApplyType: Static, Modifiable: true},
	{Name: "search_path", DataType: "string", ApplyType: Dynamic, Modifiable: true},
	{Name: "port", DataType: "integer", AllowedValues: "1-65535", ApplyType: Static, Modifiable: false},
	{Name: "odd_range", DataType: "integer", AllowedValues: "0,5-10", ApplyType: Dynamic, Modifiable: true},
	{Name: "unreadable", DataType: "integer", AllowedValues: "small-large", ApplyType: Dynamic, Modifiable: true},
}

func TestValidateAgainst(t *testing.T) {
	tests := []struct {
		name    string
		change  Change
		wantErr string
	}{
		{"range ok", Change{Name: "max_wal_senders", Value: "20"}, ""},
		{"range low", Change{Name: "max_wal_senders", Value: "4"}, "out of range; the API allows 5-262143"},
		{"negative range ok", Change{Name: "autovacuum_vacuum_cost_delay", Value: "-1"}, ""},
		{"negative range low", Change{Name: "autovacuum_vacuum_cost_delay", Value: "-2"}, "out of range"},
		{"negative bounds", Change{Name: "max_pred_locks_per_relation", Value: "-2147483648"}, ""},
		{"not an integer", Change{Name: "max_wal_senders", Value: "1.5"}, "is not an integer"},
		{"float exponent bound", Change{Name: "random_page_cost", Value: "1.1"}, ""},
		{"float range", Change{Name: "log_transaction_sample_rate", Value: "1.5"}, "out of range; the API allows 0.0-1.0"},
		{"float nan text", Change{Name: "log_transaction_sample_rate", Value: "half"}, "is not a number"},
		{"alternatives", Change{Name: "odd_range", Value: "0"}, ""},
		{"alternatives range", Change{Name: "odd_range", Value: "7"}, ""},
		{"alternatives miss", Change{Name: "odd_range", Value: "3"}, "out of range"},
		{"unreadable allowed values left to RDS", Change{Name: "unreadable", Value: "3"}, ""},
		{"boolean on", Change{Name: "autovacuum", Value: "on"}, ""},
		{"boolean bad", Change{Name: "autovacuum", Value: "2"}, "is not a boolean"},
		{"string set", Change{Name: "password_encryption", Value: "MD5"}, ""},
		{"string set miss", Change{Name: "password_encryption", Value: "sha1"}, "the API allows md5,scram-sha-256"},
		{"string set with spaces", Change{Name: "babelfishpg_tds.tds_default_protocol_version", Value: "TDSv7.1"}, ""},
		{"free string", Change{Name: "search_path", Value: `"$user", public`}, ""},
		{"list ok", Change{Name: "shared_preload_libraries", Value: "pgaudit,pglogical"}, ""},
		{"list miss", Change{Name: "shared_preload_libraries", Value: "pgaudit,timescaledb"}, `has item "timescaledb", which is not allowed`},
		{"not modifiable", Change{Name: "port", Value: "5432"}, "is not modifiable"},
		{"unknown to API", Change{Name: "no_such_param", Value: "1"}, "is not a parameter of this group"},
		{"static immediate", Change{Name: "max_wal_senders", Value: "20", Method: types.ApplyMethodImmediate}, "API reports the parameter as static"},
		{"case-insensitive name", Change{Name: "MAX_WAL_SENDERS", Value: "20"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateAgainst(testMeta, []Change{tt.change})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateAgainst = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ValidateAgainst = %v, want error containing %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.change.Name) {
				t.Fatalf("error %q does not name the parameter", err)
			}
		})
	}
}

func TestParseNumericAllowed(t *testing.T) {
	tests := []struct {
		in      string
		want    []numRange
		wantErr bool
	}{
		{"0-262143", []numRange{{0, 262143}}, false},
		{"-1-2147483647", []numRange{{-1, 2147483647}}, false},
		{"-2147483648-2147483647", []numRange{{-2147483648, 2147483647}}, false},
		{"0-1.79769e+308", []numRange{{0, 1.79769e+308}}, false},
		{"1e-5-10", []numRange{{1e-5, 10}}, false},
		{"0, 5-10", []numRange{{0, 0}, {5, 10}}, false},
		{"0,1", []numRange{{0, 0}, {1, 1}}, false},
		{"10-5", nil, true},
		{"a-b", nil, true},
		{"", nil, true},
	}
	for _, tt := range tests {
		got, err := parseNumericAllowed(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseNumericAllowed(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(numRange{})); diff != "" {
			t.Errorf("parseNumericAllowed(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}
