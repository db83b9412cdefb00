package exampleenv_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
)

// The progress printer prints each workflow step, and a line per change of
// an instance's state in the operations under it, leaving out the repeats
// of their polls.
func TestProgressPrintsChangesOnly(t *testing.T) {
	var out bytes.Buffer
	progress := exampleenv.Progress(&out)
	for _, e := range []pgaurora.Event{
		{Operation: "params.RebootPending", Step: "reboot", Resource: "i-1", Status: "rebooting", Total: 2},
		{Operation: "params.RebootPending", Step: "wait", Resource: "i-1", Status: "rebooting", Total: 2},
		{Operation: "params.RebootPending", Step: "wait", Resource: "i-1", Status: "rebooting", Total: 2},
		{Operation: "params.RebootPending", Step: "done", Resource: "i-1", Status: "available", Done: 1, Total: 2, Completed: true, Elapsed: 1500 * time.Millisecond},
		{Operation: "sslcert.Execute", Step: "modify", Resource: "i-2", Status: "available", Done: 0, Total: 1},
		{Operation: "sslcert.Execute", Step: "modify", Resource: "i-2", Status: "available", Done: 0, Total: 1},
		{Operation: "EnablePgAudit", Step: "reboot members pending reboot", Completed: true, Changed: true, Detail: "rebooted i-1", Elapsed: 2 * time.Second},
	} {
		progress(e)
	}
	want := "      RebootPending 1/2 i-1: reboot, status rebooting\n" +
		"      RebootPending 1/2 i-1: wait, status rebooting\n" +
		"      RebootPending 1/2 i-1: done, status available after 1.5s\n" +
		"      Execute 1/1 i-2: modify, status available\n" +
		"  - reboot members pending reboot: changed (rebooted i-1) [2s]\n"
	if got := out.String(); got != want {
		t.Errorf("Progress printed\n%s\nwant\n%s", got, want)
	}
}

// PrintFindingsBy puts its column first, with its heading; PrintFindings
// prints the same table without it.
func TestPrintFindingsBy(t *testing.T) {
	fs := []aurora.Finding{
		{ID: "check-a", Severity: aurora.SeverityWarning, Resource: "cluster/a", Evidence: "seen", Fix: aurora.Fix{Action: "fix it"}},
		{ID: "check-b", Severity: aurora.SeverityInfo, Resource: "cluster/b", Evidence: "seen too", Fix: aurora.Fix{Action: "fix that"}},
	}
	var with, without bytes.Buffer
	if err := exampleenv.PrintFindingsBy(&with, "CLUSTER", func(i int) string { return []string{"one", "two"}[i] }, fs); err != nil {
		t.Fatal(err)
	}
	if err := exampleenv.PrintFindings(&without, fs); err != nil {
		t.Fatal(err)
	}
	w := strings.Split(strings.TrimSpace(with.String()), "\n")
	wo := strings.Split(strings.TrimSpace(without.String()), "\n")
	if len(w) != 3 || len(wo) != 3 {
		t.Fatalf("want a heading and two rows:\n%s\n%s", with.String(), without.String())
	}
	for i, first := range []string{"CLUSTER", "one", "two"} {
		f, rest, _ := strings.Cut(w[i], " ")
		if f != first || strings.Join(strings.Fields(rest), " ") != strings.Join(strings.Fields(wo[i]), " ") {
			t.Errorf("row %d: %q, want %q then %q", i, w[i], first, wo[i])
		}
	}
	if !strings.HasPrefix(wo[0], "SEVERITY") || !strings.Contains(wo[1], "check-a") {
		t.Errorf("PrintFindings:\n%s", without.String())
	}
}
