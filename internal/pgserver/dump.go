package pgserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DumpInto copies the roles and every database of s, a running server,
// into dst, a running server of the same or a later major version that
// holds nothing but what initdb made, with the same bootstrap superuser
// and password (the restore sets the superuser's password to s's, and
// psql connects again as it goes):
// pg_dumpall of s, replayed into dst with psql, stopping at the first
// error. It is a major version upgrade by dump and restore; as with
// pg_upgrade, the planner statistics do not come along (run ANALYZE).
//
// The client programs come from the first installation (s's, dst's, then
// FindBinaries') whose pg_dumpall is of s's major version or later:
// pg_dumpall refuses servers newer than itself, and psql talks to any.
func (s *Server) DumpInto(ctx context.Context, dst *Server) error {
	if dst.bin.Major < s.bin.Major {
		return fmt.Errorf("pgserver: DumpInto: %s is older than %s", dst, s)
	}
	if dst.Superuser() != s.Superuser() || dst.Password() != s.Password() {
		return fmt.Errorf("pgserver: DumpInto: %s and %s have different bootstrap superusers or passwords", s, dst)
	}
	tools, err := s.DumpTools()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "pgserver-dump-")
	if err != nil {
		return fmt.Errorf("pgserver: DumpInto: %w", err)
	}
	defer os.RemoveAll(tmp)
	dump := filepath.Join(tmp, "dumpall.sql")
	cmd := newCommand(ctx, false, tools.Path("pg_dumpall"), "-h", s.Host(), "-p", strconv.Itoa(s.Port()), "-U", s.Superuser(), "-w", "-f", dump)
	cmd.Env = clientEnv(s)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgserver: pg_dumpall of %s: %w\n%s", s, errOrCtx(ctx, err), tail(out, 20))
	}
	// The bootstrap superuser exists in dst already (the ALTER ROLE that
	// follows gives it s's attributes).
	restore := filepath.Join(tmp, "restore.sql")
	if err := dropCreateRole(dump, restore, s.Superuser()); err != nil {
		return fmt.Errorf("pgserver: DumpInto: %w", err)
	}
	cmd = newCommand(ctx, false, tools.Path("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
		"-h", dst.Host(), "-p", strconv.Itoa(dst.Port()), "-U", dst.Superuser(), "-w", "-d", "postgres", "-f", restore)
	cmd.Env = clientEnv(dst)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgserver: restoring the dump of %s into %s: %w%s\n%s", s, dst, errOrCtx(ctx, err), firstError(out), tail(out, 20))
	}
	return nil
}

// DumpTools returns the installation whose pg_dumpall and psql DumpInto
// runs for s, or an error when there is none: none of s's major version
// or later, as for a server of a relocatable build without client
// programs, whose major version is later than the installed clients'.
func (s *Server) DumpTools() (Binaries, error) {
	candidates := []Binaries{s.bin}
	if def, err := FindBinaries(); err == nil {
		candidates = append(candidates, def)
	}
	for _, b := range candidates {
		if b.Major >= s.bin.Major && isExecutable(b.Path("pg_dumpall")) && isExecutable(b.Path("psql")) {
			return b, nil
		}
	}
	return Binaries{}, fmt.Errorf("there is no pg_dumpall of PostgreSQL %d or later to dump it with (looked in %s and the default installation)", s.bin.Major, s.bin.Dir)
}

// clientEnv is the environment of a client program connecting to s as its
// superuser: the server's own (no caller libpq variables), the password,
// and TLS when the server offers it.
func clientEnv(s *Server) []string {
	env := append(s.environ(), "PGSSLMODE=prefer", "PGCONNECT_TIMEOUT=10")
	if p := s.Password(); p != "" {
		env = append(env, "PGPASSWORD="+p)
	}
	return env
}

// dropCreateRole copies a pg_dumpall script without its CREATE ROLE of
// the named role.
func dropCreateRole(from, to, role string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	quoted := `"` + strings.ReplaceAll(role, `"`, `""`) + `"`
	skip := map[string]bool{"CREATE ROLE " + role + ";": true, "CREATE ROLE " + quoted + ";": true}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	found := false
	for sc.Scan() {
		line := sc.Text()
		if !found && skip[line] {
			found = true
			continue
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if !found {
		return errors.New("the dump does not create the bootstrap superuser " + quoted)
	}
	return os.WriteFile(to, out.Bytes(), 0o600)
}

// firstError returns psql's first ERROR line, as ": ERROR: ...", or "".
func firstError(out []byte) string {
	for _, line := range strings.Split(string(out), "\n") {
		if i := strings.Index(line, "ERROR:"); i >= 0 {
			return ": " + strings.TrimSpace(line[i:])
		}
	}
	return ""
}
