package auroratest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pgaurora/pgaurora/internal/pgserver"
)

// Major version upgrades: ModifyDBCluster with a later major
// EngineVersion and AllowMajorVersionUpgrade. The cluster and its
// instances are "upgrading" for the transition delay; then the emulator
// runs Aurora's pre-upgrade checks on the writer, and either fails the
// upgrade (an event says why, and the cluster is available again on its
// old version) or upgrades: when the machine has server binaries of the
// target major version (pgserver.BinariesFor) with every extension the
// databases use and every preloaded library, the servers really move to
// them (upgradeServers: dump and restore into a new data directory, the
// readers copies of it); otherwise an event says why they stay what they
// are. Then the cluster takes the target family's groups and every
// instance restarts with them.

// upgradeMajor carries out a major version upgrade; false means it failed
// (its pre-upgrade checks, or the move to the new binaries) and the
// cluster is back as it was.
func (e *Emulator) upgradeMajor(ctx context.Context, c *cluster, ch clusterChange) bool {
	st := e.lock()
	from := c.engineVersion
	var srv *pgserver.Server
	if w := c.writer(); w != nil {
		srv = w.server
	}
	iamAuth := c.iamAuth
	st.unlock()
	fail := func(message string) bool {
		st := e.lock()
		defer st.unlock()
		c.status = statusAvailable
		for _, m := range c.members {
			m.status = statusAvailable
		}
		e.event(st, sourceCluster, c.id, "maintenance", message)
		return false
	}
	if reason := e.preUpgradeCheck(ctx, srv, from); reason != "" {
		return fail(fmt.Sprintf("Database cluster is in a state that cannot be upgraded: PreUpgrade checks failed: %s", reason))
	}
	target, _ := strconv.Atoi(majorOf(ch.engineVersion))
	bin, why := upgradeBinaries(ctx, srv, target, iamAuth)
	onNew := why == ""
	if onNew {
		if err := e.upgradeServers(ctx, c, bin); err != nil {
			if ctx.Err() != nil {
				return false
			}
			e.log.Warn("auroratest: the major version upgrade failed; the cluster stays on its version", "cluster", c.id, "from", from, "to", ch.engineVersion, "error", err)
			return fail(fmt.Sprintf("Database cluster major version upgrade from %s to %s failed; the cluster is available on %s: %s", from, ch.engineVersion, from, firstLine(err.Error())))
		}
	} else if srv != nil {
		st := e.lock()
		e.event(st, sourceCluster, c.id, "maintenance", fmt.Sprintf("auroratest: the servers keep running PostgreSQL %d and the cluster reports %s: %s", srv.Binaries().Major, ch.engineVersion, why))
		st.unlock()
		e.log.Info("auroratest: the major version upgrade only changes the reported version", "cluster", c.id, "to", ch.engineVersion, "reason", why)
	}
	st = e.lock()
	c.engineVersion, c.family, c.clusterGroup = ch.engineVersion, familyFor(ch.engineVersion), ch.group
	members := slices.Clone(c.members)
	var writer *instance
	for _, m := range members {
		m.instanceGroup = ch.instanceGroup
		m.clusterGroupStatus, m.instanceGroupStatus = statusPendingReboot, statusPendingReboot
		m.pendingGen++
		if m.writer {
			writer = m
		}
	}
	st.unlock()
	// The writer first, then each reader, each with the new family's
	// settings.
	if writer != nil {
		e.reboot(ctx, writer)
	}
	for _, m := range members {
		if m != writer {
			e.reboot(ctx, m)
		}
	}
	st = e.lock()
	defer st.unlock()
	e.event(st, sourceCluster, c.id, "maintenance", fmt.Sprintf("Database cluster major version has been upgraded from %s to %s", from, ch.engineVersion))
	if w := c.writer(); onNew && w != nil && w.server != nil {
		// The first automated backup of the new version.
		srv := w.server
		e.goBackground(st, func(ctx context.Context) {
			if err := e.automatedBackup(ctx, c, srv); err != nil && ctx.Err() == nil {
				e.log.Warn("auroratest: the automated backup after the major version upgrade failed", "cluster", c.id, "error", err)
			}
		})
	}
	return true
}

