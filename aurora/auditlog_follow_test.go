package aurora_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/pgaudit"
)

// TestAuditEntriesFollow follows the writer's audit log while a workload
// writes audit entries and the log rotates twice, and stops and restarts
// the reader from its saved cursor (marshalled to JSON and back) three
// times, once while the API throttles: the entries it yields are exactly
// those of an independent read of the log files afterwards, in order,
// none lost and none repeated; and downloading the files whole gives the
// same entries.
func TestAuditEntriesFollow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := openCluster(t, auditClusterID, nil)
	ensureExcludedRole(t, c)
	enablePgAudit(t, c, nil)
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	writer := d.Writer.ID
	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(ctx, "CREATE TABLE IF NOT EXISTS follow_items(id serial PRIMARY KEY, note text)"); err != nil {
		t.Fatal(err)
	}

	since := time.Now()
	mark := fmt.Sprint("follow-", since.UnixNano())
	const total = 300
	var rotated []string
	work := make(chan error, 1)
	go func() {
		for i := range total {
			if i == total/3 || i == 2*total/3 {
				name, err := emu.RotateLog(writer)
				if err != nil {
					work <- err
					return
				}
				rotated = append(rotated, name)
			}
			if _, err := w.Exec(ctx, fmt.Sprintf("INSERT INTO follow_items(note) VALUES ('%s-%03d')", mark, i)); err != nil {
				work <- err
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		work <- nil
	}()

	// Four readings: each stops after a quarter of the entries, the last
	// when all are in; the cursor is saved as JSON between them.
	var events []pgaurora.Event
	followed := followInFour(t, ctx, c, mark, total, func(run int) aurora.AuditLogOptions {
		if run == 2 {
			emu.ThrottleNext(3) // the SDK's retryer goes on
		}
		return aurora.AuditLogOptions{Since: since, Follow: true, Progress: func(e pgaurora.Event) { events = append(events, e) }}
	}, nil)
	if err := <-work; err != nil {
		t.Fatal(err)
	}
	if len(rotated) != 2 {
		t.Fatalf("rotations: %v", rotated)
	}

	// The independent read: every file, to its end, without following.
	all := collect(t, c.AuditEntries(ctx, &aurora.AuditLogOptions{Instance: writer, Since: since}))
	if len(all) < len(followed) {
		t.Fatalf("the files hold %d entries since the start, the follower yielded %d", len(all), len(followed))
	}
	if diff := cmp.Diff(all[:len(followed)], followed); diff != "" {
		t.Fatalf("followed entries differ from the log files (-files +followed):\n%s", diff)
	}
	// The same files downloaded whole (the signed downloadCompleteLogFile
	// GET) hold the same entries.
	whole := collect(t, c.AuditEntries(ctx, &aurora.AuditLogOptions{Instance: writer, Since: since, WholeFiles: true}))
	if len(whole) < len(all) {
		t.Fatalf("whole files: %d entries, by portions %d", len(whole), len(all))
	}
	if diff := cmp.Diff(all, whole[:len(all)]); diff != "" {
		t.Fatalf("whole files differ from portions (-portions +whole):\n%s", diff)
	}
	if n := emu.CallCount("DownloadCompleteDBLogFile"); n < 3 {
		t.Errorf("%d whole-file downloads for three files", n)
	}

	var marks []string
	for _, e := range followed {
		if i := strings.Index(e.Statement, mark); i >= 0 {
			marks = append(marks, e.Statement[i+len(mark)+1:i+len(mark)+4])
		}
	}
	var want []string
	for i := range total {
		want = append(want, fmt.Sprintf("%03d", i))
	}
	if diff := cmp.Diff(want, marks); diff != "" {
		t.Fatalf("the workload's entries as followed (-written +followed):\n%s", diff)
	}
	files := map[string]bool{}
	for _, e := range events {
		if e.Step == "file" && e.Completed {
			files[e.Resource] = true
		}
	}
	for _, name := range rotated[:1] {
		if !files[name] {
			t.Errorf("no progress event for reading %s to its end; events: %+v", name, events)
		}
	}
}

// followInFour follows the audit log in four readings, each from the
// cursor the one before saved as JSON, as a program stopped and started
// again would: reading run (0 to 3) stops once (run+1)/4 of the total
// entries that contain mark are in. opts gives a reading's options (its
// Cursor is set here); check, if not nil, looks at the cursor after it.
// It returns the entries the four readings yielded, in order.
func followInFour(t *testing.T, ctx context.Context, c *aurora.Cluster, mark string, total int, opts func(run int) aurora.AuditLogOptions, check func(run int, cur aurora.AuditCursor)) []pgaudit.Entry {
	t.Helper()
	var followed []pgaudit.Entry
	var saved []byte
	seen := 0
	for run := range 4 {
		var cur aurora.AuditCursor
		if saved != nil {
			if err := json.Unmarshal(saved, &cur); err != nil {
				t.Fatal(err)
			}
		}
		o := opts(run)
		o.Cursor = &cur
		stopAt := (run + 1) * total / 4
		for e, err := range c.AuditEntries(ctx, &o) {
			if err != nil {
				t.Fatalf("reading %d: %v", run, err)
			}
			followed = append(followed, e)
			if strings.Contains(e.Statement, mark) {
				seen++
			}
			if seen >= stopAt {
				break
			}
		}
		if seen < stopAt {
			t.Fatalf("reading %d ended after %d of the workload's entries, want %d", run, seen, stopAt)
		}
		if check != nil {
			check(run, cur)
		}
		var err error
		if saved, err = json.Marshal(cur); err != nil {
			t.Fatal(err)
		}
		t.Logf("reading %d stopped at %s (%d entries so far)", run, cur, len(followed))
	}
	return followed
}
