package pgaudit

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/internal/pgserver"
	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

var realRounds = flag.Int("pgaudit.realrounds", 400, "workload rounds per log_line_prefix in the real log BenchmarkReader reads (about 20 KB of log each)")

// realLogSetup is one server logging configuration the real log is
// written under.
type realLogSetup struct {
	name   string
	prefix string
	tz     string // log_timezone
	// verbose sets log_error_verbosity=verbose: "LOG:  00000: AUDIT: "
	// and a LOCATION: line after every entry.
	verbose bool
}

// realLogSetups cover RDS's prefix and prefixes with every kind of field:
// millisecond and epoch times that change on every line, a zone other
// than UTC, session IDs, line numbers, SQLSTATEs, backend types, command
// tags, query IDs, padding.
var realLogSetups = []realLogSetup{
	{name: "rds", prefix: RDSLogLinePrefix, tz: "UTC"},
	{name: "debian", prefix: "%m [%p] %q%u@%d %a ", tz: "UTC"},
	{name: "epoch", prefix: "%n|%c|%l|%v|%x|%u|%d|%a|%h|", tz: "UTC"},
	{name: "verbose", prefix: "%m %e [%p-%l] %b %c %r %u/%d/%a|%i|%Q: ", tz: "Europe/Paris", verbose: true},
	{name: "padded", prefix: "%t [%-7p] %12u@%-14d %s ", tz: "UTC"},
}

// realLogSegment is the part of the server log written under one setup.
type realLogSegment struct {
	realLogSetup
	log        []byte
	opts       *ReaderOptions
	start, end time.Time // around the workload
}

// The workload's roles, databases and application names, which every
// entry's prefix fields must be among.
var (
	realUsers = []string{"alice", "bob.smith", "svc@example.com"}
	realDBs   = []string{"sales", "inventory-eu"}
	realApps  = []string{"psql", "billing worker", "api-server", ""}
	// shownApps are realApps as %a shows them: PostgreSQL writes an empty
	// application_name as "[unknown]".
	shownApps = []string{"psql", "billing worker", "api-server", "[unknown]"}
)

var (
	realLogMu    sync.Mutex
	realLogCache = map[int][]realLogSegment{}
)

