package auroratest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/pgaurora/pgaurora/internal/pgtest"
)

// processesUnder lists the live processes (pid and command line) that a
// server under dir started: every program pgserver runs has HOME set to
// its server's directory, and their children inherit it.
func processesUnder(dir string) []string {
	return processesWhere(func(home string) bool { return strings.HasPrefix(home, dir+"/") })
}

// orphans lists the live processes of emulator servers whose emulator
// directory is gone: processes that outlived a failed Start or a Close.
// Emulators keep their directories in the RAM directory or the
// temporary directory (WithDir aside).
func orphans() []string {
	parents := []string{os.TempDir()}
	if d := ramDir(); d != "" {
		parents = append(parents, d)
	}
	return processesWhere(func(home string) bool {
		for _, parent := range parents {
			rel, err := filepath.Rel(parent, home)
			if err != nil || !strings.HasPrefix(rel, "auroratest-") {
				continue
			}
			root, _, _ := strings.Cut(rel, "/")
			_, err = os.Stat(filepath.Join(parent, root))
			return os.IsNotExist(err)
		}
		return false
	})
}

func processesWhere(match func(home string) bool) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, ent := range entries {
		if ent.Name()[0] < '0' || ent.Name()[0] > '9' {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "environ"))
		if err != nil {
			continue // gone, or a zombie
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if home, ok := bytes.CutPrefix(kv, []byte("HOME=")); ok && match(string(home)) {
				cmd, _ := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
				out = append(out, ent.Name()+" "+string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
				break
			}
		}
	}
	return out
}

// closeWithin closes e and fails the test if Close takes more than 5
// seconds (a hang: Close normally takes well under one) or leaves a
// process of the emulator's servers behind.
func closeWithin(t *testing.T, e *Emulator) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- e.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Logf("Close: %v", err) // stopping servers mid-operation may report errors; it must not hang
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Close did not return within 5s; processes: %q", processesUnder(e.dir))
	}
	pgtest.WaitFor(t, "the emulator's processes to be gone after Close", 5*time.Second, func() (bool, string) {
		left := processesUnder(e.dir)
		return len(left) == 0, fmt.Sprintf("%q", left)
	})
}

