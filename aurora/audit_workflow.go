package aurora

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
	"github.com/pgaurora/pgaurora/params"
	"github.com/pgaurora/pgaurora/pgaudit"
)

// EnablePgAuditOptions configures EnablePgAudit. A nil
// *EnablePgAuditOptions uses the defaults.
type EnablePgAuditOptions struct {
	// ParameterGroup is the DB cluster parameter group to create and
	// attach when the cluster uses a default group (which RDS does not let
	// anyone modify). Empty means CustomClusterGroupName(cluster), the
	// group every workflow shares. The new group starts empty (engine
	// defaults): nothing is copied from the default group. When the
	// cluster already uses a custom group, that group is changed, and
	// ParameterGroup must be empty or name it.
	ParameterGroup string
	// ExcludeUsers are roles whose sessions session auditing leaves out
	// (ALTER ROLE ... SET pgaudit.log = none), as AWS documents for
	// application service accounts. The roles must exist.
	ExcludeUsers []string
	// Wait says how the steps wait for RDS and the servers; zero fields
	// take the Cluster's defaults (WithWait).
	Wait pgaurora.Wait
	// Progress, when set, receives an event as each step completes, and
	// the events of the operations the steps run (reboots, rotations).
	Progress pgaurora.ProgressFunc
}

// EnablePgAudit turns pgAudit on for the cluster with the given settings,
// doing only what is not done yet:
//
//  1. make sure the cluster uses a custom DB cluster parameter group:
//     on a default group, create one (opts.ParameterGroup or
//     CustomClusterGroupName), attach it with ModifyDBCluster and wait until
//     the cluster is available;
//  2. set shared_preload_libraries (keeping its libraries, adding pgaudit)
//     and the pgaudit.* parameters of s in that group, sending only values
//     that differ;
//  3. reboot the members left pending-reboot, readers first and the
//     writer last, waiting for each to be available and in sync;
//  4. CREATE EXTENSION pgaudit on the writer (in the Cluster's database);
//  5. exclude opts.ExcludeUsers from session auditing;
//  6. verify on the writer that pgaudit is preloaded and installed and that
//     every setting of s is in effect server-wide.
//
// Invalid settings or options are refused before any call. A second run
// finds everything in place and reports only unchanged steps. A failure
// returns a *WorkflowError naming the failed step and the steps done.
func (c *Cluster) EnablePgAudit(ctx context.Context, s pgaudit.Settings, opts *EnablePgAuditOptions) (*Report, error) {
	if opts == nil {
		opts = &EnablePgAuditOptions{}
	}
	const name = "EnablePgAudit"
	if err := checkPgAuditInput(s, opts); err != nil {
		return nil, inputFailure(name, err)
	}
	w := c.newWorkflow(name, opts.Wait, opts.Progress)

	group, err := c.ensureClusterGroupStep(ctx, w, opts.ParameterGroup)
	if err != nil {
		return nil, err
	}

	err = w.step(ctx, "set pgAudit parameters in "+group, func(ctx context.Context) (bool, string, error) {
		desc, err := c.Describe(ctx)
		if err != nil {
			return false, "", err
		}
		return c.setClusterParameters(ctx, group, func(values map[string]string) ([]params.Change, error) {
			return s.Changes(&pgaudit.ChangeOptions{SharedPreloadLibraries: values[params.SharedPreloadLibraries], Version: pgauditVersion(desc.EngineVersion)})
		})
	})
	if err != nil {
		return nil, err
	}

	if err := c.rebootPendingStep(ctx, w); err != nil {
		return nil, err
	}

	err = w.step(ctx, "create extension pgaudit", func(ctx context.Context) (bool, string, error) {
		if err := c.awaitWriter(ctx, w.wait); err != nil {
			return false, "", err
		}
		before, err := c.Audit().Status(ctx)
		if err != nil {
			return false, "", err
		}
		if before.Installed {
			return false, "version " + before.Version + " already installed in database " + c.cfg.database, nil
		}
		st, err := c.Audit().Install(ctx)
		if err != nil {
			return false, "", err
		}
		return true, "installed version " + st.Version + " in database " + c.cfg.database, nil
	})
	if err != nil {
		return nil, err
	}

	for _, user := range opts.ExcludeUsers {
		err := w.step(ctx, "exclude "+user+" from session auditing", func(ctx context.Context) (bool, string, error) {
			overrides, err := c.Audit().Overrides(ctx)
			if err != nil {
				return false, "", err
			}
			for _, o := range overrides {
				if o.Scope == (pgaudit.Scope{Role: user}) && strings.EqualFold(o.Name, pgaudit.SettingLog) {
					if v, err := pgaudit.NormalizeValue(o.Name, o.Value); err == nil && v == pgaudit.None.String() {
						return false, "pgaudit.log is already none for the role", nil
					}
				}
			}
			if err := c.Audit().Exclude(ctx, pgaudit.Scope{Role: user}); err != nil {
				return false, "", err
			}
			return true, "ALTER ROLE ... SET pgaudit.log = none", nil
		})
		if err != nil {
			return nil, err
		}
	}

	err = w.step(ctx, "verify pgAudit on the writer", func(ctx context.Context) (bool, string, error) {
		st, err := c.Audit().Status(ctx)
		if err != nil {
			return false, "", err
		}
		if !st.Preloaded || !st.Installed {
			return false, "", fmt.Errorf("pgaudit preloaded=%v installed=%v on the writer; want both (does an instance parameter group override shared_preload_libraries?)", st.Preloaded, st.Installed)
		}
		var mismatched []string
		for _, want := range s.List() {
			// The server-wide value, which the parameter group sets:
			// the checking role's own overrides do not count.
			got, err := c.Audit().ServerValue(ctx, want.Name)
			if err != nil {
				return false, "", err
			}
			g, gerr := pgaudit.NormalizeValue(want.Name, got)
			v, verr := pgaudit.NormalizeValue(want.Name, want.Value)
			if gerr != nil || verr != nil || g != v {
				mismatched = append(mismatched, fmt.Sprintf("%s is %q, want %q", want.Name, got, want.Value))
			}
		}
		if len(mismatched) > 0 {
			return false, "", fmt.Errorf("settings not in effect on the writer (an instance parameter group may override them): %s", strings.Join(mismatched, "; "))
		}
		return false, fmt.Sprintf("pgaudit %s preloaded and installed; %d settings in effect", st.Version, len(s.List())), nil
	})
	if err != nil {
		return nil, err
	}
	return w.report, nil
}

