package auroratest

import (
	"context"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Parameter groups: the fourteen parameter-group actions, for DB cluster
// parameter groups and DB (instance) parameter groups alike.

type groupKind int

const (
	clusterKind groupKind = iota + 1
	instanceKind
)

// paramGroup is a DB cluster parameter group or a DB parameter group. Its
// fields are part of the state (see state.go).
type paramGroup struct {
	kind        groupKind
	name        string
	family      string
	description string
	isDefault   bool
	values      map[string]groupValue // user-set values by parameter name
	tags        tagList
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

func (s *state) groups(k groupKind) map[string]*paramGroup {
	if k == clusterKind {
		return s.clusterGroups
	}
	return s.instanceGroups
}

func (e *Emulator) groupARN(g *paramGroup) string {
	if g.kind == clusterKind {
		return e.arn("cluster-pg", g.name)
	}
	return e.arn("pg", g.name)
}

// ensureDefaultGroups creates the default groups of a family.
func (s *state) ensureDefaultGroups(family string) {
	for _, k := range []groupKind{clusterKind, instanceKind} {
		name := defaultGroupName(family)
		if _, ok := s.groups(k)[name]; ok {
			continue
		}
		desc := "Default cluster parameter group for " + family
		if k == instanceKind {
			desc = "Default parameter group for " + family
		}
		s.groups(k)[name] = &paramGroup{kind: k, name: name, family: family, description: desc, isDefault: true, values: map[string]groupValue{}}
	}
}

// group finds a group by name or ARN; default groups of any valid family
// exist on first mention, as they do in an AWS account.
func (s *state) group(e *Emulator, k groupKind, name string) (*paramGroup, bool) {
	name = strings.ToLower(name)
	name = strings.TrimPrefix(name, e.arn("cluster-pg", ""))
	name = strings.TrimPrefix(name, e.arn("pg", ""))
	if g, ok := s.groups(k)[name]; ok {
		return g, true
	}
	if fam, ok := strings.CutPrefix(name, "default."); ok && familyRE.MatchString(fam) {
		s.ensureDefaultGroups(fam)
		return s.groups(k)[name], true
	}
	return nil, false
}

// Requests. The two kinds of group name their group differently; each
// action has its own request type, and the handlers share the work.

type createClusterGroupIn struct {
	DBClusterParameterGroupName string `rds:",required"`
	DBParameterGroupFamily      string `rds:",required"`
	Description                 string `rds:",required"`
	tagsIn
}

type createGroupIn struct {
	DBParameterGroupName   string `rds:",required"`
	DBParameterGroupFamily string `rds:",required"`
	Description            string `rds:",required"`
	tagsIn
}

type clusterGroupNameIn struct {
	DBClusterParameterGroupName string `rds:",required"`
}

type groupNameIn struct {
	DBParameterGroupName string `rds:",required"`
}

type describeClusterGroupsIn struct {
	DBClusterParameterGroupName string
	listIn
}

type describeGroupsIn struct {
	DBParameterGroupName string
	listIn
}

// parameterIn is one Parameters.Parameter.N of a Modify or Reset call.
type parameterIn struct {
	ParameterName  string
	ParameterValue *string
	ApplyMethod    *string
}

type modifyClusterGroupIn struct {
	DBClusterParameterGroupName string        `rds:",required"`
	Parameters                  []parameterIn `rds:",list=Parameter"`
}

type modifyGroupIn struct {
	DBParameterGroupName string        `rds:",required"`
	Parameters           []parameterIn `rds:",list=Parameter"`
}

type resetClusterGroupIn struct {
	DBClusterParameterGroupName string        `rds:",required"`
	Parameters                  []parameterIn `rds:",list=Parameter"`
	ResetAllParameters          bool
}

type resetGroupIn struct {
	DBParameterGroupName string        `rds:",required"`
	Parameters           []parameterIn `rds:",list=Parameter"`
	ResetAllParameters   bool
}

type describeClusterParamsIn struct {
	DBClusterParameterGroupName string `rds:",required"`
	Source                      string
	listIn
}

type describeParamsIn struct {
	DBParameterGroupName string `rds:",required"`
	Source               string
	listIn
}

type engineDefaultsIn struct {
	DBParameterGroupFamily string `rds:",required"`
	listIn
}

func (e *Emulator) createDBClusterParameterGroup(ctx context.Context, in *createClusterGroupIn) (any, error) {
	g, err := e.createGroup(clusterKind, in.DBClusterParameterGroupName, in.DBParameterGroupFamily, in.Description, in.Tags)
	if err != nil {
		return nil, err
	}
	return xCreateDBClusterParameterGroupResult{DBClusterParameterGroup: e.xClusterGroup(g)}, nil
}

func (e *Emulator) createDBParameterGroup(ctx context.Context, in *createGroupIn) (any, error) {
	g, err := e.createGroup(instanceKind, in.DBParameterGroupName, in.DBParameterGroupFamily, in.Description, in.Tags)
	if err != nil {
		return nil, err
	}
	return xCreateDBParameterGroupResult{DBParameterGroup: e.xInstanceGroup(g)}, nil
}

func groupNameKey(k groupKind) string {
	if k == clusterKind {
		return "DBClusterParameterGroupName"
	}
	return "DBParameterGroupName"
}

// createGroup implements Create{DBCluster,DB}ParameterGroup.
func (e *Emulator) createGroup(k groupKind, name, family, desc string, tags []tagIn) (*paramGroup, error) {
	name = strings.ToLower(name)
	if err := validGroupName(groupNameKey(k), name); err != nil {
		return nil, err
	}
	if !familyRE.MatchString(family) {
		return nil, errInvalidValue("ParameterGroupFamily %s is not a valid parameter group family: auroratest emulates aurora-postgresql10 to aurora-postgresql19.", family)
	}
	tl, err := newTagList(tags)
	if err != nil {
		return nil, err
	}
	st := e.lock()
	defer st.unlock()
	if _, ok := st.groups(k)[name]; ok {
		what := "Parameter group"
		if k == clusterKind {
			what = "DB Cluster Parameter Group"
		}
		return nil, &apiError{http.StatusBadRequest, "DBParameterGroupAlreadyExists", what + " " + name + " already exists"}
	}
	g := &paramGroup{kind: k, name: name, family: family, description: desc, values: map[string]groupValue{}, tags: tl}
	st.groups(k)[name] = g
	return g, nil
}

func (e *Emulator) xClusterGroup(g *paramGroup) xDBClusterParameterGroup {
	return xDBClusterParameterGroup{DBClusterParameterGroupName: g.name, DBParameterGroupFamily: g.family,
		Description: g.description, DBClusterParameterGroupArn: e.groupARN(g)}
}

func (e *Emulator) xInstanceGroup(g *paramGroup) xDBParameterGroup {
	return xDBParameterGroup{DBParameterGroupName: g.name, DBParameterGroupFamily: g.family,
		Description: g.description, DBParameterGroupArn: e.groupARN(g)}
}

func (e *Emulator) deleteDBClusterParameterGroup(ctx context.Context, in *clusterGroupNameIn) (any, error) {
	return nil, e.deleteGroup(clusterKind, in.DBClusterParameterGroupName)
}

func (e *Emulator) deleteDBParameterGroup(ctx context.Context, in *groupNameIn) (any, error) {
	return nil, e.deleteGroup(instanceKind, in.DBParameterGroupName)
}

// deleteGroup implements Delete{DBCluster,DB}ParameterGroup.
func (e *Emulator) deleteGroup(k groupKind, name string) error {
	st := e.lock()
	defer st.unlock()
	g, ok := st.group(e, k, name)
	if !ok {
		return errGroupNotFound(k, name)
	}
	if g.isDefault {
		what := "Default DBParameterGroup"
		if k == clusterKind {
			what = "Default DBClusterParameterGroup"
		}
		return &apiError{http.StatusBadRequest, "InvalidDBParameterGroupState", what + " cannot be deleted: " + g.name}
	}
	for _, c := range st.clusterOrder {
		if k == clusterKind && c.clusterGroup == g.name {
			return &apiError{http.StatusBadRequest, "InvalidDBParameterGroupState",
				"One or more database clusters are still members of this parameter group " + g.name + ", so the group cannot be deleted"}
		}
		for _, in := range c.members {
			if k == instanceKind && in.instanceGroup == g.name {
				return &apiError{http.StatusBadRequest, "InvalidDBParameterGroupState",
					"One or more database instances are still members of this parameter group " + g.name + ", so the group cannot be deleted"}
			}
		}
	}
	delete(st.groups(k), g.name)
	return nil
}

// groupFilters are the filters of Describe{DBCluster,DB}ParameterGroups.
var groupFilters = filterSet[*paramGroup]{}

// describeGroups lists groups, or the one named, sorted by name.
func (e *Emulator) describeGroups(k groupKind, name string, l listIn) ([]*paramGroup, string, error) {
	st := e.lock()
	defer st.unlock()
	var list []*paramGroup
	if name != "" {
		g, ok := st.group(e, k, name)
		if !ok {
			return nil, "", errGroupNotFound(k, name)
		}
		list = []*paramGroup{g}
	} else {
		for _, g := range st.groups(k) {
			list = append(list, g)
		}
		slices.SortFunc(list, func(a, b *paramGroup) int { return strings.Compare(a.name, b.name) })
	}
	return describe(list, groupFilters, l.Filters, l.pageIn)
}

func (e *Emulator) describeDBClusterParameterGroups(ctx context.Context, in *describeClusterGroupsIn) (any, error) {
	list, next, err := e.describeGroups(clusterKind, in.DBClusterParameterGroupName, in.listIn)
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

func (e *Emulator) describeDBParameterGroups(ctx context.Context, in *describeGroupsIn) (any, error) {
	list, next, err := e.describeGroups(instanceKind, in.DBParameterGroupName, in.listIn)
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
		SupportedEngineModes: xStringList{Items: []string{"provisioned"}},
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

func (e *Emulator) describeDBClusterParameters(ctx context.Context, in *describeClusterParamsIn) (any, error) {
	return e.describeParams(clusterKind, in.DBClusterParameterGroupName, in.Source, in.listIn)
}

func (e *Emulator) describeDBParameters(ctx context.Context, in *describeParamsIn) (any, error) {
	return e.describeParams(instanceKind, in.DBParameterGroupName, in.Source, in.listIn)
}

// paramFilters are the filters of the parameter listings: none (RDS
// documents Filters for them as not supported).
var paramFilters = filterSet[xParameter]{}

// describeParams implements Describe{DBCluster,DB}Parameters.
func (e *Emulator) describeParams(k groupKind, name, source string, l listIn) (any, error) {
	switch source {
	case "", "user", "system", "engine-default":
	default:
		return nil, errInvalidValue("Invalid Source %q: use user, system or engine-default.", source)
	}
	st := e.lock()
	g, ok := st.group(e, k, name)
	if !ok {
		st.unlock()
		return nil, errGroupNotFound(k, name)
	}
	var all []xParameter
	for _, p := range e.catalog.forKind(k, g.family) {
		x := xParam(p, g)
		if source == "" || x.Source == source {
			all = append(all, x)
		}
	}
	st.unlock()
	items, next, err := describe(all, paramFilters, l.Filters, l.pageIn)
	if err != nil {
		return nil, err
	}
	return xParametersResult{Marker: next, Parameters: xParameterList{Items: items}}, nil
}

func (e *Emulator) describeEngineDefaultClusterParameters(ctx context.Context, in *engineDefaultsIn) (any, error) {
	return e.engineDefaults(clusterKind, in)
}

func (e *Emulator) describeEngineDefaultParameters(ctx context.Context, in *engineDefaultsIn) (any, error) {
	return e.engineDefaults(instanceKind, in)
}

// engineDefaults implements DescribeEngineDefault{Cluster,}Parameters.
func (e *Emulator) engineDefaults(k groupKind, in *engineDefaultsIn) (any, error) {
	if !familyRE.MatchString(in.DBParameterGroupFamily) {
		return nil, errInvalidValue("ParameterGroupFamily %s is not a valid parameter group family: auroratest emulates aurora-postgresql10 to aurora-postgresql19.", in.DBParameterGroupFamily)
	}
	var all []xParameter
	for _, p := range e.catalog.forKind(k, in.DBParameterGroupFamily) {
		all = append(all, xParam(p, nil))
	}
	items, next, err := describe(all, paramFilters, in.Filters, in.pageIn)
	if err != nil {
		return nil, err
	}
	return xEngineDefaultsResult{EngineDefaults: xEngineDefaults{
		DBParameterGroupFamily: in.DBParameterGroupFamily, Marker: next, Parameters: xParameterList{Items: items},
	}}, nil
}

// paramChange is one validated change to a group.
type paramChange struct {
	spec   *paramSpec
	value  string // "" for a reset
	method string
}

// parseChanges validates the Parameters list of a Modify or Reset call.
// Nothing is changed here: every problem is found before any effect.
func (e *Emulator) parseChanges(k groupKind, family string, items []parameterIn, reset bool) ([]paramChange, error) {
	if len(items) > maxModify {
		return nil, errInvalidValue("%d parameters were given: a maximum of %d parameters can be modified in a single request.", len(items), maxModify)
	}
	var out []paramChange
	seen := map[string]bool{}
	for i, it := range items {
		name := strings.TrimSpace(it.ParameterName)
		if name == "" {
			return nil, errInvalidValue("Parameters.Parameter.%d.ParameterName is missing.", i+1)
		}
		p := e.catalog.lookupIn(family, name)
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
		var method string
		switch {
		case it.ApplyMethod == nil && reset:
			method = methodImmediate
			if p.static() {
				method = methodPendingReboot
			}
		case it.ApplyMethod == nil:
			return nil, errInvalidValue("Parameters.Parameter.%d.ApplyMethod is missing for %s: use immediate or pending-reboot.", i+1, p.name)
		case *it.ApplyMethod == methodImmediate || *it.ApplyMethod == methodPendingReboot:
			method = *it.ApplyMethod
		default:
			return nil, errInvalidValue("Invalid ApplyMethod %q for %s: use immediate or pending-reboot.", *it.ApplyMethod, p.name)
		}
		if method == methodImmediate && p.static() {
			return nil, errInvalidCombination("cannot use immediate apply method for static parameter")
		}
		c := paramChange{spec: p, method: method}
		if !reset {
			if it.ParameterValue == nil {
				return nil, errInvalidValue("Parameters.Parameter.%d.ParameterValue is missing for %s.", i+1, p.name)
			}
			v, err := p.validate(*it.ParameterValue)
			if err != nil {
				return nil, err
			}
			c.value = v
		}
		out = append(out, c)
	}
	return out, nil
}

func (e *Emulator) modifyDBClusterParameterGroup(ctx context.Context, in *modifyClusterGroupIn) (any, error) {
	name, err := e.modifyGroup(ctx, clusterKind, in.DBClusterParameterGroupName, in.Parameters)
	if err != nil {
		return nil, err
	}
	return xClusterGroupNameResult{DBClusterParameterGroupName: name}, nil
}

func (e *Emulator) modifyDBParameterGroup(ctx context.Context, in *modifyGroupIn) (any, error) {
	name, err := e.modifyGroup(ctx, instanceKind, in.DBParameterGroupName, in.Parameters)
	if err != nil {
		return nil, err
	}
	return xGroupNameResult{DBParameterGroupName: name}, nil
}

func (e *Emulator) resetDBClusterParameterGroup(ctx context.Context, in *resetClusterGroupIn) (any, error) {
	name, err := e.resetGroup(ctx, clusterKind, in.DBClusterParameterGroupName, in.Parameters, in.ResetAllParameters)
	if err != nil {
		return nil, err
	}
	return xClusterGroupNameResult{DBClusterParameterGroupName: name}, nil
}

func (e *Emulator) resetDBParameterGroup(ctx context.Context, in *resetGroupIn) (any, error) {
	name, err := e.resetGroup(ctx, instanceKind, in.DBParameterGroupName, in.Parameters, in.ResetAllParameters)
	if err != nil {
		return nil, err
	}
	return xGroupNameResult{DBParameterGroupName: name}, nil
}

// groupFamily returns the family of a parameter group, so that its
// changes are checked against that family's parameters.
func (e *Emulator) groupFamily(k groupKind, name string) (string, error) {
	st := e.lock()
	defer st.unlock()
	g, ok := st.group(e, k, name)
	if !ok {
		return "", errGroupNotFound(k, name)
	}
	return g.family, nil
}

// modifyGroup implements Modify{DBCluster,DB}ParameterGroup.
func (e *Emulator) modifyGroup(ctx context.Context, k groupKind, name string, items []parameterIn) (string, error) {
	family, err := e.groupFamily(k, name)
	if err != nil {
		return "", err
	}
	changes, err := e.parseChanges(k, family, items, false)
	if err != nil {
		return "", err
	}
	if len(changes) == 0 {
		return "", errMissing("Parameters.Parameter.1")
	}
	st := e.lock()
	g, ok := st.group(e, k, name)
	if !ok {
		st.unlock()
		return "", errGroupNotFound(k, name)
	}
	if g.isDefault {
		st.unlock()
		return "", errInvalidValue("Cannot modify a default parameter group.")
	}
	for _, c := range changes {
		g.values[c.spec.name] = groupValue{value: c.value, method: c.method}
	}
	st.unlock()
	return g.name, e.applyGroupChanges(g, changes)
}

// resetGroup implements Reset{DBCluster,DB}ParameterGroup.
func (e *Emulator) resetGroup(ctx context.Context, k groupKind, name string, items []parameterIn, all bool) (string, error) {
	family, err := e.groupFamily(k, name)
	if err != nil {
		return "", err
	}
	changes, err := e.parseChanges(k, family, items, true)
	if err != nil {
		return "", err
	}
	if all && len(changes) > 0 {
		return "", errInvalidCombination("Specify either ResetAllParameters or a list of parameters, not both.")
	}
	if !all && len(changes) == 0 {
		return "", errInvalidCombination("Specify ResetAllParameters=true or a list of parameters to reset.")
	}
	st := e.lock()
	g, ok := st.group(e, k, name)
	if !ok {
		st.unlock()
		return "", errGroupNotFound(k, name)
	}
	if g.isDefault {
		st.unlock()
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
	st.unlock()
	return g.name, e.applyGroupChanges(g, changes)
}
