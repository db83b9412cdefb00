package logical

import (
	"strings"

	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// TableName names a table (or a sequence, in sequence calls). An empty
// Schema leaves the name unqualified, so the server resolves it through
// the search_path, as psql would.
type TableName struct {
	Schema, Name string
}

// String returns schema.name as written in SQL, with each part
// double-quoted only where PostgreSQL needs it.
func (t TableName) String() string {
	if t.Schema == "" {
		return displayIdent(t.Name)
	}
	return displayIdent(t.Schema) + "." + displayIdent(t.Name)
}

// Ident returns the name quoted for SQL text.
func (t TableName) Ident() (string, error) {
	if t.Name == "" {
		return "", invalid("table name is empty")
	}
	if t.Schema == "" {
		return sqlquote.Ident(t.Name)
	}
	return sqlquote.Ident(t.Schema, t.Name)
}

// displayIdent quotes a name only when it is not a plain lower-case
// identifier.
func displayIdent(s string) string {
	plain := s != ""
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && (c >= '0' && c <= '9' || c == '$')) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// ParseTableName reads a table name as written in SQL: name or
// schema.name, each part either a plain identifier (folded to lower case,
// as PostgreSQL does) or double-quoted (kept exactly, "" standing for a
// quote).
func ParseTableName(s string) (TableName, error) {
	var parts []string
	i := 0
	for {
		if i >= len(s) {
			return TableName{}, invalid("table name %q: missing a name part", s)
		}
		var part strings.Builder
		if s[i] == '"' {
			i++
			closed := false
			for i < len(s) {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						part.WriteByte('"')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				part.WriteByte(s[i])
				i++
			}
			if !closed {
				return TableName{}, invalid("table name %q: unterminated quoted identifier", s)
			}
		} else {
			start := i
			for i < len(s) && s[i] != '.' {
				if s[i] == '"' || s[i] == ' ' {
					return TableName{}, invalid("table name %q: unexpected %q; quote names that hold it", s, s[i])
				}
				i++
			}
			part.WriteString(strings.ToLower(s[start:i]))
		}
		if part.Len() == 0 {
			return TableName{}, invalid("table name %q: empty name part", s)
		}
		if _, err := sqlquote.Ident(part.String()); err != nil {
			return TableName{}, invalid("table name %q: %v", s, err)
		}
		parts = append(parts, part.String())
		if i == len(s) {
			break
		}
		if s[i] != '.' {
			return TableName{}, invalid("table name %q: unexpected %q after a quoted name", s, s[i])
		}
		i++
	}
	switch len(parts) {
	case 1:
		return TableName{Name: parts[0]}, nil
	case 2:
		return TableName{Schema: parts[0], Name: parts[1]}, nil
	}
	return TableName{}, invalid("table name %q: expected name or schema.name", s)
}

// checkExpression vets a row filter, an SQL expression that the SDK puts
// into WHERE (...) as written (it cannot be a bind parameter). It refuses
// what could end the parenthesis or the statement early: a semicolon, a
// comment, or unbalanced parentheses outside string literals and quoted
// identifiers, and unterminated literals. It does not judge the
// expression otherwise; the server does.
func checkExpression(field, s string) error {
	if strings.TrimSpace(s) == "" {
		return invalid("%s is empty", field)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return invalid("%s contains a NUL byte", field)
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			// A standard string, or an E'' string when preceded by E.
			escapes := i > 0 && (s[i-1] == 'e' || s[i-1] == 'E') && (i < 2 || !isIdentByte(s[i-2]))
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\\' {
					if !escapes {
						// Read differently when standard_conforming_strings
						// is off; refuse rather than guess.
						return invalid("%s has a backslash in a '' string literal; write it as an E'' string", field)
					}
					j++
					continue
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						j++
						continue
					}
					break
				}
			}
			if j >= len(s) {
				return invalid("%s has an unterminated string literal", field)
			}
			i = j
		case c == '"':
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '"' {
					if j+1 < len(s) && s[j+1] == '"' {
						j++
						continue
					}
					break
				}
			}
			if j >= len(s) {
				return invalid("%s has an unterminated quoted identifier", field)
			}
			i = j
		case c == '$' && (i == 0 || !isIdentByte(s[i-1])):
			// Dollar quoting: $tag$ ... $tag$.
			j := i + 1
			for j < len(s) && isIdentByte(s[j]) && s[j] != '$' {
				j++
			}
			if j < len(s) && s[j] == '$' && (j == i+1 || !(s[i+1] >= '0' && s[i+1] <= '9')) {
				tag := s[i : j+1]
				end := strings.Index(s[j+1:], tag)
				if end < 0 {
					return invalid("%s has an unterminated dollar-quoted string", field)
				}
				i = j + 1 + end + len(tag) - 1
			}
		case c == '-' && i+1 < len(s) && s[i+1] == '-', c == '/' && i+1 < len(s) && s[i+1] == '*':
			return invalid("%s may not contain comments", field)
		case c == ';':
			return invalid("%s may not contain a semicolon", field)
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth < 0 {
				return invalid("%s has an unbalanced \")\"", field)
			}
		}
	}
	if depth != 0 {
		return invalid("%s has an unbalanced \"(\"", field)
	}
	return nil
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

// idents quotes a list of names for SQL text.
func idents(field string, names []string) ([]string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		q, err := sqlquote.Ident(n)
		if err != nil {
			return nil, invalid("%s[%d]: %v", field, i, err)
		}
		out[i] = q
	}
	return out, nil
}
