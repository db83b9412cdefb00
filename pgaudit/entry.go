package pgaudit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Markers pgAudit writes in place of a value. The reader keeps them as they
// are: a Statement of NotLogged means the text was not logged, and
// "<REDACTED>" inside a statement stays redacted.
const (
	// NotLogged is the statement or parameter field when logging it is
	// off (pgaudit.log_statement, pgaudit.log_parameter).
	NotLogged = "<not logged>"
	// NoParameters is the parameter field of a statement without
	// parameters when pgaudit.log_parameter is on.
	NoParameters = "<none>"
	// PreviouslyLogged is the statement and parameter field when
	// pgaudit.log_statement_once is on and an earlier entry of the same
	// statement/substatement carried them.
	PreviouslyLogged = "<previously logged>"
	// Redacted replaces the text after PASSWORD in CREATE/ALTER ROLE and
	// user-mapping statements.
	Redacted = "<REDACTED>"
	// LongFieldSuppressed replaces a parameter longer than
	// pgaudit.log_parameter_max_size (pgAudit 16+).
	LongFieldSuppressed = "<long field suppressed>"
)

// AuditType says which kind of auditing wrote an entry.
type AuditType string

const (
	// Session is session auditing (pgaudit.log classes).
	Session AuditType = "SESSION"
	// Object is object auditing (privileges granted to pgaudit.role).
	Object AuditType = "OBJECT"
)

// Severity is the message severity in the server log line.
type Severity string

// The severities an audit message can have. DEBUG1 to DEBUG5 all appear as
// DEBUG in the log.
const (
	SeverityDebug   Severity = "DEBUG"
	SeverityInfo    Severity = "INFO"
	SeverityNotice  Severity = "NOTICE"
	SeverityWarning Severity = "WARNING"
	SeverityLog     Severity = "LOG"
)

var severities = [...]Severity{SeverityLog, SeverityNotice, SeverityWarning, SeverityInfo, SeverityDebug}

// Entry is one pgAudit log entry: the fields of the server log prefix and
// the fields of the AUDIT message.
type Entry struct {
	// Time is the log line's timestamp (%t, %m or %n in the prefix); zero
	// when the prefix has none.
	Time time.Time
	// Remote is the client address as the prefix shows it: host(port)
	// for %r, the host for %h, "[local]" for Unix sockets.
	Remote string
	// User is the session user (%u).
	User string
	// Database is the database name (%d).
	Database string
	// PID is the backend process ID (%p).
	PID int
	// Application is the application name (%a). PostgreSQL shows an
	// empty application_name as "[unknown]", and so does Application.
	Application string
	// SessionID is the session identifier (%c).
	SessionID string
	// Severity is the message severity, usually LOG.
	Severity Severity

	// Type is SESSION or OBJECT.
	Type AuditType
	// StatementID numbers the statements of a session.
	StatementID int64
	// SubstatementID numbers the substatements of a statement.
	SubstatementID int64
	// Class is the statement's class, a single class: Read, Write,
	// Function, Role, DDL or Misc (SET statements are logged as MISC too).
	Class Classes
	// Command is the command tag, for example "SELECT" or "ALTER TABLE".
	Command string
	// ObjectType is TABLE, VIEW, FUNCTION, INDEX ..., or empty.
	ObjectType string
	// ObjectName is the fully qualified object name, or empty.
	ObjectName string
	// Statement is the statement text, or NotLogged or PreviouslyLogged.
	Statement string
	// Parameter is the parameter field: the bind parameters as a CSV
	// list (see Parameters), or NotLogged, NoParameters or
	// PreviouslyLogged.
	Parameter string
	// Rows is the number of rows retrieved or affected, when HasRows.
	Rows int64
	// HasRows reports whether the entry carries a rows field
	// (pgaudit.log_rows on).
	HasRows bool
}

