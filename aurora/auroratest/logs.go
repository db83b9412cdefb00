package auroratest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Log files. Each instance's PostgreSQL log (written with RDS's
// log_line_prefix, %t:%r:%u@%d:[%p]:) is served as RDS serves it: hourly
// files named error/postgresql.log.YYYY-MM-DD-HH (UTC), cut from the
// server's one log by the timestamps that start its lines. Lines without a
// timestamp (continuations) stay with the line before them.

const (
	logFilePrefix    = "error/postgresql.log."
	maxPortionBytes  = 1 << 20 // DownloadDBLogFilePortion returns at most 1 MB
	defaultLogLines  = 10000
	maxNumberOfLines = 10000
)

var logStampRE = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}) (\d{2}):\d{2}:\d{2} UTC:`)

// logFile is one hourly file: a byte range of the server log.
type logFile struct {
	name        string
	start, end  int
	lastWritten time.Time
}

// splitLog cuts a server log into hourly files, oldest first. modTime is
// the log's modification time, the last write of the newest file.
func splitLog(data []byte, modTime time.Time) []logFile {
	var files []logFile
	for off := 0; off < len(data); {
		nl := bytes.IndexByte(data[off:], '\n')
		end := len(data)
		if nl >= 0 {
			end = off + nl + 1
		}
		line := data[off:end]
		if m := logStampRE.FindSubmatch(line); m != nil {
			name := logFilePrefix + string(m[1]) + "-" + string(m[2])
			stamp, _ := time.Parse("2006-01-02 15:04:05", string(line[:19]))
			if len(files) == 0 || files[len(files)-1].name != name {
				files = append(files, logFile{name: name, start: off})
			}
			files[len(files)-1].lastWritten = stamp.Add(time.Second)
		} else if len(files) == 0 {
			files = append(files, logFile{name: logFilePrefix + modTime.UTC().Format("2006-01-02-15"), start: off, lastWritten: modTime})
		}
		files[len(files)-1].end = end
		off = end
	}
	if n := len(files); n > 0 {
		files[n-1].lastWritten = modTime
	}
	return files
}

// instanceLog reads an instance's log and splits it into files.
func (e *Emulator) instanceLog(id string) ([]byte, []logFile, error) {
	st := e.lock()
	in, ok := st.instance(e, id)
	var path string
	if ok {
		path = in.logPath()
	}
	st.unlock()
	if !ok {
		return nil, nil, errInstanceNotFound(id)
	}
	fi, err := os.Stat(path)
	if os.IsNotExist(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the log of %s: %w", id, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the log of %s: %w", id, err)
	}
	return data, splitLog(data, fi.ModTime()), nil
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

// actDownloadDBLogFilePortion returns lines of a log file. Without a
// Marker it returns the last NumberOfLines lines (default 10,000); with
// Marker "0" it reads from the start, and each response's Marker continues
// where it stopped. At the end of the file the response has no Marker and
// AdditionalDataPending is false, so the SDK's paginator stops. A response
// holds at most 1 MB.
func (e *Emulator) downloadDBLogFilePortion(ctx context.Context, in *downloadLogIn) (any, error) {
	id, name := in.DBInstanceIdentifier, in.LogFileName
	lines := defaultLogLines
	if n := in.NumberOfLines; n != nil {
		if *n < 1 || *n > maxNumberOfLines {
			return nil, errInvalidValue("Invalid NumberOfLines %d: allowed values are 1 to %d.", *n, maxNumberOfLines)
		}
		lines = *n
	}
	data, files, err := e.instanceLog(id)
	if err != nil {
		return nil, err
	}
	var file *logFile
	for i := range files {
		if files[i].name == name {
			file = &files[i]
		}
	}
	if file == nil {
		return nil, &apiError{http.StatusNotFound, "DBLogFileNotFoundFault", "DBLog File: " + name + ", is not found on the DB instance " + id}
	}
	content := data[file.start:file.end]
	var res xDownloadDBLogFilePortionResult
	if in.Marker == nil {
		// The most recent lines.
		from := len(content)
		for n := 0; n < lines && from > 0; n++ {
			i := bytes.LastIndexByte(content[:from-1], '\n')
			if i < 0 {
				from = 0
				break
			}
			from = i + 1
		}
		if len(content)-from > maxPortionBytes {
			from = len(content) - maxPortionBytes
		}
		res.LogFileData = string(content[from:])
		return res, nil
	}
	offset, err := parseLogMarker(*in.Marker)
	if err != nil || offset > len(content) {
		return nil, errInvalidValue("Invalid Marker %q: use \"0\" or the Marker of the previous response.", *in.Marker)
	}
	end := offset
	for n := 0; n < lines && end < len(content); n++ {
		i := bytes.IndexByte(content[end:], '\n')
		if i < 0 {
			end = len(content)
			break
		}
		end += i + 1
	}
	if end-offset > maxPortionBytes {
		end = offset + maxPortionBytes
	}
	res.LogFileData = string(content[offset:end])
	if end < len(content) {
		res.Marker = "0:" + strconv.Itoa(end)
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
