package extensions_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgaurora/pgaurora/extensions"
	"github.com/pgaurora/pgaurora/internal/pgserver"
	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// BenchmarkUpgradeLanguages1000 times UpgradeLanguages on a database with
// 1,000 plperl functions (the stand-in for plv8, which is not packaged
// here) against AWS's documented PLV8 procedure on the same database in
// the same run, and reports the median of each and of their ratio: over
// loopback, and through pgtest.LatencyProxy adding a 2.5 ms round trip,
// like the network between a client and Aurora (rtt-µs is the round trip
// measured through it).
//
// The documented procedure, as scripted here: the version check and the
// function count in psql; pg_dump -Fc --schema-only to a file;
// pg_restore -l, keeping the FUNCTION entries with their ACL and COMMENT
// entries (and, so that both sides end in the same state, PROCEDURE and
// TRIGGER entries, which the documentation's grep would lose); DROP
// EXTENSION ... CASCADE and CREATE EXTENSION in psql; pg_restore -L with
// that list; the function count again; and, since both sides must end in
// the same state, one statement putting back what pg_restore does not (the
// language's privileges and comment, which pg_dump leaves out because the
// language belongs to the extension, and the column defaults calling the
// functions, which live in TABLE entries). UpgradeLanguages writes its
// backup to a file and syncs it, as pg_dump does its dump.
//
// After the documented side, and outside both timings, the benchmark
// checks the catalog against the snapshot taken before the first
// iteration, so that every iteration of both sides starts from the same
// database. The sides take turns going first, so neither always runs on
// the caches the other warmed (or flushed): run an even number of
// iterations.
//
//	go test -run '^$' -bench UpgradeLanguages -benchtime 10x ./extensions/
func BenchmarkUpgradeLanguages1000(b *testing.B) {
	b.Run("loopback", func(b *testing.B) { benchmarkUpgrade(b, 0, 0) })
	b.Run("latency-proxy", func(b *testing.B) { benchmarkUpgrade(b, 0, 2500*time.Microsecond) })
}

// BenchmarkUpgradeLanguages1000WithAppSchema is the same comparison, over
// loopback, on a database that also holds an application schema (500
// tables with a primary key, an index and a sequence each): pg_dump reads
// the whole schema, while UpgradeLanguages only reads what depends on the
// languages.
func BenchmarkUpgradeLanguages1000WithAppSchema(b *testing.B) { benchmarkUpgrade(b, 500, 0) }

func benchmarkUpgrade(b *testing.B, appTables int, rtt time.Duration) {
	programs := map[string]string{}
	for _, p := range []string{"pg_dump", "pg_restore", "psql"} {
		programs[p] = pgtest.Binary(b, p)
	}
	b.Log(plv8Missing)
	db := pgtest.NewDB(b)
	f := buildLanguageFixture(b, db, 1000)
	if appTables > 0 {
		mustExec(b, db.Pool, fmt.Sprintf(`DO $$ BEGIN FOR i IN 1..%d LOOP
  EXECUTE format('CREATE TABLE app.t%%s (id bigserial PRIMARY KEY, name text NOT NULL, created timestamptz DEFAULT now())', i);
  EXECUTE format('CREATE INDEX ON app.t%%s (name)', i);
END LOOP; END $$`, appTables))
	}
	// Both sides connect the same way: directly, or through the proxy.
	pool, conn := db.Pool, db.ConnString()
	if rtt > 0 {
		pool, conn = db.ThroughLatency(b, rtt)
	}
	dir := b.TempDir()
	ctx := context.Background()
	initial, err := extensions.SnapshotLanguages(ctx, db.Pool, perlExtensions)
	if err != nil {
		b.Fatal(err)
	}
	measuredRTT := pgtest.RoundTrip(b, pool, 200)

	var ours, doc pgtest.Samples
	var oursCPU, docCPU time.Duration
	docSteps := map[string]pgtest.Samples{}
	runOurs := func() {
		c0, t0 := cpuUsed(db.Server), time.Now()
		if err := upgradeToFile(ctx, pool, filepath.Join(dir, "upgrade_backup.sql")); err != nil {
			b.Fatal(err)
		}
		ours = append(ours, time.Since(t0))
		oursCPU += cpuUsed(db.Server) - c0
	}
	runDocumented := func() {
		c0, t0 := cpuUsed(db.Server), time.Now()
		steps, err := documentedProcedure(programs, conn, dir)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		restoreWhatPgRestoreLeaves(b, pool, f)
		steps = append(steps, docStep{"restore language ACL, comment, defaults", time.Since(t1)})
		doc = append(doc, time.Since(t0))
		docCPU += cpuUsed(db.Server) - c0
		for _, s := range steps {
			docSteps[s.name] = append(docSteps[s.name], s.took)
		}
		checkLikeFirstIteration(b, db, initial)
	}
	var order []string
	for b.Loop() {
		if len(ours)%2 == 0 {
			runOurs()
			runDocumented()
			order = append(order, "ours first")
		} else {
			runDocumented()
			runOurs()
			order = append(order, "documented first")
		}
	}
	b.StopTimer()
	n := len(ours)
	if n < 2 {
		b.Logf("only %d iteration: the documented side never went first; run an even number (-benchtime 10x)", n)
	}
	ratios, speedup := pgtest.Ratios(doc, ours)
	b.Logf("round trip %v (median of 200 SELECT 1); UpgradeLanguages %v; documented %v; speedups %.2f; orders %v",
		measuredRTT, ours, doc, ratios, order)
	for _, name := range docStepNames {
		b.Logf("documented step %-40s median %7.1f ms", name, pgtest.Ms(docSteps[name].Median()))
	}
	if oursCPU > 0 && docCPU > 0 {
		// CPU time (this process, its children and every server process)
		// does not depend on how busy the machine is, unlike wall time.
		b.ReportMetric(pgtest.Ms(oursCPU)/float64(n), "upgrade-cpu-ms/op")
		b.ReportMetric(pgtest.Ms(docCPU)/float64(n), "documented-cpu-ms/op")
		b.ReportMetric(float64(docCPU)/float64(oursCPU), "cpu-speedup-x")
	}
	if got := countPerlFunctions(b, db); got != f.functions {
		b.Fatalf("after the runs the database holds %d plperl/plperlu functions, want %d", got, f.functions)
	}
	b.ReportMetric(pgtest.Ms(ours.Median()), "upgrade-median-ms")
	b.ReportMetric(pgtest.Ms(doc.Median()), "documented-median-ms")
	b.ReportMetric(speedup, "speedup-median-x")
	b.ReportMetric(float64(measuredRTT.Microseconds()), "rtt-µs")
}

