package aurora

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/pgaurora/pgaurora"
)

// Operations on the cluster as a whole: backup retention, instance reboots
// and failovers. Each is a workflow with a Report, and each waits, under
// the caller's context, until RDS reports the cluster (or instance) available
// again.

// MinBackupRetentionDays and MaxBackupRetentionDays bound the backup
// retention period Aurora accepts, in days.
const (
	MinBackupRetentionDays = 1
	MaxBackupRetentionDays = 35
)

// clusterAllAvailable reports whether the cluster and all its members are
// available.
func clusterAllAvailable(d *Description) bool {
	if d.Status != pgaurora.StatusAvailable || d.Writer == nil || d.Writer.Status != pgaurora.StatusAvailable {
		return false
	}
	for _, r := range d.Readers {
		if r.Status != pgaurora.StatusAvailable {
			return false
		}
	}
	return true
}

// member returns the member with the given identifier.
func (d *Description) member(id string) (pgaurora.Instance, bool) {
	for _, in := range append(derefInstances(d.Writer), d.Readers...) {
		if in.ID == id {
			return in, true
		}
	}
	return pgaurora.Instance{}, false
}

// memberList lists the cluster's instance identifiers, writer first.
func (d *Description) memberList() []string {
	var ids []string
	for _, in := range append(derefInstances(d.Writer), d.Readers...) {
		ids = append(ids, in.ID)
	}
	return ids
}

// SetBackupRetentionOptions configures SetBackupRetention. A nil
// *SetBackupRetentionOptions uses the defaults.
type SetBackupRetentionOptions struct {
	// Wait says how the steps wait for RDS and the servers; zero fields
	// take the Cluster's defaults (WithWait).
	Wait pgaurora.Wait
	// Progress, when set, receives an event as each step completes, and
	// the events of the operations the steps run (reboots, rotations).
	Progress pgaurora.ProgressFunc
}

// SetBackupRetention sets how many days of automated backups the cluster
// keeps (1 to 35): ModifyDBCluster with BackupRetentionPeriod and
// ApplyImmediately, then it waits until the cluster is available with the
// new period. The value is checked before any call (out of range, it fails
// at step "check input" with an *InputError on "days"); when the cluster
// already keeps that many days, nothing is called and the report says so.
func (c *Cluster) SetBackupRetention(ctx context.Context, days int, opts *SetBackupRetentionOptions) (*Report, error) {
	if opts == nil {
		opts = &SetBackupRetentionOptions{}
	}
	const name = "SetBackupRetention"
	if days < MinBackupRetentionDays || days > MaxBackupRetentionDays {
		return nil, inputFailure(name, &InputError{Field: "days", Value: strconv.Itoa(days),
			Allowed: fmt.Sprintf("%d to %d (days of automated backups)", MinBackupRetentionDays, MaxBackupRetentionDays)})
	}
	w := c.newWorkflow(name, opts.Wait, opts.Progress)
	err := w.step(ctx, fmt.Sprintf("set backup retention of %s to %d days", c.id, days), func(ctx context.Context) (bool, string, error) {
		d, err := c.Describe(ctx)
		if err != nil {
			return false, "", err
		}
		if d.BackupRetentionDays == days {
			return false, fmt.Sprintf("already %d days", days), nil
		}
		before := d.BackupRetentionDays
		if err := c.modifyCluster(ctx, d, &rds.ModifyDBClusterInput{BackupRetentionPeriod: aws.Int32(int32(days))}, fmt.Sprintf("%d days of backup retention", days), w.wait,
			func(d *Description) bool { return d.BackupRetentionDays == days }); err != nil {
			return false, "", err
		}
		return true, fmt.Sprintf("%d -> %d days", before, days), nil
	})
	if err != nil {
		return nil, err
	}
	return w.report, nil
}

