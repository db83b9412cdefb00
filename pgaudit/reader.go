package pgaudit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"
)

// ReaderOptions configure a Reader. The zero value (or nil) reads RDS and
// Aurora logs.
type ReaderOptions struct {
	// Prefix is the server's log_line_prefix, compiled; nil means
	// RDSPrefix ("%t:%r:%u@%d:[%p]:").
	Prefix *Prefix
	// Location resolves time-zone abbreviations other than UTC and GMT
	// in prefix timestamps (set it to the server's log_timezone); nil
	// means UTC. Numeric zones (+03, -0530) need nothing.
	Location *time.Location
	// NoContinuationTab is for text whose continuation lines do not start
	// with the tab PostgreSQL's stderr log puts after every newline in a
	// message (for example messages copied out of csvlog). By default a
	// line inside a quoted field must start with a tab, which is removed,
	// and a line that does not ends the entry as malformed.
	NoContinuationTab bool
	// MaxEntrySize bounds the bytes of one entry, all lines included;
	// 0 means 64 MiB. A longer entry is reported as a *ParseError and
	// skipped.
	MaxEntrySize int
}

const defaultMaxEntry = 64 << 20

// ParseError is a line that starts like an audit entry (a matching prefix,
// a severity and "AUDIT: ") but whose fields are malformed. It carries no
// log text, which may hold secrets. The reader can go on after it.
type ParseError struct {
	// Line is the 1-based line number where the entry starts.
	Line int64
	// Reason says what was wrong.
	Reason string
}

// Error gives the line and the reason, never the line's text.
func (e *ParseError) Error() string {
	return fmt.Sprintf("pgaudit: malformed audit entry at line %d: %s", e.Line, e.Reason)
}

// ReaderStats counts what a Reader has seen so far.
type ReaderStats struct {
	// Lines is the number of lines read.
	Lines int64
	// Entries is the number of audit entries returned.
	Entries int64
	// Malformed is the number of *ParseError results.
	Malformed int64
	// Unmatched counts lines holding "<SEVERITY>:  AUDIT: " whose start
	// did not match the prefix: many of them mean the prefix is wrong.
	Unmatched int64
}

// Reader reads pgAudit entries from a PostgreSQL server log, skipping every
// other line. Entries may span lines: pgAudit quotes fields holding
// newlines, and the server log puts a tab after each newline, which the
// reader removes.
//
// The Reader is built for volume: it allocates about once per 64 KiB of
// entry text, not per entry, because the strings of consecutive entries
// share one block of memory. Keeping one Entry keeps its block alive; use
// strings.Clone on a field to keep it alone for a long time. A Reader is
// not safe for concurrent use.
type Reader struct {
	src    io.Reader
	prefix *Prefix
	noTab  bool
	max    int

	buf    []byte
	r, w   int
	srcErr error
	lineNo int64
	line   []byte // current line, without the newline
	// lineLen is the current line's length in the source, with its
	// newline; read counts the bytes read from the source.
	lineLen int
	read    int64
	unread  bool
	blk     strings.Builder // text of recent entries; see blockSize
	tmp     []byte          // a decoded typed field
	cur     Entry
	caps    captures
	memo    matchScratch
	tp      timeParser
	stats   ReaderStats
	done    bool
}

const readBufSize = 256 << 10

// NewReader returns a Reader of src. opts may be nil. A nil src gives a
// Reader whose Next returns an error.
func NewReader(src io.Reader, opts *ReaderOptions) *Reader {
	if opts == nil {
		opts = &ReaderOptions{}
	}
	r := &Reader{src: src, prefix: opts.Prefix, noTab: opts.NoContinuationTab, max: opts.MaxEntrySize}
	if r.prefix == nil {
		r.prefix = RDSPrefix
	}
	if r.max <= 0 {
		r.max = defaultMaxEntry
	}
	r.tp.loc = opts.Location
	r.buf = make([]byte, 4096)
	return r
}

// Offset returns how many bytes of the source the Reader has used: after
// Next returned an entry or a *ParseError, the offset just past the last
// line of that entry; after io.EOF, the length of the source. A Reader of
// the same source started at that offset goes on where this one stopped,
// with the next entry (the Reader does not read ahead in lines, only in
// bytes it buffers, which Offset leaves out). Log followers save it with
// the name of the file as their position.
func (r *Reader) Offset() int64 {
	if r == nil {
		return 0
	}
	off := r.read - int64(r.w-r.r)
	if r.unread {
		off -= int64(r.lineLen)
	}
	return off
}

