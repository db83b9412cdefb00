package pgaudit

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RDSLogLinePrefix is the log_line_prefix of RDS and Aurora PostgreSQL,
// which cannot be changed there.
const RDSLogLinePrefix = "%t:%r:%u@%d:[%p]:"

// Prefix is a compiled log_line_prefix: it finds the fields of the prefix at
// the start of a log line and writes them back. A Prefix is immutable and
// safe for concurrent use.
type Prefix struct {
	src    string
	toks   []ptok
	rds    bool  // exactly RDSLogLinePrefix: use matchRDS
	maxLen int   // the longest text the prefix can match
	keep   []int // the tokens that fill captures: the first of each group
}

type ptokKind uint8

const (
	pkLit      ptokKind = iota
	pkTime              // %t: 2006-01-02 15:04:05 MST
	pkTimeMS            // %m: 2006-01-02 15:04:05.000 MST
	pkEpoch             // %n: 1700000000.123
	pkSessTime          // %s: like %t, not kept
	pkPID               // %p
	pkRemote            // %r
	pkHost              // %h
	pkUser              // %u
	pkDB                // %d
	pkApp               // %a
	pkSession           // %c
	pkDigits            // %l, %x: digits, not kept
	pkFree              // %i %v %Q %P: free text, not kept
	pkOptional          // %q
	pkSQLState          // %e: five digits or capital letters, not kept
	pkBackend           // %b: the backend type, free text, not kept
)

type ptok struct {
	kind ptokKind
	lit  []byte // pkLit
	pad  int    // padding width from %-10u and the like; 0 = none
	esc  byte   // the escape letter, for String and formatting
}

// maxPad bounds the padding of an escape (%-10u): wider padding is refused
// rather than written or searched.
const maxPad = 4096

// maxFieldLen bounds the text of one prefix field, padding aside. What
// PostgreSQL writes is far shorter (names are at most 63 bytes, host names
// 255); the bound keeps matching a long line that is not a log line cheap.
const maxFieldLen = 1024

// ParsePrefix compiles a log_line_prefix. It accepts every escape
// PostgreSQL 15 documents (%a %u %d %r %h %b %p %P %t %m %n %i %e %c %l %s
// %v %x %q %Q %%) with optional padding (%-10u, up to 4096). The reader
// fills Entry from %t/%m/%n, %r/%h, %u, %d, %p, %a and %c; the others are
// matched and skipped.
//
// A prefix whose fields could not be told apart is refused: two escapes
// with nothing between them (except after %n and %e, whose values end by
// their own format), an escape whose value ends in a run of digits, hex
// digits or letters (%t %s %m %p %l %x %c) separated from the next escape
// only by such characters (%p1%l), and free text separated from an escape
// of digits or hex digits only by characters that escape's value can
// start with (%u0%n). So is a prefix holding a line break, since the
// reader reads the log line by line.
func ParsePrefix(logLinePrefix string) (*Prefix, error) {
	p := &Prefix{src: logLinePrefix}
	bad := func(format string, args ...any) (*Prefix, error) {
		return nil, fmt.Errorf("%w: log_line_prefix %q: %s", ErrInvalid, logLinePrefix, fmt.Sprintf(format, args...))
	}
	if i := strings.IndexAny(logLinePrefix, "\n\r"); i >= 0 {
		return bad("a line break at byte %d: the reader reads the log line by line", i)
	}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.toks = append(p.toks, ptok{kind: pkLit, lit: []byte(lit.String())})
			lit.Reset()
		}
	}
	s := logLinePrefix
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			// PostgreSQL ignores a lone trailing %.
			break
		}
		pad := 0
		if s[i] == '-' || (s[i] >= '0' && s[i] <= '9') {
			j := i
			if s[j] == '-' {
				j++
			}
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			n, err := strconv.Atoi(s[i:j])
			if err != nil || j == len(s) {
				return bad("bad padding at byte %d", i)
			}
			if n > maxPad || n < -maxPad {
				return bad("padding %d at byte %d is wider than %d", n, i, maxPad)
			}
			pad = n
			i = j
		}
		e := s[i]
		if e == '%' {
			lit.WriteByte('%')
			continue
		}
		var k ptokKind
		switch e {
		case 't':
			k = pkTime
		case 'm':
			k = pkTimeMS
		case 'n':
			k = pkEpoch
		case 's':
			k = pkSessTime
		case 'p':
			k = pkPID
		case 'r':
			k = pkRemote
		case 'h':
			k = pkHost
		case 'u':
			k = pkUser
		case 'd':
			k = pkDB
		case 'a':
			k = pkApp
		case 'c':
			k = pkSession
		case 'l', 'x':
			k = pkDigits
		case 'e':
			k = pkSQLState
		case 'b':
			k = pkBackend
		case 'i', 'v', 'Q', 'P':
			k = pkFree
		case 'q':
			k = pkOptional
		default:
			// PostgreSQL ignores unknown escapes.
			continue
		}
		flush()
		p.toks = append(p.toks, ptok{kind: k, pad: pad, esc: e})
	}
	flush()
	p.rds = logLinePrefix == RDSLogLinePrefix
	if err := p.checkSeparated(); err != nil {
		return bad("%v", err)
	}
	var kept uint16
	for i, t := range p.toks {
		if t.kind == pkLit {
			p.maxLen += len(t.lit)
		} else {
			p.maxLen += maxFieldLen + max(t.pad, -t.pad)
		}
		if g := group(t.kind); g != 0 && kept&g == 0 {
			kept |= g
			p.keep = append(p.keep, i)
		}
	}
	return p, nil
}

