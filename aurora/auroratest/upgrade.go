package auroratest

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/pgaurora/pgaurora/internal/pgserver"
)

// Major version upgrades: ModifyDBCluster with a later major
// EngineVersion and AllowMajorVersionUpgrade. The cluster and its
// instances are "upgrading" for the transition delay; then the emulator
// runs Aurora's pre-upgrade checks on the writer, and either fails the
// upgrade (an event says why, and the cluster is available again on its
// old version) or associates the target family's groups and restarts
// every instance with them. The servers stay the local PostgreSQL 15:
// the cluster reports the new version, its groups are of the new family,
// and SQL sees PostgreSQL 15, as the package documentation says.

// upgradeMajor carries out a major version upgrade; false means it failed
// its pre-upgrade checks and the cluster is back as it was.
func (e *Emulator) upgradeMajor(ctx context.Context, c *cluster, ch clusterChange) bool {
	st := e.lock()
	from := c.engineVersion
	var srv *pgserver.Server
	if w := c.writer(); w != nil {
		srv = w.server
	}
	st.unlock()
	if reason := e.preUpgradeCheck(ctx, srv, from); reason != "" {
		st := e.lock()
		defer st.unlock()
		c.status = statusAvailable
		for _, m := range c.members {
			m.status = statusAvailable
		}
		e.event(st, sourceCluster, c.id, "maintenance", fmt.Sprintf("Database cluster is in a state that cannot be upgraded: PreUpgrade checks failed: %s", reason))
		return false
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
	e.event(st, sourceCluster, c.id, "maintenance", fmt.Sprintf("Database cluster major version has been upgraded from %s to %s", from, ch.engineVersion))
	st.unlock()
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
