package logical

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pgaurora/pgaurora/internal/pgtest"
)

// TestSubscriptionPublications changes the publications of a running
// subscription with AddSubscriptionPublications,
// DropSubscriptionPublications and SetSubscriptionPublications, each with
// refresh, and checks the catalog (pg_subscription.subpublications, read
// directly) and the data: a table whose publication was added is copied
// and then streams; one whose publication was dropped stops streaming.
func TestSubscriptionPublications(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	ctx := testCtx(t)
	for _, pool := range pools(p) {
		mustExec(t, pool, "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY)")
	}
	mustExec(t, p.pubDB.Pool, "INSERT INTO a VALUES (1); INSERT INTO b VALUES (1); INSERT INTO c VALUES (1)")
	for _, name := range []string{"a", "b", "c"} {
		if err := p.pub.CreatePublication(ctx, PublicationSpec{Name: "p" + name, Tables: []PublishedTable{{Table: TableName{"public", name}}}}); err != nil {
			t.Fatal(err)
		}
	}
	const sub = "pubs_sub"
	if err := p.sub.CreateSubscription(ctx, SubscriptionSpec{Name: sub, Conn: connInfo(t, p.pubDB), Publications: []string{"pa"}}); err != nil {
		t.Fatal(err)
	}
	if err := p.sub.WaitSync(ctx, sub, nil); err != nil {
		t.Fatal(err)
	}
	publications := func() []string {
		var pubs []string
		if err := p.subDB.Pool.QueryRow(ctx, "SELECT subpublications FROM pg_subscription WHERE subname = $1", sub).Scan(&pubs); err != nil {
			t.Fatal(err)
		}
		return pubs
	}
	rows := func(table string) int64 { return queryInt(t, p.subDB.Pool, "SELECT count(*) FROM "+table) }
	// streams reports whether a row inserted into table on the publisher
	// reaches the subscriber: it inserts one there and one into marker
	// (which streams) in a later transaction, and waits for the marker.
	id := 100
	streams := func(table, marker string) bool {
		t.Helper()
		id++
		mustExec(t, p.pubDB.Pool, fmt.Sprintf("INSERT INTO %s VALUES (%d)", table, id))
		mustExec(t, p.pubDB.Pool, fmt.Sprintf("INSERT INTO %s VALUES (%d)", marker, id))
		pgtest.WaitFor(t, marker+"'s row to replicate", 20*time.Second, func() (bool, string) {
			n := queryInt(t, p.subDB.Pool, fmt.Sprintf("SELECT count(*) FROM %s WHERE id = %d", marker, id))
			return n == 1, fmt.Sprintf("%d rows", n)
		})
		return queryInt(t, p.subDB.Pool, fmt.Sprintf("SELECT count(*) FROM %s WHERE id = %d", table, id)) == 1
	}
	check := func(step string, want []string) {
		t.Helper()
		if err := p.sub.WaitSync(ctx, sub, nil); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		got := publications()
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: subpublications %v, want %v", step, got, want)
		}
		s, err := p.sub.Subscription(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		listed := slices.Clone(s.Publications)
		slices.Sort(listed)
		if !slices.Equal(listed, want) {
			t.Errorf("%s: Subscription lists %v, want %v", step, listed, want)
		}
	}

	if err := p.sub.AddSubscriptionPublications(ctx, sub, []string{"pb"}, true); err != nil {
		t.Fatal(err)
	}
	check("after adding pb", []string{"pa", "pb"})
	if n := rows("b"); n != 1 {
		t.Errorf("after adding pb with refresh, b has %d rows, want its 1 row copied", n)
	}
	if !streams("b", "a") {
		t.Error("after adding pb, b does not stream")
	}

	if err := p.sub.DropSubscriptionPublications(ctx, sub, []string{"pa"}, true); err != nil {
		t.Fatal(err)
	}
	check("after dropping pa", []string{"pb"})
	if streams("a", "b") {
		t.Error("after dropping pa, a still streams")
	}

	// a comes back with its rows copied again: empty it first, as its
	// copy would otherwise conflict with the rows it already has.
	mustExec(t, p.subDB.Pool, "TRUNCATE a")
	if err := p.sub.SetSubscriptionPublications(ctx, sub, []string{"pa", "pc"}, true); err != nil {
		t.Fatal(err)
	}
	check("after setting pa, pc", []string{"pa", "pc"})
	if n := rows("c"); n != 1 {
		t.Errorf("after setting pc with refresh, c has %d rows, want its 1 row copied", n)
	}
	if got, want := rows("a"), queryInt(t, p.pubDB.Pool, "SELECT count(*) FROM a"); got != want {
		t.Errorf("after setting pa again with refresh, a has %d rows, the publisher %d", got, want)
	}
	if streams("b", "c") {
		t.Error("after setting pa, pc, b still streams")
	}
	if !streams("a", "c") {
		t.Error("after setting pa, pc, a does not stream")
	}

	// Bad input is refused before anything is sent.
	for name, call := range map[string]func() error{
		"no publications": func() error { return p.sub.AddSubscriptionPublications(ctx, sub, nil, false) },
		"empty name":      func() error { return p.sub.DropSubscriptionPublications(ctx, sub, []string{""}, false) },
		"NUL":             func() error { return p.sub.SetSubscriptionPublications(ctx, sub, []string{"p\x00a"}, false) },
	} {
		if err := call(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: want ErrInvalid, got %v", name, err)
		}
	}
	if got := publications(); !slices.Equal(got, []string{"pa", "pc"}) {
		t.Errorf("refused calls changed the publications to %v", got)
	}
}
