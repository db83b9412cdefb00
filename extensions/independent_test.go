package extensions_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgaurora/pgaurora/extensions"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

// catalogState is what the language-upgrade tests compare before and
// after: the SDK's own LanguageSnapshot, and an independent view that
// shares no code with it, so that what the snapshot leaves out cannot
// hide: pg_dump --schema-only of the whole database, and catalog queries
// for what pg_dump leaves out (the extensions' languages, which belong to
// the extensions, and the extensions themselves).
type catalogState struct {
	snap *extensions.LanguageSnapshot
	dump []string
	lang []string
}

// capture reads the state of db's catalog.
func capture(t testing.TB, db *pgtest.DB) *catalogState {
	t.Helper()
	return &catalogState{snap: snapshot(t, db), dump: schemaDump(t, db), lang: languageRows(t, db)}
}

// schemaDump is pg_dump --schema-only of the database, line by line,
// without the lines that differ between two dumps of the same schema
// (the \restrict key of newer pg_dump versions).
func schemaDump(t testing.TB, db *pgtest.DB) []string {
	t.Helper()
	cmd := exec.Command(pgtest.Binary(t, "pg_dump"), "--schema-only", "-d", db.ConnString())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pg_dump --schema-only: %v: %s", err, stderr.String())
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, `\restrict `) || strings.HasPrefix(l, `\unrestrict `) {
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

// languageRows describes, from the catalogs directly, the plperl and
// plperlu extensions and their languages (owner, privileges, comment,
// trust, handlers), the functions written in each and the initial
// privileges recorded for the languages.
func languageRows(t testing.TB, db *pgtest.DB) []string {
	t.Helper()
	rows, err := db.Pool.Query(ctxT(t), `
SELECT format('extension %s version %s owner %s schema %s relocatable %s',
       e.extname, e.extversion, e.extowner::regrole, e.extnamespace::regnamespace, e.extrelocatable)
  FROM pg_extension e WHERE e.extname IN ('plperl', 'plperlu')
UNION ALL
SELECT format('language %s owner %s trusted %s acl %s comment %s handler %s inline %s validator %s functions %s',
       l.lanname, l.lanowner::regrole, l.lanpltrusted, coalesce(l.lanacl::text, 'default'),
       coalesce(obj_description(l.oid, 'pg_language'), '-'),
       l.lanplcallfoid::regprocedure, l.laninline::regprocedure, l.lanvalidator::regprocedure,
       (SELECT count(*) FROM pg_proc p WHERE p.prolang = l.oid))
  FROM pg_language l WHERE l.lanname IN ('plperl', 'plperlu')
UNION ALL
SELECT format('initial privileges of language %s: %s (%s)', l.lanname, i.initprivs, i.privtype)
  FROM pg_init_privs i JOIN pg_language l ON i.classoid = 'pg_language'::regclass AND i.objoid = l.oid
 WHERE l.lanname IN ('plperl', 'plperlu')
ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkUnchanged fails the test, naming what happened (a format with
// args), when the catalog differs from before, in the snapshot or in the
// independent view.
func checkUnchanged(t testing.TB, db *pgtest.DB, before *catalogState, format string, args ...any) {
	t.Helper()
	after := capture(t, db)
	what := format
	if len(args) > 0 {
		what = sprintf(format, args...)
	}
	if d := cmp.Diff(before.snap, after.snap); d != "" {
		t.Errorf("%s: LanguageSnapshot (-before +after):\n%s", what, d)
	}
	if d := cmp.Diff(before.dump, after.dump); d != "" {
		t.Errorf("%s: pg_dump --schema-only (-before +after):\n%s", what, d)
	}
	if d := cmp.Diff(before.lang, after.lang); d != "" {
		t.Errorf("%s: extensions and languages in the catalog (-before +after):\n%s", what, d)
	}
	if t.Failed() {
		t.FailNow()
	}
}
