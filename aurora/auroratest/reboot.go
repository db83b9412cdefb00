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

func (e *Emulator) actRebootDBInstance(r *request) (any, error) {
	id, err := r.required("DBInstanceIdentifier")
	if err != nil {
		return nil, err
	}
	force, err := r.optBool("ForceFailover", false)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	in, ok := e.lookupInstanceLocked(id)
	if !ok {
		return nil, errInstanceNotFound(id)
	}
	if in.status != statusAvailable && in.status != statusIncompatParams && in.status != statusFailed {
		return nil, errInvalidInstanceState(in.id, in.status)
	}
	if force && in.writer && in.status == statusAvailable {
		// Aurora fails over instead of rebooting the writer in place; with
		// no reader to fail over to, it reboots.
		if in.cluster.status != statusAvailable {
			return nil, errInvalidClusterState(in.cluster.id, in.cluster.status)
		}
		if target, err := e.failoverTargetLocked(in.cluster, ""); err == nil {
			if err := e.startFailoverLocked(in.cluster, target); err != nil {
				return nil, err
			}
			return xDBInstanceResult{DBInstance: e.xInstanceLocked(in)}, nil
		}
	}
	in.status = statusRebooting
	x := e.xInstanceLocked(in)
	e.goBackgroundLocked(func(ctx context.Context) { e.reboot(ctx, in) })
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
		e.mu.Lock()
		wasWriter := in.writer
		locks := []*instance{in}
		if wasWriter {
			locks = slices.Clone(in.cluster.members)
		}
		e.mu.Unlock()
		for _, l := range locks {
			l.opMu.Lock()
		}
		e.mu.Lock()
		if in.writer != wasWriter {
			// The role changed while we waited (a failover): lock again.
			e.mu.Unlock()
			for _, l := range locks {
				l.opMu.Unlock()
			}
			continue
		}
		steps := e.planRebootLocked(in)
		e.mu.Unlock()
		for _, s := range steps {
			e.restart(ctx, s)
		}
		for _, l := range locks {
			l.opMu.Unlock()
		}
		return
	}
}

// planRebootLocked decides which servers restart, in order, and with what
// settings. Callers hold e.mu and the opMu of every instance in the plan.
func (e *Emulator) planRebootLocked(in *instance) []restartStep {
	c := in.cluster
	want := e.desiredLocked(in)
	var steps []restartStep
	if in.writer {
		for _, r := range c.readers() {
			if r.server == nil || !r.server.Running() || r.status != statusAvailable {
				continue
			}
			if e.belowFloor(r.applied, want) {
				rw := e.desiredLocked(r)
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
	e.mu.Lock()
	srv, old := in.server, in.applied
	var newTLS *pgserver.TLS
	if in.pendingCA != "" {
		if err := e.issueLocked(in, in.pendingCA); err == nil {
			in.pendingCA, newTLS = "", in.tls
		}
	}
	e.mu.Unlock()
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
		e.mu.Lock()
		in.applied = s.want
		in.status = statusAvailable
		if in.pendingGen == s.gen {
			in.clusterGroupStatus, in.instanceGroupStatus = statusInSync, statusInSync
		}
		e.mu.Unlock()
		return
	}
	if ctx.Err() != nil {
		return // the emulator is closing
	}
	if err == errInjected {
		e.mu.Lock()
		in.status = statusFailed
		e.mu.Unlock()
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
	e.mu.Lock()
	in.status = status
	e.mu.Unlock()
}

// goBackgroundLocked runs f in the background, bounded by the emulator's
// life. Callers hold e.mu; after Close it does nothing.
func (e *Emulator) goBackgroundLocked(f func(ctx context.Context)) {
	if e.closed {
		return
	}
	e.bg.Add(1)
	go func() {
		defer e.bg.Done()
		f(e.ctx)
	}()
}
