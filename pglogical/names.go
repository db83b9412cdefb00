package pglogical

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// checkName validates a pglogical object name (node, interface,
// replication set, subscription). pglogical stores them as the name type,
// which silently truncates at 63 bytes, so longer names are refused rather
// than stored as something else.
func checkName(field, v string) error {
	switch {
	case v == "":
		return invalid("%s is empty; give a name of 1 to %d bytes", field, sqlquote.MaxIdentifierLength)
	case len(v) > sqlquote.MaxIdentifierLength:
		return invalid("%s %q is %d bytes long; PostgreSQL names hold at most %d bytes", field, v, len(v), sqlquote.MaxIdentifierLength)
	case strings.IndexByte(v, 0) >= 0:
		return invalid("%s contains a NUL byte", field)
	case !utf8.ValidString(v):
		return invalid("%s is not valid UTF-8", field)
	}
	return nil
}

func checkNames(field string, vs []string) error {
	for i, v := range vs {
		if err := checkName(fmt.Sprintf("%s[%d]", field, i), v); err != nil {
			return err
		}
	}
	return nil
}

// Table names a table or sequence. An empty Schema means the first schema
// of the search_path that holds a relation of that name, as in SQL.
type Table struct {
	// Schema is the schema; empty resolves through search_path.
	Schema string
	// Name is the relation name, exactly as stored (case-sensitive).
	Name string
}

// T is shorthand for Table{Schema: schema, Name: name}.
func T(schema, name string) Table { return Table{Schema: schema, Name: name} }

// String returns the quoted, possibly qualified name, such as
// "public"."Orders", or the raw parts when they are not valid names.
func (t Table) String() string {
	s, err := t.quoted()
	if err != nil {
		if t.Schema == "" {
			return t.Name
		}
		return t.Schema + "." + t.Name
	}
	return s
}

// quoted returns the name as PostgreSQL's regclass input accepts it.
func (t Table) quoted() (string, error) {
	if t.Schema == "" {
		return sqlquote.Ident(t.Name)
	}
	return sqlquote.Ident(t.Schema, t.Name)
}

// regclass validates t and returns the text to pass, as a bind parameter,
// where pglogical takes a regclass: the server resolves it and fails with
// "relation does not exist" rather than passing NULL on.
func (t Table) regclass(field string) (string, error) {
	if t.Name == "" {
		return "", invalid("%s: table name is empty", field)
	}
	s, err := t.quoted()
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrInvalid, field, err)
	}
	return s, nil
}
