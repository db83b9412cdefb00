package pgaudit

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/guc"
	"github.com/pgaurora/pgaurora/internal/misuse"
	"github.com/pgaurora/pgaurora/params"
)

// ErrNotPreloaded is returned by Install when pgaudit is not in
// shared_preload_libraries: add it (Settings.Changes) and reboot first.
var ErrNotPreloaded = errors.New("pgaudit: the pgaudit library is not in shared_preload_libraries")

// Client runs pgAudit's SQL on one database. Its statements carry no
// secrets: names are quoted with internal/sqlquote and setting values are
// validated literals.
//
// Make one with New: the zero Client is not usable.
type Client struct {
	q pgaurora.Querier
}

// New returns a Client that sends its SQL through q.
// A nil q gives a client whose every call fails with an error.
func New(q pgaurora.Querier) *Client { return &Client{q: misuse.Querier(q, "pgaudit")} }

// Status is what Client.Status found.
type Status struct {
	// Preloaded reports whether shared_preload_libraries lists pgaudit
	// (so the server loaded it at start).
	Preloaded bool
	// Installed reports whether the pgaudit extension exists in this
	// database.
	Installed bool
	// Version is the installed extension's version, or "".
	Version string
	// DefaultVersion is the version CREATE EXTENSION would install, or ""
	// when the extension is not available on the server.
	DefaultVersion string
	// Values holds the current value of every pgAudit setting the server
	// knows (only when Preloaded), by name, as SHOW prints it.
	Values map[string]string
	// Settings is Values parsed; fields the server does not have, or
	// whose value this package would not write, stay unset.
	Settings Settings
}

