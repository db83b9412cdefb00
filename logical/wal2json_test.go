package logical

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Records as wal2json 2.x writes them with format-version 2,
// include-timestamp, include-type-oids and include-pk (copied from a
// PostgreSQL 15 server).
const (
	w2jInsert = `{"action":"I","xid":727,"timestamp":"2026-11-21 17:50:27.20562+00","lsn":"0/151A690","schema":"public","table":"t","columns":[{"name":"id","type":"integer","typeoid":23,"value":1},{"name":"name","type":"text","typeoid":25,"value":"a\"b'c"},{"name":"amount","type":"numeric","typeoid":1700,"value":1.50},{"name":"flag","type":"boolean","typeoid":16,"value":true},{"name":"js","type":"jsonb","typeoid":3802,"value":"{\"x\": 1}"},{"name":"b","type":"bytea","typeoid":17,"value":"0102"},{"name":"n","type":"text","typeoid":25,"value":null}],"pk":[{"name":"id","type":"integer","typeoid":23}]}`
	w2jUpdate = `{"action":"U","xid":728,"timestamp":"2026-11-21 17:50:27.206212+05:30","lsn":"0/151A7F0","schema":"public","table":"t","columns":[{"name":"id","type":"integer","typeoid":23,"value":2},{"name":"name","type":"text","typeoid":25,"value":"z"}],"identity":[{"name":"id","type":"integer","typeoid":23,"value":1}],"pk":[{"name":"id","type":"integer","typeoid":23}]}`
	w2jDelete = `{"action":"D","xid":729,"lsn":"0/151A900","schema":"public","table":"t","identity":[{"name":"id","type":"integer","typeoid":23,"value":2}]}`
	w2jOther  = `{"action":"T","schema":"s","table":"big"}
{"action":"M","transactional":false,"prefix":"pfx","content":"hello"}
{"action":"B","xid":9}
{"action":"C","xid":9}`
)

