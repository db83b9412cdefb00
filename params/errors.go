package params

import (
	"errors"
	"fmt"
	"strings"
)

// ErrGroupNotFound is matched (with errors.Is) by errors from calls that
// name a parameter group RDS does not have. The RDS fault
// (*types.DBParameterGroupNotFoundFault) stays in the chain for errors.As.
var ErrGroupNotFound = errors.New("parameter group not found")

// ValidationError reports input that was rejected before any call was
// made: a bad group name, an unknown enum value, an out-of-range number, a
// static parameter asked to apply immediately, and so on. Several problems
// found at once are returned joined (errors.Join); errors.As finds the
// first.
type ValidationError struct {
	// Param is the parameter the problem is about; empty when the problem
	// is not about one parameter (a group name, a kind).
	Param string
	// Field names what is wrong: "group name", "value", "method", "name",
	// "kind", "group kind", "engine version", "source".
	Field string
	// Value is the rejected input, quoted in the message. Values of
	// parameters that may carry secrets are not kept.
	Value string
	// Reason says why the input was rejected and what is allowed.
	Reason string
}

// Error formats the problem as
// `params: parameter "name": value "x" reason`.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("params: ")
	if e.Param != "" {
		fmt.Fprintf(&b, "parameter %q: ", e.Param)
	}
	b.WriteString(e.Field)
	if e.Value != "" {
		fmt.Fprintf(&b, " %q", truncate(e.Value, 80))
	}
	b.WriteString(" ")
	b.WriteString(e.Reason)
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// ModifyError reports a Modify, Apply or Reset that failed part-way. The
// changes in Applied were accepted by RDS in earlier calls; the changes in
// NotApplied were not (the failing call and every call after it). Because
// RDS applies one ModifyDB*ParameterGroup call atomically, this split is
// exact.
type ModifyError struct {
	// Op is "modify" or "reset".
	Op string
	// Kind and Group name the parameter group.
	Kind  Kind
	Group string
	// Applied lists the changes RDS accepted before the failure. For a
	// reset, Value is empty.
	Applied []Change
	// NotApplied lists the changes RDS did not accept.
	NotApplied []Change
	// Call is the 1-based number of the failing API call, and Calls the
	// number of calls planned.
	Call, Calls int
	// Err is the cause, usually an RDS API error.
	Err error
}

// Error names the group, the failing call and the parameters on each side.
// Values are not printed.
func (e *ModifyError) Error() string {
	return fmt.Sprintf("params: %s %s parameter group %q: call %d of %d failed; applied [%s], not applied [%s]: %v",
		e.Op, e.Kind, e.Group, e.Call, e.Calls, changeNames(e.Applied), changeNames(e.NotApplied), e.Err)
}

// Unwrap returns the cause.
func (e *ModifyError) Unwrap() error { return e.Err }

func changeNames(cs []Change) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// RebootError reports reboot orchestration that stopped part-way: which
// instances were rebooted and back in sync, which one failed, and which
// were not touched.
type RebootError struct {
	// Cluster is the DB cluster identifier.
	Cluster string
	// Done lists the instances that were rebooted and came back
	// available and in-sync.
	Done []string
	// Failed is the instance being rebooted or waited for when the error
	// happened.
	Failed string
	// Unconfirmed lists other instances whose reboot RDS accepted but
	// that were not yet seen available and in-sync (readers rebooting in
	// the same batch as Failed).
	Unconfirmed []string
	// NotRebooted lists instances still pending a reboot that were not
	// rebooted.
	NotRebooted []string
	// Err is the cause (an API error, or the context's error when the
	// wait ran out of time).
	Err error
}

// Error names the cluster and the instances on each side.
func (e *RebootError) Error() string {
	var unconfirmed string
	if len(e.Unconfirmed) > 0 {
		unconfirmed = fmt.Sprintf(", rebooting [%s]", strings.Join(e.Unconfirmed, ", "))
	}
	return fmt.Sprintf("params: reboot of cluster %q stopped at instance %q; rebooted and in-sync [%s]%s, not rebooted [%s]: %v",
		e.Cluster, e.Failed, strings.Join(e.Done, ", "), unconfirmed, strings.Join(e.NotRebooted, ", "), e.Err)
}

// Unwrap returns the cause.
func (e *RebootError) Unwrap() error { return e.Err }
