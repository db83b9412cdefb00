package logical

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

func TestCreatePublicationSQL(t *testing.T) {
	tests := []struct {
		name    string
		spec    PublicationSpec
		version int
		want    string
		wantErr error
	}{
		{"all tables", PublicationSpec{Name: "p", AllTables: true}, 150000, `CREATE PUBLICATION "p" FOR ALL TABLES`, nil},
		{"empty", PublicationSpec{Name: "p"}, 150000, `CREATE PUBLICATION "p"`, nil},
		{"tables 15", PublicationSpec{Name: "p", Tables: []PublishedTable{{Table: TableName{"s", "a"}}, {Table: TableName{Name: "B"}}}}, 150000,
			`CREATE PUBLICATION "p" FOR TABLE "s"."a", TABLE "B"`, nil},
		{"tables 14", PublicationSpec{Name: "p", Tables: []PublishedTable{{Table: TableName{"s", "a"}}, {Table: TableName{Name: "b"}}}}, 140000,
			`CREATE PUBLICATION "p" FOR TABLE "s"."a", "b"`, nil},
		{"filters, columns, schemas, options", PublicationSpec{Name: "p",
			Tables:  []PublishedTable{{Table: TableName{"public", "t"}, Columns: []string{"id", "Name"}, Where: "region = 'eu' AND (x > 1)"}},
			Schemas: []string{"sales"}, Operations: []Operation{OpInsert, OpUpdate}, ViaPartitionRoot: true}, 150000,
			`CREATE PUBLICATION "p" FOR TABLE "public"."t" ("id", "Name") WHERE (region = 'eu' AND (x > 1)), TABLES IN SCHEMA "sales" WITH (publish = 'insert, update', publish_via_partition_root = true)`, nil},
		{"hostile names", PublicationSpec{Name: `p"; DROP`, Tables: []PublishedTable{{Table: TableName{"a.b", `c"d`}}}}, 150000,
			`CREATE PUBLICATION "p""; DROP" FOR TABLE "a.b"."c""d"`, nil},
		{"row filter on 14", PublicationSpec{Name: "p", Tables: []PublishedTable{{Table: TableName{Name: "t"}, Where: "true"}}}, 140000, "", ErrUnsupported},
		{"column list on 14", PublicationSpec{Name: "p", Tables: []PublishedTable{{Table: TableName{Name: "t"}, Columns: []string{"a"}}}}, 140000, "", ErrUnsupported},
		{"schemas on 14", PublicationSpec{Name: "p", Schemas: []string{"s"}}, 140000, "", ErrUnsupported},
		{"via root on 12", PublicationSpec{Name: "p", AllTables: true, ViaPartitionRoot: true}, 120000, "", ErrUnsupported},
		{"all and tables", PublicationSpec{Name: "p", AllTables: true, Tables: []PublishedTable{{Table: TableName{Name: "t"}}}}, 150000, "", ErrInvalid},
		{"bad op", PublicationSpec{Name: "p", Operations: []Operation{"upsert"}}, 150000, "", ErrInvalid},
		{"dup op", PublicationSpec{Name: "p", Operations: []Operation{OpInsert, OpInsert}}, 150000, "", ErrInvalid},
		{"no name", PublicationSpec{AllTables: true}, 150000, "", ErrInvalid},
		{"injection in filter", PublicationSpec{Name: "p", Tables: []PublishedTable{{Table: TableName{Name: "t"}, Where: "true); DROP TABLE t; --"}}}, 150000, "", ErrInvalid},
		{"escaping paren", PublicationSpec{Name: "p", Tables: []PublishedTable{{Table: TableName{Name: "t"}, Where: "a = 1) OR (true"}}}, 150000, "", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := createPublicationSQL(tt.spec, tt.version)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestCreateSubscriptionSQL(t *testing.T) {
	conn, err := pgaurora.ParseConnString("host=pub.example.com port=5432 dbname=app user=repl")
	if err != nil {
		t.Fatal(err)
	}
	got, err := createSubscriptionSQL(SubscriptionSpec{Name: "s", Conn: conn, Publications: []string{"p1", "P2"},
		Disabled: true, SkipCopyData: true, SkipCreateSlot: true, SlotName: "slot_1", SynchronousCommit: "remote_apply",
		Binary: true, Streaming: true, TwoPhase: true, DisableOnError: true}, 150000)
	if err != nil {
		t.Fatal(err)
	}
	want := `CREATE SUBSCRIPTION "s" CONNECTION 'host=pub.example.com port=5432 dbname=app user=repl' PUBLICATION "p1", "P2" WITH (enabled = false, copy_data = false, create_slot = false, slot_name = 'slot_1', synchronous_commit = 'remote_apply', binary = true, streaming = true, two_phase = true, disable_on_error = true)`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	pw, _ := conn.With("password", `it's \secret`)
	got, err = createSubscriptionSQL(SubscriptionSpec{Name: "s", Conn: pw, Publications: []string{"p"}}, 150000)
	if err != nil {
		t.Fatal(err)
	}
	want = `CREATE SUBSCRIPTION "s" CONNECTION E'host=pub.example.com port=5432 dbname=app user=repl password=''it\\''s \\\\secret''' PUBLICATION "p"`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	for name, spec := range map[string]SubscriptionSpec{
		"no publications":     {Name: "s", Conn: conn},
		"no conn":             {Name: "s", Publications: []string{"p"}},
		"bad sync commit":     {Name: "s", Conn: conn, Publications: []string{"p"}, SynchronousCommit: "maybe"},
		"bad slot":            {Name: "s", Conn: conn, Publications: []string{"p"}, SlotName: "Bad-Slot"},
		"skip slot, no name":  {Name: "s", Conn: conn, Publications: []string{"p"}, SkipCreateSlot: true},
		"empty name":          {Conn: conn, Publications: []string{"p"}},
		"empty publication":   {Name: "s", Conn: conn, Publications: []string{""}},
		"two_phase on 14 too": {Name: "s", Conn: conn, Publications: []string{"p"}, TwoPhase: true},
	} {
		v := 150000
		if name == "two_phase on 14 too" {
			v = 140000
		}
		if _, err := createSubscriptionSQL(spec, v); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestPublicationFeatures creates, lists, alters and drops publications
// with row filters, column lists and schemas on the real server.
func TestPublicationFeatures(t *testing.T) {
	t.Parallel()
	db := newDB(t, pubSrv)
	c := New(db.Pool)
	ctx := testCtx(t)
	mustExec(t, db.Pool, `CREATE SCHEMA sales;
		CREATE TABLE sales.orders (id int PRIMARY KEY, region text, total numeric);
		CREATE TABLE public.customers (id int PRIMARY KEY, name text, email text, region text);
		CREATE TABLE public.notes (id int PRIMARY KEY, body text)`)

	err := c.CreatePublication(ctx, PublicationSpec{Name: "eu",
		Tables:     []PublishedTable{{Table: TableName{"public", "customers"}, Columns: []string{"id", "name", "region"}, Where: "region = 'eu'"}},
		Operations: []Operation{OpInsert, OpUpdate, OpDelete}, ViaPartitionRoot: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CreatePublication(ctx, PublicationSpec{Name: "eu"}); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("duplicate: %v, want ErrAlreadyExists", err)
	}
	got, err := c.Publication(ctx, "eu")
	if err != nil {
		t.Fatal(err)
	}
	want := Publication{Name: "eu", Owner: "postgres", Operations: []Operation{OpInsert, OpUpdate, OpDelete}, ViaPartitionRoot: true,
		Tables:    []PublishedTable{{Table: TableName{"public", "customers"}, Columns: []string{"id", "name", "region"}, Where: "(region = 'eu'::text)"}},
		Published: []TableName{{"public", "customers"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("publication (-want +got):\n%s", diff)
	}

	// PostgreSQL 15 refuses column lists next to TABLES IN SCHEMA: set
	// the table plainly first.
	if err := c.SetPublicationTables(ctx, "eu", PublishedTable{Table: TableName{"public", "customers"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddPublicationSchemas(ctx, "eu", "sales"); err != nil {
		t.Fatal(err)
	}
	if err := c.AddPublicationTables(ctx, "eu", PublishedTable{Table: TableName{"public", "notes"}}); err != nil {
		t.Fatal(err)
	}
	got, err = c.Publication(ctx, "eu")
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(got.Published, []TableName{{"public", "customers"}, {"public", "notes"}, {"sales", "orders"}}) ||
		!cmp.Equal(got.Schemas, []string{"sales"}) || got.Tables[0].Where != "" || got.Tables[0].Columns != nil {
		t.Errorf("after adding a schema and a table: %+v", got)
	}
	if err := c.DropPublicationSchemas(ctx, "eu", "sales"); err != nil {
		t.Fatal(err)
	}
	if err := c.DropPublicationTables(ctx, "eu", TableName{"public", "customers"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPublicationOptions(ctx, "eu", PublicationOptions{Operations: []Operation{OpInsert}, ViaPartitionRoot: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	got, err = c.Publication(ctx, "eu")
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(got.Published, []TableName{{"public", "notes"}}) || got.ViaPartitionRoot ||
		!cmp.Equal(got.Operations, []Operation{OpInsert}) || len(got.Schemas) != 0 {
		t.Errorf("after alterations: %+v", got)
	}
	if err := c.SetPublicationOptions(ctx, "eu", PublicationOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty options: %v, want ErrInvalid", err)
	}

	// A row filter the server rejects (UPDATE/DELETE filters may use only
	// replica identity columns) comes back as the server's error.
	err = c.CreatePublication(ctx, PublicationSpec{Name: "bad", Tables: []PublishedTable{{Table: TableName{"public", "notes"}, Where: "no_such_column > 0"}}})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Errorf("bad filter: %v, want the server's error", err)
	}

	if err := c.CreatePublication(ctx, PublicationSpec{Name: "all", AllTables: true}); err != nil {
		t.Fatal(err)
	}
	pubs, err := c.Publications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pubs) != 2 || pubs[0].Name != "all" || !pubs[0].AllTables || len(pubs[0].Published) != 3 || len(pubs[0].Operations) != 4 {
		t.Errorf("publications = %+v", pubs)
	}
	for _, name := range []string{"all", "eu"} {
		if err := c.DropPublication(ctx, name, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.DropPublication(ctx, "eu", false); !errors.Is(err, ErrNotFound) {
		t.Errorf("dropping a missing publication: %v, want ErrNotFound", err)
	}
	if err := c.DropPublication(ctx, "eu", true); err != nil {
		t.Errorf("IfExists: %v", err)
	}
	if _, err := c.Publication(ctx, "eu"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Publication of a dropped one: %v", err)
	}
}

// TestRowFilterReplicates checks that a row filter and column list
// created through the SDK are honored by a real subscription.
func TestRowFilterReplicates(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	ctx := testCtx(t)
	mustExec(t, p.pubDB.Pool, "CREATE TABLE c (id int PRIMARY KEY, region text, secret text)")
	mustExec(t, p.subDB.Pool, "CREATE TABLE c (id int PRIMARY KEY, region text, secret text)")
	mustExec(t, p.pubDB.Pool, "INSERT INTO c VALUES (1, 'eu', 's1'), (2, 'us', 's2')")
	if err := p.pub.CreatePublication(ctx, PublicationSpec{Name: "f",
		Tables: []PublishedTable{{Table: TableName{"public", "c"}, Columns: []string{"id", "region"}, Where: "region = 'eu'"}}}); err != nil {
		t.Fatal(err)
	}
	if err := p.sub.CreateSubscription(ctx, SubscriptionSpec{Name: "fs", Conn: connInfo(t, p.pubDB), Publications: []string{"f"}}); err != nil {
		t.Fatal(err)
	}
	if err := p.sub.WaitSync(ctx, "fs", nil); err != nil {
		t.Fatal(err)
	}
	mustExec(t, p.pubDB.Pool, "INSERT INTO c VALUES (3, 'eu', 's3'), (4, 'us', 's4')")
	pgtest.WaitFor(t, "the filtered insert", 20*time.Second, func() (bool, string) {
		n := queryInt(t, p.subDB.Pool, "SELECT count(*) FROM c WHERE id = 3")
		return n == 1, ""
	})
	if n := queryInt(t, p.subDB.Pool, "SELECT count(*) FROM c WHERE region <> 'eu' OR secret IS NOT NULL"); n != 0 {
		t.Errorf("%d filtered-out rows or columns reached the subscriber", n)
	}
}
