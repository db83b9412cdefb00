package extensions

import (
	"context"
	"errors"
	"fmt"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/params"
)

// PLRust is the PL/Rust extension's name, and the name of the language and
// preload library it provides.
const PLRust = "plrust"

// plrustMinimum is the first engine version of each major version that
// has PL/Rust, as the RDS for PostgreSQL documentation lists them.
var plrustMinimum = map[int]pgaurora.EngineVersion{
	13: {Major: 13, Minor: 12, Revision: 1},
	14: {Major: 14, Minor: 9, Revision: 1},
	15: {Major: 15, Minor: 2, Revision: 2},
	16: {Major: 16, Minor: 1, Revision: 1},
	17: {Major: 17, Minor: 1, Revision: 1},
}

// ErrUnsupportedEngine is matched (errors.Is) by *EngineVersionError.
var ErrUnsupportedEngine = errors.New("extensions: the engine version does not support this extension")

// EngineVersionError says that an engine version is too old for an
// extension, and which version is the first that has it.
type EngineVersionError struct {
	// Extension is the extension asked for.
	Extension string
	// Version is the engine version given.
	Version pgaurora.EngineVersion
	// Minimum is the first version of the same major version that has the
	// extension; zero when no version of that major version has it.
	Minimum pgaurora.EngineVersion
}

// Error names the version and the minimum. When the minimum is an RDS
// revision ("15.2-R2") and the version has none, as Aurora versions never
// do, it names both minimums: RDS's, and Aurora's, which is the next minor
// version ("15.3").
func (e *EngineVersionError) Error() string {
	if e.Minimum.Major == 0 {
		return fmt.Sprintf("extensions: %s is not available on PostgreSQL %d (engine version %s)", e.Extension, e.Version.Major, e.Version)
	}
	if e.Minimum.Revision > 1 && e.Version.Revision == 1 {
		return fmt.Sprintf("extensions: %s needs engine version %s or later in the %d line on RDS for PostgreSQL, or %s or later on Aurora PostgreSQL (whose versions have no -R revision); the engine is %s",
			e.Extension, e.Minimum, e.Version.Major, auroraMinimum(e.Minimum), e.Version)
	}
	return fmt.Sprintf("extensions: %s needs engine version %s or later in the %d line; the engine is %s", e.Extension, e.Minimum, e.Version.Major, e.Version)
}

// auroraMinimum is the first Aurora version at or after an RDS minimum:
// Aurora versions read as revision 1, so a minimum that needs a later
// revision of a minor version is met from the next minor version on.
func auroraMinimum(rds pgaurora.EngineVersion) pgaurora.EngineVersion {
	if rds.Revision <= 1 {
		return rds
	}
	return pgaurora.EngineVersion{Major: rds.Major, Minor: rds.Minor + 1, Revision: 1}
}

// Is matches ErrUnsupportedEngine.
func (e *EngineVersionError) Is(target error) bool { return target == ErrUnsupportedEngine }

// CheckPLRustEngine checks that an engine version ("15.4", "15.2-R2") has
// PL/Rust: 13.12, 14.9, 15.2-R2, 16.1, 17.1 or later within the same major
// version, per the RDS for PostgreSQL documentation. Aurora engine
// versions carry no -R suffix and are read as revision 1, so Aurora 15.2
// is refused and 15.3 accepted; the refusal of a version without a
// revision names both minimums (15.2-R2 on RDS, 15.3 on Aurora). A string
// that is no engine version fails with pgaurora.ErrEngineVersion; an old version
// with *EngineVersionError.
func CheckPLRustEngine(engineVersion string) error {
	v, err := pgaurora.ParseEngineVersion(engineVersion)
	if err != nil {
		return err
	}
	minimum, ok := plrustMinimum[v.Major]
	if !ok {
		if v.Major > 17 && v.Major < 90 {
			return nil // later major versions keep it (9.x is stored as 90-99)
		}
		return &EngineVersionError{Extension: PLRust, Version: v}
	}
	if v.Compare(minimum) < 0 {
		return &EngineVersionError{Extension: PLRust, Version: v, Minimum: minimum}
	}
	return nil
}

