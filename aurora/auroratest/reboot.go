package auroratest

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/pgaurora/pgaurora/internal/pgserver"
)

// RebootDBInstance: the instance goes "rebooting" at once, and a
// background operation restarts its server with the desired settings
// (which clears pending-reboot), then sets it "available".
//
// Aurora PostgreSQL 15 reboots the writer without rebooting the readers.
// A PostgreSQL hot standby, however, stops replaying when the primary runs
// with higher max_connections, max_worker_processes, max_wal_senders,
// max_prepared_transactions or max_locks_per_transaction than its own. So
// when a writer reboot raises one of those above what a reader runs with,
// the emulator restarts that reader first (with at least the writer's
// values), and the reader also goes through "rebooting". Readers always
// start with at least the writer's values.

type rebootIn struct {
	DBInstanceIdentifier string `rds:",required"`
	ForceFailover        bool
}

func (e *Emulator) rebootDBInstance(ctx context.Context, req *rebootIn) (any, error) {
	force := req.ForceFailover
	st := e.lock()
	defer st.unlock()
	in, ok := st.instance(e, req.DBInstanceIdentifier)
	if !ok {
		return nil, errInstanceNotFound(req.DBInstanceIdentifier)
	}
	if s := in.busyStatus(statusAvailable, statusIncompatParams, statusFailed); s != "" {
		return nil, errInvalidInstanceState(in.id, s)
	}
	if force && in.writer && in.status == statusAvailable {
		// Aurora fails over instead of rebooting the writer in place; with
		// no reader to fail over to, it reboots.
		if in.cluster.status != statusAvailable {
			return nil, errInvalidClusterState(in.cluster.id, in.cluster.status)
		}
		if target, err := e.failoverTarget(st, in.cluster, ""); err == nil {
			if err := e.startFailover(st, in.cluster, target); err != nil {
				return nil, err
			}
			return xDBInstanceResult{DBInstance: e.xInstance(st, in)}, nil
		}
	}
	in.status = statusRebooting
	e.event(st, sourceInstance, in.id, "availability", "DB instance restarting")
	x := e.xInstance(st, in)
	e.goBackground(st, func(ctx context.Context) { e.reboot(ctx, in) })
	return xDBInstanceResult{DBInstance: x}, nil
}

// errInjected marks a reboot failed on purpose (FailNextReboot).
var errInjected = errors.New("reboot failed by FailNextReboot")

type restartStep struct {
	in   *instance
	want map[string]string
	gen  uint64
}

// reboot restarts an instance (and the readers a writer reboot would
// otherwise strand) with their desired settings.
func (e *Emulator) reboot(ctx context.Context, in *instance) {
	for {
		st := e.lock()
		wasWriter := in.writer
		locks := []*instance{in}
		if wasWriter {
			locks = slices.Clone(in.cluster.members)
		}
		st.unlock()
		for _, l := range locks {
			l.ops.lock()
		}
		st = e.lock()
		if in.writer != wasWriter {
			// The role changed while we waited (a failover): lock again.
			st.unlock()
			for _, l := range locks {
				l.ops.unlock()
			}
			continue
		}
		steps := e.planReboot(st, in)
		st.unlock()
		for _, s := range steps {
			e.restart(ctx, s)
		}
		for _, l := range locks {
			l.ops.unlock()
		}
		return
	}
}

// planReboot decides which servers restart, in order, and with what
// settings. Callers hold the opLock of every instance in the plan.
func (e *Emulator) planReboot(st *state, in *instance) []restartStep {
	c := in.cluster
	want := e.desired(st, in)
	var steps []restartStep
	if in.writer {
		for _, r := range c.readers() {
			if r.server == nil || !r.server.Running() || r.status != statusAvailable {
				continue
			}
			if e.belowFloor(r.applied, want) {
				rw := e.desired(st, r)
				e.raiseFloor(rw, want, in.applied)
				r.status = statusRebooting
				steps = append(steps, restartStep{r, rw, r.pendingGen})
			}
		}
	} else if w := c.writer(); w != nil {
		e.raiseFloor(want, w.applied)
	}
	return append(steps, restartStep{in, want, in.pendingGen})
}

// restart stops a server, writes its new settings and starts it. When the
// server does not come up with them, it is started again with the previous
// settings and the instance reports "incompatible-parameters", as Aurora
// does for parameters an instance cannot start with.
func (e *Emulator) restart(ctx context.Context, s restartStep) {
	in := s.in
	delay, fail := e.hooks.rebootFault(in.id)
	if !e.sleep(delay) {
		return
	}
	st := e.lock()
	srv, old := in.server, in.applied
	var newTLS *pgserver.TLS
	if in.pendingCA != "" {
		if err := e.issue(st, in, in.pendingCA); err == nil {
			in.pendingCA, newTLS = "", in.tls
		}
	}
	st.unlock()
	if srv == nil {
		return
	}
	err := func() error {
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := srv.Stop(sctx); err != nil {
			return err
		}
		// The new certificate is issued and reported by the API from now
		// on, so the server must start with it whenever it next starts,
		// even after a failed reboot.
		if newTLS != nil {
			if err := srv.SetTLS(newTLS); err != nil {
				return err
			}
		}
		if fail {
			return errInjected
		}
		if err := pushSettings(srv, old, s.want); err != nil {
			return err
		}
		return srv.StartAgain(sctx)
	}()
	if err == nil {
		st := e.lock()
		in.applied = s.want
		in.status = statusAvailable
		if in.pendingGen == s.gen {
			in.clusterGroupStatus, in.instanceGroupStatus = statusInSync, statusInSync
		}
		e.event(st, sourceInstance, in.id, "availability", "DB instance restarted")
		st.unlock()
		return
	}
	if ctx.Err() != nil {
		return // the emulator is closing
	}
	if err == errInjected {
		st := e.lock()
		in.status = statusFailed
		st.unlock()
		return
	}
	e.log.Warn("auroratest: reboot failed; starting with the previous settings", "instance", in.id, "error", err)
	status := statusIncompatParams
	if rerr := pushSettings(srv, s.want, old); rerr != nil {
		status = statusFailed
	} else if rerr := srv.StartAgain(ctx); rerr != nil {
		e.log.Error("auroratest: the instance did not start again", "instance", in.id, "error", rerr)
		status = statusFailed
	}
	st = e.lock()
	in.status = status
	st.unlock()
}