// Stats returns the counts so far.
func (r *Reader) Stats() ReaderStats {
	if r == nil {
		return ReaderStats{}
	}
	return r.stats
}

// errNoSource is what Next returns for a Reader without a source: a nil
// *Reader, one made by NewReader(nil, ...), or a Reader not made by
// NewReader at all.
var errNoSource = fmt.Errorf("%w: a Reader needs a source: make it with NewReader and a non-nil io.Reader", ErrInvalid)

// errLineTooLong is returned by nextLine for lines beyond r.max.
var errLineTooLong = errors.New("line too long")

// nextLine sets r.line to the next line. It returns io.EOF at the end, or
// errLineTooLong (after skipping the line) when a line exceeds r.max.
func (r *Reader) nextLine() error {
	if r.unread {
		r.unread = false
		return nil
	}
	for {
		if i := bytes.IndexByte(r.buf[r.r:r.w], '\n'); i >= 0 {
			r.line = r.buf[r.r : r.r+i]
			r.lineLen = i + 1
			r.r += i + 1
			r.lineNo++
			return nil
		}
		if r.srcErr != nil {
			if r.r < r.w {
				r.line = r.buf[r.r:r.w]
				r.lineLen = r.w - r.r
				r.r = r.w
				r.lineNo++
				return nil
			}
			if r.srcErr == io.EOF {
				return io.EOF
			}
			return r.srcErr
		}
		if r.r > 0 && r.r == r.w {
			r.r, r.w = 0, 0
		}
		if r.w == len(r.buf) {
			if r.w-r.r > r.max {
				// A line longer than the limit: drop it.
				r.skipLine()
				r.lineNo++
				return errLineTooLong
			}
			// Start small and grow to readBufSize, then compact; grow
			// further only for lines longer than the buffer.
			if r.r > 0 && len(r.buf) >= readBufSize {
				r.w = copy(r.buf, r.buf[r.r:r.w])
				r.r = 0
			} else {
				nb := make([]byte, 2*len(r.buf))
				r.w = copy(nb, r.buf[r.r:r.w])
				r.r = 0
				r.buf = nb
			}
		}
		n, err := r.src.Read(r.buf[r.w:])
		if n < 0 || n > len(r.buf)-r.w {
			return fmt.Errorf("pgaudit: the source's Read returned %d for a %d-byte buffer", n, len(r.buf)-r.w)
		}
		r.w += n
		r.read += int64(n)
		if err != nil {
			r.srcErr = err
		} else if n == 0 {
			// io.Reader may return 0, nil; try again.
			continue
		}
	}
}

// skipLine discards input up to and including the next newline.
func (r *Reader) skipLine() {
	r.r, r.w = 0, 0
	for {
		n, err := r.src.Read(r.buf)
		if n < 0 || n > len(r.buf) {
			r.srcErr = fmt.Errorf("pgaudit: the source's Read returned %d for a %d-byte buffer", n, len(r.buf))
			return
		}
		r.read += int64(n)
		if i := bytes.IndexByte(r.buf[:n], '\n'); i >= 0 {
			r.r, r.w = i+1, n
			return
		}
		if err != nil {
			r.srcErr = err
			return
		}
	}
}

// Next returns the next audit entry. The Entry is the Reader's own and is
// overwritten by the next call: copy it (e := *entry) to keep it; its
// strings stay valid. At the end of the input Next returns io.EOF; a read
// error from the source is returned as is and ends the reading. A malformed
// entry gives a *ParseError, after which Next can be called again to go on.
func (r *Reader) Next() (*Entry, error) {
	if r == nil || r.src == nil {
		return nil, errNoSource
	}
	if r.done {
		return nil, io.EOF
	}
	for {
		err := r.nextLine()
		if err == errLineTooLong {
			continue
		}
		if err != nil {
			r.done = true
			return nil, err
		}
		r.stats.Lines++
		ok, perr := r.parseLine(&r.cur)
		if perr != nil {
			r.stats.Malformed++
			return nil, perr
		}
		if ok {
			r.stats.Entries++
			return &r.cur, nil
		}
	}
}

