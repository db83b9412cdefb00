package aurora_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/params"
)

// Advise checks a cluster against AWS's guidance. It only describes and
// reads, so it is safe on production. The emulator's cluster is created
// with defaults that depart from the guidance; here only the security
// findings are printed.
func ExampleCluster_Advise() {
	ctx := context.Background()
	c := exampleCluster(ctx)
	defer c.Close()

	findings, err := c.Advise(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range findings {
		if f.Category == aurora.CategorySecurity {
			fmt.Printf("%s %s: %s\n", f.Severity, f.ID, f.Evidence)
		}
	}
	// Output:
	// critical storage-not-encrypted: StorageEncrypted=false
	// warning default-master-username: MasterUsername=postgres
	// warning force-ssl-off: rds.force_ssl=0 on the writer
}

// A Fleet lists every Aurora PostgreSQL cluster its configs reach (one
// aws.Config per Region; here the emulator's) and checks each one's
// parameter groups against a specification, four clusters at a time.
// Values compare as the engine reads them: statement_timeout "0s" is its
// engine default, 0, so only rds.force_ssl is drift.
func ExampleFleet_CheckDrift() {
	ctx := context.Background()
	emu := exampleEmulator()
	fleet, err := aurora.NewFleet([]aws.Config{emu.AWSConfig()}, &aurora.FleetOptions{Concurrency: 4})
	if err != nil {
		log.Fatal(err)
	}
	run := fleet.CheckDrift(ctx, []params.Change{
		{Name: "rds.force_ssl", Value: "on"},
		{Name: "statement_timeout", Value: "0s"},
	})
	for r, err := range run.Results() {
		if err != nil {
			log.Print(err) // one cluster's failure; the run goes on
			continue
		}
		for _, p := range r.Drift.Drifted() {
			fmt.Printf("%s: %s = %s (%s), want %s\n", r.Cluster.ID, p.Name, p.Actual, p.Source, p.Desired)
		}
	}
	s := run.Summary()
	fmt.Printf("checked: %d, drifted: %d\n", s.Succeeded, s.Drifted)
	// Output:
	// example: rds.force_ssl = 0 (system), want on
	// checked: 1, drifted: 1
}
