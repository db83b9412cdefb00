package aurora

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// How the workflows wait: for RDS to report a state (waitDescribed), and
// for the writer to take statements again after a reboot or failover
// (awaitWriter, onWriter). Every wait polls through internal/wait with
// the operation's pgaurora.Wait, whose zero fields come from the Cluster
// (WithWait) and then from wait.RDS.

// waitFor returns w with its zero fields filled from the Cluster's
// defaults, then from wait.RDS.
func (c *Cluster) waitFor(w pgaurora.Wait) pgaurora.Wait {
	if c != nil {
		w = w.Or(c.cfg.wait)
	}
	return w.Or(wait.RDS)
}

// waitDescribed polls Describe until ready accepts the description, and
// returns it. what says what is awaited, for the error.
func (c *Cluster) waitDescribed(ctx context.Context, what string, wt pgaurora.Wait, ready func(*Description) bool) (*Description, error) {
	var last *Description
	err := wait.Until(ctx, c.waitFor(wt), wait.RDS, func(ctx context.Context) (bool, error) {
		d, err := c.Describe(ctx)
		if err != nil {
			// The SDK has already retried throttling and transient
			// faults.
			return false, err
		}
		last = d
		return ready(d), nil
	})
	switch {
	case err == nil:
		return last, nil
	case ctx.Err() != nil || wait.IsTimeout(err):
		return last, fmt.Errorf("waiting for %s (last seen: %s): %w", what, describeState(last), err)
	}
	return last, fmt.Errorf("waiting for %s: %w", what, err)
}

// describeState describes the cluster's state for wait errors: its
// status and parameter group, and each member's status.
func describeState(d *Description) string {
	if d == nil {
		return "nothing"
	}
	parts := []string{fmt.Sprintf("cluster %s (parameter group %s)", d.Status, d.ParameterGroup)}
	for _, in := range append(derefInstances(d.Writer), d.Readers...) {
		role := "reader"
		if in.Writer {
			role = "writer"
		}
		parts = append(parts, fmt.Sprintf("%s %s %s", role, in.ID, in.Status))
	}
	return strings.Join(parts, ", ")
}

// awaitWriter runs a trivial statement on the writer pool until it
// succeeds, so that the steps after a reboot or rotation start with a
// working pool. Only retryable errors (a lost or refused connection) are
// retried, for at most wt's MaxWait.
func (c *Cluster) awaitWriter(ctx context.Context, wt pgaurora.Wait) error {
	ctx, cancel := context.WithTimeout(ctx, c.waitFor(wt).MaxWait)
	defer cancel()
	p, err := c.Writer(ctx)
	if err != nil {
		return err
	}
	if err := p.retry(ctx, func() error { return p.Ping(ctx) }, nil, nil); err != nil {
		return fmt.Errorf("connecting to the writer: %w", err)
	}
	return nil
}

// onWriter runs fn in a transaction on the writer, again after a lost
// connection (a reboot or failover), until it succeeds, fails otherwise or
// ctx ends.
func (c *Cluster) onWriter(ctx context.Context, fn func(pgx.Tx) error) error {
	p, err := c.Writer(ctx)
	if err != nil {
		return err
	}
	return p.RunTx(ctx, fn)
}
