// Command pglogical sets up pglogical replication from one Aurora
// PostgreSQL cluster (A, the provider) to another (B, the subscriber) with
// aurora.Cluster.EnablePgLogical, and shows rows written on A arriving on B.
//
// EnablePgLogical, on each cluster: puts it on a custom DB cluster
// parameter group (when it uses its family's default group), adds
// pglogical to shared_preload_libraries, sets rds.logical_replication=1
// and sizes the replication parameters, reboots the members pending a
// reboot, creates the pglogical extension and the database's pglogical
// node. On B it also creates the node role pgaurora_example_node
// (PgLogicalOptions.NodeRole), which B's node DSN logs in as: pglogical
// connects to the subscriber's own node to copy the initial data, and the
// role may do only that (INSERT on the replicated table, the replication
// origin functions, session_replication_role), so B's pglogical catalog
// holds its password rather than the master user's. The example creates
// a table pgaurora_example_orders on both sides, adds it to A's default
// replication set, subscribes B to A (copying the rows already there),
// waits for the initial sync, writes more rows on A and waits for each to
// arrive on B. Every step is idempotent: running the example again
// against the same clusters changes nothing but the rows.
//
//	go run ./examples/pglogical
//
// By default it runs against a local emulator with two 1-instance
// clusters. When AURORA_CLUSTER_ID is set it works on that real cluster
// (A), with the normal AWS configuration (AWS_REGION, AWS_PROFILE, ...)
// and:
//
//	AURORA_SECRET_ARN     Secrets Manager secret with the database user and password
//	AURORA_CA_BUNDLE      path to AWS's global CA bundle (default: system trust store)
//	AURORA_DATABASE       database to replicate (default postgres), on both clusters
//	AURORA_CLUSTER_ID_B   the subscriber cluster (B); without it only A is set up
//	AURORA_SECRET_ARN_B   B's secret (default: AURORA_SECRET_ARN)
//	AURORA_PGLOGICAL_NODE_PASSWORD  the password of B's node role (required with B;
//	                      keep it: B's node DSN holds it, so a rerun must give the same)
//
// The subscription needs A's password in its connection string, which
// pglogical stores on B (in clear text, in its catalog): that is why the
// real-cluster mode needs a Secrets Manager secret rather than IAM
// authentication (AURORA_DB_USER), whose tokens expire. (On Aurora A can
// have a node role too, a provider one, whose rds_replication membership
// lets it replicate; the emulator cannot show that, see the auroratest
// docs, so the example subscribes with A's secret.) B must reach A's
// cluster endpoint (same VPC or peered, security groups open). Against
// real clusters the example changes parameter groups and reboots, so it
// wants -yes.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora"
	"github.com/pgaurora/pgaurora/examples/internal/exampleenv"
	"github.com/pgaurora/pgaurora/pglogical"
)

func main() { exampleenv.Main("pglogical", run) }

const (
	nodeRole     = "pgaurora_example_node"
	table        = "pgaurora_example_orders"
	subscription = "pgaurora_example_a_to_b"
	createTable  = "CREATE TABLE IF NOT EXISTS " + table + "(id bigint PRIMARY KEY, item text NOT NULL, written_at timestamptz NOT NULL DEFAULT now())"
)

