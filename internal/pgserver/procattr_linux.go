package pgserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// PostgreSQL's initdb and postgres refuse to run as root. When this process
// is root, they run as the "postgres" system user instead, and the
// directories they write are handed to that user.

type osUser struct {
	uid, gid uint32
}

var (
	pgUserOnce sync.Once
	pgUser     *osUser
	pgUserErr  error
)

// runAsUser returns the user servers run as, or nil when they run as the
// current user (which is anybody but root).
func runAsUser() (*osUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	pgUserOnce.Do(func() {
		u, err := user.Lookup("postgres")
		if err != nil {
			pgUserErr = fmt.Errorf("pgserver: running as root needs the \"postgres\" system user (installed with postgresql-15): %w", err)
			return
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		pgUser = &osUser{uid: uint32(uid), gid: uint32(gid)}
	})
	return pgUser, pgUserErr
}

// waitDelay bounds how long Wait waits for a killed command's output pipes
// to close.
const waitDelay = 2 * time.Second

// newCommand returns a command that runs in its own process group and dies
// with it: when ctx ends, the whole group is killed (SIGKILL to -pgid), so
// that children the program forked (pg_basebackup's WAL streamer, the
// postmaster's backends) cannot outlive it and hold its pipes; and Wait
// returns at most waitDelay after that even if something still holds
// them. With asPostgres the command runs as the postgres user when this
// process is root (see runAsUser).
func newCommand(ctx context.Context, asPostgres bool, path string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if u, _ := runAsUser(); u != nil && asPostgres {
		attr.Credential = &syscall.Credential{Uid: u.uid, Gid: u.gid}
	}
	cmd.SysProcAttr = attr
	cmd.Cancel = func() error { return killGroup(cmd.Process) }
	cmd.WaitDelay = waitDelay
	return cmd
}

// killGroup sends SIGKILL to the process group that p leads.
func killGroup(p *os.Process) error {
	if p == nil {
		return nil
	}
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// handOver gives path (a file or directory, not recursively) to the user the
// server runs as.
func handOver(path string) error {
	u, err := runAsUser()
	if err != nil || u == nil {
		return err
	}
	return os.Lchown(path, int(u.uid), int(u.gid))
}

// handOverTree gives a directory tree to the user the server runs as (a
// copied data directory).
func handOverTree(root string) error {
	u, err := runAsUser()
	if err != nil || u == nil {
		return err
	}
	return filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(u.uid), int(u.gid))
	})
}

// makeTraversable lets the server's user reach dir when this process is
// root: ancestors that this process owns and that others cannot search (as
// t.TempDir() makes them) get the search bit for others. Nothing else about
// them changes.
func makeTraversable(dir string) error {
	if u, err := runAsUser(); err != nil || u == nil {
		return err
	}
	for p := filepath.Dir(dir); p != "/" && p != "."; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok || int(sys.Uid) != os.Geteuid() {
			continue
		}
		if st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, st.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("pgserver: letting the postgres user reach %s: %w", dir, err)
			}
		}
	}
	return nil
}
