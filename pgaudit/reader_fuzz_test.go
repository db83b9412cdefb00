package pgaudit

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the fuzz targets' zones, wherever tzdata is missing

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzReader feeds arbitrary text to the reader under an arbitrary
// log_line_prefix: it must never panic, and every entry it returns must
// be consistent: formatted back, it reads as the same entry. Besides the
// text as it is, it reads the text after a prefix written for the
// prefix, with field as the user, database, application (and remote
// when it can be one): random lines that get past the prefix.
func FuzzReader(f *testing.F) {
	logs := []string{
		"2026-11-21 10:00:00 UTC:127.0.0.1(5432):alice@db1:[1234]:LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,select 1,<not logged>\n",
		"2026-11-21 10:00:00 UTC:127.0.0.1(5432):alice@db1:[1234]:LOG:  AUDIT: OBJECT,2,1,WRITE,UPDATE,TABLE,public.a,\"x\n\ty,\"\"z\"\"\",\"1,\"\"2\"\"\",7\n",
		"2026-11-21 10:00:00 UTC:[local]:a@b@c:[1]:NOTICE:  00000: AUDIT: SESSION,1,1,MISC,SET,,,<previously logged>,<previously logged>\r\n",
		"2026-11-21 10:00:00.123 UTC [9] u@d psql LOG:  AUDIT: SESSION,1,1,DDL,CREATE TABLE,TABLE,public.t,create table t(),<none>\n",
		"1700000000.123|::1|65.2|u|d|3|LOG:  AUDIT: SESSION,1,2,FUNCTION,DO,,,\"do $$\n\tbegin\n\tend$$\",<none>\n",
		"2026-11-21 10:00:00 UTC::@:[1]:LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,\"unterminated\n",
		"x LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>\n",
		"2026-11-21 10:00:00 CET-LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>\n",
		"LOG:  AUDIT: OBJECT,2,1,WRITE,UPDATE,TABLE,public.a,\"x\n\ty,\"\"z\"\"\",\"1,\"\"2\"\"\",7\n",
		"WARNING:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>\nx\n",
		"LOG:  AUDIT: \n\t\n",
		"",
	}
	prefixes := []string{RDSLogLinePrefix, "%m [%p] %q%u@%d %a ", "%n|%h|%c|%u|%d|%p|", "%5t ", "%t-", "%-10u|%5p|%b %e %c ", "%s %x %v %i %Q %P %l:", "%a %u:"}
	fields := []string{"alice", "a@b:c", "", " x ", "[local]", "h(1)", "client backend", "LOG:  AUDIT: "}
	for i, l := range logs {
		f.Add(prefixes[i%len(prefixes)], fields[i%len(fields)], l, uint8(i))
	}
	f.Fuzz(func(t *testing.T, prefix, field, log string, flags uint8) {
		p, err := ParsePrefix(prefix)
		if err != nil {
			return
		}
		opts := &ReaderOptions{Prefix: p, MaxEntrySize: 1 << 16, NoContinuationTab: flags&1 != 0}
		if flags&2 != 0 {
			opts.MaxEntrySize = 64
		}
		if flags&4 != 0 {
			opts.Location = fuzzZones[int(flags>>3)%len(fuzzZones)]
		}
		readConsistently(t, p, opts, log)
		e := Entry{Time: time.Date(2026, 11, 21, 10, 0, int(flags), 250e6, fuzzZones[int(flags)%len(fuzzZones)]),
			Remote: "10.0.0.7(40112)", User: field, Database: field, Application: field, PID: int(flags), SessionID: "6540f1a2.4d"}
		if validRemote(field) {
			e.Remote = field
		}
		if b, err := p.appendPrefix(nil, &e); err == nil {
			readConsistently(t, p, opts, string(b)+log)
		}
	})
}

