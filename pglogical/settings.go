package pglogical

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/params"
)

// LibraryName is the name pglogical is loaded by, in
// shared_preload_libraries.
const LibraryName = "pglogical"

// ConflictResolution is a pglogical.conflict_resolution value: what the
// apply worker does when an incoming change conflicts with a local row.
type ConflictResolution string

// The conflict resolutions pglogical 2.4 knows.
const (
	// ResolveError stops replication with an error on a conflict.
	ResolveError ConflictResolution = "error"
	// ResolveApplyRemote always applies the incoming change (the default).
	ResolveApplyRemote ConflictResolution = "apply_remote"
	// ResolveKeepLocal keeps the local row. Needs track_commit_timestamp.
	ResolveKeepLocal ConflictResolution = "keep_local"
	// ResolveLastUpdateWins keeps the row with the later commit
	// timestamp. Needs track_commit_timestamp.
	ResolveLastUpdateWins ConflictResolution = "last_update_wins"
	// ResolveFirstUpdateWins keeps the row with the earlier commit
	// timestamp. Needs track_commit_timestamp.
	ResolveFirstUpdateWins ConflictResolution = "first_update_wins"
)

var conflictResolutions = []ConflictResolution{ResolveError, ResolveApplyRemote, ResolveKeepLocal, ResolveLastUpdateWins, ResolveFirstUpdateWins}

// NeedsCommitTimestamps reports whether the resolution compares commit
// timestamps or origins, so that track_commit_timestamp must be on.
func (r ConflictResolution) NeedsCommitTimestamps() bool {
	return r == ResolveKeepLocal || r == ResolveLastUpdateWins || r == ResolveFirstUpdateWins
}

// Validate reports whether r is one of pglogical's resolutions.
func (r ConflictResolution) Validate() error {
	for _, c := range conflictResolutions {
		if r == c {
			return nil
		}
	}
	return invalid("pglogical.conflict_resolution %q: allowed values are %s", string(r), joinStrings(conflictResolutions))
}

// conflictLogLevels are the levels pglogical.conflict_log_level accepts:
// every PostgreSQL message severity.
var conflictLogLevels = []pgaurora.LogLevel{pgaurora.LogLevelDebug5, pgaurora.LogLevelDebug4, pgaurora.LogLevelDebug3,
	pgaurora.LogLevelDebug2, pgaurora.LogLevelDebug1, pgaurora.LogLevelInfo, pgaurora.LogLevelNotice, pgaurora.LogLevelWarning,
	pgaurora.LogLevelError, pgaurora.LogLevelLog, pgaurora.LogLevelFatal, pgaurora.LogLevelPanic}

