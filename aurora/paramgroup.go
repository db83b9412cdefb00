package aurora

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/params"
)

// This file holds the parameter-group plumbing the workflows share
// (EnablePgAudit, ConfigureLogicalReplication, EnablePgLogical,
// EnablePLRust): making sure the cluster has a custom DB
// cluster parameter group (default groups cannot be modified), applying a
// change set against the group's current values, and rebooting the
// members left pending-reboot.

// Step names shared by the workflows, so that reports read the same
// everywhere.
const (
	stepEnsureClusterGroup = "use a custom DB cluster parameter group"
	stepRebootPending      = "reboot members pending reboot"
)

// CustomClusterGroupName is the name of the DB cluster parameter group that
// the workflows changing parameters (EnablePgAudit,
// ConfigureLogicalReplication, EnablePgLogical, EnablePLRust) create, in
// the cluster's family, for a cluster that still uses its family's default
// group ("default.aurora-postgresql15"), which RDS does not let anyone
// modify: "<cluster>-cluster-params". They all use the same group, so
// several of them on one cluster share it.
func CustomClusterGroupName(clusterID string) string { return clusterID + "-cluster-params" }

// isDefaultClusterGroup reports whether a parameter group is one of RDS's
// default groups, which cannot be modified (or none at all).
func isDefaultClusterGroup(name string) bool {
	return name == "" || strings.HasPrefix(strings.ToLower(name), "default.")
}

// ensureClusterGroup makes sure the cluster uses a custom DB cluster
// parameter group and returns its name. When the cluster is on a default
// group it creates want (CustomClusterGroupName when empty) in the same
// family, or reuses it when it exists already (as after an interrupted
// run), attaches it with ModifyDBCluster and waits until the cluster is
// available with it. The members are then pending-reboot for the new
// group; the workflow's reboot step takes care of that. A cluster on a
// custom group other than a named want is refused: attaching want would
// drop that group's settings.
func (c *Cluster) ensureClusterGroup(ctx context.Context, want string, wt pgaurora.Wait) (group string, changed bool, detail string, err error) {
	d, err := c.Describe(ctx)
	if err != nil {
		return "", false, "", err
	}
	current := d.ParameterGroup
	if !isDefaultClusterGroup(current) {
		if want != "" && !strings.EqualFold(want, current) {
			return "", false, "", fmt.Errorf("cluster %s uses the custom group %s, not %s: attach %s yourself, or leave ParameterGroup empty to change %s", c.id, current, want, want, current)
		}
		return current, false, "cluster uses custom group " + current, nil
	}
	if want == "" {
		want = CustomClusterGroupName(c.id)
	}
	if err := params.ValidateGroupName(want); err != nil {
		return "", false, "", fmt.Errorf("naming the custom cluster parameter group: %w; set ParameterGroup", err)
	}
	// The family comes from the group in use, or from the engine version.
	family := ""
	if current != "" {
		g, err := c.params.DescribeGroup(ctx, params.ClusterGroup, current)
		if err != nil {
			return "", false, "", fmt.Errorf("describing the cluster's parameter group %s: %w", current, err)
		}
		family = g.Family
	}
	if family == "" {
		v, err := pgaurora.ParseEngineVersion(d.EngineVersion)
		if err != nil {
			return "", false, "", fmt.Errorf("cannot tell the parameter group family of cluster %s: %w", c.id, err)
		}
		family = v.Family()
	}

	how := "attached existing"
	g, err := c.params.DescribeGroup(ctx, params.ClusterGroup, want)
	switch {
	case err == nil:
		if g.Family != family {
			return "", false, "", fmt.Errorf("parameter group %s exists with family %s; cluster %s needs family %s", want, g.Family, c.id, family)
		}
	case errors.Is(err, params.ErrGroupNotFound):
		if g, err = c.params.CreateGroup(ctx, params.Group{
			Name: want, Kind: params.ClusterGroup, Family: family,
			Description: "Cluster parameters of " + c.id + " (created by pgaurora)",
		}); err != nil {
			return "", false, "", fmt.Errorf("creating cluster parameter group %s: %w", want, err)
		}
		how = "created and attached"
	default:
		return "", false, "", fmt.Errorf("looking for cluster parameter group %s: %w", want, err)
	}
	if g.Name != "" {
		want = g.Name // RDS lower-cases names
	}

	if err := c.modifyCluster(ctx, d, &rds.ModifyDBClusterInput{DBClusterParameterGroupName: aws.String(want)}, "parameter group "+want, wt,
		func(d *Description) bool { return strings.EqualFold(d.ParameterGroup, want) }); err != nil {
		return "", false, "", err
	}
	from := current
	if from == "" {
		from = "none"
	}
	return want, true, fmt.Sprintf("%s %s (family %s) in place of %s", how, want, family, from), nil
}

