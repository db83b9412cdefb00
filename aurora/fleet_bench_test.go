package aurora_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pgaurora/pgaurora/aurora"
)

// benchFleetSize is the fleet of the acceptance: 50 one-instance
// clusters.
const benchFleetSize = 50

var benchFleet struct {
	once sync.Once
	ids  []string
}

// BenchmarkFleet runs Fleet.Advise and Fleet.CheckDrift over 50
// one-instance clusters (created once, tagged fleet=fleetbench) and
// reports clusters per second and the RDS calls per cluster, counted at
// the HTTP client (attempts, retries included) as apiRecorder sees them.
// Each iteration is one run over the whole fleet; run it with
// -benchtime=3x or so.
func BenchmarkFleet(b *testing.B) {
	benchFleet.once.Do(func() { benchFleet.ids = createFleet(b, "fleetbench", benchFleetSize, nil) })
	if len(benchFleet.ids) != benchFleetSize {
		b.Fatal("the fleet was not created")
	}
	for _, bm := range []struct {
		name string
		run  func(ctx context.Context, f *aurora.Fleet) *aurora.FleetRun
	}{
		{"Advise", func(ctx context.Context, f *aurora.Fleet) *aurora.FleetRun { return f.Advise(ctx, nil) }},
		{"CheckDrift", func(ctx context.Context, f *aurora.Fleet) *aurora.FleetRun { return f.CheckDrift(ctx, fleetSpec) }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			rec := &apiRecorder{}
			cfg := rec.wrap(emu.AWSConfig())
			f, err := aurora.NewFleet([]aws.Config{cfg}, &aurora.FleetOptions{
				Tags: fleetTag("fleetbench"), ClusterOptions: fleetClusterOptions})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			clusters, calls := 0, 0
			var elapsed time.Duration
			b.ResetTimer()
			for range b.N {
				rec.take()
				start := time.Now()
				n := 0
				for r, err := range bm.run(ctx, f).Results() {
					if err != nil {
						b.Fatalf("%s: %v", r.Cluster.ID, err)
					}
					n++
				}
				elapsed += time.Since(start)
				if n != benchFleetSize {
					b.Fatalf("%d results, want %d", n, benchFleetSize)
				}
				clusters += n
				calls += len(rec.take())
			}
			b.ReportMetric(float64(clusters)/elapsed.Seconds(), "clusters/s")
			b.ReportMetric(float64(calls)/float64(clusters), "calls/cluster")
		})
	}
}
