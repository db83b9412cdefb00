package aurora_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/pgaurora/pgaurora/aurora"
)

// DatabaseLoad reads an instance's database load from Performance
// Insights: here the writer's, by wait event, over the last minute, while
// a session sleeps. Performance Insights must be on for the instance
// (EnablePerformanceInsights); without it the error matches
// ErrInsightsDisabled.
func ExampleMonitoring_DatabaseLoad() {
	ctx := context.Background()
	c := exampleCluster(ctx)
	defer c.Close()

	_, err := c.Monitoring().DatabaseLoad(ctx, nil)
	fmt.Println("before enabling:", errors.Is(err, aurora.ErrInsightsDisabled))

	d, err := c.Describe(ctx)
	if err != nil {
		log.Fatal(err)
	}
	api := rds.NewFromConfig(exampleEmulator().AWSConfig())
	setPI := func(on bool) {
		if _, err := api.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(d.Writer.ID),
			EnablePerformanceInsights: aws.Bool(on), ApplyImmediately: aws.Bool(true)}); err != nil {
			log.Fatal(err)
		}
		if err := rds.NewDBInstanceAvailableWaiter(api).Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(d.Writer.ID)},
			time.Minute, func(o *rds.DBInstanceAvailableWaiterOptions) { o.MinDelay = 100 * time.Millisecond }); err != nil {
			log.Fatal(err)
		}
	}
	setPI(true)
	defer setPI(false)

	// A session that sleeps, for the load to show.
	w, err := c.Writer(ctx)
	if err != nil {
		log.Fatal(err)
	}
	sleepCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = w.Exec(sleepCtx, "SELECT pg_sleep(60)")
	}()
	defer func() { stop(); <-done }()

	// Performance Insights samples every second: poll until it has.
	for range 100 {
		r, err := c.Monitoring().DatabaseLoad(ctx, &aurora.LoadOptions{Last: time.Minute, GroupBy: aurora.LoadByWaitEvent})
		if err != nil {
			log.Fatal(err)
		}
		if len(r.Top) > 0 && r.Top[0].Name == "Timeout:PgSleep" {
			fmt.Println("top wait event:", r.Top[0].Name, "-", aurora.WaitHint(r.Top[0].Name))
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	log.Fatal("Performance Insights never saw the session")
	// Output:
	// before enabling: true
	// top wait event: Timeout:PgSleep - sessions in pg_sleep
}
