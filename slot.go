package pgaurora

import (
	"fmt"
	"math"
	"time"
)

// ReplicationSlot is a replication slot as pg_replication_slots shows it,
// with the WAL it holds back: the SDK's one model of a slot.
type ReplicationSlot struct {
	// Name is the slot's name, Type "logical" or "physical", Plugin the
	// output plugin of a logical slot ("pgoutput", "pglogical_output",
	// "wal2json", ...), and Database the database of a logical slot.
	Name, Type, Plugin, Database string
	// Temporary slots vanish when their session ends.
	Temporary bool
	// Active is true while a walsender or backend uses the slot, and
	// ActivePID is that process (0 when inactive).
	Active    bool
	ActivePID int
	// RestartLSN is the oldest WAL position the slot needs (0/0 when it
	// reserves none), and ConfirmedFlushLSN how far its consumer has
	// confirmed (logical slots).
	RestartLSN, ConfirmedFlushLSN LSN
	// RetainedBytes is the WAL the server keeps for the slot: from
	// RestartLSN to the current WAL position (the replay position on a
	// replica).
	RetainedBytes int64
	// WALStatus is "reserved", "extended", "unreserved" or "lost" (a lost
	// slot can no longer be used).
	WALStatus string
	// InactiveSince is when the slot became inactive, as the server
	// reports it (PostgreSQL 17 and later); zero otherwise.
	InactiveSince time.Time
}

// RetainedWAL formats RetainedBytes in binary units ("1.5 MiB").
func (s ReplicationSlot) RetainedWAL() string { return FormatBytes(s.RetainedBytes) }

// FormatBytes formats a size in binary units: "512 B", "1.5 MiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	exp := min(int(math.Log(float64(n))/math.Log(unit)), 5)
	return fmt.Sprintf("%.1f %ciB", float64(n)/math.Pow(unit, float64(exp)), "KMGTP"[exp-1])
}
