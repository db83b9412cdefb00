package jsontext

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzAppendString checks that every string, valid UTF-8 or not, comes
// out exactly as encoding/json writes it (with html) and decodes back to
// what encoding/json decodes (without html).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "<REDACTED> & co", "\x00\x01\b\f\n\r\t\x1f\x7f",
		"caf\u00e9 \u2028\u2029 \U0001F600", "bad \xff\xfe utf-8", strings.Repeat("x", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString(nil, s, true); string(got) != string(want) {
			t.Fatalf("AppendString(%q, html) = %s, encoding/json writes %s", s, got, want)
		}
		plain := AppendString([]byte("prefix:"), s, false)
		if !strings.HasPrefix(string(plain), "prefix:") {
			t.Fatalf("AppendString dropped what dst held: %s", plain)
		}
		var back, wantBack string
		if err := json.Unmarshal(plain[len("prefix:"):], &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: not JSON: %v", s, plain, err)
		}
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Fatalf("AppendString(%q) decodes to %q, want %q", s, back, wantBack)
		}
		if strings.ContainsAny(s, "<>&") && !strings.ContainsAny(string(plain), "<>&") {
			t.Fatalf("without html, <, > and & must stay text: %s", plain)
		}
	})
}
