package pglogical

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/pgserver"
	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

func logOf(s *pgserver.Server) LogSource {
	return func(context.Context) (io.Reader, error) {
		b, err := s.ReadLog()
		return bytes.NewReader(b), err
	}
}

// sameRows fails unless the subscriber's docs_lab_table holds exactly the
// provider's rows: no row lost, none duplicated.
func sameRows(t *testing.T, prov, sub side) {
	t.Helper()
	const q = "SELECT count(*), count(DISTINCT a), coalesce(sum(a), 0) FROM docs_lab_table"
	var pn, pd, ps, sn, sd, ss int64
	pgtest.WaitFor(t, "the subscriber to have the provider's rows", 30*time.Second, func() (bool, string) {
		if err := prov.pool.QueryRow(testCtx(t), q).Scan(&pn, &pd, &ps); err != nil {
			return false, err.Error()
		}
		if err := sub.pool.QueryRow(testCtx(t), q).Scan(&sn, &sd, &ss); err != nil {
			return false, err.Error()
		}
		return pn == sn && ps == ss, "provider " + strconv.FormatInt(pn, 10) + " rows, subscriber " + strconv.FormatInt(sn, 10)
	})
	if sn != sd {
		t.Fatalf("subscriber has duplicated rows: %d rows, %d distinct", sn, sd)
	}
}

func TestWalkthrough(t *testing.T) {
	prov, sub := pair(t)
	ctx := testCtx(t)
	name := walkthrough(t, prov, sub, 5000)
	if n := count(t, sub, "SELECT count(*) FROM docs_lab_table"); n != 5000 {
		t.Fatalf("subscriber has %d rows after the sync, want 5000", n)
	}
	mustExec(t, prov, "INSERT INTO docs_lab_table SELECT generate_series(5001, 5100)")
	sameRows(t, prov, sub)

	s, err := sub.client.Subscription(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != StatusReplicating || !s.Enabled || s.Sync != SyncReady || s.ProviderNode != prov.node ||
		!s.Provider.Equal(prov.dsn) || !slices.Equal(s.ReplicationSets, []string{DefaultSet}) || s.ForwardOrigins != ForwardAll {
		t.Errorf("subscription = %+v", s)
	}
	if !strings.HasPrefix(s.SlotName, "pgl_") {
		t.Errorf("slot name %q", s.SlotName)
	}
	tables, err := sub.client.SubscriptionTables(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]TableSync{{Table: T("public", "docs_lab_table"), State: SyncReady}}, tables); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	if st, err := sub.client.TableSyncState(ctx, name, T("", "docs_lab_table")); err != nil || st != SyncReady {
		t.Errorf("TableSyncState = %v, %v", st, err)
	}
	d, err := Diagnose(ctx, prov.client, sub.client, name, &DiagnoseOptions{Log: logOf(subSrv)})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Healthy() || !d.OriginPresent || d.Slot == nil || !d.Slot.Active || len(d.ApplyFailures) != 0 {
		t.Errorf("healthy pair diagnosed as %s (%+v)", d, d)
	}
	nodes, err := sub.client.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].Name != sub.node || !nodes[0].Local || nodes[1].Name != prov.node || nodes[1].Local {
		t.Errorf("subscriber's nodes = %+v", nodes)
	}
}

