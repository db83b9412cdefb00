package auroratest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The AWS JSON protocols (awsJson1.0 and awsJson1.1), on the same
// endpoint as the RDS API: POST /, X-Amz-Target: <prefix><Action>, a JSON
// body; JSON results; errors {"__type": code, "Message": text} with HTTP
// 400, or 500 for the service's internal error. Each service the emulator
// serves this way (Secrets Manager, CloudWatch Logs, Performance
// Insights) is one jsonService; they share this dispatcher, the faults of
// faults.go and the member check below.

// jsonService is one AWS service served with a JSON protocol.
type jsonService struct {
	name        string // as in errors: "Secrets Manager"
	prefix      string // of X-Amz-Target: "secretsmanager."
	contentType string // of responses: "application/x-amz-json-1.1"
	actions     map[string]jsonAction
	// memberCode is the error code of a refused request member; empty
	// means InvalidParameterException.
	memberCode string
}

// jsonAction is one emulated action of a JSON service: the request members
// it reads (any other member is refused, so that callers learn about
// unemulated options) and its handler, which receives the JSON body.
type jsonAction struct {
	members []string
	run     func(ctx context.Context, body []byte) (any, error)
}

// isJSONRequest tells a JSON-protocol request from an RDS Query-protocol
// one.
func isJSONRequest(hr *http.Request) bool {
	return hr.Header.Get("X-Amz-Target") != "" || strings.HasPrefix(hr.Header.Get("Content-Type"), "application/x-amz-json")
}

// jsonServiceOf returns the service an X-Amz-Target names, and the action
// name after its prefix.
func (e *Emulator) jsonServiceOf(target string) (*jsonService, string) {
	for _, s := range e.jsonServices {
		if name, ok := strings.CutPrefix(target, s.prefix); ok {
			return s, name
		}
	}
	return nil, ""
}

// jsonActionExists reports whether some JSON service serves the action
// name (for Action's check).
func (e *Emulator) jsonActionExists(name string) bool {
	for _, s := range e.jsonServices {
		if _, ok := s.actions[name]; ok {
			return true
		}
	}
	return false
}

func (e *Emulator) serveJSON(w http.ResponseWriter, hr *http.Request, reqID string) {
	target := hr.Header.Get("X-Amz-Target")
	svc, name := e.jsonServiceOf(target)
	contentType := "application/x-amz-json-1.1"
	if svc != nil {
		contentType = svc.contentType
	}
	if err := e.hooks.beforeCall(hr.Context(), name); err != nil {
		writeJSONError(w, reqID, contentType, err)
		return
	}
	if hr.Method != http.MethodPost {
		writeJSONError(w, reqID, contentType, &apiError{http.StatusMethodNotAllowed, "UnknownOperationException", "Use POST with X-Amz-Target and a JSON body."})
		return
	}
	if svc == nil {
		var served []string
		for _, s := range e.jsonServices {
			served = append(served, s.name+" ("+strings.TrimSuffix(s.prefix, ".")+")")
		}
		writeJSONError(w, reqID, contentType, &apiError{http.StatusBadRequest, "UnknownOperationException",
			fmt.Sprintf("auroratest does not emulate the operation %q: it emulates %s.", target, strings.Join(served, ", "))})
		return
	}
	a, known := svc.actions[name]
	if !known {
		writeJSONError(w, reqID, contentType, errUnknownOperation(http.StatusBadRequest, target, svc.name, svc.actions))
		return
	}
	body, err := readBody(w, hr)
	if err != nil {
		writeJSONError(w, reqID, contentType, err)
		return
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		writeJSONError(w, reqID, contentType, &apiError{http.StatusBadRequest, "SerializationException", "The request body is not a JSON object: " + err.Error()})
		return
	}
	for _, k := range slices.Sorted(maps.Keys(members)) {
		if !slices.Contains(a.members, k) {
			code := cmp.Or(svc.memberCode, "InvalidParameterException")
			writeJSONError(w, reqID, contentType, &apiError{http.StatusBadRequest, code,
				fmt.Sprintf("auroratest does not emulate the member %s of %s; it supports: %s.", k, name, strings.Join(a.members, ", "))})
			return
		}
	}
	out, err := a.run(hr.Context(), body)
	if err != nil {
		writeJSONError(w, reqID, contentType, err)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeJSONError(w, reqID, contentType, &apiError{http.StatusInternalServerError, "InternalServiceError", "encoding the response: " + err.Error()})
		return
	}
	writeBody(w, reqID, contentType, http.StatusOK, b)
}

// writeJSONError writes err as a JSON-protocol error. The API-wide faults
// (Throttling) are given the JSON services' name, ThrottlingException.
func writeJSONError(w http.ResponseWriter, reqID, contentType string, err error) {
	var je *apiError
	if !errors.As(err, &je) {
		je = &apiError{http.StatusInternalServerError, "InternalServiceError", err.Error()}
	}
	code := je.code
	if code == "Throttling" {
		code = "ThrottlingException"
	}
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"Message"`
	}{code, je.message})
	writeBody(w, reqID, contentType, je.status, b)
}

// errUnknownOperation is the error for an operation a service does not
// emulate: it lists those it does.
func errUnknownOperation[A any](status int, op, service string, actions map[string]A) *apiError {
	return &apiError{status, "UnknownOperationException",
		fmt.Sprintf("auroratest does not emulate the operation %q: it emulates %s's %s.", op, service, strings.Join(slices.Sorted(maps.Keys(actions)), ", "))}
}

// readBody reads a request's body, of 1 MiB at most.
func readBody(w http.ResponseWriter, hr *http.Request) ([]byte, error) {
	var body bytes.Buffer
	if _, err := body.ReadFrom(http.MaxBytesReader(w, hr.Body, 1<<20)); err != nil {
		return nil, errSerialization("reading the request body: " + err.Error())
	}
	return body.Bytes(), nil
}

// writeBody writes a response of the JSON or CBOR protocol: its status,
// Content-Type, request ID and body.
func writeBody(w http.ResponseWriter, reqID, contentType string, status int, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-Requestid", reqID)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// decodeMembers reads a request body into v, answering type mismatches
// with SerializationException.
func decodeMembers(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return &apiError{http.StatusBadRequest, "SerializationException", "A request member has the wrong type: " + err.Error()}
	}
	return nil
}

// epoch is a timestamp as the JSON protocols write it: seconds since the
// Unix epoch, with milliseconds.
type epoch time.Time

// MarshalJSON writes the seconds with three decimals.
func (t epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(t).UnixMilli())/1000, 'f', 3, 64)), nil
}

// UnmarshalJSON reads seconds since the epoch, with or without a
// fraction.
func (t *epoch) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("a timestamp must be seconds since the epoch, not %s", b)
	}
	*t = epoch(time.UnixMilli(int64(f * 1000)).UTC())
	return nil
}

func epochPtr(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}