// checkSeparated refuses escapes whose values could not be told apart:
// for each escape, the literal text up to the next escape (%q writes
// nothing) must tell where its value ends.
func (p *Prefix) checkSeparated() error {
	for i, a := range p.toks {
		if !a.isValue() {
			continue
		}
		var sep []byte
		j := i + 1
		for ; j < len(p.toks) && !p.toks[j].isValue(); j++ {
			sep = append(sep, p.toks[j].lit...)
		}
		if j == len(p.toks) {
			continue // the end of the prefix ends the value
		}
		b := p.toks[j]
		if len(sep) == 0 && !a.selfDelimiting() {
			return fmt.Errorf("%%%c and %%%c have nothing between them, so their values cannot be told apart", a.esc, b.esc)
		}
		if in := a.tailSet(); in != nil && len(sep) > 0 && onlyOf(sep, in) {
			return fmt.Errorf("%%%c and %%%c are separated only by %q, which a %%%c value can also end with, so their values cannot be told apart", a.esc, b.esc, sep, a.esc)
		}
		if in := b.headSet(); in != nil && a.isFree() && len(sep) > 0 && onlyOf(sep, in) {
			return fmt.Errorf("%%%c and %%%c are separated only by %q, which a %%%c value can also start with, so their values cannot be told apart", a.esc, b.esc, sep, b.esc)
		}
	}
	return nil
}

// isValue reports whether the token stands for a value (not a literal or
// %q).
func (t *ptok) isValue() bool { return t.kind != pkLit && t.kind != pkOptional }

// selfDelimiting reports whether the value's own format says where it
// ends, whatever follows.
func (t *ptok) selfDelimiting() bool { return t.kind == pkEpoch || t.kind == pkSQLState }

// tailSet returns the bytes the end of a value can be a run of, for the
// escapes whose value ends that way; nil for the others (free text ends
// where the next literal starts; %r ends with ")" or "]" or is empty).
func (t *ptok) tailSet() func(byte) bool {
	switch t.kind {
	case pkTime, pkTimeMS, pkSessTime:
		return isAlnum
	case pkPID, pkDigits:
		return isDigit
	case pkSession:
		return isHex
	}
	return nil
}

// headSet returns the bytes the value of a fixed-format token can start
// with, for those that start with a run of them; nil for the others.
func (t *ptok) headSet() func(byte) bool {
	switch t.kind {
	case pkTime, pkTimeMS, pkSessTime, pkEpoch, pkPID, pkDigits:
		return isDigit
	case pkSession:
		return isHex
	case pkSQLState:
		return func(c byte) bool { return isDigit(c) || 'A' <= c && c <= 'Z' }
	}
	return nil
}

// onlyOf reports whether every byte of b is in the set.
func onlyOf(b []byte, in func(byte) bool) bool {
	for _, c := range b {
		if !in(c) {
			return false
		}
	}
	return true
}

// MustParsePrefix is ParsePrefix for constant prefixes; it panics on error.
func MustParsePrefix(s string) *Prefix {
	p, err := ParsePrefix(s)
	if err != nil {
		panic(err)
	}
	return p
}

// RDSPrefix is the compiled RDSLogLinePrefix.
var RDSPrefix = MustParsePrefix(RDSLogLinePrefix)

// String returns the log_line_prefix the Prefix was compiled from.
func (p *Prefix) String() string { return p.src }

// span is a byte range in the prefix being matched.
type span struct{ start, end int }

// captures holds what a prefix match found.
type captures struct {
	time, remote, user, db, pid, app, session span
	timeKind                                  ptokKind
	has                                       uint16 // bit per field kind
}

func (c *captures) set(k ptokKind, sp span) {
	switch k {
	case pkTime, pkTimeMS, pkEpoch:
		c.time, c.timeKind = sp, k
	case pkRemote, pkHost:
		c.remote = sp
	case pkUser:
		c.user = sp
	case pkDB:
		c.db = sp
	case pkPID:
		c.pid = sp
	case pkApp:
		c.app = sp
	case pkSession:
		c.session = sp
	default:
		return
	}
	c.has |= 1 << k
}

