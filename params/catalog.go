package params

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/pgaurora/pgaurora"
)

// ValueType is the kind of value a catalog parameter takes.
type ValueType int

const (
	// TypeBool is a boolean. The SDK accepts 1/on/true/yes and
	// 0/off/false/no (any case) and sends "1" or "0", the spelling RDS
	// lists in AllowedValues.
	TypeBool ValueType = iota + 1
	// TypeInteger is a whole number within [Spec.Min, Spec.Max], written
	// without units in the parameter's base unit ([Spec.Unit]).
	TypeInteger
	// TypeString is free text.
	TypeString
	// TypeEnum is one of [Spec.Allowed], matched without regard to case.
	TypeEnum
	// TypeList is a comma-separated list; when [Spec.Allowed] is set,
	// every item must be one of its entries (matched without regard to
	// case). Order is kept and significant, except for lists marked
	// [Spec.Unordered].
	TypeList
)

// String returns "bool", "integer", "string", "enum" or "list".
func (t ValueType) String() string {
	switch t {
	case TypeBool:
		return "bool"
	case TypeInteger:
		return "integer"
	case TypeString:
		return "string"
	case TypeEnum:
		return "enum"
	case TypeList:
		return "list"
	default:
		return fmt.Sprintf("ValueType(%d)", int(t))
	}
}

// Level says which kind of parameter group may hold a parameter.
type Level int

const (
	// Both means the parameter may be set in a DB cluster parameter group
	// (as the default for every member) and in a DB parameter group (for
	// one instance, overriding the cluster value).
	Both Level = iota + 1
	// ClusterOnly means Aurora accepts the parameter only in a DB cluster
	// parameter group: it configures the shared storage or replication
	// for the whole cluster.
	ClusterOnly
	// InstanceOnly means the parameter can be set only in a DB parameter
	// group.
	InstanceOnly
)

// String returns "both", "cluster-only" or "instance-only".
func (l Level) String() string {
	switch l {
	case Both:
		return "both"
	case ClusterOnly:
		return "cluster-only"
	case InstanceOnly:
		return "instance-only"
	default:
		return fmt.Sprintf("Level(%d)", int(l))
	}
}

// allows reports whether a parameter at level l may go in a group of kind k.
func (l Level) allows(k Kind) bool {
	switch l {
	case ClusterOnly:
		return k == ClusterGroup
	case InstanceOnly:
		return k == InstanceGroup
	default:
		return true
	}
}

// Spec describes one parameter the SDK knows: its type, the values Aurora
// PostgreSQL 15 accepts, whether it is static, and where it may be set.
type Spec struct {
	// Name is the parameter name.
	Name string
	// Type is the kind of value.
	Type ValueType
	// Allowed lists the values of an enum, or the items a list may hold.
	// Empty for a list means any syntactically valid item.
	Allowed []string
	// Min and Max bound an integer, inclusive.
	Min, Max int64
	// Unit is the base unit of an integer ("ms", "kB", "bytes"), empty if
	// none. Values are sent without a unit; [ToBaseUnit] converts a value
	// with one ("64MB") and [EqualValues] compares values with units as the
	// engine does.
	Unit string
	// Default is the value Aurora PostgreSQL 15 uses when no parameter
	// group sets the parameter, in the form sent to the API; empty when
	// it is not fixed (a formula of the instance class) or not recorded.
	Default string
	// Unordered marks a list whose order does not change what the engine
	// does (a set of names): [EquivalentValues] compares it without regard
	// to order.
	Unordered bool
	// Apply is Static (needs a reboot) or Dynamic.
	Apply ApplyType
	// Level says which group kinds may hold the parameter.
	Level Level
	// MinEngineVersion is the earliest engine version that has the
	// parameter; empty means every Aurora PostgreSQL 15 version.
	MinEngineVersion string
	// Sensitive marks parameters whose values may carry secrets (for
	// example connection options). Their values are never echoed in
	// errors.
	Sensitive bool
	// Description says what the parameter does.
	Description string
}

