package extensions

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Repack is the pg_repack extension; RepackSchema the schema it creates.
const (
	Repack       = "pg_repack"
	RepackSchema = "repack"
)

// repackSQL returns the statements InstallRepack runs: CREATE EXTENSION IF
// NOT EXISTS pg_repack, and the default privileges AWS documents on the
// repack schema, so that the log tables and sequences pg_repack creates
// there while it runs are writable by the (non-superuser) role running
// it.
func repackSQL() []string {
	return []string{
		"CREATE EXTENSION IF NOT EXISTS " + Repack,
		"ALTER DEFAULT PRIVILEGES IN SCHEMA " + RepackSchema + " GRANT INSERT ON TABLES TO PUBLIC",
		"ALTER DEFAULT PRIVILEGES IN SCHEMA " + RepackSchema + " GRANT USAGE, SELECT ON SEQUENCES TO PUBLIC",
	}
}

// InstallRepack creates the pg_repack extension and its default privileges
// in one transaction. It is idempotent.
func (c *Client) InstallRepack(ctx context.Context) error {
	if _, err := c.q.Exec(ctx, strings.Join(repackSQL(), ";\n")); err != nil {
		return fmt.Errorf("extensions: installing pg_repack: %w", explain(err))
	}
	return nil
}

// RepackOptions describe one pg_repack client run. On RDS and Aurora the
// client always runs with -k (--no-superuser-check), since the master user
// is not a superuser, and never with -a (--all), which needs one: name the
// tables, schemas or indexes instead.
type RepackOptions struct {
	// Host, Port, User and Database say where to connect. Database is
	// required. The password is never put on the command line: set
	// Password, which reaches pg_repack as PGPASSWORD.
	Host     string
	Port     int
	User     string
	Database string
	// Password, when set, is passed in the environment (PGPASSWORD).
	Password string
	// SSLMode, when set, is passed in the environment (PGSSLMODE), e.g.
	// "verify-full".
	SSLMode string
	// Tables to repack (-t, schema-qualified as pg_repack expects:
	// "public.orders"). At least one of Tables, ParentTables, Schemas or
	// Indexes is required.
	Tables []string
	// ParentTables to repack with all their inheritors (-I).
	ParentTables []string
	// Schemas whose every table to repack (-c).
	Schemas []string
	// Indexes to rebuild (-i); with them, nothing else is repacked.
	Indexes []string
	// OnlyIndexes rebuilds only the indexes of Tables (-x).
	OnlyIndexes bool
	// OrderBy orders rows by these columns (-o); NoOrder does a VACUUM
	// FULL-like repack without ordering (-n).
	OrderBy string
	NoOrder bool
	// Jobs is the number of parallel connections (-j); 0 means one.
	Jobs int
	// WaitTimeout is how long pg_repack waits for conflicting locks
	// before cancelling or killing the other sessions (-T); 0 keeps
	// pg_repack's default (60 s).
	WaitTimeout time.Duration
	// NoKillBackend makes pg_repack give up instead of cancelling
	// conflicting queries after WaitTimeout (-D).
	NoKillBackend bool
	// NoAnalyze skips ANALYZE afterwards (-Z).
	NoAnalyze bool
	// DryRun prints what would be done (-N).
	DryRun bool
	// Echo prints the SQL pg_repack sends (-e).
	Echo bool
}

// String describes the options without the password.
func (o RepackOptions) String() string {
	if o.Password != "" {
		o.Password = "REDACTED"
	}
	type plain RepackOptions // no String method: no recursion
	return fmt.Sprintf("%+v", plain(o))
}

// GoString is String, so %#v does not print the password either.
func (o RepackOptions) GoString() string { return o.String() }

