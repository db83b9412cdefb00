package aurora_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/google/go-cmp/cmp"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/pgaudit"
)

// TestSetLogExportsInput refuses bad log types before any call.
func TestSetLogExportsInput(t *testing.T) {
	ctx := context.Background()
	rec := &apiRecorder{}
	c := openCluster(t, auditClusterID, rec)
	rec.take()
	for _, tc := range []struct {
		enable, disable []string
		field           string
	}{
		{nil, nil, "enable"},
		{[]string{"slowquery"}, nil, "enable"},
		{nil, []string{""}, "disable"},
		{[]string{aurora.LogExportPostgreSQL}, []string{aurora.LogExportPostgreSQL}, "disable"},
	} {
		_, err := c.Monitoring().SetLogExports(ctx, tc.enable, tc.disable, nil)
		var ie *aurora.InputError
		if !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("SetLogExports(%q, %q): %v, want an *InputError on %s", tc.enable, tc.disable, err, tc.field)
		}
	}
	if acts := rec.take(); len(acts) != 0 {
		t.Errorf("bad input made calls: %v", acts)
	}
}

// TestAuditEntriesCloudWatchLogsOptions refuses options that do not fit
// the CloudWatch Logs source, and says how to export the log when the
// cluster has no log group.
func TestAuditEntriesCloudWatchLogsOptions(t *testing.T) {
	ctx := context.Background()
	c := openCluster(t, clusterID, nil)
	cw := aurora.AuditSourceCloudWatchLogs
	for _, o := range []*aurora.AuditLogOptions{
		{Source: cw, Files: 2},
		{Source: cw, WholeFiles: true},
		{Source: cw, LinesPerCall: 10001},
		{Source: cw, Cursor: &aurora.AuditCursor{Instance: "shop-instance-1", File: "error/postgresql.log.2026-01-01-00"}},
		{Cursor: &aurora.AuditCursor{Instance: "shop-instance-1", LogEventTime: 1, LogEventID: "1"}},
		{Source: cw, Cursor: &aurora.AuditCursor{Instance: "shop-instance-1", LogEventID: "1"}},
		{Source: 7},
	} {
		if err := firstErr(c.AuditEntries(ctx, o)); err == nil || !strings.HasPrefix(err.Error(), "aurora: AuditLogOptions.") && !strings.Contains(err.Error(), "AuditCursor") {
			t.Errorf("AuditEntries(%+v): %v", o, err)
		}
	}
	// Without a CloudWatch Logs client, and after Close: errors before
	// any call.
	rdsOnly, err := aurora.New(clusterID, aurora.WithRDSClient(rds.NewFromConfig(emu.AWSConfig())))
	if err != nil {
		t.Fatal(err)
	}
	defer rdsOnly.Close()
	if err := firstErr(rdsOnly.AuditEntries(ctx, &aurora.AuditLogOptions{Source: cw, Instance: "shop-instance-1"})); !errors.Is(err, aurora.ErrNoClient) {
		t.Errorf("the CloudWatch Logs source without its client: %v, want ErrNoClient", err)
	}
	rec := &apiRecorder{}
	closed := openCluster(t, clusterID, rec)
	closed.Close()
	if _, err := closed.Monitoring().SetLogExports(ctx, []string{aurora.LogExportPostgreSQL}, nil, nil); !errors.Is(err, aurora.ErrClosed) {
		t.Errorf("SetLogExports after Close: %v, want ErrClosed", err)
	}
	if err := firstErr(closed.AuditEntries(ctx, &aurora.AuditLogOptions{Source: cw})); !errors.Is(err, aurora.ErrClosed) {
		t.Errorf("AuditEntries from CloudWatch Logs after Close: %v, want ErrClosed", err)
	}
	if acts := rec.take(); len(acts) != 0 {
		t.Errorf("the closed handle called RDS: %v", acts)
	}

	// The shop cluster exports nothing.
	var nf *cwltypes.ResourceNotFoundException
	if err := firstErr(c.AuditEntries(ctx, &aurora.AuditLogOptions{Source: cw})); !errors.As(err, &nf) || !strings.Contains(err.Error(), "SetLogExports") {
		t.Errorf("reading a log group that does not exist: %v", err)
	}
}

