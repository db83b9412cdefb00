package sslcert

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/internal/rdsread"
	"github.com/pgaurora/pgaurora/internal/wait"
)

// ReadAPI is the part of the RDS API that Discover calls. *rds.Client
// satisfies it.
type ReadAPI interface {
	DescribeDBClusters(ctx context.Context, in *rds.DescribeDBClustersInput, optFns ...func(*rds.Options)) (*rds.DescribeDBClustersOutput, error)
	DescribeDBInstances(ctx context.Context, in *rds.DescribeDBInstancesInput, optFns ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
	DescribePendingMaintenanceActions(ctx context.Context, in *rds.DescribePendingMaintenanceActionsInput, optFns ...func(*rds.Options)) (*rds.DescribePendingMaintenanceActionsOutput, error)
}

// RotationAPI is the part of the RDS API that a CA rotation calls.
// *rds.Client satisfies it.
type RotationAPI interface {
	ReadAPI
	ModifyDBInstance(ctx context.Context, in *rds.ModifyDBInstanceInput, optFns ...func(*rds.Options)) (*rds.ModifyDBInstanceOutput, error)
}

var _ RotationAPI = (*rds.Client)(nil)

// Discover reads a cluster's members with their current CA, server
// certificate expiry, status, endpoint and pending maintenance actions:
// DescribeDBClusters, DescribeDBInstances filtered on the cluster, then
// DescribePendingMaintenanceActions filtered on the members.
func Discover(ctx context.Context, api ReadAPI, clusterID string) ([]Instance, error) {
	if clusterID == "" {
		return nil, errors.New("sslcert: discover cluster: clusterID is empty")
	}
	c, err := rdsread.Cluster(ctx, api, clusterID)
	if err != nil {
		return nil, fmt.Errorf("sslcert: discover: %w", err)
	}
	members, err := rdsread.Members(ctx, api, c)
	if err != nil {
		return nil, fmt.Errorf("sslcert: discover: %w", err)
	}
	insts := make([]Instance, len(members))
	for i, m := range members {
		insts[i] = Instance{Instance: m}
	}
	if len(insts) == 0 {
		return insts, nil
	}
	ids := make([]string, len(insts))
	for i, inst := range insts {
		ids[i] = inst.ID
	}
	p := rds.NewDescribePendingMaintenanceActionsPaginator(api, &rds.DescribePendingMaintenanceActionsInput{
		Filters: []types.Filter{{Name: aws.String("db-instance-id"), Values: ids}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("sslcert: discover cluster %q: DescribePendingMaintenanceActions: %w", clusterID, err)
		}
		for _, r := range page.PendingMaintenanceActions {
			arn := aws.ToString(r.ResourceIdentifier)
			for i := range insts {
				if !matchesARN(insts[i], arn) {
					continue
				}
				for _, a := range r.PendingMaintenanceActionDetails {
					insts[i].PendingActions = append(insts[i].PendingActions, MaintenanceAction{
						Action:           aws.ToString(a.Action),
						Description:      aws.ToString(a.Description),
						OptInStatus:      aws.ToString(a.OptInStatus),
						AutoAppliedAfter: aws.ToTime(a.AutoAppliedAfterDate),
						ForcedApply:      aws.ToTime(a.ForcedApplyDate),
						CurrentApply:     aws.ToTime(a.CurrentApplyDate),
					})
				}
			}
		}
	}
	return insts, nil
}

// matchesARN matches a maintenance action's resource ARN to an instance:
// by its ARN, or by the ":db:<id>" suffix when the ARN is not known.
func matchesARN(inst Instance, arn string) bool {
	if arn == "" {
		return false
	}
	if inst.ARN != "" {
		return arn == inst.ARN
	}
	return strings.HasSuffix(arn, ":db:"+inst.ID) || arn == inst.ID
}

// PlanOptions configures PlanRotation.
type PlanOptions struct {
	// TrustStore, Catalog, Force and ExpiryWarning are as in PlanInput.
	TrustStore    *TrustStore
	Catalog       *Catalog
	Force         bool
	ExpiryWarning time.Duration
}

// PlanRotation discovers the cluster (Discover) and plans its rotation to
// targetCA (NewPlan). Its errors are NewPlan's, including the plan plus
// *UnsafePlanError for a trust store that would not survive.
func PlanRotation(ctx context.Context, api ReadAPI, clusterID, targetCA string, opts *PlanOptions) (*Plan, error) {
	if opts == nil {
		opts = &PlanOptions{}
	}
	insts, err := Discover(ctx, api, clusterID)
	if err != nil {
		return nil, err
	}
	return NewPlan(PlanInput{
		ClusterID:     clusterID,
		Instances:     insts,
		TargetCA:      targetCA,
		TrustStore:    opts.TrustStore,
		Catalog:       opts.Catalog,
		Force:         opts.Force,
		ExpiryWarning: opts.ExpiryWarning,
	})
}

// Stage is a step of one instance's rotation.
type Stage string

// The stages reported through ExecuteOptions.Progress, in order.
const (
	// StageWaitAvailable waits for the instance to be available before
	// modifying it.
	StageWaitAvailable Stage = "wait-available"
	// StageModify calls ModifyDBInstance.
	StageModify Stage = "modify"
	// StageApply waits for the instance to report the new CA and be
	// available again.
	StageApply Stage = "apply"
	// StageVerify checks the server's TLS certificate.
	StageVerify Stage = "verify"
	// StageDone means the instance is rotated and verified.
	StageDone Stage = "done"
	// StageAlreadyCurrent means the instance already used the target CA
	// when the execution reached it; it was not modified.
	StageAlreadyCurrent Stage = "already-current"
)

// ExecuteOptions configures Execute. The zero value is usable.
type ExecuteOptions struct {
	// Restart is CertificateRotationRestart. Nil leaves it unset, and RDS
	// then restarts the instance to load the new certificate; false asks
	// RDS to rotate without a restart where the engine supports it.
	Restart *bool
	// Progress, when set, receives an event at each stage of each
	// instance: Operation "sslcert.Execute", Step the Stage, Resource the
	// instance, Status its last status, Detail its role, Done and Total
	// the instances rotated and to rotate.
	Progress pgaurora.ProgressFunc
	// Wait says how the waits for each instance poll; its MaxWait bounds
	// each instance's whole rotation (waits and verification). Zero fields
	// mean 2s, 30s and 30 minutes. The context bounds the whole.
	Wait pgaurora.Wait
	// SkipVerify skips the server check after each instance (for callers
	// that cannot reach the instances' endpoints).
	SkipVerify bool
	// TrustStore is what the server check verifies against; nil means the
	// plan's trust store.
	TrustStore *TrustStore
	// Address maps an instance to the host:port the server check dials
	// and the name its certificate must carry; nil means the instance
	// endpoint for both.
	Address func(Instance) (addr, serverName string)
	// DialContext is passed to CheckServer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Result reports what Execute did.
type Result struct {
	// ClusterID and TargetCA identify the rotation.
	ClusterID, TargetCA string
	// Rotated are the instances this execution modified and confirmed on
	// the target CA, in order.
	Rotated []string
	// AlreadyCurrent are the plan's instances found on the target CA
	// when the execution reached them; they were not modified.
	AlreadyCurrent []string
	// Checks are the server checks made after each instance, by ID.
	Checks map[string]*ServerCheck
}

// RotationError is a rotation that stopped part way.
type RotationError struct {
	// ClusterID and TargetCA identify the rotation.
	ClusterID, TargetCA string
	// Instance failed at Stage.
	Instance string
	Stage    Stage
	// Modified says ModifyDBInstance was accepted for Instance, so it may
	// be on the target CA or on its way there.
	Modified bool
	// Rotated are the instances rotated and confirmed before the failure;
	// NotRotated are the plan's instances that were not reached.
	Rotated, NotRotated []string
	// Err is the cause.
	Err error
}

func (e *RotationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sslcert: rotate cluster %q to %s: instance %s failed at %s", e.ClusterID, e.TargetCA, e.Instance, e.Stage)
	if e.Modified {
		b.WriteString(" (after ModifyDBInstance was accepted)")
	}
	fmt.Fprintf(&b, ": %v; rotated: [%s]; not rotated: [%s]", e.Err, strings.Join(e.Rotated, ", "), strings.Join(e.NotRotated, ", "))
	return b.String()
}

// Unwrap returns the cause.
func (e *RotationError) Unwrap() error { return e.Err }

// failedStatuses are instance statuses from which a rotation does not
// proceed without intervention.
var failedStatuses = []string{
	"failed", "incompatible-network", "incompatible-option-group", "incompatible-parameters",
	"incompatible-restore", "inaccessible-encryption-credentials", "restore-error", "storage-full",
	"stopped", "stopping", "deleting",
}

// Execute carries out a plan: for each instance to rotate, readers first
// and the writer last, it waits for the instance to be available, calls
// ModifyDBInstance with CACertificateIdentifier, ApplyImmediately and (if
// set) CertificateRotationRestart, waits until the instance reports the
// target CA and is available again, and checks with CheckServer that the
// server presents a certificate from the target CA that verifies against
// the trust store with hostname verification (the check is retried until
// the instance timeout while the server may still be loading the new
// certificate; when the catalog cannot name the issuer, a chain that
// verifies is accepted). Instances that already use
// the target CA when reached are skipped, so running a plan again after a
// failure resumes it.
//
// A plan with problems is refused unless it was made with Force. The first
// failure stops the rotation: the error is a *RotationError saying which
// instance failed at which stage and which instances were rotated, and the
// Result holds the same facts. The context bounds the whole execution.
func Execute(ctx context.Context, api RotationAPI, plan *Plan, opts *ExecuteOptions) (*Result, error) {
	if plan == nil {
		return nil, errors.New("sslcert: execute CA rotation: plan is nil")
	}
	if !plan.Safe() && !plan.Forced {
		return nil, &UnsafePlanError{ClusterID: plan.ClusterID, TargetCA: plan.TargetCA, Problems: slices.Clone(plan.Problems)}
	}
	if opts == nil {
		opts = &ExecuteOptions{}
	}
	e := &executor{api: api, plan: plan, opts: *opts}
	e.defaults()
	res := &Result{ClusterID: plan.ClusterID, TargetCA: plan.TargetCA, Checks: map[string]*ServerCheck{}}
	steps := plan.Steps()
	var rotatedInsts []InstancePlan
	for _, ip := range plan.Instances {
		if ip.Rotate {
			rotatedInsts = append(rotatedInsts, ip)
		}
	}
	for i, ip := range rotatedInsts {
		stage, modified, already, check, err := e.rotateOne(ctx, ip, i+1, len(steps))
		if check != nil {
			res.Checks[ip.ID] = check
		}
		if err != nil {
			return res, &RotationError{
				ClusterID: plan.ClusterID, TargetCA: plan.TargetCA,
				Instance: ip.ID, Stage: stage, Modified: modified,
				Rotated: slices.Clone(res.Rotated), NotRotated: slices.Clone(steps[i+1:]),
				Err: err,
			}
		}
		if already {
			res.AlreadyCurrent = append(res.AlreadyCurrent, ip.ID)
		} else {
			res.Rotated = append(res.Rotated, ip.ID)
		}
	}
	return res, nil
}

type executor struct {
	api  RotationAPI
	plan *Plan
	opts ExecuteOptions
}

func (e *executor) defaults() {
	e.opts.Wait = e.opts.Wait.Or(wait.RDS)
	if e.opts.TrustStore == nil {
		e.opts.TrustStore = e.plan.TrustStore
	}
}

// rotateOne rotates one instance and returns the stage reached, whether
// ModifyDBInstance was accepted, whether the instance was already on the
// target, the server check and any error.
func (e *executor) rotateOne(ctx context.Context, ip InstancePlan, step, steps int) (Stage, bool, bool, *ServerCheck, error) {
	ctx, cancel := context.WithTimeout(ctx, e.opts.Wait.MaxWait)
	defer cancel()
	target := e.plan.TargetCA
	role := "reader"
	if ip.Writer {
		role = "writer"
	}
	start := time.Now()
	status := ""
	report := func(stage Stage, completed bool) {
		ev := pgaurora.Event{Operation: "sslcert.Execute", Step: string(stage), Resource: ip.ID, Status: status, Detail: role,
			Done: step - 1, Total: steps, Elapsed: time.Since(start)}
		if completed {
			ev.Done, ev.Completed, ev.Changed = step, true, stage == StageDone
		}
		e.opts.Progress.Report(ev)
	}

	report(StageWaitAvailable, false)
	inst, err := e.waitFor(ctx, ip.ID, func(inst Instance, d types.DBInstance) bool {
		return inst.Status == "available"
	})
	if err != nil {
		return StageWaitAvailable, false, false, nil, err
	}
	status = inst.Status
	already := inst.CACertificate == target
	modified := false
	if !already {
		report(StageModify, false)
		_, err := e.api.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{
			DBInstanceIdentifier:       aws.String(ip.ID),
			CACertificateIdentifier:    aws.String(target),
			ApplyImmediately:           aws.Bool(true),
			CertificateRotationRestart: e.opts.Restart,
		})
		if err != nil {
			return StageModify, false, false, nil, fmt.Errorf("ModifyDBInstance: %w", err)
		}
		modified = true
		report(StageApply, false)
		inst, err = e.waitFor(ctx, ip.ID, func(inst Instance, d types.DBInstance) bool {
			pending := d.PendingModifiedValues != nil && d.PendingModifiedValues.CACertificateIdentifier != nil
			return inst.Status == "available" && inst.CACertificate == target && !pending
		})
		if err != nil {
			return StageApply, modified, false, nil, err
		}
		status = inst.Status
	}

	var check *ServerCheck
	if !e.opts.SkipVerify {
		report(StageVerify, false)
		check, err = e.verify(ctx, inst)
		if err != nil {
			return StageVerify, modified, already, check, err
		}
	}
	stage := StageDone
	if already {
		stage = StageAlreadyCurrent
	}
	report(stage, true)
	return stage, modified, already, check, nil
}

// waitFor polls DescribeDBInstances until done returns true, a failed
// status is seen, or ctx ends.
func (e *executor) waitFor(ctx context.Context, id string, done func(Instance, types.DBInstance) bool) (Instance, error) {
	var last Instance
	err := wait.Until(ctx, e.opts.Wait, wait.RDS, func(ctx context.Context) (bool, error) {
		out, err := e.api.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
		if err != nil {
			return false, fmt.Errorf("DescribeDBInstances %s: %w", id, err)
		}
		if len(out.DBInstances) == 0 {
			return false, fmt.Errorf("DescribeDBInstances %s: no instance returned", id)
		}
		d := out.DBInstances[0]
		last = Instance{Instance: rdsread.FromDB(d, nil)}
		if done(last, d) {
			return true, nil
		}
		if slices.Contains(failedStatuses, last.Status) {
			return false, fmt.Errorf("instance %s is %s", id, last.Status)
		}
		return false, nil
	})
	if err != nil && (ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)) {
		return last, fmt.Errorf("waiting for %s (last status %q, CA %q): %w", id, last.Status, last.CACertificate, err)
	}
	return last, err
}

// verify checks the instance's TLS certificate until it comes from the
// target CA and verifies, retrying while the server may still be loading
// the new certificate, until ctx ends.
func (e *executor) verify(ctx context.Context, inst Instance) (*ServerCheck, error) {
	addr, serverName := "", ""
	if e.opts.Address != nil {
		addr, serverName = e.opts.Address(inst)
	} else if inst.Address != "" && inst.Port != 0 {
		addr, serverName = net.JoinHostPort(inst.Address, strconv.Itoa(inst.Port)), inst.Address
	}
	if addr == "" {
		return nil, fmt.Errorf("server check of %s: the instance has no endpoint (set ExecuteOptions.Address or SkipVerify)", inst.ID)
	}
	target := e.plan.TargetCA
	cat := e.plan.Catalog
	var problem error
	var last *ServerCheck
	poll := pgaurora.Wait{MinDelay: min(e.opts.Wait.MinDelay, time.Second), MaxDelay: e.opts.Wait.MaxDelay}
	err := wait.Until(ctx, poll, poll, func(ctx context.Context) (bool, error) {
		check, err := CheckServer(ctx, addr, &CheckOptions{
			TrustStore:  e.opts.TrustStore,
			ServerName:  serverName,
			Catalog:     cat,
			Timeout:     10 * time.Second,
			DialContext: e.opts.DialContext,
		})
		switch {
		case err != nil && problem != nil && interrupted(ctx, err) != nil:
			// Interrupted: report what was wrong before.
			return false, fmt.Errorf("%w (gave up: %w)", problem, interrupted(ctx, err))
		case err != nil:
			problem = err
		case check.CAIdentifier != "" && check.CAIdentifier != target:
			last = check
			problem = fmt.Errorf("server check of %s (%s): certificate issued by %s, want %s", inst.ID, addr, check.CAIdentifier, target)
		case !check.Verified && !errors.Is(check.VerifyError, ErrNoTrustStore):
			last = check
			problem = fmt.Errorf("server check of %s (%s): %w", inst.ID, addr, check.VerifyError)
		default:
			last, problem = check, nil
			return true, nil
		}
		return false, nil
	})
	switch {
	case err == nil:
		return last, nil
	case problem == nil, errors.Is(err, problem):
		return last, err
	case errors.Is(problem, err):
		return last, problem
	}
	return last, fmt.Errorf("%w (gave up: %w)", problem, err)
}

// interrupted returns why ctx ended when err is the end of ctx, or nil.
// That includes the moment before ctx reports its deadline: CheckServer's
// connection deadline is ctx's and can fire first, and CheckServer then
// says DeadlineExceeded.
func interrupted(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if dl, ok := ctx.Deadline(); ok && errors.Is(err, context.DeadlineExceeded) && time.Until(dl) < 50*time.Millisecond {
		return context.DeadlineExceeded
	}
	return nil
}
