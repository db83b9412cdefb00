package auroratest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"reflect"
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

// apiError is an error response of any of the emulator's protocols: the
// HTTP status, the wire code the SDK maps to a typed error, and a
// message. The RDS Query protocol writes the code in its XML error
// (writeError), the JSON protocols as __type (writeJSONError; the
// Throttling fault becomes ThrottlingException there), RPC v2 CBOR in
// X-Amzn-Query-Error, with the service's error shape for the code as
// __type (writeCBORError). For CloudWatch the code is the awsQuery code
// (InvalidParameterValue), which the CBOR and JSON services report.
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

// Paging tokens (RDS markers, CloudWatch NextTokens) are opaque to
// callers: a prefix naming their kind, then their payload, in base64.

func encodeToken(prefix, payload string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(prefix + payload))
}

// decodeToken returns the payload of a token made with prefix.
func decodeToken(prefix, tok string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	return strings.CutPrefix(string(b), prefix)
}

const markerPrefix = "auroratest-page:"

func encodeMarker(offset int) string { return encodeToken(markerPrefix, strconv.Itoa(offset)) }

func decodeMarker(m string) (int, error) {
	rest, ok := decodeToken(markerPrefix, m)
	if !ok {
		return 0, fmt.Errorf("not a marker")
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not a marker")
	}
	return n, nil
}

// action is one RDS API action (or one CloudWatch operation, of
// cborproto.go): the struct type its request decodes into (which
// declares the parameters it accepts; see decode.go and cborDecode) and
// its handler.
type action struct {
	input reflect.Type
	run   func(ctx context.Context, e *Emulator, in any) (any, error)
}

// actions are the emulated RDS actions by name: the whole list of what
// the emulator serves, in one place. Each entry names the file that
// implements the action.
var actions = actionTable(
	// certs.go
	handle("DescribeCertificates", (*Emulator).describeCertificates),
	handle("ModifyCertificates", (*Emulator).modifyCertificates),
	handle("DescribePendingMaintenanceActions", (*Emulator).describePendingMaintenanceActions),
	handle("ApplyPendingMaintenanceAction", (*Emulator).applyPendingMaintenanceAction),
	// clusters.go
	handle("CreateDBCluster", (*Emulator).createDBCluster),
	handle("DeleteDBCluster", (*Emulator).deleteDBCluster),
	handle("DescribeDBClusters", (*Emulator).describeDBClusters),
	handle("ModifyDBCluster", (*Emulator).modifyDBCluster),
	handle("StopDBCluster", (*Emulator).stopDBCluster),
	handle("StartDBCluster", (*Emulator).startDBCluster),
	// endpoints.go
	handle("CreateDBClusterEndpoint", (*Emulator).createDBClusterEndpoint),
	handle("ModifyDBClusterEndpoint", (*Emulator).modifyDBClusterEndpoint),
	handle("DeleteDBClusterEndpoint", (*Emulator).deleteDBClusterEndpoint),
	handle("DescribeDBClusterEndpoints", (*Emulator).describeDBClusterEndpoints),
	// engineversions.go
	handle("DescribeDBEngineVersions", (*Emulator).describeDBEngineVersions),
	handle("DescribeDBMajorEngineVersions", (*Emulator).describeDBMajorEngineVersions),
	handle("DescribeOrderableDBInstanceOptions", (*Emulator).describeOrderableDBInstanceOptions),
	// events.go
	handle("DescribeEvents", (*Emulator).describeEvents),
	// failover.go
	handle("FailoverDBCluster", (*Emulator).failoverDBCluster),
	// globalclusters.go
	handle("DescribeGlobalClusters", (*Emulator).describeGlobalClusters),
	// groups.go
	handle("CreateDBClusterParameterGroup", (*Emulator).createDBClusterParameterGroup),
	handle("CreateDBParameterGroup", (*Emulator).createDBParameterGroup),
	handle("DeleteDBClusterParameterGroup", (*Emulator).deleteDBClusterParameterGroup),
	handle("DeleteDBParameterGroup", (*Emulator).deleteDBParameterGroup),
	handle("DescribeDBClusterParameterGroups", (*Emulator).describeDBClusterParameterGroups),
	handle("DescribeDBParameterGroups", (*Emulator).describeDBParameterGroups),
	handle("ModifyDBClusterParameterGroup", (*Emulator).modifyDBClusterParameterGroup),
	handle("ModifyDBParameterGroup", (*Emulator).modifyDBParameterGroup),
	handle("ResetDBClusterParameterGroup", (*Emulator).resetDBClusterParameterGroup),
	handle("ResetDBParameterGroup", (*Emulator).resetDBParameterGroup),
	handle("DescribeDBClusterParameters", (*Emulator).describeDBClusterParameters),
	handle("DescribeDBParameters", (*Emulator).describeDBParameters),
	handle("DescribeEngineDefaultClusterParameters", (*Emulator).describeEngineDefaultClusterParameters),
	handle("DescribeEngineDefaultParameters", (*Emulator).describeEngineDefaultParameters),
	// instances.go
	handle("CreateDBInstance", (*Emulator).createDBInstance),
	handle("DeleteDBInstance", (*Emulator).deleteDBInstance),
	handle("DescribeDBInstances", (*Emulator).describeDBInstances),
	handle("ModifyDBInstance", (*Emulator).modifyDBInstance),
	// logs.go
	handle("DescribeDBLogFiles", (*Emulator).describeDBLogFiles),
	handle("DownloadDBLogFilePortion", (*Emulator).downloadDBLogFilePortion),
	// reboot.go
	handle("RebootDBInstance", (*Emulator).rebootDBInstance),
	// snapshots.go
	handle("CreateDBClusterSnapshot", (*Emulator).createDBClusterSnapshot),
	handle("DescribeDBClusterSnapshots", (*Emulator).describeDBClusterSnapshots),
	handle("CopyDBClusterSnapshot", (*Emulator).copyDBClusterSnapshot),
	handle("DeleteDBClusterSnapshot", (*Emulator).deleteDBClusterSnapshot),
	handle("RestoreDBClusterFromSnapshot", (*Emulator).restoreDBClusterFromSnapshot),
	handle("RestoreDBClusterToPointInTime", (*Emulator).restoreDBClusterToPointInTime),
	// subnetgroups.go
	handle("DescribeDBSubnetGroups", (*Emulator).describeDBSubnetGroups),
	// tags.go
	handle("AddTagsToResource", (*Emulator).addTagsToResource),
	handle("RemoveTagsFromResource", (*Emulator).removeTagsFromResource),
	handle("ListTagsForResource", (*Emulator).listTagsForResource),
)

