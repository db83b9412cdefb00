package auroratest

import (
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request decoding. Each action's request is a struct whose fields are the
// parameters it accepts, so what an action accepts is declared once, next
// to its handler:
//
//	type createDBInstanceIn struct {
//		DBInstanceIdentifier string `rds:",required"`
//		PromotionTier        *int
//		Tags                 []tagIn `rds:",list=Tag"`
//	}
//
// A field is the parameter of its name (or the name its rds tag gives).
// Kinds: string; bool, int and time.Time (ISO 8601), plain (absent is the
// zero value) or as pointers (absent is nil); a list ([]T with
// list=Member: Name.Member.1, Name.Member.2, ..., and "Name=" for an empty
// list, as the SDK's Query encoder writes it), a struct (Name.Field), and
// embedded structs, whose fields are the parameters of the outer one.
// "required" makes an absent or empty parameter a MissingParameter error.
//
// Every form key must be consumed by a field: anything else (an RDS
// parameter the emulator does not emulate, a misspelling, a member a
// structure does not have) is refused by name, so no option is silently
// ignored.

// schema is the decoded form of a request struct type.
type schema struct {
	fields []fieldSpec
}

type fieldSpec struct {
	name     string // parameter name
	index    []int  // reflect field index
	required bool
	member   string  // list member name
	elem     *schema // for lists of structs and structs
	kind     fieldKind
}

type fieldKind int

const (
	fString fieldKind = iota
	fBool
	fInt
	fTime
	fStruct
	fList
)

var (
	timeType    = reflect.TypeFor[time.Time]()
	schemaCache sync.Map // reflect.Type -> *schema
)

// schemaOf builds (once per type) the schema of a request struct type.
// A type it cannot decode is a programming error: it panics, at
// registration.
func schemaOf(t reflect.Type) *schema {
	if s, ok := schemaCache.Load(t); ok {
		return s.(*schema)
	}
	s := &schema{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			inner := schemaOf(f.Type)
			for _, fs := range inner.fields {
				fs.index = append([]int{i}, fs.index...)
				s.fields = append(s.fields, fs)
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		fs := fieldSpec{name: f.Name, index: []int{i}}
		name, opts, _ := strings.Cut(f.Tag.Get("rds"), ",")
		if name != "" {
			fs.name = name
		}
		for _, o := range strings.Split(opts, ",") {
			switch {
			case o == "required":
				fs.required = true
			case strings.HasPrefix(o, "list="):
				fs.member = strings.TrimPrefix(o, "list=")
			case o == "":
			default:
				panic(fmt.Sprintf("auroratest: field %s.%s: unknown rds tag option %q", t, f.Name, o))
			}
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft == timeType:
			fs.kind = fTime
		case ft.Kind() == reflect.String:
			fs.kind = fString
		case ft.Kind() == reflect.Bool:
			fs.kind = fBool
		case ft.Kind() == reflect.Int:
			fs.kind = fInt
		case ft.Kind() == reflect.Struct:
			fs.kind, fs.elem = fStruct, schemaOf(ft)
		case ft.Kind() == reflect.Slice && fs.member != "":
			fs.kind = fList
			if et := ft.Elem(); et.Kind() == reflect.Struct {
				fs.elem = schemaOf(et)
			} else if et.Kind() != reflect.String {
				panic(fmt.Sprintf("auroratest: field %s.%s: lists hold strings or structs", t, f.Name))
			}
		default:
			panic(fmt.Sprintf("auroratest: field %s.%s: cannot decode %s (a list needs list=Member)", t, f.Name, f.Type))
		}
		s.fields = append(s.fields, fs)
	}
	schemaCache.Store(t, s)
	return s
}

// params lists the top-level parameter names, for error messages.
func (s *schema) params() []string {
	out := make([]string, len(s.fields))
	for i, f := range s.fields {
		out[i] = f.name
	}
	return out
}

// decoder decodes one form, remembering which keys it consumed.
type decoder struct {
	form url.Values
	used map[string]bool
}

// decodeForm fills dst (a pointer to a request struct) from form and
// refuses keys no field consumed. action names the action in errors.
func decodeForm(action string, form url.Values, dst any, ignore ...string) error {
	v := reflect.ValueOf(dst).Elem()
	s := schemaOf(v.Type())
	d := &decoder{form: form, used: map[string]bool{}}
	for _, k := range ignore {
		d.used[k] = true
	}
	if err := d.decodeStruct("", s, v); err != nil {
		return err
	}
	var unknown []string
	for k := range form {
		if !d.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return errInvalidValue("auroratest does not emulate the parameter %s of %s; it accepts: %s.",
			unknown[0], action, strings.Join(s.params(), ", "))
	}
	return nil
}

func (d *decoder) get(key string) (string, bool) {
	vals, ok := d.form[key]
	if !ok || len(vals) == 0 {
		return "", false
	}
	d.used[key] = true
	return vals[0], true
}

// present reports whether any key starts with prefix+".".
func (d *decoder) present(prefix string) bool {
	p := prefix + "."
	for k := range d.form {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

func (d *decoder) decodeStruct(prefix string, s *schema, v reflect.Value) error {
	for _, f := range s.fields {
		key := f.name
		if prefix != "" {
			key = prefix + "." + f.name
		}
		fv := v.FieldByIndex(f.index)
		ok, err := d.decodeField(key, f, fv)
		if err != nil {
			return err
		}
		if !ok && f.required {
			return errMissing(key)
		}
	}
	return nil
}

// decodeField decodes one field; ok reports whether the parameter was
// given (and, for required strings, not empty).
func (d *decoder) decodeField(key string, f fieldSpec, fv reflect.Value) (ok bool, err error) {
	switch f.kind {
	case fStruct:
		if !d.present(key) {
			return false, nil
		}
		target := fv
		if fv.Kind() == reflect.Pointer {
			fv.Set(reflect.New(fv.Type().Elem()))
			target = fv.Elem()
		}
		return true, d.decodeStruct(key, f.elem, target)
	case fList:
		return d.decodeList(key, f, fv)
	}
	raw, given := d.get(key)
	if !given {
		return false, nil
	}
	target := fv
	if fv.Kind() == reflect.Pointer {
		target = reflect.New(fv.Type().Elem()).Elem()
	}
	switch f.kind {
	case fString:
		target.SetString(raw)
		if raw == "" {
			given = false
		}
	case fBool:
		switch strings.ToLower(raw) {
		case "true":
			target.SetBool(true)
		case "false":
			target.SetBool(false)
		default:
			return true, errInvalidValue("Invalid value %q for %s: use true or false.", raw, key)
		}
	case fInt:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return true, errInvalidValue("Invalid value %q for %s: not an integer.", raw, key)
		}
		target.SetInt(int64(n))
	case fTime:
		t, err := parseTime(raw)
		if err != nil {
			return true, errInvalidValue("Invalid value %q for %s: not an ISO 8601 time.", raw, key)
		}
		target.Set(reflect.ValueOf(t))
	}
	if fv.Kind() == reflect.Pointer {
		fv.Set(target.Addr())
	}
	return given, nil
}

// parseTime reads the ISO 8601 times the SDKs send.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time: %q", s)
}

func (d *decoder) decodeList(key string, f fieldSpec, fv reflect.Value) (bool, error) {
	given := false
	if v, ok := d.get(key); ok {
		// "Name=" is an empty list.
		if v != "" {
			return true, errInvalidValue("Invalid value for %s: a list is sent as %s.%s.N.", key, key, f.member)
		}
		given = true
	}
	p := key + "." + f.member + "."
	idxs := map[int]bool{}
	for k := range d.form {
		rest, ok := strings.CutPrefix(k, p)
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(n)
		if err != nil || i < 1 {
			return true, errInvalidValue("Invalid list index in %s.", k)
		}
		idxs[i] = true
	}
	order := make([]int, 0, len(idxs))
	for i := range idxs {
		order = append(order, i)
	}
	slices.Sort(order)
	out := reflect.MakeSlice(fv.Type(), 0, len(order))
	for _, i := range order {
		ek := p + strconv.Itoa(i)
		ev := reflect.New(fv.Type().Elem()).Elem()
		if f.elem != nil {
			if err := d.decodeStruct(ek, f.elem, ev); err != nil {
				return true, err
			}
		} else {
			s, _ := d.get(ek)
			ev.SetString(s)
		}
		out = reflect.Append(out, ev)
	}
	if len(order) > 0 {
		given = true
	}
	fv.Set(out)
	return given, nil
}