// Allows returns a human-readable description of the values the parameter
// accepts, as used in validation errors.
func (s Spec) Allows() string {
	switch s.Type {
	case TypeBool:
		return "a boolean: 1/on/true/yes or 0/off/false/no"
	case TypeInteger:
		r := fmt.Sprintf("an integer from %d to %d", s.Min, s.Max)
		if s.Unit != "" {
			r += " (" + s.Unit + ", without a unit suffix)"
		}
		return r
	case TypeEnum:
		return "one of: " + strings.Join(s.Allowed, ", ")
	case TypeList:
		if len(s.Allowed) == 0 {
			return "a comma-separated list of names"
		}
		return "a comma-separated list of: " + strings.Join(s.Allowed, ", ")
	default:
		return "a non-empty string"
	}
}

var (
	logLevels       = []string{"debug5", "debug4", "debug3", "debug2", "debug1", "info", "notice", "warning", "error", "log", "fatal", "panic"}
	pgauditLevels   = []string{"debug5", "debug4", "debug3", "debug2", "debug1", "info", "notice", "warning", "log"}
	pgauditClasses  = []string{"all", "none", "read", "write", "function", "role", "ddl", "misc", "misc_set"}
	pgauditLogItems = func() []string {
		items := slices.Clone(pgauditClasses)
		for _, c := range pgauditClasses {
			if c != "all" && c != "none" {
				items = append(items, "-"+c)
			}
		}
		return items
	}()
)

const intMax = 2147483647

// catalog holds what the SDK knows about the parameters its features set,
// with the facts of Aurora PostgreSQL 15 (the values and apply types of the
// default.aurora-postgresql15 groups; where Aurora narrows PostgreSQL's
// range, as for max_standby_streaming_delay, Aurora's range).
//
// Levels: Aurora lists the replication, TLS and password parameters among
// its cluster-level parameters; everything else here may be set in the
// cluster group (as every member's default) and overridden per instance.
var catalog = map[string]Spec{}

