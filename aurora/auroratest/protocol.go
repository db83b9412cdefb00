package auroratest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// This file is the RDS Query protocol: form-encoded requests
// (Action=...&Version=2014-10-31&Key.Member.N...=...) answered with XML
// documents shaped exactly as aws-sdk-go-v2's awsAwsquery deserializers
// read them.

const (
	apiVersion = "2014-10-31"
	xmlns      = "http://rds.amazonaws.com/doc/2014-10-31/"
)

// apiError is an RDS error response: the HTTP status, the wire code the
// SDK maps to a typed error, and a message.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errInvalidValue(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf(format, args...)}
}

func errInvalidCombination(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterCombination", fmt.Sprintf(format, args...)}
}

func errMissing(name string) *apiError {
	return &apiError{http.StatusBadRequest, "MissingParameter", "The request must contain the parameter " + name}
}

func errClusterNotFound(id string) *apiError {
	return &apiError{http.StatusNotFound, "DBClusterNotFoundFault", "DBCluster " + id + " not found."}
}

func errInstanceNotFound(id string) *apiError {
	return &apiError{http.StatusNotFound, "DBInstanceNotFound", "DBInstance " + id + " not found."}
}

func errGroupNotFound(kind groupKind, name string) *apiError {
	if kind == clusterKind {
		return &apiError{http.StatusNotFound, "DBParameterGroupNotFound", "DBClusterParameterGroup not found: " + name}
	}
	return &apiError{http.StatusNotFound, "DBParameterGroupNotFound", "DBParameterGroup not found: " + name}
}

func errInvalidInstanceState(id, status string) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidDBInstanceState",
		fmt.Sprintf("Instance %s is not in available state (it is %s).", id, status)}
}

func errInvalidClusterState(id, status string) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidDBClusterStateFault",
		fmt.Sprintf("DBCluster %s is not in available state (it is %s).", id, status)}
}

// request is one parsed API call.
type request struct {
	action string
	form   url.Values
}

func (r *request) str(key string) string { return strings.TrimSpace(r.form.Get(key)) }

func (r *request) has(key string) bool { _, ok := r.form[key]; return ok }

// required returns a non-empty string parameter or a MissingParameter
// error naming it.
func (r *request) required(key string) (string, error) {
	v := r.str(key)
	if v == "" {
		return "", errMissing(key)
	}
	return v, nil
}

// optBool reads a boolean parameter; absent means def.
func (r *request) optBool(key string, def bool) (bool, error) {
	if !r.has(key) {
		return def, nil
	}
	b, err := strconv.ParseBool(r.str(key))
	if err != nil {
		return def, errInvalidValue("Invalid value %q for %s: use true or false.", r.str(key), key)
	}
	return b, nil
}

// optInt reads an integer parameter; ok is false when it is absent.
func (r *request) optInt(key string) (n int, ok bool, err error) {
	if !r.has(key) {
		return 0, false, nil
	}
	n, err = strconv.Atoi(r.str(key))
	if err != nil {
		return 0, true, errInvalidValue("Invalid value %q for %s: not an integer.", r.str(key), key)
	}
	return n, true, nil
}

// members reads a list of structures serialized as
// Prefix.N.Field=value (for example Parameters.Parameter.3.ParameterName),
// in index order. Nested lists stay in the field names
// (Values.Value.2).
func (r *request) members(prefix string) []map[string]string {
	byIndex := map[int]map[string]string{}
	p := prefix + "."
	for key, vals := range r.form {
		if !strings.HasPrefix(key, p) || len(vals) == 0 {
			continue
		}
		rest := key[len(p):]
		idxStr, field, _ := strings.Cut(rest, ".")
		idx, err := strconv.Atoi(idxStr)
		if err != nil || idx < 1 {
			continue
		}
		m := byIndex[idx]
		if m == nil {
			m = map[string]string{}
			byIndex[idx] = m
		}
		m[field] = vals[0]
	}
	idxs := make([]int, 0, len(byIndex))
	for i := range byIndex {
		idxs = append(idxs, i)
	}
	sort.Ints(idxs)
	out := make([]map[string]string, 0, len(idxs))
	for _, i := range idxs {
		out = append(out, byIndex[i])
	}
	return out
}

// filter is one entry of a Filters.Filter.N list.
type filter struct {
	name   string
	values []string
}

func (r *request) filters() ([]filter, error) {
	var out []filter
	for _, m := range r.members("Filters.Filter") {
		f := filter{name: m["Name"]}
		type iv struct {
			i int
			v string
		}
		var vals []iv
		for k, v := range m {
			if rest, ok := strings.CutPrefix(k, "Values.Value."); ok {
				i, err := strconv.Atoi(rest)
				if err == nil {
					vals = append(vals, iv{i, v})
				}
			}
		}
		slices.SortFunc(vals, func(a, b iv) int { return a.i - b.i })
		for _, v := range vals {
			f.values = append(f.values, v.v)
		}
		if f.name == "" {
			return nil, errInvalidValue("Filter name must not be empty.")
		}
		if len(f.values) == 0 {
			return nil, errInvalidValue("Filter %s must have at least one value.", f.name)
		}
		out = append(out, f)
	}
	return out, nil
}

