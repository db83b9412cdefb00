package auroratest

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// The Smithy RPC v2 CBOR protocol, as aws-sdk-go-v2's CloudWatch client
// (service/cloudwatch v1.76.0 and later) speaks it: POST
// /service/<service>/operation/<Operation> with the headers
// Smithy-Protocol: rpc-v2-cbor and Content-Type: application/cbor, the
// input structure as a CBOR map keyed by member name; the output likewise,
// timestamps as CBOR tag 1 around epoch seconds. Errors are maps
// {"__type": "<namespace>#<Shape>", "message": text} with the shape's HTTP
// status; since CloudWatch is awsQuery-compatible, the
// X-Amzn-Query-Error header ("<code>;Sender") carries the error code the
// SDK reports (InvalidParameterValue, ResourceNotFound, Throttling, ...).
//
// Requests decode into tagged Go structs (cborDecode) whose exported
// fields are the members an operation accepts: any other member is
// refused, so callers learn about options the emulator does not emulate.

// cborService is one service served with RPC v2 CBOR.
type cborService struct {
	name      string // as in errors: "CloudWatch"
	id        string // the service shape's name, in the path: "GraniteServiceVersion20100801"
	namespace string // of error shapes: "com.amazonaws.cloudwatch"
	actions   map[string]action
	// errorShapes maps the awsQuery error codes of the service's error
	// shapes to the shapes' names (InvalidParameterValue ->
	// InvalidParameterValueException), for faults given by code.
	errorShapes map[string]string
}

// cborServices are the services served this way.
var cborServices = []*cborService{cloudWatchService}

// isCBORRequest tells an RPC v2 CBOR request from the others.
func isCBORRequest(hr *http.Request) bool {
	return hr.Header.Get("Smithy-Protocol") != "" || strings.HasPrefix(hr.URL.Path, "/service/")
}

// cborActionExists reports whether some CBOR service serves the
// operation (for Action's check).
func cborActionExists(name string) bool {
	for _, s := range cborServices {
		if _, ok := s.actions[name]; ok {
			return true
		}
	}
	return false
}

func (e *Emulator) serveCBOR(w http.ResponseWriter, hr *http.Request, reqID string) {
	var svc *cborService
	rest, _ := strings.CutPrefix(hr.URL.Path, "/service/")
	id, name, _ := strings.Cut(rest, "/operation/")
	for _, s := range cborServices {
		if s.id == id {
			svc = s
		}
	}
	if err := e.hooks.beforeCall(hr.Context(), name); err != nil {
		writeCBORError(w, reqID, svc, err)
		return
	}
	if hr.Method != http.MethodPost {
		writeCBORError(w, reqID, svc, &apiError{http.StatusMethodNotAllowed, "UnknownOperationException", "Use POST /service/<service>/operation/<operation> with a CBOR body."})
		return
	}
	if v := hr.Header.Get("Smithy-Protocol"); v != "rpc-v2-cbor" {
		writeCBORError(w, reqID, svc, &apiError{http.StatusBadRequest, "SerializationException",
			fmt.Sprintf("The Smithy-Protocol header is %q; the RPC v2 CBOR protocol sends rpc-v2-cbor.", v)})
		return
	}
	if svc == nil {
		writeCBORError(w, reqID, nil, &apiError{http.StatusNotFound, "UnknownOperationException",
			fmt.Sprintf("auroratest serves no service %q over RPC v2 CBOR: it serves CloudWatch (%s).", id, cloudWatchService.id)})
		return
	}
	a, ok := svc.actions[name]
	if !ok {
		writeCBORError(w, reqID, svc, errUnknownOperation(http.StatusNotFound, name, svc.name, svc.actions))
		return
	}
	body, err := readBody(w, hr)
	if err != nil {
		writeCBORError(w, reqID, svc, err)
		return
	}
	in := reflect.New(a.input)
	if len(body) > 0 {
		v, err := cbor.Decode(body)
		if err != nil {
			writeCBORError(w, reqID, svc, errSerialization("The request body is not CBOR: "+err.Error()))
			return
		}
		if err := cborDecode(name, "", v, in.Elem()); err != nil {
			writeCBORError(w, reqID, svc, err)
			return
		}
	}
	e.cw.start(e) // the metrics are sampled from the first CloudWatch call on
	out, err := a.run(hr.Context(), e, in.Interface())
	if err != nil {
		writeCBORError(w, reqID, svc, err)
		return
	}
	var b []byte
	if out != nil {
		b = cbor.Encode(cborEncode(reflect.ValueOf(out)))
	} else {
		b = cbor.Encode(cbor.Map{})
	}
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	writeBody(w, reqID, "application/cbor", http.StatusOK, b)
}

func errSerialization(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "SerializationException", msg}
}

// writeCBORError writes err as an RPC v2 CBOR error: the error shape
// (the __type) is the service's shape for the error's awsQuery code
// (InvalidParameterValue -> InvalidParameterValueException), else the
// code itself, so that the SDK decodes the typed error; the code goes in
// X-Amzn-Query-Error. Throttling (a fault of faults.go) is
// ThrottlingException, with the awsQuery code Throttling that the SDK's
// retryer retries.
func writeCBORError(w http.ResponseWriter, reqID string, svc *cborService, err error) {
	var ce *apiError
	if !errors.As(err, &ce) {
		ce = &apiError{http.StatusInternalServerError, "InternalServiceError", err.Error()}
	}
	shape := ce.code
	if ce.code == "Throttling" {
		shape = "ThrottlingException"
	} else if svc != nil && svc.errorShapes[ce.code] != "" {
		shape = svc.errorShapes[ce.code]
	}
	typ := shape
	if svc != nil && !strings.Contains(typ, "#") {
		typ = svc.namespace + "#" + typ
	}
	fault := "Sender"
	if ce.status >= 500 {
		fault = "Receiver"
	}
	b := cbor.Encode(cbor.Map{"__type": cbor.String(typ), "message": cbor.String(ce.message)})
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("X-Amzn-Query-Error", ce.code+";"+fault)
	writeBody(w, reqID, "application/cbor", ce.status, b)
	_, _ = w.Write(b)
}

