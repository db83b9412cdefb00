package params

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pgaurora/pgaurora/internal/guc"
)

func parseInt(s string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, err == nil
}

// canonicalValue validates v for the catalog parameter and returns it in
// the form sent to the API.
func canonicalValue(spec Spec, v string) (string, error) {
	bad := func(reason string) error {
		e := &ValidationError{Param: spec.Name, Field: "value", Value: v, Reason: reason}
		if spec.Sensitive {
			e.Value = ""
		}
		return e
	}
	switch spec.Type {
	case TypeBool:
		b, ok := guc.ParseBool(v)
		if !ok {
			return "", bad("is not allowed; expected " + spec.Allows())
		}
		if b {
			return "1", nil
		}
		return "0", nil
	case TypeInteger:
		n, ok := parseInt(v)
		if !ok {
			return "", bad("is not allowed; expected " + spec.Allows())
		}
		if n < spec.Min || n > spec.Max {
			return "", bad("is out of range; expected " + spec.Allows())
		}
		return strconv.FormatInt(n, 10), nil
	case TypeEnum:
		t := strings.TrimSpace(v)
		for _, a := range spec.Allowed {
			if strings.EqualFold(a, t) {
				return a, nil
			}
		}
		return "", bad("is not allowed; expected " + spec.Allows())
	case TypeList:
		items, err := parseListItems(v)
		if err != nil {
			return "", bad("is not a valid list: " + err.Error())
		}
		if len(items) == 0 {
			return "", bad("has no items; expected " + spec.Allows() + " (use Service.Reset to return it to the default)")
		}
		if len(spec.Allowed) > 0 {
			for i, it := range items {
				canon, ok := matchFold(spec.Allowed, it)
				if !ok {
					return "", bad("has item " + strconv.Quote(it) + ", which is not allowed; expected " + spec.Allows())
				}
				items[i] = canon
			}
		}
		return LibraryList(items).String(), nil
	default: // TypeString
		if strings.ContainsRune(v, 0) {
			return "", bad("contains a NUL byte")
		}
		return v, nil
	}
}

func matchFold(allowed []string, v string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(a, v) {
			return a, true
		}
	}
	return "", false
}

// EqualValues reports whether two values of the named parameter are the
// same to the engine: booleans by truth (1/on/true/yes), integers by
// number (with the units PostgreSQL accepts, "64MB" = "65536" for a
// parameter in kB, when the catalog knows the parameter's unit), enums without regard to case, lists item by item in order
// (without regard to case), strings exactly. dataType is the API's data
// type ("boolean", "integer", "float", "list", "string") and is used for
// parameters the catalog does not know; when it is empty too, values that
// both read as booleans or both as integers compare as such.
func EqualValues(name, dataType, a, b string) bool {
	if a == b {
		return true
	}
	if spec, ok := Lookup(name); ok {
		switch spec.Type {
		case TypeBool:
			return equalBool(a, b)
		case TypeInteger:
			x, ok1 := parseQuantity(spec.Unit, a)
			y, ok2 := parseQuantity(spec.Unit, b)
			return ok1 && ok2 && x == y
		case TypeEnum:
			return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
		case TypeList:
			return equalList(a, b)
		default:
			return false
		}
	}
	switch dataType {
	case "boolean":
		return equalBool(a, b)
	case "integer":
		return equalInt(a, b)
	case "float":
		x, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
		y, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
		return err1 == nil && err2 == nil && x == y
	case "list":
		return equalList(a, b)
	case "string":
		return false
	}
	return equalBool(a, b) || equalInt(a, b)
}

func equalBool(a, b string) bool {
	x, ok1 := guc.ParseBool(a)
	y, ok2 := guc.ParseBool(b)
	return ok1 && ok2 && x == y
}

func equalInt(a, b string) bool {
	x, ok1 := parseInt(a)
	y, ok2 := parseInt(b)
	return ok1 && ok2 && x == y
}

func equalList(a, b string) bool {
	x, err1 := parseListItems(a)
	y, err2 := parseListItems(b)
	if err1 != nil || err2 != nil || len(x) != len(y) {
		return false
	}
	for i := range x {
		if !strings.EqualFold(x[i], y[i]) {
			return false
		}
	}
	return true
}

