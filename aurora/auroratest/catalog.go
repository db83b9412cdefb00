package auroratest

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/internal/pgserver"
)

// The engine-default parameter catalog: every parameter a default
// aurora-postgresql group lists, with the metadata DescribeDBParameters
// reports. It is read from the pg_settings of a real server that has every
// preloadable library loaded (so pgaudit.*, pglogical.*,
// pg_stat_statements.* and auto_explain.* are there), then adjusted the way
// Aurora presents it: settings the service manages itself are left out,
// RDS-only parameters (rds.*) are added, and a few parameters carry the
// values Aurora sets in its default groups.

type level int

const (
	levelBoth level = iota
	levelClusterOnly
)

type valueKind int

const (
	kindBool valueKind = iota + 1
	kindInt
	kindReal
	kindEnum
	kindString
	kindList
)

// paramSpec is one parameter of the catalog.
type paramSpec struct {
	name        string
	description string
	applyType   string // "static" or "dynamic"
	dataType    string // "boolean", "integer", "float", "string" or "list"
	allowed     string // AllowedValues as the API reports it
	modifiable  bool
	systemValue string // the value Aurora's default group sets (Source "system"); "" for none
	level       level

	kind     valueKind
	min, max float64
	choices  []string // enum values or list items; nil means any
	bootVal  string   // the server's built-in default
}

func (p *paramSpec) static() bool { return p.applyType == "static" }

// catalog is immutable once built.
type catalog struct {
	byName map[string]*paramSpec
	sorted []*paramSpec
	// preloadable lists the libraries shared_preload_libraries accepts.
	preloadable []string
}

func (c *catalog) lookup(name string) *paramSpec { return c.byName[strings.ToLower(name)] }

// removedIn lists, by PostgreSQL major version, the parameters that
// version's release notes remove. The catalog is read from the local
// PostgreSQL 15 server; a group of a later family lists it without what
// that family no longer has, so that a parameter group carried across a
// major upgrade meets the same refusals as on Aurora.
var removedIn = map[int][]string{
	16: {"vacuum_defer_cleanup_age", "promote_trigger_file", "force_parallel_mode"},
	17: {"old_snapshot_threshold", "db_user_namespace", "trace_recovery_messages"},
}

// inFamily reports whether a parameter group of family (for example
// "aurora-postgresql16") has the parameter.
func inFamily(p *paramSpec, family string) bool {
	m := familyRE.FindStringSubmatch(family)
	if m == nil {
		return true
	}
	major, _ := strconv.Atoi(m[1])
	for v, names := range removedIn {
		if major >= v && slices.Contains(names, p.name) {
			return false
		}
	}
	return true
}

// lookupIn is lookup in a group of family: nil for a parameter the
// family does not have.
func (c *catalog) lookupIn(family, name string) *paramSpec {
	p := c.lookup(name)
	if p == nil || !inFamily(p, family) {
		return nil
	}
	return p
}

// forKind lists the parameters a group of the given kind and family
// holds, by name.
func (c *catalog) forKind(k groupKind, family string) []*paramSpec {
	out := make([]*paramSpec, 0, len(c.sorted))
	for _, p := range c.sorted {
		if (k == clusterKind || p.level != levelClusterOnly) && inFamily(p, family) {
			out = append(out, p)
		}
	}
	return out
}

// Libraries Aurora PostgreSQL lets shared_preload_libraries hold; only the
// ones installed on this machine are offered, so that a reboot never fails
// for a missing library.
var auroraPreloadable = []string{
	"auto_explain", "pg_bigm", "pg_cron", "pg_hint_plan", "pg_prewarm", "pg_similarity",
	"pg_stat_statements", "pg_tle", "pg_transport", "pgaudit", "pglogical", "plprofiler", "plrust",
}

// catalogPreload is what the catalog server loads to list the libraries'
// settings.
var catalogPreload = []string{"pg_stat_statements", "pgaudit", "pglogical", "auto_explain"}

// rdsLogLinePrefix is the log_line_prefix of RDS and Aurora.
const rdsLogLinePrefix = "%t:%r:%u@%d:[%p]:"

