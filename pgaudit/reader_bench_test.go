package pgaudit

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var benchMB = flag.Int("pgaudit.benchmb", 100, "size in MB of the generated log the reader benchmarks parse")

var (
	benchOnce    sync.Once
	benchLogData []byte
	benchEntries int
)

// benchLog returns a generated RDS server log of about -pgaudit.benchmb
// megabytes: mostly audit entries of every class (quoted statements with
// commas and quotes, multi-line statements, parameters, rows, markers) and
// about one line in ten that is not an audit entry.
func benchLog(tb testing.TB) ([]byte, int) {
	benchOnce.Do(func() {
		benchLogData, benchEntries = generateLog(*benchMB << 20)
	})
	return benchLogData, benchEntries
}

func generateLog(size int) ([]byte, int) {
	rng := rand.New(rand.NewPCG(1, 2))
	users := make([]string, 50)
	for i := range users {
		users[i] = fmt.Sprintf("app_user_%02d", i)
	}
	users[7] = "svc@example.com"
	dbs := []string{"sales", "inventory", "billing", "postgres", "analytics"}
	tables := []string{"public.orders", "public.customers", "billing.invoices", "public.line_items", "audit.events"}
	buf := make([]byte, 0, size+4096)
	ts := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	n := 0
	var stmtID int64
	for len(buf) < size {
		if rng.IntN(10) == 0 {
			pfx := fmt.Sprintf("%s:10.0.%d.%d(%d):%s@%s:[%d]:", ts.Format("2006-01-02 15:04:05 MST"), rng.IntN(255), rng.IntN(255), 30000+rng.IntN(30000), users[rng.IntN(len(users))], dbs[rng.IntN(len(dbs))], 1000+rng.IntN(60000))
			switch rng.IntN(3) {
			case 0:
				buf = append(buf, pfx+"LOG:  connection authorized: user=app database=sales SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)\n"...)
			case 1:
				buf = append(buf, pfx+"LOG:  duration: 12.345 ms  statement: select * from orders where customer_id = 42\n"...)
			default:
				buf = append(buf, pfx+"ERROR:  duplicate key value violates unique constraint \"orders_pkey\"\n"+pfx+"DETAIL:  Key (id)=(42) already exists.\n"...)
			}
			continue
		}
		if rng.IntN(100) == 0 {
			ts = ts.Add(time.Second)
		}
		stmtID++
		tbl := tables[rng.IntN(len(tables))]
		e := Entry{
			Time: ts, Remote: fmt.Sprintf("10.0.%d.%d(%d)", rng.IntN(255), rng.IntN(255), 30000+rng.IntN(30000)),
			User: users[rng.IntN(len(users))], Database: dbs[rng.IntN(len(dbs))], PID: 1000 + rng.IntN(60000),
			Severity: SeverityLog, Type: Session, StatementID: stmtID, SubstatementID: 1,
			Parameter: NotLogged,
		}
		switch k := rng.IntN(100); {
		case k < 50:
			e.Class, e.Command, e.ObjectType, e.ObjectName = Read, "SELECT", "TABLE", tbl
			e.Statement = "select id, status, total from " + tbl + " where customer_id = $1 and created_at > now() - interval '1 day'"
			e.Parameter = strconv.Itoa(rng.IntN(100000))
			e.HasRows, e.Rows = true, int64(rng.IntN(500))
		case k < 70:
			e.Class, e.Command, e.ObjectType, e.ObjectName = Write, "INSERT", "TABLE", tbl
			e.Statement = "insert into " + tbl + " (customer_id, status, note) values ($1, $2, $3)"
			e.Parameter = fmt.Sprintf(`%d,shipped,"said ""hi"", then left"`, rng.IntN(100000))
			e.HasRows, e.Rows = true, 1
		case k < 78:
			e.Class, e.Command, e.ObjectType, e.ObjectName = Write, "UPDATE", "TABLE", tbl
			e.Statement = "update " + tbl + "\n   set status = 'cancelled', \"updatedBy\" = current_user\n where id = 42"
			e.Type = Object
		case k < 84:
			e.Class, e.Command = Function, "DO"
			e.Statement = "DO $$\nBEGIN\n    EXECUTE 'CREATE TABLE import' || 'ant_table (id INT)';\nEND $$;"
		case k < 90:
			e.Class, e.Command, e.ObjectType, e.ObjectName = DDL, "CREATE TABLE", "TABLE", "public.t_"+strconv.Itoa(rng.IntN(1000))
			e.Statement = "CREATE TABLE t (id bigint primary key, name text, created_at timestamptz default now())"
			e.SubstatementID = int64(1 + rng.IntN(3))
		case k < 94:
			e.Class, e.Command = Role, "ALTER ROLE"
			e.Statement = "ALTER ROLE app_user PASSWORD " + Redacted
		case k < 97:
			e.Class, e.Command = Misc, "SET"
			e.Statement = "SET search_path = app, public"
		default:
			e.Class, e.Command, e.ObjectType, e.ObjectName = Read, "SELECT", "VIEW", "public.v_orders"
			e.Statement, e.Parameter = PreviouslyLogged, PreviouslyLogged
		}
		var err error
		buf, err = appendEntry(buf, RDSPrefix, &e)
		if err != nil {
			panic(err)
		}
		n++
	}
	return buf, n
}

