package logical

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/internal/secretsql"
)

// TestReplicationEndToEnd is the first acceptance test: a
// publication and a subscription between two real servers replicate
// inserts, updates and deletes, and the password in the subscription's
// connection string reaches neither server log nor any printed value.
func TestReplicationEndToEnd(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	ctx := testCtx(t)
	for _, pool := range pools(p) {
		mustExec(t, pool, "CREATE EXTENSION pg_stat_statements")
		mustExec(t, pool, "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int)")
		mustExec(t, pool, "CREATE TABLE later (id int PRIMARY KEY)")
	}
	mustExec(t, p.pubDB.Pool, "INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 100) g")

	if err := p.pub.CreatePublication(ctx, PublicationSpec{Name: "shop", Tables: []PublishedTable{{Table: TableName{"public", "items"}}}}); err != nil {
		t.Fatal(err)
	}
	conn := connInfo(t, p.pubDB)
	const sub = "shop_sub"
	if err := p.sub.CreateSubscription(ctx, SubscriptionSpec{Name: sub, Conn: conn, Publications: []string{"shop"}}); err != nil {
		t.Fatal(err)
	}
	var progress []pgaurora.Event
	if err := p.sub.WaitSync(ctx, sub, &WaitOptions{Wait: pgaurora.Wait{MinDelay: 50 * time.Millisecond}, Progress: func(e pgaurora.Event) { progress = append(progress, e) }}); err != nil {
		t.Fatal(err)
	}
	if len(progress) == 0 || progress[len(progress)-1].Done != 1 || progress[len(progress)-1].Total != 1 || !progress[len(progress)-1].Completed {
		t.Errorf("progress = %+v, want the last poll to show 1 of 1 tables ready", progress)
	}
	if n := queryInt(t, p.subDB.Pool, "SELECT count(*) FROM items"); n != 100 {
		t.Fatalf("subscriber has %d rows after the initial sync, want 100", n)
	}

	// Inserts, updates and deletes replicate.
	mustExec(t, p.pubDB.Pool, "INSERT INTO items VALUES (101, 'new', 1)")
	mustExec(t, p.pubDB.Pool, "UPDATE items SET qty = qty * 10 WHERE id <= 10")
	mustExec(t, p.pubDB.Pool, "UPDATE items SET id = 1000 WHERE id = 50")
	mustExec(t, p.pubDB.Pool, "DELETE FROM items WHERE id BETWEEN 90 AND 99")
	const checksum = "SELECT count(*)::text || ':' || sum(id)::text || ':' || sum(qty)::text FROM items"
	var want string
	if err := p.pubDB.Pool.QueryRow(ctx, checksum).Scan(&want); err != nil {
		t.Fatal(err)
	}
	pgtest.WaitFor(t, "changes to replicate", 20*time.Second, func() (bool, string) {
		var got string
		if err := p.subDB.Pool.QueryRow(ctx, checksum).Scan(&got); err != nil {
			return false, err.Error()
		}
		return got == want, got + " want " + want
	})

	// The listing shows the table ready, the slot and a redacted
	// connection string.
	s, err := p.sub.Subscription(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Enabled || s.SlotName != sub || !slices.Equal(s.Publications, []string{"shop"}) || !s.Synced() {
		t.Errorf("subscription = %+v", s)
	}
	if diff := cmp.Diff([]SubscribedTable{{Table: TableName{"public", "items"}, State: SyncReady}}, s.Tables,
		cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".LSN" }, cmp.Ignore())); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	if !slices.Contains(secretsql.ConnSecrets(s.Conn), pubPassword) {
		t.Errorf("the listed connection string does not carry the stored password")
	}
	for _, printed := range []string{s.Conn.String(), fmt.Sprintf("%v %+v %#v %s %q", s, s, s, s.Conn, s.Conn)} {
		if strings.Contains(printed, secretPart()) || !strings.Contains(printed, "password=REDACTED") {
			t.Errorf("printed subscription leaks or lacks the redaction: %s", printed)
		}
	}
	if s.WorkerPID == 0 {
		t.Errorf("no apply worker reported: %+v", s)
	}

	// Adding a table to the publication and refreshing copies it.
	mustExec(t, p.pubDB.Pool, "INSERT INTO later SELECT generate_series(1, 5)")
	if err := p.pub.AddPublicationTables(ctx, "shop", PublishedTable{Table: TableName{"public", "later"}}); err != nil {
		t.Fatal(err)
	}
	if err := p.sub.RefreshSubscription(ctx, sub, true); err != nil {
		t.Fatal(err)
	}
	if err := p.sub.WaitSync(ctx, sub, nil); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, p.subDB.Pool, "SELECT count(*) FROM later"); n != 5 {
		t.Errorf("later has %d rows on the subscriber, want 5", n)
	}

	// Disable, then WaitSync refuses to wait on a disabled subscription
	// with work pending; enable again.
	if err := p.sub.DisableSubscription(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if s, err := p.sub.Subscription(ctx, sub); err != nil || s.Enabled {
		t.Fatalf("after disable: %+v, %v", s, err)
	}
	if err := p.sub.EnableSubscription(ctx, sub); err != nil {
		t.Fatal(err)
	}
	// Options and connection changes.
	off := "local"
	if err := p.sub.SetSubscriptionOptions(ctx, sub, SubscriptionOptions{SynchronousCommit: &off, Binary: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if err := p.sub.SetSubscriptionConn(ctx, sub, conn); err != nil {
		t.Fatal(err)
	}
	if s, err := p.sub.Subscription(ctx, sub); err != nil || s.SynchronousCommit != "local" || !s.Binary {
		t.Errorf("after SetSubscriptionOptions: %+v, %v", s, err)
	}
	mustExec(t, p.pubDB.Pool, "INSERT INTO items VALUES (102, 'after alter', 2)")
	pgtest.WaitFor(t, "replication after the alterations", 20*time.Second, func() (bool, string) {
		n := queryInt(t, p.subDB.Pool, "SELECT count(*) FROM items WHERE id = 102")
		return n == 1, fmt.Sprint(n)
	})

	// Dropping the subscription drops its slot on the publisher.
	if err := p.sub.DropSubscription(ctx, sub, nil); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, p.pubDB.Pool, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", sub); n != 0 {
		t.Errorf("the slot survived DROP SUBSCRIPTION")
	}
	if err := p.sub.DropSubscription(ctx, sub, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("dropping a missing subscription: %v, want ErrNotFound", err)
	}
	if err := p.sub.DropSubscription(ctx, sub, &DropSubscriptionOptions{IfExists: true}); err != nil {
		t.Errorf("IfExists: %v", err)
	}

	// The password never reached the logs of either server, though
	// log_statement is 'all' on both.
	for _, srv := range []interface{ ReadLog() ([]byte, error) }{p.pubDB.Server, p.subDB.Server} {
		log, err := srv.ReadLog()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(log, []byte(secretPart())) {
			t.Errorf("the password is in a server log")
		}
		if bytes.Contains(log, []byte("CREATE SUBSCRIPTION")) {
			t.Errorf("CREATE SUBSCRIPTION was logged")
		}
	}
	// Nor pg_stat_statements, which keeps utility statements' text.
	// (Searched here, not in SQL: a query with the password as its
	// parameter would itself put it in the log.)
	for _, pool := range pools(p) {
		var all string
		if err := pool.QueryRow(ctx, "SELECT coalesce(string_agg(query, ' '), '') FROM pg_stat_statements").Scan(&all); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(all, secretPart()) {
			t.Errorf("pg_stat_statements holds the password")
		}
	}
	if n := queryInt(t, p.subDB.Pool, "SELECT count(*) FROM pg_stat_statements WHERE query LIKE 'ALTER SUBSCRIPTION%ENABLE%'"); n == 0 {
		t.Errorf("pg_stat_statements tracked nothing: the check above proves nothing")
	}
	// And logging is back on for the pooled connections.
	log, _ := p.subDB.Server.ReadLog()
	if !bytes.Contains(log, []byte("ALTER SUBSCRIPTION "+`"shop_sub"`+" SET (synchronous_commit")) {
		t.Errorf("statement logging was not restored after the secret statements")
	}
}

func pools(p pair) []*pgxpool.Pool { return []*pgxpool.Pool{p.pubDB.Pool, p.subDB.Pool} }

func ptr[T any](v T) *T { return &v }

// TestSubscriptionKeepSlot drops a subscription whose publisher is gone
// with KeepSlot, then the slot on the publisher.
func TestSubscriptionKeepSlot(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	ctx := testCtx(t)
	for _, pool := range pools(p) {
		mustExec(t, pool, "CREATE TABLE k (id int PRIMARY KEY)")
	}
	if err := p.pub.CreatePublication(ctx, PublicationSpec{Name: "kp", AllTables: true, Operations: []Operation{OpInsert}}); err != nil {
		t.Fatal(err)
	}
	if err := p.sub.CreateSubscription(ctx, SubscriptionSpec{Name: "ks", Conn: connInfo(t, p.pubDB), Publications: []string{"kp"},
		Disabled: true, SlotName: "ks_slot", SynchronousCommit: "off", DisableOnError: true}); err != nil {
		t.Fatal(err)
	}
	s, err := p.sub.Subscription(ctx, "ks")
	if err != nil {
		t.Fatal(err)
	}
	if s.Enabled || s.SlotName != "ks_slot" || !s.DisableOnError {
		t.Errorf("subscription = %+v", s)
	}
	if err := p.sub.WaitSync(ctx, "ks", nil); !errors.Is(err, ErrSubscriptionDisabled) {
		t.Errorf("WaitSync on a disabled subscription: %v, want ErrSubscriptionDisabled", err)
	}
	if err := p.sub.DropSubscription(ctx, "ks", &DropSubscriptionOptions{KeepSlot: true}); err != nil {
		t.Fatal(err)
	}
	slots, err := p.pub.Slots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(slots, func(s pgaurora.ReplicationSlot) bool {
		return s.Name == "ks_slot" && s.Plugin == "pgoutput" && !s.Active
	}) {
		t.Fatalf("the kept slot is not on the publisher: %+v", slots)
	}
	if err := p.pub.DropSlot(ctx, "ks_slot"); err != nil {
		t.Fatal(err)
	}
	if err := p.pub.DropSlot(ctx, "ks_slot"); !errors.Is(err, ErrNotFound) {
		t.Errorf("dropping a missing slot: %v, want ErrNotFound", err)
	}
}

// TestSecretStatementsNeedAPinnedConnection checks that a statement with a
// password is never sent through a Querier that cannot pin a connection,
// nor inside a transaction when it creates a slot.
func TestSecretStatementsNeedAPinnedConnection(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	ctx := testCtx(t)
	spec := SubscriptionSpec{Name: "never", Conn: connInfo(t, p.pubDB), Publications: []string{"x"}}
	err := New(wrapped{p.subDB.Pool}).CreateSubscription(ctx, spec)
	if !errors.Is(err, pgaurora.ErrLogSuppression) {
		t.Errorf("unpinned querier: %v, want pgaurora.ErrLogSuppression", err)
	}
	tx, err := p.subDB.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := New(tx).CreateSubscription(ctx, spec); !errors.Is(err, ErrInvalid) {
		t.Errorf("in a transaction: %v, want ErrInvalid", err)
	}
	if _, err := New(wrapped{p.pubDB.Pool}).CreateCDCUser(ctx, CDCUserSpec{Name: "never_cdc", Password: "x"}); !errors.Is(err, pgaurora.ErrLogSuppression) {
		t.Errorf("CDC user through an unpinned querier: %v, want pgaurora.ErrLogSuppression", err)
	}
	if n := queryInt(t, p.subDB.Pool, "SELECT count(*) FROM pg_subscription WHERE subname = 'never'"); n != 0 {
		t.Errorf("a refused subscription was created")
	}
	// A failing statement (the server cannot reach a closed port) does
	// not leak the password in the error.
	bad, _ := spec.Conn.With("port", "1")
	spec.Conn, spec.Name = bad, "unreachable"
	err = p.sub.CreateSubscription(ctx, spec)
	if err == nil || strings.Contains(err.Error(), secretPart()) {
		t.Errorf("unreachable publisher: %v", err)
	}
	if log, err := p.subDB.Server.ReadLog(); err != nil || bytes.Contains(log, []byte(secretPart())) {
		for _, l := range strings.Split(string(log), "\n") {
			if strings.Contains(l, secretPart()) {
				t.Log(strings.ReplaceAll(l, secretPart(), "<SECRET>"))
			}
		}
		t.Errorf("the password of a failed CREATE SUBSCRIPTION is in the log (%v)", err)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Errorf("the server's error is not in the chain: %v", err)
	}
}

// wrapped hides the pool's type, so the client cannot pin a connection.
type wrapped struct{ q pgaurora.Querier }

func (w wrapped) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return w.q.Exec(ctx, sql, args...)
}
func (w wrapped) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return w.q.Query(ctx, sql, args...)
}
func (w wrapped) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return w.q.QueryRow(ctx, sql, args...)
}
func (w wrapped) Begin(ctx context.Context) (pgx.Tx, error) { return w.q.Begin(ctx) }
