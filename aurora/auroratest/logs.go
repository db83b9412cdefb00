package auroratest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Log files. Each instance's PostgreSQL log (written with RDS's
// log_line_prefix, %t:%r:%u@%d:[%p]:) is served as RDS serves it: hourly
// files named error/postgresql.log.YYYY-MM-DD-HH (UTC), cut from the
// server's one log by the timestamps that start its lines, and further
// files where RotateLog rotated the log. Lines without a timestamp
// (continuations) stay with the line before them. The server log only
// grows: an index of where each file starts and ends is kept per log and
// extended with the bytes written since the last call, so that a call
// reads only the part of the log it returns.
//
// DownloadDBLogFilePortion returns at most 1 MB (RDS's documented limit),
// cut on a UTF-8 character boundary so that the portions join exactly;
// the REST path GET /v13/ or /v19/downloadCompleteLogFile/{instance}/{file}
// streams a whole file, for SigV4-signed requests only.

const (
	logFilePrefix    = "error/postgresql.log."
	maxPortionBytes  = 1 << 20 // DownloadDBLogFilePortion returns at most 1 MB
	defaultLogLines  = 10000
	maxNumberOfLines = 10000
	// logReadChunk is how much of a log the index reads at a time.
	logReadChunk = 4 << 20
)

// logFile is one file: a byte range of the server log.
type logFile struct {
	name        string
	start, end  int
	lastWritten time.Time
	// hour is the hour (YYYY-MM-DD-HH) the file's lines belong to: a
	// stamped line of a later hour starts a new hourly file. Empty for
	// lines before the first stamp.
	hour string
	// lastStamp is the timestamp of the file's last stamped line.
	lastStamp time.Time
}

// rotation is a RotateLog call not applied yet: the file it starts
// begins at the first line that starts a message at or after at.
type rotation struct {
	at   int
	name string
	when time.Time
}

// logIndex is where the files of one server log start and end. Its
// methods are called with mu held.
type logIndex struct {
	mu      sync.Mutex
	scanned int // bytes indexed: the end of the last complete line
	files   []logFile
	names   map[string]bool // the files' names and the pending rotations'
	pending []rotation
}

// logIndexes holds the index of every server log, by path.
var logIndexes sync.Map // string → *logIndex

func indexFor(path string) *logIndex {
	if ix, ok := logIndexes.Load(path); ok {
		return ix.(*logIndex)
	}
	ix, _ := logIndexes.LoadOrStore(path, &logIndex{names: map[string]bool{}})
	return ix.(*logIndex)
}