// TestCloseDuringOperations closes the emulator at several points of a
// failover, a crash recovery (which rebuilds the old writer with
// pg_basebackup), a reboot, a point-in-time restore, a StartDBCluster, a
// new instance's creation and the emulator's own start: Close returns
// promptly and no postgres or pg_basebackup process outlives it.
func TestCloseDuringOperations(t *testing.T) {
	t.Parallel()
	clusterStatus := func(ctx context.Context, c *rds.Client, id string) string {
		out, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)})
		if err != nil {
			return err.Error()
		}
		return aws.ToString(out.DBClusters[0].Status)
	}
	waitStatus := func(t *testing.T, ctx context.Context, c *rds.Client, want string) {
		pgtest.WaitFor(t, "cluster cl to be "+want, time.Minute, func() (bool, string) {
			s := clusterStatus(ctx, c, "cl")
			return s == want, s
		})
	}
	ops := []struct {
		name      string
		instances int
		points    []string
		prep      func(t *testing.T, ctx context.Context, e *Emulator, c *rds.Client)
		run       func(ctx context.Context, e *Emulator, c *rds.Client) error
	}{
		{"restore", 1, []string{"0s", "250ms"}, func(t *testing.T, ctx context.Context, e *Emulator, c *rds.Client) {
			pgtest.WaitFor(t, "the first automated backup", time.Minute, func() (bool, string) {
				out, err := c.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("cl")})
				return err == nil && out.DBClusters[0].EarliestRestorableTime != nil, fmt.Sprint(err)
			})
		}, func(ctx context.Context, e *Emulator, c *rds.Client) error {
			_, err := c.RestoreDBClusterToPointInTime(ctx, &rds.RestoreDBClusterToPointInTimeInput{DBClusterIdentifier: aws.String("pitr"),
				SourceDBClusterIdentifier: aws.String("cl"), UseLatestRestorableTime: aws.Bool(true)})
			return err
		}},
		{"start", 1, []string{"0s", "250ms"}, func(t *testing.T, ctx context.Context, e *Emulator, c *rds.Client) {
			if _, err := c.StopDBCluster(ctx, &rds.StopDBClusterInput{DBClusterIdentifier: aws.String("cl")}); err != nil {
				t.Fatal(err)
			}
			waitStatus(t, ctx, c, "stopped")
		}, func(ctx context.Context, e *Emulator, c *rds.Client) error {
			_, err := c.StartDBCluster(ctx, &rds.StartDBClusterInput{DBClusterIdentifier: aws.String("cl")})
			return err
		}},
		{"create-instance", 1, []string{"0s", "250ms"}, nil, func(ctx context.Context, e *Emulator, c *rds.Client) error {
			_, err := c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("cl-new"), DBClusterIdentifier: aws.String("cl"),
				Engine: aws.String("aurora-postgresql"), DBInstanceClass: aws.String("db.r6g.large")})
			return err
		}},
		{"failover", 2, []string{"0s", "50ms", "250ms"}, nil, func(ctx context.Context, e *Emulator, c *rds.Client) error {
			_, err := c.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String("cl")})
			return err
		}},
		{"crash", 2, []string{"0s", "basebackup"}, nil, func(ctx context.Context, e *Emulator, c *rds.Client) error {
			return e.CrashInstance("cl-instance-1")
		}},
		{"reboot", 1, []string{"0s", "250ms"}, nil, func(ctx context.Context, e *Emulator, c *rds.Client) error {
			_, err := c.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String("cl-instance-1")})
			return err
		}},
	}
	// "basebackup" waits until a pg_basebackup runs with its WAL
	// streaming child (the old writer's rebuild after a crash, slowed
	// down so that it is still running) and closes then.
	for _, op := range ops {
		for _, point := range op.points {
			t.Run(op.name+"/"+point, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				e, err := Start(ctx, WithCluster("cl", ClusterConfig{Instances: op.instances}))
				if err != nil {
					t.Fatal(err)
				}
				if point == "basebackup" {
					// At 32 kB/s the rebuild's base backup lasts minutes,
					// so the close below always meets it running.
					e.basebackupMaxRate = "32k"
				}
				defer e.Close() // a failed wait leaves nothing behind; after closeWithin, a no-op
				c := rds.NewFromConfig(e.AWSConfig())
				if op.prep != nil {
					op.prep(t, ctx, e, c)
				}
				if err := op.run(ctx, e, c); err != nil {
					e.Close()
					t.Fatal(err)
				}
				if point == "basebackup" {
					pgtest.WaitFor(t, "pg_basebackup to run with its WAL streaming child", 30*time.Second, func() (bool, string) {
						n := 0
						for _, p := range processesUnder(e.dir) {
							if strings.Contains(p, "pg_basebackup") {
								n++
							}
						}
						return n >= 2, fmt.Sprintf("%d pg_basebackup processes", n)
					})
				} else {
					d, _ := time.ParseDuration(point)
					time.Sleep(d)
				}
				closeWithin(t, e)
			})
		}
	}
	for _, point := range []string{"10ms", "300ms", "1s"} {
		t.Run("emulator-start/"+point, func(t *testing.T) {
			t.Parallel()
			d, _ := time.ParseDuration(point)
			ctx, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			before := time.Now()
			e, err := Start(ctx, WithCluster("cl", ClusterConfig{Instances: 2}))
			if err == nil {
				// It started within the time: close it as usual.
				closeWithin(t, e)
				return
			}
			if took := time.Since(before); took > d+5*time.Second {
				t.Fatalf("Start returned %v after its context ended (%v): %v", took-d, d, err)
			}
			pgtest.WaitFor(t, "no server process to outlive the failed Start", 5*time.Second, func() (bool, string) {
				left := orphans()
				return len(left) == 0, fmt.Sprintf("%q", left)
			})
		})
	}
}
