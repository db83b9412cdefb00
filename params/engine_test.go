package params_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/params"
)

// engineSetting is one row of pg_settings, as the catalog's fields read
// it.
type engineSetting struct {
	vartype, context, unit string
	min, max               string
	enumvals               []string
}

// engineView is what a parameter looks like in the engine, in the
// catalog's terms: its type, range, allowed values, apply type and unit.
func (e engineSetting) view() map[string]string {
	v := map[string]string{"apply": string(params.Dynamic), "unit": e.unit}
	// RDS reports postmaster-context settings as static: they need a
	// restart; every other context can be applied at once.
	if e.context == "postmaster" {
		v["apply"] = string(params.Static)
	}
	switch e.vartype {
	case "bool":
		v["type"] = params.TypeBool.String()
	case "integer":
		v["type"] = params.TypeInteger.String()
		v["range"] = e.min + ".." + e.max
	case "enum":
		v["type"] = params.TypeEnum.String()
		v["allowed"] = strings.Join(e.enumvals, ",")
	default: // string, real
		v["type"] = e.vartype
	}
	return v
}

// catalogView is a catalog entry in the same terms.
func catalogView(s params.Spec) map[string]string {
	v := map[string]string{"apply": string(s.Apply), "type": s.Type.String(), "unit": s.Unit}
	switch s.Type {
	case params.TypeInteger:
		v["range"] = strconv.FormatInt(s.Min, 10) + ".." + strconv.FormatInt(s.Max, 10)
	case params.TypeEnum:
		v["allowed"] = strings.Join(s.Allowed, ",")
	}
	return v
}

// deliberate lists where the hand-written catalog differs from
// PostgreSQL 15's pg_settings on purpose, by parameter and field, with
// the reason. The test fails on any other difference, and on an entry
// here that no longer differs.
var deliberate = map[string]map[string]string{
	// Lists: PostgreSQL has strings the SDK parses and checks item by item.
	"shared_preload_libraries": {"type": "a comma-separated list of libraries, checked as one"},
	"pgaudit.log":              {"type": "a list of audit classes (pgAudit parses the string into classes)"},
	// Enums: checked by the extension's own code, or narrowed by RDS.
	"pgaudit.log_level": {"type": "pgAudit declares a string and accepts only these levels in its check hook"},
	"pgaudit.role":      {"type": "RDS allows only rds_pgaudit as the object-audit role", "allowed": "any role name works in PostgreSQL; RDS allows only rds_pgaudit"},
	// Aurora's ranges, narrower than PostgreSQL's (default.aurora-postgresql15).
	"max_replication_slots":       {"range": "Aurora's allowed values start at 5"},
	"max_wal_senders":             {"range": "Aurora's allowed values start at 5"},
	"max_standby_streaming_delay": {"range": "Aurora allows 1000-30000 ms"},
	"wal_sender_timeout":          {"range": "Aurora allows up to 3600000 ms"},
}

// notInEngine lists catalog parameters a PostgreSQL 15 server does not
// have, with the reason.
var notInEngine = map[string]string{
	"rds.logical_replication":        "RDS-only: RDS turns it into wal_level",
	"rds.allowed_extensions":         "RDS-only",
	"rds.force_ssl":                  "RDS-only",
	"pgaudit.log_parameter_max_size": "pgAudit 16 and later (MinEngineVersion 16)",
}

// accepted returns the values among candidates that the server accepts
// for the setting (set_config runs the setting's own checks), in order.
func accepted(t *testing.T, conn *pgx.Conn, name string, candidates []string) []string {
	t.Helper()
	var ok []string
	for _, v := range candidates {
		if slices.Contains(ok, v) {
			continue
		}
		if _, err := conn.Exec(context.Background(), "SELECT set_config($1, $2, false)", name, v); err == nil {
			ok = append(ok, v)
		}
	}
	if _, err := conn.Exec(context.Background(), "RESET ALL"); err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestCatalogMatchesTheEngine compares every parameter of the hand-written
// catalog with a real PostgreSQL 15 server's pg_settings (with pgaudit and
// pglogical loaded, as the emulator's catalog server has them): type,
// integer range, enum values (and, for the strings the engine checks in
// code, the values it accepts), static or dynamic, and unit. The emulator
// builds its engine-default catalog from pg_settings the same way, so a
// difference here is one between what the SDK validates and what the
// emulator (and the engine) accept.
func TestCatalogMatchesTheEngine(t *testing.T) {
	srv := pgtest.StartServer(t, pgtest.WithPreload("pgaudit", "pglogical"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, srv.ConnString("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT name, vartype, context, coalesce(unit, ''), coalesce(min_val, ''), coalesce(max_val, ''), coalesce(enumvals, '{}') FROM pg_settings`)
	if err != nil {
		t.Fatal(err)
	}
	engine := map[string]engineSetting{}
	for rows.Next() {
		var name string
		var e engineSetting
		if err := rows.Scan(&name, &e.vartype, &e.context, &e.unit, &e.min, &e.max, &e.enumvals); err != nil {
			t.Fatal(err)
		}
		engine[name] = e
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if _, ok := engine["pgaudit.log"]; !ok {
		t.Fatal("pg_settings has no pgaudit.log: the server did not load pgaudit")
	}

	compared := 0
	seenDeliberate := map[string]bool{}
	for _, s := range params.Catalog() {
		e, ok := engine[s.Name]
		if !ok {
			if _, listed := notInEngine[s.Name]; !listed {
				t.Errorf("%s: in the catalog but not in PostgreSQL 15's pg_settings, and not listed as RDS-only or later", s.Name)
			}
			continue
		}
		if why, listed := notInEngine[s.Name]; listed {
			t.Errorf("%s: listed as not in the engine (%s), yet pg_settings has it", s.Name, why)
		}
		compared++
		ours, theirs := catalogView(s), e.view()
		if e.vartype == "string" && len(s.Allowed) > 0 {
			// The engine checks these strings in code: ask it which of the
			// catalog's values, and of a few others, it accepts.
			ours["allowed"] = strings.Join(s.Allowed, ",")
			theirs["allowed"] = strings.Join(accepted(t, conn, s.Name, append(slices.Clone(s.Allowed), "error", "fatal", "panic", "no_such_value")), ",")
		}
		for _, field := range []string{"type", "range", "allowed", "apply", "unit"} {
			key := s.Name + " " + field
			if ours[field] == theirs[field] {
				continue
			}
			if why, ok := deliberate[s.Name][field]; ok {
				seenDeliberate[key] = true
				t.Logf("%s: catalog %q, engine %q: deliberate (%s)", key, ours[field], theirs[field], why)
				continue
			}
			t.Errorf("%s: catalog %q, PostgreSQL 15 %q", key, ours[field], theirs[field])
		}
	}
	for name, fields := range deliberate {
		for field, why := range fields {
			if !seenDeliberate[name+" "+field] {
				t.Errorf("%s %s is listed as a deliberate difference (%s), but the catalog and the engine agree or the catalog lacks it", name, field, why)
			}
		}
	}
	var missing []string
	for name := range notInEngine {
		if _, ok := params.Lookup(name); !ok {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("listed as not in the engine but not in the catalog: %v", missing)
	}
	t.Logf("compared %d of %d catalog parameters with pg_settings", compared, len(params.Catalog()))
}
