package extensions_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgaurora/pgaurora/extensions"
)

func fuzzSeedBackup(t testing.TB) []byte {
	var b bytes.Buffer
	snap := extensions.LanguageSnapshot{
		Extensions: []extensions.ExtensionState{{Name: "plv8", Schema: "pg_catalog", Owner: "master"}},
		Functions: []extensions.FunctionState{{Schema: "app", Name: "f\n-- pgaurora:end", IdentityArgs: "", Language: "plv8", Kind: "f",
			Definition: "CREATE OR REPLACE FUNCTION app.\"f\n-- pgaurora:end\"()\n RETURNS int\n LANGUAGE plv8\nAS $function$\n-- pgaurora:stmt {\"bytes\":1}\nreturn 1;$function$\n",
			Owner:      "master", ACL: []string{"=X/master", "master=X/master"}}},
	}
	err := extensions.WriteBackupForFuzz(&b, snap, [][3]string{
		{"setup", "", "SET check_function_bodies = off"},
		{"function", "app.f()", snap.Functions[0].Definition},
		{"function", "app.f()", `COMMENT ON FUNCTION app."f"() IS 'a;b'`},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLanguageBackupRoundTrip(t *testing.T) {
	seed := fuzzSeedBackup(t)
	b, err := extensions.ReadLanguageBackup(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	if b.Statements() != 3 || b.Database != "fuzz" || len(b.Snapshot.Functions) != 1 {
		t.Fatalf("parsed %+v", b)
	}
	// A marker-like line inside a function body does not confuse the reader.
	if d := cmp.Diff("f\n-- pgaurora:end", b.Snapshot.Functions[0].Name); d != "" {
		t.Error(d)
	}
}

// FuzzReadLanguageBackup: any input either parses or fails with
// ErrBadBackup (or an I/O error), never panics, and never allocates what a
// damaged length field announces.
func FuzzReadLanguageBackup(f *testing.F) {
	seed := fuzzSeedBackup(f)
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte("-- pgaurora language backup, format 1\n-- pgaurora:snapshot {}\n-- pgaurora:stmt {\"section\":\"setup\",\"bytes\":999999999}\nx"))
	f.Add([]byte("-- pgaurora language backup, format 2\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := extensions.ReadLanguageBackup(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, extensions.ErrBadBackup) {
				t.Fatalf("error is not ErrBadBackup: %v", err)
			}
			return
		}
		if b == nil {
			t.Fatal("nil backup without error")
		}
	})
}
