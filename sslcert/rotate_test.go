package sslcert

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/google/go-cmp/cmp"

	"github.com/pgaurora/pgaurora"
	"github.com/pgaurora/pgaurora/aurora/auroratest"
)

// The rotation tests drive Discover, PlanRotation and Execute through the
// real aws-sdk-go-v2 RDS client against one Aurora emulator
// (aurora/auroratest) shared by the subtests of TestRotation. Each subtest
// that changes a cluster has a cluster of its own, so they run in
// parallel; faults come from the emulator's hooks.

// rotationClusters are the clusters of the shared emulator, by subtest.
// Instance IDs are "<cluster>-instance-N", the first being the writer.
// All but rotate-e2e start on rds-ca-2019, the soon-expiring CA.
var rotationClusters = map[string]auroratest.ClusterConfig{
	"verify":     {Instances: 2, CACertificateIdentifier: CA2019}, // DiscoverAndPlan (read only, first), VerifyFailure
	"exec":       {Instances: 3, CACertificateIdentifier: CA2019}, // Execute
	"resume":     {Instances: 3, CACertificateIdentifier: CA2019}, // FailureAndResume
	"applyfail":  {Instances: 1, CACertificateIdentifier: CA2019}, // ApplyFailure
	"unsafe":     {Instances: 1, CACertificateIdentifier: CA2019}, // RefusesUnsafePlan
	"cancel":     {Instances: 1, CACertificateIdentifier: CA2019}, // Context
	"rotate-e2e": {Instances: 3},                                  // EndToEnd (e2e_test.go)
}

// rotationEnv is what the subtests share: the emulator, the catalog it
// reports through DescribeCertificates, and trust stores built from its CA
// certificates.
type rotationEnv struct {
	emu *auroratest.Emulator
	cat *Catalog
	// oldOnly trusts rds-ca-2019 alone, newOnly rds-ca-ecc384-g1 alone;
	// merged trusts both.
	oldOnly, newOnly, merged *TrustStore
}

// TestRotation starts the shared emulator and runs the rotation tests on
// it. DiscoverAndPlan only reads, and runs before the others start.
func TestRotation(t *testing.T) {
	opts := []auroratest.Option{auroratest.WithTransitionDelay(100 * time.Millisecond)}
	for id, cfg := range rotationClusters {
		opts = append(opts, auroratest.WithCluster(id, cfg))
	}
	emu := auroratest.NewT(t, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cat, err := RefreshCatalog(ctx, rds.NewFromConfig(emu.AWSConfig()))
	if err != nil {
		t.Fatal(err)
	}
	env := &rotationEnv{emu: emu, cat: cat}
	env.oldOnly = env.store(t, CA2019)
	env.newOnly = env.store(t, CAECC384G1)
	env.merged = env.oldOnly.Merge(env.newOnly)

	t.Run("DiscoverAndPlan", func(t *testing.T) { testDiscoverAndPlan(t, env) })
	for _, st := range []struct {
		name string
		test func(*testing.T, *rotationEnv)
	}{
		{"Execute", testExecute},
		{"FailureAndResume", testFailureAndResume},
		{"ApplyFailure", testApplyFailure},
		{"VerifyFailure", testVerifyFailure},
		{"RefusesUnsafePlan", testRefusesUnsafePlan},
		{"Context", testExecuteContext},
		{"EndToEnd", testRotateEndToEnd},
	} {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			st.test(t, env)
		})
	}
}

// store is a trust store of the emulator's certificates of the given CAs,
// naming them with the emulator's catalog.
func (env *rotationEnv) store(t *testing.T, ids ...string) *TrustStore {
	t.Helper()
	var b []byte
	for _, id := range ids {
		pem := env.emu.CACertificatePEM(id)
		if pem == nil {
			t.Fatalf("the emulator has no CA %s", id)
		}
		b = append(b, pem...)
	}
	s, err := ParsePEM(b)
	if err != nil {
		t.Fatal(err)
	}
	s = s.WithCatalog(env.cat)
	for _, id := range ids {
		if len(s.CertificatesForCA(id)) != 1 {
			t.Fatalf("the catalog does not identify the emulator's %s certificate: %+v", id, s.List())
		}
	}
	return s
}