// parseFast reads every entry with this package's Reader, calling each
// (when not nil) with every entry.
func parseFast(log []byte, opts *ReaderOptions, each func(*Entry)) (int, error) {
	n := 0
	r := NewReader(bytes.NewReader(log), opts)
	for {
		e, err := r.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if each != nil {
			each(e)
		}
		sink = e
		n++
	}
}

// feedReader hands encoding/csv one payload at a time.
type feedReader struct{ data []byte }

func (f *feedReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// prefixFields are the texts of the prefix fields of an audit line, as the
// encoding/csv parsers find them. A nil field is absent.
type prefixFields struct {
	ts, remote, user, db, pid, app, session []byte
	timeKind                                byte // 't', 'm' or 'n': how ts is written
	sev                                     Severity
}

// csvPrefix finds the prefix fields and the severity of an audit line for
// the encoding/csv parsers, and where the payload after "AUDIT: " starts.
type csvPrefix func(line []byte) (f prefixFields, payload int, ok bool)

// escapeRE is what a log_line_prefix escape matches in the baseline's
// regular expression; the kept ones are captured. It is written from
// PostgreSQL's documentation, apart from this package's matcher: %t, %m
// and %s with a zone abbreviation of letters, %u greedy (a user name may
// hold "@"), free text lazy.
var escapeRE = map[byte]string{
	't': `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Za-z]+`, 's': `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Za-z]+`,
	'm': `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [A-Za-z]+`, 'n': `\d+\.\d{3}`,
	'p': `\d+`, 'l': `\d+`, 'x': `\d+`, 'P': `\d*`, 'Q': `-?\d+`, 'e': `[0-9A-Z]{5}`, 'c': `[0-9a-f]+\.[0-9a-f]+`,
	'r': `\[local\]|[^(]*\(\d+\)|`, 'u': `.*`, 'h': `.*?`, 'd': `.*?`, 'a': `.*?`, 'i': `.*?`, 'v': `.*?`, 'b': `.*?`,
}

var escapes = regexp.MustCompile(`%(-?[0-9]+)?(.)`)

// regexpPrefix is what the standard library offers for finding the prefix
// fields: a regular expression made from the log_line_prefix, with the
// severity and "AUDIT: " after it.
func regexpPrefix(logLinePrefix string) (csvPrefix, error) {
	var re strings.Builder
	re.WriteString("^")
	var groups []byte // escape letter of capture group i+1
	timeKind := byte(0)
	last := 0
	for _, m := range escapes.FindAllStringSubmatchIndex(logLinePrefix, -1) {
		re.WriteString(regexp.QuoteMeta(logLinePrefix[last:m[0]]))
		last = m[1]
		esc := logLinePrefix[m[4]]
		if esc == '%' {
			re.WriteString("%")
			continue
		}
		pat, known := escapeRE[esc]
		if !known {
			continue // %q, and escapes PostgreSQL ignores
		}
		keep := strings.IndexByte("tmnrhudpac", esc) >= 0
		if esc == 't' || esc == 'm' || esc == 'n' {
			keep = timeKind == 0
			if keep {
				timeKind = esc
			}
		}
		if m[2] >= 0 {
			re.WriteString(" *")
		}
		if keep {
			re.WriteString("(" + pat + ")")
			groups = append(groups, esc)
		} else {
			re.WriteString("(?:" + pat + ")")
		}
		if m[2] >= 0 {
			re.WriteString(" *")
		}
	}
	re.WriteString(regexp.QuoteMeta(logLinePrefix[last:]))
	re.WriteString(`(LOG|NOTICE|WARNING|INFO|DEBUG):  (?:[0-9A-Z]{5}: )?AUDIT: `)
	rx, err := regexp.Compile(re.String())
	if err != nil {
		return nil, err
	}
	return func(line []byte) (f prefixFields, payload int, ok bool) {
		if !bytes.Contains(line, auditMarker) {
			return f, 0, false
		}
		m := rx.FindSubmatchIndex(line)
		if m == nil {
			return f, 0, false
		}
		for i, esc := range groups {
			v := line[m[2*i+2]:m[2*i+3]]
			switch esc {
			case 't', 'm', 'n':
				f.ts = v
			case 'r', 'h':
				f.remote = v
			case 'u':
				f.user = v
			case 'd':
				f.db = v
			case 'p':
				f.pid = v
			case 'a':
				f.app = v
			case 'c':
				f.session = v
			}
		}
		n := len(groups)
		f.timeKind, f.sev = timeKind, Severity(line[m[2*n+2]:m[2*n+3]])
		return f, m[1], true
	}, nil
}

// fastPrefix borrows this package's prefix matcher, so that only the CSV
// decoding differs from the Reader.
func fastPrefix(p *Prefix) csvPrefix {
	var c captures
	var scratch matchScratch
	return func(line []byte) (f prefixFields, payload int, ok bool) {
		k := bytes.Index(line, auditMarker)
		if k < 0 {
			return f, 0, false
		}
		sevStart, sev, ok := findSeverity(line, k)
		if !ok || !p.match(line[:sevStart], &c, &scratch) {
			return f, 0, false
		}
		field := func(bits uint16, sp span) []byte {
			if c.has&bits == 0 {
				return nil
			}
			return line[sp.start:sp.end]
		}
		f = prefixFields{
			ts: field(1<<pkTime|1<<pkTimeMS|1<<pkEpoch, c.time), remote: field(1<<pkRemote|1<<pkHost, c.remote),
			user: field(1<<pkUser, c.user), db: field(1<<pkDB, c.db), pid: field(1<<pkPID, c.pid),
			app: field(1<<pkApp, c.app), session: field(1<<pkSession, c.session), sev: sev,
		}
		switch k := c.timeKind; {
		case f.ts == nil:
		case k == pkTime:
			f.timeKind = 't'
		case k == pkTimeMS:
			f.timeKind = 'm'
		case k == pkEpoch:
			f.timeKind = 'n'
		}
		return f, k + len(auditMarker), true
	}
}

// parseWithCSV is the straightforward alternative the Reader is measured
// against: bufio.Scanner lines, the given prefix finder, continuation lines
// joined while the quotes are unbalanced, and encoding/csv (one reused
// csv.Reader, ReuseRecord) for the fields, with strconv and time.Parse for
// the typed ones. loc resolves zone abbreviations (nil: UTC). It calls
// each (when not nil) with every entry.
func parseWithCSV(log []byte, prefix csvPrefix, loc *time.Location, each func(*Entry)) (int, error) {
	if loc == nil {
		loc = time.UTC
	}
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 256<<10), 64<<20)
	feed := &feedReader{}
	cr := csv.NewReader(feed)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var payload []byte
	n := 0
	for sc.Scan() {
		line := sc.Bytes()
		f, k, ok := prefix(line)
		if !ok {
			continue
		}
		var e Entry
		e.Severity = f.sev
		var err error
		switch f.timeKind {
		case 't':
			e.Time, err = time.ParseInLocation("2006-01-02 15:04:05 MST", string(f.ts), loc)
		case 'm':
			e.Time, err = time.ParseInLocation("2006-01-02 15:04:05.000 MST", string(f.ts), loc)
		case 'n':
			var sec, ms int64
			s, frac, _ := strings.Cut(string(f.ts), ".")
			if sec, err = strconv.ParseInt(s, 10, 64); err == nil {
				ms, err = strconv.ParseInt(frac, 10, 64)
			}
			e.Time = time.UnixMilli(sec*1000 + ms).UTC()
		}
		if err != nil {
			return n, err
		}
		e.Remote, e.User, e.Database = string(f.remote), string(f.user), string(f.db)
		e.Application, e.SessionID = string(f.app), string(f.session)
		if f.pid != nil {
			if e.PID, err = strconv.Atoi(string(f.pid)); err != nil {
				return n, err
			}
		}
		payload = append(payload[:0], line[k:]...)
		for bytes.Count(payload, []byte{'"'})%2 == 1 && sc.Scan() {
			payload = append(payload, '\n')
			payload = append(payload, bytes.TrimPrefix(sc.Bytes(), []byte{'\t'})...)
		}
		payload = append(payload, '\n')
		feed.data = payload
		rec, err := cr.Read()
		if err != nil {
			return n, err
		}
		if len(rec) < 9 {
			return n, fmt.Errorf("short record")
		}
		e.Type = AuditType(rec[0])
		if e.StatementID, err = strconv.ParseInt(rec[1], 10, 64); err != nil {
			return n, err
		}
		if e.SubstatementID, err = strconv.ParseInt(rec[2], 10, 64); err != nil {
			return n, err
		}
		if e.Class, ok = classFromLog([]byte(rec[3])); !ok {
			return n, fmt.Errorf("bad class")
		}
		e.Command, e.ObjectType, e.ObjectName, e.Statement, e.Parameter = rec[4], rec[5], rec[6], rec[7], rec[8]
		if len(rec) > 9 {
			if e.Rows, err = strconv.ParseInt(rec[9], 10, 64); err != nil {
				return n, err
			}
			e.HasRows = true
		}
		if each != nil {
			each(&e)
		}
		sink = &e
		n++
	}
	return n, sc.Err()
}