// group returns the capture bits of the fields a token kind fills (%t,
// %m and %n fill one, %r and %h one), 0 for the kinds not kept.
func group(k ptokKind) uint16 {
	switch k {
	case pkTime, pkTimeMS, pkEpoch:
		return 1<<pkTime | 1<<pkTimeMS | 1<<pkEpoch
	case pkRemote, pkHost:
		return 1<<pkRemote | 1<<pkHost
	case pkUser, pkDB, pkPID, pkApp, pkSession:
		return 1 << k
	}
	return 0
}

// matchScratch is the matcher's memory, reused from line to line.
type matchScratch struct {
	failed []uint64
	spans  []span
}

// match matches the whole of s (the text before the severity) against the
// prefix, filling c; when a field shows twice (%t and %m), the first one
// counts. scratch, when not nil, is reused between calls. Free-text
// fields match lazily except %u, which takes the longest match, so a user
// name with "@" survives "%u@%d".
func (p *Prefix) match(s []byte, c *captures, scratch *matchScratch) bool {
	c.has = 0
	if p.rds && matchRDS(s, c) {
		return true
	}
	c.has = 0
	if len(s) > p.maxLen {
		return false
	}
	if scratch == nil {
		scratch = new(matchScratch)
	}
	n := (len(p.toks)*(len(s)+1) + 63) / 64
	if cap(scratch.failed) < n {
		scratch.failed = make([]uint64, n)
	}
	if cap(scratch.spans) < len(p.toks) {
		scratch.spans = make([]span, len(p.toks))
	}
	m := matcher{p: p, s: s, failed: scratch.failed[:n], spans: scratch.spans[:len(p.toks)], stop: len(p.toks)}
	clear(m.failed)
	if !m.at(0, 0) {
		return false
	}
	for _, ti := range p.keep {
		if ti < m.stop {
			c.set(p.toks[ti].kind, m.spans[ti])
		}
	}
	return true
}

// matcher tries the prefix's tokens on s, going back to the last choice
// when a token does not fit. A token's value can often end in several
// places (free text at every occurrence of the literal after it, digits
// after each of their run); failed remembers the (token, position) pairs
// from which the rest of the prefix was found not to match, so that no
// input makes the search take more than tokens × positions × ends steps.
// Where a token's value can end in one place only (the usual case: the
// one run of digits followed by "]"), the matcher goes on without a
// choice to come back to.
type matcher struct {
	p      *Prefix
	s      []byte
	failed []uint64 // bit ti*(len(s)+1)+pos
	spans  []span   // each token's value on the way that matched
	stop   int      // where a %q ended the match; len(toks) otherwise
}

// at reports whether the tokens from ti on match s[pos:] exactly.
func (m *matcher) at(ti, pos int) bool {
	toks := m.p.toks
	for ti < len(toks) {
		t := &toks[ti]
		switch t.kind {
		case pkLit:
			if !bytes.HasPrefix(m.s[pos:], t.lit) {
				return false
			}
			pos += len(t.lit)
			ti++
			continue
		case pkOptional:
			// Non-session processes stop the prefix here.
			if pos == len(m.s) {
				m.stop = ti
				return true
			}
			ti++
			continue
		}
		var lit []byte
		last := ti+1 == len(toks)
		if !last && toks[ti+1].kind == pkLit {
			lit = toks[ti+1].lit
		}
		if t.pad == 0 && t.isFree() {
			// Free text can nearly always end in several places (the
			// literal after it recurs): try them in turn.
			if m.failedAt(ti, pos) {
				return false
			}
			if t.ends(m.s, pos, lit, last, func(end int) bool {
				if m.at(ti+1, end) {
					m.spans[ti] = span{pos, end}
					return true
				}
				return false
			}) {
				return true
			}
			m.fail(ti, pos)
			return false
		}
		if t.pad == 0 {
			var buf [maxEnds]int
			ends := t.fixedEnds(m.s, pos, lit, last, buf[:0])
			if len(ends) == 1 {
				// The one way: go on, with no choice to come back to.
				m.spans[ti] = span{pos, ends[0]}
				ti, pos = ti+1, ends[0]
				continue
			}
			if m.failedAt(ti, pos) {
				return false
			}
			for _, end := range ends {
				if m.at(ti+1, end) {
					m.spans[ti] = span{pos, end}
					return true
				}
			}
			m.fail(ti, pos)
			return false
		}
		// A padded field: the first two ways it can end; with one, go on.
		var first field
		n := 0
		t.fields(m.s, pos, lit, last, func(f field) bool {
			if n == 0 {
				first = f
			}
			n++
			return n == 2
		})
		if n == 1 {
			m.spans[ti] = first.value
			ti, pos = ti+1, first.next
			continue
		}
		if m.failedAt(ti, pos) {
			return false
		}
		if n > 1 && t.fields(m.s, pos, lit, last, func(f field) bool {
			if m.at(ti+1, f.next) {
				m.spans[ti] = f.value
				return true
			}
			return false
		}) {
			return true
		}
		m.fail(ti, pos)
		return false
	}
	return pos == len(m.s)
}

