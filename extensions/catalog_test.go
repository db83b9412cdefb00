package extensions_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora/extensions"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

func TestCatalogAndLifecycle(t *testing.T) {
	db := pgtest.NewDB(t)
	c := extensions.New(db.Pool)
	ctx := ctxT(t)

	avail, err := c.Available(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]extensions.Available{}
	for _, a := range avail {
		byName[a.Name] = a
	}
	for _, n := range []string{"orafce", "pg_repack", "plperl", "pgaudit", "pglogical"} {
		if _, ok := byName[n]; !ok {
			t.Errorf("%s not in Available (Debian packages installed?)", n)
		}
	}
	if byName["plpgsql"].InstalledVersion == "" || !byName["plpgsql"].Installed() {
		t.Errorf("plpgsql should be installed: %+v", byName["plpgsql"])
	}

	vs, err := c.AvailableVersions(ctx, "plperl")
	if err != nil {
		t.Fatal(err)
	}
	want := []extensions.AvailableVersion{{Name: "plperl", Version: "1.0", Superuser: true, Trusted: true,
		Schema: "pg_catalog", Requires: []string{}, Comment: "PL/Perl procedural language"}}
	if d := cmp.Diff(want, vs); d != "" {
		t.Errorf("plperl versions (-want +got):\n%s", d)
	}
	ov, err := c.AvailableVersions(ctx, "hstore")
	if err != nil || len(ov) < 4 {
		t.Fatalf("hstore versions: %d, %v", len(ov), err)
	}
	for i := 1; i < len(ov); i++ {
		if c, ok := extensions.CompareVersions(ov[i-1].Version, ov[i].Version); !ok || c >= 0 {
			t.Errorf("versions not in order: %s before %s", ov[i-1].Version, ov[i].Version)
		}
	}

	// Create an old hstore: Updates reports it with its path.
	old := ov[len(ov)-3].Version
	if err := c.Create(ctx, "hstore", &extensions.CreateOptions{Version: old, Schema: "public"}); err != nil {
		t.Fatal(err)
	}
	ups, err := c.Updates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 1 || ups[0].Name != "hstore" || ups[0].Installed != old || !ups[0].Updatable() || strings.Count(ups[0].Path, "--") != 2 {
		t.Fatalf("updates: %+v", ups)
	}
	inst, err := c.Installed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range inst {
		if e.Name == "hstore" {
			found = e.Version == old && e.Schema == "public" && e.Owner == db.Server.Superuser()
		}
	}
	if !found {
		t.Errorf("hstore %s not in Installed: %+v", old, inst)
	}
	if err := c.Update(ctx, "hstore", ""); err != nil {
		t.Fatal(err)
	}
	if ups, _ := c.Updates(ctx); len(ups) != 0 {
		t.Errorf("after Update: updates %+v", ups)
	}
	if err := c.Update(ctx, "pg_repack", ""); !errors.Is(err, extensions.ErrNotInstalled) {
		t.Errorf("updating an extension not installed: want ErrNotInstalled, got %v", err)
	}

	// Drop: RESTRICT unless Cascade is asked for.
	mustExec(t, db.Pool, "CREATE EXTENSION plperl")
	mustExec(t, db.Pool, `CREATE FUNCTION f() RETURNS int LANGUAGE plperl AS $$ return 1; $$`)
	err = c.Drop(ctx, "plperl", nil)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "2BP01" || !strings.Contains(err.Error(), "function f()") {
		t.Fatalf("drop without cascade: want dependent-objects error naming f(), got %v", err)
	}
	if err := c.Drop(ctx, "plperl", &extensions.DropOptions{Cascade: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Drop(ctx, "plperl", &extensions.DropOptions{IfExists: true}); err != nil {
		t.Errorf("IfExists: %v", err)
	}
	if err := c.Create(ctx, "", nil); !errors.Is(err, extensions.ErrInvalid) {
		t.Errorf("empty name: want ErrInvalid, got %v", err)
	}
}

func TestStatementBuilders(t *testing.T) {
	cases := []struct {
		got  func() (string, error)
		want string
	}{
		{func() (string, error) { return extensions.CreateSQL("plperl", nil) }, `CREATE EXTENSION "plperl"`},
		{func() (string, error) {
			return extensions.CreateSQL(`we"ird`, &extensions.CreateOptions{Schema: "my schema", Version: "1.0'; DROP", Cascade: true, IfNotExists: true})
		}, `CREATE EXTENSION IF NOT EXISTS "we""ird" SCHEMA "my schema" VERSION '1.0''; DROP' CASCADE`},
		{func() (string, error) { return extensions.UpdateSQL("orafce", "") }, `ALTER EXTENSION "orafce" UPDATE`},
		{func() (string, error) { return extensions.UpdateSQL("orafce", `4\1`) }, `ALTER EXTENSION "orafce" UPDATE TO E'4\\1'`},
		{func() (string, error) { return extensions.DropSQL("x", nil) }, `DROP EXTENSION "x" RESTRICT`},
		{func() (string, error) {
			return extensions.DropSQL("x", &extensions.DropOptions{Cascade: true, IfExists: true})
		}, `DROP EXTENSION IF EXISTS "x" CASCADE`},
		{func() (string, error) { return extensions.LanguageUsageSQL("plrust", "dev team", false) }, `GRANT USAGE ON LANGUAGE "plrust" TO "dev team"`},
		{func() (string, error) { return extensions.LanguageUsageSQL("plrust", `a"b`, true) }, `REVOKE USAGE ON LANGUAGE "plrust" FROM "a""b"`},
	}
	for _, c := range cases {
		got, err := c.got()
		if err != nil || got != c.want {
			t.Errorf("got %q, %v; want %q", got, err, c.want)
		}
	}
	for _, bad := range []func() (string, error){
		func() (string, error) { return extensions.CreateSQL("", nil) },
		func() (string, error) { return extensions.CreateSQL("x", &extensions.CreateOptions{Version: "a\x00b"}) },
		func() (string, error) { return extensions.UpdateSQL(strings.Repeat("x", 64), "") },
		func() (string, error) { return extensions.DropSQL("", nil) },
		func() (string, error) { return extensions.LanguageUsageSQL("plrust", "", false) },
	} {
		if _, err := bad(); !errors.Is(err, extensions.ErrInvalid) {
			t.Errorf("want ErrInvalid, got %v", err)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		cmp  int
		ok   bool
	}{
		{"1.5.3", "2.1.0", -1, true},
		{"1.10", "1.9", 1, true},
		{"3.2.0", "3.1.10", 1, true},
		{"1.0", "1.0", 0, true},
		{"1.0", "1.0.1", -1, true},
		{"4.1", "3.25", 1, true},
		{"1.4.8", "1.4.8", 0, true},
		{"2.0beta", "2.0", 1, true},
		{"unpackaged", "1.0", 0, false},
		{"abc", "abd", -1, true},
	}
	for _, c := range cases {
		got, ok := extensions.CompareVersions(c.a, c.b)
		if got != c.cmp || ok != c.ok {
			t.Errorf("CompareVersions(%q, %q) = %d, %v; want %d, %v", c.a, c.b, got, ok, c.cmp, c.ok)
		}
	}
}