// preUpgradeCheck is the part of Aurora's pre-upgrade checks the emulator
// can make: below PostgreSQL 17 no logical replication slot may exist.
// It returns why the upgrade cannot go on, or "".
func (e *Emulator) preUpgradeCheck(ctx context.Context, writer *pgserver.Server, from string) string {
	if writer == nil {
		return ""
	}
	if major, _ := strconv.Atoi(majorOf(from)); major >= 17 {
		return ""
	}
	n, err := writer.QueryOne(ctx, "SELECT count(*) FROM pg_catalog.pg_replication_slots WHERE slot_type = 'logical'")
	if err != nil {
		return "the writer could not be checked: " + err.Error()
	}
	if n != "0" {
		return fmt.Sprintf("The instance could not be upgraded because it has %s logical replication slots. Drop them and try again.", n)
	}
	return ""
}

// upgradeBinaries returns the binaries a cluster whose writer is srv can
// really be upgraded to, or why it cannot be: no binaries of the target
// major on this machine, an extension some database has or a preloaded
// library they lack (or cannot load), or IAM authentication, which the
// emulator checks through LDAP, on binaries built without it.
func upgradeBinaries(ctx context.Context, srv *pgserver.Server, major int, iamAuth bool) (pgserver.Binaries, string) {
	if srv == nil {
		return pgserver.Binaries{}, "the cluster has no writer"
	}
	bin, err := pgserver.BinariesFor(major)
	if err != nil {
		return pgserver.Binaries{}, fmt.Sprintf("no PostgreSQL %d server binaries on this machine (internal/pgserver/fetch-majors.sh installs them; see %s)", major, pgserver.EnvBinDirs)
	}
	if bin.Major == srv.Binaries().Major {
		return pgserver.Binaries{}, fmt.Sprintf("the servers already run PostgreSQL %d", major)
	}
	if _, err := srv.DumpTools(); err != nil {
		return pgserver.Binaries{}, fmt.Sprintf("the upgrade is a dump and restore, and %v", err)
	}
	preload, err := srv.QueryOne(ctx, "SELECT current_setting('shared_preload_libraries')")
	if err != nil {
		return pgserver.Binaries{}, "the writer could not be checked: " + err.Error()
	}
	for _, lib := range strings.Split(preload, ",") {
		if lib = strings.Trim(strings.TrimSpace(lib), `"`); lib == "" {
			continue
		}
		if err := bin.CheckLibrary(lib); err != nil {
			return pgserver.Binaries{}, fmt.Sprintf("shared_preload_libraries has %s: %v", lib, err)
		}
	}
	exts, err := installedExtensions(ctx, srv)
	if err != nil {
		return pgserver.Binaries{}, "the writer could not be checked: " + err.Error()
	}
	for _, x := range exts {
		if err := bin.CheckExtension(x); err != nil {
			return pgserver.Binaries{}, fmt.Sprintf("extension %s is installed: %v", x, err)
		}
	}
	if iamAuth && !bin.SupportsLDAP() {
		return pgserver.Binaries{}, fmt.Sprintf("IAM database authentication is on, and PostgreSQL %d here is built without the LDAP authentication the emulator checks IAM tokens with", major)
	}
	return bin, ""
}

// installedExtensions lists the extensions of every database of srv that
// takes connections, sorted, each once.
func installedExtensions(ctx context.Context, srv *pgserver.Server) ([]string, error) {
	conn, err := srv.Connect(ctx, "postgres")
	if err != nil {
		return nil, err
	}
	dbs, err := column(ctx, conn, "SELECT datname FROM pg_catalog.pg_database WHERE datallowconn ORDER BY 1")
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return nil, err
	}
	var exts []string
	for _, db := range dbs {
		conn, err := srv.Connect(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", db, err)
		}
		names, err := column(ctx, conn, "SELECT extname FROM pg_catalog.pg_extension")
		conn.Close(context.WithoutCancel(ctx))
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", db, err)
		}
		exts = append(exts, names...)
	}
	slices.Sort(exts)
	return slices.Compact(exts), nil
}