// modifyCluster changes the cluster the way RDS takes a change: it waits
// until the cluster is available (d is its last description), calls
// ModifyDBCluster with in, applied immediately, and waits until the
// cluster is available again and done accepts it. what names the change
// ("parameter group x"), for the waits and the errors.
func (c *Cluster) modifyCluster(ctx context.Context, d *Description, in *rds.ModifyDBClusterInput, what string, wt pgaurora.Wait, done func(*Description) bool) error {
	if d.Status != pgaurora.StatusAvailable {
		if _, err := c.waitDescribed(ctx, "cluster "+c.id+" to be available", wt, func(d *Description) bool {
			return d.Status == pgaurora.StatusAvailable
		}); err != nil {
			return err
		}
	}
	in.DBClusterIdentifier = aws.String(c.id)
	in.ApplyImmediately = aws.Bool(true)
	if _, err := c.api.ModifyDBCluster(ctx, in); err != nil {
		return fmt.Errorf("setting %s on cluster %s (ModifyDBCluster): %w", what, c.id, err)
	}
	_, err := c.waitDescribed(ctx, "cluster "+c.id+" to be available with "+what, wt, func(d *Description) bool {
		return d.Status == pgaurora.StatusAvailable && done(d)
	})
	return err
}

// RebootOptions configures Reboot. A nil *RebootOptions uses the defaults.
type RebootOptions struct {
	// OnlyIfPending reboots the instance only when a parameter group
	// change waits for a reboot (its cluster or instance parameter group
	// is pending-reboot); otherwise the step reports it unchanged. This
	// makes Reboot idempotent. By default the instance is always
	// rebooted.
	OnlyIfPending bool
	// Wait says how the steps wait for RDS and the servers; zero fields
	// take the Cluster's defaults (WithWait).
	Wait pgaurora.Wait
	// Progress, when set, receives an event as each step completes, and
	// the events of the operations the steps run (reboots, rotations).
	Progress pgaurora.ProgressFunc
}

// Reboot restarts one DB instance of the cluster (RebootDBInstance) and
// waits until it is available again, with its parameter groups in sync.
// The instance must be a member of the cluster; an instance that is busy
// (modifying, rebooting) is waited for first. Rebooting the writer makes
// the cluster refuse writes while it restarts; it does not fail over.
func (c *Cluster) Reboot(ctx context.Context, instanceID string, opts *RebootOptions) (*Report, error) {
	if opts == nil {
		opts = &RebootOptions{}
	}
	const name = "Reboot"
	if instanceID == "" {
		return nil, inputFailure(name, errors.New("instance identifier is empty: name a DB instance of the cluster"))
	}
	w := c.newWorkflow(name, opts.Wait, opts.Progress)
	err := w.step(ctx, "reboot "+instanceID, func(ctx context.Context) (bool, string, error) {
		d, err := c.Describe(ctx)
		if err != nil {
			return false, "", err
		}
		in, ok := d.member(instanceID)
		if !ok {
			return false, "", fmt.Errorf("%s is not a DB instance of cluster %s (members: %s)", instanceID, c.id, strings.Join(d.memberList(), ", "))
		}
		if opts.OnlyIfPending && !in.PendingReboot() {
			return false, "no parameter change waits for a reboot", nil
		}
		if in.Status != pgaurora.StatusAvailable {
			if _, err := c.waitDescribed(ctx, instanceID+" to be available before its reboot", w.wait, func(d *Description) bool {
				in, ok := d.member(instanceID)
				return ok && in.Status == pgaurora.StatusAvailable
			}); err != nil {
				return false, "", err
			}
		}
		start := time.Now()
		if _, err := c.api.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(instanceID)}); err != nil {
			return false, "", fmt.Errorf("rebooting %s: %w", instanceID, err)
		}
		if _, err := c.waitDescribed(ctx, instanceID+" to be available after its reboot", w.wait, func(d *Description) bool {
			in, ok := d.member(instanceID)
			return ok && in.Status == pgaurora.StatusAvailable && !in.PendingReboot()
		}); err != nil {
			return true, "", err
		}
		role := "reader"
		if in.Writer {
			role = "writer"
		}
		return true, fmt.Sprintf("%s available again after %s", role, time.Since(start).Round(time.Millisecond)), nil
	})
	if err != nil {
		return nil, err
	}
	return w.report, nil
}

// FailoverOptions configures Failover. A nil *FailoverOptions uses the
// defaults.
type FailoverOptions struct {
	// Target is the reader to promote. Empty lets RDS choose (the reader
	// with the best promotion tier); then every call fails over. With a
	// Target, a call finding it already the writer changes nothing.
	Target string
	// Wait says how the steps wait for RDS and the servers; zero fields
	// take the Cluster's defaults (WithWait).
	Wait pgaurora.Wait
	// Progress, when set, receives an event as each step completes, and
	// the events of the operations the steps run (reboots, rotations).
	Progress pgaurora.ProgressFunc
}