// sink keeps the parsed entries observable so no parser's work is
// optimised away.
var sink *Entry

var rdsRegexpPrefix = func() csvPrefix {
	f, err := regexpPrefix(RDSLogLinePrefix)
	if err != nil {
		panic(err)
	}
	return f
}()

func parseFastRDS(log []byte) (int, error)   { return parseFast(log, nil, nil) }
func parseCSVStdlib(log []byte) (int, error) { return parseWithCSV(log, rdsRegexpPrefix, nil, nil) }
func parseCSVFastPrefix(log []byte) (int, error) {
	return parseWithCSV(log, fastPrefix(RDSPrefix), nil, nil)
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// measure runs parse once and returns the wall and CPU time it took.
func measure(b *testing.B, name string, parse func([]byte) (int, error), log []byte, want int) (wall, cpu time.Duration) {
	c0, t0 := cpuTime(), time.Now()
	n, err := parse(log)
	wall, cpu = time.Since(t0), cpuTime()-c0
	if err != nil || n != want {
		b.Fatalf("%s: parsed %d of %d entries: %v", name, n, want, err)
	}
	return wall, cpu
}

func benchParse(b *testing.B, parse func([]byte) (int, error)) {
	log, want := benchLog(b)
	b.SetBytes(int64(len(log)))
	b.ResetTimer()
	m0 := mallocs()
	var wall, cpu time.Duration
	for b.Loop() {
		w, c := measure(b, b.Name(), parse, log, want)
		wall += w
		cpu += c
	}
	allocs := mallocs() - m0
	entries := float64(want) * float64(b.N)
	mb := float64(len(log)) * float64(b.N) / 1e6
	b.ReportMetric(mb/wall.Seconds(), "MB/s")
	if cpu > 0 {
		b.ReportMetric(mb/cpu.Seconds(), "cpu-MB/s")
	}
	b.ReportMetric(float64(allocs)/entries, "allocs/entry")
	b.ReportMetric(float64(wall.Nanoseconds())/entries, "ns/entry")
}

// BenchmarkReaderSynthetic parses a log this package generates
// (-pgaudit.benchmb, 100 MB by default) with the Reader and with the two
// encoding/csv-based parsers. It is the allocation and throughput figure
// for RDS's prefix on a favourable input: the lines come from appendEntry,
// not from pgAudit, and the timestamp changes every 100 entries, which the
// Reader's timestamp cache exploits. BenchmarkReader is the fair
// comparison, on a real pgAudit log. Run with -cpu 1 for the one-core
// figure. MB/s is wall-clock throughput; cpu-MB/s divides by the
// process's CPU time instead, which is the honest one-core figure on a
// shared machine.
func BenchmarkReaderSynthetic(b *testing.B) {
	b.Run("pgaudit", func(b *testing.B) { benchParse(b, parseFastRDS) })
	b.Run("encoding_csv", func(b *testing.B) { benchParse(b, parseCSVStdlib) })
	b.Run("encoding_csv_fastprefix", func(b *testing.B) { benchParse(b, parseCSVFastPrefix) })
}

// BenchmarkReaderSyntheticVsCSV runs the Reader and both encoding/csv-based
// parsers on BenchmarkReaderSynthetic's generated log in each iteration
// and reports the Reader's speedup over each, from CPU time (wall time
// where CPU time is not available). "encoding_csv" is the standard-library
// way (a regular expression for the prefix); "fastprefix" borrows this
// package's prefix matcher so that only the CSV decoding differs.
func BenchmarkReaderSyntheticVsCSV(b *testing.B) {
	log, want := benchLog(b)
	b.ResetTimer()
	var fw, fc, sw, sc, pw, pc time.Duration
	for b.Loop() {
		w, c := measure(b, "pgaudit", parseFastRDS, log, want)
		fw, fc = fw+w, fc+c
		w, c = measure(b, "encoding_csv", parseCSVStdlib, log, want)
		sw, sc = sw+w, sc+c
		w, c = measure(b, "encoding_csv_fastprefix", parseCSVFastPrefix, log, want)
		pw, pc = pw+w, pc+c
	}
	if fc == 0 {
		fc, sc, pc = fw, sw, pw
	}
	mb := float64(len(log)) * float64(b.N) / 1e6
	b.ReportMetric(mb/fc.Seconds(), "pgaudit-cpu-MB/s")
	b.ReportMetric(mb/sc.Seconds(), "csv-cpu-MB/s")
	b.ReportMetric(mb/pc.Seconds(), "csv-fastprefix-cpu-MB/s")
	b.ReportMetric(sc.Seconds()/fc.Seconds(), "speedup-vs-csv")
	b.ReportMetric(pc.Seconds()/fc.Seconds(), "speedup-vs-csv-fastprefix")
}

// TestBenchLogParsesIdentically checks, on a small generated log, that the
// Reader and both encoding/csv parsers return the same entries, field by
// field, so the synthetic benchmarks compare equal work.
func TestBenchLogParsesIdentically(t *testing.T) {
	log, want := generateLog(1 << 20)
	fast := collect(t, "Reader", func(each func(*Entry)) (int, error) { return parseFast(log, nil, each) })
	if len(fast) != want {
		t.Fatalf("Reader: %d of %d entries", len(fast), want)
	}
	for name, prefix := range map[string]csvPrefix{"stdlib": rdsRegexpPrefix, "fastprefix": fastPrefix(RDSPrefix)} {
		got := collect(t, name, func(each func(*Entry)) (int, error) { return parseWithCSV(log, prefix, nil, each) })
		if diff := cmp.Diff(fast, got, timeEqual); diff != "" {
			t.Fatalf("encoding/csv %s differs from the Reader (-Reader +csv):\n%s", name, diff)
		}
	}
}

// collect returns the entries parse passes to each, failing the test on
// an error.
func collect(t testing.TB, name string, parse func(each func(*Entry)) (int, error)) []Entry {
	t.Helper()
	var out []Entry
	if _, err := parse(func(e *Entry) { out = append(out, *e) }); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}
