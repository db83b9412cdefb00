package main

import (
	"testing"

	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
)

func TestPLRust(t *testing.T) {
	exampletest.Run(t, run, nil,
		`15\.2 +refused: .*needs engine version 15\.2-R2 or later`,
		`15\.3 +has PL/Rust`,
		`engine aurora-postgresql 15\.4: has PL/Rust`,
		`the writer offers no plrust extension`,
		`check the engine version for PL/Rust: unchanged \(engine version 15\.4\)`,
		`refused at step "check that the plrust extension is available"`,
		`plrust-demo still uses parameter group default\.aurora-postgresql15; nothing was rebooted`,
	)
}
