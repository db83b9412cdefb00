package auroratest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/pgserver"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// Failover. FailoverDBCluster (and RebootDBInstance with ForceFailover on
// the writer, and a crashed writer) makes a reader the writer, as Aurora
// does:
//
//  1. the cluster goes "failing-over"; sessions through the writer
//     endpoint are cut and the old writer stops;
//  2. the target reader (the one named, else the available reader with the
//     lowest promotion tier) is promoted; the writer endpoint forwards to
//     it from then on and IsClusterWriter flips;
//  3. the other readers follow the new writer (rebuilt from a base backup
//     if they cannot), and the old writer is rebuilt as a reader of the
//     new one, on its old port, keeping its log;
//  4. the cluster and its instances are "available" again.

const statusFailingOver = "failing-over"

type failoverIn struct {
	DBClusterIdentifier        string `rds:",required"`
	TargetDBInstanceIdentifier string
}

func (e *Emulator) failoverDBCluster(ctx context.Context, in *failoverIn) (any, error) {
	st := e.lock()
	defer st.unlock()
	c, err := st.availableCluster(e, in.DBClusterIdentifier)
	if err != nil {
		return nil, err
	}
	if w := c.writer(); w != nil {
		if s := w.busyStatus(statusAvailable); s != "" {
			return nil, errInvalidInstanceState(w.id, s)
		}
	}
	target, err := e.failoverTarget(st, c, in.TargetDBInstanceIdentifier)
	if err != nil {
		return nil, err
	}
	if err := e.startFailover(st, c, target); err != nil {
		return nil, err
	}
	return xDBClusterResult{DBCluster: e.xCluster(st, c)}, nil
}

// failoverTarget validates a named target or picks one: the available
// reader with the lowest promotion tier.
func (e *Emulator) failoverTarget(st *state, c *cluster, targetID string) (*instance, error) {
	if targetID != "" {
		t, ok := st.instance(e, targetID)
		if !ok || t.cluster != c {
			return nil, errInvalidValue("TargetDBInstanceIdentifier %s is not a DB instance of cluster %s.", targetID, c.id)
		}
		if t.writer {
			return nil, errInvalidValue("TargetDBInstanceIdentifier %s is already the writer of cluster %s.", targetID, c.id)
		}
		if s := t.busyStatus(statusAvailable); s != "" {
			return nil, errInvalidInstanceState(t.id, s)
		}
		return t, nil
	}
	var best *instance
	for _, in := range c.readers() {
		if in.busyStatus(statusAvailable) == "" && (best == nil || in.promotionTier < best.promotionTier) {
			best = in
		}
	}
	if best == nil {
		return nil, errInvalidClusterState(c.id, c.status+" with no available reader to fail over to")
	}
	return best, nil
}

// startFailover marks the cluster failing-over and starts the failover in
// the background.
func (e *Emulator) startFailover(st *state, c *cluster, target *instance) error {
	w := c.writer()
	if w == nil {
		return errInvalidClusterState(c.id, "without a writer")
	}
	c.status = statusFailingOver
	if w.status != statusDeleting {
		w.status = statusRebooting
	}
	// From now on the writer endpoint refuses connections until the new
	// writer is promoted, so no write lands on the old writer.
	c.fenced = true
	c.writerProxy.cut("")
	e.event(st, sourceCluster, c.id, "failover", "Started cross AZ failover to DB instance: "+target.id)
	e.goBackground(st, func(ctx context.Context) { e.failover(ctx, c, target) })
	return nil
}

func (e *Emulator) failover(ctx context.Context, c *cluster, target *instance) {
	unlock := e.lockMembers(c)
	defer unlock()
	err := e.doFailover(ctx, c, target)
	st := e.lock()
	defer st.unlock()
	e.event(st, sourceCluster, c.id, "failover", "Completed failover to DB instance: "+target.id)
	if err != nil && ctx.Err() == nil {
		e.log.Error("auroratest: failover failed", "cluster", c.id, "error", err)
	}
	c.status = statusAvailable
	c.fenced = false
	for _, in := range c.members {
		if in.status == statusRebooting {
			in.status = statusAvailable
			if in.server == nil || !in.server.Running() {
				in.status = statusFailed
			}
		}
	}
}

