package pglogical

import (
	"strings"
	"testing"

	"github.com/pgaurora/pgaurora/internal/conninfo"
)

// FuzzParseApplyFailures: the log parser never panics, returns at most one
// failure per line, and never returns a message with an unredacted
// password=... assignment.
func FuzzParseApplyFailures(f *testing.F) {
	f.Add(sampleLog)
	f.Add("2026-01-01 00:00:00 UTC::@:[1]:LOG:  background worker \"pglogical apply 1:2\" (PID 3) exited with exit code 1\n")
	f.Add("x:[3]:ERROR:  could not connect password=hunter2\n:@:[1]:LOG:  background worker \"pglogical apply 1:2\" (PID 3) exited with exit code 1")
	f.Add("\x00\xff\n\n[")
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := ParseApplyFailures(strings.NewReader(s))
		if err != nil {
			t.Fatalf("ParseApplyFailures: %v", err)
		}
		if len(fs) > strings.Count(s, "\n")+1 {
			t.Fatalf("%d failures from %d lines", len(fs), strings.Count(s, "\n")+1)
		}
		for _, fl := range fs {
			if conninfo.Redact(fl.Message, nil) != fl.Message {
				t.Fatalf("message %q has an unredacted password", fl.Message)
			}
		}
	})
}
