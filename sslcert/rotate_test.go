package sslcert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/google/go-cmp/cmp"
)

// fakeRDS is an in-memory stand-in for the four RDS calls a rotation
// makes, with asynchronous status changes: a modified instance is
// "modifying" for a few polls, then switches its CA and the certificate
// its TLS responder presents. (Rotation against the real emulator is in
// e2e_test.go.)
type fakeRDS struct {
	mu         sync.Mutex
	members    []string
	insts      map[string]*fakeInst
	calls      []string
	failModify map[string]error
	noReload   map[string]bool // the server keeps its old certificate
}

type fakeInst struct {
	id, ca, status, pendingCA string
	writer                    bool
	polls                     int
	srv                       *sslResponder
	leaves                    map[string]*leaf // by CA
}

func newFakeRDS(t *testing.T, ids []string, writer, startCA string) *fakeRDS {
	t.Helper()
	cas := testRDSCAs(t)
	f := &fakeRDS{members: ids, insts: map[string]*fakeInst{}, failModify: map[string]error{}, noReload: map[string]bool{}}
	leaves := map[string]*leaf{}
	for id, ca := range cas {
		leaves[id] = ca.issue(t, []string{"127.0.0.1"}, time.Time{})
	}
	for _, id := range ids {
		fi := &fakeInst{id: id, ca: startCA, status: "available", writer: id == writer, leaves: leaves}
		fi.srv = newSSLResponder(t, leaves[startCA])
		f.insts[id] = fi
	}
	return f
}

func (f *fakeRDS) arn(id string) string { return "arn:aws:rds:test-1:123456789012:db:" + id }

func (f *fakeRDS) DescribeDBClusters(_ context.Context, in *rds.DescribeDBClustersInput, _ ...func(*rds.Options)) (*rds.DescribeDBClustersOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "DescribeDBClusters "+aws.ToString(in.DBClusterIdentifier))
	c := types.DBCluster{DBClusterIdentifier: in.DBClusterIdentifier}
	for _, id := range f.members {
		c.DBClusterMembers = append(c.DBClusterMembers, types.DBClusterMember{
			DBInstanceIdentifier: aws.String(id), IsClusterWriter: aws.Bool(f.insts[id].writer)})
	}
	return &rds.DescribeDBClustersOutput{DBClusters: []types.DBCluster{c}}, nil
}

func (f *fakeRDS) DescribeDBInstances(_ context.Context, in *rds.DescribeDBInstancesInput, _ ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.DBInstanceIdentifier)
	fi, ok := f.insts[id]
	if !ok {
		return nil, &types.DBInstanceNotFoundFault{Message: aws.String(id)}
	}
	d := types.DBInstance{
		DBInstanceIdentifier: aws.String(id), DBInstanceArn: aws.String(f.arn(id)),
		Endpoint: &types.Endpoint{Address: aws.String("127.0.0.1"), Port: aws.Int32(5432)},
	}
	if fi.pendingCA != "" {
		if fi.polls > 0 {
			fi.polls--
			d.PendingModifiedValues = &types.PendingModifiedValues{CACertificateIdentifier: aws.String(fi.pendingCA)}
		} else {
			fi.ca, fi.pendingCA, fi.status = fi.pendingCA, "", "available"
			if !f.noReload[id] {
				fi.srv.setLeaf(fi.leaves[fi.ca])
			}
		}
	}
	d.DBInstanceStatus = aws.String(fi.status)
	d.CACertificateIdentifier = aws.String(fi.ca)
	d.CertificateDetails = &types.CertificateDetails{CAIdentifier: aws.String(fi.ca), ValidTill: aws.Time(fi.leaves[fi.ca].cert.NotAfter)}
	return &rds.DescribeDBInstancesOutput{DBInstances: []types.DBInstance{d}}, nil
}

func (f *fakeRDS) DescribePendingMaintenanceActions(_ context.Context, in *rds.DescribePendingMaintenanceActionsInput, _ ...func(*rds.Options)) (*rds.DescribePendingMaintenanceActionsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &rds.DescribePendingMaintenanceActionsOutput{}
	for _, flt := range in.Filters {
		for _, id := range flt.Values {
			if fi := f.insts[id]; fi != nil && fi.ca == CA2019 {
				out.PendingMaintenanceActions = append(out.PendingMaintenanceActions, types.ResourcePendingMaintenanceActions{
					ResourceIdentifier: aws.String(f.arn(id)),
					PendingMaintenanceActionDetails: []types.PendingMaintenanceAction{{
						Action: aws.String(ActionCARotation), Description: aws.String("Certificate rotation"),
					}},
				})
			}
		}
	}
	return out, nil
}

