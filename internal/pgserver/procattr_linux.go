package pgserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
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
	cmd.Cancel = func() error {
		_, err := killGroup(cmd.Process)
		return err
	}
	cmd.WaitDelay = waitDelay
	return cmd
}

// killGroup kills p and everything it started with SIGKILL: its process
// group, and the group of each of its children. A postmaster's children
// lead groups of their own (each calls setsid), so killing its group alone
// would leave its backends serving, and committing, for a moment after it
// died: not what a crash does. p is stopped first (SIGSTOP) so that it
// starts no child while they are found. It returns the children it
// killed.
func killGroup(p *os.Process) ([]int, error) {
	if p == nil {
		return nil, nil
	}
	_ = syscall.Kill(-p.Pid, syscall.SIGSTOP)
	children := childrenOf(p.Pid)
	for _, c := range children {
		_ = syscall.Kill(-c, syscall.SIGKILL) // its group, when it leads one
		_ = syscall.Kill(c, syscall.SIGKILL)
	}
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return children, err
	}
	return children, nil
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ppid, ok := procStat(child); ok && ppid == pid {
			out = append(out, child)
		}
	}
	return out
}

// procStat reads a process's state letter and parent from
// /proc/pid/stat ("pid (comm) state ppid ..."; comm may hold spaces and
// parentheses, so the fields are counted from the last ')').
func procStat(pid int) (state byte, ppid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return f[0][0], ppid, err == nil
}

// gone reports whether a process has ended (a zombie has: it runs no
// more and holds no shared memory).
func gone(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	state, _, ok := procStat(pid)
	return !ok || state == 'Z' || state == 'X'
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
