package params

import (
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
// number, enums without regard to case, lists item by item in order
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
			return equalInt(a, b)
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
