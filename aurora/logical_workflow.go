package aurora

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/params"
	"github.com/pgaurora/pgaurora/pglogical"
)

// LogicalReplicationPlan is the logical replication planned on the cluster,
// from which ConfigureLogicalReplication sizes the parameters.
type LogicalReplicationPlan struct {
	// Publications and Subscriptions are the planned native logical
	// replication publications (each consumed through a slot on this
	// cluster) and subscriptions on this cluster.
	Publications, Subscriptions int
	// Slots counts other consumers of logical replication slots on the
	// cluster, such as AWS DMS change-data-capture tasks or wal2json
	// readers.
	Slots int
	// ActiveSlots is how many slots are expected to be active at once;
	// zero means all of them.
	ActiveSlots int
	// VCPU and MemoryBytes describe the instance class. They evaluate RDS
	// default formulas (max_worker_processes defaults to
	// GREATEST(2 x vCPU, 8)). When VCPU is zero, parameters the group
	// leaves at their default are read from the writer's running values
	// instead.
	VCPU        int
	MemoryBytes int64
}

func (p LogicalReplicationPlan) validate() error {
	if err := checkCounts("LogicalReplicationPlan.",
		count{"Publications", int64(p.Publications)}, count{"Subscriptions", int64(p.Subscriptions)},
		count{"Slots", int64(p.Slots)}, count{"ActiveSlots", int64(p.ActiveSlots)},
		count{"VCPU", int64(p.VCPU)}, count{"MemoryBytes", p.MemoryBytes},
	); err != nil {
		return err
	}
	if total := p.Publications + p.Subscriptions + p.Slots; p.ActiveSlots > total {
		return &InputError{Field: "LogicalReplicationPlan.ActiveSlots", Value: strconv.Itoa(p.ActiveSlots),
			Allowed: fmt.Sprintf("at most Publications + Subscriptions + Slots (%d)", total)}
	}
	return nil
}

// LogicalReplicationOptions tunes ConfigureLogicalReplication. A nil
// *LogicalReplicationOptions uses the defaults.
type LogicalReplicationOptions struct {
	// ParameterGroup is the DB cluster parameter group to create (or
	// reuse) and attach when the cluster uses a default group, which RDS
	// does not let anyone modify. Empty means
	// CustomClusterGroupName(cluster). When the cluster already uses a
	// custom group, that group is changed, and ParameterGroup must be
	// empty or name it.
	ParameterGroup string
	// Wait says how the steps wait for RDS and the servers; zero fields
	// take the Cluster's defaults (WithWait).
	Wait pgaurora.Wait
	// Progress, when set, receives an event as each step completes, and
	// the events of the operations the steps run (reboots, rotations).
	Progress pgaurora.ProgressFunc
}

// Step names of the logical replication workflows.
const (
	stepSizeLogical    = "set rds.logical_replication=1 and size the replication parameters"
	stepVerifyWALLevel = "verify wal_level=logical on the writer"
)

// sizingParameters are the parameters params.SizeLogicalReplication reads.
var sizingParameters = []string{
	"rds.logical_replication", "max_replication_slots", "max_wal_senders",
	"max_logical_replication_workers", "max_worker_processes",
	"autovacuum_max_workers", "max_parallel_workers",
}

