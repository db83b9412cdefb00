package pgaudit

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is matched by errors.Is for every error this package returns
// for bad input (an unknown class, a setting value out of range, a name that
// cannot be quoted), before anything is sent anywhere.
var ErrInvalid = errors.New("pgaudit: invalid input")

// Classes is a set of pgAudit statement classes, the value of the
// pgaudit.log setting. The zero value is None.
//
// Sets combine with Go's bit operators: Read|Write is both classes and
// All&^Misc is everything except MISC. Misc contains MiscSet, as it does in
// pgAudit: "misc" logs SET statements too, "misc_set" logs only them.
type Classes uint8

// The classes pgAudit knows.
const (
	// Read is SELECT and COPY when the source is a relation or a query.
	Read Classes = 1 << iota
	// Write is INSERT, UPDATE, DELETE, TRUNCATE and COPY into a relation.
	Write
	// Function is function calls and DO blocks.
	Function
	// Role is GRANT, REVOKE and CREATE/ALTER/DROP ROLE.
	Role
	// DDL is all DDL that is not in the Role class.
	DDL
	// miscOnly is MISC without MISC_SET: DISCARD, FETCH, CHECKPOINT,
	// VACUUM and the other statements no other class covers.
	miscOnly
	// MiscSet is SET statements (SET, SET ROLE, RESET).
	MiscSet
)

const (
	// Misc is the miscellaneous commands (DISCARD, FETCH, CHECKPOINT,
	// VACUUM, SET, ...). It includes MiscSet.
	Misc = miscOnly | MiscSet
	// All is every class.
	All = Read | Write | Function | Role | DDL | Misc
	// None is no class: session audit logging is off.
	None Classes = 0
)

// classNames lists the classes in canonical order with their pgAudit names.
var classNames = [...]struct {
	c    Classes
	name string
}{
	{Read, "read"},
	{Write, "write"},
	{Function, "function"},
	{Role, "role"},
	{DDL, "ddl"},
	{Misc, "misc"},
	{MiscSet, "misc_set"},
}

// AllowedClassWords is the list of words pgaudit.log accepts, as shown in
// error messages.
const AllowedClassWords = "read, write, function, role, ddl, misc, misc_set, all, none (each may be prefixed with - to subtract it)"

// Has reports whether every class in c is in s.
func (s Classes) Has(c Classes) bool { return s&c == c }

// Logs reports whether session auditing with pgaudit.log = s logs a
// statement of class c. c is the class of one statement: MiscSet for a SET
// statement (logged by "misc" and by "misc_set"), Misc for any other
// miscellaneous statement (logged by "misc" only), or one of the other
// classes. A c holding several classes asks whether any of them is logged.
func (s Classes) Logs(c Classes) bool {
	if c&Misc == Misc {
		// A MISC statement that is not a SET: MISC_SET does not log it.
		c &^= MiscSet
	}
	return s&c != 0
}

// String formats s canonically, the form ParseClasses reads back to the same
// set: "none", "all", or the classes in the order read, write, function,
// role, ddl, misc, misc_set, comma separated and lowercase. MISC without
// MISC_SET, which only subtraction can produce, is "misc,-misc_set".
func (s Classes) String() string {
	s &= All
	switch s {
	case None:
		return "none"
	case All:
		return "all"
	}
	var b strings.Builder
	add := func(w string) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(w)
	}
	for _, cn := range classNames[:5] {
		if s&cn.c != 0 {
			add(cn.name)
		}
	}
	switch s & Misc {
	case Misc:
		add("misc")
	case MiscSet:
		add("misc_set")
	case miscOnly:
		add("misc")
		add("-misc_set")
	}
	return b.String()
}

// Names returns the upper-case class names in s, in canonical order, as
// pgAudit writes them in its log (MISC covers MISC_SET). None gives nil.
func (s Classes) Names() []string {
	var out []string
	for _, cn := range classNames[:5] {
		if s&cn.c != 0 {
			out = append(out, strings.ToUpper(cn.name))
		}
	}
	switch s & Misc {
	case Misc, miscOnly:
		out = append(out, "MISC")
	case MiscSet:
		out = append(out, "MISC_SET")
	}
	return out
}

