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

// Phase is a step of rebooting one instance, reported through Progress.
type Phase string

const (
	// PhaseWaitAvailable: waiting for the instance to be available before
	// rebooting it (it may still be applying a modification).
	PhaseWaitAvailable Phase = "wait-available"
	// PhaseRebooting: RebootDBInstance was accepted.
	PhaseRebooting Phase = "rebooting"
	// PhaseWaiting: polled; the instance is not yet available and in-sync.
	PhaseWaiting Phase = "waiting"
	// PhaseDone: the instance is available and its parameters in-sync.
	PhaseDone Phase = "done"
)

// Progress reports one event of RebootPending.
type Progress struct {
	// Cluster and Instance name what is being rebooted.
	Cluster, Instance string
	// Writer is true for the writer instance (rebooted last).
	Writer bool
	// Phase is the step reached.
	Phase Phase
	// Status, ClusterParamStatus and InstanceParamStatus are the last
	// values seen from the API.
	Status, ClusterParamStatus, InstanceParamStatus string
	// Step is the 1-based position of the instance in the reboot order
	// and Steps the number of instances to reboot.
	Step, Steps int
	// Elapsed is the time since this instance's reboot was requested.
	Elapsed time.Duration
}

// RebootOptions tunes RebootPending. A nil *RebootOptions uses the
// defaults.
type RebootOptions struct {
	// Parallel is how many readers reboot at once; 0 means 1, so the
	// cluster keeps serving reads. The writer always reboots alone, last.
	Parallel int
	// MinDelay and MaxDelay bound the polling backoff: the first poll
	// comes after MinDelay, each next one after twice the previous delay,
	// at most MaxDelay. Defaults: 2s and 30s.
	MinDelay, MaxDelay time.Duration
	// MaxWait bounds the wait for one instance (before and after its
	// reboot); 0 means 30 minutes. The caller's context bounds the whole.
	MaxWait time.Duration
	// Progress, when set, is called for every step, from the calling
	// goroutine.
	Progress func(Progress)
}

func (o *RebootOptions) withDefaults() RebootOptions {
	var r RebootOptions
	if o != nil {
		r = *o
	}
	if r.Parallel <= 0 {
		r.Parallel = 1
	}
	if r.MinDelay <= 0 {
		r.MinDelay = 2 * time.Second
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = 30 * time.Second
	}
	if r.MaxDelay < r.MinDelay {
		r.MaxDelay = r.MinDelay
	}
	if r.MaxWait <= 0 {
		r.MaxWait = 30 * time.Minute
	}
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

// nextDelay doubles the polling delay up to maxDelay.
func nextDelay(cur, maxDelay time.Duration) time.Duration {
	if cur >= maxDelay/2 {
		return maxDelay
	}
	return cur * 2
}

// RebootPending reboots the members of a cluster whose parameter groups are
// "pending-reboot" and waits until each is "available" with its parameters
// "in-sync". Readers go first, one at a time by default, and the writer
// last, so the cluster keeps serving. Each wait polls DescribeDBInstances
// and DescribeDBClusters with exponential backoff, bounded by
// opts.MaxWait and ctx. It returns the instances rebooted, in order; none
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
	step := 0
	report := func(p Progress) {
		if o.Progress != nil {
			p.Cluster = cluster
			p.Steps = steps
			o.Progress(p)
		}
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
		first := step
		starts := make([]time.Time, len(batch))
		for i, m := range batch {
			step++
			if m.Status != StatusAvailable {
				if err := s.waitMember(ctx, cluster, m, o, step, time.Time{}, false, report); err != nil {
					return done, fail(m.Instance, err, bi)
				}
			}
			_, err := s.api.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(m.Instance)})
			if err != nil {
				return done, fail(m.Instance, fmt.Errorf("reboot instance %q: %w", m.Instance, err), bi)
			}
			requested = append(requested, m.Instance)
			starts[i] = time.Now()
			report(Progress{Instance: m.Instance, Writer: m.Writer, Phase: PhaseRebooting, Status: "rebooting", Step: step})
		}
		for i, m := range batch {
			if err := s.waitMember(ctx, cluster, m, o, first+i+1, starts[i], true, report); err != nil {
				return done, fail(m.Instance, err, bi)
			}
			done = append(done, m.Instance)
		}
	}
	return done, nil
}

// waitMember polls until the member is available (and, with inSync, has
// its parameters in sync), bounded by o.MaxWait and ctx.
func (s *Service) waitMember(ctx context.Context, cluster string, m Member, o RebootOptions, step int, start time.Time, inSync bool, report func(Progress)) error {
	ctx, cancel := context.WithTimeout(ctx, o.MaxWait)
	defer cancel()
	phase := PhaseWaiting
	if !inSync {
		phase = PhaseWaitAvailable
	}
	delay := o.MinDelay
	last := m
	timedOut := func(err error) error {
		return fmt.Errorf("wait for instance %q (last seen: status %q, cluster parameters %q, instance parameters %q): %w",
			m.Instance, last.Status, last.ClusterParamStatus, last.InstanceParamStatus, err)
	}
	for {
		if err := sleepCtx(ctx, delay); err != nil {
			return timedOut(err)
		}
		delay = nextDelay(delay, o.MaxDelay)
		cur, err := s.pollMember(ctx, cluster, m.Instance)
		if err != nil {
			if ctx.Err() != nil {
				return timedOut(ctx.Err())
			}
			return fmt.Errorf("wait for instance %q: %w", m.Instance, err)
		}
		last = cur
		p := Progress{Instance: m.Instance, Writer: m.Writer, Phase: phase, Status: cur.Status,
			ClusterParamStatus: cur.ClusterParamStatus, InstanceParamStatus: cur.InstanceParamStatus, Step: step}
		if !start.IsZero() {
			p.Elapsed = time.Since(start)
		}
		ready := cur.Status == StatusAvailable
		if inSync {
			ready = cur.InSync()
		}
		if ready {
			if inSync {
				p.Phase = PhaseDone
			}
			report(p)
			return nil
		}
		report(p)
	}
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

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