func (e *Emulator) doFailover(ctx context.Context, c *cluster, target *instance) error {
	st := e.lock()
	old := c.writer()
	oldSrv, newSrv := old.server, target.server
	others := slices.DeleteFunc(c.readers(), func(in *instance) bool { return in == target })
	st.unlock()

	// Aurora's readers share the writer's storage, so a failover waits for
	// no replica lag: a target that lags (SetReplicaLag) stops lagging
	// first, and replays what it holds back at once. (The new writer must
	// not keep the delay either: replicas made from it start with its
	// settings.)
	if err := e.reloadWith(ctx, target, applyDelaySetting, ""); err != nil {
		e.log.Warn("auroratest: ending the failover target's replica lag", "instance", target.id, "error", err)
	}

	// Aurora's readers share the writer's storage, so a clean failover
	// loses nothing. Here the target must first replay everything the old
	// writer wrote (the endpoint already refuses new writes): every
	// acknowledged commit is at or before the WAL insert position, and the
	// old writer's clean shutdown writes its shutdown checkpoint after it,
	// flushes it and waits until its streaming replicas have received it.
	// Once the target has replayed past that position it holds everything,
	// whether or not the commits' own WAL was flushed when they were
	// acknowledged (synchronous_commit=off).
	upTo, lsnErr := oldSrv.QueryOne(ctx, "SELECT pg_current_wal_insert_lsn()::text")
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	stopErr := oldSrv.Stop(sctx)
	cancel()
	if stopErr != nil {
		e.log.Warn("auroratest: stopping the old writer", "instance", old.id, "error", stopErr)
	}
	caughtUp := lsnErr
	if lsnErr == nil {
		caughtUp = waitReplayed(ctx, newSrv, upTo, 30*time.Second)
	} else if stopErr == nil {
		// The old writer is gone (it crashed). Its storage is not: as
		// Aurora's readers share it, the target takes the WAL it had
		// not received from the old writer's files, and replays it
		// while it is promoted. Every commit was acknowledged only
		// once its WAL was in those files (synchronous_commit on).
		if _, err := newSrv.TakeWAL(ctx, oldSrv); err != nil {
			e.log.Warn("auroratest: the failover target cannot take the crashed writer's WAL", "instance", target.id, "error", err)
		}
	}
	if caughtUp != nil {
		e.log.Warn("auroratest: the failover target has not replayed all of the old writer's WAL", "instance", target.id, "error", caughtUp)
	}
	if err := newSrv.Promote(ctx); err != nil {
		// Nothing changed hands: bring the old writer back.
		if rerr := oldSrv.StartAgain(ctx); rerr != nil {
			return errors.Join(fmt.Errorf("promoting %s: %w", target.id, err), fmt.Errorf("restarting %s: %w", old.id, rerr))
		}
		return fmt.Errorf("promoting %s: %w", target.id, err)
	}
	st = e.lock()
	old.writer, target.writer = false, true
	c.fenced = false
	for _, in := range others {
		in.status = statusRebooting
	}
	st.unlock()
	c.writerProxy.cut(target.id)

	var errs []error
	for _, in := range others {
		if err := e.follow(ctx, in, newSrv); err != nil {
			e.log.Info("auroratest: reader cannot follow the new writer; rebuilding it", "instance", in.id, "reason", err)
			if err := e.rebuildReplica(ctx, in, target); err != nil {
				errs = append(errs, fmt.Errorf("rebuilding %s: %w", in.id, err))
			}
		}
		e.markAvailable(in)
	}
	// A cleanly stopped old writer whose WAL the target replayed in full
	// ends where the new timeline forks: it restarts as a reader of the new
	// writer on its own data. Otherwise (it crashed, or the target missed
	// some of its WAL) it is rebuilt from a base backup.
	st = e.lock()
	retiring := old.status == statusDeleting
	st.unlock()
	if retiring {
		// The old writer is being deleted: it stays stopped.
		e.refreshTopology(ctx, c)
		return errors.Join(errs...)
	}
	rejoined := false
	if stopErr == nil && caughtUp == nil {
		err := e.rejoinAsReplica(ctx, old, target)
		if err != nil && ctx.Err() == nil {
			e.log.Info("auroratest: the old writer cannot follow the new writer; rebuilding it", "instance", old.id, "reason", err)
		}
		rejoined = err == nil
	}
	if !rejoined && ctx.Err() == nil {
		if err := e.rebuildReplica(ctx, old, target); err != nil {
			errs = append(errs, fmt.Errorf("rebuilding %s as a reader: %w", old.id, err))
		}
	}
	e.refreshTopology(ctx, c)
	e.markAvailable(old)
	return errors.Join(errs...)
}

// rejoinAsReplica restarts a stopped former writer as a streaming replica
// of the new writer, on its own data directory, with the settings a
// reader of that writer needs.
func (e *Emulator) rejoinAsReplica(ctx context.Context, in *instance, writer *instance) error {
	st := e.lock()
	srv, primary := in.server, writer.server
	old, want := in.applied, e.readerSettings(st, in, writer)
	st.unlock()
	if err := pushSettings(srv, old, want); err != nil {
		return err
	}
	st = e.lock()
	in.applied = want
	st.unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return srv.Follow(ctx, primary)
}

// readerSettings is what in runs with as a reader of writer: its desired
// settings, with the standby floor of the writer's.
func (e *Emulator) readerSettings(st *state, in, writer *instance) map[string]string {
	want := e.desired(st, in)
	e.raiseFloor(want, writer.applied)
	return want
}

func (e *Emulator) markAvailable(in *instance) {
	st := e.lock()
	defer st.unlock()
	if in.status != statusDeleting && in.server != nil && in.server.Running() {
		in.status = statusAvailable
	}
}