// namedAction is one entry of the actions table.
type namedAction struct {
	name string
	action
}

// handle makes the table entry of an action whose request decodes into an
// In and whose handler is an Emulator method: handle("DescribeDBClusters",
// (*Emulator).describeDBClusters).
func handle[In any](name string, run func(e *Emulator, ctx context.Context, in *In) (any, error)) namedAction {
	schemaOf(reflect.TypeFor[In]()) // a request type it cannot decode fails here, at init
	return entry(name, run)
}

// entry makes the table entry of an action whose input is an In, for
// any protocol's decoder.
func entry[In any](name string, run func(e *Emulator, ctx context.Context, in *In) (any, error)) namedAction {
	return namedAction{name, action{input: reflect.TypeFor[In](), run: func(ctx context.Context, e *Emulator, in any) (any, error) {
		return run(e, ctx, in.(*In))
	}}}
}

// actionTable indexes the entries by name; a name listed twice panics at
// init.
func actionTable(list ...namedAction) map[string]action {
	m := make(map[string]action, len(list))
	for _, a := range list {
		if _, dup := m[a.name]; dup {
			panic("auroratest: action " + a.name + " listed twice")
		}
		m[a.name] = a.action
	}
	return m
}

func (e *Emulator) serveHTTP(w http.ResponseWriter, hr *http.Request) {
	if e.serveCompleteLogFile(w, hr) { // the REST path of logs.go
		return
	}
	reqID := newRequestID()
	if isCBORRequest(hr) {
		e.serveCBOR(w, hr, reqID)
		return
	}
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
	name := hr.Form.Get("Action")
	if err := e.hooks.beforeCall(hr.Context(), name); err != nil {
		writeError(w, reqID, err)
		return
	}
	if name == "" {
		writeError(w, reqID, &apiError{http.StatusBadRequest, "MissingAction", "The request must contain the parameter Action."})
		return
	}
	if v := hr.Form.Get("Version"); v != apiVersion {
		writeError(w, reqID, errInvalidValue("Unsupported Version %q: the RDS API version is %s.", v, apiVersion))
		return
	}
	a, ok := actions[name]
	if !ok {
		writeError(w, reqID, &apiError{http.StatusBadRequest, "InvalidAction",
			fmt.Sprintf("The action %s is not valid for this web service (auroratest does not emulate it).", name)})
		return
	}
	in := reflect.New(a.input).Interface()
	if err := decodeForm(name, hr.Form, in, "Action", "Version"); err != nil {
		writeError(w, reqID, err)
		return
	}
	result, err := a.run(hr.Context(), e, in)
	if err != nil {
		writeError(w, reqID, err)
		return
	}
	writeResult(w, reqID, name, result)
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
