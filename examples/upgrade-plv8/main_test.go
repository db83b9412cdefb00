package main

import (
	"testing"

	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
)

func TestUpgradePLV8(t *testing.T) {
	exampletest.Run(t, run, nil,
		`plperl plays PLV8 on the emulator`,
		`upgrade the language extensions: changed \(.*plperl 0\.9 -> 1\.0`,
		`backup: \d+ bytes`,
		`second run: nothing to change`,
		`plperl 1\.0; .* add_one\(2\) = 3; comment "adds one"; plv8_app may execute add_one: true`,
	)
}