// client returns an RDS client for the emulator whose ModifyDBInstance
// requests are recorded as they go on the wire.
func (env *rotationEnv) client() (*rds.Client, *callLog) {
	cfg := env.emu.AWSConfig()
	log := &callLog{next: awshttp.NewBuildableClient()}
	cfg.HTTPClient = log
	return rds.NewFromConfig(cfg), log
}

// callLog is an aws.HTTPClient that records the ModifyDBInstance requests
// passing through it, as "<instance> ca=<CA> apply=<ApplyImmediately>
// restart=<CertificateRotationRestart or unset>".
type callLog struct {
	next  aws.HTTPClient
	mu    sync.Mutex
	calls []string
}

func (l *callLog) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		form, err := url.ParseQuery(string(body))
		if err == nil && form.Get("Action") == "ModifyDBInstance" {
			restart := "unset"
			if form.Has("CertificateRotationRestart") {
				restart = form.Get("CertificateRotationRestart")
			}
			l.mu.Lock()
			l.calls = append(l.calls, fmt.Sprintf("%s ca=%s apply=%s restart=%s", form.Get("DBInstanceIdentifier"),
				form.Get("CACertificateIdentifier"), form.Get("ApplyImmediately"), restart))
			l.mu.Unlock()
		}
	}
	return l.next.Do(req)
}

// modified returns the instances of the recorded ModifyDBInstance calls,
// in order.
func (l *callLog) modified() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for _, c := range l.calls {
		ids = append(ids, strings.Fields(c)[0])
	}
	return ids
}

func (l *callLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

func instanceID(cluster string, n int) string { return fmt.Sprintf("%s-instance-%d", cluster, n) }

// execOpts polls quickly and records progress as "step/steps instance
// stage".
func execOpts(progress *[]string) *ExecuteOptions {
	return &ExecuteOptions{
		Wait: pgaurora.Wait{MinDelay: 50 * time.Millisecond, MaxDelay: 250 * time.Millisecond, MaxWait: time.Minute},
		Progress: func(e pgaurora.Event) {
			*progress = append(*progress, position(e))
		},
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// waitAvailable waits with the SDK's waiter for an instance to be
// available.
func waitAvailable(ctx context.Context, t *testing.T, api *rds.Client, id string) {
	t.Helper()
	w := rds.NewDBInstanceAvailableWaiter(api, func(o *rds.DBInstanceAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 500*time.Millisecond
	})
	if err := w.Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)}, time.Minute); err != nil {
		t.Fatalf("waiting for %s to be available: %v", id, err)
	}
}

