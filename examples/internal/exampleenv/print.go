package exampleenv

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/params"
	"github.com/pgaurora/pgaurora/sslcert"
)

// Progress returns a workflow progress callback that prints each step to w
// as it completes.
func Progress(w io.Writer) aurora.ProgressFunc {
	return func(s aurora.Step) {
		fmt.Fprintf(w, "  - %s [%s]\n", s, round(s.Duration))
	}
}

// RebootProgress returns a callback for a workflow's RebootProgress that
// prints each instance's reboot as it moves from phase to phase (the
// workflow reports every poll; repeats are left out).
func RebootProgress(w io.Writer) func(params.Progress) {
	var mu sync.Mutex
	last := map[string]string{}
	return func(p params.Progress) {
		state := string(p.Phase) + "/" + p.Status
		mu.Lock()
		defer mu.Unlock()
		if last[p.Instance] == state {
			return
		}
		last[p.Instance] = state
		role := "reader"
		if p.Writer {
			role = "writer"
		}
		line := fmt.Sprintf("      reboot %s (%s): %s, status %s", p.Instance, role, p.Phase, p.Status)
		if p.Elapsed > 0 {
			line += fmt.Sprintf(" after %s", round(p.Elapsed))
		}
		fmt.Fprintln(w, line)
	}
}

// RotationProgress returns a callback for RotateCA's RotationProgress that
// prints each instance's rotation as it moves from stage to stage.
func RotationProgress(w io.Writer) func(sslcert.Progress) {
	var mu sync.Mutex
	last := map[string]string{}
	return func(p sslcert.Progress) {
		state := string(p.Stage) + "/" + p.Status
		mu.Lock()
		defer mu.Unlock()
		if last[p.Instance] == state {
			return
		}
		last[p.Instance] = state
		role := "reader"
		if p.Writer {
			role = "writer"
		}
		line := fmt.Sprintf("      rotate %d/%d %s (%s): %s", p.Step, p.Steps, p.Instance, role, p.Stage)
		if p.Status != "" {
			line += ", status " + p.Status
		}
		fmt.Fprintln(w, line)
	}
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