// ConfigureLogicalReplication prepares the cluster for logical replication
// as AWS documents it, one idempotent step at a time:
//
//  1. if the cluster uses its family's default DB cluster parameter group,
//     create a custom group (opts.ParameterGroup or
//     CustomClusterGroupName, or reuse it) and attach it
//     (ModifyDBCluster), waiting until the cluster has it;
//  2. set rds.logical_replication=1 and raise max_replication_slots,
//     max_wal_senders, max_logical_replication_workers and
//     max_worker_processes to fit the plan (params.SizeLogicalReplication
//     against the group's current values; nothing is ever lowered), setting
//     only what differs (params Plan, then Apply);
//  3. reboot the members pending a reboot, readers first, writer last,
//     and wait for each (params RebootPending);
//  4. check that the writer runs with wal_level=logical.
//
// A second run finds everything in place and reports only unchanged steps.
// Invalid plans are refused before any call. A failure is a *WorkflowError
// naming the failed step and the steps completed before it.
func (c *Cluster) ConfigureLogicalReplication(ctx context.Context, plan LogicalReplicationPlan, opts *LogicalReplicationOptions) (*Report, error) {
	const name = "ConfigureLogicalReplication"
	if opts == nil {
		opts = &LogicalReplicationOptions{}
	}
	if err := plan.validate(); err != nil {
		return nil, inputFailure(name, err)
	}
	w := c.newWorkflow(name, opts.Wait, opts.Progress)
	group, err := c.ensureClusterGroupStep(ctx, w, opts.ParameterGroup)
	if err != nil {
		return nil, err
	}
	if err := w.step(ctx, stepSizeLogical, func(ctx context.Context) (bool, string, error) {
		return c.setClusterParameters(ctx, group, func(values map[string]string) ([]params.Change, error) {
			current, err := c.sizingCurrent(ctx, values, plan.VCPU)
			if err != nil {
				return nil, err
			}
			changes, err := params.SizeLogicalReplication(params.SizingInput{
				Publications: plan.Publications, Subscriptions: plan.Subscriptions, CDCTasks: plan.Slots,
				ActiveSlots: plan.ActiveSlots, VCPU: plan.VCPU, MemoryBytes: plan.MemoryBytes, Current: current,
			})
			if err != nil {
				return nil, fmt.Errorf("sizing the logical replication parameters: %w", err)
			}
			return changes, nil
		})
	}); err != nil {
		return nil, err
	}
	if err := c.rebootPendingStep(ctx, w); err != nil {
		return nil, err
	}
	if err := w.step(ctx, stepVerifyWALLevel, c.verifyWALLevel); err != nil {
		return nil, err
	}
	return w.report, nil
}

// sizingCurrent returns the current values of the sizing parameters: the
// group's (values, from groupValues), and, when vcpu is zero (RDS default
// formulas cannot be evaluated), the writer's running values for those
// the group leaves at their default.
func (c *Cluster) sizingCurrent(ctx context.Context, values map[string]string, vcpu int) (map[string]string, error) {
	current := map[string]string{}
	var missing []string
	for _, n := range sizingParameters {
		if v, ok := values[n]; ok {
			current[n] = v
		} else {
			missing = append(missing, n)
		}
	}
	if vcpu > 0 || len(missing) == 0 {
		return current, nil
	}
	live, err := c.writerSettings(ctx, missing)
	if err != nil {
		return nil, fmt.Errorf("reading the writer's running values of %s (no VCPU given to evaluate the defaults): %w", strings.Join(missing, ", "), err)
	}
	for n, v := range live {
		current[n] = v
	}
	return current, nil
}

// writerSettings reads settings from the writer's pg_settings, retrying
// through a lost connection.
func (c *Cluster) writerSettings(ctx context.Context, names []string) (map[string]string, error) {
	out := map[string]string{}
	err := c.onWriter(ctx, func(tx pgx.Tx) error {
		clear(out)
		rows, err := tx.Query(ctx, "SELECT name, setting FROM pg_catalog.pg_settings WHERE name = ANY($1)", names)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n, v string
			if err := rows.Scan(&n, &v); err != nil {
				return err
			}
			out[n] = v
		}
		return rows.Err()
	})
	return out, err
}

func (c *Cluster) verifyWALLevel(ctx context.Context) (bool, string, error) {
	var level string
	if err := c.onWriter(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT current_setting('wal_level')").Scan(&level)
	}); err != nil {
		return false, "", fmt.Errorf("reading wal_level: %w", err)
	}
	if level != "logical" {
		return false, "", fmt.Errorf("the writer runs with wal_level=%s after the reboot; rds.logical_replication=1 did not take effect", level)
	}
	return false, "wal_level=logical", nil
}

