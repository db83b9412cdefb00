package pgaudit

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var fuzzPrefixes = []*Prefix{
	RDSPrefix,
	MustParsePrefix("%m [%p] %q%u@%d %a "),
	MustParsePrefix("%n|%h|%c|%u|%d|%p|"),
}

// FuzzReader feeds arbitrary text to the reader: it must never panic, and
// every entry it returns must format back to text that reads as the same
// entry.
func FuzzReader(f *testing.F) {
	seeds := []string{
		"2026-11-21 10:00:00 UTC:127.0.0.1(5432):alice@db1:[1234]:LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,select 1,<not logged>\n",
		"2026-11-21 10:00:00 UTC:127.0.0.1(5432):alice@db1:[1234]:LOG:  AUDIT: OBJECT,2,1,WRITE,UPDATE,TABLE,public.a,\"x\n\ty,\"\"z\"\"\",\"1,\"\"2\"\"\",7\n",
		"2026-11-21 10:00:00 UTC:[local]:a@b@c:[1]:NOTICE:  00000: AUDIT: SESSION,1,1,MISC,SET,,,<previously logged>,<previously logged>\r\n",
		"2026-11-21 10:00:00.123 UTC [9] u@d psql LOG:  AUDIT: SESSION,1,1,DDL,CREATE TABLE,TABLE,public.t,create table t(),<none>\n",
		"1700000000.123|::1|65.2|u|d|3|LOG:  AUDIT: SESSION,1,2,FUNCTION,DO,,,\"do $$\n\tbegin\n\tend$$\",<none>\n",
		"2026-11-21 10:00:00 UTC::@:[1]:LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,\"unterminated\n",
		"LOG:  AUDIT: \n\t\n",
		"",
	}
	for i, s := range seeds {
		f.Add(s, uint8(i%len(fuzzPrefixes)))
	}
	f.Fuzz(func(t *testing.T, log string, pi uint8) {
		p := fuzzPrefixes[int(pi)%len(fuzzPrefixes)]
		opts := &ReaderOptions{Prefix: p, MaxEntrySize: 1 << 16}
		for e, err := range Entries(strings.NewReader(log), opts) {
			if err != nil {
				continue
			}
			b, err := AppendEntry(nil, p, &e)
			if err != nil {
				t.Fatalf("entry read from %q does not format: %v", log, err)
			}
			var got []Entry
			for e2, err := range Entries(strings.NewReader(string(b)), opts) {
				if err != nil {
					t.Fatalf("formatted entry %q does not read: %v", b, err)
				}
				got = append(got, e2)
			}
			if len(got) != 1 {
				t.Fatalf("formatted entry %q reads as %d entries", b, len(got))
			}
			if diff := cmp.Diff(e, got[0], timeEqual); diff != "" {
				t.Fatalf("round trip of %q via %q (-first +second):\n%s", log, b, diff)
			}
		}
	})
}

var timeEqual = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

// FuzzRoundTrip builds entries from arbitrary field values, formats them
// and reads them back: the reader must return exactly the entry.
func FuzzRoundTrip(f *testing.F) {
	f.Add("alice", "db1", "127.0.0.1(5432)", int64(1), "SELECT", "TABLE", "public.a", "select 1", NotLogged, int64(-1), uint8(0), int64(1700000000))
	f.Add("a@b", "d,b", "[local]", int64(99), "ALTER TABLE", "", "", "x\n\"y\",\r\nz", "1,\"2\"", int64(5), uint8(3), int64(0))
	f.Add("", "", "", int64(0), "", "", "", "", "", int64(0), uint8(5), int64(-1))
	f.Add("u", "名前", "::1(1)", int64(7), "DO", "FUNCTION", "f()", Redacted, PreviouslyLogged, int64(0), uint8(1), int64(253402300799))
	f.Fuzz(func(t *testing.T, user, db, remote string, id int64, command, objType, objName, stmt, param string, rows int64, class uint8, unix int64) {
		classes := []Classes{Read, Write, Function, Role, DDL, Misc}
		if id < 0 || unix < -62135596800 || unix > 253402300799 {
			return
		}
		// Prefix fields: the reader cannot split values that are
		// themselves the prefix's separators in an ambiguous way.
		for _, v := range []string{user, db, remote} {
			if strings.ContainsAny(v, "\n\r") || strings.Contains(v, "AUDIT: ") {
				return
			}
		}
		if strings.Contains(db, "@") || !validRemote(remote) {
			return
		}
		// Unquoted fields cannot end the line with a carriage return.
		e := Entry{
			Time: time.Unix(unix, 0).UTC(), Remote: remote, User: user, Database: db, PID: int(id % 1e9),
			Severity: severities[int(class)%len(severities)], Type: Session,
			StatementID: id, SubstatementID: id / 2, Class: classes[int(class)%len(classes)],
			Command: command, ObjectType: objType, ObjectName: objName, Statement: stmt, Parameter: param,
		}
		if class%2 == 1 {
			e.Type = Object
		}
		if rows >= 0 {
			e.Rows, e.HasRows = rows, true
		}
		if e.StatementID > 999999999999999999 || e.Rows > 999999999999999999 {
			return
		}
		b, err := AppendEntry(nil, nil, &e)
		if err != nil {
			t.Fatalf("AppendEntry: %v", err)
		}
		var got []Entry
		for e2, err := range Entries(strings.NewReader(string(b)), nil) {
			if err != nil {
				t.Fatalf("%q: %v", b, err)
			}
			got = append(got, e2)
		}
		if len(got) != 1 {
			t.Fatalf("%q reads as %d entries", b, len(got))
		}
		if diff := cmp.Diff(e, got[0], timeEqual); diff != "" {
			t.Fatalf("%q (-want +got):\n%s", b, diff)
		}
	})
}

// validRemote reports whether s is something %r can print.
func validRemote(s string) bool {
	if s == "" || s == "[local]" {
		return true
	}
	i := strings.IndexByte(s, '(')
	if i <= 0 || !strings.HasSuffix(s, ")") || digitsLen([]byte(s[i+1:len(s)-1])) != len(s)-i-2 || len(s)-i-2 == 0 {
		return false
	}
	for j := 0; j < i; j++ {
		if !isHostChar(s[j]) {
			return false
		}
	}
	return true
}

// FuzzMatchRDS checks that the RDS fast path finds exactly what the
// general log_line_prefix matcher finds.
func FuzzMatchRDS(f *testing.F) {
	for _, s := range []string{
		"2026-11-21 10:00:00 UTC:127.0.0.1(5432):alice@db1:[1234]:",
		"2026-11-21 10:00:00 UTC:[local]:a@b@c:[1]:",
		"2026-11-21 10:00:00 UTC:::1(5433):u:[9]:x@d:[2]:[3]:",
		"2026-11-21 10:00:00 UTC::@:[1]:",
		"2026-11-21 10:00:00 +0530:host(1)x:u@d:[1]:",
		"2026-11-21 10:00:00 UTC:[local]:[local]:u@d:[1]:",
	} {
		f.Add(s)
	}
	general := *RDSPrefix
	general.rds = false
	f.Fuzz(func(t *testing.T, s string) {
		var fast, slow captures
		okFast := matchRDS([]byte(s), &fast)
		okSlow := general.match([]byte(s), &slow, nil)
		if okFast && !okSlow {
			t.Fatalf("%q: fast path matched, general did not", s)
		}
		if okFast && fast != slow {
			t.Fatalf("%q: fast %+v, general %+v", s, fast, slow)
		}
	})
}
