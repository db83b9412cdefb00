package main

import (
	"testing"

	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
)

func TestPgLogical(t *testing.T) {
	exampletest.Run(t, run, nil,
		`create the pglogical node pglog-a: changed`,
		`create the pglogical node role pgaurora_example_node: changed`,
		`create the pglogical node pglog-b: changed`,
		`created subscription pgaurora_example_a_to_b on pglog-b to .*password=REDACTED`,
		`row 1 is on pglog-b \(initial sync\)`,
		`row 4 written on pglog-a arrived on pglog-b`,
		`status replicating`,
		`holds 4 rows on pglog-a and 4 on pglog-b`,
	)
}
