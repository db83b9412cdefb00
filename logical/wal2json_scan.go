package logical

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// w2jScanner decodes wal2json records without reflection: it walks the
// JSON once, keeps the fields a DataChange needs and validates and skips
// the rest. Its rules match encoding/json's for these records (the fuzz
// test compares them): keys match exactly, a later duplicate key wins, a
// null leaves a field as it was, strings are decoded as encoding/json
// decodes them. Column values stay raw JSON slices of the input.
type w2jScanner struct {
	b     []byte
	i     int
	depth int
	// scratch collects a record's columns before they get their own
	// slice.
	scratch []Column
	// intern, when set, shares the strings of repeated column names and
	// types between records.
	intern map[string]string
}

var errSyntax = errors.New("invalid JSON")

// maxDepth bounds the nesting of skipped values, as encoding/json does.
const maxDepth = 10000

func (s *w2jScanner) fail(what string) error {
	return fmt.Errorf("%w: %s at byte %d", errSyntax, what, s.i)
}

func (s *w2jScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// record decodes one object starting at s.i (after whitespace) into r.
func (s *w2jScanner) record(r *w2jRecord) error {
	s.ws()
	return s.object(func(key []byte) error {
		switch string(key) {
		case "action":
			return s.optString(&r.Action, false)
		case "xid":
			return s.optUint32(&r.XID)
		case "timestamp":
			return s.optString(&r.Timestamp, false)
		case "lsn":
			return s.optString(&r.LSN, false)
		case "schema":
			return s.optString(&r.Schema, false)
		case "table":
			return s.optString(&r.Table, false)
		case "columns":
			return s.optColumns(&r.Columns)
		case "identity":
			return s.optColumns(&r.Identity)
		case "pk":
			return s.optColumns(&r.PK)
		case "transactional":
			return s.optBool(&r.Transactional)
		case "prefix":
			return s.optString(&r.Prefix, false)
		case "content":
			return s.optString(&r.Content, false)
		}
		_, err := s.value()
		return err
	})
}

// object walks {"key": value, ...}, calling field for each key with s.i at
// the value. field must consume the value.
func (s *w2jScanner) object(field func(key []byte) error) error {
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return s.fail("expected an object")
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		key, err := s.keyBytes()
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.fail("expected ':'")
		}
		s.i++
		s.ws()
		if err := field(key); err != nil {
			return err
		}
		if done, err := s.next('}', "object"); done || err != nil {
			return err
		}
	}
}

// next consumes what follows an element of an object or array: ',' (more
// elements follow) or end (done). kind names the container in errors.
func (s *w2jScanner) next(end byte, kind string) (done bool, err error) {
	s.ws()
	if s.i >= len(s.b) {
		return false, s.fail("unterminated " + kind)
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		return false, nil
	case end:
		s.i++
		return true, nil
	}
	return false, s.fail("expected ',' or '" + string(end) + "'")
}

// keyBytes reads an object key. Keys without escapes are returned as a
// slice of the input; others are decoded.
func (s *w2jScanner) keyBytes() ([]byte, error) {
	start := s.i
	end, simple, err := s.skipString()
	if err != nil {
		return nil, err
	}
	if simple {
		return s.b[start+1 : end-1], nil
	}
	var k string
	if err := json.Unmarshal(s.b[start:end], &k); err != nil {
		return nil, s.fail("invalid string")
	}
	return []byte(k), nil
}

// skipString moves past a string starting at s.i and returns its end
// (after the closing quote) and whether it is plain ASCII without escapes.
func (s *w2jScanner) skipString() (end int, simple bool, err error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return 0, false, s.fail("expected a string")
	}
	simple = true
	i := s.i + 1
	for i < len(s.b) {
		c := s.b[i]
		switch {
		case c == '"':
			s.i = i + 1
			return s.i, simple, nil
		case c == '\\':
			simple = false
			if i+1 >= len(s.b) {
				return 0, false, s.fail("unterminated string")
			}
			switch s.b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s.b) {
					return 0, false, s.fail("short \\u escape")
				}
				for _, h := range s.b[i+2 : i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return 0, false, s.fail("invalid \\u escape")
					}
				}
				i += 6
			default:
				return 0, false, s.fail("invalid escape")
			}
		case c < 0x20:
			return 0, false, s.fail("control character in string")
		case c >= 0x80:
			simple = false
			i++
		default:
			i++
		}
	}
	return 0, false, s.fail("unterminated string")
}

