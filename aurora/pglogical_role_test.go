package aurora_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/aurora/auroratest"
	"github.com/pgaurora/pgaurora/internal/pgtest"
	"github.com/pgaurora/pgaurora/pglogical"
)

// TestEnablePgLogicalNodeRoles runs the documented two-cluster setup
// through the workflow: EnablePgLogical on a provider and a subscriber
// cluster, each with a node role, then a subscription that copies and
// replicates. Without a node role the subscriber's node DSN has no
// password and the subscription fails (issue #23 item 4).
func TestEnablePgLogicalNodeRoles(t *testing.T) {
	e := auroratest.NewT(t,
		auroratest.WithCluster("pglrole-prov", auroratest.ClusterConfig{Instances: 1}),
		auroratest.WithCluster("pglrole-sub", auroratest.ClusterConfig{Instances: 1}),
		auroratest.WithTransitionDelay(50*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	open := func(id string, opts ...aurora.Option) *aurora.Cluster {
		c, err := aurora.New(id, append([]aurora.Option{
			aurora.WithAWSConfig(e.AWSConfig()),
			aurora.WithCredentials(aurora.StaticPassword("postgres", e.MasterPassword(id))),
			aurora.WithCABundle(e.CABundlePEM()),
			aurora.WithWait(fastWait),
		}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	prov, sub := open("pglrole-prov"), open("pglrole-sub")
	exec := func(c *aurora.Cluster, sql string) {
		t.Helper()
		if _, err := c.SQL().Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	const provPW, subPW = "Prov-node-pw-1", "Sub-node-pw-2"
	// The roles get the tables of schema public, those created later
	// included.
	schemas := []string{"public"}
	provOpts := &aurora.PgLogicalOptions{NodeName: "provider",
		NodeRole: &pglogical.NodeRoleSpec{Name: "pgl_node", Password: provPW, Provider: true, Schemas: schemas}}
	subOpts := &aurora.PgLogicalOptions{NodeName: "subscriber",
		NodeRole: &pglogical.NodeRoleSpec{Name: "pgl_node", Password: subPW, Subscriber: true, Schemas: schemas}}
	for _, run := range []struct {
		c    *aurora.Cluster
		opts *aurora.PgLogicalOptions
	}{{prov, provOpts}, {sub, subOpts}} {
		r, err := run.c.EnablePgLogical(ctx, run.opts)
		if err != nil {
			t.Fatal(err)
		}
		wantSteps(t, r,
			stepWant{"use a custom DB cluster parameter group", true},
			stepWant{"set the pglogical parameters", true},
			stepWant{"reboot members pending reboot", true},
			stepWant{"create extension pglogical", true},
			stepWant{"create the pglogical node role pgl_node", true},
			stepWant{"create the pglogical node " + run.opts.NodeName, true})
		if s := fmt.Sprintf("%v %+v %s", r, r, r); strings.Contains(s, provPW) || strings.Contains(s, subPW) {
			t.Errorf("the report shows a node role's password:\n%s", s)
		}
		if d := r.Steps[5].Detail; !strings.Contains(d, "in clear text in its catalog") {
			t.Errorf("the node step's detail %q does not say that pglogical keeps the password", d)
		}
	}

	for _, c := range []*aurora.Cluster{prov, sub} {
		exec(c, "CREATE TABLE public.orders (id int PRIMARY KEY, item text)")
	}
	exec(prov, "INSERT INTO public.orders SELECT g, 'item ' || g FROM generate_series(1, 1000) g")

	// On Aurora, membership in rds_replication lets a role open
	// replication connections; the emulator's rds_replication is a plain
	// role (PostgreSQL checks the REPLICATION attribute only), so the
	// test gives the attribute that membership stands for.
	exec(prov, "ALTER ROLE pgl_node REPLICATION")

	// The node DSNs log in as the role, with its password; the role is
	// neither a superuser nor an rds_superuser.
	provNode, err := prov.PgLogical().LocalNode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	provDSN := provNode.Interfaces[0].DSN
	if user, _ := provDSN.Get("user"); user != "pgl_node" || !provDSN.HasPassword() {
		t.Errorf("provider node DSN %s: want user pgl_node with a password", provDSN)
	}
	for _, c := range []*aurora.Cluster{prov, sub} {
		var super, rdsSuper, rdsRepl bool
		if err := c.SQL().QueryRow(ctx, `SELECT rolsuper, pg_has_role('pgl_node', 'rds_superuser', 'MEMBER'),
			pg_has_role('pgl_node', 'rds_replication', 'MEMBER') FROM pg_roles WHERE rolname = 'pgl_node'`).Scan(&super, &rdsSuper, &rdsRepl); err != nil {
			t.Fatal(err)
		}
		if super || rdsSuper || rdsRepl != (c == prov) {
			t.Errorf("pgl_node on %s: superuser %t, rds_superuser %t, rds_replication %t", c.ID(), super, rdsSuper, rdsRepl)
		}
	}

	// The documented setup: the provider's tables in the default set, a
	// subscription with the provider node's DSN, waited for.
	if err := prov.PgLogical().AddAllTables(ctx, pglogical.DefaultSet, []string{"public"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.PgLogical().CreateSubscription(ctx, pglogical.SubscriptionSpec{
		Name: "orders_sub", Provider: provDSN, ReplicationSets: []string{pglogical.DefaultSet}, SynchronizeData: true,
	}); err != nil {
		t.Fatal(err)
	}
	if err := sub.PgLogical().WaitForSync(ctx, "orders_sub", nil); err != nil {
		t.Fatal(err)
	}
	rows := func(c *aurora.Cluster) int {
		var n int
		if err := c.SQL().QueryRow(ctx, "SELECT count(*) FROM public.orders").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := rows(sub); n != 1000 {
		t.Fatalf("subscriber has %d rows after the sync, want 1000", n)
	}
	exec(prov, "INSERT INTO public.orders SELECT g, 'item ' || g FROM generate_series(1001, 1100) g")
	exec(prov, "DELETE FROM public.orders WHERE id <= 100")
	// The count alone would not tell: 100 in, 100 out.
	pgtest.WaitFor(t, "the subscriber to apply the changes", 30*time.Second, func() (bool, string) {
		var n, lo, hi int
		if err := sub.SQL().QueryRow(ctx, "SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0) FROM public.orders").Scan(&n, &lo, &hi); err != nil {
			return false, err.Error()
		}
		return n == 1000 && lo == 101 && hi == 1100, fmt.Sprintf("%d rows, ids %d to %d", n, lo, hi)
	})
	// pglogical's walsender reconnects at times: look until it is there.
	var walsenders []string
	pgtest.WaitFor(t, "the provider's walsender", 30*time.Second, func() (bool, string) {
		r, err := prov.SQL().Query(ctx, "SELECT usename::text FROM pg_stat_activity WHERE backend_type = 'walsender'")
		if err == nil {
			walsenders, err = pgx.CollectRows(r, pgx.RowTo[string])
		}
		if err != nil {
			return false, err.Error()
		}
		return len(walsenders) > 0, fmt.Sprint(walsenders)
	})
	if !slices.Equal(walsenders, []string{"pgl_node"}) {
		t.Errorf("the provider's walsenders log in as %v, want [pgl_node]", walsenders)
	}

	// A second run changes nothing and keeps the pair replicating.
	for _, run := range []struct {
		c    *aurora.Cluster
		opts *aurora.PgLogicalOptions
	}{{prov, provOpts}, {sub, subOpts}} {
		r, err := run.c.EnablePgLogical(ctx, run.opts)
		if err != nil {
			t.Fatal(err)
		}
		if r.Changed() {
			t.Errorf("second run changed something:\n%s", r)
		}
	}
	exec(prov, "INSERT INTO public.orders VALUES (5000, 'after the second run')")
	pgtest.WaitFor(t, "the row inserted after the second run", 30*time.Second, func() (bool, string) {
		n := rows(sub)
		return n == 1001, fmt.Sprint(n, " rows")
	})

	// Another password for an existing node is refused before the role
	// changes: the node's DSN in pglogical's catalog would no longer log in.
	other := *subOpts
	otherRole := *subOpts.NodeRole
	otherRole.Password = "Another-pw-3"
	other.NodeRole = &otherRole
	_, err = sub.EnablePgLogical(ctx, &other)
	var we *aurora.WorkflowError
	if !errors.As(err, &we) || !strings.HasPrefix(we.Step, "create the pglogical node role") || strings.Contains(err.Error(), "Another-pw-3") || strings.Contains(err.Error(), subPW) {
		t.Errorf("EnablePgLogical with another role password: %v; want a failure at the role step, without passwords", err)
	}
	loginAs := func(password string) error {
		w, err := open("pglrole-sub", aurora.WithCredentials(aurora.StaticPassword("pgl_node", password))).Writer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return w.Ping(ctx)
	}
	if err := loginAs(subPW); err != nil {
		t.Errorf("pgl_node with its old password after the refused change: %v", err)
	}
	if err := loginAs("Another-pw-3"); !isPasswordRefused(err) {
		t.Errorf("pgl_node with the refused new password: %v; want the password refused (SQLSTATE 28P01)", err)
	}

	// Without a node role, the node DSN has no password and subscribing
	// fails: the defect the node role fixes.
	exec(sub, "CREATE DATABASE plain")
	plain := open("pglrole-sub", aurora.WithDatabase("plain"))
	exec(plain, "CREATE TABLE public.orders (id int PRIMARY KEY, item text)")
	if _, err := plain.EnablePgLogical(ctx, &aurora.PgLogicalOptions{NodeName: "plain"}); err != nil {
		t.Fatal(err)
	}
	_, err = plain.PgLogical().CreateSubscription(ctx, pglogical.SubscriptionSpec{
		Name: "plain_sub", Provider: provDSN, ReplicationSets: []string{pglogical.DefaultSet}, SynchronizeData: true,
	})
	if err == nil || !strings.Contains(err.Error(), "no password supplied") {
		t.Errorf("subscribing on a node without a node role: %v; want fe_sendauth: no password supplied", err)
	}

	// No node role's password reached either server's log.
	for _, c := range []*aurora.Cluster{prov, sub} {
		l := readServerLog(ctx, t, c)
		if !strings.Contains(l, "orders_sub") && c == sub {
			t.Errorf("the subscriber's log does not mention the subscription (%d bytes): the log read proves nothing", len(l))
		}
		for _, pw := range []string{provPW, subPW, "Another-pw-3"} {
			if strings.Contains(l, pw) {
				t.Errorf("the log of %s holds a node role's password", c.ID())
			}
		}
	}

	// Bad node roles are refused before any call.
	for _, bad := range []*pglogical.NodeRoleSpec{{Name: "x", Password: "pw"}, {Name: "", Password: "pw", Provider: true}, {Name: "x", Password: "pässwörd", Provider: true}} {
		_, err := sub.EnablePgLogical(ctx, &aurora.PgLogicalOptions{NodeRole: bad})
		if !errors.As(err, &we) || we.Step != "check input" || !errors.Is(err, pglogical.ErrInvalid) || strings.Contains(err.Error(), "pässwörd") {
			t.Errorf("EnablePgLogical with NodeRole %v: %v; want an input failure", bad, err)
		}
	}
}

// isPasswordRefused reports whether err is the server refusing a password
// (SQLSTATE 28P01).
func isPasswordRefused(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "28P01"
}
