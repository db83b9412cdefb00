package params

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/rdsread"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// Members describes the instances of a DB cluster (DescribeDBClusters,
// then one DescribeDBInstances filtered on the cluster), ordered by
// promotion tier. A missing cluster gives an error matching
// pgaurora.ErrClusterNotFound.
func (s *Service) Members(ctx context.Context, cluster string) ([]pgaurora.Instance, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(cluster) == "" {
		return nil, &ValidationError{Field: "cluster", Reason: "is empty; give the DB cluster identifier"}
	}
	c, err := rdsread.Cluster(ctx, s.api, cluster)
	if err != nil {
		return nil, fmt.Errorf("params: %w", err)
	}
	members, err := rdsread.Members(ctx, s.api, c)
	if err != nil {
		return nil, fmt.Errorf("params: %w", err)
	}
	return members, nil
}

// PendingReboots returns the members whose cluster or instance parameter
// group is pending-reboot.
func (s *Service) PendingReboots(ctx context.Context, cluster string) ([]pgaurora.Instance, error) {
	ms, err := s.Members(ctx, cluster)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ms, func(m pgaurora.Instance) bool { return !m.PendingReboot() }), nil
}

// role describes a member's role for progress events.
func role(m pgaurora.Instance) string {
	if m.Writer {
		return "writer"
	}
	return fmt.Sprintf("reader, promotion tier %d", m.PromotionTier)
}

// The steps RebootPending reports in pgaurora.Event.Step.
const (
	// StepWaitAvailable: the instance was not available when its turn came
	// (still applying a modification, or recovering from a crash or
	// failover): the reboot waits for it, reported once.
	StepWaitAvailable = "wait-available"
	// StepReboot: RebootDBInstance was accepted.
	StepReboot = "reboot"
	// StepWait: polled; the instance is not yet available and in-sync.
	StepWait = "wait"
	// StepDone: the instance is available and its parameters in-sync
	// (the event is Completed).
	StepDone = "done"
)

// RebootOptions tunes RebootPending. A nil *RebootOptions uses the
// defaults.
type RebootOptions struct {
	// Parallel is how many readers reboot at once; 0 means 1, so the
	// cluster keeps serving reads. The writer always reboots alone, last.
	Parallel int
	// Wait says how the wait for each instance (before and after its
	// reboot) polls; zero fields mean 2s, 30s and 30 minutes. The
	// caller's context bounds the whole.
	Wait pgaurora.Wait
	// Progress, when set, receives an event at each step of each
	// instance and at each poll: Operation "params.RebootPending", Step one of
	// the Step constants, Resource the instance, Status its status,
	// Detail its role and parameter statuses, Done and Total the
	// instances rebooted and to reboot.
	Progress pgaurora.ProgressFunc
}

func (o *RebootOptions) withDefaults() RebootOptions {
	var r RebootOptions
	if o != nil {
		r = *o
	}
	if r.Parallel <= 0 {
		r.Parallel = 1
	}
	r.Wait = r.Wait.Or(wait.RDS)
	return r
}

// rebootBatches orders the members to reboot: readers first, by failover
// priority from last-promoted (highest tier) to first-promoted, then by
// identifier, in batches of at most parallel; the writer alone, last.
func rebootBatches(members []pgaurora.Instance, parallel int) [][]pgaurora.Instance {
	parallel = max(parallel, 1)
	var readers, writers []pgaurora.Instance
	for _, m := range members {
		if m.Writer {
			writers = append(writers, m)
		} else {
			readers = append(readers, m)
		}
	}
	slices.SortStableFunc(readers, func(a, b pgaurora.Instance) int {
		if a.PromotionTier != b.PromotionTier {
			return b.PromotionTier - a.PromotionTier
		}
		return strings.Compare(a.ID, b.ID)
	})
	var batches [][]pgaurora.Instance
	for len(readers) > 0 {
		n := min(parallel, len(readers))
		batches = append(batches, readers[:n:n])
		readers = readers[n:]
	}
	for _, w := range writers {
		batches = append(batches, []pgaurora.Instance{w})
	}
	return batches
}

