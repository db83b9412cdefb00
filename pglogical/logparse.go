package pglogical

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/pgaurora/pgaurora/internal/conninfo"
)

// ApplyFailure is one exit of a pglogical apply worker with an error, as the
// subscriber's server log records it:
//
//	2022-07-06 16:17:03 UTC::@:[7361]:LOG:  background worker "pglogical apply 16404:2880255011" (PID 14610) exited with exit code 1
type ApplyFailure struct {
	// Line is the 1-based line number of the exit line.
	Line int64
	// Time is the exit line's timestamp when the line starts with one
	// (log_line_prefix %t or %m); zero otherwise.
	Time time.Time
	// DatabaseOID and SubscriptionOID identify the worker: pglogical names
	// apply workers "pglogical apply <database oid>:<subscription oid>".
	DatabaseOID, SubscriptionOID uint32
	// PID is the worker's process id.
	PID int
	// ExitCode is the worker's exit code.
	ExitCode int
	// Message is the last ERROR or FATAL message the worker logged before
	// it exited, with anything that looks like a password redacted; empty
	// when the log has none (it is found through the [%p] of RDS's
	// log_line_prefix).
	Message string
}

var (
	workerExitRe = regexp.MustCompile(`background worker "pglogical apply (\d+):(\d+)" \(PID (\d+)\) exited with exit code (\d+)`)
	errorLineRe  = regexp.MustCompile(`\[(\d+)\]:\s*(ERROR|FATAL|PANIC):\s+(.*)$`)
	timeRe       = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)(?: ([A-Za-z]{1,6}|[+-]\d{2}(?::?\d{2})?))?`)
)

// maxLogLine bounds the bytes of one log line the parser looks at; the
// rest of a longer line is skipped.
const maxLogLine = 64 << 10

// maxTrackedPIDs bounds the per-process error messages kept while reading.
const maxTrackedPIDs = 4096

// ParseApplyFailures reads a PostgreSQL server log (stderr format) and
// returns every pglogical apply worker exit with a non-zero exit code, in
// log order, each with the last error the worker logged. It reads the
// whole reader; only a read error fails it.
func ParseApplyFailures(r io.Reader) ([]ApplyFailure, error) {
	if r == nil {
		return nil, invalid("ParseApplyFailures: the log reader is nil")
	}
	br := bufio.NewReaderSize(r, 64<<10)
	lastErr := map[int]string{}
	var out []ApplyFailure
	var lineNo int64
	var buf []byte
	for {
		buf = buf[:0]
		var err error
		for {
			var chunk []byte
			var isPrefix bool
			chunk, isPrefix, err = br.ReadLine()
			if len(buf) < maxLogLine {
				room := maxLogLine - len(buf)
				if len(chunk) > room {
					chunk = chunk[:room]
				}
				buf = append(buf, chunk...)
			}
			if err != nil || !isPrefix {
				break
			}
		}
		if err != nil && len(buf) == 0 {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, fmt.Errorf("pglogical: reading the server log: %w", err)
		}
		lineNo++
		line := buf
		if m := workerExitRe.FindSubmatch(line); m != nil {
			f := ApplyFailure{Line: lineNo, Time: parseLogTime(line)}
			db, _ := strconv.ParseUint(string(m[1]), 10, 32)
			sub, _ := strconv.ParseUint(string(m[2]), 10, 32)
			f.DatabaseOID, f.SubscriptionOID = uint32(db), uint32(sub)
			f.PID, _ = strconv.Atoi(string(m[3]))
			f.ExitCode, _ = strconv.Atoi(string(m[4]))
			if f.ExitCode != 0 {
				f.Message = lastErr[f.PID]
				out = append(out, f)
			}
			delete(lastErr, f.PID)
		} else if m := errorLineRe.FindSubmatch(line); m != nil {
			pid, err := strconv.Atoi(string(m[1]))
			if err == nil {
				if len(lastErr) >= maxTrackedPIDs {
					clear(lastErr)
				}
				lastErr[pid] = string(m[2]) + ": " + conninfo.Redact(string(bytes.ToValidUTF8(m[3], []byte("?"))), nil)
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, fmt.Errorf("pglogical: reading the server log: %w", err)
		}
	}
}

// parseLogTime reads the timestamp at the start of a log line; time zone
// abbreviations other than UTC and GMT are read as UTC.
func parseLogTime(line []byte) time.Time {
	m := timeRe.FindSubmatch(line)
	if m == nil {
		return time.Time{}
	}
	loc := time.UTC
	if z := string(m[2]); z != "" && (z[0] == '+' || z[0] == '-') {
		sign := 1
		if z[0] == '-' {
			sign = -1
		}
		digits := z[1:]
		if len(digits) > 2 && digits[2] == ':' {
			digits = digits[:2] + digits[3:]
		}
		h, _ := strconv.Atoi(digits[:2])
		mins := 0
		if len(digits) >= 4 {
			mins, _ = strconv.Atoi(digits[2:4])
		}
		loc = time.FixedZone(z, sign*(h*3600+mins*60))
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", string(m[1]), loc)
	if err != nil {
		return time.Time{}
	}
	return t
}
