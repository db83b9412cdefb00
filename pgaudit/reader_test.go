package pgaudit

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func readAll(t *testing.T, log string, opts *ReaderOptions) ([]Entry, []error) {
	t.Helper()
	var entries []Entry
	var errs []error
	for e, err := range Entries(strings.NewReader(log), opts) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		entries = append(entries, e)
	}
	return entries, errs
}

func TestReaderRDS(t *testing.T) {
	log := "" +
		"2026-11-21 10:00:00 UTC::@:[99]:LOG:  checkpoint starting: time\n" +
		"2026-11-21 10:00:00 UTC:127.0.0.1(5432):alice@db1:[1234]:LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,select 1,<not logged>\n" +
		"2026-11-21 10:00:01 UTC:10.0.0.7(40112):bob@example.com@sales:[77]:LOG:  AUDIT: OBJECT,2,1,WRITE,UPDATE,TABLE,public.account,\"update account\n" +
		"\t   set password = 'HASH2', \"\"x\"\" = 1\",<none>,3\n" +
		"\tnot part of anything\n" +
		"2026-11-21 10:00:02 UTC:[local]:postgres@postgres:[5]:LOG:  statement: select 'LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,x,y'\n" +
		"2026-11-21 10:00:03 UTC:::1(5433):carol@db:[6]:NOTICE:  AUDIT: SESSION,3,2,ROLE,CREATE ROLE,,,CREATE ROLE x PASSWORD <REDACTED>,<not logged>\n" +
		"2026-11-21 10:00:04 UTC:127.0.0.1(1):dave@db:[7]:LOG:  AUDIT: SESSION,4,1,MISC,SET,,,<previously logged>,<previously logged>\n" +
		"2026-11-21 10:00:05 UTC:127.0.0.1(1):dave@db:[7]:LOG:  AUDIT: SESSION,5,1,READ,SELECT,,,\"select $1, $2, $3\"," + `"a,""x""""y"",,""c` + "\n\t" + `def"""` + "\n" +
		"2026-11-21 10:00:06 UTC:127.0.0.1(1):dave@db:[7]:LOG:  00000: AUDIT: SESSION,6,1,DDL,CREATE TABLE,TABLE,public.t,create table t(),<not logged>\r\n"
	entries, errs := readAll(t, log, nil)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []Entry{
		{Time: t0, Remote: "127.0.0.1(5432)", User: "alice", Database: "db1", PID: 1234, Severity: SeverityLog,
			Type: Session, StatementID: 1, SubstatementID: 1, Class: Read, Command: "SELECT", Statement: "select 1", Parameter: NotLogged},
		{Time: t0.Add(time.Second), Remote: "10.0.0.7(40112)", User: "bob@example.com", Database: "sales", PID: 77, Severity: SeverityLog,
			Type: Object, StatementID: 2, SubstatementID: 1, Class: Write, Command: "UPDATE", ObjectType: "TABLE", ObjectName: "public.account",
			Statement: "update account\n   set password = 'HASH2', \"x\" = 1", Parameter: NoParameters, Rows: 3, HasRows: true},
		{Time: t0.Add(3 * time.Second), Remote: "::1(5433)", User: "carol", Database: "db", PID: 6, Severity: SeverityNotice,
			Type: Session, StatementID: 3, SubstatementID: 2, Class: Role, Command: "CREATE ROLE", Statement: "CREATE ROLE x PASSWORD <REDACTED>", Parameter: NotLogged},
		{Time: t0.Add(4 * time.Second), Remote: "127.0.0.1(1)", User: "dave", Database: "db", PID: 7, Severity: SeverityLog,
			Type: Session, StatementID: 4, SubstatementID: 1, Class: Misc, Command: "SET", Statement: PreviouslyLogged, Parameter: PreviouslyLogged},
		{Time: t0.Add(5 * time.Second), Remote: "127.0.0.1(1)", User: "dave", Database: "db", PID: 7, Severity: SeverityLog,
			Type: Session, StatementID: 5, SubstatementID: 1, Class: Read, Command: "SELECT", Statement: "select $1, $2, $3", Parameter: `a,"x""y",,"c` + "\n" + `def"`},
		{Time: t0.Add(6 * time.Second), Remote: "127.0.0.1(1)", User: "dave", Database: "db", PID: 7, Severity: SeverityLog,
			Type: Session, StatementID: 6, SubstatementID: 1, Class: DDL, Command: "CREATE TABLE", ObjectType: "TABLE", ObjectName: "public.t", Statement: "create table t()", Parameter: NotLogged},
	}
	if diff := cmp.Diff(want, entries); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	params, ok := entries[4].Parameters()
	if !ok || !cmp.Equal(params, []string{"a", `x"y`, "", "c\ndef"}) {
		t.Errorf("Parameters = %q, %v", params, ok)
	}
	if p, ok := entries[1].Parameters(); !ok || len(p) != 0 {
		t.Errorf("<none> parameters = %q, %v", p, ok)
	}
	if _, ok := entries[0].Parameters(); ok {
		t.Error("<not logged> parameters should not be ok")
	}
}

