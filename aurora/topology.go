package aurora

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/conninfo"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// writerSearchTimeout bounds one search for a new writer. Aurora fails over
// in well under a minute; the search gives up long after that.
const writerSearchTimeout = 3 * time.Minute

// startWriterSearch looks for the writer in the background, once at a time,
// and points new connections at it. Connections to the old writer are
// dropped when the writer changed.
func (p *Pool) startWriterSearch() {
	p.mu.Lock()
	if p.refreshing != nil {
		p.mu.Unlock()
		return
	}
	done := make(chan struct{})
	p.refreshing = done
	old := p.target
	p.mu.Unlock()

	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(p.ctx, writerSearchTimeout)
		defer cancel()
		start := time.Now()
		ep, how, err := p.c.findWriter(ctx, old)
		p.mu.Lock()
		if err == nil {
			p.target = ep
		}
		p.refreshing = nil
		p.mu.Unlock()
		if err != nil {
			p.c.cfg.logger.Error("aurora: no writer found", "cluster", p.c.id, "error", err)
			return
		}
		if ep != old {
			p.pool.Reset()
		}
		p.c.cfg.logger.Info("aurora: writer found", "cluster", p.c.id, "writer", ep.instance,
			"previous", old.instance, "by", how, "after", time.Since(start).Round(time.Millisecond))
	}()
}

// waitForTarget waits until a running writer search ends.
func (p *Pool) waitForTarget(ctx context.Context) error {
	p.mu.Lock()
	ch := p.refreshing
	p.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// findWriter polls until an instance that accepts writes is found: first by
// asking the instances themselves (aurora_replica_status(), which Aurora
// answers from shared storage within a second of a failover), then by the
// RDS API's IsClusterWriter. The candidate is confirmed by connecting and
// checking that it is not in recovery.
func (c *Cluster) findWriter(ctx context.Context, old endpoint) (endpoint, string, error) {
	var lastErr error
	var ep endpoint
	var how string
	err := wait.Until(ctx, writerSearch, writerSearch, func(ctx context.Context) (bool, error) {
		d, err := c.Describe(ctx)
		if err != nil {
			if ctx.Err() == nil { // not the search's own end: keep the reason it failed
				lastErr = err
			}
			return false, nil
		}
		if e, ok := c.writerByTopology(ctx, instanceEndpoints(d)); ok {
			ep, how = e, "aurora_replica_status()"
			return true, nil
		}
		if d.Writer != nil && d.Writer.Status == "available" {
			e := endpointOf(*d.Writer)
			if err := c.confirmWriter(ctx, e); err != nil {
				if ctx.Err() == nil {
					lastErr = err
				}
				return false, nil
			}
			ep, how = e, "DescribeDBClusters"
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return endpoint{}, "", fmt.Errorf("aurora: searching for the writer after losing %s: %w (last error: %v)", old, err, lastErr)
	}
	return ep, how, nil
}

// writerSearch is how findWriter polls: fast, since Aurora names the new
// writer within seconds of a failover.
var writerSearch = pgaurora.Wait{MinDelay: 50 * time.Millisecond, MaxDelay: 500 * time.Millisecond}

// instanceEndpoints returns the described instances that have an
// endpoint, by identifier.
func instanceEndpoints(d *Description) map[string]endpoint {
	m := map[string]endpoint{}
	for _, in := range append(derefInstances(d.Writer), d.Readers...) {
		if in.Address != "" {
			m[in.ID] = endpointOf(in)
		}
	}
	return m
}

// endpointOf is where connections to the instance go.
func endpointOf(in pgaurora.Instance) endpoint {
	return endpoint{instance: in.ID, host: in.Address, port: in.Port}
}

func derefInstances(in *pgaurora.Instance) []pgaurora.Instance {
	if in == nil {
		return nil
	}
	return []pgaurora.Instance{*in}
}

// writerByTopology asks each reachable instance which instance is the
// writer and confirms the answer.
func (c *Cluster) writerByTopology(ctx context.Context, instances map[string]endpoint) (endpoint, bool) {
	for _, ep := range instances {
		id, err := c.topologyWriter(ctx, ep)
		if err != nil {
			continue
		}
		w, ok := instances[id]
		if !ok {
			continue
		}
		if c.confirmWriter(ctx, w) == nil {
			return w, true
		}
	}
	return endpoint{}, false
}

func (c *Cluster) topologyWriter(ctx context.Context, ep endpoint) (string, error) {
	conn, err := c.probe(ctx, ep)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var id string
	err = conn.QueryRow(ctx, "SELECT server_id FROM aurora_replica_status() WHERE session_id = 'MASTER_SESSION_ID'").Scan(&id)
	return id, err
}

// errNotWriter says a candidate is in recovery.
var errNotWriter = errors.New("instance is in recovery (a reader)")

func (c *Cluster) confirmWriter(ctx context.Context, ep endpoint) error {
	conn, err := c.probe(ctx, ep)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var inRecovery bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
		return err
	}
	if inRecovery {
		return fmt.Errorf("%s: %w", ep, errNotWriter)
	}
	return nil
}

// probe opens a short-lived connection to one instance with the pool's
// credentials and TLS policy.
func (c *Cluster) probe(ctx context.Context, ep endpoint) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := c.connectWith(ctx, ep, c.cfg.creds)
	if isAuthFailure(err) {
		c.cfg.creds.authFailed()
	}
	return conn, err
}

// connectWith opens one connection to ep, in the Cluster's database and
// with its TLS policy, logging in with creds.
func (c *Cluster) connectWith(ctx context.Context, ep endpoint, creds Credentials) (*pgx.Conn, error) {
	cc, err := pgx.ParseConfig("sslmode=disable dbname=" + conninfo.Quote(c.cfg.database))
	if err != nil {
		return nil, err
	}
	if err := c.configureConnWith(ctx, cc, ep, creds); err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cc)
}
