package auroratest

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/pgserver"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// Settings: what each server runs with. An instance's desired settings are
// the layers, later ones winning:
//
//  1. what the emulator manages (RDS's log_line_prefix, cluster_name and
//     the topology for the Aurora functions, a quick WAL retry and some
//     kept WAL so readers reconnect fast after the writer restarts);
//  2. the values Aurora's default groups set (Source "system");
//  3. the cluster's DB cluster parameter group;
//  4. the instance's DB parameter group;
//  5. derived settings: rds.logical_replication=1 gives wal_level=logical,
//     max_wal_senders stays above the number of readers, the
//     pg_hba.conf lines of rds.force_ssl and IAM authentication (under
//     paramHBA; see enforce.go), and a reader's SetReplicaLag as
//     recovery_min_apply_delay;
//  6. on readers, the settings hot standby needs at least as high as the
//     writer's (max_connections, max_worker_processes, max_wal_senders,
//     max_prepared_transactions, max_locks_per_transaction).
//
// instance.applied is what the server's configuration holds. Dynamic
// changes applied "immediate" update it key by key and reload; a reboot
// replaces it with the desired settings and restarts.

// paramPreload is the key under which settings maps carry
// shared_preload_libraries; the server gets it as its preload list.
const paramPreload = "shared_preload_libraries"

// standbyCritical are the settings a hot standby must have at least as
// high as its primary, or it stops replaying.
var standbyCritical = []string{
	"max_connections", "max_worker_processes", "max_wal_senders",
	"max_prepared_transactions", "max_locks_per_transaction",
}

// desiredLocked computes the settings an instance should run with, without
// the standby floor (see raiseFloor).
func (e *Emulator) desired(st *state, in *instance) map[string]string {
	s := map[string]string{
		"log_line_prefix":             rdsLogLinePrefix,
		"cluster_name":                in.id,
		"wal_retrieve_retry_interval": "250",
		"wal_keep_size":               "64", // MB: base backups and reconnecting readers find their WAL
		// A commit is acknowledged once its WAL is in the files (not
		// fsynced: the files outlive a crash of the server, not of
		// the machine), so a crash loses no acknowledged commit, as
		// Aurora's shared storage loses none. A group may turn it off,
		// as on Aurora.
		"synchronous_commit": "on",
		topologySetting:      topology(in.cluster),
		// Every writer archives its WAL for point-in-time restores.
		"archive_mode":    "on",
		"archive_command": "test ! -f " + in.cluster.archiveDir() + "/%f && cp %p " + in.cluster.archiveDir() + "/%f",
	}
	for _, p := range e.catalog.sorted {
		if p.systemValue != "" {
			s[p.name] = p.systemValue
		}
	}
	if g, ok := st.clusterGroups[in.cluster.clusterGroup]; ok {
		for k, v := range g.values {
			s[k] = v.value
		}
	}
	if g, ok := st.instanceGroups[in.instanceGroup]; ok {
		for k, v := range g.values {
			s[k] = v.value
		}
	}
	if s["rds.logical_replication"] == "1" {
		s["wal_level"] = "logical"
	}
	need := len(in.cluster.members) + 2
	if e.intSetting(s, "max_wal_senders") < need {
		s["max_wal_senders"] = strconv.Itoa(need)
	}
	s[paramHBA] = e.hbaFor(in, s)
	if v := in.applyDelay(); v != "" {
		s[applyDelaySetting] = v
	}
	return s
}

// intSetting reads an integer setting from a settings map, falling back to
// the server's default.
func (e *Emulator) intSetting(s map[string]string, name string) int {
	if v, ok := s[name]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	switch name {
	case "max_connections":
		return 100 // what internal/pgserver sets
	}
	if p := e.catalog.lookup(name); p != nil {
		if n, err := strconv.Atoi(p.bootVal); err == nil {
			return n
		}
	}
	return 0
}

// raiseFloor raises the standby-critical settings of s to at least those
// of each floor map.
func (e *Emulator) raiseFloor(s map[string]string, floors ...map[string]string) {
	for _, name := range standbyCritical {
		v := e.intSetting(s, name)
		for _, f := range floors {
			if f == nil {
				continue
			}
			if fv := e.intSetting(f, name); fv > v {
				v = fv
			}
		}
		if v != e.intSetting(s, name) {
			s[name] = strconv.Itoa(v)
		}
	}
}

// belowFloor reports whether a reader running with s would stop replaying
// from a writer running with w.
func (e *Emulator) belowFloor(s, w map[string]string) bool {
	for _, name := range standbyCritical {
		if e.intSetting(s, name) < e.intSetting(w, name) {
			return true
		}
	}
	return false
}

// splitSettings separates shared_preload_libraries and the pg_hba.conf
// lines from the other settings.
func splitSettings(s map[string]string) (rest map[string]string, preload, hba []string) {
	rest = maps.Clone(s)
	delete(rest, paramPreload)
	delete(rest, paramHBA)
	for _, l := range strings.Split(s[paramPreload], ",") {
		if l = strings.TrimSpace(l); l != "" {
			preload = append(preload, l)
		}
	}
	return rest, preload, hbaLines(s[paramHBA])
}

// hbaLines splits paramHBA's value into lines.
func hbaLines(v string) []string {
	if v == "" {
		return []string{}
	}
	return strings.Split(v, "\n")
}

// managedKey reports whether a settings key is not a server setting.
func managedKey(k string) bool { return k == paramPreload || k == paramHBA }

