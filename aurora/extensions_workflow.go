package aurora

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/extensions"
	"github.com/pgaurora/pgaurora/params"
)

// PLV8UpgradeOptions tunes UpgradePLV8. A nil *PLV8UpgradeOptions uses the
// defaults.
type PLV8UpgradeOptions struct {
	// Languages are the procedural-language extensions upgraded together;
	// nil means extensions.DefaultLanguageExtensions (plv8, plcoffee,
	// plls). Those not installed are skipped.
	Languages []string
	// Versions maps an extension to the version to install; the others
	// get the server's default version.
	Versions map[string]string
	// LockTimeout, when positive, bounds each lock wait of the upgrade,
	// which then fails and rolls back instead of queueing behind long
	// transactions.
	LockTimeout time.Duration
	// Progress, when set, receives an event as each step completes, and
	// the language upgrade's own steps (extensions.UpgradeLanguages).
	Progress pgaurora.ProgressFunc
}

// Step names of UpgradePLV8.
const (
	stepPlanLanguages    = "plan the language upgrade"
	stepUpgradeLanguages = "upgrade the language extensions"
	stepVerifyLanguages  = "verify the installed versions"
)

// UpgradePLV8 upgrades PLV8 (and the plcoffee and plls languages built on
// it, or opts.Languages) on the writer, in the Cluster's database, the way
// AWS documents it but atomically and without losing anything
// (extensions.UpgradeLanguages):
//
//  1. plan: installed, default and target versions and the functions in
//     each language; refuse, before any change, when DROP EXTENSION ...
//     CASCADE would drop objects the upgrade cannot recreate;
//  2. when an extension is below its target version: write the backup of
//     every function, trigger, owner, grant and comment to backup, drop
//     and recreate the extensions at the target version and restore
//     everything, in one transaction, verified against the plan;
//  3. check that every installed extension is at its target version.
//
// When nothing is below its target, nothing is written to backup and the
// report says so. backup is required: the AWS procedure starts with a
// dump, and the caller decides where it goes (an *os.File to keep it).
func (c *Cluster) UpgradePLV8(ctx context.Context, backup io.Writer, opts *PLV8UpgradeOptions) (*Report, error) {
	const name = "UpgradePLV8"
	if opts == nil {
		opts = &PLV8UpgradeOptions{}
	}
	if backup == nil {
		return nil, inputFailure(name, &InputError{Field: "backup", Value: "nil", Allowed: "an io.Writer that receives the backup of the language functions"})
	}
	if opts.Languages != nil && len(opts.Languages) == 0 {
		return nil, inputFailure(name, &InputError{Field: "PLV8UpgradeOptions.Languages", Value: "empty", Allowed: "nil (plv8, plcoffee, plls) or at least one extension name"})
	}
	for i, l := range opts.Languages {
		if strings.TrimSpace(l) == "" {
			return nil, inputFailure(name, &InputError{Field: fmt.Sprintf("PLV8UpgradeOptions.Languages[%d]", i), Value: strconv.Quote(l), Allowed: "an extension name"})
		}
	}
	if opts.LockTimeout < 0 {
		return nil, inputFailure(name, &InputError{Field: "PLV8UpgradeOptions.LockTimeout", Value: opts.LockTimeout.String(), Allowed: "0 (no limit) or a positive duration"})
	}
	lopts := &extensions.LanguageUpgradeOptions{Extensions: opts.Languages, Versions: opts.Versions, LockTimeout: opts.LockTimeout}
	langs := opts.Languages
	if langs == nil {
		langs = extensions.DefaultLanguageExtensions
	}

	w := c.newWorkflow(name, pgaurora.Wait{}, opts.Progress)
	lopts.Progress = w.progress
	var plan *extensions.LanguagePlan
	if err := w.step(ctx, stepPlanLanguages, func(ctx context.Context) (bool, string, error) {
		db, err := c.Writer(ctx)
		if err != nil {
			return false, "", err
		}
		if plan, err = extensions.PlanLanguageUpgrade(ctx, db, lopts); err != nil {
			return false, "", err
		}
		if len(plan.Dependents) > 0 {
			return false, "", &extensions.DependentsError{Dependents: plan.Dependents}
		}
		return false, describeLanguagePlan(plan, langs), nil
	}); err != nil {
		return nil, err
	}
	if err := w.step(ctx, stepUpgradeLanguages, func(ctx context.Context) (bool, string, error) {
		if len(plan.Upgrading()) == 0 {
			return false, "every installed extension is at its target version; no backup written", nil
		}
		db, err := c.Writer(ctx)
		if err != nil {
			return false, "", err
		}
		res, err := extensions.UpgradeLanguages(ctx, db, backup, lopts)
		if err != nil {
			return false, "", err
		}
		parts := make([]string, len(res.Upgraded))
		for i, u := range res.Upgraded {
			parts[i] = fmt.Sprintf("%s %s -> %s", u.Name, u.From, u.To)
		}
		detail := fmt.Sprintf("%s; recreated %d functions and %d triggers", strings.Join(parts, ", "), res.Functions, res.Triggers)
		if len(res.Warnings) > 0 {
			detail += "; warnings: " + strings.Join(res.Warnings, "; ")
		}
		return true, detail, nil
	}); err != nil {
		return nil, err
	}
	if err := w.step(ctx, stepVerifyLanguages, func(ctx context.Context) (bool, string, error) {
		db, err := c.Writer(ctx)
		if err != nil {
			return false, "", err
		}
		after, err := extensions.PlanLanguageUpgrade(ctx, db, lopts)
		if err != nil {
			return false, "", err
		}
		if left := after.Upgrading(); len(left) > 0 {
			return false, "", fmt.Errorf("still below the target version after the upgrade: %s", strings.Join(left, ", "))
		}
		return false, describeLanguagePlan(after, langs), nil
	}); err != nil {
		return nil, err
	}
	return w.report, nil
}

