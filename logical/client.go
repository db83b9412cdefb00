package logical

import (
	"context"
	"sync/atomic"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/misuse"
)

// Client runs logical replication SQL in one database: the one its
// Querier is connected to. Publications, subscriptions and logical slots
// belong to a database, so a cluster replicating several databases needs
// one Client per database. A Client is safe for concurrent use when its
// Querier is (a *pgxpool.Pool is).
//
// Most calls need a superuser (rds_superuser on Aurora): CREATE
// SUBSCRIPTION does on PostgreSQL 15, and so does reading a
// subscription's connection string.
//
// Make one with New: the zero Client is not usable.
type Client struct {
	q       pgaurora.Querier
	version atomic.Int64
}

// New returns a client over q.
// A nil q gives a client whose every call fails with an error.
func New(q pgaurora.Querier) *Client { return &Client{q: misuse.Querier(q, "logical")} }

// Querier returns the querier the client runs on.
func (c *Client) Querier() pgaurora.Querier { return c.q }

// ServerVersion returns the server's server_version_num (150004 for
// 15.4), read once and remembered.
func (c *Client) ServerVersion(ctx context.Context) (int, error) {
	if v := c.version.Load(); v != 0 {
		return int(v), nil
	}
	var v int
	if err := c.q.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&v); err != nil {
		return 0, classify(err, "reading server_version_num")
	}
	c.version.Store(int64(v))
	return v, nil
}

// require fails with a *VersionError when the server is older than need.
func (c *Client) require(ctx context.Context, need int, feature string) error {
	have, err := c.ServerVersion(ctx)
	if err != nil {
		return err
	}
	if have < need {
		return &VersionError{Feature: feature, Need: need, Have: have}
	}
	return nil
}