// PLRustChanges returns the parameter change PL/Rust needs: plrust added
// to shared_preload_libraries (current is the group's value now), applied
// at the next reboot. It checks the engine version first.
func PLRustChanges(engineVersion, currentPreload string) ([]params.Change, error) {
	if err := CheckPLRustEngine(engineVersion); err != nil {
		return nil, err
	}
	return PreloadChanges(currentPreload, PLRust)
}

// ErrNotPreloaded is matched (errors.Is) by errors about an extension whose
// library is not in shared_preload_libraries yet.
var ErrNotPreloaded = errors.New("extensions: the extension's library is not in shared_preload_libraries")

// InstallPLRust creates the plrust extension, which creates the plrust
// language: CREATE EXTENSION IF NOT EXISTS plrust. It checks the engine
// version (CheckPLRustEngine) and that plrust is preloaded (SHOW
// shared_preload_libraries; apply PLRustChanges and reboot first) before
// running anything.
func (c *Client) InstallPLRust(ctx context.Context, engineVersion string) error {
	if err := CheckPLRustEngine(engineVersion); err != nil {
		return err
	}
	if err := c.requirePreloaded(ctx, PLRust); err != nil {
		return err
	}
	return c.Create(ctx, PLRust, &CreateOptions{IfNotExists: true})
}

func (c *Client) requirePreloaded(ctx context.Context, lib string) error {
	var current string
	if err := c.q.QueryRow(ctx, `SELECT current_setting('shared_preload_libraries')`).Scan(&current); err != nil {
		return fmt.Errorf("extensions: reading shared_preload_libraries: %w", err)
	}
	list, err := params.ParseLibraryList(current)
	if err != nil {
		return fmt.Errorf("extensions: reading shared_preload_libraries %q: %w", current, err)
	}
	if !list.Contains(lib) {
		return fmt.Errorf("%w: %s needs %q in shared_preload_libraries (now %q): change the parameter group and reboot first", ErrNotPreloaded, lib, lib, current)
	}
	return nil
}

// languageUsageSQL returns GRANT USAGE ON LANGUAGE language TO role, or
// REVOKE USAGE ... FROM role when revoke is set.
func languageUsageSQL(language, role string, revoke bool) (string, error) {
	l, err := ident("language", language)
	if err != nil {
		return "", err
	}
	r, err := ident("role", role)
	if err != nil {
		return "", err
	}
	if revoke {
		return "REVOKE USAGE ON LANGUAGE " + l + " FROM " + r, nil
	}
	return "GRANT USAGE ON LANGUAGE " + l + " TO " + r, nil
}

// GrantLanguageUsage lets role create functions in language (GRANT USAGE
// ON LANGUAGE). Only trusted languages take the grant.
func (c *Client) GrantLanguageUsage(ctx context.Context, language, role string) error {
	q, err := languageUsageSQL(language, role, false)
	if err != nil {
		return err
	}
	if _, err := c.q.Exec(ctx, q); err != nil {
		return fmt.Errorf("extensions: granting usage on language %q to %q: %w", language, role, explain(err))
	}
	return nil
}

// RevokeLanguageUsage takes the grant GrantLanguageUsage gave (REVOKE USAGE
// ON LANGUAGE). The role keeps any usage it has through PUBLIC or other
// roles.
func (c *Client) RevokeLanguageUsage(ctx context.Context, language, role string) error {
	q, err := languageUsageSQL(language, role, true)
	if err != nil {
		return err
	}
	if _, err := c.q.Exec(ctx, q); err != nil {
		return fmt.Errorf("extensions: revoking usage on language %q from %q: %w", language, role, explain(err))
	}
	return nil
}

// GrantPLRustUsage lets role write PL/Rust functions (GRANT USAGE ON
// LANGUAGE plrust).
func (c *Client) GrantPLRustUsage(ctx context.Context, role string) error {
	return c.GrantLanguageUsage(ctx, PLRust, role)
}

// RevokePLRustUsage takes that grant back (REVOKE USAGE ON LANGUAGE
// plrust).
func (c *Client) RevokePLRustUsage(ctx context.Context, role string) error {
	return c.RevokeLanguageUsage(ctx, PLRust, role)
}