// failedAt reports whether the rest of the prefix was found not to match
// from token ti at pos.
func (m *matcher) failedAt(ti, pos int) bool {
	bit := uint(ti*(len(m.s)+1) + pos)
	return m.failed[bit/64]&(1<<(bit%64)) != 0
}

// fail remembers that the rest of the prefix does not match from token ti
// at pos.
func (m *matcher) fail(ti, pos int) {
	bit := uint(ti*(len(m.s)+1) + pos)
	m.failed[bit/64] |= 1 << (bit % 64)
}

// field is one way a token's field can take up the line: its value, and
// where the field, padding included, ends.
type field struct {
	value span
	next  int
}

// fields calls yield with each way the token's field can take up s[pos:],
// in the order the matcher prefers, until yield returns true, and reports
// whether one did. lit is the literal right after the field (nil when %q
// follows), last says nothing does: fields that these rule out are not
// given. PostgreSQL pads a value shorter than the width (%-10u, %10u) with
// spaces after or before it; the reader takes the spaces on either side
// of a padded value as padding, however many there are, so a padded value
// never starts or ends with a space.
func (t *ptok) fields(s []byte, pos int, lit []byte, last bool, yield func(field) bool) bool {
	if t.pad == 0 {
		return t.ends(s, pos, lit, last, func(end int) bool { return yield(field{span{pos, end}, end}) })
	}
	fits := func(next int) bool {
		return (!last || next == len(s)) && (lit == nil || bytes.HasPrefix(s[next:], lit))
	}
	vs := pos + spaceRun(s[pos:])
	var found bool
	if t.isFree() && t.kind != pkBackend && lit != nil {
		// The value ends before the spaces before an occurrence of the
		// literal.
		found = t.ends(s, vs, lit, false, func(next int) bool {
			ve := next
			for ve > vs && s[ve-1] == ' ' {
				ve--
			}
			return ve > vs && yield(field{span{vs, ve}, next})
		})
	} else {
		found = t.ends(s, vs, nil, false, func(ve int) bool {
			if ve == vs || s[ve-1] == ' ' {
				return false
			}
			for next := ve + spaceRun(s[ve:]); next >= ve; next-- {
				if fits(next) && yield(field{span{vs, ve}, next}) {
					return true
				}
			}
			return false
		})
	}
	if found || !t.accepts(nil) {
		return found
	}
	// An empty value: the field is spaces only, as many as the rest of
	// the prefix leaves.
	for next := vs; next >= pos; next-- {
		if fits(next) && yield(field{span{next, next}, next}) {
			return true
		}
	}
	return false
}

// isFree reports whether the token's value is free text.
func (t *ptok) isFree() bool {
	switch t.kind {
	case pkUser, pkDB, pkApp, pkHost, pkFree, pkBackend:
		return true
	}
	return false
}

// spaceRun returns the number of spaces at the start of b.
func spaceRun(b []byte) int {
	n := 0
	for n < len(b) && b[n] == ' ' {
		n++
	}
	return n
}

// ends calls yield with each end of a value of the token that can start at
// s[pos:], in the order the matcher prefers, until yield returns true,
// leaving out ends that lit (the literal right after the value, nil when
// padding or %q comes between) or last (nothing follows) rule out. With
// fixedEnds, which it uses for the tokens that are not free text, it is
// the one definition of what each escape's value looks like: the matcher,
// the RDS fast path and the writer's check all rest on it.
func (t *ptok) ends(s []byte, pos int, lit []byte, last bool, yield func(end int) bool) bool {
	if !t.isFree() {
		var buf [maxEnds]int
		for _, end := range t.fixedEnds(s, pos, lit, last, buf[:0]) {
			if yield(end) {
				return true
			}
		}
		return false
	}
	rest := s[pos:]
	// Free text: %u %d %a %h %b and the skipped ones.
	lim := pos + min(len(rest), maxFieldLen)
	if t.kind == pkBackend {
		for _, bt := range backendTypes {
			end := pos + len(bt)
			if len(rest) >= len(bt) && string(rest[:len(bt)]) == bt &&
				(!last || end == len(s)) && (lit == nil || bytes.HasPrefix(s[end:], lit)) && yield(end) {
				return true
			}
		}
	}
	longest := t.kind == pkUser
	switch {
	case last:
		return lim == len(s) && yield(lim)
	case lit != nil:
		// The value ends where the literal starts.
		area := s[:min(len(s), lim+len(lit))]
		if longest {
			for end := len(area); ; {
				j := bytes.LastIndex(area[pos:end], lit)
				if j < 0 {
					return false
				}
				if yield(pos + j) {
					return true
				}
				end = pos + j + len(lit) - 1
			}
		}
		for off := pos; ; {
			j := bytes.Index(area[off:], lit)
			if j < 0 {
				return false
			}
			if yield(off + j) {
				return true
			}
			off += j + 1
		}
	case longest:
		for end := lim; end >= pos; end-- {
			if yield(end) {
				return true
			}
		}
	default:
		for end := pos; end <= lim; end++ {
			if yield(end) {
				return true
			}
		}
	}
	return false
}

