package containers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/testcontainers/testcontainers-go"
	tcwait "github.com/testcontainers/testcontainers-go/wait"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/aurora/auroratest/containers"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// BenchmarkStartVsContainer prices a fresh database per test both ways, on
// the same machine in one run: a PostgreSQL 15 container of
// containers.Image (pgaudit and pglogical preloaded) started through
// testcontainers-go until a client logs in, then terminated; an emulated
// cluster of one and of two instances started until Start returns (every
// instance available), then closed; and a ResetState of a running
// 2-instance cluster with database app saved. It prints the means in ms
// and the container's time over each of the emulator's.
//
//	make bench-containers
func BenchmarkStartVsContainer(b *testing.B) {
	ctx := context.Background()
	if _, err := testcontainers.NewDockerClientWithOpts(ctx); err != nil {
		b.Skipf("no Docker-compatible engine (set DOCKER_HOST; make bench-containers starts podman's): %v", err)
	}
	startContainer := func() time.Duration {
		t0 := time.Now()
		c, err := testcontainers.Run(ctx, containers.Image,
			testcontainers.WithExposedPorts("5432/tcp"),
			testcontainers.WithCmd("-c", "shared_preload_libraries=pgaudit,pglogical"),
			testcontainers.WithWaitStrategy(tcwait.ForListeningPort("5432/tcp")))
		if err != nil {
			b.Fatalf("starting a container of %s (built? see the package docs): %v", containers.Image, err)
		}
		defer func() {
			if err := testcontainers.TerminateContainer(c); err != nil {
				b.Fatal(err)
			}
		}()
		host, err := c.Host(ctx)
		if err != nil {
			b.Fatal(err)
		}
		port, err := c.MappedPort(ctx, "5432/tcp")
		if err != nil {
			b.Fatal(err)
		}
		dsn := fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres sslmode=disable", host, port.Port())
		if err := wait.Until(ctx, pgaurora.Wait{MaxWait: time.Minute}, pgaurora.Wait{MinDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}, func(ctx context.Context) (bool, error) {
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				return false, nil
			}
			defer conn.Close(ctx)
			return conn.Ping(ctx) == nil, nil
		}); err != nil {
			b.Fatalf("logging in to the container: %v", err)
		}
		return time.Since(t0)
	}
	startCluster := func(n int) time.Duration {
		t0 := time.Now()
		e, err := auroratest.Start(ctx, auroratest.WithCluster("fresh", auroratest.ClusterConfig{Instances: n, DatabaseName: "app"}))
		if err != nil {
			b.Fatal(err)
		}
		d := time.Since(t0)
		if err := e.Close(); err != nil {
			b.Fatal(err)
		}
		return d
	}
	saved, err := auroratest.Start(ctx, auroratest.WithCluster("saved", auroratest.ClusterConfig{Instances: 2, DatabaseName: "app"}))
	if err != nil {
		b.Fatal(err)
	}
	defer saved.Close()
	if err := saved.SaveState(ctx, "saved", "app"); err != nil {
		b.Fatal(err)
	}
	reset := func() time.Duration {
		t0 := time.Now()
		if err := saved.ResetState(ctx, "saved"); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	// Once before the timer: the engine's first container start, the
	// emulator's catalog, CAs and template.
	startContainer()
	startCluster(1)

	var container, one, two, back time.Duration
	for range b.N {
		container += startContainer()
		one += startCluster(1)
		two += startCluster(2)
		back += reset()
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(ms(container), "ms/container")
	b.ReportMetric(ms(one), "ms/cluster-1")
	b.ReportMetric(ms(two), "ms/cluster-2")
	b.ReportMetric(ms(back), "ms/reset")
	b.ReportMetric(float64(container)/float64(one), "container/cluster-1")
	b.ReportMetric(float64(container)/float64(two), "container/cluster-2")
	b.ReportMetric(float64(container)/float64(back), "container/reset")
	b.ReportMetric(0, "ns/op") // the figures above are what counts
}
