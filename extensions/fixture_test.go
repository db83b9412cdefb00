package extensions_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// plv8Stand-in: plv8 is not packaged here, so the upgrade is exercised
// with plperl (trusted) and plperlu (untrusted), which are installed the
// same way: CREATE EXTENSION creates a procedural language, and DROP
// EXTENSION ... CASCADE drops every function written in it and every
// trigger calling one.
var perlExtensions = []string{"plperl", "plperlu"}

const plv8Missing = "plv8 is not packaged for Debian's PostgreSQL 15 here; plperl and plperlu stand in for it"

type fixture struct {
	owner, grantee, granter string
	schemas                 []string
	functions               int // plperl/plperlu functions and procedures
	triggers                int
	defaults                int
}

// buildLanguageFixture installs plperl and plperlu and creates n plperl
// functions spread over several schemas (some with hostile names), with
// overloads, triggers (plain, WHEN, disabled, constraint, on a partitioned
// table), grants (direct, with grant option, granted on by a non-owner),
// owners other than the superuser, comments with quotes, backslashes and
// newlines, a procedure, a plperlu function, a function whose default
// calls another, and privileges on the language itself.
func buildLanguageFixture(t testing.TB, db *pgtest.DB, n int) *fixture {
	t.Helper()
	f := &fixture{
		owner:   newRole(t, db, `own"er role `, "NOLOGIN"),
		grantee: newRole(t, db, "app_reader", "NOLOGIN"),
		granter: newRole(t, db, `gr'anter\`, "NOLOGIN"),
		schemas: []string{"app", `we"ird sch`, "Other", "pub;lic"},
	}
	q := sqlquote.MustIdent
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+";\n", args...) }
	w("CREATE EXTENSION plperl")
	w("CREATE EXTENSION plperlu")
	w("REVOKE USAGE ON LANGUAGE plperl FROM PUBLIC")
	w("GRANT USAGE ON LANGUAGE plperl TO %s", q(f.grantee))
	w("GRANT USAGE ON LANGUAGE plperl TO %s WITH GRANT OPTION", q(f.owner))
	w("COMMENT ON LANGUAGE plperl IS %s", lit("Perl, as changed by 'us'"))
	for _, s := range f.schemas {
		w("CREATE SCHEMA %s", q(s))
		w("GRANT USAGE ON SCHEMA %s TO %s, %s", q(s), q(f.grantee), q(f.granter))
		w("CREATE TABLE %s (id int PRIMARY KEY, v text, n int)", q(s, "tab le"))
	}
	w("GRANT CREATE ON SCHEMA %s TO %s", q("app"), q(f.owner))
	for i := 0; i < n; i++ {
		s := f.schemas[i%len(f.schemas)]
		name := fmt.Sprintf("fn_%d", i)
		switch {
		case i%97 == 3:
			name = fmt.Sprintf(`fn "%d"; DROP TABLE x; --`, i)
		case i%89 == 5:
			name = fmt.Sprintf("Ünïcødé_%d", i)
		}
		fn := q(s, name)
		sig := fn + "(integer)"
		switch {
		case i%10 == 0: // a trigger function
			w(`CREATE FUNCTION %s() RETURNS trigger LANGUAGE plperl AS $perl$ $_TD->{new}{v} = "t%d"; return "MODIFY"; $perl$`, fn, i)
			f.functions++
			sig = fn + "()"
			trig := fmt.Sprintf("trg %d", i)
			when := ""
			if i%30 == 0 {
				when = " WHEN (NEW.n IS DISTINCT FROM 42)"
			}
			w("CREATE TRIGGER %s BEFORE INSERT OR UPDATE ON %s FOR EACH ROW%s EXECUTE FUNCTION %s()", q(trig), q(s, "tab le"), when, fn)
			f.triggers++
			if i%20 == 0 {
				w("COMMENT ON TRIGGER %s ON %s IS %s", q(trig), q(s, "tab le"), lit(fmt.Sprintf("trigger %d's note", i)))
			}
			if i%40 == 0 {
				w("ALTER TABLE %s DISABLE TRIGGER %s", q(s, "tab le"), q(trig))
			}
		case i%13 == 1 && i+1 < n: // overloaded pair
			w(`CREATE FUNCTION %s(a integer) RETURNS integer LANGUAGE plperl IMMUTABLE STRICT AS $perl$ return $_[0] + %d; $perl$`, fn, i)
			w(`CREATE FUNCTION %s(a text, b text DEFAULT 'x''y') RETURNS text LANGUAGE plperl AS $perl$ return $_[0] . $_[1]; $perl$`, fn)
			f.functions += 2
			i++
		default:
			w(`CREATE FUNCTION %s(x integer, OUT doubled integer, OUT label text) LANGUAGE plperl SECURITY DEFINER SET work_mem = '8MB' COST 7 AS $perl$ return {doubled => 2*$_[0], label => 'v%d $$ '}; $perl$`, fn, i)
			f.functions++
		}
		if i%7 == 0 {
			w("REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC", sig)
			w("GRANT EXECUTE ON FUNCTION %s TO %s", sig, q(f.grantee))
		}
		if i%5 == 0 {
			w("COMMENT ON FUNCTION %s IS %s", sig, lit(fmt.Sprintf("function %d: it's a \"test\" \\ with\nnewline", i)))
		}
		if i%11 == 0 {
			w("ALTER FUNCTION %s OWNER TO %s", sig, q(f.owner))
		}
	}
	// A grant made by a non-owner holding the grant option.
	w(`CREATE FUNCTION app.granted(x integer) RETURNS integer LANGUAGE plperl AS $perl$ return $_[0]; $perl$`)
	w("GRANT EXECUTE ON FUNCTION app.granted(integer) TO %s WITH GRANT OPTION", q(f.granter))
	w("SET ROLE %s", q(f.granter))
	w("GRANT EXECUTE ON FUNCTION app.granted(integer) TO %s", q(f.grantee))
	w("RESET ROLE")
	// A default that calls another plperl function: created after it.
	w(`CREATE FUNCTION app.zz_base() RETURNS integer LANGUAGE plperl AS $perl$ return 41; $perl$`)
	w(`CREATE FUNCTION app.aa_uses_default(x integer DEFAULT app.zz_base()) RETURNS integer LANGUAGE plperl AS $perl$ return $_[0] + 1; $perl$`)
	// A procedure and an untrusted-language function.
	w(`CREATE PROCEDURE app.proc(INOUT x integer) LANGUAGE plperl AS $perl$ return {x => $_[0] * 3}; $perl$`)
	w(`CREATE FUNCTION app.host() RETURNS text LANGUAGE plperlu AS $perl$ return "u"; $perl$`)
	w("COMMENT ON PROCEDURE app.proc(integer) IS 'a procedure'")
	f.functions += 5
	// A constraint trigger and a trigger on a partitioned table (cloned
	// onto its partitions).
	w(`CREATE FUNCTION app.check_row() RETURNS trigger LANGUAGE plperl AS $perl$ return; $perl$`)
	w(`CREATE CONSTRAINT TRIGGER "ct check" AFTER INSERT ON app."tab le" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION app.check_row()`)
	w(`CREATE TABLE app.parted (id int, v text, n int) PARTITION BY RANGE (id)`)
	w(`CREATE TABLE app."part 1" PARTITION OF app.parted FOR VALUES FROM (0) TO (100)`)
	w(`CREATE TABLE app."part 2" PARTITION OF app.parted FOR VALUES FROM (100) TO (200)`)
	w(`CREATE FUNCTION app.part_trg() RETURNS trigger LANGUAGE plperl AS $perl$ $_TD->{new}{v} = "p"; return "MODIFY"; $perl$`)
	w(`CREATE TRIGGER "p trg" BEFORE INSERT ON app.parted FOR EACH ROW EXECUTE FUNCTION app.part_trg()`)
	w(`ALTER TABLE app."part 2" DISABLE TRIGGER "p trg"`)
	w(`CREATE TRIGGER replica_trg BEFORE UPDATE ON app.parted FOR EACH ROW EXECUTE FUNCTION app.part_trg()`)
	w(`ALTER TABLE app.parted ENABLE REPLICA TRIGGER replica_trg`)
	// Column defaults that call plperl functions, on a plain table and on
	// a partitioned one (each partition has its own default).
	w(`ALTER TABLE app."tab le" ALTER COLUMN n SET DEFAULT app.zz_base() + 1`)
	w(`ALTER TABLE app.parted ALTER COLUMN n SET DEFAULT app.zz_base()`)
	w(`ALTER TABLE ONLY app."part 2" ALTER COLUMN n SET DEFAULT app.aa_uses_default(7)`)
	f.functions += 2
	f.triggers += 1 + 3 + 3
	f.defaults = 4
	mustExec(t, db.Pool, b.String())
	return f
}

func lit(s string) string {
	l, err := sqlquote.Literal(s)
	if err != nil {
		panic(err)
	}
	return l
}
