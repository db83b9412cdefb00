package aurora

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/params"
)

// DriftState says how a parameter of a group stands against the value a
// specification wants for it.
type DriftState string

// The states CheckDrift reports. A parameter whose value is in effect as
// specified is not reported at all.
const (
	// DriftDifferent: the group's value (or, when the group sets none,
	// the engine default) is not the specified one, as the engine
	// compares values.
	DriftDifferent DriftState = "different"
	// DriftPendingReboot: the group holds the specified value, but it
	// takes effect only at a reboot and members are pending-reboot for
	// the group, so the servers may still run the old value. It is not
	// drift: Params().RebootPending completes it.
	DriftPendingReboot DriftState = "pending-reboot"
	// DriftUnknown: the group sets no value and the engine default is not
	// known without a server (Aurora gives it as a formula of the
	// instance class, or neither the API nor the params catalog records
	// it), or the group's family does not have the parameter. It is not
	// reported as drift, since it may not be one.
	DriftUnknown DriftState = "unknown"
)

// ParameterDrift is one parameter of a parameter group that is not as the
// specification wants it.
type ParameterDrift struct {
	// Kind and Group name the parameter group.
	Kind  params.Kind
	Group string
	// Name is the parameter; Desired is the specified value, as given.
	Name    string
	Desired string
	// Actual is the value the group sets or, when it sets none, the
	// engine default (empty when that is not known); Source is where it
	// comes from: params.SourceUser, params.SourceSystem or
	// params.SourceEngineDefault.
	Actual string
	Source string
	// State says how the parameter stands.
	State DriftState
	// Instances are the members it concerns: for an instance group, the
	// members that use the group; for DriftPendingReboot, the members
	// pending-reboot.
	Instances []string `json:",omitempty"`
	// Detail says why, in one line.
	Detail string
}

// String is the parameter drift on one line.
func (p ParameterDrift) String() string {
	actual := p.Actual
	if actual == "" {
		actual = "(unknown)"
	}
	return fmt.Sprintf("%s %s group %s: %s = %s (%s), want %s: %s", p.State, p.Kind, p.Group, p.Name, actual, p.Source, p.Desired, p.Detail)
}

// DriftReport is what CheckDrift found on one cluster.
type DriftReport struct {
	// Cluster and ClusterGroup name the cluster and its DB cluster
	// parameter group.
	Cluster      string
	ClusterGroup string
	// Parameters are the parameters not as specified, of the cluster
	// group and of the instances' groups, by group and name; in-sync
	// parameters are left out.
	Parameters []ParameterDrift
	// InSync counts the parameters, across the groups compared, whose
	// specified value is in effect.
	InSync int
}

// Drifted returns the parameters whose State is DriftDifferent: the
// drift proper.
func (r *DriftReport) Drifted() []ParameterDrift {
	var out []ParameterDrift
	for _, p := range r.Parameters {
		if p.State == DriftDifferent {
			out = append(out, p)
		}
	}
	return out
}

// ValidateDriftSpec checks a drift specification before any call: every
// change names a parameter once and has a value the catalog accepts
// (params.ValidateAll for a DB cluster parameter group), values with units
// ("64MB") are accepted for the catalog parameters whose unit is known. It
// returns the specification with those values in the base unit.
func ValidateDriftSpec(desired []params.Change) ([]params.Change, error) {
	if len(desired) == 0 {
		return nil, errors.New("aurora: drift check: the specification is empty")
	}
	out := make([]params.Change, len(desired))
	for i, ch := range desired {
		v, err := params.ToBaseUnit(ch.Name, ch.Value)
		if err != nil {
			return nil, fmt.Errorf("aurora: drift check: %w", err)
		}
		ch.Value = v
		// The method says nothing about the value in effect.
		ch.Method = ""
		out[i] = ch
	}
	if err := params.ValidateAll(params.ClusterGroup, out); err != nil {
		return nil, fmt.Errorf("aurora: drift check: %w", err)
	}
	return out, nil
}

