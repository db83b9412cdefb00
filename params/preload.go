package params

import (
	"errors"
	"fmt"
	"strings"
)

// SharedPreloadLibraries is the name of the parameter that lists the
// libraries the server loads at start. Changing it needs a reboot.
const SharedPreloadLibraries = "shared_preload_libraries"

// LibraryList is the value of a list parameter such as
// shared_preload_libraries, one library per element, in order.
//
// Libraries match without regard to case: Add does not add "PGAUDIT" to a
// list holding "pgaudit", and Remove("PGAUDIT") removes it.
type LibraryList []string

// ParseLibraryList reads a comma-separated list as PostgreSQL writes it:
// spaces around entries are trimmed, empty entries are dropped, and an
// entry may be double-quoted to hold commas or spaces, with "" standing for
// a quote inside. It fails on an unterminated quote, text after a closing
// quote, a quote inside an unquoted entry, or control characters.
func ParseLibraryList(s string) (LibraryList, error) {
	items, err := parseListItems(s)
	if err != nil {
		return nil, fmt.Errorf("params: parse library list: %w", err)
	}
	return LibraryList(items), nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// parseListItems is the list parser behind ParseLibraryList and list
// parameter validation. It never returns empty items.
func parseListItems(s string) ([]string, error) {
	var items []string
	i := 0
	for i < len(s) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			break
		}
		var item string
		if s[i] == '"' {
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, errors.New("unterminated double quote")
			}
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i < len(s) && s[i] != ',' {
				return nil, fmt.Errorf("unexpected %q after a quoted entry at byte %d; expected a comma", s[i], i)
			}
			item = b.String()
		} else {
			start := i
			for i < len(s) && s[i] != ',' {
				if s[i] == '"' {
					return nil, fmt.Errorf("unexpected double quote inside an unquoted entry at byte %d", i)
				}
				i++
			}
			item = strings.TrimRight(s[start:i], " \t\n\r\f\v")
		}
		if i < len(s) && s[i] == ',' {
			i++
		}
		if strings.ContainsFunc(item, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return nil, fmt.Errorf("entry %q contains a control character", item)
		}
		if strings.TrimSpace(item) == "" {
			continue
		}
		items = append(items, item)
	}
	return items, nil
}

// String formats the list for the RDS API and postgresql.conf: entries
// joined by commas without spaces, quoted only when they contain a comma,
// a double quote or leading or trailing spaces.
func (l LibraryList) String() string {
	var b strings.Builder
	for i, it := range l {
		if i > 0 {
			b.WriteByte(',')
		}
		if needsQuote(it) {
			b.WriteByte('"')
			b.WriteString(strings.ReplaceAll(it, `"`, `""`))
			b.WriteByte('"')
		} else {
			b.WriteString(it)
		}
	}
	return b.String()
}

func needsQuote(s string) bool {
	return s == "" || strings.ContainsAny(s, `,"`) || isSpace(s[0]) || isSpace(s[len(s)-1])
}

// Contains reports whether the list holds the library, ignoring case.
func (l LibraryList) Contains(name string) bool {
	name = strings.TrimSpace(name)
	for _, it := range l {
		if strings.EqualFold(it, name) {
			return true
		}
	}
	return false
}

// Add returns a new list with the libraries appended in the order given,
// skipping those already present (ignoring case) and empty names. Existing
// entries keep their place and spelling. The receiver is not modified.
func (l LibraryList) Add(names ...string) LibraryList {
	out := append(LibraryList(nil), l...)
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || out.Contains(n) {
			continue
		}
		out = append(out, n)
	}
	return out
}

// Remove returns a new list without the named libraries (ignoring case);
// the other entries keep their order. The receiver is not modified.
func (l LibraryList) Remove(names ...string) LibraryList {
	out := make(LibraryList, 0, len(l))
	for _, it := range l {
		drop := false
		for _, n := range names {
			if strings.EqualFold(it, strings.TrimSpace(n)) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, it)
		}
	}
	return out
}

// Equal reports whether two lists hold the same libraries in the same
// order, ignoring case.
func (l LibraryList) Equal(other LibraryList) bool {
	if len(l) != len(other) {
		return false
	}
	for i := range l {
		if !strings.EqualFold(l[i], other[i]) {
			return false
		}
	}
	return true
}

// PreloadChange returns the shared_preload_libraries change that adds the
// libraries in add and removes those in remove, starting from current (the
// value in the group, possibly empty). changed is false when the result
// equals current, in which case no change is needed. Removing every
// library is refused: RDS cannot set an empty value; reset the parameter
// instead.
func PreloadChange(current string, add, remove []string) (c Change, changed bool, err error) {
	cur, err := ParseLibraryList(current)
	if err != nil {
		return Change{}, false, fmt.Errorf("params: current %s: %w", SharedPreloadLibraries, err)
	}
	for _, n := range append(append([]string(nil), add...), remove...) {
		if _, err := parseListItems(n); err != nil || strings.ContainsAny(n, `,"`) {
			return Change{}, false, &ValidationError{Param: SharedPreloadLibraries, Field: "library", Value: n,
				Reason: "is not a library name; give one name per entry, without commas or quotes"}
		}
	}
	next := cur.Remove(remove...).Add(add...)
	if next.Equal(cur) {
		return Change{Name: SharedPreloadLibraries, Value: cur.String()}, false, nil
	}
	if len(next) == 0 {
		return Change{}, false, &ValidationError{Param: SharedPreloadLibraries, Field: "value",
			Reason: "would be empty; RDS cannot set an empty value, use Service.Reset to return it to the default"}
	}
	return Change{Name: SharedPreloadLibraries, Value: next.String()}, true, nil
}
