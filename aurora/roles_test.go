package aurora_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
)

// TestPasswordSQL creates a login role with the verifier and logs in with
// the password through the emulator's scram-sha-256 authentication.
func TestPasswordSQL(t *testing.T) {
	ctx := context.Background()
	const password = "Corr3ct horse 'battery' \\staple"
	lit, err := aurora.PasswordSQL(password)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(lit, "horse") || !strings.HasPrefix(lit, "'SCRAM-SHA-256$4096:") {
		t.Fatalf("PasswordSQL = %s; want a quoted verifier without the password", lit)
	}
	c := newCluster(t)
	w, err := c.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(ctx, "CREATE ROLE password_sql_user LOGIN PASSWORD "+lit); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Exec(context.Background(), "DROP ROLE password_sql_user") })

	connectAs(t, c, "password_sql_user", password)
	wrong := newCluster(t, aurora.WithCredentials(aurora.StaticPassword("password_sql_user", "wrong")))
	if err := wrong.SQL().QueryRow(ctx, "SELECT 1").Scan(new(int)); err == nil {
		t.Error("a wrong password logged in")
	}
	for _, bad := range []string{"", "pässword", "tab\there"} {
		if _, err := aurora.PasswordSQL(bad); !errors.Is(err, pgaurora.ErrPassword) {
			t.Errorf("PasswordSQL(%q): %v, want ErrPassword", bad, err)
		}
	}
}
