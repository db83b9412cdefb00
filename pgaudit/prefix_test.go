package pgaudit

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestReaderPaddedFieldIsChecked is issue 23.3's reproduction: a padded
// escape took whatever text let the rest of the prefix match, and "x" as a
// %5t timestamp panicked with slice bounds out of range. A padded value
// must have its escape's own format.
func TestReaderPaddedFieldIsChecked(t *testing.T) {
	for _, tc := range []struct{ prefix, line string }{
		{"%5t ", "x LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>\n"},
		{"%-30m|", "2026-11-21 10:00:00 UTC|LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>\n"},
		{"%10n ", "    17.1 LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>\n"},
		{"%-5p|", "12a  |LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>\n"},
		{"%8c ", "   zz.1 LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>\n"},
		{"%-12r|", "host(x)     |LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>\n"},
		{"%3e ", "0000 LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>\n"},
	} {
		p, err := ParsePrefix(tc.prefix)
		if err != nil {
			t.Fatalf("ParsePrefix(%q): %v", tc.prefix, err)
		}
		r := NewReader(strings.NewReader(tc.line), &ReaderOptions{Prefix: p})
		if e, err := r.Next(); err != io.EOF {
			t.Errorf("%q on %q: got %v, %v; want io.EOF (the line does not match)", tc.prefix, tc.line, e, err)
		}
		if st := r.Stats(); st.Unmatched != 1 {
			t.Errorf("%q on %q: stats %+v, want 1 unmatched line", tc.prefix, tc.line, st)
		}
	}
	// A padded field PostgreSQL wrote reads back.
	p := MustParsePrefix("%30t [%-7p] %10c|")
	log := "       2026-11-21 10:00:00 UTC [42     ]  6540f1a2.2a|LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>\n"
	entries, errs := readAll(t, log, &ReaderOptions{Prefix: p})
	want := []Entry{{Time: t0, PID: 42, SessionID: "6540f1a2.2a", Severity: SeverityLog, Type: Session, StatementID: 1, SubstatementID: 1,
		Class: Read, Command: "SELECT", Statement: "SELECT 1", Parameter: NoParameters}}
	if diff := cmp.Diff(want, entries, timeEqual); diff != "" || len(errs) > 0 {
		t.Errorf("padded fields (-want +got):\n%s\nerrors: %v", diff, errs)
	}
}

// TestReaderFixedFormatBeforeLiteral is issue 23.3's second reproduction:
// with "%t-" the time zone took the "-" (it may start a numeric zone), the
// literal no longer matched, and the reader skipped the very line
// appendEntry wrote. Each escape's value now ends wherever the rest of
// the prefix matches.
func TestReaderFixedFormatBeforeLiteral(t *testing.T) {
	e := Entry{Time: t0.Add(1500 * time.Millisecond), Remote: "10.0.0.1(5432)", User: "u", Database: "d", PID: 4242,
		Application: "app", SessionID: "6540f1a2.2a", Severity: SeverityLog, Type: Session, StatementID: 1, SubstatementID: 1,
		Class: Read, Command: "SELECT", Statement: "SELECT 1", Parameter: NoParameters}
	for _, prefix := range []string{
		"%t-", "%t+", "%tZ", "%m-%u ", "%t-%p:", "%p1", "%p5 %u@%d ", "%c0", "%c1:", "%n0", "%l1 ", "%r0 ", "%rZ",
		"%e0", "%e%u:", "%n%p ", "%a-%p-", "%-8u5 ",
	} {
		p, err := ParsePrefix(prefix)
		if err != nil {
			t.Fatalf("ParsePrefix(%q): %v", prefix, err)
		}
		b, err := appendEntry(nil, p, &e)
		if err != nil {
			t.Fatalf("%q: appendEntry: %v", prefix, err)
		}
		got, errs := readAll(t, string(b), &ReaderOptions{Prefix: p})
		if len(errs) > 0 || len(got) != 1 {
			t.Errorf("%q: %q read as %d entries, errors %v", prefix, b, len(got), errs)
			continue
		}
		if diff := cmp.Diff(keptBy(p, e), got[0], timeEqual); diff != "" {
			t.Errorf("%q: %q (-want +got):\n%s", prefix, b, diff)
		}
	}
}