// accepts reports whether v is a whole value of the token: what the
// writer checks it writes.
func (t *ptok) accepts(v []byte) bool {
	return t.ends(v, 0, nil, false, func(end int) bool { return end == len(v) })
}

// maxEnds bounds the ends fixedEnds gives: at most 20 for digits, 16 for
// hex, maxZone for a zone.
const maxEnds = 20

// maxZone bounds the letters of a time zone abbreviation (tzdb's have at
// most 6).
const maxZone = 20

// fixedEnds appends to buf the ends of a value of the fixed-format token
// (not free text) starting at s[pos:], best first, keeping only those the
// literal lit (when not nil) or the end of s (when last) can follow; it is
// the part of ends for these tokens, without closures, for the matcher's
// loop.
func (t *ptok) fixedEnds(s []byte, pos int, lit []byte, last bool, buf []int) []int {
	rest := s[pos:]
	fits := func(end int) bool {
		if lit == nil {
			return !last || end == len(s)
		}
		// The first byte first: most ends are inside a run of digits
		// or letters that the literal does not start with.
		return end < len(s) && s[end] == lit[0] && bytes.HasPrefix(s[end:], lit)
	}
	switch t.kind {
	case pkTime, pkSessTime, pkTimeMS:
		z := timeHeadLen(rest, t.kind == pkTimeMS)
		if z == 0 {
			return buf
		}
		at, zone := pos+z, rest[z:]
		n := zoneLen(zone)
		if n > 0 && (zone[0] == '+' || zone[0] == '-') {
			// +0530, or +05 followed by digits; or +05.
			if fits(at + n) {
				buf = append(buf, at+n)
			}
			if n == 5 && fits(at+3) {
				buf = append(buf, at+3)
			}
			return buf
		}
		// Letters: any shorter run of them is a zone too.
		for ; n > 0; n-- {
			if fits(at + n) {
				buf = append(buf, at+n)
			}
		}
	case pkEpoch:
		if n := epochLen(rest); n > 0 && fits(pos+n) {
			buf = append(buf, pos+n)
		}
	case pkPID, pkDigits:
		for n := min(digitsLen(rest), maxDigits); n > 0; n-- {
			if fits(pos + n) {
				buf = append(buf, pos+n)
			}
		}
	case pkSQLState:
		if len(rest) >= 5 && isSQLState(rest[:5]) && fits(pos+5) {
			buf = append(buf, pos+5)
		}
	case pkSession:
		// %lx.%x: the session's start time and PID in hex.
		h := hexLen(rest)
		if h == 0 || h == len(rest) || rest[h] != '.' {
			return buf
		}
		for n := hexLen(rest[h+1:]); n > 0; n-- {
			if end := pos + h + 1 + n; fits(end) {
				buf = append(buf, end)
			}
		}
	case pkRemote:
		// "[local]", host(port), or nothing (background processes).
		if bytes.HasPrefix(rest, local) && fits(pos+len(local)) {
			buf = append(buf, pos+len(local))
		}
		if n := hostPortLen(rest); n > 0 && fits(pos+n) {
			buf = append(buf, pos+n)
		}
		if fits(pos) {
			buf = append(buf, pos)
		}
	}
	return buf
}

// maxDigits bounds the digits of %p, %l and %x (a 64-bit number has 20).
const maxDigits = 20

var local = []byte("[local]")

// backendTypes are the multi-word values %b writes in PostgreSQL 15 and
// later, which the matcher tries before lazy free text so that "%b %u"
// reads "client backend alice" right. Other values (single words,
// background workers' own names) match as free text.
var backendTypes = []string{
	"logical replication tablesync worker",
	"logical replication launcher",
	"logical replication worker",
	"logical replication apply worker",
	"autovacuum launcher",
	"autovacuum worker",
	"background worker",
	"background writer",
	"parallel apply worker",
	"standalone backend",
	"not initialized",
	"parallel worker",
	"slotsync worker",
	"client backend",
	"io worker",
}