// follow points a reader at the new writer and waits until it streams
// the new writer's timeline.
func (e *Emulator) follow(ctx context.Context, in *instance, primary *pgserver.Server) error {
	st := e.lock()
	srv := in.server
	st.unlock()
	if srv == nil || !srv.Running() {
		return errors.New("the reader is not running")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return srv.Follow(ctx, primary)
}

// rebuildReplica replaces an instance's server with a fresh streaming
// replica of the writer: same directory (the log is kept), same port.
func (e *Emulator) rebuildReplica(ctx context.Context, in *instance, writer *instance) error {
	st := e.lock()
	old := in.server
	primary, want := writer.server, e.readerSettings(st, in, writer)
	st.unlock()
	if old != nil {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_ = old.Stop(sctx)
		cancel()
		if err := os.RemoveAll(old.DataDir()); err != nil {
			return err
		}
	}
	return e.startReplica(ctx, in, primary, want, nil)
}

// startReplica starts in's server as a streaming replica of primary with
// the given settings, on its address and the cluster's port, and records
// it.
//
// With tmpl, the replica starts on a copy of that template data directory
// instead of a base backup: only for a writer that started on a copy of
// the same template and has not written more WAL since than it keeps
// (wal_keep_size), as a new cluster's first readers.
func (e *Emulator) startReplica(ctx context.Context, in *instance, primary *pgserver.Server, want map[string]string, tmpl *dataTemplate) error {
	settings, preload, hba := splitSettings(want)
	cfg := pgserver.Config{
		Dir: in.dir, Host: in.address, Port: in.cluster.port, PreloadLibraries: preload, Settings: settings, TLS: e.serverTLS(in), HBA: hba,
		BasebackupMaxRate: e.basebackupMaxRate,
	}
	var rs *pgserver.Server
	var err error
	if tmpl != nil {
		if err = pgserver.CopyTree(ctx, tmpl.dataDir(), filepath.Join(in.dir, "data")); err == nil {
			rs, err = primary.OpenReplica(ctx, cfg)
		}
	} else {
		rs, err = primary.StartReplica(ctx, cfg)
	}
	if err != nil {
		return err
	}
	applied := rs.Settings()
	applied[paramPreload] = strings.Join(preload, ",")
	applied[paramHBA] = want[paramHBA]
	st := e.lock()
	in.server, in.port, in.applied = rs, rs.Port(), applied
	st.unlock()
	return nil
}

// waitReplayed waits until standby has replayed WAL past lsn.
func waitReplayed(ctx context.Context, standby *pgserver.Server, lsn string, timeout time.Duration) error {
	lit, err := sqlquote.Literal(lsn)
	if err != nil {
		return err
	}
	var last error
	err = wait.Until(ctx, pgaurora.Wait{MaxWait: timeout}, pollServer, func(ctx context.Context) (bool, error) {
		done, err := standby.QueryOne(ctx, "SELECT (pg_last_wal_replay_lsn() > "+lit+"::pg_lsn)::text")
		last = err
		return err == nil && done == "true", nil
	})
	if err != nil {
		return fmt.Errorf("waiting for replay past %s: %w (last: %v)", lsn, err, last)
	}
	return nil
}

// CrashInstance kills a DB instance's server process at once (SIGKILL), as
// a hardware or engine crash would, and lets the emulator recover as
// Aurora does: a crashed writer fails over to the best available reader
// (or restarts when there is none); a crashed reader restarts. It returns
// once the process is gone; the recovery runs in the background, with the
// usual statuses ("failing-over", "rebooting", then "available").
func (e *Emulator) CrashInstance(id string) error {
	st := e.lock()
	in, ok := st.instance(e, id)
	if !ok {
		st.unlock()
		return fmt.Errorf("auroratest: CrashInstance: no DB instance %q", id)
	}
	if in.status != statusAvailable || in.cluster.status != statusAvailable {
		st.unlock()
		return fmt.Errorf("auroratest: CrashInstance: %s is %s (cluster %s); crash only available instances", id, in.status, in.cluster.status)
	}
	srv := in.server
	in.status = statusRebooting // nobody else touches it meanwhile
	st.unlock()
	srv.Kill()

	st = e.lock()
	defer st.unlock()
	c := in.cluster
	if in.writer {
		if target, err := e.failoverTarget(st, c, ""); err == nil {
			return e.startFailover(st, c, target)
		}
	}
	e.goBackground(st, func(ctx context.Context) { e.recoverCrashed(ctx, in) })
	return nil
}

// recoverCrashed starts a crashed server again (crash recovery).
func (e *Emulator) recoverCrashed(ctx context.Context, in *instance) {
	in.ops.lock()
	defer in.ops.unlock()
	st := e.lock()
	srv := in.server
	st.unlock()
	err := srv.StartAgain(ctx)
	st = e.lock()
	defer st.unlock()
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("auroratest: restarting a crashed instance", "instance", in.id, "error", err)
		}
		in.status = statusFailed
		return
	}
	in.status = statusAvailable
}
