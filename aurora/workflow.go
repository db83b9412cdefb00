package aurora

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pgaurora/pgaurora"
)

// Step is one step of a workflow and what it did.
type Step struct {
	// Name says what the step does, for example "modify cluster parameter
	// group my-params".
	Name string
	// Changed is false when the step found its work already done.
	Changed bool
	// Detail says what was found or changed.
	Detail string
	// Duration is how long the step took.
	Duration time.Duration
}

func (s Step) String() string {
	mark := "unchanged"
	if s.Changed {
		mark = "changed"
	}
	out := fmt.Sprintf("%s: %s", s.Name, mark)
	if s.Detail != "" {
		out += " (" + s.Detail + ")"
	}
	return out
}

// Report lists the steps a workflow ran, in order. A workflow that finds
// everything in place reports only unchanged steps.
type Report struct {
	// Workflow names the workflow, for example "EnablePgAudit".
	Workflow string
	// Steps are the steps that ran, in order.
	Steps []Step
}

// Changed reports whether any step changed something.
func (r *Report) Changed() bool {
	for _, s := range r.Steps {
		if s.Changed {
			return true
		}
	}
	return false
}

// String lists the steps, one per line.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:", r.Workflow)
	if !r.Changed() {
		b.WriteString(" nothing to change")
	}
	for _, s := range r.Steps {
		b.WriteString("\n  - ")
		b.WriteString(s.String())
	}
	return b.String()
}

// workflow runs the steps of one workflow, recording them and reporting
// each as an event. wait is how its steps wait.
type workflow struct {
	c        *Cluster
	report   *Report
	progress pgaurora.ProgressFunc
	wait     pgaurora.Wait
}

func (c *Cluster) newWorkflow(name string, wt pgaurora.Wait, progress pgaurora.ProgressFunc) *workflow {
	return &workflow{c: c, report: &Report{Workflow: name}, progress: progress, wait: c.waitFor(wt)}
}

// step runs fn as the named step. fn returns whether it changed anything
// and a detail line. An error stops the workflow with a *WorkflowError.
func (w *workflow) step(ctx context.Context, name string, fn func(ctx context.Context) (changed bool, detail string, err error)) error {
	if err := cmp.Or(w.c.usable(), ctx.Err()); err != nil {
		return &WorkflowError{Workflow: w.report.Workflow, Step: name, Report: w.report, Err: err}
	}
	start := time.Now()
	changed, detail, err := fn(ctx)
	if err != nil {
		return &WorkflowError{Workflow: w.report.Workflow, Step: name, Report: w.report, Err: err}
	}
	s := Step{Name: name, Changed: changed, Detail: detail, Duration: time.Since(start)}
	w.report.Steps = append(w.report.Steps, s)
	w.progress.Report(pgaurora.Event{Operation: w.report.Workflow, Step: name, Completed: true, Changed: changed, Detail: detail, Elapsed: s.Duration})
	return nil
}