// CheckDrift compares the cluster's DB cluster parameter group, and the
// custom DB parameter groups of its instances, with a specification: the
// values desired for some parameters. Values compare as the engine does
// (params.EquivalentValues: booleans by truth, integers with their units,
// enums without case, shared_preload_libraries without order); a parameter
// the group does not set is compared with the engine default
// (DescribeEngineDefaultClusterParameters, else params.Spec.Default), so
// a specified value equal to the default is not drift. A specified value
// the group holds but that waits for a reboot is reported as
// DriftPendingReboot, not as drift, and a default that cannot be known is
// DriftUnknown: only DriftDifferent is drift (DriftReport.Drifted).
//
// Instance groups are compared for the parameters they set themselves
// (which override the cluster group for their instances); default groups
// set none.
//
// On the wire it calls DescribeDBClusters (not in a Fleet run, which
// uses the cluster as listed) and DescribeDBInstances,
// DescribeDBClusterParameters and DescribeDBParameters with Source user,
// and DescribeEngineDefaultClusterParameters (once per family and Region
// in a Fleet run): it changes nothing and connects to no server. The specification is checked first
// (ValidateDriftSpec).
func (c *Cluster) CheckDrift(ctx context.Context, desired []params.Change) (*DriftReport, error) {
	spec, err := ValidateDriftSpec(desired)
	if err != nil {
		return nil, err
	}
	d, err := c.Describe(ctx)
	if err != nil {
		return nil, fmt.Errorf("aurora: drift check: %w", err)
	}
	return c.checkDrift(ctx, d, desired, spec, &engineDefaults{})
}

// engineDefaults caches the engine-default cluster parameters of one
// Region by family, so that a fleet reads each family's once per Region
// (Fleet.CheckDrift keeps one per Region).
type engineDefaults struct {
	mu       sync.Mutex
	byFamily map[string]*familyDefaults
}

// familyDefaults is one family's entry: mu is held while the defaults
// are read, so that the clusters of the family wait for one read; params
// stays nil until a read succeeds (a failed read is not stored, and the
// next cluster tries again).
type familyDefaults struct {
	mu     sync.Mutex
	params map[string]params.Parameter
}

func (e *engineDefaults) get(ctx context.Context, svc *params.Service, family string) (map[string]params.Parameter, error) {
	e.mu.Lock()
	if e.byFamily == nil {
		e.byFamily = map[string]*familyDefaults{}
	}
	f := e.byFamily[family]
	if f == nil {
		f = &familyDefaults{}
		e.byFamily[family] = f
	}
	e.mu.Unlock()

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.params != nil {
		return f.params, nil
	}
	ps, err := svc.EngineDefaults(ctx, params.ClusterGroup, family)
	if err != nil {
		return nil, err
	}
	m := make(map[string]params.Parameter, len(ps))
	for _, p := range ps {
		m[strings.ToLower(p.Name)] = p
	}
	f.params = m
	return m, nil
}

// userValues lists the parameters a group sets itself (Source user), by
// lower-cased name. Default groups set none and are not read.
func (c *Cluster) userValues(ctx context.Context, kind params.Kind, group string) (map[string]params.Parameter, error) {
	m := map[string]params.Parameter{}
	if isDefaultClusterGroup(group) {
		return m, nil
	}
	ps, err := c.params.ListParameters(ctx, kind, group, &params.ListOptions{Source: params.SourceUser})
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.Value != "" {
			m[strings.ToLower(p.Name)] = p
		}
	}
	return m, nil
}

// isFormula reports whether a parameter value is an RDS formula
// ("GREATEST({DBInstanceClassMemory/9531392},5000)"), whose value depends
// on the instance.
func isFormula(v string) bool { return strings.ContainsAny(v, "{}$") }