// logStamp reads the timestamp that starts a line written with RDS's
// prefix ("2006-01-02 15:04:05 UTC:"), without allocating.
func logStamp(line []byte) (time.Time, bool) {
	const layout = "dddd-dd-dd dd:dd:dd UTC:"
	if len(line) < len(layout) {
		return time.Time{}, false
	}
	for i := 0; i < len(layout); i++ {
		c := line[i]
		if layout[i] == 'd' {
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
		} else if c != layout[i] {
			return time.Time{}, false
		}
	}
	n := func(i, w int) int {
		v := 0
		for _, c := range line[i : i+w] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	mo, d, h, mi, s := n(5, 2), n(8, 2), n(11, 2), n(14, 2), n(17, 2)
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 {
		return time.Time{}, false
	}
	return time.Date(n(0, 4), time.Month(mo), d, h, mi, s, 0, time.UTC), true
}

// uniqueName returns name, or name with ".1", ".2", ... when a file has it.
func (ix *logIndex) uniqueName(name string) string {
	if !ix.names[name] {
		return name
	}
	for i := 1; ; i++ {
		if n := name + "." + strconv.Itoa(i); !ix.names[n] {
			return n
		}
	}
}

// open starts a file at off.
func (ix *logIndex) open(name string, off int, hour string) {
	ix.names[name] = true
	ix.files = append(ix.files, logFile{name: name, start: off, end: off, hour: hour})
}

// line indexes the line data[off:end] (end after its newline, if any).
// modTime names the file of lines before the first timestamp.
func (ix *logIndex) line(line []byte, off, end int, modTime time.Time) {
	stamp, stamped := logStamp(line)
	if stamped {
		hour := stamp.Format("2006-01-02-15")
		// Rotations asked for before this message started.
		for len(ix.pending) > 0 && ix.pending[0].at <= off {
			r := ix.pending[0]
			ix.pending = ix.pending[1:]
			if n := len(ix.files); n > 0 {
				ix.files[n-1].lastWritten = r.when
			}
			ix.open(r.name, off, r.when.UTC().Format("2006-01-02-15"))
		}
		if n := len(ix.files); n == 0 || hour > ix.files[n-1].hour {
			if n > 0 {
				cur := &ix.files[n-1]
				cur.lastWritten = stamp
				if !cur.lastStamp.IsZero() {
					cur.lastWritten = cur.lastStamp.Add(time.Second)
				}
			}
			ix.open(ix.uniqueName(logFilePrefix+hour), off, hour)
		}
		ix.files[len(ix.files)-1].lastStamp = stamp
	} else if len(ix.files) == 0 {
		ix.open(ix.uniqueName(logFilePrefix+modTime.UTC().Format("2006-01-02-15")), off, "")
	}
	ix.files[len(ix.files)-1].end = end
}

// logLines is how a server log is cut into lines, for the log files'
// index and for the exported log (cwlogs.go): it calls fn with each line
// of data, its newline included (if any), and where the line starts and
// ends in data, until fn returns false. Unless final, a last line without
// a newline is left for later. It returns where the lines handed over
// end.
func logLines(data []byte, final bool, fn func(line []byte, start, end int) bool) int {
	off := 0
	for off < len(data) {
		nl := bytes.IndexByte(data[off:], '\n')
		if nl < 0 && !final {
			break
		}
		end := len(data)
		if nl >= 0 {
			end = off + nl + 1
		}
		if !fn(data[off:end], off, end) {
			break
		}
		off = end
	}
	return off
}

// feed indexes data, which starts at offset base of the log, line by
// line. Unless final, a last line without a newline is left for later;
// feed returns where the indexed part ends.
func (ix *logIndex) feed(data []byte, base int, modTime time.Time, final bool) int {
	return base + logLines(data, final, func(line []byte, start, end int) bool {
		ix.line(line, base+start, base+end, modTime)
		return true
	})
}

// snapshot returns the files, the newest last written at modTime.
func (ix *logIndex) snapshot(modTime time.Time) []logFile {
	files := append([]logFile(nil), ix.files...)
	if n := len(files); n > 0 {
		files[n-1].lastWritten = modTime
	}
	return files
}

// splitLog cuts a whole server log into files, oldest first. modTime is
// the log's modification time, the last write of the newest file.
func splitLog(data []byte, modTime time.Time) []logFile {
	ix := &logIndex{names: map[string]bool{}}
	ix.feed(data, 0, modTime, true)
	return ix.snapshot(modTime)
}

// update extends the index with what the server wrote since the last
// call and returns the files. A log that shrank (replaced) is indexed
// again from its start.
func (ix *logIndex) update(path string) ([]logFile, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size, modTime := int(fi.Size()), fi.ModTime()
	if size < ix.scanned {
		ix.scanned, ix.files, ix.names, ix.pending = 0, nil, map[string]bool{}, nil
	}
	var buf []byte
	for chunk := logReadChunk; ix.scanned < size; {
		n := min(size-ix.scanned, chunk)
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := f.ReadAt(buf, int64(ix.scanned)); err != nil {
			return nil, err
		}
		next := ix.feed(buf, ix.scanned, modTime, false)
		if next == ix.scanned {
			if ix.scanned+n == size {
				break // a line being written: wait for its end
			}
			chunk *= 2 // a line longer than a chunk
			continue
		}
		ix.scanned = next
	}
	return ix.snapshot(modTime), nil
}

// logPathOf returns the path of an instance's server log.
func (e *Emulator) logPathOf(id string) (string, error) {
	st := e.lock()
	defer st.unlock()
	in, ok := st.instance(e, id)
	if !ok {
		return "", errInstanceNotFound(id)
	}
	return in.logPath(), nil
}

// instanceLog returns the path of an instance's log and its files.
func (e *Emulator) instanceLog(id string) (string, []logFile, error) {
	path, err := e.logPathOf(id)
	if err != nil {
		return "", nil, err
	}
	ix := indexFor(path)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	files, err := ix.update(path)
	if err != nil {
		return "", nil, fmt.Errorf("reading the log of %s: %w", id, err)
	}
	return path, files, nil
}

// instanceLogFile returns the path of an instance's log and one of its
// files, or DBLogFileNotFoundFault.
func (e *Emulator) instanceLogFile(id, name string) (string, logFile, error) {
	path, files, err := e.instanceLog(id)
	if err != nil {
		return "", logFile{}, err
	}
	for _, f := range files {
		if f.name == name {
			return path, f, nil
		}
	}
	return "", logFile{}, &apiError{http.StatusNotFound, "DBLogFileNotFoundFault", "DBLog File: " + name + ", is not found on the DB instance " + id}
}

// RotateLog starts a new log file for a DB instance, as PostgreSQL's log
// rotation does (pg_rotate_logfile(), log_rotation_age): the file being
// written ends, and the next message the server writes starts a file
// named error/postgresql.log.YYYY-MM-DD-HHMM after the time of the call
// (UTC; ".1", ".2", ... added when the name is taken). The file appears in
// DescribeDBLogFiles with that first message, so that no file ever ends
// in the middle of a message. RotateLog returns the new file's name.
// Hourly files go on as before: the first message of the next hour
// starts error/postgresql.log.YYYY-MM-DD-HH.
func (e *Emulator) RotateLog(instanceID string) (string, error) {
	path, err := e.logPathOf(instanceID)
	if err != nil {
		return "", fmt.Errorf("auroratest: RotateLog: %w", err)
	}
	ix := indexFor(path)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if _, err := ix.update(path); err != nil {
		return "", fmt.Errorf("auroratest: RotateLog %s: %w", instanceID, err)
	}
	size := 0
	if fi, err := os.Stat(path); err == nil {
		size = int(fi.Size())
	}
	now := time.Now()
	name := ix.uniqueName(logFilePrefix + now.UTC().Format("2006-01-02-1504"))
	ix.names[name] = true
	ix.pending = append(ix.pending, rotation{at: size, name: name, when: now})
	return name, nil
}

// AppendLog writes text to the end of a DB instance's PostgreSQL log, as
// if its server had written it, in one write: whole lines in the server's
// format (RDS's log_line_prefix, a tab after each newline inside a
// message), each ending with a newline. Tests use it to put large logs
// in place quickly (RDS serves them as it serves the server's own lines);
// the server keeps writing to the same log.
func (e *Emulator) AppendLog(instanceID string, text []byte) error {
	path, err := e.logPathOf(instanceID)
	if err != nil {
		return fmt.Errorf("auroratest: AppendLog: %w", err)
	}
	if len(text) > 0 && text[len(text)-1] != '\n' {
		return errors.New("auroratest: AppendLog: the text must end with a newline")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("auroratest: AppendLog %s: %w", instanceID, err)
	}
	_, err = f.Write(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("auroratest: AppendLog %s: %w", instanceID, err)
	}
	return nil
}

type describeLogFilesIn struct {
	DBInstanceIdentifier string `rds:",required"`
	FilenameContains     string
	FileLastWritten      int64str
	FileSize             int64str
	listIn
}

// logFileFilters are DescribeDBLogFiles' filters: none (use
// FilenameContains, FileLastWritten or FileSize).
var logFileFilters = filterSet[xLogFile]{}

func (e *Emulator) describeDBLogFiles(ctx context.Context, in *describeLogFilesIn) (any, error) {
	since, err := in.FileLastWritten.int64("FileLastWritten")
	if err != nil {
		return nil, err
	}
	larger, err := in.FileSize.int64("FileSize")
	if err != nil {
		return nil, err
	}
	_, files, err := e.instanceLog(in.DBInstanceIdentifier)
	if err != nil {
		return nil, err
	}
	var list []xLogFile
	for _, f := range files {
		size := int64(f.end - f.start)
		lw := f.lastWritten.UnixMilli()
		if in.FilenameContains != "" && !strings.Contains(f.name, in.FilenameContains) || lw < since || size < larger {
			continue
		}
		list = append(list, xLogFile{LogFileName: f.name, LastWritten: lw, Size: size})
	}
	items, next, err := describe(list, logFileFilters, in.Filters, in.pageIn)
	if err != nil {
		return nil, err
	}
	var res xDescribeDBLogFilesResult
	res.Marker, res.DescribeDBLogFiles.Items = next, items
	return res, nil
}

// int64str is a 64-bit integer parameter (a POSIX time in milliseconds,
// a byte count); "" when absent.
type int64str string

func (v int64str) int64(name string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, errInvalidValue("Invalid %s %q: not an integer.", name, string(v))
	}
	return n, nil
}

