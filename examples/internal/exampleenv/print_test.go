package exampleenv_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/pgaurora/pgaurora"
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
