package sslcert_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/sslcert"
)

// A rotation plan is a pure function of the cluster's facts. Without a
// client trust store the plan is refused unless forced.
func ExampleNewPlan() {
	plan, err := sslcert.NewPlan(sslcert.PlanInput{
		ClusterID: "orders",
		TargetCA:  sslcert.CAECC384G1,
		Instances: []sslcert.Instance{
			{Instance: pgaurora.Instance{ID: "orders-1", Writer: true, Status: "available", CACertificate: sslcert.CARSA2048G1}},
			{Instance: pgaurora.Instance{ID: "orders-2", Status: "available", CACertificate: sslcert.CARSA2048G1}},
			{Instance: pgaurora.Instance{ID: "orders-3", Status: "available", CACertificate: sslcert.CAECC384G1}},
		},
		Now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
	})
	fmt.Println(errors.Is(err, sslcert.ErrUnsafePlan))
	fmt.Print(plan)
	// Output:
	// true
	// CA rotation of cluster orders to rds-ca-ecc384-g1 (UNSAFE, refused)
	//   orders-2 (reader, available): step 1: rds-ca-rsa2048-g1 -> rds-ca-ecc384-g1
	//   orders-1 (writer, available): step 2: rds-ca-rsa2048-g1 -> rds-ca-ecc384-g1
	//   orders-3 (reader, available): already on target
	//   problem: no client trust store given: cannot tell whether clients trust rds-ca-ecc384-g1
}

// The documented rotation: merge the new CA into the clients' bundle
// (keeping the old ones), plan against it, execute, and verify.
func ExampleExecute() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	api := rds.NewFromConfig(cfg)

	current, err := sslcert.LoadFile("/etc/myapp/rds-ca.pem")
	if err != nil {
		log.Fatal(err)
	}
	global, err := sslcert.LoadFile("global-bundle.pem") // downloaded from RDS
	if err != nil {
		log.Fatal(err)
	}
	merged := current.Merge(global)
	if err := merged.WriteFile("/etc/myapp/rds-ca.pem"); err != nil {
		log.Fatal(err)
	}

	plan, err := sslcert.PlanRotation(ctx, api, "orders", sslcert.CAECC384G1, &sslcert.PlanOptions{TrustStore: merged})
	if err != nil {
		log.Fatal(err) // errors.Is(err, sslcert.ErrUnsafePlan): fix the bundle first
	}
	fmt.Print(plan)
	res, err := sslcert.Execute(ctx, api, plan, &sslcert.ExecuteOptions{
		Progress: func(e pgaurora.Event) {
			fmt.Fprintln(os.Stderr, e)
		},
	})
	if err != nil {
		log.Fatal(err) // a *sslcert.RotationError lists the instances rotated
	}
	fmt.Println("rotated:", res.Rotated)
}

// Check which CA signed a server's certificate and whether a bundle
// verifies it, without logging in.
func ExampleCheckServer() {
	store, err := sslcert.LoadFile("global-bundle.pem")
	if err != nil {
		log.Fatal(err)
	}
	res, err := sslcert.CheckServer(context.Background(),
		"orders.cluster-abc.us-east-1.rds.amazonaws.com:5432",
		&sslcert.CheckOptions{TrustStore: store})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.CAIdentifier, res.NotAfter, res.Verified, res.VerifyError)
}