// All returns the entries as an iterator of copies. Malformed entries come
// as (Entry{}, *ParseError) and the iteration goes on; a read error ends it
// after being yielded. io.EOF is not yielded.
func (r *Reader) All() iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		for {
			e, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if !yield(Entry{}, err) {
					return
				}
				var pe *ParseError
				if !errors.As(err, &pe) {
					return
				}
				continue
			}
			if !yield(*e, nil) {
				return
			}
		}
	}
}

// Entries reads audit entries from src; see Reader.All. opts may be nil.
func Entries(src io.Reader, opts *ReaderOptions) iter.Seq2[Entry, error] {
	return NewReader(src, opts).All()
}

var auditMarker = []byte("AUDIT: ")

// findSeverity checks that "AUDIT: " at line[k:] follows a severity and
// ":  " (optionally with a SQLSTATE, as log_error_verbosity=verbose
// writes it) and returns where the severity starts.
func findSeverity(line []byte, k int) (int, Severity, bool) {
	end := -1
	if k >= 3 && line[k-1] == ' ' && line[k-2] == ' ' && line[k-3] == ':' {
		end = k - 3
	} else if k >= 10 && line[k-1] == ' ' && line[k-2] == ':' && line[k-8] == ' ' && line[k-9] == ' ' && line[k-10] == ':' {
		for _, c := range line[k-7 : k-2] {
			if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z') {
				return 0, "", false
			}
		}
		end = k - 10
	} else {
		return 0, "", false
	}
	for _, s := range severities {
		if end >= len(s) && string(line[end-len(s):end]) == string(s) {
			return end - len(s), s, true
		}
	}
	return 0, "", false
}

// parseLine handles r.line, filling e when it holds an entry (ok).
func (r *Reader) parseLine(e *Entry) (bool, *ParseError) {
	line := r.line
	off := 0
	unmatched := false
	for {
		k := bytes.Index(line[off:], auditMarker)
		if k < 0 {
			if unmatched {
				r.stats.Unmatched++
			}
			return false, nil
		}
		k += off
		off = k + 1
		sevStart, sev, ok := findSeverity(line, k)
		if !ok {
			continue
		}
		if !r.prefix.match(line[:sevStart], &r.caps, &r.memo) {
			unmatched = true
			continue
		}
		return r.parseEntry(e, line, k+len(auditMarker), sev)
	}
}

// field indexes of the audit message.
const (
	fType = iota
	fStmt
	fSub
	fClass
	fCommand
	fObjType
	fObjName
	fStatement
	fParam
	fRows
	nFields
)

var fieldNames = [nFields]string{"audit type", "statement ID", "substatement ID", "class", "command", "object type", "object name", "statement", "parameter", "rows"}

func (r *Reader) perr(line int64, format string, args ...any) *ParseError {
	return &ParseError{Line: line, Reason: fmt.Sprintf(format, args...)}
}

// indexComma is bytes.IndexByte(b, ',') that looks at short fields byte by
// byte, which beats the vectorised search's set-up for the short fields
// most of an audit message is made of.
func indexComma(b []byte) int {
	n := min(len(b), 16)
	for i := 0; i < n; i++ {
		if b[i] == ',' {
			return i
		}
	}
	if n == len(b) {
		return -1
	}
	if j := bytes.IndexByte(b[n:], ','); j >= 0 {
		return n + j
	}
	return -1
}

// fspan is a byte range in the entry's text.
type fspan struct{ a, b int }