// readConsistently reads log and checks that every entry the reader
// returns formats back to text that reads as the same entry. Formatting
// may refuse only an entry whose time the prefix shows twice in different
// forms (a %t and a %n of one line disagreeing), where the one time
// cannot be written both ways.
func readConsistently(t *testing.T, p *Prefix, opts *ReaderOptions, log string) {
	t.Helper()
	r := NewReader(strings.NewReader(log), opts)
	var results []string // each entry's JSON, or "error"
	var offsets []int64
	for e, err := range r.All() {
		offsets = append(offsets, r.Offset())
		if off := r.Offset(); off < 0 || off > int64(len(log)) || len(offsets) > 1 && off < offsets[len(offsets)-2] {
			t.Fatalf("Offset %d after %v (log of %d bytes, offsets so far %v)", off, err, len(log), offsets)
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("a strings.Reader gave a non-parse error: %v", err)
			}
			results = append(results, "error")
			continue
		}
		results = append(results, string(e.AppendJSON(nil)))
		if validUTF8(&e) {
			var back Entry
			if err := back.UnmarshalJSON(e.AppendJSON(nil)); err != nil {
				t.Fatalf("entry read from %q: its JSON does not read back: %v", log, err)
			}
			if diff := cmp.Diff(e, back, timeEqual); diff != "" {
				t.Fatalf("entry read from %q: JSON round trip (-entry +back):\n%s", log, diff)
			}
		}
		b, err := appendEntry(nil, p, &e)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || countTimes(p) < 2 {
				t.Fatalf("entry read from %q does not format: %v", log, err)
			}
			continue
		}
		again := *opts
		again.NoContinuationTab = false // appendEntry writes the tabs
		again.MaxEntrySize = 0
		var got []Entry
		for e2, err := range Entries(strings.NewReader(string(b)), &again) {
			if err != nil {
				t.Fatalf("entry read from %q, formatted as %q, does not read: %v", log, b, err)
			}
			got = append(got, e2)
		}
		if len(got) != 1 {
			t.Fatalf("entry read from %q, formatted as %q, reads as %d entries", log, b, len(got))
		}
		if diff := cmp.Diff(e, got[0], timeEqual); diff != "" {
			t.Fatalf("entry read from %q, formatted as %q (-first +second):\n%s", log, b, diff)
		}
	}
	if st := r.Stats(); st.Entries+st.Malformed > st.Lines {
		t.Fatalf("stats %+v: more results than lines", st)
	}
	// A Reader started at the offset after any result gives the results
	// that followed it.
	for i, off := range offsets {
		var rest []string
		for e, err := range Entries(strings.NewReader(log[off:]), opts) {
			if err != nil {
				rest = append(rest, "error")
			} else {
				rest = append(rest, string(e.AppendJSON(nil)))
			}
		}
		if diff := cmp.Diff(results[i+1:], rest, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("reading %q again from offset %d, after result %d (-first +again):\n%s", log, off, i, diff)
		}
	}
}

// fuzzZones are the log_timezone locations the fuzz targets read and
// write in.
var fuzzZones = func() []*time.Location {
	zones := []*time.Location{time.UTC}
	for _, name := range []string{"Europe/Paris", "America/St_Johns", "Asia/Kathmandu"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			panic(err)
		}
		zones = append(zones, loc)
	}
	return zones
}()

// countTimes counts the time escapes (%t %m %n %s) of p.
func countTimes(p *Prefix) int {
	n := 0
	for _, t := range p.toks {
		switch t.kind {
		case pkTime, pkTimeMS, pkEpoch, pkSessTime:
			n++
		}
	}
	return n
}

