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
	"sync"
	"testing"
	"time"
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

// parseFast reads every entry with this package's Reader.
func parseFast(log []byte) (int, error) {
	n := 0
	r := NewReader(bytes.NewReader(log), nil)
	for {
		e, err := r.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
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

// csvPrefix finds the prefix fields and the severity of an audit line for
// the encoding/csv parsers: it returns the time, remote, user, database and
// PID text, the severity, and where the payload after "AUDIT: " starts.
type csvPrefix func(line []byte) (ts, remote, user, db, pid []byte, sev Severity, payload int, ok bool)

// stdlibPrefix is what the standard library offers: a regular expression.
var rdsPrefixRE = regexp.MustCompile(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Za-z0-9+-]+):(\[local\]|[^(]*\(\d+\)|):(.*)@([^@]*):\[(\d+)\]:(LOG|NOTICE|WARNING|INFO|DEBUG):  AUDIT: `)

func stdlibPrefix(line []byte) (ts, remote, user, db, pid []byte, sev Severity, payload int, ok bool) {
	if !bytes.Contains(line, auditMarker) {
		return
	}
	m := rdsPrefixRE.FindSubmatchIndex(line)
	if m == nil {
		return
	}
	return line[m[2]:m[3]], line[m[4]:m[5]], line[m[6]:m[7]], line[m[8]:m[9]], line[m[10]:m[11]], Severity(line[m[12]:m[13]]), m[1], true
}

// fastPrefix borrows this package's prefix matcher, so that only the CSV
// decoding differs from the Reader.
func fastPrefix(line []byte) (ts, remote, user, db, pid []byte, sev Severity, payload int, ok bool) {
	k := bytes.Index(line, auditMarker)
	if k < 0 {
		return
	}
	sevStart, sev, ok := findSeverity(line, k)
	var c captures
	if !ok || !RDSPrefix.match(line[:sevStart], &c, nil) {
		return nil, nil, nil, nil, nil, "", 0, false
	}
	return line[c.time.start:c.time.end], line[c.remote.start:c.remote.end], line[c.user.start:c.user.end],
		line[c.db.start:c.db.end], line[c.pid.start:c.pid.end], sev, k + len(auditMarker), true
}

// parseWithCSV is the straightforward alternative the Reader is measured
// against: bufio.Scanner lines, the given prefix finder, continuation lines
// joined while the quotes are unbalanced, and encoding/csv (one reused
// csv.Reader, ReuseRecord) for the fields, with strconv and time.Parse for
// the typed ones.
func parseWithCSV(log []byte, prefix csvPrefix) (int, error) {
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
		ts, remote, user, db, pid, sev, k, ok := prefix(line)
		if !ok {
			continue
		}
		var e Entry
		e.Severity = sev
		t, err := time.Parse("2006-01-02 15:04:05 MST", string(ts))
		if err != nil {
			return n, err
		}
		e.Time = t
		e.Remote, e.User, e.Database = string(remote), string(user), string(db)
		if e.PID, err = strconv.Atoi(string(pid)); err != nil {
			return n, err
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
		sink = &e
		n++
	}
	return n, sc.Err()
}

// sink keeps the parsed entries observable so no parser's work is
// optimised away.
var sink *Entry

func parseCSVStdlib(log []byte) (int, error)     { return parseWithCSV(log, stdlibPrefix) }
func parseCSVFastPrefix(log []byte) (int, error) { return parseWithCSV(log, fastPrefix) }

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

// BenchmarkReader parses the generated log (-pgaudit.benchmb, 100 MB by
// default) with the Reader and with the two encoding/csv-based parsers; run
// with -cpu 1 for the one-core figure. MB/s is wall-clock throughput;
// cpu-MB/s divides by the process's CPU time instead, which is the honest
// one-core figure on a shared machine.
func BenchmarkReader(b *testing.B) {
	b.Run("pgaudit", func(b *testing.B) { benchParse(b, parseFast) })
	b.Run("encoding_csv", func(b *testing.B) { benchParse(b, parseCSVStdlib) })
	b.Run("encoding_csv_fastprefix", func(b *testing.B) { benchParse(b, parseCSVFastPrefix) })
}

// BenchmarkReaderVsCSV runs the Reader and both encoding/csv-based parsers
// on the same input in each iteration and reports the Reader's speedup over
// each, from CPU time (wall time where CPU time is not available).
// "encoding_csv" is the standard-library way (a regular expression for the
// prefix); "fastprefix" borrows this package's prefix matcher so that only
// the CSV decoding differs.
func BenchmarkReaderVsCSV(b *testing.B) {
	log, want := benchLog(b)
	b.ResetTimer()
	var fw, fc, sw, sc, pw, pc time.Duration
	for b.Loop() {
		w, c := measure(b, "pgaudit", parseFast, log, want)
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
// Reader and both encoding/csv parsers accept every generated entry (it
// compares counts, not field values), so the benchmarks compare equal work.
func TestBenchLogParsesIdentically(t *testing.T) {
	log, want := generateLog(1 << 20)
	var fast []Entry
	r := NewReader(bytes.NewReader(log), nil)
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fast = append(fast, *e)
	}
	if len(fast) != want {
		t.Fatalf("Reader: %d of %d entries", len(fast), want)
	}
	for name, parse := range map[string]func([]byte) (int, error){"stdlib": parseCSVStdlib, "fastprefix": parseCSVFastPrefix} {
		if n, err := parse(log); err != nil || n != want {
			t.Fatalf("encoding/csv %s: %d of %d entries, %v", name, n, want, err)
		}
	}
}
