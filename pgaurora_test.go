package pgaurora_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pgaurora/pgaurora"
)

func TestWaitOr(t *testing.T) {
	def := pgaurora.Wait{MinDelay: 1, MaxDelay: 2, MaxWait: 3}
	if got := (pgaurora.Wait{MaxDelay: 7}).Or(def); got != (pgaurora.Wait{MinDelay: 1, MaxDelay: 7, MaxWait: 3}) {
		t.Fatalf("Or = %v", got)
	}
	if !(pgaurora.Wait{}).IsZero() || def.IsZero() {
		t.Fatal("IsZero")
	}
}

func TestEventString(t *testing.T) {
	for _, tc := range []struct {
		e    pgaurora.Event
		want string
	}{
		{pgaurora.Event{Operation: "params.RebootPending", Step: "wait", Resource: "db-1", Status: "rebooting", Done: 1, Total: 3, Elapsed: 1500 * time.Millisecond},
			"params.RebootPending: wait db-1 [1/3] (rebooting) after 1.5s"},
		{pgaurora.Event{Operation: "EnablePgAudit", Step: "create extension", Completed: true, Changed: true, Detail: "pgaudit 1.7"},
			"EnablePgAudit: create extension changed: pgaudit 1.7"},
		{pgaurora.Event{Operation: "X", Completed: true}, "X unchanged"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestLogProgress(t *testing.T) {
	var buf bytes.Buffer
	var seen []pgaurora.Event
	f := pgaurora.LogProgress(slog.New(slog.NewTextHandler(&buf, nil))).Then(func(e pgaurora.Event) { seen = append(seen, e) })
	f.Report(pgaurora.Event{Operation: "RotateCA", Resource: "db-2", Done: 2, Total: 2, Completed: true, Changed: true})
	out := buf.String()
	for _, want := range []string{"event.operation=RotateCA", "event.resource=db-2", "event.done=2", "event.total=2", "event.changed=true"} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "event.status") {
		t.Errorf("empty fields are logged: %q", out)
	}
	if len(seen) != 1 {
		t.Fatalf("Then called g %d times", len(seen))
	}
	var none pgaurora.ProgressFunc
	none.Report(pgaurora.Event{}) // a nil ProgressFunc reports nothing
	if none.Then(nil) != nil {
		t.Fatal("nil.Then(nil) is not nil")
	}
}