// TestAuditEntriesFromCloudWatchLogs turns the postgresql log export on,
// runs a workload with pgAudit on (multi-line statements among it) and
// reads its entries back from the exported log group: they equal, entry
// for entry, those read through DownloadDBLogFilePortion; paged 25 log
// events a call. A reader following the log group, stopped and restarted
// from its saved cursor three times (once while the API throttles), yields
// exactly those entries, none lost, none repeated. With the export off,
// entries the workload writes reach the log files but not the log group.
func TestAuditEntriesFromCloudWatchLogs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := openCluster(t, auditClusterID, nil)
	ensureExcludedRole(t, c)
	enablePgAudit(t, c, nil)
	r, err := c.Monitoring().SetLogExports(ctx, []string{aurora.LogExportPostgreSQL}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := c.Monitoring().SetLogExports(context.Background(), nil, []string{aurora.LogExportPostgreSQL}, nil); err != nil {
			t.Errorf("turning the export off again: %v", err)
		}
	})
	t.Logf("SetLogExports: %+v", r.Steps)
	again, err := c.Monitoring().SetLogExports(ctx, []string{aurora.LogExportPostgreSQL}, nil, nil)
	if err != nil || len(again.Steps) != 1 || again.Steps[0].Changed {
		t.Fatalf("SetLogExports again: %v, %+v; want one unchanged step", err, again)
	}
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(d.LogExports, aurora.LogExportPostgreSQL) {
		t.Fatalf("Describe's LogExports %v after SetLogExports", d.LogExports)
	}
	writer := d.Writer.ID
	// The log's timestamps have whole seconds, and Since keeps the
	// entries of the second it falls in: start at the next second, so
	// that both sources hold every entry from then on.
	since := time.Now().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(since))

	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(ctx, "CREATE TABLE IF NOT EXISTS cwl_items(id serial PRIMARY KEY, note text)"); err != nil {
		t.Fatal(err)
	}
	mark := fmt.Sprint("cwl-", since.UnixNano())
	const total = 150
	work := make(chan error, 1)
	go func() {
		for i := range total {
			note := fmt.Sprintf("%s-%03d", mark, i)
			if i%10 == 0 {
				note += "\nsecond line, with a comma"
			}
			if _, err := w.Exec(ctx, "INSERT INTO cwl_items(note)\nVALUES ('"+note+"')"); err != nil {
				work <- err
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		work <- nil
	}()

	// Four readings that follow the log group, each stopping after a
	// quarter of the workload; the cursor goes through JSON between them.
	followed := followInFour(t, ctx, c, mark, total, func(run int) aurora.AuditLogOptions {
		if run == 2 {
			emu.Action("FilterLogEvents").ThrottleNext(4) // beyond the SDK's retries
		}
		return aurora.AuditLogOptions{Source: aurora.AuditSourceCloudWatchLogs, Instance: writer, Since: since, Follow: true, LinesPerCall: 25}
	}, func(run int, cur aurora.AuditCursor) {
		if cur.LogEventID == "" || cur.File != "" {
			t.Fatalf("the cursor after reading %d: %+v", run, cur)
		}
	})
	if err := <-work; err != nil {
		t.Fatal(err)
	}

	// The acceptance: the same entries from the log files and from the
	// log group.
	files := collect(t, c.AuditEntries(ctx, &aurora.AuditLogOptions{Instance: writer, Since: since}))
	calls := emu.CallCount("FilterLogEvents")
	group := collect(t, c.AuditEntries(ctx, &aurora.AuditLogOptions{Source: aurora.AuditSourceCloudWatchLogs, Instance: writer, Since: since, LinesPerCall: 25}))
	if n := emu.CallCount("FilterLogEvents") - calls; n < len(group)/25 {
		t.Errorf("%d entries read in %d FilterLogEvents calls of 25 events at most", len(group), n)
	}
	marks := 0
	for _, e := range files {
		if strings.Contains(e.Statement, mark) {
			marks++
		}
	}
	if marks != total {
		t.Fatalf("the log files hold %d of the workload's %d entries", marks, total)
	}
	if len(group) < len(files) {
		t.Fatalf("the log group holds %d entries, the log files %d", len(group), len(files))
	}
	if diff := cmp.Diff(files, group[:len(files)]); diff != "" {
		t.Fatalf("entries from the log group differ from those of the log files (-files +group):\n%s", diff)
	}
	if len(followed) > len(group) {
		t.Fatalf("the follower yielded %d entries, the log group holds %d", len(followed), len(group))
	}
	if diff := cmp.Diff(group[:len(followed)], followed); diff != "" {
		t.Fatalf("followed entries differ from the log group (-group +followed):\n%s", diff)
	}

	// Export off: new entries reach the log files only.
	if _, err := c.Monitoring().SetLogExports(ctx, nil, []string{aurora.LogExportPostgreSQL}, nil); err != nil {
		t.Fatal(err)
	}
	offMark := mark + "-off"
	if _, err := w.Exec(ctx, "INSERT INTO cwl_items(note) VALUES ('"+offMark+"')"); err != nil {
		t.Fatal(err)
	}
	has := func(entries []pgaudit.Entry) bool {
		return slices.ContainsFunc(entries, func(e pgaudit.Entry) bool { return strings.Contains(e.Statement, offMark) })
	}
	if !has(collect(t, c.AuditEntries(ctx, &aurora.AuditLogOptions{Instance: writer, Since: since}))) {
		t.Fatal("the log files lack the entry written with the export off")
	}
	after := collect(t, c.AuditEntries(ctx, &aurora.AuditLogOptions{Source: aurora.AuditSourceCloudWatchLogs, Instance: writer, Since: since}))
	if has(after) || len(after) < len(group) {
		t.Errorf("with the export off the log group has %d entries (had %d), the new one among them: %v", len(after), len(group), has(after))
	}
}

// errYieldedNothing is firstErr's answer for a reading that yields
// nothing, which none of its callers expects.
var errYieldedNothing = errors.New("the reading yielded nothing")

// firstErr returns the error of a reading's first result (nil when that
// is an entry), or errYieldedNothing.
func firstErr(seq iter.Seq2[pgaudit.Entry, error]) error {
	for _, err := range seq {
		return err
	}
	return errYieldedNothing
}
