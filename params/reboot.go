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
	"github.com/pgaurora/pgaurora/internal/wait"
)

// Status strings of the RDS API that reboot orchestration reads.
const (
	// StatusAvailable is a DB instance's status when it serves.
	StatusAvailable = "available"
	// ParamPendingReboot is a parameter group status (of a cluster member
	// or an instance) when changes wait for a reboot.
	ParamPendingReboot = "pending-reboot"
	// ParamInSync is a parameter group status when the running server has
	// every change.
	ParamInSync = "in-sync"
)

// Member is one DB instance of a cluster with the facts reboot
// orchestration needs.
type Member struct {
	// Instance is the DB instance identifier.
	Instance string
	// Writer is true for the cluster's writer instance.
	Writer bool
	// PromotionTier is the failover priority (0 is promoted first).
	PromotionTier int
	// Status is the instance status ("available", "rebooting", ...).
	Status string
	// ClusterParamStatus is the member's DB cluster parameter group status
	// ("in-sync", "pending-reboot", "applying").
	ClusterParamStatus string
	// InstanceParamStatus is the apply status of the instance's DB
	// parameter group(s); several groups report the least settled one.
	InstanceParamStatus string
}

// PendingReboot reports whether either parameter group of the member waits
// for a reboot.
func (m Member) PendingReboot() bool {
	return m.ClusterParamStatus == ParamPendingReboot || m.InstanceParamStatus == ParamPendingReboot
}

// role describes the member's role for progress events.
func (m Member) role() string {
	if m.Writer {
		return "writer"
	}
	return fmt.Sprintf("reader, promotion tier %d", m.PromotionTier)
}

// InSync reports whether the member is available with both parameter
// groups in sync: what a reboot waits for.
func (m Member) InSync() bool {
	return m.Status == StatusAvailable && m.ClusterParamStatus == ParamInSync &&
		(m.InstanceParamStatus == "" || m.InstanceParamStatus == ParamInSync)
}

// Members describes the instances of a DB cluster (DescribeDBClusters,
// then DescribeDBInstances for each member), in the order the API lists
// them.
func (s *Service) Members(ctx context.Context, cluster string) ([]Member, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(cluster) == "" {
		return nil, &ValidationError{Field: "cluster", Reason: "is empty; give the DB cluster identifier"}
	}
	c, err := s.describeCluster(ctx, cluster)
	if err != nil {
		return nil, err
	}
	members := make([]Member, 0, len(c.DBClusterMembers))
	for _, cm := range c.DBClusterMembers {
		id := aws.ToString(cm.DBInstanceIdentifier)
		inst, err := s.describeInstance(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("params: describe members of cluster %q: %w", cluster, err)
		}
		members = append(members, memberOf(cm, inst))
	}
	return members, nil
}

// PendingReboots returns the members of a cluster whose cluster or
// instance parameter group is "pending-reboot".
func (s *Service) PendingReboots(ctx context.Context, cluster string) ([]Member, error) {
	ms, err := s.Members(ctx, cluster)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ms, func(m Member) bool { return !m.PendingReboot() }), nil
}

func (s *Service) describeCluster(ctx context.Context, cluster string) (types.DBCluster, error) {
	out, err := s.api.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(cluster)})
	if err != nil {
		var nf *types.DBClusterNotFoundFault
		if errors.As(err, &nf) {
			return types.DBCluster{}, fmt.Errorf("params: describe cluster %q: %w: %w", cluster, ErrClusterNotFound, err)
		}
		return types.DBCluster{}, fmt.Errorf("params: describe cluster %q: %w", cluster, err)
	}
	for _, c := range out.DBClusters {
		if strings.EqualFold(aws.ToString(c.DBClusterIdentifier), cluster) {
			return c, nil
		}
	}
	return types.DBCluster{}, fmt.Errorf("params: describe cluster %q: %w", cluster, ErrClusterNotFound)
}

func (s *Service) describeInstance(ctx context.Context, id string) (*types.DBInstance, error) {
	out, err := s.api.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("describe instance %q: %w", id, err)
	}
	for i := range out.DBInstances {
		if strings.EqualFold(aws.ToString(out.DBInstances[i].DBInstanceIdentifier), id) {
			return &out.DBInstances[i], nil
		}
	}
	return nil, fmt.Errorf("describe instance %q: the API did not return it", id)
}

