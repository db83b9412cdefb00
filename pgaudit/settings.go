package pgaudit

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/params"
)

// AuditRole is the only role RDS and Aurora accept in pgaudit.role: object
// auditing logs a statement when this role holds a privilege the statement
// uses.
const AuditRole = "rds_pgaudit"

// LibraryName is the name pgAudit is loaded by, in shared_preload_libraries.
const LibraryName = "pgaudit"

// logLevels are the levels RDS allows for pgaudit.log_level. It only
// takes effect when pgaudit.log_client is on; otherwise audit messages go
// to the server log only, at LOG.
var logLevels = []pgaurora.LogLevel{pgaurora.LogLevelDebug5, pgaurora.LogLevelDebug4, pgaurora.LogLevelDebug3, pgaurora.LogLevelDebug2,
	pgaurora.LogLevelDebug1, pgaurora.LogLevelInfo, pgaurora.LogLevelNotice, pgaurora.LogLevelWarning, pgaurora.LogLevelLog}

// ParseLogLevel parses a pgaudit.log_level value, case-insensitively:
// debug5 to debug1, info, notice, warning or log.
func ParseLogLevel(s string) (pgaurora.LogLevel, error) {
	for _, l := range logLevels {
		if asciiEqualFold(s, string(l)) {
			return l, nil
		}
	}
	return "", fmt.Errorf("%w: pgaudit.log_level %q: allowed values are %s", ErrInvalid, s, joinLevels())
}

func joinLevels() string {
	s := make([]string, len(logLevels))
	for i, l := range logLevels {
		s[i] = string(l)
	}
	return strings.Join(s, ", ")
}

// MaxLogParameterMaxSize is the largest pgaudit.log_parameter_max_size
// pgAudit accepts (bytes).
const MaxLogParameterMaxSize = 1<<30 - 1

// Settings are pgAudit's settings (GUCs). A nil field (or an empty LogLevel
// or Role) is left as it is; a set field becomes a parameter change.
// pgaurora.Ptr makes the pointers:
// Settings{Log: pgaurora.Ptr(Write | DDL), LogRows: pgaurora.Ptr(true)}.
//
// Settings is used for parameter groups (Changes) and for per-role and
// per-database overrides (the SQL client).
type Settings struct {
	// Log is pgaudit.log: the classes session auditing logs.
	Log *Classes
	// LogCatalog is pgaudit.log_catalog: also log statements whose
	// relations are all in pg_catalog (default on).
	LogCatalog *bool
	// LogClient is pgaudit.log_client: also send audit messages to the
	// client (default off).
	LogClient *bool
	// LogLevel is pgaudit.log_level (see ParseLogLevel); it only matters
	// with LogClient on.
	LogLevel pgaurora.LogLevel
	// LogParameter is pgaudit.log_parameter: log the statement's bind
	// parameters (default off).
	LogParameter *bool
	// LogParameterMaxSize is pgaudit.log_parameter_max_size: parameters
	// longer than this many bytes are replaced by "<long field
	// suppressed>"; 0 logs all. Only pgAudit 16 and later have it.
	LogParameterMaxSize *int
	// LogRelation is pgaudit.log_relation: one entry per relation a
	// SELECT or DML statement references (default off).
	LogRelation *bool
	// LogRows is pgaudit.log_rows: append the rows retrieved or affected
	// (default off).
	LogRows *bool
	// LogStatement is pgaudit.log_statement: log the statement text and
	// parameters (default on).
	LogStatement *bool
	// LogStatementOnce is pgaudit.log_statement_once: log the statement
	// text only with the first entry of a statement/substatement (default
	// off).
	LogStatementOnce *bool
	// Role is pgaudit.role, the object-auditing role; RDS allows only
	// AuditRole ("rds_pgaudit").
	Role string
}

// Setting is one pgAudit setting as name and value, in the form PostgreSQL
// takes in SET, ALTER ROLE ... SET and postgresql.conf ("on"/"off" for
// booleans).
type Setting struct {
	// Name is the full setting name, for example "pgaudit.log".
	Name string
	// Value is the value as PostgreSQL accepts it.
	Value string
}

// Setting names.
const (
	SettingLog                 = "pgaudit.log"
	SettingLogCatalog          = "pgaudit.log_catalog"
	SettingLogClient           = "pgaudit.log_client"
	SettingLogLevel            = "pgaudit.log_level"
	SettingLogParameter        = "pgaudit.log_parameter"
	SettingLogParameterMaxSize = "pgaudit.log_parameter_max_size"
	SettingLogRelation         = "pgaudit.log_relation"
	SettingLogRows             = "pgaudit.log_rows"
	SettingLogStatement        = "pgaudit.log_statement"
	SettingLogStatementOnce    = "pgaudit.log_statement_once"
	SettingRole                = "pgaudit.role"
)

// SettingNames lists every pgAudit setting, in the order Settings declares
// them. pgaudit.log_parameter_max_size exists only in pgAudit 16 and later.
var SettingNames = []string{
	SettingLog, SettingLogCatalog, SettingLogClient, SettingLogLevel,
	SettingLogParameter, SettingLogParameterMaxSize, SettingLogRelation,
	SettingLogRows, SettingLogStatement, SettingLogStatementOnce, SettingRole,
}

// IsSettingName reports whether name is a pgAudit setting this package
// knows (case-insensitively, as PostgreSQL compares setting names).
func IsSettingName(name string) bool {
	for _, n := range SettingNames {
		if asciiEqualFold(name, n) {
			return true
		}
	}
	return false
}

