package pglogical_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/pglogical"
)

func ExampleParameters() {
	changes, err := pglogical.Parameters(pglogical.ParameterOptions{
		CurrentPreload: "pg_stat_statements",
		Sizing:         pglogical.Sizing{Subscriptions: 4, ProvidedSubscriptions: 4, VCPU: 4, MemoryBytes: 32 << 30},
		Settings:       pglogical.Settings{ConflictResolution: pglogical.ResolveLastUpdateWins},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range changes {
		fmt.Println(c)
	}
	// Output:
	// shared_preload_libraries=pg_stat_statements,pglogical
	// rds.logical_replication=1
	// max_logical_replication_workers=10
	// max_worker_processes=21
	// pglogical.conflict_resolution=last_update_wins
	// track_commit_timestamp=1
}

// The AWS walkthrough: a provider node with its tables in the default
// replication set, a subscriber node, and a subscription that copies the
// data, waited for. Not run by go test: it needs two servers that preload
// pglogical (the tests' walkthrough runs the same calls on two).
func Example_walkthrough() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	provPool, err := pgxpool.New(ctx, "host=provider.example dbname=labdb user=postgres")
	if err != nil {
		log.Fatal(err)
	}
	subPool, err := pgxpool.New(ctx, "host=subscriber.example dbname=labdb user=postgres")
	if err != nil {
		log.Fatal(err)
	}
	provDSN, _ := pgaurora.ParseConnString("host=provider.example port=5432 dbname=labdb user=postgres password=secret")
	subDSN, _ := pgaurora.ParseConnString("host=subscriber.example port=5432 dbname=labdb user=postgres")

	prov, sub := pglogical.New(provPool), pglogical.New(subPool)
	for _, c := range []*pglogical.Client{prov, sub} {
		if _, err := c.Install(ctx); err != nil {
			log.Fatal(err) // ErrNotPreloaded / ErrWALLevel say which parameter to fix
		}
	}
	if _, err := prov.CreateNode(ctx, "docs_lab_provider", provDSN); err != nil {
		log.Fatal(err)
	}
	if err := prov.AddAllTables(ctx, pglogical.DefaultSet, []string{"public"}, false); err != nil {
		log.Fatal(err)
	}
	if _, err := sub.CreateNode(ctx, "docs_lab_target", subDSN); err != nil {
		log.Fatal(err)
	}
	if _, err := sub.CreateSubscription(ctx, pglogical.SubscriptionSpec{
		Name: "docs_lab_subscription", Provider: provDSN,
		ReplicationSets: []string{pglogical.DefaultSet}, SynchronizeData: true,
	}); err != nil {
		log.Fatal(err)
	}
	err = sub.WaitForSync(ctx, "docs_lab_subscription", &pglogical.WaitOptions{
		Progress: func(e pgaurora.Event) {
			log.Printf("%s: %d of %d tables ready", e.Status, e.Done, e.Total)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
}

// Diagnose a pair and repair it when the procedure can. Not run by go
// test: prov and sub stand for clients on a broken pair
// (TestBreakAndRepair breaks a pair several ways and runs the same calls).
func ExampleRepair() {
	ctx := context.Background()
	var prov, sub *pglogical.Client // connected to the provider and subscriber databases
	d, err := pglogical.Diagnose(ctx, prov, sub, "docs_lab_subscription", nil)
	if err != nil {
		log.Fatal(err)
	}
	if d.Healthy() {
		return
	}
	log.Print(d) // status, likely cause, remedy
	if !d.Repairable() {
		return
	}
	rep, err := pglogical.Repair(ctx, prov, sub, "docs_lab_subscription", nil)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("took %v; now %s", rep.Steps, rep.After.Status)
}
