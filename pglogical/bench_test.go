package pglogical

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// benchRows is the size of the table BenchmarkInitialSync copies.
const benchRows = 1_000_000

// BenchmarkInitialSync times the initial sync of a 1,000,000-row table, in
// the same run, through the SDK (CreateSubscription, then WaitForSync, which
// polls local_sync_status from the client) and through plain SQL
// (pglogical.create_subscription, then
// pglogical.wait_for_subscription_sync_complete, which polls inside the
// server). Each iteration makes two syncs into an emptied subscriber
// table, one created each way, alternating which goes first.
//
// Single syncs on a shared machine vary by seconds, more than any
// difference between the two, so besides the unpaired figures (sdk-ms and
// sql-ms per sync, and their difference in percent) it reports a paired
// one: every sync is waited for by both waiters at once, so their
// completion times, measured from the same start, differ only by the
// waiting; sdk-paired-overhead-% adds the difference between the two ways
// of creating the subscription and relates the sum to the plain SQL time.
// The target is under 5%.
//
//	go test -run '^$' -bench InitialSync -benchtime 6x ./pglogical/
func BenchmarkInitialSync(b *testing.B) {
	benchOnce.Do(func() { benchProv, benchSub = benchSetup(b) })
	prov, sub := benchProv, benchSub
	if prov.client == nil {
		b.Fatal("the benchmark setup failed in an earlier run")
	}
	ctx := context.Background()

	type result struct {
		create  time.Duration // the create call
		sdkDone time.Duration // WaitForSync returned, from the create's start
		sqlDone time.Duration // wait_for_subscription_sync_complete returned, idem
		viaSDK  bool
	}
	var results []result
	syncOnce := func(i int, viaSDK bool) result {
		name := fmt.Sprintf("bench_sql_%d_%d", b.N, i)
		if viaSDK {
			name = fmt.Sprintf("bench_sdk_%d_%d", b.N, i)
		}
		b.StopTimer()
		mustExec(b, sub, "TRUNCATE big")
		mustExec(b, sub, "CHECKPOINT")
		b.StartTimer()
		r := result{viaSDK: viaSDK}
		start := time.Now()
		if viaSDK {
			if _, err := sub.client.CreateSubscription(ctx, SubscriptionSpec{Name: name, Provider: prov.dsn,
				ReplicationSets: []string{DefaultSet}, SynchronizeData: true}); err != nil {
				b.Fatal(err)
			}
		} else {
			if _, err := sub.pool.Exec(ctx, "SELECT pglogical.create_subscription($1, $2, '{default}'::text[], false, true)",
				name, prov.dsn.Reveal()); err != nil {
				b.Fatal(err)
			}
		}
		r.create = time.Since(start)
		var wg sync.WaitGroup
		var sdkErr, sqlErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			sdkErr = sub.client.WaitForSync(ctx, name, nil)
			r.sdkDone = time.Since(start)
		}()
		go func() {
			defer wg.Done()
			_, sqlErr = sub.pool.Exec(ctx, "SELECT pglogical.wait_for_subscription_sync_complete($1)", name)
			r.sqlDone = time.Since(start)
		}()
		wg.Wait()
		b.StopTimer()
		if sdkErr != nil || sqlErr != nil {
			b.Fatalf("waiting: SDK %v, SQL %v", sdkErr, sqlErr)
		}
		var n int
		if err := sub.pool.QueryRow(ctx, "SELECT count(*) FROM big").Scan(&n); err != nil || n != benchRows {
			b.Fatalf("subscriber has %d rows after the sync (%v)", n, err)
		}
		if err := sub.client.DropSubscription(ctx, name, false); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		return r
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		order := []bool{true, false}
		if i%2 == 1 {
			order = []bool{false, true}
		}
		for _, viaSDK := range order {
			r := syncOnce(i, viaSDK)
			b.Logf("iteration %d, created via SDK %-5v: create %v, SDK wait done at %v, SQL wait done at %v",
				i, viaSDK, r.create.Round(time.Millisecond), r.sdkDone.Round(time.Millisecond), r.sqlDone.Round(time.Millisecond))
			results = append(results, r)
		}
	}
	b.StopTimer()

	// Unpaired: each way end to end, with its own sync.
	var sdkTimes, sqlTimes, sdkCreate, sqlCreate []time.Duration
	// Paired: both waiters on the same sync.
	var waitDiff, sqlTotal time.Duration
	for _, r := range results {
		if r.viaSDK {
			sdkTimes = append(sdkTimes, r.sdkDone)
			sdkCreate = append(sdkCreate, r.create)
		} else {
			sqlTimes = append(sqlTimes, r.sqlDone)
			sqlCreate = append(sqlCreate, r.create)
		}
		waitDiff += r.sdkDone - r.sqlDone
		sqlTotal += r.sqlDone
	}
	sdkMean, sdkMedian := stats(sdkTimes)
	sqlMean, sqlMedian := stats(sqlTimes)
	sdkCreateMean, _ := stats(sdkCreate)
	sqlCreateMean, _ := stats(sqlCreate)
	n := float64(len(results))
	pairedWait := waitDiff.Seconds() * 1000 / n
	pairedBase := sqlTotal.Seconds() * 1000 / n
	b.ReportMetric(sdkMean, "sdk-ms/sync")
	b.ReportMetric(sqlMean, "sql-ms/sync")
	b.ReportMetric(sdkMedian, "sdk-median-ms/sync")
	b.ReportMetric(sqlMedian, "sql-median-ms/sync")
	b.ReportMetric((sdkMean-sqlMean)/sqlMean*100, "sdk-unpaired-overhead-%")
	b.ReportMetric(pairedWait, "sdk-wait-minus-sql-wait-ms")
	b.ReportMetric(sdkCreateMean-sqlCreateMean, "sdk-create-minus-sql-create-ms")
	b.ReportMetric((pairedWait+sdkCreateMean-sqlCreateMean)/pairedBase*100, "sdk-paired-overhead-%")
}

