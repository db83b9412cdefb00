package params

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// Kind says whether a parameter group belongs to a DB cluster or to a DB
// instance. Aurora has both: cluster groups apply to every member of the
// cluster, instance groups to one instance, and a value set in an instance
// group overrides the cluster group's value for that instance.
type Kind int

const (
	// ClusterGroup is a DB cluster parameter group.
	ClusterGroup Kind = iota + 1
	// InstanceGroup is a DB (instance) parameter group.
	InstanceGroup
)

// String returns "cluster" or "instance".
func (k Kind) String() string {
	switch k {
	case ClusterGroup:
		return "cluster"
	case InstanceGroup:
		return "instance"
	default:
		return fmt.Sprintf("Kind(%d)", int(k))
	}
}

// Change is one parameter to set in a parameter group. An empty Method means
// "the right one for this parameter": types.ApplyMethodImmediate for
// dynamic parameters and types.ApplyMethodPendingReboot for static ones, as
// decided by the service that applies it. RDS accepts immediate only for
// dynamic parameters.
type Change struct {
	// Name is the parameter name, for example "shared_preload_libraries".
	Name string
	// Value is the value as RDS expects it in ModifyDB*ParameterGroup.
	Value string
	// Method is when the change takes effect; empty picks the parameter's
	// natural method.
	Method types.ApplyMethod
}

// String formats the change as name=value (method).
func (c Change) String() string {
	var b strings.Builder
	b.WriteString(c.Name)
	b.WriteString("=")
	b.WriteString(c.Value)
	if c.Method != "" {
		b.WriteString(" (")
		b.WriteString(string(c.Method))
		b.WriteString(")")
	}
	return b.String()
}
