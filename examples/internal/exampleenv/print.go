package exampleenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// Progress returns a progress callback that prints each workflow step to
// w as it completes, and, indented under it, the steps of the operations
// the workflow runs (each instance's reboot or rotation) as they change:
// the operations report every poll, and repeats are left out.
func Progress(w io.Writer) pgaurora.ProgressFunc {
	var seen stateChanges
	return func(e pgaurora.Event) {
		if !strings.Contains(e.Operation, ".") && e.Completed && e.Resource == "" { // a workflow's own step
			step := aurora.Step{Name: e.Step, Changed: e.Changed, Detail: e.Detail}
			fmt.Fprintf(w, "  - %s [%s]\n", step, round(e.Elapsed))
			return
		}
		seen.onChange(e.Operation+"/"+e.Resource, e.Step+"/"+e.Status, func() {
			line := "      " + e.Operation[strings.IndexByte(e.Operation, '.')+1:]
			if e.Total > 0 {
				n := e.Done
				if !e.Completed {
					n++ // the item in progress
				}
				line += fmt.Sprintf(" %d/%d", n, e.Total)
			}
			if e.Resource != "" {
				line += " " + e.Resource
			}
			line += ": " + e.Step
			if e.Status != "" {
				line += ", status " + e.Status
			}
			if e.Completed && e.Elapsed > 0 {
				line += fmt.Sprintf(" after %s", round(e.Elapsed))
			}
			fmt.Fprintln(w, line)
		})
	}
}

// stateChanges remembers each item's last reported state, so that a
// progress callback prints only changes. Its zero value is ready to use
// and it is safe for concurrent use.
type stateChanges struct {
	mu   sync.Mutex
	last map[string]string
}

// onChange runs print, under the lock so lines stay in order, when state
// differs from the item's last one.
func (s *stateChanges) onChange(item, state string, print func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last[item] == state {
		return
	}
	if s.last == nil {
		s.last = map[string]string{}
	}
	s.last[item] = state
	print()
}

// PrintReport prints a workflow's report: its steps and whether it
// changed anything.
func PrintReport(w io.Writer, r *aurora.Report) {
	fmt.Fprintln(w, indent(r.String(), "  "))
}

// Failed prints the steps a failed workflow completed before its error
// (a *aurora.WorkflowError), so the reader knows what was applied, and
// returns err.
func Failed(w io.Writer, err error) error {
	var we *aurora.WorkflowError
	switch {
	case !errors.As(err, &we) || we.Report == nil:
	case len(we.Report.Steps) == 0:
		fmt.Fprintf(w, "  failed at step %q, before any step completed\n", we.Step)
	default:
		fmt.Fprintf(w, "  failed at step %q; steps completed before it:\n", we.Step)
		PrintReport(w, we.Report)
	}
	return err
}

// RunAgain runs a workflow a second time, under heading, and returns an
// error unless that run changed nothing: every workflow is idempotent,
// and most examples show it. A failure is reported as Failed reports it.
func RunAgain(w io.Writer, heading string, workflow func() (*aurora.Report, error)) error {
	Heading(w, "%s", heading)
	r, err := workflow()
	if err != nil {
		return Failed(w, err)
	}
	if r.Changed() {
		return fmt.Errorf("the second run changed something:\n%s", r)
	}
	fmt.Fprintln(w, "  second run: nothing to change")
	return nil
}

// Refused checks that err is a workflow's refusal that changed nothing (a
// *aurora.WorkflowError whose report holds no change), prints the step
// that refused and why, and returns the refusal. Any other outcome is an
// error naming call, the workflow call that should have been refused.
func Refused(w io.Writer, call string, err error) (*aurora.WorkflowError, error) {
	var we *aurora.WorkflowError
	if !errors.As(err, &we) || we.Report != nil && we.Report.Changed() {
		return nil, fmt.Errorf("%s: %v; want a refusal that changed nothing", call, err)
	}
	fmt.Fprintf(w, "  refused at step %q: %v\n", we.Step, we.Err)
	return we, nil
}

// PrintFindings prints findings (of Advise or a plan) as a table: severity,
// check, resource, evidence and fix.
func PrintFindings(w io.Writer, findings []aurora.Finding) error {
	return PrintFindingsBy(w, "", nil, findings)
}

// PrintFindingsBy is PrintFindings with a first column: heading is its
// title ("CLUSTER") and first(i) its value for findings[i]. An empty
// heading leaves the column out.
func PrintFindingsBy(w io.Writer, heading string, first func(i int) string, findings []aurora.Finding) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	lead := func(s string) string {
		if heading == "" {
			return ""
		}
		return s + "\t"
	}
	fmt.Fprintln(tw, lead(heading)+"SEVERITY\tCHECK\tRESOURCE\tEVIDENCE\tFIX")
	for i, f := range findings {
		col := ""
		if heading != "" {
			col = first(i)
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\n", lead(col), f.Severity, f.ID, f.Resource, f.Evidence, f.Fix)
	}
	return tw.Flush()
}

// Heading prints the start of a part of an example.
func Heading(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "\n== %s\n", fmt.Sprintf(format, args...))
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Millisecond)
}

// Exec runs the statements on the pool one by one, printing each to out
// as "ran: ..." once it ran; the first failure stops it, naming the
// statement.
func Exec(ctx context.Context, out io.Writer, p *aurora.Pool, stmts ...string) error {
	for _, stmt := range stmts {
		if _, err := p.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
		fmt.Fprintf(out, "  ran: %s\n", stmt)
	}
	return nil
}

// DropTable drops a table the example made, even when ctx is canceled
// (defer it right after creating the table); a failure is printed to out.
func DropTable(ctx context.Context, out io.Writer, p *aurora.Pool, table string) {
	name, err := sqlquote.Ident(table)
	if err == nil {
		_, err = p.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+name)
	}
	if err != nil {
		fmt.Fprintf(out, "dropping %s: %v\n", table, err)
	}
}
