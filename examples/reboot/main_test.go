package main

import (
	"testing"

	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
)

func TestReboot(t *testing.T) {
	exampletest.Run(t, run, nil,
		`rebooting reboot-demo-instance-2 of reboot-demo`,
		`reboot reboot-demo-instance-2: unchanged \(no parameter change waits for a reboot\)`,
		`reboot reboot-demo-instance-2: changed`,
		`reboot-demo-instance-2 is available again after .* \(parameters: cluster in-sync, instance in-sync\)`,
		`reader pool during the reboot: \d+ queries answered`,
	)
}
