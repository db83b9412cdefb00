package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"
)

// TestQuickstart runs the README's main command end to end against the
// emulator and checks what each step reports.
func TestQuickstart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("quickstart failed: %v\noutput:\n%s", err, out.String())
	}
	for _, want := range []string{
		// pgAudit: DDL and writes are read back; the excluded user's
		// insert and the SELECT are not.
		`ddl\s+CREATE TABLE\s+by postgres`,
		`write INSERT\s+by postgres INSERT INTO customers VALUES \(1,`,
		`pgAudit: \d+ steps \(changes applied\), \d+ audit entries read back`,
		`analytics has all 1100 rows`,
		`presents a certificate issued by rds-ca-ecc384-g1, verified: true`,
		`failover: orders-instance-1 -> orders-instance-2, \d+ acknowledged writes, none lost`,
		`password=REDACTED`,
		`etl_service inserted a row`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, unwanted := range []string{`by etl_service`, `Linus`, `SELECT count`} {
		if regexp.MustCompile(unwanted).MatchString(out.String()) {
			t.Errorf("output has %q, which pgAudit should not have logged:\n%s", unwanted, out.String())
		}
	}
}
