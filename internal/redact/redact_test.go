package redact

import (
	"fmt"
	"testing"
)

type secretful struct{ pw string }

func (s secretful) String() string                { return "secretful(REDACTED)" }
func (s secretful) GoString() string              { return GoString("x.Secretful", s.String()) }
func (s secretful) Format(f fmt.State, verb rune) { Format(f, verb, s.String(), s.GoString()) }

func TestFormatEveryVerb(t *testing.T) {
	v := secretful{pw: "hunter2"}
	for verb, want := range map[string]string{
		"%v": "secretful(REDACTED)", "%+v": "secretful(REDACTED)", "%s": "secretful(REDACTED)",
		"%q": `"secretful(REDACTED)"`, "%#v": `x.Secretful("secretful(REDACTED)")`,
		"%d": "secretful(REDACTED)", "%x": "secretful(REDACTED)",
	} {
		if got := fmt.Sprintf(verb, v); got != want {
			t.Errorf("%s = %q, want %q", verb, got, want)
		}
	}
	if got := fmt.Sprintf("%+v", struct{ S secretful }{v}); got != "{S:secretful(REDACTED)}" {
		t.Errorf("in a struct: %q", got)
	}
}