// parseEntry decodes the message starting at line[pos:] (after "AUDIT: "),
// reading continuation lines as needed. Typed fields are parsed from the
// line; text fields are written to the current block, whose string the
// entry's fields are slices of.
func (r *Reader) parseEntry(e *Entry, line []byte, pos int, sev Severity) (bool, *ParseError) {
	startLine := r.lineNo
	// Every field is set below; these only when present.
	e.Severity, e.PID, e.Time, e.Rows, e.HasRows = sev, 0, time.Time{}, 0, false
	c := &r.caps

	// Text goes into the current block; start a new one when this line
	// might not fit (a multi-line entry may still grow the block).
	if r.blk.Cap()-r.blk.Len() < 2*len(line) {
		r.blk = strings.Builder{}
		r.blk.Grow(max(blockSize, 2*len(line)))
	}
	blk := &r.blk
	base := blk.Len()

	// Prefix fields first, while the first line is at hand: one write
	// of the part of the line that holds them all.
	var user, db, remote, app, sess fspan
	if c.has&(1<<pkUser|1<<pkDB|1<<pkRemote|1<<pkHost|1<<pkApp|1<<pkSession) != 0 {
		lo, hi := len(line), 0
		for _, f := range [...]struct {
			bits uint16
			sp   span
		}{
			{1 << pkUser, c.user}, {1 << pkDB, c.db}, {1<<pkRemote | 1<<pkHost, c.remote},
			{1 << pkApp, c.app}, {1 << pkSession, c.session},
		} {
			if c.has&f.bits != 0 {
				lo, hi = min(lo, f.sp.start), max(hi, f.sp.end)
			}
		}
		off := blk.Len() - lo
		blk.Write(line[lo:hi])
		at := func(bits uint16, sp span) fspan {
			if c.has&bits == 0 {
				return fspan{}
			}
			return fspan{sp.start + off, sp.end + off}
		}
		user = at(1<<pkUser, c.user)
		db = at(1<<pkDB, c.db)
		remote = at(1<<pkRemote|1<<pkHost, c.remote)
		app = at(1<<pkApp, c.app)
		sess = at(1<<pkSession, c.session)
	}
	if c.has&(1<<pkPID) != 0 {
		p := line[c.pid.start:c.pid.end]
		if len(p) > 9 {
			return false, r.perr(startLine, "process ID out of range")
		}
		e.PID = num(p)
	}
	if c.has&(1<<pkTime|1<<pkTimeMS|1<<pkEpoch) != 0 {
		t, err := r.tp.parse(line[c.time.start:c.time.end], c.timeKind)
		if err != nil {
			return false, r.perr(startLine, "timestamp: %v", err)
		}
		e.Time = t
	}

	// The CSV fields. Typed ones (type, IDs, class, rows) are decoded
	// into r.tmp, text ones written to the block.
	var fs [nFields]fspan
	nf := 0
	cur := line[pos:]
	tooBig := false
	if n := parseHead(e, cur); n > 0 {
		// The four typed fields as pgAudit writes them, unquoted.
		cur = cur[n:]
		nf = fCommand
		switch ok, pe := r.textFieldsOneLine(e, cur, &fs, startLine); {
		case pe != nil:
			return false, pe
		case ok:
			goto done
		}
		// A quoted field goes on on the next line, or something odd:
		// the general loop below handles it.
	}
	for {
		if nf == nFields {
			return false, r.perr(startLine, "more than %d fields", nFields)
		}
		text := nf >= fCommand && nf <= fParam
		r.tmp = r.tmp[:0]
		a := blk.Len()
		put := func(p []byte) {
			if text {
				if !tooBig {
					blk.Write(p)
				}
			} else if len(r.tmp) < 64 {
				r.tmp = append(r.tmp, p...)
			}
		}
		atEnd := false
		if len(cur) > 0 && cur[0] == '"' {
			cur = cur[1:]
			for {
				q := bytes.IndexByte(cur, '"')
				if q >= 0 {
					put(cur[:q])
					if q+1 < len(cur) && cur[q+1] == '"' {
						put(cur[q : q+1])
						cur = cur[q+2:]
						continue
					}
					cur = cur[q+1:]
					break
				}
				// The quoted field goes on on the next line.
				put(cur)
				put(newline)
				if blk.Len()-base > r.max {
					tooBig = true
				}
				err := r.nextLine()
				if err == errLineTooLong {
					return false, r.perr(startLine, "entry longer than %d bytes", r.max)
				}
				if err != nil {
					return false, r.perr(startLine, "input ends inside the quoted %s field", fieldNames[nf])
				}
				r.stats.Lines++
				next := r.line
				if !r.noTab {
					if len(next) == 0 || next[0] != '\t' {
						r.unread = true
						r.stats.Lines--
						return false, r.perr(startLine, "the quoted %s field is not closed before the next log line", fieldNames[nf])
					}
					next = next[1:]
				}
				cur = next
			}
			// After a closing quote: a comma or the end.
			switch {
			case len(cur) == 0:
				atEnd = true
			case cur[0] == ',':
				cur = cur[1:]
			case cur[0] == '\r' && len(cur) == 1:
				atEnd = true
			default:
				return false, r.perr(startLine, "unexpected text after the quoted %s field", fieldNames[nf])
			}
		} else if j := indexComma(cur); j >= 0 {
			put(cur[:j])
			cur = cur[j+1:]
		} else {
			v := cur
			if len(v) > 0 && v[len(v)-1] == '\r' {
				v = v[:len(v)-1]
			}
			put(v)
			atEnd = true
		}
		if text {
			fs[nf] = fspan{a, blk.Len()}
		} else if pe := r.typedField(e, nf, r.tmp, startLine); pe != nil {
			return false, pe
		}
		nf++
		if atEnd {
			break
		}
	}
	if tooBig || blk.Len()-base > r.max {
		// Do not keep a block holding a huge entry.
		r.blk = strings.Builder{}
		return false, r.perr(startLine, "entry longer than %d bytes", r.max)
	}
	if nf < fRows {
		return false, r.perr(startLine, "%d fields, want %d or %d", nf, fRows, nFields)
	}

done:
	// The block so far as a string: earlier entries' text is not
	// copied again, later writes go past its end.
	s := blk.String()
	e.User, e.Database, e.Remote = s[user.a:user.b], s[db.a:db.b], s[remote.a:remote.b]
	e.Application, e.SessionID = s[app.a:app.b], s[sess.a:sess.b]
	e.Command = s[fs[fCommand].a:fs[fCommand].b]
	e.ObjectType = s[fs[fObjType].a:fs[fObjType].b]
	e.ObjectName = s[fs[fObjName].a:fs[fObjName].b]
	e.Statement = s[fs[fStatement].a:fs[fStatement].b]
	e.Parameter = s[fs[fParam].a:fs[fParam].b]
	if blk.Len()-base > blockSize {
		// A large multi-line entry grew the block: start afresh.
		r.blk = strings.Builder{}
	}
	return true, nil
}

