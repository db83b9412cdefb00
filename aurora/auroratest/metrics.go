package auroratest

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/internal/pgserver"
)

// The sampler: every metrics period (WithMetricsPeriod), one query on
// each running instance's server, over one connection per instance kept
// open between samples, and one scan of /proc for the servers' processes;
// the values become points of the AWS/RDS metrics (cloudwatch.go) and the
// alarms are evaluated. It starts with the first CloudWatch call, so that
// an emulator nobody asks for metrics spends nothing on them, and stops at
// Close.

// defaultMetricsPeriod is CloudWatch's standard resolution for RDS.
const defaultMetricsPeriod = time.Minute

// WithMetricsPeriod sets how often the emulator samples its servers for
// the CloudWatch metrics it serves (default one minute, the standard
// resolution at which RDS publishes them); tests use a second. Sampling
// begins with the emulator's first CloudWatch call, and each sample is
// one query per running instance and a scan of /proc. The period must be
// at least 100 milliseconds.
func WithMetricsPeriod(d time.Duration) Option {
	return func(c *config) { c.metricsPeriod = d }
}

// samplerApplication is the sampler's sessions' application_name, by
// which pg_stat_activity tells them from the cluster's own.
const samplerApplication = "auroratest metrics sampler"

// piApplication is the application_name of the Performance Insights
// sampler's sessions (pi.go), which DatabaseConnections does not count
// either.
const piApplication = "auroratest performance insights"

// sampler is the sampler's own state, used by its goroutine only.
type sampler struct {
	conns map[string]*samplerConn // by instance
	prev  map[string]counters     // by instance
}

type samplerConn struct {
	srv  *pgserver.Server
	conn *pgx.Conn
	sql  string // sampleSQL of the server's major version
}

// counters are an instance's cumulative statistics at one sample.
type counters struct {
	at                 time.Time
	srv                *pgserver.Server
	cpu                float64
	commits, deadlocks float64
	hit, read, written float64
}

// sampleSQL is the one query of a sample on a server of the major
// version given. The slot and replica lag figures are for the writer and
// the readers respectively; the other branch is not evaluated. It reads
// no WAL timing: see doc.go on CommitLatency. pg_stat_force_next_flush
// makes the session report its statistics as soon as the sample's
// transaction ends, so that the next sample counts exactly this one
// commit of the sampler's, which it subtracts. The samplers' own
// sessions are not connections. PostgreSQL 17 moved the checkpointer's
// and the backends' buffer writes out of pg_stat_bgwriter.
func sampleSQL(major int) string {
	written := "(buffers_checkpoint + buffers_clean + buffers_backend)::float8 FROM pg_stat_bgwriter"
	if major >= 17 {
		written = "((SELECT buffers_written FROM pg_stat_checkpointer) + buffers_clean" +
			" + (SELECT coalesce(sum(writes), 0) FROM pg_stat_io WHERE backend_type = 'client backend'))::float8 FROM pg_stat_bgwriter"
	}
	return fmt.Sprintf(`SELECT
	(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name NOT IN ('%s', '%s')),
	(SELECT coalesce(sum(xact_commit), 0)::float8 FROM pg_stat_database, pg_stat_force_next_flush()),
	(SELECT coalesce(sum(deadlocks), 0)::float8 FROM pg_stat_database),
	(SELECT coalesce(sum(blks_hit), 0)::float8 FROM pg_stat_database),
	(SELECT coalesce(sum(blks_read), 0)::float8 FROM pg_stat_database),
	(SELECT %s),
	(SELECT coalesce(max(age(datfrozenxid)), 0)::float8 FROM pg_database),
	(SELECT coalesce(sum(size), 0)::float8 FROM pg_ls_waldir()),
	(SELECT coalesce(sum(pg_database_size(oid)), 0)::float8 FROM pg_database WHERE datallowconn),
	current_setting('wal_level'),
	CASE WHEN NOT pg_is_in_recovery() THEN
		(SELECT coalesce(pg_current_wal_lsn() - min(restart_lsn), 0)::float8 FROM pg_replication_slots WHERE restart_lsn IS NOT NULL) END,
	CASE WHEN NOT pg_is_in_recovery() THEN
		(SELECT coalesce(max(pg_current_wal_lsn() - coalesce(confirmed_flush_lsn, restart_lsn)), 0)::float8 FROM pg_replication_slots WHERE restart_lsn IS NOT NULL) END,
	CASE WHEN pg_is_in_recovery() AND pg_last_wal_receive_lsn() IS DISTINCT FROM pg_last_wal_replay_lsn()
		THEN coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000, 0)::float8
		ELSE 0::float8 END`, samplerApplication, piApplication, written)
}

