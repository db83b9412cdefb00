package auroratest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go"
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

// Make one API action fail the way AWS can: a reboot refused with
// InvalidDBInstanceState, which the SDK decodes into its typed error and
// does not retry, while other actions go on working. The failed call did
// nothing.
func ExampleEmulator_Action() {
	ctx := context.Background()
	emu, err := auroratest.Start(ctx, auroratest.WithCluster("demo", auroratest.ClusterConfig{}))
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	client := rds.NewFromConfig(emu.AWSConfig())

	emu.Action("RebootDBInstance").FailNext(1, auroratest.Fault{Code: "InvalidDBInstanceState"})
	emu.Action("DescribeDBInstances").SetLatency(50 * time.Millisecond) // a slow API, for this action only

	_, err = client.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String("demo-instance-1")})
	var badState *types.InvalidDBInstanceStateFault
	var apiErr smithy.APIError
	fmt.Println("reboot refused:", errors.As(err, &badState), errors.As(err, &apiErr) && apiErr.ErrorCode() == "InvalidDBInstanceState")

	out, err := client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("demo-instance-1")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("status:", aws.ToString(out.DBInstances[0].DBInstanceStatus))
	// Output:
	// reboot refused: true true
	// status: available
}

// Keep an instance stuck in a state: the SDK's waiter gives up while it is
// held, and succeeds once it is released.
func ExampleEmulator_HoldStatus() {
	ctx := context.Background()
	emu, err := auroratest.Start(ctx, auroratest.WithCluster("demo", auroratest.ClusterConfig{}))
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	client := rds.NewFromConfig(emu.AWSConfig())
	waiter := rds.NewDBInstanceAvailableWaiter(client, func(o *rds.DBInstanceAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	in := &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("demo-instance-1")}

	release, err := emu.HoldStatus("demo-instance-1", "storage-full")
	if err != nil {
		log.Fatal(err)
	}
	out, err := client.DescribeDBInstances(ctx, in)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("status:", aws.ToString(out.DBInstances[0].DBInstanceStatus))
	fmt.Println("waiter while held:", waiter.Wait(ctx, in, 500*time.Millisecond) != nil)

	release()
	fmt.Println("waiter after release:", waiter.Wait(ctx, in, 10*time.Second))
	// Output:
	// status: storage-full
	// waiter while held: true
	// waiter after release: <nil>
}

// Make a reader lag a minute behind the writer: a row committed on the
// writer does not show on the reader at once; it shows as soon as the lag
// is removed, since the change applies to transactions already waiting.
func ExampleEmulator_SetReplicaLag() {
	ctx := context.Background()
	emu, err := auroratest.Start(ctx, auroratest.WithCluster("demo", auroratest.ClusterConfig{Instances: 2}))
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	conn := func(id string) *pgx.Conn {
		cs, err := emu.ConnString(id, "postgres") // holds the password: never log it
		if err != nil {
			log.Fatal(err)
		}
		c, err := pgx.Connect(ctx, cs)
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	writer, reader := conn("demo-instance-1"), conn("demo-instance-2")
	defer writer.Close(ctx)
	defer reader.Close(ctx)

	count := func() (n int) {
		if err := reader.QueryRow(ctx, "SELECT count(*) FROM orders").Scan(&n); err != nil {
			log.Fatal(err)
		}
		return n
	}
	if _, err := writer.Exec(ctx, "CREATE TABLE orders (id int)"); err != nil {
		log.Fatal(err)
	}
	for { // until the reader has the table
		var ok bool
		if err := reader.QueryRow(ctx, "SELECT to_regclass('orders') IS NOT NULL").Scan(&ok); err != nil {
			log.Fatal(err)
		}
		if ok {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	if err := emu.SetReplicaLag("demo-instance-2", time.Minute); err != nil {
		log.Fatal(err)
	}
	if _, err := writer.Exec(ctx, "INSERT INTO orders VALUES (1)"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("rows on the reader at once:", count())

	if err := emu.SetReplicaLag("demo-instance-2", 0); err != nil {
		log.Fatal(err)
	}
	for count() == 0 { // the reader replays the waiting commit now
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Println("rows on the reader without the lag:", count())
	// Output:
	// rows on the reader at once: 0
	// rows on the reader without the lag: 1
}

// Save a cluster's database once its fixtures are in, and put it back
// before each test: the same cluster and endpoints, readers included.
func ExampleEmulator_ResetState() {
	ctx := context.Background()
	emu, err := auroratest.Start(ctx, auroratest.WithCluster("demo", auroratest.ClusterConfig{Instances: 2, DatabaseName: "app"}))
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	count := func(instance string) (n int) {
		cs, err := emu.ConnString(instance, "app") // holds the password: never log it
		if err != nil {
			log.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, cs)
		if err != nil {
			log.Fatal(err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM customers").Scan(&n); err != nil {
			log.Fatal(err)
		}
		return n
	}
	exec := func(sql string) {
		cs, err := emu.ConnString("demo-instance-1", "app")
		if err != nil {
			log.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, cs)
		if err != nil {
			log.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			log.Fatal(err)
		}
	}
	exec("CREATE TABLE customers AS SELECT g AS id FROM generate_series(1, 3) g")
	if err := emu.SaveState(ctx, "demo", "app"); err != nil {
		log.Fatal(err)
	}

	exec("DELETE FROM customers") // a test that changes the data
	fmt.Println("customers after the test:", count("demo-instance-1"))

	if err := emu.ResetState(ctx, "demo"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("customers after the reset, on the writer:", count("demo-instance-1"))
	fmt.Println("and at once on the reader:", count("demo-instance-2"))
	// Output:
	// customers after the test: 0
	// customers after the reset, on the writer: 3
	// and at once on the reader: 3
}

// Read an instance's DatabaseConnections through the real CloudWatch
// client, and watch an alarm on it: the emulator samples its servers
// every second here (a minute by default), from the first CloudWatch call
// on.
func ExampleWithMetricsPeriod() {
	ctx := context.Background()
	emu, err := auroratest.Start(ctx, auroratest.WithMetricsPeriod(time.Second),
		auroratest.WithCluster("demo", auroratest.ClusterConfig{}))
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	cw := cloudwatch.NewFromConfig(emu.AWSConfig())
	writer := []cwtypes.Dimension{{Name: aws.String("DBInstanceIdentifier"), Value: aws.String("demo-instance-1")}}

	_, err = cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("demo-connections"), Namespace: aws.String("AWS/RDS"),
		MetricName: aws.String("DatabaseConnections"), Dimensions: writer,
		Statistic: cwtypes.StatisticMaximum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(500), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
	})
	if err != nil {
		log.Fatal(err)
	}

	cs, err := emu.ConnString("demo-instance-1", "postgres")
	if err != nil {
		log.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, cs)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(ctx)

	// Wait for a sample that sees the session.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(time.Now().Add(-time.Minute)), EndTime: aws.Time(time.Now()),
			MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("conns"), MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String("AWS/RDS"), MetricName: aws.String("DatabaseConnections"), Dimensions: writer},
				Period: aws.Int32(60), Stat: aws.String("Maximum"),
			}}},
		})
		if err != nil {
			log.Fatal(err)
		}
		if v := out.MetricDataResults[0].Values; len(v) > 0 && v[0] >= 1 {
			fmt.Println("DatabaseConnections:", v[0])
			break
		}
		if time.Now().After(deadline) {
			log.Fatal("no sample saw the session")
		}
	}
	alarms, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"demo-connections"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("demo-connections:", alarms.MetricAlarms[0].StateValue)
	// Output:
	// DatabaseConnections: 1
	// demo-connections: OK
}