func TestReaderMalformed(t *testing.T) {
	log := "" +
		"2026-11-21 10:00:00 UTC:127.0.0.1(1):u@d:[1]:LOG:  AUDIT: SESSION,1,1,READ\n" + // too few fields
		"2026-11-21 10:00:00 UTC:127.0.0.1(1):u@d:[1]:LOG:  AUDIT: SESSION,x,1,READ,SELECT,,,s,<none>\n" +
		"2026-11-21 10:00:00 UTC:127.0.0.1(1):u@d:[1]:LOG:  AUDIT: SESSION,1,1,BOGUS,SELECT,,,s,<none>\n" +
		"2026-11-21 10:00:00 UTC:127.0.0.1(1):u@d:[1]:LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,\"unterminated\n" +
		"2026-11-21 10:00:01 UTC:127.0.0.1(1):u@d:[1]:LOG:  AUDIT: SESSION,2,1,READ,SELECT,,,ok,<none>\n" +
		"2026-11-21 10:00:00 UTC:127.0.0.1(1):u@d:[1]:LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,\"a\"b,<none>\n" +
		"2026-11-21 10:00:00 UTC:127.0.0.1(1):u@d:[1]:LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,s,<none>,5,6\n" +
		"2026-11-21 10:00:00 UTC:127.0.0.1(1):u@d:[1]:LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,s,<none>,-5\n" +
		"2026-11-21 10:00:00 UTC:127.0.0.1(1):u@d:[1]:LOG:  AUDIT: OOPS,1,1,READ,SELECT,,,s,<none>\n" +
		"garbage:LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,s,<none>\n" +
		"2026-11-21 10:00:02 UTC:127.0.0.1(1):u@d:[1]:LOG:  AUDIT: SESSION,3,1,READ,SELECT,,,\"last\",<none>\n"
	r := NewReader(strings.NewReader(log), nil)
	var lines []int64
	var ids []int64
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		var pe *ParseError
		if errors.As(err, &pe) {
			lines = append(lines, pe.Line)
			if strings.Contains(pe.Error(), "SELECT") || strings.Contains(pe.Error(), "unterminated") {
				t.Errorf("parse error leaks log text: %v", pe)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.StatementID)
	}
	if !cmp.Equal(lines, []int64{1, 2, 3, 4, 6, 7, 8, 9}) {
		t.Errorf("malformed lines = %v", lines)
	}
	if !cmp.Equal(ids, []int64{2, 3}) {
		t.Errorf("statement IDs = %v", ids)
	}
	st := r.Stats()
	if st.Entries != 2 || st.Malformed != 8 || st.Unmatched != 1 || st.Lines != 11 {
		t.Errorf("stats = %+v", st)
	}
}