// matchRDS is the generic match specialised to "%t:%r:%u@%d:[%p]:", with
// the same result whenever it succeeds: %r tries "[local]", host(port) and
// nothing in that order, the tail must be ":[digits]:", and %u takes the
// longest part before an "@". Only the longest time zone can be followed
// by ":" (":" cannot be part of one), so %t takes it.
func matchRDS(s []byte, c *captures) bool {
	n := timeLen(s, false)
	if n == 0 || n >= len(s) || s[n] != ':' {
		return false
	}
	c.time, c.timeKind = span{0, n}, pkTime
	pos := n + 1
	// The tail: ":[" digits "]:" at the very end.
	e := len(s)
	if e-pos < 5 || s[e-1] != ':' || s[e-2] != ']' {
		return false
	}
	d := e - 2
	for d > pos && s[d-1]-'0' <= 9 {
		d--
	}
	if d == e-2 || e-2-d > maxDigits || d < pos+2 || s[d-1] != '[' || s[d-2] != ':' {
		return false
	}
	c.pid = span{d, e - 2}
	mid := d - 2 // end of "%r:%u@%d"
	// Remote alternatives, in the generic matcher's order.
	try := func(rEnd int) bool {
		if rEnd >= mid || s[rEnd] != ':' {
			return false
		}
		at := bytes.LastIndexByte(s[rEnd+1:mid], '@')
		if at < 0 || at > maxFieldLen || mid-(rEnd+1+at+1) > maxFieldLen {
			return false
		}
		at += rEnd + 1
		c.remote = span{pos, rEnd}
		c.user = span{rEnd + 1, at}
		c.db = span{at + 1, mid}
		return true
	}
	rest := s[pos:mid]
	ok := false
	if bytes.HasPrefix(rest, local) && try(pos+len(local)) {
		ok = true
	} else if n := hostPortLen(rest); n > 0 && try(pos+n) {
		ok = true
	}
	if !ok && !try(pos) {
		return false
	}
	c.has = 1<<pkTime | 1<<pkRemote | 1<<pkUser | 1<<pkDB | 1<<pkPID
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlpha(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// hexLen returns the length of the run of hex digits (at most 16) at the
// start of b.
func hexLen(b []byte) int {
	n := 0
	for n < len(b) && n < 16 && isHex(b[n]) {
		n++
	}
	return n
}

// isSQLState reports whether b is a SQLSTATE code as %e writes it.
func isSQLState(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) && !('A' <= c && c <= 'Z') {
			return false
		}
	}
	return len(b) == 5
}

var hostChars = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		t[c] = isAlnum(b) || b == '.' || b == ':' || b == '-' || b == '_' || b == '%' || b == '[' || b == ']'
	}
	return t
}()

// isHostChar reports whether c can appear in a host name or address as %r
// and %h print them.
func isHostChar(c byte) bool { return hostChars[c] }

// hostPortLen returns the length of the "host(port)" that %r writes for a
// TCP client at the start of b, or 0 when b does not start with one.
func hostPortLen(b []byte) int {
	i := 0
	for i < len(b) && i < maxFieldLen && isHostChar(b[i]) {
		i++
	}
	if i == 0 || i == len(b) || b[i] != '(' {
		return 0
	}
	n := digitsLen(b[i+1:])
	if n == 0 || n > maxDigits || i+1+n >= len(b) || b[i+1+n] != ')' {
		return 0
	}
	return i + 1 + n + 1
}

func digitsLen(b []byte) int {
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	return n
}

// timeHeadLen returns where the zone starts when b starts with
// "2006-01-02 15:04:05 " (or "2006-01-02 15:04:05.000 " with ms), or 0.
func timeHeadLen(b []byte, ms bool) int {
	n := 19
	if ms {
		n = 23
	}
	if len(b) <= n || b[n] != ' ' {
		return 0
	}
	if b[4] != '-' || b[7] != '-' || b[10] != ' ' || b[13] != ':' || b[16] != ':' ||
		b[0]-'0' > 9 || b[1]-'0' > 9 || b[2]-'0' > 9 || b[3]-'0' > 9 ||
		b[5]-'0' > 9 || b[6]-'0' > 9 || b[8]-'0' > 9 || b[9]-'0' > 9 ||
		b[11]-'0' > 9 || b[12]-'0' > 9 || b[14]-'0' > 9 || b[15]-'0' > 9 ||
		b[17]-'0' > 9 || b[18]-'0' > 9 {
		return 0
	}
	if ms && (b[19] != '.' || b[20]-'0' > 9 || b[21]-'0' > 9 || b[22]-'0' > 9) {
		return 0
	}
	return n + 1
}

// zoneLen returns the length of the longest time zone at the start of b,
// or 0: %Z writes an abbreviation of letters (UTC, CEST) or a numeric
// offset (+03, -0530).
func zoneLen(b []byte) int {
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		switch d := digitsLen(b[1:]); {
		case d >= 4:
			return 5
		case d >= 2:
			return 3
		}
		return 0
	}
	n := 0
	for n < len(b) && n < maxZone && isAlpha(b[n]) {
		n++
	}
	return n
}