// EquivalentValues is EqualValues, except that the lists whose order does
// not change what the engine does ([Spec.Unordered]: shared_preload_libraries,
// rds.allowed_extensions) compare as sets: "pgaudit,pg_stat_statements"
// equals "pg_stat_statements,pgaudit". It is how a drift check compares a
// group with a specification; Diff and Plan keep using EqualValues, so that
// a reordering a caller asks for is still applied.
func EquivalentValues(name, dataType, a, b string) bool {
	if EqualValues(name, dataType, a, b) {
		return true
	}
	spec, ok := Lookup(name)
	if !ok || spec.Type != TypeList || !spec.Unordered {
		return false
	}
	x, err1 := parseListItems(a)
	y, err2 := parseListItems(b)
	if err1 != nil || err2 != nil {
		return false
	}
	norm := func(items []string) []string {
		for i, it := range items {
			items[i] = strings.ToLower(it)
		}
		slices.Sort(items)
		return slices.Compact(items)
	}
	return slices.Equal(norm(x), norm(y))
}

// ToBaseUnit returns value in the base unit of the named catalog
// parameter, as RDS takes it: "64MB" becomes "65536" for
// maintenance_work_mem (kB),
// "5min" becomes "300000" for statement_timeout (ms). The units are
// PostgreSQL's (B, kB, MB, GB, TB; us, ms, s, min, h, d; case matters), a
// fraction is rounded to the nearest base unit as the server rounds it,
// and a value without a unit is returned as given. Values of the other
// catalog parameters are returned as given. A unit of the wrong kind, or
// one the parameter does not take, is an error, and so is a number with a
// unit for a parameter the catalog does not know, whose base unit is not
// known here (give it as RDS lists it, in the base unit).
func ToBaseUnit(name, value string) (string, error) {
	spec, ok := Lookup(name)
	if !ok {
		if _, unit, has := splitQuantity(value); has {
			return "", &ValidationError{Param: name, Field: "value", Value: value,
				Reason: fmt.Sprintf("has the unit %s, but the catalog does not know the parameter's base unit; give the value without a unit, as RDS lists it", unit)}
		}
		return value, nil
	}
	if spec.Type != TypeInteger || spec.Unit == "" {
		return value, nil
	}
	if _, ok := parseInt(value); ok {
		return value, nil
	}
	n, ok := parseQuantity(spec.Unit, value)
	if !ok {
		return "", &ValidationError{Param: spec.Name, Field: "value", Value: value,
			Reason: fmt.Sprintf("is not a number with a unit PostgreSQL accepts for a parameter in %s (%s)", spec.Unit, unitHint(spec.Unit))}
	}
	return strconv.FormatInt(n, 10), nil
}

// A unit's kind and size: memory units in bytes, time units in
// microseconds.
type unitSize struct {
	memory bool
	size   float64
}

// units are PostgreSQL's GUC units (guc.c's memory and time unit tables),
// plus the catalog's spelling "bytes" of the byte unit.
var units = map[string]unitSize{
	"B": {true, 1}, "bytes": {true, 1}, "kB": {true, 1 << 10}, "8kB": {true, 8 << 10},
	"MB": {true, 1 << 20}, "GB": {true, 1 << 30}, "TB": {true, 1 << 40},
	"us": {false, 1}, "ms": {false, 1e3}, "s": {false, 1e6}, "min": {false, 60e6},
	"h": {false, 3600e6}, "d": {false, 86400e6},
}

func unitHint(base string) string {
	if u, ok := units[base]; ok && !u.memory {
		return "us, ms, s, min, h, d"
	}
	return "B, kB, MB, GB, TB"
}

// parseQuantity reads an integer setting whose base unit is base: a
// plain integer in that unit, or a number followed by a unit of the same
// kind, converted and rounded to the nearest base unit.
func parseQuantity(base, s string) (int64, bool) {
	if n, ok := parseInt(s); ok {
		return n, true
	}
	b, ok := units[base]
	if base == "" || !ok {
		return 0, false
	}
	f, unit, ok := splitQuantity(s)
	if !ok {
		return 0, false
	}
	u := units[unit]
	if unit == "bytes" || u.memory != b.memory {
		return 0, false
	}
	// float64(math.MaxInt64) is 2^63, which int64 cannot hold: >= keeps
	// it out, where > let it wrap to a negative number.
	v := math.RoundToEven(f * u.size / b.size)
	if math.IsNaN(v) || v < math.MinInt64 || v >= math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// splitQuantity splits a number followed by one of PostgreSQL's units
// ("64MB", "1.5 s"); ok is false for anything else.
func splitQuantity(s string) (num float64, unit string, ok bool) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' && r != '-' && r != '+' })
	if i <= 0 {
		return 0, "", false
	}
	unit = strings.TrimSpace(t[i:])
	if _, known := units[unit]; !known {
		return 0, "", false
	}
	f, err := strconv.ParseFloat(t[:i], 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, "", false
	}
	return f, unit, true
}