// MarshalText implements encoding.TextMarshaler with the canonical form.
func (s Classes) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseClasses.
func (s *Classes) UnmarshalText(b []byte) error {
	c, err := ParseClasses(string(b))
	if err != nil {
		return err
	}
	*s = c
	return nil
}

// ParseClasses parses a pgaudit.log value exactly as pgAudit does: a
// comma-separated list (PostgreSQL identifier-list syntax: surrounding white
// space ignored, double-quoted items allowed, empty items refused), each item
// a class word compared case-insensitively, "all" or "none", optionally
// prefixed with "-" to subtract it. Items apply left to right, so
// "all, -misc" is everything but MISC and "-misc, all" is everything. An
// empty string is None.
func ParseClasses(s string) (Classes, error) {
	items, err := splitIdentifierList(s)
	if err != nil {
		return 0, fmt.Errorf("%w: pgaudit.log %q: %v", ErrInvalid, s, err)
	}
	var set Classes
	for _, item := range items {
		sub := false
		word := item
		if strings.HasPrefix(word, "-") {
			sub = true
			word = word[1:]
		}
		c, ok := classWord(word)
		if !ok {
			return 0, fmt.Errorf("%w: pgaudit.log %q: unknown class %q; allowed: %s", ErrInvalid, s, item, AllowedClassWords)
		}
		if sub {
			set &^= c
		} else {
			set |= c
		}
	}
	return set, nil
}

// MustParseClasses is ParseClasses for constant input; it panics on error.
func MustParseClasses(s string) Classes {
	c, err := ParseClasses(s)
	if err != nil {
		panic(err)
	}
	return c
}

func classWord(w string) (Classes, bool) {
	switch {
	case asciiEqualFold(w, "none"):
		return None, true
	case asciiEqualFold(w, "all"):
		return All, true
	}
	for _, cn := range classNames {
		if asciiEqualFold(w, cn.name) {
			return cn.c, true
		}
	}
	return 0, false
}

// asciiEqualFold is pg_strcasecmp equality: ASCII letters fold, nothing else.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// isScannerSpace is PostgreSQL's scanner_isspace.
func isScannerSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// splitIdentifierList is PostgreSQL's SplitIdentifierString with ',' as the
// separator: items are trimmed of white space, a double-quoted item keeps
// its text with "" collapsed to ", and an empty unquoted item or anything
// but white space between an item and the next comma is a syntax error.
// The empty (or all-blank) string is an empty list.
func splitIdentifierList(s string) ([]string, error) {
	i := 0
	for i < len(s) && isScannerSpace(s[i]) {
		i++
	}
	if i == len(s) {
		return nil, nil
	}
	var items []string
	for {
		var item string
		if s[i] == '"' {
			var b strings.Builder
			i++
			for {
				j := strings.IndexByte(s[i:], '"')
				if j < 0 {
					return nil, errors.New("list syntax is invalid: unterminated double quote")
				}
				b.WriteString(s[i : i+j])
				i += j + 1
				if i < len(s) && s[i] == '"' {
					b.WriteByte('"')
					i++
					continue
				}
				break
			}
			item = b.String()
		} else {
			start := i
			for i < len(s) && s[i] != ',' && !isScannerSpace(s[i]) {
				i++
			}
			if i == start {
				return nil, errors.New("list syntax is invalid: empty item")
			}
			item = s[start:i]
		}
		for i < len(s) && isScannerSpace(s[i]) {
			i++
		}
		items = append(items, item)
		if i == len(s) {
			return items, nil
		}
		if s[i] != ',' {
			return nil, fmt.Errorf("list syntax is invalid: unexpected %q after %q", s[i], item)
		}
		i++
		for i < len(s) && isScannerSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return nil, errors.New("list syntax is invalid: empty item after the last comma")
		}
	}
}