// checkDrift is CheckDrift on the cluster as described (by Describe, or
// from a Fleet's listing).
func (c *Cluster) checkDrift(ctx context.Context, d *Description, desired, spec []params.Change, defaults *engineDefaults) (*DriftReport, error) {
	v, err := pgaurora.ParseEngineVersion(d.EngineVersion)
	if err != nil {
		return nil, fmt.Errorf("aurora: drift check: cannot tell the parameter group family of cluster %s: %w", c.id, err)
	}
	family := v.Family()
	defs, err := defaults.get(ctx, c.params, family)
	if err != nil {
		return nil, fmt.Errorf("aurora: drift check: %w", err)
	}
	members := append([]pgaurora.Instance{}, d.Readers...)
	if d.Writer != nil {
		members = append([]pgaurora.Instance{*d.Writer}, members...)
	}
	r := &DriftReport{Cluster: c.id, ClusterGroup: d.ParameterGroup}

	// The cluster group.
	user, err := c.userValues(ctx, params.ClusterGroup, d.ParameterGroup)
	if err != nil {
		return nil, fmt.Errorf("aurora: drift check: %w", err)
	}
	var pendingCluster []string
	for _, m := range members {
		if m.ClusterParameterGroupStatus == pgaurora.ParamPendingReboot {
			pendingCluster = append(pendingCluster, m.ID)
		}
	}
	for i, ch := range spec {
		key := strings.ToLower(ch.Name)
		def, listed := defs[key]
		pd := ParameterDrift{Kind: params.ClusterGroup, Group: d.ParameterGroup, Name: ch.Name, Desired: desired[i].Value}
		p, set := user[key]
		switch {
		case set:
			pd.Actual, pd.Source = p.Value, params.SourceUser
		case !listed:
			pd.State, pd.Source = DriftUnknown, params.SourceEngineDefault
			pd.Detail = fmt.Sprintf("family %s does not list the parameter", family)
			r.Parameters = append(r.Parameters, pd)
			continue
		case def.Value != "" && !isFormula(def.Value):
			pd.Actual, pd.Source = def.Value, def.Source
		default:
			pd.Source = params.SourceEngineDefault
			if s, ok := params.Lookup(ch.Name); ok && s.Default != "" {
				pd.Actual = s.Default
				break
			}
			pd.State = DriftUnknown
			pd.Detail = "the group sets no value and the engine default is not known without a server"
			if def.Value != "" {
				pd.Detail = "the group sets no value and the engine default is the formula " + def.Value
			}
			r.Parameters = append(r.Parameters, pd)
			continue
		}
		if !params.EquivalentValues(ch.Name, cmp.Or(def.DataType, p.DataType), pd.Actual, ch.Value) {
			pd.State = DriftDifferent
			pd.Detail = "the value differs"
			if pd.Source != params.SourceUser {
				pd.Detail = "the group sets no value and the engine default differs"
			}
			r.Parameters = append(r.Parameters, pd)
			continue
		}
		if set && markPendingReboot(&pd, p, pendingCluster) {
			r.Parameters = append(r.Parameters, pd)
			continue
		}
		r.InSync++
	}

	// The instances' own groups, for the parameters they set.
	users := map[string][]pgaurora.Instance{}
	var groups []string
	for _, m := range members {
		if isDefaultClusterGroup(m.ParameterGroup) {
			continue
		}
		if users[m.ParameterGroup] == nil {
			groups = append(groups, m.ParameterGroup)
		}
		users[m.ParameterGroup] = append(users[m.ParameterGroup], m)
	}
	slices.Sort(groups)
	for _, g := range groups {
		vals, err := c.userValues(ctx, params.InstanceGroup, g)
		if err != nil {
			return nil, fmt.Errorf("aurora: drift check: %w", err)
		}
		var ids, pending []string
		for _, m := range users[g] {
			ids = append(ids, m.ID)
			if m.ParameterApplyStatus == pgaurora.ParamPendingReboot {
				pending = append(pending, m.ID)
			}
		}
		for i, ch := range spec {
			p, set := vals[strings.ToLower(ch.Name)]
			if !set {
				continue
			}
			pd := ParameterDrift{Kind: params.InstanceGroup, Group: g, Name: ch.Name, Desired: desired[i].Value,
				Actual: p.Value, Source: params.SourceUser, Instances: ids}
			if !params.EquivalentValues(ch.Name, p.DataType, p.Value, ch.Value) {
				pd.State, pd.Detail = DriftDifferent, "the instance group overrides the cluster with a different value"
			} else if !markPendingReboot(&pd, p, pending) {
				r.InSync++
				continue
			}
			r.Parameters = append(r.Parameters, pd)
		}
	}
	return r, nil
}

// markPendingReboot marks pd DriftPendingReboot when the group's value p,
// equal to the specified one, takes effect only at a reboot (static, or
// applied pending-reboot) and members are pending-reboot for the group;
// it reports whether it did.
func markPendingReboot(pd *ParameterDrift, p params.Parameter, pending []string) bool {
	if len(pending) == 0 || (p.ApplyType != params.Static && p.ApplyMethod != types.ApplyMethodPendingReboot) {
		return false
	}
	pd.State, pd.Instances = DriftPendingReboot, pending
	pd.Detail = fmt.Sprintf("the group holds the value, which takes effect at the next reboot; %s pending-reboot", strings.Join(pending, ", "))
	return true
}