func TestParseWal2JSON(t *testing.T) {
	ins, err := ParseWal2JSON([]byte(w2jInsert))
	if err != nil {
		t.Fatal(err)
	}
	wantTime := time.Date(2026, 11, 21, 17, 50, 27, 205620000, time.UTC)
	if ins.Kind != KindInsert || ins.XID != 727 || ins.LSN.String() != "0/151A690" || ins.Schema != "public" || ins.Table != "t" ||
		!ins.CommitTime.Equal(wantTime) || !cmp.Equal(ins.PrimaryKey, []string{"id"}) || len(ins.Columns) != 7 || ins.OldKeys != nil {
		t.Errorf("insert = %+v", ins)
	}
	checks := []struct {
		col  string
		typ  string
		text string
		null bool
	}{
		{"id", "integer", "1", false}, {"name", "text", `a"b'c`, false}, {"amount", "numeric", "1.50", false},
		{"flag", "boolean", "true", false}, {"js", "jsonb", `{"x": 1}`, false}, {"b", "bytea", "0102", false}, {"n", "text", "", true},
	}
	for _, c := range checks {
		col, ok := ins.Column(c.col)
		if !ok || col.Type != c.typ {
			t.Errorf("column %s = %+v", c.col, col)
			continue
		}
		text, notNull := col.Value.Text()
		if text != c.text || notNull == c.null || col.Value.IsNull() != c.null {
			t.Errorf("column %s text = %q (%t), want %q (null %t)", c.col, text, notNull, c.text, c.null)
		}
	}
	if id, _ := ins.Column("id"); id.TypeOID != 23 {
		t.Errorf("typeoid = %d", id.TypeOID)
	}
	if v, err := ins.Columns[0].Value.Int64(); err != nil || v != 1 {
		t.Errorf("Int64 = %d, %v", v, err)
	}
	if v, err := ins.Columns[2].Value.Float64(); err != nil || v != 1.5 {
		t.Errorf("Float64 = %v, %v", v, err)
	}
	if v, err := ins.Columns[3].Value.Bool(); err != nil || !v {
		t.Errorf("Bool = %v, %v", v, err)
	}
	if _, err := ins.Columns[6].Value.Int64(); err == nil {
		t.Error("Int64 of NULL did not fail")
	}

	upd, err := ParseWal2JSON([]byte(w2jUpdate))
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := upd.OldKey("id"); upd.Kind != KindUpdate || !ok || k.Value.String() != "1" {
		t.Errorf("update = %+v", upd)
	}
	if _, off := upd.CommitTime.Zone(); off != 5*3600+1800 {
		t.Errorf("update time zone offset = %d", off)
	}
	del, err := ParseWal2JSON([]byte(w2jDelete))
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := del.OldKey("id"); del.Kind != KindDelete || !ok || k.Value.String() != "2" || del.Columns != nil || !del.CommitTime.IsZero() {
		t.Errorf("delete = %+v", del)
	}

	var kinds []ChangeKind
	for c, err := range Wal2JSONChanges(strings.NewReader(w2jInsert + "\n" + w2jOther + "\n")) {
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, c.Kind)
		if c.Kind == KindMessage && (c.Prefix != "pfx" || c.Content != "hello" || c.Transactional) {
			t.Errorf("message = %+v", c)
		}
	}
	if !cmp.Equal(kinds, []ChangeKind{KindInsert, KindTruncate, KindMessage, KindBegin, KindCommit}) {
		t.Errorf("stream kinds = %v", kinds)
	}

	for _, bad := range []string{``, `[]`, `{}`, `{"action":"X"}`, `{"action":"I"}`, `{"action":"I","schema":"s","table":"t","timestamp":"yesterday"}`,
		`{"action":"I","schema":"s","table":"t","columns":[{"name":1}]}`, `{"change":[]}`} {
		if _, err := ParseWal2JSON([]byte(bad)); err == nil {
			t.Errorf("ParseWal2JSON(%s) did not fail", bad)
		}
	}
	n := 0
	for _, err := range Wal2JSONChanges(strings.NewReader(w2jInsert + `{"action":"Q"}` + w2jInsert)) {
		n++
		if n == 2 && err == nil {
			t.Error("a bad record in a stream did not fail")
		}
	}
	if n != 2 {
		t.Errorf("the stream went on after an error: %d items", n)
	}
}

// refParseWal2JSON is the reference the scanner is checked against:
// encoding/json applied key by key (a map keeps the last of duplicate
// keys; a null decodes to the zero value).
func refParseWal2JSON(data []byte) (DataChange, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return DataChange{}, err
	}
	if obj == nil {
		return DataChange{}, errors.New("not an object")
	}
	var r w2jRecord
	str := map[string]*string{"action": &r.Action, "timestamp": &r.Timestamp, "lsn": &r.LSN, "schema": &r.Schema,
		"table": &r.Table, "prefix": &r.Prefix, "content": &r.Content}
	for k, dst := range str {
		if raw, ok := obj[k]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return DataChange{}, err
			}
		}
	}
	if raw, ok := obj["xid"]; ok {
		if err := json.Unmarshal(raw, &r.XID); err != nil {
			return DataChange{}, err
		}
	}
	if raw, ok := obj["transactional"]; ok {
		if err := json.Unmarshal(raw, &r.Transactional); err != nil {
			return DataChange{}, err
		}
	}
	cols := map[string]*[]Column{"columns": &r.Columns, "identity": &r.Identity, "pk": &r.PK}
	for k, dst := range cols {
		raw, ok := obj[k]
		if !ok {
			continue
		}
		var elems []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return DataChange{}, err
		}
		if elems == nil {
			continue // null
		}
		out := []Column{}
		for _, e := range elems {
			var c Column
			for k, dst := range map[string]*string{"name": &c.Name, "type": &c.Type} {
				if raw, ok := e[k]; ok {
					if err := json.Unmarshal(raw, dst); err != nil {
						return DataChange{}, err
					}
				}
			}
			if raw, ok := e["typeoid"]; ok {
				if err := json.Unmarshal(raw, &c.TypeOID); err != nil {
					return DataChange{}, err
				}
			}
			if raw, ok := e["value"]; ok {
				c.Value = Value(raw)
			}
			out = append(out, c)
		}
		*dst = out
	}
	return r.change()
}

