package exampleenv_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
)

// -yes exists only on a command that changes a cluster, and -h says what
// it allows.
func TestCommandYes(t *testing.T) {
	var help bytes.Buffer
	cmd := exampleenv.NewCommand("reboot", "restarts the instance")
	cmd.SetOutput(&help)
	if err := cmd.Parse([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v; want flag.ErrHelp", err)
	}
	if !strings.Contains(help.String(), "go ahead against a real cluster (restarts the instance)") {
		t.Errorf("-h printed\n%s\nwant the -yes flag and what it allows", &help)
	}

	ro := exampleenv.NewCommand("diagnostics", "")
	ro.SetOutput(io.Discard)
	if err := ro.Parse([]string{"-yes"}); err == nil || !strings.Contains(err.Error(), "yes") {
		t.Errorf("-yes on a read-only command: %v; want an unknown flag", err)
	}
}

// Open refuses, before any side effect, to open a cluster before the
// arguments are parsed, changes declared by a command without -yes, and
// (against a real cluster) changes that -yes did not confirm.
func TestCommandOpenRefusals(t *testing.T) {
	for _, v := range exampleenv.Variables {
		t.Setenv(v, "")
	}
	ctx := context.Background()
	var out bytes.Buffer

	cmd := exampleenv.NewCommand("reboot", "restarts the instance")
	if _, err := cmd.Open(ctx, &out, exampleenv.Options{}); err == nil || !strings.Contains(err.Error(), "before parsing") {
		t.Errorf("Open before Parse: %v", err)
	}

	ro := exampleenv.NewCommand("diagnostics", "")
	if err := ro.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ro.Open(ctx, &out, exampleenv.Options{Changes: "reboots everything"}); err == nil || !strings.Contains(err.Error(), "-yes") {
		t.Errorf("Changes on a command without -yes: %v", err)
	}

	t.Setenv(exampleenv.EnvClusterID, "prod")
	if err := cmd.Parse(nil); err != nil {
		t.Fatal(err)
	}
	_, err := cmd.Open(ctx, &out, exampleenv.Options{Changes: "reboots everything"})
	if err == nil || !strings.Contains(err.Error(), "reboots everything") || !strings.Contains(err.Error(), "-yes") {
		t.Errorf("a real cluster without -yes: %v", err)
	}
	if !strings.Contains(out.String(), "mode: real cluster prod") {
		t.Errorf("the mode line did not go to out: %q", &out)
	}
}

func TestList(t *testing.T) {
	var l exampleenv.List
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Var(&l, "roles", "")
	if err := fs.Parse([]string{"-roles", " a, ,b,"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(l, exampleenv.List{"a", "b"}) || l.String() != "a,b" {
		t.Errorf("-roles ' a, ,b,': %q", l)
	}
	if err := fs.Parse([]string{"-roles", "c", "-roles", "d"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(l, exampleenv.List{"d"}) {
		t.Errorf("-roles given twice: %q; want the last", l)
	}
}

func TestRunAgain(t *testing.T) {
	var out bytes.Buffer
	unchanged := &aurora.Report{Workflow: "X", Steps: []aurora.Step{{Name: "a"}}}
	if err := exampleenv.RunAgain(&out, "again", func() (*aurora.Report, error) { return unchanged, nil }); err != nil {
		t.Errorf("an unchanged second run: %v", err)
	}
	if !strings.Contains(out.String(), "== again\n  second run: nothing to change") {
		t.Errorf("printed %q", &out)
	}
	changed := &aurora.Report{Workflow: "X", Steps: []aurora.Step{{Name: "a", Changed: true}}}
	if err := exampleenv.RunAgain(io.Discard, "again", func() (*aurora.Report, error) { return changed, nil }); err == nil || !strings.Contains(err.Error(), "changed something") {
		t.Errorf("a second run that changed something: %v", err)
	}
	boom := errors.New("boom")
	if err := exampleenv.RunAgain(io.Discard, "again", func() (*aurora.Report, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("a failed second run: %v; want its error", err)
	}
}

func TestRefused(t *testing.T) {
	var out bytes.Buffer
	refusal := &aurora.WorkflowError{Workflow: "X", Step: "check input", Report: &aurora.Report{Workflow: "X"}, Err: errors.New("36 is not 1 to 35")}
	we, err := exampleenv.Refused(&out, "X(36)", refusal)
	if err != nil || we != refusal {
		t.Errorf("a refusal: %v, %v", we, err)
	}
	if got := out.String(); got != "  refused at step \"check input\": 36 is not 1 to 35\n" {
		t.Errorf("printed %q", got)
	}
	for _, notRefused := range []error{
		nil,
		errors.New("some other failure"),
		&aurora.WorkflowError{Step: "late", Report: &aurora.Report{Steps: []aurora.Step{{Name: "a", Changed: true}}}, Err: errors.New("late")},
	} {
		if _, err := exampleenv.Refused(io.Discard, "X(36)", notRefused); err == nil || !strings.Contains(err.Error(), "X(36)") {
			t.Errorf("Refused(%v): %v; want an error naming the call", notRefused, err)
		}
	}
}