// timeLen returns the length of the longest "2006-01-02 15:04:05[.000]
// ZONE" time at the start of b, or 0.
func timeLen(b []byte, ms bool) int {
	z := timeHeadLen(b, ms)
	if z == 0 {
		return 0
	}
	if n := zoneLen(b[z:]); n > 0 {
		return z + n
	}
	return 0
}

// epochLen returns the length of the "1700000000.123" (%n) at the start
// of b, or 0.
func epochLen(b []byte) int {
	n := digitsLen(b)
	if n == 0 || n > 12 || n+4 > len(b) || b[n] != '.' || digitsLen(b[n+1:n+4]) != 3 {
		return 0
	}
	return n + 4
}

// timeParser turns prefix timestamps into time.Time, remembering the last
// one (a busy log repeats the same second many times).
type timeParser struct {
	last     []byte
	lastKind ptokKind
	lastT    time.Time
	zones    map[string]*time.Location
	loc      *time.Location // for zone abbreviations other than UTC/GMT
	lastErr  error
}

func (tp *timeParser) parse(b []byte, kind ptokKind) (time.Time, error) {
	if tp.last != nil && kind == tp.lastKind && bytes.Equal(b, tp.last) {
		return tp.lastT, tp.lastErr
	}
	t, err := tp.parseSlow(b, kind)
	tp.last = append(tp.last[:0], b...)
	tp.lastKind, tp.lastT, tp.lastErr = kind, t, err
	return t, err
}