type downloadLogIn struct {
	DBInstanceIdentifier string `rds:",required"`
	LogFileName          string `rds:",required"`
	Marker               *string
	NumberOfLines        *int
}

// readLogRange reads n bytes of the log at path from off.
func readLogRange(path string, off, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, int64(off)); err != nil {
		return nil, err
	}
	return buf, nil
}

// downloadDBLogFilePortion returns lines of a log file. Without a Marker
// it returns the last NumberOfLines lines (default 10,000); with Marker
// "0" it reads from the start, and each response's Marker continues where
// it stopped. At the end of the file the response has no Marker and
// AdditionalDataPending is false, so the SDK's paginator stops. A
// response holds at most 1 MB, cut at a line's end or, for longer
// stretches, on a UTF-8 character boundary (the next response starts
// where it stopped, in the middle of the line).
func (e *Emulator) downloadDBLogFilePortion(ctx context.Context, in *downloadLogIn) (any, error) {
	lines := defaultLogLines
	if n := in.NumberOfLines; n != nil {
		if *n < 1 || *n > maxNumberOfLines {
			return nil, errInvalidValue("Invalid NumberOfLines %d: allowed values are 1 to %d.", *n, maxNumberOfLines)
		}
		lines = *n
	}
	path, file, err := e.instanceLogFile(in.DBInstanceIdentifier, in.LogFileName)
	if err != nil {
		return nil, err
	}
	size := file.end - file.start
	var res xDownloadDBLogFilePortionResult
	if in.Marker == nil {
		// The most recent lines, at most 1 MB of them.
		n := min(size, maxPortionBytes)
		content, err := readLogRange(path, file.end-n, n)
		if err != nil {
			return nil, fmt.Errorf("reading the log of %s: %w", in.DBInstanceIdentifier, err)
		}
		from := len(content)
		for k := 0; k < lines && from > 0; k++ {
			i := bytes.LastIndexByte(content[:from-1], '\n')
			if i < 0 {
				from = 0
				break
			}
			from = i + 1
		}
		for from < len(content) && !utf8.RuneStart(content[from]) {
			from++
		}
		res.LogFileData = string(content[from:])
		return res, nil
	}
	offset, err := parseLogMarker(*in.Marker)
	if err != nil || offset > size {
		return nil, errInvalidValue("Invalid Marker %q: use \"0\" or the Marker of the previous response.", *in.Marker)
	}
	// One byte more than a portion holds, to see whether the cut falls
	// inside a character.
	content, err := readLogRange(path, file.start+offset, min(size-offset, maxPortionBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the log of %s: %w", in.DBInstanceIdentifier, err)
	}
	end := 0
	for k := 0; k < lines && end < len(content); k++ {
		i := bytes.IndexByte(content[end:], '\n')
		if i < 0 {
			end = len(content)
			break
		}
		end += i + 1
	}
	if end > maxPortionBytes {
		end = maxPortionBytes
		cut := end
		for end > 0 && !utf8.RuneStart(content[end]) {
			end--
		}
		if end == 0 {
			end = cut // not UTF-8 at all: cut where the limit is
		}
	}
	res.LogFileData = string(content[:end])
	if offset+end < size {
		res.Marker = "0:" + strconv.Itoa(offset+end)
		res.AdditionalDataPending = true
	}
	return res, nil
}

func parseLogMarker(m string) (int, error) {
	if m == "0" {
		return 0, nil
	}
	rest, ok := strings.CutPrefix(m, "0:")
	if !ok {
		return 0, fmt.Errorf("bad marker")
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad marker")
	}
	return n, nil
}

type xLogFile struct {
	LogFileName string
	LastWritten int64
	Size        int64
}

type xDescribeDBLogFilesResult struct {
	DescribeDBLogFiles struct {
		Items []xLogFile `xml:"DescribeDBLogFilesDetails"`
	}
	Marker string `xml:",omitempty"`
}

type xDownloadDBLogFilePortionResult struct {
	LogFileData           string
	Marker                string `xml:",omitempty"`
	AdditionalDataPending bool
}

// completeLogFilePaths are the REST paths of the whole-file download, by
// API version: /v13/ (documented since 2014; AWS retires it on 1 March
// 2027) and /v19/.
var completeLogFilePaths = []string{"/v13/downloadCompleteLogFile/", "/v19/downloadCompleteLogFile/"}

// actionCompleteLogFile is the whole-file download's action name, as IAM
// and the API reference name it.
const actionCompleteLogFile = "DownloadCompleteDBLogFile"

// restActions are the RDS actions served on REST paths rather than the
// query protocol's actions table: their calls pass through the same
// faults (Emulator.Action) and count in CallCount.
var restActions = map[string]bool{actionCompleteLogFile: true}

// serveCompleteLogFile answers GET /v13/ and /v19/downloadCompleteLogFile/
// {DBInstanceIdentifier}/{LogFileName}: the whole log file as a stream
// (text/plain), with no size limit, once the request's SigV4 signature
// checks out (see checkSigV4). Errors are RDS's XML errors:
// DBInstanceNotFound and DBLogFileNotFoundFault (HTTP 404), the
// signature's (HTTP 403). It reports whether the request was one.
func (e *Emulator) serveCompleteLogFile(w http.ResponseWriter, hr *http.Request) bool {
	var rest string
	ok := false
	for _, p := range completeLogFilePaths {
		if rest, ok = strings.CutPrefix(hr.URL.Path, p); ok {
			break
		}
	}
	if !ok {
		return false
	}
	reqID := newRequestID()
	if err := e.hooks.beforeCall(hr.Context(), actionCompleteLogFile); err != nil {
		writeError(w, reqID, err)
		return true
	}
	if hr.Method != http.MethodGet {
		writeError(w, reqID, &apiError{http.StatusMethodNotAllowed, "InvalidAction", "downloadCompleteLogFile answers GET only."})
		return true
	}
	if err := e.checkSigV4(hr, time.Now()); err != nil {
		writeError(w, reqID, err)
		return true
	}
	id, name, ok := strings.Cut(rest, "/")
	if !ok || id == "" || name == "" {
		writeError(w, reqID, errInvalidValue("Use GET %s{DBInstanceIdentifier}/{LogFileName}.", completeLogFilePaths[1]))
		return true
	}
	path, file, err := e.instanceLogFile(id, name)
	if err != nil {
		writeError(w, reqID, err)
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		writeError(w, reqID, fmt.Errorf("reading the log of %s: %w", id, err))
		return true
	}
	defer f.Close()
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(file.end-file.start))
	w.Header().Set("X-Amzn-Requestid", reqID)
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, io.NewSectionReader(f, int64(file.start), int64(file.end-file.start)))
	return true
}