func (f *fakeRDS) ModifyDBInstance(_ context.Context, in *rds.ModifyDBInstanceInput, _ ...func(*rds.Options)) (*rds.ModifyDBInstanceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.DBInstanceIdentifier)
	f.calls = append(f.calls, fmt.Sprintf("ModifyDBInstance %s ca=%s apply=%v restart=%v", id,
		aws.ToString(in.CACertificateIdentifier), aws.ToBool(in.ApplyImmediately), in.CertificateRotationRestart != nil && *in.CertificateRotationRestart))
	if err := f.failModify[id]; err != nil {
		return nil, err
	}
	fi := f.insts[id]
	fi.pendingCA, fi.polls, fi.status = aws.ToString(in.CACertificateIdentifier), 2, "modifying"
	return &rds.ModifyDBInstanceOutput{}, nil
}

func (f *fakeRDS) modifyCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, "ModifyDBInstance") {
			out = append(out, strings.Fields(c)[1])
		}
	}
	return out
}

func (f *fakeRDS) execOpts(progress *[]string) *ExecuteOptions {
	return &ExecuteOptions{
		PollInterval: 5 * time.Millisecond, MaxPollInterval: 20 * time.Millisecond,
		Restart: aws.Bool(false),
		Address: func(inst Instance) (string, string) {
			return f.insts[inst.ID].srv.addr(), "127.0.0.1"
		},
		Progress: func(p Progress) {
			*progress = append(*progress, fmt.Sprintf("%d/%d %s %s", p.Step, p.Steps, p.Instance, p.Stage))
		},
	}
}