// memberOf combines a cluster's member entry with the instance's own
// description.
func memberOf(cm types.DBClusterMember, inst *types.DBInstance) Member {
	m := Member{
		Instance:           aws.ToString(cm.DBInstanceIdentifier),
		Writer:             aws.ToBool(cm.IsClusterWriter),
		PromotionTier:      int(aws.ToInt32(cm.PromotionTier)),
		ClusterParamStatus: aws.ToString(cm.DBClusterParameterGroupStatus),
	}
	if inst != nil {
		m.Status = aws.ToString(inst.DBInstanceStatus)
		for _, g := range inst.DBParameterGroups {
			st := aws.ToString(g.ParameterApplyStatus)
			if m.InstanceParamStatus == "" || paramStatusRank(st) > paramStatusRank(m.InstanceParamStatus) {
				m.InstanceParamStatus = st
			}
		}
	}
	return m
}

// paramStatusRank orders parameter statuses from settled to unsettled, so
// that a member with several groups reports the one that needs attention.
func paramStatusRank(s string) int {
	switch s {
	case ParamInSync:
		return 0
	case "applying":
		return 1
	case ParamPendingReboot:
		return 3
	default:
		return 2
	}
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
func rebootBatches(members []Member, parallel int) [][]Member {
	parallel = max(parallel, 1)
	var readers, writers []Member
	for _, m := range members {
		if m.Writer {
			writers = append(writers, m)
		} else {
			readers = append(readers, m)
		}
	}
	slices.SortStableFunc(readers, func(a, b Member) int {
		if a.PromotionTier != b.PromotionTier {
			return b.PromotionTier - a.PromotionTier
		}
		return strings.Compare(a.Instance, b.Instance)
	})
	var batches [][]Member
	for len(readers) > 0 {
		n := min(parallel, len(readers))
		batches = append(batches, readers[:n:n])
		readers = readers[n:]
	}
	for _, w := range writers {
		batches = append(batches, []Member{w})
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
				case m.Instance == instance || slices.Contains(done, m.Instance):
				case slices.Contains(requested, m.Instance):
					re.Unconfirmed = append(re.Unconfirmed, m.Instance)
				default:
					re.NotRebooted = append(re.NotRebooted, m.Instance)
				}
			}
		}
		return re
	}
	for bi, batch := range batches {
		starts := make([]time.Time, len(batch))
		for i, m := range batch {
			if m.Status != StatusAvailable {
				if err := s.waitMember(ctx, cluster, m, o, time.Time{}, false, report); err != nil {
					return done, fail(m.Instance, err, bi)
				}
			}
			_, err := s.api.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(m.Instance)})
			if err != nil {
				return done, fail(m.Instance, fmt.Errorf("reboot instance %q: %w", m.Instance, err), bi)
			}
			requested = append(requested, m.Instance)
			starts[i] = time.Now()
			report(pgaurora.Event{Step: StepReboot, Resource: m.Instance, Status: "rebooting", Detail: m.role()})
		}
		for i, m := range batch {
			if err := s.waitMember(ctx, cluster, m, o, starts[i], true, report); err != nil {
				return done, fail(m.Instance, err, bi)
			}
			done = append(done, m.Instance)
		}
	}
	return done, nil
}

// waitMember polls until the member is available (and, with inSync, has
// its parameters in sync), as o.Wait says, bounded by ctx.
func (s *Service) waitMember(ctx context.Context, cluster string, m Member, o RebootOptions, start time.Time, inSync bool, report func(pgaurora.Event)) error {
	step := StepWait
	if !inSync {
		step = StepWaitAvailable
	}
	last := m
	err := wait.Until(ctx, o.Wait, wait.RDS, func(ctx context.Context) (bool, error) {
		cur, err := s.pollMember(ctx, cluster, m.Instance)
		if err != nil {
			return false, err
		}
		last = cur
		e := pgaurora.Event{Step: step, Resource: m.Instance, Status: cur.Status,
			Detail: fmt.Sprintf("%s; cluster parameters %s, instance parameters %s", m.role(), cur.ClusterParamStatus, cur.InstanceParamStatus)}
		if !start.IsZero() {
			e.Elapsed = time.Since(start)
		}
		ready := cur.Status == StatusAvailable
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
		return fmt.Errorf("wait for instance %q: %w", m.Instance, err)
	}
	if err != nil {
		return fmt.Errorf("wait for instance %q (last seen: status %q, cluster parameters %q, instance parameters %q): %w",
			m.Instance, last.Status, last.ClusterParamStatus, last.InstanceParamStatus, err)
	}
	return nil
}

func (s *Service) pollMember(ctx context.Context, cluster, instance string) (Member, error) {
	c, err := s.describeCluster(ctx, cluster)
	if err != nil {
		return Member{}, err
	}
	inst, err := s.describeInstance(ctx, instance)
	if err != nil {
		return Member{}, err
	}
	for _, cm := range c.DBClusterMembers {
		if strings.EqualFold(aws.ToString(cm.DBInstanceIdentifier), instance) {
			return memberOf(cm, inst), nil
		}
	}
	return Member{}, fmt.Errorf("instance %q is no longer a member of cluster %q", instance, cluster)
}
