package params

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/pgaurora/pgaurora/internal/guc"
)

// MaxChangesPerCall is the most parameters RDS accepts in one
// ModifyDBClusterParameterGroup, ModifyDBParameterGroup or Reset call.
const MaxChangesPerCall = 20

// Call is one ModifyDBClusterParameterGroup or ModifyDBParameterGroup
// request of a plan: at most MaxChangesPerCall changes, all with the same
// apply method.
type Call struct {
	// Method is the apply method of every change in the call.
	Method types.ApplyMethod
	// Changes are the parameters the call sets, with canonical values and
	// resolved methods.
	Changes []Change
}

// PlanOptions adds facts to PlanCalls. The zero value (or nil) plans from
// the catalog alone.
type PlanOptions struct {
	// Metadata is the group's parameter metadata from the API. When set,
	// every change is also checked with ValidateAgainst, and parameters
	// the catalog does not know get their natural method from the API's
	// apply type (and booleans their "1"/"0" spelling).
	Metadata []Parameter
	// EngineVersion, when set, refuses parameters the version lacks (see
	// CheckEngineVersion).
	EngineVersion string
}

// togetherRule names a set of parameters that must change in one call when
// several of them are in a change set, so that a failed call never leaves
// half of a configuration recorded.
type togetherRule struct {
	name  string
	match func(name string) bool
}

var togetherRules = []togetherRule{
	{
		// The values sized by SizeLogicalReplication depend on each other:
		// max_worker_processes must cover the workers of the others.
		name: "logical replication sizing",
		match: func(n string) bool {
			switch n {
			case "rds.logical_replication", "max_replication_slots", "max_wal_senders",
				"max_logical_replication_workers", "max_worker_processes",
				"autovacuum_max_workers", "max_parallel_workers":
				return true
			}
			return false
		},
	},
	{
		// pgAudit settings mean nothing until the library is preloaded.
		name: "pgaudit",
		match: func(n string) bool {
			return n == SharedPreloadLibraries || strings.HasPrefix(n, "pgaudit.")
		},
	},
	{
		// pglogical settings need the library preloaded, and its
		// timestamp-based conflict resolutions need commit timestamps.
		name: "pglogical",
		match: func(n string) bool {
			return n == SharedPreloadLibraries || n == "track_commit_timestamp" || strings.HasPrefix(n, "pglogical.")
		},
	},
}

// Coupled reports whether the SDK keeps the two parameters in
// one API call when both are in a change set with the same apply method.
// The rule sets are: the logical replication sizing parameters
// (rds.logical_replication, max_replication_slots, max_wal_senders,
// max_logical_replication_workers, max_worker_processes,
// autovacuum_max_workers, max_parallel_workers); shared_preload_libraries
// with every pgaudit.* parameter; and shared_preload_libraries with
// track_commit_timestamp and every pglogical.* parameter. Sets that share
// a member join.
func Coupled(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if a == b {
		return true
	}
	_, groups := togetherUnits([]Change{{Name: a}, {Name: b}})
	return groups[0] == groups[1]
}

// togetherUnits joins the indexes of changes that must travel together
// (union-find) and returns each change's unit representative.
func togetherUnits(changes []Change) (units map[int][]int, rep []int) {
	parent := make([]int, len(changes))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for _, r := range togetherRules {
		first := -1
		for i, c := range changes {
			if !r.match(strings.ToLower(c.Name)) {
				continue
			}
			if first < 0 {
				first = i
				continue
			}
			if a, b := find(first), find(i); a != b {
				if a < b {
					parent[b] = a
				} else {
					parent[a] = b
				}
			}
		}
	}
	units = make(map[int][]int)
	rep = make([]int, len(changes))
	for i := range changes {
		rep[i] = find(i)
		units[rep[i]] = append(units[rep[i]], i)
	}
	return units, rep
}

