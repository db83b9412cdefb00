// Package redact gives every type that holds a secret the same printed
// forms: whatever fmt verb, GoString, slog or JSON asks for, the type's
// redacted description comes out, never the secret.
package redact

import (
	"fmt"
	"strconv"
)

// Format writes s, the value's redacted description, for every verb: %q
// quotes it, %#v writes goString, the others write s as it is. A type
// that holds a secret implements fmt.Formatter with it:
//
//	func (c T) Format(f fmt.State, verb rune) { redact.Format(f, verb, c.String(), c.GoString()) }
func Format(f fmt.State, verb rune, s, goString string) {
	switch {
	case verb == 'q':
		fmt.Fprint(f, strconv.Quote(s))
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, goString)
	default:
		fmt.Fprint(f, s)
	}
}

// GoString writes the Go-syntax-like form of a redacted value:
// typeName("description").
func GoString(typeName, s string) string { return typeName + "(" + strconv.Quote(s) + ")" }