// str decodes a string at s.i.
func (s *w2jScanner) str(intern bool) (string, error) {
	start := s.i
	end, simple, err := s.skipString()
	if err != nil {
		return "", err
	}
	raw := s.b[start+1 : end-1]
	if !simple && (containsByte(raw, '\\') || !utf8.Valid(raw)) {
		// Escapes or invalid UTF-8 (which encoding/json replaces with
		// U+FFFD): decode exactly as encoding/json does.
		var out string
		if err := json.Unmarshal(s.b[start:end], &out); err != nil {
			return "", s.fail("invalid string")
		}
		return out, nil
	}
	if intern && s.intern != nil {
		if v, ok := s.intern[string(raw)]; ok {
			return v, nil
		}
		v := string(raw)
		if len(s.intern) < 4096 {
			s.intern[v] = v
		}
		return v, nil
	}
	return string(raw), nil
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

func (s *w2jScanner) isNull() bool {
	if s.i+4 <= len(s.b) && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

func (s *w2jScanner) optString(dst *string, intern bool) error {
	if s.isNull() {
		*dst = ""
		return nil
	}
	v, err := s.str(intern)
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

func (s *w2jScanner) optBool(dst *bool) error {
	switch {
	case s.isNull():
		*dst = false
	case s.i+4 <= len(s.b) && string(s.b[s.i:s.i+4]) == "true":
		s.i += 4
		*dst = true
	case s.i+5 <= len(s.b) && string(s.b[s.i:s.i+5]) == "false":
		s.i += 5
		*dst = false
	default:
		return s.fail("expected a boolean")
	}
	return nil
}

// optUint32 reads a non-negative integer that fits 32 bits, written
// without fraction or exponent (what encoding/json accepts for uint32).
func (s *w2jScanner) optUint32(dst *uint32) error {
	if s.isNull() {
		*dst = 0
		return nil
	}
	start := s.i
	if err := s.number(); err != nil {
		return err
	}
	var v uint64
	for _, c := range s.b[start:s.i] {
		if c < '0' || c > '9' {
			return s.fail("expected an unsigned integer")
		}
		v = v*10 + uint64(c-'0')
		if v > 1<<32-1 {
			return s.fail("integer out of range")
		}
	}
	*dst = uint32(v)
	return nil
}

// number moves past a JSON number.
func (s *w2jScanner) number() error {
	i := s.i
	if i < len(s.b) && s.b[i] == '-' {
		i++
	}
	switch {
	case i < len(s.b) && s.b[i] == '0':
		i++
	case i < len(s.b) && s.b[i] >= '1' && s.b[i] <= '9':
		for i < len(s.b) && s.b[i] >= '0' && s.b[i] <= '9' {
			i++
		}
	default:
		return s.fail("invalid number")
	}
	if i < len(s.b) && s.b[i] == '.' {
		i++
		d := i
		for i < len(s.b) && s.b[i] >= '0' && s.b[i] <= '9' {
			i++
		}
		if i == d {
			return s.fail("invalid number")
		}
	}
	if i < len(s.b) && (s.b[i] == 'e' || s.b[i] == 'E') {
		i++
		if i < len(s.b) && (s.b[i] == '+' || s.b[i] == '-') {
			i++
		}
		d := i
		for i < len(s.b) && s.b[i] >= '0' && s.b[i] <= '9' {
			i++
		}
		if i == d {
			return s.fail("invalid number")
		}
	}
	s.i = i
	return nil
}

// value moves past any JSON value and returns its raw bytes.
func (s *w2jScanner) value() ([]byte, error) {
	if s.i >= len(s.b) {
		return nil, s.fail("expected a value")
	}
	start := s.i
	if c := s.b[s.i]; c == '{' || c == '[' {
		s.depth++
		defer func() { s.depth-- }()
		if s.depth > maxDepth {
			return nil, s.fail("nested too deeply")
		}
	}
	switch c := s.b[s.i]; {
	case c == '"':
		if _, _, err := s.skipString(); err != nil {
			return nil, err
		}
	case c == '{':
		if err := s.object(func([]byte) error { _, err := s.value(); return err }); err != nil {
			return nil, err
		}
	case c == '[':
		if err := s.array(func() error { _, err := s.value(); return err }); err != nil {
			return nil, err
		}
	case c == 't', c == 'f':
		var b bool
		if err := s.optBool(&b); err != nil {
			return nil, err
		}
	case c == 'n':
		if !s.isNull() {
			return nil, s.fail("invalid literal")
		}
	default:
		if err := s.number(); err != nil {
			return nil, err
		}
	}
	return s.b[start:s.i:s.i], nil
}

// array walks [v, ...], calling elem with s.i at each element.
func (s *w2jScanner) array(elem func() error) error {
	if s.i >= len(s.b) || s.b[s.i] != '[' {
		return s.fail("expected an array")
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if err := elem(); err != nil {
			return err
		}
		if done, err := s.next(']', "array"); done || err != nil {
			return err
		}
	}
}

func (s *w2jScanner) optColumns(dst *[]Column) error {
	if s.isNull() {
		*dst = nil
		return nil
	}
	cols := s.scratch[:0]
	err := s.array(func() error {
		var c Column
		if s.isNull() {
			cols = append(cols, c)
			return nil
		}
		err := s.object(func(key []byte) error {
			switch string(key) {
			case "name":
				return s.optString(&c.Name, true)
			case "type":
				return s.optString(&c.Type, true)
			case "typeoid":
				return s.optUint32(&c.TypeOID)
			case "value":
				v, err := s.value()
				c.Value = Value(v)
				return err
			}
			_, err := s.value()
			return err
		})
		cols = append(cols, c)
		return err
	})
	if err != nil {
		return err
	}
	s.scratch = cols[:0]
	*dst = slices.Clone(cols) // one allocation of the exact size
	return nil
}

// parseRecord decodes one record that fills data (surrounding whitespace
// allowed). Column values alias data.
func (s *w2jScanner) parseRecord(data []byte) (DataChange, error) {
	s.b, s.i = data, 0
	var r w2jRecord
	if err := s.record(&r); err != nil {
		return DataChange{}, fmt.Errorf("logical: parsing a wal2json record: %w", err)
	}
	s.ws()
	if s.i != len(s.b) {
		return DataChange{}, fmt.Errorf("logical: parsing a wal2json record: %w", s.fail("text after the record"))
	}
	return r.change()
}