// upgradeServers moves a cluster's servers to bin, a later major version:
// a new server of that version is initdb'd in a staging directory and
// gets the writer's roles and databases by dump and restore
// (pgserver.DumpInto, with the installed client programs); cleanly
// stopped, its data becomes the writer's, and a copy of it each reader's,
// which streams from the new writer as a new cluster's first readers do.
// The servers keep their addresses, port, log, TLS and settings (those
// the new version lacks are left out). Planner statistics do not come
// along, as with a real upgrade. The WAL archive and the automated
// backups of the old version go (a point-in-time restore reaches back to
// the upgrade, no further); upgradeMajor takes a new automated backup
// once the instances have restarted with the new groups.
//
// Until every new server runs, the old data directories are kept: on an
// error the old servers start again on them, and the cluster is as it
// was. It takes the opLock of every member.
func (e *Emulator) upgradeServers(ctx context.Context, c *cluster, bin pgserver.Binaries) (err error) {
	st := e.lock()
	members := slices.Clone(c.members)
	st.unlock()
	for _, m := range members {
		m.ops.lock()
		defer m.ops.unlock()
	}
	st = e.lock()
	writer := c.writer()
	type member struct {
		in      *instance
		old     *pgserver.Server
		applied map[string]string
	}
	var readers []member
	var w member
	for _, m := range members {
		if m.server == nil {
			continue
		}
		x := member{m, m.server, maps.Clone(m.applied)}
		if m == writer {
			w = x
		} else {
			readers = append(readers, x)
		}
	}
	st.unlock()
	if w.in == nil {
		return errors.New("the cluster has no running writer")
	}
	old := w.old
	segMB := 16
	if v, err := old.QueryOne(ctx, "SELECT setting FROM pg_catalog.pg_settings WHERE name = 'wal_segment_size'"); err == nil {
		if n, err := strconv.Atoi(v); err == nil && n >= 1<<20 {
			segMB = n >> 20
		}
	}

	// 1. The new server, filled from the old writer, which keeps serving.
	stage := filepath.Join(c.dir, fmt.Sprintf("upgrade-%d", bin.Major))
	_ = os.RemoveAll(stage)
	defer os.RemoveAll(stage)
	settings, preload, _ := splitSettings(w.applied)
	delete(settings, "archive_mode") // its WAL is not the cluster's yet
	delete(settings, "archive_command")
	n, err := pgserver.Start(ctx, pgserver.Config{Dir: stage, Host: w.in.address, Superuser: old.Superuser(), Password: old.Password(),
		Binaries: bin, WALSegmentSize: segMB, Settings: settings, PreloadLibraries: preload})
	if err != nil {
		return fmt.Errorf("starting a PostgreSQL %d server: %w", bin.Major, err)
	}
	err = prepareUpgradeTarget(ctx, n, false)
	if err == nil {
		err = old.DumpInto(ctx, n)
	}
	if err == nil {
		err = prepareUpgradeTarget(ctx, n, true)
	}
	if serr := n.Stop(context.WithoutCancel(ctx)); err == nil {
		err = serr
	}
	if err != nil {
		return err
	}

	// 2. The old servers stop; their data directories are kept aside
	// until the new servers run.
	all := append([]member{w}, readers...)
	var started []*pgserver.Server
	var moved []*instance
	archiveAside := c.archiveDir() + ".pre-upgrade"
	defer func() {
		if err == nil {
			return
		}
		for _, s := range started {
			s.Kill()
		}
		st := e.lock()
		for _, m := range all {
			m.in.server, m.in.port, m.in.applied = m.old, m.old.Port(), m.applied
		}
		st.unlock()
		err = errors.Join(err, restoreData(moved, func() error {
			if _, serr := os.Stat(archiveAside); serr != nil {
				return nil
			}
			_ = os.RemoveAll(c.archiveDir())
			return os.Rename(archiveAside, c.archiveDir())
		}))
		for _, m := range all {
			if m.old.Running() {
				continue
			}
			if rerr := m.old.StartAgain(context.WithoutCancel(ctx)); rerr != nil {
				err = errors.Join(err, fmt.Errorf("starting %s again on its old data: %w", m.in.id, rerr))
			}
		}
	}()
	for _, m := range slices.Backward(all) {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
		err := m.old.Stop(sctx)
		cancel()
		if err != nil {
			return fmt.Errorf("stopping %s: %w", m.in.id, err)
		}
	}
	for _, m := range all {
		if err := os.Rename(m.old.DataDir(), m.old.DataDir()+preUpgrade); err != nil {
			return fmt.Errorf("keeping the data of %s: %w", m.in.id, err)
		}
		moved = append(moved, m.in)
	}
	// The old version's WAL archive and automated backups cannot restore
	// the new version's data.
	_ = os.RemoveAll(archiveAside)
	if err := os.Rename(c.archiveDir(), archiveAside); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("putting the WAL archive aside: %w", err)
	}
	if err := pgserver.MakeServerDir(c.archiveDir()); err != nil {
		return err
	}

	// 3. The new writer, then the readers on copies of its stopped data.
	if err := pgserver.CopyTree(ctx, filepath.Join(stage, "data"), w.old.DataDir()); err != nil {
		return fmt.Errorf("the new data of %s: %w", w.in.id, err)
	}
	settings, preload, hba := splitSettings(w.applied)
	nw, err := pgserver.Open(ctx, pgserver.Config{Dir: w.in.dir, Host: w.in.address, Port: c.port, Superuser: old.Superuser(), Password: old.Password(),
		TLS: w.in.tls, Settings: settings, PreloadLibraries: preload, HBA: hba}, nil)
	if err != nil {
		return fmt.Errorf("starting writer %s on PostgreSQL %d: %w", w.in.id, bin.Major, err)
	}
	started = append(started, nw)
	st = e.lock()
	w.in.server, w.in.port = nw, nw.Port()
	st.unlock()
	if e.hooks.upgradeFault(c.id) {
		return errors.New("the upgrade failed by FailNextUpgrade")
	}
	for _, r := range readers {
		if err := e.startReplica(ctx, r.in, nw, r.applied, &dataTemplate{dir: stage}); err != nil {
			return fmt.Errorf("starting reader %s on PostgreSQL %d: %w", r.in.id, bin.Major, err)
		}
		st := e.lock()
		started = append(started, r.in.server)
		st.unlock()
	}

	// 4. Done: the old data goes, and so do the old automated backups.
	for _, m := range all {
		_ = os.RemoveAll(m.old.DataDir() + preUpgrade)
	}
	_ = os.RemoveAll(archiveAside)
	st = e.lock()
	defer st.unlock()
	for _, b := range c.backups {
		e.dropSnapshot(st, b)
	}
	c.backups = nil
	return nil
}

