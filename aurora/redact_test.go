package aurora_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/logical"
	"github.com/pgaurora/pgaurora/pglogical"
)

// TestNoVerbPrintsASecret prints every type of the SDK that holds a
// secret with every fmt verb, GoString, JSON and slog, and finds the
// secret in none of them.
func TestNoVerbPrintsASecret(t *testing.T) {
	const secret = "S3cr3t-Pa55w0rd"
	conn, err := pgaurora.NewConnString(map[string]string{"host": "h", "user": "u", "password": secret, "sslpassword": secret + "2"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := aurora.New("x", aurora.WithAWSConfig(emu.AWSConfig()), aurora.WithCredentials(aurora.StaticPassword("u", secret)))
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]any{
		"ConnString":                  conn,
		"*ConnString":                 &conn,
		"StaticPassword":              aurora.StaticPassword("u", secret),
		"Cluster":                     c,
		"CDCUserSpec":                 logical.CDCUserSpec{Name: "cdc", Password: secret},
		"logical.SubscriptionSpec":    logical.SubscriptionSpec{Name: "s", Conn: conn},
		"pglogical.SubscriptionSpec":  pglogical.SubscriptionSpec{Name: "s", Provider: conn},
		"pglogical.Node":              pglogical.Node{Name: "n", Interfaces: []pglogical.Interface{{Name: "i", DSN: conn}}},
		"pglogical.Settings":          pglogical.Settings{ExtraConnectionOptions: &conn},
		"pglogical.NodeRoleSpec":      pglogical.NodeRoleSpec{Name: "r", Password: secret, Provider: true},
		"[]logical.SubscriptionSpec":  []logical.SubscriptionSpec{{Conn: conn}},
		"map of pglogical.Interface":  map[string]pglogical.Interface{"i": {DSN: conn}},
		"struct holding a ConnString": struct{ C pgaurora.ConnString }{conn},
	}
	for name, v := range values {
		var out []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
		if g, ok := v.(fmt.GoStringer); ok {
			out = append(out, g.GoString())
		}
		if j, err := json.Marshal(v); err == nil {
			out = append(out, string(j))
		}
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "v", v)
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "v", v)
		out = append(out, buf.String())
		for _, o := range out {
			// %x of a redacted form is the hex of the redacted text; check
			// the hex of the secret too.
			if strings.Contains(o, secret) || strings.Contains(strings.ToLower(o), fmt.Sprintf("%x", secret)) {
				t.Errorf("%s printed its secret: %s", name, strings.ReplaceAll(o, secret, "<SECRET>"))
			}
		}
	}
}
