package aurora

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/pgaurora/pgaurora/pgaudit"
)

// DefaultLogLinesPerCall is how many log lines AuditEntries asks for in each
// DownloadDBLogFilePortion call by default. RDS also cuts each response at
// 1 MB, and the next call continues where it stopped.
const DefaultLogLinesPerCall = 10000

// AuditLogOptions configures AuditEntries. A nil *AuditLogOptions reads every
// log file of the current writer.
type AuditLogOptions struct {
	// Instance is the DB instance whose log is read. Empty means the
	// cluster's writer when the reading starts. After a failover, entries
	// written before it are in the old writer's log: name that instance
	// to read them.
	Instance string
	// Since skips log files last written before it and entries whose
	// timestamp is before it (the log's timestamps have whole seconds, so
	// entries from the second Since falls in are kept). Zero reads
	// everything the instance still has.
	Since time.Time
	// LinesPerCall is NumberOfLines of each DownloadDBLogFilePortion call;
	// zero means DefaultLogLinesPerCall.
	LinesPerCall int
	// Reader configures the parsing; nil reads RDS's log_line_prefix.
	Reader *pgaudit.ReaderOptions
}

// AuditLogFileError is an error while reading one log file: downloading
// it, or a malformed audit entry in it (a *pgaudit.ParseError, after which
// the reading goes on).
type AuditLogFileError struct {
	// Instance and File name the log file.
	Instance, File string
	// Err is the cause.
	Err error
}

func (e *AuditLogFileError) Error() string {
	return fmt.Sprintf("aurora: audit log %s of %s: %v", e.File, e.Instance, e.Err)
}

// Unwrap returns the cause.
func (e *AuditLogFileError) Unwrap() error { return e.Err }

// AuditEntries reads pgAudit entries from an instance's PostgreSQL log files
// through the RDS API: DescribeDBLogFiles lists the files, oldest first,
// and each is downloaded with DownloadDBLogFilePortion from its start
// (Marker "0"), one portion after another, while the pgaudit reader parses
// the text as it arrives. Only one portion is held in memory at a time, so
// files of any size stream through. Files named *.csv or *.json (csvlog and
// jsonlog) are skipped.
//
// Malformed entries are yielded as (Entry{}, *AuditLogFileError wrapping a
// *pgaudit.ParseError) and the iteration goes on; any other error is yielded
// once and ends it. Stopping the loop stops the downloads.
//
//	for e, err := range c.AuditEntries(ctx, &aurora.AuditLogOptions{Since: start}) {
//		if err != nil { ... }
//		fmt.Println(e.Time, e.User, e.Class, e.Command, e.ObjectName)
//	}
func (c *Cluster) AuditEntries(ctx context.Context, opts *AuditLogOptions) iter.Seq2[pgaudit.Entry, error] {
	var o AuditLogOptions
	if opts != nil {
		o = *opts
	}
	return func(yield func(pgaudit.Entry, error) bool) {
		if err := c.usable(); err != nil {
			yield(pgaudit.Entry{}, err)
			return
		}
		if o.LinesPerCall < 0 {
			yield(pgaudit.Entry{}, fmt.Errorf("aurora: AuditLogOptions.LinesPerCall %d: allowed values are 0 (default %d) or more", o.LinesPerCall, DefaultLogLinesPerCall))
			return
		}
		if o.LinesPerCall == 0 {
			o.LinesPerCall = DefaultLogLinesPerCall
		}
		instance := o.Instance
		if instance == "" {
			d, err := c.Describe(ctx)
			if err != nil {
				yield(pgaudit.Entry{}, fmt.Errorf("aurora: finding the writer to read its audit log: %w", err))
				return
			}
			if d.Writer == nil {
				yield(pgaudit.Entry{}, fmt.Errorf("aurora: cluster %s has no writer right now (status %s); name the instance whose audit log to read", c.id, d.Status))
				return
			}
			instance = d.Writer.ID
		}
		files, err := c.auditLogFiles(ctx, instance, o.Since)
		if err != nil {
			yield(pgaudit.Entry{}, err)
			return
		}
		since := o.Since.Truncate(time.Second)
		for _, f := range files {
			if !c.readAuditFile(ctx, instance, f, o, since, yield) {
				return
			}
		}
	}
}