// prepareUpgradeTarget gives a new server what prepareTemplate gives a new
// cluster's, in the two halves a restore needs: before it (after false),
// the emulator's functions, which live in pg_catalog and so are not in a
// dump, in template0, template1 and postgres (the restore's databases are
// made from template0); after it, template0's event triggers (the other
// databases get theirs from the dump, as they get the roles).
func prepareUpgradeTarget(ctx context.Context, srv *pgserver.Server, after bool) error {
	var funcs, rest []string
	for _, q := range append(append([]string{}, topologySQL...), extensionGuardSQL...) {
		if strings.HasPrefix(q, "CREATE OR REPLACE FUNCTION") {
			funcs = append(funcs, q)
		} else {
			rest = append(rest, q)
		}
	}
	if after {
		return inTemplate0(ctx, srv, rest)
	}
	if err := execAll(ctx, srv, "postgres", funcs); err != nil {
		return err
	}
	if err := execAll(ctx, srv, "template1", funcs); err != nil {
		return fmt.Errorf("in template1: %w", err)
	}
	return inTemplate0(ctx, srv, funcs)
}

// inTemplate0 runs statements in template0, which takes no connections
// otherwise, and freezes it again.
func inTemplate0(ctx context.Context, srv *pgserver.Server, stmts []string) error {
	if err := execAll(ctx, srv, "postgres", []string{"ALTER DATABASE template0 ALLOW_CONNECTIONS true"}); err != nil {
		return err
	}
	if err := execAll(ctx, srv, "template0", append(stmts, "VACUUM FREEZE")); err != nil {
		return fmt.Errorf("in template0: %w", err)
	}
	return execAll(ctx, srv, "postgres", []string{"ALTER DATABASE template0 ALLOW_CONNECTIONS false"})
}

// preUpgrade suffixes an instance's data directory while a major version
// upgrade replaces it.
const preUpgrade = ".pre-upgrade"

// restoreData puts the data directories of the moved instances back
// (the new ones go), then runs also, for what else must be put back.
func restoreData(moved []*instance, also func() error) error {
	var errs []error
	for _, in := range moved {
		data := filepath.Join(in.dir, "data")
		_ = os.RemoveAll(data)
		if err := os.Rename(data+preUpgrade, data); err != nil {
			errs = append(errs, fmt.Errorf("putting the old data of %s back: %w", in.id, err))
		}
	}
	if also != nil {
		errs = append(errs, also())
	}
	return errors.Join(errs...)
}

// firstLine is the first line of a message (server logs follow in pgserver's errors).
func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