// keptBy returns e as a reader sees it through prefix p: the fields p does
// not show are empty and the time has p's precision.
func keptBy(p *Prefix, e Entry) Entry {
	var has uint16
	var timeKind ptokKind
	for _, t := range p.toks {
		switch t.kind {
		case pkTime, pkTimeMS, pkEpoch:
			if has&(1<<pkTime|1<<pkTimeMS|1<<pkEpoch) == 0 {
				timeKind = t.kind
			}
			has |= 1 << t.kind
		case pkRemote, pkHost, pkUser, pkDB, pkPID, pkApp, pkSession:
			has |= 1 << t.kind
		}
	}
	switch {
	case timeKind == pkTime:
		e.Time = e.Time.Truncate(time.Second)
	case timeKind == pkTimeMS || timeKind == pkEpoch:
		e.Time = e.Time.Truncate(time.Millisecond)
	default:
		e.Time = time.Time{}
	}
	keep := func(k ptokKind) bool { return has&(1<<k) != 0 }
	if !keep(pkRemote) && !keep(pkHost) {
		e.Remote = ""
	}
	if !keep(pkUser) {
		e.User = ""
	}
	if !keep(pkDB) {
		e.Database = ""
	}
	if !keep(pkPID) {
		e.PID = 0
	}
	if !keep(pkApp) {
		e.Application = ""
	}
	if !keep(pkSession) {
		e.SessionID = ""
	}
	return e
}

func TestParsePrefixRefusesInseparableFields(t *testing.T) {
	for _, s := range []string{
		"%t%p",     // the zone's letters run into the digits
		"%p%l",     // two runs of digits
		"%p1%l",    // separated by a digit only
		"%c1%u",    // separated by a hex digit only
		"%tZ%u",    // separated by a letter only
		"%u0%n",    // the 0 could start the %n
		"%ab%c",    // b could start the session ID
		"%dA%e",    // A could start a SQLSTATE
		"%u%q%q%d", // %q writes nothing
		"%u%q",     // fine alone...
		"a\nb",     // the reader reads lines
		"%5000u",   // padding wider than 4096
		"%99999999999999999999u",
	} {
		_, err := ParsePrefix(s)
		if s == "%u%q" {
			if err != nil {
				t.Errorf("ParsePrefix(%q): %v", s, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("ParsePrefix(%q) = %v, want ErrInvalid", s, err)
		}
	}
	for _, s := range []string{"%n%p", "%e%u", "%t-%p", "%p.%l", "%c-%p", "%t %u", "%a.%c", "%u-%n", RDSLogLinePrefix, "%m [%p] %q%u@%d %a %c %l %x %e %i %-8h|"} {
		if _, err := ParsePrefix(s); err != nil {
			t.Errorf("ParsePrefix(%q): %v", s, err)
		}
	}
}

// TestReaderMisuse: a Reader without a source, made or not by NewReader,
// and a source that breaks io.Reader's contract, give errors, not panics
// (issue 23.5).
func TestReaderMisuse(t *testing.T) {
	var zero Reader
	var nilReader *Reader
	for name, r := range map[string]*Reader{"NewReader(nil, nil)": NewReader(nil, nil), "Reader{}": &zero, "(*Reader)(nil)": nilReader} {
		if e, err := r.Next(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s.Next() = %v, %v; want ErrInvalid", name, e, err)
		}
		n := 0
		for _, err := range r.All() {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%s.All() yielded %v", name, err)
			}
			n++
		}
		if n != 1 {
			t.Errorf("%s.All() yielded %d times, want once", name, n)
		}
		if st := r.Stats(); st != (ReaderStats{}) {
			t.Errorf("%s.Stats() = %+v", name, st)
		}
	}
	for _, n := range []int{-1, 1 << 30} {
		r := NewReader(badCountReader(n), nil)
		if _, err := r.Next(); err == nil || err == io.EOF {
			t.Errorf("a Read returning %d: Next = %v, want an error", n, err)
		}
	}
}

// badCountReader's Read returns n whatever the buffer's size.
type badCountReader int

func (n badCountReader) Read(p []byte) (int, error) { return int(n), nil }

// TestReaderUnmatchedOncePerLine: Unmatched counts lines, not markers, and
// not a line that did match at a later marker.
func TestReaderUnmatchedOncePerLine(t *testing.T) {
	p := MustParsePrefix("%u LOG:  AUDIT: ")
	log := "bob LOG:  AUDIT: LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,s,<none>\n" +
		"x LOG:  AUDIT: y LOG:  AUDIT: z\n"
	r := NewReader(strings.NewReader(log), &ReaderOptions{Prefix: p})
	e, err := r.Next()
	if err != nil || e.User != "bob" {
		t.Fatalf("Next = %+v, %v", e, err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("second Next: %v", err)
	}
	if st := r.Stats(); st.Unmatched != 1 || st.Entries != 1 {
		t.Errorf("stats = %+v, want 1 entry and 1 unmatched line", st)
	}
}
