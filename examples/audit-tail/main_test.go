package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
	"github.com/pgaurora/pgaurora/pgaudit"
)

func TestAuditTail(t *testing.T) {
	cursor := filepath.Join(t.TempDir(), "audit.cursor")
	out := exampletest.Run(t, run, []string{"-json", "-cursor", cursor},
		`mode: local Aurora emulator`,
		`following the audit log in the log files from`,
		`"class":"WRITE","command":"INSERT"`,
		`cursor saved to`,
	)
	// Every entry line is a JSON object that reads back to an entry.
	n := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, `{"time":`) {
			continue
		}
		var e pgaudit.Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if strings.Contains(e.Statement, "audit_tail_demo") && e.Command == "INSERT" {
			n++
		}
	}
	if n != demoStatements {
		t.Errorf("%d INSERT entries printed, want %d", n, demoStatements)
	}
	b, err := os.ReadFile(cursor)
	if err != nil {
		t.Fatal(err)
	}
	var cur aurora.AuditCursor
	if err := json.Unmarshal(b, &cur); err != nil || cur.File == "" || cur.Offset == 0 {
		t.Errorf("saved cursor %q: %+v, %v", b, cur, err)
	}
}

// TestAuditTailCloudWatch follows the same workload in the log exported
// to CloudWatch Logs: every INSERT is printed, and the saved cursor is a
// log event's.
func TestAuditTailCloudWatch(t *testing.T) {
	cursor := filepath.Join(t.TempDir(), "audit.cursor")
	out := exampletest.Run(t, run, []string{"-cloudwatch", "-cursor", cursor},
		`SetLogExports: the postgresql log of`,
		`following the audit log in CloudWatch Logs from`,
		`SESSION write INSERT`,
		`cursor saved to`,
	)
	if n := strings.Count(out, "INSERT INTO audit_tail_demo"); n != demoStatements {
		t.Errorf("%d INSERT entries printed, want %d", n, demoStatements)
	}
	b, err := os.ReadFile(cursor)
	if err != nil {
		t.Fatal(err)
	}
	var cur aurora.AuditCursor
	if err := json.Unmarshal(b, &cur); err != nil || cur.LogEventID == "" || cur.File != "" {
		t.Errorf("saved cursor %q: %+v, %v", b, cur, err)
	}
	if err := exampletest.Fails(t, nil, run, []string{"-cloudwatch", "-whole"}); !strings.Contains(err.Error(), "-whole") {
		t.Errorf("-cloudwatch -whole: %v", err)
	}
}
