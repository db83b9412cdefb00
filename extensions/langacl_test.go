package extensions_test

import (
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora/extensions"
	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/internal/sqlquote"
)

// TestUpgradeLanguagesACLShapes covers the ACLs the upgrade reaches from a
// new function's default ACL with fewer statements (PUBLIC kept and more
// grants; PUBLIC revoked, with or without grants, PUBLIC granted again
// later) and those it sets the long way (the owner's own privileges
// changed; an explicit ACL equal to the default), checking the raw
// proacl, not only the effective ACL of the snapshot.
func TestUpgradeLanguagesACLShapes(t *testing.T) {
	t.Log(plv8Missing)
	db := pgtest.NewDB(t)
	reader := newRole(t, db, "acl_reader", "NOLOGIN")
	owner := newRole(t, db, "acl_owner", "NOLOGIN")
	r, o := sqlquote.MustIdent(reader), sqlquote.MustIdent(owner)
	mustExec(t, db.Pool, `CREATE EXTENSION plperl; CREATE EXTENSION plperlu;
CREATE FUNCTION public.keep_public() RETURNS int LANGUAGE plperl AS $$ return 1; $$;
GRANT EXECUTE ON FUNCTION public.keep_public() TO `+r+`;
CREATE FUNCTION public.owner_only() RETURNS int LANGUAGE plperl AS $$ return 2; $$;
REVOKE EXECUTE ON FUNCTION public.owner_only() FROM PUBLIC;
CREATE FUNCTION public.public_again() RETURNS int LANGUAGE plperl AS $$ return 3; $$;
REVOKE EXECUTE ON FUNCTION public.public_again() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.public_again() TO `+r+`;
GRANT EXECUTE ON FUNCTION public.public_again() TO PUBLIC;
CREATE FUNCTION public.owner_grant_option() RETURNS int LANGUAGE plperl AS $$ return 4; $$;
REVOKE ALL ON FUNCTION public.owner_grant_option() FROM PUBLIC, CURRENT_USER;
GRANT EXECUTE ON FUNCTION public.owner_grant_option() TO `+r+`;
GRANT EXECUTE ON FUNCTION public.owner_grant_option() TO CURRENT_USER WITH GRANT OPTION;
CREATE FUNCTION public.explicit_default() RETURNS int LANGUAGE plperl AS $$ return 5; $$;
GRANT EXECUTE ON FUNCTION public.explicit_default() TO PUBLIC;
CREATE FUNCTION public.owned() RETURNS int LANGUAGE plperl AS $$ return 6; $$;
ALTER FUNCTION public.owned() OWNER TO `+o+`;
GRANT EXECUTE ON FUNCTION public.owned() TO `+r+`;
CREATE PROCEDURE public.proc() LANGUAGE plperl AS $$ return; $$;
REVOKE EXECUTE ON PROCEDURE public.proc() FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE public.proc() TO `+r)
	rawACLs := func() map[string]string {
		rows, err := db.Pool.Query(ctxT(t), `SELECT p.proname::text, coalesce(p.proacl::text, 'NULL') FROM pg_proc p
JOIN pg_language l ON l.oid = p.prolang WHERE l.lanname = 'plperl'`)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		var name, acl string
		if _, err := pgx.ForEachRow(rows, []any{&name, &acl}, func() error { m[name] = acl; return nil }); err != nil {
			t.Fatal(err)
		}
		return m
	}
	before, beforeACL := snapshot(t, db), rawACLs()
	if len(beforeACL) != 7 {
		t.Fatalf("fixture: %d plperl functions, want 7: %v", len(beforeACL), beforeACL)
	}
	if _, err := extensions.UpgradeLanguages(ctxT(t), db.Pool, io.Discard, perlOpts()); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(beforeACL, rawACLs()); d != "" {
		t.Errorf("proacl after the upgrade (-before +after):\n%s", d)
	}
	if d := before.Diff(*snapshot(t, db)); d != nil {
		t.Errorf("snapshot differs after the upgrade: %v", d)
	}
}
