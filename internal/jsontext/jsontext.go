// Package jsontext writes JSON strings without reflection, for the
// packages that stream JSON by hand (pgaudit's JSON lines, extensions'
// backups). It is the SDK's one JSON string escaper.
package jsontext

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// safe[b] reports the ASCII bytes written as they are (with html, <, >
// and & are escaped, as encoding/json does by default).
var safe, safeHTML = func() (t, h [utf8.RuneSelf]bool) {
	for b := byte(0x20); b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
		h[b] = t[b] && b != '<' && b != '>' && b != '&'
	}
	return t, h
}()

// AppendString appends s to dst as a JSON string, as encoding/json writes
// one: control characters, quotes and backslashes escaped, U+2028 and
// U+2029 escaped, invalid UTF-8 replaced by U+FFFD; with html, <, > and &
// are escaped too (encoding/json's default), without it they are kept as
// text.
func AppendString(dst []byte, s string, html bool) []byte {
	table := &safe
	if html {
		table = &safeHTML
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if table[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			// Valid JSON, but not JavaScript.
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
