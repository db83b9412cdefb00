package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
)

// BenchmarkMajorUpgrade upgrades the demonstration's cluster (two
// instances; pgAudit and pglogical configured; plperl functions and a
// trigger; a logical slot holding changes; custom parameter values) from
// 15.4 to 16.6 on the emulator, and prints how long each phase took
// (ms/<phase>) next to the whole upgrade (ms/total). Setting the cluster
// up is not timed.
//
//	go test -run '^$' -bench MajorUpgrade -benchtime 3x ./examples/major-upgrade/
func BenchmarkMajorUpgrade(b *testing.B) {
	ctx := context.Background()
	phases := map[string]time.Duration{}
	var order []string
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		env, err := exampleenv.Open(ctx, exampleenv.Options{
			Out: io.Discard, ClusterID: demoCluster, Instances: 2, EngineVersion: "15.4",
			ClusterParameterGroup: demoClusterGroup, InstanceParameterGroup: demoInstanceGroup,
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := setUpDemo(ctx, io.Discard, env.Cluster); err != nil {
			env.Close()
			b.Fatal(err)
		}
		opts := &aurora.MajorUpgradeOptions{
			Plan:             &aurora.MajorUpgradePlanOptions{Languages: []string{"plperl"}},
			DropLogicalSlots: true,
			LanguageBackup:   io.Discard,
		}
		b.StartTimer()
		start := time.Now()
		r, err := env.Cluster.UpgradeMajorVersion(ctx, "16.6", opts)
		total += time.Since(start)
		b.StopTimer()
		env.Close()
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range r.Steps {
			slug := phaseSlug(s.Name)
			if _, ok := phases[slug]; !ok {
				order = append(order, slug)
			}
			phases[slug] += s.Duration
		}
	}
	for _, slug := range order {
		b.ReportMetric(float64(phases[slug].Microseconds())/1000/float64(b.N), "ms/"+slug)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/total")
}

// phaseSlug makes a step's name a metric unit: "snapshot the cluster"
// becomes "snapshot-the-cluster".
func phaseSlug(name string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	}), "-")
}
