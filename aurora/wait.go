package aurora

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// How the workflows wait: for RDS to report a state (waitDescribed), and
// for the writer to take statements again after a reboot or failover
// (awaitWriter, onWriter).

// PollOptions tunes how a workflow waits for RDS. A wait polls the API,
// then again after Interval, each next poll after twice the previous
// delay, at most MaxInterval, and gives up after Timeout. The caller's
// context bounds everything. The zero value suits real Aurora; against the
// local emulator, tens of milliseconds are enough.
type PollOptions struct {
	// Interval is the first delay between polls; zero means 2s.
	Interval time.Duration
	// MaxInterval caps the delay between polls; zero means 30s.
	MaxInterval time.Duration
	// Timeout bounds one wait (one instance's reboot or rotation, the
	// cluster becoming available); zero means 30 minutes.
	Timeout time.Duration
}

// withDefaults fills the zero fields with the documented defaults and
// raises MaxInterval to at least Interval.
func (p PollOptions) withDefaults() PollOptions {
	if p.Interval <= 0 {
		p.Interval = 2 * time.Second
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = 30 * time.Second
	}
	if p.MaxInterval < p.Interval {
		p.MaxInterval = p.Interval
	}
	if p.Timeout <= 0 {
		p.Timeout = 30 * time.Minute
	}
	return p
}

// waitDescribed polls Describe until ready accepts the description, and
// returns it. what says what is awaited, for the error.
func (c *Cluster) waitDescribed(ctx context.Context, what string, poll PollOptions, ready func(*Description) bool) (*Description, error) {
	poll = poll.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, poll.Timeout)
	defer cancel()
	delay := poll.Interval
	var last *Description
	for {
		d, err := c.Describe(ctx)
		if err != nil && ctx.Err() == nil {
			// The SDK has already retried throttling and transient
			// faults.
			return last, fmt.Errorf("waiting for %s: %w", what, err)
		}
		if err == nil {
			last = d
			if ready(d) {
				return d, nil
			}
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return last, fmt.Errorf("waiting for %s (last seen: %s): %w", what, describeState(last), ctx.Err())
		case <-t.C:
		}
		if delay *= 2; delay > poll.MaxInterval {
			delay = poll.MaxInterval
		}
	}
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
		if in.IsWriter {
			role = "writer"
		}
		parts = append(parts, fmt.Sprintf("%s %s %s", role, in.ID, in.Status))
	}
	return strings.Join(parts, ", ")
}

// awaitWriter runs a trivial statement on the writer pool until it
// succeeds, so that the steps after a reboot or rotation start with a
// working pool. Only retryable errors (a lost or refused connection) are
// retried.
func (c *Cluster) awaitWriter(ctx context.Context, poll PollOptions) error {
	poll = poll.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, poll.Timeout)
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