func run(ctx context.Context, out io.Writer, args []string) error {
	cmd := exampleenv.NewCommand("pglogical", "changes the parameter groups of both clusters, reboots them, creates pglogical nodes, a table and a subscription")
	rows := cmd.Int("rows", 3, "rows to write on A after the subscription is set up")
	if err := cmd.Parse(args); err != nil {
		return err
	}

	env, err := cmd.Open(ctx, out, exampleenv.Options{
		ClusterID: "pglog-a", SecondClusterID: "pglog-b",
		Changes: "changes the DB cluster parameter groups, reboots the instances, creates the pglogical extension and nodes, a table " + table + " and a subscription " + subscription,
	})
	if err != nil {
		return err
	}
	defer env.Close()
	a, b := env.Cluster, env.B

	exampleenv.Heading(out, "EnablePgLogical on %s (provider)", a.ID())
	reportA, err := a.EnablePgLogical(ctx, &aurora.PgLogicalOptions{
		Sizing:   pglogical.Sizing{ProvidedSubscriptions: 1},
		Progress: exampleenv.Progress(out),
	})
	if err != nil {
		return exampleenv.Failed(out, err)
	}
	if b == nil {
		fmt.Fprintf(out, "\n%s is not set: only the provider %s was set up\n", exampleenv.EnvClusterIDB, a.ID())
		exampleenv.Heading(out, "report")
		exampleenv.PrintReport(out, reportA)
		return nil
	}
	// pglogical on the subscriber connects to its own node's DSN to copy
	// the initial data, so B's node DSN logs in, as a node role that may
	// only write the replicated table (its password is stored in B's
	// pglogical catalog; printed redacted). The role is granted the
	// table, so the table comes first.
	nodePassword, err := nodeRolePassword(env)
	if err != nil {
		return err
	}
	wa, err := a.Writer(ctx)
	if err != nil {
		return err
	}
	wb, err := b.Writer(ctx)
	if err != nil {
		return err
	}
	// pglogical replicates rows, not DDL: the table is created on both.
	for _, w := range []*aurora.Pool{wa, wb} {
		if _, err := w.Exec(ctx, createTable); err != nil {
			return fmt.Errorf("creating %s: %w", table, err)
		}
	}
	fmt.Fprintf(out, "  created %s on both clusters\n", table)

	exampleenv.Heading(out, "EnablePgLogical on %s (subscriber)", b.ID())
	reportB, err := b.EnablePgLogical(ctx, &aurora.PgLogicalOptions{
		NodeRole: &pglogical.NodeRoleSpec{
			Name: nodeRole, Password: nodePassword, Subscriber: true,
			Tables: []pglogical.Table{pglogical.T("public", table)},
		},
		Sizing:   pglogical.Sizing{Subscriptions: 1},
		Progress: exampleenv.Progress(out),
	})
	if err != nil {
		return exampleenv.Failed(out, err)
	}

	exampleenv.Heading(out, "replicate %s from %s to %s", table, a.ID(), b.ID())
	if err := addToDefaultSet(ctx, a.PgLogical()); err != nil {
		return err
	}
	fmt.Fprintf(out, "  %s is in %s's replication set %q\n", table, a.ID(), pglogical.DefaultSet)

	// A row written before the subscription: the initial sync copies it.
	var next int64
	if err := wa.QueryRow(ctx, "SELECT coalesce(max(id), 0) + 1 FROM "+table).Scan(&next); err != nil {
		return err
	}
	if _, err := wa.Exec(ctx, "INSERT INTO "+table+"(id, item) VALUES ($1, $2)", next, "written before the subscription"); err != nil {
		return err
	}
	fmt.Fprintf(out, "  wrote row %d on %s before subscribing\n", next, a.ID())

	if err := subscribe(ctx, out, env, a, b); err != nil {
		return err
	}
	if err := waitForRow(ctx, wb, next); err != nil {
		return fmt.Errorf("the row written before the subscription: %w", err)
	}
	fmt.Fprintf(out, "  row %d is on %s (initial sync)\n", next, b.ID())

	exampleenv.Heading(out, "write on %s, read on %s", a.ID(), b.ID())
	var lags []time.Duration
	for i := 1; i <= *rows; i++ {
		id := next + int64(i)
		start := time.Now()
		if _, err := wa.Exec(ctx, "INSERT INTO "+table+"(id, item) VALUES ($1, $2)", id, fmt.Sprintf("order %d", i)); err != nil {
			return err
		}
		if err := waitForRow(ctx, wb, id); err != nil {
			return err
		}
		lag := time.Since(start)
		lags = append(lags, lag)
		fmt.Fprintf(out, "  row %d written on %s arrived on %s after %s\n", id, a.ID(), b.ID(), lag.Round(time.Millisecond))
	}

	sub, err := b.PgLogical().Subscription(ctx, subscription)
	if err != nil {
		return err
	}
	var onA, onB int
	if err := wa.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&onA); err != nil {
		return err
	}
	if err := wb.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&onB); err != nil {
		return err
	}

	exampleenv.Heading(out, "report")
	fmt.Fprintf(out, "  provider %s:\n", a.ID())
	exampleenv.PrintReport(out, reportA)
	fmt.Fprintf(out, "  subscriber %s:\n", b.ID())
	exampleenv.PrintReport(out, reportB)
	fmt.Fprintf(out, "  subscription %s on %s: status %s, provider node %s, slot %s, provider %s\n",
		sub.Name, b.ID(), sub.Status, sub.ProviderNode, sub.SlotName, sub.Provider) // a DSN prints its password redacted
	fmt.Fprintf(out, "  %s holds %d rows on %s and %d on %s; %d new rows replicated, slowest in %s\n",
		table, onA, a.ID(), onB, b.ID(), len(lags), slowest(lags).Round(time.Millisecond))
	return nil
}

