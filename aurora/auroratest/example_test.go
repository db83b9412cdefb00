package auroratest_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/aurora/auroratest"
)

// Start an emulated cluster, load pgAudit through a DB cluster parameter
// group with the real RDS client, reboot, wait, and check on the server.
func Example() {
	ctx := context.Background()
	emu, err := auroratest.Start(ctx, auroratest.WithCluster("demo", auroratest.ClusterConfig{
		Instances:             2,
		ClusterParameterGroup: "demo-params", // created empty for the cluster
	}))
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()

	client := rds.NewFromConfig(emu.AWSConfig())
	_, err = client.ModifyDBClusterParameterGroup(ctx, &rds.ModifyDBClusterParameterGroupInput{
		DBClusterParameterGroupName: aws.String("demo-params"),
		Parameters: []types.Parameter{{
			ParameterName:  aws.String("shared_preload_libraries"),
			ParameterValue: aws.String("pg_stat_statements,pgaudit"),
			ApplyMethod:    types.ApplyMethodPendingReboot,
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String("demo-instance-1")}); err != nil {
		log.Fatal(err)
	}
	waiter := rds.NewDBInstanceAvailableWaiter(client, func(o *rds.DBInstanceAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second // the SDK's default is 30s
	})
	if err := waiter.Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("demo-instance-1")}, time.Minute); err != nil {
		log.Fatal(err)
	}

	cs, err := emu.ConnString("demo-instance-1", "postgres") // holds the password: never log it
	if err != nil {
		log.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, cs)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(ctx)
	var libs string
	if err := conn.QueryRow(ctx, "SHOW shared_preload_libraries").Scan(&libs); err != nil {
		log.Fatal(err)
	}
	fmt.Println(libs)
}