var newline = []byte{'\n'}

// blockSize is the size of the blocks entry text is kept in: entries share
// one string allocation per block.
const blockSize = 64 << 10

// textFieldsOneLine decodes the text fields (command to parameter) and
// the optional rows from b when they all end on this line, the common case:
// b is written to the block at once and the fields point into it, except
// those with doubled quotes, whose unescaped text is written after it. ok is
// false, with nothing decided, when a quoted field does not end on this
// line or the fields are not as pgAudit writes them; the caller then uses
// the general loop.
func (r *Reader) textFieldsOneLine(e *Entry, b []byte, fs *[nFields]fspan, line int64) (bool, *ParseError) {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	blk := &r.blk
	a0 := blk.Len()
	blk.Write(b)
	nf := fCommand
	i := 0
	for {
		if nf == nFields {
			return false, nil
		}
		var sp fspan
		end := false
		if i < len(b) && b[i] == '"' {
			j := i + 1
			doubled := false
			for {
				q := bytes.IndexByte(b[j:], '"')
				if q < 0 {
					return false, nil
				}
				j += q
				if j+1 < len(b) && b[j+1] == '"' {
					doubled = true
					j += 2
					continue
				}
				break
			}
			if doubled {
				start := blk.Len()
				v := b[i+1 : j]
				for {
					q := bytes.IndexByte(v, '"')
					if q < 0 {
						blk.Write(v)
						break
					}
					blk.Write(v[:q+1])
					v = v[q+2:]
				}
				sp = fspan{start, blk.Len()}
			} else {
				sp = fspan{a0 + i + 1, a0 + j}
			}
			i = j + 1
			switch {
			case i == len(b):
				end = true
			case b[i] == ',':
				i++
			default:
				return false, nil
			}
		} else {
			j := indexComma(b[i:])
			if j < 0 {
				sp = fspan{a0 + i, a0 + len(b)}
				i = len(b)
				end = true
			} else {
				sp = fspan{a0 + i, a0 + i + j}
				i += j + 1
			}
		}
		if nf == fRows {
			if pe := r.typedField(e, nf, b[sp.a-a0:sp.b-a0], line); pe != nil {
				return false, pe
			}
		} else {
			fs[nf] = sp
		}
		nf++
		if end {
			break
		}
	}
	if nf < fRows {
		return false, r.perr(line, "%d fields, want %d or %d", nf, fRows, nFields)
	}
	return true, nil
}

