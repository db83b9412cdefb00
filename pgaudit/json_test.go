package pgaudit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// jsonMembers are the members of the JSON object, in order.
var jsonMembers = []string{"time", "remote", "user", "database", "pid", "application", "session_id", "severity", "type",
	"statement_id", "substatement_id", "class", "command", "object_type", "object_name", "statement", "parameter", "parameters", "rows"}

// checkJSON writes e as JSON and checks the object: one line, valid JSON
// with every member in order, what encoding/json reads in it, and that it
// reads back to e.
func checkJSON(t *testing.T, e *Entry) {
	t.Helper()
	b := e.AppendJSON(nil)
	if !json.Valid(b) || bytes.ContainsAny(b, "\n\r") {
		t.Fatalf("not one line of valid JSON: %s", b)
	}
	// Members, in order.
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s: %v %v", b, tok, err)
	}
	for i := 0; dec.More(); i++ {
		tok, err := dec.Token()
		if err != nil || i >= len(jsonMembers) || tok != jsonMembers[i] {
			t.Fatalf("member %d is %v (%v), want %s: %s", i, tok, err, jsonMembers[min(i, len(jsonMembers)-1)], b)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	// What a generic JSON reader sees.
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != len(jsonMembers) || m["statement"] != e.Statement || m["parameter"] != e.Parameter || m["user"] != e.User {
		t.Fatalf("encoding/json reads %v from %s", m, b)
	}
	values, ok := e.Parameters()
	if got, _ := json.Marshal(m["parameters"]); !ok && string(got) != "null" || ok && string(got) != string(must(json.Marshal(values))) {
		t.Fatalf("parameters %s, want %q (%v)", got, values, ok)
	}
	if strings.Contains(e.Statement, Redacted) && !bytes.Contains(b, []byte(Redacted)) {
		t.Fatalf("<REDACTED> escaped: %s", b)
	}
	// Back to an equal entry, through both ways in.
	var back Entry
	if err := back.UnmarshalJSON(b); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if diff := cmp.Diff(*e, back, timeEqual); diff != "" {
		t.Fatalf("JSON %s reads back differently (-entry +read back):\n%s", b, diff)
	}
	// encoding/json writes the same object: byte for byte without HTML
	// escaping, with <, > and & escaped (the same strings) by default.
	var enc bytes.Buffer
	je := json.NewEncoder(&enc)
	je.SetEscapeHTML(false)
	if err := je.Encode(e); err != nil || enc.String() != string(b)+"\n" {
		t.Fatalf("json.Encoder: %s, %v; AppendJSON: %s", enc.String(), err, b)
	}
	viaJSON, err := json.Marshal(e)
	if err != nil || string(viaJSON) != strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`).Replace(string(b)) {
		t.Fatalf("json.Marshal: %s, %v; AppendJSON: %s", viaJSON, err, b)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestJSON(t *testing.T) {
	e := Entry{
		Time: time.Date(2024, 5, 6, 10, 0, 1, 123456000, time.UTC), Remote: "10.0.0.7(40112)", User: "alice", Database: "sales",
		PID: 4242, Application: "psql", SessionID: "6540f1a2.4d", Severity: SeverityLog, Type: Object, StatementID: 12, SubstatementID: 1,
		Class: Write, Command: "UPDATE", ObjectType: "TABLE", ObjectName: "public.orders",
		Statement: "UPDATE orders\n   SET note = 'say \"hi\"\t<&>'", Parameter: `a,"b,""c""",`, Rows: 3, HasRows: true,
	}
	want := `{"time":"2024-05-06T10:00:01.123456Z","remote":"10.0.0.7(40112)","user":"alice","database":"sales","pid":4242,` +
		`"application":"psql","session_id":"6540f1a2.4d","severity":"LOG","type":"OBJECT","statement_id":12,"substatement_id":1,` +
		`"class":"WRITE","command":"UPDATE","object_type":"TABLE","object_name":"public.orders",` +
		`"statement":"UPDATE orders\n   SET note = 'say \"hi\"\t<&>'","parameter":"a,\"b,\"\"c\"\"\",","parameters":["a","b,\"c\"",""],"rows":3}`
	if got := string(e.AppendJSON(nil)); got != want {
		t.Fatalf("AppendJSON:\n got %s\nwant %s", got, want)
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, &e); err != nil || buf.String() != want+"\n" {
		t.Fatalf("WriteJSON: %q, %v", buf.String(), err)
	}
	checkJSON(t, &e)

	// No time, no rows, markers, a zone, control characters, invalid UTF-8.
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Entry{
		{Type: Session, Class: Role, Command: "ALTER ROLE", Statement: "ALTER ROLE x PASSWORD <REDACTED>", Parameter: NotLogged},
		{Time: time.Date(2024, 5, 6, 12, 0, 1, 0, paris), Type: Session, Class: Misc, Statement: PreviouslyLogged, Parameter: NoParameters, Severity: SeverityNotice},
		{Type: Session, Class: Read, Statement: "select '\x01\x1f\u2028'", Parameter: "<long field suppressed>,x"},
	} {
		checkJSON(t, &e)
	}
	bad := Entry{Type: Session, Class: Read, Statement: "caf\xe9"}
	b := bad.AppendJSON(nil)
	var back Entry
	if err := back.UnmarshalJSON(b); err != nil || back.Statement != "caf\ufffd" {
		t.Errorf("invalid UTF-8 wrote %s, read back %q, %v", b, back.Statement, err)
	}
	for _, in := range []string{`{"class":"SELECT"}`, `{"class":"READ","time":"yesterday"}`, `[]`} {
		if err := back.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("UnmarshalJSON(%s) took it", in)
		}
	}
}

// TestJSONRealLog writes every entry of the real pgAudit log of every
// setup as JSON and reads it back: an equal entry, each time.
func TestJSONRealLog(t *testing.T) {
	for _, seg := range realLog(t, 12) {
		t.Run(seg.name, func(t *testing.T) {
			n := 0
			for e, err := range Entries(bytes.NewReader(seg.log), seg.opts) {
				if err != nil {
					t.Fatal(err)
				}
				checkJSON(t, &e)
				n++
			}
			if n < 12*4*5 {
				t.Fatalf("only %d entries", n)
			}
		})
	}
}

// TestReaderOffset reads the real log and, from the offset after each of
// a spread of entries, reads again with a new Reader: the rest is the
// same, entry for entry.
func TestReaderOffset(t *testing.T) {
	for _, seg := range realLog(t, 12) {
		t.Run(seg.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(seg.log), seg.opts)
			var entries []Entry
			var offsets []int64
			for {
				e, err := r.Next()
				if err != nil {
					break
				}
				entries = append(entries, *e)
				offsets = append(offsets, r.Offset())
			}
			if r.Offset() != int64(len(seg.log)) {
				t.Fatalf("Offset at the end %d, the log has %d bytes", r.Offset(), len(seg.log))
			}
			for i := 0; i < len(entries); i += 1 + len(entries)/23 {
				var rest []Entry
				for e, err := range Entries(bytes.NewReader(seg.log[offsets[i]:]), seg.opts) {
					if err != nil {
						t.Fatal(err)
					}
					rest = append(rest, e)
				}
				if diff := cmp.Diff(entries[i+1:], rest, timeEqual); diff != "" {
					t.Fatalf("from the offset after entry %d (-whole +resumed):\n%s", i, diff)
				}
			}
		})
	}
}

// validUTF8 reports whether every text field of e is valid UTF-8, which
// JSON needs to keep it as it is.
func validUTF8(e *Entry) bool {
	for _, s := range []string{e.Remote, e.User, e.Database, e.Application, e.SessionID, e.Command, e.ObjectType, e.ObjectName, e.Statement, e.Parameter} {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}
