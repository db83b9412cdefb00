package auroratest

import (
	"context"
	"slices"
	"strings"
)

// Aurora topology functions. Every database the emulator creates (and
// template1, so databases created later too) has, in pg_catalog, where an
// unqualified call finds them:
//
//	aurora_db_instance_identifier() returns text: the instance's identifier.
//	aurora_replica_status() returns setof record: one row per cluster
//	  member; server_id is the instance identifier and session_id is
//	  'MASTER_SESSION_ID' for the writer (a fixed UUID per reader
//	  otherwise), as on Aurora.
//
// The functions read two settings the emulator maintains on each server:
// cluster_name (the instance identifier) and auroratest.topology (the
// members and their roles), which it rewrites and reloads on every member
// after a failover. replica_lag_in_msec is the local reader's replay lag
// on the row of the instance you ask, and 0 elsewhere; cpu and the I/O
// counters are 0.

const topologySetting = "auroratest.topology"

// topologyLocked renders the cluster's members for auroratest.topology:
// "id:role:session;...".
func topology(c *cluster) string {
	var parts []string
	for _, in := range c.members {
		role, session := "reader", in.sessionID
		if in.writer {
			role, session = "writer", "MASTER_SESSION_ID"
		}
		parts = append(parts, in.id+":"+role+":"+session)
	}
	return strings.Join(parts, ";")
}

// topologySQL creates the functions; it runs in template1, postgres and
// the cluster's database on the writer, and replicates to the readers.
var topologySQL = []string{
	`CREATE OR REPLACE FUNCTION pg_catalog.aurora_db_instance_identifier() RETURNS text
	LANGUAGE sql STABLE AS $$ SELECT current_setting('cluster_name') $$`,
	`CREATE OR REPLACE FUNCTION pg_catalog.aurora_replica_status(
		OUT server_id text, OUT session_id text, OUT durable_lsn pg_lsn, OUT highest_lsn_rcvd pg_lsn,
		OUT current_read_lsn pg_lsn, OUT cur_replay_latency_in_usec bigint, OUT active_txns bigint,
		OUT is_current boolean, OUT last_transport_error integer, OUT last_error_timestamp timestamptz,
		OUT last_update_timestamp timestamptz, OUT feedback_xmin bigint, OUT feedback_epoch integer,
		OUT replica_lag_in_msec double precision, OUT log_stream_speed_in_kib_per_second double precision,
		OUT log_buffer_sequence_number bigint, OUT oldest_read_view_trx_id bigint, OUT oldest_read_view_lsn pg_lsn,
		OUT pending_read_ios bigint, OUT read_ios bigint, OUT iops integer, OUT cpu double precision)
	RETURNS SETOF record LANGUAGE sql STABLE AS $$
		WITH member AS (
			SELECT f[1] AS id, f[2] AS role, f[3] AS session
			FROM unnest(string_to_array(coalesce(current_setting('auroratest.topology', true), ''), ';')) AS e,
			     LATERAL string_to_array(e, ':') AS f
			WHERE e <> ''
		), here AS (
			SELECT current_setting('cluster_name') AS id, pg_is_in_recovery() AS recovering
		)
		SELECT m.id, m.session,
			CASE WHEN m.id = h.id AND NOT h.recovering THEN pg_current_wal_flush_lsn() END,
			CASE WHEN m.id = h.id AND h.recovering THEN pg_last_wal_receive_lsn() END,
			CASE WHEN m.id = h.id AND h.recovering THEN pg_last_wal_replay_lsn() END,
			0::bigint, 0::bigint, m.id = h.id, 0, NULL::timestamptz, now(), NULL::bigint, NULL::integer,
			CASE WHEN m.role = 'writer' THEN 0::double precision
			     WHEN m.id = h.id AND h.recovering AND pg_last_wal_receive_lsn() IS DISTINCT FROM pg_last_wal_replay_lsn()
			     THEN coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000, 0)::double precision
			     ELSE 0::double precision END,
			0::double precision, NULL::bigint, NULL::bigint, NULL::pg_lsn, 0::bigint, 0::bigint, 0, 0::double precision
		FROM member m, here h
	$$`,
}

// refreshTopology writes the cluster's current topology into every running
// member's configuration and reloads it. Callers hold the opLock of every
// member (as a failover does).
func (e *Emulator) refreshTopology(ctx context.Context, c *cluster) {
	st := e.lock()
	members := slices.Clone(c.members)
	topo := topology(c)
	st.unlock()
	for _, in := range members {
		if err := e.reloadWith(ctx, in, topologySetting, topo); err != nil && ctx.Err() == nil {
			e.log.Warn("auroratest: updating the topology settings", "instance", in.id, "error", err)
		}
	}
}