// Status reports whether pgAudit is preloaded and installed, its version,
// and the current values of its settings for this session.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	st := &Status{}
	var preload string
	if err := c.q.QueryRow(ctx, "SELECT pg_catalog.current_setting('shared_preload_libraries')").Scan(&preload); err != nil {
		return nil, fmt.Errorf("pgaudit: reading shared_preload_libraries: %w", err)
	}
	libs, err := params.ParseLibraryList(preload)
	if err != nil {
		return nil, fmt.Errorf("pgaudit: reading shared_preload_libraries: %w", err)
	}
	st.Preloaded = libs.Contains(LibraryName)
	var installed, def *string
	err = c.q.QueryRow(ctx, `SELECT (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = $1),
		(SELECT default_version FROM pg_catalog.pg_available_extensions WHERE name = $1)`, LibraryName).Scan(&installed, &def)
	if err != nil {
		return nil, fmt.Errorf("pgaudit: reading the extension's version: %w", err)
	}
	if installed != nil {
		st.Installed, st.Version = true, *installed
	}
	if def != nil {
		st.DefaultVersion = *def
	}
	rows, err := c.q.Query(ctx, `SELECT name, setting FROM pg_catalog.pg_settings WHERE name LIKE 'pgaudit.%' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("pgaudit: reading pgAudit settings: %w", err)
	}
	values, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var kv [2]string
		return kv, r.Scan(&kv[0], &kv[1])
	})
	if err != nil {
		return nil, fmt.Errorf("pgaudit: reading pgAudit settings: %w", err)
	}
	st.Values = make(map[string]string, len(values))
	for _, kv := range values {
		st.Values[kv[0]] = kv[1]
		// A value this package would not write (pgAudit's own "debug"
		// level, say) stays in Values only.
		_ = st.Settings.set(kv[0], kv[1])
	}
	return st, nil
}

// set sets one field from a setting value as PostgreSQL shows it.
func (s *Settings) set(name, value string) error {
	v, err := NormalizeValue(name, value)
	if err != nil {
		return err
	}
	switch strings.ToLower(name) {
	case SettingLog:
		c := MustParseClasses(v)
		s.Log = &c
	case SettingLogCatalog:
		s.LogCatalog = pgaurora.Ptr(v == "on")
	case SettingLogClient:
		s.LogClient = pgaurora.Ptr(v == "on")
	case SettingLogLevel:
		s.LogLevel = pgaurora.LogLevel(v)
	case SettingLogParameter:
		s.LogParameter = pgaurora.Ptr(v == "on")
	case SettingLogParameterMaxSize:
		var n int
		fmt.Sscan(v, &n)
		s.LogParameterMaxSize = &n
	case SettingLogRelation:
		s.LogRelation = pgaurora.Ptr(v == "on")
	case SettingLogRows:
		s.LogRows = pgaurora.Ptr(v == "on")
	case SettingLogStatement:
		s.LogStatement = pgaurora.Ptr(v == "on")
	case SettingLogStatementOnce:
		s.LogStatementOnce = pgaurora.Ptr(v == "on")
	case SettingRole:
		s.Role = v
	}
	return nil
}

// Install creates the pgaudit extension in this database when it is not
// there yet (CREATE EXTENSION IF NOT EXISTS pgaudit), so calling it again
// changes nothing. It refuses with ErrNotPreloaded, before changing
// anything, when the library is not preloaded: the extension's event
// triggers would fail without it.
func (c *Client) Install(ctx context.Context) (*Status, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	if !st.Preloaded {
		return st, fmt.Errorf("%w: add it to the parameter group (Settings.Changes) and reboot, then install", ErrNotPreloaded)
	}
	if st.Installed {
		return st, nil
	}
	if _, err := c.q.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS "+sqlIdent(LibraryName)); err != nil {
		return st, fmt.Errorf("pgaudit: creating the extension: %w", err)
	}
	return c.Status(ctx)
}

// NormalizeValue checks a value for the pgAudit setting name and returns
// it in the form this package writes: canonical classes for pgaudit.log,
// "on"/"off" for booleans (accepting PostgreSQL's spellings: on, off,
// true, false, yes, no, 1, 0 and unique prefixes), lowercase levels. The
// error names the setting and the allowed values.
func NormalizeValue(name, value string) (string, error) {
	n := strings.ToLower(name)
	switch n {
	case SettingLog:
		c, err := ParseClasses(value)
		if err != nil {
			return "", err
		}
		return c.String(), nil
	case SettingLogCatalog, SettingLogClient, SettingLogParameter, SettingLogRelation,
		SettingLogRows, SettingLogStatement, SettingLogStatementOnce:
		b, ok := guc.ParseBool(value)
		if !ok {
			return "", fmt.Errorf("%w: %s %q: allowed values are on, off (or true, false, yes, no, 1, 0)", ErrInvalid, n, value)
		}
		return boolOnOff(b), nil
	case SettingLogLevel:
		l, err := ParseLogLevel(strings.TrimSpace(value))
		return string(l), err
	case SettingLogParameterMaxSize:
		var v int
		if _, err := fmt.Sscan(strings.TrimSpace(value), &v); err != nil || fmt.Sprint(v) != strings.TrimSpace(value) {
			return "", fmt.Errorf("%w: %s %q: want a whole number of bytes from 0 to %d", ErrInvalid, n, value, MaxLogParameterMaxSize)
		}
		if v < 0 || v > MaxLogParameterMaxSize {
			return "", fmt.Errorf("%w: %s %d: allowed range is 0 to %d bytes", ErrInvalid, n, v, MaxLogParameterMaxSize)
		}
		return fmt.Sprint(v), nil
	case SettingRole:
		if value != "" && value != AuditRole {
			return "", fmt.Errorf("%w: %s %q: the only value RDS allows is %q", ErrInvalid, n, value, AuditRole)
		}
		return value, nil
	}
	return "", fmt.Errorf("%w: %q is not a pgAudit setting; known: %s", ErrInvalid, name, strings.Join(SettingNames, ", "))
}

// canonicalName returns the SDK's own spelling of a known setting name,
// so that only fixed names reach SQL text.
func canonicalName(name string) (string, error) {
	for _, n := range SettingNames {
		if asciiEqualFold(name, n) {
			return n, nil
		}
	}
	return "", fmt.Errorf("%w: %q is not a pgAudit setting; known: %s", ErrInvalid, name, strings.Join(SettingNames, ", "))
}