// Parameters splits the parameter field into the statement's bind
// parameters. ok is false when the field holds no list (NotLogged,
// PreviouslyLogged); NoParameters gives an empty list. pgAudit writes NULL
// and the empty string alike, as an empty item.
func (e *Entry) Parameters() (values []string, ok bool) {
	switch e.Parameter {
	case NotLogged, PreviouslyLogged:
		return nil, false
	case NoParameters:
		return []string{}, true
	}
	s := e.Parameter
	for {
		var v string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			s = s[1:]
			for {
				j := strings.IndexByte(s, '"')
				if j < 0 {
					b.WriteString(s)
					s = ""
					break
				}
				b.WriteString(s[:j])
				s = s[j+1:]
				if strings.HasPrefix(s, `"`) {
					b.WriteByte('"')
					s = s[1:]
					continue
				}
				break
			}
			v = b.String()
			if j := strings.IndexByte(s, ','); j >= 0 {
				s = s[j:]
			} else {
				s = ""
			}
		} else if j := strings.IndexByte(s, ','); j >= 0 {
			v, s = s[:j], s[j:]
		} else {
			v, s = s, ""
		}
		values = append(values, v)
		if s == "" {
			return values, true
		}
		s = s[1:]
	}
}

// Message returns the audit message as pgAudit writes it, starting with
// "AUDIT: ", without the log line prefix and severity. Newlines inside
// fields are kept as they are (the server log adds a tab after each).
func (e *Entry) Message() string {
	b, err := appendMessage(nil, e, false)
	if err != nil {
		return "AUDIT: <" + err.Error() + ">"
	}
	return string(b)
}

// String returns Message.
func (e Entry) String() string { return e.Message() }

// classLogName returns the class as pgAudit names it in the log.
func classLogName(c Classes) (string, bool) {
	switch c {
	case Read:
		return "READ", true
	case Write:
		return "WRITE", true
	case Function:
		return "FUNCTION", true
	case Role:
		return "ROLE", true
	case DDL:
		return "DDL", true
	case Misc, MiscSet, miscOnly:
		return "MISC", true
	}
	return "", false
}

// classFromLog maps a logged class name to its class.
func classFromLog(b []byte) (Classes, bool) {
	switch string(b) {
	case "READ":
		return Read, true
	case "WRITE":
		return Write, true
	case "FUNCTION":
		return Function, true
	case "ROLE":
		return Role, true
	case "DDL":
		return DDL, true
	case "MISC":
		return Misc, true
	}
	return 0, false
}

// needsQuote is pgAudit's rule: a field is quoted when it holds a comma, a
// double quote, a newline or a carriage return.
func needsQuote(s string) bool {
	return strings.ContainsAny(s, ",\"\n\r")
}

// appendField appends s CSV-quoted by pgAudit's rule; with tabs, a tab
// follows every newline, as the server's stderr log writes it.
func appendField(b []byte, s string, tabs bool) []byte {
	if !needsQuote(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		b = append(b, c)
		switch c {
		case '"':
			b = append(b, '"')
		case '\n':
			if tabs {
				b = append(b, '\t')
			}
		}
	}
	return append(b, '"')
}

// appendMessage appends "AUDIT: " and the entry's fields.
func appendMessage(b []byte, e *Entry, tabs bool) ([]byte, error) {
	if e.Type != Session && e.Type != Object {
		return b, fmt.Errorf("%w: entry type %q: want SESSION or OBJECT", ErrInvalid, e.Type)
	}
	class, ok := classLogName(e.Class)
	if !ok {
		return b, fmt.Errorf("%w: entry class %s: want exactly one of READ, WRITE, FUNCTION, ROLE, DDL, MISC", ErrInvalid, e.Class)
	}
	if e.StatementID < 0 || e.SubstatementID < 0 || (e.HasRows && e.Rows < 0) {
		return b, fmt.Errorf("%w: entry statement, substatement and row counts must not be negative", ErrInvalid)
	}
	b = append(b, "AUDIT: "...)
	b = append(b, e.Type...)
	b = append(b, ',')
	b = strconv.AppendInt(b, e.StatementID, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, e.SubstatementID, 10)
	b = append(b, ',')
	b = append(b, class...)
	for _, f := range [...]string{e.Command, e.ObjectType, e.ObjectName, e.Statement, e.Parameter} {
		b = append(b, ',')
		b = appendField(b, f, tabs)
	}
	if e.HasRows {
		b = append(b, ',')
		b = strconv.AppendInt(b, e.Rows, 10)
	}
	return b, nil
}