// emptyPayloadHash is the SHA-256 of an empty body, hex encoded.
var emptyPayloadHash = func() string {
	sum := sha256.Sum256(nil)
	return hex.EncodeToString(sum[:])
}()

func errSignature(code, msg string) *apiError {
	return &apiError{http.StatusForbidden, code, msg}
}

// checkSigV4 checks a request's AWS Signature Version 4, given in the
// Authorization header or in the query string (a presigned URL): the
// algorithm, the credential scope (the emulated account's access key, the
// day of X-Amz-Date, the emulator's Region, service rds), the signed
// headers (host, and x-amz-date in the header form) and the time (within
// 15 minutes of now; a presigned URL until it expires). The emulator
// knows its account's secret key, so it computes the signature again
// with aws-sdk-go-v2's signer and compares.
func (e *Emulator) checkSigV4(hr *http.Request, now time.Time) error {
	q := hr.URL.Query()
	presigned := q.Has("X-Amz-Signature")
	var algo, credential, signed, signature, date, token string
	if presigned {
		algo, credential, signed = q.Get("X-Amz-Algorithm"), q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders")
		signature, date, token = q.Get("X-Amz-Signature"), q.Get("X-Amz-Date"), q.Get("X-Amz-Security-Token")
	} else {
		auth := hr.Header.Get("Authorization")
		if auth == "" {
			return errSignature("MissingAuthenticationToken", "Request is missing Authentication Token")
		}
		var rest string
		algo, rest, _ = strings.Cut(auth, " ")
		for part := range strings.SplitSeq(rest, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "Credential":
				credential = v
			case "SignedHeaders":
				signed = v
			case "Signature":
				signature = v
			}
		}
		date, token = hr.Header.Get("X-Amz-Date"), hr.Header.Get("X-Amz-Security-Token")
	}
	if algo != "AWS4-HMAC-SHA256" {
		return errSignature("IncompleteSignature", "Unsupported AWS signing algorithm: use AWS4-HMAC-SHA256 (Signature Version 4).")
	}
	if credential == "" || signed == "" || len(signature) != 64 {
		return errSignature("IncompleteSignature", "The request signature must give Credential, SignedHeaders and a 64-digit hex Signature.")
	}
	t, err := time.Parse("20060102T150405Z", date)
	if err != nil {
		return errSignature("IncompleteSignature", "The request must carry its signing time as X-Amz-Date (YYYYMMDDTHHMMSSZ).")
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 {
		return errSignature("IncompleteSignature", "The Credential must be access-key/YYYYMMDD/region/service/aws4_request.")
	}
	if scope[0] != accessKeyID {
		return errSignature("InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	if want := t.Format("20060102") + "/" + e.region + "/rds/aws4_request"; strings.Join(scope[1:], "/") != want {
		return errSignature("SignatureDoesNotMatch", "Credential should be scoped to "+want+".")
	}
	headers := strings.Split(signed, ";")
	if !slices.Contains(headers, "host") || !presigned && !slices.Contains(headers, "x-amz-date") {
		return errSignature("SignatureDoesNotMatch", "The signed headers must include host and x-amz-date.")
	}
	if presigned {
		secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
		if err != nil || secs < 1 || secs > 7*24*3600 {
			return errSignature("AuthorizationQueryParametersError", "X-Amz-Expires must be a number of seconds from 1 to 604800.")
		}
		if now.After(t.Add(time.Duration(secs)*time.Second)) || t.After(now.Add(15*time.Minute)) {
			return errSignature("RequestExpired", "Request has expired.")
		}
	} else if d := now.Sub(t); d > 15*time.Minute || d < -15*time.Minute {
		return errSignature("RequestExpired", "Signature expired: the signing time is more than 15 minutes from the server's time.")
	}

	// The same request, with only what was signed, signed again.
	u := *hr.URL
	u.Scheme, u.Host = "http", hr.Host
	req := &http.Request{Method: hr.Method, URL: &u, Host: hr.Host, Header: http.Header{}}
	for _, h := range headers {
		if h != "host" {
			req.Header[http.CanonicalHeaderKey(h)] = hr.Header.Values(h)
		}
	}
	payload := hr.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		payload = emptyPayloadHash
	}
	creds := aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey, SessionToken: token}
	var want string
	if presigned {
		want, err = presignedSignature(hr.Context(), req, creds, payload, "rds", e.region, t)
		if err != nil {
			return err
		}
	} else {
		if err := v4.NewSigner().SignHTTP(hr.Context(), creds, req, payload, "rds", e.region, t); err != nil {
			return err
		}
		_, want, _ = strings.Cut(req.Header.Get("Authorization"), "Signature=")
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(signature)) != 1 {
		return errSignature("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return nil
}

// presignedSignature is the X-Amz-Signature that aws-sdk-go-v2's signer
// gives req, presigned at t for service in region with creds, once the
// signing parameters a presigned URL carries are taken out of its query.
// The emulator checks presigned requests (log downloads, IAM database
// authentication tokens) by signing them again with it.
func presignedSignature(ctx context.Context, req *http.Request, creds aws.Credentials, payload, service, region string, t time.Time) (string, error) {
	q := req.URL.Query()
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"} {
		q.Del(k)
	}
	req.URL.RawQuery = q.Encode()
	signedURI, _, err := v4.NewSigner().PresignHTTP(ctx, creds, req, payload, service, region, t)
	if err != nil {
		return "", err
	}
	su, err := url.Parse(signedURI)
	if err != nil {
		return "", err
	}
	return su.Query().Get("X-Amz-Signature"), nil
}