// describeLanguagePlan summarizes a language plan for a step detail.
func describeLanguagePlan(p *extensions.LanguagePlan, asked []string) string {
	var parts []string
	for _, e := range p.Extensions {
		switch {
		case e.InstalledVersion == "":
			continue
		case e.Upgrade:
			parts = append(parts, fmt.Sprintf("%s %s -> %s (%d functions)", e.Name, e.InstalledVersion, e.TargetVersion, e.Functions))
		default:
			parts = append(parts, fmt.Sprintf("%s %s (%d functions)", e.Name, e.InstalledVersion, e.Functions))
		}
	}
	if len(parts) == 0 {
		return "none of " + strings.Join(asked, ", ") + " is installed"
	}
	return strings.Join(parts, "; ")
}

// PLRustOptions tunes EnablePLRust. A nil *PLRustOptions uses the
// defaults.
type PLRustOptions struct {
	// ParameterGroup is the DB cluster parameter group to create (or
	// reuse) and attach when the cluster uses a default group. Empty
	// means CustomClusterGroupName(cluster). When the cluster already uses
	// a custom group, that group is changed, and ParameterGroup must be
	// empty or name it.
	ParameterGroup string
	// Wait says how the steps wait for RDS and the servers; zero fields
	// take the Cluster's defaults (WithWait).
	Wait pgaurora.Wait
	// Progress, when set, receives an event as each step completes, and
	// the events of the operations the steps run (reboots, rotations).
	Progress pgaurora.ProgressFunc
}

// Step names of EnablePLRust.
const (
	stepPLRustEngine    = "check the engine version for PL/Rust"
	stepPLRustAvailable = "check that the plrust extension is available"
	stepPLRustPreload   = "add plrust to shared_preload_libraries"
	stepPLRustCreate    = "create extension plrust"
)

// EnablePLRust sets up PL/Rust (trusted Rust functions) on the cluster, in
// the Cluster's database, one idempotent step at a time:
//
//  1. check the engine version: PL/Rust needs Aurora PostgreSQL 13.12,
//     14.9, 15.3, 16.1, 17.1 or later in its major version
//     (extensions.CheckPLRustEngine); an older engine is refused with an
//     error matching extensions.ErrUnsupportedEngine before anything
//     changes;
//  2. check that the writer offers the plrust extension
//     (pg_available_extensions), so that a cluster that cannot run it is
//     not rebooted for nothing (extensions.ErrNotAvailable);
//  3. make sure the cluster has a custom DB cluster parameter group;
//  4. add plrust to shared_preload_libraries (pending reboot);
//  5. reboot the members pending a reboot and wait for them;
//  6. CREATE EXTENSION plrust, after checking that plrust is preloaded.
//
// A second run finds everything in place and reports only unchanged steps.
func (c *Cluster) EnablePLRust(ctx context.Context, opts *PLRustOptions) (*Report, error) {
	const name = "EnablePLRust"
	if opts == nil {
		opts = &PLRustOptions{}
	}
	w := c.newWorkflow(name, opts.Wait, opts.Progress)
	var version string
	if err := w.step(ctx, stepPLRustEngine, func(ctx context.Context) (bool, string, error) {
		d, err := c.Describe(ctx)
		if err != nil {
			return false, "", err
		}
		version = d.EngineVersion
		if err := extensions.CheckPLRustEngine(version); err != nil {
			return false, "", err
		}
		return false, "engine version " + version, nil
	}); err != nil {
		return nil, err
	}
	installed := ""
	if err := w.step(ctx, stepPLRustAvailable, func(ctx context.Context) (bool, string, error) {
		var def string
		err := c.onWriter(ctx, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT coalesce(default_version, ''), coalesce(installed_version, '') FROM pg_catalog.pg_available_extensions WHERE name = $1",
				extensions.PLRust).Scan(&def, &installed)
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return false, "", fmt.Errorf("%w: the writer has no %s extension (it is not in pg_available_extensions); nothing was changed", extensions.ErrNotAvailable, extensions.PLRust)
		}
		if err != nil {
			return false, "", fmt.Errorf("reading pg_available_extensions: %w", err)
		}
		if installed != "" {
			return false, "plrust " + installed + " installed", nil
		}
		return false, "plrust " + def + " available", nil
	}); err != nil {
		return nil, err
	}
	group, err := c.ensureClusterGroupStep(ctx, w, opts.ParameterGroup)
	if err != nil {
		return nil, err
	}
	if err := w.step(ctx, stepPLRustPreload, func(ctx context.Context) (bool, string, error) {
		return c.setClusterParameters(ctx, group, func(values map[string]string) ([]params.Change, error) {
			return extensions.PLRustChanges(version, values[params.SharedPreloadLibraries])
		})
	}); err != nil {
		return nil, err
	}
	if err := c.rebootPendingStep(ctx, w); err != nil {
		return nil, err
	}
	if err := w.step(ctx, stepPLRustCreate, func(ctx context.Context) (changed bool, detail string, err error) {
		err = c.onWriter(ctx, func(tx pgx.Tx) error {
			var v string
			err := tx.QueryRow(ctx, "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = $1", extensions.PLRust).Scan(&v)
			if err == nil {
				changed, detail = false, "plrust "+v+" already installed"
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if err := extensions.New(tx).InstallPLRust(ctx, version); err != nil {
				return err
			}
			changed, detail = true, "installed plrust in database "+c.cfg.database
			return nil
		})
		return changed, detail, err
	}); err != nil {
		return nil, err
	}
	return w.report, nil
}
