package extensions_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pgaurora/pgaurora/extensions"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

func TestCanInstall(t *testing.T) {
	db := pgtest.NewDB(t)
	ensureGlobalRole(t, db, extensions.RDSSuperuserRole)
	plain := newRole(t, db, "plain user ", "LOGIN")
	creator := newRole(t, db, "creator ", "LOGIN")
	master := newRole(t, db, "master ", "LOGIN")
	mustExec(t, db.Pool, "GRANT CREATE ON DATABASE "+quote(db.Name)+" TO "+quote(creator))
	mustExec(t, db.Pool, "GRANT "+quote(extensions.RDSSuperuserRole)+" TO "+quote(master))

	type want struct {
		rule    extensions.Rule
		refused bool
	}
	check := func(who string, c *extensions.Client, name string, w want) {
		t.Helper()
		rule, err := c.CanInstall(ctxT(t), name)
		var re *extensions.InstallRefusedError
		switch {
		case w.refused && (!errors.As(err, &re) || !errors.Is(err, extensions.ErrInstallRefused)):
			t.Errorf("%s, %s: want refusal by %s, got %v", who, name, w.rule, err)
		case w.refused && (re.Rule != w.rule || rule != w.rule || !strings.Contains(err.Error(), string(w.rule))):
			t.Errorf("%s, %s: refused by %s (%v), want %s", who, name, re.Rule, err, w.rule)
		case !w.refused && (err != nil || rule != w.rule):
			t.Errorf("%s, %s: got %q, %v; want allowed by %s", who, name, rule, err, w.rule)
		}
	}
	super := extensions.New(db.Pool)
	check("superuser", super, "plperlu", want{rule: extensions.RuleSuperuser})
	check("superuser", super, "no_such_ext", want{rule: extensions.RuleAvailable, refused: true})

	plainC := extensions.New(connectAs(t, db, plain))
	check("plain", plainC, "plperl", want{rule: extensions.RuleTrusted, refused: true})    // trusted, but no CREATE
	check("plain", plainC, "plperlu", want{rule: extensions.RuleSuperuser, refused: true}) // untrusted

	creatorConn := connectAs(t, db, creator)
	creatorC := extensions.New(creatorConn)
	check("creator", creatorC, "plperl", want{rule: extensions.RuleTrusted})
	check("creator", creatorC, "plperlu", want{rule: extensions.RuleSuperuser, refused: true})
	// The answer matches what the server does.
	if _, err := creatorConn.Exec(ctxT(t), "CREATE EXTENSION plperl"); err != nil {
		t.Errorf("CanInstall said creator may install plperl, the server refused: %v", err)
	}
	if _, err := creatorConn.Exec(ctxT(t), "CREATE EXTENSION plperlu"); err == nil {
		t.Errorf("CanInstall said creator may not install plperlu, the server allowed it")
	}

	masterC := extensions.New(connectAs(t, db, master))
	check("rds_superuser member", masterC, "plperlu", want{rule: extensions.RuleRDSSuperuser})

	// rds.allowed_extensions, as a placeholder setting (this server has no
	// RDS parameter of that name; RDS defines it).
	allowConn := db.Connect(t)
	allow := extensions.New(allowConn)
	mustExec(t, allowConn, "SET rds.allowed_extensions = 'plperl, hstore_plperl'")
	check("superuser, allowed list", allow, "plperl", want{rule: extensions.RuleSuperuser})
	check("superuser, allowed list", allow, "orafce", want{rule: extensions.RuleAllowedExtensions, refused: true})
	// hstore_plperl requires hstore, which the list does not allow: the
	// CASCADE it needs is refused, and the error names the required one.
	_, err := allow.CanInstall(ctxT(t), "hstore_plperl")
	var re *extensions.InstallRefusedError
	if !errors.As(err, &re) || re.Rule != extensions.RuleAllowedExtensions || re.Required != "hstore" || !strings.Contains(err.Error(), `"hstore"`) {
		t.Errorf("hstore_plperl with hstore not allowed: got %v", err)
	}
	mustExec(t, allowConn, "SET rds.allowed_extensions = '*'")
	check("superuser, allowed *", allow, "orafce", want{rule: extensions.RuleSuperuser})
	mustExec(t, allowConn, "SET rds.allowed_extensions = ''")
	check("superuser, allowed empty", allow, "orafce", want{rule: extensions.RuleSuperuser})

	// Set for the database, as a parameter group would set it server-wide.
	mustExec(t, db.Pool, "ALTER DATABASE "+quote(db.Name)+" SET rds.allowed_extensions = 'hstore'")
	check("creator, database setting", extensions.New(connectAs(t, db, creator)), "plperl", want{rule: extensions.RuleAllowedExtensions, refused: true})

	if _, err := super.CanInstall(ctxT(t), ""); !errors.Is(err, extensions.ErrInvalid) {
		t.Errorf("empty name: want ErrInvalid, got %v", err)
	}
}

func TestParseAllowedExtensions(t *testing.T) {
	cases := []struct {
		in    string
		names []string
		all   bool
	}{
		{"", nil, true},
		{"*", nil, true},
		{" * ", nil, true},
		{"plv8", []string{"plv8"}, false},
		{"plv8, pg_tle ,,orafce", []string{"plv8", "pg_tle", "orafce"}, false},
		{"plv8,*", nil, true},
	}
	for _, c := range cases {
		names, all := extensions.ParseAllowedExtensions(c.in)
		if all != c.all || !cmp.Equal(names, c.names) {
			t.Errorf("ParseAllowedExtensions(%q) = %v, %v; want %v, %v", c.in, names, all, c.names, c.all)
		}
	}
}

// Names PostgreSQL could not store are refused before any SQL runs: the
// client here has no database, so reaching it would fail differently.
func TestBadNamesRefusedBeforeSQL(t *testing.T) {
	c := extensions.New(nil)
	for _, name := range []string{"nul\x00byte", "bad\xffutf8", strings.Repeat("x", 64)} {
		if _, err := c.CanInstall(context.Background(), name); !errors.Is(err, extensions.ErrInvalid) {
			t.Errorf("CanInstall(%q): %v, want ErrInvalid", name, err)
		}
		if _, err := c.AvailableVersions(context.Background(), name); !errors.Is(err, extensions.ErrInvalid) {
			t.Errorf("AvailableVersions(%q): %v, want ErrInvalid", name, err)
		}
	}
}