// envNodePassword names the variable with B's node role password against
// real clusters.
const envNodePassword = "AURORA_PGLOGICAL_NODE_PASSWORD"

// nodeRolePassword returns the password of B's node role: a random one on
// the emulator (its clusters are new on every run), the environment's
// against real clusters, where B's node DSN keeps it from the first run.
func nodeRolePassword(env *exampleenv.Env) (string, error) {
	if env.Emulated() {
		return rand.Text(), nil
	}
	pw := os.Getenv(envNodePassword)
	if pw == "" {
		return "", fmt.Errorf("set %s to the password of B's node role %s (printable ASCII; give the same one on every run)", envNodePassword, nodeRole)
	}
	return pw, nil
}

// addToDefaultSet adds the table to the provider's default replication set
// unless it is there already.
func addToDefaultSet(ctx context.Context, prov *pglogical.Client) error {
	sets, err := prov.ReplicationSets(ctx)
	if err != nil {
		return err
	}
	for _, s := range sets {
		for _, t := range s.Tables {
			if s.Name == pglogical.DefaultSet && t.Table == pglogical.T("public", table) {
				return nil
			}
		}
	}
	return prov.AddTable(ctx, pglogical.DefaultSet, pglogical.T("public", table), nil)
}

// subscribe creates B's subscription to A, unless it exists, and waits for
// its initial sync.
func subscribe(ctx context.Context, out io.Writer, env *exampleenv.Env, a, b *aurora.Cluster) error {
	_, err := b.PgLogical().Subscription(ctx, subscription)
	switch {
	case err == nil:
		fmt.Fprintf(out, "  subscription %s already exists on %s\n", subscription, b.ID())
	case errors.Is(err, pglogical.ErrNotFound):
		// A's node DSN (the cluster endpoint, the database, the user,
		// sslmode=require) plus the password B connects with.
		node, err := a.PgLogical().LocalNode(ctx)
		if err != nil {
			return err
		}
		if len(node.Interfaces) == 0 {
			return fmt.Errorf("%s's pglogical node %s has no interface", a.ID(), node.Name)
		}
		user, password, err := env.Password(ctx, a.ID())
		if err != nil {
			return err
		}
		dsn, err := node.Interfaces[0].DSN.With("user", user)
		if err == nil {
			dsn, err = dsn.WithPassword(password)
		}
		if err != nil {
			return err
		}
		if _, err := b.PgLogical().CreateSubscription(ctx, pglogical.SubscriptionSpec{
			Name: subscription, Provider: dsn,
			ReplicationSets: []string{pglogical.DefaultSet}, SynchronizeData: true,
		}); err != nil {
			return fmt.Errorf("creating the subscription: %w", err)
		}
		fmt.Fprintf(out, "  created subscription %s on %s to %s\n", subscription, b.ID(), dsn) // printed redacted
	default:
		return err
	}
	return b.PgLogical().WaitForSync(ctx, subscription, &pglogical.WaitOptions{
		Progress: func(e pgaurora.Event) {
			fmt.Fprintf(out, "      sync: status %s, %d of %d tables ready after %s\n", e.Status, e.Done, e.Total, e.Elapsed.Round(time.Millisecond))
		},
	})
}

// waitForRow polls the subscriber until the row is there.
func waitForRow(ctx context.Context, w *aurora.Pool, id int64) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		var there bool
		if err := w.QueryRow(ctx, "SELECT EXISTS (SELECT FROM "+table+" WHERE id = $1)", id).Scan(&there); err != nil {
			return fmt.Errorf("waiting for row %d on the subscriber: %w", id, err)
		}
		if there {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("row %d did not arrive on the subscriber: %w", id, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func slowest(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}