// ensureClusterGroupStep runs ensureClusterGroup as the workflow step
// stepEnsureClusterGroup and returns the group the cluster uses.
func (c *Cluster) ensureClusterGroupStep(ctx context.Context, w *workflow, want string) (string, error) {
	var group string
	err := w.step(ctx, stepEnsureClusterGroup, func(ctx context.Context) (bool, string, error) {
		g, changed, detail, err := c.ensureClusterGroup(ctx, want, w.wait)
		group = g
		return changed, detail, err
	})
	return group, err
}

// setClusterParameters reads the values set in a cluster parameter group,
// has changes derive the changes a workflow needs from them, and applies
// those that differ (applyClusterChanges).
func (c *Cluster) setClusterParameters(ctx context.Context, group string, changes func(values map[string]string) ([]params.Change, error)) (changed bool, detail string, err error) {
	values, err := c.groupValues(ctx, group)
	if err != nil {
		return false, "", err
	}
	cs, err := changes(values)
	if err != nil {
		return false, "", err
	}
	return c.applyClusterChanges(ctx, group, cs)
}

// groupValues returns the values set in a cluster parameter group, by
// parameter name; parameters with no value (engine defaults) are absent.
func (c *Cluster) groupValues(ctx context.Context, group string) (map[string]string, error) {
	ps, err := c.params.ListParameters(ctx, params.ClusterGroup, group, nil)
	if err != nil {
		return nil, fmt.Errorf("reading cluster parameter group %s: %w", group, err)
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		if p.Value != "" {
			m[p.Name] = p.Value
		}
	}
	return m, nil
}

// applyClusterChanges sets the changes that differ from the group's
// current values (params.Service Plan, then Apply) and says which.
func (c *Cluster) applyClusterChanges(ctx context.Context, group string, changes []params.Change) (changed bool, detail string, err error) {
	if len(changes) == 0 {
		return false, "every parameter already set", nil
	}
	plan, err := c.params.Plan(ctx, params.ClusterGroup, group, changes...)
	if err != nil {
		return false, "", err
	}
	if plan.Empty() {
		return false, "every parameter already set", nil
	}
	if err := c.params.Apply(ctx, plan); err != nil {
		return false, "", err
	}
	return true, "set " + changeList(plan.Changes), nil
}

// changeList formats changes as "a=1, b=2" for step details. Only the
// parameters these workflows set pass through it, none of which holds a
// secret.
func changeList(cs []params.Change) string {
	parts := make([]string, len(cs))
	for i, ch := range cs {
		parts[i] = ch.Name + "=" + ch.Value
	}
	return strings.Join(parts, ", ")
}

// rebootPendingMembers reboots the members pending a reboot (readers
// first, the writer last, each waited for until available and in sync),
// then drops the idle connections of the open pools, which the reboots
// broke.
func (c *Cluster) rebootPendingMembers(ctx context.Context, wt pgaurora.Wait, progress pgaurora.ProgressFunc) (changed bool, detail string, err error) {
	rebooted, err := c.params.RebootPending(ctx, c.id, &params.RebootOptions{Wait: c.waitFor(wt), Progress: progress})
	if len(rebooted) > 0 || err != nil {
		c.resetIdleConns()
	}
	if err != nil {
		return false, "", err
	}
	if len(rebooted) == 0 {
		return false, "no member pending reboot", nil
	}
	return true, "rebooted " + strings.Join(rebooted, ", "), nil
}

// rebootPendingStep runs rebootPendingMembers as the workflow step
// stepRebootPending.
func (c *Cluster) rebootPendingStep(ctx context.Context, w *workflow) error {
	return w.step(ctx, stepRebootPending, func(ctx context.Context) (bool, string, error) {
		return c.rebootPendingMembers(ctx, w.wait, w.progress)
	})
}

// resetIdleConns closes the idle connections of the open pools, so that
// the statements after a reboot do not meet connections it killed.
func (c *Cluster) resetIdleConns() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range []*Pool{c.writer, c.reader} {
		if p != nil {
			p.pool.Reset()
		}
	}
}