// cas returns "<id>=<CA>" for each instance RDS reports, in order.
func cas(ctx context.Context, t *testing.T, api *rds.Client, clusterID string) []string {
	t.Helper()
	insts, err := Discover(ctx, api, clusterID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, inst := range insts {
		out = append(out, inst.ID+"="+inst.CACertificate)
	}
	return out
}

func endpoint(inst Instance) string {
	return net.JoinHostPort(inst.Address, strconv.Itoa(int(inst.Port)))
}

// testDiscoverAndPlan reads the verify cluster before VerifyFailure
// changes it.
func testDiscoverAndPlan(t *testing.T, env *rotationEnv) {
	const cluster = "verify"
	ctx := testContext(t)
	api, log := env.client()
	w, r := instanceID(cluster, 1), instanceID(cluster, 2)
	oldCA, _ := env.cat.Lookup(CA2019)

	insts, err := Discover(ctx, api, cluster)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, inst := range insts {
		got = append(got, fmt.Sprintf("%s writer=%v %s %s", inst.ID, inst.Writer, inst.Status, inst.CACertificate))
	}
	want := []string{w + " writer=true available " + CA2019, r + " writer=false available " + CA2019}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Discover (-want +got):\n%s", diff)
	}
	for _, inst := range insts {
		if !strings.HasSuffix(inst.ARN, ":db:"+inst.ID) {
			t.Errorf("%s: ARN %q", inst.ID, inst.ARN)
		}
		// The server certificate is capped at its CA's expiry.
		if d := inst.CertificateValidTill.Sub(oldCA.ValidTill); d < -time.Second || d > time.Second {
			t.Errorf("%s: server certificate valid till %v, want the CA's expiry %v", inst.ID, inst.CertificateValidTill, oldCA.ValidTill)
		}
		// The CA expires within the rotation window: RDS schedules the
		// rotation, forced at the CA's expiry.
		a, ok := inst.PendingCARotation()
		if !ok || a.Description != "Certificate rotation" || !a.ForcedApply.Equal(inst.CertificateValidTill.Truncate(time.Second)) ||
			!a.AutoAppliedAfter.Equal(a.ForcedApply.Add(-7*24*time.Hour)) {
			t.Errorf("%s: pending actions %+v", inst.ID, inst.PendingActions)
		}
		// The endpoint Discover reports is the server, presenting a
		// certificate from the reported CA.
		c, err := CheckServer(ctx, endpoint(inst), &CheckOptions{TrustStore: env.oldOnly, Catalog: env.cat})
		if err != nil || !c.Verified || c.CAIdentifier != CA2019 {
			t.Errorf("%s: check of %s: %v, %+v", inst.ID, endpoint(inst), err, c)
		}
	}

	plan, err := PlanRotation(ctx, api, cluster, CAECC384G1, &PlanOptions{TrustStore: env.oldOnly, Catalog: env.cat})
	if !errors.Is(err, ErrUnsafePlan) || plan == nil || plan.Safe() {
		t.Errorf("plan with the old CA only: %v, want ErrUnsafePlan with the plan", err)
	}
	plan, err = PlanRotation(ctx, api, cluster, CAECC384G1, &PlanOptions{TrustStore: env.merged, Catalog: env.cat})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{r, w}, plan.Steps()); diff != "" {
		t.Errorf("steps: the reader first, the writer last (-want +got):\n%s", diff)
	}
	if len(log.all()) != 0 {
		t.Errorf("planning modified instances: %q", log.all())
	}

	if _, err := Discover(ctx, api, ""); err == nil {
		t.Error("Discover with an empty cluster ID succeeded")
	}
	_, err = Discover(ctx, api, "no-such-cluster")
	var nf *types.DBClusterNotFoundFault
	if !errors.As(err, &nf) || !errors.Is(err, pgaurora.ErrClusterNotFound) || !strings.Contains(err.Error(), "cluster no-such-cluster") {
		t.Errorf("Discover of an unknown cluster: %v, want ErrClusterNotFound and a DBClusterNotFoundFault naming it", err)
	}
}