func TestReaderCustomPrefix(t *testing.T) {
	p, err := ParsePrefix("%m [%p] %q%u@%d %a %c %l %x %e %i %-8h|")
	if err != nil {
		t.Fatal(err)
	}
	log := "2026-11-21 10:00:00.250 UTC [42] app@db1 psql 6540f1a2.2a 3 0 00000 SELECT 10.1.2.3 |LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,select 1,<not logged>\n" +
		"2026-11-21 10:00:00.250 UTC [43] LOG:  checkpoint complete\n" +
		"2026-11-21 10:00:01.000 +0530 [42] u@d  6540f1a2.2a 4 0 00000 SET [local]  |LOG:  AUDIT: SESSION,2,1,MISC,SET,,,set x = 1,<not logged>\n"
	entries, errs := readAll(t, log, &ReaderOptions{Prefix: p})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := []Entry{
		{Time: t0.Add(250 * time.Millisecond), Remote: "10.1.2.3", User: "app", Database: "db1", PID: 42, Application: "psql", SessionID: "6540f1a2.2a",
			Severity: SeverityLog, Type: Session, StatementID: 1, SubstatementID: 1, Class: Read, Command: "SELECT", Statement: "select 1", Parameter: NotLogged},
		{Time: time.Date(2026, 11, 21, 10, 0, 1, 0, time.FixedZone("+0530", 5*3600+30*60)), Remote: "[local]", User: "u", Database: "d", PID: 42, SessionID: "6540f1a2.2a",
			Severity: SeverityLog, Type: Session, StatementID: 2, SubstatementID: 1, Class: Misc, Command: "SET", Statement: "set x = 1", Parameter: NotLogged},
	}
	if diff := cmp.Diff(want, entries, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

func TestParsePrefixErrors(t *testing.T) {
	for _, s := range []string{"%u%d", "%a%q%u", "%-x"} {
		if _, err := ParsePrefix(s); err == nil {
			t.Errorf("ParsePrefix(%q) accepted", s)
		}
	}
	for _, s := range []string{"", "%%", "%t %p ", "%n|%u|", "%Z%t:"} {
		if _, err := ParsePrefix(s); err != nil {
			t.Errorf("ParsePrefix(%q): %v", s, err)
		}
	}
}

func TestReaderHostileNames(t *testing.T) {
	entries := []Entry{
		{Time: t0, Remote: "127.0.0.1(5432)", User: `we"ird:[1]:LOG:  x@y`, Database: "d:[2]:b", PID: 9},
		{Time: t0, Remote: "", User: "", Database: "", PID: 1},
		{Time: t0, Remote: "::1(1)", User: "名前 with spaces", Database: strings.Repeat("x", 63), PID: 1},
		{Time: t0, Remote: "[local]", User: "a@b@c", Database: "plain", PID: 1},
	}
	for i := range entries {
		e := &entries[i]
		e.Severity, e.Type, e.Class, e.Command, e.Statement, e.Parameter = SeverityLog, Session, Read, "SELECT", "select 1", NotLogged
		b, err := appendEntry(nil, nil, e)
		if err != nil {
			t.Fatal(err)
		}
		got, errs := readAll(t, string(b), nil)
		if len(errs) > 0 || len(got) != 1 {
			t.Fatalf("%q: %v %v", b, got, errs)
		}
		if diff := cmp.Diff(*e, got[0]); diff != "" {
			t.Errorf("%q (-want +got):\n%s", b, diff)
		}
	}
}

func TestReaderSmallReadsAndLongEntries(t *testing.T) {
	stmt := strings.Repeat("select 'x,y';\n", 50000) // ~700 KB, many lines
	e := Entry{Time: t0, Remote: "127.0.0.1(1)", User: "u", Database: "d", PID: 3, Severity: SeverityLog,
		Type: Session, StatementID: 1, SubstatementID: 1, Class: Read, Command: "SELECT", Statement: stmt, Parameter: NoParameters, HasRows: true, Rows: 2}
	b, err := appendEntry(nil, nil, &e)
	if err != nil {
		t.Fatal(err)
	}
	log := "noise\n" + string(b) + string(b)
	for _, name := range []string{"whole", "onebyte", "half"} {
		var src io.Reader = strings.NewReader(log)
		switch name {
		case "onebyte":
			src = iotest.OneByteReader(src)
		case "half":
			src = iotest.HalfReader(src)
		}
		var n int
		for got, err := range Entries(src, nil) {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got.Statement != stmt || got.Rows != 2 {
				t.Fatalf("%s: entry mangled", name)
			}
			n++
		}
		if n != 2 {
			t.Errorf("%s: %d entries", name, n)
		}
	}
	// A limit smaller than the entry reports it and goes on.
	var n, bad int
	for _, err := range Entries(strings.NewReader(log+string(b[:0])+"2026-11-21 10:00:00 UTC:127.0.0.1(1):u@d:[1]:LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,s,<none>\n"), &ReaderOptions{MaxEntrySize: 1000}) {
		if err != nil {
			bad++
			continue
		}
		n++
	}
	if n != 1 || bad != 2 {
		t.Errorf("with a small limit: %d entries, %d errors", n, bad)
	}
}

func TestReaderNoContinuationTab(t *testing.T) {
	log := "2026-11-21 10:00:00 UTC:127.0.0.1(1):u@d:[1]:LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,\"select\n1\",<none>\n"
	got, errs := readAll(t, log, &ReaderOptions{NoContinuationTab: true})
	if len(errs) > 0 || len(got) != 1 || got[0].Statement != "select\n1" {
		t.Fatalf("%v %v", got, errs)
	}
	_, errs = readAll(t, log, nil)
	if len(errs) != 1 {
		t.Fatalf("without the option the entry should be malformed: %v", errs)
	}
}

type errReader struct{ data string }

func (r *errReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReaderSourceError(t *testing.T) {
	src := &errReader{data: "2026-11-21 10:00:00 UTC:127.0.0.1(1):u@d:[1]:LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,s,<none>\n"}
	var n int
	var last error
	for _, err := range Entries(src, nil) {
		if err != nil {
			last = err
			continue
		}
		n++
	}
	if n != 1 || last == nil || last.Error() != "disk on fire" {
		t.Errorf("n=%d last=%v", n, last)
	}
}

func TestSummary(t *testing.T) {
	log := "" +
		"2026-11-21 10:00:00 UTC:127.0.0.1(1):alice@d:[1]:LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.a,select,<none>\n" +
		"2026-11-21 10:00:05 UTC:127.0.0.1(1):alice@d:[1]:LOG:  AUDIT: SESSION,2,1,WRITE,INSERT,TABLE,public.a,insert,<none>\n" +
		"2026-11-21 09:59:00 UTC:127.0.0.1(1):bob@d:[1]:LOG:  AUDIT: OBJECT,1,1,READ,SELECT,TABLE,public.b,select,<none>\n" +
		"2026-11-21 10:00:00 UTC:127.0.0.1(1):bob@d:[1]:LOG:  AUDIT: SESSION,1,1,BAD,SELECT,,,select,<none>\n" +
		"2026-11-21 10:00:01 UTC:127.0.0.1(1):bob@d:[1]:LOG:  AUDIT: SESSION,2,1,MISC,SET,,,set,<none>\n"
	s, err := Summarize(Entries(strings.NewReader(log), nil))
	if err != nil {
		t.Fatal(err)
	}
	want := &Summary{
		Entries: 4, Malformed: 1, First: t0.Add(-time.Minute), Last: t0.Add(5 * time.Second),
		ByClass:   Counts{"READ": 2, "WRITE": 1, "MISC": 1},
		ByCommand: Counts{"SELECT": 2, "INSERT": 1, "SET": 1},
		ByUser:    Counts{"alice": 2, "bob": 2},
		ByObject:  Counts{"TABLE public.a": 2, "TABLE public.b": 1},
		ByType:    Counts{"SESSION": 3, "OBJECT": 1},
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if got := s.ByClass.Sorted(); !cmp.Equal(got, []Count{{"READ", 2}, {"MISC", 1}, {"WRITE", 1}}) {
		t.Errorf("Sorted = %v", got)
	}
}

func TestMessage(t *testing.T) {
	e := Entry{Type: Object, StatementID: 3, SubstatementID: 1, Class: Write, Command: "INSERT", ObjectType: "TABLE", ObjectName: `public."a,b"`,
		Statement: "insert\ninto x", Parameter: `1,"2"`, HasRows: true, Rows: 1}
	want := `AUDIT: OBJECT,3,1,WRITE,INSERT,TABLE,"public.""a,b""","insert` + "\n" + `into x","1,""2""",1`
	if got := e.Message(); got != want {
		t.Errorf("Message:\n got %s\nwant %s", got, want)
	}
	if _, err := appendEntry(nil, nil, &Entry{Type: "X", Class: Read}); err == nil {
		t.Error("bad type accepted")
	}
	if _, err := appendEntry(nil, nil, &Entry{Type: Session, Class: Read | Write}); err == nil {
		t.Error("two classes accepted")
	}
	if _, err := appendEntry(nil, nil, &Entry{Type: Session, Class: Read, User: "a\nb"}); err == nil {
		t.Error("newline in user accepted")
	}
	if _, err := appendEntry(nil, nil, &Entry{Type: Session, Class: Read, Severity: "ERROR"}); err == nil {
		t.Error("severity ERROR accepted")
	}
}
