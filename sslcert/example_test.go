package sslcert_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora/auroratest"
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
// (keeping the old ones), plan against it, execute, and verify. Here a
// local Aurora emulator (aurora/auroratest) stands in for RDS; against
// AWS, build the client from config.LoadDefaultConfig and load the
// clients' bundle and AWS's global-bundle.pem with LoadFile.
func ExampleExecute() {
	ctx := context.Background()
	emu, err := auroratest.Start(ctx, auroratest.WithCluster("orders", auroratest.ClusterConfig{Instances: 2}))
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	api := rds.NewFromConfig(emu.AWSConfig())

	// The clients trust the cluster's current CA; the bundle RDS
	// publishes holds every CA.
	current, err := sslcert.ParsePEM(emu.CACertificatePEM(sslcert.CARSA2048G1))
	if err != nil {
		log.Fatal(err)
	}
	global, err := sslcert.ParsePEM(emu.CABundlePEM())
	if err != nil {
		log.Fatal(err)
	}
	merged := current.Merge(global)

	plan, err := sslcert.PlanRotation(ctx, api, "orders", sslcert.CAECC384G1, &sslcert.PlanOptions{TrustStore: merged})
	if err != nil {
		log.Fatal(err) // errors.Is(err, sslcert.ErrUnsafePlan): fix the bundle first
	}
	fmt.Print(plan)
	res, err := sslcert.Execute(ctx, api, plan, &sslcert.ExecuteOptions{
		Wait: pgaurora.Wait{MinDelay: 50 * time.Millisecond}, // the emulator is fast; leave it out on AWS
		Progress: func(e pgaurora.Event) {
			if e.Step == "done" { // also wait-available, modify, apply and verify
				fmt.Println(e.Resource, "verified on", sslcert.CAECC384G1)
			}
		},
	})
	if err != nil {
		log.Fatal(err) // a *sslcert.RotationError lists the instances rotated
	}
	fmt.Println("rotated:", res.Rotated)
	// Output:
	// CA rotation of cluster orders to rds-ca-ecc384-g1
	//   orders-instance-2 (reader, available): step 1: rds-ca-rsa2048-g1 -> rds-ca-ecc384-g1
	//   orders-instance-1 (writer, available): step 2: rds-ca-rsa2048-g1 -> rds-ca-ecc384-g1
	// orders-instance-2 verified on rds-ca-ecc384-g1
	// orders-instance-1 verified on rds-ca-ecc384-g1
	// rotated: [orders-instance-2 orders-instance-1]
}

// Check which CA signed a server's certificate and whether a bundle
// verifies it, without logging in. Here the server is an instance of a
// local Aurora emulator, checked against the emulator's CA bundle; on
// AWS, pass the instance or cluster endpoint and global-bundle.pem.
func ExampleCheckServer() {
	ctx := context.Background()
	emu, err := auroratest.Start(ctx, auroratest.WithCluster("orders", auroratest.ClusterConfig{Instances: 1}))
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	out, err := rds.NewFromConfig(emu.AWSConfig()).DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{
		DBInstanceIdentifier: aws.String("orders-instance-1")})
	if err != nil {
		log.Fatal(err)
	}
	ep := out.DBInstances[0].Endpoint
	addr := net.JoinHostPort(aws.ToString(ep.Address), strconv.Itoa(int(aws.ToInt32(ep.Port))))

	store, err := sslcert.ParsePEM(emu.CABundlePEM())
	if err != nil {
		log.Fatal(err)
	}
	res, err := sslcert.CheckServer(ctx, addr, &sslcert.CheckOptions{TrustStore: store})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed by", res.CAIdentifier, "verified:", res.Verified, "error:", res.VerifyError, "unexpired:", res.NotAfter.After(time.Now()))
	// Output: signed by rds-ca-rsa2048-g1 verified: true error: <nil> unexpired: true
}