func TestDiscoverAndPlanRotation(t *testing.T) {
	cas := testRDSCAs(t)
	f := newFakeRDS(t, []string{"w", "r1"}, "w", CA2019)
	insts, err := Discover(context.Background(), f, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(insts) != 2 || !insts[0].Writer || insts[1].Writer || insts[0].CAIdentifier != CA2019 ||
		insts[0].Address != "127.0.0.1" || insts[0].Port != 5432 || insts[0].ServerCertValidTill.IsZero() {
		t.Fatalf("Discover = %+v", insts)
	}
	for _, inst := range insts {
		if a, ok := inst.PendingCARotation(); !ok || a.Description != "Certificate rotation" {
			t.Errorf("%s: pending actions %+v", inst.ID, inst.PendingActions)
		}
	}
	_, err = PlanRotation(context.Background(), f, "c1", CAECC384G1, &PlanOptions{TrustStore: storeOf(t, cas[CA2019])})
	if !errors.Is(err, ErrUnsafePlan) {
		t.Errorf("plan with the old CA only: %v, want ErrUnsafePlan", err)
	}
	if _, err := Discover(context.Background(), f, ""); err == nil {
		t.Error("Discover with an empty cluster ID succeeded")
	}
}

func TestExecute(t *testing.T) {
	cas := testRDSCAs(t)
	merged := storeOf(t, cas[CA2019], cas[CAECC384G1])
	f := newFakeRDS(t, []string{"w", "r2", "r1"}, "w", CA2019)
	ctx := context.Background()
	plan, err := PlanRotation(ctx, f, "c1", CAECC384G1, &PlanOptions{TrustStore: merged})
	if err != nil {
		t.Fatal(err)
	}
	var progress []string
	res, err := Execute(ctx, f, plan, f.execOpts(&progress))
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if diff := cmp.Diff([]string{"r1", "r2", "w"}, f.modifyCalls()); diff != "" {
		t.Errorf("ModifyDBInstance order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"r1", "r2", "w"}, res.Rotated); diff != "" {
		t.Errorf("Rotated (-want +got):\n%s", diff)
	}
	for _, id := range res.Rotated {
		c := res.Checks[id]
		if c == nil || !c.Verified || c.CAIdentifier != CAECC384G1 {
			t.Errorf("%s: check %+v", id, c)
		}
	}
	var wantProgress []string
	for i, id := range []string{"r1", "r2", "w"} {
		for _, st := range []Stage{StageWaitAvailable, StageModify, StageApply, StageVerify, StageDone} {
			wantProgress = append(wantProgress, fmt.Sprintf("%d/3 %s %s", i+1, id, st))
		}
	}
	if diff := cmp.Diff(wantProgress, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if !slicesContainsPrefix(f.calls, "ModifyDBInstance w ca=rds-ca-ecc384-g1 apply=true restart=false") {
		t.Errorf("ModifyDBInstance arguments: %q", f.calls)
	}

	// Planning again finds nothing to do.
	again, err := PlanRotation(ctx, f, "c1", CAECC384G1, &PlanOptions{TrustStore: merged})
	if err != nil || len(again.Steps()) != 0 {
		t.Fatalf("second plan: %v, steps %v", err, again.Steps())
	}
	res, err = Execute(ctx, f, again, f.execOpts(&progress))
	if err != nil || len(res.Rotated) != 0 {
		t.Errorf("second execute: %v, rotated %v", err, res.Rotated)
	}
}

func slicesContainsPrefix(ss []string, p string) bool {
	for _, s := range ss {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func TestExecuteFailureAndResume(t *testing.T) {
	cas := testRDSCAs(t)
	merged := storeOf(t, cas[CA2019], cas[CAECC384G1])
	f := newFakeRDS(t, []string{"w", "r1", "r2"}, "w", CA2019)
	ctx := context.Background()
	plan, err := PlanRotation(ctx, f, "c1", CAECC384G1, &PlanOptions{TrustStore: merged})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("InvalidDBInstanceState")
	f.failModify["r2"] = boom
	var progress []string
	res, err := Execute(ctx, f, plan, f.execOpts(&progress))
	var re *RotationError
	if !errors.As(err, &re) || !errors.Is(err, boom) {
		t.Fatalf("Execute error = %v, want a *RotationError wrapping the cause", err)
	}
	got := []any{re.Instance, re.Stage, re.Modified, re.Rotated, re.NotRotated, res.Rotated}
	want := []any{"r2", StageModify, false, []string{"r1"}, []string{"w"}, []string{"r1"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failure report (-want +got):\n%s", diff)
	}
	if !strings.Contains(err.Error(), "rotated: [r1]; not rotated: [w]") {
		t.Errorf("error text %q does not list the instances", err)
	}

	// Running the same plan again resumes: r1 is already current.
	delete(f.failModify, "r2")
	res, err = Execute(ctx, f, plan, f.execOpts(&progress))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{[]string{"r1"}, []string{"r2", "w"}}, []any{res.AlreadyCurrent, res.Rotated}); diff != "" {
		t.Errorf("resume (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"r1", "r2", "r2", "w"}, f.modifyCalls()); diff != "" {
		t.Errorf("ModifyDBInstance calls (-want +got):\n%s", diff)
	}
}

func TestExecuteVerifyFailure(t *testing.T) {
	cas := testRDSCAs(t)
	merged := storeOf(t, cas[CA2019], cas[CAECC384G1])
	f := newFakeRDS(t, []string{"w", "r1"}, "w", CA2019)
	f.noReload["r1"] = true // RDS says rotated, the server still shows the old certificate
	ctx := context.Background()
	plan, err := PlanRotation(ctx, f, "c1", CAECC384G1, &PlanOptions{TrustStore: merged})
	if err != nil {
		t.Fatal(err)
	}
	var progress []string
	opts := f.execOpts(&progress)
	opts.InstanceTimeout = 500 * time.Millisecond
	_, err = Execute(ctx, f, plan, opts)
	var re *RotationError
	if !errors.As(err, &re) || re.Instance != "r1" || re.Stage != StageVerify || !re.Modified || len(re.Rotated) != 0 {
		t.Fatalf("error = %v, want r1 failing at verify after modification", err)
	}
	if !strings.Contains(err.Error(), "issued by rds-ca-2019, want rds-ca-ecc384-g1") {
		t.Errorf("error %q does not say which CA the server showed", err)
	}
	if diff := cmp.Diff([]string{"r1"}, f.modifyCalls()); diff != "" {
		t.Errorf("the writer was modified after a failure (-want +got):\n%s", diff)
	}
}

func TestExecuteRefusesUnsafePlan(t *testing.T) {
	cas := testRDSCAs(t)
	f := newFakeRDS(t, []string{"w"}, "w", CA2019)
	plan, err := PlanRotation(context.Background(), f, "c1", CAECC384G1, &PlanOptions{TrustStore: storeOf(t, cas[CA2019])})
	if !errors.Is(err, ErrUnsafePlan) || plan == nil {
		t.Fatalf("plan: %v", err)
	}
	if _, err := Execute(context.Background(), f, plan, nil); !errors.Is(err, ErrUnsafePlan) {
		t.Errorf("Execute of an unsafe plan: %v, want ErrUnsafePlan", err)
	}
	if len(f.modifyCalls()) != 0 {
		t.Error("ModifyDBInstance was called for an unsafe plan")
	}
	if _, err := Execute(context.Background(), f, nil, nil); err == nil {
		t.Error("Execute(nil plan) succeeded")
	}

	// Forced, without verification: the rotation runs.
	plan, err = PlanRotation(context.Background(), f, "c1", CAECC384G1, &PlanOptions{TrustStore: storeOf(t, cas[CA2019]), Force: true})
	if err != nil || !plan.Forced {
		t.Fatalf("forced plan: %v", err)
	}
	var progress []string
	opts := f.execOpts(&progress)
	opts.SkipVerify = true
	res, err := Execute(context.Background(), f, plan, opts)
	if err != nil || len(res.Rotated) != 1 || len(res.Checks) != 0 {
		t.Errorf("forced execute: %v, %+v", err, res)
	}
}

func TestExecuteContext(t *testing.T) {
	cas := testRDSCAs(t)
	f := newFakeRDS(t, []string{"w"}, "w", CA2019)
	f.insts["w"].status = "rebooting" // never becomes available
	plan, err := PlanRotation(context.Background(), f, "c1", CAECC384G1, &PlanOptions{TrustStore: storeOf(t, cas[CA2019], cas[CAECC384G1])})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var progress []string
	_, err = Execute(ctx, f, plan, f.execOpts(&progress))
	var re *RotationError
	if !errors.As(err, &re) || re.Stage != StageWaitAvailable || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want a wait-available failure with DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), `last status "rebooting"`) {
		t.Errorf("error %q does not give the last status", err)
	}
}