// FailoverResult is the report of Failover with the writers before and
// after.
type FailoverResult struct {
	// Report lists the workflow's steps.
	Report *Report
	// OldWriter and NewWriter are the writer instances before and after;
	// equal when nothing changed.
	OldWriter, NewWriter string
	// Duration is the time from the FailoverDBCluster call until the
	// cluster was available with the new writer; zero when nothing
	// changed.
	Duration time.Duration
}

// String names the writers before and after, then lists the steps.
func (r *FailoverResult) String() string {
	head := fmt.Sprintf("writer %s", r.OldWriter)
	if r.NewWriter != r.OldWriter {
		head = fmt.Sprintf("writer %s -> %s in %s", r.OldWriter, r.NewWriter, r.Duration.Round(time.Millisecond))
	}
	if r.Report == nil {
		return head
	}
	return head + "; " + r.Report.String()
}

// Failover makes a reader the cluster's writer (FailoverDBCluster) and
// waits until the cluster is available with the new writer. The writer
// pool, if open, is pointed at the new writer at once; statements in flight
// on the old writer fail with a retryable error.
func (c *Cluster) Failover(ctx context.Context, opts *FailoverOptions) (*FailoverResult, error) {
	if opts == nil {
		opts = &FailoverOptions{}
	}
	w := c.newWorkflow("Failover", opts.Wait, opts.Progress)
	res := &FailoverResult{Report: w.report}
	name := "fail over"
	if opts.Target != "" {
		name = "fail over to " + opts.Target
	}
	err := w.step(ctx, name, func(ctx context.Context) (bool, string, error) {
		d, err := c.Describe(ctx)
		if err != nil {
			return false, "", err
		}
		if opts.Target != "" {
			in, ok := d.member(opts.Target)
			if !ok {
				return false, "", fmt.Errorf("target %s is not a DB instance of cluster %s (members: %s)", opts.Target, c.id, strings.Join(d.memberList(), ", "))
			}
			if in.Writer {
				res.OldWriter, res.NewWriter = in.ID, in.ID
				return false, in.ID + " is already the writer", nil
			}
		}
		if !clusterAllAvailable(d) {
			if d, err = c.waitDescribed(ctx, "the cluster to be available before the failover", w.wait, clusterAllAvailable); err != nil {
				return false, "", err
			}
		}
		if len(d.Readers) == 0 {
			return false, "", fmt.Errorf("cluster %s has no reader to fail over to", c.id)
		}
		old := d.Writer.ID
		res.OldWriter = old
		in := &rds.FailoverDBClusterInput{DBClusterIdentifier: aws.String(c.id)}
		if opts.Target != "" {
			in.TargetDBInstanceIdentifier = aws.String(opts.Target)
		}
		start := time.Now()
		if _, err := c.api.FailoverDBCluster(ctx, in); err != nil {
			return false, "", fmt.Errorf("failing over cluster %s: %w", c.id, err)
		}
		d, err = c.waitDescribed(ctx, fmt.Sprintf("cluster %s to be available with a writer other than %s", c.id, old), w.wait, func(d *Description) bool {
			return d.Status == pgaurora.StatusAvailable && d.Writer != nil && d.Writer.ID != old &&
				d.Writer.Status == pgaurora.StatusAvailable && (opts.Target == "" || d.Writer.ID == opts.Target)
		})
		if err != nil {
			return true, "", err
		}
		res.NewWriter, res.Duration = d.Writer.ID, time.Since(start)
		c.followWriter(endpointOf(*d.Writer))
		return true, fmt.Sprintf("writer %s -> %s in %s", old, res.NewWriter, res.Duration.Round(time.Millisecond)), nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// followWriter points an open writer pool at a new writer at once, so no
// statement lands on the old writer (now a reader) before the pool would
// notice.
func (c *Cluster) followWriter(ep endpoint) {
	c.mu.Lock()
	p := c.writer
	c.mu.Unlock()
	if p == nil {
		return
	}
	p.mu.Lock()
	changed := p.target != ep
	p.target = ep
	p.mu.Unlock()
	if changed {
		p.pool.Reset()
		c.cfg.logger.Info("aurora: writer pool follows the failover", "cluster", c.id, "writer", ep.instance)
	}
}
