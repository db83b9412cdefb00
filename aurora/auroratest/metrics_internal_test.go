package auroratest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/internal/pgserver"
)

// TestSampleSQLEveryMajor runs the metrics sample on a server of each
// major version the emulator's upgrades can move a cluster to: the
// statistics views differ between them (PostgreSQL 17 moved the
// checkpointer's writes out of pg_stat_bgwriter).
func TestSampleSQLEveryMajor(t *testing.T) {
	for _, major := range []int{15, 16, 17} {
		b, err := pgserver.BinariesFor(major)
		if errors.Is(err, pgserver.ErrNoBinaries) {
			if os.Getenv("PGAURORA_REQUIRE_MAJORS") != "" {
				t.Fatalf("PGAURORA_REQUIRE_MAJORS is set, and there are no PostgreSQL %d server binaries: %v", major, err)
			}
			t.Logf("skipping PostgreSQL %d: no server binaries (make deps-majors): %v", major, err)
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("postgresql%d", major), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			srv, err := pgserver.Start(ctx, pgserver.Config{Binaries: b})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			cfg, err := srv.ConnConfig("postgres")
			if err != nil {
				t.Fatal(err)
			}
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			var r sampleRow
			if err := conn.QueryRow(ctx, sampleSQL(b.Major)).Scan(&r.conns, &r.commits, &r.deadlocks, &r.hit, &r.read, &r.wrote,
				&r.xids, &r.walBytes, &r.dbBytes, &r.walLevel, &r.slotDisk, &r.slotLag, &r.replicaLag); err != nil {
				t.Fatalf("the sample on PostgreSQL %d: %v", b.Major, err)
			}
			if r.commits == 0 || r.dbBytes == 0 || r.walLevel == "" {
				t.Errorf("the sample on PostgreSQL %d: %+v; want commits, database sizes and wal_level", b.Major, r)
			}
		})
	}
}
