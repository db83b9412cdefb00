package pgaurora

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Event is one report of a long operation's progress: a workflow step
// completed, an instance rebooting, a subscription's tables copied. Every
// operation of the SDK that takes a while reports through a ProgressFunc
// of Events.
type Event struct {
	// Operation names the operation: a workflow of aurora.Cluster by its
	// name ("EnablePgAudit"), a function of a feature package by its
	// package and name ("params.RebootPending", "pglogical.WaitForSync").
	Operation string
	// Step says what the operation is doing, for example "reboot",
	// "wait" or a workflow step's name.
	Step string
	// Resource is what the event is about: a DB instance, a
	// subscription, a table; empty when it is the whole operation.
	Resource string
	// Status is the state last seen, as the API or the server shows it
	// ("rebooting", "available", "ready"); empty when none applies.
	Status string
	// Done counts the items of the operation finished so far and Total
	// how many there are; both zero when the operation has no items.
	Done, Total int
	// Completed is true when the event reports the end of its step (or of
	// the operation, when Step is empty); Changed then says whether the
	// step changed anything.
	Completed, Changed bool
	// Detail says what was seen or done, in one line.
	Detail string
	// Elapsed is the time since the step (or the operation) began.
	Elapsed time.Duration
}

// String writes the event on one line, for logs and terminals.
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.Operation)
	if e.Step != "" {
		b.WriteString(": ")
		b.WriteString(e.Step)
	}
	if e.Resource != "" {
		b.WriteString(" ")
		b.WriteString(e.Resource)
	}
	if e.Total > 0 {
		fmt.Fprintf(&b, " [%d/%d]", e.Done, e.Total)
	}
	if e.Status != "" {
		b.WriteString(" (")
		b.WriteString(e.Status)
		b.WriteString(")")
	}
	if e.Completed {
		if e.Changed {
			b.WriteString(" changed")
		} else {
			b.WriteString(" unchanged")
		}
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Elapsed > 0 {
		fmt.Fprintf(&b, " after %v", e.Elapsed.Round(time.Millisecond))
	}
	return b.String()
}

// LogValue makes an Event a group of attributes in a slog record, with
// the empty fields left out.
func (e Event) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("operation", e.Operation)}
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("step", e.Step)
	add("resource", e.Resource)
	add("status", e.Status)
	if e.Total > 0 {
		attrs = append(attrs, slog.Int("done", e.Done), slog.Int("total", e.Total))
	}
	if e.Completed {
		attrs = append(attrs, slog.Bool("changed", e.Changed))
	}
	add("detail", e.Detail)
	if e.Elapsed > 0 {
		attrs = append(attrs, slog.Duration("elapsed", e.Elapsed))
	}
	return slog.GroupValue(attrs...)
}

// ProgressFunc receives an operation's events, from the goroutine that
// runs the operation, in order. It must not block for long: the
// operation waits for it. To stop the operation, cancel its context.
type ProgressFunc func(Event)

// Report calls f with e when f is not nil.
func (f ProgressFunc) Report(e Event) {
	if f != nil {
		f(e)
	}
}

// LogProgress returns a ProgressFunc that writes each event to l at
// level Info, as the attribute "event".
func LogProgress(l *slog.Logger) ProgressFunc {
	return func(e Event) {
		l.LogAttrs(context.Background(), slog.LevelInfo, e.String(), slog.Any("event", e))
	}
}

// Then returns a ProgressFunc that calls f, then g; either may be nil.
func (f ProgressFunc) Then(g ProgressFunc) ProgressFunc {
	switch {
	case f == nil:
		return g
	case g == nil:
		return f
	}
	return func(e Event) { f(e); g(e) }
}
