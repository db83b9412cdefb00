package params

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/pgaurora/pgaurora/internal/guc"
)

// ValidateAgainst checks changes against a group's parameter metadata as
// the RDS API reported it (from [Service.ListParameters]). It refuses
// parameters the group does not list, parameters that are not modifiable,
// immediate changes of static parameters, and values outside AllowedValues:
// numeric ranges and alternatives for integer and float parameters ("0-1",
// "-1-2147483647", "0,5-10"), the listed values for boolean and string
// parameters ("0,1", "md5,scram-sha-256", matched without regard to case),
// and the listed items for list parameters. All problems are returned,
// joined.
func ValidateAgainst(meta []Parameter, changes []Change) error {
	idx := indexParameters(meta)
	var errs []error
	for _, c := range changes {
		p, ok := idx[strings.ToLower(c.Name)]
		if !ok {
			errs = append(errs, &ValidationError{Param: c.Name, Field: "name",
				Reason: "is not a parameter of this group: the RDS API does not list it for the group's family"})
			continue
		}
		if !p.Modifiable {
			errs = append(errs, &ValidationError{Param: c.Name, Field: "name",
				Reason: "is not modifiable: RDS manages this parameter"})
			continue
		}
		if p.ApplyType == Static && c.Method == types.ApplyMethodImmediate {
			errs = append(errs, &ValidationError{Param: c.Name, Field: "method", Value: string(types.ApplyMethodImmediate),
				Reason: "is refused: the API reports the parameter as static; use types.ApplyMethodPendingReboot or leave the method empty"})
			continue
		}
		if err := checkAllowed(p, c.Value); err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrs(errs)
}

func indexParameters(meta []Parameter) map[string]Parameter {
	idx := make(map[string]Parameter, len(meta))
	for _, p := range meta {
		idx[strings.ToLower(p.Name)] = p
	}
	return idx
}

func checkAllowed(p Parameter, v string) error {
	allowed := strings.TrimSpace(p.AllowedValues)
	if allowed == "" {
		return nil
	}
	bad := func(reason string) error {
		e := &ValidationError{Param: p.Name, Field: "value", Value: v, Reason: reason}
		if spec, ok := Lookup(p.Name); ok && spec.Sensitive {
			e.Value = ""
		}
		return e
	}
	switch p.DataType {
	case "integer", "float":
		alts, err := parseNumericAllowed(allowed)
		if err != nil {
			// The API gave something we cannot read; let RDS judge.
			return nil
		}
		var x float64
		if p.DataType == "integer" {
			n, ok := parseInt(v)
			if !ok {
				return bad(fmt.Sprintf("is not an integer; the API allows %s", allowed))
			}
			x = float64(n)
		} else {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return bad(fmt.Sprintf("is not a number; the API allows %s", allowed))
			}
			x = f
		}
		for _, a := range alts {
			if x >= a.lo && x <= a.hi {
				return nil
			}
		}
		return bad(fmt.Sprintf("is out of range; the API allows %s", allowed))
	case "boolean":
		b, ok := guc.ParseBool(v)
		if !ok {
			return bad(fmt.Sprintf("is not a boolean; the API allows %s", allowed))
		}
		want := "0"
		if b {
			want = "1"
		}
		if _, ok := matchFold(splitAllowed(allowed), want); ok {
			return nil
		}
		if _, ok := matchFold(splitAllowed(allowed), strings.TrimSpace(v)); ok {
			return nil
		}
		return bad(fmt.Sprintf("is not allowed; the API allows %s", allowed))
	case "list":
		items, err := parseListItems(v)
		if err != nil {
			return bad("is not a valid list: " + err.Error())
		}
		set := splitAllowed(allowed)
		for _, it := range items {
			if _, ok := matchFold(set, it); !ok {
				return bad(fmt.Sprintf("has item %q, which is not allowed; the API allows %s", it, allowed))
			}
		}
		return nil
	default:
		if _, ok := matchFold(splitAllowed(allowed), strings.TrimSpace(v)); ok {
			return nil
		}
		return bad(fmt.Sprintf("is not allowed; the API allows %s", allowed))
	}
}

func splitAllowed(s string) []string {
	parts := strings.Split(s, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

type numRange struct{ lo, hi float64 }

// parseNumericAllowed reads AllowedValues of a numeric parameter: a comma-
// separated set of numbers and ranges. A range is two numbers joined by a
// hyphen; either may be negative ("-1-2147483647") or use an exponent
// ("0-1.79769e+308").
func parseNumericAllowed(s string) ([]numRange, error) {
	var out []numRange
	for _, part := range splitAllowed(s) {
		if f, err := strconv.ParseFloat(part, 64); err == nil {
			out = append(out, numRange{f, f})
			continue
		}
		split := -1
		for i := 1; i < len(part); i++ {
			if part[i] == '-' && part[i-1] != 'e' && part[i-1] != 'E' {
				split = i
				break
			}
		}
		if split < 0 {
			return nil, fmt.Errorf("cannot read %q", part)
		}
		lo, err1 := strconv.ParseFloat(strings.TrimSpace(part[:split]), 64)
		hi, err2 := strconv.ParseFloat(strings.TrimSpace(part[split+1:]), 64)
		if err1 != nil || err2 != nil || lo > hi {
			return nil, fmt.Errorf("cannot read %q", part)
		}
		out = append(out, numRange{lo, hi})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no values in %q", s)
	}
	return out, nil
}
