package params

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// ApplyType says whether RDS can apply a parameter without a reboot, as
// reported in the ApplyType field of DescribeDBClusterParameters and
// DescribeDBParameters.
type ApplyType string

const (
	// Static parameters take effect only after the instance reboots. RDS
	// refuses the types.ApplyMethodImmediate apply method for them.
	Static ApplyType = "static"
	// Dynamic parameters can be applied at once (types.ApplyMethodImmediate) or at the next
	// reboot (types.ApplyMethodPendingReboot).
	Dynamic ApplyType = "dynamic"
)

// Parameter sources reported by the RDS API and accepted as a filter by
// [Service.ListParameters].
const (
	// SourceUser marks parameters a user set in a custom group.
	SourceUser = "user"
	// SourceSystem marks parameters RDS itself sets (often to a formula).
	SourceSystem = "system"
	// SourceEngineDefault marks parameters left at the engine's default.
	SourceEngineDefault = "engine-default"
)

// Parameter is one parameter of a parameter group as the RDS API describes
// it. The field values are the API's own strings; nothing is normalized.
type Parameter struct {
	// Name is the parameter name, for example "max_wal_senders".
	Name string
	// Value is the value set in the group. It is empty when the API
	// reports none (the engine default applies), and it may be an RDS
	// formula such as "GREATEST(${DBInstanceVCPU*2},8)".
	Value string
	// Source is SourceUser, SourceSystem or SourceEngineDefault.
	Source string
	// ApplyType is Static or Dynamic.
	ApplyType ApplyType
	// DataType is the API's data type: "boolean", "integer", "float",
	// "string" or "list".
	DataType string
	// AllowedValues is the API's description of valid values: a range
	// ("0-262143", "-1-2147483647"), a comma-separated set ("0,1",
	// "md5,scram-sha-256"), or empty when anything goes.
	AllowedValues string
	// Modifiable is false for parameters RDS does not let users change.
	Modifiable bool
	// MinimumEngineVersion is the earliest engine version that has the
	// parameter; empty when the API does not say.
	MinimumEngineVersion string
	// Description is the API's one-line description.
	Description string
	// ApplyMethod is the apply method the API reports for the value.
	ApplyMethod types.ApplyMethod
}

// Group is a DB cluster parameter group or a DB (instance) parameter group.
type Group struct {
	// Name is the group name. Custom groups follow [ValidateGroupName];
	// default groups are named like "default.aurora-postgresql15".
	Name string
	// Kind says whether this is a cluster or an instance group.
	Kind Kind
	// Family is the parameter group family, e.g. "aurora-postgresql15".
	Family string
	// Description is the free-text description RDS requires on creation.
	Description string
	// ARN is the group's Amazon Resource Name, as reported by the API.
	ARN string
}

// MaxGroupNameLength is the longest parameter group name RDS accepts.
const MaxGroupNameLength = 255

// ValidateGroupName checks a custom parameter group name against the rules
// RDS applies on CreateDBClusterParameterGroup and CreateDBParameterGroup:
// 1 to 255 characters; ASCII letters, digits and hyphens only; the first
// character a letter; no trailing hyphen; no two consecutive hyphens.
//
// Default groups ("default.aurora-postgresql15") do not pass: they contain a
// dot, and RDS does not let anyone modify, reset or delete them either.
func ValidateGroupName(name string) error {
	fail := func(why string) error {
		return &ValidationError{Field: "group name", Value: name, Reason: why}
	}
	if name == "" {
		return fail("is empty; a group name has 1 to 255 characters")
	}
	if len(name) > MaxGroupNameLength {
		return fail(fmt.Sprintf("is %d characters long; the maximum is %d", len(name), MaxGroupNameLength))
	}
	if c := name[0]; !isASCIILetter(c) {
		return fail("must start with an ASCII letter")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isASCIILetter(c) && !isASCIIDigit(c) && c != '-' {
			if strings.HasPrefix(name, "default.") {
				return fail("names a default parameter group, which cannot be changed; create a custom group")
			}
			return fail(fmt.Sprintf("contains %q at byte %d; only ASCII letters, digits and hyphens are allowed", c, i))
		}
	}
	if strings.Contains(name, "--") {
		return fail("contains two consecutive hyphens")
	}
	if strings.HasSuffix(name, "-") {
		return fail("ends with a hyphen")
	}
	return nil
}

// checkLookupName is the looser check used for calls that only read a
// group: default group names contain dots and must stay readable.
func checkLookupName(name string) error {
	if name == "" {
		return &ValidationError{Field: "group name", Reason: "is empty"}
	}
	if len(name) > MaxGroupNameLength {
		return &ValidationError{Field: "group name", Value: name,
			Reason: fmt.Sprintf("is %d characters long; the maximum is %d", len(name), MaxGroupNameLength)}
	}
	return nil
}

func checkKind(k Kind) error {
	if k != ClusterGroup && k != InstanceGroup {
		return &ValidationError{Field: "kind", Value: k.String(),
			Reason: "is not a parameter group kind; use params.ClusterGroup or params.InstanceGroup"}
	}
	return nil
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isASCIIDigit(c byte) bool  { return c >= '0' && c <= '9' }
