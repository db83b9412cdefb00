package main

import (
	"testing"

	"github.com/pgaurora/pgaurora/examples/internal/exampletest"
)

func TestRotateCA(t *testing.T) {
	exampletest.Run(t, run, nil,
		`rds-ca-rsa2048-g1 .*\(default for new launches\)`,
		`certs-demo-instance-1 +writer  CA rds-ca-rsa2048-g1`,
		`refused, nothing changed`,
		`rotate the instances to rds-ca-ecc384-g1: changed`,
		`second run: nothing to change`,
		`certs-demo-instance-2 +reader  CA rds-ca-ecc384-g1`,
		`verify-full over TLSv1\.3`,
	)
}
