package extensions

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestSnapshotJSONMatchesMarshal holds appendSnapshotJSON to the bytes
// json.Marshal writes, so the backup format does not depend on which
// encoder wrote it (and a field added to FunctionState without updating
// the encoder fails here).
func TestSnapshotJSONMatchesMarshal(t *testing.T) {
	hostile := "a\"b\\c\x00\x01\x1f\b\f\n\r\t<>&\u2028\u2029\xff\xfe é 😀 $$ '"
	snaps := []backupSnapshot{
		{},
		{
			Created:  time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
			Database: "db " + hostile,
			Versions: []VersionChange{{Name: "plv8", From: "3.1", To: "3.2"}},
			Snapshot: LanguageSnapshot{
				Extensions: []ExtensionState{{Name: "plv8", Schema: "pg_catalog", Owner: hostile}},
				Languages:  []LanguageState{{Name: "plv8", Owner: "o", ACL: []string{"=U/o"}, Comment: hostile}},
				Functions: []FunctionState{
					{Schema: hostile, Name: "f", IdentityArgs: "x integer", Language: "plv8", Kind: "f",
						Definition: "CREATE OR REPLACE FUNCTION f()\n AS $$" + hostile + "$$\n", Owner: "o",
						ACL: []string{"o=X/o", hostile}, Comment: hostile, DependsOnExtensions: []string{"plv8"}},
					{Schema: "s", Name: "g", Kind: "p", ACL: []string{}, DependsOnExtensions: []string{}},
					{},
				},
				Triggers: []TriggerState{
					{Schema: "s", Table: "t", Name: hostile, Definition: "CREATE TRIGGER " + hostile, Enabled: "O", Comment: hostile, Cloned: true, DependsOnExtensions: []string{"plv8"}},
					{DependsOnExtensions: []string{}},
				},
				Defaults: []ColumnDefaultState{{Schema: "s", Table: "t", Column: "c", Expression: hostile}},
			},
		},
		{Snapshot: LanguageSnapshot{Functions: []FunctionState{}, Triggers: []TriggerState{}}},
	}
	for i, bs := range snaps {
		want, err := json.Marshal(&bs)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendSnapshotJSON(nil, &bs)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("snapshot %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func TestStmtMetaMatchesMarshal(t *testing.T) {
	for _, m := range []backupStmtMeta{
		{},
		{Section: "function", Key: `s."f"(x integer) <&> ` + "\n\u2028\xff", Bytes: 1234567},
		{Section: "setup", Bytes: 31},
	} {
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendStmtMeta(nil, m); !bytes.Equal(got, want) {
			t.Errorf("appendStmtMeta(%+v) = %s, json.Marshal = %s", m, got, want)
		}
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c", "\x00\x1f\b\f\n\r\t", "<>&", "\u2028\u2029", "\xff", "é😀", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendJSONString(%q) = %s, json.Marshal = %s", s, got, want)
		}
	})
}