func FuzzParseWal2JSON(f *testing.F) {
	for _, s := range []string{w2jInsert, w2jUpdate, w2jDelete, `{"action":"M","content":"\u0000"}`, `{"action":"B"}`,
		`{"action":"I","schema":"s","table":"t","timestamp":"2024-01-01 00:00:00+00"}`,
		`{"action":"I","schema":"s","table":"t","schema":null,"columns":[null,{"name":"\u00e9","value":[1,{"a":null}]}],"xid":4294967295}`,
		` {"action":"D","schema":"s","table":"t","identity":[{"name":"a","value":-1.5e+3}],"x":{"y":[true,false]}} `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseWal2JSON(data)
		ref, refErr := refParseWal2JSON(data)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("%q: scanner error %v, reference error %v", data, err, refErr)
		}
		if err != nil {
			return
		}
		if diff := cmp.Diff(ref, c); diff != "" {
			t.Fatalf("%q: scanner and reference differ (-ref +scanner):\n%s", data, diff)
		}
		switch c.Kind {
		case KindInsert, KindUpdate, KindDelete, KindTruncate:
			if c.Schema == "" || c.Table == "" {
				t.Errorf("a %s without a table was accepted", c.Kind)
			}
		case KindMessage, KindBegin, KindCommit:
		default:
			t.Errorf("unknown kind %q accepted", c.Kind)
		}
		for _, col := range append(c.Columns, c.OldKeys...) {
			if !json.Valid(col.Value) && len(col.Value) > 0 {
				t.Errorf("value %q is not JSON", col.Value)
			}
			col.Value.Text()
		}
	})
}