// FuzzPrefixRoundTrip writes entries with arbitrary field values under an
// arbitrary log_line_prefix and reads them back: for every prefix
// ParsePrefix accepts, the reader must return exactly what the prefix
// keeps of the entry. Free-text values (%u %d %a %h) hold none of the
// prefix's literal characters, since the literals are what tells them
// apart; a padded one neither starts nor ends with a space. Other values
// are ones their escape can hold.
func FuzzPrefixRoundTrip(f *testing.F) {
	for i, prefix := range []string{
		RDSLogLinePrefix, "%t-", "%5t ", "%m [%p] %q%u@%d %a ", "%n|%h|%c|%u|%d|%p|", "%-10u|%5p|%b %e %c ",
		"%s %x %v %i %Q %P %l:", "%p1", "%c0 %a", "%r0 %m", "%tZ", "%e%u:", "%-30m|%10r|",
	} {
		if _, err := ParsePrefix(prefix); err != nil {
			f.Fatal(err)
		}
		f.Add(prefix, "alice", "db1", "psql", "127.0.0.1(5432)", int64(1234), int64(1700000000+i*86400), uint16(i*97), uint16(i), uint8(i), "select 1")
	}
	f.Fuzz(func(t *testing.T, prefix, user, db, app, remote string, pid, unix int64, ms, zone uint16, sev uint8, stmt string) {
		p, err := ParsePrefix(prefix)
		if err != nil {
			return
		}
		has, padded, lits := prefixShape(p)
		free := func(v string, kinds ...ptokKind) bool {
			for _, k := range kinds {
				if has&(1<<k) == 0 {
					continue
				}
				if strings.ContainsAny(v, lits+"\n\r") || strings.Contains(v, "AUDIT: ") || len(v) > maxFieldLen {
					return false
				}
				if padded&(1<<k) != 0 && (strings.HasPrefix(v, " ") || strings.HasSuffix(v, " ")) {
					return false
				}
			}
			return true
		}
		if !free(user, pkUser) || !free(db, pkDB) || !free(app, pkApp) || !free(remote, pkHost) {
			return
		}
		if has&(1<<pkRemote) != 0 && !validRemote(remote) {
			return
		}
		if unix < 0 || unix > 253402300799 {
			return
		}
		loc := fuzzZones[int(zone)%len(fuzzZones)]
		if zone&0x8000 != 0 {
			// A numeric zone (+0530), as a fixed offset without a name.
			loc = time.FixedZone("", (int(zone&0x7ff)-1024)*60)
		}
		e := Entry{
			Time: time.Unix(unix, int64(ms%1000)*int64(time.Millisecond)).In(loc), Remote: remote, User: user, Database: db,
			PID: int(pid % 1e9), Application: app, SessionID: fmt.Sprintf("%x.%x", uint32(unix), uint16(pid)),
			Severity: severities[int(sev)%len(severities)], Type: Session, StatementID: 1, SubstatementID: 1,
			Class: Read, Command: "SELECT", Statement: stmt, Parameter: NoParameters,
		}
		if e.PID < 0 {
			e.PID = -e.PID
		}
		b, err := appendEntry(nil, p, &e)
		if err != nil {
			if e.Time.Year() > 9999 && errors.Is(err, ErrInvalid) {
				return // in its zone the time is past year 9999
			}
			t.Fatalf("appendEntry under %q: %v", prefix, err)
		}
		opts := &ReaderOptions{Prefix: p, Location: loc}
		var got []Entry
		for e2, err := range Entries(strings.NewReader(string(b)), opts) {
			if err != nil {
				t.Fatalf("%q under %q: %v", b, prefix, err)
			}
			got = append(got, e2)
		}
		if len(got) != 1 {
			t.Fatalf("%q under %q reads as %d entries", b, prefix, len(got))
		}
		if diff := cmp.Diff(keptBy(p, e), got[0], timeEqual); diff != "" {
			t.Fatalf("%q under %q (-want +got):\n%s", b, prefix, diff)
		}
	})
}

// prefixShape returns the kinds of p's escapes, those of them that are
// padded, and the characters of its literals.
func prefixShape(p *Prefix) (has, padded uint32, lits string) {
	var b strings.Builder
	for _, t := range p.toks {
		if t.kind == pkLit {
			b.Write(t.lit)
			continue
		}
		has |= 1 << t.kind
		if t.pad != 0 {
			padded |= 1 << t.kind
		}
	}
	return has, padded, b.String()
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
			if strings.ContainsAny(v, "\n\r") || strings.Contains(v, "AUDIT: ") || len(v) > maxFieldLen {
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
		b, err := appendEntry(nil, nil, &e)
		if err != nil {
			t.Fatalf("appendEntry: %v", err)
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
