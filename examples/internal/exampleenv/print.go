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
	var seen stateChanges
	return func(p params.Progress) {
		seen.onChange(p.Instance, string(p.Phase)+"/"+p.Status, func() {
			line := fmt.Sprintf("      reboot %s (%s): %s, status %s", p.Instance, role(p.Writer), p.Phase, p.Status)
			if p.Elapsed > 0 {
				line += fmt.Sprintf(" after %s", round(p.Elapsed))
			}
			fmt.Fprintln(w, line)
		})
	}
}

// RotationProgress returns a callback for RotateCA's RotationProgress that
// prints each instance's rotation as it moves from stage to stage.
func RotationProgress(w io.Writer) func(sslcert.Progress) {
	var seen stateChanges
	return func(p sslcert.Progress) {
		seen.onChange(p.Instance, string(p.Stage)+"/"+p.Status, func() {
			line := fmt.Sprintf("      rotate %d/%d %s (%s): %s", p.Step, p.Steps, p.Instance, role(p.Writer), p.Stage)
			if p.Status != "" {
				line += ", status " + p.Status
			}
			fmt.Fprintln(w, line)
		})
	}
}

// stateChanges remembers each instance's last reported state, so that a
// progress callback prints only changes. Its zero value is ready to use
// and it is safe for concurrent use.
type stateChanges struct {
	mu   sync.Mutex
	last map[string]string
}

// onChange runs print, under the lock so lines stay in order, when state
// differs from the instance's last one.
func (s *stateChanges) onChange(instance, state string, print func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last[instance] == state {
		return
	}
	if s.last == nil {
		s.last = map[string]string{}
	}
	s.last[instance] = state
	print()
}

func role(writer bool) string {
	if writer {
		return "writer"
	}
	return "reader"
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