// sampleRow is sampleSQL's row.
type sampleRow struct {
	conns                                int64
	commits, deadlocks, hit, read, wrote float64
	xids, walBytes, dbBytes              float64
	walLevel                             string
	slotDisk, slotLag                    *float64
	replicaLag                           float64
}

// memberSnapshot is what a sample needs of an instance, read under the
// state lock.
type memberSnapshot struct {
	id, cluster string
	writer      bool
	srv         *pgserver.Server
}

func (e *Emulator) sampleLoop(ctx context.Context) {
	s := &sampler{conns: map[string]*samplerConn{}, prev: map[string]counters{}}
	defer func() {
		for _, c := range s.conns {
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = c.conn.Close(cctx)
			cancel()
		}
	}()
	t := time.NewTicker(e.metricsPeriod)
	defer t.Stop()
	for {
		e.sample(ctx, s, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// role values of the Role dimension.
const (
	roleWriter = "WRITER"
	roleReader = "READER"
)

func (e *Emulator) sample(ctx context.Context, s *sampler, now time.Time) {
	st := e.lock()
	var members []memberSnapshot
	for _, c := range st.clusterOrder {
		for _, in := range c.members {
			if in.server == nil || in.status == statusDeleting || in.status == statusCreating {
				continue
			}
			members = append(members, memberSnapshot{id: in.id, cluster: c.id, writer: in.writer, srv: in.server})
		}
	}
	st.unlock()

	procs := pgserver.ReadProcesses()
	memTotal := float64(pgserver.MemTotal())
	cpus := float64(runtime.NumCPU())
	at := now.UTC().Truncate(time.Millisecond)

	type result struct {
		m   memberSnapshot
		row sampleRow
		u   pgserver.Usage
	}
	var results []result
	seen := map[string]bool{}
	for _, m := range members {
		seen[m.id] = true
		if !m.srv.Running() {
			continue
		}
		row, err := s.query(ctx, m)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Debug("auroratest: sampling metrics", "instance", m.id, "error", err)
			}
			continue
		}
		u, _ := procs.Usage(m.srv.Pid())
		results = append(results, result{m, row, u})
	}
	for id, c := range s.conns { // instances gone
		if !seen[id] {
			_ = c.conn.Close(ctx)
			delete(s.conns, id)
			delete(s.prev, id)
		}
	}

	e.cw.mu.Lock()
	defer e.cw.mu.Unlock()
	lagMax := map[string]float64{}
	lagMin := map[string]float64{}
	hasReader := map[string]bool{}
	writerOf := map[string]string{}
	volumeRead := map[string]float64{}
	volumeWrite := map[string]float64{}
	volumeBytes := map[string]float64{}
	for _, r := range results {
		m, row := r.m, r.row
		role := roleReader
		if m.writer {
			role = roleWriter
			writerOf[m.cluster] = m.id
			volumeBytes[m.cluster] = row.dbBytes
		}
		put := func(name, unit string, v float64) {
			for _, d := range instanceDims(m.id, m.cluster, role) {
				e.cw.record(name, d, unit, at, v)
			}
		}
		put("DatabaseConnections", "Count", float64(row.conns))
		put("MaximumUsedTransactionIDs", "Count", row.xids)
		if memTotal > 0 && r.u.Processes > 0 {
			put("FreeableMemory", "Bytes", max(memTotal-float64(r.u.MemoryBytes), 0))
		}
		if m.writer {
			// As on AWS: the WAL's size only while logical replication
			// is on (wal_level logical), else -1.
			wal := -1.0
			if row.walLevel == "logical" {
				wal = row.walBytes
			}
			put("TransactionLogsDiskUsage", "Bytes", wal)
			if row.slotDisk != nil {
				put("ReplicationSlotDiskUsage", "Bytes", *row.slotDisk)
			}
			if row.slotLag != nil {
				put("OldestReplicationSlotLag", "Bytes", *row.slotLag)
			}
		} else {
			put("AuroraReplicaLag", "Milliseconds", row.replicaLag)
			if !hasReader[m.cluster] {
				lagMax[m.cluster], lagMin[m.cluster] = row.replicaLag, row.replicaLag
			}
			lagMax[m.cluster] = max(lagMax[m.cluster], row.replicaLag)
			lagMin[m.cluster] = min(lagMin[m.cluster], row.replicaLag)
			hasReader[m.cluster] = true
		}
		cur := counters{at: now, srv: m.srv, cpu: r.u.CPUSeconds, commits: row.commits, deadlocks: row.deadlocks,
			hit: row.hit, read: row.read, written: row.wrote}
		prev, ok := s.prev[m.id]
		s.prev[m.id] = cur
		// Rates need the previous sample of the same server, with
		// counters that did not go back (a restart or a reset).
		if !ok || prev.srv != m.srv || cur.commits < prev.commits || cur.hit < prev.hit || cur.read < prev.read || cur.cpu < prev.cpu {
			continue
		}
		dt := now.Sub(prev.at).Seconds()
		if dt <= 0 {
			continue
		}
		if r.u.Processes > 0 && cpus > 0 {
			put("CPUUtilization", "Percent", min(100*(cur.cpu-prev.cpu)/(dt*cpus), 100))
		}
		// Every sample is a transaction of its own: not the cluster's.
		commits := max(cur.commits-prev.commits-1, 0)
		put("CommitThroughput", "Count/Second", commits/dt)
		put("Deadlocks", "Count/Second", max(cur.deadlocks-prev.deadlocks, 0)/dt)
		hit, read := cur.hit-prev.hit, cur.read-prev.read
		ratio := 100.0
		if hit+read > 0 {
			ratio = 100 * hit / (hit + read)
		}
		put("BufferCacheHitRatio", "Percent", ratio)
		volumeRead[m.cluster] += read
		if m.writer {
			volumeWrite[m.cluster] += max(cur.written-prev.written, 0)
		}
	}
	for c, w := range writerOf {
		if !hasReader[c] {
			continue
		}
		for _, d := range instanceDims(w, c, roleWriter) {
			e.cw.record("AuroraReplicaLagMaximum", d, "Milliseconds", at, lagMax[c])
			e.cw.record("AuroraReplicaLagMinimum", d, "Milliseconds", at, lagMin[c])
		}
	}
	for c, b := range volumeBytes {
		for _, d := range clusterDims(c) {
			e.cw.record("VolumeBytesUsed", d, "Bytes", at, b)
			if _, ok := volumeRead[c]; ok {
				e.cw.record("VolumeReadIOPs", d, "Count", at, volumeRead[c])
				e.cw.record("VolumeWriteIOPs", d, "Count", at, volumeWrite[c])
			}
		}
	}
	e.cw.evaluateAll(now)
}

// instanceDims are the dimensions an instance's metrics are published
// with, as on AWS: the instance, its cluster, the cluster and the
// instance's role, and the engine.
func instanceDims(instance, cluster, role string) []dims {
	return []dims{
		{{"DBInstanceIdentifier", instance}},
		{{"DBClusterIdentifier", cluster}},
		{{"DBClusterIdentifier", cluster}, {"Role", role}},
		{{"EngineName", engineName}},
	}
}

// clusterDims are the dimensions a cluster's metrics (its volume's) are
// published with, as on AWS: the cluster, and the cluster and its engine.
func clusterDims(cluster string) []dims {
	return []dims{
		{{"DBClusterIdentifier", cluster}},
		{{"DBClusterIdentifier", cluster}, {"EngineName", engineName}},
	}
}

// query runs sampleSQL on m's server, over the connection kept for it
// (a new one when the server changed or the old one failed).
func (s *sampler) query(ctx context.Context, m memberSnapshot) (sampleRow, error) {
	c := s.conns[m.id]
	if c != nil && (c.srv != m.srv || c.conn.IsClosed()) {
		_ = c.conn.Close(ctx)
		delete(s.conns, m.id)
		c = nil
	}
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if c == nil {
		cfg, err := m.srv.ConnConfig("postgres")
		if err != nil {
			return sampleRow{}, err
		}
		cfg.RuntimeParams["application_name"] = samplerApplication
		conn, err := pgx.ConnectConfig(qctx, cfg)
		if err != nil {
			return sampleRow{}, err
		}
		c = &samplerConn{srv: m.srv, conn: conn, sql: sampleSQL(m.srv.Binaries().Major)}
		s.conns[m.id] = c
	}
	var r sampleRow
	err := c.conn.QueryRow(qctx, c.sql).Scan(&r.conns, &r.commits, &r.deadlocks, &r.hit, &r.read, &r.wrote,
		&r.xids, &r.walBytes, &r.dbBytes, &r.walLevel, &r.slotDisk, &r.slotLag, &r.replicaLag)
	if err != nil {
		_ = c.conn.Close(ctx)
		delete(s.conns, m.id)
		return sampleRow{}, err
	}
	return r, nil
}