func init() {
	for _, s := range []Spec{
		{Name: "shared_preload_libraries", Type: TypeList, Apply: Static, Level: Both, Unordered: true,
			Description: "Shared libraries to load into the server at start (pgaudit, pglogical, pg_stat_statements, ...)."},
		{Name: "rds.logical_replication", Type: TypeBool, Apply: Static, Level: ClusterOnly,
			Description: "Enables logical decoding: 1 sets wal_level=logical on every member after a reboot."},
		{Name: "rds.allowed_extensions", Type: TypeList, Apply: Dynamic, Level: ClusterOnly, Unordered: true,
			Description: "Comma-separated list of extensions that may be created, or * for all."},
		{Name: "rds.force_ssl", Type: TypeBool, Apply: Dynamic, Level: ClusterOnly,
			Description: "Refuses connections that do not use SSL/TLS when 1."},
		{Name: "max_replication_slots", Type: TypeInteger, Min: 5, Max: 262143, Apply: Static, Level: ClusterOnly,
			Description: "Maximum number of replication slots (at least the planned publications plus subscriptions)."},
		{Name: "max_wal_senders", Type: TypeInteger, Min: 5, Max: 262143, Apply: Static, Level: ClusterOnly,
			Description: "Maximum number of simultaneously running WAL sender processes."},
		{Name: "max_logical_replication_workers", Type: TypeInteger, Min: 0, Max: 262143, Apply: Static, Level: ClusterOnly,
			Description: "Maximum number of logical replication worker processes."},
		{Name: "max_worker_processes", Type: TypeInteger, Min: 0, Max: 262143, Apply: Static, Level: Both,
			Description: "Maximum number of background worker processes; Aurora's default is GREATEST(2 x vCPU, 8)."},
		{Name: "autovacuum_max_workers", Type: TypeInteger, Min: 1, Max: 262143, Apply: Static, Level: ClusterOnly,
			Description: "Maximum number of simultaneously running autovacuum worker processes."},
		{Name: "max_parallel_workers", Type: TypeInteger, Min: 0, Max: 1024, Apply: Dynamic, Level: Both,
			Description: "Maximum number of parallel workers active at one time."},
		{Name: "max_standby_streaming_delay", Type: TypeInteger, Min: 1000, Max: 30000, Unit: "ms", Apply: Dynamic, Level: Both,
			Description: "Maximum delay before a reader cancels queries that conflict with WAL being applied (Aurora allows 1000-30000 ms)."},
		{Name: "max_standby_archive_delay", Type: TypeInteger, Min: -1, Max: intMax, Unit: "ms", Apply: Dynamic, Level: Both,
			Description: "Maximum delay before a standby cancels queries that conflict with archived WAL being applied; -1 waits forever. Aurora readers do not replay archived WAL, so some Aurora versions do not list it."},
		{Name: "wal_sender_timeout", Type: TypeInteger, Min: 0, Max: 3600000, Unit: "ms", Apply: Dynamic, Level: ClusterOnly,
			Description: "Terminates replication connections inactive longer than this; 0 disables the timeout."},
		{Name: "track_commit_timestamp", Type: TypeBool, Apply: Static, Level: ClusterOnly, Default: "0",
			Description: "Records commit timestamps; pglogical's keep_local, last_update_wins and first_update_wins need it."},
		{Name: "ssl_min_protocol_version", Type: TypeEnum, Allowed: []string{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}, Apply: Dynamic, Level: ClusterOnly,
			Description: "Minimum SSL/TLS protocol version the server accepts."},
		{Name: "password_encryption", Type: TypeEnum, Allowed: []string{"md5", "scram-sha-256"}, Apply: Dynamic, Level: ClusterOnly,
			Description: "Algorithm used to encrypt passwords set with CREATE/ALTER ROLE."},

		// Memory and timeouts, the parameters most often set in a fleet's
		// groups; their values carry units.
		{Name: "maintenance_work_mem", Type: TypeInteger, Min: 1024, Max: intMax, Unit: "kB", Apply: Dynamic, Level: Both,
			Description: "Memory VACUUM, CREATE INDEX and ALTER TABLE ADD FOREIGN KEY may use (kB); Aurora's default is a formula of the instance memory."},
		{Name: "log_min_duration_statement", Type: TypeInteger, Min: -1, Max: intMax, Unit: "ms", Apply: Dynamic, Level: Both, Default: "-1",
			Description: "Logs statements that run at least this long; -1 disables, 0 logs every statement."},
		{Name: "statement_timeout", Type: TypeInteger, Min: 0, Max: intMax, Unit: "ms", Apply: Dynamic, Level: Both, Default: "0",
			Description: "Cancels statements that run longer than this; 0 disables the timeout."},

		// pgAudit (1.7 on PostgreSQL 15). The GUCs are superuser-settable,
		// so RDS applies them dynamically; they only take effect once
		// pgaudit is in shared_preload_libraries.
		{Name: "pgaudit.log", Type: TypeList, Allowed: pgauditLogItems, Apply: Dynamic, Level: Both,
			Description: "Statement classes session audit logging records; a -class entry removes a class (applied left to right)."},
		{Name: "pgaudit.log_catalog", Type: TypeBool, Apply: Dynamic, Level: Both,
			Description: "Logs statements whose relations are all in pg_catalog."},
		{Name: "pgaudit.log_client", Type: TypeBool, Apply: Dynamic, Level: Both,
			Description: "Also sends audit messages to the client (psql and the like)."},
		{Name: "pgaudit.log_level", Type: TypeEnum, Allowed: pgauditLevels, Apply: Dynamic, Level: Both,
			Description: "Log level of audit entries; levels other than log only matter with pgaudit.log_client."},
		{Name: "pgaudit.log_parameter", Type: TypeBool, Apply: Dynamic, Level: Both,
			Description: "Includes statement parameters in audit entries."},
		{Name: "pgaudit.log_parameter_max_size", Type: TypeInteger, Min: 0, Max: intMax, Unit: "bytes", Apply: Dynamic, Level: Both,
			MinEngineVersion: "16",
			Description:      "Longest parameter value logged in full; 0 logs every value (pgAudit 16 and later, so Aurora PostgreSQL 16+)."},
		{Name: "pgaudit.log_relation", Type: TypeBool, Apply: Dynamic, Level: Both,
			Description: "Logs a separate entry for each relation a SELECT or DML statement references."},
		{Name: "pgaudit.log_rows", Type: TypeBool, Apply: Dynamic, Level: Both,
			Description: "Includes the number of rows retrieved or affected in audit entries."},
		{Name: "pgaudit.log_statement", Type: TypeBool, Apply: Dynamic, Level: Both,
			Description: "Includes the statement text and parameters in audit entries."},
		{Name: "pgaudit.log_statement_once", Type: TypeBool, Apply: Dynamic, Level: Both,
			Description: "Logs the statement text only with the first entry of a statement/substatement."},
		{Name: "pgaudit.role", Type: TypeEnum, Allowed: []string{"rds_pgaudit"}, Apply: Dynamic, Level: Both,
			Description: "Master role for object audit logging; RDS allows only rds_pgaudit."},

		// pglogical 2.4.
		{Name: "pglogical.batch_inserts", Type: TypeBool, Apply: Static, Level: Both,
			Description: "Batches inserts on the subscriber when possible."},
		{Name: "pglogical.conflict_log_level", Type: TypeEnum, Allowed: logLevels, Apply: Dynamic, Level: Both,
			Description: "Log level used to report resolved conflicts."},
		{Name: "pglogical.conflict_resolution", Type: TypeEnum,
			Allowed: []string{"error", "apply_remote", "keep_local", "last_update_wins", "first_update_wins"}, Apply: Dynamic, Level: Both,
			Description: "How resolvable conflicts are resolved; keep_local and the *_update_wins methods need track_commit_timestamp=1."},
		{Name: "pglogical.extra_connection_options", Type: TypeString, Apply: Dynamic, Level: Both, Sensitive: true,
			Description: "libpq connection options added to every peer node connection."},
		{Name: "pglogical.synchronous_commit", Type: TypeBool, Apply: Static, Level: Both,
			Description: "Uses synchronous commit for pglogical's apply workers."},
		{Name: "pglogical.temp_directory", Type: TypeString, Apply: Dynamic, Level: Both,
			Description: "Directory for temporary files of the initial schema synchronization; empty uses the system temp directory."},
		{Name: "pglogical.use_spi", Type: TypeBool, Apply: Static, Level: Both,
			Description: "Applies changes through SPI instead of the low-level API."},
	} {
		catalog[s.Name] = s
	}
}