// The mapping between CBOR values and Go values. A struct is a map keyed
// by its exported fields' names (or a `cbor:"name"` tag); the fields may
// be strings, bools, integers, float64, time.Time (tag 1), pointers to
// these (nil when absent), slices and structs. Encoding omits nil
// pointers and slices, empty strings and zero times.

func memberName(f reflect.StructField) string {
	if n := f.Tag.Get("cbor"); n != "" {
		return n
	}
	return f.Name
}

// cborDecode stores v into dst. op and path name the operation and the
// member, for errors.
func cborDecode(op, path string, v cbor.Value, dst reflect.Value) error {
	return decodeValue(op, path, v, dst, false)
}

// decodeValue is cborDecode; with epochTimes, timestamps may also be
// plain numbers of seconds since the epoch, as the AWS JSON protocols
// write them (see cloudWatchJSON).
func decodeValue(op, path string, v cbor.Value, dst reflect.Value, epochTimes bool) error {
	if _, isNil := v.(*cbor.Nil); isNil {
		return nil
	}
	if _, undef := v.(*cbor.Undefined); undef {
		return nil
	}
	wrong := func(want string) error {
		return errSerialization(fmt.Sprintf("The member %s of %s must be %s, not %T.", path, op, want, v))
	}
	t := dst.Type()
	if t == timeType {
		if f, err := cbor.AsFloat64(v); err == nil && epochTimes {
			v = &cbor.Tag{ID: 1, Value: cbor.Float64(f)}
		}
		tm, err := cbor.AsTime(v)
		if err != nil {
			return wrong("a timestamp (tag 1)")
		}
		dst.Set(reflect.ValueOf(tm.UTC()))
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		if err := decodeValue(op, path, v, p.Elem(), epochTimes); err != nil {
			return err
		}
		dst.Set(p)
	case reflect.String:
		s, ok := v.(cbor.String)
		if !ok {
			return wrong("a string")
		}
		dst.SetString(string(s))
	case reflect.Bool:
		b, ok := v.(cbor.Bool)
		if !ok {
			return wrong("a boolean")
		}
		dst.SetBool(bool(b))
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := cbor.AsInt64(v)
		if err != nil || dst.OverflowInt(n) {
			return wrong("an integer")
		}
		dst.SetInt(n)
	case reflect.Float64:
		f, err := cbor.AsFloat64(v)
		if err != nil {
			return wrong("a number")
		}
		dst.SetFloat(f)
	case reflect.Slice:
		l, ok := v.(cbor.List)
		if !ok {
			return wrong("a list")
		}
		s := reflect.MakeSlice(t, len(l), len(l))
		for i, item := range l {
			if err := decodeValue(op, fmt.Sprintf("%s[%d]", path, i), item, s.Index(i), epochTimes); err != nil {
				return err
			}
		}
		dst.Set(s)
	case reflect.Struct:
		m, ok := v.(cbor.Map)
		if !ok {
			return wrong("a structure")
		}
		fields := map[string]int{}
		var names []string
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				fields[memberName(f)] = i
				names = append(names, memberName(f))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			i, ok := fields[k]
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			if !ok {
				where := op
				if path != "" {
					where = path + " of " + op
				}
				return &apiError{http.StatusBadRequest, "InvalidParameterValue",
					fmt.Sprintf("auroratest does not emulate the member %s of %s; it supports: %s.", k, where, strings.Join(names, ", "))}
			}
			if err := decodeValue(op, sub, m[k], dst.Field(i), epochTimes); err != nil {
				return err
			}
		}
	default:
		panic("auroratest: cborDecode: unsupported type " + t.String())
	}
	return nil
}

// cborEncode returns v as a CBOR value; nil means "omit".
func cborEncode(v reflect.Value) cbor.Value {
	t := v.Type()
	if t == timeType {
		tm := v.Interface().(time.Time)
		if tm.IsZero() {
			return nil
		}
		return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(tm.UnixMilli()) / 1e3)}
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return cborEncode(v.Elem())
	case reflect.String:
		if v.String() == "" {
			return nil
		}
		return cbor.String(v.String())
	case reflect.Bool:
		return cbor.Bool(v.Bool())
	case reflect.Int, reflect.Int32, reflect.Int64:
		n := v.Int()
		if n < 0 {
			return cbor.NegInt(uint64(-n))
		}
		return cbor.Uint(uint64(n))
	case reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			f = 0
		}
		return cbor.Float64(f)
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		l := make(cbor.List, 0, v.Len())
		for i := range v.Len() {
			if item := cborEncode(v.Index(i)); item != nil {
				l = append(l, item)
			}
		}
		return l
	case reflect.Struct:
		m := cbor.Map{}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if item := cborEncode(v.Field(i)); item != nil {
				m[memberName(f)] = item
			}
		}
		return m
	}
	panic("auroratest: cborEncode: unsupported type " + t.String())
}
