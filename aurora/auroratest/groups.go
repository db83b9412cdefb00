package auroratest

import (
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Parameter groups: the twelve parameter-group actions, for DB cluster
// parameter groups and DB (instance) parameter groups alike.

type groupKind int

const (
	clusterKind groupKind = iota + 1
	instanceKind
)

// paramGroup is a DB cluster parameter group or a DB parameter group.
type paramGroup struct {
	kind        groupKind
	name        string
	family      string
	description string
	isDefault   bool
	values      map[string]groupValue // user-set values by parameter name
}

type groupValue struct {
	value  string
	method string
}

// Apply methods.
const (
	methodImmediate     = "immediate"
	methodPendingReboot = "pending-reboot"
)

// Parameter group apply statuses.
const (
	statusInSync        = "in-sync"
	statusPendingReboot = "pending-reboot"
	statusApplying      = "applying"
)

// maxModify is the most parameters one Modify or Reset call may carry.
const maxModify = 20

var familyRE = regexp.MustCompile(`^aurora-postgresql(1[0-9])$`)

// familyFor returns the parameter group family of an engine version.
func familyFor(engineVersion string) string {
	major, _, _ := strings.Cut(engineVersion, ".")
	return "aurora-postgresql" + major
}

func defaultGroupName(family string) string { return "default." + family }

// validGroupName applies RDS's rules for parameter group names.
func validGroupName(field, name string) error {
	if len(name) < 1 || len(name) > 255 {
		return errInvalidValue("The parameter %s must be 1 to 255 characters long.", field)
	}
	return validIdentifierChars(field, name)
}

func validIdentifierChars(field, name string) error {
	ok := name[0] >= 'a' && name[0] <= 'z'
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok || strings.HasSuffix(name, "-") || strings.Contains(name, "--") {
		return errInvalidValue("The parameter %s is not a valid identifier. Identifiers must begin with a letter; "+
			"must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.", field)
	}
	return nil
}

func (e *Emulator) groups(k groupKind) map[string]*paramGroup {
	if k == clusterKind {
		return e.clusterGroups
	}
	return e.instanceGroups
}

func (e *Emulator) groupARN(g *paramGroup) string {
	if g.kind == clusterKind {
		return e.arn("cluster-pg", g.name)
	}
	return e.arn("pg", g.name)
}

// ensureDefaultGroupsLocked creates the default groups of a family.
func (e *Emulator) ensureDefaultGroupsLocked(family string) {
	for _, k := range []groupKind{clusterKind, instanceKind} {
		name := defaultGroupName(family)
		if _, ok := e.groups(k)[name]; ok {
			continue
		}
		desc := "Default cluster parameter group for " + family
		if k == instanceKind {
			desc = "Default parameter group for " + family
		}
		e.groups(k)[name] = &paramGroup{kind: k, name: name, family: family, description: desc, isDefault: true, values: map[string]groupValue{}}
	}
}

// lookupGroupLocked finds a group by name; default groups of any valid
// family exist on first mention, as they do in an AWS account.
func (e *Emulator) lookupGroupLocked(k groupKind, name string) (*paramGroup, bool) {
	name = strings.ToLower(name)
	if g, ok := e.groups(k)[name]; ok {
		return g, true
	}
	if fam, ok := strings.CutPrefix(name, "default."); ok && familyRE.MatchString(fam) {
		e.ensureDefaultGroupsLocked(fam)
		return e.groups(k)[name], true
	}
	return nil, false
}

func groupNameKey(k groupKind) string {
	if k == clusterKind {
		return "DBClusterParameterGroupName"
	}
	return "DBParameterGroupName"
}

// createGroup implements Create{DBCluster,DB}ParameterGroup.
func (e *Emulator) createGroup(k groupKind, r *request) (*paramGroup, error) {
	name, err := r.required(groupNameKey(k))
	if err != nil {
		return nil, err
	}
	name = strings.ToLower(name)
	if err := validGroupName(groupNameKey(k), name); err != nil {
		return nil, err
	}
	family, err := r.required("DBParameterGroupFamily")
	if err != nil {
		return nil, err
	}
	if !familyRE.MatchString(family) {
		return nil, errInvalidValue("ParameterGroupFamily %s is not a valid parameter group family: auroratest emulates aurora-postgresql10 to aurora-postgresql19.", family)
	}
	desc, err := r.required("Description")
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.groups(k)[name]; ok {
		what := "Parameter group"
		if k == clusterKind {
			what = "DB Cluster Parameter Group"
		}
		return nil, &apiError{http.StatusBadRequest, "DBParameterGroupAlreadyExists", what + " " + name + " already exists"}
	}
	g := &paramGroup{kind: k, name: name, family: family, description: desc, values: map[string]groupValue{}}
	e.groups(k)[name] = g
	return g, nil
}

func (e *Emulator) actCreateDBClusterParameterGroup(r *request) (any, error) {
	g, err := e.createGroup(clusterKind, r)
	if err != nil {
		return nil, err
	}
	return xCreateDBClusterParameterGroupResult{DBClusterParameterGroup: e.xClusterGroup(g)}, nil
}

func (e *Emulator) actCreateDBParameterGroup(r *request) (any, error) {
	g, err := e.createGroup(instanceKind, r)
	if err != nil {
		return nil, err
	}
	return xCreateDBParameterGroupResult{DBParameterGroup: e.xInstanceGroup(g)}, nil
}

func (e *Emulator) xClusterGroup(g *paramGroup) xDBClusterParameterGroup {
	return xDBClusterParameterGroup{DBClusterParameterGroupName: g.name, DBParameterGroupFamily: g.family,
		Description: g.description, DBClusterParameterGroupArn: e.groupARN(g)}
}

func (e *Emulator) xInstanceGroup(g *paramGroup) xDBParameterGroup {
	return xDBParameterGroup{DBParameterGroupName: g.name, DBParameterGroupFamily: g.family,
		Description: g.description, DBParameterGroupArn: e.groupARN(g)}
}

// deleteGroup implements Delete{DBCluster,DB}ParameterGroup.
func (e *Emulator) deleteGroup(k groupKind, r *request) (any, error) {
	name, err := r.required(groupNameKey(k))
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	g, ok := e.lookupGroupLocked(k, name)
	if !ok {
		return nil, errGroupNotFound(k, name)
	}
	if g.isDefault {
		what := "Default DBParameterGroup"
		if k == clusterKind {
			what = "Default DBClusterParameterGroup"
		}
		return nil, &apiError{http.StatusBadRequest, "InvalidDBParameterGroupState", what + " cannot be deleted: " + g.name}
	}
	for _, c := range e.clusterOrder {
		if k == clusterKind && c.clusterGroup == g.name {
			return nil, &apiError{http.StatusBadRequest, "InvalidDBParameterGroupState",
				"One or more database clusters are still members of this parameter group " + g.name + ", so the group cannot be deleted"}
		}
		for _, in := range c.members {
			if k == instanceKind && in.instanceGroup == g.name {
				return nil, &apiError{http.StatusBadRequest, "InvalidDBParameterGroupState",
					"One or more database instances are still members of this parameter group " + g.name + ", so the group cannot be deleted"}
			}
		}
	}
	delete(e.groups(k), g.name)
	return nil, nil
}

func (e *Emulator) actDeleteDBClusterParameterGroup(r *request) (any, error) {
	return e.deleteGroup(clusterKind, r)
}

func (e *Emulator) actDeleteDBParameterGroup(r *request) (any, error) {
	return e.deleteGroup(instanceKind, r)
}

// describeGroups lists groups, or the one named, sorted by name.
func (e *Emulator) describeGroups(k groupKind, r *request) ([]*paramGroup, string, error) {
	name := r.str(groupNameKey(k))
	e.mu.Lock()
	defer e.mu.Unlock()
	var list []*paramGroup
	if name != "" {
		g, ok := e.lookupGroupLocked(k, name)
		if !ok {
			return nil, "", errGroupNotFound(k, name)
		}
		list = []*paramGroup{g}
	} else {
		for _, g := range e.groups(k) {
			list = append(list, g)
		}
		slices.SortFunc(list, func(a, b *paramGroup) int { return strings.Compare(a.name, b.name) })
	}
	from, to, next, err := r.page(len(list))
	if err != nil {
		return nil, "", err
	}
	return list[from:to], next, nil
}

func (e *Emulator) actDescribeDBClusterParameterGroups(r *request) (any, error) {
	list, next, err := e.describeGroups(clusterKind, r)
	if err != nil {
		return nil, err
	}
	var res xDescribeDBClusterParameterGroupsResult
	res.Marker = next
	for _, g := range list {
		res.DBClusterParameterGroups.Items = append(res.DBClusterParameterGroups.Items, e.xClusterGroup(g))
	}
	return res, nil
}

func (e *Emulator) actDescribeDBParameterGroups(r *request) (any, error) {
	list, next, err := e.describeGroups(instanceKind, r)
	if err != nil {
		return nil, err
	}
	var res xDescribeDBParameterGroupsResult
	res.Marker = next
	for _, g := range list {
		res.DBParameterGroups.Items = append(res.DBParameterGroups.Items, e.xInstanceGroup(g))
	}
	return res, nil
}

// xParam renders one parameter of a group (g nil: the engine defaults).
func xParam(p *paramSpec, g *paramGroup) xParameter {
	x := xParameter{
		ParameterName: p.name, Description: p.description, Source: "engine-default",
		ApplyType: p.applyType, DataType: p.dataType, AllowedValues: p.allowed,
		IsModifiable: p.modifiable, ApplyMethod: methodPendingReboot,
	}
	if p.systemValue != "" {
		v := p.systemValue
		x.ParameterValue, x.Source = &v, "system"
	}
	if g != nil {
		if gv, ok := g.values[p.name]; ok {
			v := gv.value
			x.ParameterValue, x.Source, x.ApplyMethod = &v, "user", gv.method
		}
	}
	return x
}

// describeParams implements Describe{DBCluster,DB}Parameters.
func (e *Emulator) describeParams(k groupKind, r *request) (any, error) {
	name, err := r.required(groupNameKey(k))
	if err != nil {
		return nil, err
	}
	source := r.str("Source")
	switch source {
	case "", "user", "system", "engine-default":
	default:
		return nil, errInvalidValue("Invalid Source %q: use user, system or engine-default.", source)
	}
	if _, err := r.filters(); err != nil {
		return nil, err
	}
	if len(r.members("Filters.Filter")) > 0 {
		return nil, errInvalidValue("Filters are not supported for %s; use Source.", r.action)
	}
	e.mu.Lock()
	g, ok := e.lookupGroupLocked(k, name)
	if !ok {
		e.mu.Unlock()
		return nil, errGroupNotFound(k, name)
	}
	var all []xParameter
	for _, p := range e.catalog.forKind(k) {
		x := xParam(p, g)
		if source == "" || x.Source == source {
			all = append(all, x)
		}
	}
	e.mu.Unlock()
	from, to, next, err := r.page(len(all))
	if err != nil {
		return nil, err
	}
	return xParametersResult{Marker: next, Parameters: xParameterList{Items: all[from:to]}}, nil
}

func (e *Emulator) actDescribeDBClusterParameters(r *request) (any, error) {
	return e.describeParams(clusterKind, r)
}

func (e *Emulator) actDescribeDBParameters(r *request) (any, error) {
	return e.describeParams(instanceKind, r)
}

// engineDefaults implements DescribeEngineDefault{Cluster,}Parameters.
func (e *Emulator) engineDefaults(k groupKind, r *request) (any, error) {
	family, err := r.required("DBParameterGroupFamily")
	if err != nil {
		return nil, err
	}
	if !familyRE.MatchString(family) {
		return nil, errInvalidValue("ParameterGroupFamily %s is not a valid parameter group family: auroratest emulates aurora-postgresql10 to aurora-postgresql19.", family)
	}
	if len(r.members("Filters.Filter")) > 0 {
		return nil, errInvalidValue("Filters are not supported for %s.", r.action)
	}
	var all []xParameter
	for _, p := range e.catalog.forKind(k) {
		all = append(all, xParam(p, nil))
	}
	from, to, next, err := r.page(len(all))
	if err != nil {
		return nil, err
	}
	return xEngineDefaultsResult{EngineDefaults: xEngineDefaults{
		DBParameterGroupFamily: family, Marker: next, Parameters: xParameterList{Items: all[from:to]},
	}}, nil
}

func (e *Emulator) actDescribeEngineDefaultClusterParameters(r *request) (any, error) {
	return e.engineDefaults(clusterKind, r)
}

func (e *Emulator) actDescribeEngineDefaultParameters(r *request) (any, error) {
	return e.engineDefaults(instanceKind, r)
}

// paramChange is one validated change to a group.
type paramChange struct {
	spec   *paramSpec
	value  string // "" for a reset
	method string
}

// parseChanges validates the Parameters list of a Modify or Reset call.
// Nothing is changed here: every problem is found before any effect.
func (e *Emulator) parseChanges(k groupKind, r *request, reset bool) ([]paramChange, error) {
	items := r.members("Parameters.Parameter")
	if len(items) > maxModify {
		return nil, errInvalidValue("%d parameters were given: a maximum of %d parameters can be modified in a single request.", len(items), maxModify)
	}
	var out []paramChange
	seen := map[string]bool{}
	for i, it := range items {
		name := strings.TrimSpace(it["ParameterName"])
		if name == "" {
			return nil, errInvalidValue("Parameters.Parameter.%d.ParameterName is missing.", i+1)
		}
		p := e.catalog.lookup(name)
		if p == nil || (k == instanceKind && p.level == levelClusterOnly) {
			return nil, errInvalidValue("Could not find parameter with name: %s", name)
		}
		if seen[p.name] {
			return nil, errInvalidValue("Parameter %s appears more than once in the request.", p.name)
		}
		seen[p.name] = true
		if !p.modifiable {
			return nil, errInvalidValue("The parameter %s cannot be modified.", p.name)
		}
		method, hasMethod := it["ApplyMethod"]
		switch {
		case !hasMethod && reset:
			method = methodImmediate
			if p.static() {
				method = methodPendingReboot
			}
		case method == methodImmediate || method == methodPendingReboot:
		case !hasMethod:
			return nil, errInvalidValue("Parameters.Parameter.%d.ApplyMethod is missing for %s: use immediate or pending-reboot.", i+1, p.name)
		default:
			return nil, errInvalidValue("Invalid ApplyMethod %q for %s: use immediate or pending-reboot.", method, p.name)
		}
		if method == methodImmediate && p.static() {
			// Aurora answers InvalidParameterCombination ("cannot use
			// immediate apply method for static parameter"); the SDK's
			// issue #3 specifies InvalidParameterValue.
			return nil, errInvalidValue("cannot use immediate apply method for static parameter %s", p.name)
		}
		c := paramChange{spec: p, method: method}
		if !reset {
			raw, ok := it["ParameterValue"]
			if !ok {
				return nil, errInvalidValue("Parameters.Parameter.%d.ParameterValue is missing for %s.", i+1, p.name)
			}
			v, err := p.validate(raw)
			if err != nil {
				return nil, err
			}
			c.value = v
		}
		out = append(out, c)
	}
	return out, nil
}

// modifyGroup implements Modify{DBCluster,DB}ParameterGroup.
func (e *Emulator) modifyGroup(k groupKind, r *request) (string, error) {
	name, err := r.required(groupNameKey(k))
	if err != nil {
		return "", err
	}
	changes, err := e.parseChanges(k, r, false)
	if err != nil {
		return "", err
	}
	if len(changes) == 0 {
		return "", errMissing("Parameters.Parameter.1")
	}
	e.mu.Lock()
	g, ok := e.lookupGroupLocked(k, name)
	if !ok {
		e.mu.Unlock()
		return "", errGroupNotFound(k, name)
	}
	if g.isDefault {
		e.mu.Unlock()
		return "", errInvalidValue("Cannot modify a default parameter group.")
	}
	for _, c := range changes {
		g.values[c.spec.name] = groupValue{value: c.value, method: c.method}
	}
	e.mu.Unlock()
	return g.name, e.applyGroupChanges(g, changes)
}

// resetGroup implements Reset{DBCluster,DB}ParameterGroup.
func (e *Emulator) resetGroup(k groupKind, r *request) (string, error) {
	name, err := r.required(groupNameKey(k))
	if err != nil {
		return "", err
	}
	all, err := r.optBool("ResetAllParameters", false)
	if err != nil {
		return "", err
	}
	changes, err := e.parseChanges(k, r, true)
	if err != nil {
		return "", err
	}
	if all && len(changes) > 0 {
		return "", errInvalidCombination("Specify either ResetAllParameters or a list of parameters, not both.")
	}
	if !all && len(changes) == 0 {
		return "", errInvalidCombination("Specify ResetAllParameters=true or a list of parameters to reset.")
	}
	e.mu.Lock()
	g, ok := e.lookupGroupLocked(k, name)
	if !ok {
		e.mu.Unlock()
		return "", errGroupNotFound(k, name)
	}
	if g.isDefault {
		e.mu.Unlock()
		return "", errInvalidValue("Cannot modify a default parameter group.")
	}
	if all {
		// Dynamic parameters are reset at once, static ones at the next
		// reboot.
		for _, pname := range slices.Sorted(maps.Keys(g.values)) {
			p := e.catalog.lookup(pname)
			m := methodImmediate
			if p.static() {
				m = methodPendingReboot
			}
			changes = append(changes, paramChange{spec: p, method: m})
		}
	}
	for _, c := range changes {
		delete(g.values, c.spec.name)
	}
	e.mu.Unlock()
	return g.name, e.applyGroupChanges(g, changes)
}

// groupAction adapts modifyGroup or resetGroup to an action for groups of
// kind k, answering with the group's name as RDS does.
func groupAction(k groupKind, do func(groupKind, *request) (string, error)) func(*request) (any, error) {
	return func(r *request) (any, error) {
		name, err := do(k, r)
		if err != nil {
			return nil, err
		}
		if k == clusterKind {
			return xClusterGroupNameResult{DBClusterParameterGroupName: name}, nil
		}
		return xGroupNameResult{DBParameterGroupName: name}, nil
	}
}