// hiddenParams are settings Aurora manages itself and does not list in
// parameter groups; the emulator sets some of them on its servers.
var hiddenParams = map[string]bool{
	"allow_in_place_tablespaces": true, "allow_system_table_mods": true, "archive_mode": true,
	"archive_command": true, "archive_library": true, "archive_timeout": true, "archive_cleanup_command": true,
	"bonjour": true, "bonjour_name": true, "cluster_name": true, "config_file": true, "data_directory": true,
	"data_sync_retry": true, "dynamic_shared_memory_type": true, "event_source": true,
	"external_pid_file": true, "fsync": true, "full_page_writes": true, "hba_file": true, "hot_standby": true,
	"huge_page_size": true, "huge_pages": true, "ident_file": true, "ignore_checksum_failure": true,
	"ignore_invalid_pages": true, "ignore_system_indexes": true, "jit_provider": true,
	"listen_addresses": true, "log_destination": true, "log_directory": true, "log_file_mode": true,
	"log_filename": true, "log_rotation_age": true, "log_rotation_size": true, "log_timezone": true,
	"log_truncate_on_rotation": true, "logging_collector": true, "output_plugin_libraries": true,
	"port": true, "post_auth_delay": true, "pre_auth_delay": true, "primary_conninfo": true,
	"primary_slot_name": true, "promote_trigger_file": true, "recovery_end_command": true,
	"recovery_init_sync_method": true, "recovery_min_apply_delay": true, "restart_after_crash": true,
	"restore_command": true, "shared_memory_type": true, "ssl": true, "synchronous_standby_names": true,
	"wal_level": true, "wal_sync_method": true, "wal_init_zero": true, "wal_recycle": true,
	"wal_retrieve_retry_interval": true, "wal_consistency_checking": true, "zero_damaged_pages": true,
	"backtrace_functions": true, "hot_standby_feedback": true, "wal_receiver_create_temp_slot": true,
	"wal_keep_size": true,
}

var hiddenPrefixes = []string{"debug_", "trace_", "recovery_target", "syslog_", "unix_socket_", "krb_", "ssl_"}

// Visible despite a hidden prefix.
var keptParams = map[string]bool{"ssl_min_protocol_version": true, "ssl_max_protocol_version": true, "ssl_ciphers": true}

// nonModifiable parameters are listed with their Aurora value but refused
// by Modify.
var nonModifiable = map[string]string{
	"log_line_prefix": rdsLogLinePrefix,
}

// clusterOnly parameters can only be set in a DB cluster parameter group.
var clusterOnly = map[string]bool{
	"rds.logical_replication": true, "rds.allowed_extensions": true, "rds.force_ssl": true,
	"max_replication_slots": true, "max_wal_senders": true, "max_logical_replication_workers": true,
	"autovacuum_max_workers": true, "wal_sender_timeout": true, "track_commit_timestamp": true,
	"ssl_min_protocol_version": true, "ssl_max_protocol_version": true, "ssl_ciphers": true,
	"password_encryption": true,
}

var pgauditLogItems = func() []string {
	classes := []string{"all", "none", "read", "write", "function", "role", "ddl", "misc", "misc_set"}
	out := slices.Clone(classes)
	for _, c := range classes[2:] {
		out = append(out, "-"+c)
	}
	return out
}()

var pgauditLevels = []string{"debug5", "debug4", "debug3", "debug2", "debug1", "info", "notice", "warning", "log"}