func joinStrings[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// Setting names of pglogical's server settings.
const (
	SettingConflictResolution     = "pglogical.conflict_resolution"
	SettingConflictLogLevel       = "pglogical.conflict_log_level"
	SettingBatchInserts           = "pglogical.batch_inserts"
	SettingUseSPI                 = "pglogical.use_spi"
	SettingSynchronousCommit      = "pglogical.synchronous_commit"
	SettingExtraConnectionOptions = "pglogical.extra_connection_options"
)

// Settings are pglogical's own server settings. A zero field is left
// alone; a set one becomes a parameter change. pgaurora.Ptr makes the
// pointers.
type Settings struct {
	// ConflictResolution is pglogical.conflict_resolution (dynamic). The
	// timestamp-based values add track_commit_timestamp=1.
	ConflictResolution ConflictResolution
	// ConflictLogLevel is pglogical.conflict_log_level (dynamic).
	ConflictLogLevel pgaurora.LogLevel
	// BatchInserts is pglogical.batch_inserts (static).
	BatchInserts *bool
	// UseSPI is pglogical.use_spi (static): apply through SPI.
	UseSPI *bool
	// SynchronousCommit is pglogical.synchronous_commit (static):
	// synchronous commit for the apply workers.
	SynchronousCommit *bool
	// ExtraConnectionOptions is pglogical.extra_connection_options
	// (dynamic): libpq options added to every connection pglogical
	// makes to a peer, such as "keepalives_idle=60 sslmode=require".
	// It is validated as a DSN (libpq keywords only) and may carry
	// secrets: the DSN never prints them, but the returned change's
	// Value holds the real string, as RDS needs it, so do not log that
	// change.
	ExtraConnectionOptions *pgaurora.ConnString
}

// Validate checks every set field.
func (s Settings) Validate() error {
	if s.ConflictResolution != "" {
		if err := s.ConflictResolution.Validate(); err != nil {
			return err
		}
	}
	if s.ConflictLogLevel != "" {
		if !slices.Contains(conflictLogLevels, s.ConflictLogLevel) {
			return invalid("pglogical.conflict_log_level %q: allowed values are %s", string(s.ConflictLogLevel), joinStrings(conflictLogLevels))
		}
	}
	if s.ExtraConnectionOptions != nil && !s.ExtraConnectionOptions.IsZero() {
		if _, err := pgaurora.ParseConnString(s.ExtraConnectionOptions.Reveal()); err != nil {
			return invalid("pglogical.extra_connection_options: %v", err)
		}
	}
	return nil
}

func rdsBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// changes returns the settings as parameter changes, in a fixed order.
func (s Settings) changes() []params.Change {
	var out []params.Change
	if s.ConflictResolution != "" {
		out = append(out, params.Change{Name: SettingConflictResolution, Value: string(s.ConflictResolution)})
		if s.ConflictResolution.NeedsCommitTimestamps() {
			out = append(out, params.Change{Name: "track_commit_timestamp", Value: "1"})
		}
	}
	if s.ConflictLogLevel != "" {
		out = append(out, params.Change{Name: SettingConflictLogLevel, Value: string(s.ConflictLogLevel)})
	}
	if s.BatchInserts != nil {
		out = append(out, params.Change{Name: SettingBatchInserts, Value: rdsBool(*s.BatchInserts)})
	}
	if s.UseSPI != nil {
		out = append(out, params.Change{Name: SettingUseSPI, Value: rdsBool(*s.UseSPI)})
	}
	if s.SynchronousCommit != nil {
		out = append(out, params.Change{Name: SettingSynchronousCommit, Value: rdsBool(*s.SynchronousCommit)})
	}
	if s.ExtraConnectionOptions != nil && !s.ExtraConnectionOptions.IsZero() {
		out = append(out, params.Change{Name: SettingExtraConnectionOptions, Value: s.ExtraConnectionOptions.Reveal()})
	}
	return out
}

// Sizing is the pglogical replication planned on one cluster, for
// ParameterOptions.
type Sizing struct {
	// Subscriptions is the number of pglogical subscriptions this cluster
	// will hold as a subscriber. Each runs an apply worker, plus a sync
	// worker while a table synchronizes.
	Subscriptions int
	// ProvidedSubscriptions is the number of subscriptions other nodes
	// will hold against this cluster as provider. Each holds a
	// replication slot and a walsender here, plus a second slot and
	// walsender while one of its tables synchronizes.
	ProvidedSubscriptions int
	// Databases is the number of databases with the pglogical extension
	// (one manager worker each); zero means one.
	Databases int
	// OtherSlots counts other logical replication slots on the cluster
	// (native publications' subscribers, AWS DMS tasks).
	OtherSlots int
	// VCPU and MemoryBytes describe the instance class; they are needed
	// only to evaluate RDS default formulas (see params.SizingInput).
	VCPU        int
	MemoryBytes int64
	// Current maps parameter names to the group's current values; a
	// missing name means the Aurora default.
	Current map[string]string
}

// ParameterOptions are the inputs of Parameters.
type ParameterOptions struct {
	// CurrentPreload is the group's current shared_preload_libraries
	// value (empty for the default). pglogical is added to it, keeping
	// the libraries already there.
	CurrentPreload string
	// Sizing is the planned replication; the zero value sizes for one
	// subscription in each direction.
	Sizing Sizing
	// Settings are pglogical's own settings to set.
	Settings Settings
}

// Parameters returns the parameter-group changes pglogical needs on an
// Aurora or RDS for PostgreSQL cluster:
//
//   - pglogical added to shared_preload_libraries (static);
//   - rds.logical_replication=1 (static; it sets wal_level=logical);
//   - max_replication_slots, max_wal_senders, max_worker_processes (and,
//     through AWS's sizing rule, max_logical_replication_workers) raised
//     to fit the planned subscriptions; values are never lowered;
//   - the pglogical settings given, plus track_commit_timestamp=1 when the
//     conflict resolution compares commit timestamps.
//
// Sizing uses params.SizeLogicalReplication, which follows AWS's rule
// max_worker_processes >= max_logical_replication_workers +
// autovacuum_max_workers + max_parallel_workers. pglogical's workers (one
// supervisor, one manager per database, an apply and a sync worker per
// subscription) are background workers counted in max_worker_processes,
// so they are reserved through that rule: the "active slots" passed on are
// the larger of the walsenders and the pglogical workers needed. Raising
// max_logical_replication_workers this way only reserves worker slots.
//
// Changes carry no Method: the params service picks pending-reboot for the
// static ones and immediate for the dynamic ones.
func Parameters(opts ParameterOptions) ([]params.Change, error) {
	if err := opts.Settings.Validate(); err != nil {
		return nil, err
	}
	sz := opts.Sizing
	for name, v := range map[string]int{"Sizing.Subscriptions": sz.Subscriptions, "Sizing.ProvidedSubscriptions": sz.ProvidedSubscriptions,
		"Sizing.Databases": sz.Databases, "Sizing.OtherSlots": sz.OtherSlots} {
		if v < 0 {
			return nil, invalid("%s is %d; counts are zero or more", name, v)
		}
	}
	subs, provided, dbs := sz.Subscriptions, sz.ProvidedSubscriptions, sz.Databases
	if subs == 0 && provided == 0 {
		subs, provided = 1, 1
	}
	if dbs == 0 {
		dbs = 1
	}
	pre, _, err := params.PreloadChange(opts.CurrentPreload, []string{LibraryName}, nil)
	if err != nil {
		return nil, fmt.Errorf("pglogical: shared_preload_libraries: %w", err)
	}
	out := []params.Change{pre}

	senders := 2*provided + sz.OtherSlots
	workers := 1 + dbs + 2*subs
	sized, err := params.SizeLogicalReplication(params.SizingInput{
		Publications: 2 * provided,
		CDCTasks:     sz.OtherSlots,
		ActiveSlots:  max(senders, workers),
		VCPU:         sz.VCPU,
		MemoryBytes:  sz.MemoryBytes,
		Current:      sz.Current,
	})
	if err != nil {
		return nil, fmt.Errorf("pglogical: sizing for %d subscriptions here and %d from other nodes: %w", subs, provided, err)
	}
	if !hasChange(sized, "rds.logical_replication") {
		// SizeLogicalReplication leaves it out when Current already has
		// it on; state it anyway so the change set is self-contained.
		out = append(out, params.Change{Name: "rds.logical_replication", Value: "1"})
	}
	out = append(out, sized...)
	for _, c := range opts.Settings.changes() {
		if !hasChange(out, c.Name) {
			out = append(out, c)
		}
	}
	return out, nil
}

func hasChange(cs []params.Change, name string) bool {
	for _, c := range cs {
		if strings.EqualFold(c.Name, name) {
			return true
		}
	}
	return false
}