// RebootPending reboots the members of a cluster whose parameter groups are
// "pending-reboot" and waits until each is "available" with its parameters
// "in-sync". Readers go first, one at a time by default, and the writer
// last, so the cluster keeps serving. Each wait polls DescribeDBInstances
// and DescribeDBClusters with backoff, as opts.Wait says, bounded by ctx. It returns the instances rebooted, in order; none
// when nothing was pending. On failure it returns a *RebootError saying
// which instances were rebooted and which were not.
func (s *Service) RebootPending(ctx context.Context, cluster string, opts *RebootOptions) ([]string, error) {
	o := opts.withDefaults()
	pending, err := s.PendingReboots(ctx, cluster)
	if err != nil {
		return nil, err
	}
	batches := rebootBatches(pending, o.Parallel)
	steps := len(pending)
	var done, requested []string
	report := func(e pgaurora.Event) {
		e.Operation, e.Done, e.Total = "params.RebootPending", len(done), steps
		if e.Completed {
			e.Done++ // the instance the event is about
		}
		o.Progress.Report(e)
	}
	fail := func(instance string, err error, batch int) error {
		re := &RebootError{Cluster: cluster, Done: slices.Clone(done), Failed: instance, Err: err}
		for _, b := range batches[batch:] {
			for _, m := range b {
				switch {
				case m.ID == instance || slices.Contains(done, m.ID):
				case slices.Contains(requested, m.ID):
					re.Unconfirmed = append(re.Unconfirmed, m.ID)
				default:
					re.NotRebooted = append(re.NotRebooted, m.ID)
				}
			}
		}
		return re
	}
	for bi, batch := range batches {
		starts := make([]time.Time, len(batch))
		for i, m := range batch {
			if err := s.reboot(ctx, cluster, m, o, report); err != nil {
				return done, fail(m.ID, err, bi)
			}
			requested = append(requested, m.ID)
			starts[i] = time.Now()
			report(pgaurora.Event{Step: StepReboot, Resource: m.ID, Status: "rebooting", Detail: role(m)})
		}
		for i, m := range batch {
			if err := s.waitInSync(ctx, cluster, m, o, starts[i], report); err != nil {
				return done, fail(m.ID, err, bi)
			}
			done = append(done, m.ID)
		}
	}
	return done, nil
}

// reboot asks RDS to reboot the member once it is available. A member
// that is not (still modifying, or recovering from a crash or a failover
// that happened meanwhile, which RDS answers with InvalidDBInstanceState)
// is waited for, bounded by o.Wait and ctx, and the wait is reported once
// with StepWaitAvailable.
func (s *Service) reboot(ctx context.Context, cluster string, m pgaurora.Instance, o RebootOptions, report func(pgaurora.Event)) error {
	reported := false
	notAvailable := func(status string) {
		if !reported {
			reported = true
			report(pgaurora.Event{Step: StepWaitAvailable, Resource: m.ID, Status: status,
				Detail: fmt.Sprintf("%s; was not available (%s): waiting before the reboot", role(m), status)})
		}
	}
	last := m
	err := wait.Until(ctx, o.Wait, wait.RDS, func(ctx context.Context) (bool, error) {
		cur, err := s.pollMember(ctx, cluster, m.ID)
		if err != nil {
			return false, err
		}
		last = cur
		if cur.Status != pgaurora.StatusAvailable {
			notAvailable(cur.Status)
			return false, nil
		}
		_, err = s.api.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(m.ID)})
		var busy *types.InvalidDBInstanceStateFault
		if errors.As(err, &busy) {
			notAvailable("busy")
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("reboot instance %q: %w", m.ID, err)
		}
		return true, nil
	})
	if err != nil && (ctx.Err() != nil || wait.IsTimeout(err)) {
		return fmt.Errorf("wait for instance %q to be available before its reboot (last seen: status %q): %w", m.ID, last.Status, err)
	}
	return err
}

// waitInSync polls until the member, rebooted at start, is available
// with its parameters in sync, as o.Wait says, bounded by ctx.
func (s *Service) waitInSync(ctx context.Context, cluster string, m pgaurora.Instance, o RebootOptions, start time.Time, report func(pgaurora.Event)) error {
	last := m
	err := wait.Until(ctx, o.Wait, wait.RDS, func(ctx context.Context) (bool, error) {
		cur, err := s.pollMember(ctx, cluster, m.ID)
		if err != nil {
			return false, err
		}
		last = cur
		e := pgaurora.Event{Step: StepWait, Resource: m.ID, Status: cur.Status, Elapsed: time.Since(start),
			Detail: fmt.Sprintf("%s; cluster parameters %s, instance parameters %s", role(m), cur.ClusterParameterGroupStatus, cur.ParameterApplyStatus)}
		if cur.InSync() {
			e.Step, e.Completed, e.Changed = StepDone, true, true
		}
		report(e)
		return cur.InSync(), nil
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil || wait.IsTimeout(err):
		return fmt.Errorf("wait for instance %q (last seen: status %q, cluster parameters %q, instance parameters %q): %w",
			m.ID, last.Status, last.ClusterParameterGroupStatus, last.ParameterApplyStatus, err)
	}
	return fmt.Errorf("wait for instance %q: %w", m.ID, err)
}

func (s *Service) pollMember(ctx context.Context, cluster, instance string) (pgaurora.Instance, error) {
	c, err := rdsread.Cluster(ctx, s.api, cluster)
	if err != nil {
		return pgaurora.Instance{}, err
	}
	m := rdsread.Member(c, instance)
	if m == nil {
		return pgaurora.Instance{}, fmt.Errorf("instance %q is no longer a member of cluster %q", instance, cluster)
	}
	in, _, err := rdsread.Instance(ctx, s.api, instance, m)
	return in, err
}
