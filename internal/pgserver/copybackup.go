package pgserver

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// copyBackup makes s's data directory a base backup of primary, a running
// local server, without pg_basebackup: PostgreSQL's low-level backup API
// (pg_backup_start, a copy of the files, pg_backup_stop, whose backup
// label goes into the copy), then the WAL segments the primary holds, so
// that the copy reaches a consistent state on its own as well as by
// streaming. Servers whose binaries have no pg_basebackup (relocatable
// builds of other major versions) get their replicas and backups this
// way; pg_basebackup cannot back up a server of a later major version
// than its own.
func (s *Server) copyBackup(ctx context.Context, primary *Server) error {
	if primary.bin.Major < 15 {
		return fmt.Errorf("pgserver: PostgreSQL %d in %s has no pg_basebackup, and its backup functions are not pg_backup_start", primary.bin.Major, primary.bin.Dir)
	}
	conn, err := primary.Connect(ctx, "postgres")
	if err != nil {
		return fmt.Errorf("pgserver: base backup of %s: %w", primary, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// The backup stays open for this session only (a non-exclusive
	// backup): should the copy fail, closing the session ends it.
	if _, err := conn.Exec(ctx, "SELECT pg_backup_start($1, true)", "pgaurora copy of "+primary.dataDir); err != nil {
		return fmt.Errorf("pgserver: base backup of %s: pg_backup_start: %w", primary, err)
	}
	if err := copyTree(ctx, primary.dataDir, s.dataDir, backupSkip); err != nil {
		return fmt.Errorf("pgserver: base backup of %s: copying the files: %w", primary, err)
	}
	var label, spcmap string
	if err := conn.QueryRow(ctx, "SELECT labelfile, coalesce(spcmapfile, '') FROM pg_backup_stop(false)").Scan(&label, &spcmap); err != nil {
		return fmt.Errorf("pgserver: base backup of %s: pg_backup_stop: %w", primary, err)
	}
	if err := writeOwned(filepath.Join(s.dataDir, "backup_label"), []byte(label)); err != nil {
		return err
	}
	if spcmap != "" {
		if err := writeOwned(filepath.Join(s.dataDir, "tablespace_map"), []byte(spcmap)); err != nil {
			return err
		}
	}
	// pg_backup_stop has switched to a new segment: every segment from the
	// backup's start to its end is in the primary's pg_wal now.
	if err := copyTree(ctx, filepath.Join(primary.dataDir, "pg_wal"), filepath.Join(s.dataDir, "pg_wal"), walSkip); err != nil {
		return fmt.Errorf("pgserver: base backup of %s: copying the WAL: %w", primary, err)
	}
	if err := handOverTree(s.dataDir); err != nil {
		return fmt.Errorf("pgserver: handing %s to the postgres user: %w", s.dataDir, err)
	}
	return nil
}

// backupSkip leaves out of a base backup what PostgreSQL's documentation
// says to leave out (and pg_basebackup does): the WAL (copied after
// pg_backup_stop), the server's process files, and directories the server
// recreates or empties at start.
func backupSkip(rel string) skipKind {
	switch rel {
	case "postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map",
		"standby.signal", "recovery.signal", passFile:
		return skipAll
	case "pg_wal", "pg_replslot", "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_stat_tmp", "pg_subtrans":
		return skipContents
	}
	if strings.HasPrefix(filepath.Base(rel), "pgsql_tmp") {
		return skipAll
	}
	return keep
}

// walSkip keeps WAL segments and timeline history files (and an empty
// archive_status).
func walSkip(rel string) skipKind {
	name := filepath.Base(rel)
	switch {
	case rel == ".":
		return keep
	case rel == "archive_status":
		return skipContents
	case filepath.Dir(rel) == "." && (isSegmentName(name) || strings.HasSuffix(name, ".history")):
		return keep
	}
	return skipAll
}