// Lookup returns the catalog entry for a parameter name. Names match
// without regard to case, as PostgreSQL matches setting names.
func Lookup(name string) (Spec, bool) {
	s, ok := catalog[strings.ToLower(strings.TrimSpace(name))]
	if ok {
		s.Allowed = slices.Clone(s.Allowed)
	}
	return s, ok
}

// Catalog returns every parameter the SDK knows, sorted by name.
func Catalog() []Spec {
	out := make([]Spec, 0, len(catalog))
	for _, s := range catalog {
		s.Allowed = slices.Clone(s.Allowed)
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Spec) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Validate checks one change for a group of the given kind against the
// catalog. It checks, in order: the name is not empty; the method is
// empty, types.ApplyMethodImmediate or types.ApplyMethodPendingReboot; the
// value is not empty (use Reset to return a parameter to its default). For
// catalog parameters it also checks the level (a cluster-only parameter in
// an instance group is refused), that a static parameter is not asked to
// apply immediately, and the value's type and range. Parameters the catalog does not know pass through; check them
// with [ValidateAgainst] when the group's metadata is at hand.
func Validate(kind Kind, c Change) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	_, err := canonicalChange(kind, c)
	return err
}

// ValidateAll validates every change and also refuses two changes to the
// same parameter. All problems are returned, joined.
func ValidateAll(kind Kind, changes []Change) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	_, err := canonicalChanges(kind, changes)
	return err
}

