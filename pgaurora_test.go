package pgaurora_test

import (
	"bytes"
	"encoding/json"
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

func TestLSN(t *testing.T) {
	for _, s := range []string{"0/0", "16/B374D848", "FFFFFFFF/FFFFFFFF", "0/151A690"} {
		l, err := pgaurora.ParseLSN(s)
		if err != nil || l.String() != s {
			t.Errorf("ParseLSN(%q) = %v, %v; want it back", s, l, err)
		}
	}
	if l, _ := pgaurora.ParseLSN("16/b374d848"); l != 0x16B374D848 {
		t.Errorf("lower case: %x", uint64(l))
	}
	for _, bad := range []string{"", "0", "/1", "1/", "g/0", "123456789/0", "0/123456789", "1/2/3", "-1/0"} {
		if _, err := pgaurora.ParseLSN(bad); err == nil {
			t.Errorf("ParseLSN(%q) succeeded", bad)
		}
	}
	var l pgaurora.LSN
	if err := l.Scan("1/2"); err != nil || l != 1<<32|2 {
		t.Errorf("Scan(text) = %v, %v", l, err)
	}
	if err := l.Scan(nil); err != nil || l != 0 {
		t.Errorf("Scan(nil) = %v, %v", l, err)
	}
	if err := l.Scan(42); err == nil {
		t.Error("Scan(int) succeeded")
	}
	b, err := json.Marshal(struct{ L pgaurora.LSN }{1<<32 | 0xAB})
	if err != nil || string(b) != `{"L":"1/AB"}` {
		t.Errorf("JSON = %s, %v", b, err)
	}
	var back struct{ L pgaurora.LSN }
	if err := json.Unmarshal([]byte(`{"L":"1/AB"}`), &back); err != nil || back.L != 1<<32|0xAB {
		t.Errorf("JSON back = %v, %v", back.L, err)
	}
	if err := json.Unmarshal([]byte(`{"L":""}`), &back); err != nil || back.L != 0 {
		t.Errorf("empty JSON = %v, %v", back.L, err)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 3 << 30: "3.0 GiB"} {
		if got := pgaurora.FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