// PlanCalls validates a change set for a group of the given kind and splits
// it into the API calls that apply it. It is pure: it makes no call.
//
// Validation comes first and covers every change (see Validate,
// ValidateAll, and with options ValidateAgainst and CheckEngineVersion);
// any problem returns an error and no calls.
//
// Methods: a change with an explicit Method keeps it (types.ApplyMethodImmediate on a
// static parameter is refused, never silently changed). An empty Method
// becomes types.ApplyMethodPendingReboot for static parameters and types.ApplyMethodImmediate for dynamic
// ones; for a parameter neither the catalog nor Metadata knows, it becomes
// types.ApplyMethodPendingReboot, which RDS accepts for every parameter.
//
// Batching: immediate and pending-reboot changes go in separate calls,
// each call holds at most MaxChangesPerCall changes, and parameters that
// must change together (see Coupled) stay in one call. When
// such a set mixes methods, its members with an empty Method follow the
// set to types.ApplyMethodPendingReboot, so that, say, pgaudit.log is recorded with the
// shared_preload_libraries change that makes it meaningful; members with
// an explicit types.ApplyMethodImmediate are kept in an immediate call. Changes are packed
// first-fit in input order, so 95 changes of one method make exactly 5
// calls. Pending-reboot calls come first: a later failure then never
// leaves a dynamic setting live whose static prerequisite was not
// recorded.
func PlanCalls(kind Kind, changes []Change, opts *PlanOptions) ([]Call, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &PlanOptions{}
	}
	canon, err := canonicalChanges(kind, changes)
	if err != nil {
		return nil, err
	}
	var meta map[string]Parameter
	if opts.Metadata != nil {
		if err := ValidateAgainst(opts.Metadata, canon); err != nil {
			return nil, err
		}
		meta = indexParameters(opts.Metadata)
	}
	if err := CheckEngineVersion(opts.EngineVersion, canon...); err != nil {
		return nil, err
	}
	if len(canon) == 0 {
		return nil, nil
	}

	explicit := make([]bool, len(canon))
	for i := range canon {
		c := &canon[i]
		explicit[i] = c.Method != ""
		spec, known := Lookup(c.Name)
		p, hasMeta := meta[strings.ToLower(c.Name)]
		if !known && hasMeta && p.DataType == "boolean" {
			if b, ok := guc.ParseBool(c.Value); ok {
				c.Value = map[bool]string{true: "1", false: "0"}[b]
			}
		}
		if c.Method != "" {
			continue
		}
		apply := ApplyType("")
		switch {
		case known:
			apply = spec.Apply
		case hasMeta:
			apply = p.ApplyType
		}
		if apply == Dynamic {
			c.Method = types.ApplyMethodImmediate
		} else {
			c.Method = types.ApplyMethodPendingReboot
		}
	}

	units, rep := togetherUnits(canon)
	for _, members := range units {
		pending := false
		for _, i := range members {
			pending = pending || canon[i].Method == types.ApplyMethodPendingReboot
		}
		if !pending {
			continue
		}
		for _, i := range members {
			if !explicit[i] {
				canon[i].Method = types.ApplyMethodPendingReboot
			}
		}
	}

	var calls []Call
	for _, method := range []types.ApplyMethod{types.ApplyMethodPendingReboot, types.ApplyMethodImmediate} {
		// Build the pieces to pack, in order of each unit's first member.
		var pieces [][]Change
		placed := make(map[int]int) // unit representative -> piece index
		for i, c := range canon {
			if c.Method != method {
				continue
			}
			if k, ok := placed[rep[i]]; ok {
				pieces[k] = append(pieces[k], c)
				continue
			}
			placed[rep[i]] = len(pieces)
			pieces = append(pieces, []Change{c})
		}
		var mine []Call
		for _, piece := range pieces {
			if len(piece) > MaxChangesPerCall {
				names := make([]string, len(piece))
				for i, c := range piece {
					names[i] = c.Name
				}
				return nil, &ValidationError{Field: "change set",
					Reason: fmt.Sprintf("has %d %s changes that must be applied together (%s), more than the %d RDS accepts in one call; split the change set",
						len(piece), method, strings.Join(names, ", "), MaxChangesPerCall)}
			}
			k := slices.IndexFunc(mine, func(c Call) bool { return len(c.Changes)+len(piece) <= MaxChangesPerCall })
			if k < 0 {
				mine = append(mine, Call{Method: method})
				k = len(mine) - 1
			}
			mine[k].Changes = append(mine[k].Changes, piece...)
		}
		calls = append(calls, mine...)
	}
	return calls, nil
}