// rdsParams are the RDS-only parameters. The servers get them as custom
// settings, so SHOW rds.logical_replication answers as on Aurora.
var rdsParams = []paramSpec{
	{name: "rds.logical_replication", description: "Enables logical decoding: wal_level becomes logical.",
		applyType: "static", dataType: "boolean", allowed: "0,1", modifiable: true, systemValue: "0",
		level: levelClusterOnly, kind: kindBool, bootVal: "0"},
	{name: "rds.force_ssl", description: "Force SSL connections.",
		applyType: "dynamic", dataType: "boolean", allowed: "0,1", modifiable: true, systemValue: "0",
		level: levelClusterOnly, kind: kindBool, bootVal: "0"},
	{name: "rds.allowed_extensions", description: "Extensions that may be created in the database; * or empty allows all.",
		applyType: "dynamic", dataType: "list", modifiable: true,
		level: levelClusterOnly, kind: kindList},
	{name: "rds.log_retention_period", description: "Amazon RDS deletes PostgreSQL logs older than this many minutes.",
		applyType: "dynamic", dataType: "integer", allowed: "1440-10080", modifiable: true, systemValue: "4320",
		level: levelBoth, kind: kindInt, min: 1440, max: 10080, bootVal: "4320"},
}

var catalogCache struct {
	mu sync.Mutex
	c  *catalog
}

// loadCatalog returns the process-wide catalog, building it on first use
// from a short-lived server under dir.
func loadCatalog(ctx context.Context, dir string) (*catalog, error) {
	catalogCache.mu.Lock()
	defer catalogCache.mu.Unlock()
	if catalogCache.c != nil {
		return catalogCache.c, nil
	}
	c, err := buildCatalog(ctx, dir)
	if err != nil {
		return nil, err
	}
	catalogCache.c = c
	return c, nil
}

type settingRow struct {
	name, shortDesc, context, vartype string
	minVal, maxVal, bootVal           *string
	enumvals                          []string
}

