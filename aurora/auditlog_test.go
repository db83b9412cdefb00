package aurora_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/pgaudit"
)

// twiceListed lists every log file twice, the second time under another
// name that it maps back when downloading, so that one real log reads as
// two files in a row. It counts the downloads.
type twiceListed struct {
	aurora.RDSAPI
	downloads atomic.Int32
}

const againSuffix = ".again"

func (a *twiceListed) DescribeDBLogFiles(ctx context.Context, in *rds.DescribeDBLogFilesInput, optFns ...func(*rds.Options)) (*rds.DescribeDBLogFilesOutput, error) {
	out, err := a.RDSAPI.DescribeDBLogFiles(ctx, in, optFns...)
	if err != nil {
		return nil, err
	}
	var files []types.DescribeDBLogFilesDetails
	for _, f := range out.DescribeDBLogFiles {
		again := f
		again.LogFileName = aws.String(aws.ToString(f.LogFileName) + againSuffix)
		again.LastWritten = aws.Int64(aws.ToInt64(f.LastWritten) + 1)
		files = append(files, f, again)
	}
	out.DescribeDBLogFiles = files
	return out, nil
}

func (a *twiceListed) DownloadDBLogFilePortion(ctx context.Context, in *rds.DownloadDBLogFilePortionInput, optFns ...func(*rds.Options)) (*rds.DownloadDBLogFilePortionOutput, error) {
	a.downloads.Add(1)
	cp := *in
	cp.LogFileName = aws.String(strings.TrimSuffix(aws.ToString(in.LogFileName), againSuffix))
	return a.RDSAPI.DownloadDBLogFilePortion(ctx, &cp, optFns...)
}

func collect(t *testing.T, seq func(func(pgaudit.Entry, error) bool)) []pgaudit.Entry {
	t.Helper()
	var out []pgaudit.Entry
	for e, err := range seq {
		if err != nil {
			t.Fatalf("reading the audit log: %v", err)
		}
		out = append(out, e)
	}
	return out
}

