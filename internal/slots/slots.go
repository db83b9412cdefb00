// Package slots is the SDK's one reader of pg_replication_slots.
package slots

import (
	"context"
	"fmt"
	"time"

	"github.com/pgaurora/pgaurora"
)

// query reads every column of pgaurora.ReplicationSlot. Columns that not
// every supported PostgreSQL version has (wal_status from 13,
// inactive_since from 17) are read through to_jsonb, so one statement
// serves them all.
const query = `SELECT s.slot_name::text, s.slot_type, coalesce(s.plugin::text, ''), coalesce(s.database::text, ''),
	s.temporary, s.active, coalesce(s.active_pid, 0), s.restart_lsn::text, s.confirmed_flush_lsn::text,
	coalesce(pg_catalog.pg_wal_lsn_diff(CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()
		ELSE pg_catalog.pg_current_wal_lsn() END, s.restart_lsn), 0)::int8,
	coalesce(pg_catalog.to_jsonb(s) ->> 'wal_status', ''), (pg_catalog.to_jsonb(s) ->> 'inactive_since')::timestamptz
FROM pg_catalog.pg_replication_slots s`

// Where is a condition on the slot row (alias s) for List; it must be a
// constant of the calling package, with values as bind parameters.
type Where string

// Conditions List takes.
const (
	All      Where = "true"
	Named    Where = "s.slot_name = $1" // args: the name
	Inactive Where = "NOT s.active"
	Logical  Where = "s.slot_type = 'logical'"
	// InThisDatabase: the logical slots of the connection's database.
	InThisDatabase Where = "s.database = pg_catalog.current_database()"
)

// List reads the slots that match where (with args), ordered by name.
func List(ctx context.Context, q pgaurora.Querier, where Where, args ...any) ([]pgaurora.ReplicationSlot, error) {
	rows, err := q.Query(ctx, query+" WHERE "+string(where)+" ORDER BY s.slot_name", args...)
	if err != nil {
		return nil, fmt.Errorf("reading pg_replication_slots: %w", err)
	}
	defer rows.Close()
	var out []pgaurora.ReplicationSlot
	for rows.Next() {
		var s pgaurora.ReplicationSlot
		var since *time.Time
		if err := rows.Scan(&s.Name, &s.Type, &s.Plugin, &s.Database, &s.Temporary, &s.Active, &s.ActivePID,
			&s.RestartLSN, &s.ConfirmedFlushLSN, &s.RetainedBytes, &s.WALStatus, &since); err != nil {
			return nil, fmt.Errorf("reading pg_replication_slots: %w", err)
		}
		if since != nil {
			s.InactiveSince = *since
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading pg_replication_slots: %w", err)
	}
	return out, nil
}
