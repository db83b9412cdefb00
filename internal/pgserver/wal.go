package pgserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// TakeWAL copies into this standby's pg_wal the WAL segments of from, a
// stopped or killed primary it streamed from, that the standby may not
// have received: those from the one holding its replay position on, of
// from's latest timeline (and from's timeline history files it lacks).
// Promoted afterwards, the standby replays them before it leaves recovery
// (PostgreSQL reads what pg_wal holds before it acts on a promotion), and
// so holds every commit from acknowledged: the failover of a crashed
// primary whose storage survived, as Aurora's shared storage does. It
// returns how many segments it copied.
//
// from's server must not run; every acknowledged commit is in its WAL
// files only when it ran with synchronous_commit on (fsync is not needed:
// the files outlive the processes, not the machine).
func (s *Server) TakeWAL(ctx context.Context, from *Server) (int, error) {
	if p := from.current(); p != nil && !p.exited() {
		return 0, fmt.Errorf("pgserver: TakeWAL: the server of %s still runs", from.dataDir)
	}
	replay, err := s.QueryOne(ctx, "SELECT pg_last_wal_replay_lsn()::text")
	if err != nil {
		return 0, fmt.Errorf("pgserver: TakeWAL: the standby's replay position: %w", err)
	}
	size, err := s.QueryOne(ctx, "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'")
	if err != nil {
		return 0, fmt.Errorf("pgserver: TakeWAL: the segment size: %w", err)
	}
	start, err := segmentOf(replay, size)
	if err != nil {
		return 0, fmt.Errorf("pgserver: TakeWAL: %w", err)
	}
	src, dst := filepath.Join(from.dataDir, "pg_wal"), filepath.Join(s.dataDir, "pg_wal")
	entries, err := os.ReadDir(src)
	if err != nil {
		return 0, fmt.Errorf("pgserver: TakeWAL: %w", err)
	}
	var timeline string
	for _, e := range entries {
		if n := e.Name(); isSegmentName(n) && n[:8] > timeline {
			timeline = n[:8]
		}
	}
	copied := 0
	for _, e := range entries {
		n := e.Name()
		take := isSegmentName(n) && n[:8] == timeline && n[8:] >= start
		if !take && strings.HasSuffix(n, ".history") {
			_, err := os.Stat(filepath.Join(dst, n))
			take = os.IsNotExist(err)
		}
		if !take {
			continue
		}
		if err := ctx.Err(); err != nil {
			return copied, err
		}
		// Copied beside, then renamed over: the standby reopens the
		// segment by name and never reads half a copy.
		tmp := filepath.Join(dst, n+".taking")
		_ = os.Remove(tmp)
		if err := copyFile(filepath.Join(src, n), tmp, 0o600); err != nil {
			return copied, fmt.Errorf("pgserver: TakeWAL: %w", err)
		}
		if err := handOver(tmp); err != nil {
			return copied, err
		}
		if err := os.Rename(tmp, filepath.Join(dst, n)); err != nil {
			return copied, fmt.Errorf("pgserver: TakeWAL: %w", err)
		}
		if isSegmentName(n) {
			copied++
		}
	}
	return copied, nil
}

// isSegmentName reports whether a pg_wal file name is a WAL segment's:
// 24 upper-case hexadecimal digits (timeline, then segment number).
func isSegmentName(n string) bool {
	if len(n) != 24 {
		return false
	}
	for _, r := range n {
		if !('0' <= r && r <= '9' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

// segmentOf returns the segment-number part (the last 16 digits) of the
// name of the WAL segment holding lsn ("16/B374D848"), for segments of
// size bytes.
func segmentOf(lsn, size string) (string, error) {
	hi, lo, ok := strings.Cut(lsn, "/")
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	seg, err3 := strconv.ParseUint(size, 10, 64)
	if !ok || err1 != nil || err2 != nil || err3 != nil || seg == 0 || seg > 1<<32 {
		return "", fmt.Errorf("unexpected WAL position %q or segment size %q", lsn, size)
	}
	segno := (h<<32 | l) / seg
	perID := (1 << 32) / seg
	return fmt.Sprintf("%08X%08X", segno/perID, segno%perID), nil
}
