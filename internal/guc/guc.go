// Package guc reads PostgreSQL setting values (GUCs) the way the server
// does, so that every package compares and validates them alike.
package guc

import "strings"

// ParseBool is PostgreSQL's parse_bool: "on", "off", "true", "false",
// "yes", "no", "1" and "0", case-insensitive, surrounding space ignored,
// and any unambiguous prefix of a word ("t", "y", "of", but not "o"). ok
// is false for anything else.
func ParseBool(s string) (value, ok bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		return false, false
	case s == "1":
		return true, true
	case s == "0":
		return false, true
	case strings.HasPrefix("true", s), strings.HasPrefix("yes", s):
		return true, true
	case strings.HasPrefix("false", s), strings.HasPrefix("no", s):
		return false, true
	case len(s) >= 2 && strings.HasPrefix("on", s):
		return true, true
	case len(s) >= 2 && strings.HasPrefix("off", s):
		return false, true
	}
	return false, false
}