// checkPgAuditInput refuses bad settings and options before any call.
func checkPgAuditInput(s pgaudit.Settings, opts *EnablePgAuditOptions) error {
	if err := s.Validate(); err != nil {
		return err
	}
	// Settings.Changes checks more (the pgAudit version); a dry run with a
	// version that has every setting catches the rest of the input.
	if _, err := s.Changes(&pgaudit.ChangeOptions{Version: "16"}); err != nil {
		return err
	}
	if opts.ParameterGroup != "" {
		if err := params.ValidateGroupName(opts.ParameterGroup); err != nil {
			return fmt.Errorf("ParameterGroup: %w", err)
		}
	}
	seen := map[string]bool{}
	for i, u := range opts.ExcludeUsers {
		if _, err := sqlquote.Ident(u); err != nil {
			return fmt.Errorf("ExcludeUsers[%d]: not a valid role name: %w", i, err)
		}
		if seen[u] {
			return fmt.Errorf("ExcludeUsers[%d]: role %q is listed twice", i, u)
		}
		seen[u] = true
	}
	return nil
}

// pgauditVersion maps an Aurora PostgreSQL engine version to the pgAudit
// version it ships: pgAudit's major version follows PostgreSQL's from 16
// on; 1.7 is PostgreSQL 15's. An unknown version gives "".
func pgauditVersion(engineVersion string) string {
	v, err := pgaurora.ParseEngineVersion(engineVersion)
	if err != nil {
		return ""
	}
	switch n := v.Major; {
	case n >= 16:
		return strconv.Itoa(n)
	case n >= 11:
		return "1." + strconv.Itoa(n-8)
	}
	return ""
}