func buildCatalog(ctx context.Context, dir string) (*catalog, error) {
	bin, err := pgserver.FindBinaries()
	if err != nil {
		return nil, err
	}
	var preload []string
	for _, lib := range catalogPreload {
		if bin.CheckLibrary(lib) == nil {
			preload = append(preload, lib)
		}
	}
	srv, err := pgserver.Start(ctx, pgserver.Config{Dir: dir, PreloadLibraries: preload})
	if err != nil {
		return nil, fmt.Errorf("auroratest: starting the server that lists the engine defaults: %w", err)
	}
	defer func() {
		srv.Close()
		os.RemoveAll(dir)
	}()
	conn, err := pgx.Connect(ctx, srv.ConnString("postgres"))
	if err != nil {
		return nil, fmt.Errorf("auroratest: reading the engine defaults: %w", err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT name, short_desc, context, vartype, min_val, max_val, boot_val, enumvals
		FROM pg_settings ORDER BY lower(name)`)
	if err != nil {
		return nil, fmt.Errorf("auroratest: reading pg_settings: %w", err)
	}
	var settings []settingRow
	for rows.Next() {
		var r settingRow
		if err := rows.Scan(&r.name, &r.shortDesc, &r.context, &r.vartype, &r.minVal, &r.maxVal, &r.bootVal, &r.enumvals); err != nil {
			rows.Close()
			return nil, fmt.Errorf("auroratest: reading pg_settings: %w", err)
		}
		settings = append(settings, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("auroratest: reading pg_settings: %w", err)
	}
	var libs []string
	for _, lib := range auroraPreloadable {
		if bin.CheckLibrary(lib) == nil {
			libs = append(libs, lib)
		}
	}
	return newCatalog(settings, libs), nil
}

func hidden(name string) bool {
	if keptParams[name] {
		return false
	}
	if hiddenParams[name] {
		return true
	}
	for _, p := range hiddenPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func newCatalog(settings []settingRow, preloadable []string) *catalog {
	c := &catalog{byName: map[string]*paramSpec{}, preloadable: preloadable}
	for _, r := range settings {
		name := strings.ToLower(r.name)
		if r.context == "internal" || hidden(name) {
			continue
		}
		p := &paramSpec{name: name, description: r.shortDesc, modifiable: true, level: levelBoth}
		if r.bootVal != nil {
			p.bootVal = *r.bootVal
		}
		if r.context == "postmaster" {
			p.applyType = "static"
		} else {
			p.applyType = "dynamic"
		}
		switch r.vartype {
		case "bool":
			p.dataType, p.allowed, p.kind = "boolean", "0,1", kindBool
		case "integer", "real":
			p.dataType, p.kind = "integer", kindInt
			if r.vartype == "real" {
				p.dataType, p.kind = "float", kindReal
			}
			if r.minVal != nil && r.maxVal != nil {
				p.min, _ = strconv.ParseFloat(*r.minVal, 64)
				p.max, _ = strconv.ParseFloat(*r.maxVal, 64)
				p.allowed = *r.minVal + "-" + *r.maxVal
			} else {
				p.min, p.max = math.Inf(-1), math.Inf(1)
			}
		case "enum":
			p.dataType, p.kind, p.choices = "string", kindEnum, r.enumvals
			p.allowed = strings.Join(r.enumvals, ",")
		default:
			p.dataType, p.kind = "string", kindString
		}
		if v, ok := nonModifiable[name]; ok {
			p.modifiable, p.systemValue = false, v
		}
		if clusterOnly[name] {
			p.level = levelClusterOnly
		}
		switch name {
		case "shared_preload_libraries":
			p.dataType, p.kind, p.choices = "list", kindList, preloadable
			p.allowed = strings.Join(preloadable, ",")
			if slices.Contains(preloadable, "pg_stat_statements") {
				p.systemValue = "pg_stat_statements"
			}
		case "pgaudit.log":
			p.dataType, p.kind, p.choices = "list", kindList, pgauditLogItems
			p.allowed = strings.Join(pgauditLogItems, ",")
		case "pgaudit.log_level":
			p.kind, p.choices = kindEnum, pgauditLevels
			p.allowed = strings.Join(pgauditLevels, ",")
		}
		c.byName[name] = p
	}
	for _, rp := range rdsParams {
		p := rp
		p.choices = slices.Clone(rp.choices)
		c.byName[p.name] = &p
	}
	for _, p := range c.byName {
		c.sorted = append(c.sorted, p)
	}
	slices.SortFunc(c.sorted, func(a, b *paramSpec) int { return strings.Compare(a.name, b.name) })
	return c
}

// validate checks a value against the parameter's type and allowed values
// and returns it in the form the server gets, or an InvalidParameterValue
// error.
func (p *paramSpec) validate(value string) (string, error) {
	bad := func(why string) error {
		return errInvalidValue("Invalid parameter value: %s for: %s %s", value, p.name, why)
	}
	if strings.ContainsAny(value, "\x00\n\r") {
		return "", bad("(the value contains a NUL or line break)")
	}
	v := strings.TrimSpace(value)
	if v == "" {
		return "", bad("(the value is empty; reset the parameter to return it to the default)")
	}
	switch p.kind {
	case kindBool:
		if v != "0" && v != "1" {
			return "", bad("allowed values are: 0,1")
		}
	case kindInt:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "", bad("is not an integer; allowed values are: " + p.allowed)
		}
		if float64(n) < p.min || float64(n) > p.max {
			return "", bad("allowed values are: " + p.allowed)
		}
	case kindReal:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) {
			return "", bad("is not a number; allowed values are: " + p.allowed)
		}
		if f < p.min || f > p.max {
			return "", bad("allowed values are: " + p.allowed)
		}
	case kindEnum:
		i := slices.IndexFunc(p.choices, func(c string) bool { return strings.EqualFold(c, v) })
		if i < 0 {
			return "", bad("allowed values are: " + p.allowed)
		}
		v = p.choices[i]
	case kindList:
		items := strings.Split(v, ",")
		for i, it := range items {
			it = strings.TrimSpace(it)
			if it == "" {
				return "", bad("(the list has an empty item)")
			}
			if p.choices != nil {
				j := slices.IndexFunc(p.choices, func(c string) bool { return strings.EqualFold(c, it) })
				if j < 0 {
					return "", bad("allowed values are: " + p.allowed)
				}
				it = p.choices[j]
			}
			items[i] = it
		}
		v = strings.Join(items, ",")
	}
	return v, nil
}

// catalogTimeout bounds building the catalog.
const catalogTimeout = 2 * time.Minute