// upgradeToFile runs UpgradeLanguages with its backup written to a file,
// synced and closed, as pg_dump writes and syncs its dump.
func upgradeToFile(ctx context.Context, pool *pgxpool.Pool, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := extensions.UpgradeLanguages(ctx, pool, f, perlOpts()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// restoreEntry matches the pg_restore -l lines the documented procedure
// keeps: functions, procedures and triggers, and the ACL and COMMENT
// entries of those (a TOC line is "id; tableoid oid TYPE schema tag
// owner", and the schema may contain spaces).
var restoreEntry = regexp.MustCompile(`^\d+; \d+ \d+ (FUNCTION|PROCEDURE|TRIGGER|(ACL|COMMENT) .* (FUNCTION|PROCEDURE|TRIGGER) )`)

// restoreWhatPgRestoreLeaves puts back, in one statement through the
// documented side's connection, what the documented procedure does not
// restore in buildLanguageFixture's database: the language's privileges
// and comment (the language belongs to the extension, so pg_dump leaves
// them out) and the column defaults calling the functions (part of the
// TABLE entries, which it does not restore).
func restoreWhatPgRestoreLeaves(b *testing.B, pool *pgxpool.Pool, f *fixture) {
	b.Helper()
	q := sqlquote.MustIdent
	mustExec(b, pool, fmt.Sprintf(`REVOKE USAGE ON LANGUAGE plperl FROM PUBLIC;
GRANT USAGE ON LANGUAGE plperl TO %s;
GRANT USAGE ON LANGUAGE plperl TO %s WITH GRANT OPTION;
COMMENT ON LANGUAGE plperl IS %s;
ALTER TABLE app."tab le" ALTER COLUMN n SET DEFAULT app.zz_base() + 1;
ALTER TABLE app.parted ALTER COLUMN n SET DEFAULT app.zz_base();
ALTER TABLE ONLY app."part 2" ALTER COLUMN n SET DEFAULT app.aa_uses_default(7)`,
		q(f.grantee), q(f.owner), lit("Perl, as changed by 'us'")))
}

// checkLikeFirstIteration fails unless the catalog is as it was before
// the first iteration, so that every iteration of both sides starts from
// the same database.
func checkLikeFirstIteration(b *testing.B, db *pgtest.DB, initial *extensions.LanguageSnapshot) {
	b.Helper()
	now, err := extensions.SnapshotLanguages(context.Background(), db.Pool, perlExtensions)
	if err != nil {
		b.Fatal(err)
	}
	if d := initial.Diff(*now); len(d) > 0 {
		b.Fatalf("after the documented procedure, the database differs from the first iteration's (%d differences): %v", len(d), d[:min(len(d), 10)])
	}
}

// docStep is how long one step of the documented procedure took.
type docStep struct {
	name string
	took time.Duration
}

// docStepNames are the documented procedure's steps, in order.
var docStepNames = []string{"psql: versions", "psql: count", "pg_dump -Fc --schema-only", "pg_restore -l",
	"psql: DROP/CREATE EXTENSION", "pg_restore -L", "psql: count again", "restore language ACL, comment, defaults"}

// documentedProcedure runs AWS's PLV8 upgrade steps with the PostgreSQL
// client programs, for plperl and plperlu.
func documentedProcedure(programs map[string]string, conn, dir string) ([]docStep, error) {
	dump := filepath.Join(dir, "before_upgrade.dump")
	list := filepath.Join(dir, "function_list")
	var steps []docStep
	step := 0
	run := func(prog string, args ...string) ([]byte, error) {
		t0 := time.Now()
		cmd := exec.Command(programs[prog], args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("%s %s: %v: %s", prog, strings.Join(args[:min(2, len(args))], " "), err, stderr.String())
		}
		steps = append(steps, docStep{docStepNames[step], time.Since(t0)})
		step++
		return out, nil
	}
	// Step 1: check the installed and default versions.
	if _, err := run("psql", "-X", "-A", "-t", "-d", conn, "-c",
		"SELECT * FROM pg_available_extensions WHERE name IN ('plperl', 'plperlu')"); err != nil {
		return nil, err
	}
	// Step 3: count the functions.
	count := `SELECT count(*) FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE l.lanname IN ('plperl', 'plperlu')`
	before, err := run("psql", "-X", "-A", "-t", "-d", conn, "-c", count)
	if err != nil {
		return nil, err
	}
	if _, err := run("pg_dump", "-Fc", "--schema-only", "-f", dump, "-d", conn); err != nil {
		return nil, err
	}
	toc, err := run("pg_restore", "-l", dump)
	if err != nil {
		return nil, err
	}
	var keep bytes.Buffer
	for _, line := range strings.Split(string(toc), "\n") {
		if restoreEntry.MatchString(line) {
			keep.WriteString(line + "\n")
		}
	}
	if err := os.WriteFile(list, keep.Bytes(), 0o600); err != nil {
		return nil, err
	}
	if _, err := run("psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", conn, "-c",
		"DROP EXTENSION plperl, plperlu CASCADE", "-c", "CREATE EXTENSION plperl", "-c", "CREATE EXTENSION plperlu"); err != nil {
		return nil, err
	}
	if _, err := run("pg_restore", "--exit-on-error", "-d", conn, "-L", list, dump); err != nil {
		return nil, err
	}
	after, err := run("psql", "-X", "-A", "-t", "-d", conn, "-c", count)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(before, after) {
		return nil, fmt.Errorf("documented procedure: %s functions before, %s after", bytes.TrimSpace(before), bytes.TrimSpace(after))
	}
	return steps, nil
}

// cpuUsed is the CPU time used so far by this process, its waited-for
// children (pg_dump, pg_restore, psql) and the server: the postmaster, its
// live children and the ones it has reaped. Zero when /proc is not there.
func cpuUsed(s *pgserver.Server) time.Duration {
	if runtime.GOOS != "linux" {
		return 0
	}
	var self, children syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	total := tv(self.Utime) + tv(self.Stime) + tv(children.Utime) + tv(children.Stime)
	pidFile, err := os.ReadFile(filepath.Join(s.DataDir(), "postmaster.pid"))
	if err != nil {
		return 0
	}
	post, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(pidFile), "\n", 2)[0]))
	if err != nil {
		return 0
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+2:])) // f[0] is field 3 (state)
		if len(f) < 15 {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		ppid, _ := strconv.Atoi(f[1])
		if pid != post && ppid != post {
			continue
		}
		for _, k := range []int{11, 12} { // utime, stime
			v, _ := strconv.Atoi(f[k])
			total += time.Duration(v) * tick
		}
		if pid == post {
			for _, k := range []int{13, 14} { // cutime, cstime: reaped backends
				v, _ := strconv.Atoi(f[k])
				total += time.Duration(v) * tick
			}
		}
	}
	return total
}

func countPerlFunctions(t testing.TB, db *pgtest.DB) int {
	var n int
	if err := db.Pool.QueryRow(ctxT(t), `SELECT count(*) FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE l.lanname IN ('plperl', 'plperlu')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
