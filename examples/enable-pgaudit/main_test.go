package main

import (
	"testing"

	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
)

func TestEnablePgAudit(t *testing.T) {
	exampletest.Run(t, run, nil,
		`mode: local Aurora emulator`,
		`reboot members pending reboot: changed`,
		`second run: nothing to change`,
		`app_service\s+none`,
		`SESSION ddl CREATE TABLE`,
		`SESSION write INSERT rows=1`,
		`pgAudit is on for audit-demo with pgaudit.log=write,ddl`,
	)
}
