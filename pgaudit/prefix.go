package pgaudit

import (
	"bytes"
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
	src  string
	toks []ptok
	rds  bool // exactly RDSLogLinePrefix: use matchRDS
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
	pkFree              // %i %e %v %b %Q %P: free text, not kept
	pkOptional          // %q
)

type ptok struct {
	kind ptokKind
	lit  []byte // pkLit
	pad  int    // padding width from %-10u and the like; 0 = none
	esc  byte   // the escape letter, for String and formatting
}

// ParsePrefix compiles a log_line_prefix. It accepts every escape
// PostgreSQL 15 documents (%a %u %d %r %h %b %p %P %t %m %n %i %e %c %l %s
// %v %x %q %Q %%) with optional padding (%-10u). The reader fills Entry from
// %t/%m/%n, %r/%h, %u, %d, %p, %a and %c; the others are matched and
// skipped. A prefix whose fields could not be told apart (two free-text
// escapes with nothing between them) is refused.
func ParsePrefix(logLinePrefix string) (*Prefix, error) {
	p := &Prefix{src: logLinePrefix}
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
				return nil, fmt.Errorf("%w: log_line_prefix %q: bad padding at byte %d", ErrInvalid, logLinePrefix, i)
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
		case 'i', 'e', 'v', 'b', 'Q', 'P':
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
	for i := 0; i+1 < len(p.toks); i++ {
		a, b := p.toks[i], p.toks[i+1]
		if b.kind == pkOptional && i+2 < len(p.toks) {
			b = p.toks[i+2]
		}
		if isFreeKind(a.kind) && isFreeKind(b.kind) {
			return nil, fmt.Errorf("%w: log_line_prefix %q: %%%c and %%%c have nothing between them, so their values cannot be told apart", ErrInvalid, logLinePrefix, a.esc, b.esc)
		}
	}
	return p, nil
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

func isFreeKind(k ptokKind) bool {
	switch k {
	case pkUser, pkDB, pkApp, pkFree, pkHost:
		return true
	}
	return false
}

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

// match matches the whole of s (the text before the severity) against the
// prefix, filling c. Free-text fields match lazily except %u, which takes
// the longest match, so a user name with "@" survives "%u@%d".
func (p *Prefix) match(s []byte, c *captures) bool {
	c.has = 0
	if p.rds && matchRDS(s, c) {
		return true
	}
	c.has = 0
	return p.matchAt(s, 0, 0, c)
}

// matchRDS is the generic match specialised to "%t:%r:%u@%d:[%p]:", with
// the same result whenever it succeeds: %r tries "[local]", host(port) and
// nothing in that order, the tail must be ":[digits]:", and %u takes the
// longest part before an "@".
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
	if d == e-2 || d < pos+2 || s[d-1] != '[' || s[d-2] != ':' {
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
		if at < 0 {
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
	if len(rest) >= 7 && string(rest[:7]) == "[local]" && try(pos+7) {
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

func (p *Prefix) matchAt(s []byte, ti, pos int, c *captures) bool {
	for ti < len(p.toks) {
		t := &p.toks[ti]
		switch t.kind {
		case pkLit:
			if !bytes.HasPrefix(s[pos:], t.lit) {
				return false
			}
			pos += len(t.lit)
			ti++
			continue
		case pkOptional:
			// Non-session processes stop the prefix here.
			if pos == len(s) {
				return true
			}
			ti++
			continue
		}
		if t.pad != 0 {
			return p.matchPadded(s, ti, pos, c)
		}
		switch t.kind {
		case pkTime, pkSessTime, pkTimeMS, pkEpoch, pkPID, pkDigits:
			// Tokens whose length their own format decides.
			var n int
			switch t.kind {
			case pkEpoch:
				n = epochLen(s[pos:])
			case pkPID, pkDigits:
				n = digitsLen(s[pos:])
			default:
				n = timeLen(s[pos:], t.kind == pkTimeMS)
			}
			if n == 0 {
				return false
			}
			c.set(t.kind, span{pos, pos + n})
			pos += n
			ti++
			continue
		case pkRemote:
			return p.matchRemote(s, ti, pos, c)
		case pkSession:
			n := 0
			for pos+n < len(s) && (isHex(s[pos+n]) || s[pos+n] == '.') {
				n++
			}
			for ; n >= 0; n-- {
				if p.matchAt(s, ti+1, pos+n, c) {
					c.set(t.kind, span{pos, pos + n})
					return true
				}
			}
			return false
		default: // free text: %u %d %a %h and the skipped ones
			return p.matchFree(s, ti, pos, c)
		}
	}
	return pos == len(s)
}

// matchFree tries the possible ends of a free-text field.
func (p *Prefix) matchFree(s []byte, ti, pos int, c *captures) bool {
	t := &p.toks[ti]
	rest := s[pos:]
	try := func(end int) bool {
		if p.matchAt(s, ti+1, pos+end, c) {
			c.set(t.kind, span{pos, pos + end})
			return true
		}
		return false
	}
	if ti+1 == len(p.toks) {
		return try(len(rest))
	}
	next := &p.toks[ti+1]
	if next.kind != pkLit {
		// A structured field follows: try every end.
		if t.kind == pkUser {
			for end := len(rest); end >= 0; end-- {
				if try(end) {
					return true
				}
			}
			return false
		}
		for end := 0; end <= len(rest); end++ {
			if try(end) {
				return true
			}
		}
		return false
	}
	lit := next.lit
	if t.kind == pkUser {
		for end := len(rest); ; {
			j := bytes.LastIndex(rest[:end], lit)
			if j < 0 {
				return false
			}
			if try(j) {
				return true
			}
			end = j + len(lit) - 1
			if end < 0 {
				return false
			}
		}
	}
	for off := 0; off <= len(rest); {
		j := bytes.Index(rest[off:], lit)
		if j < 0 {
			return false
		}
		if try(off + j) {
			return true
		}
		off += j + 1
	}
	return false
}

// matchRemote matches %r: "[local]", host(port), or nothing (background
// processes).
func (p *Prefix) matchRemote(s []byte, ti, pos int, c *captures) bool {
	rest := s[pos:]
	if bytes.HasPrefix(rest, []byte("[local]")) {
		if p.matchAt(s, ti+1, pos+7, c) {
			c.set(pkRemote, span{pos, pos + 7})
			return true
		}
	}
	if end := hostPortLen(rest); end > 0 && p.matchAt(s, ti+1, pos+end, c) {
		c.set(pkRemote, span{pos, pos + end})
		return true
	}
	if p.matchAt(s, ti+1, pos, c) {
		c.set(pkRemote, span{pos, pos})
		return true
	}
	return false
}

// matchPadded matches a padded field: the value plus spaces, ending where
// the rest of the prefix matches (lazy).
func (p *Prefix) matchPadded(s []byte, ti, pos int, c *captures) bool {
	t := &p.toks[ti]
	for end := pos; end <= len(s); end++ {
		if p.matchAt(s, ti+1, end, c) {
			v := span{pos, end}
			for v.start < v.end && s[v.start] == ' ' {
				v.start++
			}
			for v.end > v.start && s[v.end-1] == ' ' {
				v.end--
			}
			if t.kind == pkPID && digitsLen(s[v.start:v.end]) != v.end-v.start {
				continue
			}
			c.set(t.kind, v)
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

var hostChars = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		t[c] = ('0' <= b && b <= '9') || ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z') ||
			b == '.' || b == ':' || b == '-' || b == '_' || b == '%' || b == '[' || b == ']'
	}
	return t
}()

// isHostChar reports whether c can appear in a host name or address as %r
// and %h print them.
func isHostChar(c byte) bool { return hostChars[c] }

// hostPortLen returns the length of the "host(port)" that %r writes for a
// TCP client at the start of b, or 0 when b does not start with one.
func hostPortLen(b []byte) int {
	i := bytes.IndexByte(b, '(')
	if i <= 0 {
		return 0
	}
	for _, ch := range b[:i] {
		if !isHostChar(ch) {
			return 0
		}
	}
	n := digitsLen(b[i+1:])
	if n == 0 || i+1+n >= len(b) || b[i+1+n] != ')' {
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

// timeLen returns the length of a "2006-01-02 15:04:05[.000] ZONE" time at
// the start of b, or 0.
func timeLen(b []byte, ms bool) int {
	n := 19
	if ms {
		n = 23
	}
	if len(b) < n+2 {
		return 0
	}
	_ = b[20]
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
	if b[n] != ' ' {
		return 0
	}
	z := n + 1
	for z < len(b) && isZoneChar(b[z]) {
		z++
	}
	if z == n+1 {
		return 0
	}
	return z
}

func isZoneChar(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '+' || c == '-'
}

func epochLen(b []byte) int {
	n := digitsLen(b)
	if n == 0 || n+4 > len(b) || b[n] != '.' || digitsLen(b[n+1:n+4]) != 3 {
		return 0
	}
	return n + 4
}

// timeParser turns prefix timestamps into time.Time, remembering the last
// one (a busy log repeats the same second many times).
type timeParser struct {
	last    []byte
	lastT   time.Time
	zones   map[string]*time.Location
	loc     *time.Location // for zone abbreviations other than UTC/GMT
	lastErr error
}

func (tp *timeParser) parse(b []byte, kind ptokKind) (time.Time, error) {
	if bytes.Equal(b, tp.last) && tp.last != nil {
		return tp.lastT, tp.lastErr
	}
	t, err := tp.parseSlow(b, kind)
	tp.last = append(tp.last[:0], b...)
	tp.lastT, tp.lastErr = t, err
	return t, err
}

func num(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

func (tp *timeParser) parseSlow(b []byte, kind ptokKind) (time.Time, error) {
	if kind == pkEpoch {
		i := bytes.IndexByte(b, '.')
		if i < 0 || i > 12 {
			return time.Time{}, fmt.Errorf("bad epoch time")
		}
		return time.UnixMilli(int64(num(b[:i]))*1000 + int64(num(b[i+1:]))).UTC(), nil
	}
	ns := 0
	zi := 20
	if kind == pkTimeMS {
		ns = num(b[20:23]) * int(time.Millisecond)
		zi = 24
	}
	zone := b[zi:]
	loc, err := tp.zone(zone)
	if err != nil {
		return time.Time{}, err
	}
	if loc == nil {
		// An abbreviation: let the time package resolve it in tp.loc.
		layout := "2006-01-02 15:04:05 MST"
		if kind == pkTimeMS {
			layout = "2006-01-02 15:04:05.000 MST"
		}
		l := tp.loc
		if l == nil {
			l = time.UTC
		}
		return time.ParseInLocation(layout, string(b), l)
	}
	y, mo, d, h, mi, s := num(b[0:4]), num(b[5:7]), num(b[8:10]), num(b[11:13]), num(b[14:16]), num(b[17:19])
	t := time.Date(y, time.Month(mo), d, h, mi, s, ns, loc)
	if h > 23 || mi > 59 || s > 59 || t.Year() != y || int(t.Month()) != mo || t.Day() != d {
		return time.Time{}, fmt.Errorf("bad date or time")
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
	case s == "UTC" || s == "GMT" || s == "Z":
		loc = time.UTC
	case s[0] == '+' || s[0] == '-':
		d := s[1:]
		if len(d) != 2 && len(d) != 4 || digitsLen([]byte(d)) != len(d) {
			return nil, fmt.Errorf("bad time zone offset %q", s)
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

// appendPrefix writes the prefix for e. Escapes whose values Entry does not
// keep are written with neutral values (%l as 1, %e as 00000, %x as 0, ...).
func (p *Prefix) appendPrefix(b []byte, e *Entry) ([]byte, error) {
	for _, v := range [...]string{e.User, e.Database, e.Remote, e.Application, e.SessionID} {
		if strings.ContainsAny(v, "\n\r") {
			return b, fmt.Errorf("%w: a prefix field holds a line break", ErrInvalid)
		}
	}
	if e.PID < 0 {
		return b, fmt.Errorf("%w: entry PID %d is negative", ErrInvalid, e.PID)
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
			ms := e.Time.UnixMilli()
			b = strconv.AppendInt(b, ms/1000, 10)
			b = append(b, '.')
			b = append(b, byte('0'+ms%1000/100), byte('0'+ms%100/10), byte('0'+ms%10))
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
		case pkFree:
			switch t.esc {
			case 'e':
				b = append(b, "00000"...)
			case 'b':
				b = append(b, "client backend"...)
			case 'Q':
				b = append(b, '0')
			}
		}
		if t.pad != 0 {
			w := t.pad
			if w < 0 {
				w = -w
			}
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