// pushSettings writes the difference between two settings maps into the
// server's configuration. It takes effect at the next reload or start.
func pushSettings(srv *pgserver.Server, old, next map[string]string) error {
	upd := map[string]string{}
	for k, v := range next {
		if !managedKey(k) && old[k] != v {
			upd[k] = v
		}
	}
	for k := range old {
		if _, ok := next[k]; !ok && !managedKey(k) {
			upd[k] = "" // removes it
		}
	}
	if len(upd) > 0 {
		if err := srv.UpdateSettings(upd); err != nil {
			return err
		}
	}
	if old[paramPreload] != next[paramPreload] {
		_, libs, _ := splitSettings(next)
		if err := srv.SetPreloadLibraries(libs); err != nil {
			return err
		}
	}
	if old[paramHBA] != next[paramHBA] {
		if err := srv.SetHBA(hbaLines(next[paramHBA])); err != nil {
			return err
		}
	}
	return nil
}

// reloadWith sets one setting of an instance's running server to value
// ("" removes it) and reloads the server (see reloadSettings). Callers
// hold in's opLock.
func (e *Emulator) reloadWith(ctx context.Context, in *instance, key, value string) error {
	return e.reloadSettings(ctx, in, func(_ *state, next map[string]string) {
		if value == "" {
			delete(next, key)
		} else {
			next[key] = value
		}
	})
}

// reloadSettings changes the settings of an instance's running server:
// edit changes a copy of the settings the server runs with, under the
// state lock; when that changes any, they are written to the server's
// configuration, become the instance's applied settings, and the server
// reloads them (reloadAndWait). A server that does not run is left alone:
// it gets its desired settings when it starts. Callers hold in's opLock.
func (e *Emulator) reloadSettings(ctx context.Context, in *instance, edit func(st *state, next map[string]string)) error {
	st := e.lock()
	srv, old := in.server, in.applied
	next := maps.Clone(old)
	if next == nil {
		next = map[string]string{}
	}
	edit(st, next)
	st.unlock()
	if srv == nil || !srv.Running() || maps.Equal(old, next) {
		return nil
	}
	if err := pushSettings(srv, old, next); err != nil {
		return err
	}
	st = e.lock()
	in.applied = next
	st.unlock()
	return reloadAndWait(ctx, srv)
}

// reloadAndWait reloads the server's configuration and waits until new
// sessions see it (pg_conf_load_time moves), so that an "immediate" change
// is in effect when the API call returns.
func reloadAndWait(ctx context.Context, srv *pgserver.Server) error {
	before, err := confLoadTime(ctx, srv)
	if err != nil {
		return err
	}
	if err := srv.Reload(ctx); err != nil {
		return err
	}
	err = wait.Until(ctx, pgaurora.Wait{MaxWait: 10 * time.Second}, pollServer, func(ctx context.Context) (bool, error) {
		t, err := confLoadTime(ctx, srv)
		return err == nil && t.After(before), nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the server to reload its configuration: %w", err)
	}
	return nil
}

// confLoadTime is when the server last loaded its configuration.
func confLoadTime(ctx context.Context, srv *pgserver.Server) (time.Time, error) {
	v, err := srv.QueryOne(ctx, "SELECT extract(epoch FROM pg_conf_load_time())::text")
	if err != nil {
		return time.Time{}, err
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, int64(f*1e9)), nil
}

// applyGroupChanges makes a group change take effect on the instances that
// use the group: pending-reboot (and static) changes mark them
// pending-reboot; immediate changes are applied to every affected running
// server at once, and are in effect when this returns. Failures to reload
// a server are logged: the group change itself stands, as on Aurora.
func (e *Emulator) applyGroupChanges(g *paramGroup, changes []paramChange) error {
	var immediate []string
	pending := false
	for _, c := range changes {
		if c.method == methodImmediate {
			immediate = append(immediate, c.spec.name)
		} else {
			pending = true
		}
	}
	st := e.lock()
	var affected []*instance
	for _, c := range st.clusterOrder {
		for _, in := range c.members {
			if g.kind == clusterKind && c.clusterGroup == g.name || g.kind == instanceKind && in.instanceGroup == g.name {
				affected = append(affected, in)
			}
		}
	}
	for _, in := range affected {
		gs := &in.clusterGroupStatus
		if g.kind == instanceKind {
			gs = &in.instanceGroupStatus
		}
		if pending {
			*gs = statusPendingReboot
			in.pendingGen++
		} else if *gs != statusPendingReboot && len(immediate) > 0 {
			*gs = statusApplying
		}
	}
	st.unlock()
	if len(immediate) == 0 {
		return nil
	}
	var wg sync.WaitGroup
	for _, in := range affected {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.applyImmediate(in, g.kind, immediate); err != nil {
				e.log.Warn("auroratest: applying parameters immediately", "instance", in.id, "error", err)
			}
		}()
	}
	wg.Wait()
	return nil
}

// applyImmediate applies the named dynamic parameters to one running
// server and reloads it.
func (e *Emulator) applyImmediate(in *instance, kind groupKind, names []string) error {
	in.ops.lock()
	defer in.ops.unlock()
	err := e.reloadSettings(e.ctx, in, func(st *state, next map[string]string) {
		want := e.desired(st, in)
		for _, name := range names {
			if v, ok := want[name]; ok {
				next[name] = v
			} else {
				delete(next, name)
			}
		}
		// The pg_hba.conf lines follow the rds.force_ssl now applied and
		// the cluster's IAM authentication.
		next[paramHBA] = e.hbaFor(in, next)
	})
	st := e.lock()
	gs := &in.clusterGroupStatus
	if kind == instanceKind {
		gs = &in.instanceGroupStatus
	}
	if *gs == statusApplying {
		*gs = statusInSync
	}
	st.unlock()
	return err
}