func TestAuditEntries(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := openCluster(t, auditClusterID, nil)
	ensureExcludedRole(t, c)
	enablePgAudit(t, c, nil)

	since := time.Now()
	mark := fmt.Sprint(since.UnixNano())
	visible, hidden := "visible-"+mark, "hidden-"+mark
	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"CREATE TABLE audit_items(id serial PRIMARY KEY, note text)",
		"GRANT SELECT, INSERT ON audit_items TO " + excludedRole,
		"GRANT USAGE ON SEQUENCE audit_items_id_seq TO " + excludedRole,
	} {
		if _, err := w.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Exec(ctx, "INSERT INTO audit_items(note) VALUES ($1)", visible); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(ctx, "SELECT count(*) FROM audit_items"); err != nil { // READ: not logged
		t.Fatal(err)
	}
	ex := connectAs(t, c, excludedRole, excludedPassword)
	if _, err := ex.Exec(ctx, "INSERT INTO audit_items(note) VALUES ('"+hidden+"')"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := w.QueryRow(ctx, "SELECT count(*) FROM audit_items WHERE note = $1", hidden).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the excluded role's row: %d, %v", n, err)
	}

	// The server log reaches the file a moment after the statements.
	var entries []pgaudit.Entry
	var ddl, write *pgaudit.Entry
	deadline := time.Now().Add(30 * time.Second)
	for ddl == nil || write == nil {
		if time.Now().After(deadline) {
			t.Fatalf("audit entries missing after 30s: ddl=%v write=%v among %d entries", ddl, write, len(entries))
		}
		time.Sleep(200 * time.Millisecond)
		entries = collect(t, c.AuditEntries(ctx, &aurora.AuditLogOptions{Since: since}))
		ddl, write = nil, nil
		for i, e := range entries {
			switch {
			case e.Command == "CREATE TABLE" && e.ObjectName == "public.audit_items":
				ddl = &entries[i]
			case e.Command == "INSERT" && strings.Contains(e.Statement, "INSERT INTO audit_items"):
				write = &entries[i]
			}
		}
	}
	t.Logf("%d entries since the start; DDL: %s", len(entries), ddl)
	if ddl.Class != pgaudit.DDL || ddl.User != "postgres" || ddl.Database != "postgres" || ddl.Type != pgaudit.Session || ddl.Time.Before(since.Truncate(time.Second)) {
		t.Errorf("DDL entry: %+v", *ddl)
	}
	if write.Class != pgaudit.Write || !write.HasRows || write.Rows != 1 {
		t.Errorf("write entry: %+v", *write)
	}
	for _, e := range entries {
		if e.User == excludedRole || strings.Contains(e.Statement, hidden) {
			t.Errorf("the excluded role's statement was audited: %+v", e)
		}
		if e.Class == pgaudit.Read {
			t.Errorf("a READ statement was audited with pgaudit.log=write,ddl: %+v", e)
		}
	}

	// Small portions: many DownloadDBLogFilePortion calls, same entries.
	// Each file listed twice: the entries come twice, in file order.
	api := &twiceListed{RDSAPI: rds.NewFromConfig(emu.AWSConfig())}
	c2 := openCluster(t, auditClusterID, nil, aurora.WithRDSClient(api))
	paged := collect(t, c2.AuditEntries(ctx, &aurora.AuditLogOptions{Since: since, LinesPerCall: 3}))
	if len(paged) < 2*len(entries) {
		t.Fatalf("read %d entries from the doubled listing, want at least %d", len(paged), 2*len(entries))
	}
	half := len(paged) / 2
	for i := range entries {
		if paged[i].Statement != entries[i].Statement || paged[half+i].Statement != entries[i].Statement {
			t.Fatalf("entry %d differs across readings: %q / %q / %q", i, entries[i].Statement, paged[i].Statement, paged[half+i].Statement)
		}
	}
	t.Logf("with 3 lines per call: %d DownloadDBLogFilePortion calls for %d entries", api.downloads.Load(), len(paged))
	if api.downloads.Load() < 4 {
		t.Errorf("only %d download calls with 3 lines per call", api.downloads.Load())
	}

	// Stopping early stops the downloads: one file at a time, read ahead
	// by a bounded number of batches of entries (a batch is handed over
	// whenever the parser waits for the network, so with 3 lines a
	// portion about one portion a batch), not to its end.
	api.downloads.Store(0)
	one := &aurora.AuditLogOptions{LinesPerCall: 3, Files: 1, Prefetch: 1}
	collect(t, c2.AuditEntries(ctx, one))
	full := api.downloads.Load()
	api.downloads.Store(0)
	for range c2.AuditEntries(ctx, one) {
		break
	}
	if early := api.downloads.Load(); early >= full || full < 10 {
		t.Errorf("%d download calls when stopping at the first entry, %d for a full read", early, full)
	}

	// The reader logged none of these statements.
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range collect(t, c.AuditEntries(ctx, &aurora.AuditLogOptions{Instance: d.Readers[0].ID, Since: since})) {
		if strings.Contains(e.Statement, "audit_items") {
			t.Errorf("reader log holds a writer statement: %+v", e)
		}
	}

	// Errors: a bad option, an unknown instance.
	for _, o := range []*aurora.AuditLogOptions{{LinesPerCall: -1}, {Instance: "no-such-instance"}} {
		var got error
		for _, err := range c.AuditEntries(ctx, o) {
			got = err
		}
		if got == nil {
			t.Errorf("AuditEntries(%+v) gave no error", o)
		}
	}
	var fe *aurora.AuditLogFileError
	for _, err := range c2.AuditEntries(ctx, &aurora.AuditLogOptions{Instance: "audit-instance-1", LinesPerCall: 20000}) {
		if err != nil && !errors.As(err, &fe) {
			t.Errorf("an API refusal while downloading should be an AuditLogFileError: %v", err)
		}
		if err != nil {
			break
		}
	}
	if fe == nil {
		t.Error("NumberOfLines 20000 (above the API's limit) did not fail")
	}
}
