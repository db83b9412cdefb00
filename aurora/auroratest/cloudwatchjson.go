package auroratest

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strconv"

	"github.com/aws/smithy-go/encoding/cbor"
)

// CloudWatch in the AWS JSON 1.0 protocol (X-Amz-Target:
// GraniteServiceVersion20100801.<Operation>), which botocore (boto3, the
// AWS CLI) picks for CloudWatch: the same operations as over RPC v2 CBOR,
// through the JSON dispatcher of jsonproto.go. A JSON body becomes the
// CBOR values the operations decode (timestamps are epoch seconds), and
// their output becomes JSON the same way back. Errors carry the awsQuery
// codes (InvalidParameterValue, ResourceNotFound, ...) as __type.

func (e *Emulator) cloudWatchJSON() *jsonService {
	s := &jsonService{name: "CloudWatch", prefix: cloudWatchService.id + ".", contentType: "application/x-amz-json-1.0",
		actions: map[string]jsonAction{}, memberCode: "InvalidParameterValue"}
	for _, name := range slices.Sorted(maps.Keys(cloudWatchService.actions)) {
		a := cloudWatchService.actions[name]
		var members []string
		for i := range a.input.NumField() {
			if f := a.input.Field(i); f.IsExported() {
				members = append(members, memberName(f))
			}
		}
		s.actions[name] = jsonAction{members: members, run: func(ctx context.Context, body []byte) (any, error) {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			var raw any
			if err := dec.Decode(&raw); err != nil {
				return nil, &apiError{400, "SerializationException", "The request body is not JSON: " + err.Error()}
			}
			in := reflect.New(a.input)
			if err := decodeValue(name, "", jsonToValue(raw), in.Elem(), true); err != nil {
				return nil, err
			}
			e.cw.start(e)
			out, err := a.run(ctx, e, in.Interface())
			if err != nil {
				return nil, err
			}
			if out == nil {
				return struct{}{}, nil
			}
			return valueToJSON(cborEncode(reflect.ValueOf(out))), nil
		}}
	}
	return s
}

// jsonToValue turns decoded JSON (with json.Number) into CBOR values.
func jsonToValue(v any) cbor.Value {
	switch x := v.(type) {
	case nil:
		return &cbor.Nil{}
	case bool:
		return cbor.Bool(x)
	case string:
		return cbor.String(x)
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			if n < 0 {
				return cbor.NegInt(uint64(-n))
			}
			return cbor.Uint(uint64(n))
		}
		f, _ := x.Float64()
		return cbor.Float64(f)
	case []any:
		l := make(cbor.List, len(x))
		for i, item := range x {
			l[i] = jsonToValue(item)
		}
		return l
	case map[string]any:
		m := cbor.Map{}
		for k, item := range x {
			m[k] = jsonToValue(item)
		}
		return m
	}
	return &cbor.Undefined{}
}

// valueToJSON turns the CBOR values of an output into JSON values;
// timestamps (tag 1) become epoch seconds.
func valueToJSON(v cbor.Value) any {
	switch x := v.(type) {
	case cbor.String:
		return string(x)
	case cbor.Bool:
		return bool(x)
	case cbor.Uint:
		return uint64(x)
	case cbor.NegInt:
		return -int64(x)
	case cbor.Float64:
		return float64(x)
	case *cbor.Tag:
		return valueToJSON(x.Value)
	case cbor.List:
		l := make([]any, len(x))
		for i, item := range x {
			l[i] = valueToJSON(item)
		}
		return l
	case cbor.Map:
		m := make(map[string]any, len(x))
		for k, item := range x {
			m[k] = valueToJSON(item)
		}
		return m
	}
	return nil
}