func num(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

var errBadTime = errors.New("not a timestamp as %t, %m or %n write it")

// parseSlow parses a timestamp of the given kind. It checks b itself
// rather than trust that the matcher did.
func (tp *timeParser) parseSlow(b []byte, kind ptokKind) (time.Time, error) {
	if kind == pkEpoch {
		if epochLen(b) != len(b) {
			return time.Time{}, errBadTime
		}
		i := len(b) - 4
		return time.UnixMilli(int64(num(b[:i]))*1000 + int64(num(b[i+1:]))).UTC(), nil
	}
	ms := kind == pkTimeMS
	zi := timeHeadLen(b, ms)
	if zi == 0 {
		return time.Time{}, errBadTime
	}
	ns := 0
	if ms {
		ns = num(b[20:23]) * int(time.Millisecond)
	}
	zone := b[zi:]
	loc, err := tp.zone(zone)
	if err != nil {
		return time.Time{}, err
	}
	y, mo, d, h, mi, s := num(b[0:4]), num(b[5:7]), num(b[8:10]), num(b[11:13]), num(b[14:16]), num(b[17:19])
	if h > 23 || mi > 59 || s > 59 {
		return time.Time{}, fmt.Errorf("bad time of day")
	}
	if loc == nil {
		// An abbreviation: let the time package resolve it in tp.loc.
		layout := "2006-01-02 15:04:05 MST"
		if ms {
			layout = "2006-01-02 15:04:05.000 MST"
		}
		l := tp.loc
		if l == nil {
			l = time.UTC
		}
		t, err := time.ParseInLocation(layout, string(b), l)
		if err != nil {
			// time's message quotes the text; say what was wrong instead.
			return time.Time{}, fmt.Errorf("bad date, or a time zone abbreviation of %d letters that the time package does not read", len(zone))
		}
		return t, nil
	}
	t := time.Date(y, time.Month(mo), d, h, mi, s, ns, loc)
	if t.Year() != y || int(t.Month()) != mo || t.Day() != d {
		return time.Time{}, fmt.Errorf("bad date")
	}
	return t, nil
}

// zone resolves UTC/GMT and numeric zones (+03, -0530) to a location; it
// returns nil for other abbreviations.
func (tp *timeParser) zone(z []byte) (*time.Location, error) {
	if l, ok := tp.zones[string(z)]; ok {
		return l, nil
	}
	var loc *time.Location
	switch s := string(z); {
	case s == "":
		return nil, fmt.Errorf("no time zone")
	case s == "UTC" || s == "GMT" || s == "Z":
		loc = time.UTC
	case s[0] == '+' || s[0] == '-':
		d := s[1:]
		if len(d) != 2 && len(d) != 4 || digitsLen([]byte(d)) != len(d) {
			return nil, fmt.Errorf("bad time zone offset")
		}
		off := num([]byte(d[:2])) * 3600
		if len(d) == 4 {
			off += num([]byte(d[2:])) * 60
		}
		if s[0] == '-' {
			off = -off
		}
		loc = time.FixedZone(s, off)
	default:
		return nil, nil
	}
	if tp.zones == nil {
		tp.zones = make(map[string]*time.Location)
	}
	tp.zones[string(z)] = loc
	return loc, nil
}

// fieldName names the Entry field a token writes, for errors.
func (t *ptok) fieldName() string {
	switch t.kind {
	case pkTime, pkTimeMS, pkEpoch, pkSessTime:
		return "Time"
	case pkPID:
		return "PID"
	case pkRemote, pkHost:
		return "Remote"
	case pkUser:
		return "User"
	case pkDB:
		return "Database"
	case pkApp:
		return "Application"
	case pkSession:
		return "SessionID"
	}
	return "fixed text"
}

// valueForm says what a token's value looks like, for errors.
func (t *ptok) valueForm() string {
	switch t.kind {
	case pkTime, pkTimeMS, pkSessTime:
		return "a year from 0000 to 9999 and a zone abbreviation of letters or a numeric offset (+03, -0530)"
	case pkEpoch:
		return "a time from 1970 to 9999"
	case pkPID:
		return "at most 9 digits"
	case pkRemote:
		return `"[local]", host(port) or empty`
	case pkSession:
		return "hex digits, a dot, hex digits"
	}
	return fmt.Sprintf("at most %d bytes", maxFieldLen)
}

// appendPrefix writes the prefix for e. Escapes whose values Entry does not
// keep are written with neutral values (%l as 1, %e as 00000, %x as 0, ...).
// It refuses a value the escape could not hold, which the reader could not
// read back.
func (p *Prefix) appendPrefix(b []byte, e *Entry) ([]byte, error) {
	if e.PID < 0 || e.PID > 999999999 {
		return b, fmt.Errorf("%w: entry PID %d: want 0 to 999999999", ErrInvalid, e.PID)
	}
	for _, t := range p.toks {
		start := len(b)
		switch t.kind {
		case pkLit:
			b = append(b, t.lit...)
			continue
		case pkOptional:
			continue
		case pkTime, pkSessTime:
			b = appendPrefixTime(b, e.Time, false)
		case pkTimeMS:
			b = appendPrefixTime(b, e.Time, true)
		case pkEpoch:
			if ms := e.Time.UnixMilli(); ms >= 0 {
				b = strconv.AppendInt(b, ms/1000, 10)
				b = append(b, '.')
				b = append(b, byte('0'+ms%1000/100), byte('0'+ms%100/10), byte('0'+ms%10))
			}
		case pkPID:
			b = strconv.AppendInt(b, int64(e.PID), 10)
		case pkRemote, pkHost:
			b = append(b, e.Remote...)
		case pkUser:
			b = append(b, e.User...)
		case pkDB:
			b = append(b, e.Database...)
		case pkApp:
			b = append(b, e.Application...)
		case pkSession:
			b = append(b, e.SessionID...)
		case pkDigits:
			b = append(b, '1')
		case pkSQLState:
			b = append(b, "00000"...)
		case pkBackend:
			b = append(b, "client backend"...)
		case pkFree:
			if t.esc == 'Q' {
				b = append(b, '0')
			}
		}
		v := b[start:]
		if bytes.ContainsAny(v, "\n\r") {
			return b[:start], fmt.Errorf("%w: entry %s holds a line break", ErrInvalid, t.fieldName())
		}
		if !t.accepts(v) || !t.timeReadsBack(v, e.Time) {
			return b[:start], fmt.Errorf("%w: entry %s cannot be written as %%%c: want %s", ErrInvalid, t.fieldName(), t.esc, t.valueForm())
		}
		if t.pad != 0 && len(v) > 0 && (v[0] == ' ' || v[len(v)-1] == ' ') {
			return b[:start], fmt.Errorf("%w: entry %s starts or ends with a space, which the padding of %%%d%c would take", ErrInvalid, t.fieldName(), t.pad, t.esc)
		}
		if t.pad != 0 {
			w := max(t.pad, -t.pad)
			if n := len(b) - start; n < w {
				spaces := bytes.Repeat([]byte{' '}, w-n)
				if t.pad > 0 {
					b = append(b[:start], append(spaces, b[start:]...)...)
				} else {
					b = append(b, spaces...)
				}
			}
		}
	}
	return b, nil
}

// timeReadsBack reports whether a time token's text v reads back as t, in
// t's location; true for other tokens.
func (t *ptok) timeReadsBack(v []byte, tm time.Time) bool {
	var k ptokKind
	switch t.kind {
	case pkTime, pkSessTime:
		k, tm = pkTime, tm.Truncate(time.Second)
	case pkTimeMS:
		k, tm = pkTimeMS, tm.Truncate(time.Millisecond)
	default:
		return true
	}
	if tm.IsZero() {
		return true // written as the Unix epoch
	}
	tp := timeParser{loc: tm.Location()}
	got, err := tp.parseSlow(v, k)
	return err == nil && got.Equal(tm)
}

func appendPrefixTime(b []byte, t time.Time, ms bool) []byte {
	if t.IsZero() {
		t = time.Unix(0, 0).UTC()
	}
	layout := "2006-01-02 15:04:05 MST"
	if ms {
		layout = "2006-01-02 15:04:05.000 MST"
	}
	return t.AppendFormat(b, layout)
}