// planResetCalls splits parameter names to reset into calls of at most
// MaxChangesPerCall. Each change has an empty Value and the method RDS
// needs for the reset: types.ApplyMethodImmediate for dynamic parameters, types.ApplyMethodPendingReboot for
// static ones and for parameters the catalog and meta do not know.
func planResetCalls(names []string, meta []Parameter) ([]Call, error) {
	if len(names) == 0 {
		return nil, &ValidationError{Field: "names",
			Reason: "is empty; name the parameters to reset, or use Service.ResetAll"}
	}
	idx := indexParameters(meta)
	seen := make(map[string]bool, len(names))
	var errs []error
	changes := make([]Change, 0, len(names))
	for _, n := range names {
		if strings.TrimSpace(n) == "" || n != strings.TrimSpace(n) {
			errs = append(errs, &ValidationError{Param: n, Field: "name", Reason: "is empty or has surrounding spaces"})
			continue
		}
		key := strings.ToLower(n)
		if seen[key] {
			errs = append(errs, &ValidationError{Param: n, Field: "name", Reason: "appears more than once"})
			continue
		}
		seen[key] = true
		c := Change{Name: n, Method: types.ApplyMethodPendingReboot}
		if spec, ok := Lookup(n); ok {
			c.Name = spec.Name
			if spec.Apply == Dynamic {
				c.Method = types.ApplyMethodImmediate
			}
		} else if p, ok := idx[key]; ok && p.ApplyType == Dynamic {
			c.Method = types.ApplyMethodImmediate
		}
		changes = append(changes, c)
	}
	if len(errs) > 0 {
		return nil, joinErrs(errs)
	}
	var calls []Call
	for start := 0; start < len(changes); start += MaxChangesPerCall {
		end := min(start+MaxChangesPerCall, len(changes))
		calls = append(calls, Call{Changes: changes[start:end:end]})
	}
	return calls, nil
}

// Plan is a change set computed against a group's current values, ready
// for Service.Apply. Build it with Service.Plan, or fill it from Diff.
type Plan struct {
	// Kind and Group name the parameter group.
	Kind  Kind
	Group string
	// Changes are the parameters whose value differs; empty when the group
	// already has every desired value.
	Changes []Change

	meta []Parameter
}

// Empty reports whether the plan changes nothing.
func (p Plan) Empty() bool { return len(p.Changes) == 0 }

// Diff returns the desired changes whose values differ from the group's
// current values, in the order given: the minimal change set. Values are
// compared as the engine would (see EqualValues): "on" equals "1", "0010"
// equals "10", and "pgaudit, pglogical" equals "pgaudit,pglogical" but not
// "pglogical,pgaudit". A parameter with no current value (engine default)
// or missing from current always differs. Changes are returned as given.
func Diff(current []Parameter, desired []Change) []Change {
	idx := indexParameters(current)
	var out []Change
	for _, c := range desired {
		p, ok := idx[strings.ToLower(c.Name)]
		if ok && p.Value != "" && EqualValues(c.Name, p.DataType, p.Value, c.Value) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// DiffValues is Diff for current values held in a map from parameter name
// to value (for example, read from pg_settings or a previous plan).
func DiffValues(current map[string]string, desired []Change) []Change {
	lower := make(map[string]string, len(current))
	for k, v := range current {
		lower[strings.ToLower(k)] = v
	}
	var out []Change
	for _, c := range desired {
		v, ok := lower[strings.ToLower(c.Name)]
		if ok && v != "" && EqualValues(c.Name, "", v, c.Value) {
			continue
		}
		out = append(out, c)
	}
	return out
}