// auditLogFile is one log file as DescribeDBLogFiles lists it.
type auditLogFile struct {
	name        string
	lastWritten int64
}

// auditLogFiles lists an instance's stderr log files last written at or after
// since, oldest first.
func (c *Cluster) auditLogFiles(ctx context.Context, instance string, since time.Time) ([]auditLogFile, error) {
	in := &rds.DescribeDBLogFilesInput{DBInstanceIdentifier: aws.String(instance)}
	if !since.IsZero() {
		in.FileLastWritten = aws.Int64(since.UnixMilli())
	}
	var files []auditLogFile
	pages := rds.NewDescribeDBLogFilesPaginator(c.api, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("aurora: listing the log files of %s: %w", instance, err)
		}
		for _, f := range page.DescribeDBLogFiles {
			name := aws.ToString(f.LogFileName)
			if strings.HasSuffix(name, ".csv") || strings.HasSuffix(name, ".json") {
				continue
			}
			files = append(files, auditLogFile{name: name, lastWritten: aws.ToInt64(f.LastWritten)})
		}
	}
	slices.SortStableFunc(files, func(a, b auditLogFile) int {
		if a.lastWritten != b.lastWritten {
			if a.lastWritten < b.lastWritten {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return files, nil
}

// readAuditFile streams one log file through the pgaudit reader and yields
// its entries. It returns false when the iteration must stop.
func (c *Cluster) readAuditFile(ctx context.Context, instance string, f auditLogFile, o AuditLogOptions, since time.Time, yield func(pgaudit.Entry, error) bool) bool {
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(c.downloadLogFile(ctx, instance, f.name, o.LinesPerCall, pw))
	}()
	defer func() {
		// Stop the download (a blocked Write returns at once) and wait
		// for it, so nothing outlives the iteration.
		cancel()
		pr.Close()
		<-done
	}()
	fail := func(err error) error {
		return &AuditLogFileError{Instance: instance, File: f.name, Err: err}
	}
	r := pgaudit.NewReader(pr, o.Reader)
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			var pe *pgaudit.ParseError
			if errors.As(err, &pe) {
				if !yield(pgaudit.Entry{}, fail(err)) {
					return false
				}
				continue
			}
			yield(pgaudit.Entry{}, fail(err))
			return false
		}
		if !since.IsZero() && !e.Time.IsZero() && e.Time.Before(since) {
			continue
		}
		if !yield(*e, nil) {
			return false
		}
	}
}

// downloadLogFile writes a log file to w, portion by portion, from its
// start.
func (c *Cluster) downloadLogFile(ctx context.Context, instance, name string, lines int, w io.Writer) error {
	marker := "0"
	for {
		out, err := c.api.DownloadDBLogFilePortion(ctx, &rds.DownloadDBLogFilePortionInput{
			DBInstanceIdentifier: aws.String(instance),
			LogFileName:          aws.String(name),
			Marker:               aws.String(marker),
			NumberOfLines:        aws.Int32(int32(lines)),
		})
		if err != nil {
			return fmt.Errorf("downloading from marker %s: %w", marker, err)
		}
		if data := aws.ToString(out.LogFileData); data != "" {
			if _, err := io.WriteString(w, data); err != nil {
				return err
			}
		}
		next := aws.ToString(out.Marker)
		if !aws.ToBool(out.AdditionalDataPending) || next == "" {
			return nil
		}
		if next == marker {
			return fmt.Errorf("downloading from marker %s: the API returned the same marker with more data pending", marker)
		}
		marker = next
	}
}