// PgLogicalOptions tunes EnablePgLogical. A nil *PgLogicalOptions uses the
// defaults.
type PgLogicalOptions struct {
	// NodeName names this database's pglogical node; empty means the
	// cluster identifier. If the database already has a node with
	// another name and NodeName is set, EnablePgLogical fails rather than
	// replace it.
	NodeName string
	// NodeDSN is the connection string other nodes reach this one by.
	// The zero DSN means the cluster (writer) endpoint and port, the
	// Cluster's database, the connected user and sslmode=require, without
	// a password. Such a node cannot be subscribed on: pglogical connects
	// to the subscriber's own node DSN to copy the initial data, and the
	// connection fails with "fe_sendauth: no password supplied". Set
	// NodeRole to make the DSN log in as a role made for it, with its
	// password (the DSN given here, or the default one, then gets the
	// role's user and password).
	NodeDSN pgaurora.ConnString
	// NodeRole, when set, is the role pglogical's connections to this
	// node log in as, instead of the connected (master) user: the
	// workflow creates it, or brings it up to date, with the privileges
	// pglogical needs on this node's side (pglogical
	// Client.CreateNodeRole), and the node's DSN (NodeDSN, or the
	// default one) logs in as the role, with its password. A subscriber
	// node needs a DSN that logs in, since pglogical connects to it to
	// copy the initial data; a provider's subscribers connect with the
	// provider's node DSN (Node.Interfaces). pglogical keeps node DSNs,
	// the password included, in its catalog in clear text (readable by
	// superusers), which is why this is a role with only those
	// privileges and not the master user. The password never reaches a
	// report, error or log. When the database already has its node, the
	// node's DSN must already log in as the role with this password
	// (pglogical cannot change a node's DSN): otherwise the step fails
	// before the role is changed.
	NodeRole *pglogical.NodeRoleSpec
	// Sizing is the pglogical replication planned on the cluster; the zero
	// value sizes for one subscription in each direction. Its Current
	// field is filled by the workflow.
	Sizing pglogical.Sizing
	// Settings are pglogical's own server settings to set.
	Settings pglogical.Settings
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

// Step names of EnablePgLogical.
const (
	stepPgLogicalParams = "set the pglogical parameters (shared_preload_libraries, rds.logical_replication, sizing)"
	stepPgLogicalExt    = "create extension pglogical"
	stepPgLogicalNode   = "create the pglogical node"
	stepPgLogicalRole   = "create the pglogical node role"
)

// EnablePgLogical sets up pglogical on the cluster's writer, in the
// Cluster's database, one idempotent step at a time:
//
//  1. make sure the cluster has a custom DB cluster parameter group (see
//     ConfigureLogicalReplication);
//  2. add pglogical to shared_preload_libraries, set
//     rds.logical_replication=1 and size the replication parameters and
//     pglogical's settings (pglogical.Parameters against the group's
//     current values), setting only what differs;
//  3. reboot the members pending a reboot and wait for them;
//  4. CREATE EXTENSION pglogical, after checking that it is preloaded and
//     wal_level is logical (pglogical Client.Install);
//  5. with opts.NodeRole, create the node role or bring it up to date
//     (pglogical Client.CreateNodeRole);
//  6. create this database's node (pglogical.create_node) with
//     opts.NodeDSN, logging in as opts.NodeRole when set, unless the
//     database has one.
//
// A second run finds everything in place and reports only unchanged steps.
// Invalid options are refused before any call; a failure is a
// *WorkflowError naming the failed step.
func (c *Cluster) EnablePgLogical(ctx context.Context, opts *PgLogicalOptions) (*Report, error) {
	const name = "EnablePgLogical"
	if opts == nil {
		opts = &PgLogicalOptions{}
	}
	if err := opts.Settings.Validate(); err != nil {
		return nil, inputFailure(name, fmt.Errorf("PgLogicalOptions.Settings: %w", err))
	}
	if opts.NodeName != "" && len(opts.NodeName) > 63 {
		return nil, inputFailure(name, &InputError{Field: "PgLogicalOptions.NodeName", Value: strconv.Quote(opts.NodeName), Allowed: "a name of 1 to 63 bytes"})
	}
	if err := validatePgLogicalSizing(opts.Sizing); err != nil {
		return nil, inputFailure(name, err)
	}
	if opts.NodeRole != nil {
		if err := opts.NodeRole.Validate(); err != nil {
			return nil, inputFailure(name, fmt.Errorf("PgLogicalOptions.NodeRole: %w", err))
		}
	}
	if !opts.NodeDSN.IsZero() && opts.NodeRole != nil {
		if _, err := opts.NodeRole.DSN(opts.NodeDSN); err != nil {
			return nil, inputFailure(name, fmt.Errorf("PgLogicalOptions.NodeDSN: %w", err))
		}
	}
	nodeName := opts.NodeName
	if nodeName == "" {
		nodeName = c.id
	}

	w := c.newWorkflow(name, opts.Wait, opts.Progress)
	group, err := c.ensureClusterGroupStep(ctx, w, opts.ParameterGroup)
	if err != nil {
		return nil, err
	}
	if err := w.step(ctx, stepPgLogicalParams, func(ctx context.Context) (bool, string, error) {
		return c.setClusterParameters(ctx, group, func(values map[string]string) ([]params.Change, error) {
			current, err := c.sizingCurrent(ctx, values, opts.Sizing.VCPU)
			if err != nil {
				return nil, err
			}
			sizing := opts.Sizing
			sizing.Current = current
			return pglogical.Parameters(pglogical.ParameterOptions{
				CurrentPreload: values[params.SharedPreloadLibraries],
				Sizing:         sizing,
				Settings:       opts.Settings,
			})
		})
	}); err != nil {
		return nil, err
	}
	if err := c.rebootPendingStep(ctx, w); err != nil {
		return nil, err
	}
	if err := w.step(ctx, stepPgLogicalExt, func(ctx context.Context) (changed bool, detail string, err error) {
		err = c.onWriter(ctx, func(tx pgx.Tx) error {
			cl := pglogical.New(tx)
			pre, err := cl.Prerequisites(ctx)
			if err != nil {
				return err
			}
			if pre.ExtensionVersion != "" {
				changed, detail = false, "pglogical "+pre.ExtensionVersion+" already installed"
				return nil
			}
			v, err := cl.Install(ctx)
			if err != nil {
				return err
			}
			changed, detail = true, "installed pglogical "+v+" in database "+c.cfg.database
			return nil
		})
		return changed, detail, err
	}); err != nil {
		return nil, err
	}
	// The node's DSN, logging in as the node role when there is one.
	nodeDSN := func(ctx context.Context) (pgaurora.ConnString, error) {
		dsn := opts.NodeDSN
		if dsn.IsZero() {
			var err error
			if dsn, err = c.defaultNodeDSN(ctx); err != nil {
				return pgaurora.ConnString{}, err
			}
		}
		if opts.NodeRole != nil {
			return opts.NodeRole.DSN(dsn)
		}
		return dsn, nil
	}
	if opts.NodeRole != nil {
		role := *opts.NodeRole
		if err := w.step(ctx, stepPgLogicalRole+" "+role.Name, func(ctx context.Context) (changed bool, detail string, err error) {
			err = c.onWriter(ctx, func(tx pgx.Tx) error {
				cl := pglogical.New(tx)
				if err := checkNodeLogsInAs(ctx, cl, role); err != nil {
					return err
				}
				r, err := cl.CreateNodeRole(ctx, role)
				if err != nil {
					return err
				}
				changed, detail = r.Created, fmt.Sprintf("created role %q: %s", r.Name, strings.Join(r.Statements, "; "))
				if !r.Created {
					detail = fmt.Sprintf("role %q exists; its password and grants were set again, nothing revoked", r.Name)
				}
				return nil
			})
			return changed, detail, err
		}); err != nil {
			return nil, err
		}
	}
	if err := w.step(ctx, stepPgLogicalNode+" "+nodeName, func(ctx context.Context) (changed bool, detail string, err error) {
		dsn, err := nodeDSN(ctx)
		if err != nil {
			return false, "", err
		}
		err = c.onWriter(ctx, func(tx pgx.Tx) error {
			cl := pglogical.New(tx)
			n, err := cl.LocalNode(ctx)
			switch {
			case err == nil:
				if opts.NodeName != "" && n.Name != opts.NodeName {
					return fmt.Errorf("database %s already has the pglogical node %q, not %q; drop it first to rename it", c.cfg.database, n.Name, opts.NodeName)
				}
				changed, detail = false, fmt.Sprintf("node %q exists", n.Name)
				return nil
			case !errors.Is(err, pglogical.ErrNoLocalNode):
				return err
			}
			if _, err := cl.CreateNode(ctx, nodeName, dsn); err != nil {
				return err
			}
			changed, detail = true, fmt.Sprintf("created node %q with DSN %s", nodeName, dsn)
			if dsn.HasPassword() {
				detail += " (pglogical keeps the DSN, password included, in clear text in its catalog pglogical.node_interface, readable by superusers)"
			}
			return nil
		})
		return changed, detail, err
	}); err != nil {
		return nil, err
	}
	return w.report, nil
}

// checkNodeLogsInAs fails when the database has a local node whose DSN
// does not log in as role with role's password: changing the role's
// password would lock that node's peers out, and pglogical cannot change
// a node's DSN.
func checkNodeLogsInAs(ctx context.Context, cl *pglogical.Client, role pglogical.NodeRoleSpec) error {
	n, err := cl.LocalNode(ctx)
	if errors.Is(err, pglogical.ErrNoLocalNode) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, i := range n.Interfaces {
		if i.Name != n.Name {
			continue
		}
		want, err := role.DSN(i.DSN)
		if err == nil && want.Equal(i.DSN) {
			return nil
		}
		user, _ := i.DSN.Get("user")
		return fmt.Errorf("the database's pglogical node %q exists with a DSN that does not log in as role %q with the given password (its user is %q); "+
			"pglogical cannot change a node's DSN: drop the node (no subscriptions may use it) and run again, or give the password the node's DSN has", n.Name, role.Name, user)
	}
	return nil
}

// validatePgLogicalSizing refuses negative counts in a pglogical.Sizing.
func validatePgLogicalSizing(s pglogical.Sizing) error {
	return checkCounts("PgLogicalOptions.Sizing.",
		count{"Subscriptions", int64(s.Subscriptions)}, count{"ProvidedSubscriptions", int64(s.ProvidedSubscriptions)},
		count{"Databases", int64(s.Databases)}, count{"OtherSlots", int64(s.OtherSlots)},
		count{"VCPU", int64(s.VCPU)}, count{"MemoryBytes", s.MemoryBytes},
	)
}

// count is a named count of an input, for checkCounts.
type count struct {
	name string
	v    int64
}

// checkCounts refuses the first negative count with an *InputError on
// the field prefix+name.
func checkCounts(prefix string, counts ...count) error {
	for _, c := range counts {
		if c.v < 0 {
			return &InputError{Field: prefix + c.name, Value: strconv.FormatInt(c.v, 10), Allowed: "a count of 0 or more"}
		}
	}
	return nil
}

// defaultNodeDSN is the DSN of the cluster endpoint for the connected user,
// without a password.
func (c *Cluster) defaultNodeDSN(ctx context.Context) (pgaurora.ConnString, error) {
	d, err := c.Describe(ctx)
	if err != nil {
		return pgaurora.ConnString{}, err
	}
	var user string
	if err := c.onWriter(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT current_user").Scan(&user)
	}); err != nil {
		return pgaurora.ConnString{}, fmt.Errorf("reading the connected user: %w", err)
	}
	return pgaurora.NewConnString(map[string]string{
		"host": d.Endpoint, "port": strconv.Itoa(d.Port), "dbname": c.cfg.database,
		"user": user, "sslmode": "require",
	})
}
