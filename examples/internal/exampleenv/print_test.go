package exampleenv_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
	"github.com/pgaurora/pgaurora/params"
	"github.com/pgaurora/pgaurora/sslcert"
)

// The progress printers print a line per change of an instance's state
// and leave out the repeats of the workflows' polls.
func TestProgressPrintsChangesOnly(t *testing.T) {
	var out bytes.Buffer
	reboot := exampleenv.RebootProgress(&out)
	for _, p := range []params.Progress{
		{Instance: "i-1", Phase: params.PhaseRebooting, Status: "rebooting"},
		{Instance: "i-1", Phase: params.PhaseRebooting, Status: "rebooting"},
		{Instance: "i-2", Writer: true, Phase: params.PhaseRebooting, Status: "rebooting"},
		{Instance: "i-1", Phase: params.PhaseDone, Status: "available", Elapsed: 1500 * time.Millisecond},
	} {
		reboot(p)
	}
	want := "      reboot i-1 (reader): rebooting, status rebooting\n" +
		"      reboot i-2 (writer): rebooting, status rebooting\n" +
		"      reboot i-1 (reader): done, status available after 1.5s\n"
	if got := out.String(); got != want {
		t.Errorf("RebootProgress printed\n%s\nwant\n%s", got, want)
	}

	out.Reset()
	rotate := exampleenv.RotationProgress(&out)
	for _, p := range []sslcert.Progress{
		{Instance: "i-1", Step: 1, Steps: 2, Stage: sslcert.StageModify, Status: "modifying"},
		{Instance: "i-1", Step: 1, Steps: 2, Stage: sslcert.StageModify, Status: "modifying"},
		{Instance: "i-2", Writer: true, Step: 2, Steps: 2, Stage: sslcert.StageDone},
	} {
		rotate(p)
	}
	want = "      rotate 1/2 i-1 (reader): modify, status modifying\n" +
		"      rotate 2/2 i-2 (writer): done\n"
	if got := out.String(); got != want {
		t.Errorf("RotationProgress printed\n%s\nwant\n%s", got, want)
	}
}
