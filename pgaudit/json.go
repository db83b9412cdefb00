package pgaudit

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/pgaurora/pgaurora/internal/jsontext"
)

// AppendJSON appends e as one JSON object, without a newline: the
// members listed under "JSON lines" in the package documentation, in that
// order, every one of them in every object.
func (e *Entry) AppendJSON(b []byte) []byte {
	b = append(b, `{"time":`...)
	if e.Time.IsZero() {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = e.Time.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	b = appendJSONMember(b, "remote", e.Remote)
	b = appendJSONMember(b, "user", e.User)
	b = appendJSONMember(b, "database", e.Database)
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(e.PID), 10)
	b = appendJSONMember(b, "application", e.Application)
	b = appendJSONMember(b, "session_id", e.SessionID)
	b = appendJSONMember(b, "severity", string(e.Severity))
	b = appendJSONMember(b, "type", string(e.Type))
	b = append(b, `,"statement_id":`...)
	b = strconv.AppendInt(b, e.StatementID, 10)
	b = append(b, `,"substatement_id":`...)
	b = strconv.AppendInt(b, e.SubstatementID, 10)
	class, ok := classLogName(e.Class)
	if !ok {
		class = e.Class.String()
	}
	b = appendJSONMember(b, "class", class)
	b = appendJSONMember(b, "command", e.Command)
	b = appendJSONMember(b, "object_type", e.ObjectType)
	b = appendJSONMember(b, "object_name", e.ObjectName)
	b = appendJSONMember(b, "statement", e.Statement)
	b = appendJSONMember(b, "parameter", e.Parameter)
	b = append(b, `,"parameters":`...)
	if values, ok := e.Parameters(); ok {
		b = append(b, '[')
		for i, v := range values {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, v)
		}
		b = append(b, ']')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"rows":`...)
	if e.HasRows {
		b = strconv.AppendInt(b, e.Rows, 10)
	} else {
		b = append(b, "null"...)
	}
	return append(b, '}')
}

// WriteJSON writes e to w as one line of JSON lines: AppendJSON and a
// newline, in one Write. Wrap w in a bufio.Writer for many entries.
func WriteJSON(w io.Writer, e *Entry) error {
	_, err := w.Write(append(e.AppendJSON(make([]byte, 0, 512)), '\n'))
	return err
}

// MarshalJSON returns AppendJSON's object, so that encoding/json writes an
// Entry in the documented form. json.Marshal then escapes <, > and & as
// \u003c, \u003e and \u0026 (the same strings to a JSON reader, but
// "<REDACTED>" no longer as text); a json.Encoder with SetEscapeHTML(false)
// writes AppendJSON's bytes as they are.
func (e Entry) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// jsonEntry is the object as encoding/json reads it.
type jsonEntry struct {
	Time           *string `json:"time"`
	Remote         string  `json:"remote"`
	User           string  `json:"user"`
	Database       string  `json:"database"`
	PID            int     `json:"pid"`
	Application    string  `json:"application"`
	SessionID      string  `json:"session_id"`
	Severity       string  `json:"severity"`
	Type           string  `json:"type"`
	StatementID    int64   `json:"statement_id"`
	SubstatementID int64   `json:"substatement_id"`
	Class          string  `json:"class"`
	Command        string  `json:"command"`
	ObjectType     string  `json:"object_type"`
	ObjectName     string  `json:"object_name"`
	Statement      string  `json:"statement"`
	Parameter      string  `json:"parameter"`
	Rows           *int64  `json:"rows"`
}

// UnmarshalJSON reads the object AppendJSON writes back into e: every
// field as it was written (the time as the same instant, in the offset it
// was written with). It refuses a class other than pgAudit's six and a
// malformed time.
func (e *Entry) UnmarshalJSON(data []byte) error {
	var j jsonEntry
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	class, ok := classFromLog([]byte(j.Class))
	if !ok {
		return fmt.Errorf("%w: class %q: want READ, WRITE, FUNCTION, ROLE, DDL or MISC", ErrInvalid, j.Class)
	}
	*e = Entry{
		Remote: j.Remote, User: j.User, Database: j.Database, PID: j.PID, Application: j.Application,
		SessionID: j.SessionID, Severity: Severity(j.Severity), Type: AuditType(j.Type),
		StatementID: j.StatementID, SubstatementID: j.SubstatementID, Class: class,
		Command: j.Command, ObjectType: j.ObjectType, ObjectName: j.ObjectName,
		Statement: j.Statement, Parameter: j.Parameter,
	}
	if j.Time != nil {
		t, err := time.Parse(time.RFC3339Nano, *j.Time)
		if err != nil {
			return fmt.Errorf("%w: time %q: want RFC 3339", ErrInvalid, *j.Time)
		}
		e.Time = t
	}
	if j.Rows != nil {
		e.Rows, e.HasRows = *j.Rows, true
	}
	return nil
}

func appendJSONMember(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, value)
}

// appendJSONString appends s as a JSON string, escaping only what JSON
// requires: <, > and & stay text, so markers such as <REDACTED> read as
// they are.
func appendJSONString(b []byte, s string) []byte { return jsontext.AppendString(b, s, false) }