// TestPeekWal2JSON is the wal2json part of the acceptance tests: an
// insert, an update and a delete read from a real wal2json slot become
// the right typed records.
func TestPeekWal2JSON(t *testing.T) {
	t.Parallel()
	db := newDB(t, pubSrv)
	c := New(db.Pool)
	ctx := testCtx(t)
	t.Cleanup(func() { cleanupReplication(t, nil, c, db.Name) })
	mustExec(t, db.Pool, `CREATE TABLE acct (id int PRIMARY KEY, owner text, balance numeric(12,2), tags text[]);
		CREATE TABLE other (id int PRIMARY KEY);
		CREATE TABLE nokey (a int, b text); ALTER TABLE nokey REPLICA IDENTITY FULL`)
	slot := uniqueName("peek")
	s, err := c.CreateSlot(ctx, slot, PluginWal2JSON)
	if err != nil {
		t.Fatal(err)
	}
	if s.LSN == 0 || s.Plugin != PluginWal2JSON {
		t.Errorf("slot = %+v", s)
	}
	mustExec(t, db.Pool, "INSERT INTO acct VALUES (1, 'ann', 10.50, '{a,b}')")
	mustExec(t, db.Pool, "UPDATE acct SET balance = 99999999.99, owner = NULL WHERE id = 1")
	mustExec(t, db.Pool, "UPDATE acct SET id = 2 WHERE id = 1")
	mustExec(t, db.Pool, "DELETE FROM acct WHERE id = 2")
	mustExec(t, db.Pool, "INSERT INTO other VALUES (7)")
	mustExec(t, db.Pool, "INSERT INTO nokey VALUES (1, 'x'); UPDATE nokey SET b = 'y'")

	changes, err := c.PeekWal2JSON(ctx, slot, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range changes {
		t.Logf("%s %s %d %s.%s cols=%v old=%v", ch.Kind, ch.LSN, ch.XID, ch.Schema, ch.Table, ch.Columns, ch.OldKeys)
	}
	if len(changes) != 7 {
		t.Fatalf("%d changes, want 7", len(changes))
	}
	text := func(cols []Column) map[string]string {
		m := map[string]string{}
		for _, c := range cols {
			v, ok := c.Value.Text()
			if !ok {
				v = "NULL"
			}
			m[c.Name] = v
		}
		return m
	}
	type rec struct {
		Kind    ChangeKind
		Table   string
		Columns map[string]string
		OldKeys map[string]string
	}
	var got []rec
	for _, ch := range changes {
		if ch.XID == 0 || ch.LSN == 0 || ch.CommitTime.IsZero() || ch.Schema != "public" {
			t.Errorf("incomplete record %+v", ch)
		}
		got = append(got, rec{ch.Kind, ch.Table, text(ch.Columns), text(ch.OldKeys)})
	}
	want := []rec{
		{KindInsert, "acct", map[string]string{"id": "1", "owner": "ann", "balance": "10.50", "tags": "{a,b}"}, map[string]string{}},
		{KindUpdate, "acct", map[string]string{"id": "1", "owner": "NULL", "balance": "99999999.99", "tags": "{a,b}"}, map[string]string{"id": "1"}},
		{KindUpdate, "acct", map[string]string{"id": "2", "owner": "NULL", "balance": "99999999.99", "tags": "{a,b}"}, map[string]string{"id": "1"}},
		{KindDelete, "acct", map[string]string{}, map[string]string{"id": "2"}},
		{KindInsert, "other", map[string]string{"id": "7"}, map[string]string{}},
		{KindInsert, "nokey", map[string]string{"a": "1", "b": "x"}, map[string]string{}},
		{KindUpdate, "nokey", map[string]string{"a": "1", "b": "y"}, map[string]string{"a": "1", "b": "x"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if changes[0].PrimaryKey == nil || changes[0].PrimaryKey[0] != "id" {
		t.Errorf("primary key = %v", changes[0].PrimaryKey)
	}
	if col, _ := changes[0].Column("balance"); col.Type != "numeric(12,2)" || col.TypeOID != 1700 {
		t.Errorf("balance column = %+v", col)
	}

	// Peeking does not consume; options filter and bound the read.
	again, err := c.PeekWal2JSON(ctx, slot, &PeekOptions{Tables: []TableName{{"public", "other"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || again[0].Table != "other" {
		t.Errorf("filtered peek = %+v", again)
	}
	withTx, err := c.PeekWal2JSON(ctx, slot, &PeekOptions{Transactions: true, UptoChanges: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(withTx) != 3 || withTx[0].Kind != KindBegin || withTx[1].Kind != KindInsert || withTx[2].Kind != KindCommit {
		t.Errorf("peek with transactions, up to one change = %+v", withTx)
	}

	// Advancing past the delete leaves the rest.
	end, err := c.AdvanceSlot(ctx, slot, withTx[2].LSN)
	if err != nil {
		t.Fatal(err)
	}
	rest, err := c.PeekWal2JSON(ctx, slot, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 6 {
		t.Errorf("after advancing to %s: %d changes, want 6", end, len(rest))
	}

	if _, err := c.PeekWal2JSON(ctx, "no_such_slot", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing slot: %v", err)
	}
	for _, bad := range []*PeekOptions{{UptoChanges: -1}, {Tables: []TableName{{Name: "t"}}}} {
		if _, err := c.PeekWal2JSON(ctx, slot, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("PeekWal2JSON(%+v): %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := c.CreateSlot(ctx, slot, PluginWal2JSON); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("duplicate slot: %v", err)
	}
	if _, err := c.CreateSlot(ctx, "x", "test_decoding"); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown plugin: %v", err)
	}
	if _, err := c.CreateSlot(ctx, "Bad-Name", PluginPgoutput); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad slot name: %v", err)
	}
	pg, err := c.CreateSlot(ctx, uniqueName("pgout"), PluginPgoutput)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DropSlot(ctx, pg.Name); err != nil {
		t.Fatal(err)
	}
}