// RepackArgs builds the pg_repack command line for opts: -k always, never
// -a, every value in its own argument (no shell is involved). It fails
// (ErrInvalid) when nothing to repack is named or a value is malformed.
func RepackArgs(opts RepackOptions) ([]string, error) {
	if opts.Database == "" {
		return nil, invalidf("RepackOptions.Database is empty")
	}
	if len(opts.Tables)+len(opts.ParentTables)+len(opts.Schemas)+len(opts.Indexes) == 0 {
		return nil, invalidf("RepackOptions names nothing to repack: set Tables, ParentTables, Schemas or Indexes (pg_repack --all needs a superuser, which RDS does not give)")
	}
	if opts.OnlyIndexes && len(opts.Tables) == 0 {
		return nil, invalidf("RepackOptions.OnlyIndexes needs Tables")
	}
	if opts.OrderBy != "" && opts.NoOrder {
		return nil, invalidf("RepackOptions.OrderBy and NoOrder are exclusive")
	}
	if opts.Jobs < 0 {
		return nil, invalidf("RepackOptions.Jobs is negative (%d)", opts.Jobs)
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, invalidf("RepackOptions.Port %d is not a TCP port", opts.Port)
	}
	if opts.WaitTimeout < 0 {
		return nil, invalidf("RepackOptions.WaitTimeout is negative (%v)", opts.WaitTimeout)
	}
	args := []string{"-k"}
	str := func(flag, field, v string) error {
		if v == "" {
			return invalidf("RepackOptions.%s has an empty entry", field)
		}
		if strings.ContainsAny(v, "\x00\n\r") {
			return invalidf("RepackOptions.%s %q contains a NUL or line break", field, v)
		}
		args = append(args, flag+"="+v)
		return nil
	}
	for _, kv := range []struct{ flag, field, v string }{
		{"--host", "Host", opts.Host}, {"--username", "User", opts.User},
	} {
		if kv.v != "" {
			if err := str(kv.flag, kv.field, kv.v); err != nil {
				return nil, err
			}
		}
	}
	if opts.Port != 0 {
		args = append(args, "--port="+strconv.Itoa(opts.Port))
	}
	if err := str("--dbname", "Database", opts.Database); err != nil {
		return nil, err
	}
	args = append(args, "--no-password")
	for _, l := range []struct {
		flag, field string
		vs          []string
	}{{"--table", "Tables", opts.Tables}, {"--parent-table", "ParentTables", opts.ParentTables},
		{"--schema", "Schemas", opts.Schemas}, {"--index", "Indexes", opts.Indexes}} {
		for _, v := range l.vs {
			if err := str(l.flag, l.field, v); err != nil {
				return nil, err
			}
		}
	}
	if opts.OnlyIndexes {
		args = append(args, "--only-indexes")
	}
	if opts.OrderBy != "" {
		if err := str("--order-by", "OrderBy", opts.OrderBy); err != nil {
			return nil, err
		}
	}
	if opts.NoOrder {
		args = append(args, "--no-order")
	}
	if opts.Jobs > 1 {
		args = append(args, "--jobs="+strconv.Itoa(opts.Jobs))
	}
	if opts.WaitTimeout > 0 {
		args = append(args, "--wait-timeout="+strconv.FormatInt(int64((opts.WaitTimeout+time.Second-1)/time.Second), 10))
	}
	if opts.NoKillBackend {
		args = append(args, "--no-kill-backend")
	}
	if opts.NoAnalyze {
		args = append(args, "--no-analyze")
	}
	if opts.DryRun {
		args = append(args, "--dry-run")
	}
	if opts.Echo {
		args = append(args, "--echo")
	}
	return args, nil
}

// RepackBinary finds the pg_repack client: $PATH first, then the
// PostgreSQL bin directories Debian uses. ok is false when there is none.
func RepackBinary() (path string, ok bool) {
	if p, err := exec.LookPath("pg_repack"); err == nil {
		return p, true
	}
	for _, v := range []string{"17", "16", "15", "14", "13"} {
		p := "/usr/lib/postgresql/" + v + "/bin/pg_repack"
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// RepackError reports a pg_repack run that failed: its exit status and
// the last lines it printed.
type RepackError struct {
	// ExitCode is the process exit code (-1 when it did not exit normally).
	ExitCode int
	// Tail holds the last lines of output.
	Tail []string
	// Err is the cause (an *exec.ExitError, or a start failure).
	Err error
}

// Error gives the exit code and the last output line.
func (e *RepackError) Error() string {
	last := ""
	if n := len(e.Tail); n > 0 {
		last = ": " + e.Tail[n-1]
	}
	return fmt.Sprintf("extensions: pg_repack exited with code %d%s", e.ExitCode, last)
}

// Unwrap returns the cause.
func (e *RepackError) Unwrap() error { return e.Err }

// RunRepack runs the pg_repack client at binary (see RepackBinary) with
// RepackArgs(opts), streaming every line it prints (stdout and stderr, in
// order of arrival) to onLine, which may be nil. The context bounds the
// run: cancelling it kills the process. The password travels in the
// process environment only and never appears in errors.
func RunRepack(ctx context.Context, binary string, opts RepackOptions, onLine func(line string)) error {
	args, err := RepackArgs(opts)
	if err != nil {
		return err
	}
	if binary == "" {
		return invalidf("pg_repack binary path is empty (see RepackBinary)")
	}
	cmd := exec.CommandContext(ctx, binary, args...)
	env := os.Environ()
	if opts.Password != "" {
		env = append(env, "PGPASSWORD="+opts.Password)
	}
	if opts.SSLMode != "" {
		env = append(env, "PGSSLMODE="+opts.SSLMode)
	}
	cmd.Env = env
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var (
		mu   sync.Mutex
		tail []string
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			tail = append(tail, line)
			if len(tail) > 20 {
				tail = tail[1:]
			}
			mu.Unlock()
			if onLine != nil {
				onLine(line)
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	if err := cmd.Start(); err != nil {
		pw.Close()
		wg.Wait()
		return &RepackError{ExitCode: -1, Err: fmt.Errorf("starting %s: %w", binary, err)}
	}
	werr := cmd.Wait()
	pw.Close()
	wg.Wait()
	if werr != nil {
		code := -1
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			code = ee.ExitCode()
		}
		if ctx.Err() != nil {
			werr = fmt.Errorf("%w (%v)", ctx.Err(), werr)
		}
		mu.Lock()
		defer mu.Unlock()
		return &RepackError{ExitCode: code, Tail: append([]string(nil), tail...), Err: werr}
	}
	return nil
}
