package pglogical

import (
	"context"
	"fmt"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/secretsql"
)

// Node is a pglogical node: a database taking part in replication.
type Node struct {
	// ID is the node's oid in pglogical.node.
	ID uint32
	// Name is the node name.
	Name string
	// Local is true for the node that represents this database.
	Local bool
	// Interfaces are the node's connection strings; the one named like
	// the node is created with it.
	Interfaces []Interface
}

// Interface is a named connection string of a node.
type Interface struct {
	// ID is the interface's oid.
	ID uint32
	// Name is the interface name.
	Name string
	// DSN is how peers connect to the node through this interface.
	DSN pgaurora.ConnString
}

// CreateNode creates this database's local node (pglogical.create_node)
// with the DSN other nodes use to reach it. The DSN usually has no
// password for a subscriber-only node; for a provider, subscribers use the
// DSN given in their own subscription, not this one.
func (c *Client) CreateNode(ctx context.Context, name string, dsn pgaurora.ConnString) (Node, error) {
	if err := checkName("node name", name); err != nil {
		return Node{}, err
	}
	if dsn.IsZero() {
		return Node{}, invalid("node DSN is empty; give the connection string peers use to reach this node")
	}
	op := fmt.Sprintf("create node %q", name)
	var id *uint32
	if err := c.callSecret(ctx, op, secretsql.ConnSecrets(dsn), "SELECT pglogical.create_node($1, $2)",
		[]any{name, dsn.Reveal()}, &id); err != nil {
		return Node{}, err
	}
	if id == nil {
		return Node{}, fmt.Errorf("pglogical: %s: pglogical.create_node returned NULL: %w", op, ErrNothingDone)
	}
	return c.LocalNode(ctx)
}

// DropNode drops a node (pglogical.drop_node). Dropping the local node
// requires that it has no subscriptions. With ifExists a missing node is
// not an error. A drop that races pglogical's own workers ("tuple
// concurrently updated") is run again, for at most 10 seconds.
func (c *Client) DropNode(ctx context.Context, name string, ifExists bool) error {
	if err := checkName("node name", name); err != nil {
		return err
	}
	op := fmt.Sprintf("drop node %q", name)
	var ok *bool
	if err := retryConcurrentUpdate(ctx, func(ctx context.Context) error {
		return c.q.QueryRow(ctx, "SELECT pglogical.drop_node($1, $2)", name, ifExists).Scan(&ok)
	}); err != nil {
		return wrap(op, err)
	}
	if ok == nil {
		return checkResult(op, "pglogical.drop_node", ok)
	}
	if !*ok {
		if ifExists {
			return nil
		}
		return fmt.Errorf("pglogical: %s: %w", op, &NotFoundError{Kind: "node", Name: name})
	}
	return nil
}

// Nodes lists every node this database knows (the local one and the
// providers of its subscriptions), with their interfaces.
func (c *Client) Nodes(ctx context.Context) ([]Node, error) {
	return c.nodes(ctx, "")
}

// LocalNode returns this database's local node, or an error matching
// ErrNoLocalNode.
func (c *Client) LocalNode(ctx context.Context) (Node, error) {
	ns, err := c.nodes(ctx, "local")
	if err != nil {
		return Node{}, err
	}
	if len(ns) == 0 {
		return Node{}, fmt.Errorf("pglogical: local node: %w", ErrNoLocalNode)
	}
	return ns[0], nil
}

func (c *Client) nodes(ctx context.Context, filter string) ([]Node, error) {
	sql := `SELECT n.node_id, n.node_name::text, (l.node_id IS NOT NULL),
		i.if_id, i.if_name::text, i.if_dsn
		FROM pglogical.node n
		LEFT JOIN pglogical.local_node l ON l.node_id = n.node_id
		LEFT JOIN pglogical.node_interface i ON i.if_nodeid = n.node_id`
	if filter == "local" {
		sql += " WHERE l.node_id IS NOT NULL"
	}
	sql += " ORDER BY (l.node_id IS NULL), n.node_name, i.if_name"
	rows, err := c.q.Query(ctx, sql)
	if err != nil {
		return nil, wrap("listing nodes", err)
	}
	var out []Node
	for rows.Next() {
		var (
			n       Node
			ifID    *uint32
			ifName  *string
			ifDSN   *string
			current *Node
		)
		if err := rows.Scan(&n.ID, &n.Name, &n.Local, &ifID, &ifName, &ifDSN); err != nil {
			rows.Close()
			return nil, wrap("listing nodes", err)
		}
		if len(out) > 0 && out[len(out)-1].ID == n.ID {
			current = &out[len(out)-1]
		} else {
			out = append(out, n)
			current = &out[len(out)-1]
		}
		if ifID != nil {
			current.Interfaces = append(current.Interfaces, Interface{ID: *ifID, Name: deref(ifName), DSN: pgaurora.ConnStringFromCatalog(deref(ifDSN))})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("listing nodes", err)
	}
	return out, nil
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

// AddInterface adds a named connection string to a node
// (pglogical.alter_node_add_interface). Subscriptions can be switched to
// it with SwitchInterface.
func (c *Client) AddInterface(ctx context.Context, node, name string, dsn pgaurora.ConnString) (Interface, error) {
	if err := checkName("node name", node); err != nil {
		return Interface{}, err
	}
	if err := checkName("interface name", name); err != nil {
		return Interface{}, err
	}
	if dsn.IsZero() {
		return Interface{}, invalid("interface DSN is empty")
	}
	op := fmt.Sprintf("add interface %q to node %q", name, node)
	var id *uint32
	if err := c.callSecret(ctx, op, secretsql.ConnSecrets(dsn), "SELECT pglogical.alter_node_add_interface($1, $2, $3)",
		[]any{node, name, dsn.Reveal()}, &id); err != nil {
		return Interface{}, err
	}
	if id == nil {
		return Interface{}, fmt.Errorf("pglogical: %s: alter_node_add_interface returned NULL: %w", op, ErrNothingDone)
	}
	return Interface{ID: *id, Name: name, DSN: dsn}, nil
}

// DropInterface removes a node's interface
// (pglogical.alter_node_drop_interface). An interface in use by a
// subscription cannot be dropped.
func (c *Client) DropInterface(ctx context.Context, node, name string) error {
	if err := checkName("node name", node); err != nil {
		return err
	}
	if err := checkName("interface name", name); err != nil {
		return err
	}
	return c.callBool(ctx, fmt.Sprintf("drop interface %q of node %q", name, node), "pglogical.alter_node_drop_interface",
		"SELECT pglogical.alter_node_drop_interface($1, $2)", node, name)
}

// SwitchInterface makes a subscription connect to its provider through
// another of the provider node's interfaces
// (pglogical.alter_subscription_interface).
func (c *Client) SwitchInterface(ctx context.Context, subscription, iface string) error {
	if err := checkName("subscription name", subscription); err != nil {
		return err
	}
	if err := checkName("interface name", iface); err != nil {
		return err
	}
	return c.callBool(ctx, fmt.Sprintf("switch subscription %q to interface %q", subscription, iface),
		"pglogical.alter_subscription_interface", "SELECT pglogical.alter_subscription_interface($1, $2)", subscription, iface)
}