func testExecute(t *testing.T, env *rotationEnv) {
	const cluster = "exec"
	ctx := testContext(t)
	api, log := env.client()
	order := []string{instanceID(cluster, 2), instanceID(cluster, 3), instanceID(cluster, 1)}

	plan, err := PlanRotation(ctx, api, cluster, CAECC384G1, &PlanOptions{TrustStore: env.merged, Catalog: env.cat})
	if err != nil {
		t.Fatal(err)
	}
	var progress []string
	opts := execOpts(&progress)
	opts.Restart = aws.Bool(false)
	res, err := Execute(ctx, api, plan, opts)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	var wantCalls, wantProgress []string
	for i, id := range order {
		wantCalls = append(wantCalls, id+" ca=rds-ca-ecc384-g1 apply=true restart=false")
		for _, st := range []Stage{StageWaitAvailable, StageModify, StageApply, StageVerify, StageDone} {
			wantProgress = append(wantProgress, fmt.Sprintf("%d/3 %s %s", i+1, id, st))
		}
	}
	if diff := cmp.Diff(wantCalls, log.all()); diff != "" {
		t.Errorf("ModifyDBInstance calls: readers first, the writer last (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(order, res.Rotated); diff != "" {
		t.Errorf("Rotated (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantProgress, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	// RDS agrees, and schedules no rotation any more.
	insts, err := Discover(ctx, api, cluster)
	if err != nil {
		t.Fatal(err)
	}
	// Each instance's certificate was verified for the instance's own
	// address (every emulated instance has a loopback address of its own).
	address := map[string]string{}
	for _, inst := range insts {
		address[inst.ID] = inst.Address
	}
	for _, id := range order {
		c := res.Checks[id]
		if c == nil {
			t.Errorf("%s: no check", id)
			continue
		}
		if !c.Verified || c.CAIdentifier != CAECC384G1 || address[id] == "" || c.ServerName != address[id] {
			t.Errorf("%s: check of the server at %q: verified %v, CA %q, server name %q", id, address[id],
				c.Verified, c.CAIdentifier, c.ServerName)
		}
	}
	for _, inst := range insts {
		if inst.CACertificate != CAECC384G1 || inst.Status != "available" || len(inst.PendingActions) != 0 {
			t.Errorf("%s after the rotation: %+v", inst.ID, inst)
		}
	}

	// Planning again finds nothing to do, and executing that changes
	// nothing.
	again, err := PlanRotation(ctx, api, cluster, CAECC384G1, &PlanOptions{TrustStore: env.merged, Catalog: env.cat})
	if err != nil || len(again.Steps()) != 0 {
		t.Fatalf("second plan: %v, steps %v", err, again.Steps())
	}
	res, err = Execute(ctx, api, again, execOpts(&progress))
	if err != nil || len(res.Rotated) != 0 || len(log.all()) != len(order) {
		t.Errorf("second execute: %v, rotated %v, ModifyDBInstance calls %q", err, res.Rotated, log.all())
	}
}

// testFailureAndResume fails an instance in the middle of a rotation: once
// the first reader is rotated, the second one goes down (a reboot that
// fails, FailNextReboot). The rotation stops there and says what it did;
// once the instance is rebooted, running the same plan again resumes.
func testFailureAndResume(t *testing.T, env *rotationEnv) {
	const cluster = "resume"
	ctx := testContext(t)
	api, log := env.client()
	w, r2, r3 := instanceID(cluster, 1), instanceID(cluster, 2), instanceID(cluster, 3)

	plan, err := PlanRotation(ctx, api, cluster, CAECC384G1, &PlanOptions{TrustStore: env.merged, Catalog: env.cat})
	if err != nil {
		t.Fatal(err)
	}
	var progress []string
	opts := execOpts(&progress) // Restart unset: RDS restarts each instance
	record := opts.Progress
	var injectErr error
	opts.Progress = func(p pgaurora.Event) {
		record(p)
		if p.Resource == r2 && p.Step == string(StageDone) {
			if injectErr = env.emu.FailNextReboot(r3); injectErr == nil {
				_, injectErr = api.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(r3)})
			}
		}
	}
	res, err := Execute(ctx, api, plan, opts)
	if injectErr != nil {
		t.Fatalf("failing %s: %v", r3, injectErr)
	}
	var re *RotationError
	if !errors.As(err, &re) {
		t.Fatalf("Execute error = %v, want a *RotationError", err)
	}
	got := []any{re.Instance, re.Stage, re.Modified, re.Rotated, re.NotRotated, res.Rotated}
	want := []any{r3, StageWaitAvailable, false, []string{r2}, []string{w}, []string{r2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failure report (-want +got):\n%s", diff)
	}
	for _, s := range []string{"instance " + r3 + " is failed", "rotated: [" + r2 + "]; not rotated: [" + w + "]"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if diff := cmp.Diff([]string{r2}, log.modified()); diff != "" {
		t.Errorf("ModifyDBInstance after the failure (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{w + "=" + CA2019, r2 + "=" + CAECC384G1, r3 + "=" + CA2019}, cas(ctx, t, api, cluster)); diff != "" {
		t.Errorf("CAs after the failure (-want +got):\n%s", diff)
	}

	// The operator reboots the failed instance; the same plan resumes:
	// r2 is already current, r3 and the writer are rotated.
	if _, err := api.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(r3)}); err != nil {
		t.Fatal(err)
	}
	waitAvailable(ctx, t, api, r3)
	progress = nil
	res, err = Execute(ctx, api, plan, execOpts(&progress))
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if diff := cmp.Diff([]any{[]string{r2}, []string{r3, w}}, []any{res.AlreadyCurrent, res.Rotated}); diff != "" {
		t.Errorf("resume: already current, rotated (-want +got):\n%s", diff)
	}
	if c := res.Checks[r2]; c == nil || !c.Verified || c.CAIdentifier != CAECC384G1 {
		t.Errorf("resume: the instance already current was not checked: %+v", c)
	}
	if diff := cmp.Diff([]string{"1/3 " + r2 + " wait-available", "1/3 " + r2 + " verify", "1/3 " + r2 + " already-current"}, progress[:3]); diff != "" {
		t.Errorf("resume progress (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{r2, r3, w}, log.modified()); diff != "" {
		t.Errorf("ModifyDBInstance calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{w + "=" + CAECC384G1, r2 + "=" + CAECC384G1, r3 + "=" + CAECC384G1}, cas(ctx, t, api, cluster)); diff != "" {
		t.Errorf("CAs after the resume (-want +got):\n%s", diff)
	}
}

// testApplyFailure makes the restart that loads the new certificate fail
// (FailNextReboot): the instance never becomes available again, and the
// rotation stops after ModifyDBInstance was accepted.
//
// It does not resume: after a rotation restart fails, the emulator reports
// the new CA but its server, once rebooted, still presents the old
// certificate (auroratest restart() issues the certificate before failing
// and never installs it), so a resume would fail verification there.
func testApplyFailure(t *testing.T, env *rotationEnv) {
	const cluster = "applyfail"
	ctx := testContext(t)
	api, log := env.client()
	w := instanceID(cluster, 1)
	plan, err := PlanRotation(ctx, api, cluster, CAECC384G1, &PlanOptions{TrustStore: env.merged, Catalog: env.cat})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.emu.FailNextReboot(w); err != nil {
		t.Fatal(err)
	}
	var progress []string
	opts := execOpts(&progress)
	opts.Restart = aws.Bool(true)
	res, err := Execute(ctx, api, plan, opts)
	var re *RotationError
	if !errors.As(err, &re) || re.Instance != w || re.Stage != StageApply || !re.Modified || len(res.Rotated) != 0 {
		t.Fatalf("Execute error = %v, want %s failing at apply after ModifyDBInstance", err, w)
	}
	for _, s := range []string{"instance " + w + " is failed", "(after ModifyDBInstance was accepted)"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if diff := cmp.Diff([]string{w + " ca=rds-ca-ecc384-g1 apply=true restart=true"}, log.all()); diff != "" {
		t.Errorf("ModifyDBInstance calls (-want +got):\n%s", diff)
	}
	if progress[len(progress)-1] != "1/1 "+w+" apply" {
		t.Errorf("last progress %q, want the apply stage", progress[len(progress)-1])
	}
}

// testVerifyFailure makes the server check fail after RDS reports the
// instance rotated: first because the check reaches a server that still
// presents the old CA's certificate, then because the client's trust store
// does not hold the new CA.
func testVerifyFailure(t *testing.T, env *rotationEnv) {
	const cluster = "verify"
	ctx := testContext(t)
	api, log := env.client()
	w, r := instanceID(cluster, 1), instanceID(cluster, 2)
	insts, err := Discover(ctx, api, cluster)
	if err != nil {
		t.Fatal(err)
	}
	writerAddr := endpoint(insts[0])
	plan, err := PlanRotation(ctx, api, cluster, CAECC384G1, &PlanOptions{TrustStore: env.merged, Catalog: env.cat})
	if err != nil {
		t.Fatal(err)
	}

	// The check of the reader is routed (ExecuteOptions.Address, as
	// through a tunnel) to the writer, which is rotated last and so still
	// presents its rds-ca-2019 certificate: RDS says the reader is
	// rotated, the server the check reaches does not show it.
	var progress []string
	opts := execOpts(&progress)
	opts.Restart = aws.Bool(false)
	opts.Wait.MaxWait = 3 * time.Second
	opts.Address = func(Instance) (string, string) { return writerAddr, "127.0.0.1" }
	res, err := Execute(ctx, api, plan, opts)
	var re *RotationError
	if !errors.As(err, &re) || re.Instance != r || re.Stage != StageVerify || !re.Modified || len(re.Rotated) != 0 {
		t.Fatalf("error = %v, want %s failing at verify after modification", err, r)
	}
	if !strings.Contains(err.Error(), "issued by rds-ca-2019, want rds-ca-ecc384-g1") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q does not say which CA the server showed, or that the check gave up", err)
	}
	if c := res.Checks[r]; c == nil || c.CAIdentifier != CA2019 {
		t.Errorf("the last check of %s is not reported: %+v", r, c)
	}
	if diff := cmp.Diff([]string{r}, log.modified()); diff != "" {
		t.Errorf("the writer was modified after a failure (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{w + "=" + CA2019, r + "=" + CAECC384G1}, cas(ctx, t, api, cluster)); diff != "" {
		t.Errorf("CAs (-want +got):\n%s", diff)
	}

	// Checked directly now, against a trust store without the new CA: the
	// reader, already current, does not verify.
	opts = execOpts(&progress)
	opts.Wait.MaxWait = time.Second
	opts.TrustStore = env.oldOnly
	_, err = Execute(ctx, api, plan, opts)
	if !errors.As(err, &re) || re.Instance != r || re.Stage != StageVerify || re.Modified {
		t.Fatalf("error = %v, want %s failing at verify without modification", err, r)
	}
	if !errors.As(err, new(x509.UnknownAuthorityError)) {
		t.Errorf("error %q does not carry the x509 verification failure", err)
	}
	if diff := cmp.Diff([]string{r}, log.modified()); diff != "" {
		t.Errorf("ModifyDBInstance calls (-want +got):\n%s", diff)
	}
}

func testRefusesUnsafePlan(t *testing.T, env *rotationEnv) {
	const cluster = "unsafe"
	ctx := testContext(t)
	api, log := env.client()
	w := instanceID(cluster, 1)
	plan, err := PlanRotation(ctx, api, cluster, CAECC384G1, &PlanOptions{TrustStore: env.oldOnly, Catalog: env.cat})
	if !errors.Is(err, ErrUnsafePlan) || plan == nil {
		t.Fatalf("plan: %v", err)
	}
	var progress []string
	if _, err := Execute(ctx, api, plan, execOpts(&progress)); !errors.Is(err, ErrUnsafePlan) {
		t.Errorf("Execute of an unsafe plan: %v, want ErrUnsafePlan", err)
	}
	if len(log.all()) != 0 || len(progress) != 0 {
		t.Errorf("an unsafe plan was acted on: ModifyDBInstance %q, progress %q", log.all(), progress)
	}
	if _, err := Execute(ctx, api, nil, nil); err == nil {
		t.Error("Execute(nil plan) succeeded")
	}
	if diff := cmp.Diff([]string{w + "=" + CA2019}, cas(ctx, t, api, cluster)); diff != "" {
		t.Errorf("CAs after the refusal (-want +got):\n%s", diff)
	}

	// Forced, without verification: the rotation runs.
	plan, err = PlanRotation(ctx, api, cluster, CAECC384G1, &PlanOptions{TrustStore: env.oldOnly, Catalog: env.cat, Force: true})
	if err != nil || !plan.Forced {
		t.Fatalf("forced plan: %v", err)
	}
	opts := execOpts(&progress)
	opts.Restart = aws.Bool(false)
	opts.SkipVerify = true
	res, err := Execute(ctx, api, plan, opts)
	if err != nil || len(res.Rotated) != 1 || len(res.Checks) != 0 {
		t.Fatalf("forced execute: %v, %+v", err, res)
	}
	// The server now presents the new CA, which the old-only store does
	// not verify: what the refusal protected the client from.
	insts, err := Discover(ctx, api, cluster)
	if err != nil {
		t.Fatal(err)
	}
	c, err := CheckServer(ctx, endpoint(insts[0]), &CheckOptions{TrustStore: env.oldOnly, Catalog: env.cat})
	if err != nil || c.CAIdentifier != CAECC384G1 || c.Verified {
		t.Errorf("after the forced rotation: %v, %+v", err, c)
	}
}

// testExecuteContext: the context bounds the whole execution, both while
// waiting for an instance that stays "rebooting" (DelayReboots) and after
// ModifyDBInstance was accepted.
func testExecuteContext(t *testing.T, env *rotationEnv) {
	const cluster = "cancel"
	ctx := testContext(t)
	api, log := env.client()
	w := instanceID(cluster, 1)
	plan, err := PlanRotation(ctx, api, cluster, CAECC384G1, &PlanOptions{TrustStore: env.merged, Catalog: env.cat})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.emu.DelayReboots(w, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := api.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(w)}); err != nil {
		t.Fatal(err)
	}
	if err := env.emu.DelayReboots(w, 0); err != nil { // for the reboots to come
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	var progress []string
	_, err = Execute(dctx, api, plan, execOpts(&progress))
	var re *RotationError
	if !errors.As(err, &re) || re.Stage != StageWaitAvailable || re.Modified || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want a wait-available failure with DeadlineExceeded", err)
	}
	if err != nil && !strings.Contains(err.Error(), `last status "rebooting"`) {
		t.Errorf("error %q does not give the last status", err)
	}
	if len(log.all()) != 0 {
		t.Errorf("ModifyDBInstance was called: %q", log.all())
	}

	// Cancelled once ModifyDBInstance is accepted: Execute returns at
	// once, saying the instance was modified; RDS carries on.
	waitAvailable(ctx, t, api, w)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := execOpts(&progress)
	record := opts.Progress
	opts.Progress = func(p pgaurora.Event) {
		record(p)
		if p.Step == string(StageApply) {
			cancel()
		}
	}
	start := time.Now()
	_, err = Execute(cctx, api, plan, opts)
	if !errors.As(err, &re) || re.Stage != StageApply || !re.Modified || !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want an apply failure after modification with Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Execute took %v to notice the cancellation", d)
	}
	waitAvailable(ctx, t, api, w)
	if diff := cmp.Diff([]string{w + "=" + CAECC384G1}, cas(ctx, t, api, cluster)); diff != "" {
		t.Errorf("CAs after the cancelled execution (-want +got):\n%s", diff)
	}
}

// TestInterrupted covers the moment a server check's connection deadline
// (the context's) has fired but the context does not report it yet.
func TestInterrupted(t *testing.T) {
	timeout := fmt.Errorf("sslcert: check server: TLS handshake: %w", context.DeadlineExceeded)
	soon, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	later, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want error
	}{
		{"deadline about to be reported", soon, timeout, context.DeadlineExceeded},
		{"deadline far away", later, timeout, nil},
		{"other error", soon, errors.New("connection refused"), nil},
		{"no deadline", context.Background(), timeout, nil},
		{"cancelled", gone, errors.New("anything"), context.Canceled},
	}
	for _, tc := range tests {
		if got := interrupted(tc.ctx, tc.err); got != tc.want {
			t.Errorf("%s: interrupted = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// position writes a rotation event as "instance number/instances
// instance stage", the instance numbered from 1 in rotation order.
func position(e pgaurora.Event) string {
	n := e.Done
	if !e.Completed {
		n++ // the instance in progress
	}
	return fmt.Sprintf("%d/%d %s %s", n, e.Total, e.Resource, e.Step)
}