// Validate checks every set field without regard to the pgAudit version.
func (s Settings) Validate() error {
	if s.Log != nil && *s.Log&^All != 0 {
		return fmt.Errorf("%w: pgaudit.log: unknown class bits %#x; allowed: %s", ErrInvalid, uint8(*s.Log&^All), AllowedClassWords)
	}
	if s.LogLevel != "" {
		if _, err := ParseLogLevel(string(s.LogLevel)); err != nil {
			return err
		}
	}
	if s.LogParameterMaxSize != nil {
		if n := *s.LogParameterMaxSize; n < 0 || n > MaxLogParameterMaxSize {
			return fmt.Errorf("%w: pgaudit.log_parameter_max_size %d: allowed range is 0 to %d bytes", ErrInvalid, n, MaxLogParameterMaxSize)
		}
	}
	if s.Role != "" && s.Role != AuditRole {
		return fmt.Errorf("%w: pgaudit.role %q: the only value RDS allows is %q", ErrInvalid, s.Role, AuditRole)
	}
	return nil
}

// IsZero reports whether no field is set.
func (s Settings) IsZero() bool { return len(s.list(boolOnOff)) == 0 }

// List returns the set fields as settings with PostgreSQL values ("on" and
// "off" for booleans), in SettingNames order. It does not validate.
func (s Settings) List() []Setting { return s.list(boolOnOff) }

func boolOnOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// boolRDS is how RDS parameter groups spell booleans.
func boolRDS(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func (s Settings) list(boolValue func(bool) string) []Setting {
	var out []Setting
	addBool := func(name string, v *bool) {
		if v != nil {
			out = append(out, Setting{name, boolValue(*v)})
		}
	}
	if s.Log != nil {
		out = append(out, Setting{SettingLog, s.Log.String()})
	}
	addBool(SettingLogCatalog, s.LogCatalog)
	addBool(SettingLogClient, s.LogClient)
	if s.LogLevel != "" {
		l := s.LogLevel
		if p, err := ParseLogLevel(string(l)); err == nil {
			l = p
		}
		out = append(out, Setting{SettingLogLevel, string(l)})
	}
	addBool(SettingLogParameter, s.LogParameter)
	if s.LogParameterMaxSize != nil {
		out = append(out, Setting{SettingLogParameterMaxSize, strconv.Itoa(*s.LogParameterMaxSize)})
	}
	addBool(SettingLogRelation, s.LogRelation)
	addBool(SettingLogRows, s.LogRows)
	addBool(SettingLogStatement, s.LogStatement)
	addBool(SettingLogStatementOnce, s.LogStatementOnce)
	if s.Role != "" {
		out = append(out, Setting{SettingRole, s.Role})
	}
	return out
}

// ChangeOptions is what Settings.Changes needs to know about the target.
type ChangeOptions struct {
	// SharedPreloadLibraries is the parameter group's current value of
	// shared_preload_libraries ("" when unset). pgaudit is appended to it
	// unless it is already there.
	SharedPreloadLibraries string
	// Version is the pgAudit version the cluster runs ("1.7", "16.0",
	// ...); pgAudit's major version follows PostgreSQL's from 16 on. It
	// is required only to set LogParameterMaxSize, which needs 16 or
	// later.
	Version string
	// SkipPreload leaves shared_preload_libraries alone, for callers that
	// manage that list themselves.
	SkipPreload bool
}

// Changes returns the parameter-group changes that turn pgAudit on with
// these settings: pgaudit added to shared_preload_libraries (pending reboot,
// since that parameter is static) unless it is already listed, then each set
// field (immediate: pgAudit's settings are dynamic), with booleans as RDS
// spells them ("1"/"0"). Invalid settings are refused before anything is
// returned; LogParameterMaxSize is refused unless opts.Version is 16 or
// later.
func (s Settings) Changes(opts *ChangeOptions) ([]params.Change, error) {
	if opts == nil {
		opts = &ChangeOptions{}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.LogParameterMaxSize != nil {
		if err := checkMaxSizeVersion(opts.Version); err != nil {
			return nil, err
		}
	}
	var out []params.Change
	if !opts.SkipPreload {
		c, changed, err := params.PreloadChange(opts.SharedPreloadLibraries, []string{LibraryName}, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: adding pgaudit to shared_preload_libraries: %w", ErrInvalid, err)
		}
		if changed {
			c.Method = types.ApplyMethodPendingReboot
			out = append(out, c)
		}
	}
	for _, st := range s.list(boolRDS) {
		out = append(out, params.Change{Name: st.Name, Value: st.Value, Method: types.ApplyMethodImmediate})
	}
	return out, nil
}

// checkMaxSizeVersion refuses pgaudit.log_parameter_max_size on pgAudit
// versions older than 16.
func checkMaxSizeVersion(version string) error {
	if version == "" {
		return fmt.Errorf("%w: pgaudit.log_parameter_max_size needs pgAudit 16 or later; ChangeOptions.Version is empty, so the pgAudit version is unknown", ErrInvalid)
	}
	major, err := versionMajor(version)
	if err != nil {
		return fmt.Errorf("%w: pgAudit version %q: %v", ErrInvalid, version, err)
	}
	if major < 16 {
		return fmt.Errorf("%w: pgaudit.log_parameter_max_size needs pgAudit 16 or later; this cluster runs pgAudit %s", ErrInvalid, version)
	}
	return nil
}

// versionMajor returns the leading number of a version such as "1.7.0" or
// "16.1".
func versionMajor(v string) (int, error) {
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	if end == 0 || end > 6 || (end < len(v) && v[end] != '.') {
		return 0, fmt.Errorf("not a version number (want digits and dots, like 1.7 or 16.0)")
	}
	return strconv.Atoi(v[:end])
}
