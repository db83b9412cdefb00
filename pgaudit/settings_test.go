package pgaudit

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/google/go-cmp/cmp"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/params"
)

func TestSettingsChanges(t *testing.T) {
	all := Settings{
		Log:                 pgaurora.Ptr(All &^ Misc),
		LogCatalog:          pgaurora.Ptr(false),
		LogClient:           pgaurora.Ptr(true),
		LogLevel:            "NOTICE",
		LogParameter:        pgaurora.Ptr(true),
		LogParameterMaxSize: pgaurora.Ptr(4096),
		LogRelation:         pgaurora.Ptr(true),
		LogRows:             pgaurora.Ptr(true),
		LogStatement:        pgaurora.Ptr(true),
		LogStatementOnce:    pgaurora.Ptr(false),
		Role:                AuditRole,
	}
	tests := []struct {
		name string
		s    Settings
		opts *ChangeOptions
		want []params.Change
	}{
		{
			name: "empty preload list",
			s:    Settings{Log: pgaurora.Ptr(Write | DDL)},
			opts: nil,
			want: []params.Change{
				{Name: "shared_preload_libraries", Value: "pgaudit", Method: types.ApplyMethodPendingReboot},
				{Name: "pgaudit.log", Value: "write,ddl", Method: types.ApplyMethodImmediate},
			},
		},
		{
			name: "appended to the current list",
			s:    Settings{Log: pgaurora.Ptr(None), LogRows: pgaurora.Ptr(true)},
			opts: &ChangeOptions{SharedPreloadLibraries: "pg_stat_statements, pg_cron"},
			want: []params.Change{
				{Name: "shared_preload_libraries", Value: "pg_stat_statements,pg_cron,pgaudit", Method: types.ApplyMethodPendingReboot},
				{Name: "pgaudit.log", Value: "none", Method: types.ApplyMethodImmediate},
				{Name: "pgaudit.log_rows", Value: "1", Method: types.ApplyMethodImmediate},
			},
		},
		{
			name: "already preloaded",
			s:    Settings{LogCatalog: pgaurora.Ptr(false)},
			opts: &ChangeOptions{SharedPreloadLibraries: "rdsutils,pgaudit"},
			want: []params.Change{{Name: "pgaudit.log_catalog", Value: "0", Method: types.ApplyMethodImmediate}},
		},
		{
			name: "already preloaded, other case and spacing",
			s:    Settings{},
			opts: &ChangeOptions{SharedPreloadLibraries: " pg_cron , PGAUDIT "},
			want: nil,
		},
		{
			name: "skip preload",
			s:    Settings{Role: AuditRole},
			opts: &ChangeOptions{SkipPreload: true},
			want: []params.Change{{Name: "pgaudit.role", Value: "rds_pgaudit", Method: types.ApplyMethodImmediate}},
		},
		{
			name: "every setting on pgAudit 16",
			s:    all,
			opts: &ChangeOptions{SharedPreloadLibraries: "pgaudit", Version: "16.0"},
			want: []params.Change{
				{Name: "pgaudit.log", Value: "read,write,function,role,ddl", Method: types.ApplyMethodImmediate},
				{Name: "pgaudit.log_catalog", Value: "0", Method: types.ApplyMethodImmediate},
				{Name: "pgaudit.log_client", Value: "1", Method: types.ApplyMethodImmediate},
				{Name: "pgaudit.log_level", Value: "notice", Method: types.ApplyMethodImmediate},
				{Name: "pgaudit.log_parameter", Value: "1", Method: types.ApplyMethodImmediate},
				{Name: "pgaudit.log_parameter_max_size", Value: "4096", Method: types.ApplyMethodImmediate},
				{Name: "pgaudit.log_relation", Value: "1", Method: types.ApplyMethodImmediate},
				{Name: "pgaudit.log_rows", Value: "1", Method: types.ApplyMethodImmediate},
				{Name: "pgaudit.log_statement", Value: "1", Method: types.ApplyMethodImmediate},
				{Name: "pgaudit.log_statement_once", Value: "0", Method: types.ApplyMethodImmediate},
				{Name: "pgaudit.role", Value: "rds_pgaudit", Method: types.ApplyMethodImmediate},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.Changes(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSettingsChangesRefused(t *testing.T) {
	tests := []struct {
		name string
		s    Settings
		opts *ChangeOptions
		want string // in the error
	}{
		{"max size on 1.7", Settings{LogParameterMaxSize: pgaurora.Ptr(100)}, &ChangeOptions{Version: "1.7.0"}, "pgAudit 16 or later"},
		{"max size without version", Settings{LogParameterMaxSize: pgaurora.Ptr(100)}, nil, "version is unknown"},
		{"max size bad version", Settings{LogParameterMaxSize: pgaurora.Ptr(100)}, &ChangeOptions{Version: "sixteen"}, "not a version"},
		{"max size negative", Settings{LogParameterMaxSize: pgaurora.Ptr(-1)}, &ChangeOptions{Version: "17"}, "0 to 1073741823"},
		{"max size too big", Settings{LogParameterMaxSize: pgaurora.Ptr(1 << 30)}, &ChangeOptions{Version: "17"}, "0 to 1073741823"},
		{"role", Settings{Role: "auditor"}, nil, `only value RDS allows is "rds_pgaudit"`},
		{"log level", Settings{LogLevel: "error"}, nil, "debug5, debug4, debug3, debug2, debug1, info, notice, warning, log"},
		{"log level debug", Settings{LogLevel: "debug"}, nil, "allowed values"},
		{"class bits", Settings{Log: pgaurora.Ptr(Classes(0x80))}, nil, "unknown class bits"},
		{"bad preload list", Settings{}, &ChangeOptions{SharedPreloadLibraries: `"unterminated`}, "shared_preload_libraries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.Changes(tt.opts)
			if err == nil {
				t.Fatalf("accepted: %v", got)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("not ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
	// pgAudit 16+ accepts it.
	for _, v := range []string{"16", "16.0", "17.1"} {
		if _, err := (Settings{LogParameterMaxSize: pgaurora.Ptr(0)}).Changes(&ChangeOptions{Version: v}); err != nil {
			t.Errorf("version %s: %v", v, err)
		}
	}
}

func TestSettingsList(t *testing.T) {
	s := Settings{Log: pgaurora.Ptr(Read), LogRows: pgaurora.Ptr(true), LogStatement: pgaurora.Ptr(false), LogLevel: pgaurora.LogLevelWarning}
	want := []Setting{
		{"pgaudit.log", "read"},
		{"pgaudit.log_level", "warning"},
		{"pgaudit.log_rows", "on"},
		{"pgaudit.log_statement", "off"},
	}
	if diff := cmp.Diff(want, s.List()); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if !(Settings{}).IsZero() || s.IsZero() {
		t.Error("IsZero is wrong")
	}
	if !IsSettingName("PGAUDIT.LOG") || IsSettingName("pgaudit.bogus") {
		t.Error("IsSettingName is wrong")
	}
}

func TestParseLogLevel(t *testing.T) {
	for _, l := range logLevels {
		got, err := ParseLogLevel(strings.ToUpper(string(l)))
		if err != nil || got != l {
			t.Errorf("ParseLogLevel(%q) = %q, %v", strings.ToUpper(string(l)), got, err)
		}
	}
	if _, err := ParseLogLevel("fatal"); err == nil {
		t.Error("fatal accepted")
	}
}