// realLog returns a pgAudit log written by the real extension: a server
// of its own (the shared one keeps RDS's prefix for the other tests) runs
// a varied workload through four concurrent connections under each of
// realLogSetups, rounds rounds each, with pgaudit.log = 'all' and
// parameters, relations and rows logged, object auditing through a role,
// and log_statement_once for one user.
func realLog(tb testing.TB, rounds int) []realLogSegment {
	tb.Helper()
	realLogMu.Lock()
	defer realLogMu.Unlock()
	if segs, ok := realLogCache[rounds]; ok {
		return segs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	srv := pgtest.StartServer(tb, pgtest.WithPreload("pgaudit"))
	setUpRealLog(ctx, tb, srv)
	var segs []realLogSegment
	for _, setup := range realLogSetups {
		verbosity := "default"
		if setup.verbose {
			verbosity = "verbose"
		}
		settings := map[string]string{"log_line_prefix": setup.prefix, "log_timezone": setup.tz, "log_error_verbosity": verbosity, "compute_query_id": "on"}
		if err := srv.UpdateSettings(settings); err != nil {
			tb.Fatal(err)
		}
		if err := srv.Reload(ctx); err != nil {
			tb.Fatal(err)
		}
		pgtest.WaitFor(tb, "the server to log with "+setup.prefix, 30*time.Second, func() (bool, string) {
			v, err := srv.QueryOne(ctx, "SELECT current_setting('log_line_prefix') || '|' || current_setting('log_timezone') || '|' || current_setting('log_error_verbosity')")
			return err == nil && v == setup.prefix+"|"+setup.tz+"|"+verbosity, fmt.Sprint(v, err)
		})
		before, err := srv.ReadLog()
		if err != nil {
			tb.Fatal(err)
		}
		start := time.Now()
		runRealWorkload(ctx, tb, srv, rounds)
		end := time.Now()
		after, err := srv.ReadLog()
		if err != nil {
			tb.Fatal(err)
		}
		loc, err := time.LoadLocation(setup.tz)
		if err != nil {
			tb.Fatal(err)
		}
		segs = append(segs, realLogSegment{realLogSetup: setup, log: after[len(before):],
			opts: &ReaderOptions{Prefix: MustParsePrefix(setup.prefix), Location: loc}, start: start, end: end})
	}
	realLogCache[rounds] = segs
	return segs
}

// setUpRealLog creates the roles, databases, tables and functions the
// workload uses. The audit settings are the workload roles' own, so that
// nothing else (the setting checks above) writes audit entries.
func setUpRealLog(ctx context.Context, tb testing.TB, srv *pgserver.Server) {
	tb.Helper()
	exec := func(db string, stmts ...string) {
		tb.Helper()
		c, err := pgx.Connect(ctx, srv.ConnString(db))
		if err != nil {
			tb.Fatal(err)
		}
		defer c.Close(ctx)
		for _, s := range stmts {
			if _, err := c.Exec(ctx, s); err != nil {
				tb.Fatalf("%s: %v", s, err)
			}
		}
	}
	stmts := []string{"CREATE ROLE auditor NOLOGIN"}
	for _, u := range realUsers {
		id := sqlquote.MustIdent(u)
		stmts = append(stmts, "CREATE ROLE "+id+" LOGIN",
			"ALTER ROLE "+id+" SET pgaudit.log = 'all'",
			"ALTER ROLE "+id+" SET pgaudit.log_parameter = on",
			"ALTER ROLE "+id+" SET pgaudit.log_relation = on",
			"ALTER ROLE "+id+" SET pgaudit.log_rows = on",
			"ALTER ROLE "+id+" SET pgaudit.role = 'auditor'")
	}
	stmts = append(stmts, "ALTER ROLE "+sqlquote.MustIdent(realUsers[2])+" SET pgaudit.log_statement_once = on")
	for _, db := range realDBs {
		stmts = append(stmts, "CREATE DATABASE "+sqlquote.MustIdent(db))
	}
	exec("postgres", stmts...)
	users := make([]string, len(realUsers))
	for i, u := range realUsers {
		users[i] = sqlquote.MustIdent(u)
	}
	for _, db := range realDBs {
		exec(db,
			"CREATE EXTENSION pgaudit",
			"CREATE TABLE customers (id int PRIMARY KEY, name text)",
			`CREATE TABLE orders (id serial PRIMARY KEY, customer_id int, status text, note text, "updatedBy" text, total numeric DEFAULT 0, created_at timestamptz DEFAULT now(), owner text DEFAULT current_user)`,
			"INSERT INTO customers SELECT i, 'customer ' || i FROM generate_series(1, 500) i",
			"INSERT INTO customers VALUES (0, 'O''Brien, \"Bob\"')",
			"CREATE FUNCTION bump(i int) RETURNS int LANGUAGE plpgsql AS $$BEGIN RETURN i + 1; END$$",
			"GRANT ALL ON ALL TABLES IN SCHEMA public TO "+strings.Join(users, ", "),
			"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "+strings.Join(users, ", "),
			"GRANT SELECT ON customers TO auditor")
	}
}

// runRealWorkload runs rounds rounds of varied statements on four
// concurrent connections, each a different user, database and
// application, mostly in pipelined batches. Sessions sharing a database
// are different users and change only their own rows, so they never
// deadlock.
func runRealWorkload(ctx context.Context, tb testing.TB, srv *pgserver.Server, rounds int) {
	tb.Helper()
	notes := []string{"", `said "hi", then left`, "line1\nline2\n\tindented", "naïve café, 東京", strings.Repeat("long note ", 30), "a,b,,c"}
	statuses := []string{"new", "shipped", "cancelled", "returned"}
	var ids []string
	for i := 1; i <= 300; i++ {
		ids = append(ids, strconv.Itoa(i))
	}
	longSelect := "SELECT id, name\n  FROM customers\n WHERE id IN (" + strings.Join(ids, ", ") + ")"
	type session struct{ user, db, app string }
	sessions := []session{
		{realUsers[0], realDBs[0], realApps[0]}, {realUsers[1], realDBs[0], realApps[1]},
		{realUsers[2], realDBs[1], realApps[2]}, {realUsers[0], realDBs[1], realApps[3]},
	}
	var wg sync.WaitGroup
	errs := make([]error, len(sessions))
	for i, s := range sessions {
		wg.Go(func() {
			cfg, err := pgx.ParseConfig(srv.ConnString(s.db))
			if err != nil {
				errs[i] = err
				return
			}
			cfg.User = s.user
			cfg.RuntimeParams["application_name"] = s.app
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				errs[i] = fmt.Errorf("connecting as %s to %s: %w", s.user, s.db, err)
				return
			}
			defer conn.Close(ctx)
			for r := range rounds {
				b := &pgx.Batch{}
				b.Queue("SELECT o.id, o.status, o.total FROM orders o WHERE o.customer_id = $1 AND o.created_at > now() - interval '1 day'", r%100)
				b.Queue("INSERT INTO orders (customer_id, status, note) VALUES ($1, $2, $3)", r%100, statuses[r%len(statuses)], notes[(r+i)%len(notes)])
				b.Queue("UPDATE orders\n   SET status = 'shipped', \"updatedBy\" = current_user\n WHERE id = $1 AND owner = current_user", r*4+i)
				b.Queue("SELECT c.name, count(*) FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.id < $1 GROUP BY c.name", 10+r%50)
				b.Queue("SELECT bump($1)", r)
				switch r % 10 {
				case 0:
					b.Queue("DO $$\nBEGIN\n  PERFORM bump(1);\n  CREATE TEMP TABLE IF NOT EXISTS scratch (id int);\nEND\n$$")
				case 1:
					b.Queue("SET work_mem = '8MB'")
					b.Queue("RESET work_mem")
				case 2:
					t := sqlquote.MustIdent(fmt.Sprintf("t_%d_%d", i, r))
					b.Queue("CREATE TEMP TABLE " + t + " (id int, \"label, with comma\" text)")
					b.Queue("DROP TABLE " + t)
				case 3:
					b.Queue("DELETE FROM orders WHERE id < $1 AND status = 'cancelled' AND owner = current_user", r)
				case 4:
					b.Queue("SELECT $1::text, $2::text, $3::int", "x,y", nil, nil)
				case 5:
					b.Queue(longSelect)
				case 6:
					b.Queue("SELECT * FROM customers WHERE name = $1", `O'Brien, "Bob"`)
				case 7:
					if i < len(realUsers) { // one session per user: two would update one row at once
						b.Queue("ALTER ROLE CURRENT_USER PASSWORD 'not-a-secret-" + strconv.Itoa(r) + "'")
					}
				case 8:
					b.Queue("SELECT count(*) FROM pg_class WHERE relname = $1", "orders")
				case 9:
					b.Queue("WITH moved AS (UPDATE orders SET total = total + 1 WHERE id % 7 = $1 AND owner = current_user RETURNING id)\nSELECT count(*) FROM moved", r%7)
				}
				if err := conn.SendBatch(ctx, b).Close(); err != nil {
					errs[i] = fmt.Errorf("round %d as %s: %w", r, s.user, err)
					return
				}
				if r%25 == 0 {
					// An explicit transaction, one statement at a time.
					for _, q := range []string{"BEGIN", "SELECT count(*) FROM customers", "COMMIT"} {
						if _, err := conn.Exec(ctx, q); err != nil {
							errs[i] = err
							return
						}
					}
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// auditLineRE matches the first line of an audit entry in any of the
// setups, found apart from both parsers: the severity and "AUDIT: ".
var auditLineRE = regexp.MustCompile(`(?m)(LOG|NOTICE|WARNING|INFO|DEBUG):  (?:[0-9A-Z]{5}: )?AUDIT: (SESSION|OBJECT),`)

// TestRealLogReaderMatchesCSV reads the real pgAudit log of every setup
// with the Reader and with the encoding/csv baseline of BenchmarkReader,
// and requires the same entries, field by field, as many as the log has
// audit lines, with prefix fields the workload really used: so the
// benchmark compares equal work, and the Reader reads what pgAudit writes
// under each prefix.
func TestRealLogReaderMatchesCSV(t *testing.T) {
	hostPort := regexp.MustCompile(`^127\.0\.0\.1\(\d+\)$`)
	sessionID := regexp.MustCompile(`^[0-9a-f]+\.[0-9a-f]+$`)
	for _, seg := range realLog(t, 12) {
		t.Run(seg.name, func(t *testing.T) {
			want := len(auditLineRE.FindAll(seg.log, -1))
			r := NewReader(bytes.NewReader(seg.log), seg.opts)
			var ours []Entry
			for e, err := range r.All() {
				if err != nil {
					t.Fatalf("Reader: %v", err)
				}
				ours = append(ours, e)
			}
			if st := r.Stats(); len(ours) != want || want < 12*4*5 || st.Malformed != 0 || st.Unmatched != 0 {
				t.Fatalf("Reader: %d entries, stats %+v; the log has %d audit lines", len(ours), st, want)
			}
			find, err := regexpPrefix(seg.prefix)
			if err != nil {
				t.Fatal(err)
			}
			base := collect(t, "encoding/csv", func(each func(*Entry)) (int, error) {
				return parseWithCSV(seg.log, find, seg.opts.Location, each)
			})
			if diff := cmp.Diff(ours, base, timeEqual); diff != "" {
				t.Fatalf("the Reader and encoding/csv differ (-Reader +csv):\n%s", diff)
			}

			// The fields are those of the workload's sessions.
			has := func(esc string) bool { return strings.Contains(seg.prefix, esc) }
			seen := map[string]bool{}
			times := map[time.Time]bool{}
			for _, e := range ours {
				if !contains(realUsers, e.User) || !contains(realDBs, e.Database) || has("%a") && !contains(shownApps, e.Application) {
					t.Fatalf("prefix fields not the workload's: %s", prefixOf(&e))
				}
				switch {
				case has("%r") && !hostPort.MatchString(e.Remote), has("%h") && e.Remote != "127.0.0.1",
					has("%p") && e.PID <= 0, has("%c") && !sessionID.MatchString(e.SessionID),
					e.Time.Before(seg.start.Add(-time.Second)) || e.Time.After(seg.end):
					t.Fatalf("prefix fields wrong: %s (run from %v to %v)", prefixOf(&e), seg.start, seg.end)
				}
				times[e.Time] = true
				cl, _ := classLogName(e.Class)
				seen[cl] = true
				seen[string(e.Type)] = true
				seen["rows"] = seen["rows"] || e.HasRows
				seen["multi-line"] = seen["multi-line"] || strings.Contains(e.Statement, "\n")
				seen["quoted parameter"] = seen["quoted parameter"] || strings.Contains(e.Parameter, `""`)
				seen["redacted"] = seen["redacted"] || strings.Contains(e.Statement, Redacted)
				seen["previously logged"] = seen["previously logged"] || e.Statement == PreviouslyLogged
				if strings.Contains(e.Statement, "not-a-secret") {
					t.Fatalf("a password reached the log: %+v", e)
				}
			}
			for _, k := range []string{"READ", "WRITE", "FUNCTION", "ROLE", "DDL", "MISC", "SESSION", "OBJECT", "rows", "multi-line", "quoted parameter", "redacted", "previously logged"} {
				if !seen[k] {
					t.Errorf("no %s entry in the real log", k)
				}
			}
			// A prefix with milliseconds must keep them: were they
			// truncated to whole seconds, every time would have a zero
			// fraction, while a real millisecond is zero once in a
			// thousand. (A fast workload writes many entries in one
			// millisecond, so counting distinct times would prove less.)
			if has("%m") || has("%n") {
				fractional := 0
				for tm := range times {
					if tm.Nanosecond() != 0 {
						fractional++
					}
				}
				if fractional < len(times)/2 {
					t.Errorf("%d of %d distinct times have a sub-second part: the milliseconds were lost", fractional, len(times))
				}
			}
		})
	}
}

// prefixOf shows an entry's prefix fields (Entry's String shows the
// message).
func prefixOf(e *Entry) string {
	return fmt.Sprintf("time %v remote %q user %q database %q pid %d application %q session %q", e.Time, e.Remote, e.User, e.Database, e.PID, e.Application, e.SessionID)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// BenchmarkReader reads a real pgAudit log (-pgaudit.realrounds rounds of
// workload per setup, written by the real extension under each of
// realLogSetups) with the Reader and with the encoding/csv baselines, the
// same log in the same iteration, in alternating order. MB/s is the
// Reader's wall-clock throughput, csv-MB/s the baseline's (a regular
// expression made from the log_line_prefix, then encoding/csv for the
// AUDIT payload), x how many times faster the Reader is; csv-ourprefix is
// the baseline with this package's prefix matcher, so that only the CSV
// decoding differs. TestRealLogReaderMatchesCSV checks that both return
// the same entries, field by field.
func BenchmarkReader(b *testing.B) {
	segs := realLog(b, *realRounds)
	for _, seg := range segs {
		b.Run(seg.name, func(b *testing.B) {
			find, err := regexpPrefix(seg.prefix)
			if err != nil {
				b.Fatal(err)
			}
			parsers := []func() (int, error){
				func() (int, error) { return parseFast(seg.log, seg.opts, nil) },
				func() (int, error) { return parseWithCSV(seg.log, find, seg.opts.Location, nil) },
				func() (int, error) { return parseWithCSV(seg.log, fastPrefix(seg.opts.Prefix), seg.opts.Location, nil) },
			}
			want, err := parsers[0]()
			if err != nil {
				b.Fatal(err)
			}
			spent := make([]time.Duration, len(parsers))
			for i := 0; b.Loop(); i++ {
				for j := range parsers {
					k := (i + j) % len(parsers) // each goes first in turn
					// Each starts on a clean heap, not paying for the
					// garbage of the one before.
					runtime.GC()
					t0 := time.Now()
					n, err := parsers[k]()
					spent[k] += time.Since(t0)
					if err != nil || n != want {
						b.Fatalf("parser %d: %d of %d entries: %v", k, n, want, err)
					}
				}
			}
			mb := float64(len(seg.log)) * float64(b.N) / 1e6
			b.ReportMetric(mb/spent[0].Seconds(), "MB/s")
			b.ReportMetric(mb/spent[1].Seconds(), "csv-MB/s")
			b.ReportMetric(spent[1].Seconds()/spent[0].Seconds(), "x")
			b.ReportMetric(mb/spent[2].Seconds(), "csv-ourprefix-MB/s")
			b.ReportMetric(spent[2].Seconds()/spent[0].Seconds(), "x-ourprefix")
			b.ReportMetric(float64(len(seg.log))/1e6, "log-MB")
			b.ReportMetric(float64(want), "entries")
		})
	}
}