// canonicalChanges validates changes and returns them with values in the
// form sent to the API (booleans "1"/"0", enum values in the catalog's
// spelling, lists re-joined). Methods are left as given.
func canonicalChanges(kind Kind, changes []Change) ([]Change, error) {
	var errs []error
	out := make([]Change, 0, len(changes))
	seen := make(map[string]bool, len(changes))
	for _, c := range changes {
		cc, err := canonicalChange(kind, c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		key := strings.ToLower(cc.Name)
		if seen[key] {
			errs = append(errs, &ValidationError{Param: cc.Name, Field: "name",
				Reason: "appears more than once in the change set; give each parameter one value"})
			continue
		}
		seen[key] = true
		out = append(out, cc)
	}
	if len(errs) > 0 {
		return nil, joinErrs(errs)
	}
	return out, nil
}

func canonicalChange(kind Kind, c Change) (Change, error) {
	name := strings.TrimSpace(c.Name)
	if name == "" {
		return c, &ValidationError{Field: "name", Reason: "is empty; every change names a parameter"}
	}
	if name != c.Name || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return c, &ValidationError{Param: c.Name, Field: "name", Reason: "contains spaces or control characters"}
	}
	switch c.Method {
	case "", types.ApplyMethodImmediate, types.ApplyMethodPendingReboot:
	default:
		return c, &ValidationError{Param: c.Name, Field: "method", Value: string(c.Method),
			Reason: `is not an apply method; use types.ApplyMethodImmediate ("immediate"), types.ApplyMethodPendingReboot ("pending-reboot") or leave it empty`}
	}
	spec, known := Lookup(name)
	if c.Value == "" {
		return c, &ValidationError{Param: c.Name, Field: "value",
			Reason: "is empty; RDS cannot set a parameter to an empty value, use Service.Reset to return it to the default"}
	}
	if !known {
		return c, nil
	}
	c.Name = spec.Name
	if !spec.Level.allows(kind) {
		where := "a DB cluster parameter group"
		if spec.Level == InstanceOnly {
			where = "a DB (instance) parameter group"
		}
		return c, &ValidationError{Param: c.Name, Field: "group kind", Value: kind.String(),
			Reason: "cannot hold this parameter (" + spec.Level.String() + "); set it in " + where}
	}
	if spec.Apply == Static && c.Method == types.ApplyMethodImmediate {
		return c, &ValidationError{Param: c.Name, Field: "method", Value: string(types.ApplyMethodImmediate),
			Reason: "is refused: the parameter is static and only takes effect after a reboot; use types.ApplyMethodPendingReboot or leave the method empty"}
	}
	v, err := canonicalValue(spec, c.Value)
	if err != nil {
		return c, err
	}
	c.Value = v
	return c, nil
}

// CheckEngineVersion refuses changes to catalog parameters that the given
// engine version (for example "15.4") does not have, such as
// pgaudit.log_parameter_max_size before 16. An empty version checks
// nothing.
func CheckEngineVersion(engineVersion string, changes ...Change) error {
	if engineVersion == "" {
		return nil
	}
	have, err := pgaurora.ParseEngineVersion(engineVersion)
	if err != nil {
		return &ValidationError{Field: "engine version", Value: engineVersion,
			Reason: `is not a version number like "15.4"`}
	}
	var errs []error
	for _, c := range changes {
		spec, ok := Lookup(c.Name)
		if !ok || spec.MinEngineVersion == "" {
			continue
		}
		if need, err := pgaurora.ParseEngineVersion(spec.MinEngineVersion); err == nil && have.Compare(need) < 0 {
			errs = append(errs, &ValidationError{Param: spec.Name, Field: "engine version", Value: engineVersion,
				Reason: "does not have this parameter; it needs version " + spec.MinEngineVersion + " or later"})
		}
	}
	return joinErrs(errs)
}

func joinErrs(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	default:
		return errors.Join(errs...)
	}
}