// stats returns the mean and the median of ds, in milliseconds.
func stats(ds []time.Duration) (mean, median float64) {
	if len(ds) == 0 {
		return 0, 0
	}
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = d.Seconds() * 1000
		mean += ms[i]
	}
	mean /= float64(len(ms))
	slices.Sort(ms)
	if n := len(ms); n%2 == 1 {
		median = ms[n/2]
	} else {
		median = (ms[n/2-1] + ms[n/2]) / 2
	}
	return mean, median
}

var (
	benchOnce           sync.Once
	benchProv, benchSub side
)

// benchSetup makes the provider table and both nodes once per process, so
// that the b.N=1 probe run and the measured run share it. The databases
// are left for the servers' removal at the end of the run.
func benchSetup(b *testing.B) (prov, sub side) {
	ctx := context.Background()
	prov = sideOn(b, createDB(b, provSrv), "provider")
	sub = sideOn(b, createDB(b, subSrv), "subscriber")
	for _, s := range []side{prov, sub} {
		mustExec(b, s, "CREATE TABLE big (id bigint PRIMARY KEY, v text, n int)")
	}
	mustExec(b, prov, "INSERT INTO big SELECT g, md5(g::text), g FROM generate_series(1, $1::int) g", benchRows)
	mustExec(b, prov, "VACUUM ANALYZE big")
	if _, err := prov.client.CreateNode(ctx, prov.node, prov.dsn); err != nil {
		b.Fatal(err)
	}
	if err := prov.client.AddTable(ctx, DefaultSet, T("public", "big"), nil); err != nil {
		b.Fatal(err)
	}
	if _, err := sub.client.CreateNode(ctx, sub.node, sub.dsn); err != nil {
		b.Fatal(err)
	}
	return prov, sub
}
