package aurora

import (
	"errors"
	"fmt"
	"strings"
)

// The errors of this package that callers branch on. AuditLogFileError,
// specific to AuditEntries, is with it in auditlog.go.

// ErrClosed is returned by every call of a Cluster after Close, before
// anything is sent.
var ErrClosed = errors.New("aurora: the Cluster is closed")

// ErrRetryable is matched by errors.Is for errors after which the same
// work can be tried again on a new connection: the writer was lost (a
// failover, a crash, a reboot) or a connection broke. Whether a statement
// that was in flight took effect is unknown, so only retry work that is
// idempotent or transactional; Pool.RunTx does that for a transaction.
var ErrRetryable = errors.New("aurora: retryable")

// ErrCommitUnknown is matched by errors.Is for the error Pool.RunTx
// returns when a transaction's connection was lost while it committed and
// the writer cannot prove whether it did (after a crash, its id may belong
// to a new transaction). The transaction may or may not have committed;
// RunTx does not run it again. Check the data before retrying.
var ErrCommitUnknown = errors.New("aurora: whether the transaction committed is unknown")

// ConnectionLostError reports that a statement failed because its
// connection to the writer (or reader) was lost. It matches ErrRetryable.
type ConnectionLostError struct {
	// Instance is the DB instance the connection went to, when known.
	Instance string
	// Err is what the driver reported.
	Err error
}

func (e *ConnectionLostError) Error() string {
	return fmt.Sprintf("aurora: connection to %s lost (retryable): %v", e.Instance, e.Err)
}

// Unwrap returns the driver's error.
func (e *ConnectionLostError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrRetryable) true.
func (e *ConnectionLostError) Is(target error) bool { return target == ErrRetryable }

// InputError reports a workflow or helper input that was refused before
// anything was called: it names the field, the value and what is allowed.
type InputError struct {
	// Field names the rejected input, for example
	// "LogicalReplicationPlan.Slots".
	Field string
	// Value is the rejected value as text.
	Value string
	// Allowed says what the field accepts.
	Allowed string
}

// Error names the field, the rejected value and what is allowed.
func (e *InputError) Error() string {
	return fmt.Sprintf("aurora: %s is %s; want %s", e.Field, e.Value, e.Allowed)
}

// WorkflowError reports the step at which a workflow failed. Report holds
// the steps that completed before it, so the caller knows exactly what was
// applied. Input refused before the first step fails at the step
// "check input" with an empty Report.
type WorkflowError struct {
	// Workflow names the workflow, for example "EnablePgAudit".
	Workflow string
	// Step is the step that failed.
	Step string
	// Report lists the steps that completed.
	Report *Report
	// Err is the cause.
	Err error
}

func (e *WorkflowError) Error() string {
	var steps []Step
	if e.Report != nil {
		steps = e.Report.Steps
	}
	done := make([]string, 0, len(steps))
	for _, s := range steps {
		done = append(done, s.Name)
	}
	applied := "none"
	if len(done) > 0 {
		applied = strings.Join(done, "; ")
	}
	return fmt.Sprintf("aurora: %s failed at %q (completed: %s): %v", e.Workflow, e.Step, applied, e.Err)
}

// Unwrap returns the cause.
func (e *WorkflowError) Unwrap() error { return e.Err }

// stepCheckInput is the step a workflow fails at when its input is refused
// before anything is called.
const stepCheckInput = "check input"

// inputFailure returns the *WorkflowError for input refused before the
// first step.
func inputFailure(workflow string, err error) error {
	return &WorkflowError{Workflow: workflow, Step: stepCheckInput, Report: &Report{Workflow: workflow}, Err: err}
}
