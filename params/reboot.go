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
	// StepWaitAvailable: waiting for the instance to be available before
	// rebooting it (it may still be applying a modification).
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
			if m.Status != pgaurora.StatusAvailable {
				if err := s.waitMember(ctx, cluster, m, o, time.Time{}, false, report); err != nil {
					return done, fail(m.ID, err, bi)
				}
			}
			_, err := s.api.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(m.ID)})
			if err != nil {
				return done, fail(m.ID, fmt.Errorf("reboot instance %q: %w", m.ID, err), bi)
			}
			requested = append(requested, m.ID)
			starts[i] = time.Now()
			report(pgaurora.Event{Step: StepReboot, Resource: m.ID, Status: "rebooting", Detail: role(m)})
		}
		for i, m := range batch {
			if err := s.waitMember(ctx, cluster, m, o, starts[i], true, report); err != nil {
				return done, fail(m.ID, err, bi)
			}
			done = append(done, m.ID)
		}
	}
	return done, nil
}

// waitMember polls until the member is available (and, with inSync, has
// its parameters in sync), as o.Wait says, bounded by ctx.
func (s *Service) waitMember(ctx context.Context, cluster string, m pgaurora.Instance, o RebootOptions, start time.Time, inSync bool, report func(pgaurora.Event)) error {
	step := StepWait
	if !inSync {
		step = StepWaitAvailable
	}
	last := m
	err := wait.Until(ctx, o.Wait, wait.RDS, func(ctx context.Context) (bool, error) {
		cur, err := s.pollMember(ctx, cluster, m.ID)
		if err != nil {
			return false, err
		}
		last = cur
		e := pgaurora.Event{Step: step, Resource: m.ID, Status: cur.Status,
			Detail: fmt.Sprintf("%s; cluster parameters %s, instance parameters %s", role(m), cur.ClusterParameterGroupStatus, cur.ParameterApplyStatus)}
		if !start.IsZero() {
			e.Elapsed = time.Since(start)
		}
		ready := cur.Status == pgaurora.StatusAvailable
		if inSync {
			ready = cur.InSync()
		}
		if ready && inSync {
			e.Step, e.Completed, e.Changed = StepDone, true, true
		}
		report(e)
		return ready, nil
	})
	if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("wait for instance %q: %w", m.ID, err)
	}
	if err != nil {
		return fmt.Errorf("wait for instance %q (last seen: status %q, cluster parameters %q, instance parameters %q): %w",
			m.ID, last.Status, last.ClusterParameterGroupStatus, last.ParameterApplyStatus, err)
	}
	return nil
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