// parseHead parses "TYPE,statement,substatement,CLASS," as pgAudit writes
// it (never quoted) and returns its length, or 0 when b does not start
// that way (the general field loop then handles it).
func parseHead(e *Entry, b []byte) int {
	var i int
	switch {
	case len(b) > 8 && string(b[:8]) == "SESSION,":
		e.Type, i = Session, 8
	case len(b) > 7 && string(b[:7]) == "OBJECT,":
		e.Type, i = Object, 7
	default:
		return 0
	}
	var ids [2]int64
	for k := range ids {
		start := i
		var n int64
		for i < len(b) && b[i]-'0' <= 9 {
			n = n*10 + int64(b[i]-'0')
			i++
		}
		if i == start || i-start > 18 || i == len(b) || b[i] != ',' {
			return 0
		}
		ids[k] = n
		i++
	}
	b = b[i:]
	var c Classes
	var n int
	switch {
	case len(b) > 5 && string(b[:5]) == "READ,":
		c, n = Read, 5
	case len(b) > 6 && string(b[:6]) == "WRITE,":
		c, n = Write, 6
	case len(b) > 4 && string(b[:4]) == "DDL,":
		c, n = DDL, 4
	case len(b) > 5 && string(b[:5]) == "MISC,":
		c, n = Misc, 5
	case len(b) > 5 && string(b[:5]) == "ROLE,":
		c, n = Role, 5
	case len(b) > 9 && string(b[:9]) == "FUNCTION,":
		c, n = Function, 9
	default:
		return 0
	}
	e.StatementID, e.SubstatementID, e.Class = ids[0], ids[1], c
	return i + n
}

// typedField sets the typed field number nf from its decoded bytes.
func (r *Reader) typedField(e *Entry, nf int, b []byte, line int64) *ParseError {
	var ok bool
	switch nf {
	case fType:
		switch string(b) {
		case "SESSION":
			e.Type = Session
		case "OBJECT":
			e.Type = Object
		default:
			return r.perr(line, "audit type is not SESSION or OBJECT")
		}
		return nil
	case fStmt:
		e.StatementID, ok = parseCount(b)
	case fSub:
		e.SubstatementID, ok = parseCount(b)
	case fClass:
		e.Class, ok = classFromLog(b)
	case fRows:
		e.Rows, ok = parseCount(b)
		e.HasRows = ok
	}
	if !ok {
		return r.perr(line, "%s is not valid", fieldNames[nf])
	}
	return nil
}

// parseCount parses a non-negative decimal int64.
func parseCount(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// appendEntry appends e as one server-log entry: the prefix p (nil means
// RDSPrefix), the severity (LOG when empty), "AUDIT: " and the fields quoted
// by pgAudit's rule, with a tab after every newline as the server's stderr
// log writes it, and a final newline. Reading the result back gives e again,
// up to what the prefix keeps (the timestamp's precision, fields the prefix
// does not show), provided the free-text fields (%u %d %a %h) hold none of
// the characters that separate them in the prefix. It refuses entries that
// cannot be written: a line break in a field the prefix writes, a value
// its escape cannot hold (a Remote that is not host(port) for %r, a time
// before 1970 for %n), an unknown class or type. The tests write their
// logs with it.
func appendEntry(b []byte, p *Prefix, e *Entry) ([]byte, error) {
	if p == nil {
		p = RDSPrefix
	}
	start := len(b)
	b, err := p.appendPrefix(b, e)
	if err != nil {
		return b[:start], err
	}
	sev := e.Severity
	if sev == "" {
		sev = SeverityLog
	}
	known := false
	for _, s := range severities {
		known = known || s == sev
	}
	if !known {
		return b[:start], fmt.Errorf("%w: severity %q: want LOG, NOTICE, WARNING, INFO or DEBUG", ErrInvalid, sev)
	}
	b = append(b, sev...)
	b = append(b, ":  "...)
	b, err = appendMessage(b, e, true)
	if err != nil {
		return b[:start], err
	}
	return append(b, '\n'), nil
}