func TestWaitReportsProgress(t *testing.T) {
	prov, sub := pair(t)
	ctx := testCtx(t)
	for _, s := range []side{prov, sub} {
		mustExec(t, s, "CREATE TABLE t1 (id int PRIMARY KEY, v text)")
		mustExec(t, s, "CREATE TABLE t2 (id int PRIMARY KEY)")
	}
	mustExec(t, prov, "INSERT INTO t1 SELECT g, 'x' FROM generate_series(1, 20000) g")
	if _, err := prov.client.CreateNode(ctx, prov.node, prov.dsn); err != nil {
		t.Fatal(err)
	}
	if err := prov.client.AddAllTables(ctx, DefaultSet, []string{"public"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.client.CreateNode(ctx, sub.node, sub.dsn); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.client.CreateSubscription(ctx, SubscriptionSpec{Name: "s", Provider: prov.dsn, SynchronizeData: true}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []pgaurora.Event
	err := sub.client.WaitForSync(ctx, "s", &WaitOptions{Progress: func(p pgaurora.Event) {
		mu.Lock()
		seen = append(seen, p)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 {
		t.Fatal("no progress reported")
	}
	last := seen[len(seen)-1]
	if !strings.HasSuffix(last.Status, "sync replicating") || last.Total != 2 || last.Done != 2 || last.Detail != "" || !last.Completed || last.Operation != "pglogical.WaitForSync" {
		t.Errorf("last progress = %v", last)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i].Elapsed < seen[i-1].Elapsed || seen[i].Done < seen[i-1].Done {
			t.Errorf("progress out of order: %v then %v", seen[i-1], seen[i])
		}
	}
	if n := count(t, sub, "SELECT count(*) FROM t1"); n != 20000 {
		t.Errorf("t1 has %d rows", n)
	}
	t.Logf("%d progress reports, last after %v", len(seen), last.Elapsed)
}

func TestWaitEndsWithContextAndDisabled(t *testing.T) {
	prov, sub := pair(t)
	ctx := testCtx(t)
	// The table is missing on the subscriber, so the sync cannot finish.
	mustExec(t, prov, "CREATE TABLE only_on_provider (id int PRIMARY KEY)")
	if _, err := prov.client.CreateNode(ctx, prov.node, prov.dsn); err != nil {
		t.Fatal(err)
	}
	if err := prov.client.AddTable(ctx, DefaultSet, T("public", "only_on_provider"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.client.CreateNode(ctx, sub.node, sub.dsn); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.client.CreateSubscription(ctx, SubscriptionSpec{Name: "stuck", Provider: prov.dsn, SynchronizeData: true}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := sub.client.WaitForSync(wctx, "stuck", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitForSync = %v, want the context's deadline", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("WaitForSync returned %v after the deadline", el)
	}
	if !strings.Contains(err.Error(), "last seen: status") {
		t.Errorf("error does not say where the sync was: %v", err)
	}
	if err := sub.client.DisableSubscription(ctx, "stuck", true); err != nil {
		t.Fatal(err)
	}
	if err := sub.client.WaitForSync(ctx, "stuck", nil); !errors.Is(err, ErrSubscriptionDisabled) {
		t.Errorf("WaitForSync on a disabled subscription = %v", err)
	}
	if err := sub.client.WaitForSync(ctx, "nope", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("WaitForSync on a missing subscription = %v", err)
	}
	// PrepareUpgrade refuses while mid-sync, and says what is.
	rep, err := sub.client.PrepareUpgrade(ctx, nil)
	if !errors.Is(err, ErrMidSync) || len(rep.MidSync) == 0 || len(rep.Applied) != 0 {
		t.Fatalf("PrepareUpgrade mid-sync = %v (%+v)", err, rep)
	}
	if _, err := sub.client.Subscription(ctx, "stuck"); err != nil {
		t.Fatalf("the refused PrepareUpgrade dropped something: %v", err)
	}
	rep, err = sub.client.PrepareUpgrade(ctx, &UpgradeOptions{Force: true})
	if err != nil {
		t.Fatalf("forced PrepareUpgrade: %v", err)
	}
	if len(rep.Applied) != 2 {
		t.Errorf("forced PrepareUpgrade applied %v", rep.Applied)
	}
}

func TestInstallRefusesWithoutPreload(t *testing.T) {
	srv := pgtest.StartServer(t) // no pglogical, wal_level=replica
	db := newDB(t, srv)
	c := New(db.Pool)
	ctx := testCtx(t)
	_, err := c.Install(ctx)
	if !errors.Is(err, ErrNotPreloaded) || !errors.Is(err, ErrWALLevel) {
		t.Fatalf("Install = %v, want ErrNotPreloaded and ErrWALLevel", err)
	}
	for _, want := range []string{"shared_preload_libraries", "wal_level", "rds.logical_replication"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_extension WHERE extname = 'pglogical'").Scan(&n); err != nil || n != 0 {
		t.Errorf("extension created anyway (%d, %v)", n, err)
	}
	if _, err := c.Version(ctx); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("Version = %v, want ErrNotInstalled", err)
	}
	if _, err := c.LocalNode(ctx); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("LocalNode = %v, want ErrNotInstalled", err)
	}
}

func TestNodesAndInterfaces(t *testing.T) {
	s := newSide(t, provSrv, "n1")
	cleanupPglogical(t, s)
	ctx := testCtx(t)
	if v, err := s.client.Version(ctx); err != nil || !strings.HasPrefix(v, "2.4") {
		t.Errorf("Version = %q, %v", v, err)
	}
	if _, err := s.client.LocalNode(ctx); !errors.Is(err, ErrNoLocalNode) {
		t.Errorf("LocalNode before create = %v", err)
	}
	n, err := s.client.CreateNode(ctx, "n1", s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	if n.Name != "n1" || !n.Local || len(n.Interfaces) != 1 || !n.Interfaces[0].DSN.Equal(s.dsn) {
		t.Errorf("node = %+v", n)
	}
	if _, err := s.client.CreateNode(ctx, "n1", s.dsn); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("second CreateNode = %v", err)
	}
	alt, _ := s.dsn.With("application_name", "via alt")
	if _, err := s.client.AddInterface(ctx, "n1", "alt", alt); err != nil {
		t.Fatal(err)
	}
	n, err = s.client.LocalNode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Interfaces) != 2 || n.Interfaces[0].Name != "alt" || !n.Interfaces[0].DSN.Equal(alt) {
		t.Errorf("interfaces = %+v", n.Interfaces)
	}
	if err := s.client.DropInterface(ctx, "n1", "alt"); err != nil {
		t.Fatal(err)
	}
	if err := s.client.DropInterface(ctx, "n1", "alt"); !errors.Is(err, ErrNotFound) {
		t.Errorf("dropping a dropped interface = %v", err)
	}
	if err := s.client.DropNode(ctx, "nope", false); !errors.Is(err, ErrNotFound) {
		t.Errorf("DropNode(nope) = %v", err)
	}
	if err := s.client.DropNode(ctx, "nope", true); err != nil {
		t.Errorf("DropNode(nope, ifExists) = %v", err)
	}
	if err := s.client.DropNode(ctx, "n1", false); err != nil {
		t.Fatal(err)
	}
	if ns, err := s.client.Nodes(ctx); err != nil || len(ns) != 0 {
		t.Errorf("nodes after drop = %+v, %v", ns, err)
	}
	if _, err := s.client.CreateNode(ctx, strings.Repeat("x", 64), s.dsn); !errors.Is(err, ErrInvalid) {
		t.Errorf("64-byte node name = %v", err)
	}
}

func TestReplicationSets(t *testing.T) {
	s := newSide(t, provSrv, "rs")
	cleanupPglogical(t, s)
	ctx := testCtx(t)
	mustExec(t, s, `CREATE SCHEMA app; CREATE TABLE app."Orders" (id int PRIMARY KEY, region text, note text);
		CREATE TABLE app.plain (id int PRIMARY KEY); CREATE SEQUENCE app.s1; CREATE SEQUENCE app.s2; CREATE TABLE app.nopk (v text)`)
	if _, err := s.client.CreateNode(ctx, "rs", s.dsn); err != nil {
		t.Fatal(err)
	}
	if err := s.client.CreateReplicationSet(ctx, "orders", Insert|Update); err != nil {
		t.Fatal(err)
	}
	if err := s.client.CreateReplicationSet(ctx, "orders", AllActions); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("duplicate set = %v", err)
	}
	if err := s.client.AlterReplicationSet(ctx, "orders", Insert|Update|Delete); err != nil {
		t.Fatal(err)
	}
	if err := s.client.AddTable(ctx, "orders", T("app", "Orders"), &TableOptions{Columns: []string{"id", "region"}, RowFilter: "region = 'eu'"}); err != nil {
		t.Fatal(err)
	}
	if err := s.client.AddTable(ctx, "orders", T("app", "missing"), nil); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("adding a missing table = %v", err)
	}
	if err := s.client.AddTable(ctx, "nope", T("app", "plain"), nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("adding to a missing set = %v", err)
	}
	if err := s.client.AddTable(ctx, DefaultSet, T("app", "nopk"), nil); err == nil {
		t.Error("a table without primary key went into the default set")
	}
	if err := s.client.AddTable(ctx, DefaultInsertOnlySet, T("app", "nopk"), nil); err != nil {
		t.Errorf("a table without primary key into the insert-only set: %v", err)
	}
	if err := s.client.AddAllTables(ctx, DefaultSet, []string{"app"}, false); err == nil {
		t.Error("AddAllTables took the table without primary key")
	}
	if err := s.client.AddTable(ctx, DefaultSet, T("app", "plain"), &TableOptions{Synchronize: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.client.AddSequence(ctx, "orders", T("app", "s1"), false); err != nil {
		t.Fatal(err)
	}
	if err := s.client.AddAllSequences(ctx, DefaultSet, []string{"app"}, false); err != nil {
		t.Fatal(err)
	}
	if err := s.client.SynchronizeSequence(ctx, T("app", "s1")); err != nil {
		t.Fatal(err)
	}
	if err := s.client.SynchronizeSequence(ctx, T("app", "plain")); err == nil {
		t.Error("SynchronizeSequence on a table succeeded")
	}
	sets, err := s.client.ReplicationSets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ReplicationSet{}
	for _, rs := range sets {
		rs.ID = 0
		got[rs.Name] = rs
	}
	want := map[string]ReplicationSet{
		DefaultSet:           {Name: DefaultSet, Actions: AllActions, Tables: []SetTable{{Table: T("app", "plain")}}, Sequences: []Table{T("app", "s1"), T("app", "s2")}},
		DefaultInsertOnlySet: {Name: DefaultInsertOnlySet, Actions: Insert | Truncate, Tables: []SetTable{{Table: T("app", "nopk")}}},
		DDLSet:               {Name: DDLSet, Actions: Insert},
		"orders": {Name: "orders", Actions: Insert | Update | Delete, Sequences: []Table{T("app", "s1")},
			Tables: []SetTable{{Table: T("app", "Orders"), Columns: []string{"id", "region"}, RowFilter: "(region = 'eu'::text)"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("replication sets (-want +got):\n%s", diff)
	}
	if err := s.client.RemoveTable(ctx, "orders", T("app", "Orders")); err != nil {
		t.Fatal(err)
	}
	if err := s.client.RemoveSequence(ctx, "orders", T("app", "s1")); err != nil {
		t.Fatal(err)
	}
	if err := s.client.DropReplicationSet(ctx, "orders", false); err != nil {
		t.Fatal(err)
	}
	if err := s.client.DropReplicationSet(ctx, "orders", false); !errors.Is(err, ErrNotFound) {
		t.Errorf("dropping a dropped set = %v", err)
	}
	if err := s.client.DropReplicationSet(ctx, "orders", true); err != nil {
		t.Errorf("dropping a dropped set with ifExists = %v", err)
	}
	if err := s.client.CreateReplicationSet(ctx, "empty", 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("a set replicating nothing = %v", err)
	}
}

func TestSubscriptionOperations(t *testing.T) {
	prov, sub := pair(t)
	ctx := testCtx(t)
	for _, s := range []side{prov, sub} {
		mustExec(t, s, `CREATE TABLE orders (id int PRIMARY KEY, region text, note text);
			CREATE TABLE extra (id int PRIMARY KEY); CREATE SEQUENCE seq`)
	}
	mustExec(t, prov, "INSERT INTO orders VALUES (1, 'eu', 'a'), (2, 'us', 'b'), (3, 'eu', 'c'); INSERT INTO extra VALUES (1), (2)")
	mustExec(t, prov, "SELECT setval('seq', 500)")
	if _, err := prov.client.CreateNode(ctx, prov.node, prov.dsn); err != nil {
		t.Fatal(err)
	}
	if err := prov.client.CreateReplicationSet(ctx, "eu", AllActions); err != nil {
		t.Fatal(err)
	}
	if err := prov.client.AddTable(ctx, "eu", T("public", "orders"), &TableOptions{Columns: []string{"id", "region"}, RowFilter: "region = 'eu'"}); err != nil {
		t.Fatal(err)
	}
	if err := prov.client.CreateReplicationSet(ctx, "more", AllActions); err != nil {
		t.Fatal(err)
	}
	if err := prov.client.AddTable(ctx, "more", T("public", "extra"), nil); err != nil {
		t.Fatal(err)
	}
	if err := prov.client.AddSequence(ctx, "eu", T("public", "seq"), false); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.client.CreateNode(ctx, sub.node, sub.dsn); err != nil {
		t.Fatal(err)
	}
	spec := SubscriptionSpec{Name: "eu_sub", Provider: prov.dsn, ReplicationSets: []string{"eu", DDLSet}, SynchronizeData: true,
		ApplyDelay: 500 * time.Millisecond, ForceTextTransfer: true}
	if _, err := sub.client.CreateSubscription(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.client.CreateSubscription(ctx, spec); err == nil || !strings.Contains(err.Error(), "already subscribes") {
		t.Errorf("a second subscription to the same sets = %v", err)
	}
	dup := spec
	dup.ReplicationSets = []string{"more"}
	if _, err := sub.client.CreateSubscription(ctx, dup); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("a second subscription with the same name = %v", err)
	}
	if err := sub.client.WaitForSync(ctx, "eu_sub", nil); err != nil {
		t.Fatal(err)
	}
	s, err := sub.client.Subscription(ctx, "eu_sub")
	if err != nil {
		t.Fatal(err)
	}
	if s.ApplyDelay != 500*time.Millisecond || !s.ForceTextTransfer || !slices.Equal(s.ReplicationSets, []string{"eu", DDLSet}) {
		t.Errorf("subscription = %+v", s)
	}
	// Column list and row filter: only EU orders, without the note.
	if n := count(t, sub, "SELECT count(*) FROM orders WHERE region = 'eu' AND note IS NULL"); n != 2 || count(t, sub, "SELECT count(*) FROM orders") != 2 {
		t.Errorf("filtered sync gave %d matching rows of %d", n, count(t, sub, "SELECT count(*) FROM orders"))
	}
	// The apply delay holds new changes back (and delays everything
	// below by 500 ms).
	start := time.Now()
	mustExec(t, prov, "INSERT INTO orders VALUES (4, 'eu', 'd')")
	pgtest.WaitFor(t, "the delayed insert", 20*time.Second, func() (bool, string) {
		return count(t, sub, "SELECT count(*) FROM orders WHERE id = 4") == 1, "not yet"
	})
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Errorf("a change with apply_delay 500ms arrived after %v", el)
	}

	// Disable / enable.
	if err := sub.client.DisableSubscription(ctx, "eu_sub", true); err != nil {
		t.Fatal(err)
	}
	if s, _ := sub.client.Subscription(ctx, "eu_sub"); s.Status != StatusDisabled || s.Enabled {
		t.Errorf("after disable: %s enabled=%v", s.Status, s.Enabled)
	}
	if err := sub.client.EnableSubscription(ctx, "eu_sub", true); err != nil {
		t.Fatal(err)
	}
	if err := sub.client.DisableSubscription(ctx, "nope", true); !errors.Is(err, ErrNotFound) {
		t.Errorf("disabling a missing subscription = %v", err)
	}

	// Add a set, then copy its table.
	if err := sub.client.AddReplicationSet(ctx, "eu_sub", "more"); err != nil {
		t.Fatal(err)
	}
	if err := sub.client.ResynchronizeTable(ctx, "eu_sub", T("public", "extra"), true); err != nil {
		t.Fatal(err)
	}
	if err := sub.client.WaitForTableSync(ctx, "eu_sub", T("", "extra"), nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, sub, "SELECT count(*) FROM extra"); n != 2 {
		t.Errorf("extra has %d rows after the resync", n)
	}
	if err := sub.client.RemoveReplicationSet(ctx, "eu_sub", "more"); err != nil {
		t.Fatal(err)
	}
	if s, _ := sub.client.Subscription(ctx, "eu_sub"); !slices.Equal(s.ReplicationSets, []string{"eu", DDLSet}) {
		t.Errorf("sets after remove = %v", s.ReplicationSets)
	}
	if err := sub.client.Synchronize(ctx, "eu_sub", false); err != nil {
		t.Fatal(err)
	}

	// Sequences and DDL.
	if err := prov.client.SynchronizeSequence(ctx, T("public", "seq")); err != nil {
		t.Fatal(err)
	}
	pgtest.WaitFor(t, "the sequence to arrive", 20*time.Second, func() (bool, string) {
		var v int64
		sub.pool.QueryRow(ctx, "SELECT last_value FROM seq").Scan(&v)
		return v >= 500, strconv.FormatInt(v, 10)
	})
	if err := prov.client.ReplicateDDL(ctx, "CREATE TABLE public.from_ddl (id int PRIMARY KEY)", nil); err != nil {
		t.Fatal(err)
	}
	pgtest.WaitFor(t, "the replicated DDL", 20*time.Second, func() (bool, string) {
		return count(t, sub, "SELECT count(*) FROM pg_class WHERE relname = 'from_ddl'") == 1, "no table yet"
	})
	if err := prov.client.ReplicateDDL(ctx, "CREATE TABLE public.x ()", []string{"nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("DDL to a missing set = %v", err)
	}

	if err := sub.client.DropSubscription(ctx, "eu_sub", false); err != nil {
		t.Fatal(err)
	}
	if err := sub.client.DropSubscription(ctx, "eu_sub", false); !errors.Is(err, ErrNotFound) {
		t.Errorf("dropping a dropped subscription = %v", err)
	}
	if err := sub.client.DropSubscription(ctx, "eu_sub", true); err != nil {
		t.Errorf("dropping a dropped subscription with ifExists = %v", err)
	}
	var slots int
	prov.pool.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()").Scan(&slots)
	if slots != 0 {
		t.Errorf("%d slots left on the provider after drop_subscription", slots)
	}
}

func TestPasswordNeverLeaks(t *testing.T) {
	prov, sub := pair(t)
	ctx := testCtx(t)
	const pw = "Hunter2-x9 'q'"
	mustExec(t, sub, "ALTER DATABASE "+sub.db.Name+" SET log_statement = 'all'")
	sub.pool.Reset() // new sessions pick up log_statement=all
	if _, err := prov.client.CreateNode(ctx, prov.node, prov.dsn); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.client.CreateNode(ctx, sub.node, sub.dsn); err != nil {
		t.Fatal(err)
	}
	// An unreachable provider: pglogical puts the whole DSN in DETAIL.
	bad, _ := mustDSN(t, map[string]string{"host": "127.0.0.1", "port": "1", "dbname": "x", "user": "u"}).WithPassword(pw)
	_, err := sub.client.CreateSubscription(ctx, SubscriptionSpec{Name: "bad", Provider: bad})
	if err == nil {
		t.Fatal("subscribing to port 1 succeeded")
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("no server error in %v", err)
	}
	for _, text := range []string{err.Error(), pgErr.Message, pgErr.Detail, pgErr.Hint, pgErr.Where} {
		if strings.Contains(text, "Hunter2") {
			t.Errorf("the password leaks into the error: %q", text)
		}
	}
	t.Logf("error: %v (detail %q)", err, pgErr.Detail)
	// A reachable provider (trust ignores the password): the statement,
	// with log_statement=all, must not put it in the log.
	good, _ := prov.dsn.WithPassword(pw)
	if _, err := sub.client.CreateSubscription(ctx, SubscriptionSpec{Name: "good", Provider: good}); err != nil {
		t.Fatal(err)
	}
	if err := sub.client.WaitForSync(ctx, "good", nil); err != nil {
		t.Fatal(err)
	}
	s, err := sub.client.Subscription(ctx, "good")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Provider.Equal(good) || strings.Contains(s.Provider.String(), "Hunter2") || strings.Contains(s.Spec().Provider.String(), "Hunter2") {
		t.Errorf("provider DSN read back as %v", s.Provider)
	}
	log, err := subSrv.ReadLog()
	if err != nil {
		t.Fatal(err)
	}
	var leaks []string
	for _, line := range strings.Split(string(log), "\n") {
		if strings.Contains(line, "Hunter2") && !strings.Contains(line, "dsn was:") {
			leaks = append(leaks, line)
		}
	}
	if len(leaks) > 0 {
		t.Errorf("the password reached the server log outside pglogical's own DETAIL:\n%s", strings.Join(leaks, "\n"))
	}
	if !bytes.Contains(log, []byte("create_subscription")) {
		// log_statement=all did log other statements: the check above
		// means the suppression worked, not that nothing was logged.
		t.Log("note: no create_subscription statement in the log")
	}
}

func TestBreakAndRepair(t *testing.T) {
	t.Run("origin dropped", func(t *testing.T) {
		prov, sub := pair(t)
		ctx := testCtx(t)
		name := walkthrough(t, prov, sub, 5000)
		s, _ := sub.client.Subscription(ctx, name)
		if err := sub.client.DisableSubscription(ctx, name, true); err != nil {
			t.Fatal(err)
		}
		mustExec(t, sub, "SELECT pg_replication_origin_drop($1)", s.SlotName)
		if err := sub.client.EnableSubscription(ctx, name, true); err != nil {
			t.Fatal(err)
		}
		mustExec(t, prov, "INSERT INTO docs_lab_table SELECT generate_series(5001, 5500)")
		opts := &DiagnoseOptions{Log: logOf(subSrv)}
		var d Diagnosis
		pgtest.WaitFor(t, "the apply worker failure in the log", 20*time.Second, func() (bool, string) {
			var err error
			d, err = Diagnose(ctx, prov.client, sub.client, name, opts)
			if err != nil {
				return false, err.Error()
			}
			return d.Cause == CauseOriginMissing && len(d.ApplyFailures) > 0, d.String()
		})
		if !strings.Contains(d.ApplyFailures[len(d.ApplyFailures)-1].Message, "does not exist") || d.Slot == nil || d.Slot.Active || !d.Repairable() {
			t.Errorf("diagnosis = %s; failures %+v; slot %+v", d, d.ApplyFailures, d.Slot)
		}
		t.Logf("diagnosis: %s", d)
		rep, err := Repair(ctx, prov.client, sub.client, name, &RepairOptions{Diagnose: opts})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"disable subscription (immediate)", `create replication origin "` + s.SlotName + `"`, "enable subscription (immediate)"}
		if diff := cmp.Diff(want, rep.Steps); diff != "" {
			t.Errorf("steps (-want +got):\n%s", diff)
		}
		if rep.After.Status != StatusReplicating || !rep.After.OriginPresent || rep.After.Slot == nil || !rep.After.Slot.Active {
			t.Errorf("after repair: %s", rep.After)
		}
		mustExec(t, prov, "INSERT INTO docs_lab_table SELECT generate_series(5501, 5600)")
		sameRows(t, prov, sub)
	})

	t.Run("subscription disabled", func(t *testing.T) {
		prov, sub := pair(t)
		ctx := testCtx(t)
		name := walkthrough(t, prov, sub, 5000)
		if err := sub.client.DisableSubscription(ctx, name, true); err != nil {
			t.Fatal(err)
		}
		mustExec(t, prov, "INSERT INTO docs_lab_table SELECT generate_series(5001, 5300)")
		d, err := Diagnose(ctx, prov.client, sub.client, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.Cause != CauseDisabled || d.Status != StatusDisabled || d.Enabled {
			t.Errorf("diagnosis = %s", d)
		}
		var progress []string
		rep, err := Repair(ctx, prov.client, sub.client, name, &RepairOptions{Progress: func(e pgaurora.Event) { progress = append(progress, e.Step) }})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"enable subscription (immediate)"}, rep.Steps); diff != "" || !slices.Equal(progress, rep.Steps) {
			t.Errorf("steps (-want +got):\n%s; progress %v", diff, progress)
		}
		sameRows(t, prov, sub)
		// Repairing a healthy pair does nothing.
		rep, err = Repair(ctx, prov.client, sub.client, name, nil)
		if err != nil || len(rep.Steps) != 0 || !rep.Before.Healthy() {
			t.Errorf("repairing a healthy pair: %v, %+v", err, rep)
		}
	})

	t.Run("provider stopped", func(t *testing.T) {
		ps := pgtest.StartServer(t, pgtest.WithPreload(LibraryName), pgtest.WithLogicalReplication())
		prov := newSide(t, ps, "provider")
		sub := newSide(t, subSrv, "subscriber")
		cleanupPglogical(t, sub, prov)
		ctx := testCtx(t)
		name := walkthrough(t, prov, sub, 5000)
		mustExec(t, prov, "INSERT INTO docs_lab_table SELECT generate_series(5001, 5200)")
		stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := ps.Stop(stopCtx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		d, err := Diagnose(ctx, prov.client, sub.client, name, &DiagnoseOptions{Log: logOf(subSrv)})
		if err != nil {
			t.Fatal(err)
		}
		if d.Cause != CauseProviderUnreachable || d.ProviderErr == nil {
			t.Errorf("diagnosis with the provider down = %s", d)
		}
		t.Logf("diagnosis: %s", d)
		if _, err := Repair(ctx, prov.client, sub.client, name, nil); !errors.Is(err, ErrProviderUnreachable) {
			t.Errorf("Repair with the provider down = %v", err)
		}
		// The apply worker notices and exits; the subscription goes down.
		pgtest.WaitFor(t, "the subscription to go down", 20*time.Second, func() (bool, string) {
			s, err := sub.client.Subscription(ctx, name)
			return err == nil && s.Status == StatusDown, string(s.Status)
		})
		if err := ps.StartAgain(ctx); err != nil {
			t.Fatal(err)
		}
		prov.pool.Reset()
		mustExec(t, prov, "INSERT INTO docs_lab_table SELECT generate_series(5201, 5400)")
		rep, err := Repair(ctx, prov.client, sub.client, name, &RepairOptions{Diagnose: &DiagnoseOptions{Log: logOf(subSrv)}})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("repair found %s and took steps %v", rep.Before.Cause, rep.Steps)
		if !rep.After.Healthy() {
			t.Errorf("after repair: %s", rep.After)
		}
		sameRows(t, prov, sub)
	})
}

func TestUpgradePreparationAndRestore(t *testing.T) {
	prov, sub := pair(t)
	ctx := testCtx(t)
	name := walkthrough(t, prov, sub, 1000)
	mustExec(t, prov, "CREATE SEQUENCE s; CREATE TABLE nopk (v text)")
	if err := prov.client.CreateReplicationSet(ctx, "extra", Insert|Update|Delete); err != nil {
		t.Fatal(err)
	}
	if err := prov.client.AddSequence(ctx, "extra", T("public", "s"), false); err != nil {
		t.Fatal(err)
	}
	if err := prov.client.AddTable(ctx, DefaultInsertOnlySet, T("public", "nopk"), nil); err != nil {
		t.Fatal(err)
	}
	sub1, _ := sub.client.Subscription(ctx, name)

	// Dry runs list exactly what would go, and change nothing.
	subPlan, err := sub.client.PrepareUpgrade(ctx, &UpgradeOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	wantSub := []UpgradeAction{
		{Kind: ActionDropSubscription, Name: name, Detail: "provider " + prov.dsn.String()},
		{Kind: ActionDropNode, Name: sub.node},
	}
	if diff := cmp.Diff(wantSub, subPlan.Actions); diff != "" || len(subPlan.Applied) != 0 || !subPlan.DryRun {
		t.Errorf("subscriber dry run (-want +got):\n%s", diff)
	}
	provPlan, err := prov.client.PrepareUpgrade(ctx, &UpgradeOptions{DryRun: true, DropProviderNode: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(provPlan.Actions) != 2 || provPlan.Actions[0].Kind != ActionDropSlot || provPlan.Actions[0].Name != sub1.SlotName ||
		!strings.Contains(provPlan.Actions[0].Detail, "walsender PID") || provPlan.Actions[1] != (UpgradeAction{Kind: ActionDropNode, Name: prov.node}) {
		t.Errorf("provider dry run = %+v", provPlan.Actions)
	}
	if s, err := sub.client.Subscription(ctx, name); err != nil || s.Status != StatusReplicating {
		t.Fatalf("the dry run changed something: %v %v", s.Status, err)
	}

	// The provider first (its slot is active), then the subscriber, whose
	// drop_subscription no longer finds the slot: both orders must work.
	provRep, err := prov.client.PrepareUpgrade(ctx, &UpgradeOptions{DropProviderNode: true})
	if err != nil {
		t.Fatal(err)
	}
	var left int
	if err := prov.pool.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots WHERE plugin = 'pglogical_output'").Scan(&left); err != nil || left != 0 {
		t.Errorf("%d pglogical slots left on the provider (%v)", left, err)
	}
	subRep, err := sub.client.PrepareUpgrade(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(subRep.Applied) != 2 {
		t.Errorf("subscriber applied %v", subRep.Applied)
	}
	if _, err := sub.client.LocalNode(ctx); !errors.Is(err, ErrNoLocalNode) {
		t.Errorf("subscriber node after preparation: %v", err)
	}
	if n := count(t, sub, "SELECT count(*) FROM pg_replication_origin"); n != 0 {
		t.Errorf("%d replication origins left on the subscriber", n)
	}
	if err := prov.pool.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots WHERE plugin = 'pglogical_output'").Scan(&left); err != nil || left != 0 {
		t.Errorf("%d pglogical slots on the provider after both preparations (%v)", left, err)
	}

	// The descriptions survive JSON, without passwords.
	var provDesc, subDesc Description
	for _, x := range []struct {
		in  Description
		out *Description
	}{{provRep.Description, &provDesc}, {subRep.Description, &subDesc}} {
		b, err := json.Marshal(x.in)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, x.out); err != nil {
			t.Fatal(err)
		}
	}
	if provDesc.Node == nil || len(provDesc.Node.ReplicationSets) != 4 || len(subDesc.Subscriptions) != 1 {
		t.Fatalf("descriptions: %+v / %+v", provDesc, subDesc)
	}

	// Writes happen on the provider while nothing replicates; they are
	// not streamed after the restore (AWS: divert writes first), so the
	// test keeps the provider quiet until both sides are restored.
	steps, err := prov.client.Restore(ctx, provDesc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("provider restore: %v", steps)
	sets, _ := prov.client.ReplicationSets(ctx)
	names := map[string]int{}
	for _, s := range sets {
		names[s.Name] = len(s.Tables) + len(s.Sequences)
	}
	if diff := cmp.Diff(map[string]int{DefaultSet: 1, DefaultInsertOnlySet: 1, DDLSet: 0, "extra": 1}, names); diff != "" {
		t.Errorf("restored sets (-want +got):\n%s", diff)
	}
	asked := 0
	steps, err = sub.client.Restore(ctx, subDesc, &RestoreOptions{ProviderPassword: func(sub string, d pgaurora.ConnString) (string, error) {
		asked++
		return "", nil // the test servers trust
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("subscriber restore: %v", steps)
	if asked != 1 {
		t.Errorf("the password callback was asked %d times", asked)
	}
	if err := sub.client.WaitForSync(ctx, name, nil); err != nil {
		t.Fatal(err)
	}
	mustExec(t, prov, "INSERT INTO docs_lab_table SELECT generate_series(1001, 1050)")
	sameRows(t, prov, sub)
	// Restore again: nothing left to do.
	if steps, err := sub.client.Restore(ctx, subDesc, nil); err != nil || len(steps) != 0 {
		t.Errorf("second restore: %v, %v", steps, err)
	}
}

func TestTwoWay(t *testing.T) {
	a := newSide(t, provSrv, "east")
	b := newSide(t, subSrv, "west")
	cleanupPglogical(t, a, b)
	ctx := testCtx(t)
	for _, s := range []side{a, b} {
		mustExec(t, s, "CREATE TABLE items (id int PRIMARY KEY, v text)")
	}
	mustExec(t, a, "INSERT INTO items VALUES (1, 'seed')")
	pa := Peer{Client: a.client, Node: a.node, DSN: a.dsn}
	pb := Peer{Client: b.client, Node: b.node, DSN: b.dsn}
	if _, err := SetupTwoWay(ctx, pa, pb, &TwoWayOptions{ConflictResolution: "newest"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad resolution = %v", err)
	}
	if _, err := SetupTwoWay(ctx, pa, Peer{Client: b.client, Node: a.node, DSN: b.dsn}, &TwoWayOptions{ConflictResolution: ResolveKeepLocal}); !errors.Is(err, ErrInvalid) {
		t.Errorf("same node names = %v", err)
	}
	if _, err := a.client.LocalNode(ctx); !errors.Is(err, ErrNoLocalNode) {
		t.Fatalf("a refused setup created a node: %v", err)
	}
	tw, err := SetupTwoWay(ctx, pa, pb, &TwoWayOptions{ConflictResolution: ResolveLastUpdateWins, SetResolutionOnDatabase: true, SynchronizeDataFromA: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("steps: %v", tw.Steps)
	if diff := cmp.Diff([]string{"pglogical.conflict_resolution=last_update_wins", "track_commit_timestamp=1"},
		[]string{tw.Changes[0].String(), tw.Changes[1].String()}); diff != "" {
		t.Errorf("changes: %s", diff)
	}
	for _, x := range []struct {
		s    side
		name string
	}{{a, tw.SubscriptionOnA}, {b, tw.SubscriptionOnB}} {
		s, err := x.s.client.Subscription(ctx, x.name)
		if err != nil {
			t.Fatal(err)
		}
		if s.ForwardOrigins != ForwardNone || s.Status != StatusReplicating {
			t.Errorf("%s: forward %v, status %s", x.name, s.ForwardOrigins, s.Status)
		}
		var res string
		if err := x.s.pool.QueryRow(ctx, `SELECT split_part(unnest(setconfig), '=', 2) FROM pg_db_role_setting
			WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&res); err != nil || res != "last_update_wins" {
			t.Errorf("%s: database conflict_resolution = %q, %v", x.s.db.Name, res, err)
		}
	}
	if n := count(t, b, "SELECT count(*) FROM items WHERE id = 1"); n != 1 {
		t.Errorf("the seed row reached west %d times", n)
	}
	mustExec(t, a, "INSERT INTO items VALUES (2, 'from east')")
	mustExec(t, b, "INSERT INTO items VALUES (3, 'from west')")
	for _, s := range []side{a, b} {
		pgtest.WaitFor(t, "both rows on "+s.node, 20*time.Second, func() (bool, string) {
			n := count(t, s, "SELECT count(*) FROM items")
			return n == 3, strconv.Itoa(n) + " rows"
		})
	}
	res, err := tw.Check(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("probe rows arrived east->west in %v, west->east in %v", res.AToB, res.BToA)
	// A conflict: both sides update the same row; last update wins on
	// both, and they converge.
	mustExec(t, a, "UPDATE items SET v = 'east wins?' WHERE id = 1")
	mustExec(t, b, "UPDATE items SET v = 'west wins' WHERE id = 1")
	pgtest.WaitFor(t, "convergence", 20*time.Second, func() (bool, string) {
		var va, vb string
		a.pool.QueryRow(ctx, "SELECT v FROM items WHERE id = 1").Scan(&va)
		b.pool.QueryRow(ctx, "SELECT v FROM items WHERE id = 1").Scan(&vb)
		return va == "west wins" && vb == "west wins", va + " / " + vb
	})
	// Setting it up again is a no-op.
	tw2, err := SetupTwoWay(ctx, pa, pb, &TwoWayOptions{ConflictResolution: ResolveLastUpdateWins})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tw2.Steps {
		if strings.HasPrefix(s, "create") {
			t.Errorf("second setup took step %q", s)
		}
	}
}

// TestSwitchInterface moves a running subscription to another interface
// of its provider node: the subscriber's catalog names the new interface,
// the apply worker connects to the provider through it (the interface
// logs in as another role, which pg_stat_replication shows), and changes
// keep flowing.
func TestSwitchInterface(t *testing.T) {
	// The role the second interface logs in as, dropped after
	// everything else (cleanups run last-registered first).
	role := fmt.Sprintf("pgaurora_switch_%d", dbSeq.Add(1))
	admin := newDB(t, provSrv)
	if _, err := admin.Pool.Exec(testCtx(t), "CREATE ROLE "+sqlquote.MustIdent(role)+" LOGIN SUPERUSER REPLICATION"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Pool.Exec(context.Background(), "DROP ROLE "+sqlquote.MustIdent(role)); err != nil {
			t.Logf("dropping role %s: %v", role, err)
		}
	})
	prov, sub := pair(t)
	ctx := testCtx(t)
	name := walkthrough(t, prov, sub, 10)
	alt, err := prov.dsn.With("user", role)
	if err != nil {
		t.Fatal(err)
	}
	// The provider node as the subscriber knows it gets the interface.
	if _, err := sub.client.AddInterface(ctx, prov.node, "alt", alt); err != nil {
		t.Fatal(err)
	}
	iface := func() string {
		var n string
		if err := sub.pool.QueryRow(ctx, `SELECT i.if_name::text FROM pglogical.subscription s
			JOIN pglogical.node_interface i ON i.if_id = s.sub_origin_if WHERE s.sub_name = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if before := iface(); before == "alt" {
		t.Fatalf("the subscription uses %q before the switch", before)
	}
	if err := sub.client.SwitchInterface(ctx, name, "alt"); err != nil {
		t.Fatal(err)
	}
	if got := iface(); got != "alt" {
		t.Fatalf("after SwitchInterface the subscription uses interface %q, want alt", got)
	}
	pgtest.WaitFor(t, "the apply worker to connect through the new interface", 60*time.Second, func() (bool, string) {
		var users []string
		if err := prov.pool.QueryRow(ctx, "SELECT coalesce(array_agg(usename::text), '{}') FROM pg_stat_replication WHERE application_name = $1", name).Scan(&users); err != nil {
			return false, err.Error()
		}
		return slices.Equal(users, []string{role}), fmt.Sprintf("walsenders of %s log in as %v", name, users)
	})
	mustExec(t, prov, "INSERT INTO docs_lab_table VALUES (1001)")
	pgtest.WaitFor(t, "a row to replicate after the switch", 30*time.Second, func() (bool, string) {
		n := count(t, sub, "SELECT count(*) FROM docs_lab_table WHERE a = 1001")
		return n == 1, fmt.Sprintf("%d rows", n)
	})
	if err := sub.client.SwitchInterface(ctx, name, "no_such_interface"); err == nil {
		t.Error("SwitchInterface to a missing interface succeeded")
	}
	if err := sub.client.SwitchInterface(ctx, name, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("SwitchInterface to an empty name: want ErrInvalid, got %v", err)
	}
}