// page applies Marker/MaxRecords paging (MaxRecords 20 to 100, default 100)
// to n items: it returns the half-open range to return and the marker of
// the next page ("" on the last page).
func (r *request) page(n int) (from, to int, next string, err error) {
	max := 100
	if v, ok, err := r.optInt("MaxRecords"); err != nil {
		return 0, 0, "", err
	} else if ok {
		if v < 20 || v > 100 {
			return 0, 0, "", errInvalidValue("Invalid value %d for MaxRecords. Must be between 20 and 100", v)
		}
		max = v
	}
	if m := r.str("Marker"); m != "" {
		from, err = decodeMarker(m)
		if err != nil || from > n {
			return 0, 0, "", errInvalidValue("Invalid Marker %q: pass the Marker of a previous response unchanged.", m)
		}
	}
	to = min(from+max, n)
	if to < n {
		next = encodeMarker(to)
	}
	return from, to, next, nil
}

const markerPrefix = "auroratest-page:"

func encodeMarker(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(markerPrefix + strconv.Itoa(offset)))
}

func decodeMarker(m string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil {
		return 0, err
	}
	rest, ok := strings.CutPrefix(string(b), markerPrefix)
	if !ok {
		return 0, fmt.Errorf("not a marker")
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not a marker")
	}
	return n, nil
}

// action describes one API action: the request parameters it reads (the
// first segment of each form key; anything else is refused so that callers
// learn about unemulated options) and its handler.
type action struct {
	params []string
	run    func(*request) (any, error)
}

func (e *Emulator) serveHTTP(w http.ResponseWriter, hr *http.Request) {
	reqID := newRequestID()
	if isJSONRequest(hr) {
		e.serveJSON(w, hr, reqID)
		return
	}
	if hr.Method != http.MethodPost && hr.Method != http.MethodGet {
		writeError(w, reqID, &apiError{http.StatusMethodNotAllowed, "InvalidAction", "Use POST (or GET) with Action and Version parameters."})
		return
	}
	hr.Body = http.MaxBytesReader(w, hr.Body, 1<<20)
	if err := hr.ParseForm(); err != nil {
		writeError(w, reqID, &apiError{http.StatusBadRequest, "MalformedQueryString", "The request body is not a valid form: " + err.Error()})
		return
	}
	req := &request{action: hr.Form.Get("Action"), form: hr.Form}
	if err := e.hooks.beforeCall(hr.Context(), req.action); err != nil {
		writeError(w, reqID, err)
		return
	}
	if req.action == "" {
		writeError(w, reqID, errMissing("Action"))
		return
	}
	if v := hr.Form.Get("Version"); v != apiVersion {
		writeError(w, reqID, errInvalidValue("Unsupported Version %q: the RDS API version is %s.", v, apiVersion))
		return
	}
	a, ok := e.actions[req.action]
	if !ok {
		writeError(w, reqID, &apiError{http.StatusBadRequest, "InvalidAction",
			fmt.Sprintf("The action %s is not valid for this web service (auroratest does not emulate it).", req.action)})
		return
	}
	for key := range req.form {
		if key == "Action" || key == "Version" {
			continue
		}
		first, _, _ := strings.Cut(key, ".")
		if !slices.Contains(a.params, first) {
			writeError(w, reqID, errInvalidValue("auroratest does not emulate the parameter %s of %s; it supports: %s.",
				first, req.action, strings.Join(a.params, ", ")))
			return
		}
	}
	result, err := a.run(req)
	if err != nil {
		writeError(w, reqID, err)
		return
	}
	writeResult(w, reqID, req.action, result)
}

func writeResult(w http.ResponseWriter, reqID, action string, result any) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `<%sResponse xmlns="%s">`, action, xmlns)
	if result != nil {
		enc := xml.NewEncoder(&buf)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			writeError(w, reqID, &apiError{http.StatusInternalServerError, "InternalFailure", "encoding the response: " + err.Error()})
			return
		}
		if err := enc.Flush(); err != nil {
			writeError(w, reqID, &apiError{http.StatusInternalServerError, "InternalFailure", "encoding the response: " + err.Error()})
			return
		}
	}
	fmt.Fprintf(&buf, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, reqID, action)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", reqID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func writeError(w http.ResponseWriter, reqID string, err error) {
	ae, ok := err.(*apiError)
	if !ok {
		ae = &apiError{http.StatusInternalServerError, "InternalFailure", err.Error()}
	}
	typ := "Sender"
	if ae.status >= 500 {
		typ = "Receiver"
	}
	var msg bytes.Buffer
	_ = xml.EscapeText(&msg, []byte(ae.message))
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", reqID)
	w.WriteHeader(ae.status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		xmlns, typ, ae.code, msg.String(), reqID)
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
