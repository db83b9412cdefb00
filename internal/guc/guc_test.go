package guc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora/internal/guc"
	"github.com/pgaurora/pgaurora/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestParseBoolAsPostgreSQL checks ParseBool against the server's own
// boolean input function (boolin calls parse_bool) on every spelling and
// near miss.
func TestParseBoolAsPostgreSQL(t *testing.T) {
	conn := pgtest.NewDB(t).Connect(t)
	inputs := []string{
		"on", "off", "ON", "Off", "true", "false", "TRUE", "t", "f", "tr", "fal",
		"yes", "no", "y", "n", "ye", "YES", "1", "0", " on ", "\ttrue\n",
		"o", "of", "onn", "offf", "truee", "nope", "", " ", "2", "-1", "01", "10",
		"enabled", "disable", "none", "t rue",
	}
	trues := 0
	for _, in := range inputs {
		got, ok := guc.ParseBool(in)
		var want bool
		err := conn.QueryRow(context.Background(), "SELECT $1::text::boolean", in).Scan(&want)
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			if !ok || got != want {
				t.Errorf("ParseBool(%q) = %v, %v; PostgreSQL reads %v", in, got, ok, want)
			}
			if want {
				trues++
			}
		case errors.As(err, &pgErr) && pgErr.Code == "22P02":
			if ok {
				t.Errorf("ParseBool(%q) = %v, true; PostgreSQL refuses it: %s", in, got, pgErr.Message)
			}
		default:
			t.Fatalf("SELECT %q::boolean: %v", in, err)
		}
	}
	if trues == 0 {
		t.Fatal("no input read as true: the comparison did not run")
	}
}
